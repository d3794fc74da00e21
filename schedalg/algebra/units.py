"""What a schedule's numbers mean to an optimizer: multipliers of a base value, or the values.

Most schedules are multipliers (``cosine(9000)`` scales the optimizer's lr; ``3e-4 * cosine(9000)``
too, of a base of 1 unless marked). Some are absolute by nature: ``one_cycle_momentum`` gives
momenta (0.95 -> 0.85), and the converters mark what they build from absolute numbers. A node
says so with the class attribute ``_absolute = True``; ``absolute(s)`` marks any expression.

One generic rule propagates it: an expression is absolute when any node in it is
(:func:`is_absolute`). Arithmetic with a multiplier keeps the values absolute (``0.5 *
one_cycle_momentum(100)`` is still a momentum), and a ``sequence`` of an absolute piece and a
constant reads the constant as a value too. ``schedalg.torch.Scheduler`` applies an absolute
expression as values and refuses ``absolute=False`` for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import nodes
from schedalg.core import validators as check
from schedalg.core.node import Child, param


class absolute(Schedule):
    """``absolute(schedule)``: the values of ``schedule``, marked as the values themselves (a
    learning rate, a momentum), not multipliers of the optimizer's value.

    ``schedalg.torch.Scheduler`` writes ``s(t)`` for a marked schedule, where it writes
    ``base * s(t)`` for a multiplier. A schedule already absolute is returned as it is.

    >>> from schedalg import absolute, cosine
    >>> s = absolute(3e-4 * cosine(100))
    >>> s
    absolute(0.0003 * cosine(100))
    >>> s(0)
    0.0003
    """

    schedule: Schedule = param(check.a_schedule())
    _absolute: ClassVar[bool] = True

    def _simplify(self) -> Schedule:
        return self.schedule if is_absolute(self.schedule) else self

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule)

    def _scalar(self, t: float) -> float:
        return self.schedule._scalar(t)

    def _array(self, t: Any, xp: Any) -> Any:
        return self.schedule._array(t, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        self.schedule._fill(out, start)


def is_absolute(schedule: Schedule) -> bool:
    """Whether ``schedule`` gives values rather than multipliers: some node in it is absolute
    (``absolute(...)``, ``one_cycle_momentum``, or a node class with ``_absolute = True``)."""
    return any(type(node)._absolute for node in nodes(schedule))


__all__ = ["absolute", "is_absolute"]
