"""HF transformers front door: ``get_scheduler``'s names and options as schedalg expressions.

``from_hf(name, num_warmup_steps, num_training_steps, **scheduler_kwargs)`` takes what
``transformers.get_scheduler`` takes (less the optimizer) and returns the multiplier of the
optimizer's learning rate that HF's ``LambdaLR`` applies at every step, as a readable expression
built from the public constructors::

    >>> from schedalg.hf import from_hf
    >>> from_hf("cosine", num_warmup_steps=100, num_training_steps=1000)
    warmup(cosine(900, periodic=True), 100)

``from_training_arguments(args)`` reads the same from a ``TrainingArguments`` object or its JSON
(a dict or a file path). HF's schedulers that need the optimizer's learning rate (``polynomial``'s
``lr_end``, ``cosine_with_min_lr``'s ``min_lr``) need ``learning_rate=`` here. There is one
entry per scheduler name in ``BUILDERS``; transformers itself is never imported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.arithmetic import clamp
from schedalg.algebra.combinators import sequence, warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.curves.metric import plateau
from schedalg.curves.phases import warmup_stable_decay
from schedalg.curves.primitives import cosine, cosine_restarts, inverse_sqrt, linear, polynomial
from schedalg.importers import shapes

__all__ = ["BUILDERS", "from_hf", "from_lr_lambda", "from_training_arguments"]

FN = "from_hf"


@dataclass(frozen=True)
class Options:
    """What a builder reads: the two step counts, the scheduler's own options, the base lr."""

    warmup: int | None
    total: int | None
    kwargs: dict[str, Any]
    learning_rate: float | None

    def take(self, name: str, default: Any) -> Any:
        return self.kwargs.pop(name, default)

    def warmup_steps(self) -> int:
        if self.warmup is None:
            raise ValueError(f"{FN}(): num_warmup_steps must be given for this scheduler type")
        return self.warmup

    def training_steps(self) -> int:
        if self.total is None:
            raise ValueError(f"{FN}(): num_training_steps must be given for this scheduler type")
        return self.total

    def lr(self, option: str) -> float:
        if self.learning_rate is None:
            raise ValueError(
                f"{FN}(): learning_rate (the optimizer's lr) must be given to use {option}"
            )
        return self.learning_rate


def _ramp(main: Schedule, steps: int) -> Schedule:
    """HF's warm-up ``t / max(1, W)`` for ``t < W``, then ``main(t - W)`` (``main(0)`` is 1)."""
    return warmup(main, steps) if steps else main


def _ramp_to(main: Schedule, steps: int) -> Schedule:
    """The same ramp before a ``main`` that need not start at 1."""
    return sequence(linear(0.0, 1.0, steps), main, at=[steps]) if steps else main


def _number(
    name: str,
    value: Any,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    return check.real(FN, name, value, above=above, at_least=at_least, at_most=at_most)


def _cosine_wave(span: int, cycles: float, end: float = 0.0) -> Schedule:
    """``end + (1 - end) * (1 + cos(2 pi cycles u / span)) / 2``, unclamped (HF's waves)."""
    wave = cosine(span, end=end, periodic=True)
    return wave if cycles == 0.5 else stretch(wave, 0.5 / cycles)


def _nonnegative(schedule: Schedule, floor: float) -> Schedule:
    """HF's ``max(0, factor)``: only a negative minimum can make a factor negative."""
    return clamp(schedule, low=0.0) if floor < 0 else schedule


def _constant(o: Options) -> Schedule:
    return constant(1.0)


def _constant_with_warmup(o: Options) -> Schedule:
    return _ramp(constant(1.0), o.warmup_steps())


def _linear(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    main = shapes.DECAYS[shapes.LINEAR](t - w) if t > w else constant(0.0)
    return _ramp(main, w) if t > w else _ramp_to(main, w)


def _cosine(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    return _ramp(_cosine_wave(max(1, t - w), cycles), w)


def _cosine_with_restarts(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = check.integer(FN, "num_cycles", o.take("num_cycles", 1), minimum=1)
    span = max(1, t - w)
    if span % cycles:
        raise ValueError(
            f"{FN}(): num_cycles must divide num_training_steps - num_warmup_steps ({span}) "
            f"for an exact cycle length, got {cycles!r}"
        )
    restarts = cosine_restarts(span // cycles) if cycles > 1 else cosine(span)
    return _ramp(sequence(restarts, constant(0.0), at=[span]), w)


def _polynomial(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    lr_end = _number("lr_end", o.take("lr_end", 1e-7))
    power = _number("power", o.take("power", 1.0), at_least=0)
    lr_init = o.lr("polynomial")
    if not lr_init > lr_end:
        raise ValueError(f"{FN}(): lr_end ({lr_end}) must be smaller than initial lr ({lr_init})")
    if t <= w:
        raise ValueError(
            f"{FN}(): num_training_steps must be greater than num_warmup_steps for 'polynomial' "
            f"(HF divides by their difference), got {t!r} and {w!r}"
        )
    return _ramp(polynomial(t - w, power=power, end=lr_end / lr_init), w)


def _inverse_sqrt(o: Options) -> Schedule:
    w = o.warmup_steps()
    timescale = o.take("timescale", None)
    timescale = (
        (w or 10_000) if timescale is None else check.positive_length(FN, "timescale", timescale)
    )
    return _ramp(inverse_sqrt(timescale), w)


def _min_lr_rate(o: Options) -> float:
    min_lr, rate = o.take("min_lr", None), o.take("min_lr_rate", None)
    if min_lr is not None and rate is not None:
        raise ValueError(f"{FN}(): only one of min_lr or min_lr_rate should be set")
    if min_lr is not None:
        return _number("min_lr", min_lr) / o.lr("min_lr")
    if rate is None:
        raise ValueError(f"{FN}(): one of min_lr or min_lr_rate should be set")
    return _number("min_lr_rate", rate)


def _cosine_with_min_lr(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    rate = _min_lr_rate(o)
    return _nonnegative(_ramp(_cosine_wave(max(1, t - w), cycles, end=rate), w), rate)


def _cosine_warmup_with_min_lr(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    start = o.take("warmup_lr_rate", None)
    rate = _min_lr_rate(o)
    # HF's off-by-one: both phases read step t + 1 (the warm-up ends at 1, the decay starts a
    # step in); with warmup_lr_rate r the warm-up is r + (1 - r) * t / max(1, W - 1) instead.
    decay = shift(_cosine_wave(max(1, t - w), cycles, end=rate), 1)
    if not w:
        return _nonnegative(decay, rate)
    if start is None:
        ramp: Schedule = shift(linear(0.0, 1.0, w), 1)
    else:
        ramp = linear(_number("warmup_lr_rate", start), 1.0, max(1, w - 1))
    return _nonnegative(sequence(ramp, decay, at=[w]), rate)


def _wsd(o: Options) -> Schedule:
    w = o.warmup_steps()
    d = check.integer(FN, "num_decay_steps", o.take("num_decay_steps", None), minimum=1)
    stable = o.take("num_stable_steps", None)
    if stable is None:
        stable = o.training_steps() - w - d
    stable = check.integer(FN, "num_stable_steps", stable, minimum=0)
    up = check.choice(FN, "warmup_type", o.take("warmup_type", shapes.LINEAR), _WSD_SHAPES)
    down = check.choice(FN, "decay_type", o.take("decay_type", shapes.COSINE), _WSD_SHAPES)
    end = _number("min_lr_ratio", o.take("min_lr_ratio", 0.0))
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    shape = warmup_stable_decay(w, stable, d, end=end, warmup_shape=up, decay_shape=down)
    if down == shapes.COSINE and cycles != 0.5:
        # More (or fewer) waves than a half cosine: the decay no longer ends at the minimum,
        # and HF still drops to min_lr_ratio after it.
        pieces = [_cosine_wave(d, cycles, end=end), constant(end)]
        at = [w + stable + d]
        if w + stable:
            pieces.insert(0, shape)
            at.insert(0, w + stable)
        return _nonnegative(sequence(*pieces, at=at), end)
    return _nonnegative(shape, end)


# HF's names for warmup_type and decay_type are schedalg's (warmup_stable_decay draws them).
_WSD_SHAPES = tuple(shapes.spellings("HF"))


def _reduce_lr_on_plateau(o: Options) -> Schedule:
    # torch's min_lr and eps are learning rates: the node starts at the lr itself so that its
    # decisions are torch's operation for operation (an absolute schedule, not a multiplier).
    names = {"min_lr": "min_value"}
    allowed = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "eps")
    options: dict[str, Any] = {"start": o.lr("reduce_lr_on_plateau")}
    for key in [*allowed, "min_lr"]:
        if key in o.kwargs:
            options[names.get(key, key)] = o.kwargs.pop(key)
    return plateau(**options)


def _greedy(o: Options) -> Schedule:
    raise ValueError(
        f"{FN}(): 'greedy' (GreedyLR) has no expression: it raises or lowers the lr from the "
        "smoothed loss it is given at each step, with no fixed form"
    )


BUILDERS: dict[str, Callable[[Options], Schedule]] = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _cosine_with_restarts,
    "polynomial": _polynomial,
    "constant": _constant,
    "constant_with_warmup": _constant_with_warmup,
    "inverse_sqrt": _inverse_sqrt,
    "reduce_lr_on_plateau": _reduce_lr_on_plateau,
    "cosine_with_min_lr": _cosine_with_min_lr,
    "cosine_warmup_with_min_lr": _cosine_warmup_with_min_lr,
    "warmup_stable_decay": _wsd,
    "greedy": _greedy,
}
"""One entry per ``transformers.SchedulerType`` value (5.23): the builder of its multiplier."""

# get_scheduler passes no step counts to these (and refuses a missing num_training_steps only
# for the others).
_NO_STEPS = ("constant", "reduce_lr_on_plateau", "greedy")


def _name(name: Any) -> str:
    value = getattr(name, "value", name)  # a SchedulerType member
    if not isinstance(value, str):
        raise TypeError(f"{FN}(): name must be a scheduler type name, got {name!r}")
    if value not in BUILDERS:
        raise ValueError(
            f"{FN}(): name must be one of {', '.join(map(repr, BUILDERS))}, got {value!r}"
            + nearest(value, BUILDERS)
        )
    return value


def _steps(name: str, value: Any) -> int | None:
    return None if value is None else check.integer(FN, name, value, minimum=0)


def from_hf(
    name: Any,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    *,
    learning_rate: float | None = None,
    warmup_ratio: float | None = None,
    **scheduler_kwargs: Any,
) -> Schedule:
    """The multiplier ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
    num_training_steps, scheduler_specific_kwargs=scheduler_kwargs)`` applies to the lr.

    ``warmup_ratio`` (instead of ``num_warmup_steps``) is ``ceil(num_training_steps *
    warmup_ratio)`` warm-up steps, as ``TrainingArguments`` computes them. ``learning_rate`` is
    the optimizer's lr, needed only by options given in absolute lr (``lr_end``, ``min_lr``).
    """
    key = _name(name)
    warmup_steps = _steps("num_warmup_steps", num_warmup_steps)
    total = _steps("num_training_steps", num_training_steps)
    if warmup_ratio is not None:
        ratio = _number("warmup_ratio", warmup_ratio, at_least=0, at_most=1)
        if warmup_steps is not None:
            raise ValueError(f"{FN}(): give num_warmup_steps or warmup_ratio, not both")
        if total is None:
            raise ValueError(f"{FN}(): num_training_steps must be given with warmup_ratio")
        warmup_steps = math.ceil(total * ratio)
    rate = None if learning_rate is None else _number("learning_rate", learning_rate, above=0)
    if key in _NO_STEPS:
        warmup_steps = total = None
    options = Options(warmup_steps, total, dict(scheduler_kwargs), rate)
    schedule = BUILDERS[key](options)
    if options.kwargs:
        unknown = sorted(options.kwargs)[0]
        raise TypeError(f"{FN}(): unexpected option {unknown!r} for scheduler type {key!r}")
    return schedule


def _arguments(args_or_json: Any) -> Mapping[str, Any]:
    if isinstance(args_or_json, (str, os.PathLike)):
        with open(args_or_json, encoding="utf-8") as file:
            loaded = json.load(file)
        if not isinstance(loaded, dict):
            raise TypeError(f"from_training_arguments(): {args_or_json!s} must hold a JSON object")
        return loaded
    if isinstance(args_or_json, Mapping):
        return args_or_json
    if hasattr(args_or_json, "to_dict"):
        return dict(vars(args_or_json))
    raise TypeError(
        "from_training_arguments(): args_or_json must be a TrainingArguments, a dict or a path "
        f"to its JSON, got {args_or_json!r}"
    )


def from_training_arguments(args_or_json: Any) -> Schedule:
    """The lr multiplier HF's ``Trainer`` builds from these ``TrainingArguments``.

    Reads ``lr_scheduler_type``, ``lr_scheduler_kwargs``, ``warmup_steps`` (a count, or a ratio of
    the training steps below 1), ``warmup_ratio`` (older versions), ``max_steps`` (the training
    steps; it must be set, as the data set's length is not known here) and ``learning_rate``.
    """
    args = _arguments(args_or_json)
    fn = "from_training_arguments"
    total = args.get("max_steps", -1)
    if not check.is_integer(total) or total < 1:
        raise ValueError(f"{fn}(): max_steps must be a positive integer, got {total!r}")
    kwargs = args.get("lr_scheduler_kwargs") or {}
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    warmup_steps = args.get("warmup_steps", 0) or 0
    if not check.is_real(warmup_steps) or warmup_steps < 0:
        raise ValueError(
            f"{fn}(): warmup_steps must be a non-negative number, got {warmup_steps!r}"
        )
    if warmup_steps >= 1:
        steps = int(warmup_steps)
    else:
        steps = math.ceil(total * (warmup_steps or args.get("warmup_ratio", 0.0) or 0.0))
    return from_hf(
        args.get("lr_scheduler_type", "linear"),
        steps,
        total,
        learning_rate=args.get("learning_rate", 5e-5),
        **dict(kwargs),
    )


# HF's lambdas, as LambdaLR holds them (functools.partial of these functions): the scheduler
# type each one is, so that ``schedalg.torch.from_torch`` reads an HF LambdaLR as its schedule.
_LAMBDAS = {
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}


# transformers' scheduler classes whose lr is not a function of the step, with why.
_NOT_SCHEDULES = {
    "transformers.optimization.AdafactorSchedule": (
        "it reports the lr Adafactor computes from its own state (a function of the optimizer, "
        "not of the step); to schedule Adafactor's lr, build it with lr=... and "
        "relative_step=False and schedule that"
    ),
}


def not_a_schedule(scheduler_class: type) -> str | None:
    """Why one of transformers' scheduler classes has no curve of the step, or ``None``."""
    return _NOT_SCHEDULES.get(f"{scheduler_class.__module__}.{scheduler_class.__qualname__}")


def from_lr_lambda(function: Any) -> Schedule | None:
    """The expression of one of transformers' own ``LambdaLR`` lambdas, or ``None`` for any
    other function (a lambda HF's ``get_scheduler`` did not build)."""
    inner = getattr(function, "func", function)
    if getattr(inner, "__module__", None) != "transformers.optimization":
        return None
    keywords = dict(getattr(function, "keywords", None) or {})
    name = _LAMBDAS.get(getattr(inner, "__name__", ""))
    if inner.__name__ == "_get_cosine_schedule_with_warmup_lr_lambda":
        # One function name for both: the min-lr variant has a min_lr_rate keyword.
        name = "cosine_with_min_lr" if "min_lr_rate" in keywords else "cosine"
    if name is None or getattr(function, "args", None):
        return None
    lr = keywords.pop("lr_init", None)
    warmup_steps = keywords.pop("num_warmup_steps", None)
    total = keywords.pop("num_training_steps", None)
    if name == "warmup_stable_decay":
        total = None
    try:
        return from_hf(name, warmup_steps, total, learning_rate=lr, **keywords)
    except (TypeError, ValueError):  # no exact expression (e.g. restarts between steps)
        return None
