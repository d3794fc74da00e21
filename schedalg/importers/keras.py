"""Keras 3 learning-rate schedules as schedalg expressions (the other way, ``to_keras``, is in
``schedalg.integrations.keras``).

``from_keras(config)`` takes ``keras.optimizers.schedules.serialize(schedule)``
(``{"class_name": ..., "config": ...}``), a schedule's ``get_config()`` with ``class_name=``
(or recognised by its default ``name``), or the schedule object itself, and returns the absolute
learning rate at step ``t`` as an expression.

Keras computes in the dtype of ``initial_learning_rate`` as a tensor: float32 by default. The
expressions are Keras's formulas in float64, any positive length (fractional ones too), with
IEEE quotients: ``floor``/``ceil`` of ``t / decay_steps`` fall where Keras evaluated one step at
a time (or on its NumPy backend) puts them; compiled by XLA, Keras multiplies by a float32
reciprocal instead and can move a staircase by a step. Keras casts a ``PiecewiseConstantDecay``
boundary to its integer step (toward zero, after rounding a float one to float32); a boundary
whose step depends on ``keras.config.floatx()`` is refused. The table ``TYPES`` has one builder
per class. Reading a config imports no Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from schedalg.algebra.arithmetic import maximum, minimum
from schedalg.algebra.combinators import per_epoch, sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch, warp
from schedalg.curves.integers import rounded
from schedalg.curves.phases import piecewise
from schedalg.curves.primitives import (
    cosine,
    cosine_restarts,
    elapsed,
    exponential,
    linear,
    polynomial,
    step_decay,
)
from schedalg.importers import options as opt

_FN = "from_keras"
Config = dict[str, Any]
_STEPS_EXACT = 2**53  # float steps beyond are not integers: restarts starting later are left out
_MAX_PIECES = 10_000


def _initial(kind: str, c: Config) -> float:
    return opt.number(_FN, kind, "initial_learning_rate", c["initial_learning_rate"])


def _exponential_decay(c: Config) -> Schedule:
    k = "ExponentialDecay"
    rate = opt.number(_FN, k, "decay_rate", c["decay_rate"], at_least=0)
    steps = _length(k, "decay_steps", c["decay_steps"])
    staircase = opt.flag(_FN, k, "staircase", c["staircase"])
    if rate == 0:  # 0 ** 0 is 1: the initial rate until the exponent leaves 0, then 0
        return _initial(k, c) * sequence(
            constant(1.0), constant(0.0), at=[_first_past(steps, staircase)]
        )
    if staircase:  # rate ** floor(t / decay_steps)
        if isinstance(steps, int):
            return _initial(k, c) * step_decay(steps, rate)
        return _initial(k, c) * stretch(step_decay(1, rate), steps)
    return _initial(k, c) * stretch(exponential(rate), steps)


def _first_past(steps: int | float, staircase: bool) -> int:
    """The first step whose exponent, ``t / decay_steps`` in float32 (floored for a staircase),
    is not 0."""
    if not staircase:
        return 1  # t / decay_steps > 0 for every t >= 1: float32 holds 1 / 3.4e38
    low, high = 1, max(1, math.ceil(steps))  # float32 rounds t up to decay_steps below ceil
    while low < high:
        middle = (low + high) // 2
        if np.float32(middle) / np.float32(steps) < 1:
            low = middle + 1
        else:
            high = middle
    return low


def _length(kind: str, name: str, value: Any, *, at_least: float | None = None) -> int | float:
    """A step count as Keras divides by it: positive (or ``at_least``), and the same number in
    float32, Keras's default dtype (a length that rounds to 0 there is Keras's 0 / 0)."""
    if at_least is None:
        number = opt.number(_FN, kind, name, value, above=0)
    else:
        number = opt.number(_FN, kind, name, value, at_least=at_least)
    as_float32 = float(np.float32(number))
    if number and not (math.isfinite(as_float32) and np.finfo(np.float32).tiny <= as_float32):
        raise ValueError(
            f"{_FN}(): {kind} {name} {number!r} is {as_float32!r} in float32, Keras's default "
            "dtype, where it divides by it: give a length float32 holds"
        )
    return int(number) if number.is_integer() else number


def _piecewise_constant_decay(c: Config) -> Schedule:
    k = "PiecewiseConstantDecay"
    bounds, values = list(c["boundaries"]), list(c["values"])
    if len(bounds) != len(values) - 1 or not bounds:
        raise ValueError(
            f"{_FN}(): {k} needs one boundary fewer than values (and at least one), got "
            f"boundaries={bounds!r}, values={values!r}"
        )
    nums = [opt.number(_FN, k, "values", v) for v in values]
    edges = [_integer_boundary(k, b) for b in bounds]
    if any(b > a for a, b in zip(edges[1:], edges)):
        raise ValueError(
            f"{_FN}(): {k} boundaries must not decrease (as Keras's integer step reads them: "
            f"{edges!r}), got {bounds!r}: Keras adds up the values of overlapping ranges"
        )
    points = _changes(edges, nums)
    if len(points) == 1:
        return constant(points[0][1])
    return piecewise(tuple(points), interpolation="step")


def _integer_boundary(kind: str, value: Any) -> int:
    """The boundary as Keras compares it with its integer step: a float boundary becomes a
    float32 tensor (Keras's default floatx) cast to the step's integer type (toward zero)."""
    edge = opt.number(_FN, kind, "boundaries", value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    with np.errstate(over="ignore"):
        as_float32 = float(np.float32(edge))
    if not math.isfinite(as_float32):
        raise ValueError(
            f"{_FN}(): {kind} boundary {value!r} is beyond float32's range (Keras's default "
            "floatx): Keras compares the step with an infinite boundary cast to an integer"
        )
    if math.trunc(as_float32) != math.trunc(edge):
        raise ValueError(
            f"{_FN}(): {kind} boundary {value!r} is step {math.trunc(as_float32)} in float32 "
            f"(Keras's default floatx) and step {math.trunc(edge)} in float64: which one Keras "
            "uses depends on keras.config.floatx(); give it as an integer"
        )
    return math.trunc(edge)


def _changes(edges: list[int], values: list[float]) -> list[tuple[int, float]]:
    """``values[i + 1]`` from the first integer step above boundary ``i`` (Keras: step > b)."""
    points = [(0, values[0])]
    for edge, value in zip(edges, values[1:]):
        at = max(0, edge + 1)
        points = [p for p in points if p[0] < at] + [(at, value)]
    return points


def _polynomial_decay(c: Config) -> Schedule:
    k = "PolynomialDecay"
    end = opt.number(_FN, k, "end_learning_rate", c["end_learning_rate"])
    power = opt.number(_FN, k, "power", c["power"], at_least=0)
    steps = _length(k, "decay_steps", c["decay_steps"])
    if opt.flag(_FN, k, "cycle", c["cycle"]):
        remaining = _cycled_remaining(steps)
    elif isinstance(steps, int):
        return (_initial(k, c) - end) * polynomial(steps, power) + end
    else:  # 1 - min(t, decay_steps) / decay_steps
        remaining = 1.0 - minimum(elapsed(), steps) / steps
    return (_initial(k, c) - end) * remaining**power + end


def _cycled_remaining(steps: int | float) -> Schedule:
    """Keras's ``cycle=True``: ``1 - t / (steps * max(1, ceil(t / steps)))``, the decay length
    growing to the next multiple of ``steps`` (``ceil(t / steps)`` is
    ``floor((t + steps - 1) / steps)`` at whole steps and whole ``steps``)."""
    windows: Schedule
    if isinstance(steps, int):
        windows = maximum(1.0, shift(per_epoch(elapsed(), steps), steps - 1))
    else:
        windows = rounded(elapsed() / steps, rounding="up")  # at least 1, as Keras's where()
    return 1.0 - elapsed() / (steps * windows)


def _inverse_time_decay(c: Config) -> Schedule:
    k = "InverseTimeDecay"
    rate = opt.number(_FN, k, "decay_rate", c["decay_rate"], at_least=0)
    if rate == 0:
        return constant(_initial(k, c))
    steps = _length(k, "decay_steps", c["decay_steps"])
    if opt.flag(_FN, k, "staircase", c["staircase"]):  # 1 / (1 + rate * floor(t / steps))
        if isinstance(steps, int):
            return _initial(k, c) / per_epoch(opt.growth(rate), steps)
        return _initial(k, c) / stretch(per_epoch(opt.growth(rate), 1), steps)
    return _initial(k, c) / opt.growth(rate, steps)


def _cosine_decay(c: Config) -> Schedule:
    k = "CosineDecay"
    steps = _length(k, "decay_steps", c["decay_steps"])
    alpha = opt.number(_FN, k, "alpha", c["alpha"])
    if c["warmup_target"] is None:
        return _initial(k, c) * _cosine_to(steps, alpha, 0.0)
    target = opt.number(_FN, k, "warmup_target", c["warmup_target"])
    warm = _length(k, "warmup_steps", c["warmup_steps"], at_least=0)
    if not warm:
        return target * _cosine_to(steps, alpha, 0.0)
    first = math.ceil(warm)  # the first step with t >= warmup_steps
    rise: Schedule
    if isinstance(warm, int):
        rise = linear(_initial(k, c), target, warm)
    else:  # (target - initial) * (t / warmup_steps) + initial
        rise = (target - _initial(k, c)) * (elapsed() / warm) + _initial(k, c)
    # the decay reads t - warmup_steps: first - warmup_steps at its own step 0
    decay = target * _cosine_to(steps, alpha, first - warm)
    return sequence(rise, decay, at=[first])


def _cosine_to(steps: int | float, alpha: float, offset: float) -> Schedule:
    """``alpha + (1 - alpha) * (1 + cos(pi * min(x, steps) / steps)) / 2`` at ``x = t + offset``."""
    if isinstance(steps, int) and not offset:
        return cosine(steps, end=alpha)
    clock = elapsed() + offset if offset else elapsed()
    return warp(cosine(1, end=alpha), clock / steps)


def _cosine_decay_restarts(c: Config) -> Schedule:
    k = "CosineDecayRestarts"
    steps = _length(k, "first_decay_steps", c["first_decay_steps"])
    alpha = opt.number(_FN, k, "alpha", c["alpha"])
    t_mul = opt.number(_FN, k, "t_mul", c["t_mul"], at_least=1)
    m_mul = opt.number(_FN, k, "m_mul", c["m_mul"], above=0)
    initial = _initial(k, c)
    if t_mul == 1:  # i = floor(t / steps), the cosine of t / steps - i, scaled by m_mul ** i
        if isinstance(steps, int):
            if m_mul == 1:
                return initial * cosine_restarts(steps, end=alpha)
            fall = step_decay(steps, m_mul) * cosine_restarts(steps)
        else:
            if m_mul == 1:
                return initial * stretch(cosine_restarts(1, end=alpha), steps)
            fall = stretch(step_decay(1, m_mul) * cosine_restarts(1), steps)
        return initial * (alpha + (1.0 - alpha) * fall)
    if m_mul == 1 and isinstance(steps, int) and t_mul.is_integer():
        return initial * cosine_restarts(steps, int(t_mul), end=alpha)
    return initial * _geometric_restarts(k, steps, t_mul, m_mul, alpha)


def _cycle_start(steps: int | float, t_mul: float, i: int) -> tuple[int, float]:
    """The first step of restart ``i`` (at or after ``steps * (t_mul**i - 1) / (t_mul - 1)``,
    decided exactly) and that start in floats."""
    start = steps * (t_mul**i - 1) / (t_mul - 1)
    if start >= _STEPS_EXACT:
        return _STEPS_EXACT, start
    if abs(start - round(start)) > 1e-6 * max(1.0, start):  # far from a whole step
        return math.ceil(start), start
    exact = Fraction(steps) * (Fraction(t_mul) ** i - 1) / (Fraction(t_mul) - 1)
    return math.ceil(exact), start


def _geometric_restarts(
    kind: str, steps: int | float, t_mul: float, m_mul: float, alpha: float
) -> Schedule:
    """Restart ``i`` of ``steps * t_mul**i`` steps from ``steps * (t_mul**i - 1) / (t_mul - 1)``
    on: ``alpha + (1 - alpha) * m_mul**i * (1 + cos(pi * x)) / 2``, ``x`` its elapsed fraction
    (Keras finds ``i`` with a float logarithm, which puts each whole step in the restart its
    exact start says, up to float32 rounding). One sequence piece per restart up to 2**53."""
    count = math.log(1 + _STEPS_EXACT * (t_mul - 1) / steps, t_mul)
    if count > _MAX_PIECES:
        raise ValueError(
            f"{_FN}(): {kind} with t_mul={t_mul!r} and first_decay_steps={steps!r} has over "
            f"{_MAX_PIECES} restarts of different lengths before step 2**53, one sequence "
            "piece each: too many"
        )
    pieces: list[Schedule] = []
    at: list[int] = []
    i, (first, start) = 0, (0, 0.0)
    while first < _STEPS_EXACT:
        following = _cycle_start(steps, t_mul, i + 1)
        if following[0] > first:  # a restart shorter than a step has no step of its own
            offset = first - start
            clock = (elapsed() + offset if offset else elapsed()) / (steps * t_mul**i)
            wave = ((1.0 - alpha) * m_mul**i) * warp(cosine(1), clock)
            pieces.append(alpha + wave if alpha else wave)
            at.append(first)
        i, (first, start) = i + 1, following
    return sequence(*pieces, at=at[1:])


_DECAY = {"initial_learning_rate": ..., "decay_steps": ..., "decay_rate": ..., "staircase": False}

# One entry per Keras class: (its default ``name``, its options with defaults, its builder).
TYPES: dict[str, tuple[str, Config, Callable[[Config], Schedule]]] = {
    "ExponentialDecay": ("ExponentialDecay", _DECAY, _exponential_decay),
    "PiecewiseConstantDecay": (
        "PiecewiseConstant",
        {"boundaries": ..., "values": ...},
        _piecewise_constant_decay,
    ),
    "PolynomialDecay": (
        "PolynomialDecay",
        {
            "initial_learning_rate": ...,
            "decay_steps": ...,
            "end_learning_rate": 0.0001,
            "power": 1.0,
            "cycle": False,
        },
        _polynomial_decay,
    ),
    "InverseTimeDecay": ("InverseTimeDecay", _DECAY, _inverse_time_decay),
    "CosineDecay": (
        "CosineDecay",
        {
            "initial_learning_rate": ...,
            "decay_steps": ...,
            "alpha": 0.0,
            "warmup_target": None,
            "warmup_steps": 0,
        },
        _cosine_decay,
    ),
    "CosineDecayRestarts": (
        "SGDRDecay",
        {
            "initial_learning_rate": ...,
            "first_decay_steps": ...,
            "t_mul": 2.0,
            "m_mul": 1.0,
            "alpha": 0.0,
        },
        _cosine_decay_restarts,
    ),
}


def _class_and_config(config: Any, class_name: str | None) -> tuple[str, Mapping[str, Any]]:
    if hasattr(config, "get_config") and not isinstance(config, Mapping):
        return type(config).__name__, config.get_config()
    if not isinstance(config, Mapping):
        raise TypeError(f"{_FN}(): config must be a dict or a Keras schedule, got {config!r}")
    if "class_name" in config and "config" in config:
        return config["class_name"], config["config"]
    if class_name is None:
        by_name = {name: cls for cls, (name, _, _) in TYPES.items()}
        class_name = by_name.get(config.get("name"))  # type: ignore[arg-type]
        if class_name is None:
            raise TypeError(
                f"{_FN}(): a get_config() dict with the name {config.get('name')!r} needs "
                "class_name= (or pass keras.optimizers.schedules.serialize(schedule))"
            )
    return class_name, config


def from_keras(config: Any, class_name: str | None = None) -> Schedule:
    """The learning rate of a Keras 3 schedule as an expression (absolute values)."""
    kind, options = _class_and_config(config, class_name)
    kind = opt.pick(_FN, "Keras schedule class", kind, TYPES)
    _, defaults, build = TYPES[kind]
    given = {key: value for key, value in options.items() if key != "name"}
    return build(opt.options(_FN, kind, given, defaults))
