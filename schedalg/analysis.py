"""Describe a schedule over a run, and lint it against the run's length.

``describe(s, steps)`` summarises the curve of steps ``[0, steps)``: start, peak, end, minimum and
maximum with their steps, the phases and their boundaries, jumps and zero values. Boundaries come
from two places: the expression tree (a ``sequence``'s ``at``, the end of a warm-up, a ``clip``'s
interval, a cosine's end, milestones, ...) mapped onto the global clock, and the curve itself
(discontinuities), so a node the tree walk does not know still shows its jumps.

``check(s, total_steps)`` returns structured warnings for the usual mistakes: a warm-up as long as
training, a zero value at step 0, a value that rises again after the schedule's declared end, a
decay that does not finish before training does, NaN / infinite / negative values, and milestones
at or past the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedalg._validate import integer
from schedalg.expression import Schedule
from schedalg.tree import MAX_EVENTS, Mark, events

# Above this many steps a curve no longer fits comfortably in memory (8 bytes per step).
MAX_STEPS = 50_000_000
_SHOWN = 12


@dataclass(frozen=True)
class Phase:
    start: int
    stop: int
    label: str
    start_value: float
    end_value: float
    trend: str  # "rising", "falling", "constant" or "varying"


@dataclass(frozen=True)
class Jump:
    step: int
    before: float
    after: float


@dataclass(frozen=True)
class Description:
    """What ``describe`` found; ``str()`` gives a readable report."""

    expression: str
    steps: int
    start: float
    end: float
    peak_step: int
    peak: float
    min_step: int
    min: float
    phases: tuple[Phase, ...]
    boundaries: tuple[Mark, ...]
    discontinuities: tuple[Jump, ...]
    zeros: tuple[tuple[int, int], ...]  # half-open step ranges where the value is exactly 0
    nonfinite: int

    def __str__(self) -> str:
        lines = [f"{self.expression}", f"over {self.steps} steps [0, {self.steps}):"]
        lines.append(f"  start  {_num(self.start)}  at step 0")
        lines.append(f"  end    {_num(self.end)}  at step {self.steps - 1}")
        lines.append(f"  max    {_num(self.peak)}  at step {self.peak_step}")
        lines.append(f"  min    {_num(self.min)}  at step {self.min_step}")
        if self.nonfinite:
            lines.append(f"  NaN or infinite values at {self.nonfinite} steps")
        lines.append("phases:")
        width = len(f"[{self.steps}, {self.steps})")
        for phase in self.phases[: _SHOWN * 2]:
            span = f"[{phase.start}, {phase.stop})".ljust(width)
            lines.append(
                f"  {span}  {phase.label:<22} {_num(phase.start_value)} -> "
                f"{_num(phase.end_value)}  {phase.trend}"
            )
        if len(self.phases) > _SHOWN * 2:
            lines.append(f"  ... {len(self.phases) - _SHOWN * 2} more phases")
        lines.append(
            "discontinuities: "
            + _listing(
                [f"{j.step} ({_num(j.before)} -> {_num(j.after)})" for j in self.discontinuities]
            )
        )
        lines.append(
            "zero values: "
            + _listing([f"{a}" if b == a + 1 else f"[{a}, {b})" for a, b in self.zeros])
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckWarning:
    """One finding of ``check``: a stable ``code``, a readable ``message`` and the step it is
    about (``None`` if it concerns the whole run)."""

    code: str
    message: str
    step: int | None = None

    def __str__(self) -> str:
        return self.message


def _num(value: float) -> str:
    return f"{value:.6g}"


def _listing(items: list[str]) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:_SHOWN])
    return shown + (f", ... ({len(items) - _SHOWN} more)" if len(items) > _SHOWN else "")


def _check_steps(fn: str, name: str, value: Any) -> int:
    integer(fn, name, value, minimum=1, wrong_type=ValueError)
    if value > MAX_STEPS:
        raise ValueError(f"{fn}(): {name} must be at most {MAX_STEPS}, got {value!r}")
    return int(value)


# -- describe --------------------------------------------------------------------------------------


def _jumps(values: np.ndarray) -> list[int]:
    """Steps ``t`` where ``v[t] - v[t-1]`` stands out from both neighbouring differences: a jump
    rather than a steep but smooth stretch."""
    if values.shape[0] < 2:
        return []
    finite = np.where(np.isfinite(values), values, 0.0)
    d = np.abs(np.diff(finite))
    scale = float(np.max(np.abs(finite))) or 1.0
    padded = np.concatenate([[0.0], d, [0.0]])
    neighbours = np.maximum(padded[:-2], padded[2:])
    big = (d > 1e-9 * scale) & (d > 4.0 * neighbours)
    return [int(i) + 1 for i in np.flatnonzero(big)]


def _trend(segment: np.ndarray) -> str:
    finite = segment[np.isfinite(segment)]
    if finite.size == 0:
        return "undefined"
    span = float(finite.max() - finite.min())
    if span <= 1e-12 * max(float(np.max(np.abs(finite))), 1e-300):
        return "constant"
    d = np.diff(finite)
    tol = 1e-12 * span
    if np.all(d >= -tol):
        return "rising"
    if np.all(d <= tol):
        return "falling"
    return "varying"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def _phases(values: np.ndarray, tree: list[Mark], jumps: list[int]) -> list[Phase]:
    """Split at every tree boundary and every jump the tree did not explain."""
    labels: dict[int, str] = {}
    for event in tree:
        labels.setdefault(event.step, event.label)
    # Both lists are capped separately, so a staircase's many jumps never push a boundary of
    # the tree out of the phases.
    for step in jumps[:MAX_EVENTS]:
        labels.setdefault(step, "after a jump")
    phases = []
    bounds = [0, *sorted(labels), values.shape[0]]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if a < b:
            segment = values[a:b]
            label = "start" if i == 0 else labels[a]
            start, end = float(segment[0]), float(segment[-1])
            phases.append(Phase(a, b, label, start, end, _trend(segment)))
    return phases


def describe(schedule: Schedule, steps: int) -> Description:
    """A summary of ``schedule`` over steps ``[0, steps)``; ``print()`` it for a report."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"describe(): schedule must be a Schedule, got {schedule!r}")
    n = _check_steps("describe", "steps", steps)
    with np.errstate(all="ignore"):
        # NaN and infinite values are reported in the description, not warned about.
        values = schedule.curve(n)
    tree = [e for e in events(schedule, n) if 0 < e.step < n]
    jumps = _jumps(values)
    finite = np.isfinite(values)
    safe_max = np.where(finite, values, -np.inf)
    safe_min = np.where(finite, values, np.inf)
    peak_step = int(np.argmax(safe_max)) if finite.any() else 0
    min_step = int(np.argmin(safe_min)) if finite.any() else 0

    phases = _phases(values, tree, jumps)
    return Description(
        expression=repr(schedule),
        steps=n,
        start=float(values[0]),
        end=float(values[-1]),
        peak_step=peak_step,
        peak=float(values[peak_step]),
        min_step=min_step,
        min=float(values[min_step]),
        phases=tuple(phases),
        boundaries=tuple(tree),
        discontinuities=tuple(
            Jump(t, float(values[t - 1]), float(values[t])) for t in jumps[:MAX_EVENTS]
        ),
        zeros=tuple(_runs(values == 0.0)[:MAX_EVENTS]),
        nonfinite=int((~finite).sum()),
    )


# -- check ---------------------------------------------------------------------------------------


def _tree_rules(values: np.ndarray, tree: list[Mark], n: int) -> Iterator[CheckWarning]:
    for event in tree:
        if event.kind == "warmup_end" and event.step >= n:
            yield CheckWarning(
                "warmup-too-long",
                f"the warm-up ends at step {event.step}, at or after the end of training "
                f"({n} steps): the value never reaches its peak",
                event.step,
            )
        elif event.kind == "milestone" and event.step >= n:
            yield CheckWarning(
                "milestone-past-end",
                f"a {event.label} at step {event.step} is at or past the end of training "
                f"({n} steps) and never takes effect",
                event.step,
            )


def _zero_at_start(values: np.ndarray, tree: list[Mark], n: int) -> Iterator[CheckWarning]:
    if values[0] == 0.0:
        yield CheckWarning(
            "zero-at-start",
            "the value at step 0 is 0: the first update does nothing (warm-up start=0?); "
            "consider a small non-zero start",
            0,
        )


def _bad_values(values: np.ndarray, tree: list[Mark], n: int) -> Iterator[CheckWarning]:
    nan = np.flatnonzero(np.isnan(values))
    if nan.size:
        first = int(nan[0])
        yield CheckWarning("nan", f"NaN values from step {first} ({nan.size} steps)", first)
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        first = int(infinite[0])
        yield CheckWarning(
            "infinite", f"infinite values from step {first} ({infinite.size} steps)", first
        )
    negative = np.flatnonzero(values < 0)
    if negative.size:
        first = int(negative[0])
        yield CheckWarning(
            "negative",
            f"negative values from step {first} ({negative.size} steps), "
            f"first {_num(float(values[first]))}",
            first,
        )


def _declared_end(values: np.ndarray, tree: list[Mark], n: int) -> Iterator[CheckWarning]:
    """The last step where a decaying piece stops changing, against the run's end."""
    ends = [e.step for e in tree if e.kind == "end"]
    if not ends:
        return
    last_end = max(ends)
    if last_end > n:
        yield CheckWarning(
            "decay-unfinished",
            f"the decay ends at step {last_end}, after training ends ({n} steps): the last "
            f"value is {_num(float(values[-1]))}, not the intended final value",
            last_end,
        )
    if last_end >= n - 1:
        return
    settled = float(values[last_end])
    after = values[last_end + 1 :]
    margin = 1e-9 * max(abs(settled), 1e-12)
    rise = np.flatnonzero(np.isfinite(after) & (after > settled + margin))
    if rise.size:
        step = last_end + 1 + int(rise[0])
        yield CheckWarning(
            "rises-after-end",
            f"the value rises after step {last_end}, where the schedule's decay ends: "
            f"{_num(settled)} there, {_num(float(values[step]))} at step {step} "
            f"(a periodic cosine or a length shorter than training?)",
            step,
        )


# The rules of ``check``, in the order their findings are listed; each looks at the curve, the
# expression's events on the global clock and the run's length.
RULES = (_tree_rules, _zero_at_start, _bad_values, _declared_end)


def check(schedule: Schedule, total_steps: int) -> list[CheckWarning]:
    """Lint ``schedule`` for a run of ``total_steps`` optimizer updates (steps
    ``[0, total_steps)``). An empty list means nothing suspicious was found."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"check(): schedule must be a Schedule, got {schedule!r}")
    n = _check_steps("check", "total_steps", total_steps)
    with np.errstate(all="ignore"):
        # NaN and infinite values are what check reports; NumPy need not warn about them too.
        values = schedule.curve(n)
    tree = events(schedule, n)
    return [warning for rule in RULES for warning in rule(values, tree, n)]
