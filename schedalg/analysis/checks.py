"""Lint a schedule against the run's length: ``check(s, total_steps)``, and ``describe``.

``check`` returns structured warnings for the usual mistakes. It is a table of rules
(``RULES``), each a function of the :class:`Run` (the expression, its curve, its events on the
global clock, the run's length) yielding :class:`CheckWarning` s with a stable ``code``:

- ``warmup-too-long``: a warm-up ending at or after the end of training;
- ``warmup-long``: a warm-up longer than ``warmup_share`` of the run (default a quarter);
- ``warmup-shifts-milestones``: milestones of a schedule inside a (default, non-overlay)
  ``warmup`` fall ``steps`` later than written, since the inner clock starts after the warm-up;
- ``milestone-past-end``: a milestone at or past the end, which never takes effect;
- ``epoch-milestones``: every milestone within the first 1% of a run of 1000 steps or more,
  the sign of epochs read as steps (``multistep([8, 11], 0.1)`` over 6000 steps);
- ``zero-at-start``; ``nan``, ``infinite``, ``negative`` values;
- ``decay-unfinished``: a decay still running when training ends;
- ``decay-ends-early``: a decay ending in the first tenth of the run, the value held after it
  (``cosine(100)`` over 10,000 steps);
- ``rises-after-end``: a value rising again after the schedule's declared end;
- ``plateau-held``: the expression holds ``plateau`` nodes, checked held at their initial
  value (the metric-driven part is not checked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from schedalg.algebra.combinators import warmup
from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import Mark, events, walk
from schedalg.analysis import scan
from schedalg.analysis.description import (
    MAX_STEPS,
    MAX_STREAMED_STEPS,
    Description,
    Jump,
    Phase,
    check_steps,
    describe,
    step_driven,
)

_MILESTONES = ("milestone", "boundary")


@dataclass(frozen=True)
class Run:
    """What a rule of ``check`` looks at: the expression (plateaus held), its events on the
    global clock, the run's length, the warm-up share allowed and whether plateaus are held.
    The curve is read in chunks (:meth:`chunks`), never whole."""

    schedule: Schedule
    tree: list[Mark]
    n: int
    warmup_share: float
    plateaus: bool

    def chunks(self, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """``(lo, values)``: the curve of steps ``[start, n)`` in consecutive chunks."""
        return scan.pieces(self.schedule, start, self.n)

    def value(self, t: int) -> float:
        """The value at step ``t``, as the curve has it."""
        return float(next(scan.pieces(self.schedule, t, t + 1))[1][0])


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


def _steps(items: list[int]) -> str:
    shown = ", ".join(str(i) for i in items[:6])
    return shown + (", ..." if len(items) > 6 else "")


# -- check ---------------------------------------------------------------------------------------


def _tree_rules(run: Run) -> Iterator[CheckWarning]:
    n = run.n
    for event in run.tree:
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


def _zero_at_start(run: Run) -> Iterator[CheckWarning]:
    if run.value(0) == 0.0:
        yield CheckWarning(
            "zero-at-start",
            "the value at step 0 is 0: the first update does nothing (warm-up start=0?); "
            "consider a small non-zero start",
            0,
        )


def _first_and_count(run: Run) -> dict[str, tuple[int, int]]:
    """For NaN, infinite and negative values: the first step and how many steps."""
    found: dict[str, tuple[int, int]] = {}
    for lo, values in run.chunks():
        for kind, mask in (
            ("nan", np.isnan(values)),
            ("infinite", np.isinf(values)),
            ("negative", values < 0),
        ):
            hits = np.flatnonzero(mask)
            if hits.size:
                first, count = found.get(kind, (lo + int(hits[0]), 0))
                found[kind] = (first, count + int(hits.size))
    return found


def _bad_values(run: Run) -> Iterator[CheckWarning]:
    found = _first_and_count(run)
    if "nan" in found:
        first, count = found["nan"]
        yield CheckWarning("nan", f"NaN values from step {first} ({count} steps)", first)
    if "infinite" in found:
        first, count = found["infinite"]
        yield CheckWarning("infinite", f"infinite values from step {first} ({count} steps)", first)
    if "negative" in found:
        first, count = found["negative"]
        yield CheckWarning(
            "negative",
            f"negative values from step {first} ({count} steps), first {_num(run.value(first))}",
            first,
        )


def _declared_end(run: Run) -> Iterator[CheckWarning]:
    """The last step where a decaying piece stops changing, against the run's end."""
    n = run.n
    ends = [e.step for e in run.tree if e.kind == "end"]
    if not ends:
        return
    last_end = max(ends)
    if last_end > n:
        yield CheckWarning(
            "decay-unfinished",
            f"the decay ends at step {last_end}, after training ends ({n} steps): the last "
            f"value is {_num(run.value(n - 1))}, not the intended final value",
            last_end,
        )
    if last_end >= n - 1:
        return
    settled = run.value(last_end)
    margin = 1e-9 * max(abs(settled), 1e-12)
    for lo, after in run.chunks(last_end + 1):
        rise = np.flatnonzero(np.isfinite(after) & (after > settled + margin))
        if rise.size:
            step = lo + int(rise[0])
            yield CheckWarning(
                "rises-after-end",
                f"the value rises after step {last_end}, where the schedule's decay ends: "
                f"{_num(settled)} there, {_num(float(after[rise[0]]))} at step {step} "
                f"(a periodic cosine or a length shorter than training?)",
                step,
            )
            return


def _decay_ends_early(run: Run) -> Iterator[CheckWarning]:
    """A decay that stops in the first tenth of the run and leaves the value held after it."""
    ends = [e.step for e in run.tree if e.kind == "end"]
    if not ends or max(ends) * 10 > run.n:
        return
    last = max(ends)
    held: np.ndarray | None = None
    for _, after in run.chunks(last):
        held = after[:1] if held is None else held
        if not np.all(after == held[0]):
            return
    if held is not None:
        yield CheckWarning(
            "decay-ends-early",
            f"the decay ends at step {last}, {100 * last / run.n:.3g}% into the run of {run.n} "
            f"steps; the value is held at {_num(float(held[0]))} for the rest (a length in "
            "epochs rather than steps?)",
            last,
        )


def _epoch_milestones(run: Run) -> Iterator[CheckWarning]:
    """Every milestone in the first 1% of a long run: epochs written where steps are meant."""
    steps = sorted({e.step for e in run.tree if e.kind == "milestone"})
    if run.n >= 1000 and steps and steps[-1] * 100 <= run.n:
        yield CheckWarning(
            "epoch-milestones",
            f"every milestone ({_steps(steps)}) is in the first 1% of the run of {run.n} "
            "steps: epoch numbers in a per-iteration run? Multiply them by the epoch length "
            "or use per_epoch(schedule, epoch_length)",
            steps[0],
        )


def _warmup_long(run: Run) -> Iterator[CheckWarning]:
    for event in run.tree:
        if event.kind == "warmup_end" and run.warmup_share * run.n < event.step < run.n:
            yield CheckWarning(
                "warmup-long",
                f"the warm-up ends at step {event.step}, {100 * event.step / run.n:.3g}% of the "
                f"run of {run.n} steps (more than {100 * run.warmup_share:.3g}%)",
                event.step,
            )


def _warmup_shift(run: Run) -> Iterator[CheckWarning]:
    """Milestones inside a non-overlay warmup: the inner clock starts after the warm-up."""
    for node, placement in walk(run.schedule, run.n):
        if not isinstance(node, warmup) or node.overlay:
            continue
        inner = [e.step for e in events(node.schedule, run.n) if e.kind in _MILESTONES]
        written = [s for s in inner if placement.to_global(s + node.steps) < run.n]
        if written:
            moved = [int(placement.to_global(s + node.steps)) for s in written]
            yield CheckWarning(
                "warmup-shifts-milestones",
                f"warmup(..., {node.steps}) starts its schedule after the warm-up, so the "
                f"milestones written at {_steps(written)} fall at steps {_steps(moved)}; "
                "for milestones on the global clock use warmup(..., overlay=True)",
                moved[0],
            )


def _plateau_held(run: Run) -> Iterator[CheckWarning]:
    if run.plateaus:
        yield CheckWarning(
            "plateau-held",
            "the expression holds plateau nodes, checked held at their initial value: the "
            "part reported metrics drive is not checked",
        )


Rule = Callable[[Run], Iterator[CheckWarning]]

# The rules of ``check``, in the order their findings are listed; each looks at the Run.
RULES: tuple[Rule, ...] = (
    _plateau_held,
    _tree_rules,
    _warmup_long,
    _warmup_shift,
    _epoch_milestones,
    _zero_at_start,
    _bad_values,
    _declared_end,
    _decay_ends_early,
)


def check(
    schedule: Schedule, total_steps: int, *, warmup_share: float = 0.25
) -> list[CheckWarning]:
    """Lint ``schedule`` for a run of ``total_steps`` optimizer updates (steps
    ``[0, total_steps)``); a warm-up longer than ``warmup_share`` of the run is reported. An
    empty list means nothing suspicious was found."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"check(): schedule must be a Schedule, got {schedule!r}")
    n = check_steps("check", "total_steps", total_steps)
    if not (isinstance(warmup_share, (int, float)) and 0 < warmup_share <= 1):
        raise ValueError(f"check(): warmup_share must be in (0, 1], got {warmup_share!r}")
    driven, notes = step_driven(schedule)
    run = Run(driven, events(driven, n), n, float(warmup_share), bool(notes))
    return [warning for rule in RULES for warning in rule(run)]


__all__ = [
    "MAX_STEPS",
    "MAX_STREAMED_STEPS",
    "RULES",
    "CheckWarning",
    "Description",
    "Jump",
    "Phase",
    "Run",
    "check",
    "describe",
    "events",
]
