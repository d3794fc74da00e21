"""Combinators: schedules built from schedules. Semantics fixed by DESIGN §2.

Each node evaluates a child only on the steps the child owns: a ``sequence`` gives every piece
its own slice of a curve, a held tail is a fill, nothing is evaluated everywhere and then selected
(except under JAX tracing, where shapes must be static).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from schedalg import _validate as check
from schedalg.core import BLOCK, Schedule, format_value, power, select


def _schedule(fn: str, name: str, value: object) -> Schedule:
    if not isinstance(value, Schedule):
        raise TypeError(f"{fn}(): {name} must be a Schedule, got {value!r}")
    return value


@dataclass(frozen=True, repr=False)
class Sequence(Schedule):
    """``sequence(a, b, c, at=[m1, m2])``: ``a(t)`` on ``[0, m1)``, ``b(t - m1)`` on ``[m1, m2)``,
    ``c(t - m2)`` from ``m2`` on — every piece on its own clock from 0 (torch's ``SequentialLR``,
    optax's ``join_schedules``)."""

    pieces: tuple[Schedule, ...]
    at: tuple[int, ...]
    _name: ClassVar[str] = "sequence"

    def __post_init__(self) -> None:
        if not isinstance(self.pieces, (tuple, list)):
            raise TypeError(f"sequence(): pieces must be schedules, got {self.pieces!r}")
        pieces = tuple(self.pieces)
        for i, piece in enumerate(pieces):
            _schedule("sequence", f"piece {i}", piece)
        at = check.integer_list(
            "sequence", "at", self.at, minimum=1, strictly_increasing=True, nonempty=False
        )
        if len(at) != len(pieces) - 1:
            raise ValueError(
                f"sequence(): at must have one milestone fewer than there are pieces "
                f"({len(pieces)} pieces), got {list(at)!r}"
            )
        self._set("pieces", pieces)
        self._set("at", at)

    def __repr__(self) -> str:
        pieces = ", ".join(repr(p) for p in self.pieces)
        return f"sequence({pieces}, at={format_value(self.at)})"

    def _scalar(self, t: float) -> float:
        i = bisect.bisect_right(self.at, t)
        return self.pieces[i]._scalar(t - self.at[i - 1] if i else t)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return select(t, xp, tuple(float(m) for m in self.at), [p._array for p in self.pieces])

    def _fill(self, out: np.ndarray, start: int) -> None:
        starts = (0, *self.at)
        stop = start + out.shape[0]
        for i, piece in enumerate(self.pieces):
            lo = max(start, starts[i])
            hi = min(stop, self.at[i]) if i < len(self.at) else stop
            if lo < hi:
                piece._fill(out[lo - start : hi - start], lo - starts[i])


def sequence(*pieces: Schedule, at: Any) -> Schedule:
    """``sequence(a, b, c, at=[m1, m2])``; a single piece is that piece (``at=[]``)."""
    node = Sequence(pieces, at)
    return node.pieces[0] if len(node.pieces) == 1 else node


_INF = math.inf


@dataclass(frozen=True, repr=False)
class Clip(Schedule):
    """``clip(schedule, begin, end=inf)``: ``1.0`` before ``begin``; ``schedule(t - begin)`` on
    ``[begin, end)``; the last value inside, ``schedule(end - 1 - begin)``, from ``end`` on
    (MMEngine's ``begin``/``end`` interval)."""

    schedule: Schedule
    begin: int
    end: int | float = _INF
    _name: ClassVar[str] = "clip"
    _positional: ClassVar[int] = 3

    def __post_init__(self) -> None:
        _schedule("clip", "schedule", self.schedule)
        self._set("begin", check.integer("clip", "begin", self.begin, minimum=0))
        if self.end != _INF:
            if not check.is_integer(self.end) or not self.end > self.begin:
                raise (ValueError if check.is_integer(self.end) else TypeError)(
                    f"clip(): end must be an integer greater than begin={self.begin!r} or inf, "
                    f"got {self.end!r}"
                )
            self._set("end", int(self.end))

    def __repr__(self) -> str:
        args = [repr(self.schedule), repr(self.begin)]
        if self.end != _INF:
            args.append(repr(self.end))
        return f"clip({', '.join(args)})"

    @property
    def _held(self) -> float:
        return self.schedule._scalar(self.end - 1 - self.begin)

    def _scalar(self, t: float) -> float:
        if t < self.begin:
            return 1.0
        if t < self.end:
            return self.schedule._scalar(t - self.begin)
        return self._held

    def _array(self, t: Any, xp: ModuleType) -> Any:
        pieces = [lambda local, xp: xp.ones_like(local), self.schedule._array]
        edges: tuple[float, ...] = (float(self.begin),)
        if self.end != _INF:
            held = self._held
            pieces.append(lambda local, xp: xp.full_like(local, held))
            edges += (float(self.end),)
        if self.begin == 0:
            return select(t, xp, edges[1:], pieces[1:])
        return select(t, xp, edges, pieces)

    def _fill(self, out: np.ndarray, start: int) -> None:
        stop = start + out.shape[0]
        before = min(max(self.begin - start, 0), out.shape[0])
        out[:before] = 1.0
        lo, hi = max(start, self.begin), min(stop, self.end)
        if lo < hi:
            self.schedule._fill(out[lo - start : int(hi) - start], lo - self.begin)
        if stop > self.end:
            out[max(int(self.end) - start, 0) :] = self._held


def clip(schedule: Schedule, begin: int, end: int | float = _INF) -> Schedule:
    """``clip(s, begin, end)``; ``clip(s, 0)`` is ``s`` itself."""
    node = Clip(schedule, begin, end)
    return node.schedule if node.begin == 0 and node.end == _INF else node


@dataclass(frozen=True, repr=False)
class PerEpoch(Schedule):
    """``per_epoch(schedule, epoch_length, smooth=False)``: ``schedule(floor(t / L))`` — a
    schedule written in epochs, read per iteration (MMEngine ``by_epoch=True``); with
    ``smooth=True``, ``schedule(t / L)``: updated every iteration (``convert_to_iter_based``)."""

    schedule: Schedule
    epoch_length: int
    smooth: bool = False
    _name: ClassVar[str] = "per_epoch"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _schedule("per_epoch", "schedule", self.schedule)
        self._set(
            "epoch_length",
            check.integer("per_epoch", "epoch_length", self.epoch_length, minimum=1),
        )
        self._set("smooth", check.flag("per_epoch", "smooth", self.smooth))

    def _scalar(self, t: float) -> float:
        epoch = t / self.epoch_length if self.smooth else t // self.epoch_length
        return self.schedule._scalar(epoch)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        epoch = t / self.epoch_length if self.smooth else t // self.epoch_length
        return self.schedule._array(epoch, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        if self.smooth or self.epoch_length == 1:
            super()._fill(out, start)
            return
        # One value per epoch, repeated: the inner schedule sees n / L steps, not n.
        n, length = out.shape[0], self.epoch_length
        first, last = start // length, (start + n - 1) // length
        values = np.empty(last - first + 1)
        self.schedule._fill(values, first)
        counts = np.full(values.shape[0], length)
        counts[0] = min(n, (first + 1) * length - start)
        counts[-1] = n - counts[:-1].sum() if last > first else n
        out[...] = np.repeat(values, counts)


def per_epoch(schedule: Schedule, epoch_length: int, smooth: bool = False) -> Schedule:
    """``per_epoch(s, L)``; nested staircases merge: ``per_epoch(per_epoch(s, a), b)`` is
    ``per_epoch(s, a * b)``."""
    node = PerEpoch(schedule, epoch_length, smooth)
    inner = node.schedule
    if isinstance(inner, PerEpoch) and not inner.smooth and not node.smooth:
        return PerEpoch(inner.schedule, inner.epoch_length * node.epoch_length)
    return node


_SHAPES = ("linear", "exponential", "cosine", "constant")


@dataclass(frozen=True, repr=False)
class Warmup(Schedule):
    """``warmup(schedule, steps, start=0.0, shape='linear', overlay=False)``.

    Prefix (default): a ramp from ``start * s(0)`` at ``t = 0`` that reaches ``s(0)`` at
    ``t = steps``, then ``s(t - steps)`` — ``sequence(ramp, s, at=[steps])``.
    Overlay: ``ramp(t) * s(t)``, the ramp rising from ``start`` to 1 over ``steps`` and 1 after;
    the main schedule keeps the global clock (torch's ``LinearLR`` chained, MMEngine's warm-up).

    Ramp factor at ``t < steps`` with ``p = t / steps``: linear ``start + (1 - start) * t / steps``;
    exponential ``start * (1 / start) ** p`` (needs ``start > 0``); cosine
    ``start + (1 - start) * (1 - cos(pi p)) / 2``; constant ``start``.
    """

    schedule: Schedule
    steps: int
    start: float = 0.0
    shape: str = "linear"
    overlay: bool = False
    _name: ClassVar[str] = "warmup"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _schedule("warmup", "schedule", self.schedule)
        self._set("steps", check.integer("warmup", "steps", self.steps, minimum=1))
        self._set("start", check.real("warmup", "start", self.start))
        self._set("shape", check.choice("warmup", "shape", self.shape, _SHAPES))
        self._set("overlay", check.flag("warmup", "overlay", self.overlay))
        if self.shape == "exponential" and not (self.start > 0 and math.isfinite(1.0 / self.start)):
            # The ramp is start * (1 / start) ** p: a subnormal start would make it inf mid-way.
            raise ValueError(
                f"warmup(): start must be a normal positive number for shape='exponential', "
                f"got {self.start!r}"
            )

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
            return self._factor(t, math.cos) * self.schedule._scalar(0)
        return self.schedule._scalar(t - self.steps)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        if self.overlay:
            ramp = self._factor(xp.where(t < self.steps, t, float(self.steps)), xp.cos)
            ramp = xp.where(t < self.steps, ramp, 1.0)
            return ramp * self.schedule._array(t, xp)
        peak = self.schedule._scalar(0)
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
            out[:split] = self._factor(ramp, np.cos) * self.schedule._scalar(0)
        if split < n:
            self.schedule._fill(out[split:], start + split - self.steps)


@dataclass(frozen=True, repr=False)
class Stretch(Schedule):
    """``stretch(schedule, factor)``: ``schedule(t / factor)`` — the whole curve ``factor`` times
    longer (Composer's scale-schedule ratio is ``1 / factor``)."""

    schedule: Schedule
    factor: int | float
    _name: ClassVar[str] = "stretch"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _schedule("stretch", "schedule", self.schedule)
        self._set("factor", check.positive_length("stretch", "factor", self.factor))

    def _scalar(self, t: float) -> float:
        return self.schedule._scalar(t / self.factor)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.schedule._array(t / self.factor, xp)


@dataclass(frozen=True, repr=False)
class Repeat(Schedule):
    """``repeat(schedule, period, decay=1.0)``: ``decay ** k * schedule(t - k * period)`` in cycle
    ``k = floor(t / period)`` — restart any schedule every ``period`` steps."""

    schedule: Schedule
    period: int
    decay: float = 1.0
    _name: ClassVar[str] = "repeat"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _schedule("repeat", "schedule", self.schedule)
        self._set("period", check.integer("repeat", "period", self.period, minimum=1))
        self._set("decay", check.real("repeat", "decay", self.decay, above=0))

    def _scalar(self, t: float) -> float:
        cycle = t // self.period
        value = self.schedule._scalar(t - cycle * self.period)
        return value if self.decay == 1.0 else power(self.decay, cycle) * value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        cycle = t // self.period
        value = self.schedule._array(t - cycle * self.period, xp)
        return value if self.decay == 1.0 else self.decay**cycle * value

    def _fill(self, out: np.ndarray, start: int) -> None:
        if self.period >= BLOCK // 8:
            # Long cycles: fill each cycle's slice from the inner curve.
            n = out.shape[0]
            position = 0
            while position < n:
                step = start + position
                cycle, offset = divmod(step, self.period)
                end = min(n, position + self.period - offset)
                self.schedule._fill(out[position:end], offset)
                if self.decay != 1.0:
                    out[position:end] *= power(self.decay, cycle)
                position = end
        else:
            super()._fill(out, start)


@dataclass(frozen=True, repr=False)
class Shift(Schedule):
    """``shift(schedule, offset)``: ``schedule(t + offset)`` — start a schedule part-way, e.g. to
    continue a curve from step ``offset``."""

    schedule: Schedule
    offset: int
    _name: ClassVar[str] = "shift"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        _schedule("shift", "schedule", self.schedule)
        self._set("offset", check.integer("shift", "offset", self.offset, minimum=0))

    def _scalar(self, t: float) -> float:
        return self.schedule._scalar(t + self.offset)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.schedule._array(t + self.offset, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        self.schedule._fill(out, start + self.offset)
