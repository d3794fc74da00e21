"""Where a schedule is evaluated: step validation (the one copy) and the array namespaces.

Nodes write their formula once, ``_formula(t, xp)``, against an array namespace ``xp``: NumPy,
torch or ``jax.numpy`` (through array-api-compat), or :data:`SCALAR`, the namespace of plain
Python floats that a single step is evaluated with. Under JAX tracing nothing can be raised and
shapes are static, so branches are taken with ``where`` (:func:`select`).
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any, Literal

import numpy as np

from schedalg.core.validators import integer

# Curves are produced block by block so that the temporaries of a deep expression stay a few
# hundred kilobytes, whatever the length of the curve.
BLOCK = 1 << 15

# Every integer up to 2**53 is a float64; beyond it, array and scalar evaluation could not agree.
MAX_INTEGER_STEP = 2**53

Evaluate = Callable[[Any, Any], Any]


# -- the namespace of one step ---------------------------------------------------------------


def power(base: float, exponent: float) -> float:
    """``base ** exponent`` with the array rule for overflow (inf), not Python's OverflowError."""
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def _where(condition: bool, a: Any, b: Any) -> Any:
    return a if condition else b


SCALAR: Any = SimpleNamespace(
    __name__="schedalg.scalar",
    cos=math.cos,
    sqrt=math.sqrt,
    floor=math.floor,
    where=_where,
    pow=power,
    minimum=min,
    maximum=max,
)


def pow_(base: Any, exponent: Any, xp: Any) -> Any:
    """``base ** exponent`` in any namespace (inf on overflow for floats, as arrays do).

    On NumPy arrays it is libm's ``pow``, element by element (``libm_power``): the value ``s(t)``
    computes, and torch's and MMEngine's schedulers in Python floats."""
    if xp is SCALAR:
        return power(base, exponent)
    if xp is np and (isinstance(base, np.ndarray) or isinstance(exponent, np.ndarray)):
        return libm_power(base, exponent)
    return base**exponent


def libm_power(base: Any, exponent: Any) -> np.ndarray:
    """``base ** exponent`` of NumPy arrays (or an array and a number) with libm's ``pow`` on
    each element, as arrays compute it (``ieee_power``: inf on overflow, NaN for a negative base
    with a fractional exponent).

    NumPy's own ``power`` is not libm's: for a scalar exponent it squares (``** 2.0``) or takes
    a square root (``** 0.5``), and on CPUs with AVX-512 its float64 loop is SIMD code, which
    differs from libm by an ulp at up to 5% of the values. A Python call per element costs
    about 80 ns, six times NumPy's loop; only the nodes that raise a power pay it."""
    b, e = np.broadcast_arrays(np.asarray(base, np.float64), np.asarray(exponent, np.float64))
    values = map(ieee_power, b.ravel().tolist(), e.ravel().tolist())
    return np.fromiter(values, np.float64, b.size).reshape(b.shape)


def libm_power_into(base: np.ndarray, exponent: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``libm_power`` written into ``out`` (the in-place form a curve fill folds)."""
    out[...] = libm_power(base, exponent)
    return out


# -- array libraries ---------------------------------------------------------------------------
# The one place that tells the array libraries apart. A node branches on ``library(xp)`` with a
# branch per library by name, never "JAX, else torch": an array of any other library is refused
# here, by name, instead of running code written for another one.

Library = Literal["scalar", "numpy", "torch", "jax"]

_TESTS: list[tuple[Library, Callable[[Any], bool]]] = []
try:
    import array_api_compat
except ImportError:  # pragma: no cover - NumPy alone: no namespace but NumPy's and SCALAR
    pass
else:
    # Taken from under array-api-compat's functools.lru_cache now, outside any graph: called
    # through it, torch.compile warns in every graph (and an unhashable namespace would raise).
    _cached: list[tuple[Library, Callable[[Any], bool]]] = [
        ("torch", array_api_compat.is_torch_namespace),
        ("jax", array_api_compat.is_jax_namespace),
        ("numpy", array_api_compat.is_numpy_namespace),
    ]
    _TESTS = [(name, getattr(test, "__wrapped__", test)) for name, test in _cached]


def library(xp: Any) -> Library:
    """The library of the namespace ``xp``: ``"scalar"`` (:data:`SCALAR`), ``"numpy"``,
    ``"torch"`` or ``"jax"``; any other is refused with a TypeError naming it."""
    if xp is SCALAR:
        return "scalar"
    if xp is np:
        return "numpy"
    for name, test in _TESTS:
        if test(xp):
            return name
    raise unsupported(xp)


def array_library(t: Any) -> Library:
    """The library of the array ``t``, refused by name as :func:`library` does."""
    if isinstance(t, np.ndarray):
        return "numpy"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):  # no namespace lookup: compile-safe
        return "torch"
    import array_api_compat

    return library(array_api_compat.array_namespace(t))


def unsupported(xp: Any) -> TypeError:
    """The refusal of a namespace (or a library's name) that no branch is written for."""
    return TypeError(
        f"schedalg evaluates on NumPy, torch and JAX arrays, got an array of {library_name(xp)}"
    )


def library_name(xp: Any) -> str:
    """``"array_api_strict"``, ``"dask.array"``, ``"cupy"`` (not array-api-compat's wrapper);
    anything without a ``__name__`` (a library named by a string) as it prints."""
    name = getattr(xp, "__name__", None)
    return name.removeprefix("array_api_compat.") if isinstance(name, str) else str(xp)


def host(t: Any, xp: Any) -> Any:
    """The values of the array ``t`` in a NumPy array, for a table built in NumPy."""
    found = library(xp)
    if found == "torch":
        return t.detach().cpu().numpy()
    if found in ("numpy", "jax"):
        return np.asarray(t)
    raise unsupported(xp)


def like(values: np.ndarray, other: Any, xp: Any) -> Any:
    """NumPy float64 ``values`` as an array of ``other``'s library, dtype and device."""
    found = library(xp)
    if found == "numpy":
        return values
    if found == "jax":
        return xp.asarray(values, dtype=other.dtype)
    if found == "torch":
        return xp.asarray(values, dtype=other.dtype, device=other.device)
    raise unsupported(xp)


def torch_compiling() -> bool:
    """Whether torch.compile (dynamo) is tracing: steps are then symbolic, as under
    ``jax.jit``, and nothing may depend on their values in Python."""
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.compiler.is_compiling())


def traced(xp: Any) -> bool:
    """Take branches with ``where`` on every step (shapes static, no value read in Python):
    JAX arrays (eager or under ``jit``) and torch tensors under ``torch.compile``."""
    found = library(xp)
    return found == "jax" or (found == "torch" and torch_compiling())


# What a node keeps beside its parameters, rebuilt on first use and never pickled: its one-step
# functions and what they know of the tree (onestep), its node constants (node_constant), one
# period of its curve (_periods), whether it runs Python code (_steps), whether its fill may
# take two threads (_threads).
KEPT = (
    "_held_value",
    "_peak_value",
    "_scalar_fn",
    "_step",
    "_returns_float",
    "_held_from",
    "_period_values",
    "_steps_run_python",
    "_threadsafe_tree",
)


def node_constant(node: Any, name: str, compute: Callable[[], float]) -> float:
    """A number that depends on ``node`` alone (a held tail, a warm-up's peak), computed on first
    use and kept in the node as a plain attribute (``functools.cached_property`` takes a lock
    that torch.compile refuses)."""
    value: float | None = node.__dict__.get(name)
    if value is None:
        value = compute()
        object.__setattr__(node, name, value)
    return value


def constant_in_graph(node: Any, name: str) -> bool:
    """Whether the node constant ``name`` must be computed inside the graph, on the array path:
    under torch.compile before any eager use has kept it (the one-step path, with its
    ``bisect``, cannot be traced by dynamo)."""
    return name not in node.__dict__ and torch_compiling()


# -- step validation -------------------------------------------------------------------------


def _shown(t: Any) -> str:
    text = repr(t)
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} digits)"


def scalar_step(t: Any) -> int | float:
    """A valid single step: an int, or a float that is not integral."""
    if isinstance(t, numbers.Integral):
        step: int | float = int(t)
        if step > MAX_INTEGER_STEP:
            raise ValueError(f"schedule step must be at most 2**53, got {_shown(t)}")
    else:
        step = float(t)
        if not math.isfinite(step):
            raise ValueError(f"schedule step must be finite, got {t!r}")
        if step.is_integer():
            step = int(step)
    if step < 0:
        raise ValueError(f"schedule step must be non-negative, got {t!r}")
    return step


def _step_kind(t: Any, xp: Any) -> str | None:
    """``'integral'``, ``'real floating'`` or None (bool, complex, objects: not steps)."""
    if xp is np:
        if t.dtype == np.bool_:
            return None
        if np.issubdtype(t.dtype, np.integer):
            return "integral"
        return "real floating" if np.issubdtype(t.dtype, np.floating) else None
    if xp.isdtype(t.dtype, "bool"):
        return None
    for kind in ("integral", "real floating"):
        if xp.isdtype(t.dtype, kind):
            return kind
    return None


def array_steps(t: Any, xp: Any, dtype: Any) -> Any:
    """The steps of an array as floats of ``dtype``, after the contract's checks."""
    kind = _step_kind(t, xp)
    if kind is None:
        raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
    steps = xp.astype(t, dtype)
    if math.prod(t.shape):
        if kind == "real floating" and not bool(xp.all(xp.isfinite(steps))):
            raise ValueError("schedule steps must be finite, got NaN or inf in the array")
        if bool(xp.any(steps < 0)):
            raise ValueError(f"schedule steps must be non-negative, got {_minimum(steps, xp)!r}")
        if kind == "integral" and _beyond_floats(t, xp) and bool(xp.any(t > MAX_INTEGER_STEP)):
            raise ValueError(f"schedule steps must be at most 2**53, got {_maximum(t, xp)!r}")
    return steps


def _beyond_floats(t: Any, xp: Any) -> bool:
    """Whether integers of ``t``'s dtype may exceed 2**53 (int64, uint64): narrower ones are not
    compared with it, which torch would wrap to the dtype (``int32 > 2**53`` compares with 0)."""
    return bool(xp.iinfo(t.dtype).max > MAX_INTEGER_STEP)


def _minimum(steps: Any, xp: Any) -> Any:
    return steps.min() if xp is np else float(xp.min(steps))


def _maximum(t: Any, xp: Any) -> Any:
    return t.max() if xp is np else int(xp.max(t))


def step_range(fn: str, start: Any, stop: Any) -> tuple[int, int]:
    """``(first, last)`` of ``curve(n)`` / ``curve(start, stop)``."""
    first, last = (0, start) if stop is None else (start, stop)
    for name, value in (("start", first), ("stop", last)):
        integer(fn, name, value, minimum=0, wrong_type=ValueError, integral_floats=False)
    if last < first:
        raise ValueError(f"{fn}(): stop must be >= start, got start={first!r}, stop={last!r}")
    return int(first), int(last)


def chunked(
    curve: Callable[..., np.ndarray], start: Any, stop: Any, size: Any, dtype: Any
) -> Iterator[np.ndarray]:
    """``Schedule.chunks``: the arguments validated now, the blocks computed as iterated."""
    first, last = step_range("chunks", start, stop)
    integer("chunks", "size", size, minimum=1, wrong_type=ValueError, integral_floats=False)
    dtype = float_dtype("chunks", "dtype", dtype)
    return (curve(lo, min(lo + size, last), dtype=dtype) for lo in range(first, last, size))


def float_dtype(fn: str, name: str, dtype: Any) -> np.dtype[Any]:
    # Integer or complex outputs would silently truncate or widen the float64 values.
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or not np.issubdtype(resolved, np.floating):
        raise TypeError(f"{fn}(): {name} must be a real floating-point dtype, got {dtype!r}")
    return resolved


# -- dispatch ----------------------------------------------------------------------------------


def evaluate_numpy(evaluate: Evaluate, t: np.ndarray) -> np.ndarray:
    if isinstance(t, np.ma.MaskedArray):  # a masked step has no value to give: not guessed
        raise TypeError(
            "schedule steps must be a plain array, got a masked array; pass t.compressed() "
            "or np.ma.filled(t, step)"
        )
    # NumPy turns 0-d results into scalars; the contract is an array of the input's shape.
    return np.asarray(evaluate(array_steps(t, np, np.float64), np))


def evaluate_foreign(evaluate: Evaluate, t: Any) -> Any:
    """Evaluate on a torch tensor or a JAX array (also a tracer), in its own namespace."""
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - installed with the torch and jax extras
        raise TypeError(
            f"schedule steps must be a number or an array, got {type(t).__name__}; "
            "evaluating torch tensors or JAX arrays needs the array-api-compat package"
        ) from None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(t, torch.Tensor):
        # Named directly (no namespace lookup), which torch.compile traces without a break.
        import array_api_compat.torch

        xp: Any = array_api_compat.torch
        compiling = torch_compiling()
        t = _comparable(t, torch, compiling)
        if compiling:
            return _evaluate_traced(evaluate, t, xp, torch.float64)
        return evaluate(array_steps(t, xp, torch.float64), xp)
    try:
        xp = array_api_compat.array_namespace(t)
    except TypeError:
        raise TypeError(
            f"schedule steps must be a number or an array, got {type(t).__name__}"
        ) from None
    try:
        found = library(xp)
    except TypeError:  # refused before any node runs code written for another library
        raise TypeError(
            "schedule steps must be a number or a NumPy, torch or JAX array, got an array of "
            f"{library_name(xp)} ({type(t).__name__})"
        ) from None
    if found == "jax":
        return _evaluate_jax(evaluate, t, xp)
    if found == "numpy":  # a NumPy scalar that is no number (bool_, complex128): refused there
        return evaluate(array_steps(t, xp, xp.float64), xp)
    raise unsupported(xp)  # torch's namespace, yet no torch.Tensor


def _comparable(t: Any, torch: Any, traced: bool) -> Any:
    """torch's uint16/32/64 have no comparisons or reductions: their steps as int64 (uint64 as a
    view, where a step of 2**63 or more reads negative: NaN when traced, refused here)."""
    if t.dtype in (torch.uint16, torch.uint32):
        return t.to(torch.int64)
    if t.dtype != torch.uint64:
        return t
    wide = t.view(torch.int64)
    if not traced and bool((wide < 0).any()):
        top = int(wide[wide < 0].max()) + 2**64
        raise ValueError(f"schedule steps must be at most 2**53, got {top!r}")
    return wide


def _evaluate_jax(evaluate: Evaluate, t: Any, xp: ModuleType) -> Any:
    import jax

    dtype = jax.dtypes.canonicalize_dtype(np.float64)  # float32 unless jax_enable_x64
    if not isinstance(t, jax.core.Tracer):
        if _step_kind(t, xp) is None:
            raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
        steps = xp.astype(t, dtype)
        if not bool(xp.all(xp.isfinite(steps) & (steps >= 0))):
            raise ValueError("schedule steps must be finite and non-negative")
        return evaluate(steps, xp)
    return _evaluate_traced(evaluate, t, xp, dtype)


def _evaluate_traced(evaluate: Evaluate, t: Any, xp: Any, dtype: Any) -> Any:
    """Under ``jax.jit`` or torch.compile nothing can be raised on a value: an invalid step
    (negative, NaN, inf, an integer beyond 2**53) yields NaN, never a wrapped value."""
    kind = _step_kind(t, xp)
    if kind is None:  # the dtype is static: this is raised while tracing
        raise TypeError(f"schedule steps must be integers or reals, got an array of {t.dtype}")
    steps = xp.astype(t, dtype)
    valid = xp.isfinite(steps) & (steps >= 0)
    # torch's int64 may pass 2**53; JAX's integers are int32 unless x64.
    if kind == "integral" and library(xp) == "torch" and _beyond_floats(t, xp):
        valid = valid & (t <= MAX_INTEGER_STEP)
    safe = xp.where(valid, steps, xp.zeros_like(steps))
    return xp.where(valid, evaluate(safe, xp), xp.full_like(steps, math.nan))


def ieee_divide(a: float, b: float) -> float:
    """IEEE division, as arrays do it: ``x / 0`` is ``±inf`` or NaN, not ZeroDivisionError."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def ieee_power(a: float, b: float) -> float:
    """``a ** b`` as arrays compute it: NaN for a negative base with a fractional exponent, inf
    (signed for odd integer exponents) on overflow or for ``0 ** negative``, never an exception
    or a complex number."""
    odd = float(b).is_integer() and abs(b) < 2**53 and int(b) % 2 == 1
    try:
        return math.pow(a, b)
    except OverflowError:
        return -math.inf if a < 0 and odd else math.inf
    except ValueError:
        if a == 0:  # 0 ** negative
            return math.copysign(math.inf, a) if odd else math.inf
        return math.nan


# -- helpers for nodes --------------------------------------------------------------------------


def select(t: Any, xp: Any, edges: tuple[float, ...], pieces: list[Evaluate]) -> Any:
    """Evaluate piece ``i`` on the steps in ``[edges[i-1], edges[i])`` with its local clock.

    ``pieces[i](local_t, xp)`` receives ``t - edges[i-1]`` (``t`` for the first piece) for the
    steps it owns. Eager libraries evaluate each piece on its own steps only; JAX evaluates every
    piece and selects with ``where`` (shapes must be static under ``jit``).
    """
    if traced(xp):
        result = pieces[0](t, xp)
        for edge, piece in zip(edges, pieces[1:]):
            later = t >= edge
            local = xp.where(later, t - edge, xp.zeros_like(t))
            result = xp.where(later, piece(local, xp), result)
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


def map_scalar(function: Callable[[Any], Any], t: Any, xp: Any) -> Any:
    """Apply a scalar Python function elementwise (the fallback for unvectorisable callables)."""
    if traced(xp):
        raise TypeError(
            "this schedule calls a Python function that does not accept arrays, "
            "so it cannot be evaluated on JAX arrays or under torch.compile; make the "
            "function vectorised"
        )
    flat = np.asarray(host(t, xp), dtype=np.float64).reshape(-1)
    values = np.fromiter((function(_as_step(v)) for v in flat), dtype=np.float64, count=flat.size)
    return like(values.reshape(tuple(t.shape)), t, xp)


def _as_step(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)
