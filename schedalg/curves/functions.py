"""Schedules from Python functions: ``from_fn`` (torch's ``LambdaLR``) and ``cumulative``
(``MultiplicativeLR``). They cannot be written as text or data: their repr names the function."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import param
from schedalg.engine.backends import map_scalar, torch_compiling, traced


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
    integer steps.

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
        # must not cost O(t). The cache is not a field: invisible to equality and hashing.
        self._set("_prefix", [1.0])

    def _products_through(self, t: int) -> list[float]:
        prefix: list[float] = self._prefix  # type: ignore[attr-defined]
        while len(prefix) <= t:
            k = len(prefix)
            prefix.append(prefix[-1] * float(self.factor(k)))
        return prefix

    def _scalar(self, t: float) -> float:
        step = math.floor(t)
        return self._products_through(step)[step]

    def _array(self, t: Any, xp: Any) -> Any:
        if traced(xp):
            raise TypeError(
                "cumulative() multiplies a Python function's values: not traceable (JAX arrays, "
                "jax.jit, torch.compile); evaluate it on NumPy steps or one step at a time"
            )
        return map_scalar(self._scalar, t, xp)
