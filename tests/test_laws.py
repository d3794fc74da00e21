"""The laws of docs/design.md §2, property-tested on random expressions."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import expressions, primitives

import schedalg as sa

steps = st.integers(min_value=0, max_value=5000)
schedules = expressions(min_depth=1, max_depth=2, serializable=False)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@given(schedules, schedules, schedules, steps)
def test_chain_is_associative(a, b, c, t):
    left, right = sa.chain(sa.chain(a, b), c), sa.chain(a, sa.chain(b, c))
    assert left == right
    assert (a * b) * c == a * (b * c)
    assert same(left(t), right(t))


@given(schedules, steps)
def test_chain_identity_is_constant_one(a, t):
    assert sa.chain(a, sa.constant(1)) == a
    assert sa.chain(sa.constant(1.0), a) == a
    assert sa.constant(1) * a == a


@given(schedules, schedules, steps)
def test_chain_is_the_product(a, b, t):
    # Products are flattened and multiplied left to right, so when b is itself a product the
    # rounding of a * (b1 * b2) and (a * b1) * b2 may differ by an ulp or two.
    got, expected = sa.chain(a, b)(t), a(t) * b(t)
    assert same(got, expected) or math.isclose(got, expected, rel_tol=1e-15, abs_tol=1e-300)


@given(schedules)
def test_sequence_with_one_piece_is_that_piece(a):
    assert sa.sequence(a, at=[]) == a


@given(st.lists(schedules, min_size=2, max_size=4), st.data())
def test_sequence_runs_each_piece_on_its_own_clock(pieces, data):
    gaps = data.draw(
        st.lists(st.integers(1, 500), min_size=len(pieces) - 1, max_size=len(pieces) - 1)
    )
    at = list(np.cumsum(gaps).tolist())
    s = sa.sequence(*pieces, at=at)
    t = data.draw(steps)
    i = sum(m <= t for m in at)
    start = at[i - 1] if i else 0
    assert same(s(t), pieces[i](t - start))
    # The milestone itself belongs to the next piece, at its local step 0.
    m = data.draw(st.sampled_from(at))
    assert same(s(m), pieces[at.index(m) + 1](0))


@given(schedules, st.integers(1, 50), st.integers(1, 50), steps)
def test_per_epoch_of_per_epoch_is_the_product_staircase(s, a, b, t):
    nested = sa.per_epoch(sa.per_epoch(s, a), b)
    assert nested == sa.per_epoch(s, a * b)
    assert same(nested(t), s(t // (a * b)))


@given(schedules, st.integers(1, 50), steps)
def test_per_epoch_semantics(s, length, t):
    assert same(sa.per_epoch(s, length)(t), s(t // length))
    assert same(sa.per_epoch(s, length, smooth=True)(t), s(t / length))


@given(schedules)
def test_clip_at_zero_is_identity(s):
    assert sa.clip(s, 0) == s
    assert s.clip(0) == s


@given(schedules, st.integers(0, 300), st.integers(1, 300), steps)
def test_clip_semantics(s, begin, length, t):
    end = begin + length
    c = sa.clip(s, begin, end)
    if t < begin:
        expected = 1.0
    elif t < end:
        expected = s(t - begin)
    else:
        expected = s(end - 1 - begin)
    assert same(c(t), expected)
    assert c == s.clip(begin, end)


@given(schedules, st.integers(1, 300), st.floats(0, 1), steps)
def test_warmup_prefix_is_a_sequence_of_a_ramp_and_the_schedule(s, w, start, t):
    ramp = sa.linear(start, 1.0, w) * s(0)
    expected = sa.sequence(ramp, s, at=[w])(t)
    got = sa.warmup(s, w, start=start)(t)
    assert got == pytest.approx(expected, rel=1e-15, abs=1e-300) or same(got, expected)
    assert same(sa.warmup(s, w, start=start)(w), s(0))


@given(schedules, st.integers(1, 300), st.floats(0, 1), steps)
def test_warmup_overlay_multiplies_on_the_global_clock(s, w, start, t):
    factor = start + (1.0 - start) * t / w if t < w else 1.0
    assert same(sa.warmup(s, w, start=start, overlay=True)(t), factor * s(t))


@given(schedules, st.integers(1, 5), steps)
def test_stretch_repeat_shift(s, k, t):
    stretched, expected = sa.stretch(s, k)(t), s(t / k)
    if isinstance(s, sa.stretch):
        # The normal form divides once by the product of the factors (t / (a * k)), where the
        # nested form divides twice (t / k / a): they may differ by rounding only.
        assert same(stretched, s.schedule(t / (s.factor * k)))
        assert same(stretched, expected) or math.isclose(stretched, expected, rel_tol=1e-14)
    else:
        assert same(stretched, expected)
    assert same(sa.shift(s, k)(t), s(t + k))
    period = k * 7
    assert same(sa.repeat(s, period)(t), s(t % period))


@given(schedules, st.integers(1, 50), st.integers(1, 50))
def test_shift_normal_form(s, a, b):
    assert sa.shift(s, 0) == s
    assert sa.shift(sa.shift(s, a), b) == sa.shift(s, a + b)


@given(
    schedules,
    st.integers(1, 50) | st.floats(0.1, 50),
    st.integers(1, 50) | st.floats(0.1, 50),
    steps,
)
def test_stretch_normal_form(s, a, b, t):
    # A stretch of a stretch merges its factors from the inside out, (c * a) * b, which is not
    # c * (a * b) in floating point: the law is stated for an s that is not itself a stretch.
    assume(not isinstance(s, sa.stretch))
    assert sa.stretch(s, 1) == s
    assert sa.stretch(s, 1.0) == s
    nested = sa.stretch(sa.stretch(s, a), b)
    assert nested == sa.stretch(s, a * b)
    # s(t / b / a) and s(t / (a * b)) may round differently; the normal form is the latter.
    assert same(nested(t), s(t / (a * b)))


@given(primitives())
def test_schedules_are_immutable_values(s):
    assume(dataclasses.fields(s))  # elapsed() has no parameter to try to set
    field = dataclasses.fields(s)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(s, field, 0)
    assert hash(s) == hash(type(s)(*[getattr(s, f.name) for f in dataclasses.fields(s) if f.init]))
    assert s == type(s)(*[getattr(s, f.name) for f in dataclasses.fields(s) if f.init])


def test_structural_equality_distinguishes_different_expressions():
    assert sa.cosine(100) != sa.cosine(101)
    assert sa.cosine(100) != sa.polynomial(100)
    assert sa.warmup(sa.cosine(100), 10) != sa.warmup(sa.cosine(100), 10, overlay=True)
    assert len({sa.cosine(100), sa.cosine(100), sa.cosine(100, end=0.1)}) == 2


def test_schedule_has_no_truth_value():
    with pytest.raises(TypeError, match="truth value"):
        bool(sa.cosine(10))
