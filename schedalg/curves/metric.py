"""Metric-driven schedules: ``ReduceLROnPlateau`` as a pure reducer over metrics.

A ``plateau(...)`` node is a multiplier like any other schedule node, except that its value is
not a function of the step: it comes from a *state*, plain data that a pure function updates
with each metric reported::

    p = plateau(factor=0.5, patience=2)
    state = p.initial()                 # {'best': inf, 'num_bad_epochs': 0, ..., 'value': 1.0}
    state = p.update(state, 0.83)       # a new dict; the old one is untouched
    p.value(state)                      # the multiplier now

Because it is a node, it composes with step schedules, which torch refuses::

    warmup(plateau(patience=5), 500)            # warm-up, then reduce on plateau
    cosine(10_000) * plateau(factor=0.5)        # cosine times the plateau multiplier

Evaluating an expression that holds a plateau needs the reducer states: ``bind(expression,
states)`` replaces every plateau node by its current value (a ``bound_plateau``). Evaluating an
unbound plateau raises an error; it never quietly returns 1.0. The torch adapter
(``schedalg.torch.Scheduler``) keeps the states in its ``state_dict`` and binds them for you;
``scheduler.step(metric)`` or ``scheduler.observe(metric)`` feeds it.

Every metric reported reaches every plateau node of the expression, whether or not its piece
of a ``sequence`` is active yet: report metrics only from when you want them to count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import nodes, rebuild
from schedalg.core import validators as check
from schedalg.core.node import Child, param

_MODES = ("min", "max")
_THRESHOLD_MODES = ("rel", "abs")
_UNITS = ("own", "value")


def _factor(fn: str, name: str, value: Any) -> float:
    factor = check.real(fn, name, value, at_least=0)
    if not factor < 1.0:
        raise ValueError(f"{fn}(): {name} must be < 1, got {factor!r}")
    return factor


class plateau(Schedule):
    """``plateau(factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', mode='min',
    cooldown=0, min_value=0.0, eps=1e-8, start=1.0, units='own')``: torch's
    ``ReduceLROnPlateau`` as a multiplier driven by reported metrics.

    The value starts at ``start``. For each metric ``a`` (``best`` starts at ``+inf`` for
    ``mode='min'``, ``-inf`` for ``'max'``), *better* means ``a < best * (1 - threshold)`` (min,
    rel), ``a < best - threshold`` (min, abs), ``a > best * (1 + threshold)`` (max, rel) or
    ``a > best + threshold`` (max, abs); NaN is never better. A better metric becomes ``best``
    and resets the bad count, any other adds one; during a cooldown the bad count stays 0. When
    the bad count exceeds ``patience``: ``new = max(value * factor, min_value)``, applied only if
    ``value - new > eps``; then the cooldown restarts and the bad count is reset (whether or not
    the value changed). These are torch's decisions, operation for operation.

    ``min_value`` and ``eps`` are in the node's own units (``units='own'``): multipliers with the
    default ``start=1.0``; learning rates when ``start`` is an absolute lr (what
    ``schedalg.torch.from_torch`` builds, used with the adapter's absolute mode). With
    ``units='value'`` they are in the units of the scheduled value itself, the optimizer's real
    lr, as torch's ``ReduceLROnPlateau`` stepped beside other schedulers applies them: the
    adapter then passes the value to ``update(..., current=...)``.

    Pure API: ``initial()`` gives the state (a plain dict), ``update(state, metric)`` returns
    the next state, ``value(state)`` the multiplier. In an expression, use ``bind``.

    >>> from schedalg import plateau
    >>> p = plateau(factor=0.5, patience=0)
    >>> p.run([1.0, 2.0, 3.0])
    [1.0, 0.5, 0.25]
    """

    factor: float = param(_factor, default=0.1)
    patience: int = param(check.an_integer(minimum=0), default=10)
    threshold: float = param(check.a_number(at_least=0), default=1e-4)
    threshold_mode: str = param(check.one_of(*_THRESHOLD_MODES), default="rel")
    mode: str = param(check.one_of(*_MODES), default="min")
    cooldown: int = param(check.an_integer(minimum=0), default=0)
    min_value: float = param(check.a_number(at_least=0), default=0.0)
    eps: float = param(check.a_number(at_least=0), default=1e-8)
    start: float = param(check.a_number(), default=1.0)
    units: str = param(check.one_of(*_UNITS), default="own")
    # Driven by reported metrics, not by the step (evaluating it unbound raises).
    _threadsafe_fill: ClassVar[bool] = False

    # -- the reducer ------------------------------------------------------------------------

    def initial(self) -> dict[str, Any]:
        """The state before any metric: plain data (floats and ints only)."""
        return {
            "best": math.inf if self.mode == "min" else -math.inf,
            "num_bad_epochs": 0,
            "cooldown_counter": 0,
            "last_epoch": 0,
            "value": self.start,
        }

    def _is_better(self, a: float, best: float) -> bool:
        # torch's expressions, in torch's order (rounding decides borderline cases).
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def update(
        self, state: dict[str, Any], metric: Any, current: float | None = None
    ) -> dict[str, Any]:
        """The state after one more metric (``float(metric)``); ``state`` is not modified.

        ``current``: the real value now (the optimizer's lr) where the node multiplies other
        schedules, e.g. ``exponential(0.9) * plateau(...)`` stepped as torch steps
        ``ReduceLROnPlateau`` beside ``ExponentialLR``: torch reduces the real lr, so
        ``min_value`` and ``eps`` compare with ``current`` (``new = max(current * factor,
        min_value)``, applied if ``current - new > eps``) and the node's value is scaled by
        ``new / current``. Without it they compare with the node's own value."""
        value = state["value"]
        if current is None:
            return self._update(state, metric, value)
        real = float(current)
        if real == 0 or not math.isfinite(real):
            raise ValueError(f"plateau.update(): current must be finite and non-zero, got {real!r}")
        after = self._update({**state, "value": real}, metric, real)
        new = after["value"]
        return {**after, "value": value if new == real else value * (new / real)}

    def _update(self, state: dict[str, Any], metric: Any, value: float) -> dict[str, Any]:
        current = float(metric)
        best = state["best"]
        bad = state["num_bad_epochs"]
        cooldown = state["cooldown_counter"]
        if self._is_better(current, best):
            best, bad = current, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown -= 1
            bad = 0
        if bad > self.patience:
            new = max(value * self.factor, self.min_value)
            if value - new > self.eps:
                value = new
            cooldown, bad = self.cooldown, 0
        return {
            "best": best,
            "num_bad_epochs": bad,
            "cooldown_counter": cooldown,
            "last_epoch": state["last_epoch"] + 1,
            "value": value,
        }

    def value(self, state: dict[str, Any]) -> float:
        """The multiplier a state stands for."""
        return float(state["value"])

    def run(self, metrics: Iterable[Any]) -> list[float]:
        """The values after each metric of a stream (a convenience for plotting and tests)."""
        state, values = self.initial(), []
        for metric in metrics:
            state = self.update(state, metric)
            values.append(state["value"])
        return values

    # -- evaluation: only through bind ---------------------------------------------------------

    def _unbound(self) -> None:
        raise ValueError(
            f"{self!r} has no value of its own: it is driven by metrics. Apply it with "
            "schedalg.torch.Scheduler (which feeds it scheduler.step(metric) / observe(metric)), "
            "or evaluate schedalg.bind(expression, states), with states "
            "from plateau.initial() / plateau.update(...)"
        )

    def _scalar(self, t: float) -> float:
        self._unbound()
        raise AssertionError("unreachable")

    def _array(self, t: Any, xp: Any) -> Any:
        self._unbound()


class bound_plateau(Schedule):
    """A plateau node with its current value: ``value`` at every step until the next metric.

    >>> from schedalg import bound_plateau, plateau
    >>> s = bound_plateau(plateau(), 0.1)
    >>> s(0), s(1000)
    (0.1, 0.1)
    """

    plateau: plateau = param(check.a_schedule())
    value: float = param(check.a_number(finite=False))

    def children(self) -> Iterator[Child]:
        return iter(())  # the plateau it stands for is neither evaluated nor bound again

    def _scalar(self, t: float) -> float:
        return self.value

    def _array(self, t: Any, xp: Any) -> Any:
        return xp.full_like(t, self.value)


def plateaus(schedule: Schedule) -> list[plateau]:
    """The plateau nodes of an expression, depth first, left to right (one per occurrence)."""
    return [node for node in nodes(schedule) if isinstance(node, plateau)]


def bind(schedule: Schedule, states: Iterable[dict[str, Any]]) -> Schedule:
    """``schedule`` with its plateau nodes (in ``plateaus`` order) replaced by their values in
    ``states``: an ordinary expression, evaluable on any step or array."""
    pending = list(states)
    expected = len(plateaus(schedule))
    if len(pending) != expected:
        raise ValueError(
            f"bind(): states must have one state per plateau node ({expected}), got {len(pending)}"
        )
    iterator = iter(pending)

    def bound(node: Schedule) -> Schedule | None:
        if isinstance(node, plateau):
            return bound_plateau(node, node.value(next(iterator)))
        return None

    return rebuild(schedule, bound)
