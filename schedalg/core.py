"""The ``Schedule`` value: an immutable function from the training step to a number.

Every node of an expression implements three evaluation paths that agree with each other:

- ``_scalar(t)``: one step, plain Python floats (what an optimizer adapter calls every step);
- ``_array(t, xp)``: elementwise on a float array of any shape in the array namespace ``xp``
  (NumPy, torch, or ``jax.numpy`` — also while tracing under ``jax.jit``);
- ``_fill(out, start)``: the NumPy curve of the contiguous steps ``start, start + 1, ...`` written
  into ``out``. Piecewise nodes override it to give each piece only its own slice and to fill
  held tails, which is what makes whole curves cheap.

The public entry points (``__call__``, ``curve``, ``chunks``) validate the steps once and then
dispatch; nodes never re-check steps.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

# Curves are produced block by block so that the temporaries of a deep expression stay a few
# hundred kilobytes, whatever the length of the curve.
BLOCK = 1 << 15


class Schedule:
    """Base class of every schedule node.

    Subclasses are frozen dataclasses: hashable, compared by structure, and printed by ``repr``
    as the expression that rebuilds them after ``from schedalg import *``.
    """

    _name: ClassVar[str]
    _positional: ClassVar[int] = 0

    # -- evaluation, implemented by nodes -----------------------------------------------------

    def _scalar(self, t: float) -> float:
        raise NotImplementedError

    def _array(self, t: Any, xp: ModuleType) -> Any:
        raise NotImplementedError

    def _fill(self, out: np.ndarray, start: int) -> None:
        out[...] = self._array(np.arange(start, start + out.shape[0], dtype=np.float64), np)

    # -- public evaluation ---------------------------------------------------------------------

    def __call__(self, t: Any) -> Any:
        """The value at step ``t``: a float for a scalar, else an array of the input's library."""
        # The adapter calls this every step: plain ints skip the abstract-class checks below.
        if type(t) is int and 0 <= t <= MAX_INTEGER_STEP:
            return float(self._scalar(t))
        if isinstance(t, numbers.Real) and not isinstance(t, bool):
            return float(self._scalar(_scalar_step(t)))
        if isinstance(t, np.ndarray):
            # NumPy turns 0-d results into scalars; the contract is an array of the input's shape.
            return np.asarray(self._array(_numpy_steps(t), np))
        return _evaluate_foreign(self, t)

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
        first, last = _step_range("curve", start, stop)
        n = last - first
        if out is None:
            out = np.empty(n, dtype=_float_dtype("curve", "dtype", dtype))
        elif not isinstance(out, np.ndarray) or out.shape != (n,):
            raise ValueError(
                f"curve(): out must be a 1-D NumPy array of length {n}, got "
                f"{type(out).__name__} of shape {getattr(out, 'shape', None)}"
            )
        else:
            _float_dtype("curve", "out's dtype", out.dtype)
        if out.dtype == np.float64 and out.flags.c_contiguous:
            for lo in range(0, n, BLOCK):
                self._fill(out[lo : lo + BLOCK], first + lo)
        else:
            scratch = np.empty(min(n, BLOCK), dtype=np.float64)
            for lo in range(0, n, BLOCK):
                block = scratch[: min(BLOCK, n - lo)]
                self._fill(block, first + lo)
                out[lo : lo + block.shape[0]] = block
        return out

    def chunks(
        self, start: int, stop: int | None = None, *, size: int = 1 << 20, dtype: Any = np.float64
    ) -> Iterator[np.ndarray]:
        """Stream the curve of ``[start, stop)`` in arrays of at most ``size`` steps.

        The arrays are fresh (not views of one buffer), so a consumer may keep them.
        """
        first, last = _step_range("chunks", start, stop)
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
            raise ValueError(f"chunks(): size must be a positive integer, got {size!r}")
        dtype = _float_dtype("chunks", "dtype", dtype)
        # Validated above, eagerly; the generator below runs only when iterated.
        return (
            self.curve(lo, min(lo + size, last), dtype=dtype) for lo in range(first, last, size)
        )

    # -- algebra --------------------------------------------------------------------------------

    def __mul__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import chain

        return chain(self, _coerce("*", other))

    def __rmul__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import chain

        return chain(_coerce("*", other), self)

    def __add__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import add

        return add(self, _coerce("+", other))

    def __radd__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import add

        return add(_coerce("+", other), self)

    def __sub__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import Difference

        return Difference(self, _coerce("-", other))

    def __rsub__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import Difference

        return Difference(_coerce("-", other), self)

    def __truediv__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import Quotient

        return Quotient(self, _coerce("/", other))

    def __rtruediv__(self, other: Any) -> Schedule:
        from schedalg.arithmetic import Quotient

        return Quotient(_coerce("/", other), self)

    def __neg__(self) -> Schedule:
        from schedalg.arithmetic import chain
        from schedalg.primitives import Constant

        return chain(Constant(-1.0), self)

    def __pos__(self) -> Schedule:
        return self

    def clip(self, begin: int, end: float = math.inf) -> Schedule:
        """``clip(self, begin, end)``: active on ``[begin, end)``, 1.0 before, held after."""
        from schedalg.combinators import clip

        return clip(self, begin, end)

    def __bool__(self) -> bool:
        # ``if schedule:`` or ``schedule or default`` is almost always a slip for ``is None``.
        raise TypeError("a Schedule has no truth value; compare with `is None` instead")

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised constructor argument (the dataclasses are frozen)."""
        object.__setattr__(self, name, value)

    # -- printing ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        parts = []
        for index, field in enumerate(dataclasses.fields(self)):  # type: ignore[arg-type]
            if not field.init or not field.repr:
                continue
            value = getattr(self, field.name)
            if index < self._positional:
                parts.append(format_value(value))
            elif field.default is dataclasses.MISSING or value != field.default:
                parts.append(f"{field.name}={format_value(value)}")
        return f"{self._name}({', '.join(parts)})"

    # Precedence of the printed form, so arithmetic only adds the parentheses it needs.
    _precedence: ClassVar[int] = 100


def format_value(value: Any) -> str:
    """How a parameter is written in a repr: lists for tuples, names for functions."""
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (Schedule, int, float, str, bool)) or value is None:
        return repr(value)
    if callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value))
    return repr(value)


def _coerce(op: str, other: Any) -> Schedule:
    from schedalg.primitives import Constant

    if isinstance(other, Schedule):
        return other
    if isinstance(other, numbers.Real) and not isinstance(other, bool):
        return Constant(other)
    raise TypeError(
        f"unsupported operand for {op}: a Schedule and {type(other).__name__} {other!r}"
    )


# -- step validation and array dispatch ---------------------------------------------------------


# Every integer up to 2**53 is a float64; beyond it, array and scalar evaluation could not agree.
MAX_INTEGER_STEP = 2**53


def _scalar_step(t: numbers.Real) -> int | float:
    if isinstance(t, numbers.Integral):
        step: int | float = int(t)
        if step > MAX_INTEGER_STEP:
            shown = repr(t) if len(repr(t)) <= 24 else f"{repr(t)[:20]}... ({len(repr(t))} digits)"
            raise ValueError(f"schedule step must be at most 2**53, got {shown}")
    else:
        step = float(t)
        if not math.isfinite(step):
            raise ValueError(f"schedule step must be finite, got {t!r}")
        if step.is_integer():
            step = int(step)
    if step < 0:
        raise ValueError(f"schedule step must be non-negative, got {t!r}")
    return step


def _numpy_steps(t: np.ndarray) -> np.ndarray:
    if t.dtype == np.bool_ or not (
        np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.floating)
    ):
        raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
    steps = t.astype(np.float64)
    if t.size:
        if np.issubdtype(t.dtype, np.floating) and not np.isfinite(steps).all():
            raise ValueError("schedule steps must be finite, got NaN or inf in the array")
        if steps.min() < 0:
            raise ValueError(f"schedule steps must be non-negative, got {steps.min()!r}")
        if np.issubdtype(t.dtype, np.integer) and t.max() > MAX_INTEGER_STEP:
            raise ValueError(f"schedule steps must be at most 2**53, got {t.max()!r}")
    return steps


def _float_dtype(fn: str, name: str, dtype: Any) -> np.dtype:
    # Integer or complex outputs would silently truncate or widen the float64 values.
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or not np.issubdtype(resolved, np.floating):
        raise TypeError(f"{fn}(): {name} must be a real floating-point dtype, got {dtype!r}")
    return resolved


def _step_range(fn: str, start: Any, stop: Any) -> tuple[int, int]:
    first, last = (0, start) if stop is None else (start, stop)
    for name, value in (("start", first), ("stop", last)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{fn}(): {name} must be a non-negative integer, got {value!r}")
    if last < first:
        raise ValueError(f"{fn}(): stop must be >= start, got start={first!r}, stop={last!r}")
    return int(first), int(last)


def is_jax(xp: ModuleType) -> bool:
    """JAX arrays are immutable and may be tracers: evaluate branches with ``where``."""
    return xp.__name__.startswith("jax")


def _evaluate_foreign(schedule: Schedule, t: Any) -> Any:
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - installed with the torch and jax extras
        raise TypeError(
            f"schedule steps must be a number or an array, got {type(t).__name__}; "
            "evaluating torch tensors or JAX arrays needs the array-api-compat package"
        ) from None
    try:
        xp = array_api_compat.array_namespace(t)
    except TypeError:
        raise TypeError(
            f"schedule steps must be a number or an array, got {type(t).__name__}"
        ) from None
    if is_jax(xp):
        return _evaluate_jax(schedule, t, xp)
    if xp.isdtype(t.dtype, "bool") or not xp.isdtype(t.dtype, ("integral", "real floating")):
        raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
    steps = xp.astype(t, xp.float64)
    if not bool(xp.all(xp.isfinite(steps))):
        raise ValueError("schedule steps must be finite, got NaN or inf in the array")
    if bool(xp.any(steps < 0)):
        raise ValueError(f"schedule steps must be non-negative, got {float(xp.min(steps))!r}")
    return schedule._array(steps, xp)


def _evaluate_jax(schedule: Schedule, t: Any, xp: ModuleType) -> Any:
    import jax

    if xp.isdtype(t.dtype, "bool") or not xp.isdtype(t.dtype, ("integral", "real floating")):
        raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # float32 unless jax_enable_x64
    steps = xp.astype(t, dtype)
    valid = xp.isfinite(steps) & (steps >= 0)
    if not isinstance(steps, jax.core.Tracer):
        if not bool(xp.all(valid)):
            raise ValueError("schedule steps must be finite and non-negative")
        return schedule._array(steps, xp)
    # Under tracing nothing can be raised: an invalid step yields NaN, never a wrapped value.
    safe = xp.where(valid, steps, 0)
    return xp.where(valid, schedule._array(safe, xp), xp.nan)


# -- helpers for nodes --------------------------------------------------------------------------

_RAMP = np.arange(BLOCK, dtype=np.float64)
_RAMP.flags.writeable = False


def steps_into(out: np.ndarray, start: int) -> np.ndarray:
    """Write the steps ``start, start + 1, ...`` into ``out`` (exact: integers below 2**53)."""
    n = out.shape[0]
    if n <= BLOCK:
        np.add(_RAMP[:n], float(start), out=out)
    else:
        out[...] = np.arange(start, start + n, dtype=np.float64)
    return out


def power(base: float, exponent: float) -> float:
    """``base ** exponent`` with the array rule for overflow (inf), not Python's OverflowError."""
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def select(t: Any, xp: ModuleType, edges: tuple[float, ...], pieces: list[Any]) -> Any:
    """Evaluate piece ``i`` on the steps in ``[edges[i-1], edges[i])`` with its local clock.

    ``pieces[i](local_t, xp)`` receives ``t - edges[i-1]`` (``t`` for the first piece) for the
    steps it owns. Eager libraries evaluate each piece on its own steps only; JAX evaluates every
    piece and selects with ``where`` (shapes must be static under ``jit``).
    """
    if is_jax(xp):
        result = pieces[0](t, xp)
        for edge, piece in zip(edges, pieces[1:]):
            later = t >= edge
            result = xp.where(later, piece(xp.where(later, t - edge, 0), xp), result)
        return result
    out = xp.empty_like(t)
    lower = 0.0
    for i, piece in enumerate(pieces):
        upper = edges[i] if i < len(edges) else math.inf
        mask = (t >= lower) & (t < upper) if i else t < upper
        if bool(xp.any(mask)):
            out[mask] = piece(t[mask] - lower, xp)
        lower = upper
    return out


def map_scalar(function: Any, t: Any, xp: ModuleType) -> Any:
    """Apply a scalar Python function elementwise (the fallback for unvectorisable callables)."""
    if is_jax(xp):
        raise TypeError(
            "this schedule calls a Python function that does not accept arrays, "
            "so it cannot be evaluated on JAX arrays; make the function vectorised"
        )
    flat = np.asarray(_to_numpy(t), dtype=np.float64).reshape(-1)
    values = np.fromiter((function(_as_step(v)) for v in flat), dtype=np.float64, count=flat.size)
    values = values.reshape(tuple(t.shape))
    if xp is np:
        return values
    return xp.asarray(values, dtype=t.dtype, device=t.device)


def _to_numpy(t: Any) -> Any:
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return t


def _as_step(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
