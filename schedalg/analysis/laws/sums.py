"""The sums a loss-curve law reads off a learning-rate curve, for many steps at once.

For the rates ``eta_0 .. eta_T`` of one run, with prefix sums ``P_t = eta_0 + ... + eta_t``:

- ``S1(t) = eta_1 + ... + eta_t = P_t - eta_0``, the area under the curve (``area``);
- ``S_k(t) = eta_k + ... + eta_t = P_t - P_(k-1)``, the area from step ``k`` through ``t``;
- ``sum_(k=first..t) (eta_(k-1) - eta_k) * f(eta_k, S_k(t))``, the loss-drop sums.

The paper's evaluation adds the loss-drop terms of every step ``k`` from 1 to ``t``, one loop per
step: ``O(T)`` for one step, ``O(T * points)`` for a curve. Here only the steps where the rate
changes are kept (a term with ``eta_(k-1) = eta_k`` is zero), so a held phase costs nothing
however long, and ``S_k(t)`` is a difference of prefix sums instead of a sum per term. The steps
asked for are sorted and cut into blocks of rows; a block is a 2-D array of spans
``S_k(t)`` (rows: steps, columns: rate changes up to the block's last step), with the spans of
changes after a row's step set to 0 so that their terms vanish (``G(0) = 0``). A block holds
about ``CELLS`` numbers, so memory does not grow with the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check

__all__ = ["CELLS", "Block", "Run", "rates", "run", "steps_of"]

# Numbers per block of spans: 2**16 float64 (512 KiB), small enough for the cache-friendly passes
# the laws make over a block, large enough that the per-block overhead does not show.
CELLS = 1 << 16


def steps_of(fn: str, steps: object) -> np.ndarray:
    """``steps`` as a 1-D int64 array of steps >= 1, refused with ``fn``'s name otherwise."""
    array = np.asarray(steps)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(
            f"{fn}(): steps must be a step or a non-empty flat list of steps, got {steps!r}"
        )
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{fn}(): steps must be integers, got {_shown(array)}")
    if array.min() < 1:
        raise ValueError(
            f"{fn}(): steps must be >= 1 (the law starts after step 0), got {int(array.min())}"
        )
    return array.astype(np.int64)


def _shown(array: np.ndarray) -> str:
    return repr(array.tolist()) if array.size <= 6 else f"{array[:6].tolist()!r} ..."


def rates(fn: str, lr: object, last: int) -> np.ndarray:
    """The curve ``lr(0) .. lr(last)`` of an absolute learning-rate schedule: finite and >= 0."""
    if not isinstance(lr, Schedule):
        raise TypeError(
            f"{fn}(): lr must be a schedule of absolute learning rates such as "
            f"3e-4 * cosine(1000), got {lr!r}"
        )
    values = lr.curve(last + 1)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        step = int(bad[0])
        raise ValueError(
            f"{fn}(): lr must be finite and >= 0 at every step, got "
            f"{float(values[step])!r} at step {step}"
        )
    return values


@dataclass(frozen=True)
class Block:
    """Rows ``rows`` (indices into the run's steps) and the spans ``S_k(t)`` of their steps over
    the rate changes ``start .. stop - 1`` (0 where the change comes after the row's step)."""

    rows: np.ndarray
    start: int
    stop: int
    spans: np.ndarray


@dataclass(frozen=True)
class Run:
    """One curve's sums at ``steps``: ``area`` (``S1``) per step; per rate change from step
    ``first`` on, its step ``changes``, ``drops`` (``eta_(k-1) - eta_k``) and ``after``
    (``eta_k``); ``prefix`` holds ``P``."""

    steps: np.ndarray
    area: np.ndarray
    changes: np.ndarray
    drops: np.ndarray
    after: np.ndarray
    prefix: np.ndarray

    def blocks(self, cells: int = CELLS, buffer: np.ndarray | None = None) -> Iterator[Block]:
        """The spans, a block of at most ``cells`` numbers at a time, rows in increasing step
        order. With ``buffer`` (at least ``cells`` long) every block's spans are a view of it,
        valid until the next block is made; without, each block has its own array."""
        order = np.argsort(self.steps, kind="stable")
        # Columns a row needs: the changes at steps <= its step (rows sorted: non-decreasing).
        needed = np.searchsorted(self.changes, self.steps[order], side="right")
        start = 0
        while start < order.size:
            # The most rows from ``start`` whose block (rows times the last row's columns) fits.
            cost = np.arange(1, order.size - start + 1) * np.maximum(needed[start:], 1)
            stop = start + max(1, int(np.searchsorted(cost, cells, side="right")))
            rows = order[start:stop]
            columns = int(needed[stop - 1])
            # A row with more changes than a block holds is cut into column ranges.
            for first in range(0, max(columns, 1), cells if stop - start == 1 else columns or 1):
                last = min(columns, first + cells)
                yield Block(rows, first, last, self._spans(rows, first, last, buffer))
            start = stop

    def _spans(self, rows: np.ndarray, first: int, last: int, buffer: np.ndarray | None) -> Any:
        shape = (rows.size, last - first)
        out = None if buffer is None else buffer[: shape[0] * shape[1]].reshape(shape)
        ends = self.prefix[self.steps[rows]][:, None]
        spans = np.subtract(ends, self.prefix[self.changes[first:last] - 1], out=out)
        return np.maximum(spans, 0.0, out=spans)


def run(rates: np.ndarray, steps: np.ndarray, first: int = 1) -> Run:
    """The sums of the curve ``rates`` (``eta_0 .. eta_T``, ``T >= max(steps)``) at ``steps``,
    the loss-drop sums running over the steps ``k >= max(first, 1)``."""
    prefix = np.cumsum(rates)
    area = prefix[steps] - rates[0]
    start = max(int(first), 1)
    changed = np.flatnonzero(rates[start - 1 : -1] != rates[start:]) + start
    return Run(
        steps=steps,
        area=area,
        changes=changed,
        drops=rates[changed - 1] - rates[changed],
        after=rates[changed],
        prefix=prefix,
    )


def run_subset(curve: Run, keep: np.ndarray) -> Run:
    """``curve`` at the steps ``curve.steps[keep]`` only."""
    return replace(curve, steps=curve.steps[keep], area=curve.area[keep])


def first_step(fn: str, warmup: object) -> int:
    """The first step of the loss-drop sums for ``warmup`` steps left out of them."""
    return max(check.integer(fn, "warmup", warmup), 1)
