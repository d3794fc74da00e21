"""What one conversion receives and returns: a ``Place``, a ``Curve``, or a ``Refusal``.

The curve of a torch scheduler depends on more than its own attributes: which param group is
converted, the lr that group starts from, and where the scheduler sits — on its own, opening a
``SequentialLR``, switched in at a milestone, or as a factor of a ``ChainedScheduler``. A
``Place`` carries all of it, so every conversion has the same two arguments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule
from schedalg.core.validators import integer


class Refusal(ValueError):
    """A torch scheduler whose exact curve schedalg cannot build, with the reason."""


def refuse(scheduler: str, reason: str) -> Refusal:
    """The refusal about ``scheduler`` (a torch class name), prefixed as every one is."""
    return Refusal(f"from_torch(): {scheduler}: {reason}")


def name_of(scheduler: Any) -> str:
    return type(scheduler).__name__


def whole(scheduler: Any, attribute: str, *, minimum: int) -> int:
    """A step count of the scheduler as an int: torch takes floats, schedalg counts whole steps.

    An integral float is the same count; anything else makes torch compute with fractional
    steps (or divide by zero), a curve no schedalg expression has.
    """
    value = getattr(scheduler, attribute)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return integer("from_torch", f"{name_of(scheduler)}.{attribute}", value, minimum=minimum)
    except (TypeError, ValueError) as error:
        consequence = "divides by zero" if value == 0 else "uses float arithmetic on it"
        raise Refusal(f"{error} (torch {consequence}: no schedalg equivalent)") from None


class Position(enum.Enum):
    """Where a scheduler sits in the tree being converted."""

    ALONE = "alone"  # converted on its own, or the only scheduler of a ChainedScheduler
    OPENS_SEQUENCE = "opens"  # the first scheduler a SequentialLR runs
    AT_MILESTONE = "milestone"  # switched in at a SequentialLR milestone, by its closed form
    IN_CHAIN = "chained"  # a factor of a ChainedScheduler


@dataclass(frozen=True)
class Curve:
    """One group's curve: as a multiplier of the group's start lr (when that is exact) and as
    absolute values (always)."""

    relative: Schedule | None
    absolute: Schedule

    @classmethod
    def of(cls, multiplier: Schedule, base: float, start: float) -> Curve:
        """``base * multiplier``; relative as well when ``base`` is the group's start lr."""
        return cls(multiplier if base == start else None, base * multiplier)


def joined(curves: list[Curve], at: list[int]) -> Curve:
    """The curves one after the other, switching at the steps ``at`` (a ``SequentialLR``)."""
    relatives = [c.relative for c in curves if c.relative is not None]
    relative = sequence(*relatives, at=at) if len(relatives) == len(curves) else None
    return Curve(relative, sequence(*(c.absolute for c in curves), at=at))


@dataclass(frozen=True)
class Place:
    """One param group of a scheduler at one position.

    ``start`` is the lr the group starts from (what a relative curve multiplies). For a scheduler
    switched in at a milestone, ``begin`` is that milestone and ``before`` the group's curve up
    to it.
    """

    group: int
    start: float
    position: Position = Position.ALONE
    begin: int = 0
    before: Curve | None = None

    def base_lr(self, scheduler: Any) -> float:
        """The lr a recursive (chainable) scheduler multiplies in this place."""
        if self.position is Position.OPENS_SEQUENCE:
            # SequentialLR resets the lr to initial_lr, which OneCycleLR may have overwritten.
            return float(scheduler.optimizer.param_groups[self.group]["initial_lr"])
        return float(scheduler.base_lrs[self.group])
