"""The combinators that move time: a child read on another clock (the fixed semantics of
``docs/design.md``). ``stretch`` scales the clock, ``shift`` offsets it, ``repeat`` restarts it
every period and ``warp`` reads it off another schedule. Each declares the clock its child runs
on in ``children()``, which is how ``describe`` and ``check`` place the child's events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Child, Clock, Event, param
from schedalg.engine import onestep
from schedalg.engine.backends import (
    MAX_INTEGER_STEP,
    array_steps,
    library,
    pow_,
    power,
    scalar_step,
    traced,
)
from schedalg.engine.periods import period_values, tile


def quotient(t: Any, divisor: float, xp: Any) -> Any:
    """``t / divisor`` rounded once, as an IEEE division rounds it, in every array library.

    XLA (``jax.jit``) rewrites a division by a constant as a multiplication by its reciprocal,
    and torch on CUDA does so for a Python number: two roundings, so ``49 / 49`` becomes
    ``0.9999999999999999`` and a staircase read at it fires a step late
    (``stretch(step_decay(1, 0.5), 49)`` at 49). A divisor computed from the step,
    ``divisor + 0 * t`` (the same number for every finite step), is no constant: the division
    stays one division, with NumPy's bits. NumPy and Python floats divide as written.
    """
    if library(xp) in ("scalar", "numpy"):
        return t / divisor
    return t / (divisor + 0.0 * t)


class stretch(Schedule):
    """``stretch(schedule, factor)``: ``schedule(t / factor)`` — the whole curve ``factor`` times
    longer (Composer's scale-schedule ratio is ``1 / factor``). ``stretch(s, 1)`` is ``s``, and
    ``stretch(stretch(s, a), b)`` is ``stretch(s, a * b)``.

    >>> from schedalg import linear, stretch
    >>> s = stretch(linear(1.0, 0.0, 10), 2)
    >>> s(10), s(20)
    (0.5, 0.0)
    """

    schedule: Schedule = param(check.a_schedule())
    factor: int | float = param(check.a_length())

    def _simplify(self) -> Schedule:
        if self.factor == 1:
            return self.schedule
        if isinstance(self.schedule, stretch):
            return stretch(self.schedule.schedule, self.schedule.factor * self.factor)
        return self

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(scale=self.factor))

    def _scalar(self, t: float) -> float:
        return self.schedule._scalar(t / self.factor)

    _scalar_closure = onestep.stretch

    def _array(self, t: Any, xp: Any) -> Any:
        return self.schedule._array(quotient(t, self.factor, xp), xp)


# Cycles shorter than this with a decay are filled on the array path (measured: with cycles of 1
# step, a factor per cycle is 3.7x slower than the array path; with 10 steps, 2.4x faster).
_FEW_STEPS = 8


class repeat(Schedule):
    """``repeat(schedule, period, decay=1.0)``: ``decay ** k * schedule(t - k * period)`` in cycle
    ``k = floor(t / period)`` — restart any schedule every ``period`` steps.

    >>> from schedalg import linear, repeat
    >>> s = repeat(linear(1.0, 0.0, 10), 10, decay=0.5)
    >>> s(5), s(15)
    (0.5, 0.25)
    """

    schedule: Schedule = param(check.a_schedule())
    period: int = param(check.an_integer(minimum=1))
    decay: float = param(check.a_number(above=0), default=1.0)

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(hi=self.period, period=self.period))

    def events(self) -> Iterator[Event]:
        k = 1
        while True:
            yield Event(k * self.period, "boundary", f"cycle {k + 1}")
            k += 1

    def _scalar(self, t: float) -> float:
        cycle = t // self.period
        value = self.schedule._scalar(t - cycle * self.period)
        return value if self.decay == 1.0 else power(self.decay, cycle) * value

    def _array(self, t: Any, xp: Any) -> Any:
        cycle = t // self.period
        value = self.schedule._array(t - cycle * self.period, xp)
        return value if self.decay == 1.0 else pow_(self.decay, cycle, xp) * value

    def _fill(self, out: np.ndarray, start: int) -> None:
        # The value depends on t mod period alone, the cycle's decay applied after: one period
        # of the inner curve, computed once (and kept, up to _periods.KEEP steps), copied.
        n = out.shape[0]
        if self.decay != 1.0 and self.period < _FEW_STEPS:
            # A cycle's factor costs a Python ``**`` (the one-step path's rounding): for cycles
            # of a few steps, more than evaluating every step on the array path, as before.
            super()._fill(out, start)
            return
        values = period_values(self, "_period_values", self.period, n, self.schedule._fill)
        if values is not None:
            tile(out, start, values, self.decay)
            return
        # Part of one or two long cycles: each cycle's slice from the inner curve.
        position = 0
        while position < n:
            cycle, offset = divmod(start + position, self.period)
            end = min(n, position + self.period - offset)
            self.schedule._fill(out[position:end], offset)
            if self.decay != 1.0:
                out[position:end] *= power(self.decay, cycle)
            position = end


class warp(Schedule):
    """``warp(schedule, clock)``: ``schedule(clock(t))`` — a schedule read on another schedule's
    clock. ``clock`` gives the steps ``schedule`` sees (non-negative, finite; evaluating a step
    where it is not is an error, and NaN under ``jax.jit``). timm's ``k_decay`` is
    ``warp(cosine(T), elapsed() ** k / T ** (k - 1))``; a token clock is
    ``warp(schedule_in_tokens, tokens_seen)``. The schedule's own events are not placed on the
    global clock (they sit wherever the clock maps them).

    >>> from schedalg import elapsed, linear, warp
    >>> s = warp(linear(1.0, 0.0, 100), 2 * elapsed())
    >>> s(10), s(50), s(80)
    (0.8, 0.0, 0.0)
    """

    schedule: Schedule = param(check.a_schedule())
    clock: Schedule = param(check.a_schedule())

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(placed=False))
        yield Child("clock", None, self.clock)

    def _scalar(self, t: float) -> float:
        inner = self.clock._scalar(t)
        try:
            step = scalar_step(inner)
        except ValueError as error:
            raise ValueError(f"warp(): the clock {self.clock!r} at step {t!r}: {error}") from None
        return self.schedule._scalar(step)

    def _array(self, t: Any, xp: Any) -> Any:
        inner = self.clock._array(t, xp)
        if traced(xp):
            valid = xp.isfinite(inner) & (inner >= 0)
            values = self.schedule._array(xp.where(valid, inner, 0.0), xp)
            return xp.where(valid, values, xp.nan)
        try:
            steps = array_steps(inner, xp, inner.dtype)
        except ValueError as error:
            raise ValueError(f"warp(): the clock {self.clock!r}: {error}") from None
        return self.schedule._array(steps, xp)


class shift(Schedule):
    """``shift(schedule, offset)``: ``schedule(t + offset)`` — start a schedule part-way, e.g. to
    continue a curve from step ``offset``. ``shift(s, 0)`` is ``s``, and
    ``shift(shift(s, a), b)`` is ``shift(s, a + b)``.

    >>> from schedalg import linear, shift
    >>> s = shift(linear(1.0, 0.0, 10), 5)
    >>> s(0), s(5)
    (0.5, 0.0)
    """

    schedule: Schedule = param(check.a_schedule())
    offset: int = param(check.an_integer(minimum=0))

    def _simplify(self) -> Schedule:
        if self.offset == 0:
            return self.schedule
        if isinstance(self.schedule, shift):
            return shift(self.schedule.schedule, self.schedule.offset + self.offset)
        return self

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(offset=-self.offset, lo=self.offset))

    def _scalar(self, t: float) -> float:
        return self.schedule._scalar(t + self.offset)

    _scalar_closure = onestep.shift

    def _array(self, t: Any, xp: Any) -> Any:
        return self.schedule._array(t + self.offset, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        if start + self.offset + out.shape[0] > MAX_INTEGER_STEP:
            # Past 2**53 the array path's float steps round; the curve gives its values.
            Schedule._fill(self, out, start)
            return
        self.schedule._fill(out, start + self.offset)
