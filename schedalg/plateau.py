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
states)`` replaces every plateau node by its current value (a ``BoundPlateau``). Evaluating an
unbound plateau raises an error; it never quietly returns 1.0. The torch adapter
(``schedalg.torch.Scheduler``) keeps the states in its ``state_dict`` and binds them for you;
``scheduler.step(metric)`` or ``scheduler.observe(metric)`` feeds it.

Every metric reported reaches every plateau node of the expression, whether or not its piece
of a ``sequence`` is active yet: report metrics only from when you want them to count.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from schedalg import _validate as check
from schedalg.core import Schedule

_MODES = ("min", "max")
_THRESHOLD_MODES = ("rel", "abs")


@dataclass(frozen=True, repr=False)
class Plateau(Schedule):
    """``plateau(factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', mode='min',
    cooldown=0, min_value=0.0, eps=1e-8, start=1.0)``: torch's ``ReduceLROnPlateau`` as a
    multiplier driven by reported metrics.

    The value starts at ``start``. For each metric ``a`` (``best`` starts at ``+inf`` for
    ``mode='min'``, ``-inf`` for ``'max'``), *better* means ``a < best * (1 - threshold)`` (min,
    rel), ``a < best - threshold`` (min, abs), ``a > best * (1 + threshold)`` (max, rel) or
    ``a > best + threshold`` (max, abs); NaN is never better. A better metric becomes ``best``
    and resets the bad count, any other adds one; during a cooldown the bad count stays 0. When
    the bad count exceeds ``patience``: ``new = max(value * factor, min_value)``, applied only if
    ``value - new > eps``; then the cooldown restarts and the bad count is reset (whether or not
    the value changed). These are torch's decisions, operation for operation.

    ``min_value`` and ``eps`` are in the node's own units: multipliers with the default
    ``start=1.0``; learning rates when ``start`` is an absolute lr (what
    ``schedalg.torch.from_torch`` builds, used with the adapter's absolute mode).

    Pure API: ``initial()`` gives the state (a plain dict), ``update(state, metric)`` returns
    the next state, ``value(state)`` the multiplier. In an expression, use ``bind``.
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    mode: str = "min"
    cooldown: int = 0
    min_value: float = 0.0
    eps: float = 1e-8
    start: float = 1.0
    _name: ClassVar[str] = "plateau"

    def __post_init__(self) -> None:
        fn = "plateau"
        self._set("factor", check.real(fn, "factor", self.factor, at_least=0))
        if not self.factor < 1.0:
            raise ValueError(f"plateau(): factor must be < 1, got {self.factor!r}")
        self._set("patience", check.integer(fn, "patience", self.patience, minimum=0))
        self._set("threshold", check.real(fn, "threshold", self.threshold, at_least=0))
        self._set(
            "threshold_mode",
            check.choice(fn, "threshold_mode", self.threshold_mode, _THRESHOLD_MODES),
        )
        self._set("mode", check.choice(fn, "mode", self.mode, _MODES))
        self._set("cooldown", check.integer(fn, "cooldown", self.cooldown, minimum=0))
        self._set("min_value", check.real(fn, "min_value", self.min_value, at_least=0))
        self._set("eps", check.real(fn, "eps", self.eps, at_least=0))
        self._set("start", check.real(fn, "start", self.start))

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

    def update(self, state: dict[str, Any], metric: Any) -> dict[str, Any]:
        """The state after one more metric (``float(metric)``); ``state`` is not modified."""
        current = float(metric)
        best = state["best"]
        bad = state["num_bad_epochs"]
        cooldown = state["cooldown_counter"]
        value = state["value"]
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
            "or evaluate bind(expression, states) from the schedalg.plateau module, with states "
            "from plateau.initial() / plateau.update(...)"
        )

    def _scalar(self, t: float) -> float:
        self._unbound()
        raise AssertionError("unreachable")

    def _array(self, t: Any, xp: ModuleType) -> Any:
        self._unbound()


@dataclass(frozen=True, repr=False)
class BoundPlateau(Schedule):
    """A plateau node with its current value: ``value`` at every step until the next metric."""

    plateau: Plateau
    value: float
    _name: ClassVar[str] = "bound_plateau"
    _positional: ClassVar[int] = 2

    def _scalar(self, t: float) -> float:
        return self.value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return xp.full_like(t, self.value)


def _children(node: Schedule) -> Iterator[tuple[str, int | None, Schedule]]:
    for field in dataclasses.fields(node):  # type: ignore[arg-type]
        if not field.init:
            continue
        value = getattr(node, field.name)
        if isinstance(value, Schedule):
            yield field.name, None, value
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, Schedule):
                    yield field.name, i, item


def plateaus(schedule: Schedule) -> list[Plateau]:
    """The plateau nodes of an expression, depth first, left to right (one per occurrence)."""
    found: list[Plateau] = []

    def walk(node: Schedule) -> None:
        if isinstance(node, Plateau):
            found.append(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, BoundPlateau):
            for _, _, child in _children(node):
                walk(child)

    walk(schedule)
    return found


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

    def rebuild(node: Schedule) -> Schedule:
        if isinstance(node, Plateau):
            state = next(iterator)
            return BoundPlateau(node, node.value(state))
        if not dataclasses.is_dataclass(node) or isinstance(node, BoundPlateau):
            return node
        changes: dict[str, Any] = {}
        for name, index, child in _children(node):
            new = rebuild(child)
            if new is child:
                continue
            if index is None:
                changes[name] = new
            else:
                items = list(changes.get(name, getattr(node, name)))
                items[index] = new
                changes[name] = tuple(items)
        return dataclasses.replace(node, **changes) if changes else node  # type: ignore[type-var]

    return rebuild(schedule)


plateau = Plateau
