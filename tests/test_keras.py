"""from_keras / to_keras against Keras 3.15.1 (JAX backend) on a grid of every schedule class
and option, defaults included.

Precision: Keras evaluates its schedules in float32 (the dtype of ``initial_learning_rate`` as a
tensor). Each of its 5 to 10 float32 operations rounds by up to 2**-24 relative, the cosine's
argument ``pi * t / steps`` carries that error into ``1 + cos(...)`` as an absolute error, and
``rate ** (t / steps)`` multiplies the exponent's rounding by ``|log rate| * t / steps``. The
expressions (float64) are compared with Keras's float32 values at 4e-6 relative (about 64 float32
ulps) plus 16 float32 ulps of the curve's largest value; a schedule one step off misses that by
orders of magnitude (``test_the_comparison_can_fail``)."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
S = keras.optimizers.schedules

import schedalg as sa  # noqa: E402
from schedalg.keras import from_keras, to_keras  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)


def keras_curve(schedule: object, steps: int, one_by_one: bool = False) -> np.ndarray:
    """Keras's values at steps 0 .. steps - 1: on an array of steps (as Keras's optimizers pass
    an integer step); mapped over the steps by ``jax.vmap`` where Keras branches with
    ``ops.cond`` (which takes one step: vmap runs each step's branch, ten times faster than a
    Python loop); ``one_by_one``: one step at a time, as an eager optimizer asks."""
    if not one_by_one:
        try:
            return np.asarray(schedule(np.arange(steps)), dtype=float)  # type: ignore[operator]
        except Exception:
            import jax

            return np.asarray(jax.vmap(schedule)(np.arange(steps)), dtype=float)  # type: ignore[arg-type]
    return np.array([float(schedule(t)) for t in range(steps)])  # type: ignore[operator]


def agree(ours: np.ndarray, theirs: np.ndarray) -> None:
    bound = 4e-6 * np.abs(theirs) + 16 * EPS32 * float(np.max(np.abs(theirs)))
    bad = np.flatnonzero(np.abs(ours - theirs) > bound)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


def check(schedule: object, steps: int, one_by_one: bool = False) -> sa.Schedule:
    theirs = keras_curve(schedule, steps, one_by_one)
    ours = from_keras(S.serialize(schedule))
    assert from_keras(schedule) == ours
    assert from_keras(schedule.get_config(), class_name=type(schedule).__name__) == ours  # type: ignore[attr-defined]
    agree(ours.curve(steps), theirs)
    agree(np.array([ours(t) for t in range(steps)]), theirs)
    assert sa.parse(repr(ours)) == ours
    assert sa.from_dict(sa.to_dict(ours)) == ours
    return ours


@pytest.mark.parametrize(
    ("kw", "staircase"),
    itertools.product(
        [
            {"decay_steps": 7, "decay_rate": 0.9},
            {"decay_steps": 100, "decay_rate": 0.5},
            {"decay_steps": 2.5, "decay_rate": 0.99},
            {"decay_steps": 4, "decay_rate": 0.0},  # 0 ** 0 is 1: the initial rate, then 0
            {"decay_steps": 2.5, "decay_rate": 0.0},
        ],
        [None, False, True],
    ),
)
def test_exponential_decay(kw: dict, staircase: bool | None) -> None:
    extra = {} if staircase is None else {"staircase": staircase}
    check(S.ExponentialDecay(0.1, **kw, **extra), 300)


@pytest.mark.parametrize(
    ("boundaries", "values"),
    [
        ([10], [1.0, 0.5]),
        ([5, 20, 21], [0.3, 0.2, 0.1, 0.05]),
        ([2.5, 7.5], [1.0, 2.0, 3.0]),
        # issue 23, class 10: Keras casts a boundary to the integer step (toward zero)
        ([-0.5, 3.0], [1.0, 2.0, 3.0]),
        ([-1.5, 4], [1.0, 2.0, 3.0]),
        ([4, 4, 9.9], [1.0, 2.0, 3.0, 4.0]),
    ],
)
def test_piecewise_constant_decay(boundaries: list, values: list) -> None:
    check(S.PiecewiseConstantDecay(boundaries, values), 40)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"end_learning_rate": 0.0},
        {"power": 0.5},
        {"power": 2.0, "end_learning_rate": 0.01},
        {"cycle": False},
        {"decay_steps": 12.5, "power": 0.5},
        {"decay_steps": 0.75, "power": 2.0},
    ],
)
def test_polynomial_decay(kw: dict) -> None:
    check(S.PolynomialDecay(0.1, **{"decay_steps": 50, **kw}), 80)


@pytest.mark.parametrize(
    ("steps", "kw"),
    [
        (1, {}),
        (7, {}),
        (7, {"power": 0.5, "end_learning_rate": 0.01}),
        (20, {"power": 2.0}),
        (20, {"power": 0.0}),
        (2.5, {"power": 0.5}),
        (6.25, {}),
    ],
)
def test_polynomial_decay_cycle(steps: float, kw: dict) -> None:
    """The decay length grows to the next multiple of decay_steps. Keras is read one step at a
    time: evaluated on an array (or compiled), XLA divides by decay_steps as a multiplication by
    its float32 reciprocal, and ceil(21 / 7) comes out 4, not 3 (Keras's float32 artefact; the
    expression has the exact ceil)."""
    check(S.PolynomialDecay(0.1, steps, cycle=True, **kw), int(5 * steps) + 3, one_by_one=True)


def test_polynomial_decay_cycle_reads_well() -> None:
    assert repr(from_keras(S.PolynomialDecay(0.1, 50, cycle=True, power=2.0))) == (
        "0.0999 * (1.0 - elapsed() / (50.0 * maximum(1.0, shift(per_epoch(elapsed(), 50), 49))))"
        " ** 2.0 + 0.0001"
    )


@pytest.mark.parametrize("decay_steps", [16777217, 1e9 + 0.5, 123456789.3])
def test_a_zero_decay_rate_staircase_drops_where_float32_says(decay_steps: float) -> None:
    """Keras divides in float32: 999,999,968 / float32(1e9 + 0.5) is already 1."""
    theirs = S.ExponentialDecay(0.1, decay_steps, 0.0, staircase=True)
    ours = from_keras(theirs)
    steps = np.arange(int(decay_steps) - 80, int(decay_steps) + 3)
    expected = np.array([float(theirs(int(t))) for t in steps])
    assert np.array_equal(np.float32(ours.curve(int(steps[-1]) + 1)[steps]), expected)
    assert 0.0 in expected and 0.1 in np.float64(np.float32(expected)).round(7)


@pytest.mark.parametrize(
    ("kw", "staircase"),
    itertools.product(
        [
            {"decay_steps": 10, "decay_rate": 0.5},
            {"decay_steps": 3, "decay_rate": 2.0},
            {"decay_steps": 1.5, "decay_rate": 0.1},
            {"decay_steps": 4, "decay_rate": 0.0},
        ],
        [None, False, True],
    ),
)
def test_inverse_time_decay(kw: dict, staircase: bool | None) -> None:
    extra = {} if staircase is None else {"staircase": staircase}
    check(S.InverseTimeDecay(0.1, **kw, **extra), 200)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"alpha": 0.1},
        {"warmup_target": 0.5, "warmup_steps": 10},
        {"alpha": 0.2, "warmup_target": 0.3, "warmup_steps": 1},
        {"warmup_target": 0.3},
        {"warmup_steps": 10},
        {"decay_steps": 40.5, "alpha": 0.1},
        {"decay_steps": 40.25, "warmup_target": 0.5, "warmup_steps": 7.5},
        {"warmup_target": 0.5, "warmup_steps": 0.25},
    ],
)
def test_cosine_decay(kw: dict) -> None:
    check(S.CosineDecay(0.1, **{"decay_steps": 60, **kw}), 90)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"t_mul": 1.0},
        {"t_mul": 3.0, "alpha": 0.1},
        {"t_mul": 1.0, "m_mul": 0.5},
        {"t_mul": 1.0, "m_mul": 0.8, "alpha": 0.05},
        {"m_mul": 1.0},
        {"m_mul": 0.5},
        {"t_mul": 1.5, "m_mul": 0.7, "alpha": 0.1},
        {"first_decay_steps": 2.5},
        {"first_decay_steps": 3.5, "t_mul": 1.0, "m_mul": 0.8},
        {"first_decay_steps": 12.5, "t_mul": 1.0},
    ],
)
def test_cosine_decay_restarts(kw: dict) -> None:
    check(S.CosineDecayRestarts(0.1, **{"first_decay_steps": 10, **kw}), 200)


def test_typical_expressions_read_well() -> None:
    assert repr(from_keras(S.ExponentialDecay(0.1, 1000, 0.96, staircase=True))) == (
        "0.1 * step_decay(1000, 0.96)"
    )
    assert repr(from_keras(S.CosineDecay(0.001, 9000, warmup_target=0.01, warmup_steps=1000))) == (
        "sequence(linear(0.001, 0.01, 1000), 0.01 * cosine(9000), at=[1000])"
    )


def test_to_keras_drives_an_optimizer_and_round_trips() -> None:
    expr = sa.warmup(sa.cosine(90), 10, start=0.1)
    schedule = to_keras(expr, 0.5)
    assert isinstance(schedule, S.LearningRateSchedule)
    config = S.serialize(schedule)
    back = S.deserialize(config)
    assert back.schedule == expr and back.base == 0.5
    assert back.get_config()["schedule"] == sa.to_dict(expr)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(np.ones(3, dtype="float32"))
    seen = []
    for _ in range(15):
        seen.append(float(optimizer.learning_rate))
        optimizer.apply_gradients([(keras.ops.ones(3), variable)])
    agree(np.array(seen), 0.5 * expr.curve(15))
    # Keras's own schedules read back from the expression give Keras's curve.
    cosine = S.CosineDecay(0.1, 60, alpha=0.1)
    agree(keras_curve(to_keras(from_keras(cosine)), 90), keras_curve(cosine, 90))


def test_to_keras_under_jit() -> None:
    jax = pytest.importorskip("jax")
    schedule = to_keras(sa.cosine(50), 0.1)
    jitted = jax.jit(lambda step: schedule(step))
    values = np.array([float(jitted(np.int32(t))) for t in range(60)])
    agree(values, 0.1 * sa.cosine(50).curve(60))


@pytest.mark.parametrize(
    ("config", "kw", "error", "text"),
    [
        ({"class_name": "ExponentialDecy", "config": {}}, {}, ValueError, "'ExponentialDecay'"),
        (
            {
                "class_name": "CosineDecay",
                "config": {"initial_learning_rate": 0.1, "decay_step": 10},
            },
            {},
            ValueError,
            "'decay_steps'",
        ),
        (
            {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}},
            {},
            TypeError,
            "'decay_steps'",
        ),
        (
            {"initial_learning_rate": 0.1, "decay_steps": 10, "name": "mine"},
            {},
            TypeError,
            "class_name=",
        ),
        (
            {
                "class_name": "PiecewiseConstantDecay",
                "config": {"boundaries": [5, 3], "values": [1, 2, 3]},
            },
            {},
            ValueError,
            "must not decrease",
        ),
        (
            {
                "class_name": "PiecewiseConstantDecay",
                "config": {"boundaries": [2.99999999], "values": [1, 2]},
            },
            {},
            ValueError,
            "keras.config.floatx()",
        ),
    ],
)
def test_errors_name_keras_options(config: dict, kw: dict, error: type, text: str) -> None:
    with pytest.raises(error, match="from_keras") as info:
        from_keras(config, **kw)
    assert text in str(info.value)


def test_the_comparison_can_fail() -> None:
    schedule = S.CosineDecay(0.1, 60)
    with pytest.raises(AssertionError):
        agree(sa.shift(from_keras(schedule), 1).curve(70), keras_curve(schedule, 70))
