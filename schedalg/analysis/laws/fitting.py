"""``fit(runs)``: a loss-curve law fitted to logged runs, deterministically.

The objective is the paper's: ``sum_i huber(log(pred_i) - log(loss_i))`` over every logged point
of every run, ``huber(r) = r**2 / 2`` for ``|r| <= delta`` and ``delta * (|r| - delta / 2)``
beyond (``delta = 1e-3``). The method is ours, chosen to find a lower optimum than the paper's:

1. a grid of the law's shape parameters (``alpha``, ``C``, ``beta``, ``gamma``), each point
   completed by the scale parameters (``L0``, ``A``, ``B``) that a non-negative linear least
   squares on the relative error gives (the law is linear in them);
2. from the ``starts`` best grid points, a trust-region least squares (scipy's
   ``least_squares``, method ``trf``, its robust ``huber`` loss with ``f_scale = delta``, which
   is exactly this objective) with the exact Jacobian, on the positive parameters' logarithms;
3. the lowest objective wins; ties go to the earlier start.

Same runs in, same digits out: the grid, the starts and their order are fixed, and nothing is
random.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedalg.analysis.laws import sums
from schedalg.analysis.laws.multipower import MultiPowerLaw

__all__ = ["DELTA", "GRID", "LAWS", "Fit", "Progress", "fit", "huber", "observations"]

DELTA = 1e-3
LAWS: dict[str, type[MultiPowerLaw]] = {"multi-power": MultiPowerLaw}
# The shape parameters' grid (alpha, C, beta, gamma): 81 points around the published fits.
GRID: tuple[tuple[float, ...], ...] = (
    (0.3, 0.5, 0.8),
    (0.5, 2.0, 8.0),
    (0.3, 0.6, 1.2),
    (0.3, 0.6, 0.9),
)
# The grid ranks its points on every 4th logged point: a quarter of the work, the same ranking.
GRID_STRIDE = 4
# Parameters fitted through their logarithm (they stay positive); L0 is fitted as it is.
_LOGGED = np.array([False, True, True, True, True, True, True])


@dataclass(frozen=True)
class Progress:
    """What ``fit`` reports to its ``callback``: the ``stage`` (``"grid"``, ``"start"`` or
    ``"done"``), the start running (``start`` of ``starts``, 0 on the grid), the evaluations
    so far and the lowest objective seen."""

    stage: str
    start: int
    starts: int
    evaluations: int
    objective: float


@dataclass(frozen=True)
class Fit:
    """A fitted law: ``law``, its ``objective`` (the summed Huber loss), the ``residuals``
    ``log(pred) - log(loss)`` of each run, the objective of each start (``start_objectives``) and
    the number of evaluations of the law."""

    law: MultiPowerLaw
    objective: float
    residuals: tuple[np.ndarray, ...]
    start_objectives: tuple[float, ...]
    evaluations: int

    def __str__(self) -> str:
        flat = np.concatenate(self.residuals)
        return (
            f"{self.law!r}\nobjective {self.objective:.6e} (Huber on log loss, delta {DELTA:g}); "
            f"residuals over {flat.size} points: mean {flat.mean():+.2e}, "
            f"largest {np.abs(flat).max():.2e}; {self.evaluations} evaluations"
        )


def huber(residuals: np.ndarray, delta: float = DELTA) -> float:
    """``sum(r**2 / 2 if |r| <= delta else delta * (|r| - delta / 2))``.

    >>> huber(np.array([0.0005, -0.003]))
    2.6250000000000003e-06
    """
    size = np.abs(residuals)
    inside = size <= delta
    return float(np.sum(np.where(inside, 0.5 * size**2, delta * (size - 0.5 * delta))))


@dataclass(frozen=True)
class _Data:
    """A run made ready: its sums, its blocks kept, its losses."""

    curve: sums.Run
    blocks: tuple[sums.Block, ...]
    losses: np.ndarray


def _thinned(data: _Data, stride: int) -> _Data:
    """Every ``stride``-th logged point of a run (the last one kept)."""
    keep = np.unique(np.r_[np.arange(0, data.losses.size, stride), data.losses.size - 1])
    curve = sums.run_subset(data.curve, keep)
    return _Data(curve, tuple(curve.blocks()), data.losses[keep])


def observations(fn: str, runs: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """``runs`` checked: a non-empty list of ``(lr, steps, losses)`` with as many finite,
    positive losses as steps. Errors name ``fn``, the run and the value."""
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence) or not runs:
        raise ValueError(
            f"{fn}(): runs must be a non-empty list of (lr, steps, losses), got {runs!r}"
        )
    checked = []
    for index, item in enumerate(runs):
        if not isinstance(item, Sequence) or len(item) != 3:
            raise ValueError(f"{fn}(): runs[{index}] must be (lr, steps, losses), got {item!r}")
        lr, steps, losses = item
        points = sums.steps_of(fn, steps)
        values = np.asarray(losses, dtype=float).reshape(-1)
        if values.shape != points.shape:
            raise ValueError(
                f"{fn}(): runs[{index}] has {points.size} steps and {values.size} losses"
            )
        if not np.all(np.isfinite(values) & (values > 0)):
            bad = float(values[~(np.isfinite(values) & (values > 0))][0])
            raise ValueError(f"{fn}(): runs[{index}] losses must be finite and > 0, got {bad!r}")
        checked.append((lr, points, values))
    return checked


def fit(
    runs: Sequence[tuple[Any, Any, Any]],
    law: str = "multi-power",
    *,
    starts: int = 4,
    warmup: int = 0,
    callback: Callable[[Progress], None] | None = None,
) -> Fit:
    """The law fitted to ``runs``, each ``(lr, steps, losses)``: ``lr`` an absolute
    learning-rate schedule, the logged ``steps`` and their ``losses``.

    Minimises ``sum huber(log(pred) - log(loss))`` (``delta = 1e-3``) from the ``starts`` best
    points of a fixed grid (see the module's docstring); ``warmup`` is the law's (0: the loss-drop
    sum counts every step, as the published parameters do). ``callback(progress)`` is called
    as it goes. Needs scipy (``pip install 'schedalg[laws]'``).
    """
    fn = "fit"
    if law not in LAWS:
        raise ValueError(f"{fn}(): law must be one of {', '.join(map(repr, LAWS))}, got {law!r}")
    if isinstance(starts, bool) or not isinstance(starts, int) or starts < 1:
        raise ValueError(f"{fn}(): starts must be a positive integer, got {starts!r}")
    first = sums.first_step(fn, warmup)
    data = []
    for lr, points, values in observations(fn, runs):
        curve = sums.run(sums.rates(fn, lr, int(points.max())), points, first)
        data.append(_Data(curve, tuple(curve.blocks()), values))
    return _Fitter(LAWS[law], data, callback).run(starts)


class _Fitter:
    """The objective, its residuals and Jacobian in the fitted coordinates, and the search."""

    def __init__(
        self,
        kind: type[MultiPowerLaw],
        data: list[_Data],
        callback: Callable[[Progress], None] | None,
    ) -> None:
        self.kind = kind
        self.data = data
        self.logs = np.log(np.concatenate([d.losses for d in data]))
        self.callback = callback
        self.evaluations = 0
        self.best = np.inf
        self.stage = ("grid", 0, 0)
        self.seen: tuple[str, int, int] | None = None

    def _report(self, objective: float) -> None:
        self.evaluations += 1
        stage, start, starts = self.stage
        # The lowest objective of this stage (the grid's is on a thinned set of points).
        self.best = objective if self.seen != self.stage else min(self.best, objective)
        self.seen = self.stage
        if self.callback is not None:
            self.callback(Progress(stage, start, starts, self.evaluations, self.best))

    def predict(self, law: MultiPowerLaw, jacobian: bool) -> tuple[np.ndarray, np.ndarray | None]:
        parts = [law.evaluate(d.curve, d.blocks, jacobian) for d in self.data]
        loss = np.concatenate([p[0] for p in parts])
        if not jacobian:
            return loss, None
        return loss, np.concatenate([p[1] for p in parts if p[1] is not None])

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        law = _law(self.kind, theta)
        loss, _ = self.predict(law, False)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.log(loss) - self.logs
        # A parameter set that predicts a loss <= 0 is far off: a large residual, not a NaN.
        r = np.where(np.isfinite(r), r, 10.0)
        self._report(huber(r))
        return r

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        law = _law(self.kind, theta)
        loss, partial = self.predict(law, True)
        assert partial is not None
        # d log(pred) / d theta: the chain rule through exp for the logged parameters.
        scale = np.where(_LOGGED, np.exp(theta), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            j = partial * scale / loss[:, None]
        return np.where(np.isfinite(j), j, 0.0)

    def grid(self) -> list[tuple[float, np.ndarray]]:
        """Every grid point completed by its scale parameters, with its objective on every
        ``GRID_STRIDE``-th logged point (the grid only ranks the starts), best first."""
        from scipy.optimize import nnls  # type: ignore[import-untyped, unused-ignore]

        coarse = [_thinned(d, GRID_STRIDE) for d in self.data]
        losses = np.concatenate([d.losses for d in coarse])
        found = []
        for alpha, c, beta, gamma in itertools.product(*GRID):
            unit = self.kind(L0=0.0, A=1.0, alpha=alpha, B=1.0, C=c, beta=beta, gamma=gamma)
            power = np.concatenate([d.curve.area**-alpha for d in coarse])
            drop = power - np.concatenate([unit.evaluate(d.curve, d.blocks)[0] for d in coarse])
            # The law is L0 + A * power - B * drop: linear in (L0, A, B); relative errors.
            design = np.stack([np.ones_like(power), power, -drop], axis=1) / losses[:, None]
            (l0, a, b), _ = nnls(design, np.ones_like(losses))
            a, b = max(a, 1e-12), max(b, 1e-12)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.log(l0 + a * power - b * drop) - np.log(losses)
            law = self.kind(L0=l0, A=a, alpha=alpha, B=b, C=c, beta=beta, gamma=gamma)
            found.append((huber(np.where(np.isfinite(r), r, 10.0)), _theta(law)))
            self._report(found[-1][0])
        found.sort(key=lambda item: item[0])
        return found

    def run(self, starts: int) -> Fit:
        from scipy.optimize import least_squares  # type: ignore[import-untyped, unused-ignore]

        candidates = self.grid()[:starts]
        results = []
        for index, (_, theta) in enumerate(candidates, start=1):
            self.stage = ("start", index, len(candidates))
            solution = least_squares(
                self.residuals,
                theta,
                jac=self.jacobian,
                method="trf",
                loss="huber",
                f_scale=DELTA,
                x_scale="jac",
                max_nfev=200,
            )
            results.append((huber(self.residuals(solution.x)), solution.x))
        objective, theta = min(results, key=lambda item: item[0])
        law = _law(self.kind, theta)
        self.stage = ("done", len(candidates), len(candidates))
        self._report(objective)
        loss, _ = self.predict(law, False)
        cuts = np.cumsum([d.losses.size for d in self.data])[:-1]
        residuals = tuple(np.split(np.log(loss) - self.logs, cuts))
        return Fit(law, objective, residuals, tuple(r[0] for r in results), self.evaluations)


def _theta(law: MultiPowerLaw) -> np.ndarray:
    values = law.vector()
    return np.where(_LOGGED, np.log(np.where(_LOGGED, values, 1.0)), values)


def _law(kind: type[MultiPowerLaw], theta: np.ndarray) -> MultiPowerLaw:
    with np.errstate(over="ignore"):
        values = np.where(_LOGGED, np.exp(np.clip(theta, -700, 700)), theta)
    return kind.from_vector(values)
