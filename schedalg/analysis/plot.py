"""Pictures of curves: a PNG through matplotlib (optional) and a plain-text plot for terminals.

Both take a list of ``(label, values)`` series of equal length (the curve of steps ``[0, n)``) and
the boundary steps to mark. ``values`` is an array, or the curve in pieces (an iterable of arrays
in step order, such as ``schedule.chunks(0, n)``, given with ``steps=n``): only one piece and a
summary per drawn column are held at a time, so a curve of any length is drawn in flat memory,
and the picture is the one the whole array gives. The text renderer is deterministic — the same
input gives the same characters on every machine — so its output can be stored and compared in
tests. It uses ASCII only, one marker per series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeAlias

import numpy as np

from schedalg.analysis.envelope import Columns, Envelope, envelope, transform

MARKERS = "*+ox#@%&"
# Steps per piece when a curve is computed for a picture (the command line, ``plot``): a few MB,
# so the pieces and the temporaries of their evaluation stay small beside the interpreter.
CHUNK = 1 << 18

Values: TypeAlias = "np.ndarray | Iterable[np.ndarray]"
Series: TypeAlias = "Sequence[tuple[str, Values]]"


def _pieces(values: Any) -> Iterator[np.ndarray]:
    if isinstance(values, np.ndarray):
        yield values
    else:
        yield from values


def _length(series: Sequence[tuple[str, Any]], steps: int | None, fn: str) -> int:
    """The number of steps of the series: ``steps``, or the arrays' common length."""
    if not series:
        raise ValueError(f"{fn}(): nothing to plot")
    arrays = [len(v) for _, v in series if isinstance(v, (np.ndarray, Envelope))]
    n = steps if steps is not None else (arrays[0] if len(arrays) == len(series) else None)
    if n is None:
        raise ValueError(f"{fn}(): steps is needed when a series is given in pieces")
    if n < 1 or any(length != n for length in arrays):
        raise ValueError(f"{fn}(): every series needs the same, non-zero number of steps")
    return n


def drawable(series: Sequence[tuple[str, Any]], *, log: bool = False) -> None:
    """Raise ``ValueError("nothing to draw: ...")`` when no series has a point to draw: the
    terminal plot and the image refuse the same input with the same words. Each series is an
    array or an :class:`Envelope`."""
    if not any(
        values.drawable(log)
        if isinstance(values, Envelope)
        else np.isfinite(transform(values, log)).any()
        for _, values in series
    ):
        _nothing_to_draw(log)


def _nothing_to_draw(log: bool) -> NoReturn:
    raise ValueError(
        "nothing to draw: every value is non-positive (log scale) or not finite"
        if log
        else "nothing to draw: every value is NaN or infinite"
    )


def text_plot(
    series: Series,
    *,
    width: int = 72,
    height: int = 16,
    log: bool = False,
    boundaries: Iterable[int] = (),
    steps: int | None = None,
) -> str:
    """Draw the series as ``height`` rows of ``width`` plot columns of text, with a y axis, an
    x axis whose ``|`` marks the boundaries, and a legend when there are several series."""
    if width < 8 or height < 3:
        raise ValueError(f"text_plot(): width must be >= 8 and height >= 3, got {width}x{height}")
    n = _length(series, steps, "text_plot")
    columns = min(width, n)
    edges = [c * n // columns for c in range(columns + 1)]
    summaries = []
    for _, values in series:
        summary = Columns(edges, log)
        for piece in _pieces(values):
            summary.add(piece)
        summary.finish("text_plot")
        summaries.append(summary)
    if not any(summary.drawable() for summary in summaries):
        _nothing_to_draw(log)
    low, high = _value_range(summaries)
    grid = [[" "] * columns for _ in range(height)]
    for index, summary in enumerate(summaries):
        summary.draw(grid, MARKERS[index % len(MARKERS)], low, high)

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


def _value_range(summaries: list[Columns]) -> tuple[float, float]:
    low = min(s.low() for s in summaries if s.drawable())
    high = max(s.high() for s in summaries if s.drawable())
    if high - low <= 1e-12 * max(abs(low), abs(high), 1e-300):
        pad = abs(low) * 0.5 if low else 0.5
        low, high = low - pad, high + pad
    return low, high


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


def envelopes(
    series: Sequence[tuple[str, Values | Envelope]], steps: int | None = None
) -> list[tuple[str, Envelope]]:
    """The series as the points a picture draws (see :class:`Envelope`), each curve read once."""
    n = _length(series, steps, "save_png")
    return [
        (name, values if isinstance(values, Envelope) else envelope(_pieces(values), n))
        for name, values in series
    ]


def save_png(
    series: Sequence[tuple[str, Values | Envelope]],
    path: Any,
    *,
    width: int = 800,
    height: int = 450,
    log: bool = False,
    boundaries: Iterable[int] = (),
    title: str | None = None,
    ylabel: str = "value",
    steps: int | None = None,
) -> None:
    """Write a ``width`` x ``height`` pixel image (the format follows the file's suffix; PNG for
    ``.png``) with labelled axes, dotted boundary lines and a legend. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    shown = envelopes(series, steps)
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_subplot()
    for name, points in shown:
        values = np.where(points.values > 0, points.values, np.nan) if log else points.values
        axes.plot(points.steps, values, label=_short(name), linewidth=1.5)
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
    from schedalg.algebra.tree import events
    from schedalg.analysis.description import MAX_STEPS, step_driven
    from schedalg.core.validators import integer
    from schedalg.curves.clocks import resolve_clock
    from schedalg.curves.integers import is_integral

    n = integer("plot", "steps", steps, minimum=1, wrong_type=ValueError)
    clock = resolve_clock("plot", schedule, x)
    if n > MAX_STEPS:
        raise ValueError(f"plot(): steps must be at most {MAX_STEPS}, got {steps!r}")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    driven, notes = step_driven(schedule)
    with np.errstate(all="ignore"):
        points = envelope((base * piece for piece in driven.chunks(0, n, size=CHUNK)), n)
    shown_steps, shown = points.steps, points.values
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
    from schedalg.algebra.tree import events

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
