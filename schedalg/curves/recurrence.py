"""Stateful schedulers that update the current value in place, as a pure function of the step.

``affine_steps`` is the composition of interleaved affine updates (MMEngine's CosineAnnealing
and Poly towards an ``eta_min`` stepping between other schedulers' updates, torch's
``ChainedScheduler`` over recursive formulas): no closed form, but an exact scan. A window may
be unbounded (``end = inf``): the scan's table then grows with the largest step asked for.

Every node that scans (runs one Python step per update or per step, and keeps what it found)
stops at the same limit, :data:`MAX_SCAN`, and refuses a step beyond it with
:func:`scan_refused`, which names the node, the step and the limit: ``affine_steps`` (updates),
``cumulative`` (products of its factor, ``schedalg.curves.functions``) and a ``consumed`` clock
kept as a prefix sum (``schedalg.curves.clocks``). Their tables hold 8 bytes a step or update
(16 for ``affine_steps``, which keeps each update's step), so a scan at the limit takes at most
a few hundred megabytes and, one Python step at a time, tens of seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Event, param
from schedalg.engine import backends
from schedalg.engine.backends import library, torch_compiling

MAX_SCAN = 50_000_000  # the longest scan any node runs: updates, products or steps
MAX_UPDATES = MAX_SCAN  # affine_steps' name for it
_FIRST_HORIZON = 1024  # an unbounded scan's first table covers the steps up to this one
_PIECE = 1 << 18  # updates scanned at once: the temporaries of one piece stay small


def scan_refused(fn: str, step: float, needed: str, hint: str) -> ValueError:
    """The refusal of a step whose scan would run more than :data:`MAX_SCAN` Python steps:
    ``fn(): step t needs <needed>, more than the MAX_SCAN a scan runs; <hint>``."""
    return ValueError(
        f"{fn}(): step {step!r} needs {needed}, more than the {MAX_SCAN} a scan runs "
        f"(schedalg.curves.recurrence.MAX_SCAN); {hint}"
    )


def _counts(*, minimum: int, unbounded: bool = False) -> check.Check:
    """A non-empty list of integers >= ``minimum`` (or ``inf`` where ``unbounded``), in any
    order; an entry is named by index."""

    def validate(fn: str, name: str, value: Any) -> tuple[int | float, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError(f"{fn}(): {name} must be a list of integers, got {value!r}")
        items = tuple(value)
        if not items:
            raise ValueError(f"{fn}(): {name} must not be empty, got {list(items)!r}")
        return tuple(
            math.inf
            if unbounded and v == math.inf
            else check.integer(fn, f"{name}[{i}]", v, minimum=minimum)
            for i, v in enumerate(items)
        )

    return validate


class affine_steps(Schedule):
    """``affine_steps(r_1, ..., r_k, targets=(e_1, ..., e_k), every=(n_1, ...), begins=(b_1,
    ...), ends=(z_1, ...), offsets=(o_1, ...), start=1.0)``: the value after interleaved affine
    updates.

    Update ``i`` fires at the steps ``t = g * n_i`` for ``g`` in ``[b_i, z_i)`` (``z_i = inf``:
    for ever), with its own local step ``u = g - b_i``, and sets
    ``v <- e_i(u) + (v - e_i(u)) * r_i(u) + o_i(u)`` (``offsets`` empty: every ``o_i = 0``).
    The value at step ``t`` is ``start`` after every update fired at a step ``<= floor(t)``, the
    updates of one step applied in the order given. ``e_i = 0`` makes an update multiplicative,
    ``e_i = 0, r_i = 1`` additive (both exact). This is MMEngine's ``eta_min + (v - eta_min) *
    r`` (CosineAnnealing, Poly) and its multiplicative ``v * r`` updates stepped by
    ``ParamSchedulerHook``, and torch's recursive ``CosineAnnealingLR`` step in a
    ``ChainedScheduler``; a scan, not a closed form: single steps read a cached prefix, arrays
    one searched table. With an unbounded window the table is built up to the largest step
    asked for (growing by doubling, never recomputing a value); a step needing more than
    ``MAX_SCAN`` updates (50,000,000, the limit of every scan) is refused, and so is a step
    traced by ``jax.jit`` (its size is not known: evaluate on concrete steps).

    >>> from schedalg import affine_steps, constant
    >>> s = affine_steps(constant(0.5), targets=[constant(0.0)], every=[2], begins=[0], ends=[3])
    >>> [s(t) for t in range(7)]
    [0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125]
    """

    ratios: tuple[Schedule, ...] = param(check.schedules(item="ratio"), variadic=True)
    targets: tuple[Schedule, ...] = param(check.schedules(item="target"), positional=False)
    every: tuple[int, ...] = param(_counts(minimum=1), positional=False)
    begins: tuple[int, ...] = param(_counts(minimum=0), positional=False)
    ends: tuple[int | float, ...] = param(_counts(minimum=1, unbounded=True), positional=False)
    offsets: tuple[Schedule, ...] = param(
        check.schedules(item="offset"), positional=False, default=()
    )
    start: float = param(check.a_number(), default=1.0)
    # The scan's table is extended as later steps are asked for, one Python step per update.
    _threadsafe_fill: ClassVar[bool] = False

    if TYPE_CHECKING:

        def __init__(
            self,
            *ratios: Schedule,
            targets: Iterable[Schedule],
            every: Iterable[int],
            begins: Iterable[int],
            ends: Iterable[int | float],
            offsets: Iterable[Schedule] = (),
            start: float = 1.0,
        ) -> None: ...

    def _check(self) -> None:
        k = len(self.ratios)
        for name in ("targets", "every", "begins", "ends"):
            if len(getattr(self, name)) != k:
                raise ValueError(
                    f"affine_steps(): {name} must have one entry per ratio ({k}), "
                    f"got {list(getattr(self, name))!r}"
                )
        if self.offsets and len(self.offsets) != k:
            raise ValueError(
                f"affine_steps(): offsets must be empty or have one entry per ratio ({k}), "
                f"got {list(self.offsets)!r}"
            )
        for i, (b, z) in enumerate(zip(self.begins, self.ends)):
            if z <= b:
                raise ValueError(
                    f"affine_steps(): ends[{i}] must be larger than begins[{i}], got "
                    f"begins[{i}]={b!r}, ends[{i}]={z!r}"
                )
        count = sum(z - b for b, z in zip(self.begins, self.ends) if z != math.inf)
        if count > MAX_SCAN:
            raise ValueError(
                f"affine_steps(): the updates' bounded windows hold {count} updates, more than "
                f"the {MAX_SCAN} a scan runs; end the windows where the values stop changing"
            )
        # The scan's table, built on first use. Not a field: invisible to equality and hashing.
        self._set("_table", None)

    @property
    def unbounded(self) -> bool:
        """Whether some update fires for ever (an end is ``inf``)."""
        return math.inf in self.ends

    def events(self) -> Iterator[Event]:
        if not self.unbounded:
            yield Event(self.last_step, "end", "affine updates end")

    @property
    def last_step(self) -> int | float:
        """The last step at which an update fires: the value is held from there on (``inf``
        when an update fires for ever)."""
        if self.unbounded:
            return math.inf
        return max((int(z) - 1) * n for n, z in zip(self.every, self.ends))

    def _count(self, step: float) -> float:
        """How many updates fire at the steps ``<= step``."""
        if step < 0:
            return 0
        if step == math.inf:
            return math.inf if self.unbounded else sum(self.ends) - sum(self.begins)
        return sum(
            max(0, min(z, step // n + 1) - b) for n, b, z in zip(self.every, self.begins, self.ends)
        )

    def _updates(
        self, low: int, high: int | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """The updates firing at the steps in ``(low, high]``, in the scan's order: their steps,
        ratios, targets and offsets (``None`` without offsets)."""
        steps, order, ratio, target, offset = [], [], [], [], []
        for i, (r, e, n, b, z) in enumerate(
            zip(self.ratios, self.targets, self.every, self.begins, self.ends)
        ):
            first = max(b, low // n + 1 if low >= 0 else 0)
            stop = z if high == math.inf else min(z, high // n + 1)
            if stop <= first:
                continue
            g = np.arange(first, stop, dtype=np.int64)
            local = (g - b).astype(np.float64)
            steps.append(g * n)
            order.append(np.full(g.shape, i, dtype=np.int64))
            ratio.append(np.broadcast_to(np.asarray(r(local), dtype=np.float64), local.shape))
            target.append(np.broadcast_to(np.asarray(e(local), dtype=np.float64), local.shape))
            if self.offsets:
                o = self.offsets[i](local)
                offset.append(np.broadcast_to(np.asarray(o, dtype=np.float64), local.shape))
        if not steps:
            empty = np.zeros(0)
            return np.zeros(0, dtype=np.int64), empty, empty, (empty if self.offsets else None)
        all_steps = np.concatenate(steps)
        sort = np.lexsort((np.concatenate(order), all_steps))
        offsets = np.concatenate(offset)[sort] if self.offsets else None
        return all_steps[sort], np.concatenate(ratio)[sort], np.concatenate(target)[sort], offsets

    def _scan(self, step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The steps at which updates fire (sorted, with repeats) and the value after each,
        covering every update at a step ``<= step`` (bounded: every update)."""
        table = self._table  # type: ignore[attr-defined]
        if not self.unbounded:
            if table is None:
                table = self._extend(None, math.inf)
            return table[0], table[1]
        horizon = -1 if table is None else table[2]
        if table is None or (step is not None and step > horizon):
            wanted = horizon if step is None else step
            table = self._extend(table, self._horizon(wanted, horizon))
        return table[0], table[1]

    def _horizon(self, step: float, horizon: int) -> int:
        """The table's next horizon: at least ``step``, doubling (from ``_FIRST_HORIZON``) while
        that stays within ``MAX_SCAN`` updates, refusing a step needing more."""
        if step == math.inf or self._count(step) > MAX_SCAN:
            needed = "infinitely many" if step == math.inf else f"{self._count(step)}"
            raise scan_refused(
                "affine_steps",
                step,
                f"{needed} updates of its unbounded windows",
                f"evaluate earlier steps, or end the windows where the values stop changing "
                f"({self!r})",
            )
        target = max(math.floor(step), 2 * horizon + 1, _FIRST_HORIZON)
        if self._count(target) > MAX_SCAN:
            target = math.floor(step)
        return target

    def _extend(self, table: Any, high: int | float) -> tuple[np.ndarray, np.ndarray, Any]:
        """The table extended by the updates up to step ``high``, continuing the scan: written
        in place into arrays of the final size, piece by piece (``_pieces``), so that the
        temporaries stay small however long the scan."""
        low = -1 if table is None else table[2]
        kept = 0 if table is None else table[0].shape[0]
        size = kept + int(self._count(high) - self._count(low))
        steps, values = np.empty(size, dtype=np.int64), np.empty(size)
        previous = float(self.start)
        if table is not None:
            steps[:kept], values[:kept] = table[0], table[1]
            previous = float(table[1][-1]) if kept else previous
        position = kept
        for first, last in self._pieces(low, high):
            found, ratios, targets, offsets = self._updates(first, last)
            end = position + found.shape[0]
            steps[position:end] = found
            _affine_scan(previous, ratios, targets, offsets, values[position:end])
            previous = float(values[end - 1]) if end > position else previous
            position = end
        table = (steps[:position], values[:position], high)
        self._set("_table", table)
        return table

    def _pieces(self, low: int, high: int | float) -> Iterator[tuple[int, int | float]]:
        """``(low, high]`` cut at steps into pieces of at most ``_PIECE`` updates (a step's
        updates in one piece; a step holds at most one update per ratio)."""
        while self._count(high) - self._count(low) > _PIECE:
            base = self._count(low)
            # The last step whose updates still fit: bisect the count, a sum per window.
            inside, beyond = low + 1, int(self.last_step if high == math.inf else high)
            while beyond - inside > 1:
                middle = (inside + beyond) // 2
                if self._count(middle) - base <= _PIECE:
                    inside = middle
                else:
                    beyond = middle
            yield low, inside
            low = inside
        yield low, high

    def _scalar(self, t: float) -> float:
        steps, values = self._scan(t)
        i = int(np.searchsorted(steps, math.floor(t), side="right"))
        return float(values[i - 1]) if i else float(self.start)

    def _largest(self, t: Any, xp: Any) -> float | None:
        """The largest step in ``t`` (``None`` without one), for an unbounded scan's table."""
        if library(xp) == "jax":
            import jax

            if isinstance(t, jax.core.Tracer):
                raise ValueError(
                    "affine_steps(): a window is unbounded (ends has inf), so under jax.jit the "
                    "table's size depends on the traced step; evaluate on concrete steps (NumPy, "
                    f"torch or an un-jitted JAX array) instead ({self!r})"
                )
        values = np.asarray(backends.host(t, xp), dtype=np.float64)
        return float(values.max()) if values.size else None

    def _array(self, t: Any, xp: Any) -> Any:
        if torch_compiling():
            raise TypeError(
                "affine_steps() looks its values up in a table scanned in NumPy: it cannot be "
                "traced by torch.compile; evaluate it outside the compiled function"
            )
        steps, values = self._scan(self._largest(t, xp) if self.unbounded else None)
        padded = np.concatenate(([float(self.start)], values))
        found = library(xp)
        if found == "numpy":
            return padded[np.searchsorted(steps, np.floor(t), side="right")]
        if found == "jax":
            import jax.numpy as jnp

            index = jnp.searchsorted(jnp.asarray(steps), jnp.floor(t), side="right")
            return jnp.asarray(padded, dtype=t.dtype)[index]
        if found == "torch":
            import torch

            position = torch.searchsorted(
                torch.as_tensor(steps, device=t.device),
                torch.floor(t).to(torch.int64).contiguous(),
                right=True,
            )
            return torch.as_tensor(padded, dtype=t.dtype, device=t.device)[position]
        raise backends.unsupported(xp)


def _affine_scan(
    start: float,
    ratios: np.ndarray,
    targets: np.ndarray,
    offsets: np.ndarray | None,
    out: np.ndarray,
) -> None:
    """``v <- e + (v - e) * r (+ o)`` for each ``(r, e, o)`` in turn, from ``start``: every
    value, written into ``out`` (Python floats, a chunk of them at a time)."""
    v = start
    for lo in range(0, ratios.shape[0], _CHUNK):
        hi = lo + _CHUNK
        chunk = []
        if offsets is None:
            for r, e in zip(ratios[lo:hi].tolist(), targets[lo:hi].tolist()):
                v = e + (v - e) * r
                chunk.append(v)
        else:
            for r, e, o in zip(
                ratios[lo:hi].tolist(), targets[lo:hi].tolist(), offsets[lo:hi].tolist()
            ):
                v = e + (v - e) * r + o
                chunk.append(v)
        out[lo:hi] = chunk


_CHUNK = 1 << 14  # values converted to Python floats at once
