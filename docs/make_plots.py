"""Regenerate the MMEngine plots shown in README.md: ``python docs/make_plots.py``.

Each plot is the schedalg expression ``from_config`` builds for a documented MMEngine example,
times the optimizer's lr (0.01), momentum (0.9) or weight decay (1e-4).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mmengine_examples import EXAMPLES, GRADUAL_WARMUP, L  # noqa: E402

from schedalg.mmengine import from_config  # noqa: E402

BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}


def plot(name: str, title: str, curves: dict[str, object], n: int, ylabel: str) -> None:
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 2.6), dpi=80)
    axes = [axes] if len(curves) == 1 else list(axes)
    for ax, (label, values) in zip(axes, curves.items()):
        ax.plot(range(n), values, linewidth=1.2)
        ax.set_xlabel("iteration")
        ax.set_ylabel(label if ylabel == "" else ylabel)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(HERE / f"mmengine_{name}.png")
    plt.close(fig)


def main() -> None:
    for example in EXAMPLES:
        exprs = from_config(example["config"], **example["loop"])
        loop = example["loop"]
        n = loop.get("max_iters") or loop["max_epochs"] * loop["epoch_length"]
        curves = {name: BASES[name] * expr.curve(n) for name, expr in exprs.items()}
        plot(example["name"], example["title"], curves, n, "")
    n = 100 * L
    plot(
        "gradual_warmup",
        "GradualWarmupScheduler pattern: x8 exponential warm-up, then cosine",
        {"lr": 0.08 * GRADUAL_WARMUP.curve(n)},
        n,
        "",
    )


if __name__ == "__main__":
    main()
