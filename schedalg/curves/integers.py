"""Integer-valued schedules: batch size, sequence length, a window size.

An integer-valued node evaluates to Python ints on one step and to integer arrays on many
(NumPy and torch ``int64``; JAX's default integer, ``int32`` unless ``jax_enable_x64`` is on),
and its ``curve`` is ``int64`` unless a float dtype is asked for. Inside arithmetic it is a
schedule like any other (``4096 * batch_ramp(...)`` is a float-valued product of exact
integers). Two nodes:

- ``rounded(schedule, multiple_of, minimum, maximum, rounding)``: any schedule rounded to a
  multiple and clamped (OLMo-core's batch-size and sequence-length schedules);
- ``batch_ramp(start, increment, samples, final, multiple_of)``: Megatron-LM's batch-size
  ramp-up (``--rampup-batch-size start increment samples``), a ramp by samples consumed, read
  per step.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Event, nearest, param
from schedalg.engine import backends
from schedalg.engine.backends import MAX_INTEGER_STEP, library

_ROUNDINGS = ("down", "nearest", "up")


def a_name(*options: str) -> check.Check:
    """One of ``options``; a misspelt one is refused with the nearest suggested."""

    def validate(fn: str, name: str, value: Any) -> str:
        if value in options:
            return str(value)
        hint = nearest(value, options) if isinstance(value, str) else ""
        shown = ", ".join(repr(o) for o in options)
        raise ValueError(f"{fn}(): {name} must be one of {shown}, got {value!r}{hint}")

    return validate


def to_integers(value: Any) -> Any:
    """A float-valued result of an integer node as integers of its own library."""
    found = backends.array_library(value)
    if found == "numpy":
        return value.astype(np.int64)
    if found == "torch":
        import torch

        return value.to(torch.int64)
    if found == "jax":
        import jax

        return value.astype(jax.dtypes.canonicalize_dtype(np.int64))
    raise backends.unsupported(found)


def _integer_dtype(fn: str, dtype: Any) -> np.dtype[Any] | None:
    """The NumPy integer dtype asked for, None for a real floating-point one; anything else is
    refused (a complex or boolean curve would change the values)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is not None and np.issubdtype(resolved, np.integer):
        return resolved
    if resolved is not None and np.issubdtype(resolved, np.floating):
        return None
    raise TypeError(f"{fn}(): dtype must be an integer or real floating-point dtype, got {dtype!r}")


class _Integral(Schedule):
    """The evaluation of an integer-valued node: ints, and integer curves by default."""

    def __call__(self, t: Any) -> Any:
        if type(t) is int and 0 <= t <= MAX_INTEGER_STEP:
            return int(self._scalar(t))
        if isinstance(t, numbers.Real) and not isinstance(t, bool):
            return int(self._scalar(backends.scalar_step(t)))
        return to_integers(Schedule.__call__(self, t))

    def curve(
        self,
        start: int,
        stop: int | None = None,
        *,
        dtype: Any = np.int64,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The curve of steps ``[0, start)`` (or ``[start, stop)``) as ``int64`` integers; a
        float ``dtype`` (or ``out`` array) gives the same values as floats."""
        if out is not None and not isinstance(out, np.ndarray):
            return Schedule.curve(self, start, stop, out=out)  # refused there, with its words
        wanted = _integer_dtype("curve", dtype if out is None else out.dtype)
        if wanted is None:
            return Schedule.curve(self, start, stop, dtype=dtype, out=out)
        values = Schedule.curve(self, start, stop)
        if out is None:
            return values.astype(wanted)
        if out.shape != values.shape:
            raise ValueError(
                f"curve(): out must be a 1-D NumPy array of length {values.shape[0]}, got "
                f"shape {out.shape}"
            )
        out[...] = values
        return out

    def chunks(
        self, start: int, stop: int | None = None, *, size: int = 1 << 20, dtype: Any = np.int64
    ) -> Iterator[np.ndarray]:
        """Stream the curve of ``[start, stop)`` in arrays of at most ``size`` steps (``int64``
        unless a float ``dtype`` is asked for)."""
        if _integer_dtype("chunks", dtype) is None:
            return Schedule.chunks(self, start, stop, size=size, dtype=dtype)
        first, last = backends.step_range("chunks", start, stop)
        check.integer(
            "chunks", "size", size, minimum=1, wrong_type=ValueError, integral_floats=False
        )
        return (
            self.curve(lo, min(lo + size, last), dtype=dtype) for lo in range(first, last, size)
        )


def is_integral(schedule: Schedule) -> bool:
    """Whether ``schedule`` evaluates to integers (a ``rounded``, ``batch_ramp``, ``consumed``)."""
    return isinstance(schedule, _Integral)


def _finite_or_raise(fn: str, values: Any, xp: Any) -> None:
    """Refuse NaN or infinite values to round, where values can be read: not on JAX arrays nor
    under torch.compile (a graph cannot raise on a value; there they round to NaN)."""
    if backends.traced(xp) or not math.prod(values.shape):
        return
    if not bool(xp.all(xp.isfinite(values))):
        raise ValueError(f"{fn}(): the schedule it rounds is NaN or infinite at some steps")


class rounded(_Integral):
    """``rounded(schedule, multiple_of=1, minimum=None, maximum=None, rounding='down')``:
    ``clamp(multiple_of * R(schedule(t) / multiple_of), minimum, maximum)``, an integer.

    ``R`` is ``floor`` (``'down'``, as Megatron-LM truncates), ``floor(x + 1/2)``
    (``'nearest'``, halves up) or ``ceil`` (``'up'``). ``minimum`` defaults to ``multiple_of``
    (a batch size is never 0); both bounds must be multiples of ``multiple_of``. Computed in
    float64: exact for the integers a batch size or a sequence length takes. A NaN or infinite
    value to round is refused, except on JAX arrays and under torch.compile, where nothing can
    be raised on a value: there it stays NaN inside an expression (an integer result read from
    it is undefined, as for an invalid step).

    >>> from schedalg import linear, rounded
    >>> s = rounded(linear(100, 1000, 10), multiple_of=64)
    >>> s(0), s(5), s(10), s.curve(3)
    (64, 512, 960, array([ 64, 128, 256]))
    """

    schedule: Schedule = param(check.a_schedule())
    multiple_of: int = param(check.an_integer(minimum=1), default=1)
    minimum: int | None = param(check.optional(check.an_integer(minimum=0)), default=None)
    maximum: int | None = param(check.optional(check.an_integer(minimum=1)), default=None)
    rounding: str = param(a_name(*_ROUNDINGS), default="down")

    def _check(self) -> None:
        for name in ("minimum", "maximum"):
            bound = getattr(self, name)
            if bound is not None and bound % self.multiple_of:
                raise ValueError(
                    f"rounded(): {name} must be a multiple of multiple_of={self.multiple_of}, "
                    f"got {bound!r}"
                )
        if self.maximum is not None and self.maximum < self._low:
            raise ValueError(
                f"rounded(): maximum must be at least minimum={self._low}, got {self.maximum!r}"
            )

    @property
    def _low(self) -> int:
        return self.multiple_of if self.minimum is None else self.minimum

    def _round(self, q: Any, xp: Any) -> Any:
        if self.rounding == "down":
            return xp.floor(q)
        if self.rounding == "nearest":
            return xp.floor(q + 0.5)
        return -xp.floor(-q)

    def _scalar(self, t: float) -> float:
        value = self.schedule._scalar(t)
        if not math.isfinite(value):
            raise ValueError(f"rounded(): the schedule it rounds is {value!r} at step {t!r}")
        result = max(self.multiple_of * self._round(value / self.multiple_of, math), self._low)
        return float(result if self.maximum is None else min(result, self.maximum))

    def _array(self, t: Any, xp: Any) -> Any:
        values = self.schedule._array(t, xp)
        _finite_or_raise("rounded", values, xp)
        result = self.multiple_of * self._round(values / self.multiple_of, xp)
        result = xp.where(result < self._low, float(self._low), result)
        if self.maximum is not None:
            result = xp.where(result > self.maximum, float(self.maximum), result)
        return result


# -- tables of runs: a per-step value constant from each start on ------------------------------


def run_index(t: Any, xp: Any, starts: list[int]) -> Any:
    """For each step of ``t``, the index of the run it falls in: the last start ``<= floor(t)``
    (``starts`` begins with 0, increasing), in ``t``'s own library (also under ``jax.jit``)."""
    floor = xp.floor(t)
    found = library(xp)
    if found == "numpy":
        return np.searchsorted(np.asarray(starts, dtype=np.float64), floor, side="right") - 1
    if found == "jax":
        import jax.numpy as jnp

        table = jnp.asarray(np.asarray(starts, dtype=np.float64), dtype=t.dtype)
        return jnp.searchsorted(table, floor, side="right") - 1
    if found == "torch":
        import torch

        edges = torch.as_tensor(starts, dtype=t.dtype, device=t.device)
        return torch.searchsorted(edges, floor.contiguous(), right=True) - 1
    raise backends.unsupported(xp)


def gather(values: list[int], index: Any, t: Any, xp: Any) -> Any:
    """``values[index]`` as floats of ``t``'s dtype, in ``t``'s library (for torch a ``take``
    from a constant table: graph-safe under torch.compile, where indexing with a 0-d index
    tensor would read its value in Python)."""
    table = np.asarray(values, dtype=np.float64)
    found = library(xp)
    if found == "numpy":
        return table[index]
    if found == "jax":
        import jax.numpy as jnp

        return jnp.asarray(table, dtype=t.dtype)[index]
    if found == "torch":
        import torch

        return torch.take(torch.as_tensor(table, dtype=t.dtype, device=t.device), index)
    raise backends.unsupported(xp)


def _megatron_stage(consumed: int, samples: int, per_increment: float, increments: int) -> int:
    """Megatron-LM's ramp-up stage at ``consumed`` samples, with its own float operations."""
    if consumed > samples:
        return increments
    return int(consumed / per_increment)


class batch_ramp(_Integral):
    """``batch_ramp(start, increment, samples, final, multiple_of=1)``: the global batch size of
    step ``t`` in Megatron-LM's batch-size ramp-up, ``b(t) = m * floor(B(S(t)) / m)``.

    ``S(t) = b(0) + ... + b(t - 1)`` is the number of samples consumed before step ``t``;
    ``B(S) = final`` once ``S > samples``, else ``start + increment * int(S / (samples / n))``
    with ``n = (final - start) / increment`` increments (Megatron's ``--rampup-batch-size
    start increment samples`` and ``--global-batch-size final``, float operations as Megatron
    does them); ``m = multiple_of`` is ``micro_batch_size * data_parallel_size`` under
    ``decrease_batch_size_if_needed`` (1: no rounding). Computed once as a table of runs of
    equal batch sizes, so a step costs a search; ``consumed(batch_ramp(...))`` is exact.

    >>> from schedalg import batch_ramp
    >>> s = batch_ramp(32, 32, 320, 128)
    >>> [s(t) for t in range(7)], s.curve(7).tolist()[-1]
    ([32, 32, 32, 32, 64, 64, 96], 96)
    """

    start: int = param(check.an_integer(minimum=1))
    increment: int = param(check.an_integer(minimum=1))
    samples: int = param(check.an_integer(minimum=1))
    final: int = param(check.an_integer(minimum=1))
    multiple_of: int = param(check.an_integer(minimum=1), default=1)

    def _check(self) -> None:
        gap = self.final - self.start
        if gap < 0:
            raise ValueError(
                f"batch_ramp(): final must be at least start={self.start}, got {self.final!r}"
            )
        if gap % self.increment:
            raise ValueError(
                f"batch_ramp(): final - start ({gap}) must be a multiple of "
                f"increment={self.increment}, got final={self.final!r}"
            )
        if self.multiple_of > self.start:
            raise ValueError(
                f"batch_ramp(): multiple_of must be at most start={self.start} (a smaller batch "
                f"rounds down to 0), got {self.multiple_of!r}"
            )
        # The table of runs, built here (a step under torch.compile then reads a constant of the
        # node; built inside a graph, it would be kept there and recompile the next call). Not a
        # field: invisible to equality and hashing.
        self._set("_table", self._build())

    def runs(self) -> tuple[list[int], list[int]]:
        """``(starts, sizes)``: from step ``starts[i]`` on, the batch size is ``sizes[i]``."""
        table: tuple[list[int], list[int]] = self._table  # type: ignore[attr-defined]
        return table

    def _build(self) -> tuple[list[int], list[int]]:
        n = (self.final - self.start) // self.increment
        m = self.multiple_of
        if n == 0:
            return [0], [self.final // m * m]
        per = self.samples / n

        def stage(c: int) -> int:
            return _megatron_stage(c, self.samples, per, n)

        starts, sizes = [0], []
        step, seen = 0, 0
        while True:
            k = stage(seen)
            size = (self.start + k * self.increment) // m * m
            sizes.append(size)
            if k == n:
                return starts, sizes
            # The first sample count of a later stage, found with Megatron's own arithmetic.
            boundary = max(math.ceil((k + 1) * per), seen + 1)
            while boundary - 1 > seen and stage(boundary - 1) > k:
                boundary -= 1
            while stage(boundary) == k:
                boundary += 1
            count = -(-(boundary - seen) // size)
            step, seen = step + count, seen + count * size
            starts.append(step)

    def events(self) -> Iterator[Event]:
        starts, _ = self.runs()
        yield Event(starts[-1], "end", "batch ramp ends")

    def _scalar(self, t: float) -> float:
        starts, sizes = self.runs()
        return float(sizes[bisect.bisect_right(starts, math.floor(t)) - 1])

    def _array(self, t: Any, xp: Any) -> Any:
        starts, sizes = self.runs()
        if len(starts) == 1:
            return xp.full_like(t, float(sizes[0]))
        return gather(sizes, run_index(t, xp, starts), t, xp)
