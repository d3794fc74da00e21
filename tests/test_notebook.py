"""Notebooks: ``s.plot(steps)`` draws with real matplotlib and returns the axes; the inline
picture (``_repr_png_``) is a PNG when matplotlib is there and ``None`` (the plain repr) when it
is not or the schedule cannot be drawn; ``import schedalg`` stays NumPy-only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import schedalg as sa
from schedalg.analysis import plot

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg", force=True)
from matplotlib.figure import Figure  # noqa: E402


def _axes():
    return Figure().add_subplot()


def test_plot_draws_the_curve_and_returns_the_axes():
    s = sa.warmup(sa.multistep([5000, 7500], 0.1), 1000, start=0.01)
    ax = _axes()
    assert s.plot(10_000, ax=ax, base=0.1) is ax
    (line,) = ax.lines[:1]
    x, y = line.get_xdata(), line.get_ydata()
    # Reduced to an envelope past 4000 points, every drawn point is on the curve.
    assert np.array_equal(y, 0.1 * s.curve(10_000)[x.astype(int)])
    assert y.max() == 0.1 and 6000 in set(x.astype(int)) and 5999 in set(x.astype(int))
    marked = sorted(int(v.get_xdata()[0]) for v in ax.lines[1:])
    assert marked == [1000, 6000, 8500]
    assert ax.get_xlabel() == "step" and "base 0.1" in ax.get_ylabel()
    assert ax.get_legend().get_texts()[0].get_text() == repr(s)


def test_plot_options():
    ax = _axes()
    sa.cosine(100, end=0.01).plot(100, ax=ax, log=True, label="lr", marks=False, color="red")
    assert ax.get_yscale() == "log" and len(ax.lines) == 1
    assert ax.get_legend().get_texts()[0].get_text() == "lr"
    assert ax.lines[0].get_color() == "red"
    with pytest.raises(ValueError, match=r"plot\(\): steps must be a positive integer"):
        sa.cosine(10).plot(0, ax=_axes())


def test_plot_of_a_plateau_holds_it_and_says_so():
    s = sa.cosine(100) * sa.plateau(start=0.5)
    ax = _axes()
    s.plot(100, ax=ax)
    assert np.array_equal(ax.lines[0].get_ydata(), 0.5 * sa.cosine(100).curve(100))
    assert "plateau held at its initial value" in ax.get_legend().get_texts()[0].get_text()


def test_the_inline_picture_is_a_png():
    data = sa.warmup(sa.cosine(900), 100)._repr_png_()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.display_steps(sa.warmup(sa.cosine(900), 100)) == 1250
    assert plot.display_steps(sa.constant(0.5)) == 1000


def test_the_inline_picture_never_breaks_the_repr(monkeypatch):
    def boom(t):
        raise RuntimeError("no")

    s = sa.from_fn(boom, vectorized=False)
    assert s._repr_png_() is None
    assert repr(s).startswith("from_fn(")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # matplotlib missing
    assert sa.cosine(10)._repr_png_() is None


def test_import_schedalg_does_not_import_matplotlib():
    code = "import sys, schedalg; schedalg.cosine(10).curve(5); print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
