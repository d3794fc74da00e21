"""Pictures of curves: a PNG through matplotlib (optional) and a plain-text plot for terminals.

Both take a list of ``(label, values)`` series of equal length (the curve of steps ``[0, n)``) and
the boundary steps to mark. The text renderer is deterministic — the same input gives the same
characters on every machine — so its output can be stored and compared in tests. It uses ASCII
only, one marker per series.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

MARKERS = "*+ox#@%&"
# More points than this are reduced to a min/max envelope before matplotlib sees them: a picture
# a few thousand pixels wide cannot show more, and millions of points make matplotlib slow.
_ENVELOPE = 4000


def _transform(values: np.ndarray, log: bool) -> np.ndarray:
    """The plotted coordinate: the value, or its log10 (non-positive values are not drawn)."""
    values = np.asarray(values, dtype=np.float64)
    if not log:
        return np.where(np.isfinite(values), values, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(values) & (values > 0), np.log10(values), np.nan)


def drawable(series: Sequence[tuple[str, np.ndarray]], *, log: bool = False) -> None:
    """Raise ``ValueError("nothing to draw: ...")`` when no series has a point to draw: the
    terminal plot and the image refuse the same input with the same words."""
    if not any(np.isfinite(_transform(values, log)).any() for _, values in series):
        raise ValueError(
            "nothing to draw: every value is non-positive (log scale) or not finite"
            if log
            else "nothing to draw: every value is NaN or infinite"
        )


def text_plot(
    series: Sequence[tuple[str, np.ndarray]],
    *,
    width: int = 72,
    height: int = 16,
    log: bool = False,
    boundaries: Iterable[int] = (),
) -> str:
    """Draw the series as ``height`` rows of ``width`` plot columns of text, with a y axis, an
    x axis whose ``|`` marks the boundaries, and a legend when there are several series."""
    n = _steps_to_draw(series, width, height)
    columns = min(width, n)
    edges = [c * n // columns for c in range(columns + 1)]
    drawable(series, log=log)
    coords = [_transform(values, log) for _, values in series]
    low, high = _value_range(coords)
    grid = [[" "] * columns for _ in range(height)]
    for index, coord in enumerate(coords):
        _draw(grid, coord, edges, MARKERS[index % len(MARKERS)], low, high)

    def label(y: float) -> str:
        return f"{10**y:.4g}" if log else f"{y:.4g}"

    ticks = {0: label(high), height // 2: label((low + high) / 2), height - 1: label(low)}
    pad = max(len(t) for t in ticks.values())
    lines = [series[0][0]] if len(series) == 1 else []
    if log:
        lines.append(f"{'':>{pad}} ^ value (log scale)")
    for r in range(height):
        lines.append(f"{ticks.get(r, ''):>{pad}} |{''.join(grid[r])}".rstrip())
    lines.extend(_x_axis(n, edges, boundaries, pad, "step"))
    if len(series) > 1:
        for index, (name, _) in enumerate(series):
            lines.append(f"  {MARKERS[index % len(MARKERS)]} {name}")
    return "\n".join(lines) + "\n"


def _steps_to_draw(series: Sequence[tuple[str, np.ndarray]], width: int, height: int) -> int:
    if width < 8 or height < 3:
        raise ValueError(f"text_plot(): width must be >= 8 and height >= 3, got {width}x{height}")
    if not series:
        raise ValueError("text_plot(): nothing to plot")
    n = len(series[0][1])
    if n < 1 or any(len(values) != n for _, values in series):
        raise ValueError("text_plot(): every series needs the same, non-zero number of steps")
    return n


def _value_range(coords: list[np.ndarray]) -> tuple[float, float]:
    finite = np.concatenate([c[np.isfinite(c)] for c in coords])
    low, high = float(finite.min()), float(finite.max())
    if high - low <= 1e-12 * max(abs(low), abs(high), 1e-300):
        pad = abs(low) * 0.5 if low else 0.5
        low, high = low - pad, high + pad
    return low, high


def _draw(
    grid: list[list[str]], coord: np.ndarray, edges: list[int], marker: str, low: float, high: float
) -> None:
    height = len(grid)

    def row(y: float) -> int:
        return round((y - low) / (high - low) * (height - 1))

    previous = math.nan
    for c in range(len(edges) - 1):
        chunk = coord[edges[c] : edges[c + 1]]
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size == 0:
            previous = math.nan
            continue
        # Join with the previous column so steep stretches and jumps draw as lines.
        lo, hi = float(chunk.min()), float(chunk.max())
        if not math.isnan(previous):
            lo, hi = min(lo, previous), max(hi, previous)
        for r in range(row(lo), row(hi) + 1):
            grid[height - 1 - r][c] = marker
        previous = float(chunk[-1])


def _x_axis(
    n: int, edges: list[int], boundaries: Iterable[int], pad: int, middle: str
) -> list[str]:
    columns = len(edges) - 1
    axis = ["-"] * columns
    for step in boundaries:
        if 0 < step < n:
            axis[np.searchsorted(edges, step, side="right") - 1] = "|"
    lines = [" " * pad + " +" + "".join(axis)]
    first, last = "0", str(n - 1)
    gap = columns - len(first) - len(last)
    if gap >= len(middle) + 2:
        left = (gap - len(middle)) // 2
        right = gap - left - len(middle)
        lines.append(" " * (pad + 2) + first + " " * left + middle + " " * right + last)
    else:
        lines.append(" " * (pad + 2) + first + " " * max(gap, 1) + last)
    return lines


def _envelope(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values to draw: all of them, or per bucket its first, min, max and last point
    in step order, which keeps every peak, jump and plateau visible."""
    n = values.shape[0]
    if n <= _ENVELOPE:
        return np.arange(n), values
    edges = np.linspace(0, n, _ENVELOPE // 4 + 1).astype(np.int64)
    steps: list[int] = []
    for a, b in itertools.pairwise(edges):
        chunk = values[a:b]
        if np.isnan(chunk).all():
            picks = [a, b - 1]
        else:
            picks = [a, a + int(np.nanargmin(chunk)), a + int(np.nanargmax(chunk)), b - 1]
        steps.extend(sorted(set(picks)))
    index = np.asarray(steps)
    return index, values[index]


def save_png(
    series: Sequence[tuple[str, np.ndarray]],
    path: Any,
    *,
    width: int = 800,
    height: int = 450,
    log: bool = False,
    boundaries: Iterable[int] = (),
    title: str | None = None,
    ylabel: str = "value",
) -> None:
    """Write a ``width`` x ``height`` pixel image (the format follows the file's suffix; PNG for
    ``.png``) with labelled axes, dotted boundary lines and a legend. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_subplot()
    for name, values in series:
        steps, shown = _envelope(np.asarray(values, dtype=np.float64))
        if log:
            shown = np.where(shown > 0, shown, np.nan)
        axes.plot(steps, shown, label=_short(name), linewidth=1.5)
    marked = sorted({int(b) for b in boundaries})
    for step in marked[:100]:
        axes.axvline(step, color="0.6", linestyle=":", linewidth=1.0, zorder=0)
    if log:
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    if title:
        axes.set_title(_short(title, 90), fontsize=10)
    if len(series) > 1 or not title:
        axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- notebooks: Schedule.plot and the inline picture ----------------------------------------------

# The steps an inline picture shows when nothing says how long the run is.
_DEFAULT_STEPS = 1000


def plot(
    schedule: Any,
    steps: int,
    *,
    ax: Any = None,
    base: float = 1.0,
    log: bool = False,
    label: str | None = None,
    marks: bool = True,
    x: Any = "step",
    **line: Any,
) -> Any:
    """Draw ``base * schedule`` over steps ``[0, steps)`` on ``ax`` (default: the current
    pyplot axes) and return the axes: dotted lines at the expression's boundaries
    (``marks=False``: none), a log y axis with ``log=True``, ``line`` passed to ``ax.plot``.
    ``x='tokens'`` (or ``'samples'``, or a clock schedule) puts that clock on the x axis.
    A ``plateau`` is drawn held at its initial value, and the legend says so; an
    integer-valued schedule is drawn as a staircase. Needs matplotlib."""
    from schedalg._validate import integer
    from schedalg.clocks import resolve_clock
    from schedalg.description import MAX_STEPS, step_driven
    from schedalg.integers import is_integral
    from schedalg.tree import events

    n = integer("plot", "steps", steps, minimum=1, wrong_type=ValueError)
    clock = resolve_clock("plot", schedule, x)
    if n > MAX_STEPS:
        raise ValueError(f"plot(): steps must be at most {MAX_STEPS}, got {steps!r}")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    driven, notes = step_driven(schedule)
    with np.errstate(all="ignore"):
        values = base * driven.curve(n)
    shown_steps, shown = _envelope(values)
    if log:
        shown = np.where(shown > 0, shown, np.nan)
    name = _short(repr(schedule) if label is None else label)
    if notes:
        name += " (plateau held at its initial value)"
    if is_integral(schedule):
        line.setdefault("drawstyle", "steps-post")

    def position(at: Any) -> Any:
        return at if clock is None else clock(np.asarray(at, dtype=np.int64))

    ax.plot(position(shown_steps), shown, label=name, **line)
    if marks:
        for step in sorted({m.step for m in events(driven, n) if 0 < m.step < n})[:100]:
            ax.axvline(position(step), color="0.6", linestyle=":", linewidth=1.0, zorder=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step" if clock is None else str(getattr(clock, "unit", "clock")))
    ax.set_ylabel("value" if base == 1.0 else f"value (base {base:g})")
    ax.legend(fontsize=8, loc="best")
    return ax


def display_steps(schedule: Any) -> int:
    """How many steps an inline picture shows: past the last step the expression marks (its
    last milestone or decay end) by a quarter, else ``_DEFAULT_STEPS``."""
    from schedalg.tree import events

    marked = [m.step for m in events(schedule, _DEFAULT_STEPS) if math.isfinite(m.step)]
    return max(int(max(marked) * 1.25), 10) if marked else _DEFAULT_STEPS


def png(schedule: Any, *, width: int = 640, height: int = 320) -> bytes | None:
    """The inline picture of a notebook (``Schedule._repr_png_``): PNG bytes, or ``None`` when
    matplotlib is missing or the schedule cannot be drawn (the plain repr is shown then)."""
    try:
        import io

        from matplotlib.figure import Figure
    except ImportError:
        return None
    try:
        figure = Figure(figsize=(width / 100, height / 100), dpi=100)
        plot(schedule, display_steps(schedule), ax=figure.add_subplot())
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    except Exception:  # a picture must never break printing a schedule
        return None
