"""What a picture keeps of a curve read in pieces: a summary per drawn column (the terminal plot)
or per bucket of steps (the image), each the same as the whole array would give.

A terminal column needs the least and greatest finite value of its steps and the last finite one
(the next column joins to it); an image bucket needs its first and last point and its least and
greatest non-NaN values where they first occur. All are exact reductions, the same in any order
of pieces, so a curve streamed in pieces of any size draws the picture of its whole array.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# More points than this are reduced to an envelope before matplotlib sees them: a picture a few
# thousand pixels wide cannot show more, and millions of points make matplotlib slow.
POINTS = 4000


def transform(values: np.ndarray, log: bool) -> np.ndarray:
    """The plotted coordinate: the value, or its log10 (non-positive values are not drawn)."""
    values = np.asarray(values, dtype=np.float64)
    if not log:
        return np.where(np.isfinite(values), values, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(values) & (values > 0), np.log10(values), np.nan)


class Columns:
    """The per-column summary of one series of a terminal plot, filled piece by piece."""

    def __init__(self, edges: list[int], log: bool) -> None:
        self.edges = edges
        self.log = log
        count = len(edges) - 1
        self.lo = [math.nan] * count
        self.hi = [math.nan] * count
        self.last = [math.nan] * count
        self.seen = 0

    def add(self, piece: np.ndarray) -> None:
        """Take in the next piece of the curve (the steps after those seen so far)."""
        coord = transform(np.asarray(piece).reshape(-1), self.log)
        start, stop = self.seen, self.seen + coord.shape[0]
        self.seen = stop
        if start >= min(stop, self.edges[-1]):
            return
        column = int(np.searchsorted(self.edges, start, side="right")) - 1
        while column < len(self.lo) and self.edges[column] < stop:
            part = coord[max(self.edges[column], start) - start : self.edges[column + 1] - start]
            self._merge(column, part[np.isfinite(part)])
            column += 1

    def _merge(self, column: int, finite: np.ndarray) -> None:
        if finite.size == 0:
            return
        lo, hi = float(finite.min()), float(finite.max())
        if not math.isnan(self.lo[column]):
            lo, hi = min(self.lo[column], lo), max(self.hi[column], hi)
        self.lo[column], self.hi[column] = lo, hi
        self.last[column] = float(finite[-1])

    def finish(self, fn: str) -> None:
        """Refuse a series whose pieces did not add up to the plot's steps."""
        if self.seen != self.edges[-1]:
            raise ValueError(
                f"{fn}(): every series needs the same, non-zero number of steps "
                f"(a series has {self.seen}, the plot {self.edges[-1]})"
            )

    def drawable(self) -> bool:
        return any(not math.isnan(lo) for lo in self.lo)

    def low(self) -> float:
        return min(lo for lo in self.lo if not math.isnan(lo))

    def high(self) -> float:
        return max(hi for hi in self.hi if not math.isnan(hi))

    def draw(self, grid: list[list[str]], marker: str, low: float, high: float) -> None:
        """Mark each column's rows from its least to its greatest value, joined with the previous
        column's last value so steep stretches and jumps draw as lines."""
        height = len(grid)

        def row(y: float) -> int:
            return round((y - low) / (high - low) * (height - 1))

        previous = math.nan
        for c, (lo, hi) in enumerate(zip(self.lo, self.hi, strict=True)):
            if math.isnan(lo):
                previous = math.nan
                continue
            if not math.isnan(previous):
                lo, hi = min(lo, previous), max(hi, previous)
            for r in range(row(lo), row(hi) + 1):
                grid[height - 1 - r][c] = marker
            previous = self.last[c]


@dataclass(frozen=True)
class Envelope:
    """The points an image draws of a curve of ``length`` steps: every step when there are at
    most ``POINTS``, else per bucket (of ``POINTS // 4`` equal ones) its first point, its least
    and greatest (non-NaN) values where they first occur and its last point, in step order —
    every peak, jump and plateau stays visible. ``finite``/``positive``: whether any value is
    finite (and positive), which says whether there is anything to draw."""

    steps: np.ndarray
    values: np.ndarray
    length: int
    finite: bool
    positive: bool

    def __len__(self) -> int:
        return self.length

    def drawable(self, log: bool) -> bool:
        return self.positive if log else self.finite


class _Buckets:
    def __init__(self, n: int) -> None:
        self.edges = np.linspace(0, n, POINTS // 4 + 1).astype(np.int64).tolist()
        count = len(self.edges) - 1
        # Per bucket: (value, step) of its least and greatest non-NaN value, its first and last.
        self.low: list[tuple[float, int] | None] = [None] * count
        self.high: list[tuple[float, int] | None] = [None] * count
        self.ends: dict[int, float] = {}
        self.seen = 0

    def add(self, piece: np.ndarray) -> None:
        start, stop = self.seen, self.seen + piece.shape[0]
        self.seen = stop
        bucket = int(np.searchsorted(self.edges, start, side="right")) - 1
        while bucket < len(self.low) and self.edges[bucket] < stop:
            a, b = self.edges[bucket], self.edges[bucket + 1]
            for step in (a, b - 1):
                if start <= step < stop:
                    self.ends[step] = float(piece[step - start])
            lo = max(a, start)
            self._merge(bucket, lo, piece[lo - start : b - start])
            bucket += 1

    def _merge(self, bucket: int, offset: int, part: np.ndarray) -> None:
        if part.size == 0 or np.isnan(part).all():
            return
        i, j = int(np.nanargmin(part)), int(np.nanargmax(part))
        low, high = self.low[bucket], self.high[bucket]
        # Strictly smaller (greater) only: the first step with the extreme value is kept.
        if low is None or part[i] < low[0]:
            self.low[bucket] = (float(part[i]), offset + i)
        if high is None or part[j] > high[0]:
            self.high[bucket] = (float(part[j]), offset + j)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        chosen: dict[int, float] = {}
        for bucket, (a, b) in enumerate(itertools.pairwise(self.edges)):
            picks = {a: self.ends[a], b - 1: self.ends[b - 1]}
            for extreme in (self.low[bucket], self.high[bucket]):
                if extreme is not None:
                    picks[extreme[1]] = extreme[0]
            chosen.update(sorted(picks.items()))
        steps = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
        return steps, np.fromiter(chosen.values(), dtype=np.float64, count=len(chosen))


def envelope(pieces: Iterable[np.ndarray], n: int) -> Envelope:
    """The :class:`Envelope` of the curve of ``n`` steps given in ``pieces`` (in step order)."""
    kept: list[np.ndarray] = []
    buckets = _Buckets(n) if n > POINTS else None
    finite = positive = False
    seen = 0
    for piece in pieces:
        values = np.asarray(piece, dtype=np.float64).reshape(-1)
        seen += values.shape[0]
        if seen > n:
            break
        if not positive:
            good = np.isfinite(values)
            finite = finite or bool(good.any())
            positive = bool((good & (values > 0)).any())
        if buckets is None:
            kept.append(values)
        else:
            buckets.add(values)
    if seen != n:
        raise ValueError(f"save_png(): every series needs {n} steps, a series has {seen}")
    if buckets is None:
        values = np.concatenate(kept) if kept else np.empty(0)
        return Envelope(np.arange(n), values, n, finite, positive)
    steps, values = buckets.points()
    return Envelope(steps, values, n, finite, positive)
