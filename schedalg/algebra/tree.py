"""The one generic walk over expression trees, through the node protocol (``schedalg.core.node``).

Everything that looks inside an expression uses it: ``describe``/``check`` (events on the global
clock), plateau binding (find and replace nodes), and text. It relies only on what a node
declares — its parameters, ``children()`` with their clocks, and ``events()`` — so a node
defined outside the library is walked like any other.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.core.node import Child, Clock, parameters

# Event lists are capped: a repeat() over a million cycles has a million boundaries.
MAX_EVENTS = 200
# Each node contributes at most this many events, and a periodic child this many copies.
EVENTS_PER_NODE = 50
_MAX_DEPTH = 200


@dataclass(frozen=True)
class Mark:
    """An event on the global clock: ``kind`` as in :class:`schedalg.core.node.Event`."""

    step: int
    kind: str
    label: str


@dataclass(frozen=True)
class Placement:
    """Where a node's own steps sit on the global clock: global ``scale * u + offset``, active
    on the global window ``[lo, hi)``."""

    scale: float = 1.0
    offset: float = 0.0
    lo: float = 0.0
    hi: float = math.inf

    def child(self, clock: Clock) -> Placement:
        scale = self.scale * clock.scale
        offset = self.scale * clock.offset + self.offset
        lo = scale * clock.lo + offset
        hi = math.inf if math.isinf(clock.hi) else scale * clock.hi + offset
        return Placement(scale, offset, max(self.lo, lo), min(self.hi, hi))

    def to_global(self, local: float) -> float:
        return self.scale * local + self.offset


def walk(schedule: Schedule, horizon: int) -> Iterator[tuple[Schedule, Placement]]:
    """Every node with its placement, depth first; periodic children are copied once per cycle
    up to past ``horizon`` (at most ``EVENTS_PER_NODE`` copies), and subtrees that start far
    beyond the horizon are skipped."""
    stack: list[tuple[Schedule, Placement, int]] = [(schedule, Placement(), 0)]
    limit = max(horizon, 1) * 4
    while stack:
        node, placement, depth = stack.pop()
        if depth > _MAX_DEPTH or placement.lo >= limit:
            continue
        yield node, placement
        below = []
        for child in node.children():
            if not child.clock.placed:
                continue
            for clock in _copies(child.clock, placement, horizon):
                sub = placement.child(clock)
                if sub.lo < sub.hi:
                    below.append((child.node, sub, depth + 1))
        stack.extend(reversed(below))


def _copies(clock: Clock, placement: Placement, horizon: int) -> Iterator[Clock]:
    if clock.period is None:
        yield clock
        return
    cycles = min(
        math.ceil(max(horizon, 1) / clock.period / max(placement.scale, 1e-12)) + 1,
        EVENTS_PER_NODE,
    )
    for k in range(cycles):
        yield Clock(clock.scale, clock.offset + k * clock.period, clock.lo, clock.hi)


def events(schedule: Schedule, horizon: int) -> list[Mark]:
    """The steps in ``(0, horizon]`` and beyond that the expression marks, on the global clock
    as integers, sorted (at most ``MAX_EVENTS``; steps past the horizon are kept since
    ``check`` reports milestones and ends there)."""
    found: list[Mark] = []
    for node, placement in walk(schedule, horizon):
        for event in itertools.islice(node.events(), EVENTS_PER_NODE):
            step = placement.to_global(event.step)
            inside = placement.lo <= step < placement.hi
            at_end = step == placement.hi and event.kind != "boundary"
            if (inside or at_end) and step > 0 and math.isfinite(step):
                found.append(Mark(math.ceil(step), event.kind, event.label))
        if len(found) > 4 * MAX_EVENTS:
            break
    unique = {(e.step, e.kind, e.label): e for e in found}
    return sorted(unique.values(), key=lambda e: (e.step, e.kind, e.label))[:MAX_EVENTS]


def nodes(schedule: Schedule) -> Iterator[Schedule]:
    """Every node of the expression, depth first, left to right (one per occurrence)."""
    stack = [schedule]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed([child.node for child in node.children()]))


def rebuild(schedule: Schedule, replace: Callable[[Schedule], Schedule | None]) -> Schedule:
    """The expression with every node for which ``replace(node)`` returns a schedule replaced
    by it (depth first, left to right; the replacement is not walked further). Unchanged
    subtrees are kept as they are; changed nodes are rebuilt through their constructor."""
    new = replace(schedule)
    if new is not None:
        return new
    changes: dict[str, Any] = {}
    for child in list(schedule.children()):
        rebuilt = rebuild(child.node, replace)
        if rebuilt is child.node:
            continue
        if child.index is None:
            changes[child.field] = rebuilt
        else:
            items = list(changes.get(child.field, getattr(schedule, child.field)))
            items[child.index] = rebuilt
            changes[child.field] = tuple(items)
    if not changes:
        return schedule
    fields = {f.name: getattr(schedule, f.name) for f in parameters(schedule)}
    fields.update(changes)
    return type(schedule)._from_fields(fields)


__all__ = ["MAX_EVENTS", "Child", "Mark", "Placement", "events", "nodes", "rebuild", "walk"]
