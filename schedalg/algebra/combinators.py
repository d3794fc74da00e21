"""Combinators: schedules built from schedules (the fixed semantics of ``docs/design.md``).

The combinators that only move a child's clock (``stretch``, ``repeat``, ``warp``, ``shift``)
are in ``schedalg.algebra.timewarps``.

Each node evaluates a child only on the steps the child owns: a ``sequence`` gives every piece
its own slice of a curve, a held tail is a fill, nothing is evaluated everywhere and then selected
(except under JAX tracing, where shapes must be static). Each declares the clock its children
run on, which is how ``describe`` and ``check`` place a child's events on the global clock.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.algebra.timewarps import quotient
from schedalg.core import validators as check
from schedalg.core.node import Child, Clock, Event, param
from schedalg.core.printing import format_value
from schedalg.engine import onestep
from schedalg.engine.backends import (
    Evaluate,
    constant_in_graph,
    node_constant,
    select,
)
from schedalg.engine.fills import fill_staircase


def _interval_end(fn: str, name: str, value: Any) -> int | float:
    if value == math.inf:
        return math.inf
    if not check.is_integer(value):
        raise TypeError(f"{fn}(): {name} must be an integer or inf, got {value!r}")
    return int(value)


class clip(Schedule):
    """``clip(schedule, begin, end=inf)``: ``1.0`` before ``begin``; ``schedule(t - begin)`` on
    ``[begin, end)``; the last value inside, ``schedule(end - 1 - begin)``, from ``end`` on
    (MMEngine's ``begin``/``end`` interval). ``clip(s, 0)`` is ``s``.

    >>> from schedalg import clip, linear
    >>> s = clip(linear(1.0, 0.0, 10), 5)
    >>> s(0), s(5), s(10), s(100)
    (1.0, 1.0, 0.5, 0.0)
    """

    schedule: Schedule = param(check.a_schedule())
    begin: int = param(check.an_integer(minimum=0))
    end: int | float = param(_interval_end, default=math.inf, positional=True)

    def _check(self) -> None:
        if not self.end > self.begin:
            raise ValueError(
                f"clip(): end must be an integer greater than begin={self.begin!r} or inf, "
                f"got {self.end!r}"
            )

    def _simplify(self) -> Schedule:
        return self.schedule if self.begin == 0 and self.end == math.inf else self

    def children(self) -> Iterator[Child]:
        yield Child(
            "schedule", None, self.schedule, Clock(offset=self.begin, hi=self.end - self.begin)
        )

    def events(self) -> Iterator[Event]:
        yield Event(self.begin, "milestone", "clip begins")
        if self.end != math.inf:
            yield Event(self.end, "boundary", "clip ends (held)")

    def _held(self) -> float:
        # Computed once, on first use (a plateau inside cannot be evaluated at construction).
        return node_constant(
            self, "_held_value", lambda: self.schedule._scalar(self.end - 1 - self.begin)
        )

    def _scalar(self, t: float) -> float:
        if t < self.begin:
            return 1.0
        if t < self.end:
            return self.schedule._scalar(t - self.begin)
        return self._held()

    def _array(self, t: Any, xp: Any) -> Any:
        pieces: list[Evaluate] = [
            lambda local, xp: xp.ones_like(local),
            self.schedule._array,
        ]
        edges: tuple[float, ...] = (float(self.begin),)
        if self.end != math.inf:
            pieces.append(self._held_like)
            edges += (float(self.end),)
        if self.begin == 0:
            return select(t, xp, edges[1:], pieces[1:])
        return select(t, xp, edges, pieces)

    _scalar_closure = onestep.clip

    def _held_like(self, local: Any, xp: Any) -> Any:
        if constant_in_graph(self, "_held_value"):
            last = xp.full_like(local, float(self.end - 1 - self.begin))
            return self.schedule._array(last, xp)
        return xp.full_like(local, self._held())

    def _fill(self, out: np.ndarray, start: int) -> None:
        stop = start + out.shape[0]
        before = min(max(self.begin - start, 0), out.shape[0])
        out[:before] = 1.0
        lo, hi = max(start, self.begin), min(stop, self.end)
        if lo < hi:
            self.schedule._fill(out[lo - start : int(hi) - start], lo - self.begin)
        if stop > self.end:
            out[max(int(self.end) - start, 0) :] = self._held()


class sequence(Schedule):
    """``sequence(a, b, c, at=[m1, m2])``: ``a(t)`` on ``[0, m1)``, ``b(t - m1)`` on ``[m1, m2)``,
    ``c(t - m2)`` from ``m2`` on (torch's ``SequentialLR``, optax's ``join_schedules``).

    Each piece restarts at step 0: at ``m1`` the second piece starts from its own step 0, not
    from ``b(m1)``; to continue on the global clock, use ``shift(b, m1)`` as the piece or
    ``clip``. A single piece is that piece (``at=[]``).

    >>> from schedalg import constant, linear, sequence
    >>> s = sequence(constant(0.5), linear(1.0, 0.0, 10), at=[5])
    >>> s(4), s(5), s(10)
    (0.5, 1.0, 0.5)
    """

    pieces: tuple[Schedule, ...] = param(check.schedules(), variadic=True)
    at: tuple[int, ...] = param(check.integers(minimum=1, strictly_increasing=True, nonempty=False))

    if TYPE_CHECKING:  # the public signature (the node's metaclass builds it from the fields)

        def __init__(self, *pieces: Schedule, at: Iterable[int]) -> None: ...

    def _check(self) -> None:
        if len(self.at) != len(self.pieces) - 1:
            raise ValueError(
                f"sequence(): at must have one milestone fewer than there are pieces "
                f"({len(self.pieces)} pieces), got {list(self.at)!r}"
            )

    def _simplify(self) -> Schedule:
        return self.pieces[0] if len(self.pieces) == 1 else self

    def __repr__(self) -> str:
        pieces = ", ".join(repr(p) for p in self.pieces)
        return f"sequence({pieces}, at={format_value(self.at)})"

    def children(self) -> Iterator[Child]:
        starts = (0, *self.at)
        for i, piece in enumerate(self.pieces):
            end = self.at[i] if i < len(self.at) else math.inf
            yield Child("pieces", i, piece, Clock(offset=starts[i], hi=end - starts[i]))

    def events(self) -> Iterator[Event]:
        for i, milestone in enumerate(self.at, 2):
            yield Event(milestone, "milestone", f"sequence piece {i}")

    def _scalar(self, t: float) -> float:
        i = bisect.bisect_right(self.at, t)
        return self.pieces[i]._scalar(t - self.at[i - 1] if i else t)

    _scalar_closure = onestep.sequence

    def _array(self, t: Any, xp: Any) -> Any:
        return select(t, xp, tuple(float(m) for m in self.at), [p._array for p in self.pieces])

    def _fill(self, out: np.ndarray, start: int) -> None:
        starts = (0, *self.at)
        stop = start + out.shape[0]
        for i, piece in enumerate(self.pieces):
            lo = max(start, starts[i])
            hi = min(stop, self.at[i]) if i < len(self.at) else stop
            if lo < hi:
                piece._fill(out[lo - start : hi - start], lo - starts[i])


class per_epoch(Schedule):
    """``per_epoch(schedule, epoch_length, smooth=False)``: ``schedule(floor(t / L))`` — a
    schedule written in epochs, read per iteration (MMEngine ``by_epoch=True``); with
    ``smooth=True``, ``schedule(t / L)``: updated every iteration (``convert_to_iter_based``).
    Nested staircases merge: ``per_epoch(per_epoch(s, a), b)`` is ``per_epoch(s, a * b)``.

    >>> from schedalg import exponential, per_epoch
    >>> s = per_epoch(exponential(0.5), 100)
    >>> s(99), s(100), s(250)
    (1.0, 0.5, 0.25)
    """

    schedule: Schedule = param(check.a_schedule())
    epoch_length: int = param(check.an_integer(minimum=1))
    smooth: bool = param(check.a_flag(), default=False)

    def _simplify(self) -> Schedule:
        inner = self.schedule
        if isinstance(inner, per_epoch) and not inner.smooth and not self.smooth:
            return per_epoch(inner.schedule, inner.epoch_length * self.epoch_length)
        return self

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(scale=self.epoch_length))

    def _scalar(self, t: float) -> float:
        epoch = t / self.epoch_length if self.smooth else t // self.epoch_length
        return self.schedule._scalar(epoch)

    _scalar_closure = onestep.per_epoch

    def _array(self, t: Any, xp: Any) -> Any:
        # Floor division is exact everywhere; a plain t / L is not under jax.jit (quotient).
        epoch = quotient(t, self.epoch_length, xp) if self.smooth else t // self.epoch_length
        return self.schedule._array(epoch, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        if self.smooth or self.epoch_length == 1:
            super()._fill(out, start)
            return

        # One value per epoch, repeated: the inner schedule sees n / L steps, not n.
        def epoch_values(first: int, count: int) -> np.ndarray:
            values = np.empty(count)
            self.schedule._fill(values, first)
            return values

        fill_staircase(out, start, self.epoch_length, epoch_values)


_SHAPES = ("linear", "exponential", "cosine", "constant")


class warmup(Schedule):
    """``warmup(schedule, steps, start=0.0, shape='linear', overlay=False)``.

    Prefix (default): a ramp from ``start * s(0)`` at ``t = 0`` that reaches ``s(0)`` at
    ``t = steps``, then ``s(t - steps)`` — ``sequence(ramp, s, at=[steps])``: the schedule's
    clock starts after the warm-up, so its milestones fall ``steps`` later than written
    (``check`` says so).
    Overlay: ``ramp(t) * s(t)``, the ramp rising from ``start`` to 1 over ``steps`` and 1 after;
    the main schedule keeps the global clock (torch's ``LinearLR`` chained, MMEngine's warm-up).

    Ramp factor at ``t < steps`` with ``p = t / steps``: linear ``start + (1 - start) * t / steps``;
    exponential ``start * (1 / start) ** p`` (needs ``start > 0``); cosine
    ``start + (1 - start) * (1 - cos(pi p)) / 2``; constant ``start``.

    >>> from schedalg import cosine, multistep, warmup
    >>> s = warmup(cosine(100), 10)
    >>> s(5), s(10), s(110)
    (0.5, 1.0, 0.0)
    >>> warmup(multistep([50], 0.1), 10)(55), warmup(multistep([50], 0.1), 10, overlay=True)(55)
    (1.0, 0.1)
    """

    schedule: Schedule = param(check.a_schedule())
    steps: int = param(check.an_integer(minimum=1))
    start: float = param(check.a_number(), default=0.0)
    shape: str = param(check.one_of(*_SHAPES), default="linear")
    overlay: bool = param(check.a_flag(), default=False)

    def _check(self) -> None:
        if self.shape == "exponential" and not (self.start > 0 and math.isfinite(1.0 / self.start)):
            # The ramp is start * (1 / start) ** p: a subnormal start would make it inf mid-way.
            raise ValueError(
                f"warmup(): start must be a normal positive number for shape='exponential', "
                f"got {self.start!r}"
            )

    def children(self) -> Iterator[Child]:
        clock = Clock() if self.overlay else Clock(offset=self.steps)
        yield Child("schedule", None, self.schedule, clock)

    def events(self) -> Iterator[Event]:
        yield Event(self.steps, "warmup_end", "after warm-up")

    def _factor(self, t: Any, cos: Any) -> Any:
        if self.shape == "linear":
            return self.start + (1.0 - self.start) * t / self.steps
        if self.shape == "exponential":
            return self.start * (1.0 / self.start) ** (t / self.steps)
        if self.shape == "cosine":
            return self.start + (1.0 - self.start) * (1.0 - cos(math.pi * t / self.steps)) / 2
        return self.start + 0.0 * t

    def _scalar(self, t: float) -> float:
        if self.overlay:
            value = self.schedule._scalar(t)
            return self._factor(t, math.cos) * value if t < self.steps else value
        if t < self.steps:
            return self._factor(t, math.cos) * self._peak()
        return self.schedule._scalar(t - self.steps)

    _scalar_closure = onestep.warmup

    def _peak(self) -> float:
        """``s(0)``, which the prefix ramp rises to (computed once, on first use)."""
        return node_constant(self, "_peak_value", lambda: self.schedule._scalar(0))

    def _array(self, t: Any, xp: Any) -> Any:
        if self.overlay:
            ramp = self._factor(xp.where(t < self.steps, t, float(self.steps)), xp.cos)
            ramp = xp.where(t < self.steps, ramp, 1.0)
            return ramp * self.schedule._array(t, xp)
        if constant_in_graph(self, "_peak_value"):
            peak = self.schedule._array(xp.zeros_like(t), xp)
        else:
            peak = self._peak()
        return select(
            t,
            xp,
            (float(self.steps),),
            [lambda local, xp: self._factor(local, xp.cos) * peak, self.schedule._array],
        )

    def _fill(self, out: np.ndarray, start: int) -> None:
        n = out.shape[0]
        split = min(max(self.steps - start, 0), n)
        if self.overlay:
            self.schedule._fill(out, start)
            if split:
                ramp = np.arange(start, start + split, dtype=np.float64)
                out[:split] = self._factor(ramp, np.cos) * out[:split]
            return
        if split:
            ramp = np.arange(start, start + split, dtype=np.float64)
            out[:split] = self._factor(ramp, np.cos) * self._peak()
        if split < n:
            self.schedule._fill(out[split:], start + split - self.steps)
