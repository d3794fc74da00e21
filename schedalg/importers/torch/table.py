"""The entry of one torch scheduler class, and the lookup of a scheduler's entry.

The entries themselves, one per class, are in ``schedalg.importers.torch.classes``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.importers.hf import not_a_schedule
from schedalg.importers.torch.context import Curve, Place, Position, refuse
from schedalg.importers.torch.state import initial_lrs, steps_since_construction

GroupCurve = Callable[[Any, Place], Curve]
GroupMultiplier = Callable[[Any, Place], Schedule]


class LrCheck(enum.Enum):
    """When the lr the optimizer holds now can be compared with the converted curve (the check
    that catches a scheduler built on an lr another scheduler had already changed)."""

    ALWAYS = "always"
    # Only before the first step, wherever it is in the tree: OneCycleLR overwrites the lr, and
    # torch extrapolates past total_steps where schedalg holds the final value.
    AT_START = "at start"
    # Not when it is the scheduler converted: SWALR starts from whatever lr it finds, and a
    # plateau's value depends on the metrics, not on the step.
    NEVER = "never"


def _no_reason(scheduler: Any, *context: Any) -> str | None:
    return None


def _never_settles(scheduler: Any) -> int | None:
    return None


def _no_check(scheduler: Any, steps: int) -> None:
    return None


def _no_children(scheduler: Any) -> list[Any]:
    return []


def _no_ratio(scheduler: Any, group: int) -> float:
    return 1.0


@dataclass(frozen=True)
class TorchClass:
    """Everything ``from_torch`` knows about one torch scheduler class.

    Only ``curve`` is required; the defaults describe a recursive scheduler that keeps torch's
    step count.
    """

    curve: GroupCurve
    """One param group's curve at a ``Place``."""

    multiplier: GroupMultiplier | None = None
    """Its factor in a ``ChainedScheduler``, relative to the group's initial lr. ``None``: it
    overwrites the lr on every step (computes it from scratch), so it cannot be chained."""

    absolute: bool = False
    """It writes ``initial_lr`` itself, so a tree holding it converts to absolute values."""

    starts: Callable[[Any], list[float]] = initial_lrs
    """The lr each group starts from when it is the scheduler converted (may refuse)."""

    clock: Callable[[Any], int] = steps_since_construction
    """The steps since construction; refuses a state that shows another start than step 0."""

    lr_check: LrCheck = LrCheck.ALWAYS
    """When its lr now can be compared with the curve."""

    momentum: Callable[[Any, int], Schedule | None] | None = None
    """The absolute momentum curve of one group, ``None`` when it does not cycle momentum."""

    refuse_in_sequence: Callable[[Any, Position], str | None] = _no_reason
    """Why it cannot be a piece of a ``SequentialLR`` at that position (``None``: it can)."""

    refuse_in_chain: Callable[[Any], str | None] = _no_reason
    """Why it cannot be a factor of a ``ChainedScheduler`` although it does not overwrite."""

    settles: Callable[[Any], int | None] = _never_settles
    """The step from which it no longer changes the lr (``None``: never)."""

    restarts_chain_after: Callable[[Any], int] | None = None
    """Its ``T_max``, for a scheduler that torch restarts from ``base_lr`` after it, forgetting
    the other factors of a ``ChainedScheduler``."""

    continues_at_milestone: bool = False
    """At a ``SequentialLR`` milestone it continues from the lr so far, not its closed form."""

    check_in_sequence: Callable[[Any, int], None] = _no_check
    """Refuses its state as a ``SequentialLR`` piece that has been active for that many steps
    (0: not yet), where its own clock is more than the ``last_epoch`` SequentialLR resets."""

    children: Callable[[Any], list[Any]] = _no_children
    """The schedulers nested in it."""

    ratio_at_zero: Callable[[Any, int], float] | None = _no_ratio
    """The ratio its ``get_lr`` applies at ``last_epoch == 0`` outside the constructor's step,
    beyond the factor its curve has at step 0: what it adds in a ``ChainedScheduler`` that
    opens a ``SequentialLR`` (whose constructor steps the chain once more). ``None``: torch's
    step there has no exact form (it divides by zero or restarts)."""


_TABLE: dict[type, TorchClass] = {}


def register(classes: Mapping[type, TorchClass]) -> None:
    """Add entries; a class has one entry."""
    for torch_class, entry in classes.items():
        if torch_class in _TABLE:
            raise ValueError(f"{torch_class.__name__} is registered twice")
        _TABLE[torch_class] = entry


def _registered(scheduler: Any) -> tuple[type, TorchClass] | None:
    for klass in type(scheduler).__mro__:
        entry = _TABLE.get(klass)
        if entry is not None:
            return klass, entry
    return None


def find(scheduler: Any) -> TorchClass | None:
    """The entry of the scheduler's class, or of the nearest torch class it derives from."""
    found = _registered(scheduler)
    return None if found is None else found[1]


# A subclass that overrides one of these computes the lr its own way.
_LR_METHODS = ("get_lr", "_get_closed_form_lr", "step")


def _overridden(scheduler: Any, base: type) -> list[str]:
    """The lr methods that the scheduler's class, or a class between it and ``base``, defines."""
    mro = type(scheduler).__mro__
    below = mro[: mro.index(base)]
    return [name for name in _LR_METHODS if any(name in vars(klass) for klass in below)]


def lookup(scheduler: Any) -> TorchClass:
    """``find``, refusing a class without an entry, and a subclass that overrides how its
    torch class computes the lr (its curve is then whatever that code computes: transformers'
    ``AdafactorSchedule`` reports the lr Adafactor computes from the optimizer's state)."""
    found = _registered(scheduler)
    name = type(scheduler).__name__
    if found is None:
        raise refuse(name, "not a torch scheduler class that from_torch knows; convert it by hand")
    base, entry = found
    overridden = _overridden(scheduler, base)
    if overridden:
        why = not_a_schedule(type(scheduler))
        raise refuse(
            name,
            f"derives from {base.__name__} but overrides {', '.join(overridden)}, so its lr is "
            f"what that code computes, not {base.__name__}'s curve"
            + (f": {why}" if why else "; convert it by hand"),
        )
    return entry


def entries_in(scheduler: Any) -> Iterator[TorchClass]:
    """The entries of the scheduler and of every scheduler nested in it (a nested one without
    an entry is a piece that never runs: from_torch refuses the others)."""
    entry = find(scheduler)
    if entry is None:
        return
    yield entry
    for child in entry.children(scheduler):
        yield from entries_in(child)
