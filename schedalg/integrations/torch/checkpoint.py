"""The adapter's checkpoint: what ``Scheduler.state_dict`` saves and how a resume is checked.

Each scheduled (key, group) is saved with its schedule as data (``schedalg.forms.data.to_dict``) and
its fingerprint; a schedule holding a Python function has no data form and is saved by
fingerprint only. On ``load_state_dict`` a (key, group) whose schedule is the same by
fingerprint resumes as before. A *different* schedule is accepted when it gives the same value
as the saved one at every step the run has already taken, ``[0, last_epoch)`` — a cooldown
branched off a warm-stable-decay run, a run extended past its old end — and the run continues
on the new schedule. A schedule that rewrites the past is refused, naming the parameter, the
group, the first step where the two part and both values. A checkpoint without the schedule
(an older one, or a function node) can only be checked by fingerprint, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.analysis.diffing import first_difference
from schedalg.curves.metric import plateaus
from schedalg.forms.data import ParseError, SerializationError, fingerprint, from_dict, to_dict
from schedalg.integrations.torch.arguments import ScheduledValue, started_at

__all__ = ["FORMAT", "check_format", "differences", "entry_state", "restore"]

FORMAT = "schedalg.torch.Scheduler/1"


def check_format(state_dict: Any) -> None:
    if not isinstance(state_dict, Mapping) or state_dict.get("format") != FORMAT:
        raise ValueError(
            "Scheduler.load_state_dict(): not a schedalg Scheduler state_dict "
            f"(format {getattr(state_dict, 'get', lambda k: None)('format')!r})"
        )


def _data(schedule: Schedule) -> dict[str, Any] | None:
    try:
        return to_dict(schedule)
    except SerializationError:
        return None  # a Python function: saved by fingerprint only


def entry_state(entry: ScheduledValue) -> dict[str, Any]:
    """One (key, group) of ``state_dict()``: plain data (``torch.load(weights_only=True)``)."""
    return {
        "key": entry.key,
        "group": entry.group,
        "absolute": entry.absolute,
        "base": entry.base,
        "fingerprint": fingerprint(entry.schedule),
        "schedule": _data(entry.schedule),
        "plateau": [dict(s) for s in entry.states],
    }


def _saved_schedule(saved: Mapping[str, Any]) -> Schedule | None:
    data = saved.get("schedule")
    if data is None:
        return None
    try:
        return from_dict(data)
    except ParseError:
        return None  # written by a schedalg that knew a node this one does not


def _same(saved: Mapping[str, Any], entry: ScheduledValue) -> bool:
    """The same schedule: by fingerprint, or the same but for where its plateau nodes start
    (which sets only their state before the first metric; the checkpoint's states replace it).
    A group added during the run gets its own plateau start: its value then."""
    if saved["fingerprint"] == fingerprint(entry.schedule):
        return True
    if not entry.plateaus or len(saved["plateau"]) != len(entry.plateaus):
        return False
    old = _saved_schedule(saved)
    return old is not None and started_at(old, 1.0) == started_at(entry.schedule, 1.0)


def _rewrites_the_past(
    label: str, saved: Mapping[str, Any], entry: ScheduledValue, step: int
) -> str | None:
    """Why the new schedule cannot continue the saved one's run of ``step`` steps, or None."""
    old = _saved_schedule(saved)
    if old is None:
        return (
            f"{label}: the schedule now, {entry.schedule!r}, differs from the checkpoint's "
            "(saved by fingerprint only, so the steps already taken cannot be compared)"
        )
    if plateaus(old) or plateaus(entry.schedule):
        return (
            f"{label}: the schedule now, {entry.schedule!r}, differs from the checkpoint's, "
            f"{old!r}, and a plateau node's past values depend on the metrics it saw"
        )
    parted = first_difference(old, entry.schedule, step)
    if parted is None:
        return None
    at, before, now = parted
    return (
        f"{label}: the schedule now rewrites steps the run already took (0 to {step - 1}): at "
        f"step {at} the checkpoint's schedule gave {before!r} and the new one gives {now!r} "
        f"(checkpoint: {old!r}; now: {entry.schedule!r})"
    )


def _difference(
    where: tuple[str, int],
    saved: Mapping[str, Any] | None,
    entry: ScheduledValue | None,
    step: int,
) -> str | None:
    """How a scheduled (key, group) differs from the checkpoint's, if in a way that matters."""
    label = f"{where[0]} of group {where[1]}"
    if saved is None:
        return f"{label}: scheduled now, not in the checkpoint"
    if entry is None:
        return f"{label}: in the checkpoint, not scheduled now"
    if bool(saved["absolute"]) != entry.absolute:
        return f"{label}: absolute={saved['absolute']} in the checkpoint"
    if not _same(saved, entry):
        return _rewrites_the_past(label, saved, entry, step)
    return None


def differences(
    saved: Mapping[Any, Any], mine: Mapping[Any, ScheduledValue], step: int
) -> list[str]:
    """Every (key, group) that cannot resume from the checkpoint at ``step``, with why."""
    found = (
        _difference(where, saved.get(where), mine.get(where), step)
        for where in sorted({*saved, *mine})
    )
    return [problem for problem in found if problem is not None]


def restore(entry: ScheduledValue, saved: Mapping[str, Any]) -> None:
    """The checkpoint's base, and its plateau states where the schedule is the same."""
    same = _same(saved, entry)
    entry.base = float(saved["base"])
    if same and len(saved["plateau"]) == len(entry.plateaus):
        entry.states = [dict(x) for x in saved["plateau"]]
