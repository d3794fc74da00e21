"""Stateful schedulers that update the current value in place, as a pure function of the step.

``affine_steps`` is the composition of interleaved affine updates (MMEngine's CosineAnnealing
and Poly towards an ``eta_min`` stepping between other schedulers' updates, torch's
``ChainedScheduler`` over recursive formulas): no closed form, but an exact scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from schedalg import _validate as check
from schedalg.backends import is_jax, torch_compiling
from schedalg.expression import Schedule
from schedalg.node import Event, param

MAX_UPDATES = 50_000_000  # the scan's length limit: every update is one Python step


def _counts(*, minimum: int) -> check.Check:
    """A non-empty list of integers >= ``minimum``, in any order; an entry is named by index."""

    def validate(fn: str, name: str, value: Any) -> tuple[int, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise TypeError(f"{fn}(): {name} must be a list of integers, got {value!r}")
        items = tuple(value)
        if not items:
            raise ValueError(f"{fn}(): {name} must not be empty, got {list(items)!r}")
        return tuple(
            check.integer(fn, f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(items)
        )

    return validate


class affine_steps(Schedule):
    """``affine_steps(r_1, ..., r_k, targets=(e_1, ..., e_k), every=(n_1, ...), begins=(b_1,
    ...), ends=(z_1, ...), start=1.0)``: the value after interleaved affine updates.

    Update ``i`` fires at the steps ``t = g * n_i`` for ``g`` in ``[b_i, z_i)``, with its own
    local step ``u = g - b_i``, and sets ``v <- e_i(u) + (v - e_i(u)) * r_i(u)``. The value at
    step ``t`` is ``start`` after every update fired at a step ``<= floor(t)``, the updates of one
    step applied in the order given. ``e_i = 0`` makes an update multiplicative, ``r_i = 1`` an
    identity (both exact). This is MMEngine's ``eta_min + (v - eta_min) * r`` (CosineAnnealing,
    Poly) and its multiplicative ``v * r`` updates stepped by ``ParamSchedulerHook``; a scan, not
    a closed form: single steps read a cached prefix, arrays one searched table.

    >>> from schedalg import affine_steps, constant
    >>> s = affine_steps(constant(0.5), targets=[constant(0.0)], every=[2], begins=[0], ends=[3])
    >>> [s(t) for t in range(7)]
    [0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125]
    """

    ratios: tuple[Schedule, ...] = param(check.schedules(item="ratio"), variadic=True)
    targets: tuple[Schedule, ...] = param(check.schedules(item="target"), positional=False)
    every: tuple[int, ...] = param(_counts(minimum=1), positional=False)
    begins: tuple[int, ...] = param(_counts(minimum=0), positional=False)
    ends: tuple[int, ...] = param(_counts(minimum=1), positional=False)
    start: float = param(check.a_number(), default=1.0)

    if TYPE_CHECKING:

        def __init__(
            self,
            *ratios: Schedule,
            targets: Iterable[Schedule],
            every: Iterable[int],
            begins: Iterable[int],
            ends: Iterable[int],
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
        for i, (b, z) in enumerate(zip(self.begins, self.ends)):
            if z <= b:
                raise ValueError(
                    f"affine_steps(): ends[{i}] must be larger than begins[{i}], got "
                    f"begins[{i}]={b!r}, ends[{i}]={z!r}"
                )
        count = sum(z - b for b, z in zip(self.begins, self.ends))
        if count > MAX_UPDATES:
            raise ValueError(
                f"affine_steps(): the updates' windows hold {count} updates, more than the "
                f"{MAX_UPDATES} a scan runs; end the windows where the values stop changing"
            )
        # The scan's table, built on first use. Not a field: invisible to equality and hashing.
        self._set("_table", None)

    def events(self) -> Iterator[Event]:
        yield Event(self.last_step, "end", "affine updates end")

    @property
    def last_step(self) -> int:
        """The last step at which an update fires: the value is held from there on."""
        return max((z - 1) * n for n, z in zip(self.every, self.ends))

    def _scan(self) -> tuple[np.ndarray, np.ndarray]:
        """The steps at which updates fire (sorted, with repeats) and the value after each."""
        table: tuple[np.ndarray, np.ndarray] | None = self._table  # type: ignore[attr-defined]
        if table is not None:
            return table
        steps, order, ratio, target = [], [], [], []
        for i, (r, e, n, b, z) in enumerate(
            zip(self.ratios, self.targets, self.every, self.begins, self.ends)
        ):
            local = np.arange(z - b, dtype=np.float64)
            steps.append((np.arange(b, z, dtype=np.int64)) * n)
            order.append(np.full(z - b, i, dtype=np.int64))
            ratio.append(np.broadcast_to(np.asarray(r(local), dtype=np.float64), local.shape))
            target.append(np.broadcast_to(np.asarray(e(local), dtype=np.float64), local.shape))
        all_steps, all_order = np.concatenate(steps), np.concatenate(order)
        sort = np.lexsort((all_order, all_steps))
        values = _affine_scan(
            float(self.start),
            np.concatenate(ratio)[sort].tolist(),
            np.concatenate(target)[sort].tolist(),
        )
        table = (all_steps[sort], values)
        self._set("_table", table)
        return table

    def _scalar(self, t: float) -> float:
        steps, values = self._scan()
        i = int(np.searchsorted(steps, math.floor(t), side="right"))
        return float(values[i - 1]) if i else float(self.start)

    def _array(self, t: Any, xp: Any) -> Any:
        if torch_compiling():
            raise TypeError(
                "affine_steps() looks its values up in a table scanned in NumPy: it cannot be "
                "traced by torch.compile; evaluate it outside the compiled function"
            )
        steps, values = self._scan()
        padded = np.concatenate(([float(self.start)], values))
        if xp is np:
            return padded[np.searchsorted(steps, np.floor(t), side="right")]
        if is_jax(xp):
            import jax.numpy as jnp

            index = jnp.searchsorted(jnp.asarray(steps), jnp.floor(t), side="right")
            return jnp.asarray(padded, dtype=t.dtype)[index]
        import torch

        position = torch.searchsorted(
            torch.as_tensor(steps, device=t.device),
            torch.floor(t).to(torch.int64).contiguous(),
            right=True,
        )
        return torch.as_tensor(padded, dtype=t.dtype, device=t.device)[position]


def _affine_scan(start: float, ratios: list[float], targets: list[float]) -> np.ndarray:
    """``v <- e + (v - e) * r`` for each ``(r, e)`` in turn, from ``start``: every value."""
    out = []
    v = start
    for r, e in zip(ratios, targets):
        v = e + (v - e) * r
        out.append(v)
    return np.asarray(out, dtype=np.float64)
