"""Scalar, NumPy, curve, torch and JAX-jit evaluation agree for random expressions and steps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import expressions

import schedalg as sa

# Rounding differences only: libm's pow/cos and their vectorised counterparts differ by <= 1 ulp
# per operation (docs/torch-semantics.md §9, NumPy note); a depth-3 expression chains a few dozen
# such operations on values of order 1, so 1e-12 relative (and absolute, for values crossing zero in
# a difference) is far above rounding and far below any semantic difference.
RTOL = ATOL = 1e-12

step_lists = st.lists(st.integers(0, 3000), min_size=1, max_size=30)


def scalar_values(s, steps):
    return np.array([s(t) for t in steps])


@given(expressions(serializable=False), step_lists)
def test_scalar_numpy_and_curve_agree(s, steps):
    expected = scalar_values(s, steps)
    array = s(np.array(steps))
    assert array.dtype == np.float64 and array.shape == (len(steps),)
    np.testing.assert_allclose(array, expected, rtol=RTOL, atol=ATOL)
    curve = s.curve(max(steps) + 1)
    np.testing.assert_allclose(curve[steps], expected, rtol=RTOL, atol=ATOL)
    lo = min(steps)
    np.testing.assert_allclose(s.curve(lo, max(steps) + 1), curve[lo:], rtol=RTOL, atol=ATOL)


@given(expressions(serializable=False), step_lists)
def test_array_keeps_shape(s, steps):
    grid = np.array(steps * 2).reshape(2, -1)
    out = s(grid)
    assert out.shape == grid.shape
    np.testing.assert_allclose(out[1], s(np.array(steps)), rtol=RTOL, atol=ATOL)


@given(expressions(serializable=False), step_lists)
def test_torch_tensors(s, steps):
    torch = pytest.importorskip("torch")
    expected = scalar_values(s, steps)
    out = s(torch.tensor(steps))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)


@settings(max_examples=25)  # every example compiles a fresh XLA program
@given(expressions(traceable=True, serializable=False), step_lists)
def test_jax_jit_float64(s, steps):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    expected = scalar_values(s, steps)
    with jax.enable_x64(True):
        out = jax.jit(s)(jnp.asarray(steps))
        assert out.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(out), expected, rtol=RTOL, atol=ATOL)


def test_the_issue_example_on_every_backend():
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp

    s = sa.warmup(sa.cosine(900), 100, start=0.001)
    steps = [0, 99, 100, 1000]
    expected = [0.001, 0.99001, 1.0, 0.0]
    assert [s(t) for t in steps] == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(s(np.array(steps)), expected, rtol=1e-15)
    np.testing.assert_allclose(s(torch.tensor(steps)).numpy(), expected, rtol=1e-15)
    with jax.enable_x64(True):
        np.testing.assert_allclose(jax.jit(s)(jnp.array(steps)), expected, rtol=1e-15)
    np.testing.assert_allclose(s.curve(1001)[steps], expected, rtol=1e-15)


def test_scalar_input_types_return_python_float():
    s = sa.cosine(10)
    for t in (3, 3.0, np.int64(3), np.float32(3.0), np.uint8(3)):
        value = s(t)
        assert type(value) is float and value == s(3)


def test_real_steps_for_continuous_schedules():
    s = sa.cosine(10)
    assert s(2.5) == pytest.approx((1 + np.cos(np.pi * 0.25)) / 2, rel=1e-15)
    assert sa.step_decay(2, 0.5)(3.9) == 0.5


def test_zero_dimensional_arrays():
    out = sa.cosine(10)(np.array(5))
    assert isinstance(out, np.ndarray) and out.shape == () and float(out) == 0.5


def test_from_fn_vectorised_and_mapped():
    calls = []

    def scalar_only(t):
        calls.append(t)
        if t < 2:
            return 1.0
        return 0.5

    s = sa.from_fn(scalar_only)
    np.testing.assert_array_equal(s(np.arange(4)), [1, 1, 0.5, 0.5])
    assert calls[-4:] == [0, 1, 2, 3] and all(type(c) is int for c in calls[-4:])
    assert sa.from_fn(lambda t: 0.5**t)(np.arange(3)).tolist() == [1, 0.5, 0.25]
    assert sa.from_fn(lambda t: 2.0)(np.arange(3)).tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="truth value"):  # no fallback: the function's own error
        sa.from_fn(scalar_only, vectorized=True)(np.arange(3))


def test_untraceable_nodes_say_so_under_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    with pytest.raises(TypeError, match="cumulative"):
        jax.jit(sa.cumulative(lambda k: 0.9))(jnp.arange(3))


def test_jax_invalid_steps():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    s = sa.cosine(10)
    with pytest.raises(ValueError):
        s(jnp.array([-1.0, 2.0]))
    out = jax.jit(s)(jnp.array([-1.0, 2.0, jnp.nan]))
    assert np.isnan(out[0]) and np.isnan(out[2]) and not np.isnan(out[1])


def test_division_by_zero_follows_ieee_on_both_paths():
    s = sa.constant(1.0) / sa.linear(1.0, 0.0, 4)
    with np.errstate(divide="ignore"):
        assert s(4) == np.inf == s(np.array([4]))[0]
    z = sa.constant(0.0) / sa.linear(1.0, 0.0, 4)
    with np.errstate(invalid="ignore"):
        assert np.isnan(z(4)) and np.isnan(z(np.array([4]))[0])


def test_exponential_overflow_is_inf_not_an_exception():
    with np.errstate(over="ignore"):
        assert sa.exponential(2.0)(5000) == np.inf == sa.exponential(2.0)(np.array([5000]))[0]


def test_curve_dtype_out_and_chunks():
    s = sa.warmup(sa.cosine(900), 100)
    full = s.curve(1000)
    assert s.curve(1000, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(s.curve(1000, dtype=np.float32), full.astype(np.float32))
    buffer = np.zeros(1000)
    assert s.curve(1000, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, full)
    np.testing.assert_array_equal(np.concatenate(list(s.chunks(1000, size=77))), full)
    np.testing.assert_array_equal(np.concatenate(list(s.chunks(10, 1000, size=300))), full[10:])


def test_overflowing_scales_agree_on_every_path():
    # 2.0 ** (cycle - 1) and decay ** cycle overflow: inf in arrays, so inf (not OverflowError)
    # in the scalar path too, which is what the adapter calls each step.
    with np.errstate(over="ignore"):
        cases = [
            (sa.cyclic(0.1, 1.0, 1, mode="triangular2"), 3000),
            (sa.repeat(sa.constant(1.0), 1, decay=2.0), 2000),
        ]
        for s, t in cases:
            assert s(t) == s(np.array([t]))[0] == s.curve(t, t + 1)[0]


def test_integer_steps_beyond_float64_precision_are_refused():
    s = sa.exponential(0.5)
    assert s(2**53) == 0.0
    for bad in (2**53 + 1, 10**400):
        with pytest.raises(ValueError, match="2\\*\\*53"):
            s(bad)
    with pytest.raises(ValueError, match="2\\*\\*53"):
        s(np.array([2**60], dtype=np.int64))
