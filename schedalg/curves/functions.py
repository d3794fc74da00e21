"""Schedules from Python functions: ``from_fn`` (torch's ``LambdaLR``) and ``cumulative``
(``MultiplicativeLR``). They cannot be written as text or data: their repr names the function."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import param
from schedalg.curves import recurrence
from schedalg.engine.backends import host, like, map_scalar, torch_compiling, traced


def call_vectorised(function: Callable[[Any], Any], t: Any, xp: Any) -> Any:
    """Call ``function`` on the whole array; map it elementwise if it does not take arrays."""
    try:
        result = function(t)
    except Exception:
        return map_scalar(function, t, xp)
    try:
        result = xp.asarray(result, dtype=t.dtype) if not hasattr(result, "shape") else result
        return xp.astype(result, t.dtype) + xp.zeros_like(t)
    except Exception:
        return map_scalar(function, t, xp)


class from_fn(Schedule):
    """``from_fn(function, vectorized=None)``: ``function(t)`` (torch's ``LambdaLR``).

    ``function`` is first tried on whole arrays; if it raises or returns the wrong shape it is
    called once per step (``vectorized=False`` skips the try, ``True`` forbids the fallback).
    The one node that cannot be serialized: its repr names the function.

    >>> from schedalg import from_fn
    >>> s = from_fn(lambda t: 1 / (1 + t))
    >>> s(3)
    0.25
    """

    function: Callable[[Any], Any] = param(check.a_function())
    vectorized: bool | None = param(check.optional(check.a_flag()), default=None)
    # User code: never called from two threads at once (it holds the GIL anyway).
    _threadsafe_fill: ClassVar[bool] = False

    def _scalar(self, t: float) -> float:
        return float(self.function(t))

    def _array(self, t: Any, xp: Any) -> Any:
        if self.vectorized is not True and torch_compiling():
            raise TypeError(
                f"from_fn(): {self.function!r} is a Python function, which torch.compile "
                "cannot evaluate on a step tensor; pass vectorized=True if it takes tensors, or "
                "evaluate the schedule outside the compiled function"
            )
        if self.vectorized is False:
            return map_scalar(self.function, t, xp)
        if self.vectorized is True:
            return xp.astype(xp.asarray(self.function(t)), t.dtype) + xp.zeros_like(t)
        return call_vectorised(self.function, t, xp)


class cumulative(Schedule):
    """``cumulative(factor)``: ``factor(1) * factor(2) * ... * factor(floor(t))``, 1.0 at ``t = 0``.

    torch's ``MultiplicativeLR``, multiplied left to right as torch does; constant between
    integer steps. A scan: the running products are kept (8 bytes a step) and extended as later
    steps are asked for, one call of ``factor`` each, up to ``MAX_SCAN`` (50,000,000) steps; a
    later step is refused (``schedalg.curves.recurrence``).

    >>> from schedalg import cumulative
    >>> s = cumulative(lambda k: 0.5)
    >>> s(0), s(3)
    (1.0, 0.125)
    """

    factor: Callable[[int], float] = param(check.a_function())
    # User code, and running products extended as steps are asked for.
    _threadsafe_fill: ClassVar[bool] = False

    def _check(self) -> None:
        # Running products are cached: the adapter asks for t = 0, 1, 2, ... and each call
        # must not cost O(t). The cache is not a field: invisible to equality and hashing. It
        # is an array with room to grow (doubling) and the count of products it holds; factor
        # is called for the steps asked for, never ahead of them.
        self._set("_prefix", (np.ones(1), 1))

    def _products_through(self, step: int) -> np.ndarray:
        """The running products of the steps ``0 ... step`` (and perhaps more)."""
        prefix, count = self._prefix  # type: ignore[attr-defined]
        if step < count:
            return prefix
        if step > recurrence.MAX_SCAN:
            raise recurrence.scan_refused(
                "cumulative",
                step,
                f"{step} products of its factor ({self!r})",
                "evaluate earlier steps, or write the curve as a closed form (exponential, "
                "step_decay, affine_steps with an end)",
            )
        if step >= prefix.shape[0]:
            grown = np.empty(min(max(step + 1, 2 * prefix.shape[0]), recurrence.MAX_SCAN + 1))
            grown[:count] = prefix[:count]
            prefix = grown
        value, factor = float(prefix[count - 1]), self.factor
        for k in range(count, step + 1):
            value = value * float(factor(k))
            prefix[k] = value
        self._set("_prefix", (prefix, step + 1))
        return prefix

    def _scalar(self, t: float) -> float:
        step = math.floor(t)
        return float(self._products_through(step)[step])

    def _array(self, t: Any, xp: Any) -> Any:
        if traced(xp):
            raise TypeError(
                "cumulative() multiplies a Python function's values: not traceable (JAX arrays, "
                "jax.jit, torch.compile); evaluate it on NumPy steps or one step at a time"
            )
        steps = np.floor(np.asarray(host(t, xp), dtype=np.float64)).astype(np.int64)
        if not steps.size:
            return like(np.zeros(steps.shape), t, xp)
        prefix = self._products_through(int(steps.max()))
        return like(np.asarray(prefix[steps], dtype=np.float64), t, xp)
