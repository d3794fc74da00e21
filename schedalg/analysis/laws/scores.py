"""How well a law predicts logged runs: the paper's test-set table.

Per run, with ``y`` the logged losses and ``p`` the predicted ones: ``R2 = 1 - sum((y - p)**2) /
sum((y - mean(y))**2)``, ``MAE = mean(|y - p|)``, ``RMSE = sqrt(mean((y - p)**2))``,
``PredE = mean(|y - p| / y)`` (the mean relative error) and ``WorstE = max(|y - p| / y)``; the
table is the mean of each over the runs, as the paper reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedalg.analysis.laws.fitting import observations
from schedalg.analysis.laws.multipower import MultiPowerLaw

__all__ = ["Score", "score"]


@dataclass(frozen=True)
class Score:
    """The means over the runs (``R2``, ``MAE``, ``RMSE``, ``PredE``, ``WorstE``) and, in
    ``runs``, each run's own five numbers in that order."""

    R2: float
    MAE: float
    RMSE: float
    PredE: float
    WorstE: float
    runs: tuple[tuple[float, float, float, float, float], ...]

    def __str__(self) -> str:
        return (
            f"R2 {self.R2:.4f}  MAE {self.MAE:.5f}  RMSE {self.RMSE:.5f}  "
            f"PredE {self.PredE:.5f}  WorstE {self.WorstE:.5f}  ({len(self.runs)} runs)"
        )


def score(law: MultiPowerLaw, runs: Sequence[tuple[Any, Any, Any]], *, warmup: int = 0) -> Score:
    """The paper's metrics of ``law`` on ``runs``, each ``(lr, steps, losses)``.

    >>> from schedalg import constant, linear, sequence
    >>> law = MultiPowerLaw(L0=3.0, A=0.5, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.6)
    >>> lr = sequence(linear(0.0, 3e-4, 99), constant(3e-5), at=[1000])
    >>> steps = [500, 999, 1500, 1999]
    >>> round(score(law, [(lr, steps, law.predict(lr, steps))]).PredE, 12)
    0.0
    """
    rows = []
    for lr, steps, losses in observations("score", runs):
        error = losses - law.predict(lr, steps, warmup=warmup)
        relative = np.abs(error) / losses
        spread = float(np.sum((losses - losses.mean()) ** 2))
        rows.append(
            (
                1.0 - float(np.sum(error**2)) / spread if spread else float("nan"),
                float(np.mean(np.abs(error))),
                float(np.sqrt(np.mean(error**2))),
                float(np.mean(relative)),
                float(np.max(relative)),
            )
        )
    means = np.mean(np.array(rows), axis=0)
    r2, mae, rmse, mean_error, worst = (float(m) for m in means)
    return Score(r2, mae, rmse, mean_error, worst, runs=tuple(rows))
