"""schedalg.optax against optax 0.2.8's own factories, in float64.

optax is evaluated eagerly under ``jax.enable_x64(True)`` (a context local to each comparison):
the factories do the same operations in the same order as the expressions, so NumPy float64
values must equal optax's bit for bit, except where noted (an integer ``exponent``, a product
here and ``pow`` there: a few ulps). Under ``jax.jit`` XLA rewrites ``x / c`` as ``x * (1 / c)``
on both sides, so jitted values are compared with a tolerance of a few ulps of float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")

import schedalg.optax as so  # noqa: E402
from schedalg import parse  # noqa: E402
from schedalg.jax import to_optax  # noqa: E402

EPS = float(np.finfo(np.float64).eps)


# Every step near the start and around every multiple of 50 (where the grid's boundaries lie),
# every fifth step elsewhere: optax evaluated one count at a time, as a training loop calls it
# (XLA's vectorised ``pow`` on a batch of counts rounds differently from its scalar one).
STEPS = sorted(
    set(range(40))
    | set(range(0, 1300, 5))
    | {m + d for m in range(50, 1300, 50) for d in (-1, 0, 1)}
)


def optax_values(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], steps: Any
) -> np.ndarray:
    with jax.enable_x64(True):
        fn = getattr(optax, name)(*args, **kwargs)
        return np.array([float(fn(jnp.asarray(t))) for t in steps])


def ulps(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(got - expected) / np.spacing(np.maximum(np.abs(expected), 1e-300))))


SGDR = [
    {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 50, "decay_steps": 400},
    {
        "init_value": 0.1,
        "peak_value": 0.5,
        "warmup_steps": 0,
        "decay_steps": 300,
        "end_value": 0.01,
    },
]

GRID: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("constant_schedule", (0.3,), {}),
    ("polynomial_schedule", (1.0, 0.1, 2.0, 900), {"transition_begin": 100}),
    ("polynomial_schedule", (1.0, 0.1, 0.7, 900), {}),
    ("polynomial_schedule", (25.0, 10.0, 2, 10), {}),
    ("polynomial_schedule", (1.0, 2.0, 1, 0), {}),
    ("polynomial_schedule", (1.0, 2.0, 1, 100), {"transition_begin": -5}),
    ("linear_schedule", (0.0, 1e-3, 500), {}),
    ("linear_schedule", (1.0, 0.0, -3), {}),
    ("linear_schedule", (3.0, 1.0, 200), {"transition_begin": 400}),
    ("warmup_constant_schedule", (0.0, 1.0, 100), {}),
    ("piecewise_constant_schedule", (0.1, {0: 0.5, 200: 0.1, 600: 3.0}), {}),
    ("piecewise_constant_schedule", (-0.1, {3: 2.0, 6: 0.5}), {}),
    ("piecewise_constant_schedule", (0.7,), {}),
    ("piecewise_interpolate_schedule", ("linear", 0.1, {100: 10.0, 700: 0.01}), {}),
    ("piecewise_interpolate_schedule", ("cosine", 0.1, {0: 2.0, 100: 10.0, 700: 0.01}), {}),
    ("piecewise_interpolate_schedule", ("cosine", 0.1, {}), {}),
    ("exponential_decay", (1.0, 100, 0.5), {}),
    ("exponential_decay", (2.0, 100, 0.5), {"transition_begin": 50, "staircase": True}),
    ("exponential_decay", (1.0, 100, 0.5), {"staircase": True, "end_value": 0.01}),
    ("exponential_decay", (0.1, 100, 1.5), {"end_value": 2.0}),
    ("exponential_decay", (0.1, 0, 0.5), {}),
    ("exponential_decay", (0.1, 10, 0.0), {}),
    ("cosine_decay_schedule", (0.3, 900), {}),
    ("cosine_decay_schedule", (0.3, 900, 0.1), {}),
    # issue 23: a fractional exponent, refused before, is optax's pow
    ("cosine_decay_schedule", (0.3, 900, 0.1, 1.5), {}),
    ("warmup_cosine_decay_schedule", (0.0, 1e-3, 100, 1000, 1e-5, 0.5), {}),
    ("warmup_cosine_decay_schedule", (0.0, 1e-3, 100, 1000), {}),
    ("warmup_cosine_decay_schedule", (1e-5, 1e-3, 0, 1000, 1e-4), {}),
    ("warmup_cosine_decay_schedule", (0.2, 0.0, 50, 100, -3.0), {}),
    ("warmup_exponential_decay_schedule", (0.0, 1.0, 100, 200, 0.3), {"staircase": True}),
    (
        "warmup_exponential_decay_schedule",
        (0.0, 1.0, 100, 200, 0.3),
        {"transition_begin": 20, "end_value": 0.1},
    ),
    ("sgdr_schedule", (SGDR,), {}),
    ("linear_onecycle_schedule", (1000, 0.1), {}),
    ("linear_onecycle_schedule", (10, 0.1, 0.3, 0.35), {}),
    ("linear_onecycle_schedule", (10, 1000, 0.3, 0.7, 10.0, 100.0), {}),
    ("cosine_onecycle_schedule", (1000, 0.1), {}),
    ("cosine_onecycle_schedule", (5, 1000.0, 0.4, 10.0, 100.0), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), GRID, ids=[g[0] for g in GRID])
def test_values_equal_optax_bit_for_bit(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    expected = optax_values(name, args, kwargs, STEPS)
    s = getattr(so, name)(*args, **kwargs)
    assert parse(repr(s)) == s
    steps = np.array(STEPS)
    np.testing.assert_array_equal(s(steps.astype(np.float64)), expected, err_msg=repr(s))
    np.testing.assert_array_equal([s(t) for t in STEPS], expected, err_msg=repr(s))
    np.testing.assert_array_equal(s.curve(1300)[steps], expected, err_msg=repr(s))
    # Under jit XLA rewrites ``x / c`` as ``x * (1 / c)``: a few ulps of the largest value. (optax's
    # own jitted values are further from its eager ones: its ``1 - steps / steps`` is then not 0,
    # and a fractional power of it is 2e-12, not 0; ours holds exactly.)
    with jax.enable_x64(True):
        ours = np.asarray(jax.jit(jax.vmap(to_optax(s)))(jnp.asarray(steps)))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=16 * EPS * scale)


@pytest.mark.parametrize("exponent", [2, 3])
def test_a_whole_exponent_is_a_product_within_ulps(exponent: int) -> None:
    for name, args in [
        ("cosine_decay_schedule", (0.3, 900, 0.1)),
        ("warmup_cosine_decay_schedule", (0.2, 1.21, 50, 1000, -3.0)),
    ]:
        expected = optax_values(name, args, {"exponent": exponent}, STEPS)
        got = getattr(so, name)(*args, exponent=exponent)(np.array(STEPS, dtype=np.float64))
        # Measured: at most 4 ulps of the value (pow vs repeated products), away from zeros.
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=8 * EPS, atol=8 * EPS * scale)


def test_the_port_example_prints_readably() -> None:
    s = so.warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=1000)
    assert repr(s) == (
        "sequence(sequence(-0.001 * (1.0 - minimum(elapsed(), 100.0) / 100.0) ** 1.0 + 0.001, "
        "constant(0.001), at=[100]), 0.001 * cosine(900), at=[100])"
    )


def test_every_optax_schedule_factory_is_here() -> None:
    factories = {
        name
        for name in dir(optax.schedules)
        if name.endswith(("_schedule", "_decay", "_schedules"))
        and not name.startswith(("inject", "_"))
    }
    assert factories == set(so.__all__)


def test_join_schedules_hides_a_schedule_behind_a_later_boundary() -> None:
    pieces = [so.constant_schedule(1.0), so.constant_schedule(2.0), so.constant_schedule(3.0)]
    for boundaries in ([10, 5], [0, 7], [4, 9], [3, 3]):
        with jax.enable_x64(True):
            theirs = optax.join_schedules(
                [lambda c, v=v: jnp.full_like(c, v, float) for v in (1.0, 2.0, 3.0)], boundaries
            )
            expected = [float(theirs(jnp.asarray(t))) for t in range(15)]
        assert [so.join_schedules(pieces, boundaries)(t) for t in range(15)] == expected


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: so.cosine_decay_schedule(1.0, 0), ValueError, "requires positive decay_steps"),
        (
            lambda: so.warmup_cosine_decay_schedule(0.0, 1.0, 100, 100),
            ValueError,
            "requires positive decay_steps",
        ),
        (
            lambda: so.piecewise_constant_schedule(1.0, {5: -1.0}),
            ValueError,
            "non-negative scale factors",
        ),
        (
            lambda: so.piecewise_interpolate_schedule("linar", 1.0),
            ValueError,
            "must be either 'cosine' or 'linear'",
        ),
        (
            lambda: so.piecewise_interpolate_schedule("linear", 1.0, {-3: 2.0}),
            ValueError,
            r"piecewise_interpolate_schedule\(\): a boundary must be a non-negative integer",
        ),
        (
            lambda: so.linear_schedule(1.0, 0.0, 10.5),
            TypeError,
            r"linear_schedule\(\): transition_steps must be an integer, got 10.5",
        ),
        (
            lambda: so.exponential_decay(1.0, 10, -0.5),
            ValueError,
            r"exponential_decay\(\): decay_rate must be",
        ),
        (
            lambda: so.linear_onecycle_schedule(0, 1.0),
            ValueError,
            "non-positive `transition_steps`",
        ),
        (
            lambda: so.join_schedules([so.constant_schedule(1.0)], [3]),
            ValueError,
            r"join_schedules\(\): boundaries must have one entry fewer",
        ),
    ],
)
def test_bad_arguments_are_refused_like_optax(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# -- optax's own test tables (optax/schedules/_schedule_test.py) -----------------------------

PEERS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any], list[int], list[float]]] = {
    "polynomial_linear": (
        "polynomial_schedule",
        (10.0, 20.0, 1, 10),
        {},
        list(range(15)),
        [*range(10, 20), *[20] * 5],
    ),
    "polynomial_quadratic": (
        "polynomial_schedule",
        (25.0, 10.0, 2, 10),
        {},
        list(range(15)),
        [10.0 + 15.0 * (1.0 - n / 10) ** 2 for n in range(10)] + [10.0] * 5,
    ),
    "polynomial_with_begin": (
        "polynomial_schedule",
        (30.0, 10.0, 2, 10),
        {"transition_begin": 4},
        list(range(20)),
        [30.0] * 4 + [10.0 + 20.0 * (1.0 - n / 10) ** 2 for n in range(10)] + [10.0] * 6,
    ),
    "piecewise_constant_positive": (
        "piecewise_constant_schedule",
        (0.1, {3: 2.0, 6: 0.5}),
        {},
        list(range(10)),
        [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1],
    ),
    "piecewise_constant_negative": (
        "piecewise_constant_schedule",
        (-0.1, {3: 2.0, 6: 0.5}),
        {},
        list(range(10)),
        [-0.1, -0.1, -0.1, -0.2, -0.2, -0.2, -0.1, -0.1, -0.1, -0.1],
    ),
    "exponential_immutable_count": (
        "exponential_decay",
        (32.0, 1, 0.5),
        {},
        list(range(5)),
        [32, 16, 8, 4, 2],
    ),
    "cosine_with_exponent": (
        "cosine_decay_schedule",
        (0.1, 100, 0.0, 2),
        {},
        [0, 10, 50, 75, 100],
        [0.1, 0.09516553580760956, 0.025, 0.0021446612663567066, 0.0],
    ),
    "warmup_cosine_with_exponent": (
        "warmup_cosine_decay_schedule",
        (0.2, 1.21, 50, 100, -3.0, 2),
        {},
        [0, 10, 50, 75, 100],
        [0.2, 0.402, 1.21, -1.9475, -3.0],
    ),
    "warmup_cosine_zero_peak": (
        "warmup_cosine_decay_schedule",
        (0.2, 0, 50, 100, -3.0, 2),
        {},
        [0, 10, 50, 75, 100],
        [0.2, 0.16, 0.0, 0.0, 0.0],
    ),
    "interpolate_linear": (
        "piecewise_interpolate_schedule",
        ("linear", 200.0, {5: 1.5, 10: 0.25}),
        {},
        list(range(13)),
        [200.0, 220.0, 240.0, 260.0, 280.0, 300.0, 255.0, 210.0, 165.0, 120.0, 75.0, 75.0, 75.0],
    ),
    "interpolate_cosine": (
        "piecewise_interpolate_schedule",
        ("cosine", 400.0, {5: 1.2, 3: 0.6, 7: 1.0}),
        {},
        list(range(9)),
        [400.0, 360.0, 280.0, 240.0, 264.0, 288.0, 288.0, 288.0, 288.0],
    ),
    "interpolate_empty_dict": (
        "piecewise_interpolate_schedule",
        ("linear", 13.0, {}),
        {},
        list(range(5)),
        [13.0] * 5,
    ),
    "interpolate_no_dict": (
        "piecewise_interpolate_schedule",
        ("cosine", 17.0),
        {},
        list(range(3)),
        [17.0] * 3,
    ),
    "interpolate_zero_interval": (
        "piecewise_interpolate_schedule",
        ("linear", 13.0, {0: 2.0, 5: 3.0}),
        {},
        [0, 5],
        [26.0, 78.0],
    ),
    "onecycle_linear": (
        "linear_onecycle_schedule",
        (10, 1000, 0.3, 0.7, 10.0, 100.0),
        {},
        list(range(12)),
        [100.0, 400.0, 700.0, 1000.0, 775.0, 550.0, 325.0, 100.0, 67.0, 34.0, 1.0, 1.0],
    ),
    "onecycle_cosine": (
        "cosine_onecycle_schedule",
        (5, 1000.0, 0.4, 10.0, 100.0),
        {},
        list(range(7)),
        [100.0, 550.0, 1000.0, 750.25, 250.75, 1.0, 1.0],
    ),
}


@pytest.mark.parametrize("case", sorted(PEERS))
def test_peers_optax_schedule_table(case: str) -> None:
    name, args, kwargs, steps, table = PEERS[case]
    s = getattr(so, name)(*args, **kwargs)
    ours = np.array([s(t) for t in steps])
    with jax.enable_x64(True):
        fn = getattr(optax, name)(*args, **kwargs)
        theirs = np.array([float(fn(jnp.asarray(t))) for t in steps])
    # optax's tables are float32 runs, checked there to 1e-3 (1e-6 relative for the exponents).
    np.testing.assert_allclose(ours, table, rtol=1e-6, atol=1e-3)
    exact = "exponent" not in case
    np.testing.assert_allclose(ours, theirs, rtol=0 if exact else 8 * EPS, atol=0)


def test_peers_optax_cosine_with_giant_int_steps() -> None:
    # optax: decay_steps=1e10 under jit in float32 must not overflow; 1000 * (1 + cos(pi/10)) / 2.
    s = so.cosine_decay_schedule(init_value=1000.0, decay_steps=int(1e10))
    value = jax.jit(to_optax(s))(int(1e9))
    assert value.dtype == np.float32
    np.testing.assert_allclose(float(value), 1000 * (1 + np.cos(np.pi / 10)) / 2, rtol=1e-6)


def test_an_unknown_interpolation_is_named_with_the_function_and_value() -> None:
    with pytest.raises(
        ValueError,
        match=r"piecewise_interpolate_schedule\(\): `interpolate_type` must be either 'cosine' "
        r"or 'linear', got 'cubic'",
    ):
        so.piecewise_interpolate_schedule("cubic", 1.0, {10: 0.5})
