"""``optimize(law, steps=, peak=, warmup=)``: the schedule a law predicts to end lowest.

The run is ``steps`` steps long (``0 .. steps - 1``) and starts with the paper's warm-up, a line
from 0 at step 0 to ``peak`` at step ``warmup - 1`` (NumPy's ``linspace(0, peak, warmup)``); what
follows is chosen to minimise the predicted loss at the last step, ``steps - 1``:

- by default, within a compact family: held at ``peak``, then a decay over the last ``D`` steps,
  smooth (``peak * polynomial(D, power=p, end=f)``) or stepped (``peak * multistep([m_1, ...,
  m_n], gamma)``, ``n <= 4`` drops by ``gamma``, at ``m_i = M - D + D * (i / n) ** s`` for the
  ``M`` steps after the warm-up): ``D``, the shape and its numbers are fitted (Nelder-Mead from
  fixed starts), and the lowest wins;
- with ``free=True``, any non-increasing curve between ``minimum`` and ``peak``, every step's rate
  a variable, as the paper derives it: L-BFGS-B over all of them from the compact optimum's
  curve (the law has many local optima among per-step curves; the compact optimum starts the
  search in a good one), written as a ``piecewise`` expression through the steps where the
  rate changes.

The final loss and its gradient with respect to every step's rate are exact and cost ``O(steps)``
(suffix and prefix sums); scipy searches (``pip install 'schedalg[laws]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.analysis.laws.multipower import MultiPowerLaw
from schedalg.core import validators as check
from schedalg.curves.phases import piecewise
from schedalg.curves.primitives import linear, multistep, polynomial

__all__ = ["Optimum", "final_loss", "optimize", "optimum"]

_FN = "optimize"
# Stepped decays tried by the compact search: 1 to 4 drops.
STEPS_TRIED = (1, 2, 3, 4)
# Nelder-Mead starts, in the fitted coordinates: (logit of D / M, log of the shape, logit of the
# end or of gamma); the smooth family's shape is its power, the stepped one's the spacing s.
_STARTS = ((-1.5, 0.0, -2.0), (-2.5, -1.0, -1.0))


def final_loss(
    law: MultiPowerLaw, eta: np.ndarray, first: int = 1, gradient: bool = True
) -> tuple[float, np.ndarray | None]:
    """The predicted loss at the last step ``t = len(eta) - 1`` of the rates ``eta`` and (unless
    ``gradient=False``) its gradient with respect to every ``eta_j``: ``law.predict`` at one
    step, with derivatives.

    With ``S_k = eta_k + ... + eta_t``, ``x_k = C * eta_k ** -gamma * S_k``,
    ``g_k = (1 + x_k) ** -beta``: ``dL/deta_j = -alpha * A * S1 ** (-alpha - 1)
    - B * (-G_j + G_(j+1) - gamma * d_j * G'_j * x_j / eta_j + sum_(k<=j) d_k * G'_k * x_k / S_k)``,
    each term where its step is in ``first .. t``.
    """
    t = eta.size - 1
    area = float(np.sum(eta[1:]))
    k = np.arange(max(first, 1), t + 1)
    span = np.cumsum(eta[::-1])[::-1][k]
    rate, d = eta[k], eta[k - 1] - eta[k]
    with np.errstate(divide="ignore", over="ignore"):
        x = np.minimum(law.C * rate**-law.gamma, 1e300)  # a rate of 0: G = 1 where S_k > 0
    x *= span
    g = np.power(1.0 + x, -law.beta)
    big_g = 1.0 - g
    loss = law.L0 + law.A * area**-law.alpha - law.B * float(np.sum(d * big_g))
    if not gradient:
        return loss, None
    slope = law.beta * g / (1.0 + x)  # G'(x)
    through_power = _ratio(-law.gamma * d * slope * x, rate)
    inner = -big_g + through_power + np.cumsum(_ratio(d * slope * x, span))
    inner[:-1] += big_g[1:]
    grad = np.zeros_like(eta)
    grad[1:] = -law.alpha * law.A * area ** (-law.alpha - 1)
    grad[k] -= law.B * inner
    if k.size:
        grad[k[0] - 1] -= law.B * big_g[0]  # d_first = eta_(first-1) - eta_first
    return loss, grad


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b``, 0 where ``b`` is 0."""
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


@dataclass(frozen=True)
class Optimum:
    """What ``optimum`` found: the ``schedule``, its predicted final ``loss`` and, for a free
    search, the compact optimum it ``started`` from."""

    schedule: Schedule
    loss: float
    started: Optimum | None = None


def optimize(
    law: MultiPowerLaw,
    *,
    steps: int,
    peak: float,
    warmup: int,
    free: bool = False,
    minimum: float = 0.0,
    count_warmup: bool = True,
) -> Schedule:
    """The schedule of ``steps`` steps, warm-up ``warmup`` steps to ``peak``, that ``law``
    predicts to end lowest (``law.predict(s, [steps - 1])``), never below ``minimum``: a compact
    warm-up, stable, decay expression, or with ``free=True`` any non-increasing curve as a
    ``piecewise`` expression (the module's docstring has the searches).

    ``count_warmup=False`` leaves the warm-up out of the law's loss-drop sum, as the paper's
    repository scores its optimized schedule (``predict(..., warmup=warmup)``); the default
    scores as ``predict`` does by default.
    """
    return optimum(
        law,
        steps=steps,
        peak=peak,
        warmup=warmup,
        free=free,
        minimum=minimum,
        count_warmup=count_warmup,
    ).schedule


def optimum(
    law: MultiPowerLaw,
    *,
    steps: int,
    peak: float,
    warmup: int,
    free: bool = False,
    minimum: float = 0.0,
    count_warmup: bool = True,
) -> Optimum:
    """``optimize``, with the predicted final loss of what it found."""
    if not isinstance(law, MultiPowerLaw):
        raise TypeError(f"{_FN}(): law must be a MultiPowerLaw, got {law!r}")
    warmup = check.integer(_FN, "warmup", warmup, minimum=2)
    steps = check.integer(_FN, "steps", steps, minimum=warmup + 2)
    peak = check.real(_FN, "peak", peak, above=0)
    minimum = check.real(_FN, "minimum", minimum, at_least=0, at_most=peak)
    check.flag(_FN, "free", free)
    check.flag(_FN, "count_warmup", count_warmup)
    problem = _Problem(law, steps, peak, warmup, minimum, 1 if count_warmup else warmup)
    if minimum == peak:
        return problem.scored(constant(peak))  # nothing to choose
    compact = problem.compact()
    return problem.free(compact) if free else compact


class _Problem:
    """The final loss of the post-warm-up rates, and the searches."""

    def __init__(
        self, law: MultiPowerLaw, steps: int, peak: float, warmup: int, minimum: float, first: int
    ) -> None:
        self.law, self.steps, self.peak, self.warmup = law, steps, peak, warmup
        self.minimum, self.first = minimum, first
        self.ramp = np.linspace(0.0, peak, warmup)
        self.length = steps - warmup
        self.clock = np.arange(self.length, dtype=float)

    def loss(self, after: np.ndarray) -> float:
        """The final loss of the rates ``after`` the warm-up."""
        return final_loss(self.law, np.concatenate([self.ramp, after]), self.first, False)[0]

    def loss_and_gradient(self, after: np.ndarray) -> tuple[float, np.ndarray]:
        """The final loss of the rates ``after`` the warm-up, and its gradient in them."""
        value, grad = final_loss(self.law, np.concatenate([self.ramp, after]), self.first)
        assert grad is not None
        return value, grad[self.warmup :]

    def scored(self, body: Schedule) -> Optimum:
        schedule = sequence(linear(0.0, self.peak, self.warmup - 1), body, at=[self.warmup])
        warmup = 0 if self.first == 1 else self.warmup
        return Optimum(
            schedule, float(self.law.predict(schedule, [self.steps - 1], warmup=warmup)[0])
        )

    # -- compact family ---------------------------------------------------------------------------

    def _decode(self, z: np.ndarray, low: float) -> tuple[float, float, float]:
        """(D, shape, end or gamma) from the fitted coordinates (logistic, log, logistic)."""
        length = self.length * _logistic(z[0])
        shape = float(np.exp(np.clip(z[1], -30.0, 30.0)))
        return max(length, 1.0), shape, low + (1 - low) * _logistic(z[2])

    def _smooth(self, length: float, power: float, end: float) -> np.ndarray:
        into = np.clip(self.clock - (self.length - length), 0.0, length)
        return self.peak * (end + (1 - end) * ((length - into) / length) ** power)

    def _milestones(self, length: float, spacing: float, drops: int) -> np.ndarray:
        start = self.length - length
        at = start + length * (np.arange(drops) / drops) ** spacing
        return np.unique(np.clip(np.round(at), 1, self.length - 1).astype(np.int64))

    def _stepped(self, length: float, spacing: float, gamma: float, drops: int) -> np.ndarray:
        at = self._milestones(length, spacing, drops)
        return self.peak * gamma ** np.searchsorted(at, self.clock, side="right")

    def compact(self) -> Optimum:
        from scipy.optimize import minimize  # type: ignore[import-untyped, unused-ignore]

        found: list[tuple[float, Schedule]] = []
        families: list[
            tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], Schedule]]
        ] = [(self._smooth_curve, self._smooth_body)]
        families += [(self._stepped_curve(n), self._stepped_body(n)) for n in STEPS_TRIED]
        for curve, body in families:

            def objective(z: np.ndarray, curve: Any = curve) -> float:
                return self.loss(curve(z))

            for start in _STARTS:
                result: Any = minimize(
                    objective,
                    np.array(start),
                    method="Nelder-Mead",
                    options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 1500},
                )
                found.append((float(result.fun), body(result.x)))
        best = min(found, key=lambda item: item[0])[1]
        return self.scored(best)

    def _smooth_curve(self, z: np.ndarray) -> np.ndarray:
        return self._smooth(*self._decode(z, self.minimum / self.peak))

    def _stepped_curve(self, drops: int) -> Callable[[np.ndarray], np.ndarray]:
        low = (self.minimum / self.peak) ** (1 / drops)

        def curve(z: np.ndarray) -> np.ndarray:
            return self._stepped(*self._decode(z, low), drops=drops)

        return curve

    def _smooth_body(self, z: np.ndarray) -> Schedule:
        length, power, end = self._decode(z, self.minimum / self.peak)
        steps = max(round(length), 1)
        decay = self.peak * polynomial(steps, power=power, end=end)
        if steps >= self.length:
            return decay
        return sequence(constant(self.peak), decay, at=[self.length - steps])

    def _stepped_body(self, drops: int) -> Callable[[np.ndarray], Schedule]:
        low = (self.minimum / self.peak) ** (1 / drops)

        def body(z: np.ndarray) -> Schedule:
            length, spacing, gamma = self._decode(z, low)
            at = self._milestones(length, spacing, drops)
            return self.peak * multistep(tuple(int(m) for m in at), gamma)

        return body

    # -- free form --------------------------------------------------------------------------------

    def free(self, start: Optimum) -> Optimum:
        """Every rate after the warm-up free, from ``start``'s curve: L-BFGS-B on the decrements
        of ``log(rate - minimum)`` (>= 0, so the curve never rises and stays above ``minimum``).

        The variables are the steps from ``start``'s decay on, and as many again before it; the
        steps before are held at the peak, which is optimal there when the loss falls as their
        rate rises (a gradient < 0 at the upper bound). Where it does not, the free range
        grows to the first step that breaks it, and the search runs again."""
        rates = start.schedule.curve(self.steps)[self.warmup :]
        below = np.flatnonzero(rates < self.peak)
        decay = int(below[0]) if below.size else self.length
        first = max(0, decay - max(self.length - decay, 1))
        while True:
            rates = self._polish(rates, first)
            grad = self.loss_and_gradient(rates)[1][:first]
            wrong = np.flatnonzero(grad > 0)
            if first == 0 or not wrong.size:
                return replace(self.scored(_as_piecewise(rates)), started=start)
            first = max(0, int(wrong[0]) - (self.length - int(wrong[0])))

    def _polish(self, rates: np.ndarray, first: int) -> np.ndarray:
        """``rates`` with the steps from ``first`` on optimised, the ones before held."""
        from scipy.optimize import minimize  # type: ignore[import-untyped, unused-ignore]

        room = self.peak - self.minimum
        held = rates[:first]
        excess = np.maximum(rates[first:] - self.minimum, 1e-300) / room
        u0 = np.maximum(np.diff(-np.log(np.minimum(excess, 1.0)), prepend=0.0), 0.0)

        def values(u: np.ndarray) -> np.ndarray:
            return self.minimum + room * np.exp(-np.cumsum(u))

        def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
            v = values(u)
            value, grad = self.loss_and_gradient(np.concatenate([held, v]))
            grad = grad[first:]
            # v_i = minimum + room * exp(-(u_0 + ... + u_i)): dv_i/du_j = -(v_i - minimum), j <= i.
            return value, -np.cumsum((grad * (v - self.minimum))[::-1])[::-1]

        result: Any = minimize(
            objective,
            u0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * u0.size,
            options={"maxiter": 3000, "ftol": 1e-12, "gtol": 1e-9},
        )
        better = result.fun < objective(u0)[0]
        return np.concatenate([held, values(result.x if better else u0)])


def _logistic(z: float) -> float:
    """``1 / (1 + exp(-z))``, without overflow."""
    return float(0.5 * (1.0 + np.tanh(0.5 * z)))


def _as_piecewise(rates: np.ndarray) -> Schedule:
    """The curve ``rates`` as ``piecewise``: held between the steps where it changes (step
    interpolation), a point at each change."""
    changes = np.flatnonzero(rates[1:] != rates[:-1]) + 1
    points = [(0, float(rates[0]))] + [(int(c), float(rates[c])) for c in changes]
    return piecewise(tuple(points), interpolation="step")
