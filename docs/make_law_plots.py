"""Regenerate the pictures of docs/laws.md: ``python docs/make_law_plots.py``.

- ``laws_25m.png``, ``laws_100m.png``: the law ``fit`` finds on each model's three training
  runs, predicting all nine runs (lines), against the logged losses (dots);
- ``laws_optimized.png``: the schedules the published 25M law predicts to end lowest (compact and
  free), beside the paper's cosine and WSD, scored as the paper's repository scores them.

Reads the runs shipped in tests/data/multipowerlaw (MIT, README there). Takes about a minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from schedalg.analysis.laws.pictures import Curve, draw  # noqa: E402
from schedalg.laws import MultiPowerLaw, fit, optimum, score  # noqa: E402
from tests import multipowerlaw as mpl  # noqa: E402


def fitted(model: str) -> None:
    found = fit(mpl.runs(model, mpl.TRAIN))
    test = score(found.law, mpl.runs(model, mpl.TEST))
    curves = []
    for name in mpl.TRAIN + mpl.TEST:
        steps, _, losses = mpl.columns(model, name)
        grid = np.unique(np.r_[np.linspace(steps[0], steps[-1], 300).round(), steps[-1]])
        grid = grid.astype(np.int64)
        label = f"{name}{' (fitted on)' if name in mpl.TRAIN else ''}"
        predicted = found.law.predict(mpl.schedule(name), grid)
        curves.append(Curve(label, grid, predicted, (steps, losses)))
    title = (
        f"{model}M: fitted on 3 runs, predicting 6 (PredE {test.PredE:.5f}, "
        f"published {mpl.published(model)['test']['PredE']:.5f})"
    )
    draw(curves, str(HERE / f"laws_{model}m.png"), title=title, size=(900, 520))


def optimized() -> None:
    law = MultiPowerLaw(**mpl.published("25")["law"])
    settings = dict(steps=24000, peak=3e-4, warmup=2160, count_warmup=False)
    free = optimum(law, free=True, **settings)
    assert free.started is not None
    shown = {
        "cosine": mpl.schedule("cosine_24000"),
        "WSD (exponential decay from 20000)": mpl.schedule("wsd_20000_24000"),
        "compact optimum": free.started.schedule,
        "free optimum": free.schedule,
    }
    figure, axes = plt.subplots(figsize=(9, 4.2), dpi=100)
    for label, schedule in shown.items():
        final = law.predict(schedule, [23999], warmup=2160)[0]
        axes.plot(
            np.arange(24000),
            schedule.curve(24000),
            linewidth=1.3,
            label=f"{label}: predicted final loss {final:.5f}",
        )
    axes.set_xlabel("step")
    axes.set_ylabel("learning rate")
    axes.set_xlim(0, 24000)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    axes.set_title(
        "25M published law: the repository's optimized schedule ends at 3.14968", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(HERE / "laws_optimized.png")
    plt.close(figure)


def main() -> None:
    for model in mpl.MODELS:
        fitted(model)
    optimized()


if __name__ == "__main__":
    main()
