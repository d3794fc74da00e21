"""NumPy curves: ``curve(n)``, ``curve(start, stop)``, ``dtype=``, ``out=`` and ``chunks()``.

The reference is always the scalar path ``s(t)``; a curve is computed block by block through the
nodes' ``_fill`` methods, so the tests also shrink the block size to cross many block edges.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedalg as sa
import schedalg.algebra.expression as core
from tests.strategies import expressions

# Scalar and curve share their formulas; fast paths (slices, angle addition) may differ by a few
# ulp, which rtol 1e-12 bounds with a wide margin. atol covers values that are exactly 0 one way.
RTOL, ATOL = 1e-12, 1e-14


def scalar_curve(schedule: sa.Schedule, start: int, stop: int) -> np.ndarray:
    return np.array([schedule(t) for t in range(start, stop)], dtype=np.float64)


WARMUP_COSINE = sa.warmup(sa.cosine(990_000), 10_000)


@given(expressions(1, 3, serializable=False), st.integers(0, 700), st.integers(0, 300))
def test_curve_of_a_range_matches_the_scalar_path(
    schedule: sa.Schedule, start: int, length: int
) -> None:
    got = schedule.curve(start, start + length)
    assert got.dtype == np.float64 and got.shape == (length,)
    np.testing.assert_allclose(got, scalar_curve(schedule, start, start + length), RTOL, ATOL)


@given(
    expressions(1, 3, serializable=False),
    st.integers(1, 9),
    st.integers(0, 500),
    st.integers(0, 200),
)
def test_curve_is_the_same_across_block_edges(
    schedule: sa.Schedule, block: int, start: int, length: int
) -> None:
    whole = schedule.curve(start, start + length)
    original = core.BLOCK
    core.BLOCK = block  # many tiny blocks: every node's _fill meets arbitrary offsets
    try:
        blocked = schedule.curve(start, start + length)
    finally:
        core.BLOCK = original
    np.testing.assert_allclose(blocked, whole, RTOL, ATOL)


def test_curve_n_is_the_range_from_zero() -> None:
    s = sa.warmup(sa.cosine(900), 100)
    np.testing.assert_array_equal(s.curve(1000), s.curve(0, 1000))
    np.testing.assert_allclose(s.curve(1000), scalar_curve(s, 0, 1000), RTOL, ATOL)
    assert s.curve(0).shape == (0,)
    assert s.curve(5, 5).shape == (0,)


def test_long_curve_crosses_blocks_and_matches_the_scalar_path() -> None:
    n = 3 * core.BLOCK + 17
    got = WARMUP_COSINE.curve(500_000, 500_000 + n)
    steps = np.r_[0:n:997, n - 1]
    expected = [WARMUP_COSINE(500_000 + int(t)) for t in steps]
    np.testing.assert_allclose(got[steps], expected, RTOL, ATOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64, "float32"])
def test_dtype_rounds_the_float64_values_once(dtype: object) -> None:
    s = sa.warmup(sa.cosine(5000), 300) * sa.multistep([1000, 3000], 0.3)
    got = s.curve(100, 100 + core.BLOCK + 50, dtype=dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, s.curve(100, 100 + core.BLOCK + 50).astype(dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool, np.complex128, "U3", object])
def test_a_non_float_dtype_is_refused(dtype: object) -> None:
    with pytest.raises(TypeError, match=r"curve\(\): dtype must be a real floating-point dtype"):
        sa.cosine(10).curve(10, dtype=dtype)
    with pytest.raises(TypeError, match=r"chunks\(\): dtype must be a real floating-point"):
        sa.cosine(10).chunks(10, dtype=dtype)


def test_out_is_filled_and_returned() -> None:
    s = sa.cosine(100)
    for dtype in (np.float64, np.float32):
        out = np.full(40, np.nan, dtype=dtype)
        assert s.curve(10, 50, out=out) is out
        np.testing.assert_array_equal(out, s.curve(10, 50).astype(dtype))


def test_out_may_be_a_strided_view() -> None:
    s = sa.warmup(sa.cosine(100), 10)
    base = np.zeros(2 * 120)
    s.curve(120, out=base[::2])
    np.testing.assert_array_equal(base[::2], s.curve(120))
    assert not base[1::2].any()  # the gaps are untouched


@pytest.mark.parametrize(
    "out",
    [np.empty(9), np.empty(11), np.empty((10, 1)), np.empty((2, 5)), np.empty(()), [0.0] * 10],
    ids=["short", "long", "column", "matrix", "0-d", "list"],
)
def test_out_of_the_wrong_shape_is_refused(out: object) -> None:
    with pytest.raises(ValueError, match=r"curve\(\): out must be a 1-D NumPy array of length 10"):
        sa.cosine(10).curve(10, out=out)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, bool, np.complex128])
def test_out_of_a_non_float_dtype_is_refused(dtype: object) -> None:
    out = np.zeros(10, dtype=dtype)
    with pytest.raises(TypeError, match=r"curve\(\): out's dtype must be a real floating-point"):
        sa.cosine(10).curve(10, out=out)
    assert not out.any()  # nothing written before the refusal


def test_read_only_out_is_refused() -> None:
    out = np.zeros(10)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        sa.cosine(10).curve(10, out=out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # curve(n) reads its one argument as the stop of [0, n).
        ((-1,), r"curve\(\): stop must be a non-negative integer, got -1"),
        ((2, -1), r"curve\(\): stop must be a non-negative integer, got -1"),
        ((-1, 5), r"curve\(\): start must be a non-negative integer, got -1"),
        ((2.0,), r"curve\(\): stop must be a non-negative integer, got 2.0"),
        ((True, 3), r"curve\(\): start must be a non-negative integer, got True"),
        ((5, 3), r"curve\(\): stop must be >= start, got start=5, stop=3"),
        ((0, -2), r"curve\(\): stop must be a non-negative integer, got -2"),
        ((0, math.inf), r"curve\(\): stop must be a non-negative integer, got inf"),
    ],
)
def test_bad_ranges_are_refused(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sa.cosine(10).curve(*args)
    with pytest.raises(ValueError, match=message.replace("curve", "chunks")):
        sa.cosine(10).chunks(*args)


@given(
    expressions(1, 2, serializable=False),
    st.integers(0, 300),
    st.integers(0, 400),
    st.integers(1, 70),
)
def test_chunks_concatenate_to_the_curve(
    schedule: sa.Schedule, start: int, length: int, size: int
) -> None:
    pieces = list(schedule.chunks(start, start + length, size=size))
    assert [p.shape[0] for p in pieces[:-1]] == [size] * (len(pieces) - 1)
    assert len(pieces) == -(-length // size)
    whole = np.concatenate(pieces) if pieces else np.empty(0)
    np.testing.assert_allclose(whole, schedule.curve(start, start + length), RTOL, ATOL)


def test_chunks_are_fresh_arrays_of_the_requested_dtype() -> None:
    pieces = list(sa.cosine(100).chunks(100, size=30, dtype=np.float32))
    assert all(p.dtype == np.float32 for p in pieces)
    pieces[0][:] = -1.0
    assert (pieces[1] >= 0).all()
    assert len({id(p) for p in pieces}) == len(pieces)
    assert all(p.base is None or p.base is not pieces[0].base for p in pieces[1:])


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "8"])
def test_chunks_size_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(ValueError, match=r"chunks\(\): size must be a positive integer"):
        sa.cosine(10).chunks(10, size=size)


def test_a_billion_step_curve_is_streamed_lazily() -> None:
    # Nothing is computed before iteration, and any window of a 10**9-step run is cheap.
    s = sa.warmup(sa.cosine(10**9 - 10**7), 10**7)
    stream = s.chunks(10**9, size=1 << 16)
    assert next(stream).shape == (1 << 16,)
    tail = list(s.chunks(10**9 - 1000, 10**9, size=300))
    np.testing.assert_allclose(
        np.concatenate(tail), scalar_curve(s, 10**9 - 1000, 10**9), RTOL, ATOL
    )


def test_streaming_ten_million_steps_keeps_memory_bounded() -> None:
    # The whole float64 curve would take 80 MB; the stream must never hold more than a chunk plus
    # a few block-sized temporaries, whatever the total length.
    n, size = 10**7, 1 << 18
    s = WARMUP_COSINE * sa.per_epoch(sa.multistep([3, 6], 0.1), 1_000_000)
    total, count, last = 0.0, 0, None
    tracemalloc.start()
    try:
        for piece in s.chunks(n, size=size):
            total += float(piece.sum())
            count += piece.shape[0]
            last = piece
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 4 * size * 8 + core.BLOCK * 8 * 16, peak  # vs 8e7 bytes for the whole curve
    assert last is not None
    np.testing.assert_allclose(last[-5:], scalar_curve(s, n - 5, n), RTOL, ATOL)
    # The stream is the curve: its sum agrees with a direct sum of a coarse check in float64.
    assert math.isclose(total, float(s.curve(n).sum()), rel_tol=1e-9)


def test_curve_peak_memory_is_its_output_plus_a_block() -> None:
    n = 2_000_000
    tracemalloc.start()
    try:
        values = WARMUP_COSINE.curve(n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert values.nbytes == 8 * n
    assert peak <= 2 * values.nbytes, (peak, values.nbytes)


@pytest.mark.parametrize("power", [2.0, 0.5, 1.0, 3.0, 0.9])
def test_polynomial_curves_are_libm_s_power_bit_for_bit(power: float) -> None:
    # NumPy squares for ``** 2.0`` and takes a square root for ``** 0.5``; s(t), torch's
    # PolynomialLR and MMEngine's PolyLR compute libm's pow, which differs at places by an ulp.
    s = sa.polynomial(20_000, power=power)
    want = scalar_curve(s, 0, 20_001)
    np.testing.assert_array_equal(s.curve(20_001).view(np.int64), want.view(np.int64))
