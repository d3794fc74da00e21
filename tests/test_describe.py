"""describe() and check(): summaries and lint findings, checked against the curve itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedalg as sa
from schedalg.algebra.tree import events
from schedalg.analysis.checks import CheckWarning, check
from schedalg.analysis.description import describe
from tests.strategies import expressions

CODES = {
    "warmup-too-long",
    "warmup-long",
    "warmup-shifts-milestones",
    "epoch-milestones",
    "decay-ends-early",
    "plateau-held",
    "milestone-past-end",
    "zero-at-start",
    "nan",
    "infinite",
    "negative",
    "rises-after-end",
    "decay-unfinished",
}


def test_warmup_cosine_summary():
    s = sa.warmup(sa.cosine(9000), 1000, start=0.01)
    d = describe(s, 10000)
    curve = s.curve(10000)
    assert (d.start, d.end) == (0.01, curve[-1])
    assert (d.peak_step, d.peak) == (1000, 1.0)
    assert (d.min_step, d.min) == (9999, curve[-1])
    assert [(p.start, p.stop, p.label, p.trend) for p in d.phases] == [
        (0, 1000, "start", "rising"),
        (1000, 10000, "after warm-up", "falling"),
    ]
    assert d.discontinuities == () and d.zeros == () and d.nonfinite == 0
    text = str(d)
    assert text.splitlines()[0] == repr(s)
    assert "max    1  at step 1000" in text
    assert "discontinuities: none" in text


def test_jumps_zeros_and_labels():
    s = sa.sequence(sa.constant(0.1), sa.multistep([3000, 6000], 0.1), at=[500])
    d = describe(s, 10000)
    assert [(j.step, j.before, j.after) for j in d.discontinuities] == [
        (500, 0.1, 1.0),
        (3500, 1.0, 0.1),
        (6500, 0.1, pytest.approx(0.01)),
    ]
    assert [(p.start, p.label) for p in d.phases] == [
        (0, "start"),
        (500, "sequence piece 2"),
        (3500, "multistep milestone"),
        (6500, "multistep milestone"),
    ]
    assert all(p.trend == "constant" for p in d.phases)
    zero = describe(sa.cosine(10), 20)
    assert zero.zeros == ((10, 20),)
    assert "zero values: [10, 20)" in str(zero)


def test_a_jump_the_tree_does_not_know_is_still_found():
    s = sa.from_fn(lambda t: 1.0 if t < 37 else 0.5)
    d = describe(s, 100)
    assert [j.step for j in d.discontinuities] == [37]
    assert [(p.start, p.label) for p in d.phases] == [(0, "start"), (37, "after a jump")]


@pytest.mark.parametrize(
    "schedule, steps",
    [
        (sa.per_epoch(sa.multistep([2, 5], 0.1), 10), [20, 50]),
        (sa.stretch(sa.cosine(10), 3), [30]),
        (sa.shift(sa.cosine(100), 30), [70]),
        (sa.repeat(sa.cosine(10), 10), [10, 20, 30, 40, 50, 60, 70]),
        (sa.clip(sa.linear(1.0, 0.5, 10), 5, 30), [5, 15, 30]),
        (sa.warmup(sa.polynomial(20), 5, overlay=True), [5, 20]),
        (sa.warmup_stable_decay(10, 5, 20), [10, 15, 35]),
        (0.5 * sa.cosine(12) + sa.multistep([7], 0.5), [7, 12]),
    ],
)
def test_tree_boundaries_on_the_global_clock(schedule, steps):
    assert sorted({e.step for e in events(schedule, 80) if e.step < 80}) == steps


@given(expressions(1, 3), st.integers(1, 1500))
def test_describe_agrees_with_the_curve(schedule, n):
    d = describe(schedule, n)
    curve = schedule.curve(n)
    finite = curve[np.isfinite(curve)]
    if finite.size:
        assert d.peak == finite.max() and curve[d.peak_step] == d.peak
        assert d.min == finite.min() and curve[d.min_step] == d.min
    assert d.start == curve[0] and d.end == curve[-1]
    # Phases tile [0, n) and start at every jump and every tree boundary.
    assert d.phases[0].start == 0 and d.phases[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(d.phases, d.phases[1:]))
    # ... except inside a staircase, which is one phase.
    starts = {p.start for p in d.phases}
    starts |= {t for p in d.phases if "staircase" in p.label for t in range(p.start, p.stop)}
    assert {j.step for j in d.discontinuities} <= starts
    assert {e.step for e in d.boundaries} <= starts
    for phase in d.phases:
        assert phase.start_value == curve[phase.start] or np.isnan(curve[phase.start])
    for jump in d.discontinuities:
        assert curve[jump.step] != curve[jump.step - 1]
    for a, b in d.zeros:
        assert (curve[a:b] == 0).all()
    assert d.nonfinite == int((~np.isfinite(curve)).sum())
    assert str(d)


@given(expressions(1, 3), st.integers(1, 1500))
def test_check_returns_known_findings(schedule, n):
    for warning in check(schedule, n):
        assert isinstance(warning, CheckWarning)
        assert warning.code in CODES and warning.message


@pytest.mark.parametrize(
    "schedule, total, code, step",
    [
        (sa.warmup(sa.cosine(900), 1000, start=0.1), 800, "warmup-too-long", 1000),
        (sa.warmup_stable_decay(1000, 0, 100), 500, "warmup-too-long", 1000),
        (sa.warmup(sa.cosine(900), 100), 1000, "zero-at-start", 0),
        (sa.multistep([30, 80], 0.1), 50, "milestone-past-end", 80),
        (sa.sequence(sa.constant(0.1), sa.cosine(100), at=[60]), 50, "milestone-past-end", 60),
        (sa.clip(sa.cosine(10), 70), 50, "milestone-past-end", 70),
        (sa.cosine(100) - 0.5, 100, "negative", 51),
        ((sa.cosine(4) - sa.cosine(4)) / (sa.cosine(4) - sa.cosine(4)), 5, "nan", 0),
        (sa.constant(1.0) / (sa.cosine(4) - sa.cosine(4)), 5, "infinite", 0),
        (sa.cosine(100, periodic=True), 300, "rises-after-end", 101),
        (sa.warmup(sa.cosine(9000), 1000, start=0.01), 8000, "decay-unfinished", 10000),
        (sa.cosine(100), 10_000, "decay-ends-early", 100),
        (sa.multistep([8, 11], 0.1), 6000, "epoch-milestones", 8),
        (sa.warmup(sa.cosine(600), 400, start=0.01), 1000, "warmup-long", 400),
        (
            sa.warmup(sa.multistep([5000, 7500], 0.1), 1000),
            10_000,
            "warmup-shifts-milestones",
            6000,
        ),
        (sa.warmup(sa.step_decay(300, 0.5), 100, start=0.1), 1000, "warmup-shifts-milestones", 400),
        (sa.warmup(sa.cosine(900), 100, start=0.1) * sa.plateau(), 1000, "plateau-held", None),
    ],
)
def test_check_finds(schedule, total, code, step):
    with np.errstate(all="ignore"):
        found = {w.code: w for w in check(schedule, total)}
    assert code in found, found
    assert found[code].step == step


def test_check_is_quiet_for_a_sound_schedule():
    assert check(sa.warmup(sa.cosine(9000), 1000, start=0.01), 10000) == []
    assert check(sa.multistep([30, 80], 0.1), 100) == []
    assert check(sa.cosine(100), 500) == []  # held at its end value: does not rise
    # Milestones on the global clock: an overlay warm-up does not move them.
    overlay = sa.warmup(sa.multistep([5000, 7500], 0.1), 1000, start=0.01, overlay=True)
    assert check(overlay, 10_000) == []
    assert check(sa.multistep([8, 11], 0.1), 999) == []  # a short run: steps, plausibly
    assert check(sa.warmup(sa.cosine(600), 400, start=0.01), 1000, warmup_share=0.5) == []


def test_the_warmup_shift_names_both_steps_and_the_fix():
    (found,) = check(sa.warmup(sa.multistep([5000, 7500], 0.1), 1000, start=0.01), 10_000)
    assert "written at 5000, 7500 fall at steps 6000, 8500" in found.message
    assert "overlay=True" in found.message


def test_a_staircase_is_one_phase():
    d = describe(sa.per_epoch(sa.exponential(0.5), 500), 6500)
    assert [p.label for p in d.phases] == ["per-epoch staircase, 12 steps of x0.5"]
    assert len(d.discontinuities) == 12  # still listed one by one
    d = describe(sa.warmup(sa.step_decay(100, 0.5), 50, start=0.1), 1050)
    assert [p.label for p in d.phases] == ["start", "staircase every 100 steps, 9 steps of x0.5"]
    # Three steps are phases of their own.
    assert len(describe(sa.multistep([10, 20], 0.5), 30).phases) == 3


def test_describe_and_check_hold_a_plateau_at_its_initial_value():
    s = sa.warmup(sa.cosine(90), 10, start=0.1) * sa.plateau(factor=0.5, start=2.0)
    d = describe(s, 100)
    held = sa.warmup(sa.cosine(90), 10, start=0.1) * 2.0
    assert (d.start, d.peak, d.peak_step) == (held(0), held(10), 10)
    assert "plateau held at its initial value" in str(d)
    assert [w.code for w in check(s, 100)] == ["plateau-held"]
    assert describe(held, 100).notes == ()


def test_bad_arguments():
    with pytest.raises(ValueError, match="check\\(\\): warmup_share must be in"):
        check(sa.cosine(10), 10, warmup_share=0)
    with pytest.raises(ValueError, match="describe\\(\\): steps must be a positive integer"):
        describe(sa.cosine(10), 0)
    with pytest.raises(ValueError, match="check\\(\\): total_steps must be"):
        check(sa.cosine(10), 2.5)
    with pytest.raises(TypeError, match="must be a Schedule"):
        describe("cosine(10)", 10)
