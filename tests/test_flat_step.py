"""``s(t)``'s one step, written as one flat function (``schedalg.engine.flatstep``) with its held
tail
(``onestep.keep_step``), gives the values of the plain paths bit for bit: each node's
``_scalar``, the closures of ``schedalg.engine.onestep`` composed node by node, and the array path.
A node's constants are computed once; nodes it has no template for are called as they are."""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from benchmarks.expressions import random_expression
from schedalg.algebra import combinators
from schedalg.engine import flatstep, onestep
from schedalg.engine.backends import MAX_INTEGER_STEP
from tests.strategies import expressions


@contextmanager
def closures_only() -> Iterator[None]:
    """One-step functions built as before ``flatstep``: one closure per node."""
    with mock.patch.object(flatstep, "function", lambda root, template: None):
        yield


def same(a: float, b: float) -> bool:
    """Bit for bit (NaN equal to NaN, -0.0 not equal to 0.0)."""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (
        math.isnan(a) and math.isnan(b)
    )


def steps_of(schedule: sa.Schedule, extra: list[int], fractions: list[float]) -> list[Any]:
    """Steps on every side of the schedule's boundaries: its held tail, the bound below which
    s(t) calls its function, the largest step; fractional steps beside them."""
    below, held, _ = onestep.keep_step(copy.deepcopy(schedule))
    ints = [0, 1, 2, 299, 300, 301, *extra]
    floats = [f + 0.5 for f in fractions]
    if held is not None:
        ints += [below + d for d in (-2, -1, 0, 1, 2, 1000) if below + d >= 0]
        floats += [below + 0.25, below - 0.75]
    if onestep.returns_float(schedule):  # closed forms: any step costs the same
        ints += [onestep.SMALL + d for d in (-1, 0, 1)] + [MAX_INTEGER_STEP - 1, MAX_INTEGER_STEP]
    return ints + floats


def check_paths(schedule: sa.Schedule, steps: list[Any]) -> None:
    plain = copy.deepcopy(schedule)  # nothing kept (copies drop it): each path builds its own
    with closures_only():
        closures = copy.deepcopy(schedule)._scalar_function()
    flat = copy.deepcopy(schedule)._scalar_function()
    for t in steps:
        if t < 0:
            continue
        want = float(plain._scalar(t))
        got = schedule(t)
        assert type(got) is float, (schedule, t)
        assert same(got, want), (schedule, t, got, want)
        assert same(float(flat(t)), want), (schedule, t)
        assert same(float(closures(t)), want), (schedule, t)


@settings(max_examples=150, deadline=None)
@given(
    expressions(min_depth=1, max_depth=4, serializable=False),
    st.lists(st.integers(0, 5000), max_size=20),
    st.lists(st.floats(0, 5000, allow_nan=False), max_size=5),
)
def test_every_path_gives_the_scalar_value_bit_for_bit(schedule, extra, fractions):
    check_paths(schedule, steps_of(schedule, extra, fractions))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(1, 8),
    st.lists(st.integers(0, 20_000), min_size=20, max_size=60),
    st.lists(st.floats(0, 20_000, allow_nan=False), max_size=10),
)
def test_the_benchmark_s_expressions_give_the_scalar_value_bit_for_bit(
    seed, depth, extra, fractions
):
    schedule = random_expression(seed, depth)
    check_paths(schedule, steps_of(schedule, extra, fractions))


def _no_power(schedule: sa.Schedule) -> bool:
    # NumPy's float64 power and exp are SIMD (a last-bit difference from the scalar pow).
    return not isinstance(schedule, (sa.exponential, sa.multistep)) and all(
        _no_power(child.node) for child in schedule.children()
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 8))
def test_the_one_step_value_is_the_array_value_bit_for_bit(seed, depth):
    schedule = random_expression(seed, depth)
    steps = np.concatenate([np.arange(0.0, 3000.0), np.arange(0.0, 3000.0, 7.0) + 0.5])
    values = schedule(steps)
    if not _no_power(schedule):  # the few-ulp rule of tests/test_numpy_curve.py
        np.testing.assert_allclose([schedule(float(t)) for t in steps], values, 1e-12, 1e-14)
        return
    for t, value in zip(steps.tolist(), values.tolist()):
        step = int(t) if t.is_integer() else t
        assert same(schedule(step), value), (schedule, step)


def test_a_pure_expression_is_one_function_with_its_held_tail():
    s = sa.clip(sa.warmup(sa.shift(sa.cosine(400), 20), 50) * sa.multistep([100], 0.5), 10, 300)
    below, held, function = onestep.keep_step(s)
    assert below == 300 and held == s._scalar(299) and function is s._scalar_function()
    assert function.__code__.co_filename.startswith("<one step")
    assert [s(t) for t in (300, 10**6, MAX_INTEGER_STEP)] == [held] * 3
    t = sa.stretch(sa.per_epoch(sa.linear(1.0, 0.5, 7), 3), 2.5)
    assert onestep.keep_step(t)[0] == 53  # t / 2.5 // 3 >= 7 from t = 52.5 on
    assert all(same(t(k), t._scalar(k)) for k in range(40, 70))
    far = sa.stretch(sa.cosine(10**15), 10**4)  # held from 10**19 on: past the last valid step
    assert onestep.keep_step(far)[1] is None and far(MAX_INTEGER_STEP) == far._scalar(2**53)
    for bad in (MAX_INTEGER_STEP + 1, 10**19, 10**20, -1):
        with pytest.raises(ValueError):
            far(bad)
    assert onestep.keep_step(sa.cosine(10, periodic=True))[1] is None
    assert onestep.keep_step(sa.exponential(0.9) + 1.0)[1] is None


def test_constants_are_computed_once_inside_the_flat_function():
    calls: list[float] = []

    def counted(t: float) -> float:
        calls.append(t)
        return 0.5

    s = sa.shift(sa.clip(sa.from_fn(counted), 5, 10), 3) * sa.cosine(100) + sa.warmup(
        sa.from_fn(counted), 10
    )
    assert s._scalar_function().__code__.co_filename.startswith("<one step")
    for t in (1, 2, 3, *range(20, 40)):
        assert same(s(t), copy.deepcopy(s)._scalar(t))
    calls.clear()
    for t in (20, 30, 1, 40):
        s(t)
    # The held tail (step 4 of the clip) and the peak (step 0) are not evaluated again; the
    # warm-up's schedule is evaluated at the steps past the warm-up only.
    assert calls == [10, 20, 30]


def test_opaque_nodes_are_called_and_their_values_made_floats():
    class shifted_cosine(sa.cosine):
        def _scalar(self, t: float) -> float:
            return super()._scalar(t) + 1.0

    s = sa.clip(shifted_cosine(10), 2, 50) * sa.linear(1.0, 0.0, 100)
    assert s(10) == (sa.cosine(10)(8) + 1.0) * 0.9

    class three(sa.Schedule):
        """``three()``: the int 3 at every step."""

        def _scalar(self, t: float) -> float:
            return 3  # type: ignore[return-value]

    r = sa.shift(sa.clip(three(), 5, 60), 2) * sa.constant(1.0)
    assert r._scalar(30) == 3 and type(r._scalar(30)) is int and onestep.keep_step(r)[1] is None
    assert [type(r(t)) for t in (0, 30, 100)] == [float] * 3 and r(30) == 3.0


def test_deep_wide_and_long_expressions_are_split_into_functions():
    deep: sa.Schedule = sa.cosine(1000)
    for i in range(80):
        deep = sa.clip(deep, 1, 5000 - i) if i % 2 else sa.warmup(deep, 3, start=0.5)
    wide = sa.add(*(sa.shift(sa.linear(1.0, 0.0, 50 + i), i + 1) for i in range(300)))
    long = sa.sequence(*(sa.constant(float(i)) for i in range(20)), at=range(10, 200, 10))
    for s in (deep, wide, long):
        check_paths(s, [0, 5, 17, 100, 155, 199, 200, 250, 4999, 10**5, 2.5, 123.25])


@pytest.mark.parametrize("bad", [-1, MAX_INTEGER_STEP + 1, math.nan, math.inf, -0.5])
def test_bad_steps_are_still_refused(bad: Any) -> None:
    s = sa.clip(sa.cosine(100), 5, 50)
    s(60)  # the held tail is kept
    with pytest.raises(ValueError):
        s(bad)


def test_flat_functions_are_kept_and_dropped_when_pickled():
    import pickle

    s = sa.warmup(sa.clip(sa.cosine(100), 5, 50), 10) * sa.multistep([20], 0.5)
    values = [s(t) for t in range(0, 120, 7)]
    function: Callable[[Any], Any] = s._scalar_function()
    assert s._scalar_function() is function
    copy_ = pickle.loads(pickle.dumps(s))
    assert "_step" not in copy_.__dict__ and "_scalar_fn" not in copy_.__dict__
    assert [copy_(t) for t in range(0, 120, 7)] == values


def test_a_subtree_shared_by_many_parents_is_looked_at_once(monkeypatch: Any) -> None:
    calls = []
    children = sa.cosine.children

    def counted(self: Any) -> Any:
        calls.append(self)
        return children(self)

    x = sa.cosine(100)
    for _ in range(20):  # 2**20 paths from the root to the cosine
        x = sa.sequence(x, x, at=[10])
    monkeypatch.setattr(sa.cosine, "children", counted)
    assert x(5) == sa.cosine(100)(5) and x(10**6) == sa.cosine(100)(100)
    assert x(np.arange(12)).tolist() == [sa.cosine(100)(t % 10) for t in range(10)] + [
        sa.cosine(100)(t) for t in (0, 1)
    ]
    assert len(calls) <= 50  # a walk per path would be millions


def test_clips_and_sequences_that_construction_would_simplify_still_evaluate() -> None:
    bare = type.__call__(combinators.clip, schedule=sa.cosine(10), begin=0, end=math.inf)
    one = type.__call__(combinators.sequence, pieces=(sa.cosine(10),), at=())
    for s in (bare, one):
        assert [s(t) for t in (0, 3, 20)] == [sa.cosine(10)(t) for t in (0, 3, 20)]


def test_pickling_drops_what_a_node_keeps_beside_its_parameters() -> None:
    fresh = sa.repeat(sa.warmup(sa.cosine(900), 100), 1000) + sa.clip(sa.cosine(50), 10, 40)
    used = pickle.loads(pickle.dumps(fresh))
    used(5), used(10**6), used.curve(5000), used(np.arange(3000))  # keeps closures, a period
    assert pickle.dumps(used) == pickle.dumps(fresh)
