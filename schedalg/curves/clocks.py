"""Token and sample clocks: a schedule written in tokens (or samples), applied per step.

``consumed(per_step)`` is the exact running total of an integer amount per step — the tokens or
samples seen before step ``t``. ``in_tokens(s, tokens_per_step)`` is ``warp(s, consumed(...))``:
``s`` read at the number of tokens seen, whatever the batch size does. The total is a closed form
when the amount per step is piecewise constant with known runs (a constant, a ``batch_ramp``, a
ramp held after a known step — ``linear`` or ``piecewise``, rounded or not — a ``sequence`` of
those, times a constant integer such as a sequence length): exact, and traceable under
``jax.jit``. Any other amount is a cached prefix sum (NumPy and torch).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.algebra.timewarps import warp
from schedalg.algebra.tree import nodes
from schedalg.core import validators as check
from schedalg.core.node import Child, Clock, Event, nearest, param
from schedalg.curves import recurrence
from schedalg.curves.integers import _Integral, a_name, batch_ramp, gather, rounded, run_index
from schedalg.curves.phases import piecewise
from schedalg.curves.primitives import linear
from schedalg.engine.backends import host, library, like, torch_compiling

UNITS = ("tokens", "samples")
# The prefix sum of a schedule without runs grows to at most this many steps (8 bytes a step):
# the limit of every scan (schedalg.curves.recurrence.MAX_SCAN).
MAX_PREFIX = recurrence.MAX_SCAN  # read from there when a prefix sum grows
# A ramp held after at most this many steps is read into runs (a closed form) at construction.
MAX_RAMP = 1_000_000

Runs = tuple[list[int], list[float]]


def _not_increasing(value: Any, step: int) -> ValueError:
    return ValueError(
        f"consumed(): per_step must be a positive integer at every step (a clock that does not "
        f"increase is refused), got {value!r} at step {step}"
    )


def _amount(value: float, step: int) -> int:
    if not (math.isfinite(value) and value >= 1 and float(value).is_integer()):
        raise _not_increasing(value, step)
    return int(value)


def runs_of(schedule: Schedule) -> Runs | None:
    """``(starts, sizes)`` of a piecewise constant per-step amount (from step ``starts[i]`` on,
    ``sizes[i]``), or None when ``schedule`` is not built from constants, ``batch_ramp``, held
    ramps and ``sequence``, times constants. The sizes are not checked here (``consumed`` does)."""
    if isinstance(schedule, constant):
        return [0], [schedule.value]
    if isinstance(schedule, batch_ramp):
        starts, sizes = schedule.runs()
        return starts, [float(size) for size in sizes]
    if isinstance(schedule, chain):
        return _scaled(schedule)
    if isinstance(schedule, sequence):
        return _pieces(schedule)
    return _ramp(schedule)


def _held_from(schedule: Schedule) -> int | None:
    """The step from which a ramp holds its last value (a ``linear``, a ``piecewise``, either
    rounded), or None."""
    if isinstance(schedule, rounded):
        return _held_from(schedule.schedule)
    if isinstance(schedule, linear):
        return schedule.steps
    if isinstance(schedule, piecewise):
        return int(schedule.points[-1][0])
    return None


def _ramp(schedule: Schedule) -> Runs | None:
    """The runs of a ramp held after a known step, from its curve up to there (so a rounded
    linear or piecewise-linear batch size is a closed form too, traceable under ``jax.jit``)."""
    held = _held_from(schedule)
    if held is None or held > MAX_RAMP:
        return None
    values = schedule.curve(held + 1, dtype=np.float64)
    changes = np.flatnonzero(np.diff(values)) + 1
    starts = [0, *changes.tolist()]
    return starts, values[starts].tolist()


def _scaled(product: chain) -> Runs | None:
    factor = 1.0
    inner: Runs | None = None
    for item in product.factors:
        if isinstance(item, constant):
            factor *= item.value
        elif inner is None:
            inner = runs_of(item)
            if inner is None:
                return None
        else:
            return None
    if inner is None:
        return [0], [factor]
    starts, sizes = inner
    return starts, [factor * size for size in sizes]


def _pieces(s: sequence) -> Runs | None:
    edges = (0, *s.at, math.inf)
    starts: list[int] = []
    sizes: list[float] = []
    for i, piece in enumerate(s.pieces):
        found = runs_of(piece)
        if found is None:
            return None
        for start, size in zip(*found):
            if edges[i] + start < edges[i + 1]:
                starts.append(int(edges[i] + start))
                sizes.append(size)
    return starts, sizes


class consumed(_Integral):
    """``consumed(per_step, unit='tokens')``: ``per_step(0) + ... + per_step(floor(t) - 1)``,
    the tokens (or samples) seen before step ``t`` — 0 at step 0, an exact integer.

    ``per_step`` (a number or a schedule: a constant, a ``batch_ramp`` times the sequence
    length, any integer-valued schedule) must be a positive integer at every step. ``unit``
    names the clock for ``describe`` and ``plot``. Exact while the total stays below ``2**53``
    (9e15 tokens); under ``jax.jit`` in float32 the total is rounded to float32 unless computed
    through ``to_optax`` (which evaluates in float64).

    >>> from schedalg import batch_ramp, consumed
    >>> consumed(2048)(10), consumed(batch_ramp(32, 32, 320, 128))(8)
    (20480, 480)
    """

    per_step: Schedule = param()
    unit: str = param(a_name(*UNITS), default="tokens")

    if TYPE_CHECKING:  # the public signature: a number is a constant amount per step

        def __init__(self, per_step: Schedule | float, unit: str = "tokens") -> None: ...

    def __post_init__(self) -> None:
        per_step: Any = self.per_step
        if check.is_real(per_step):
            per_step = constant(float(per_step))
        self._set("per_step", check.a_schedule()("consumed", "per_step", per_step))
        super().__post_init__()

    def _check(self) -> None:
        found = runs_of(self.per_step)
        table = None
        if found is not None:
            starts, sizes = found
            table = _totals(starts, [_amount(size, step) for step, size in zip(starts, sizes)])
        # The closed form's table, or the prefix sum grown on demand: not fields, so invisible
        # to equality and hashing.
        self._set("_runs", table)
        self._set("_prefix", np.zeros(1, dtype=np.int64))
        # The prefix sum grows as later steps are asked for: fills of two blocks at once only
        # with the closed form.
        self._set("_threadsafe_fill", table is not None)

    def children(self) -> Iterator[Child]:
        # The amount's own events (a ramp's end, where a batch size stops changing) are not
        # the clock's: a schedule read on it keeps changing there. The clock marks the step
        # from which it advances evenly instead.
        yield Child("per_step", None, self.per_step, Clock(placed=False))

    def events(self) -> Iterator[Event]:
        table: tuple[list[int], list[int], list[int]] | None = self._runs  # type: ignore[attr-defined]
        if table is not None and len(table[0]) > 1:
            yield Event(table[0][-1], "boundary", f"steady {self.unit} per step")

    def __repr__(self) -> str:
        per_step: Any = self.per_step
        amount = per_step._as_number()
        shown = repr(per_step) if amount is None or not amount.is_integer() else str(int(amount))
        unit = "" if self.unit == "tokens" else f", unit={self.unit!r}"
        return f"consumed({shown}{unit})"

    # -- the closed form: runs of equal amounts ---------------------------------------------

    def _scalar(self, t: float) -> float:
        step = math.floor(t)
        table: tuple[list[int], list[int], list[int]] | None = self._runs  # type: ignore[attr-defined]
        if table is None:
            return float(self._prefix_through(step)[step])
        starts, sizes, totals = table
        i = bisect.bisect_right(starts, step) - 1
        return float(totals[i] + (step - starts[i]) * sizes[i])

    def _array(self, t: Any, xp: Any) -> Any:
        table: tuple[list[int], list[int], list[int]] | None = self._runs  # type: ignore[attr-defined]
        if table is None:
            return self._prefix_array(t, xp)
        starts, sizes, totals = table
        floor = xp.floor(t)
        if len(starts) == 1:
            return floor * float(sizes[0])
        index = run_index(t, xp, starts)
        before = gather(totals, index, t, xp)
        return before + (floor - gather(starts, index, t, xp)) * gather(sizes, index, t, xp)

    # -- the fallback: a prefix sum ------------------------------------------------------------

    def _prefix_through(self, step: int) -> np.ndarray:
        prefix: np.ndarray = self._prefix  # type: ignore[attr-defined]
        if step < prefix.shape[0]:
            return prefix
        limit = recurrence.MAX_SCAN
        if step > limit:
            raise recurrence.scan_refused(
                "consumed",
                step,
                f"a prefix sum of {step} values of per_step={self.per_step!r}",
                "write the amount per step from constants, batch_ramp and linear or piecewise "
                "ramps for a closed form",
            )
        have = prefix.shape[0] - 1
        want = min(max(step, 2 * have, 1024), limit)
        values = self.per_step.curve(have, want)
        bad = ~(np.isfinite(values) & (values >= 1) & (values == np.floor(values)))
        if bad.any():
            first = int(np.argmax(bad))
            raise _not_increasing(float(values[first]), have + first)
        grown = np.concatenate([prefix, prefix[-1] + np.cumsum(values.astype(np.int64))])
        self._set("_prefix", grown)
        return grown

    def _prefix_array(self, t: Any, xp: Any) -> Any:
        tracer = None
        found = library(xp)
        if found == "jax":
            import jax

            tracer = "jax.jit" if isinstance(t, jax.core.Tracer) else None
        elif found == "torch" and torch_compiling():
            tracer = "torch.compile"
        if tracer is not None:
            raise TypeError(
                f"consumed(): the running total of {self.per_step!r} is a prefix sum of its "
                f"values, which {tracer} cannot trace; write the amount per step from "
                "constants, batch_ramp, (rounded) linear or piecewise ramps and sequence (a "
                "closed form), or evaluate with NumPy"
            )
        steps = np.floor(np.asarray(host(t, xp), dtype=np.float64))
        top = int(steps.max()) if steps.size else 0
        values = self._prefix_through(top)[steps.astype(np.int64)].astype(np.float64)
        return like(values, t, xp)


def _totals(starts: list[int], sizes: list[int]) -> tuple[list[int], list[int], list[int]]:
    totals = [0]
    for i in range(1, len(starts)):
        totals.append(totals[-1] + (starts[i] - starts[i - 1]) * sizes[i - 1])
    return starts, sizes, totals


def in_tokens(schedule: Schedule, tokens_per_step: Schedule | float) -> Schedule:
    """``schedule`` written in tokens, read per step: ``warp(schedule, consumed(tokens_per_step))``
    (OLMo-core's ``units=tokens``, Composer's ``tok``). ``tokens_per_step`` is a number or a
    schedule, e.g. ``4096 * batch_ramp(...)`` for a sequence length times a ramped batch.

    >>> from schedalg import cosine, in_tokens
    >>> s = in_tokens(cosine(10**6), 1000)
    >>> s, s(500), s(1000)
    (warp(cosine(1000000), consumed(1000)), 0.5, 0.0)
    """
    return warp(schedule, _clock("in_tokens", "tokens_per_step", tokens_per_step, "tokens"))


def in_samples(schedule: Schedule, samples_per_step: Schedule | float) -> Schedule:
    """``schedule`` written in samples, read per step: ``warp(schedule, consumed(samples_per_step,
    unit='samples'))`` (Megatron-LM's ``--lr-decay-samples``, Composer's ``sp``), e.g. with
    ``samples_per_step = batch_ramp(...)``.

    >>> from schedalg import batch_ramp, in_samples, linear
    >>> s = in_samples(linear(1.0, 0.0, 480), batch_ramp(32, 32, 320, 128))
    >>> s(0), s(8)
    (1.0, 0.0)
    """
    return warp(schedule, _clock("in_samples", "samples_per_step", samples_per_step, "samples"))


def _clock(fn: str, name: str, per_step: Any, unit: str) -> consumed:
    """``consumed(per_step, unit)``, its errors worded as ``fn``'s, with ``name`` for per_step."""
    try:
        return consumed(per_step, unit=unit)
    except (TypeError, ValueError) as error:
        text = str(error).replace("consumed(): per_step", f"{fn}(): {name}")
        raise type(error)(text) from None


def resolve_clock(fn: str, schedule: Schedule, clock: Any) -> Schedule | None:
    """The clock ``describe``/``plot`` show beside the steps: None for ``'steps'``, the
    ``consumed`` clock of that unit in ``schedule`` for ``'tokens'``/``'samples'``, or a
    schedule given as the clock itself."""
    if clock is None or clock in ("step", "steps"):
        return None
    if isinstance(clock, Schedule):
        return clock
    if not isinstance(clock, str) or clock not in UNITS:
        hint = nearest(clock, ("steps", *UNITS)) if isinstance(clock, str) else ""
        raise ValueError(
            f"{fn}(): clock must be 'steps', 'tokens', 'samples' or a clock schedule, "
            f"got {clock!r}{hint}"
        )
    for node in nodes(schedule):
        if isinstance(node, consumed) and node.unit == clock:
            return node
    raise ValueError(
        f"{fn}(): clock={clock!r} names no consumed(..., unit={clock!r}) in the schedule "
        f"(in_tokens and in_samples build one); pass the clock itself, e.g. "
        f"clock=consumed(2048, unit={clock!r})"
    )


__all__ = ["consumed", "in_samples", "in_tokens", "resolve_clock", "runs_of"]
