"""``schedalg.diff`` and ``schedalg diff``: the streamed comparison against the whole curves
compared at once, block boundaries included."""

import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg import constant, cosine, linear, sequence, warmup
from schedalg.analysis import diffing
from schedalg.cli import main
from tests.strategies import expressions

WSD = sa.warmup_stable_decay(1000, 8000, 1000)
BRANCH = sequence(warmup(constant(1.0), 1000), linear(1.0, 0.0, 1000), at=[6000])


def _oracle(a, b, steps):
    """Every answer from the two whole curves."""
    va, vb = a.curve(steps), b.curve(steps)
    differ = ~((va == vb) | (np.isnan(va) & np.isnan(vb)))
    where = np.flatnonzero(differ)
    runs, start = [], None
    for t in range(steps):
        if differ[t] and start is None:
            start = t
        if not differ[t] and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, steps))
    first = int(where[0]) if where.size else None
    absolute = np.where(differ, np.abs(va - vb), 0.0)
    absolute = np.where(differ & ~np.isfinite(absolute), np.inf, absolute)
    return first, runs, (float(absolute.max()), int(absolute.argmax())) if where.size else None


@given(expressions(), expressions(), st.integers(1, 200), st.sampled_from([1, 7, 64]))
@settings(max_examples=15, deadline=None)
def test_streamed_answers_equal_the_whole_curves(a, b, steps, chunk):
    with np.errstate(all="ignore"):
        first, runs, largest = _oracle(a, b, steps)
    saved = diffing.CHUNK
    diffing.CHUNK = chunk
    try:
        result = sa.diff(a, b, steps)
        assert diffing.first_difference(a, b, steps) == (
            None if first is None else (first, result.first_values[0], result.first_values[1])
        )
    finally:
        diffing.CHUNK = saved
    assert result.first == first
    assert list(result.phases) == runs[: diffing.MAX_PHASES]
    assert result.phase_count == len(runs)
    assert bool(result) == (first is not None)
    if largest is not None:
        assert result.largest_absolute == largest
    assert sa.diff(a, a, steps).identical


def test_a_branched_cooldown_against_its_run():
    result = sa.diff(WSD, BRANCH, 10_000)
    assert result.first == 6001
    assert result.first_values == (1.0, 0.999)
    assert result.phases == ((6001, 10_000),)
    assert result.largest_absolute == (1.0, 7000)  # the branch is done, the run still stable
    assert result.largest_relative == (1.0, 7000)
    text = str(result)
    assert "first at step 6001" in text and "differ on [6001, 10000)" in text
    assert str(sa.diff(WSD, WSD, 10)).endswith("identical over 10 steps [0, 10)")


def test_relative_difference_and_nan():
    result = sa.diff(constant(2.0), sequence(constant(2.0), constant(1.0), at=[5]), 10)
    assert result.largest_relative == (0.5, 5) and result.largest_absolute == (1.0, 5)
    nan = constant(0.0) / 0.0  # IEEE: NaN at every step
    assert sa.diff(nan, nan + 1.0, 10).identical
    assert sa.diff(constant(1.0), nan, 3).largest_absolute == (np.inf, 0)


def test_many_phases_are_counted_but_listed_up_to_the_cap():
    result = sa.diff(sa.step_decay(1, 1.0), sa.step_decay(2, 1.0), 1000)
    assert result.phases == ()  # step_decay(., 1.0) is constant 1: identical
    ragged = sa.diff(constant(1.0), sa.cosine_restarts(2), 1000)  # equal on even steps
    assert ragged.phase_count == 500 and len(ragged.phases) == diffing.MAX_PHASES


def test_a_long_run_stays_flat_in_memory():
    steps = 3 * 10**7  # two whole curves would be 480 MB
    a = warmup(cosine(steps), 1000)
    b = sequence(a, constant(0.0), at=[steps - 10])
    tracemalloc.start()
    try:
        result = sa.diff(a, b, steps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.first == steps - 10 and result.phases == ((steps - 10, steps),)
    assert peak < 100 * 2**20


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match=r"diff\(\): steps must be a positive integer, got 0"):
        sa.diff(cosine(10), cosine(10), 0)
    with pytest.raises(TypeError, match=r"diff\(\): b must be a Schedule, got 3"):
        sa.diff(cosine(10), 3, 10)


def test_the_command_line(tmp_path, capsys):
    expr_a, expr_b = repr(WSD), repr(BRANCH)
    assert main(["diff", expr_a, expr_b, "--steps", "10000"]) == 1
    assert "first at step 6001" in capsys.readouterr().out
    assert main(["diff", expr_a, expr_b, "--steps", "6001"]) == 0
    assert "identical over 6001 steps" in capsys.readouterr().out
    saved = tmp_path / "wsd.json"
    saved.write_text(json.dumps(sa.to_dict(WSD)))
    assert main(["diff", str(saved), expr_a, "--steps", "10000"]) == 0
    capsys.readouterr()
    horizon = "warmup_stable_decay(1000, total - 2000, 1000)"
    assert main(["diff", horizon, expr_a, "--steps", "10000", "--set", "total=10000"]) == 0
    capsys.readouterr()
    for bad in (["diff", expr_a, "cosin(3)", "--steps", "10"], ["diff", expr_a, "--steps", "10"]):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.startswith("schedalg: error:") and err.count("\n") == 1


def test_the_command_line_pairs_configs_by_parameter(tmp_path, capsys):
    config = tmp_path / "a.py"
    config.write_text(
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=100, by_epoch=False),\n"
        "    dict(type='CosineAnnealingMomentum', T_max=100, by_epoch=False)]\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))\n"
    )
    other = tmp_path / "b.py"
    other.write_text(
        config.read_text().replace("T_max=100, by_epoch=False)]", "T_max=50, by_epoch=False)]")
    )
    assert main(["diff", str(config), str(config), "--steps", "100"]) == 0
    capsys.readouterr()
    assert main(["diff", str(config), str(other), "--steps", "100"]) == 1
    out = capsys.readouterr().out
    assert out.count("identical") == 1 and out.count("differ over") == 1


def test_the_module_s_examples_run():
    import doctest

    result = doctest.testmod(diffing, verbose=False, report=True)
    assert result.failed == 0 and result.attempted > 0
