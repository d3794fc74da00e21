"""The picture of predicted loss curves: one line per schedule, the logged losses as dots.

Needs matplotlib (``pip install 'schedalg[plot]'``); drawn off screen (Agg) into a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Curve", "draw"]


@dataclass(frozen=True)
class Curve:
    """One schedule's predicted ``losses`` at ``steps``, its ``label``, and the ``logged``
    ``(steps, losses)`` of its run where there is one."""

    label: str
    steps: np.ndarray
    losses: np.ndarray
    logged: tuple[np.ndarray, np.ndarray] | None = None


def draw(
    curves: Sequence[Curve],
    path: str,
    *,
    title: str | None = None,
    size: tuple[int, int] = (900, 520),
    bottom: float | None = None,
) -> None:
    """Writes ``curves`` to the PNG ``path``: predicted lines, logged dots in the same colour.
    ``bottom`` cuts the loss axis from below (the early, high losses otherwise flatten the
    rest); by default the axis starts below the lowest loss drawn."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    axes = figure.add_subplot()
    lows, highs = [], []
    for index, curve in enumerate(curves):
        colour = f"C{index % 10}"
        axes.plot(curve.steps, curve.losses, color=colour, linewidth=1.4, label=curve.label)
        lows.append(float(np.min(curve.losses)))
        highs.append(float(np.quantile(curve.losses, 0.1)))
        if curve.logged is not None:
            steps, losses = curve.logged
            axes.plot(steps, losses, "o", color=colour, markersize=2.0, alpha=0.55)
            lows.append(float(np.min(losses)))
    low = min(lows) if bottom is None else bottom
    axes.set_ylim(low - 0.02 * abs(low) if bottom is None else bottom, max(highs) + 0.05)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")
    if title:
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
