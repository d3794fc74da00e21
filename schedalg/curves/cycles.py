"""Cyclical curves: torch's ``CyclicLR`` and ``OneCycleLR`` (learning rate and momentum).

The OneCycle phase maths here (:func:`one_cycle_ends`, :func:`one_cycle_phases`,
:func:`one_cycle_at`) is the one copy the library has; the MMEngine converter uses it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.algebra.timewarps import quotient
from schedalg.core import validators as check
from schedalg.core.node import Event, param
from schedalg.curves.functions import call_vectorised
from schedalg.curves.primitives import fill_then_hold
from schedalg.engine.backends import pow_, power

_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def _down(fn: str, name: str, value: Any) -> int | float | None:
    if value is None:
        return None
    if check.is_integer(value):
        return check.integer(fn, name, value, minimum=0)
    return check.real(fn, name, value, at_least=0)


class cyclic(Schedule):
    """``cyclic(low, high, up, down=None, mode='triangular', gamma=1.0, scale_fn=None,
    scale_mode='cycle')``: torch's ``CyclicLR`` curve from ``low`` to ``high`` and back.

    With ``total = up + down``, ``cycle = floor(1 + t / total)``, ``x = 1 + t / total - cycle``:
    ``low + (high - low) * f(x) * scale``, ``f`` rising linearly to 1 over the first ``up / total``
    of a cycle and falling back to 0; ``scale`` is 1 (triangular), ``1 / 2**(cycle - 1)``
    (triangular2), ``gamma**t`` (exp_range) or ``scale_fn(cycle)`` / ``scale_fn(t)`` by
    ``scale_mode``. The momentum torch cycles is the same curve with ``low`` and ``high`` swapped
    (``low=max_momentum, high=base_momentum``). ``down=None`` means ``down = up``.

    >>> from schedalg import cyclic
    >>> s = cyclic(0.1, 1.0, 5)
    >>> s(0), s(5), s(10)
    (0.1, 1.0, 0.1)
    """

    low: float = param(check.a_number())
    high: float = param(check.a_number())
    up: int | float = param(check.a_length())
    down: int | float | None = param(_down, default=None)
    mode: str = param(check.one_of(*_CYCLIC_MODES), default="triangular")
    gamma: float = param(check.a_number(above=0), default=1.0)
    scale_fn: Callable[[Any], Any] | None = param(check.optional(check.a_function()), default=None)
    scale_mode: str = param(check.one_of("cycle", "iterations"), default="cycle")

    @property
    def _total(self) -> float:
        up = float(self.up)
        return up + (up if self.down is None else float(self.down))

    # One step and arrays differ in how the rising/falling branch is taken (a division by zero
    # must not happen on the branch not taken) and in the type of ``cycle`` handed to scale_fn.
    def _scalar(self, t: float) -> float:
        total = self._total
        ratio = float(self.up) / total
        cycle = math.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.scale_fn is not None:
            scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        elif self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / power(2.0, cycle - 1)
        else:
            scale = power(self.gamma, t)
        return self.low + (self.high - self.low) * factor * scale

    def _array(self, t: Any, xp: Any) -> Any:
        total = self._total
        ratio = float(self.up) / total
        # t / total rounded once in every library (quotient: not so under jax.jit as written),
        # so the cycle starts at the step NumPy's does and x keeps NumPy's bits.
        position = quotient(t, total, xp)
        cycle = xp.floor(1 + position)
        x = 1.0 + position - cycle
        rising = x <= ratio
        factor = xp.where(
            rising, x / ratio, (x - 1) / (ratio - 1) if ratio != 1 else xp.zeros_like(x)
        )
        if self.scale_fn is not None:
            scale = call_vectorised(self.scale_fn, cycle if self.scale_mode == "cycle" else t, xp)
        elif self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / pow_(2.0, cycle - 1, xp)
        else:
            scale = pow_(self.gamma, t, xp)
        return self.low + (self.high - self.low) * factor * scale


_ANNEALS = ("cos", "linear")
Phase = tuple[float, float, float, float]


def _anneal(kind: str, start: float, end: float, pct: Any, cos: Callable[[Any], Any]) -> Any:
    if kind == "cos":
        return end + (start - end) / 2.0 * (cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def one_cycle_ends(total: int, pct_start: float, three_phase: bool) -> list[float]:
    """The last step of each OneCycle phase, as torch and MMEngine compute them (floats)."""
    if three_phase:
        return [float(pct_start * total) - 1, float(2 * pct_start * total) - 2, total - 1]
    return [float(pct_start * total) - 1, total - 1]


def one_cycle_phases(
    fn: str, total: int, pct_start: float, three_phase: bool, values: tuple[float, ...]
) -> list[Phase]:
    """torch's OneCycleLR phases as ``(begin, end, start_value, end_value)``, float boundaries.

    A phase of zero length is reachable only when it is the first one (``pct_start * total == 1``):
    torch divides by zero there, so that is refused. Later zero-length phases are never selected.
    """
    ends = one_cycle_ends(total, pct_start, three_phase)
    if ends[0] == 0:
        raise ValueError(
            f"{fn}(): pct_start * total must not be 1 (torch's OneCycleLR divides by zero in its "
            f"first phase), got pct_start={pct_start!r}, total={total!r}"
        )
    begins = [0.0, *ends[:-1]]
    return [(b, e, values[i], values[i + 1]) for i, (b, e) in enumerate(zip(begins, ends))]


def one_cycle_at(phases: list[Phase], kind: str, t: float) -> float:
    """The value at step ``t``: the first phase whose end is >= ``t`` (the last one
    extrapolates), as torch's and MMEngine's loops pick it."""
    for i, (begin, end, start_value, end_value) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            return _anneal(kind, start_value, end_value, (t - begin) / (end - begin), math.cos)
    raise AssertionError("unreachable")


def _one_cycle_array(phases: list[Phase], kind: str, t: Any, xp: Any) -> Any:
    # The first phase whose end is >= t wins, as in torch's loop: build the selection backwards.
    # Zero-length phases are never selected (see one_cycle_phases) and would divide by zero.
    live = [p for i, p in enumerate(phases) if p[1] != p[0] or i == 0]
    begin, end, start_value, end_value = live[-1]
    result = _anneal(kind, start_value, end_value, (t - begin) / (end - begin), xp.cos)
    for begin, end, start_value, end_value in reversed(live[:-1]):
        value = _anneal(kind, start_value, end_value, (t - begin) / (end - begin), xp.cos)
        result = xp.where(t <= end, value, result)
    return result


def _one_cycle_fill(phases: list[Phase], kind: str, steps: np.ndarray) -> None:
    """``_one_cycle_array`` in place over ascending steps (all before the hold): each phase's
    formula on its own slice only, the same operations per element, so the same values."""
    live = [p for i, p in enumerate(phases) if p[1] != p[0] or i == 0]
    # Phase k takes the steps after the earlier phases' and up to its end (the last: the rest).
    cuts = [int(np.searchsorted(steps, p[1], side="right")) for p in live[:-1]]
    cuts.append(steps.shape[0])
    lo = 0
    for (begin, end, start_value, end_value), hi in zip(live, cuts, strict=True):
        if hi > lo:
            part = steps[lo:hi]
            part[...] = _anneal(
                kind, start_value, end_value, (part - begin) / (end - begin), np.cos
            )
        lo = max(lo, hi)


class _one_cycle_curve(Schedule):
    """Evaluation shared by the one-cycle curves: torch's phases, held from ``total - 1`` on."""

    def _phase_values(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _check(self) -> None:
        fn = type(self).__name__
        total, pct, three = self.total, self.pct_start, self.three_phase  # type: ignore[attr-defined]
        self._set("_phases", one_cycle_phases(fn, total, pct, three, self._phase_values()))

    @property
    def phases(self) -> list[Phase]:
        """torch's phases as ``(begin, end, start_value, end_value)``, float boundaries."""
        return self._phases  # type: ignore[attr-defined]

    def events(self) -> Iterator[Event]:
        for _begin, end, _a, _b in self.phases[:-1]:
            yield Event(end, "boundary", "one_cycle phase")
        yield Event(self.total - 1, "end", "one_cycle ends")  # type: ignore[attr-defined]

    def _scalar(self, t: float) -> float:
        last = self.total - 1  # type: ignore[attr-defined]
        return one_cycle_at(self._phases, self.anneal, min(t, last))  # type: ignore[attr-defined]

    def _array(self, t: Any, xp: Any) -> Any:
        last = self.total - 1  # type: ignore[attr-defined]
        clamped = xp.where(t < last, t, float(last))
        return _one_cycle_array(self._phases, self.anneal, clamped, xp)  # type: ignore[attr-defined]

    def _fill(self, out: np.ndarray, start: int) -> None:
        def formula(steps: np.ndarray) -> None:
            _one_cycle_fill(self._phases, self.anneal, steps)  # type: ignore[attr-defined]

        fill_then_hold(self, out, start, self.total - 1, formula)  # type: ignore[attr-defined]


class one_cycle(_one_cycle_curve):
    """``one_cycle(total, pct_start=0.3, div=25.0, final_div=1e4, anneal='cos',
    three_phase=False, peak=1.0)``: torch's ``OneCycleLR`` learning rate.

    Rises from ``peak / div`` to ``peak`` until step ``pct_start * total - 1``, then anneals to
    ``peak / div / final_div`` at ``total - 1`` (three-phase: back to ``peak / div`` at
    ``2 * pct_start * total - 2`` first). ``anneal='cos'``: ``e + (s - e) / 2 * (cos(pi p) + 1)``;
    ``'linear'``: ``(e - s) * p + s``. Held at the final value from ``total - 1`` on (torch
    extrapolates at step ``total``, a value no update uses, and raises after it).
    ``peak=max_lr`` gives torch's absolute values bit for bit.

    >>> from schedalg import one_cycle
    >>> s = one_cycle(100)
    >>> s(0), s(30), s(99)
    (0.040000000000000036, 0.9994965352845243, 4e-06)
    """

    total: int = param(check.an_integer(minimum=1))
    pct_start: float = param(check.a_number(at_least=0, at_most=1), default=0.3)
    div: float = param(check.a_number(above=0), default=25.0)
    final_div: float = param(check.a_number(above=0), default=1e4)
    anneal: str = param(check.one_of(*_ANNEALS), default="cos")
    three_phase: bool = param(check.a_flag(), default=False)
    peak: float = param(check.a_number(), default=1.0)

    def _phase_values(self) -> tuple[float, ...]:
        initial = self.peak / self.div
        final = initial / self.final_div
        if self.three_phase:
            return (initial, self.peak, initial, final)
        return (initial, self.peak, final)


class one_cycle_momentum(_one_cycle_curve):
    """``one_cycle_momentum(total, pct_start=0.3, low=0.85, high=0.95, anneal='cos',
    three_phase=False)``: the momentum torch's ``OneCycleLR`` cycles against the learning rate.

    Falls from ``high`` to ``low`` while the learning rate rises, then returns to ``high``
    (three-phase: the third phase stays at ``high``); same phases and anneal as ``one_cycle``.
    The values are momenta, not multipliers: the node is absolute (``schedalg.algebra.units``).

    >>> from schedalg import one_cycle_momentum
    >>> s = one_cycle_momentum(100)
    >>> s(0), s(30)
    (0.95, 0.8500503466729342)
    """

    _absolute: ClassVar[bool] = True

    total: int = param(check.an_integer(minimum=1))
    pct_start: float = param(check.a_number(at_least=0, at_most=1), default=0.3)
    low: float = param(check.a_number(), default=0.85)
    high: float = param(check.a_number(), default=0.95)
    anneal: str = param(check.one_of(*_ANNEALS), default="cos")
    three_phase: bool = param(check.a_flag(), default=False)

    def _phase_values(self) -> tuple[float, ...]:
        if self.three_phase:
            return (self.high, self.low, self.high, self.high)
        return (self.high, self.low, self.high)
