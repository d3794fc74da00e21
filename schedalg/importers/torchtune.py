"""torchtune recipe configs as schedalg expressions.

``from_torchtune(config, steps_per_epoch=None, lr=None)`` takes a torchtune recipe config (the
YAML that ``tune run <recipe> --config <file>`` reads, as a dict) and returns the learning rate of
each optimizer update, absolute values. torchtune's recipes build the scheduler as
``config.instantiate(cfg.lr_scheduler, optimizer, num_training_steps=N, last_epoch=-1)`` and step
it after every optimizer update, so update ``t`` uses ``optimizer.lr * lr_lambda(t)``.

The recipe computes ``N`` itself (``recipes/full_finetune_single_device.py``,
``lora_finetune_single_device.py``, the distributed, DPO, distillation and QAT recipes alike)::

    steps_per_epoch = len(dataloader) // gradient_accumulation_steps
    if max_steps_per_epoch is not None and max_steps_per_epoch < steps_per_epoch:
        steps_per_epoch = max_steps_per_epoch
    N = epochs * steps_per_epoch

Here ``steps_per_epoch`` is the first line, the optimizer updates of one whole pass over the data
(what the data set and batch size tell the user), *before* the cap: the config's
``max_steps_per_epoch`` is applied as the recipe applies it. Without ``steps_per_epoch``, a config
with ``max_steps_per_epoch`` is taken to reach that cap in every epoch (an epoch of the data at
least that long: pass ``steps_per_epoch`` when it is shorter), and one without is built with the
placeholder ``total`` for ``N`` (``schedule.bind(total=N)``). The PPO recipe
(``ppo_full_finetune_single_device.py``, recognised by ``ppo_batch_size``) counts
``num_steps // batch_size * ppo_epochs * (batch_size // ppo_batch_size)`` updates from the config
alone.

Numbers are read as OmegaConf reads YAML: ``2e-5`` (a string to PyYAML) is a float. An OmegaConf
interpolation (``${...}``) in a value read here is refused by name; elsewhere it does not matter.
``lr_scheduler``'s ``num_training_steps`` and ``last_epoch``, if written, are overridden by the
recipe (its keyword arguments win in ``config.instantiate``), so they are ignored here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.combinators import warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.horizon import Quantity, total
from schedalg.algebra.timewarps import stretch
from schedalg.algebra.units import absolute
from schedalg.core import validators as check
from schedalg.curves.primitives import cosine
from schedalg.importers import options as opt

__all__ = ["COMPONENTS", "SCHEDULERS", "from_torchtune", "run_length"]

_FN = "from_torchtune"
_COSINE = "get_cosine_schedule_with_warmup"

COMPONENTS: dict[str, str] = {
    f"torchtune.training.lr_schedulers.{_COSINE}": _COSINE,
    f"torchtune.training.{_COSINE}": _COSINE,
    # Before torchtune 0.5 the function lived in torchtune.modules (the same lambda).
    f"torchtune.modules.{_COSINE}": _COSINE,
    f"torchtune.modules.lr_schedulers.{_COSINE}": _COSINE,
}
"""Each ``lr_scheduler._component_`` spelling torchtune has had -> its function's name."""

# OmegaConf's YAML float resolver (omegaconf/_yaml.py): PyYAML leaves ``2e-5`` a string.
_OMEGACONF_FLOAT = re.compile(
    r"""^(?:[-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
        |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)

# A step count: an int, or the placeholder quantity bound later. Typed Any as the constructors
# take both (their signatures say int).
Steps = Any


def _read(config: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at the dotted ``path`` (``default`` where it is not written); an OmegaConf
    interpolation there is refused by name, since its value is not in this mapping."""
    node: Any = config
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    if isinstance(node, str) and "${" in node:
        raise ValueError(
            f"{_FN}(): {path} is an OmegaConf interpolation {node!r}: schedalg reads the file as "
            "written, so give the value itself"
            + (" (or pass lr=...)" if path == "optimizer.lr" else "")
        )
    return node


def _float(path: str, value: Any, *, at_least: float | None = None) -> float:
    """A real number, as OmegaConf reads it (``2e-5`` included)."""
    if isinstance(value, str) and _OMEGACONF_FLOAT.match(value):
        value = float(value.replace("_", ""))
    return check.real(_FN, path, value, at_least=at_least)


def _count(path: str, value: Any, minimum: int) -> int:
    return check.integer(_FN, path, value, minimum=minimum, wrong_type=ValueError)


def _cosine(options: dict[str, Any], steps: Steps) -> Schedule:
    """``t / max(1, W)`` for ``t < W``, then ``max(0, (1 + cos(2 pi c p)) / 2)`` with
    ``p = (t - W) / max(1, N - W)``, torchtune's ``lr_lambda``."""
    w = _count("lr_scheduler.num_warmup_steps", options["num_warmup_steps"], 0)
    # cos is even, so a negative num_cycles is its absolute value, bit for bit.
    cycles = abs(_float("lr_scheduler.num_cycles", options["num_cycles"]))
    span: Steps = steps - w if isinstance(steps, Quantity) else max(1, steps - w)
    wave: Schedule = cosine(span, periodic=True)
    if cycles == 0:
        wave = constant(1.0)  # cos(0): the warm-up's end held for ever
    elif cycles != 0.5:
        wave = stretch(wave, 0.5 / cycles)
    return warmup(wave, w) if w else wave


SCHEDULERS: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any], Steps], Schedule]]] = {
    # num_training_steps and last_epoch: the recipe passes its own (kept to be ignored).
    _COSINE: (
        {"num_warmup_steps": ..., "num_cycles": 0.5, "num_training_steps": None, "last_epoch": -1},
        _cosine,
    ),
}
"""One entry per torchtune scheduler function: its options with torchtune's defaults (``...``:
required) and the builder of its multiplier of the lr."""


def _ppo_steps(config: Mapping[str, Any], steps_per_epoch: int | None) -> int:
    """``ppo_full_finetune_single_device.py``: ``num_steps // batch_size`` trajectories, each
    ``ppo_epochs`` passes of ``batch_size // ppo_batch_size`` updates."""
    if steps_per_epoch is not None:
        raise ValueError(
            f"{_FN}(): the PPO recipe counts its updates from num_steps, batch_size, ppo_epochs "
            f"and ppo_batch_size: steps_per_epoch does not apply (got {steps_per_epoch!r})"
        )
    values = {
        name: _count(name, _read(config, name), 1)
        for name in ("num_steps", "batch_size", "ppo_epochs", "ppo_batch_size")
    }
    batch, minibatch = values["batch_size"], values["ppo_batch_size"]
    if values["num_steps"] < batch or batch % minibatch:
        raise ValueError(
            f"{_FN}(): the PPO recipe needs num_steps >= batch_size and batch_size divisible by "
            f"ppo_batch_size, got {values['num_steps']}, {batch} and {minibatch}"
        )
    updates = values["num_steps"] // batch * values["ppo_epochs"] * (batch // minibatch)
    return check.in_float_range(_FN, "the PPO recipe's updates", updates)


def _training_steps(config: Mapping[str, Any], steps_per_epoch: int | None) -> Steps:
    """The ``num_training_steps`` the recipe passes: a count, or ``total`` where the file and
    ``steps_per_epoch`` leave it open."""
    if "ppo_batch_size" in config:
        return _ppo_steps(config, steps_per_epoch)
    if _read(config, "epochs") is None:
        raise ValueError(f"{_FN}(): the config has no epochs (torchtune's recipes read cfg.epochs)")
    epochs = _count("epochs", _read(config, "epochs"), 1)
    cap = _read(config, "max_steps_per_epoch")
    cap = None if cap is None else _count("max_steps_per_epoch", cap, 1)
    if steps_per_epoch is not None:
        per = check.integer(_FN, "steps_per_epoch", steps_per_epoch, minimum=1)
        per, what = (
            (per, "steps_per_epoch") if cap is None or cap >= per else (cap, "max_steps_per_epoch")
        )
    elif cap is None:
        return total
    else:
        per, what = cap, "max_steps_per_epoch"
    # Each count is below 2**1024, their product need not be.
    return check.in_float_range(
        _FN, f"epochs {check.shown(epochs)} * {what} {check.shown(per)}", epochs * per
    )


def run_length(config: Mapping[str, Any], *, steps_per_epoch: int | None = None) -> int | None:
    """The run's optimizer updates (the recipe's ``num_training_steps``), or None where it needs
    ``steps_per_epoch`` (``max_steps_per_epoch`` null and ``steps_per_epoch`` not given)."""
    steps = _training_steps(_config(config), steps_per_epoch)
    return steps if isinstance(steps, int) else None


def _config(config: Any) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{_FN}(): config must be a torchtune config (a mapping), got {config!r}")
    return config


def _peak(config: Mapping[str, Any], lr: float | None) -> float:
    if lr is not None:
        return _float("lr", lr, at_least=0)
    value = _read(config, "optimizer.lr")
    if value is None:
        raise ValueError(
            f"{_FN}(): the config has no optimizer.lr (the optimizer's own default is not known "
            "here): pass lr=..."
        )
    return _float("optimizer.lr", value, at_least=0)


def from_torchtune(
    config: Mapping[str, Any], *, steps_per_epoch: int | None = None, lr: float | None = None
) -> Schedule:
    """The learning rate of each optimizer update of a torchtune recipe run on ``config``.

    ``steps_per_epoch`` is ``len(dataloader) // gradient_accumulation_steps``, the updates of one
    whole pass over the data before ``max_steps_per_epoch`` caps it; ``lr`` overrides
    ``optimizer.lr``. A config without ``lr_scheduler`` keeps the lr constant, as the recipes do.
    """
    config = _config(config)
    peak = _peak(config, lr)
    steps = _training_steps(config, steps_per_epoch)
    block = _read(config, "lr_scheduler")
    if block is None:
        return absolute(constant(peak))
    if not isinstance(block, Mapping):
        raise TypeError(f"{_FN}(): lr_scheduler must be a mapping with _component_, got {block!r}")
    component = _read(config, "lr_scheduler._component_")
    name = COMPONENTS[opt.pick(_FN, "lr_scheduler._component_", component, COMPONENTS)]
    defaults, build = SCHEDULERS[name]
    given = {key: _read(config, f"lr_scheduler.{key}") for key in block if key != "_component_"}
    options = opt.options(_FN, name, given, defaults)
    return absolute(peak * build(options, steps))
