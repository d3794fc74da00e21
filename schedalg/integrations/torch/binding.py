"""A ``Scheduler`` built before the run's length is known: schedules holding placeholders.

A schedule written against ``total`` (``schedalg.algebra.horizon``) cannot be evaluated until
``total``
is bound, and often only the trainer knows it (Lightning's
``trainer.estimated_stepping_batches``, HF's ``state.max_steps``), after the scheduler was
built. The adapter accepts such schedules: it applies nothing until ``scheduler.bind(total=n)``
(which the Lightning and HF callbacks call with the trainer's number). Until then a
``step()``, and an ``optimizer.step()`` (through a step pre-hook on the optimizer), is refused
naming the placeholders, so no update runs with a value the schedule did not give. A
checkpoint loaded before binding is kept and loaded when the schedules are bound (the HF
Trainer restores the scheduler before its callbacks learn ``max_steps``), so the checked-prefix
comparison sees the bound schedule.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.algebra.horizon import UnboundError, bind_held, placeholders
from schedalg.algebra.units import is_absolute
from schedalg.core.node import nearest
from schedalg.integrations.torch.arguments import ScheduledValue
from schedalg.integrations.torch.timing import torch_optimizer


def held(schedules: Iterable[Schedule]) -> tuple[str, ...]:
    """The placeholders the schedules hold, sorted."""
    return tuple(sorted({name for s in schedules for name in placeholders(s)}))


def unbound_error(names: tuple[str, ...]) -> UnboundError:
    given = ", ".join(f"{name}=..." for name in names)
    return UnboundError(
        f"Scheduler: the schedules hold the unbound placeholder(s) {', '.join(names)}; "
        f"call scheduler.bind({given}) first (the schedalg.lightning and "
        "schedalg.hf_trainer callbacks bind total from the trainer)"
    )


def refusing(names: tuple[str, ...]) -> Any:
    """The step function of an unbound schedule: an error naming what to bind."""

    def refuse(t: Any) -> float:
        raise unbound_error(names)

    return refuse


def guard(scheduler: Any) -> Any:
    """A step pre-hook on the torch optimizer refusing ``optimizer.step()`` while the
    scheduler's schedules are unbound (no update runs with a value the schedule did not give);
    its handle, or None for an optimizer whose steps cannot be seen. The hook holds the
    scheduler weakly: once the scheduler is gone, the optimizer steps freely."""
    if not scheduler.placeholders:
        return None
    try:
        inner = torch_optimizer(scheduler.optimizer)
    except TypeError:
        return None
    owner = weakref.ref(scheduler)

    def refuse(*args: Any) -> None:
        alive = owner()
        if alive is not None and alive.placeholders:
            raise unbound_error(alive.placeholders)

    return inner.register_step_pre_hook(refuse)


def check_names(values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in values:
        if name not in names:
            holding = f"they hold {', '.join(names)}" if names else "they hold none"
            raise ValueError(
                f"Scheduler.bind(): no schedule holds the placeholder {name!r}"
                f"{nearest(name, names)} ({holding})"
            )


def bound_entry(entry: ScheduledValue, values: Mapping[str, int]) -> ScheduledValue:
    """The entry with its schedule bound (its plateau nodes, now visible, start fresh)."""
    schedule = bind_held(entry.schedule, dict(values))
    if schedule is entry.schedule:
        return entry
    if is_absolute(schedule) and not entry.absolute:
        raise ValueError(
            f"Scheduler.bind(): {entry.key}={schedule!r} (group {entry.group}) gives absolute "
            f"values once bound; pass absolute={{{entry.key!r}}} to Scheduler for a schedule "
            "holding a placeholder"
        )
    return ScheduledValue(entry.key, entry.group, entry.slot, schedule, entry.base, entry.absolute)


def bound_shared(shared: Mapping[str, Schedule], values: Mapping[str, int]) -> dict[str, Schedule]:
    return {key: bind_held(s, dict(values)) for key, s in shared.items()}
