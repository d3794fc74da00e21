"""Curves filled block by block: ``fill_curve`` drives a node's ``_fill`` over the blocks of a
curve (on a second thread too where ``SCHEDALG_THREADS=2``), and the fills nodes share: the steps
of a block, staircases, pieces constant between edges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from schedalg.engine import threads as _threads
from schedalg.engine.backends import BLOCK, float_dtype

__all__ = ["fill_curve", "fill_piecewise_constant", "fill_staircase", "steps_into"]


def fill_curve(
    fill: Callable[[np.ndarray, int], None],
    first: int,
    last: int,
    dtype: Any,
    out: np.ndarray | None,
    block: int,
    schedule: Any = None,
) -> np.ndarray:
    """The curve of steps ``[first, last)`` from a node's ``_fill``, block by block, into ``out``
    (or a new array of ``dtype``); values are computed in float64 and rounded once. Given the
    ``schedule`` whose ``_fill`` it is, long curves may take two threads where
    ``SCHEDALG_THREADS=2`` (``schedalg.engine.threads``): the blocks are the same, so are the
    values."""
    n = last - first
    if out is None:
        out = np.empty(n, dtype=float_dtype("curve", "dtype", dtype))
    elif not isinstance(out, np.ndarray) or out.shape != (n,):
        raise ValueError(
            f"curve(): out must be a 1-D NumPy array of length {n}, got "
            f"{type(out).__name__} of shape {getattr(out, 'shape', None)}"
        )
    else:
        float_dtype("curve", "out's dtype", out.dtype)
    _threads.fill_blocks(_block_filler(fill, first, out, block), range(0, n, block), schedule)
    return out


def _block_filler(
    fill: Callable[[np.ndarray, int], None], first: int, out: np.ndarray, block: int
) -> Callable[[], Callable[[int], None]]:
    """What fills the block at an offset of ``out``, made once per thread: in place when ``out``
    is contiguous float64, else through a float64 scratch block of the thread's own."""
    n = out.shape[0]

    def in_place(lo: int) -> None:
        fill(out[lo : lo + block], first + lo)

    def new() -> Callable[[int], None]:
        if out.dtype == np.float64 and out.flags.c_contiguous:
            return in_place
        scratch = np.empty(min(n, block), dtype=np.float64)

        def through_scratch(lo: int) -> None:
            chunk = scratch[: min(block, n - lo)]
            fill(chunk, first + lo)
            out[lo : lo + chunk.shape[0]] = chunk

        return through_scratch

    return new


_RAMP = np.arange(BLOCK, dtype=np.float64)
_RAMP.flags.writeable = False


def steps_into(out: np.ndarray, start: int) -> np.ndarray:
    """Write the steps ``start, start + 1, ...`` into ``out`` (exact: integers below 2**53)."""
    n = out.shape[0]
    if n <= BLOCK:
        np.add(_RAMP[:n], float(start), out=out)
    else:
        out[...] = np.arange(start, start + n, dtype=np.float64)
    return out


def fill_staircase(
    out: np.ndarray, start: int, width: int, values_from: Callable[..., Any]
) -> None:
    """Fill a curve that is constant on blocks of ``width`` steps (block ``k`` covers steps
    ``[k * width, (k + 1) * width)``): ``values_from(first, count)`` gives the values of blocks
    ``first .. first + count - 1``, each computed once and repeated."""
    n = out.shape[0]
    first, last = start // width, (start + n - 1) // width
    values = values_from(first, last - first + 1)
    counts = np.full(last - first + 1, width)
    counts[0] = min(n, (first + 1) * width - start)
    counts[-1] = n - counts[:-1].sum() if last > first else n
    out[...] = np.repeat(values, counts)


def fill_piecewise_constant(
    out: np.ndarray, edges: list[int], value_at: Callable[[int], float], start: int
) -> None:
    """Fill a curve that is constant between ``edges`` (offsets into ``out``): one value each."""
    n = out.shape[0]
    cuts = sorted({e for e in edges if 0 < e < n})
    position = 0
    for cut in [*cuts, n]:
        out[position:cut] = value_at(start + position)
        position = cut
