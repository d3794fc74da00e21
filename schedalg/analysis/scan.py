"""The curve of a run read in chunks: what ``describe`` and ``check`` compute from it, with the
state carried across chunk borders, so memory stays flat however long the run.

``describe`` reads the curve twice: :func:`totals` (start, end, extremes, non-finite steps,
zero runs, the scale jumps are measured against) and :func:`walk_phases` (jumps, phases, their
trends and sums, the steps near zero and below a fraction of the peak, which need the peak).
Each chunk of the second pass has one step of look-ahead, so a jump at a chunk's last step is
seen there. Sums are compensated (:func:`accurate_sum`) per chunk, or per phase inside a chunk, and
those partial sums added correctly rounded by ``math.fsum``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import MAX_EVENTS

# Steps per chunk; tests set it small to put many borders inside a run.
CHUNK = 1 << 18


def pieces(schedule: Schedule, start: int, stop: int, ahead: int = 0) -> Iterator[tuple[int, Any]]:
    """``(lo, values)`` for consecutive chunks of ``[start, stop)``; ``values`` holds ``ahead``
    more steps where the run has them."""
    for lo in range(start, stop, CHUNK):
        with np.errstate(all="ignore"):
            # NaN and infinite values are reported, not warned about.
            yield lo, schedule.curve(lo, min(lo + CHUNK + ahead, stop))


def fsum(parts: list[float]) -> float:
    """``math.fsum`` of a few partial sums; NaN or infinite as NumPy adds them when they are
    not all finite."""
    try:
        return math.fsum(parts)
    except (OverflowError, ValueError):
        return float(np.sum(np.asarray(parts, dtype=np.float64)))


def accurate_sum(values: Any) -> float:
    """The sum of ``values``, correctly rounded but for sums within about ``2**-106`` of a
    rounding boundary: :func:`sum_parts` added by ``math.fsum``."""
    return fsum(sum_parts(values))


def sum_parts(values: Any) -> list[float]:
    """Floats whose exact sum is that of ``values`` to about ``2**-106`` relative: pairwise
    addition in which the rounding errors of each level (Knuth's TwoSum, exact) are kept and
    summed, as in Ogita, Rump and Oishi's Sum2. Adding the parts with ``math.fsum`` gives a
    sum that does not depend on how the values were split into chunks."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return []
    if not np.isfinite(a).all():
        return [float(np.sum(a))]
    errors: list[float] = []
    with np.errstate(all="ignore"):  # an overflow is caught below
        while a.size > 1:
            odd = a[-1:] if a.size % 2 else a[:0]
            x, y = a[0 : a.size - odd.size : 2], a[1 : a.size : 2]
            total = x + y
            z = total - x
            errors.append(float(np.sum((x - (total - z)) + (y - z))))
            a = np.concatenate([total, odd])
    parts = [float(a[0]), *errors]
    if not all(math.isfinite(p) for p in parts):  # an intermediate overflow
        return [fsum(np.asarray(values, dtype=np.float64).tolist())]
    return parts


@dataclass
class Totals:
    """What the first pass finds."""

    n: int
    start: float = 0.0
    end: float = 0.0
    peak_step: int = 0
    min_step: int = 0
    peak: Any = None  # the finite extremes in the curve's dtype (None: no finite value)
    low: Any = None
    scale: float = 0.0
    nonfinite: int = 0
    zeros: list[tuple[int, int]] = field(default_factory=list)

    def add(self, lo: int, values: Any) -> None:
        finite = np.isfinite(values)
        self.nonfinite += int((~finite).sum())
        if lo == 0:
            self.start = float(values[0])
        if lo + values.shape[0] == self.n:
            self.end = float(values[-1])
        if finite.any():
            high = int(np.argmax(np.where(finite, values, -np.inf)))
            small = int(np.argmin(np.where(finite, values, np.inf)))
            if self.peak is None or values[high] > self.peak:
                self.peak, self.peak_step = values[high], lo + high
            if self.low is None or values[small] < self.low:
                self.low, self.min_step = values[small], lo + small
        self.scale = max(self.scale, float(np.max(np.abs(np.where(finite, values, 0)))))
        self._zeros(lo, values == 0.0)

    def _zeros(self, lo: int, mask: Any) -> None:
        if not mask.any():
            return
        for a, b in runs(mask):
            if self.zeros and self.zeros[-1][1] == lo + a:
                self.zeros[-1] = (self.zeros[-1][0], lo + b)
            elif len(self.zeros) <= MAX_EVENTS:
                self.zeros.append((lo + a, lo + b))


def runs(mask: Any) -> list[tuple[int, int]]:
    """The half-open index ranges where ``mask`` holds."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def totals(schedule: Schedule, n: int) -> Totals:
    found = Totals(n)
    for lo, values in pieces(schedule, 0, n):
        found.add(lo, values)
    found.zeros = found.zeros[:MAX_EVENTS]
    return found


@dataclass
class PhaseState:
    """A phase being read: its first step and label, the values at its ends, the finite
    extremes, the extreme differences of consecutive finite values and the partial sums."""

    start: int
    label: str
    start_value: float
    end_value: float = 0.0
    stop: int = 0
    high: Any = None
    low: Any = None
    magnitude: float = 0.0
    last: Any = None  # the last finite value, for the difference across a border
    rise: Any = None  # the largest and smallest difference of consecutive finite values
    fall: Any = None
    parts: list[float] = field(default_factory=list)

    def add(self, values: Any) -> None:
        self.end_value = float(values[-1])
        self.parts.extend(sum_parts(values))
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return
        high, low = finite.max(), finite.min()
        self.high = high if self.high is None else max(self.high, high)
        self.low = low if self.low is None else min(self.low, low)
        self.magnitude = max(self.magnitude, float(np.max(np.abs(finite))))
        joined = finite if self.last is None else np.concatenate([[self.last], finite])
        self.last = finite[-1]
        if joined.size > 1:
            d = np.diff(joined)
            self.rise = d.max() if self.rise is None else max(self.rise, d.max())
            self.fall = d.min() if self.fall is None else min(self.fall, d.min())

    def trend(self) -> str:
        """The phase's trend: rising, falling, constant, varying or undefined (no finite
        value)."""
        if self.high is None:
            return "undefined"
        span = float(self.high - self.low)
        if span <= 1e-12 * max(self.magnitude, 1e-300):
            return "constant"
        tol = 1e-12 * span
        if self.fall is None or self.fall >= -tol:
            return "rising"
        if self.rise <= tol:
            return "falling"
        return "varying"


@dataclass
class Walk:
    """What the second pass finds."""

    phases: list[PhaseState]
    jumps: list[tuple[int, float, float]]
    low_steps: int
    below: list[int | None]


def _jumps(window: Any, base: int, n: int, lo: int, hi: int, scale: float) -> list[int]:
    """Jumps at steps ``[lo, hi)`` from ``window``, the curve of steps ``[base, ...)``: steps
    where ``|v[t] - v[t-1]|`` stands out from both neighbouring differences."""
    finite = np.where(np.isfinite(window), window, 0.0)
    d = np.abs(np.diff(finite))  # d[k]: the difference into step base + k + 1
    top = base + window.shape[0]
    padded = np.concatenate([[0.0] if base == 0 else [], d, [0.0] if top == n else []])
    first = base + 1 if base == 0 else base + 2  # the step that padded[1] leads into
    neighbours = np.maximum(padded[:-2], padded[2:])
    middle = padded[1:-1]
    big = (middle > 1e-9 * scale) & (middle > 4.0 * neighbours)
    steps = np.flatnonzero(big) + first
    return [int(t) for t in steps if lo <= t < hi]


def _stairs(window: Any, base: int, lo: int, hi: int) -> list[int]:
    """Every change of an integer-valued curve at steps ``[lo, hi)``."""
    steps = np.flatnonzero(np.diff(window)) + base + 1
    return [int(t) for t in steps if lo <= t < hi]


class Walker:
    """The second pass: phases split at the tree's boundaries and at the first ``MAX_EVENTS``
    jumps, with the analytics that need the peak."""

    def __init__(self, found: Totals, labels: dict[int, str], integral: bool, below: list[float]):
        self.found, self.labels, self.integral = found, dict(labels), integral
        self.jumps: list[tuple[int, float, float]] = []  # (step, value before, value at it)
        self.phases: list[PhaseState] = []
        self.tail: Any = None  # the last two steps of the previous chunk
        peak = np.nan if found.peak is None else float(found.peak)
        self.floor = 0.01 * peak
        self.low_steps = 0
        self.fractions = [f * peak for f in below]
        self.below: list[int | None] = [None] * len(below)

    def add(self, lo: int, values: Any) -> None:
        hi = min(lo + CHUNK, self.found.n)
        core = values[: hi - lo]
        if len(self.jumps) < MAX_EVENTS:
            self._find_jumps(lo, hi, values)
        joined = core if self.tail is None else np.concatenate([self.tail, core])
        self.tail = np.array(joined[-2:])  # a copy: the chunk itself is not kept
        self.low_steps += int(np.count_nonzero(core <= self.floor))
        self._below(lo, core)
        cuts = sorted(t for t in self.labels if lo <= t < hi)
        for a, b in zip([lo, *cuts], [*cuts, hi]):
            if a < b:
                self._phase(a, core[a - lo : b - lo])

    def _find_jumps(self, lo: int, hi: int, values: Any) -> None:
        window = values if self.tail is None else np.concatenate([self.tail, values])
        base = lo - (0 if self.tail is None else self.tail.shape[0])
        if self.integral:
            found = _stairs(window, base, lo, hi)
        else:
            found = _jumps(window, base, self.found.n, lo, hi, self.found.scale or 1.0)
        for t in found[: MAX_EVENTS - len(self.jumps)]:
            self.jumps.append((t, float(window[t - 1 - base]), float(window[t - base])))
            self.labels.setdefault(t, "after a jump")

    def _below(self, lo: int, core: Any) -> None:
        peak_step = self.found.peak_step
        if lo + core.shape[0] <= peak_step:
            return
        skip = max(peak_step - lo, 0)
        for i, level in enumerate(self.fractions):
            if self.below[i] is None:
                hits = np.flatnonzero(core[skip:] < level)
                if hits.size:
                    self.below[i] = lo + skip + int(hits[0])

    def _phase(self, a: int, segment: Any) -> None:
        if a in self.labels or not self.phases:
            label = "start" if a == 0 else self.labels[a]
            self.phases.append(PhaseState(a, label, float(segment[0])))
        phase = self.phases[-1]
        phase.add(segment)
        phase.stop = a + segment.shape[0]


def walk_phases(
    schedule: Schedule, found: Totals, labels: dict[int, str], integral: bool, below: list[float]
) -> Walk:
    walker = Walker(found, labels, integral, below)
    for lo, values in pieces(schedule, 0, found.n, ahead=1):
        walker.add(lo, values)
    return Walk(walker.phases, walker.jumps, walker.low_steps, walker.below)
