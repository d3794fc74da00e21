"""Curves filled on two threads (``schedalg.engine.threads``): the same bits as on one, and when
a curve takes the second thread (``SCHEDALG_THREADS=2``, enough blocks, a thread-safe tree).

Most tests force the setting on and the blocks-left threshold open, with tiny blocks, so that
short random curves cross many blocks; the caller then waits for the worker to take a block, so
that both threads fill whatever the machine's load, and no test depends on timing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedalg as sa
import schedalg.algebra.expression as core
from schedalg.core.node import param, registered
from schedalg.engine import threads as _threads
from tests.strategies import expressions, gentle_factor

SHARED_BY: list[int] = []  # the threads that handed blocks to the worker


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every curve of two blocks or more is shared; returns the list of blocks counts shared.
    Where two blocks or more are shared, the caller's first waits until the worker has taken
    one, so that both threads fill however late the worker is scheduled."""
    shared: list[int] = []
    share = _threads.share
    SHARED_BY.clear()

    def counting(fill: Any, other: Any, offsets: Any) -> None:
        shared.append(len(offsets))
        SHARED_BY.append(threading.get_ident())
        started = threading.Event()

        def on_worker(offset: int) -> None:
            started.set()
            other(offset)

        def on_caller(offset: int) -> None:
            if len(offsets) > 1:
                started.wait(60)  # bounded: a worker that never runs fails the test, not hangs
            fill(offset)

        share(on_caller, on_worker, offsets)

    monkeypatch.setattr(_threads, "MIN_BLOCKS", 0)
    monkeypatch.setattr(_threads, "_setting", (True, ""))
    monkeypatch.setattr(_threads, "share", counting)
    return shared


@contextmanager
def one_thread() -> Iterator[None]:
    saved = _threads._setting
    _threads._setting = (False, "")
    try:
        yield
    finally:
        _threads._setting = saved


@contextmanager
def blocks_of(size: int) -> Iterator[None]:
    saved = core.BLOCK
    core.BLOCK = size
    try:
        yield
    finally:
        core.BLOCK = saved


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# -- the same bits ------------------------------------------------------------------------------


@settings(
    max_examples=40,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    expressions(1, 3, serializable=False),
    st.integers(1, 9),
    st.integers(0, 400),
    st.integers(0, 300),
    st.sampled_from(["float64", "float32", "strided"]),
)
def test_two_threads_give_the_curve_of_one_bit_for_bit(
    forced: list[int], schedule: sa.Schedule, block: int, start: int, length: int, kind: str
) -> None:
    def curve() -> np.ndarray:
        if kind == "strided":  # not contiguous: each thread fills through its own scratch
            out = np.full(2 * length, np.nan)[::2]
            schedule.curve(start, start + length, out=out)
            return out.copy()
        out = np.full(length, np.nan, dtype=kind)
        assert schedule.curve(start, start + length, out=out) is out
        return out

    with blocks_of(block):
        with one_thread():
            expected = curve()
        got = curve()
    assert same_bits(got, expected)


def test_the_random_curves_above_do_take_two_threads(forced: list[int]) -> None:
    s = sa.warmup(sa.cosine(300), 20) * sa.multistep([50, 120], 0.5)
    with blocks_of(3):
        s.curve(10, 310)
    assert forced and forced[-1] == 99


def test_a_long_curve_its_ranges_and_chunks_are_the_same_bits(forced: list[int]) -> None:
    s = sa.warmup(sa.cosine(990_000), 10_000) + 0.1 * sa.one_cycle(400_000)
    n = 10 * core.BLOCK + 123
    with one_thread():
        whole = s.curve(n)
        part = s.curve(12_345, n)
        pieces = list(s.chunks(n, size=3 * core.BLOCK + 5))
        single = s.curve(n, dtype=np.float32)
    assert same_bits(s.curve(n), whole)
    assert same_bits(s.curve(12_345, n), part)
    for got, expected in zip(s.chunks(n, size=3 * core.BLOCK + 5), pieces, strict=True):
        assert same_bits(got, expected)
    assert same_bits(s.curve(n, dtype=np.float32), single)
    assert forced == [10, 9, 3, 3, 3, 1, 10]  # the blocks after each curve's first
    steps = np.arange(0, n, 4099)
    assert [s(int(t)) for t in steps] == whole[steps].tolist()


# -- the gate -----------------------------------------------------------------------------------


class recorded(sa.Schedule):
    """A node declared safe for two threads, recording the threads that fill it."""

    _threadsafe_fill: ClassVar[bool] = True

    def _formula(self, t: Any, xp: Any) -> Any:
        return t * 0.0 + 1.0

    def _fill(self, out: np.ndarray, start: int) -> None:
        THREADS.add(threading.get_ident())
        time.sleep(0.002)  # the other thread has time to take a block
        out.fill(1.0)


class undeclared(recorded):
    """The same node, defined outside the library without its own declaration: one thread."""

    def _formula(self, t: Any, xp: Any) -> Any:
        return t * 0.0 + 1.0


THREADS: set[int] = set()


def record(t: Any) -> Any:
    THREADS.add(threading.get_ident())
    return t * 0.0 + 1.0


def record_factor(k: int) -> float:
    THREADS.add(threading.get_ident())
    return gentle_factor(k)


@pytest.fixture
def threads() -> set[int]:
    THREADS.clear()
    return THREADS


def test_a_node_declared_safe_is_filled_from_two_threads(
    forced: list[int], threads: set[int]
) -> None:
    (recorded() * sa.cosine(100)).curve(20 * core.BLOCK)
    assert len(threads) == 2 and forced == [19]


@pytest.mark.parametrize(
    "schedule",
    [
        undeclared() * sa.cosine(100),
        sa.from_fn(record, vectorized=True) * sa.cosine(10**6),
        sa.from_fn(record) + recorded(),
        sa.warmup(sa.from_fn(record, vectorized=False) * recorded(), 5) * sa.cosine(99),
        sa.cumulative(record_factor) * recorded(),
    ],
    ids=["undeclared", "from_fn", "from_fn-probing", "from_fn-scalar", "cumulative"],
)
def test_python_callbacks_and_undeclared_nodes_stay_on_the_calling_thread(
    forced: list[int], threads: set[int], schedule: sa.Schedule
) -> None:
    with blocks_of(100):
        schedule.curve(600)
    assert threads == {threading.get_ident()} and forced == []


def test_the_library_s_nodes_that_are_not_safe() -> None:
    unsafe = {name for name, cls in registered().items() if not cls._threadsafe_fill}
    assert unsafe == {"affine_steps", "cumulative", "from_fn", "noise", "plateau"}
    # A token clock is safe with its closed form, not with a prefix sum grown on demand.
    assert _threads.thread_safe(sa.warp(sa.cosine(10**6), sa.consumed(2048)))
    grown = sa.consumed(sa.rounded(100 * sa.cosine(1000)) + 1)
    assert not _threads.thread_safe(sa.warp(sa.cosine(10**6), grown))


def test_the_decision_is_kept_in_the_expression() -> None:
    s = sa.cosine(100) * recorded()
    assert _threads.thread_safe(s) and s.__dict__["_threadsafe_tree"] is True
    assert not _threads.thread_safe(sa.cosine(100) * undeclared())


def test_too_few_blocks_keep_one_thread(
    forced: list[int], threads: set[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_threads, "MIN_BLOCKS", 5)
    (recorded() * sa.cosine(100)).curve(5 * core.BLOCK)  # 4 blocks after the first
    assert threads == {threading.get_ident()} and forced == []
    (recorded() * sa.cosine(100)).curve(6 * core.BLOCK)
    assert len(threads) == 2 and forced == [5]


def test_share_fills_costly_blocks_as_one_thread_does() -> None:
    out = np.full(8 * core.BLOCK, 2.0)

    def fill(lo: int) -> None:
        sa.cosine(10**7)._fill(out[lo : lo + core.BLOCK], lo)

    _threads.share(fill, fill, range(0, out.shape[0], core.BLOCK))
    assert same_bits(out, sa.cosine(10**7).curve(out.shape[0]))


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No worker exists (``_threads._pool`` is None) until a curve takes one; one made here is
    shut down after the test, and the module's own restored."""
    monkeypatch.setattr(_threads, "_pool", None)
    monkeypatch.setattr(_threads, "_worker", 0)
    monkeypatch.setattr(_threads, "_setting", None)  # read again from the environment
    yield
    if _threads._pool is not None:
        _threads._pool.shutdown()


@pytest.mark.parametrize("value", [None, "", "1"])
@pytest.mark.usefixtures("no_worker")
def test_one_thread_unless_asked(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("SCHEDALG_THREADS", raising=False)
    else:
        monkeypatch.setenv("SCHEDALG_THREADS", value)
    sa.warmup(sa.cosine(10**6), 1000).curve(20 * core.BLOCK)
    assert _threads._pool is None  # the worker was never started


@pytest.mark.usefixtures("no_worker")
def test_two_threads_for_a_long_thread_safe_curve_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDALG_THREADS", "2")
    edge = _threads.MIN_BLOCKS * core.BLOCK  # MIN_BLOCKS - 1 blocks after the first
    sa.cosine(10**6).curve(edge)
    (sa.from_fn(record, vectorized=True) * sa.cosine(10**6)).curve(20 * core.BLOCK)
    assert _threads._pool is None
    sa.cosine(10**6).curve(edge + 1)  # one more block
    assert _threads._pool is not None


# -- the environment variable ------------------------------------------------------------------


@pytest.fixture
def environment(forced: list[int], monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setattr(_threads, "_setting", None)  # read again from the environment
    yield monkeypatch


@pytest.mark.parametrize(
    "value, shared", [("1", False), (" 1 ", False), ("", False), ("2", True), (" 2 ", True)]
)
def test_schedalg_threads_2_asks_for_two_threads(
    environment: pytest.MonkeyPatch, forced: list[int], threads: set[int], value: str, shared: bool
) -> None:
    environment.setenv("SCHEDALG_THREADS", value)
    (recorded() * sa.cosine(100)).curve(6 * core.BLOCK)
    assert bool(forced) is shared and len(threads) == (2 if shared else 1)


@pytest.mark.parametrize("value", ["3", "0", "yes", "one", "auto"])
def test_a_bad_value_of_schedalg_threads_is_refused(
    environment: pytest.MonkeyPatch, value: str
) -> None:
    environment.setenv("SCHEDALG_THREADS", value)
    message = f"environment variable SCHEDALG_THREADS must be '1' .* or '2' .*got '{value}'"
    for _ in range(2):  # read once, refused at every curve
        with pytest.raises(ValueError, match=message):
            sa.cosine(10).curve(5)


def test_auto_is_refused_as_retired(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SCHEDALG_THREADS", "auto")  # it meant the load-gated default
    for evaluate in (lambda: sa.cosine(10).curve(5), lambda: sa.cosine(10)(np.arange(5))):
        with pytest.raises(ValueError, match=r"'auto' is retired: the second thread is opt-in"):
            evaluate()


def test_the_variable_is_read_once(environment: pytest.MonkeyPatch, forced: list[int]) -> None:
    environment.setenv("SCHEDALG_THREADS", "1")
    sa.cosine(10**6).curve(6 * core.BLOCK)
    environment.setenv("SCHEDALG_THREADS", "2")
    sa.cosine(10**6).curve(6 * core.BLOCK)
    assert forced == []


# -- errors ----------------------------------------------------------------------------------------


class Failed(Exception):
    pass


class failing(sa.Schedule):
    """Declared safe; its blocks from ``bad`` on raise, naming the block; counts live fills."""

    bad: int = param()
    _threadsafe_fill: ClassVar[bool] = True
    live: ClassVar[list[int]] = [0]
    where: ClassVar[set[int]] = set()

    def _formula(self, t: Any, xp: Any) -> Any:
        return t * 0.0

    def _fill(self, out: np.ndarray, start: int) -> None:
        self.live[0] += 1
        try:
            time.sleep(0.001)
            if start >= self.bad:
                self.where.add(threading.get_ident())
                raise Failed(f"block at {start}")
            out.fill(0.0)
        finally:
            self.live[0] -= 1


class failing_on_worker(sa.Schedule):
    """Declared safe; raises on the worker thread only, keeping what it raised."""

    _threadsafe_fill: ClassVar[bool] = True
    raised: ClassVar[list[BaseException]] = []

    def _formula(self, t: Any, xp: Any) -> Any:
        return t * 0.0

    def _fill(self, out: np.ndarray, start: int) -> None:
        time.sleep(0.001)
        if threading.get_ident() == _threads._worker:
            self.raised.append(Failed(f"on the worker, block at {start}"))
            raise self.raised[-1]
        out.fill(0.0)


def test_an_error_in_the_worker_reaches_the_caller(forced: list[int]) -> None:
    failing_on_worker.raised.clear()
    with pytest.raises(Failed) as raised:
        (sa.cosine(100) * failing_on_worker()).curve(8 * core.BLOCK)
    assert forced == [7] and failing_on_worker.raised == [raised.value]
    # The worker is free again: the next curve shares its blocks and the worker fills some.
    failing_on_worker.raised.clear()
    with pytest.raises(Failed):
        (sa.cosine(100) * failing_on_worker()).curve(8 * core.BLOCK)
    assert forced == [7, 7] and len(failing_on_worker.raised) == 1


def test_the_error_raised_is_the_earliest_block_s(forced: list[int]) -> None:
    s = sa.cosine(100) * failing(7 * 5)
    with blocks_of(5):
        with one_thread(), pytest.raises(Failed) as expected:
            s.curve(200)
        for _ in range(5):
            with pytest.raises(Failed) as raised:
                s.curve(200)
            assert str(raised.value) == str(expected.value) == "block at 35"
    assert failing.live == [0] and forced


def test_a_curve_filled_inside_the_worker_stays_on_it(forced: list[int]) -> None:
    inner = sa.cosine(10**6)

    class nested(sa.Schedule):
        _threadsafe_fill: ClassVar[bool] = True

        def _formula(self, t: Any, xp: Any) -> Any:
            return t * 0.0

        def _fill(self, out: np.ndarray, start: int) -> None:
            out[...] = inner.curve(start, start + 8 * core.BLOCK)[: out.shape[0]]
            time.sleep(0.001)

    with blocks_of(512):
        got = nested().curve(20 * 512)
    assert same_bits(got, inner.curve(20 * 512))
    worker = _threads._worker
    assert worker and worker not in SHARED_BY and len(SHARED_BY) > 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_makes_its_own_worker(forced: list[int]) -> None:
    s = sa.cosine(10**6) * recorded()
    s.curve(6 * core.BLOCK)  # the parent's worker exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its curve is shared with a worker of its own
        try:
            THREADS.clear()
            ok = same_bits(s.curve(6 * core.BLOCK), sa.cosine(10**6).curve(6 * core.BLOCK))
            os.write(write, b"1" if ok and len(THREADS) == 2 else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"1"


def test_a_function_of_the_user_s_in_any_node_keeps_one_thread(forced: list[int]) -> None:
    # cyclic's scale_fn is the user's code, as from_fn's is: never called from two threads.
    called_on: set[int] = set()

    def scale(x: float) -> float:
        called_on.add(threading.get_ident())
        return 1.0

    s = sa.cyclic(0.1, 1.0, 500, scale_fn=scale)
    assert not _threads.thread_safe(s)
    with blocks_of(64):
        s.curve(2000)
    assert called_on == {threading.get_ident()} and forced == []


class errors_seen(recorded):
    """A node declared safe, recording NumPy's error state in each thread that fills it."""

    _threadsafe_fill: ClassVar[bool] = True

    def _fill(self, out: np.ndarray, start: int) -> None:
        ERRORS[threading.get_ident()] = np.geterr()["divide"]
        time.sleep(0.002)  # the other thread has time to take a block
        out.fill(1.0)


ERRORS: dict[int, str] = {}


def test_the_worker_fills_under_the_caller_s_numpy_error_state(forced: list[int]) -> None:
    ERRORS.clear()
    with np.errstate(divide="raise"):
        errors_seen().curve(20 * core.BLOCK)
    assert len(ERRORS) == 2 and set(ERRORS.values()) == {"raise"} and forced == [19]
