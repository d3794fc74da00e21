"""ultralytics' and yolov5's learning rate and momentum, batch by batch, as schedalg expressions.

``from_ultralytics(config, steps_per_epoch=nb)`` reads an ultralytics training config (its
``cfg/default.yaml``, a file of settings for ``yolo train cfg=...``, or the ``args.yaml`` a run
writes); ``from_yolov5(hyp, steps_per_epoch=nb)`` reads a yolov5 ``data/hyps/hyp.*.yaml``, with
``train.py``'s ``--epochs``, ``--cos-lr`` and ``--optimizer`` given beside it. Both return
``{"lr": [one per param group], "momentum": ...}`` (``momentum`` where the optimizer has one:
SGD, RMSprop, MuSGD), absolute values (marked ``absolute``).

The step is the BATCH, ``ni = i + nb * epoch``, not the optimizer update: both trainers set the
lr of every batch during the warm-up, and step the optimizer once every ``accumulate`` batches
(``round(nbs / batch)``, ramped up from 1 over the warm-up), at the lr of the batch that steps.
``steps_per_epoch`` is ``nb``, the batches per epoch (``len(train_loader)``); the run is ``epochs
* nb`` batches long, so without it there is no curve: the call asks for it.

What the trainers do (ultralytics 8.4.190 ``engine/trainer.py``; yolov5 ``train.py``):

- a ``LambdaLR`` factor per epoch ``e``: ``(1 - e / epochs) * (1 - lrf) + lrf`` (ultralytics
  holds it at ``lrf`` past the end with ``max(..., 0)``), or with ``cos_lr`` ultralytics'
  ``one_cycle(1, lrf, epochs)``, ``(1 - cos(e * pi / epochs)) / 2 * (lrf - 1) + 1``: here
  ``linear(1.0, lrf, epochs)`` and ``cosine(epochs, end=lrf)``, read per epoch;
- a warm-up over ``nw`` batches: while ``ni <= nw`` each group's lr is ``np.interp(ni, [0, nw],
  [start, initial_lr * lf(epoch)])``, ``start`` being ``warmup_bias_lr`` for the biases and 0 for
  the others, and the momentum ``np.interp(ni, [0, nw], [warmup_momentum, momentum])`` where the
  group has one (Adam's betas are left alone). ultralytics: ``nw = round(min(warmup_epochs,
  max(epochs - 1, 0)) * nb)`` if ``warmup_epochs > 0``, else no warm-up; yolov5: ``nw =
  max(round(warmup_epochs * nb), 100)``;
- ultralytics steps its ``LambdaLR`` at the start of each epoch, so epoch ``e`` runs at ``lr0 *
  lf(e)``. yolov5 sets ``scheduler.last_epoch = -1`` and steps it at the end of each epoch, so
  after the warm-up epoch ``e`` runs at ``lr0 * lf(e - 1)``: the epoch that ends the warm-up and
  the next both at ``lf`` of the former, and ``lf(epochs - 1)`` never reached;
- param groups: ultralytics ``[weights with decay, BatchNorm weights, biases]`` (MuSGD: each of
  weights, BatchNorm weights, biases and muon matrices split in two, the detection head's at
  ``3 * lr0`` first); yolov5 ``[biases, weights with decay, BatchNorm weights]``.

ultralytics' ``optimizer: auto`` (its default, and what a run's ``args.yaml`` usually holds)
picks the optimizer and lr0 from the training set's size and class count, which no config holds:
``auto={"images": N, "classes": N}`` gives them. Its ``time`` setting (train for so many hours)
re-estimates the epochs from the wall clock: refused.

Rounding: the expressions are the trainers' curves in schedalg's operations (``linear``,
``cosine``, the epoch's lr times ``ni / nw``, where ``np.interp`` takes ``(b - a) / nw * ni +
a``), so a value can differ from the trainer's in its last bits: by at most 2 float64 eps of the
group's largest value (``lr0`` or ``warmup_bias_lr``) on the recorded grid of the tests, where
the worst is 1.7 eps (4.5e-15 relative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schedalg.algebra.combinators import per_epoch, sequence, warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift
from schedalg.algebra.units import absolute
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.curves.primitives import cosine, linear
from schedalg.importers import options as opt

__all__ = [
    "ULTRALYTICS_DEFAULTS",
    "YOLOV5_OPTIMIZERS",
    "from_ultralytics",
    "from_yolov5",
    "run_length",
    "yolov5_run_length",
]

_FN = "from_ultralytics"
_FN5 = "from_yolov5"

ULTRALYTICS_DEFAULTS: dict[str, Any] = {
    "epochs": 100,
    "time": None,
    "batch": 16,
    "nbs": 64,
    "optimizer": "auto",
    "cos_lr": False,
    "lr0": 0.01,
    "lrf": 0.01,
    "momentum": 0.937,
    "warmup_epochs": 3.0,
    "warmup_momentum": 0.8,
    "warmup_bias_lr": 0.1,
}
"""The settings the schedule reads, with ultralytics 8.4.190's defaults (``cfg/default.yaml``);
a config's other keys are its other settings, not read here."""

_ADAMS = ("Adam", "Adamax", "AdamW", "NAdam", "RAdam")
_OPTIMIZERS = (*_ADAMS, "RMSprop", "SGD", "MuSGD", "auto")
# ultralytics' build_optimizer reads the name case-insensitively ('rmsprop', 'RMSProp').
_BY_LOWER = {name.lower(): name for name in _OPTIMIZERS}
# The optimizers whose param groups hold a "momentum" that the warm-up ramps.
_WITH_MOMENTUM = ("SGD", "MuSGD", "RMSprop", "RMSProp")
# The names yolov5's smart_optimizer takes, as it compares them (case-sensitive).
YOLOV5_OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSProp")
_YOLOV5_HYP = ("lr0", "lrf", "momentum", "warmup_epochs", "warmup_momentum", "warmup_bias_lr")
_AUTO_KEYS = {
    "images": "the training images, len(train_loader.dataset)",
    "classes": "the data set's class count, nc",
}


# -- the curves both trainers make --------------------------------------------------------------


def _factor(epochs: int, lrf: float, cos_lr: bool) -> Schedule:
    """The ``LambdaLR`` factor of epoch ``e``: a line, or one_cycle's half cosine, to ``lrf``."""
    return cosine(epochs, end=lrf) if cos_lr else linear(1.0, lrf, epochs)


def _ramp(target: Schedule, nw: int, start: float) -> Schedule:
    """``np.interp(ni, [0, nw], [start, target(ni)])`` up to ``nw``, ``target`` after: the
    target's share ``ni / nw`` plus what is left of ``start``."""
    ramped = warmup(target, nw, overlay=True)
    return ramped + start * linear(1.0, 0.0, nw) if start else ramped


def _momentum(warmup_momentum: float, momentum: float, nw: int, built: float) -> Schedule:
    """The warm-up's ``np.interp(ni, [0, nw], [warmup_momentum, momentum])``, held after;
    without a warm-up the momentum the optimizer was built with."""
    return absolute(linear(warmup_momentum, momentum, nw) if nw else constant(built))


# -- ultralytics ----------------------------------------------------------------------------------


def _setting(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name, ULTRALYTICS_DEFAULTS[name])
    if value is None and ULTRALYTICS_DEFAULTS[name] is not None:
        # ultralytics' check_cfg: "'lr0=None' is invalid. 'lr0' must not be None."
        raise TypeError(f"{_FN}(): {name} must not be None")
    return value


def _fraction(config: Mapping[str, Any], name: str) -> float:
    """One of ultralytics' fraction settings: an int or a float in [0, 1] (its check_cfg)."""
    return opt.number(_FN, "config", name, _setting(config, name), at_least=0, at_most=1)


def _optimizer_name(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{_FN}(): config optimizer must be a name, got {value!r}")
    name = _BY_LOWER.get(value.lower())
    if name is None:
        hint = nearest(value, _OPTIMIZERS) or nearest(value.lower(), _BY_LOWER)
        raise ValueError(
            f"{_FN}(): unknown config optimizer {value!r}{hint} (known: {', '.join(_OPTIMIZERS)})"
        )
    return name


def _auto_value(auto: Mapping[str, Any], key: str, choice: str) -> int:
    if key not in auto:
        raise ValueError(
            f"{_FN}(): optimizer 'auto' {choice}, from the training set, which the config does "
            f"not hold: pass auto={{'{key}': ...}} ({_AUTO_KEYS[key]}), or set optimizer and "
            "lr0 in the config"
        )
    return opt.count(_FN, "auto", key, auto[key], minimum=1)


def _auto(
    config: Mapping[str, Any], epochs: int, auto: Mapping[str, Any] | None
) -> tuple[str, float]:
    """``build_optimizer``'s choice for ``optimizer: auto``: MuSGD at lr0 0.01 above 10000
    iterations (``ceil(images / max(batch, nbs)) * epochs``), else AdamW at ``round(0.002 * 5 /
    (4 + nc), 6)``."""
    given = {} if auto is None else auto
    if not isinstance(given, Mapping):
        raise TypeError(f"{_FN}(): auto must be a dict of 'images' and 'classes', got {auto!r}")
    for key in given:
        if key not in _AUTO_KEYS:
            raise ValueError(f"{_FN}(): auto has no key {key!r}{nearest(str(key), _AUTO_KEYS)}")
    images = _auto_value(given, "images", "picks MuSGD or AdamW by the iterations")
    batch = opt.number(_FN, "config", "batch", _setting(config, "batch"))
    if batch < 1:
        raise ValueError(
            f"{_FN}(): config batch {batch!r} is AutoBatch (fitted to the GPU's memory), which "
            "optimizer 'auto' counts its iterations with: set batch to the size the run used"
        )
    nbs = opt.count(_FN, "config", "nbs", _setting(config, "nbs"), minimum=1)
    iterations = math.ceil(images / max(batch, nbs)) * epochs
    if iterations > 10000:
        return "MuSGD", 0.01
    classes = _auto_value(given, "classes", "sets AdamW's lr0 by the class count")
    return "AdamW", round(0.002 * 5 / (4 + classes), 6)


def _groups(name: str, lr0: float) -> list[tuple[float, bool]]:
    """``(initial lr, is a bias group)`` for each param group ``build_optimizer`` makes."""
    if name != "MuSGD":
        return [(lr0, False), (lr0, False), (lr0, True)]
    kinds = (False, False, True, False)  # weights, BatchNorm weights, biases, muon matrices
    return [(peak, bias) for bias in kinds for peak in (lr0 * 3, lr0)]


def _check_momentum(fn: str, name: str, momentum: float) -> None:
    """torch's own refusals, at the optimizer's construction."""
    if name == "SGD" and momentum <= 0:
        raise ValueError(
            f"{fn}(): momentum 0 with SGD: torch's SGD(nesterov=True) refuses it "
            "('Nesterov momentum requires a momentum')"
        )
    if name in _ADAMS and not momentum < 1:
        raise ValueError(f"{fn}(): momentum {momentum!r} is {name}'s beta1, which must be below 1")


def _nb(fn: str, steps_per_epoch: int | None, epochs: int) -> int:
    if steps_per_epoch is None:
        raise ValueError(
            f"{fn}(): the run is {epochs} epochs of batches with a per-batch warm-up: pass "
            "steps_per_epoch=N (batches per epoch, len(train_loader))"
        )
    return check.integer(fn, "steps_per_epoch", steps_per_epoch, minimum=1, wrong_type=ValueError)


def _epochs(config: Mapping[str, Any]) -> int:
    if not isinstance(config, Mapping):
        raise TypeError(f"{_FN}(): config must be a mapping of ultralytics settings: {config!r}")
    time = config.get("time")
    if time is not None and time is not False and time != 0:
        raise ValueError(
            f"{_FN}(): config time {time!r} trains for that many hours, re-estimating the epochs "
            "from each epoch's wall-clock time: no fixed schedule; set epochs instead"
        )
    return opt.count(_FN, "config", "epochs", _setting(config, "epochs"), minimum=1)


def from_ultralytics(
    config: Mapping[str, Any],
    *,
    steps_per_epoch: int | None = None,
    lr: float | None = None,
    auto: Mapping[str, Any] | None = None,
) -> dict[str, Schedule | list[Schedule]]:
    """ultralytics' lr per param group and momentum at each batch of a run of ``config``.

    ``config`` holds ultralytics settings (missing ones take 8.4.190's defaults); ``lr``
    overrides its ``lr0``; ``steps_per_epoch`` is the batches per epoch; ``auto`` gives what
    ``optimizer: auto`` reads of the data set, ``{"images": N, "classes": N}``.
    """
    epochs = _epochs(config)
    name = _optimizer_name(_setting(config, "optimizer"))
    cos_lr = opt.flag(_FN, "config", "cos_lr", _setting(config, "cos_lr"))
    lrf = _fraction(config, "lrf")
    momentum = _fraction(config, "momentum")
    warmup_momentum = _fraction(config, "warmup_momentum")
    bias_start = _fraction(config, "warmup_bias_lr")
    warmup_epochs = opt.number(_FN, "config", "warmup_epochs", _setting(config, "warmup_epochs"))
    if name == "auto":
        if lr is not None:
            raise ValueError(f"{_FN}(): optimizer 'auto' sets lr0 itself, so lr={lr!r} is unused")
        name, lr0 = _auto(config, epochs, auto)
        built = 0.9  # build_optimizer builds with momentum 0.9; the warm-up ramps to the config's
        bias_start = 0.0  # and sets warmup_bias_lr = 0.0
    else:
        lr0 = _fraction(config, "lr0") if lr is None else check.real(_FN, "lr", lr, at_least=0)
        built = momentum
        _check_momentum(_FN, name, momentum)
    nb = _nb(_FN, steps_per_epoch, epochs)
    capped = min(warmup_epochs, max(epochs - 1, 0))  # the last epoch is never a warm-up
    nw = round(capped * nb) if capped > 0 else 0
    lf = _factor(epochs, lrf, cos_lr)
    rates: list[Schedule] = []
    for peak, bias in _groups(name, lr0):
        target = peak * per_epoch(lf, nb)
        rates.append(absolute(_ramp(target, nw, bias_start if bias else 0.0) if nw else target))
    out: dict[str, Schedule | list[Schedule]] = {"lr": rates}
    if name in _WITH_MOMENTUM:
        out["momentum"] = _momentum(warmup_momentum, momentum, nw, built)
    return out


def run_length(config: Mapping[str, Any], *, steps_per_epoch: int | None = None) -> int | None:
    """The run's batches, ``epochs * steps_per_epoch``; ``None`` without ``steps_per_epoch``."""
    epochs = _epochs(config)
    return None if steps_per_epoch is None else epochs * _nb(_FN, steps_per_epoch, epochs)


# -- yolov5 ---------------------------------------------------------------------------------------


def _hyp(hyp: Mapping[str, Any], name: str) -> float:
    if not isinstance(hyp, Mapping):
        raise TypeError(f"{_FN5}(): hyp must be a mapping of yolov5 hyperparameters, got {hyp!r}")
    if name not in hyp:
        hint = nearest(name, [str(k) for k in hyp])
        raise ValueError(f"{_FN5}(): hyp has no {name!r}{hint} (train.py reads it)")
    return opt.number(_FN5, "hyp", name, hyp[name])


def _yolov5_optimizer(value: Any) -> str:
    """One of ``smart_optimizer``'s names, which it compares as written (``sgd`` is none)."""
    if isinstance(value, str) and value not in YOLOV5_OPTIMIZERS:
        same = [name for name in YOLOV5_OPTIMIZERS if name.lower() == value.lower()]
        if same:
            raise ValueError(
                f"{_FN5}(): unknown optimizer {value!r}; did you mean {same[0]!r}? (train.py "
                "compares the name as written)"
            )
    return opt.pick(_FN5, "optimizer", value, YOLOV5_OPTIMIZERS)


def from_yolov5(
    hyp: Mapping[str, Any],
    *,
    steps_per_epoch: int | None = None,
    epochs: int = 100,
    cos_lr: bool = False,
    optimizer: str = "SGD",
    lr: float | None = None,
) -> dict[str, Schedule | list[Schedule]]:
    """yolov5's lr per param group and momentum at each batch of ``train.py --hyp hyp``.

    ``epochs``, ``cos_lr`` and ``optimizer`` are ``train.py``'s ``--epochs``, ``--cos-lr`` and
    ``--optimizer`` (its defaults: 100, off, SGD); ``lr`` overrides the hyp's ``lr0``;
    ``steps_per_epoch`` is the batches per epoch.
    """
    values = {name: _hyp(hyp, name) for name in _YOLOV5_HYP}
    name = _yolov5_optimizer(optimizer)
    epochs = check.integer(_FN5, "epochs", epochs, minimum=1)
    cos_lr = check.flag(_FN5, "cos_lr", cos_lr)
    lr0 = values["lr0"] if lr is None else check.real(_FN5, "lr", lr)
    if lr0 < 0:
        raise ValueError(f"{_FN5}(): lr0 {lr0!r} is negative, which torch's optimizers refuse")
    _check_momentum(_FN5, name, values["momentum"])
    nb = _nb(_FN5, steps_per_epoch, epochs)
    warm = check.in_float_range(
        _FN5,
        f"hyp warmup_epochs {values['warmup_epochs']!r} * steps_per_epoch {nb}",
        values["warmup_epochs"] * nb,
    )
    nw = max(round(warm), 100)
    target = lr0 * per_epoch(_factor(epochs, values["lrf"], cos_lr), nb)
    # After the epoch that ends the warm-up, the epoch before's lr (the scheduler's lag).
    lagged = shift(target, nw // nb * nb)
    after = (nw // nb + 1) * nb
    rates: list[Schedule] = [
        absolute(sequence(_ramp(target, nw, start), lagged, at=[after]))
        for start in (values["warmup_bias_lr"], 0.0, 0.0)
    ]
    out: dict[str, Schedule | list[Schedule]] = {"lr": rates}
    if name in _WITH_MOMENTUM:
        momentum = values["momentum"]
        out["momentum"] = _momentum(values["warmup_momentum"], momentum, nw, momentum)
    return out


def yolov5_run_length(
    hyp: Mapping[str, Any], *, steps_per_epoch: int | None = None, epochs: int = 100
) -> int | None:
    """The run's batches, ``epochs * steps_per_epoch``; ``None`` without ``steps_per_epoch``."""
    epochs = check.integer(_FN5, "epochs", epochs, minimum=1)
    return None if steps_per_epoch is None else epochs * _nb(_FN5, steps_per_epoch, epochs)
