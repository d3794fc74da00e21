"""Arrays of steps evaluated through the curve, and CPU torch tensors evaluated in NumPy.

``s(array)`` of integer steps that are consecutive (``arange``-like, of any shape) is the curve
of their range; integer steps spread over a range at most twice their number (shuffled,
repeated, strided by 2) are gathered from the curve of that range. The curve (each node's
``_fill``) gives the same values as the array path bit for bit (``tests/test_numpy_curve.py``
and ``tests/test_array_paths.py`` check it) and is much cheaper: held tails are filled, pieces
are given only their own steps. Anything else takes the array path (``_array``), as does every
expression holding Python code (``from_fn``, ``cumulative``, a ``cyclic`` ``scale_fn``): a
user's function is handed the steps asked for, in the caller's own library, as it always was.

torch tensors on the CPU (not traced by ``torch.compile``, not requiring grad) are read as
NumPy arrays without a copy and evaluated as NumPy arrays are: one set of values for the CPU,
through the same fast paths. CUDA tensors, traced or differentiable ones and JAX arrays are
evaluated in their own library (``backends.evaluate_foreign``).
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import numpy as np

from schedalg.core.node import distinct_nodes, holds_function
from schedalg.engine import backends, fills
from schedalg.engine import threads as _threads
from schedalg.engine.backends import MAX_INTEGER_STEP


class Schedule(Protocol):
    """What this module needs of a ``schedalg.Schedule``: its array formula and its curve fill
    (a Protocol, so that the engine needs no import of the algebra above it)."""

    __dict__: dict[str, Any]

    def _array(self, t: Any, xp: Any) -> Any: ...

    def _fill(self, out: np.ndarray, start: int) -> None: ...


# The range whose curve is gathered holds at most this many steps per step asked for: the curve
# never evaluates steps far beyond the ones asked for (a scan's refusal reads the same).
DENSITY = 2

_CACHE = "_steps_run_python"


def evaluate_numpy(schedule: Schedule, t: np.ndarray) -> np.ndarray:
    """``s(t)`` of a NumPy array: through the curve where that pays, else the array path."""
    # No size threshold: measured, the curve is as cheap as the array path from one step on
    # (each costs one Python call per node; the curve skips the pieces a step is not in).
    # A subclass (np.matrix, a masked array) keeps the array path: its own indexing rules.
    if type(t) is np.ndarray and t.dtype.kind in "iu" and t.size and not runs_python(schedule):
        flat = t.reshape(-1)
        first, last, consecutive = _extent(flat)
        if first >= 0 and last <= MAX_INTEGER_STEP:  # else the array path raises, in its words
            values = _through_curve(schedule, flat, first, last, consecutive)
            if values is not None:
                return values.reshape(t.shape)
    return backends.evaluate_numpy(schedule._array, t)


def evaluate_foreign(schedule: Schedule, t: Any) -> Any:
    """``s(t)`` of a torch tensor or a JAX array: CPU torch tensors through NumPy."""
    torch = sys.modules.get("torch")
    if torch is not None and type(t) is torch.Tensor and _on_host(t, torch):
        values = _torch_through_numpy(schedule, t, torch)
        if values is not None:
            return values
    return backends.evaluate_foreign(schedule._array, t)


def runs_python(schedule: Schedule) -> bool:
    """Whether the expression calls a Python function given by the user (a parameter that is
    callable and not a schedule), kept in the node once found."""
    known: bool | None = schedule.__dict__.get(_CACHE)
    if known is None:
        known = any(holds_function(node) for node in distinct_nodes(schedule))
        object.__setattr__(schedule, _CACHE, known)
    return known


def _extent(flat: np.ndarray) -> tuple[int, int, bool]:
    """``(min, max, consecutive)`` of non-empty integer steps; consecutive is found cheaply
    (the ends ``n - 1`` apart, strictly increasing) and then needs no ``min`` or ``max``."""
    first, last = int(flat[0]), int(flat[-1])
    if last - first == flat.shape[0] - 1 and bool((flat[1:] > flat[:-1]).all()):
        return first, last, True
    return int(flat.min()), int(flat.max()), False


def _through_curve(
    schedule: Schedule, flat: np.ndarray, first: int, last: int, consecutive: bool
) -> np.ndarray | None:
    """The values of valid steps ``flat`` from the curve of ``[first, last]``, or None where
    the range is too sparse or the curve raises (the array path then runs and raises its own
    error, or has none: a step between the ones asked for may be one that cannot be
    evaluated)."""
    if not consecutive and last - first + 1 > DENSITY * flat.shape[0]:
        return None
    _threads.allowed()  # a bad SCHEDALG_THREADS raises here as in curve(), not swallowed below
    try:
        curve = fills.fill_curve(
            schedule._fill, first, last + 1, np.float64, None, backends.BLOCK, schedule
        )
    except (ValueError, TypeError, ArithmeticError):  # what refusing a step raises
        return None
    return curve if consecutive else np.take(curve, flat - first)


def _on_host(t: Any, torch: Any) -> bool:
    """A CPU tensor whose operations nothing records: no grad, no torch.compile tracing, no
    dispatch mode (``make_fx``, a fake-tensor mode) that must see them."""
    return bool(
        t.device.type == "cpu"
        and not t.requires_grad
        and not backends.torch_compiling()
        and not torch._C._len_torch_dispatch_stack()
    )


_TORCH_INTEGERS = ("uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64")
_TORCH_FLOATS = ("float16", "float32", "float64")


def _torch_through_numpy(schedule: Schedule, t: Any, torch: Any) -> Any:
    """A CPU tensor evaluated as the NumPy array it shares memory with, or None where it
    keeps torch's path: Python code in the expression, a dtype NumPy lacks (bfloat16) or
    steps that are not (bool, complex), invalid steps (raised there, in torch's words), or a
    tensor NumPy cannot view (a functorch wrapper)."""
    name = str(t.dtype).removeprefix("torch.")
    if name not in _TORCH_INTEGERS + _TORCH_FLOATS or runs_python(schedule):
        return None
    try:
        host = t.numpy()
    except (RuntimeError, TypeError):
        return None
    if not _valid(host):
        return None
    # Float steps too: one set of values for the CPU (NumPy's, equal to ``s(t)`` wherever the
    # NumPy array path is), whatever the dtype of the steps.
    values = evaluate_numpy(schedule, host)
    if not values.flags.writeable:
        values = values.copy()
    return torch.from_numpy(values)


def _valid(host: np.ndarray) -> bool:
    """The checks of ``backends.array_steps``, without its messages (NumPy words them
    differently: torch's path raises them)."""
    if not host.size:
        return True
    if host.dtype.kind == "f":
        return bool(np.isfinite(host).all() and host.min() >= 0)
    return bool(host.min() >= 0 and host.max() <= MAX_INTEGER_STEP)
