"""Where two schedules part: ``diff(a, b, steps)`` and the first difference of a prefix.

Both curves are evaluated as NumPy curves in blocks (``Schedule.chunks``), so a run of
``10**8`` steps takes the memory of one block, not of the run. Values are compared as the
adapter would write them: equal floats are the same value (``0.0 == -0.0``), two NaNs at the
same step are the same, and anything else is a difference. Plateau nodes are held at their
initial value, as in ``describe``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.analysis.description import step_driven
from schedalg.core import validators as check

__all__ = ["CHUNK", "MAX_PHASES", "Difference", "diff", "first_difference"]

# Steps per block of the streamed comparison, and the most phases a result lists.
CHUNK = 1 << 20
MAX_PHASES = 100


@dataclass(frozen=True)
class Difference:
    """How ``a`` and ``b`` differ over steps ``[0, steps)``.

    - ``first``: the first step where they differ (``None`` when identical), with
      ``first_values``, the two values there;
    - ``largest_absolute``: ``(|a - b|, step)`` at its largest (first such step);
    - ``largest_relative``: ``(|a - b| / max(|a|, |b|), step)`` at its largest;
    - ``phases``: the ranges ``(start, stop)`` of consecutive differing steps (at most
      ``MAX_PHASES``; ``phase_count`` counts them all).

    ``bool(result)`` is True when they differ; ``str(result)`` is a short report.
    """

    a: str
    b: str
    steps: int
    first: int | None
    first_values: tuple[float, float] | None
    largest_absolute: tuple[float, int | None]
    largest_relative: tuple[float, int | None]
    phases: tuple[tuple[int, int], ...]
    phase_count: int
    notes: tuple[str, ...] = field(default=())

    @property
    def identical(self) -> bool:
        return self.first is None

    def __bool__(self) -> bool:
        return not self.identical

    def __str__(self) -> str:
        span = f"over {self.steps} steps [0, {self.steps})"
        lines = [f"a: {self.a}", f"b: {self.b}"]
        if self.first is None or self.first_values is None:
            lines.append(f"identical {span}")
        else:
            va, vb = self.first_values
            lines.append(f"differ {span}: first at step {self.first} (a {va:.6g}, b {vb:.6g})")
            value, step = self.largest_absolute
            lines.append(f"  largest absolute difference {value:.6g} at step {step}")
            value, step = self.largest_relative
            lines.append(f"  largest relative difference {value:.6g} at step {step}")
            shown = [f"[{lo}, {hi})" for lo, hi in self.phases]
            more = self.phase_count - len(self.phases)
            tail = f" and {more} more" if more else ""
            lines.append(f"  differ on {', '.join(shown)}{tail}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def _differing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


def _blocks(a: Schedule, b: Schedule, start: int, stop: int) -> Iterator[tuple[int, Any, Any]]:
    with np.errstate(all="ignore"):
        for lo in range(start, stop, CHUNK):
            hi = min(lo + CHUNK, stop)
            yield lo, a.curve(lo, hi), b.curve(lo, hi)


def first_difference(a: Schedule, b: Schedule, stop: int) -> tuple[int, float, float] | None:
    """The first step in ``[0, stop)`` where ``a`` and ``b`` differ, with both values; None when
    they agree on every step. Stops at the first differing block."""
    for lo, va, vb in _blocks(a, b, 0, stop):
        where = np.flatnonzero(_differing(va, vb))
        if where.size:
            i = int(where[0])
            return lo + i, float(va[i]), float(vb[i])
    return None


class _Tally:
    """The running totals of a streamed comparison."""

    def __init__(self) -> None:
        self.first: tuple[int, float, float] | None = None
        self.absolute: tuple[float, int | None] = (0.0, None)
        self.relative: tuple[float, int | None] = (0.0, None)
        self.phases: list[tuple[int, int]] = []
        self.count = 0
        self.open_at: int | None = None  # the start of a phase still running at a block's end

    def add(self, lo: int, va: np.ndarray, vb: np.ndarray) -> None:
        mask = _differing(va, vb)
        where = np.flatnonzero(mask)
        if where.size and self.first is None:
            i = int(where[0])
            self.first = (lo + i, float(va[i]), float(vb[i]))
        if where.size:
            absolute = np.where(mask, np.abs(va - vb), 0.0)
            scale = np.maximum(np.abs(va), np.abs(vb))
            relative = np.where(mask, absolute / np.where(scale > 0, scale, 1.0), 0.0)
            # A NaN against a number (or inf against a finite value) is as far as values go.
            absolute = np.where(mask & ~np.isfinite(absolute), np.inf, absolute)
            relative = np.where(mask & ~np.isfinite(relative), np.inf, relative)
            self.absolute = _larger(self.absolute, absolute, lo)
            self.relative = _larger(self.relative, relative, lo)
        self._runs(lo, mask)

    def _runs(self, lo: int, mask: np.ndarray) -> None:
        edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
        runs = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
        carried, self.open_at = self.open_at, None
        if carried is not None and not (runs and runs[0][0] == 0):
            self._close(carried, lo)  # the phase ended exactly at the block boundary
            carried = None
        for begin, end in runs:
            start = carried if carried is not None and begin == 0 else lo + begin
            if end == mask.shape[0]:
                self.open_at = start  # may go on in the next block
            else:
                self._close(start, lo + end)

    def _close(self, begin: int, end: int) -> None:
        self.count += 1
        if len(self.phases) < MAX_PHASES:
            self.phases.append((begin, end))

    def finish(self, stop: int) -> None:
        if self.open_at is not None:
            self._close(self.open_at, stop)
            self.open_at = None


def _larger(
    best: tuple[float, int | None], values: np.ndarray, lo: int
) -> tuple[float, int | None]:
    i = int(np.argmax(values))
    value = float(values[i])
    return (value, lo + i) if best[1] is None or value > best[0] else best


def diff(a: Schedule, b: Schedule, steps: int) -> Difference:
    """``diff(a, b, steps)``: where ``a`` and ``b`` differ over steps ``[0, steps)`` — the first
    step, the largest absolute and relative differences and where, and the phases.

    >>> from schedalg import constant, cosine, diff, sequence
    >>> d = diff(cosine(100), sequence(cosine(100), constant(0.5), at=[60]), 100)
    >>> d.first, d.phases
    (60, ((60, 100),))
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, Schedule):
            raise TypeError(f"diff(): {name} must be a Schedule, got {value!r}")
    n = check.integer("diff", "steps", steps, minimum=1, wrong_type=ValueError)
    driven_a, notes_a = step_driven(a)
    driven_b, notes_b = step_driven(b)
    tally = _Tally()
    for lo, va, vb in _blocks(driven_a, driven_b, 0, n):
        tally.add(lo, va, vb)
    tally.finish(n)
    first = tally.first
    return Difference(
        a=repr(a),
        b=repr(b),
        steps=n,
        first=None if first is None else first[0],
        first_values=None if first is None else (first[1], first[2]),
        largest_absolute=tally.absolute,
        largest_relative=tally.relative,
        phases=tuple(tally.phases),
        phase_count=tally.count,
        notes=tuple(dict.fromkeys((*notes_a, *notes_b))),
    )
