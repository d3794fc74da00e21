"""JAX: every traceable expression under ``jax.jit`` and ``jax.vmap``, in float64 (x64) and
float32, against the NumPy curve; the optax helper against optax itself and in training."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")

import schedalg as sa  # noqa: E402
from schedalg import Schedule  # noqa: E402
from schedalg.jax import to_optax  # noqa: E402
from tests.strategies import expressions, half_life, stepwise  # noqa: E402

N = 600
EPS32 = float(np.finfo(np.float32).eps)


def jitted(schedule: Schedule) -> Callable[[Any], Any]:
    return jax.jit(lambda t: schedule(t))


def jit_and_vmap(schedule: Schedule, steps: Any) -> tuple[np.ndarray, np.ndarray]:
    """The curve on a vector of steps, and mapped over 0-d steps, in one compilation."""
    both = jax.jit(lambda t: (schedule(t), jax.vmap(lambda u: schedule(u))(t)))(steps)
    return np.asarray(both[0]), np.asarray(both[1])


@given(expressions(1, 3, serializable=False, traceable=True))
def test_jit_and_vmap_in_float64_match_the_numpy_curve(schedule: Schedule) -> None:
    reference = schedule.curve(N)
    with jax.enable_x64(True):
        steps = jnp.arange(N)
        by_jit, by_vmap = jit_and_vmap(schedule, steps)
    assert by_jit.dtype == by_vmap.dtype == np.float64
    # XLA rewrites x / c as x * (1 / c) and fuses operations: a few ulp, far inside 1e-12.
    for got in (by_jit, by_vmap):
        np.testing.assert_allclose(got, reference, rtol=1e-12, atol=1e-14)


def _float32_parameters(node: object) -> bool:
    """Whether every float parameter survives rounding to float32 (none flushes to 0).

    ``polynomial(power=1e-200)`` is ``x ** 0 = 1`` in float32 where float64 has ``0 ** 1e-200 = 0``:
    a different formula, not rounding.
    """
    if isinstance(node, (tuple, list)):
        return all(_float32_parameters(x) for x in node)
    if isinstance(node, float):
        return node == 0.0 or abs(node) >= float(np.finfo(np.float32).tiny)
    if isinstance(node, Schedule):
        return all(_float32_parameters(getattr(node, f.name)) for f in dataclasses.fields(node))
    return True


@given(expressions(1, 3, serializable=False, traceable=True))
def test_jit_and_vmap_in_float32_match_the_numpy_curve(schedule: Schedule) -> None:
    assume(_float32_parameters(schedule))
    steps = jnp.arange(N)
    by_jit, by_vmap = jit_and_vmap(schedule, steps)
    assert by_jit.dtype == by_vmap.dtype == np.float32
    t = np.arange(N, dtype=np.float64)
    reference = schedule.curve(N)
    scale = max(1.0, float(np.abs(reference).max()))
    # Value rounding. Every float32 operation and parameter carries a relative error of eps32/2;
    # an expression of depth 3 has a few dozen of them (the 64), and a parameter raised to the
    # step (gamma ** t, with stretch up to 4x and shift up to 300 steps) multiplies gamma's
    # rounding by the exponent: relative error <= 4 * (t + 400) * eps32 / 2.
    tolerance = scale * EPS32 * (64 + 2 * 4 * (t + 400))
    # Step rounding. Every affine map of the step inside the expression (pi * t / T, t / L,
    # t / k, t + offset) rounds its result by eps32 relative to its size, at most t + 400 steps
    # (offsets up to 300, clip/warmup boundaries up to 400): the float32 value is the curve at a
    # step moved by up to that much. Near a jump (a staircase edge reached through
    # ``stretch``/``per_epoch(smooth=True)``) the float32 value is the one on the other side, so
    # the value must lie in the range of the float64 curve over that window of steps.
    window = 8 * EPS32 * (t + 400)
    around = [reference, schedule(np.maximum(t - window, 0.0)), schedule(t + window)]
    low, high = np.minimum.reduce(around), np.maximum.reduce(around)
    for got in (by_jit.astype(np.float64), by_vmap.astype(np.float64)):
        outside = (got < low - tolerance) | (got > high + tolerance)
        assert not outside.any(), (
            np.flatnonzero(outside)[:5],
            got[outside][:5],
            reference[outside][:5],
        )


@pytest.mark.parametrize("x64", [False, True])
def test_invalid_steps_under_jit_give_nan(x64: bool) -> None:
    s = sa.warmup(sa.cosine(90), 10) * sa.multistep([30, 60], 0.5)
    with jax.enable_x64(x64):
        steps = jnp.asarray([0.0, -1.0, 5.0, jnp.nan, 50.0, jnp.inf, -jnp.inf, 99.0])
        got = np.asarray(jitted(s)(steps))
    valid = np.array([True, False, True, False, True, False, False, True])
    assert np.isnan(got[~valid]).all()
    # float32: cos(pi * t / T) has an absolute rounding error of about eps32 near the end.
    rtol, atol = (1e-12, 1e-15) if x64 else (4 * EPS32, 4 * EPS32)
    np.testing.assert_allclose(got[valid], [s(0), s(5), s(50), s(99)], rtol=rtol, atol=atol)


def test_invalid_steps_outside_jit_raise() -> None:
    s = sa.cosine(10)
    with pytest.raises(ValueError, match="finite and non-negative"):
        s(jnp.asarray([1.0, -2.0]))
    with pytest.raises(ValueError, match="finite and non-negative"):
        s(jnp.asarray([jnp.nan]))
    with pytest.raises(TypeError, match="integers or reals"):
        s(jnp.asarray([True]))


@pytest.mark.parametrize(
    "schedule",
    [
        sa.cumulative(lambda k: 0.99),
        sa.from_fn(stepwise),
        sa.warmup(sa.cosine(100) * sa.cumulative(lambda k: 0.99), 10),
        sa.sequence(sa.constant(1.0), sa.from_fn(stepwise), at=[10]),
    ],
    ids=["cumulative", "scalar from_fn", "cumulative inside", "from_fn inside"],
)
def test_untraceable_nodes_raise_a_clear_type_error_under_jit(schedule: Schedule) -> None:
    with pytest.raises(TypeError, match=r"cannot be evaluated on JAX|not traceable"):
        jitted(schedule)(jnp.arange(5))
    with pytest.raises(TypeError, match=r"cannot be evaluated on JAX|not traceable"):
        jax.jit(to_optax(schedule))(jnp.asarray(3))
    # The NumPy curve of the same expression still works.
    assert schedule.curve(20).shape == (20,)


def test_eager_vmap_evaluates_scalar_steps() -> None:
    s = sa.sequence(sa.linear(0.1, 1.0, 10), sa.cosine(50), at=[10]) * sa.per_epoch(
        sa.multistep([2], 0.1), 20
    )
    with jax.enable_x64(True):
        got = np.asarray(jax.vmap(lambda t: s(t))(jnp.arange(80)))
    np.testing.assert_allclose(got, s.curve(80), rtol=1e-12, atol=1e-15)


def test_a_vectorised_from_fn_traces() -> None:
    s = sa.from_fn(half_life) * sa.cosine(100)
    with jax.enable_x64(True):
        got = np.asarray(jitted(s)(jnp.arange(200)))
    np.testing.assert_allclose(got, s.curve(200), rtol=1e-12)


def test_x64_is_restored_after_the_tests() -> None:
    assert not jax.config.jax_enable_x64
    assert jnp.asarray(1.0).dtype == jnp.float32


# -- optax ------------------------------------------------------------------------------------


@pytest.mark.parametrize("x64", [False, True])
def test_to_optax_is_base_times_the_curve(x64: bool) -> None:
    s = sa.warmup(sa.cosine(900), 100, start=0.01) * sa.multistep([400, 700], 0.5)
    schedule = to_optax(s, base=3e-4)
    with jax.enable_x64(x64):
        values = np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(1200, dtype=jnp.int32)))
        one = schedule(250)
        dtype = jnp.float64 if x64 else jnp.float32
    assert values.dtype == dtype and one.dtype == dtype
    # float32: pi * t / T and cos round to about eps32 absolute (relative near cos's zero), then
    # a few products each round by eps32/2 relative.
    rtol, atol = (1e-12, 1e-20) if x64 else (8 * EPS32, 3e-4 * 2 * EPS32)
    np.testing.assert_allclose(values, 3e-4 * s.curve(1200), rtol=rtol, atol=atol)
    np.testing.assert_allclose(float(one), 3e-4 * s(250), rtol=rtol, atol=atol)


def test_to_optax_reproduces_optax_warmup_cosine_decay() -> None:
    # optax's decay_steps includes the warm-up; its warm-up starts at init_value.
    peak, warmup_steps, decay_steps, end = 2e-3, 50, 1000, 1e-5
    ours = to_optax(
        sa.warmup(sa.cosine(decay_steps - warmup_steps, end=end / peak), warmup_steps), base=peak
    )
    theirs = optax.warmup_cosine_decay_schedule(0.0, peak, warmup_steps, decay_steps, end)
    with jax.enable_x64(True):
        steps = jnp.arange(1500)
        np.testing.assert_allclose(
            np.asarray(jax.jit(ours)(steps)), np.asarray(jax.jit(theirs)(steps)), rtol=1e-12
        )


def test_to_optax_reproduces_optax_piecewise_constant() -> None:
    ours = to_optax(sa.multistep([100, 250], 0.1), base=0.5)
    theirs = optax.piecewise_constant_schedule(0.5, {100: 0.1, 250: 0.1})
    with jax.enable_x64(True):
        steps = jnp.arange(400)
        np.testing.assert_allclose(np.asarray(ours(steps)), np.asarray(theirs(steps)), rtol=1e-15)


@pytest.mark.parametrize("x64", [False, True])
def test_inject_hyperparams_applies_the_curve(x64: bool) -> None:
    s = sa.warmup(sa.cosine(15), 5, start=0.1) * sa.multistep([12], 0.5)
    base, n = 0.1, 25
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=to_optax(s, base=base))
        params = {"w": jnp.ones(3, dtype=dtype)}
        grads = {"w": jnp.asarray([1.0, 2.0, -4.0], dtype=dtype)}
        state = optimizer.init(params)

        @jax.jit
        def train_step(params: Any, state: Any) -> tuple[Any, Any, Any]:
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state, updates

        recorded, applied = [], []
        for _ in range(n):
            params, state, updates = train_step(params, state)
            recorded.append(float(state.hyperparams["learning_rate"]))
            # sgd applies -lr * grad: recover the lr the update really used.
            applied.append(float(-updates["w"][2] / grads["w"][2]))
    expected = base * s.curve(n)
    # float32: the cosine rounds to about eps32 absolute (so relative error grows near its zero),
    # then the lr and lr * grad each round by eps32/2.
    rtol, atol = (1e-12, 1e-18) if x64 else (8 * EPS32, base * 2 * EPS32)
    np.testing.assert_allclose(recorded, expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(applied, expected, rtol=rtol, atol=atol)
    assert int(state.count) == n


def test_an_optax_optimizer_takes_the_schedule_directly() -> None:
    s = sa.linear(1.0, 0.0, 10)
    optimizer = optax.sgd(learning_rate=to_optax(s, base=0.5))
    params = jnp.zeros(1)
    state = optimizer.init(params)
    steps = []
    for _ in range(12):
        updates, state = optimizer.update(jnp.ones(1), state, params)
        params = optax.apply_updates(params, updates)
        steps.append(-float(updates[0]))
    np.testing.assert_allclose(steps, 0.5 * s.curve(12), rtol=2 * EPS32, atol=1e-8)


def test_to_optax_validates_its_arguments() -> None:
    with pytest.raises(TypeError, match=r"to_optax\(\): schedule must be a Schedule, got 3"):
        to_optax(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"to_optax\(\): base must be a finite number, got nan"):
        to_optax(sa.cosine(10), base=float("nan"))
    with pytest.raises(TypeError, match=r"to_optax\(\): base must be a finite number"):
        to_optax(sa.cosine(10), base="1e-3")  # type: ignore[arg-type]


def test_to_optax_names_its_expression() -> None:
    schedule = to_optax(sa.cosine(10), base=0.5)
    assert "cosine(10)" in schedule.__qualname__ and "0.5" in schedule.__qualname__


def test_large_int32_counts_do_not_overflow() -> None:
    s = sa.warmup(sa.cosine(10**9), 10**6)
    counts = np.r_[0, 1, 10**6 - 1, 10**6, 10**9, 2**31 - 1]
    counts = np.r_[counts, np.random.default_rng(0).integers(0, 2**31 - 1, 200)]
    with jax.enable_x64(True):
        got = np.asarray(jitted(s)(jnp.asarray(counts, dtype=jnp.int32)))
    np.testing.assert_allclose(got, [s(int(c)) for c in counts], rtol=1e-12, atol=1e-15)


def test_to_optax_takes_parameters_beyond_int32_in_float32() -> None:
    # A Python int above int32 used to become an int32 constant under jit (OverflowError).
    s = sa.warmup(sa.cosine(10**10), 3 * 10**9)
    schedule = jax.jit(to_optax(s, base=1000.0))
    counts = np.r_[0, 1, 2**24 + 1, 10**9, 2**31 - 1]
    got = np.stack([np.asarray(schedule(jnp.int32(c))) for c in counts])
    assert got.dtype == np.float32 and not jax.config.jax_enable_x64
    # Evaluated in float64 on the exact count, then rounded once: within half a float32 ulp of
    # the exact value (one ulp of slack for the float64 error at a rounding tie).
    exact = np.array([1000.0 * s(int(c)) for c in counts])
    np.testing.assert_allclose(got, exact, rtol=EPS32, atol=0)
    # A float32 step would not do: 2**24 + 1 is not a float32.
    assert got[2] != np.float32(1000.0 * s(2**24))
    plain = jax.jit(to_optax(sa.cosine(10**10), base=1000.0))(jnp.int32(5))
    assert plain.dtype == np.float32
