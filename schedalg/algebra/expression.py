"""The ``Schedule`` value, and the nodes its operators build.

A schedule is an immutable function from the training step to a number. This module holds the
base type with its public evaluation (``s(t)``, ``s.curve(n)``, ``s.chunks(n)``), its operators
(``* + - /``, ``s.clip(begin, end)``) and the nodes those build: ``constant``, ``chain``,
``add``, ``subtract``, ``divide`` and ``clip``. How a node declares itself is in
``schedalg.core.node``; the evaluation paths a node provides are:

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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from schedalg.algebra.rendering import renderer
from schedalg.core import validators as check
from schedalg.core.node import Child, Event, NodeType, declared, lookup, param, parameters
from schedalg.core.printing import call_repr, infix, power_infix
from schedalg.engine import backends, fills, onestep
from schedalg.engine import steps as _steps
from schedalg.engine.backends import BLOCK, MAX_INTEGER_STEP, ieee_divide, ieee_power
from schedalg.engine.blockwise import folded

_SUM, _PRODUCT, _POWER = 1, 2, 3


class Schedule(metaclass=NodeType):
    """Base class of every schedule node: a frozen dataclass, hashable, compared by structure,
    printed by ``repr`` as the expression that rebuilds it after ``from schedalg import *``."""

    # Precedence of the printed form, so arithmetic only adds the parentheses it needs.
    _precedence: ClassVar[int] = 100
    # True for nodes whose values are absolute (a momentum), not multipliers
    # (schedalg.algebra.units).
    _absolute: ClassVar[bool] = False
    _threadsafe_fill: ClassVar[bool] = True  # two blocks at once: see schedalg.engine.threads

    # -- the protocol, overridden by nodes ----------------------------------------------------

    def _formula(self, t: Any, xp: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines no _formula")

    def _scalar(self, t: float) -> float:
        return self._formula(t, backends.SCALAR)

    def _array(self, t: Any, xp: Any) -> Any:
        return self._formula(t, xp)

    def _scalar_closure(self) -> Callable[[Any], Any]:
        """``_scalar`` as a closure over the node's parameters and its children's closures,
        for the hot one-step path (the adapter, ``s(t)``): the same operations in the same
        order, without a method lookup per node. Default: ``_scalar`` itself."""
        return self._scalar

    # The one-step function, built once and kept in the instance (onestep.scalar_function).
    _scalar_function = onestep.scalar_function
    # What s(t) of an int calls, kept in the instance on first use (onestep.keep_step).
    _step: ClassVar[onestep.Step]

    def __getstate__(self) -> dict[str, Any]:
        # What is kept beside the parameters is rebuilt on first use (backends.KEPT).
        return {k: v for k, v in self.__dict__.items() if k not in backends.KEPT}

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
        for value in fields.values():
            held = _placeholder(value)
            if held is not None:  # a step count bound later: the call is replayed then
                return held._defer(cls, fields)
        node: Schedule = type.__call__(cls, **fields)
        return node._simplify()

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised argument (the dataclasses are frozen)."""
        object.__setattr__(self, name, value)

    def bind(self, **values: int) -> Schedule:
        """``s.bind(total=100_000)``: the schedule with its placeholders
        (``schedalg.algebra.horizon``)
        given these non-negative integers; a name it does not hold is refused. (Plateau states
        bind with ``schedalg.bind(s, states)``.)"""
        return self._bound(values) if values else self

    def _bound(self, values: dict[str, Any]) -> Schedule:
        # Overridden by the node that holds placeholders (schedalg.algebra.horizon).
        raise ValueError(f"bind(): the schedule holds no placeholder, got {', '.join(values)}")

    # -- public evaluation ---------------------------------------------------------------------

    def __call__(self, t: Any) -> Any:
        """The value at step ``t``: a float for a scalar, else an array of the input's library."""
        # The adapter calls this every step: plain ints skip the abstract-class checks below.
        if type(t) is int:
            try:
                below, held, function = self._step
            except AttributeError:
                below, held, function = onestep.keep_step(self)
            if t < below:  # below <= MAX_INTEGER_STEP + 1
                if t >= 0:
                    return function(t)
            elif held is not None and t <= MAX_INTEGER_STEP:
                return held
        if isinstance(t, numbers.Real) and not isinstance(t, bool):
            return float(self._scalar_function()(backends.scalar_step(t)))
        if isinstance(t, np.ndarray):
            return _steps.evaluate_numpy(self, t)
        return _steps.evaluate_foreign(self, t)

    def curve(
        self, start: int, stop: int | None = None, *, dtype: Any = np.float64, out: Any = None
    ) -> np.ndarray:
        """The NumPy curve of steps ``[0, start)`` — or ``[start, stop)`` when ``stop`` is given.

        ``dtype`` picks the output type (values are computed in float64 and rounded once);
        ``out`` writes into an existing 1-D array of the right length instead of allocating.
        """
        first, last = backends.step_range("curve", start, stop)
        return fills.fill_curve(self._fill, first, last, dtype, out, BLOCK, self)

    def chunks(
        self, start: int, stop: int | None = None, *, size: int = 1 << 20, dtype: Any = np.float64
    ) -> Iterator[np.ndarray]:
        """Stream the curve of ``[start, stop)`` in arrays of at most ``size`` steps.

        The arrays are fresh (not views of one buffer), so a consumer may keep them.
        """
        return backends.chunked(self.curve, start, stop, size, dtype)

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

    def __pow__(self, other: Any) -> Schedule:
        return power(self, _coerce("**", other))

    def __rpow__(self, other: Any) -> Schedule:
        return power(_coerce("**", other), self)

    def __neg__(self) -> Schedule:
        return chain(constant(-1.0), self)

    def __pos__(self) -> Schedule:
        return self

    def clip(self, begin: int, end: float = math.inf) -> Schedule:
        """``clip(self, begin, end)``: active on ``[begin, end)``, 1.0 before, held after."""
        # The one method whose node lives elsewhere (schedalg.algebra.combinators): the registry
        # finds
        # it without an import back into that module.
        node: Any = lookup("clip")
        return node(self, begin, end)

    def __bool__(self) -> bool:
        # ``if schedule:`` or ``schedule or default`` is almost always a slip for ``is None``.
        raise TypeError("a Schedule has no truth value; compare with `is None` instead")

    # -- printing and pictures ---------------------------------------------------------------

    def __repr__(self) -> str:
        return call_repr(self)

    def plot(self, steps: int, **options: Any) -> Any:
        """Draw steps ``[0, steps)`` with matplotlib, return the axes
        (``schedalg.analysis.plot.plot``)."""
        return renderer().plot(self, steps, **options)

    def _repr_png_(self) -> bytes | None:
        """The inline picture of Jupyter (``None``, the plain repr, without matplotlib)."""
        return renderer().png(self)

    def _as_number(self) -> float | None:
        """The number this node prints as inside arithmetic, if it is one (``constant``)."""
        return None


def _placeholder(value: Any) -> Any:
    """The first placeholder (``schedalg.algebra.horizon``) a field value holds, or None."""
    for item in value if isinstance(value, (tuple, list)) else (value,):
        if getattr(item, "_is_placeholder", False):
            return item
    return None


def _coerce(op: str, other: Any) -> Schedule:
    if isinstance(other, Schedule):
        return other
    if getattr(other, "_is_placeholder", False):
        return constant(other)
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

    _scalar_closure = onestep.constant

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
        factors = self.factors
        value = factors[0]._scalar(t)
        for factor in factors[1:]:
            value = value * factor._scalar(t)
        return value

    _scalar_closure = onestep.chain

    def _array(self, t: Any, xp: Any) -> Any:
        factors = iter(self.factors)
        value = next(factors)._array(t, xp)
        for factor in factors:
            value = value * factor._array(t, xp)
        return value

    _fill = folded(np.multiply, "factors")


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
        terms = self.terms
        value = terms[0]._scalar(t)
        for term in terms[1:]:
            value = value + term._scalar(t)
        return value

    _scalar_closure = onestep.add

    def _array(self, t: Any, xp: Any) -> Any:
        terms = iter(self.terms)
        value = next(terms)._array(t, xp)
        for term in terms:
            value = value + term._array(t, xp)
        return value

    _fill = folded(np.add, "terms")


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

    _scalar_closure = onestep.subtract

    def _array(self, t: Any, xp: Any) -> Any:
        return self.left._array(t, xp) - self.right._array(t, xp)

    _fill = folded(np.subtract, "left", "right")


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

    _fill = folded(np.divide, "left", "right")


class power(Schedule):
    """``power(base, exponent)`` (also ``base ** exponent``, with schedules or numbers on either
    side): ``base(t) ** exponent(t)``, IEEE as in arrays (a negative base with a fractional
    exponent is NaN, overflow is inf) — e.g. optax's cosine ``exponent`` is ``cosine(T) ** p``.

    >>> from schedalg import cosine
    >>> s = cosine(10) ** 2
    >>> s, s(5), (2 ** cosine(10))(0)
    (cosine(10) ** 2.0, 0.25, 2.0)
    """

    base: Schedule = param(check.a_schedule())
    exponent: Schedule = param(check.a_schedule())
    _precedence: ClassVar[int] = _POWER

    def __repr__(self) -> str:
        return power_infix(self.base, self.exponent, _POWER)

    def _scalar(self, t: float) -> float:
        return ieee_power(self.base._scalar(t), self.exponent._scalar(t))

    def _array(self, t: Any, xp: Any) -> Any:
        return backends.pow_(self.base._array(t, xp), self.exponent._array(t, xp), xp)

    _fill = folded(backends.libm_power_into, "base", "exponent")
