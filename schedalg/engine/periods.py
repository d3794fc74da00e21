"""Curves that repeat exactly: one period's values computed once, then copied.

A node whose value at step ``t`` is a function of ``t mod period`` alone (``repeat`` with its
cycle's decay applied afterwards, ``cosine_restarts(mult=1)``) fills a curve block by copying
one period's values instead of evaluating every step. The copies are the computed values
themselves, so the curve is bit-identical to evaluating each step from ``t mod period``.

A period of up to :data:`KEEP` steps is kept in the node (computed on first use, published
whole and read-only: two threads filling blocks at once may both compute it, never see it
half-written), so every later block of the curve, and every later curve, is copies alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from schedalg.engine.backends import BLOCK, power

# The longest period kept in a node: 2**16 steps, 512 KiB of float64 — the size of the scratch
# blocks a product of three factors already allocates on every fill. A longer period is not
# kept: a block (2**15 steps) then holds at most part of one or two periods, filled as before.
KEEP = 2 * BLOCK


def period_values(
    node: object, name: str, period: int, n: int, compute: Callable[[np.ndarray, int], None]
) -> np.ndarray | None:
    """The values of steps ``[0, period)``, for a fill of ``n`` steps, or None where copying one
    period would not pay (``period > KEEP`` and longer than half the fill, or a first fill
    shorter than half the period: the caller fills as it would without reuse).

    ``compute(out, start)`` writes the values of steps ``start, start + 1, ...`` into ``out``
    (a node's ``_fill``). A kept period is stored as the attribute ``name`` of ``node`` (a
    plain attribute, not a field)."""
    kept: np.ndarray | None = node.__dict__.get(name)
    if kept is not None:
        return kept
    if period <= KEEP and 2 * n >= period:
        values = _one_period(period, compute)
        values.flags.writeable = False
        object.__setattr__(node, name, values)  # published whole: a reader sees all or nothing
        return values
    if 2 * period <= n:  # a fill longer than two periods that are too long to keep
        return _one_period(period, compute)
    return None


def _one_period(period: int, compute: Callable[[np.ndarray, int], None]) -> np.ndarray:
    values = np.empty(period, dtype=np.float64)
    for lo in range(0, period, BLOCK):  # temporaries of a block, whatever the period
        compute(values[lo : lo + BLOCK], lo)
    return values


def tile(out: np.ndarray, start: int, values: np.ndarray, decay: float = 1.0) -> None:
    """``out[i] = values[(start + i) % period]``, times ``power(decay, cycle)`` in cycle
    ``(start + i) // period`` when ``decay != 1`` (each factor computed once per cycle, with
    Python's ``**`` as the one-step path computes it)."""
    n, period = out.shape[0], values.shape[0]
    cycle, offset = divmod(start, period)
    head = min(n, period - offset)
    out[:head] = values[offset : offset + head]
    full = (n - head) // period
    body = out[head : head + full * period].reshape(full, period)
    body[...] = values
    tail = head + full * period
    out[tail:] = values[: n - tail]
    if decay != 1.0:
        factors = np.array([power(decay, k) for k in range(cycle, cycle + full + 2)])
        out[:head] *= factors[0]
        body *= factors[1 : full + 1, None]
        if tail < n:
            out[tail:] *= factors[full + 1]
