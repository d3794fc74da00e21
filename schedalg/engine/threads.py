"""A second thread for the blocks of a long curve, opt-in: ``SCHEDALG_THREADS=2``.

Curves are filled block by block (``backends.BLOCK`` steps); each block's values depend on its
steps alone, so handing some blocks to another thread gives the same curve bit for bit. NumPy's
ufuncs release the GIL over their loops, so a worker computes one block's cosines while the
calling thread computes another's. The two threads take blocks in order from one counter: when
the worker is slow to run (its core busy), the calling thread takes the rest, and waits at the
end for one block at most.

``SCHEDALG_THREADS`` is read once, at the first curve: unset, empty or ``1`` keeps every curve on
the calling thread; ``2`` lets a curve take the worker when, after its first block (filled on
the calling thread: it computes the node constants its steps reach, a warm-up's peak, once),
at least ``MIN_BLOCKS`` blocks remain and every node of the tree declares its ``_fill`` safe to
run from two threads at once and holds no function of the user's (:func:`thread_safe`). The
decision depends on the expression and the curve's length alone, never on the machine's load,
so that timings are reproducible.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from schedalg.core.node import distinct_nodes, holds_function

ENVIRONMENT = "SCHEDALG_THREADS"

# Measured on 2 vCPUs (AMD EPYC, numpy 2.4): handing blocks to the worker and waiting for it
# costs about 30 us (submit, wake-up, the end), and the caller may wait for the worker's last
# block at the end; a cosine block of 2**15 steps costs about 380 us. With 4 blocks left,
# sharing a cosine curve saves about a third.
MIN_BLOCKS = 4

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_worker = 0  # the worker thread's ident (a curve filled inside it stays on it)
_setting: tuple[bool, str] | None = None  # (two threads, error message), read once


def _read_setting() -> tuple[bool, str]:
    value = os.environ.get(ENVIRONMENT, "").strip()
    if value in ("", "1", "2"):
        return value == "2", ""
    note = " ('auto' is retired: the second thread is opt-in)" if value.lower() == "auto" else ""
    return False, (
        f"the environment variable {ENVIRONMENT} must be '1' (the default, as when unset: "
        f"fill curves on the calling thread only) or '2' (a second thread for long curves), "
        f"got {value!r}{note}"
    )


def allowed() -> bool:
    """Whether ``SCHEDALG_THREADS`` asks for a second thread (a bad value raises)."""
    global _setting
    if _setting is None:
        _setting = _read_setting()
    permitted, error = _setting
    if error:
        raise ValueError(error)
    return permitted


def declared_safe(node: Any) -> bool:
    """Whether a node's ``_fill`` may run on two blocks at once: the class attribute
    ``_threadsafe_fill`` (library nodes are safe unless they say otherwise; a node class
    defined outside the library must set it in its own class statement)."""
    cls = type(node)
    if cls.__module__.split(".")[0] == "schedalg":
        return bool(getattr(node, "_threadsafe_fill", False))
    own = node.__dict__.get("_threadsafe_fill", cls.__dict__.get("_threadsafe_fill", False))
    return bool(own)


def thread_safe(schedule: Any) -> bool:
    """Whether every node of the expression is :func:`declared_safe` and holds no function of
    the user's (a ``cyclic``'s ``scale_fn``, any callable parameter: it might not be safe from
    two threads, and holds the GIL anyway), kept in the root."""
    known: bool | None = schedule.__dict__.get("_threadsafe_tree")
    if known is None:
        known = all(
            declared_safe(node) and not holds_function(node) for node in distinct_nodes(schedule)
        )
        object.__setattr__(schedule, "_threadsafe_tree", known)
    return known


def _executor() -> ThreadPoolExecutor:
    """The one worker, created on first use."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, "schedalg-curve", initializer=_mark_worker)
        return _pool


def _mark_worker() -> None:
    global _worker
    _worker = threading.get_ident()


def _after_fork() -> None:
    """In a forked child the worker is gone, and the lock may have been held by a thread
    that is gone too: both are made again on first use."""
    global _lock, _pool
    _lock, _pool = threading.Lock(), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


Filler = Callable[[int], None]


def fill_blocks(new_filler: Callable[[], Filler], offsets: Sequence[int], schedule: Any) -> None:
    """Fill the blocks at ``offsets`` with ``new_filler()`` (one filler per thread: each has
    its own scratch), on the calling thread alone or, as ``SCHEDALG_THREADS=2`` asks, on two.
    ``schedule`` is the expression (None: one thread)."""
    fill = new_filler()
    if (
        schedule is not None
        and allowed()
        and len(offsets) > MIN_BLOCKS
        and threading.get_ident() != _worker  # a curve filled inside the worker stays on it
        and thread_safe(schedule)
    ):
        # The first block on the calling thread alone computes the node constants its steps
        # reach (a warm-up's peak) once, before both threads could.
        fill(offsets[0])
        share(fill, new_filler(), offsets[1:])
    else:
        for offset in offsets:
            fill(offset)


class _Blocks:
    """The blocks two threads take in order, and the failures met (by block index)."""

    def __init__(self, count: int) -> None:
        self.lock = threading.Lock()
        self.next, self.count = 0, count
        self.failures: list[tuple[int, BaseException]] = []

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.count or self.failures:
                return None
            self.next += 1
            return self.next - 1

    def fail(self, index: int, error: BaseException) -> None:
        with self.lock:
            self.failures.append((index, error))


def _work(blocks: _Blocks, fill: Filler, offsets: Sequence[int]) -> None:
    while (index := blocks.take()) is not None:
        try:
            fill(offsets[index])
        except BaseException as error:  # handed to the caller (KeyboardInterrupt included)
            blocks.fail(index, error)
            return


def _work_under(
    errors: Any, call: Any, blocks: _Blocks, fill: Filler, offsets: Sequence[int]
) -> None:
    with np.errstate(call=call, **errors):
        _work(blocks, fill, offsets)


def share(fill: Filler, other: Filler, offsets: Sequence[int]) -> None:
    """Fill the blocks at ``offsets`` on the calling thread (with ``fill``) and the worker
    (with ``other``); return when both have stopped. A block that raises stops both; the
    error of the earliest such block is raised, as filling in order would have raised it
    (every earlier block was taken before it, and each thread finishes the block it holds)."""
    blocks = _Blocks(len(offsets))
    # NumPy's error state is the calling context's: the worker fills under the caller's.
    errors = np.geterr()
    future = _executor().submit(_work_under, errors, np.geterrcall(), blocks, other, offsets)
    _work(blocks, fill, offsets)
    if not future.cancel():  # not cancelled: it has started, and stops after its block
        future.result()
    if blocks.failures:
        error = min(blocks.failures, key=lambda failure: failure[0])[1]
        blocks.failures.clear()
        raise error
