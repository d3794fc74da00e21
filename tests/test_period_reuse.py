"""Curves that repeat exactly (``repeat``, ``cosine_restarts(mult=1)``) copy one period's values:
the curve is still the plain per-step path's bit for bit, across block edges and periods shorter
and longer than a block, and what a node keeps of a period is bounded."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
import schedalg.algebra.expression as core
from schedalg.algebra import timewarps
from schedalg.engine import periods as _periods
from schedalg.engine.backends import BLOCK, power
from tests.strategies import expressions

KEEP = _periods.KEEP


def scalar_values(schedule: sa.Schedule, steps: np.ndarray) -> np.ndarray:
    return np.array([schedule(int(t)) for t in steps], dtype=np.float64)


def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise bit-for-bit equality (NaN equal to NaN, -0.0 apart from 0.0)."""
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))


def fill_before_reuse(s: sa.repeat, start: int, stop: int) -> np.ndarray:
    """``repeat``'s curve as it was filled before period reuse: its array path for periods
    below ``BLOCK // 8``, each cycle's slice of the inner curve for longer ones."""
    if s.period < BLOCK // 8:
        return np.asarray(s(np.arange(start, stop)))
    out = np.empty(stop - start)
    for lo in range(start, stop, BLOCK):
        block = out[lo - start : min(lo + BLOCK, stop) - start]
        position = 0
        while position < block.shape[0]:
            cycle, offset = divmod(lo + position, s.period)
            end = min(block.shape[0], position + s.period - offset)
            s.schedule._fill(block[position:end], offset)
            if s.decay != 1.0:
                block[position:end] *= power(s.decay, cycle)
            position = end
    return out


def check_repeat(s: sa.repeat, start: int, stop: int, sampled: np.ndarray) -> None:
    got = s.curve(start, stop)
    before = fill_before_reuse(s, start, stop)
    if s.decay != 1.0 and s.period < timewarps._FEW_STEPS:
        assert same(got, before).all(), s  # cycles of a few steps: the array path, as before
        return
    steps = np.arange(start, stop)[sampled]
    want = scalar_values(s, steps)
    # Where the fill before gave s(t), the reusing fill gives it too (the values are sacred).
    kept = same(before[sampled], want)
    assert same(got[sampled], want)[kept].all(), s
    period = min(s.period, 4 * BLOCK)
    inner = s.schedule
    inner_curve = inner.curve(0, period)
    if same(inner_curve, scalar_values(inner, np.arange(period))).all():
        # An inner curve that is its own s(t) gives the repeat's s(t) on every step.
        assert same(got[sampled], want).all(), s
    # Away from s(t), the curve is still the fill before wherever that fill is exact per cycle.
    np.testing.assert_allclose(got, before, rtol=1e-12, atol=1e-14)


decays = st.just(1.0) | st.floats(0.5, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    expressions(0, 2, serializable=False),
    st.integers(1, 300),
    decays,
    st.integers(0, 5_000),
    st.integers(0, 3_000),
    st.sampled_from([None, 1, 7, 64, 1000]),
)
def test_short_periods_are_the_per_step_path_bit_for_bit(
    inner: sa.Schedule, period: int, decay: float, start: int, length: int, block: int | None
) -> None:
    s = sa.repeat(inner, period, decay=decay)
    original = core.BLOCK
    if block is not None:
        core.BLOCK = block  # blocks shorter than a period, then longer: both fills, and the kept
    try:
        check_repeat(s, start, start + length, np.ones(length, dtype=bool))
        # A second curve reads the kept period (when one was kept).
        check_repeat(s, start + 13, start + 13 + length, np.ones(length, dtype=bool))
    finally:
        core.BLOCK = original


@settings(max_examples=12, deadline=None)
@given(
    expressions(0, 1),
    st.sampled_from([BLOCK // 8, BLOCK - 1, BLOCK + 3, KEEP, KEEP + 1, 3 * BLOCK + 5]),
    decays,
    st.integers(0, 10**6),
    st.integers(0, 5 * BLOCK),
)
def test_long_periods_are_the_per_step_path_bit_for_bit(
    inner: sa.Schedule, period: int, decay: float, start: int, length: int
) -> None:
    s = sa.repeat(inner, period, decay=decay)
    rng = np.random.default_rng(start)
    sampled = rng.random(length) < 600 / max(length, 1)
    for k in range(start // period, (start + length) // period + 1):  # every cycle's edges
        for t in (k * period - 1, k * period):
            if start <= t < start + length:
                sampled[t - start] = True
    check_repeat(s, start, start + length, sampled)


@pytest.mark.parametrize("end", [0.0, 0.1, -0.5, 1.0, 2.5])
@pytest.mark.parametrize(
    "period", [1, 2, 3, 7, 1000, BLOCK - 1, BLOCK, BLOCK + 1, KEEP, KEEP + 1, 100_003]
)
def test_cosine_restarts_with_mult_1_is_its_array_and_scalar_paths_bit_for_bit(
    period: int, end: float
) -> None:
    s = sa.cosine_restarts(period, end=end)
    for start, stop in ((0, 3 * BLOCK + 17), (period - 5 if period > 5 else 0, 200_000), (9, 9)):
        got = s.curve(start, stop)
        steps = np.arange(start, stop)
        assert same(got, np.asarray(s._array(steps.astype(np.float64), np))).all()
        sampled = steps[:: max(1, (stop - start) // 300)]
        assert same(got[sampled - start], scalar_values(s, sampled)).all()
    assert same(s.curve(5, 600), scalar_values(s, np.arange(5, 600))).all()


def test_a_period_is_computed_once_and_kept_up_to_the_bound() -> None:
    calls: list[int] = []

    def counted(t: np.ndarray) -> np.ndarray:
        calls.append(t.shape[0])
        return 0.5 + t / 1e6

    s = sa.repeat(sa.from_fn(counted, vectorized=True), 1000)
    s.curve(5, 10)  # a fill shorter than half a period keeps nothing
    assert "_period_values" not in s.__dict__
    calls.clear()
    first = s.curve(10**6)
    again = s.curve(123, 456_789)
    assert sum(calls) == 1000  # one period, once, for both curves
    assert same(again, first[123:456_789]).all()
    kept = s.__dict__["_period_values"]
    assert kept.shape == (1000,) and not kept.flags.writeable

    at_bound = sa.repeat(sa.cosine(KEEP), KEEP)
    over = sa.repeat(sa.cosine(KEEP), KEEP + 1)
    restarts = sa.cosine_restarts(KEEP + 1)
    for node in (at_bound, over, restarts):
        node.curve(3 * BLOCK, 6 * BLOCK)
    assert at_bound.__dict__["_period_values"].shape == (KEEP,)
    assert "_period_values" not in over.__dict__
    assert "_period_values" not in restarts.__dict__


def test_a_fill_of_many_periods_too_long_to_keep_copies_one_of_them() -> None:
    # Nodes called with a fill longer than two blocks (a parent's own scratch) reuse a period
    # of any length without keeping it.
    s = sa.repeat(sa.warmup(sa.cosine(KEEP), 7), KEEP + 9, decay=0.75)
    start, n = 12_345, 2 * (KEEP + 9) + 1_000
    out = np.empty(n)
    s._fill(out, start)
    assert "_period_values" not in s.__dict__
    assert same(out, fill_before_reuse(s, start, start + n)).all()
    sampled = np.r_[0:n:997, KEEP - 3 : KEEP + 12, n - 1]
    assert same(out[sampled], scalar_values(s, sampled + start)).all()


def test_blocks_filled_from_two_threads_at_once_see_a_whole_period() -> None:
    def fill(s: sa.Schedule, results: list[np.ndarray]) -> None:
        results.append(s.curve(4 * BLOCK))

    inner = sa.warmup(sa.cosine(30_000), 1000)
    want = fill_before_reuse(sa.repeat(inner, 40_000, decay=0.9), 0, 4 * BLOCK)
    for _ in range(3):
        s = sa.repeat(inner, 40_000, decay=0.9)  # a fresh node: nothing kept yet
        results: list[np.ndarray] = []
        threads = [threading.Thread(target=fill, args=(s, results)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2 and all(same(r, want).all() for r in results)
