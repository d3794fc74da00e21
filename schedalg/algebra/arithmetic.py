"""Elementwise extremes of schedules: ``minimum``, ``maximum`` and ``clamp``.

(Products, sums, differences and quotients are built by the operators and live with the
``Schedule`` type in ``schedalg.algebra.expression``.) Numbers are promoted to ``constant(...)``;
nested
extremes of the same kind flatten. NaN propagates, as in NumPy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from schedalg.algebra.expression import Schedule, constant, operands
from schedalg.core import validators as check
from schedalg.core.node import param
from schedalg.core.printing import operand_text
from schedalg.engine.blockwise import folded


def _nan_aware(pick: Any, a: float, b: float) -> float:
    # NumPy's minimum/maximum propagate NaN; Python's min/max would silently drop it.
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return pick(a, b)


class _extremum(Schedule):
    operands: tuple[Schedule, ...] = param(operands, variadic=True)

    if TYPE_CHECKING:  # the public signature (the node's metaclass builds it from the fields)

        def __init__(self, *operands: Schedule | float) -> None: ...

    def _check(self) -> None:
        if not self.operands:
            raise ValueError(
                f"{type(self).__name__}(): needs at least one schedule or number, got none"
            )

    def _simplify(self) -> Schedule:
        flat: list[Schedule] = []
        for operand in self.operands:
            flat.extend(operand.operands if type(operand) is type(self) else (operand,))
        if len(flat) == 1:
            return flat[0]
        return self if flat == list(self.operands) else type(self)(*flat)

    def __repr__(self) -> str:
        bare = not all(isinstance(o, constant) for o in self.operands)
        args = ", ".join(operand_text(o, 0, bare or i > 0) for i, o in enumerate(self.operands))
        return f"{type(self).__name__}({args})"

    def _pick(self, a: float, b: float) -> float:
        raise NotImplementedError

    def _combine(self, xp: Any) -> Any:
        raise NotImplementedError

    def _scalar(self, t: float) -> float:
        values = iter(self.operands)
        value = next(values)._scalar(t)
        for operand in values:
            value = self._pick(value, operand._scalar(t))
        return value

    def _array(self, t: Any, xp: Any) -> Any:
        values = iter(self.operands)
        value = next(values)._array(t, xp)
        combine = self._combine(xp)
        for operand in values:
            value = combine(value, operand._array(t, xp))
        return value


class minimum(_extremum):
    """``minimum(a, b, ...)``: the smallest value at each step (NaN propagates).

    >>> from schedalg import linear, minimum
    >>> s = minimum(linear(0.0, 2.0, 10), 1.0)
    >>> s(2), s(10)
    (0.4, 1.0)
    """

    if TYPE_CHECKING:

        def __init__(self, *operands: Schedule | float) -> None: ...

    def _pick(self, a: float, b: float) -> float:
        return _nan_aware(min, a, b)

    def _combine(self, xp: Any) -> Any:
        return xp.minimum

    _fill = folded(np.minimum, "operands")


class maximum(_extremum):
    """``maximum(a, b, ...)``: the largest value at each step (NaN propagates).

    >>> from schedalg import cosine, maximum
    >>> s = maximum(cosine(100), 0.1)
    >>> s(0), s(100)
    (1.0, 0.1)
    """

    if TYPE_CHECKING:

        def __init__(self, *operands: Schedule | float) -> None: ...

    def _pick(self, a: float, b: float) -> float:
        return _nan_aware(max, a, b)

    def _combine(self, xp: Any) -> Any:
        return xp.maximum

    _fill = folded(np.maximum, "operands")


def clamp(schedule: Schedule, low: float | None = None, high: float | None = None) -> Schedule:
    """``clamp(s, low, high)``: ``maximum(minimum(s, high), low)`` — bounds stated, never silent."""
    check.a_schedule()("clamp", "schedule", schedule)
    if low is None and high is None:
        raise ValueError("clamp(): give low, high or both, got neither")
    low_value = None if low is None else check.real("clamp", "low", low)
    high_value = None if high is None else check.real("clamp", "high", high)
    if low_value is not None and high_value is not None and low_value > high_value:
        raise ValueError(f"clamp(): low must be <= high, got low={low!r}, high={high!r}")
    result = schedule
    if high_value is not None:
        result = minimum(result, high_value)
    if low_value is not None:
        result = maximum(result, low_value)
    return result
