"""The primitive curves: one class each, its formula in its docstring and once in ``_formula``.

Values are multipliers by convention (1.0 at ``t = 0`` unless stated), but nothing depends on it.
Expression orders follow ``torch.optim.lr_scheduler``'s closed forms so the curves agree with
torch to the last bit wherever torch itself computes a closed form. Nodes whose one-step path is
a different algorithm from their array path (a ``bisect`` instead of a mask per milestone) keep
both; all others write the formula once.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Event, param
from schedalg.engine import onestep
from schedalg.engine.backends import (
    libm_power,
    pow_,
    power,
)
from schedalg.engine.fills import fill_piecewise_constant, fill_staircase, steps_into
from schedalg.engine.periods import period_values, tile


class elapsed(Schedule):
    """``elapsed()``: ``t``, the step itself — the identity clock that ``warp`` reads other
    schedules on.

    >>> from schedalg import cosine, elapsed, warp
    >>> elapsed()(7), warp(cosine(100), elapsed() ** 2 / 100)(50) == cosine(100)(25)
    (7.0, True)
    """

    def _formula(self, t: Any, xp: Any) -> Any:
        return t + 0.0 * t


class linear(Schedule):
    """``linear(start, end, steps)``: ``start + (end - start) * min(t, steps) / steps``.

    torch's ``LinearLR(start_factor=start, end_factor=end, total_iters=steps)``; held at ``end``
    from ``steps`` on.

    >>> from schedalg import linear
    >>> s = linear(1.0, 0.0, 10)
    >>> s(0), s(5), s(10), s(20)
    (1.0, 0.5, 0.0, 0.0)
    """

    start: float = param(check.a_number())
    end: float = param(check.a_number())
    steps: int = param(check.an_integer(minimum=1))

    def events(self) -> Iterator[Event]:
        yield Event(self.steps, "end", "linear ends")

    def _formula(self, t: Any, xp: Any) -> Any:
        clamped = xp.where(t < self.steps, t, float(self.steps))
        return self.start + (self.end - self.start) * clamped / self.steps

    _scalar_closure = onestep.linear

    def _formula_in_place(self, values: np.ndarray) -> None:
        values *= self.end - self.start
        values /= self.steps
        values += self.start

    def _fill(self, out: np.ndarray, start: int) -> None:
        fill_then_hold(self, out, start, self.steps, self._formula_in_place)


class exponential(Schedule):
    """``exponential(gamma)``: ``gamma ** t`` (torch's ``ExponentialLR``).

    >>> from schedalg import exponential
    >>> exponential(0.5)(3)
    0.125
    """

    gamma: float = param(check.a_number(above=0))

    def _formula(self, t: Any, xp: Any) -> Any:
        return pow_(self.gamma, t, xp)

    _scalar_closure = onestep.exponential


class step_decay(Schedule):
    """``step_decay(step_size, gamma)``: ``gamma ** (t // step_size)`` (torch's ``StepLR``).

    >>> from schedalg import step_decay
    >>> s = step_decay(10, 0.5)
    >>> s(9), s(10), s(25)
    (1.0, 0.5, 0.25)
    """

    step_size: int = param(check.an_integer(minimum=1))
    gamma: float = param(check.a_number(above=0))

    def events(self) -> Iterator[Event]:
        for k in range(1, 51):
            yield Event(k * self.step_size, "boundary", "step decay")

    def _formula(self, t: Any, xp: Any) -> Any:
        # A float step size: JAX refuses Python ints beyond int32 as constants (the exact value
        # either way, as step sizes below 2**53 are exact floats).
        return pow_(self.gamma, t // float(self.step_size), xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        fill_staircase(
            out,
            start,
            self.step_size,
            lambda first, count: libm_power(self.gamma, np.arange(first, first + count)),
        )


class multistep(Schedule):
    """``multistep(milestones, gamma)``: ``gamma ** #{m in milestones : m <= t}``.

    torch's ``MultiStepLR``: a milestone listed twice applies ``gamma`` twice, milestone 0 applies
    from the first step. Milestones must be non-decreasing non-negative integers.

    >>> from schedalg import multistep
    >>> s = multistep([3, 6], 0.1)
    >>> [s(t) for t in (0, 3, 6)]
    [1.0, 0.1, 0.010000000000000002]
    """

    milestones: tuple[int, ...] = param(
        check.integers(minimum=0, strictly_increasing=False, nonempty=True)
    )
    gamma: float = param(check.a_number(above=0))

    def events(self) -> Iterator[Event]:
        for m in self.milestones:
            if m > 0:
                yield Event(m, "milestone", "multistep milestone")

    def _scalar(self, t: float) -> float:
        return power(self.gamma, bisect.bisect_right(self.milestones, t))

    _scalar_closure = onestep.multistep

    def _array(self, t: Any, xp: Any) -> Any:
        count = xp.zeros_like(t)
        for milestone in self.milestones:
            count = count + xp.astype(t >= milestone, t.dtype)
        return pow_(self.gamma, count, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        edges = [m - start for m in self.milestones]
        fill_piecewise_constant(out, edges, self._scalar, start)


class polynomial(Schedule):
    """``polynomial(steps, power=1.0, end=0.0)``:
    ``end + (1 - end) * ((steps - min(t, steps)) / steps) ** power``.

    torch's ``PolynomialLR(total_iters=steps, power=power)`` for ``end = 0``; MMEngine's ``PolyLR``.

    >>> from schedalg import polynomial
    >>> s = polynomial(10, power=2.0)
    >>> s(5), s(10)
    (0.25, 0.0)
    """

    steps: int = param(check.an_integer(minimum=1))
    power: float = param(check.a_number(at_least=0), default=1.0)
    end: float = param(check.a_number(), default=0.0)

    def events(self) -> Iterator[Event]:
        yield Event(self.steps, "end", "polynomial ends")

    def _formula(self, t: Any, xp: Any) -> Any:
        clamped = xp.where(t < self.steps, t, float(self.steps))
        # XLA turns ``x / steps`` into ``x * (1 / steps)``, so under jit ``1 - steps / steps`` can
        # be off by an ulp, and a fractional power of it NaN or 1e-8: the hold is exactly 0 here
        # (as ``1 - steps / steps`` is in NumPy, so NumPy values are unchanged).
        # ``(steps - t) / steps``, not ``1 - t / steps``: exact for integer steps, no cancellation
        # near the end (MMEngine's PolyLR keeps every digit there).
        remaining = xp.where(t < self.steps, (self.steps - clamped) / self.steps, 0.0)
        return self.end + (1.0 - self.end) * pow_(remaining, self.power, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        fill_then_hold(self, out, start, self.steps)


class cosine(Schedule):
    """``cosine(steps, end=0.0, periodic=False)``:
    ``end + (1 - end) * (1 + cos(pi * t / steps)) / 2``.

    Held at ``end`` from ``steps`` on; ``periodic=True`` keeps oscillating with period
    ``2 * steps``, as torch's ``CosineAnnealingLR`` does past ``T_max``.

    >>> from schedalg import cosine
    >>> s = cosine(100, end=0.1)
    >>> s(0), s(100), s(1000)
    (1.0, 0.1, 0.1)
    """

    steps: int = param(check.an_integer(minimum=1))
    end: float = param(check.a_number(), default=0.0)
    periodic: bool = param(check.a_flag(), default=False)

    def events(self) -> Iterator[Event]:
        yield Event(self.steps, "end", "cosine ends")

    def _scalar(self, t: float) -> float:
        # The adapter's hot path: the formula below with math.cos, without a namespace lookup.
        if not self.periodic and t > self.steps:
            t = self.steps
        return self.end + (1.0 - self.end) * (1.0 + math.cos(math.pi * t / self.steps)) / 2

    _scalar_closure = onestep.cosine

    def _formula(self, t: Any, xp: Any) -> Any:
        if not self.periodic:
            t = xp.where(t < self.steps, t, float(self.steps))
        return self.end + (1.0 - self.end) * (1.0 + xp.cos(math.pi * t / self.steps)) / 2

    def _formula_in_place(self, values: np.ndarray) -> None:
        values *= math.pi
        values /= self.steps
        np.cos(values, out=values)
        values += 1.0
        # Two passes fewer, the same bits: with end = 0, ``* 1`` and ``+ 0`` change no value
        # (all are >= +0), and halving is exact, so ``* 0.5`` is ``/ 2``.
        if self.end != 0.0:
            values *= 1.0 - self.end
        values *= 0.5
        if self.end != 0.0:
            values += self.end

    def _fill(self, out: np.ndarray, start: int) -> None:
        if self.periodic:
            self._formula_in_place(steps_into(out, start))
        else:
            fill_then_hold(self, out, start, self.steps, self._formula_in_place)


class cosine_restarts(Schedule):
    """``cosine_restarts(period, mult=1, end=0.0)``: a cosine from 1 to ``end`` over cycles of
    ``period * mult**k`` steps, restarting at 1 (torch's ``CosineAnnealingWarmRestarts``).

    In cycle ``k`` starting at step ``s_k`` with length ``T_k``:
    ``end + (1 - end) * (1 + cos(pi * (t - s_k) / T_k)) / 2``. ``end`` is approached, never reached.

    >>> from schedalg import cosine_restarts
    >>> s = cosine_restarts(10, mult=2)
    >>> s(0), s(10), s(30)
    (1.0, 1.0, 1.0)
    """

    period: int = param(check.an_integer(minimum=1))
    mult: int = param(check.an_integer(minimum=1), default=1)
    end: float = param(check.a_number(), default=0.0)

    def _check(self) -> None:
        # Exact integer cycle boundaries up to 2**53 (beyond, float steps are not integers).
        starts, length = [0], self.period
        while self.mult > 1 and starts[-1] < 2**53:
            starts.append(starts[-1] + length)
            length *= self.mult
        self._set("_cycle_starts", starts)

    def events(self) -> Iterator[Event]:
        start, length = 0, self.period
        for _ in range(50):
            start += length
            length *= self.mult
            yield Event(start, "boundary", "restart")

    def _cosine(self, position: Any, length: Any, cos: Callable[[Any], Any]) -> Any:
        return self.end + (1.0 - self.end) * (1.0 + cos(math.pi * position / length)) / 2

    def _scalar(self, t: float) -> float:
        if self.mult == 1:
            return self._cosine(t % self.period, self.period, math.cos)
        starts = self._cycle_starts  # type: ignore[attr-defined]
        k = bisect.bisect_right(starts, t) - 1
        return self._cosine(t - starts[k], self.period * self.mult**k, math.cos)

    def _fill(self, out: np.ndarray, start: int) -> None:
        # Bit-identical to _array: the same operations per step, on each cycle's slice (mult > 1)
        # or on one period repeated (mult = 1: the value depends on t % period alone).
        n, period = out.shape[0], self.period
        if self.mult == 1:
            values = period_values(self, "_period_values", period, n, self._first_cycle)
            if values is None:
                super()._fill(out, start)
            else:
                tile(out, start, values)
            return
        starts = self._cycle_starts  # type: ignore[attr-defined]
        k, position = bisect.bisect_right(starts, start) - 1, 0
        while position < n:
            end = min(n, starts[k + 1] - start)
            local = steps_into(out[position:end], start + position)
            local -= float(starts[k])
            out[position:end] = self._cosine(local, float(period * self.mult**k), np.cos)
            position, k = end, k + 1

    def _first_cycle(self, out: np.ndarray, start: int) -> None:
        # Steps of the first cycle, where t % period is t: the formula _array applies to it.
        out[...] = self._cosine(steps_into(out, start), float(self.period), np.cos)

    def _array(self, t: Any, xp: Any) -> Any:
        if self.mult == 1:
            return self._cosine(t % self.period, float(self.period), xp.cos)
        starts = self._cycle_starts  # type: ignore[attr-defined]
        cycle_start = xp.zeros_like(t)
        length = xp.full_like(t, float(self.period))
        for k, start in enumerate(starts[1:], 1):
            # A float: JAX refuses Python ints beyond int32 (the starts reach 2**53).
            later = t >= float(start)
            cycle_start = xp.where(later, float(start), cycle_start)
            length = xp.where(later, float(self.period * self.mult**k), length)
        return self._cosine(t - cycle_start, length, xp.cos)


class inverse_sqrt(Schedule):
    """``inverse_sqrt(timescale)``: ``1 / sqrt((t + timescale) / timescale)``.

    HF's ``inverse_sqrt`` after its warm-up: ``warmup(inverse_sqrt(timescale), W)`` is
    ``get_inverse_sqrt_schedule(W, timescale)``.

    >>> from schedalg import inverse_sqrt
    >>> s = inverse_sqrt(100)
    >>> s(0), s(300)
    (1.0, 0.5)
    """

    timescale: int | float = param(check.a_length())

    def _formula(self, t: Any, xp: Any) -> Any:
        return 1.0 / xp.sqrt((t + self.timescale) / self.timescale)


# -- fill helpers -----------------------------------------------------------------------------


def fill_then_hold(
    schedule: Schedule,
    out: np.ndarray,
    start: int,
    hold_from: int,
    formula: Callable[[np.ndarray], None] | None = None,
) -> None:
    """Fill with the formula before ``hold_from`` and with the value at ``hold_from`` after it.

    ``formula(out)``, when given, turns the steps written in ``out`` into values in place, with
    the same operations in the same order as ``_array`` (so the curve is bit-identical to it)
    but without its temporaries.
    """
    n = out.shape[0]
    split = min(max(hold_from - start, 0), n)
    if split:
        if formula is None:
            out[:split] = schedule._array(np.arange(start, start + split, dtype=np.float64), np)
        else:
            formula(steps_into(out[:split], start))
    if split < n:
        out[split:] = schedule._scalar(max(hold_from, start))
