"""The ``Schedule`` value, and the nodes its operators build.

A schedule is an immutable function from the training step to a number. This module holds the
base type with its public evaluation (``s(t)``, ``s.curve(n)``, ``s.chunks(n)``), its operators
(``* + - /``, ``s.clip(begin, end)``) and the nodes those build: ``constant``, ``chain``,
``add``, ``subtract``, ``divide`` and ``clip``. How a node declares itself is in
``schedalg.node``; the evaluation paths a node provides are:

- ``_formula(t, xp)``: the curve, written once for one step (``xp`` is ``backends.SCALAR``) and
  for arrays (NumPy, torch, ``jax.numpy`` — also under ``jax.jit``);
- ``_scalar(t)`` and ``_array(t, xp)``: default to ``_formula``; nodes that branch (``sequence``,
  ``clip``) dispatch differently on one step (``bisect``) and on arrays (``select``);
- ``_fill(out, start)``: the NumPy curve of the steps ``start, start + 1, ...`` written into
  ``out``. Piecewise nodes give each piece only its own slice and fill held tails, which is what
  makes whole curves cheap.

Reprs use operators with only the parentheses Python needs: ``0.1 * cosine(100) + 0.01``.
Products and sums flatten and ``constant(1.0)`` factors vanish, so ``chain`` is associative
structurally as well as in value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from schedalg import _validate as check
from schedalg import backends
from schedalg.backends import BLOCK, MAX_INTEGER_STEP, ieee_divide, select
from schedalg.node import (
    Child,
    Clock,
    Event,
    NodeType,
    declared,
    param,
    parameters,
)
from schedalg.printing import call_repr, infix

_SUM, _PRODUCT = 1, 2


class Schedule(metaclass=NodeType):
    """Base class of every schedule node: a frozen dataclass, hashable, compared by structure,
    printed by ``repr`` as the expression that rebuilds it after ``from schedalg import *``."""

    # Precedence of the printed form, so arithmetic only adds the parentheses it needs.
    _precedence: ClassVar[int] = 100
    # True for nodes whose values are absolute (a momentum), not multipliers (schedalg.units).
    _absolute: ClassVar[bool] = False

    # -- the protocol, overridden by nodes ----------------------------------------------------

    def _formula(self, t: Any, xp: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no _formula")

    def _scalar(self, t: float) -> float:
        return self._formula(t, backends.SCALAR)

    def _array(self, t: Any, xp: Any) -> Any:
        return self._formula(t, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        out[...] = self._array(np.arange(start, start + out.shape[0], dtype=np.float64), np)

    def _check(self) -> None:
        """Checks across parameters (each parameter's own validator has run)."""

    def _simplify(self) -> Schedule:
        """The normal form the public constructor returns (default: the node itself)."""
        return self

    def children(self) -> Iterator[Child]:
        """The child schedules with their clocks: by default every Schedule-valued parameter
        (or entry of a tuple parameter), on this node's own clock."""
        for field in parameters(self):
            value = getattr(self, field.name)
            if isinstance(value, Schedule):
                yield Child(field.name, None, value)
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    if isinstance(item, Schedule):
                        yield Child(field.name, i, item)

    def events(self) -> Iterator[Event]:
        """Steps this node marks on its own clock (phase boundaries, milestones, decay ends)."""
        return iter(())

    # -- construction ------------------------------------------------------------------------

    def __post_init__(self) -> None:
        fn = type(self).__name__
        for field in parameters(self):
            validator = declared(field).validator
            if validator is not None:
                object.__setattr__(
                    self, field.name, validator(fn, field.name, getattr(self, field.name))
                )
        self._check()

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Schedule:
        """Validate and build from field values, then normalise: what every public
        construction (calls, ``parse``, ``from_dict``, tree rebuilds) goes through."""
        node: Schedule = type.__call__(cls, **fields)
        return node._simplify()

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised argument (the dataclasses are frozen)."""
        object.__setattr__(self, name, value)

    # -- public evaluation ---------------------------------------------------------------------

    def __call__(self, t: Any) -> Any:
        """The value at step ``t``: a float for a scalar, else an array of the input's library."""
        # The adapter calls this every step: plain ints skip the abstract-class checks below.
        if type(t) is int and 0 <= t <= MAX_INTEGER_STEP:
            return float(self._scalar(t))
        if isinstance(t, numbers.Real) and not isinstance(t, bool):
            return float(self._scalar(backends.scalar_step(t)))
        if isinstance(t, np.ndarray):
            return backends.evaluate_numpy(self._array, t)
        return backends.evaluate_foreign(self._array, t)

    def curve(
        self,
        start: int,
        stop: int | None = None,
        *,
        dtype: Any = np.float64,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The NumPy curve of steps ``[0, start)`` — or ``[start, stop)`` when ``stop`` is given.

        ``dtype`` picks the output type (values are computed in float64 and rounded once);
        ``out`` writes into an existing 1-D array of the right length instead of allocating.
        """
        first, last = backends.step_range("curve", start, stop)
        return backends.fill_curve(self._fill, first, last, dtype, out, BLOCK)

    def chunks(
        self, start: int, stop: int | None = None, *, size: int = 1 << 20, dtype: Any = np.float64
    ) -> Iterator[np.ndarray]:
        """Stream the curve of ``[start, stop)`` in arrays of at most ``size`` steps.

        The arrays are fresh (not views of one buffer), so a consumer may keep them.
        """
        first, last = backends.step_range("chunks", start, stop)
        check.integer("chunks", "size", size, minimum=1, wrong_type=ValueError)
        dtype = backends.float_dtype("chunks", "dtype", dtype)
        # Validated above, eagerly; the generator below runs only when iterated.
        return (
            self.curve(lo, min(lo + size, last), dtype=dtype) for lo in range(first, last, size)
        )

    # -- algebra --------------------------------------------------------------------------------

    def __mul__(self, other: Any) -> Schedule:
        return chain(self, _coerce("*", other))

    def __rmul__(self, other: Any) -> Schedule:
        return chain(_coerce("*", other), self)

    def __add__(self, other: Any) -> Schedule:
        return add(self, _coerce("+", other))

    def __radd__(self, other: Any) -> Schedule:
        return add(_coerce("+", other), self)

    def __sub__(self, other: Any) -> Schedule:
        return subtract(self, _coerce("-", other))

    def __rsub__(self, other: Any) -> Schedule:
        return subtract(_coerce("-", other), self)

    def __truediv__(self, other: Any) -> Schedule:
        return divide(self, _coerce("/", other))

    def __rtruediv__(self, other: Any) -> Schedule:
        return divide(_coerce("/", other), self)

    def __neg__(self) -> Schedule:
        return chain(constant(-1.0), self)

    def __pos__(self) -> Schedule:
        return self

    def clip(self, begin: int, end: float = math.inf) -> Schedule:
        """``clip(self, begin, end)``: active on ``[begin, end)``, 1.0 before, held after."""
        return clip(self, begin, end)

    def __bool__(self) -> bool:
        # ``if schedule:`` or ``schedule or default`` is almost always a slip for ``is None``.
        raise TypeError("a Schedule has no truth value; compare with `is None` instead")

    # -- printing and pictures ---------------------------------------------------------------

    def __repr__(self) -> str:
        return call_repr(self)

    def plot(self, steps: int, **options: Any) -> Any:
        """Draw steps ``[0, steps)`` with matplotlib, return the axes (``schedalg.plot.plot``)."""
        from schedalg.plot import plot  # at call time: the one import of a module to the right

        return plot(self, steps, **options)

    def _repr_png_(self) -> bytes | None:
        """The inline picture of Jupyter (``None``, the plain repr, without matplotlib)."""
        from schedalg.plot import png

        return png(self)

    def _as_number(self) -> float | None:
        """The number this node prints as inside arithmetic, if it is one (``constant``)."""
        return None


def _coerce(op: str, other: Any) -> Schedule:
    if isinstance(other, Schedule):
        return other
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return constant(float(other))
    raise TypeError(
        f"unsupported operand for {op}: a Schedule and {type(other).__name__} {other!r}"
    )


def operands(fn: str, name: str, values: Any) -> tuple[Schedule, ...]:
    """Schedules and numbers (promoted to ``constant``) as the operands of ``fn``."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{fn}(): {name} must be schedules or numbers, got {values!r}")
    return tuple(_coerce(fn, v) for v in values)


# -- the nodes the operators build --------------------------------------------------------------


class constant(Schedule):
    """``constant(value=1.0)``: ``value`` at every step.

    >>> from schedalg import constant
    >>> constant(0.5)(1000)
    0.5
    """

    value: float = param(check.a_number(), default=1.0)

    def __repr__(self) -> str:
        return f"constant({self.value!r})"

    def _as_number(self) -> float | None:
        return self.value

    def _scalar(self, t: float) -> float:
        return self.value

    def _array(self, t: Any, xp: Any) -> Any:
        return xp.full_like(t, self.value)

    def _fill(self, out: np.ndarray, start: int) -> None:
        out.fill(self.value)


def _flattened(node_type: type, field: str, items: tuple[Schedule, ...]) -> list[Schedule]:
    flat: list[Schedule] = []
    for item in items:
        flat.extend(getattr(item, field) if type(item) is node_type else (item,))
    return flat


class chain(Schedule):
    """``chain(a, b, ...)`` (also ``a * b``): ``a(t) * b(t) * ...``, multiplied left to right
    (torch's ``ChainedScheduler`` of multiplicative pieces; overlapping MMEngine schedulers).
    Nested chains flatten and ``constant(1.0)`` factors are dropped.

    >>> from schedalg import exponential
    >>> (0.1 * exponential(0.5))(2)
    0.025
    """

    factors: tuple[Schedule, ...] = param(operands, variadic=True)
    _precedence: ClassVar[int] = _PRODUCT

    if TYPE_CHECKING:  # the public signature (the node's metaclass builds it from the fields)

        def __init__(self, *factors: Schedule | float) -> None: ...

    def _simplify(self) -> Schedule:
        flat = _flattened(chain, "factors", self.factors)
        flat = [f for f in flat if not (isinstance(f, constant) and f.value == 1.0)]
        if not flat:
            return constant(1.0)
        if len(flat) == 1:
            return flat[0]
        return self if flat == list(self.factors) else chain(*flat)

    def __repr__(self) -> str:
        return infix(self.factors, "*", _PRODUCT)

    def _scalar(self, t: float) -> float:
        factors = iter(self.factors)
        value = next(factors)._scalar(t)
        for factor in factors:
            value = value * factor._scalar(t)
        return value

    def _array(self, t: Any, xp: Any) -> Any:
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
            if isinstance(factor, constant):
                out *= factor.value
            else:
                factor._fill(scratch, start)
                out *= scratch


class add(Schedule):
    """``add(a, b, ...)`` (also ``a + b``): ``a(t) + b(t) + ...``, added left to right.

    >>> from schedalg import cosine
    >>> (cosine(10) + 0.1)(10)
    0.1
    """

    terms: tuple[Schedule, ...] = param(operands, variadic=True)
    _precedence: ClassVar[int] = _SUM

    if TYPE_CHECKING:

        def __init__(self, *terms: Schedule | float) -> None: ...

    def _check(self) -> None:
        if not self.terms:
            raise ValueError("add(): needs at least one schedule or number, got none")

    def _simplify(self) -> Schedule:
        flat = _flattened(add, "terms", self.terms)
        if len(flat) == 1:
            return flat[0]
        return self if flat == list(self.terms) else add(*flat)

    def __repr__(self) -> str:
        return infix(self.terms, "+", _SUM)

    def _scalar(self, t: float) -> float:
        terms = iter(self.terms)
        value = next(terms)._scalar(t)
        for term in terms:
            value = value + term._scalar(t)
        return value

    def _array(self, t: Any, xp: Any) -> Any:
        terms = iter(self.terms)
        value = next(terms)._array(t, xp)
        for term in terms:
            value = value + term._array(t, xp)
        return value


class subtract(Schedule):
    """``subtract(a, b)`` (also ``a - b``): ``a(t) - b(t)``.

    >>> from schedalg import cosine
    >>> (1.0 - cosine(10))(10)
    1.0
    """

    left: Schedule = param(check.a_schedule())
    right: Schedule = param(check.a_schedule())
    _precedence: ClassVar[int] = _SUM

    def __repr__(self) -> str:
        return infix((self.left, self.right), "-", _SUM)

    def _scalar(self, t: float) -> float:
        return self.left._scalar(t) - self.right._scalar(t)

    def _array(self, t: Any, xp: Any) -> Any:
        return self.left._array(t, xp) - self.right._array(t, xp)


class divide(Schedule):
    """``divide(a, b)`` (also ``a / b``): ``a(t) / b(t)`` (IEEE: ``x / 0`` is ``±inf`` or NaN,
    as in arrays).

    >>> from schedalg import constant
    >>> (constant(1.0) / 4)(0)
    0.25
    """

    left: Schedule = param(check.a_schedule())
    right: Schedule = param(check.a_schedule())
    _precedence: ClassVar[int] = _PRODUCT

    def __repr__(self) -> str:
        return infix((self.left, self.right), "/", _PRODUCT)

    def _scalar(self, t: float) -> float:
        return ieee_divide(self.left._scalar(t), self.right._scalar(t))

    def _array(self, t: Any, xp: Any) -> Any:
        return self.left._array(t, xp) / self.right._array(t, xp)


def _interval_end(fn: str, name: str, value: Any) -> int | float:
    if value == math.inf:
        return math.inf
    if not check.is_integer(value):
        raise TypeError(f"{fn}(): {name} must be an integer or inf, got {value!r}")
    return int(value)


class clip(Schedule):
    """``clip(schedule, begin, end=inf)``: ``1.0`` before ``begin``; ``schedule(t - begin)`` on
    ``[begin, end)``; the last value inside, ``schedule(end - 1 - begin)``, from ``end`` on
    (MMEngine's ``begin``/``end`` interval). ``clip(s, 0)`` is ``s``.

    >>> from schedalg import clip, linear
    >>> s = clip(linear(1.0, 0.0, 10), 5)
    >>> s(0), s(5), s(10), s(100)
    (1.0, 1.0, 0.5, 0.0)
    """

    schedule: Schedule = param(check.a_schedule())
    begin: int = param(check.an_integer(minimum=0))
    end: int | float = param(_interval_end, default=math.inf, positional=True)

    def _check(self) -> None:
        if not self.end > self.begin:
            raise ValueError(
                f"clip(): end must be an integer greater than begin={self.begin!r} or inf, "
                f"got {self.end!r}"
            )

    def _simplify(self) -> Schedule:
        return self.schedule if self.begin == 0 and self.end == math.inf else self

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, _window(self.begin, self.end))

    def events(self) -> Iterator[Event]:
        yield Event(self.begin, "milestone", "clip begins")
        if self.end != math.inf:
            yield Event(self.end, "boundary", "clip ends (held)")

    @property
    def _held(self) -> float:
        # Not cached: a cached_property takes a lock that torch.compile refuses.
        return self.schedule._scalar(self.end - 1 - self.begin)

    def _scalar(self, t: float) -> float:
        if t < self.begin:
            return 1.0
        if t < self.end:
            return self.schedule._scalar(t - self.begin)
        return self._held

    def _array(self, t: Any, xp: Any) -> Any:
        pieces: list[backends.Evaluate] = [
            lambda local, xp: xp.ones_like(local),
            self.schedule._array,
        ]
        edges: tuple[float, ...] = (float(self.begin),)
        if self.end != math.inf:
            held = self._held
            pieces.append(lambda local, xp: xp.full_like(local, held))
            edges += (float(self.end),)
        if self.begin == 0:
            return select(t, xp, edges[1:], pieces[1:])
        return select(t, xp, edges, pieces)

    def _fill(self, out: np.ndarray, start: int) -> None:
        stop = start + out.shape[0]
        before = min(max(self.begin - start, 0), out.shape[0])
        out[:before] = 1.0
        lo, hi = max(start, self.begin), min(stop, self.end)
        if lo < hi:
            self.schedule._fill(out[lo - start : int(hi) - start], lo - self.begin)
        if stop > self.end:
            out[max(int(self.end) - start, 0) :] = self._held


def _window(begin: float, end: float) -> Clock:
    """The clock of a child that runs from ``begin`` (its step 0) until ``end``."""
    return Clock(offset=begin, hi=end - begin)
