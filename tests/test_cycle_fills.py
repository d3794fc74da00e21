"""``one_cycle``'s curve fills each phase on its own slice: the same values as the selecting
array path (every phase on every step, then ``where``) and as ``s(t)``, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from schedalg import one_cycle, one_cycle_momentum


@st.composite
def cycles(draw: Any) -> Any:
    total = draw(st.integers(2, 3000))
    pct = draw(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.77, 1.0]))
    three = draw(st.booleans())
    assume(pct * total != 1)  # refused: torch's OneCycleLR divides by zero there
    if draw(st.booleans()):
        return one_cycle_momentum(total, pct_start=pct, three_phase=three)
    anneal = draw(st.sampled_from(["cos", "linear"]))
    peak = draw(st.sampled_from([1.0, 0.1, 3e-4]))
    return one_cycle(total, pct_start=pct, anneal=anneal, three_phase=three, peak=peak)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_per_phase_fill_is_the_selecting_curve(data: Any) -> None:
    schedule = data.draw(cycles())
    n = schedule.total + data.draw(st.integers(0, 40))
    start = data.draw(st.integers(0, n - 1))
    curve = schedule.curve(start, n)
    # The array path: every phase's formula on every step, then selected with where.
    steps = np.arange(start, n, dtype=np.float64)
    np.testing.assert_array_equal(curve, schedule._array(steps, np))
    np.testing.assert_array_equal(curve, [schedule(int(t)) for t in range(start, n)])
    for size in (7, 64):
        pieces = np.concatenate(list(schedule.chunks(start, n, size=size)))
        np.testing.assert_array_equal(pieces, curve)


def test_long_cycle_matches_the_array_path() -> None:
    schedule = one_cycle(10**6, three_phase=True)
    steps = np.arange(10**6 + 10, dtype=np.float64)
    np.testing.assert_array_equal(schedule.curve(10**6 + 10), schedule._array(steps, np))
