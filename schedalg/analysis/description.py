"""``describe(s, steps)``: a summary of a schedule's curve over a run.

It reports the start, peak, end, minimum and maximum with their steps, the phases and their
boundaries, jumps and zero values. Boundaries come from two places: the expression tree (a
``sequence``'s ``at``, the end of a warm-up, a ``clip``'s interval, a cosine's end, milestones,
...) mapped onto the global clock, and the curve itself (discontinuities), so a node the tree
walk does not know still shows its jumps. A run of equal-length constant phases is one phase,
a staircase ("per-epoch staircase, 12 steps of x0.9"). An expression holding ``plateau`` nodes
is shown with each plateau held at its initial value (what it is until a metric is reported),
and the report says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedalg.algebra.combinators import per_epoch
from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import Mark, events, nodes
from schedalg.analysis import scan
from schedalg.core.validators import integer
from schedalg.curves.clocks import resolve_clock
from schedalg.curves.integers import is_integral
from schedalg.curves.metric import bind, plateaus

# Above this many steps a whole curve no longer fits comfortably in memory (8 bytes per step):
# the limit of ``plot`` and ``export``.
MAX_STEPS = 50_000_000
# ``describe`` and ``check`` read the curve in chunks, so memory is no limit; this one keeps a
# run to what they read in under an hour (describe: about 20 s per 10**8 steps).
MAX_STREAMED_STEPS = 10**10
_SHOWN = 12
# At least this many equal constant steps in a row are summarised as one staircase phase.
_STAIRCASE = 4
PLATEAU_NOTE = (
    "plateau held at its initial value: shown is the step-driven part; reported metrics "
    "change it in training"
)


def step_driven(schedule: Schedule) -> tuple[Schedule, tuple[str, ...]]:
    """``schedule`` with every ``plateau`` held at its initial value, and the note saying so
    (none when it holds no plateau)."""
    found = plateaus(schedule)
    if not found:
        return schedule, ()
    return bind(schedule, [p.initial() for p in found]), (PLATEAU_NOTE,)


@dataclass(frozen=True)
class Phase:
    start: int
    stop: int
    label: str
    start_value: float
    end_value: float
    trend: str  # "rising", "falling", "constant" or "varying"
    area: float = 0.0  # the sum of the values over the phase's steps


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
    notes: tuple[str, ...] = ()  # what the report shows differently from training
    integral: bool = False  # an integer-valued schedule: values shown as integers
    clock: str = ""  # the unit of a second clock shown beside the steps ("tokens")
    clock_at: tuple[int, ...] = ()  # that clock at each phase's start, then at ``steps``
    area: float = 0.0  # the sum of the values over the run: the area under the curve
    low_steps: int = 0  # the steps at or below 1% of the peak
    # (fraction, the first step at or after the peak below that fraction of it, or None)
    below: tuple[tuple[float, int | None], ...] = ()

    def _on_clock(self, i: int) -> str:
        if not self.clock_at:
            return ""
        return f"  {self.clock} [{self.clock_at[i]}, {self.clock_at[i + 1]})"

    def _analytics(self) -> list[str]:
        share = 100 * self.low_steps / self.steps
        lines = [
            f"  area   {_number(self.area)}  (the sum of the values over the steps)",
            f"  low    {share:.3g}% of the steps at or below 1% of the peak",
        ]
        for fraction, step in self.below:
            where = "never" if step is None else f"from step {step}"
            lines.append(f"  below  {fraction:.3g} x the peak {where} (after the peak)")
        return lines

    def __str__(self) -> str:
        _num = _integer if self.integral else _number
        lines = [f"{self.expression}", f"over {self.steps} steps [0, {self.steps}):"]
        if self.clock_at:
            lines[-1] = (
                f"over {self.steps} steps [0, {self.steps}) = {self.clock_at[-1]} {self.clock}:"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append(f"  start  {_num(self.start)}  at step 0")
        lines.append(f"  end    {_num(self.end)}  at step {self.steps - 1}")
        lines.append(f"  max    {_num(self.peak)}  at step {self.peak_step}")
        lines.append(f"  min    {_num(self.min)}  at step {self.min_step}")
        if self.nonfinite:
            lines.append(f"  NaN or infinite values at {self.nonfinite} steps")
        lines.extend(self._analytics())
        lines.append("phases:")
        width = len(f"[{self.steps}, {self.steps})")
        for i, phase in enumerate(self.phases[: _SHOWN * 2]):
            span = f"[{phase.start}, {phase.stop})".ljust(width)
            lines.append(
                f"  {span}  {phase.label:<22} "
                f"{_num(phase.start_value)} -> "
                f"{_num(phase.end_value)}  {phase.trend}  area {_number(phase.area)}"
                f"{self._on_clock(i)}"
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


def _number(value: float) -> str:
    return f"{value:.6g}"


def _integer(value: float) -> str:
    return str(int(value)) if np.isfinite(value) else _number(value)


def _listing(items: list[str]) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:_SHOWN])
    return shown + (f", ... ({len(items) - _SHOWN} more)" if len(items) > _SHOWN else "")


def check_steps(fn: str, name: str, value: Any) -> int:
    integer(fn, name, value, minimum=1, wrong_type=ValueError)
    if value > MAX_STREAMED_STEPS:
        raise ValueError(f"{fn}(): {name} must be at most {MAX_STREAMED_STEPS}, got {value!r}")
    return int(value)


# -- describe --------------------------------------------------------------------------------------


def _fractions(below: Any) -> list[float]:
    fractions = [below] if isinstance(below, (int, float)) else list(below)
    for f in fractions:
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise ValueError(
                f"describe(): below must be a fraction of the peak in (0, 1] or a sequence of "
                f"them, got {below!r}"
            )
    return [float(f) for f in fractions]


def describe(schedule: Schedule, steps: int, *, clock: Any = None, below: Any = ()) -> Description:
    """A summary of ``schedule`` over steps ``[0, steps)``; ``print()`` it for a report.

    ``clock='tokens'`` (or ``'samples'``, or a clock schedule such as ``consumed(2048)``) shows
    each phase also on that clock: the tokens seen at its start and end. ``below=0.1`` (or a
    sequence of fractions) finds the first step at or after the peak where the value is below
    that fraction of the peak. The curve is read in chunks, so memory does not grow with
    ``steps``."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"describe(): schedule must be a Schedule, got {schedule!r}")
    n = check_steps("describe", "steps", steps)
    fractions = _fractions(below)
    second = resolve_clock("describe", schedule, clock)
    driven, notes = step_driven(schedule)
    tree = [e for e in events(driven, n) if 0 < e.step < n]
    integral = is_integral(schedule)
    found = scan.totals(driven, n)
    labels: dict[int, str] = {}
    for event in tree:
        labels.setdefault(event.step, event.label)
    walk = scan.walk_phases(driven, found, labels, integral, fractions)
    read = [
        Phase(p.start, p.stop, p.label, p.start_value, p.end_value, p.trend(), _area(p.parts))
        for p in walk.phases
    ]
    phases = _staircases(read, _epoch_lengths(driven), integral)
    clock_at: tuple[int, ...] = ()
    if second is not None:
        clock_at = (*(int(second(p.start)) for p in phases), int(second(n)))
    return Description(
        expression=repr(schedule),
        steps=n,
        start=found.start,
        end=found.end,
        peak_step=found.peak_step,
        peak=found.start if found.peak is None else float(found.peak),
        min_step=found.min_step,
        min=found.start if found.low is None else float(found.low),
        phases=tuple(phases),
        boundaries=tuple(tree),
        discontinuities=tuple(Jump(*jump) for jump in walk.jumps),
        zeros=tuple(found.zeros),
        nonfinite=found.nonfinite,
        notes=notes,
        integral=integral,
        clock="" if second is None else getattr(second, "unit", "clock"),
        clock_at=clock_at,
        area=_area([part for p in walk.phases for part in p.parts]),
        low_steps=walk.low_steps,
        below=tuple(zip(fractions, walk.below)),
    )


def _area(parts: list[float]) -> float:
    return scan.fsum(parts)


def _epoch_lengths(schedule: Schedule) -> set[int]:
    return {int(n.epoch_length) for n in nodes(schedule) if isinstance(n, per_epoch)}


def _is_step(phases: list[Phase], j: int, width: int | None, first: int) -> bool:
    """Whether phase ``j`` continues a staircase of constant steps ``width`` wide (any width
    for ``None``: the stairs of an integer-valued schedule)."""
    phase = phases[j]
    if phase.trend != "constant" or width not in (None, phase.stop - phase.start):
        return False
    return j == first or phase.start_value != phases[j - 1].end_value


def _staircases(phases: list[Phase], epochs: set[int], integral: bool = False) -> list[Phase]:
    """Runs of at least ``_STAIRCASE`` constant phases of one width (of any widths for an
    integer-valued schedule), each a different value (the last may be cut short by the run's
    end), as one phase each."""
    result: list[Phase] = []
    i = 0
    while i < len(phases):
        width = None if integral else phases[i].stop - phases[i].start
        j = i
        while j < len(phases) and _is_step(phases, j, width, i):
            j += 1
        if j - i >= _STAIRCASE - 1 and j < len(phases) and phases[j].stop == phases[-1].stop:
            last = phases[j]
            j += last.trend == "constant" and last.start_value != phases[j - 1].end_value
        if j - i >= _STAIRCASE:
            result.append(_staircase(phases[i:j], width, epochs))
            i = j
        else:
            result.append(phases[i])
            i += 1
    return result


def _staircase(run: list[Phase], width: int | None, epochs: set[int]) -> Phase:
    values = [p.start_value for p in run]
    pairs = list(itertools.pairwise(values))
    size = ""
    if width is None:
        differences = {b - a for a, b in pairs}
        size = f" of {int(differences.pop()):+d}" if len(differences) == 1 else ""
        return Phase(
            run[0].start,
            run[-1].stop,
            f"integer staircase, {len(run) - 1} steps{size}",
            values[0],
            run[-1].end_value,
            "rising" if all(b > a for a, b in pairs) else _falling_or_varying(pairs),
            _area([p.area for p in run]),
        )
    if all(a != 0 and np.isfinite(a) and np.isfinite(b) for a, b in pairs):
        ratios = [b / a for a, b in pairs]
        if all(abs(r - ratios[0]) <= 1e-9 * abs(ratios[0]) for r in ratios):
            size = f" of x{ratios[0]:.6g}"
    kind = "per-epoch staircase" if width in epochs else f"staircase every {width} steps"
    trend = "varying"
    if all(b < a for a, b in pairs):
        trend = "falling"
    elif all(b > a for a, b in pairs):
        trend = "rising"
    label = f"{kind}, {len(run) - 1} steps{size}"
    area = _area([p.area for p in run])
    return Phase(run[0].start, run[-1].stop, label, values[0], run[-1].end_value, trend, area)


def _falling_or_varying(pairs: list[tuple[float, float]]) -> str:
    return "falling" if all(b < a for a, b in pairs) else "varying"
