"""HF transformers front door: ``get_scheduler``'s names and options as schedalg expressions.

``from_hf(name, num_warmup_steps, num_training_steps, **scheduler_kwargs)`` takes what
``transformers.get_scheduler`` takes (less the optimizer) and returns the multiplier of the
optimizer's learning rate that HF's ``LambdaLR`` applies at every step, as a readable expression
built from the public constructors::

    >>> from schedalg.hf import from_hf
    >>> from_hf("cosine", num_warmup_steps=100, num_training_steps=1000)
    warmup(cosine(900, periodic=True), 100)

``from_training_arguments(args, steps_per_epoch=None)`` reads the same from a
``TrainingArguments`` object, its JSON or a recipe's YAML (a dict or a JSON file's path), with the
run's length as the ``Trainer`` computes it (``schedalg.importers.hf_arguments``): ``max_steps``,
or the epochs times ``steps_per_epoch`` (optimizer updates per epoch), or else the placeholder
``total``. HF's schedulers that need the optimizer's learning rate (``polynomial``'s ``lr_end``,
``cosine_with_min_lr``'s ``min_lr``) need ``learning_rate=`` here. There is one entry per
scheduler name in ``BUILDERS``; transformers itself is never imported.

``num_training_steps`` (and ``num_warmup_steps``) may be a placeholder quantity (``total``,
``math.ceil(0.1 * total)``): the builders then assume the run is longer than its warm-up (HF's
``max(1, ...)`` guards are for shorter runs), and ``bind`` refuses the steps where it is not;
``cosine_with_restarts`` with several cycles needs the number (each cycle a whole number of steps).
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
from schedalg.algebra.horizon import Quantity
from schedalg.algebra.timewarps import shift, stretch
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.curves.metric import plateau
from schedalg.curves.phases import warmup_stable_decay
from schedalg.curves.primitives import cosine, cosine_restarts, inverse_sqrt, linear, polynomial
from schedalg.importers import hf_arguments as hfa
from schedalg.importers import shapes

__all__ = ["BUILDERS", "from_hf", "from_lr_lambda", "from_training_arguments", "run_length"]

FN = "from_hf"
# A step count: an int, or a placeholder quantity (horizon.Quantity) bound later. Typed
# Any as the constructors take both (their signatures say int).
Steps = Any


class NeedsLength(ValueError):
    """A builder that needs the run's length as a number, given a placeholder."""


def _known(*values: Any) -> bool:
    return not any(isinstance(value, Quantity) for value in values)


def _at_least_one(steps: Steps) -> Steps:
    """HF's ``max(1, steps)``; a placeholder quantity is taken as positive (bind checks)."""
    return max(1, steps) if _known(steps) else steps


@dataclass(frozen=True)
class Options:
    """What a builder reads: the two step counts, the scheduler's own options, the base lr."""

    warmup: Steps | None
    total: Steps | None
    kwargs: dict[str, Any]
    learning_rate: float | None

    def take(self, name: str, default: Any) -> Any:
        return self.kwargs.pop(name, default)

    def warmup_steps(self) -> Steps:
        if self.warmup is None:
            raise ValueError(f"{FN}(): num_warmup_steps must be given for this scheduler type")
        return self.warmup

    def training_steps(self) -> Steps:
        if self.total is None:
            raise ValueError(f"{FN}(): num_training_steps must be given for this scheduler type")
        return self.total

    def lr(self, option: str) -> float:
        if self.learning_rate is None:
            raise ValueError(
                f"{FN}(): learning_rate (the optimizer's lr) must be given to use {option}"
            )
        return self.learning_rate


def _ramp(main: Schedule, steps: Steps) -> Schedule:
    """HF's warm-up ``t / max(1, W)`` for ``t < W``, then ``main(t - W)`` (``main(0)`` is 1)."""
    return warmup(main, steps) if not _known(steps) or steps else main


def _ramp_to(main: Schedule, steps: Steps) -> Schedule:
    """The same ramp before a ``main`` that need not start at 1."""
    if _known(steps) and not steps:
        return main
    return sequence(linear(0.0, 1.0, steps), main, at=[steps])


def _number(
    name: str,
    value: Any,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    return check.real(FN, name, value, above=above, at_least=at_least, at_most=at_most)


def _cosine_wave(span: Steps, cycles: float, end: float = 0.0) -> Schedule:
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
    if _known(w, t) and t <= w:
        return _ramp_to(constant(0.0), w)
    return _ramp(shapes.DECAYS[shapes.LINEAR](t - w), w)


def _cosine(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    return _ramp(_cosine_wave(_at_least_one(t - w), cycles), w)


def _cosine_with_restarts(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = check.integer(FN, "num_cycles", o.take("num_cycles", 1), minimum=1)
    span = _at_least_one(t - w)
    if cycles > 1 and not _known(span):
        raise NeedsLength(
            f"{FN}(): cosine_with_restarts with num_cycles {cycles} needs the number of "
            f"training steps (each cycle a whole number of steps), got {t!r}"
        )
    if _known(span) and span % cycles:
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
    if _known(t, w) and t <= w:
        raise ValueError(
            f"{FN}(): num_training_steps must be greater than num_warmup_steps for 'polynomial' "
            f"(HF divides by their difference), got {t!r} and {w!r}"
        )
    return _ramp(polynomial(t - w, power=power, end=lr_end / lr_init), w)


def _inverse_sqrt(o: Options) -> Schedule:
    w = o.warmup_steps()
    timescale = o.take("timescale", None)
    if timescale is not None:
        timescale = check.positive_length(FN, "timescale", timescale)
    elif _known(w):
        timescale = w or 10_000
    else:
        timescale = w  # a warm-up of a share of the run: at least 1 step once bound
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
    return _nonnegative(_ramp(_cosine_wave(_at_least_one(t - w), cycles, end=rate), w), rate)


def _cosine_warmup_with_min_lr(o: Options) -> Schedule:
    w, t = o.warmup_steps(), o.training_steps()
    cycles = _number("num_cycles", o.take("num_cycles", 0.5), above=0)
    start = o.take("warmup_lr_rate", None)
    rate = _min_lr_rate(o)
    # HF's off-by-one: both phases read step t + 1 (the warm-up ends at 1, the decay starts a
    # step in); with warmup_lr_rate r the warm-up is r + (1 - r) * t / max(1, W - 1) instead.
    decay = shift(_cosine_wave(_at_least_one(t - w), cycles, end=rate), 1)
    if _known(w) and not w:
        return _nonnegative(decay, rate)
    if start is None:
        ramp: Schedule = shift(linear(0.0, 1.0, w), 1)
    else:
        ramp = linear(_number("warmup_lr_rate", start), 1.0, _at_least_one(w - 1))
    return _nonnegative(sequence(ramp, decay, at=[w]), rate)


def _wsd(o: Options) -> Schedule:
    w = o.warmup_steps()
    d = o.take("num_decay_steps", None)
    if _known(d):
        d = check.integer(FN, "num_decay_steps", d, minimum=1)
    stable = o.take("num_stable_steps", None)
    if stable is None:
        stable = o.training_steps() - w - d
    if _known(stable):
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
        if not _known(w, stable) or w + stable:
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


def _steps(name: str, value: Any) -> Steps | None:
    if value is None or isinstance(value, Quantity):
        return value
    return check.integer(FN, name, value, minimum=0)


def from_hf(
    name: Any,
    num_warmup_steps: Steps | None = None,
    num_training_steps: Steps | None = None,
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


_ARGS_FN = "from_training_arguments"


def _arguments(args_or_json: Any, fn: str = _ARGS_FN) -> Mapping[str, Any]:
    if isinstance(args_or_json, (str, os.PathLike)):
        with open(args_or_json, encoding="utf-8") as file:
            loaded = json.load(file)
        if not isinstance(loaded, dict):
            raise TypeError(f"{fn}(): {args_or_json!s} must hold a JSON object")
        return loaded
    if isinstance(args_or_json, Mapping):
        return args_or_json
    if hasattr(args_or_json, "to_dict"):
        return dict(vars(args_or_json))
    raise TypeError(
        f"{fn}(): args_or_json must be a TrainingArguments, a dict or a path to its JSON, got "
        f"{args_or_json!r}"
    )


def from_run(
    fn: str,
    run: hfa.TrainingRun,
    steps: Steps,
    kwargs: Mapping[str, Any] | None = None,
    learning_rate: float | None = None,
) -> Schedule:
    """The multiplier the Trainer's ``get_scheduler`` call builds for a run of ``steps`` steps
    (``kwargs``: the scheduler options, when the caller changed the run's own;
    ``learning_rate``: the optimizer's, when not the run's)."""
    warm = hfa.warmup_steps(run.warmup_steps, run.warmup_ratio, steps)
    options = dict(run.kwargs if kwargs is None else kwargs)
    rate = run.learning_rate if learning_rate is None else learning_rate
    try:
        return from_hf(run.name, warm, steps, learning_rate=rate, **options)
    except NeedsLength as error:
        raise NeedsLength(
            f"{fn}(): {str(error).partition(': ')[2]}: pass steps_per_epoch=N (optimizer updates "
            "per epoch)"
        ) from None
    except (TypeError, ValueError) as error:
        raise renamed(fn, error) from None


def renamed(fn: str, error: TypeError | ValueError) -> TypeError | ValueError:
    """``from_hf``'s refusal of an option, named for ``fn``: the importer whose config gave it."""
    message = str(error)
    if not message.startswith(f"{FN}(): "):
        return error
    return type(error)(f"{fn}(): {message.removeprefix(f'{FN}(): ')}")


def from_training_arguments(args_or_json: Any, *, steps_per_epoch: int | None = None) -> Schedule:
    """The lr multiplier HF's ``Trainer`` builds from these ``TrainingArguments``.

    Reads ``lr_scheduler_type`` (default ``'linear'``), ``lr_scheduler_kwargs``, ``warmup_steps``
    (a count, or a ratio of the training steps below 1), ``warmup_ratio`` (older versions),
    ``max_steps``, ``num_train_epochs`` (default 3) and ``learning_rate``. The run is
    ``max_steps`` steps when positive, else ``ceil(num_train_epochs * steps_per_epoch)``
    (``steps_per_epoch``: optimizer updates per epoch, the Trainer's "Num update steps per
    epoch"), else the placeholder ``total`` (``schedule.bind(total=N)``). Numeric strings (a
    YAML recipe's ``learning_rate: 2e-5``) are read as HF's argument parser reads them.
    """
    run = hfa.read_training_run(_ARGS_FN, _arguments(args_or_json), hfa.ARGPARSE)
    steps = hfa.training_steps(_ARGS_FN, run.max_steps, run.epochs, steps_per_epoch)
    return from_run(_ARGS_FN, run, steps)


def run_length(args_or_json: Any, *, steps_per_epoch: int | None = None) -> int | None:
    """The optimizer steps the ``Trainer`` runs with these arguments: ``max_steps`` when
    positive, else ``ceil(num_train_epochs * steps_per_epoch)``; ``None`` without
    ``steps_per_epoch``."""
    run = hfa.read_training_run("run_length", _arguments(args_or_json, "run_length"), hfa.ARGPARSE)
    steps = hfa.training_steps("run_length", run.max_steps, run.epochs, steps_per_epoch)
    return steps if isinstance(steps, int) else None


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
