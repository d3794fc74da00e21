"""Every primitive and combinator at hand-checked points, boundaries included.

The expected numbers are the ones torch, HF and optax produce for the same curve (listed in the
docstrings of the primitives), or worked out by hand from docs/design.md §2 and §3.
"""

import math

import numpy as np
import pytest

from schedalg import *  # noqa: F403 - the user's view of the library
from schedalg import (
    clamp,
    clip,
    constant,
    cosine,
    cosine_restarts,
    cumulative,
    cyclic,
    exponential,
    inverse_sqrt,
    linear,
    maximum,
    minimum,
    multistep,
    one_cycle,
    one_cycle_momentum,
    per_epoch,
    piecewise,
    polynomial,
    repeat,
    sequence,
    shift,
    step_decay,
    stretch,
    warmup,
    warmup_stable_decay,
)

COS_QUARTER = (1 + math.cos(math.pi / 4)) / 2  # 0.853553...


def reciprocal_plus_one(x):
    return 1 / (1 + x)


TABLE = [
    # (schedule, steps, expected values)
    (constant(0.3), [0, 7, 10**6], [0.3, 0.3, 0.3]),
    (linear(0.25, 1, 4), range(7), [0.25, 0.4375, 0.625, 0.8125, 1, 1, 1]),
    (linear(1, 0, 4), range(6), [1, 0.75, 0.5, 0.25, 0, 0]),
    (linear(0.5, 0.1, 4), range(6), [0.5, 0.4, 0.3, 0.2, 0.1, 0.1]),
    (exponential(0.5), range(4), [1, 0.5, 0.25, 0.125]),
    (step_decay(3, 0.5), range(10), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]),
    (multistep([0, 2, 2, 5], 0.5), range(7), [0.5, 0.5, 0.125, 0.125, 0.125, 0.0625, 0.0625]),
    (multistep([3], 0.1), [2, 3], [1, 0.1]),
    (polynomial(4), range(6), [1, 0.75, 0.5, 0.25, 0, 0]),
    (polynomial(4, power=2), range(5), [1, 0.5625, 0.25, 0.0625, 0]),
    (polynomial(4, power=0), [0, 4, 9], [1, 1, 1]),
    (polynomial(4, end=0.2), [0, 2, 4, 9], [1, 0.6, 0.2, 0.2]),
    (cosine(4), range(7), [1, COS_QUARTER, 0.5, 1 - COS_QUARTER, 0, 0, 0]),
    (
        cosine(4, periodic=True),
        range(10),
        [
            1,
            COS_QUARTER,
            0.5,
            1 - COS_QUARTER,
            0,
            1 - COS_QUARTER,
            0.5,
            COS_QUARTER,
            1,
            COS_QUARTER,
        ],
    ),
    (cosine(4, end=0.1), range(5), [1, 0.868198, 0.55, 0.231802, 0.1]),
    (
        cosine_restarts(3, 2),
        [0, 1, 2, 3, 4, 5, 8, 9],
        [1, 0.75, 0.25, 1, 0.933013, 0.75, 0.066987, 1],
    ),
    (cosine_restarts(4), [0, 2, 4, 6], [1, 0.5, 1, 0.5]),
    (cyclic(0.1, 1.0, 2, 3), range(7), [0.1, 0.55, 1, 0.7, 0.4, 0.1, 0.55]),
    (
        cyclic(0, 1, 2, mode="triangular2"),
        range(10),
        [0, 0.5, 1, 0.5, 0, 0.25, 0.5, 0.25, 0, 0.125],
    ),
    (cyclic(0, 1, 2, mode="exp_range", gamma=0.5), range(6), [0, 0.25, 0.25, 0.0625, 0, 0.015625]),
    (
        cyclic(0, 1, 2, scale_fn=reciprocal_plus_one),
        range(7),
        [0, 0.25, 0.5, 0.25, 0, 1 / 6, 1 / 3],
    ),
    (
        cyclic(0, 1, 2, scale_fn=reciprocal_plus_one, scale_mode="iterations"),
        range(9),
        [0, 0.25, 1 / 3, 0.125, 0, 1 / 12, 1 / 7, 0.0625, 0],
    ),
    (cyclic(0.95, 0.85, 2), [0, 1, 2], [0.95, 0.9, 0.85]),  # momentum: low/high swapped
    (cyclic(0, 1, 3, down=0), [0, 1, 2, 3], [0, 1 / 3, 2 / 3, 0]),
    (
        one_cycle(10, div=10, final_div=100),
        range(12),
        [0.1, 0.55, 1, 0.9505, 0.8119, 0.6116, 0.3894, 0.1891, 0.0505, 0.001, 0.001, 0.001],
    ),
    (
        one_cycle(10, div=10, final_div=100, anneal="linear", three_phase=True),
        range(10),
        [0.1, 0.55, 1, 0.55, 0.1, 0.0802, 0.0604, 0.0406, 0.0208, 0.001],
    ),
    # pct * N < 1: the warm-up phase is skipped, step 0 is already annealing from the peak.
    (
        one_cycle(10, pct_start=0.05, div=10, final_div=100),
        [0],
        [0.001 + (1 - 0.001) / 2 * (math.cos(math.pi * 0.5 / 9.5) + 1)],
    ),
    (one_cycle_momentum(10), [0, 2, 9], [0.95, 0.85, 0.95]),
    (
        one_cycle_momentum(10, three_phase=True, anneal="linear"),
        [0, 2, 4, 7],
        [0.95, 0.85, 0.95, 0.95],
    ),
    (cumulative(lambda k: 0.9), range(4), [1, 0.9, 0.81, 0.729]),
    (inverse_sqrt(4), [0, 12], [1, 0.5]),
    (
        warmup_stable_decay(10, 50, 40, end=0.1),
        [0, 5, 10, 59, 60, 80, 99, 100, 200],
        [0.1, 0.55, 1, 1, 1, 0.55, 0.1014, 0.1, 0.1],
    ),
    (warmup_stable_decay(4, 0, 4, decay_shape="linear"), [0, 2, 4, 6, 8], [0, 0.5, 1, 0.5, 0]),
    (
        warmup_stable_decay(4, 0, 4, warmup_shape="1-sqrt", decay_shape="1-sqrt"),
        [0, 4, 8],
        [0, 1, 0],
    ),
    (piecewise([(0, 1.0), (10, 0.0)]), [0, 5, 10, 20], [1, 0.5, 0, 0]),
    (piecewise([(0, 1.0), (10, 0.0)], interpolation="cosine"), [0, 5, 10], [1, 0.5, 0]),
    (
        piecewise([(0, 1.0), (10, 0.5), (20, 0.1)], interpolation="step"),
        [9, 10, 19, 20],
        [1, 0.5, 0.5, 0.1],
    ),
    # combinators, at their boundaries
    (sequence(constant(2), constant(3), at=[5]), [0, 4, 5, 99], [2, 2, 3, 3]),
    (sequence(linear(0, 1, 10), exponential(0.5), at=[4]), [3, 4, 5], [0.3, 1, 0.5]),
    (
        sequence(linear(0.25, 1, 3), cosine(4, periodic=True), at=[3]),
        range(10),
        [0.25, 0.5, 0.75, 1, COS_QUARTER, 0.5, 1 - COS_QUARTER, 0, 1 - COS_QUARTER, 0.5],
    ),
    (clip(linear(0, 1, 10), 5, 8), [0, 4, 5, 7, 8, 100], [1, 1, 0, 0.2, 0.2, 0.2]),
    (clip(exponential(0.5), 2), [1, 2, 3, 10], [1, 1, 0.5, 0.5**8]),
    (per_epoch(step_decay(1, 0.5), 10), [0, 9, 10, 25], [1, 1, 0.5, 0.25]),
    (per_epoch(exponential(0.25), 10, smooth=True), [0, 5, 10], [1, 0.5, 0.25]),
    (stretch(linear(0, 1, 10), 2), [5, 20], [0.25, 1]),
    (repeat(linear(1, 0, 4), 4), [0, 3, 4, 5], [1, 0.25, 1, 0.75]),
    (repeat(linear(1, 0, 4), 4, decay=0.5), [4, 5, 9], [0.5, 0.375, 0.1875]),
    (shift(linear(0, 1, 10), 3), [0, 7, 8], [0.3, 1, 1]),
    (warmup(constant(1), 4), range(6), [0, 0.25, 0.5, 0.75, 1, 1]),
    (warmup(cosine(8), 4, start=0.5), [0, 2, 3, 4, 8, 12], [0.5, 0.75, 0.875, 1, 0.5, 0]),
    (warmup(constant(2), 4, start=0.01, shape="exponential"), [0, 2, 4], [0.02, 0.2, 2]),
    (warmup(constant(1), 4, shape="cosine"), [0, 2, 4], [0, 0.5, 1]),
    (warmup(constant(1), 4, start=0.1, shape="constant"), [0, 3, 4], [0.1, 0.1, 1]),
    (
        warmup(cosine(8), 4, start=0.5, overlay=True),
        [0, 2, 4, 8],
        [0.5, 0.75 * COS_QUARTER, 0.5, 0],
    ),
    (0.5 * cosine(4) + 0.25, [0, 4], [0.75, 0.25]),
    (1 - linear(0, 1, 4), [0, 2, 4], [1, 0.5, 0]),
    (linear(1, 2, 4) / 2, [0, 4], [0.5, 1]),
    (minimum(linear(0, 1, 4), 0.5), [1, 3], [0.25, 0.5]),
    (maximum(linear(0, 1, 4), 0.5), [1, 3], [0.5, 0.75]),
    (clamp(linear(0, 1, 4), 0.3, 0.6), [0, 2, 4], [0.3, 0.5, 0.6]),
]


@pytest.mark.parametrize(("schedule", "steps", "expected"), TABLE, ids=lambda x: None)
def test_table(schedule, steps, expected):
    steps = list(steps)
    scalar = [schedule(t) for t in steps]
    assert all(isinstance(v, float) for v in scalar)
    # Inexact figures are quoted to 4 decimals (as docs/torch-semantics.md prints them): half a unit
    # of the 4th decimal is the tightest honest tolerance; exact figures are checked bit for bit
    # in the tests below.
    np.testing.assert_allclose(scalar, expected, rtol=0, atol=5e-5)
    np.testing.assert_allclose(schedule(np.array(steps)), scalar, rtol=1e-14, atol=1e-300)
    curve = schedule.curve(max(steps) + 1)
    np.testing.assert_allclose(curve[steps], scalar, rtol=1e-14, atol=1e-300)


def test_issue_example_values():
    s = warmup(cosine(900), 100, start=0.001)
    assert repr(s) == "warmup(cosine(900), 100, start=0.001)"
    assert s(0) == 0.001
    assert s(99) == 0.001 + (1.0 - 0.001) * 99 / 100
    assert s(100) == 1.0
    assert s(1000) == 0.0
    assert s(999) == (1.0 + math.cos(math.pi * 899 / 900)) / 2


def test_exact_boundary_values_match_torch_closed_forms():
    # Bit-exact where torch's own closed form uses the same operations
    # (docs/torch-semantics.md §2, §4, §9).
    assert cosine(7)(7) == 0.0
    assert cosine(7, end=0.3)(7) == 0.3
    assert linear(1, 0, 4)(4) == 0.0
    assert polynomial(5, power=1.5)(5) == 0.0
    # OneCycleLR at step 0 is max + (init - max) / 2 * 2, not exactly init (torch gives the same).
    assert one_cycle(100, peak=1.0)(0) == 1.0 + (0.04 - 1.0) / 2.0 * 2
    assert one_cycle(100)(0) == 0.040000000000000036


def test_onecycle_float_phase_boundary():
    # pct * N = 28.999999999999996 (docs/torch-semantics.md §4): t = 28 is already in the
    # second phase.
    s = one_cycle(100, pct_start=0.29)
    end1 = 0.29 * 100 - 1
    final = 1.0 / 25.0 / 1e4
    for t in (28, 29):
        pct = (t - end1) / (99 - end1)
        assert s(t) == final + (1.0 - final) / 2.0 * (math.cos(math.pi * pct) + 1)


def test_cosine_restarts_exact_integer_boundaries():
    # torch's math.log mapping misclassifies 121 for (1, 3); the integer recursion does not.
    s = cosine_restarts(1, 3)
    assert s(121) == 1.0
    assert s(np.array([121.0]))[0] == 1.0
    assert cosine_restarts(2, 3)(242) == 1.0
