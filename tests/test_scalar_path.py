"""The fast paths give the values of the plain ones, bit for bit: the one-step closures (``s(t)``,
the adapter) against each node's ``_scalar``, with a node's constants computed once and
schedules still pickled; ``cosine_restarts`` curves filled by cycle or by period against its
array path."""

from __future__ import annotations

import math
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from tests.strategies import expressions


@settings(max_examples=60, deadline=None)
@given(expressions(min_depth=1, max_depth=3), st.lists(st.integers(0, 2000), max_size=30))
def test_the_closure_is_the_scalar_path_bit_for_bit(schedule, steps):
    for t in [0, 1, 299, 300, 301, *steps]:
        want = float(schedule._scalar(t))
        got = schedule(t)
        assert got == want or (math.isnan(got) and math.isnan(want)), (schedule, t)
        assert math.copysign(1.0, got) == math.copysign(1.0, want)


def test_a_held_tail_and_a_warm_up_peak_are_computed_once():
    calls: list[float] = []

    def counted(t: float) -> float:
        calls.append(t)
        return 0.5

    clipped = sa.clip(sa.from_fn(counted), 5, 10)
    assert [clipped(t) for t in (20, 30, 40)] == [0.5] * 3
    assert calls == [4]
    calls.clear()
    warm = sa.warmup(sa.from_fn(counted), 10)
    assert [warm(t) for t in (1, 2, 3)] == [(0.0 + 1.0 * t / 10) * 0.5 for t in (1, 2, 3)]
    assert calls == [0]


def test_a_subclass_that_redefines_the_formula_is_evaluated_by_it():
    class shifted_cosine(sa.cosine):
        def _scalar(self, t: float) -> float:
            return super()._scalar(t) + 1.0

    assert shifted_cosine(10)(10) == 1.0


def test_schedules_pickle_after_evaluation():
    s = sa.warmup(sa.clip(sa.cosine(100), 5, 50), 10) * sa.multistep([20], 0.5)
    values = [s(t) for t in range(0, 120, 7)]
    copy = pickle.loads(pickle.dumps(s))
    assert copy == s and [copy(t) for t in range(0, 120, 7)] == values


def test_cosine_restarts_curves_by_cycle_and_by_period_are_the_array_path_bit_for_bit():
    import numpy as np

    for s in (
        sa.cosine_restarts(100, mult=2, end=0.1),
        sa.cosine_restarts(37),
        sa.cosine_restarts(5, mult=3),
    ):
        for start, stop in ((0, 70_000), (12_345, 12_400), (99, 101)):
            steps = np.arange(start, stop, dtype=np.float64)
            want = np.asarray(s._array(steps, np))
            assert np.array_equal(s.curve(start, stop), want), (s, start, stop)
        assert s.curve(5_000, 5_300).tolist() == [s(t) for t in range(5_000, 5_300)]
