"""optax's schedule factories, with optax's names and signatures, returning schedalg expressions.

Porting is changing one import::

    >>> from schedalg.optax import warmup_cosine_decay_schedule
    >>> s = warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=1000)
    >>> s(0), s(100), s(1000)
    (0.0, 0.001, 0.0)

Each factory returns the expression whose values are optax's (absolute values, as optax's are,
not multipliers), written with optax's own operations in optax's order wherever the algebra has
them, so that NumPy float64 values equal optax's under ``jax_enable_x64`` to the last bit or
within a few ulps (``docs/importers.md`` lists which). The expressions evaluate on NumPy, torch
and under ``jax.jit`` like any other; ``schedalg.jax.to_optax(s)`` gives the optax callable
back. optax itself is never imported.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum, minimum
from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.algebra.timewarps import stretch
from schedalg.core import validators as check
from schedalg.curves.phases import piecewise
from schedalg.curves.primitives import cosine, elapsed, exponential, step_decay

__all__ = [
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]


def _real(fn: str, name: str, value: Any, **bounds: Any) -> float:
    return check.real(fn, name, value, **bounds)


def _power(base: Schedule, given: Any, exponent: float) -> Schedule:
    """``base ** given`` as optax's ``**`` computes it: a float exponent is ``pow``, an integer
    one JAX's ``integer_pow``: products in its order, squarings ``x * x`` (libm's
    ``pow(x, 2.0)`` is not always ``x * x``), then the squares of the set bits from the lowest,
    multiplied left to right (a ``chain``; see ``_times`` and ``_factor``)."""
    if not isinstance(given, numbers.Integral) or isinstance(given, bool):
        return base**exponent
    n, acc, square = int(given), None, base
    if n == 0:
        return constant(1.0)
    while n > 0:
        if n & 1:
            acc = square if acc is None else acc * _factor(square)
        n >>= 1
        if n > 0:
            square = _factor(square) * _factor(square)
    assert acc is not None
    return acc


def _factor(value: Schedule) -> Schedule:
    """``value`` as one factor of a product: products flatten (``a * (b * c)`` is multiplied as
    ``(a * b) * c``), so a product is kept whole behind ``/ 1.0``, which changes no value."""
    return value / 1.0 if isinstance(value, chain) else value


def _times(factor: float, value: Schedule) -> Schedule:
    """``factor * value``; after ``value`` where it is a product: products flatten and multiply
    left to right, and ``factor`` first would regroup ``value``'s own product."""
    return value * factor if isinstance(value, chain) else factor * value


def _steps(fn: str, name: str, value: Any) -> int:
    """An integer step count; optax treats negative ones as 0 or as "no transition"."""
    if not check.is_integer(value):
        raise TypeError(f"{fn}(): {name} must be an integer, got {value!r}")
    return int(value)


def _from(begin: int, before: float, schedule: Schedule) -> Schedule:
    """``before`` until step ``begin``, then ``schedule(t - begin)``."""
    return sequence(constant(before), schedule, at=[begin]) if begin > 0 else schedule


def constant_schedule(value: float) -> Schedule:
    """``value`` at every step."""
    return constant(_real("constant_schedule", "value", value))


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """``(init - end) * (1 - clip(t - begin, 0, steps) / steps) ** power + end``."""
    return _polynomial(
        "polynomial_schedule", init_value, end_value, power, transition_steps, transition_begin
    )


def _polynomial(
    fn: str, init_value: Any, end_value: Any, power: Any, transition_steps: Any, begin: Any
) -> Schedule:
    init = _real(fn, "init_value", init_value)
    end = _real(fn, "end_value", end_value)
    exponent = _real(fn, "power", power, at_least=0)
    steps = _steps(fn, "transition_steps", transition_steps)
    begin = max(0, _steps(fn, "transition_begin", begin))
    if steps <= 0:
        return constant(init)
    # optax's operations in optax's order, (1 - t / steps) ** power: schedalg's polynomial
    # computes (steps - t) / steps, correctly rounded, which differs from optax near its end.
    # Held from ``steps`` on at its value there (under jit XLA's ``x * (1 / steps)`` would not
    # reach 0 exactly, and a fractional power of its remainder is 1e-12, not 0).
    remaining = _power(1.0 - minimum(elapsed(), steps) / steps, power, exponent)
    ramp = _times(init - end, remaining) + end
    # before transition_begin optax clips the count to 0: (init - end) * 1 + end, not init
    return _from(begin, ramp(0), sequence(ramp, constant(ramp(steps)), at=[steps]))


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """``polynomial_schedule`` with ``power=1``."""
    fn = "linear_schedule"
    return _polynomial(fn, init_value, end_value, 1.0, transition_steps, transition_begin)


def warmup_constant_schedule(init_value: float, peak_value: float, warmup_steps: int) -> Schedule:
    """A linear ramp from ``init_value`` to ``peak_value`` over ``warmup_steps``, then held."""
    return linear_schedule(init_value, peak_value, warmup_steps)


def _boundaries(fn: str, boundaries_and_scales: Any) -> list[tuple[int, float]]:
    if boundaries_and_scales is None:
        return []
    if not isinstance(boundaries_and_scales, Mapping):
        raise TypeError(
            f"{fn}(): boundaries_and_scales must be a dict of step: scale, "
            f"got {boundaries_and_scales!r}"
        )
    items = []
    for step, scale in sorted(boundaries_and_scales.items()):
        step = check.integer(fn, "a boundary", step, minimum=0)
        items.append((step, _real(fn, "a scale", scale)))
    if any(scale < 0 for _, scale in items):
        raise ValueError(f"`{fn}` expects non-negative scale factors")
    return items


def _through(fn: str, init_value: Any, boundaries_and_scales: Any) -> tuple[tuple[int, float], ...]:
    """``(0, init)`` and ``(b_k, init * s_1 * ... * s_k)``, the products in optax's order; a
    boundary at 0 replaces the first point (optax's interval ``[0, 0)`` is empty)."""
    value = _real(fn, "init_value", init_value)
    points = [(0, value)]
    for step, scale in _boundaries(fn, boundaries_and_scales):
        value = value * scale
        if step == 0:
            points = [(0, value)]
        else:
            points.append((step, value))
    return tuple(points)


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    """``init_value`` times the product of the scales of the boundaries ``<= t``."""
    fn = "piecewise_constant_schedule"
    points = _through(fn, init_value, boundaries_and_scales)
    return constant(points[0][1]) if len(points) == 1 else piecewise(points, interpolation="step")


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: float,
    boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    """Through ``(0, init)`` and ``(b_k, init * s_1 * ... * s_k)``, interpolated ``'linear'`` or
    ``'cosine'``; held at the last value."""
    fn = "piecewise_interpolate_schedule"
    if interpolate_type not in ("linear", "cosine"):
        # optax's own words, with the function and the value.
        raise ValueError(
            f"{fn}(): `interpolate_type` must be either 'cosine' or 'linear', "
            f"got {interpolate_type!r}"
        )
    points = _through(fn, init_value, boundaries_and_scales)
    if len(points) == 1:
        return constant(points[0][1])
    return piecewise(points, interpolation=interpolate_type)


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init * rate ** ((t - begin) / steps)`` from ``begin`` (``floor`` of the exponent with
    ``staircase``), bounded by ``end_value``; ``init`` before ``begin``."""
    fn = "exponential_decay"
    init = _real(fn, "init_value", init_value)
    steps = _steps(fn, "transition_steps", transition_steps)
    rate = _real(fn, "decay_rate", decay_rate, at_least=0)
    begin = max(0, _steps(fn, "transition_begin", transition_begin))
    check.flag(fn, "staircase", staircase)
    if steps <= 0 or rate == 0:
        return constant(init)
    decay = step_decay(steps, rate) if staircase else stretch(exponential(rate), steps)
    decayed = _from(begin, init, init * decay)
    if end_value is None:
        return decayed
    end = _real(fn, "end_value", end_value)
    return maximum(decayed, end) if rate < 1.0 else minimum(decayed, end)


def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """``init * ((1 - alpha) * (1 + cos(pi * min(t, steps) / steps)) / 2 + alpha)``."""
    fn = "cosine_decay_schedule"
    init = _real(fn, "init_value", init_value)
    steps = _steps(fn, "decay_steps", decay_steps)
    if not steps > 0:
        raise ValueError(f"The cosine_decay_schedule requires positive decay_steps, got {steps=}.")
    rest = _real(fn, "alpha", alpha)
    power = _real(fn, "exponent", exponent, at_least=0)
    # optax's (0.5 * (1 + cos(pi * t / steps))) ** exponent; ** 1.0 changes no value
    wave = cosine(steps) if power == 1 else _power(cosine(steps), exponent, power)
    if rest != 0.0:
        wave = _times(1.0 - rest, wave) + rest
    return _times(init, wave)


def join_schedules(schedules: Iterable[Schedule], boundaries: Iterable[int]) -> Schedule:
    """``schedules[i](t - boundaries[i - 1])`` from ``boundaries[i - 1]`` on; a later boundary at
    or before an earlier one hides the earlier schedule, as in optax."""
    pieces = list(schedules)
    steps = [check.integer("join_schedules", "a boundary", b, minimum=0) for b in boundaries]
    if not pieces or len(steps) != len(pieces) - 1:
        raise ValueError(
            "join_schedules(): boundaries must have one entry fewer than schedules, "
            f"got {len(pieces)} schedules and {steps!r}"
        )
    kept: list[tuple[int, Schedule]] = []
    for start, piece in zip([0, *steps], pieces, strict=True):
        check.a_schedule()("join_schedules", "a schedule", piece)
        while kept and kept[-1][0] >= start:
            kept.pop()
        kept.append((start, piece))
    return sequence(*(p for _, p in kept), at=[s for s, _ in kept[1:]])


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """A linear warm-up to ``peak_value``, then a cosine to ``end_value`` at ``decay_steps``
    (counted from step 0, the warm-up included)."""
    fn = "warmup_cosine_decay_schedule"
    peak = _real(fn, "peak_value", peak_value)
    end = _real(fn, "end_value", end_value)
    warmup = _steps(fn, "warmup_steps", warmup_steps)
    alpha = 0.0 if peak == 0.0 else end / peak
    return join_schedules(
        [
            linear_schedule(init_value, peak, warmup),
            cosine_decay_schedule(
                peak, _steps(fn, "decay_steps", decay_steps) - warmup, alpha, exponent
            ),
        ],
        [max(0, warmup)],
    )


def warmup_exponential_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """A linear warm-up to ``peak_value``, then ``exponential_decay`` from it."""
    warmup = _steps("warmup_exponential_decay_schedule", "warmup_steps", warmup_steps)
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup),
            exponential_decay(
                peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
            ),
        ],
        [max(0, warmup)],
    )


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """``warmup_cosine_decay_schedule(**kwargs)`` for each entry, one after the other."""
    schedules, boundaries, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += _steps("sgdr_schedule", "decay_steps", kwargs["decay_steps"])
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])


def _onecycle(fn: str, transition_steps: int, peak_value: float, div_factor: float) -> float:
    if _steps(fn, "transition_steps", transition_steps) <= 0:
        raise ValueError(
            "A linear onecycle schedule was set with a non-positive `transition_steps`"
        )
    return _real(fn, "peak_value", peak_value) / _real(fn, "div_factor", div_factor)


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """Linear from ``peak / div`` to ``peak`` at ``int(pct_start * T)``, back to ``peak / div``
    at ``int(pct_final * T)``, to ``peak / div / final_div`` at ``T``."""
    fn = "linear_onecycle_schedule"
    init = _onecycle(fn, transition_steps, peak_value, div_factor)
    start, final = _real(fn, "pct_start", pct_start), _real(fn, "pct_final", pct_final)
    return piecewise_interpolate_schedule(
        "linear",
        init,
        {
            int(start * transition_steps): div_factor,
            int(final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / _real(fn, "final_div_factor", final_div_factor),
        },
    )


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """Cosine from ``peak / div`` to ``peak`` at ``int(pct_start * T)``, then to
    ``peak / (div * final_div)`` at ``T``."""
    fn = "cosine_onecycle_schedule"
    init = _onecycle(fn, transition_steps, peak_value, div_factor)
    final = _real(fn, "final_div_factor", final_div_factor)
    return piecewise_interpolate_schedule(
        "cosine",
        init,
        {
            int(_real(fn, "pct_start", pct_start) * transition_steps): div_factor,
            int(transition_steps): 1.0 / (div_factor * final),
        },
    )
