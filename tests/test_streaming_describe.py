"""describe() and check() read the curve in chunks: their outputs are those stored in
tests/data/expected (written before the curve was streamed), whatever the chunk size, and the
analytics (area, steps near zero, first step below a fraction of the peak) are what NumPy and
math.fsum give on the whole curve."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg.analysis import scan
from schedalg.analysis.checks import check
from schedalg.analysis.description import describe
from schedalg.cli import main
from tests.expected_cases import CASES, HERE, outputs
from tests.strategies import expressions

EPS = 2.0**-53
_ANALYTICS = re.compile(r"^  (area|low|below) ")


def _without_analytics(text: str) -> str:
    """The report as it was before the analytics were added to it."""
    lines = [line for line in text.split("\n") if not _ANALYTICS.match(line)]
    return "\n".join(re.sub(r"  area \S+", "", line) for line in lines)


@pytest.fixture
def chunk(monkeypatch: pytest.MonkeyPatch):
    def set_size(size: int) -> None:
        monkeypatch.setattr(scan, "CHUNK", size)

    return set_size


@pytest.mark.parametrize("case", sorted(CASES))
def test_stored_outputs_whatever_the_chunk(case, chunk):
    """The stored reports (less the analytics added since), and the whole report the same with
    chunks of 7 and 64 steps as in one chunk."""
    chunk(1 << 18)
    described, checked = outputs(case)
    assert _without_analytics(described) == (HERE / f"{case}.describe.txt").read_text()
    assert checked == (HERE / f"{case}.check.txt").read_text()
    for size in (7, 64):
        chunk(size)
        assert outputs(case) == (described, checked)


def _reference(s, n):
    """What describe()'s analytics mean, on the whole curve."""
    values = s.curve(n)
    peak_step = int(np.argmax(values))
    return values, peak_step, float(values[peak_step])


def test_area_of_a_wsd_is_exact(chunk):
    # Every value is a multiple of 2**-10, so every sum is exact.
    s = sa.sequence(sa.warmup(sa.constant(1.0), 512), sa.linear(1.0, 0.0, 1024), at=[4096])
    for size in (7, 64, 1 << 18):
        chunk(size)
        d = describe(s, 6144)
        # warm-up sum(t / 512) = 511 / 2, stable 3584 steps of 1, decay 1024 - 1023 / 2, zeros
        assert [p.area for p in d.phases] == [255.5, 3584.0, 512.5, 0.0]
        assert d.area == 4352.0


def test_area_of_a_cosine_is_half_the_steps():
    # sum_{t<T} (1 + cos(pi t / T)) / 2 = (T + 1) / 2 exactly; the curve's values are each
    # rounded (at most 1/2 ulp of 1, and cos itself within an ulp), so the area is within T ulp.
    for steps in (1000, 10**6):
        d = describe(sa.cosine(steps), steps)
        assert abs(d.area - (steps + 1) / 2) <= steps * 2 * EPS
        assert d.area == math.fsum(sa.cosine(steps).curve(steps).tolist())


@pytest.mark.parametrize(
    "s, n",
    [
        (sa.warmup(sa.cosine(9000), 1000, start=0.01), 10_000),
        (sa.one_cycle(5000, peak=0.1), 5000),
        (sa.cosine_restarts(100, mult=2), 3100),
        (sa.per_epoch(sa.exponential(0.5), 500), 6500),
    ],
)
def test_analytics_against_numpy_and_fsum(s, n, chunk):
    values, peak_step, peak = _reference(s, n)
    for size in (7, 1 << 18):
        chunk(size)
        d = describe(s, n, below=(0.5, 0.1, 0.01))
        # The compensated parts add up to the correctly rounded sum, in chunks or not.
        assert d.area == math.fsum(values.tolist())
        assert [p.area for p in d.phases] == [
            math.fsum(values[p.start : p.stop].tolist()) for p in d.phases
        ]
        assert d.low_steps == int(np.count_nonzero(values <= 0.01 * peak))
        for fraction, step in d.below:
            hits = np.flatnonzero(values[peak_step:] < fraction * peak)
            assert step == (peak_step + int(hits[0]) if hits.size else None)


def test_below_never_reached_and_the_text():
    d = describe(sa.constant(0.5), 10, below=0.1)
    assert d.below == ((0.1, None),) and d.low_steps == 0 and d.area == 5.0
    text = str(d)
    assert "  below  0.1 x the peak never (after the peak)" in text
    assert "  low    0% of the steps at or below 1% of the peak" in text
    assert "  area   5  (the sum of the values over the steps)" in text


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, "0.1", True, [0.1, 2.0]])
def test_below_refused(bad):
    with pytest.raises(ValueError, match=r"describe\(\): below must be a fraction"):
        describe(sa.cosine(10), 10, below=bad)


@pytest.mark.parametrize("border", [63, 64, 65, 128])
def test_jump_and_phase_at_a_chunk_border(border, chunk):
    s = sa.sequence(sa.cosine(500), sa.constant(0.5), at=[border])
    whole = describe(s, 300)
    chunk(64)
    streamed = describe(s, 300)
    assert streamed == whole
    assert [j.step for j in streamed.discontinuities] == [border]
    assert [(p.start, p.stop) for p in streamed.phases] == [(0, border), (border, 300)]


def test_extremes_and_zeros_across_borders(chunk):
    s = sa.sequence(sa.constant(0.0), sa.cosine(50), sa.constant(0.0), at=[10, 60])
    whole = describe(s, 100)
    for size in (1, 2, 3, 9, 10, 11):
        chunk(size)
        assert describe(s, 100) == whole
        assert check(s, 100) == check(s, 100)


def test_cap_of_jumps_across_chunks(chunk):
    # rounded(...) changes every other step: more jumps than listed.
    s = sa.rounded(sa.linear(32, 544, 1000))
    whole = describe(s, 1000)
    chunk(7)
    assert describe(s, 1000) == whole
    assert len(whole.discontinuities) == 200


@settings(max_examples=25, deadline=None)
@given(expressions(), st.sampled_from([5, 64]), st.integers(1, 400))
def test_random_expressions_stream_alike(s, size, n):
    try:
        whole, warned = describe(s, n), check(s, n)
    except (ValueError, TypeError):
        return  # an expression some steps refuse: not what this test is about
    old = scan.CHUNK
    scan.CHUNK = size
    try:
        assert str(describe(s, n)) == str(whole)
        assert check(s, n) == warned
    finally:
        scan.CHUNK = old


def test_command_line_below(capsys):
    # cosine(100) is exactly 0.5 at step 50: below it from step 51
    assert main(["describe", "cosine(100)", "--steps", "100", "--below", "0.5"]) == 0
    assert "  below  0.5 x the peak from step 51 (after the peak)" in capsys.readouterr().out
    assert main(["describe", "cosine(100)", "--steps", "100", "--below", "1.5"]) == 2
    assert "--below must be a fraction of the peak in (0, 1], got '1.5'" in (
        capsys.readouterr().err
    )


def test_streamed_step_cap():
    from schedalg.analysis.description import MAX_STEPS, MAX_STREAMED_STEPS

    assert MAX_STREAMED_STEPS > MAX_STEPS
    with pytest.raises(ValueError, match=r"describe\(\): steps must be at most 10000000000"):
        describe(sa.cosine(10), MAX_STREAMED_STEPS + 1)


def test_command_line_takes_streamed_steps():
    from schedalg.cli.parser import build_parser

    parser = build_parser("0")
    for command in ("describe", "check"):
        assert parser.parse_args([command, "cosine(10)", "--steps", "1e10"]).steps == 10**10
