"""Megatron-LM's ``OptimizerParamScheduler`` as schedalg expressions.

``from_megatron(args)`` reads Megatron-LM's training arguments (a dict, e.g. ``vars(args)``, or
the ``argparse`` namespace itself) and returns ``{"lr": ..., "weight_decay": ...}`` (and
``"decoupled_lr"``, the embedding and output layers' rate, with ``decoupled_lr``): absolute
values per iteration, the value at ``t`` what the optimizer uses for update ``t`` (an iteration
Megatron skips, an fp16 overflow, does not step its scheduler).

Megatron counts samples: its scheduler steps by the batch after every update, its lengths are
``*_iters * global_batch_size`` or ``*_samples``. Where every length is a whole number of
iterations the curve per iteration is the same for any batch: it is built per iteration.
Otherwise (``train_samples``, a ``lr_warmup_fraction`` ending inside an iteration,
``rampup_batch_size``) it is built in samples and read at the samples consumed before update
``t`` (``warp``). A fractional warm-up without ``global_batch_size`` is Megatron's with a batch
of 1 (other batches round ``fraction * lr_decay_iters * batch`` differently in the last bit).

At step ``n`` (``megatron/core/optimizer_param_scheduler.py``): warm-up ``init + (max - init) *
n / W`` for ``0 < n <= W``; then ``constant`` ``max``; else ``min`` for ``n > D``;
``inverse-square-root`` ``max(min, max * sqrt(max(W, 1)) / sqrt(max(n, 1)))``; ``linear`` /
``cosine`` / ``WSD`` ``min + coeff * (max - min)`` with ``r = (n - W) / (D - W)``, ``coeff = 1 -
r`` or ``(1 + cos(pi r)) / 2``, WSD holding 1 until ``D - S`` and decaying over ``S`` with
``lr_wsd_decay_style`` (``exponential`` ``2 * 0.5 ** r - 1``, ``minus_sqrt`` ``1 - sqrt(r)``).
Weight decay over ``train_iters``: ``start + coeff * (end - start)``, ``coeff`` ``r`` (linear)
or ``(1 + cos(pi (1 - r))) / 2`` (cosine). ``STYLES`` has one builder per ``lr_decay_style``; a
warm-up ending between two steps is written in Megatron's own operations (``_fractional``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import sequence, warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch, warp
from schedalg.curves.phases import warmup_stable_decay
from schedalg.curves.primitives import cosine, elapsed, exponential, inverse_sqrt, linear
from schedalg.importers import options as opt
from schedalg.importers import shapes

_FN = "from_megatron"
_OWNER = "Megatron-LM"

# Megatron-LM's argument names and their defaults (``...``: required).
DEFAULTS: dict[str, Any] = {
    "lr": None,
    "max_lr": None,
    "min_lr": 0.0,
    "lr_decay_style": "linear",
    "lr_decay_iters": None,
    "lr_warmup_iters": 0,
    "lr_warmup_fraction": None,
    "lr_warmup_init": 0.0,
    "lr_wsd_decay_style": "exponential",
    "lr_wsd_decay_iters": None,
    "train_iters": None,
    "train_samples": None,
    "lr_decay_samples": None,
    "lr_warmup_samples": 0,
    "lr_wsd_decay_samples": None,
    "rampup_batch_size": None,
    "global_batch_size": None,
    "weight_decay": 0.01,
    "start_weight_decay": None,
    "end_weight_decay": None,
    "weight_decay_incr_style": "constant",
    "decoupled_lr": None,
    "decoupled_min_lr": None,
    "override_opt_param_scheduler": False,
    "use_checkpoint_opt_param_scheduler": False,
    "decrease_batch_size_if_needed": False,
    "step_batch_size_schedule": None,
}
# Megatron-LM's arguments (0.16 and later) that are near the names above but are not them.
OTHER_ARGUMENTS = frozenset({"eval_global_batch_size"})

# lr_wsd_decay_style's names for the shared shapes (``minus_sqrt`` is schedalg's ``1-sqrt``).
_WSD_SHAPES = shapes.spellings(_OWNER)


class Unresolved:
    """An argument whose value the caller could not determine (a launch script's unset
    variable): ``from_megatron`` raises ``ValueError(message)`` only if it needs the value."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Unresolved({self.message!r})"


class _Args(dict[str, Any]):
    """The arguments; reading an ``Unresolved`` one is its refusal."""

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if isinstance(value, Unresolved):
            raise ValueError(value.message)
        return value

    def but(self, **changes: Any) -> _Args:
        """A copy with ``changes``; ``Unresolved`` values stay unread."""
        return _Args({**dict(self.items()), **changes})


class _Lr:
    """The learning-rate settings, checked as Megatron's constructor asserts them; lengths in
    steps of ``1 / per`` of the arguments' unit (``per`` samples per iteration on the samples
    clock). ``batch``: the samples per iteration a warm-up fraction is taken of."""

    def __init__(
        self, a: _Args, per: int, batch: int, peak: str = "lr", low: str = "min_lr"
    ) -> None:
        given = a[peak] if peak != "lr" or a["lr"] is not None else a["max_lr"]
        if given is None:
            raise TypeError(f"{_FN}(): {_OWNER} needs the argument 'lr' (the peak learning rate)")
        self.max = opt.number(_FN, _OWNER, peak, given, at_least=0)
        floor = a[low] if low == "min_lr" or a[low] is not None else a["min_lr"]
        self.min = opt.number(_FN, _OWNER, low, floor, at_least=0, at_most=self.max)
        self.init = opt.number(_FN, _OWNER, "lr_warmup_init", a["lr_warmup_init"], at_most=self.max)
        decay = opt.count(_FN, _OWNER, _arg(a, "lr_decay_iters"), a["lr_decay_iters"], minimum=1)
        self.decay = decay * per
        self.per = per
        self.warmup = _warmup(a, decay, per, batch)


def _warmup(a: _Args, decay: int, per: int, batch: int) -> int | float:
    """The warm-up's end in steps: a float where ``lr_warmup_fraction`` puts it inside one."""
    if a["lr_warmup_fraction"] is None:
        steps = opt.count(_FN, _OWNER, _arg(a, "lr_warmup_iters"), a["lr_warmup_iters"])
        if not 0 <= steps < decay:
            raise ValueError(
                f"{_FN}(): {_OWNER} needs 0 <= warm-up {_arg(a, 'iterations')} < "
                f"{_arg(a, 'lr_decay_iters')} ({decay}), got {steps}"
            )
        return steps * per
    if a["lr_warmup_iters"]:
        raise ValueError(
            f"{_FN}(): {_OWNER} takes only one of lr_warmup_fraction and "
            f"{_arg(a, 'lr_warmup_iters')}, got {a['lr_warmup_fraction']!r} and "
            f"{a['lr_warmup_iters']!r}"
        )
    fraction = opt.number(_FN, _OWNER, "lr_warmup_fraction", a["lr_warmup_fraction"], at_least=0)
    samples = fraction * (decay * batch)  # Megatron's own float product
    if not samples < decay * batch:
        raise ValueError(
            f"{_FN}(): {_OWNER} needs the warm-up shorter than {_arg(a, 'lr_decay_iters')}: "
            f"lr_warmup_fraction must be below 1, got {fraction!r}"
        )
    if per != batch:  # the iteration clock: the caller checked that it ends on an iteration
        return int(samples) // batch
    return int(samples) if samples.is_integer() else samples


def _anneal(lr: _Lr, coeff: Schedule) -> Schedule:
    """``min + coeff * (max - min)``, Megatron's form."""
    return lr.min + (lr.max - lr.min) * coeff if lr.min else lr.max * coeff


def _linear(lr: _Lr, a: _Args) -> Schedule:
    return _anneal(lr, shapes.DECAYS[shapes.LINEAR](lr.decay - int(lr.warmup)))


def _cosine(lr: _Lr, a: _Args) -> Schedule:
    return _anneal(lr, shapes.DECAYS[shapes.COSINE](lr.decay - int(lr.warmup)))


def _inverse_square_root(lr: _Lr, a: _Args) -> Schedule:
    # After the warm-up (clock u = n - W): max * sqrt(W / (u + W)). With no warm-up Megatron
    # divides by the square root of the *sample* count: max at iteration 0, then
    # max / sqrt(t * global_batch_size). min from n = D + 1 on.
    if lr.warmup:
        body: Schedule = lr.max * inverse_sqrt(int(lr.warmup))
    else:
        if a["global_batch_size"] is None:
            raise TypeError(
                f"{_FN}(): {_OWNER} lr_decay_style 'inverse-square-root' with no warm-up needs "
                "global_batch_size (the decay is 1 / sqrt of the sample count)"
            )
        batch = opt.count(_FN, _OWNER, "global_batch_size", a["global_batch_size"], minimum=1)
        body = sequence(constant(lr.max), lr.max / math.sqrt(batch) * inverse_sqrt(1), at=[1])
    return sequence(maximum(lr.min, body), constant(lr.min), at=[lr.decay - int(lr.warmup) + 1])


def _anneal_steps(lr: _Lr, a: _Args) -> int:
    """WSD's ``lr_wsd_decay_iters`` in steps."""
    wsd = _arg(a, "lr_wsd_decay_iters")
    if a["lr_wsd_decay_iters"] is None:
        raise TypeError(f"{_FN}(): {_OWNER} lr_decay_style 'WSD' needs {wsd}")
    return opt.count(_FN, _OWNER, wsd, a["lr_wsd_decay_iters"], minimum=1) * lr.per


def _wsd_style(a: _Args) -> str:
    return opt.pick(
        _FN, "lr_wsd_decay_style", a["lr_wsd_decay_style"], [*_WSD_SHAPES, "exponential"]
    )


def _wsd(lr: _Lr, a: _Args) -> Schedule:
    style = _wsd_style(a)
    anneal = _anneal_steps(lr, a)
    span = lr.decay - int(lr.warmup)
    stable = span - anneal
    if stable < 0:  # Megatron starts the anneal inside the warm-up, which still wins there
        start = 1 if lr.warmup else 0  # the step where the fall's own clock starts
        fall = _anneal(lr, _COEFFS[style]((elapsed() + (start - stable)) / anneal))
        if start:
            return sequence(constant(lr.max), fall, constant(lr.min), at=[1, span + 1])
        return sequence(fall, constant(lr.min), at=[span + 1])
    if style != "exponential":
        return _anneal(lr, warmup_stable_decay(0, stable, anneal, decay_shape=_WSD_SHAPES[style]))
    fall = 2.0 * stretch(exponential(0.5), anneal) - 1.0
    pieces = [constant(1.0), fall, constant(0.0)] if stable else [fall, constant(0.0)]
    at = [stable, span + 1] if stable else [span + 1]
    return _anneal(lr, sequence(*pieces, at=at))


# One entry per ``lr_decay_style``: the curve after the warm-up, on the clock ``n - W``.
STYLES: dict[str, Callable[[_Lr, _Args], Schedule]] = {
    "constant": lambda lr, a: constant(lr.max),
    "linear": _linear,
    "cosine": _cosine,
    "inverse-square-root": _inverse_square_root,
    "WSD": _wsd,
}

# Megatron's decay factors of a ratio ``r`` in its own operations (``_fractional``).
_COEFFS: dict[str, Callable[[Schedule], Schedule]] = {
    "linear": lambda r: 1.0 - r,
    "cosine": lambda r: warp(cosine(1), r),  # 0.5 * (cos(pi r) + 1), the same bits
    "exponential": lambda r: 2.0 * 0.5**r - 1.0,
    "minus_sqrt": lambda r: 1.0 - r**0.5,
}


def _fractional(lr: _Lr, style: str, a: _Args) -> Schedule:
    """The curve of a warm-up ending between steps ``floor(W)`` and ``floor(W) + 1`` (Megatron
    warms up while ``n <= W``), every piece on the global clock ``n``, in Megatron's operations.
    """
    w = float(lr.warmup)
    first, n = math.floor(w) + 1, elapsed()
    ramp = (lr.max - lr.init) * n / w
    pieces, at = [lr.init + ramp if lr.init else ramp], [first]
    if style == "constant":
        return sequence(pieces[0], constant(lr.max), at=at)
    delta = lr.max - lr.min

    def value(coeff: Schedule) -> Schedule:
        return lr.min + coeff * delta if lr.min else coeff * delta

    if style == "inverse-square-root":
        body: Schedule = maximum(lr.min, lr.max * max(w, 1) ** 0.5 / n**0.5)
    elif style == "WSD":
        anneal = _anneal_steps(lr, a)
        begin = lr.decay - anneal  # the anneal starts after this step
        if begin >= first:
            pieces.append(constant(lr.min + 1.0 * delta))
            at.append(begin + 1)
        body = value(_COEFFS[_wsd_style(a)]((n - begin) / anneal))
    else:
        body = value(_COEFFS[style]((n - w) / (lr.decay - w)))
    pieces += [shift(body, at[-1]), constant(lr.min)]
    return sequence(*pieces, at=[*at, lr.decay + 1])


def _learning_rate(a: _Args, per: int = 1, batch: int = 1, peak: str = "lr") -> Schedule:
    style = opt.pick(_FN, "lr_decay_style", a["lr_decay_style"], STYLES)
    lr = _Lr(a, per, batch, peak, "min_lr" if peak == "lr" else "decoupled_min_lr")
    if isinstance(lr.warmup, float):
        return _fractional(lr, style, a)
    after = STYLES[style](lr, a)
    if not lr.warmup:
        return after
    if lr.max > 0:
        return warmup(after, lr.warmup, start=lr.init / lr.max)
    return sequence(linear(lr.init, lr.max, lr.warmup), after, at=[lr.warmup])


def _weight_decay(a: _Args, steps: int) -> Schedule:
    style = opt.pick(_FN, "weight_decay_incr_style", a["weight_decay_incr_style"], _WD_STYLES)
    if style == "constant":
        for name in ("start_weight_decay", "end_weight_decay"):
            if a[name] is not None:
                raise ValueError(
                    f"{_FN}(): {_OWNER} weight_decay_incr_style 'constant' takes weight_decay, "
                    f"not {name} (got {a[name]!r})"
                )
        return constant(opt.number(_FN, _OWNER, "weight_decay", a["weight_decay"], at_least=0))
    for name in ("start_weight_decay", "end_weight_decay"):
        if a[name] is None:
            raise TypeError(f"{_FN}(): {_OWNER} weight_decay_incr_style {style!r} needs {name}")
    start = opt.number(_FN, _OWNER, "start_weight_decay", a["start_weight_decay"], at_least=0)
    end = opt.number(_FN, _OWNER, "end_weight_decay", a["end_weight_decay"], at_least=start)
    return _WD_STYLES[style](start, end, steps)


_WD_STYLES: dict[str, Callable[[float, float, int], Schedule]] = {
    "constant": lambda start, end, steps: constant(end),
    "linear": lambda start, end, steps: linear(start, end, steps),
    # start + (end - start) * (1 + cos(pi (1 - r))) / 2 = end - (end - start) * (1 + cos(pi r)) / 2
    "cosine": lambda start, end, steps: end - (end - start) * cosine(steps),
}


def _arguments(args: Any) -> _Args:
    given = dict(args) if isinstance(args, Mapping) else dict(vars(args))
    given = {str(k).replace("-", "_"): v for k, v in given.items()}
    for name in given:
        # Megatron has hundreds of other arguments: only a near miss of ours is a mistake.
        close = difflib.get_close_matches(name, DEFAULTS, n=1, cutoff=0.85)
        if name not in DEFAULTS and name not in OTHER_ARGUMENTS and close:
            raise ValueError(
                f"{_FN}(): {_OWNER} has no argument {name!r}; did you mean {close[0]!r}?"
            )
    return _Args({name: given.get(name, default) for name, default in DEFAULTS.items()})


def _arg(a: Mapping[str, Any], name: str) -> str:
    """The user's name of an ``*_iters`` length (or of ``iterations``): ``*_samples`` in
    sample-based training."""
    return name.replace("iter", "sample") if a.get("_unit") == "samples" else name


_BY_SAMPLES = {
    "lr_decay_iters": "lr_decay_samples",
    "lr_warmup_iters": "lr_warmup_samples",
    "lr_wsd_decay_iters": "lr_wsd_decay_samples",
}


def _batch(a: _Args, why: str) -> int:
    if a["global_batch_size"] is None:
        raise TypeError(f"{_FN}(): {_OWNER} {why} needs global_batch_size")
    return opt.count(_FN, _OWNER, "global_batch_size", a["global_batch_size"], minimum=1)


# Settings whose curve depends on what only the running job knows, and why.
_UNFOLLOWED = {
    "use_checkpoint_opt_param_scheduler": "takes the scheduler's settings from the checkpoint "
    "it resumes from, not from these arguments",
    "decrease_batch_size_if_needed": "makes the samples per iteration depend on the "
    "data-parallel size, which the arguments do not give",
    "step_batch_size_schedule": "changes the samples per iteration with the tokens seen",
}


def ramp(a: Mapping[str, Any], batch: int) -> list[tuple[int, int, int]]:
    """``rampup_batch_size`` ``[start, increment, samples]`` as Megatron's
    ``RampupBatchsizeNumMicroBatchesCalculator`` runs it: ``(t, c, b)`` for each stretch of
    iterations from ``t`` on, with ``c`` samples consumed before iteration ``t`` and ``b`` per
    iteration (``batch`` in the last)."""
    given = a["rampup_batch_size"]
    if not isinstance(given, (list, tuple)) or len(given) != 3:
        raise ValueError(f"{_FN}(): {_OWNER} rampup_batch_size takes 3 integers, got {given!r}")
    names = ("start batch size", "batch size increment", "ramp-up samples")
    first, step, span = (
        opt.count(_FN, _OWNER, f"rampup_batch_size {n}", v, minimum=m)
        for n, v, m in zip(names, given, (1, 1, 1), strict=True)  # Megatron divides by each
    )
    if batch < first or (batch - first) % step or batch == first:
        raise ValueError(
            f"{_FN}(): {_OWNER} rampup_batch_size needs global_batch_size ({batch}) above its "
            f"start ({first}) by a whole number of increments ({step})"
        )
    per_increment = span / ((batch - first) // step)  # Megatron's float

    def size(c: int) -> int:
        return batch if c > span else first + int(c / per_increment) * step

    stretches, t, c = [], 0, 0
    while True:
        b = size(c)
        stretches.append((t, c, b))
        if b == batch:
            return stretches
        lo, hi = 1, (span - c) // b + 2  # the batch has grown after hi iterations
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if size(c + mid * b) != b else (mid + 1, hi)
        t, c = t + lo, c + lo * b


def _clock(a: _Args, batch: int) -> Schedule:
    """The samples consumed before iteration ``t``."""
    if a["rampup_batch_size"] is None:
        return batch * elapsed()
    stretches = ramp(a, batch)
    pieces = [c + b * elapsed() if c else b * elapsed() for _, c, b in stretches]
    return sequence(*pieces, at=[t for t, _, _ in stretches[1:]])


def _curves(a: _Args, train: int, per: int, batch: int) -> dict[str, Schedule]:
    """The curves on the clock of their lengths: the arguments' unit, or ``1 / per`` of it."""
    curves = {"lr": _learning_rate(a, per, batch), "weight_decay": _weight_decay(a, train * per)}
    if a["decoupled_lr"] is not None:
        curves["decoupled_lr"] = _learning_rate(a, per, batch, "decoupled_lr")
    return curves


def _read(curves: dict[str, Schedule], clock: Schedule | None) -> dict[str, Schedule]:
    """The curves in samples read at the samples consumed before iteration ``t``."""
    return curves if clock is None else {name: warp(c, clock) for name, c in curves.items()}


def _sample_based(a: _Args) -> dict[str, Schedule]:
    """Sample-based training (``train_samples``): Megatron's lengths are in samples and its
    scheduler is stepped by the samples of each iteration, so the value at iteration ``t`` is the
    curve in samples read at the samples consumed before it (``warp``)."""
    for iters, samples in _BY_SAMPLES.items():
        if a[iters] not in (None, 0):
            raise ValueError(
                f"{_FN}(): {_OWNER} sample-based training (train_samples) takes {samples}, not "
                f"{iters} (got {a[iters]!r})"
            )
    batch = _batch(a, "sample-based training (train_samples)")
    train = opt.count(_FN, _OWNER, "train_samples", a["train_samples"], minimum=1)
    lengths = {iters: dict.get(a, samples) for iters, samples in _BY_SAMPLES.items()}
    inner = a.but(_unit="samples", global_batch_size=1, **lengths)
    if inner["lr_decay_iters"] is None:
        inner["lr_decay_iters"] = train
    plain = a["rampup_batch_size"] is None and batch == 1
    return _read(_curves(inner, train, 1, 1), None if plain else _clock(a, batch))


def _whole(a: _Args, decay: int, batch: int) -> bool:
    """Whether the warm-up ends on an iteration: ``fraction * (decay * batch)`` a multiple of
    ``batch`` (always, for ``lr_warmup_iters``)."""
    if a["lr_warmup_fraction"] is None:
        return True
    fraction = opt.number(_FN, _OWNER, "lr_warmup_fraction", a["lr_warmup_fraction"], at_least=0)
    samples = fraction * (decay * batch)
    return samples.is_integer() and int(samples) % batch == 0


def from_megatron(args: Any) -> dict[str, Schedule]:
    """``{"lr": ..., "weight_decay": ...}`` (and ``"decoupled_lr"``) from Megatron-LM
    arguments, per iteration: iteration-based training (``train_iters``; ``lr_decay_iters``
    defaults to it) or sample-based (``train_samples`` with ``global_batch_size``;
    ``lr_decay_samples`` defaults to it). A value that is an ``Unresolved`` is refused with its
    message where the curves need it."""
    a = _arguments(args)
    for name, why in _UNFOLLOWED.items():
        if a[name] not in (None, False):
            raise ValueError(f"{_FN}(): {_OWNER} {name} ({a[name]!r}) {why}")
    if a["train_iters"] is None and a["train_samples"] is not None:
        return _sample_based(a)
    if a["train_iters"] is None:
        raise TypeError(f"{_FN}(): {_OWNER} needs the argument 'train_iters' (or train_samples)")
    for iters, samples in _BY_SAMPLES.items():
        if a[samples] not in (None, 0):
            raise ValueError(
                f"{_FN}(): {_OWNER} iteration-based training (train_iters) takes {iters}, not "
                f"{samples} (got {a[samples]!r})"
            )
    train = opt.count(_FN, _OWNER, "train_iters", a["train_iters"], minimum=1)
    if a["lr_decay_iters"] is None:
        a["lr_decay_iters"] = train
    decay = opt.count(_FN, _OWNER, "lr_decay_iters", a["lr_decay_iters"], minimum=1)
    if a["rampup_batch_size"] is not None:
        batch = _batch(a, "rampup_batch_size")
        return _read(_curves(a.but(global_batch_size=1), train, batch, batch), _clock(a, batch))
    given = a["global_batch_size"]
    batch = 1 if given is None else opt.count(_FN, _OWNER, "global_batch_size", given, minimum=1)
    if _whole(a, decay, batch):
        return _curves(a, train, 1, batch)
    # The warm-up ends inside an iteration: the curve in samples, read at t * batch.
    inner = a.but(global_batch_size=1)
    return _read(_curves(inner, train, batch, batch), batch * elapsed() if batch > 1 else None)


def run_length(args: Any, *, steps_per_epoch: int | None = None) -> int | None:
    """The run's iterations: ``train_iters``, or as Megatron's ``update_train_iters`` counts
    them from ``train_samples`` (whole batches, through the ramp of ``rampup_batch_size``).
    ``steps_per_epoch`` is not used (Megatron's lengths are not in epochs)."""
    a = _arguments(args)
    if a["train_iters"] is not None:
        return opt.count(_FN, _OWNER, "train_iters", a["train_iters"], minimum=1)
    if a["train_samples"] is None:
        return None
    samples = opt.count(_FN, _OWNER, "train_samples", a["train_samples"], minimum=1)
    batch = _batch(a, "sample-based training (train_samples)")
    if a["rampup_batch_size"] is None:
        return samples // batch
    stretches = ramp(a, batch)
    limit = min(samples, int(a["rampup_batch_size"][2]))
    iterations = consumed = 0
    for k, (t, c, b) in enumerate(stretches):
        if c > limit:
            break
        length = stretches[k + 1][0] - t if k + 1 < len(stretches) else math.inf
        taken = int(min(length, (limit - c) // b + 1))
        iterations, consumed = iterations + taken, c + taken * b
        if taken < length:
            break
    return iterations + max(0, samples - consumed) // batch
