"""Keras 3 learning-rate schedules as schedalg expressions (the other way, ``to_keras``, is in
``schedalg.integrations.keras``).

``from_keras(config)`` takes ``keras.optimizers.schedules.serialize(schedule)``
(``{"class_name": ..., "config": ...}``), a schedule's ``get_config()`` with ``class_name=``
(or recognised by its default ``name``), or the schedule object itself, and returns the absolute
learning rate at step ``t`` as an expression.

Keras computes in the dtype of ``initial_learning_rate`` as a tensor: float32 by default. The
expressions are Keras's formulas in float64; the table ``TYPES`` has one builder per class.
Reading a config imports no Keras.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import per_epoch, sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch
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


def _initial(kind: str, c: Config) -> float:
    return opt.number(_FN, kind, "initial_learning_rate", c["initial_learning_rate"])


def _exponential_decay(c: Config) -> Schedule:
    k = "ExponentialDecay"
    rate = opt.number(_FN, k, "decay_rate", c["decay_rate"], above=0)
    if opt.flag(_FN, k, "staircase", c["staircase"]):
        steps = opt.count(_FN, k, "decay_steps", c["decay_steps"], minimum=1)
        return _initial(k, c) * step_decay(steps, rate)
    steps_f = opt.number(_FN, k, "decay_steps", c["decay_steps"], above=0)
    return _initial(k, c) * stretch(exponential(rate), _length(steps_f))


def _length(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _piecewise_constant_decay(c: Config) -> Schedule:
    k = "PiecewiseConstantDecay"
    bounds, values = list(c["boundaries"]), list(c["values"])
    if len(bounds) != len(values) - 1 or not bounds:
        raise ValueError(
            f"{_FN}(): {k} needs one boundary fewer than values (and at least one), got "
            f"boundaries={bounds!r}, values={values!r}"
        )
    nums = [opt.number(_FN, k, "values", v) for v in values]
    edges = [opt.number(_FN, k, "boundaries", b) for b in bounds]
    if any(b >= a for a, b in zip(edges[1:], edges)):
        raise ValueError(f"{_FN}(): {k} boundaries must increase, got {bounds!r}")
    points = _changes(edges, nums)
    if len(points) == 1:
        return constant(points[0][1])
    return piecewise(tuple(points), interpolation="step")


def _changes(edges: list[float], values: list[float]) -> list[tuple[int, float]]:
    """``values[i + 1]`` from the first integer step above boundary ``i`` (Keras: step > b)."""
    points = [(0, values[0])]
    for edge, value in zip(edges, values[1:]):
        at = max(0, math.floor(edge) + 1)
        points = [p for p in points if p[0] < at] + [(at, value)]
    return points


def _polynomial_decay(c: Config) -> Schedule:
    k = "PolynomialDecay"
    end = opt.number(_FN, k, "end_learning_rate", c["end_learning_rate"])
    power = opt.number(_FN, k, "power", c["power"], at_least=0)
    if opt.flag(_FN, k, "cycle", c["cycle"]):
        steps = opt.count(_FN, k, "decay_steps", c["decay_steps"], minimum=1)
        return (_initial(k, c) - end) * _cycled_remaining(steps) ** power + end
    steps = opt.count(_FN, k, "decay_steps", c["decay_steps"], minimum=1)
    return (_initial(k, c) - end) * polynomial(steps, power) + end


def _cycled_remaining(steps: int) -> Schedule:
    """Keras's ``cycle=True``: ``1 - t / (steps * max(1, ceil(t / steps)))``, the decay length
    growing to the next multiple of ``steps`` (``ceil(t / steps)`` is
    ``floor((t + steps - 1) / steps)`` at whole steps)."""
    windows = maximum(1.0, shift(per_epoch(elapsed(), steps), steps - 1))
    return 1.0 - elapsed() / (steps * windows)


def _inverse_time_decay(c: Config) -> Schedule:
    k = "InverseTimeDecay"
    rate = opt.number(_FN, k, "decay_rate", c["decay_rate"], at_least=0)
    if rate == 0:
        return constant(_initial(k, c))
    if opt.flag(_FN, k, "staircase", c["staircase"]):  # 1 / (1 + rate * floor(t / steps))
        steps = opt.count(_FN, k, "decay_steps", c["decay_steps"], minimum=1)
        return _initial(k, c) / per_epoch(opt.growth(rate), steps)
    steps_f = opt.number(_FN, k, "decay_steps", c["decay_steps"], above=0)
    return _initial(k, c) / opt.growth(rate, steps_f)


def _cosine_decay(c: Config) -> Schedule:
    k = "CosineDecay"
    steps = opt.count(_FN, k, "decay_steps", c["decay_steps"], minimum=1)
    alpha = opt.number(_FN, k, "alpha", c["alpha"])
    if c["warmup_target"] is None:
        return _initial(k, c) * cosine(steps, end=alpha)
    target = opt.number(_FN, k, "warmup_target", c["warmup_target"])
    warm = opt.count(_FN, k, "warmup_steps", c["warmup_steps"])
    decay = target * cosine(steps, end=alpha)
    if not warm:
        return decay
    return sequence(linear(_initial(k, c), target, warm), decay, at=[warm])


def _cosine_decay_restarts(c: Config) -> Schedule:
    k = "CosineDecayRestarts"
    steps = opt.count(_FN, k, "first_decay_steps", c["first_decay_steps"], minimum=1)
    alpha = opt.number(_FN, k, "alpha", c["alpha"])
    t_mul = opt.number(_FN, k, "t_mul", c["t_mul"], at_least=1)
    m_mul = opt.number(_FN, k, "m_mul", c["m_mul"], above=0)
    if not t_mul.is_integer():
        raise ValueError(f"{_FN}(): {k} t_mul must be a whole number here, got {c['t_mul']!r}")
    if m_mul == 1:
        return _initial(k, c) * cosine_restarts(steps, int(t_mul), end=alpha)
    if t_mul != 1:
        raise ValueError(
            f"{_FN}(): {k} m_mul != 1 is supported with t_mul=1 only, got t_mul={c['t_mul']!r}"
        )
    # (1 - alpha) * m_mul ** floor(t / steps) * cosine part + alpha
    fall = step_decay(steps, m_mul) * cosine_restarts(steps)
    return _initial(k, c) * (alpha + (1.0 - alpha) * fall)


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
