"""Megatron-LM's ``OptimizerParamScheduler`` as schedalg expressions.

``from_megatron(args)`` reads Megatron-LM's training arguments (a dict, e.g. ``vars(args)``, or
the ``argparse`` namespace itself) and returns ``{"lr": ..., "weight_decay": ...}``: absolute
values, on the iteration clock (the value at ``t`` is what the optimizer uses for iteration
``t``; Megatron counts samples, ``t * global_batch_size``: in iteration-based training every
length it compares scales with the batch size, so the curve per iteration is the same; in
sample-based training, ``train_samples``, the lengths are in samples and the curve in samples is
read at ``t * global_batch_size`` with ``warp``).

How Megatron computes (``megatron/core/optimizer_param_scheduler.py``), at step ``n``:

- warm-up, ``0 < n <= W``: ``init + (max - init) * n / W``;
- ``constant``: ``max`` after the warm-up, forever; otherwise ``min`` for ``n > D``;
- ``inverse-square-root``: ``max(min, max * sqrt(max(W, 1)) / sqrt(max(n, 1)))``, in samples:
  with no warm-up the curve depends on ``global_batch_size``;
- ``linear`` / ``cosine`` / ``WSD``: ``min + coeff * (max - min)`` with ``r = (n - W) / (D - W)``,
  ``coeff = 1 - r`` or ``(1 + cos(pi r)) / 2``; WSD holds 1 until ``D - S`` and then decays over
  ``S`` steps with ``lr_wsd_decay_style`` (``linear``, ``cosine``, ``exponential``
  ``2 * 0.5 ** r - 1``, ``minus_sqrt`` ``1 - sqrt(r)``);
- weight decay over ``train_iters``: ``start + coeff * (end - start)``, ``coeff`` ``r`` (linear)
  or ``(1 + cos(pi (1 - r))) / 2`` (cosine), ``end`` after; ``constant`` needs ``start == end``.

The table ``STYLES`` has one builder per ``lr_decay_style``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import sequence, warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import stretch, warp
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
}

# lr_wsd_decay_style's names for the shared shapes (``minus_sqrt`` is schedalg's ``1-sqrt``).
_WSD_SHAPES = shapes.spellings(_OWNER)


class _Lr:
    """The learning-rate settings, checked as Megatron's constructor asserts them."""

    def __init__(self, a: dict[str, Any]) -> None:
        given = a["lr"] if a["lr"] is not None else a["max_lr"]
        if given is None:
            raise TypeError(f"{_FN}(): {_OWNER} needs the argument 'lr' (the peak learning rate)")
        self.max = opt.number(_FN, _OWNER, "lr", given, at_least=0)
        self.min = opt.number(_FN, _OWNER, "min_lr", a["min_lr"], at_least=0, at_most=self.max)
        self.init = opt.number(_FN, _OWNER, "lr_warmup_init", a["lr_warmup_init"], at_most=self.max)
        decay = _arg(a, "lr_decay_iters")
        self.decay = opt.count(_FN, _OWNER, decay, a["lr_decay_iters"], minimum=1)
        self.warmup = _warmup_iters(a, self.decay)


def _warmup_iters(a: dict[str, Any], decay: int) -> int:
    if a["lr_warmup_fraction"] is None:
        steps = opt.count(_FN, _OWNER, _arg(a, "lr_warmup_iters"), a["lr_warmup_iters"])
    else:
        if a["lr_warmup_iters"]:
            raise ValueError(
                f"{_FN}(): {_OWNER} takes only one of lr_warmup_fraction and "
                f"{_arg(a, 'lr_warmup_iters')}, got {a['lr_warmup_fraction']!r} and "
                f"{a['lr_warmup_iters']!r}"
            )
        fraction = opt.number(_FN, _OWNER, "lr_warmup_fraction", a["lr_warmup_fraction"])
        product = fraction * decay
        if not product.is_integer():
            raise ValueError(
                f"{_FN}(): {_OWNER} lr_warmup_fraction * {_arg(a, 'lr_decay_iters')} must be a "
                f"whole number of {_unit(a)} here, got {fraction!r} * {decay} = {product!r}"
            )
        steps = int(product)
    if not 0 <= steps < decay:
        raise ValueError(
            f"{_FN}(): {_OWNER} needs 0 <= warm-up {_unit(a)} < {_arg(a, 'lr_decay_iters')} "
            f"({decay}), "
            f"got {steps}"
        )
    return steps


def _anneal(lr: _Lr, coeff: Schedule) -> Schedule:
    """``min + coeff * (max - min)``, Megatron's form."""
    return lr.min + (lr.max - lr.min) * coeff if lr.min else lr.max * coeff


def _constant(lr: _Lr, a: dict[str, Any]) -> Schedule:
    return constant(lr.max)


def _linear(lr: _Lr, a: dict[str, Any]) -> Schedule:
    return _anneal(lr, shapes.DECAYS[shapes.LINEAR](lr.decay - lr.warmup))


def _cosine(lr: _Lr, a: dict[str, Any]) -> Schedule:
    return _anneal(lr, shapes.DECAYS[shapes.COSINE](lr.decay - lr.warmup))


def _inverse_square_root(lr: _Lr, a: dict[str, Any]) -> Schedule:
    # After the warm-up (clock u = n - W): max * sqrt(W / (u + W)). With no warm-up Megatron
    # divides by the square root of the *sample* count: max at iteration 0, then
    # max / sqrt(t * global_batch_size). min from n = D + 1 on.
    if lr.warmup:
        body: Schedule = lr.max * inverse_sqrt(lr.warmup)
    else:
        if a["global_batch_size"] is None:
            raise TypeError(
                f"{_FN}(): {_OWNER} lr_decay_style 'inverse-square-root' with no warm-up needs "
                "global_batch_size (the decay is 1 / sqrt of the sample count)"
            )
        batch = opt.count(_FN, _OWNER, "global_batch_size", a["global_batch_size"], minimum=1)
        body = sequence(constant(lr.max), lr.max / math.sqrt(batch) * inverse_sqrt(1), at=[1])
    return sequence(maximum(lr.min, body), constant(lr.min), at=[lr.decay - lr.warmup + 1])


def _wsd(lr: _Lr, a: dict[str, Any]) -> Schedule:
    style = opt.pick(
        _FN, "lr_wsd_decay_style", a["lr_wsd_decay_style"], [*_WSD_SHAPES, "exponential"]
    )
    wsd = _arg(a, "lr_wsd_decay_iters")
    if a["lr_wsd_decay_iters"] is None:
        raise TypeError(f"{_FN}(): {_OWNER} lr_decay_style 'WSD' needs {wsd}")
    span = lr.decay - lr.warmup
    anneal = opt.count(_FN, _OWNER, wsd, a["lr_wsd_decay_iters"], minimum=1)
    if anneal > span:
        raise ValueError(
            f"{_FN}(): {_OWNER} {wsd} must be at most {_arg(a, 'lr_decay_iters')} minus the "
            f"warm-up ({span}), got {anneal}"
        )
    stable = span - anneal
    if style != "exponential":
        return _anneal(lr, warmup_stable_decay(0, stable, anneal, decay_shape=_WSD_SHAPES[style]))
    fall = 2.0 * stretch(exponential(0.5), anneal) - 1.0
    pieces = [constant(1.0), fall, constant(0.0)] if stable else [fall, constant(0.0)]
    at = [stable, span + 1] if stable else [span + 1]
    return _anneal(lr, sequence(*pieces, at=at))


# One entry per ``lr_decay_style``: the curve after the warm-up, on the clock ``n - W``.
STYLES: dict[str, Callable[[_Lr, dict[str, Any]], Schedule]] = {
    "constant": _constant,
    "linear": _linear,
    "cosine": _cosine,
    "inverse-square-root": _inverse_square_root,
    "WSD": _wsd,
}


def _learning_rate(a: dict[str, Any]) -> Schedule:
    style = opt.pick(_FN, "lr_decay_style", a["lr_decay_style"], STYLES)
    lr = _Lr(a)
    after = STYLES[style](lr, a)
    if not lr.warmup:
        return after
    if lr.max > 0:
        return warmup(after, lr.warmup, start=lr.init / lr.max)
    return sequence(linear(lr.init, lr.max, lr.warmup), after, at=[lr.warmup])


def _weight_decay(a: dict[str, Any], steps: int) -> Schedule:
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


def _arguments(args: Any) -> dict[str, Any]:
    given = dict(args) if isinstance(args, Mapping) else dict(vars(args))
    given = {str(k).replace("-", "_"): v for k, v in given.items()}
    for name in given:
        # Megatron has hundreds of other arguments: only a near miss of ours is a mistake.
        close = difflib.get_close_matches(name, DEFAULTS, n=1, cutoff=0.85)
        if name not in DEFAULTS and close:
            raise ValueError(
                f"{_FN}(): {_OWNER} has no argument {name!r}; did you mean {close[0]!r}?"
            )
    return {name: given.get(name, default) for name, default in DEFAULTS.items()}


def _arg(a: dict[str, Any], name: str) -> str:
    """The user's name of an ``*_iters`` length: ``*_samples`` in sample-based training."""
    return name.replace("_iters", "_samples") if a.get("_unit") == "samples" else name


def _unit(a: dict[str, Any]) -> str:
    return "samples" if a.get("_unit") == "samples" else "iterations"


_BY_SAMPLES = {
    "lr_decay_iters": "lr_decay_samples",
    "lr_warmup_iters": "lr_warmup_samples",
    "lr_wsd_decay_iters": "lr_wsd_decay_samples",
}


def _sample_based(a: dict[str, Any]) -> dict[str, Schedule]:
    """Sample-based training (``train_samples``): Megatron's lengths are in samples and its
    scheduler is stepped by ``global_batch_size`` per iteration, so the value at iteration ``t``
    is the curve in samples read at ``t * global_batch_size`` (``warp``)."""
    for iters, samples in _BY_SAMPLES.items():
        if a[iters] not in (None, 0):
            raise ValueError(
                f"{_FN}(): {_OWNER} sample-based training (train_samples) takes {samples}, not "
                f"{iters} (got {a[iters]!r})"
            )
    if a["rampup_batch_size"] is not None:
        raise ValueError(
            f"{_FN}(): {_OWNER} rampup_batch_size ({a['rampup_batch_size']!r}) is not supported: "
            "the samples per iteration change during the ramp"
        )
    if a["global_batch_size"] is None:
        raise TypeError(
            f"{_FN}(): {_OWNER} sample-based training (train_samples) needs global_batch_size "
            "(the samples per iteration)"
        )
    batch = opt.count(_FN, _OWNER, "global_batch_size", a["global_batch_size"], minimum=1)
    train = opt.count(_FN, _OWNER, "train_samples", a["train_samples"], minimum=1)
    inner = {**a, "_unit": "samples", "global_batch_size": 1}
    inner.update({iters: a[samples] for iters, samples in _BY_SAMPLES.items()})
    if inner["lr_decay_iters"] is None:
        inner["lr_decay_iters"] = train
    curves = {"lr": _learning_rate(inner), "weight_decay": _weight_decay(inner, train)}
    if batch == 1:
        return curves
    clock = batch * elapsed()
    return {name: warp(curve, clock) for name, curve in curves.items()}


def from_megatron(args: Any) -> dict[str, Schedule]:
    """``{"lr": ..., "weight_decay": ...}`` from Megatron-LM arguments, per iteration:
    iteration-based training (``train_iters``; ``lr_decay_iters`` defaults to it) or
    sample-based (``train_samples`` with ``global_batch_size``; ``lr_decay_samples`` defaults
    to it)."""
    a = _arguments(args)
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
    return {"lr": _learning_rate(a), "weight_decay": _weight_decay(a, train)}
