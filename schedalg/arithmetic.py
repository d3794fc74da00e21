"""Arithmetic on schedules: products (``chain``), sums, differences, quotients, min, max, clamp.

Numbers are promoted to ``constant(...)``. Products and sums are flattened and evaluated left to
right, so ``chain`` is associative structurally as well as in value, and ``constant(1.0)`` factors
vanish (``chain(a, constant(1)) == a``). Reprs use operators with only the parentheses Python
needs to rebuild the same tree: ``0.1 * cosine(100) + 0.01``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from schedalg.core import Schedule, _coerce
from schedalg.primitives import Constant

_SUM, _PRODUCT = 1, 2


def _operand(node: Schedule, parenthesize_below: int, bare_constant: bool = True) -> str:
    if isinstance(node, Constant) and bare_constant:
        return repr(node.value)
    text = repr(node)
    return f"({text})" if node._precedence < parenthesize_below else text


def _operands(fn: str, values: Any) -> tuple[Schedule, ...]:
    return tuple(_coerce(fn, v) for v in values)


def _all_constant(nodes: tuple[Schedule, ...]) -> bool:
    return all(isinstance(n, Constant) for n in nodes)


def _bare_flags(nodes: tuple[Schedule, ...]) -> list[bool]:
    """Which constants may print as plain numbers in ``a op b op c``.

    Python folds ``2.0 * 3.0 * s`` to ``6.0 * s`` before any schedule is involved, so a constant
    prints bare only once a schedule precedes it, or when it is first and a schedule follows.
    """
    flags, seen_schedule = [], False
    for i, node in enumerate(nodes):
        follows = i + 1 < len(nodes) and not isinstance(nodes[i + 1], Constant)
        flags.append(seen_schedule or (i == 0 and follows))
        seen_schedule = seen_schedule or not isinstance(node, Constant)
    return flags


def _divide(a: float, b: float) -> float:
    """IEEE division, as arrays do it: ``x / 0`` is ``±inf`` or NaN, not ZeroDivisionError."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


@dataclass(frozen=True, repr=False)
class Chain(Schedule):
    """``chain(a, b, ...)`` (also ``a * b``): ``a(t) * b(t) * ...``, multiplied left to right
    (torch's ``ChainedScheduler`` of multiplicative pieces; overlapping MMEngine schedulers)."""

    factors: tuple[Schedule, ...]
    _name: ClassVar[str] = "chain"
    _precedence: ClassVar[int] = _PRODUCT

    def __repr__(self) -> str:
        bare = _bare_flags(self.factors)
        return " * ".join(
            _operand(f, _PRODUCT + (i > 0), bare[i]) for i, f in enumerate(self.factors)
        )

    def _scalar(self, t: float) -> float:
        factors = iter(self.factors)
        value = next(factors)._scalar(t)
        for factor in factors:
            value = value * factor._scalar(t)
        return value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        factors = iter(self.factors)
        value = next(factors)._array(t, xp)
        for factor in factors:
            value = value * factor._array(t, xp)
        return value

    def _fill(self, out: np.ndarray, start: int) -> None:
        factors = iter(self.factors)
        next(factors)._fill(out, start)
        scratch = np.empty_like(out)
        for factor in factors:
            if isinstance(factor, Constant):
                out *= factor.value
            else:
                factor._fill(scratch, start)
                out *= scratch


def chain(*factors: Any) -> Schedule:
    """``a(t) * b(t) * ...``; nested chains are flattened and ``constant(1.0)`` factors dropped."""
    flat: list[Schedule] = []
    for factor in _operands("chain", factors):
        flat.extend(factor.factors if isinstance(factor, Chain) else (factor,))
    flat = [f for f in flat if not (isinstance(f, Constant) and f.value == 1.0)]
    if not flat:
        return Constant(1.0)
    return flat[0] if len(flat) == 1 else Chain(tuple(flat))


@dataclass(frozen=True, repr=False)
class Sum(Schedule):
    """``a + b + ...``: ``a(t) + b(t) + ...``, added left to right."""

    terms: tuple[Schedule, ...]
    _name: ClassVar[str] = "add"
    _precedence: ClassVar[int] = _SUM

    def __repr__(self) -> str:
        bare = _bare_flags(self.terms)
        return " + ".join(
            _operand(term, _SUM + (i > 0), bare[i]) for i, term in enumerate(self.terms)
        )

    def _scalar(self, t: float) -> float:
        terms = iter(self.terms)
        value = next(terms)._scalar(t)
        for term in terms:
            value = value + term._scalar(t)
        return value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        terms = iter(self.terms)
        value = next(terms)._array(t, xp)
        for term in terms:
            value = value + term._array(t, xp)
        return value


def add(*terms: Any) -> Schedule:
    flat: list[Schedule] = []
    for term in _operands("add", terms):
        flat.extend(term.terms if isinstance(term, Sum) else (term,))
    return flat[0] if len(flat) == 1 else Sum(tuple(flat))


@dataclass(frozen=True, repr=False)
class Difference(Schedule):
    """``a - b``: ``a(t) - b(t)``."""

    left: Schedule
    right: Schedule
    _name: ClassVar[str] = "subtract"
    _precedence: ClassVar[int] = _SUM

    def __repr__(self) -> str:
        bare = _bare_flags((self.left, self.right))
        return f"{_operand(self.left, _SUM, bare[0])} - {_operand(self.right, _SUM + 1, bare[1])}"

    def _scalar(self, t: float) -> float:
        return self.left._scalar(t) - self.right._scalar(t)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.left._array(t, xp) - self.right._array(t, xp)


@dataclass(frozen=True, repr=False)
class Quotient(Schedule):
    """``a / b``: ``a(t) / b(t)`` (IEEE: ``x / 0`` is ``±inf`` or NaN, as in arrays)."""

    left: Schedule
    right: Schedule
    _name: ClassVar[str] = "divide"
    _precedence: ClassVar[int] = _PRODUCT

    def __repr__(self) -> str:
        bare = _bare_flags((self.left, self.right))
        left, right = (
            _operand(self.left, _PRODUCT, bare[0]),
            _operand(self.right, _PRODUCT + 1, bare[1]),
        )
        return f"{left} / {right}"

    def _scalar(self, t: float) -> float:
        return _divide(self.left._scalar(t), self.right._scalar(t))

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.left._array(t, xp) / self.right._array(t, xp)


@dataclass(frozen=True, repr=False)
class _Extremum(Schedule):
    operands: tuple[Schedule, ...]

    def __repr__(self) -> str:
        bare = not _all_constant(self.operands)
        args = ", ".join(_operand(o, 0, bare or i > 0) for i, o in enumerate(self.operands))
        return f"{self._name}({args})"

    def _pick(self, a: float, b: float) -> float:
        raise NotImplementedError

    def _scalar(self, t: float) -> float:
        values = iter(self.operands)
        value = next(values)._scalar(t)
        for operand in values:
            value = self._pick(value, operand._scalar(t))
        return value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        values = iter(self.operands)
        value = next(values)._array(t, xp)
        combine = xp.minimum if isinstance(self, Minimum) else xp.maximum
        for operand in values:
            value = combine(value, operand._array(t, xp))
        return value


def _nan_aware(pick: Any, a: float, b: float) -> float:
    # NumPy's minimum/maximum propagate NaN; Python's min/max would silently drop it.
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return pick(a, b)


@dataclass(frozen=True, repr=False)
class Minimum(_Extremum):
    """``minimum(a, b, ...)``: the smallest value at each step (NaN propagates)."""

    _name: ClassVar[str] = "minimum"

    def _pick(self, a: float, b: float) -> float:
        return _nan_aware(min, a, b)


@dataclass(frozen=True, repr=False)
class Maximum(_Extremum):
    """``maximum(a, b, ...)``: the largest value at each step (NaN propagates)."""

    _name: ClassVar[str] = "maximum"

    def _pick(self, a: float, b: float) -> float:
        return _nan_aware(max, a, b)


def _extremum(node: type[_Extremum], operands: tuple[Any, ...]) -> Schedule:
    if not operands:
        raise ValueError(f"{node._name}(): needs at least one schedule or number, got none")
    flat: list[Schedule] = []
    for operand in _operands(node._name, operands):
        flat.extend(operand.operands if type(operand) is node else (operand,))
    return flat[0] if len(flat) == 1 else node(tuple(flat))


def minimum(*operands: Any) -> Schedule:
    """``minimum(a, b, ...)``: the elementwise minimum of schedules and numbers."""
    return _extremum(Minimum, operands)


def maximum(*operands: Any) -> Schedule:
    """``maximum(a, b, ...)``: the elementwise maximum of schedules and numbers."""
    return _extremum(Maximum, operands)


def clamp(schedule: Schedule, low: float | None = None, high: float | None = None) -> Schedule:
    """``clamp(s, low, high)``: ``maximum(minimum(s, high), low)`` — bounds stated, never silent."""
    from schedalg import _validate as check

    if not isinstance(schedule, Schedule):
        raise TypeError(f"clamp(): schedule must be a Schedule, got {schedule!r}")
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
