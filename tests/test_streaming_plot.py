"""Both pictures of ``schedalg plot`` stream the curve in pieces: their output is the one stored
from the code that drew the whole array (tests/data/expected/plots), for pieces of any size."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedalg import cosine, multistep, warmup
from schedalg.analysis import plot
from schedalg.cli import main

EXPECTED = Path(__file__).parent / "data" / "expected" / "plots"
CASES: dict[str, list[str]] = json.loads((EXPECTED / "cases.json").read_text())
# Pieces of 7 and 64 steps put piece borders inside and across columns and buckets; the longest
# runs (10**5 steps) take 613 instead of 7, to stay fast.
CHUNKS = [7, 64, plot.CHUNK]


def _chunk(name: str, chunk: int) -> int:
    return (
        613 if chunk == 7 and int(CASES[name][CASES[name].index("--steps") + 1]) > 20000 else chunk
    )


def terminal(argv: list[str]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["plot", *argv]) == 0
    return buffer.getvalue()


def image_lines(argv: list[str], monkeypatch: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The x and y arrays of every line the image would draw (the file is not written)."""
    from matplotlib.figure import Figure

    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def record(self: Any, *_: Any, **__: Any) -> None:
        for line in self.axes[0].lines:
            x = np.asarray(line.get_xdata(), dtype=np.float64)
            seen.append((x, np.asarray(line.get_ydata(), dtype=np.float64)))

    monkeypatch.setattr(Figure, "savefig", record)
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["plot", *argv, "-o", "never-written.png"]) == 0
    return seen


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_plot_is_the_stored_one(name: str, chunk: int, monkeypatch: Any) -> None:
    monkeypatch.setattr(plot, "CHUNK", _chunk(name, chunk))
    assert terminal(CASES[name]) == (EXPECTED / f"{name}.txt").read_text()


# Drawing is slow beside the plot's arithmetic: the image takes the smallest pieces only (the
# property test below compares the envelopes for pieces cut anywhere).
@pytest.mark.parametrize("chunk", [7])
@pytest.mark.parametrize("name", sorted(CASES))
def test_image_draws_the_stored_points(name: str, chunk: int, monkeypatch: Any) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(plot, "CHUNK", _chunk(name, chunk))
    stored = np.load(EXPECTED / f"{name}.npz")
    lines = image_lines(CASES[name], monkeypatch)
    assert len(lines) == len(stored.files) // 2
    for i, (x, y) in enumerate(lines):
        np.testing.assert_array_equal(x, stored[f"x{i}"])
        np.testing.assert_array_equal(y, stored[f"y{i}"])


def _split(values: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    return np.split(values, sorted({c % (len(values) + 1) for c in cuts}))


special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1.0])
curves = st.integers(1, 9000).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.integers(0, 2**32 - 1),
        st.lists(st.tuples(st.integers(0, n - 1), special), max_size=20),
        st.lists(st.integers(0, n), max_size=12),
    )
)


def _values(n: int, seed: int, holes: list[tuple[int, float]]) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal(n).cumsum()
    for step, value in holes:
        values[step] = value
    return values


@settings(max_examples=60, deadline=None)
@given(curves, st.integers(8, 90), st.booleans())
def test_pieces_draw_the_picture_of_the_whole_array(case: Any, width: int, log: bool) -> None:
    n, seed, holes, cuts = case
    values = _values(n, seed, holes)
    whole = plot.envelopes([("a", values)])[0][1]
    streamed = plot.envelopes([("a", _split(values, cuts))], steps=n)[0][1]
    np.testing.assert_array_equal(streamed.steps, whole.steps)
    np.testing.assert_array_equal(streamed.values, whole.values)
    assert (streamed.finite, streamed.positive) == (whole.finite, whole.positive)
    assert set(whole.steps.tolist()) >= {0, n - 1}
    try:
        expected = plot.text_plot([("a", values)], width=width, log=log)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            plot.text_plot([("a", _split(values, cuts))], width=width, log=log, steps=n)
        return
    assert plot.text_plot([("a", _split(values, cuts))], width=width, log=log, steps=n) == expected


def test_envelope_keeps_each_bucket_extremes_and_ends() -> None:
    values = _values(100_000, 3, [(5, np.nan), (777, np.inf), (50_001, -np.inf)])
    points = plot.envelopes([("a", iter(np.array_split(values, 37)))], steps=100_000)[0][1]
    edges = np.linspace(0, 100_000, 1001).astype(np.int64)
    for a, b in itertools.pairwise(edges):
        inside = (points.steps >= a) & (points.steps < b)
        shown = points.values[inside]
        assert points.steps[inside][0] == a and points.steps[inside][-1] == b - 1
        assert np.nanmin(shown) == np.nanmin(values[a:b])
        assert np.nanmax(shown) == np.nanmax(values[a:b])
    assert len(points.steps) <= 4000


def test_pieces_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="text_plot\\(\\): every series needs the same"):
        plot.text_plot([("a", [np.zeros(5), np.zeros(4)])], steps=10)
    with pytest.raises(ValueError, match="save_png\\(\\): every series needs 10 steps"):
        plot.envelopes([("a", [np.zeros(5)])], steps=10)
    with pytest.raises(ValueError, match="steps is needed"):
        plot.text_plot([("a", iter([np.zeros(5)]))])


def test_notebook_plot_draws_the_envelope_of_the_curve(monkeypatch: Any) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    schedule = warmup(cosine(90_000), 10_000) * multistep([30_000], 0.5)
    values = 0.1 * schedule.curve(100_000)
    whole = plot.envelopes([("a", values)])[0][1]
    monkeypatch.setattr(plot, "CHUNK", 999)
    line = schedule.plot(100_000, ax=Figure().add_subplot(), base=0.1, marks=False).lines[0]
    np.testing.assert_array_equal(line.get_xdata(), whole.steps)
    np.testing.assert_array_equal(line.get_ydata(), whole.values)


@pytest.mark.parametrize("command", ["plot", "export"])
def test_streaming_commands_take_long_runs(command: str) -> None:
    from schedalg import __version__
    from schedalg.cli.parser import build_parser

    args = build_parser(__version__).parse_args([command, "cosine(10)", "--steps", "1e10"])
    assert args.steps == 10**10


def test_npy_export_past_the_old_cap_counts_every_step() -> None:
    from schedalg.cli import exporting

    class Written(Exception):
        pass

    class Header(io.BytesIO):
        def write(self, data: Any) -> int:  # the header, then stop before the 480 MB of data
            super().write(data)
            raise Written

    handle = Header()
    with pytest.raises(Written):
        exporting._npy_writer([("c", cosine(10))], 60_000_000)(handle)
    handle.seek(0)
    assert np.lib.format.read_magic(handle) == (1, 0)
    assert np.lib.format.read_array_header_1_0(handle)[0] == (60_000_000,)
