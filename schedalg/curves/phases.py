"""Curves made of phases: HF's warm-up/stable/decay and piecewise interpolation through points.

Both select a phase per step (``bisect`` for one step, ``select`` on arrays) and write each
phase's formula once.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Event, param
from schedalg.engine.backends import Evaluate, select

_WSD_WARMUP = ("linear", "cosine", "1-sqrt")
_WSD_DECAY = ("linear", "cosine", "1-sqrt")


class warmup_stable_decay(Schedule):
    """``warmup_stable_decay(warmup, stable, decay, end=0.0, warmup_shape='linear',
    decay_shape='cosine')``: HF's WSD schedule.

    Warm-up ``p = t / warmup``: ``linear p``, ``cosine (1 - cos(pi p)) / 2``, ``1-sqrt
    1 - sqrt(1 - p)``; stable: 1; decay ``p = (t - warmup - stable) / decay``: ``linear 1 - p``,
    ``cosine (1 + cos(pi p)) / 2``, ``1-sqrt 1 - sqrt(p)``; each phase value ``v`` is mapped to
    ``v * (1 - end) + end``, and ``end`` holds after the decay.

    >>> from schedalg import warmup_stable_decay
    >>> s = warmup_stable_decay(10, 80, 10)
    >>> s(5), s(50), s(95)
    (0.5, 1.0, 0.5)
    """

    warmup: int = param(check.an_integer(minimum=0))
    stable: int = param(check.an_integer(minimum=0))
    decay: int = param(check.an_integer(minimum=1))
    end: float = param(check.a_number(), default=0.0)
    warmup_shape: str = param(check.one_of(*_WSD_WARMUP), default="linear")
    decay_shape: str = param(check.one_of(*_WSD_DECAY), default="cosine")

    def events(self) -> Iterator[Event]:
        if self.warmup:
            yield Event(self.warmup, "warmup_end", "after warm-up")
        if self.stable:
            yield Event(self.warmup + self.stable, "boundary", "decay begins")
        yield Event(self.warmup + self.stable + self.decay, "end", "decay ends")

    def _ramp(self, p: Any, cos: Any, sqrt: Any) -> Any:
        if self.warmup_shape == "linear":
            return p
        if self.warmup_shape == "cosine":
            return 0.5 * (1.0 - cos(math.pi * p))
        return 1.0 - sqrt(1.0 - p)

    def _fall(self, p: Any, cos: Any, sqrt: Any) -> Any:
        if self.decay_shape == "linear":
            return 1.0 - p
        if self.decay_shape == "cosine":
            return 0.5 * (1.0 + cos(math.pi * p))
        return 1.0 - sqrt(p)

    def _scalar(self, t: float) -> float:
        decay_start = self.warmup + self.stable
        if t < self.warmup:
            value = self._ramp(t / self.warmup, math.cos, math.sqrt)
        elif t < decay_start:
            return 1.0
        elif t < decay_start + self.decay:
            value = self._fall((t - decay_start) / self.decay, math.cos, math.sqrt)
        else:
            return self.end
        return value * (1.0 - self.end) + self.end

    def _array(self, t: Any, xp: Any) -> Any:
        decay_start = self.warmup + self.stable

        def ramp(local: Any, xp: Any) -> Any:
            return self._ramp(local / self.warmup, xp.cos, xp.sqrt) * (1.0 - self.end) + self.end

        def fall(local: Any, xp: Any) -> Any:
            return self._fall(local / self.decay, xp.cos, xp.sqrt) * (1.0 - self.end) + self.end

        def one(local: Any, xp: Any) -> Any:
            return xp.ones_like(local)

        def hold(local: Any, xp: Any) -> Any:
            return xp.full_like(local, self.end)

        edges: list[float] = []
        pieces: list[Evaluate] = []
        if self.warmup:
            edges.append(float(self.warmup))
            pieces.append(ramp)
        if self.stable:
            edges.append(float(decay_start))
            pieces.append(one)
        edges.append(float(decay_start + self.decay))
        pieces.extend([fall, hold])
        return select(t, xp, tuple(edges), pieces)


_INTERPOLATIONS = ("linear", "cosine", "step")


def _point(fn: str, name: str, point: Any) -> tuple[int, float]:
    if isinstance(point, (str, bytes)) or not hasattr(point, "__len__") or len(point) != 2:
        raise TypeError(f"{fn}(): {name} must be (step, value) pairs, got {point!r}")
    step = check.integer(fn, "a point's step", point[0], minimum=0)
    return step, check.real(fn, "a point's value", point[1])


def _points(fn: str, name: str, points: Any) -> tuple[tuple[int, float], ...]:
    if isinstance(points, (str, bytes)) or not hasattr(points, "__iter__"):
        raise TypeError(f"{fn}(): {name} must be a list of (step, value) pairs, got {points!r}")
    normalized = tuple(_point(fn, name, point) for point in points)
    steps = [p[0] for p in normalized]
    if not normalized or steps[0] != 0 or any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(
            f"{fn}(): {name} must start at step 0 with strictly increasing steps, "
            f"got {[list(p) for p in normalized]!r}"
        )
    return normalized


class piecewise(Schedule):
    """``piecewise(points, interpolation='linear')``: through ``points = [(t0, v0), (t1, v1), ...]``
    with ``t0 = 0``; held at the last value after the last point.

    Between ``(a, va)`` and ``(b, vb)``, with ``p = (t - a) / (b - a)``:
    ``linear (vb - va) * p + va``,
    ``cosine vb + (va - vb) / 2 * (cos(pi p) + 1)`` (optax's ``piecewise_interpolate_schedule``
    forms), ``step va``.

    >>> from schedalg import piecewise
    >>> s = piecewise([(0, 1.0), (10, 0.0)])
    >>> s(5), s(20)
    (0.5, 0.0)
    """

    points: tuple[tuple[int, float], ...] = param(_points)
    interpolation: str = param(check.one_of(*_INTERPOLATIONS), default="linear")

    def __repr__(self) -> str:
        points = "[" + ", ".join(f"({s!r}, {v!r})" for s, v in self.points) + "]"
        if self.interpolation == "linear":
            return f"piecewise({points})"
        return f"piecewise({points}, interpolation={self.interpolation!r})"

    def events(self) -> Iterator[Event]:
        for step, _value in self.points[1:-1]:
            yield Event(step, "boundary", "piecewise point")
        if len(self.points) > 1:
            yield Event(self.points[-1][0], "end", "piecewise ends")

    def _segment(self, start_value: float, end_value: float, p: Any, cos: Any) -> Any:
        if self.interpolation == "linear":
            return (end_value - start_value) * p + start_value
        if self.interpolation == "cosine":
            return end_value + (start_value - end_value) / 2 * (cos(math.pi * p) + 1)
        return start_value + 0.0 * p

    def _piece(self, start_value: float, end_value: float, span: int) -> Evaluate:
        def piece(local: Any, xp: Any) -> Any:
            return self._segment(start_value, end_value, local / span, xp.cos)

        return piece

    def _scalar(self, t: float) -> float:
        steps = [s for s, _ in self.points]
        i = bisect.bisect_right(steps, t) - 1
        if i == len(self.points) - 1:
            return self.points[-1][1]
        (a, va), (b, vb) = self.points[i], self.points[i + 1]
        return self._segment(va, vb, (t - a) / (b - a), math.cos)

    def _array(self, t: Any, xp: Any) -> Any:
        pieces: list[Evaluate] = []
        for (a, va), (b, vb) in itertools.pairwise(self.points):
            pieces.append(self._piece(va, vb, b - a))
        last = self.points[-1][1]
        pieces.append(lambda local, xp: xp.full_like(local, last))
        return select(t, xp, tuple(float(s) for s, _ in self.points[1:]), pieces)
