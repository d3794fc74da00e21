"""A second thread for the blocks of a long curve, where it is measured to pay.

Curves are filled block by block (``backends.BLOCK`` steps); each block's values depend on its
steps alone, so handing some blocks to another thread gives the same curve bit for bit. NumPy's
ufuncs release the GIL over their loops, so a worker computes one block's cosines while the
calling thread computes another's. The two threads take blocks in order from one counter: when
the worker is slow to run (its core busy), the calling thread takes the rest, and waits at the
end for one block at most.

A second thread is used only when all of these hold:

- ``SCHEDALG_THREADS`` is not ``1`` (read once, at the first curve);
- the process may run on two CPUs or more, and one of them runs nothing else now;
- enough blocks remain after the first (``MIN_BLOCKS``) and the first block, filled on the
  calling thread, cost more CPU time than ``MIN_BLOCK_SECONDS`` (it computes the constants
  its steps reach; one first reached later, a clip's held value, a period, may be computed by
  both threads at once: each computes the same value and stores it whole, so either is kept);
- every node of the tree declares its ``_fill`` safe to run from two threads at once and
  holds no function of the user's (:func:`thread_safe`);
- the last time this expression took two threads, they paid: the CPU time both spent over the
  wall time taken was at least ``MIN_GAIN``. Where it was not (blocks whose ufuncs are short,
  so that the threads queue for the GIL between them; a core taken by another process), the
  next ``RETRY_AFTER`` curves of the expression stay on one thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from schedalg.core.node import distinct_nodes, holds_function

ENVIRONMENT = "SCHEDALG_THREADS"

# Measured on 2 vCPUs (AMD EPYC, numpy 2.4): handing blocks to the worker and waiting for it
# costs about 30 us (submit, wake-up, the end), and the caller may wait for the worker's last
# block at the end; a cosine block of 2**15 steps costs about 380 us of CPU, a constant or
# linear one 15-60 us (up to 250 us in a fresh array, whose pages are mapped as it is
# written). With 4 blocks left, sharing a cosine curve saves about a third; blocks under
# 100 us leave less to gain than the hand-off and the wait cost.
MIN_BLOCKS = 4
MIN_BLOCK_SECONDS = 100e-6
# Two threads that bring less than 1.4 cores' worth of CPU per second of wall time did not
# pay. Measured with the second core free: cosine curves (warm-up+cosine, one_cycle,
# cosine_restarts) 1.83-1.94, for 1.4-1.9 times one thread's speed; the 5-piece MMEngine
# schedule's blocks of short ufuncs 1.24-1.28, for 1.03 times.
MIN_GAIN = 1.4
RETRY_AFTER = 16

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_worker = 0  # the worker thread's ident (a curve filled inside it stays on it)
_setting: tuple[bool, str] | None = None  # (allowed, error message), read once


def _read_setting() -> tuple[bool, str]:
    value = os.environ.get(ENVIRONMENT)
    if value is None or value.strip().lower() in ("", "auto"):
        return True, ""
    if value.strip() == "1":
        return False, ""
    return False, (
        f"the environment variable {ENVIRONMENT} must be '1' (fill curves on the calling thread "
        f"only) or 'auto' (unset: a second thread where it pays), got {value!r}"
    )


def allowed() -> bool:
    """Whether ``SCHEDALG_THREADS`` lets curves use a second thread (a bad value raises)."""
    global _setting
    if _setting is None:
        _setting = _read_setting()
    permitted, error = _setting
    if error:
        raise ValueError(error)
    return permitted


def cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def free_cpus() -> int:
    """How many of this process's CPUs run nothing now, the calling thread aside: on Linux from
    the count of running tasks in ``/proc/loadavg`` (an instant's reading, which counts the
    caller), elsewhere all but the caller's."""
    count = cpus()
    try:
        with open("/proc/loadavg", "rb") as file:
            running = int(file.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return count - 1
    return count - running


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


def pays(cost: float, remaining: int, schedule: Any) -> bool:
    """Whether the remaining blocks go to two threads, the first having cost ``cost`` seconds."""
    return (
        remaining >= MIN_BLOCKS
        and cost >= MIN_BLOCK_SECONDS
        and threading.get_ident() != _worker
        and cpus() >= 2
        and thread_safe(schedule)
        and not _backing_off(schedule)
        and free_cpus() >= 1
    )


def _backing_off(schedule: Any) -> bool:
    """Whether the expression's last two-thread fill did not pay, fewer than ``RETRY_AFTER``
    curves ago (counted down in the expression, a plain attribute)."""
    left: int = schedule.__dict__.get("_threads_backoff", 0)
    if left:
        object.__setattr__(schedule, "_threads_backoff", left - 1)
    return bool(left)


Filler = Callable[[int], None]


def fill_blocks(new_filler: Callable[[], Filler], offsets: Sequence[int], schedule: Any) -> None:
    """Fill the blocks at ``offsets`` with ``new_filler()`` (one filler per thread: each has
    its own scratch), on the calling thread alone or on two where it pays. ``schedule`` is the
    expression (None: one thread)."""
    fill = new_filler()
    if schedule is None or not allowed() or len(offsets) < 2:
        for offset in offsets:
            fill(offset)
        return
    began = time.thread_time()
    fill(offsets[0])
    rest = offsets[1:]
    if pays(time.thread_time() - began, len(rest), schedule):
        if share(fill, new_filler(), rest) < MIN_GAIN:
            object.__setattr__(schedule, "_threads_backoff", RETRY_AFTER)
    else:
        for offset in rest:
            fill(offset)


class _Blocks:
    """The blocks two threads take in order, and the failures met (by block index)."""

    def __init__(self, count: int) -> None:
        self.lock = threading.Lock()
        self.next, self.count = 0, count
        self.failures: list[tuple[int, BaseException]] = []
        self.cpu = 0.0  # the CPU seconds the threads spent filling

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
    began = time.thread_time()
    try:
        while (index := blocks.take()) is not None:
            try:
                fill(offsets[index])
            except BaseException as error:  # handed to the caller (KeyboardInterrupt included)
                blocks.fail(index, error)
                return
    finally:
        spent = time.thread_time() - began
        with blocks.lock:
            blocks.cpu += spent


def _work_under(
    errors: Any, call: Any, blocks: _Blocks, fill: Filler, offsets: Sequence[int]
) -> None:
    with np.errstate(call=call, **errors):
        _work(blocks, fill, offsets)


def share(fill: Filler, other: Filler, offsets: Sequence[int]) -> float:
    """Fill the blocks at ``offsets`` on the calling thread (with ``fill``) and the worker
    (with ``other``); return when both have stopped, with the CPU time they spent over the
    wall time taken (how many cores' worth they used). A block that raises stops both; the
    error of the earliest such block is raised, as filling in order would have raised it
    (every earlier block was taken before it, and each thread finishes the block it holds)."""
    blocks = _Blocks(len(offsets))
    began = time.perf_counter()
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
    return blocks.cpu / max(time.perf_counter() - began, 1e-9)
