"""The primitive curves. Each is one frozen class whose docstring states its formula.

Values are multipliers by convention (1.0 at ``t = 0`` unless stated), but nothing depends on it.
Expression orders follow ``torch.optim.lr_scheduler``'s closed forms so the curves agree with
torch to the last bit wherever torch itself computes a closed form.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from schedalg import _validate as check
from schedalg.core import Schedule, is_jax, map_scalar, power, select, steps_into


def _call_vectorised(function: Callable[[Any], Any], t: Any, xp: ModuleType) -> Any:
    """Call ``function`` on the whole array; map it elementwise if it does not take arrays."""
    try:
        result = function(t)
    except Exception:
        return map_scalar(function, t, xp)
    try:
        result = xp.asarray(result, dtype=t.dtype) if not hasattr(result, "shape") else result
        return xp.astype(result, t.dtype) + xp.zeros_like(t)
    except Exception:
        return map_scalar(function, t, xp)


@dataclass(frozen=True, repr=False)
class Constant(Schedule):
    """``constant(value=1.0)``: ``value`` at every step."""

    value: float = 1.0
    _name: ClassVar[str] = "constant"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("value", check.real("constant", "value", self.value))

    def __repr__(self) -> str:
        return f"constant({self.value!r})"

    def _scalar(self, t: float) -> float:
        return self.value

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return xp.full_like(t, self.value)

    def _fill(self, out: np.ndarray, start: int) -> None:
        out.fill(self.value)


@dataclass(frozen=True, repr=False)
class Linear(Schedule):
    """``linear(start, end, steps)``: ``start + (end - start) * min(t, steps) / steps``.

    torch's ``LinearLR(start_factor=start, end_factor=end, total_iters=steps)``; held at ``end``
    from ``steps`` on.
    """

    start: float
    end: float
    steps: int
    _name: ClassVar[str] = "linear"
    _positional: ClassVar[int] = 3

    def __post_init__(self) -> None:
        self._set("start", check.real("linear", "start", self.start))
        self._set("end", check.real("linear", "end", self.end))
        self._set("steps", check.integer("linear", "steps", self.steps, minimum=1))

    def _scalar(self, t: float) -> float:
        return self.start + (self.end - self.start) * min(t, self.steps) / self.steps

    def _array(self, t: Any, xp: ModuleType) -> Any:
        clamped = xp.where(t < self.steps, t, float(self.steps))
        return self.start + (self.end - self.start) * clamped / self.steps

    def _formula_in_place(self, values: np.ndarray) -> None:
        values *= self.end - self.start
        values /= self.steps
        values += self.start

    def _fill(self, out: np.ndarray, start: int) -> None:
        _fill_then_hold(self, out, start, self.steps, self._formula_in_place)


@dataclass(frozen=True, repr=False)
class Exponential(Schedule):
    """``exponential(gamma)``: ``gamma ** t`` (torch's ``ExponentialLR``)."""

    gamma: float
    _name: ClassVar[str] = "exponential"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("gamma", check.real("exponential", "gamma", self.gamma, above=0))

    def _scalar(self, t: float) -> float:
        return power(self.gamma, t)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.gamma**t


@dataclass(frozen=True, repr=False)
class StepDecay(Schedule):
    """``step_decay(step_size, gamma)``: ``gamma ** (t // step_size)`` (torch's ``StepLR``)."""

    step_size: int
    gamma: float
    _name: ClassVar[str] = "step_decay"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        self._set("step_size", check.integer("step_decay", "step_size", self.step_size, minimum=1))
        self._set("gamma", check.real("step_decay", "gamma", self.gamma, above=0))

    def _scalar(self, t: float) -> float:
        return power(self.gamma, t // self.step_size)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return self.gamma ** (t // self.step_size)

    def _fill(self, out: np.ndarray, start: int) -> None:
        # Constant on blocks of step_size steps: one power per block, repeated.
        n = out.shape[0]
        first, last = start // self.step_size, (start + n - 1) // self.step_size
        values = self.gamma ** np.arange(first, last + 1, dtype=np.float64)
        counts = np.full(last - first + 1, self.step_size)
        counts[0] = min(n, (first + 1) * self.step_size - start)
        counts[-1] = n - counts[:-1].sum() if last > first else n
        out[...] = np.repeat(values, counts)


@dataclass(frozen=True, repr=False)
class MultiStep(Schedule):
    """``multistep(milestones, gamma)``: ``gamma ** #{m in milestones : m <= t}``.

    torch's ``MultiStepLR``: a milestone listed twice applies ``gamma`` twice, milestone 0 applies
    from the first step. Milestones must be non-decreasing non-negative integers.
    """

    milestones: tuple[int, ...]
    gamma: float
    _name: ClassVar[str] = "multistep"
    _positional: ClassVar[int] = 2

    def __post_init__(self) -> None:
        self._set(
            "milestones",
            check.integer_list(
                "multistep",
                "milestones",
                self.milestones,
                minimum=0,
                strictly_increasing=False,
                nonempty=True,
            ),
        )
        self._set("gamma", check.real("multistep", "gamma", self.gamma, above=0))

    def _scalar(self, t: float) -> float:
        return power(self.gamma, bisect.bisect_right(self.milestones, t))

    def _array(self, t: Any, xp: ModuleType) -> Any:
        count = xp.zeros_like(t)
        for milestone in self.milestones:
            count = count + xp.astype(t >= milestone, t.dtype)
        return self.gamma**count

    def _fill(self, out: np.ndarray, start: int) -> None:
        edges = [m - start for m in self.milestones]
        _fill_piecewise_constant(out, edges, self._scalar, start)


@dataclass(frozen=True, repr=False)
class Polynomial(Schedule):
    """``polynomial(steps, power=1.0, end=0.0)``:
    ``end + (1 - end) * (1 - min(t, steps) / steps) ** power``.

    torch's ``PolynomialLR(total_iters=steps, power=power)`` for ``end = 0``; MMEngine's ``PolyLR``.
    """

    steps: int
    power: float = 1.0
    end: float = 0.0
    _name: ClassVar[str] = "polynomial"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("steps", check.integer("polynomial", "steps", self.steps, minimum=1))
        self._set("power", check.real("polynomial", "power", self.power, at_least=0))
        self._set("end", check.real("polynomial", "end", self.end))

    def _scalar(self, t: float) -> float:
        return self.end + (1.0 - self.end) * (1.0 - min(self.steps, t) / self.steps) ** self.power

    def _array(self, t: Any, xp: ModuleType) -> Any:
        clamped = xp.where(t < self.steps, t, float(self.steps))
        # XLA turns ``x / steps`` into ``x * (1 / steps)``, so under jit ``1 - steps / steps`` can
        # be off by an ulp, and a fractional power of it NaN or 1e-8: the hold is exactly 0 here
        # (as ``1 - steps / steps`` is in NumPy, so NumPy values are unchanged).
        remaining = xp.where(t < self.steps, 1.0 - clamped / self.steps, 0.0)
        return self.end + (1.0 - self.end) * remaining**self.power

    def _fill(self, out: np.ndarray, start: int) -> None:
        _fill_then_hold(self, out, start, self.steps)


@dataclass(frozen=True, repr=False)
class Cosine(Schedule):
    """``cosine(steps, end=0.0, periodic=False)``:
    ``end + (1 - end) * (1 + cos(pi * t / steps)) / 2``.

    Held at ``end`` from ``steps`` on; ``periodic=True`` keeps oscillating with period
    ``2 * steps``, as torch's ``CosineAnnealingLR`` does past ``T_max``.
    """

    steps: int
    end: float = 0.0
    periodic: bool = False
    _name: ClassVar[str] = "cosine"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("steps", check.integer("cosine", "steps", self.steps, minimum=1))
        self._set("end", check.real("cosine", "end", self.end))
        self._set("periodic", check.flag("cosine", "periodic", self.periodic))

    def _scalar(self, t: float) -> float:
        if not self.periodic and t > self.steps:
            t = self.steps
        return self.end + (1.0 - self.end) * (1.0 + math.cos(math.pi * t / self.steps)) / 2

    def _array(self, t: Any, xp: ModuleType) -> Any:
        if not self.periodic:
            t = xp.where(t < self.steps, t, float(self.steps))
        return self.end + (1.0 - self.end) * (1.0 + xp.cos(math.pi * t / self.steps)) / 2

    def _formula_in_place(self, values: np.ndarray) -> None:
        values *= math.pi
        values /= self.steps
        np.cos(values, out=values)
        values += 1.0
        values *= 1.0 - self.end
        values /= 2
        values += self.end

    def _fill(self, out: np.ndarray, start: int) -> None:
        if self.periodic:
            self._formula_in_place(steps_into(out, start))
        else:
            _fill_then_hold(self, out, start, self.steps, self._formula_in_place)


@dataclass(frozen=True, repr=False)
class CosineRestarts(Schedule):
    """``cosine_restarts(period, mult=1, end=0.0)``: a cosine from 1 to ``end`` over cycles of
    ``period * mult**k`` steps, restarting at 1 (torch's ``CosineAnnealingWarmRestarts``).

    In cycle ``k`` starting at step ``s_k`` with length ``T_k``:
    ``end + (1 - end) * (1 + cos(pi * (t - s_k) / T_k)) / 2``. ``end`` is approached, never reached.
    """

    period: int
    mult: int = 1
    end: float = 0.0
    _name: ClassVar[str] = "cosine_restarts"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("period", check.integer("cosine_restarts", "period", self.period, minimum=1))
        self._set("mult", check.integer("cosine_restarts", "mult", self.mult, minimum=1))
        self._set("end", check.real("cosine_restarts", "end", self.end))

    @functools.cached_property
    def _cycle_starts(self) -> list[int]:
        # Exact integer cycle boundaries up to 2**53 (beyond, float steps are not integers).
        starts, length = [0], self.period
        while self.mult > 1 and starts[-1] < 2**53:
            starts.append(starts[-1] + length)
            length *= self.mult
        return starts

    def _scalar(self, t: float) -> float:
        if self.mult == 1:
            position, length = t % self.period, self.period
        else:
            starts = self._cycle_starts
            k = bisect.bisect_right(starts, t) - 1
            position, length = t - starts[k], self.period * self.mult**k
        return self.end + (1.0 - self.end) * (1.0 + math.cos(math.pi * position / length)) / 2

    def _array(self, t: Any, xp: ModuleType) -> Any:
        if self.mult == 1:
            position, length = t % self.period, float(self.period)
        else:
            starts = self._cycle_starts
            lengths = [float(self.period * self.mult**k) for k in range(len(starts))]
            cycle_start = xp.zeros_like(t)
            length = xp.full_like(t, float(self.period))
            for start, size in zip(starts[1:], lengths[1:]):
                # A float: JAX refuses Python ints beyond int32 (the starts reach 2**53).
                later = t >= float(start)
                cycle_start = xp.where(later, float(start), cycle_start)
                length = xp.where(later, size, length)
            position = t - cycle_start
        return self.end + (1.0 - self.end) * (1.0 + xp.cos(math.pi * position / length)) / 2


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True, repr=False)
class Cyclic(Schedule):
    """``cyclic(low, high, up, down=None, mode='triangular', gamma=1.0, scale_fn=None,
    scale_mode='cycle')``: torch's ``CyclicLR`` curve from ``low`` to ``high`` and back.

    With ``total = up + down``, ``cycle = floor(1 + t / total)``, ``x = 1 + t / total - cycle``:
    ``low + (high - low) * f(x) * scale``, ``f`` rising linearly to 1 over the first ``up / total``
    of a cycle and falling back to 0; ``scale`` is 1 (triangular), ``1 / 2**(cycle - 1)``
    (triangular2), ``gamma**t`` (exp_range) or ``scale_fn(cycle)`` / ``scale_fn(t)`` by
    ``scale_mode``. The momentum torch cycles is the same curve with ``low`` and ``high`` swapped
    (``low=max_momentum, high=base_momentum``). ``down=None`` means ``down = up``.
    """

    low: float
    high: float
    up: int | float
    down: int | float | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: Callable[[Any], Any] | None = None
    scale_mode: str = "cycle"
    _name: ClassVar[str] = "cyclic"
    _positional: ClassVar[int] = 3

    def __post_init__(self) -> None:
        self._set("low", check.real("cyclic", "low", self.low))
        self._set("high", check.real("cyclic", "high", self.high))
        self._set("up", check.positive_length("cyclic", "up", self.up))
        if self.down is not None:
            down = self.down
            if check.is_integer(down):
                down = check.integer("cyclic", "down", down, minimum=0)
            else:
                down = check.real("cyclic", "down", down, at_least=0)
            self._set("down", down)
        self._set("mode", check.choice("cyclic", "mode", self.mode, _CYCLIC_MODES))
        self._set("gamma", check.real("cyclic", "gamma", self.gamma, above=0))
        if self.scale_fn is not None:
            check.function("cyclic", "scale_fn", self.scale_fn)
        self._set(
            "scale_mode",
            check.choice("cyclic", "scale_mode", self.scale_mode, ("cycle", "iterations")),
        )

    @property
    def _total(self) -> float:
        up = float(self.up)
        return up + (up if self.down is None else float(self.down))

    def _scalar(self, t: float) -> float:
        total = self._total
        ratio = float(self.up) / total
        cycle = math.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        factor = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.scale_fn is not None:
            scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        elif self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / power(2.0, cycle - 1)
        else:
            scale = power(self.gamma, t)
        return self.low + (self.high - self.low) * factor * scale

    def _array(self, t: Any, xp: ModuleType) -> Any:
        total = self._total
        ratio = float(self.up) / total
        cycle = xp.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        rising = x <= ratio
        factor = xp.where(
            rising, x / ratio, (x - 1) / (ratio - 1) if ratio != 1 else xp.zeros_like(x)
        )
        if self.scale_fn is not None:
            scale = _call_vectorised(self.scale_fn, cycle if self.scale_mode == "cycle" else t, xp)
        elif self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma**t
        return self.low + (self.high - self.low) * factor * scale


_ANNEALS = ("cos", "linear")


def _anneal(kind: str, start: float, end: float, pct: Any, cos: Callable[[Any], Any]) -> Any:
    if kind == "cos":
        return end + (start - end) / 2.0 * (cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def one_cycle_ends(total: int, pct_start: float, three_phase: bool) -> list[float]:
    """The last step of each OneCycle phase, as torch and MMEngine compute them (floats)."""
    if three_phase:
        return [float(pct_start * total) - 1, float(2 * pct_start * total) - 2, total - 1]
    return [float(pct_start * total) - 1, total - 1]


def one_cycle_phases(
    fn: str, total: int, pct_start: float, three_phase: bool, values: tuple[float, ...]
) -> list[tuple[float, float, float, float]]:
    """torch's OneCycleLR phases as ``(begin, end, start_value, end_value)``, float boundaries.

    A phase of zero length is reachable only when it is the first one (``pct_start * total == 1``):
    torch divides by zero there, so that is refused. Later zero-length phases are never selected.
    """
    ends = one_cycle_ends(total, pct_start, three_phase)
    if ends[0] == 0:
        raise ValueError(
            f"{fn}(): pct_start * total must not be 1 (torch's OneCycleLR divides by zero in its "
            f"first phase), got pct_start={pct_start!r}, total={total!r}"
        )
    begins = [0.0, *ends[:-1]]
    return [(b, e, values[i], values[i + 1]) for i, (b, e) in enumerate(zip(begins, ends))]


def one_cycle_at(phases: list[tuple[float, float, float, float]], kind: str, t: float) -> float:
    for i, (begin, end, start_value, end_value) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            return _anneal(kind, start_value, end_value, (t - begin) / (end - begin), math.cos)
    raise AssertionError("unreachable")


def _one_cycle_array(
    phases: list[tuple[float, float, float, float]], kind: str, t: Any, xp: ModuleType
) -> Any:
    # The first phase whose end is >= t wins, as in torch's loop: build the selection backwards.
    # Zero-length phases are never selected (see one_cycle_phases) and would divide by zero.
    live = [p for i, p in enumerate(phases) if p[1] != p[0] or i == 0]
    begin, end, start_value, end_value = live[-1]
    result = _anneal(kind, start_value, end_value, (t - begin) / (end - begin), xp.cos)
    for begin, end, start_value, end_value in reversed(live[:-1]):
        value = _anneal(kind, start_value, end_value, (t - begin) / (end - begin), xp.cos)
        result = xp.where(t <= end, value, result)
    return result


class _OneCycleCurve(Schedule):
    """Evaluation shared by the one-cycle curves: torch's phases, held from ``total - 1`` on."""

    total: int
    anneal: str
    _phases: list[tuple[float, float, float, float]]

    def _scalar(self, t: float) -> float:
        return one_cycle_at(self._phases, self.anneal, min(t, self.total - 1))

    def _array(self, t: Any, xp: ModuleType) -> Any:
        clamped = xp.where(t < self.total - 1, t, float(self.total - 1))
        return _one_cycle_array(self._phases, self.anneal, clamped, xp)

    def _fill(self, out: np.ndarray, start: int) -> None:
        _fill_then_hold(self, out, start, self.total - 1)


@dataclass(frozen=True, repr=False)
class OneCycle(_OneCycleCurve):
    """``one_cycle(total, pct_start=0.3, div=25.0, final_div=1e4, anneal='cos',
    three_phase=False, peak=1.0)``: torch's ``OneCycleLR`` learning rate.

    Rises from ``peak / div`` to ``peak`` until step ``pct_start * total - 1``, then anneals to
    ``peak / div / final_div`` at ``total - 1`` (three-phase: back to ``peak / div`` at
    ``2 * pct_start * total - 2`` first). ``anneal='cos'``: ``e + (s - e) / 2 * (cos(pi p) + 1)``;
    ``'linear'``: ``(e - s) * p + s``. Held at the final value from ``total - 1`` on (torch
    extrapolates at step ``total``, a value no update uses, and raises after it).
    ``peak=max_lr`` gives torch's absolute values bit for bit.
    """

    total: int
    pct_start: float = 0.3
    div: float = 25.0
    final_div: float = 1e4
    anneal: str = "cos"
    three_phase: bool = False
    peak: float = 1.0
    _name: ClassVar[str] = "one_cycle"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        fn = "one_cycle"
        self._set("total", check.integer(fn, "total", self.total, minimum=1))
        self._set("pct_start", check.real(fn, "pct_start", self.pct_start, at_least=0, at_most=1))
        self._set("div", check.real(fn, "div", self.div, above=0))
        self._set("final_div", check.real(fn, "final_div", self.final_div, above=0))
        self._set("anneal", check.choice(fn, "anneal", self.anneal, _ANNEALS))
        self._set("three_phase", check.flag(fn, "three_phase", self.three_phase))
        self._set("peak", check.real(fn, "peak", self.peak))
        self._phases  # noqa: B018 - validates the phases eagerly

    @functools.cached_property
    def _phases(self) -> list[tuple[float, float, float, float]]:
        initial = self.peak / self.div
        final = initial / self.final_div
        values = (
            (initial, self.peak, initial, final)
            if self.three_phase
            else (initial, self.peak, final)
        )
        return one_cycle_phases("one_cycle", self.total, self.pct_start, self.three_phase, values)


@dataclass(frozen=True, repr=False)
class OneCycleMomentum(_OneCycleCurve):
    """``one_cycle_momentum(total, pct_start=0.3, low=0.85, high=0.95, anneal='cos',
    three_phase=False)``: the momentum torch's ``OneCycleLR`` cycles against the learning rate.

    Falls from ``high`` to ``low`` while the learning rate rises, then returns to ``high``
    (three-phase: the third phase stays at ``high``); same phases and anneal as ``one_cycle``.
    """

    total: int
    pct_start: float = 0.3
    low: float = 0.85
    high: float = 0.95
    anneal: str = "cos"
    three_phase: bool = False
    _name: ClassVar[str] = "one_cycle_momentum"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        fn = "one_cycle_momentum"
        self._set("total", check.integer(fn, "total", self.total, minimum=1))
        self._set("pct_start", check.real(fn, "pct_start", self.pct_start, at_least=0, at_most=1))
        self._set("low", check.real(fn, "low", self.low))
        self._set("high", check.real(fn, "high", self.high))
        self._set("anneal", check.choice(fn, "anneal", self.anneal, _ANNEALS))
        self._set("three_phase", check.flag(fn, "three_phase", self.three_phase))
        self._phases  # noqa: B018 - validates the phases eagerly

    @functools.cached_property
    def _phases(self) -> list[tuple[float, float, float, float]]:
        values = (
            (self.high, self.low, self.high, self.high)
            if self.three_phase
            else (self.high, self.low, self.high)
        )
        return one_cycle_phases(
            "one_cycle_momentum", self.total, self.pct_start, self.three_phase, values
        )


@dataclass(frozen=True, repr=False)
class Cumulative(Schedule):
    """``cumulative(factor)``: ``factor(1) * factor(2) * ... * factor(floor(t))``, 1.0 at ``t = 0``.

    torch's ``MultiplicativeLR``, multiplied left to right as torch does; constant between
    integer steps.
    """

    factor: Callable[[int], float]
    _prefix: list[float] = field(
        default_factory=lambda: [1.0], compare=False, repr=False, init=False
    )
    _name: ClassVar[str] = "cumulative"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        check.function("cumulative", "factor", self.factor)

    def _products_through(self, t: int) -> list[float]:
        # Running products are cached: the adapter asks for t = 0, 1, 2, ... and each call
        # must not cost O(t). The cache is invisible to equality and hashing.
        prefix = self._prefix
        while len(prefix) <= t:
            k = len(prefix)
            prefix.append(prefix[-1] * float(self.factor(k)))
        return prefix

    def _scalar(self, t: float) -> float:
        step = math.floor(t)
        return self._products_through(step)[step]

    def _array(self, t: Any, xp: ModuleType) -> Any:
        if is_jax(xp):
            raise TypeError("cumulative() multiplies a Python function's values: not traceable")
        values = map_scalar(self._scalar, t, xp)
        return values


@dataclass(frozen=True, repr=False)
class FromFn(Schedule):
    """``from_fn(function, vectorized=None)``: ``function(t)`` (torch's ``LambdaLR``).

    ``function`` is first tried on whole arrays; if it raises or returns the wrong shape it is
    called once per step (``vectorized=False`` skips the try, ``True`` forbids the fallback).
    The one node that cannot be serialized: its repr names the function.
    """

    function: Callable[[Any], Any]
    vectorized: bool | None = None
    _name: ClassVar[str] = "from_fn"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        check.function("from_fn", "function", self.function)
        if self.vectorized is not None:
            check.flag("from_fn", "vectorized", self.vectorized)

    def _scalar(self, t: float) -> float:
        return float(self.function(t))

    def _array(self, t: Any, xp: ModuleType) -> Any:
        if self.vectorized is False:
            return map_scalar(self.function, t, xp)
        if self.vectorized is True:
            return xp.astype(xp.asarray(self.function(t)), t.dtype) + xp.zeros_like(t)
        return _call_vectorised(self.function, t, xp)


@dataclass(frozen=True, repr=False)
class InverseSqrt(Schedule):
    """``inverse_sqrt(timescale)``: ``1 / sqrt((t + timescale) / timescale)``.

    HF's ``inverse_sqrt`` after its warm-up: ``warmup(inverse_sqrt(timescale), W)`` is
    ``get_inverse_sqrt_schedule(W, timescale)``.
    """

    timescale: int | float
    _name: ClassVar[str] = "inverse_sqrt"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self._set("timescale", check.positive_length("inverse_sqrt", "timescale", self.timescale))

    def _scalar(self, t: float) -> float:
        return 1.0 / math.sqrt((t + self.timescale) / self.timescale)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        return 1.0 / xp.sqrt((t + self.timescale) / self.timescale)


_WSD_WARMUP = ("linear", "cosine", "1-sqrt")
_WSD_DECAY = ("linear", "cosine", "1-sqrt")


@dataclass(frozen=True, repr=False)
class WarmupStableDecay(Schedule):
    """``warmup_stable_decay(warmup, stable, decay, end=0.0, warmup_shape='linear',
    decay_shape='cosine')``: HF's WSD schedule.

    Warm-up ``p = t / warmup``: ``linear p``, ``cosine (1 - cos(pi p)) / 2``, ``1-sqrt
    1 - sqrt(1 - p)``; stable: 1; decay ``p = (t - warmup - stable) / decay``: ``linear 1 - p``,
    ``cosine (1 + cos(pi p)) / 2``, ``1-sqrt 1 - sqrt(p)``; each phase value ``v`` is mapped to
    ``v * (1 - end) + end``, and ``end`` holds after the decay.
    """

    warmup: int
    stable: int
    decay: int
    end: float = 0.0
    warmup_shape: str = "linear"
    decay_shape: str = "cosine"
    _name: ClassVar[str] = "warmup_stable_decay"
    _positional: ClassVar[int] = 3

    def __post_init__(self) -> None:
        fn = "warmup_stable_decay"
        self._set("warmup", check.integer(fn, "warmup", self.warmup, minimum=0))
        self._set("stable", check.integer(fn, "stable", self.stable, minimum=0))
        self._set("decay", check.integer(fn, "decay", self.decay, minimum=1))
        self._set("end", check.real(fn, "end", self.end))
        self._set("warmup_shape", check.choice(fn, "warmup_shape", self.warmup_shape, _WSD_WARMUP))
        self._set("decay_shape", check.choice(fn, "decay_shape", self.decay_shape, _WSD_DECAY))

    def _ramp(self, p: Any, cos: Any, sqrt: Any) -> Any:
        if self.warmup_shape == "linear":
            return p
        if self.warmup_shape == "cosine":
            return 0.5 * (1.0 - cos(math.pi * p))
        return 1.0 - sqrt(1.0 - p)

    def _fall(self, p: Any, cos: Any, sqrt: Any) -> Any:
        if self.decay_shape == "linear":
            return 1.0 - p
        if self.decay_shape == "cosine":
            return 0.5 * (1.0 + cos(math.pi * p))
        return 1.0 - sqrt(p)

    def _scalar(self, t: float) -> float:
        decay_start = self.warmup + self.stable
        if t < self.warmup:
            value = self._ramp(t / self.warmup, math.cos, math.sqrt)
        elif t < decay_start:
            return 1.0
        elif t < decay_start + self.decay:
            value = self._fall((t - decay_start) / self.decay, math.cos, math.sqrt)
        else:
            return self.end
        return value * (1.0 - self.end) + self.end

    def _array(self, t: Any, xp: ModuleType) -> Any:
        decay_start = self.warmup + self.stable

        def ramp(local: Any, xp: ModuleType) -> Any:
            return self._ramp(local / self.warmup, xp.cos, xp.sqrt) * (1.0 - self.end) + self.end

        def fall(local: Any, xp: ModuleType) -> Any:
            return self._fall(local / self.decay, xp.cos, xp.sqrt) * (1.0 - self.end) + self.end

        def one(local: Any, xp: ModuleType) -> Any:
            return xp.ones_like(local)

        def hold(local: Any, xp: ModuleType) -> Any:
            return xp.full_like(local, self.end)

        edges, pieces = [], []
        if self.warmup:
            edges.append(float(self.warmup))
            pieces.append(ramp)
        if self.stable:
            edges.append(float(decay_start))
            pieces.append(one)
        edges.append(float(decay_start + self.decay))
        pieces.extend([fall, hold])
        return select(t, xp, tuple(edges), pieces)


_INTERPOLATIONS = ("linear", "cosine", "step")


@dataclass(frozen=True, repr=False)
class Piecewise(Schedule):
    """``piecewise(points, interpolation='linear')``: through ``points = [(t0, v0), (t1, v1), ...]``
    with ``t0 = 0``; held at the last value after the last point.

    Between ``(a, va)`` and ``(b, vb)``, with ``p = (t - a) / (b - a)``:
    ``linear (vb - va) * p + va``,
    ``cosine vb + (va - vb) / 2 * (cos(pi p) + 1)`` (optax's ``piecewise_interpolate_schedule``
    forms), ``step va``.
    """

    points: tuple[tuple[int, float], ...]
    interpolation: str = "linear"
    _name: ClassVar[str] = "piecewise"
    _positional: ClassVar[int] = 1

    def __post_init__(self) -> None:
        fn = "piecewise"
        points = self.points
        if isinstance(points, (str, bytes)) or not hasattr(points, "__iter__"):
            raise TypeError(f"{fn}(): points must be a list of (step, value) pairs, got {points!r}")
        normalized = []
        for point in points:
            if isinstance(point, (str, bytes)) or not hasattr(point, "__len__") or len(point) != 2:
                raise TypeError(f"{fn}(): points must be (step, value) pairs, got {point!r}")
            step = check.integer(fn, "a point's step", point[0], minimum=0)
            normalized.append((step, check.real(fn, "a point's value", point[1])))
        steps = [p[0] for p in normalized]
        if not normalized or steps[0] != 0 or any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(
                f"{fn}(): points must start at step 0 with strictly increasing steps, "
                f"got {[list(p) for p in normalized]!r}"
            )
        self._set("points", tuple(normalized))
        self._set(
            "interpolation",
            check.choice(fn, "interpolation", self.interpolation, _INTERPOLATIONS),
        )

    def __repr__(self) -> str:
        points = "[" + ", ".join(f"({s!r}, {v!r})" for s, v in self.points) + "]"
        if self.interpolation == "linear":
            return f"piecewise({points})"
        return f"piecewise({points}, interpolation={self.interpolation!r})"

    def _segment(self, start_value: float, end_value: float, p: Any, cos: Any) -> Any:
        if self.interpolation == "linear":
            return (end_value - start_value) * p + start_value
        if self.interpolation == "cosine":
            return end_value + (start_value - end_value) / 2 * (cos(math.pi * p) + 1)
        return start_value + 0.0 * p

    def _scalar(self, t: float) -> float:
        steps = [s for s, _ in self.points]
        i = bisect.bisect_right(steps, t) - 1
        if i == len(self.points) - 1:
            return self.points[-1][1]
        (a, va), (b, vb) = self.points[i], self.points[i + 1]
        return self._segment(va, vb, (t - a) / (b - a), math.cos)

    def _array(self, t: Any, xp: ModuleType) -> Any:
        pieces = []
        for (a, va), (b, vb) in zip(self.points, self.points[1:]):
            pieces.append(
                lambda local, xp, va=va, vb=vb, span=b - a: self._segment(
                    va, vb, local / span, xp.cos
                )
            )
        last = self.points[-1][1]
        pieces.append(lambda local, xp: xp.full_like(local, last))
        return select(t, xp, tuple(float(s) for s, _ in self.points[1:]), pieces)


# -- fill helpers -----------------------------------------------------------------------------


def _fill_then_hold(
    schedule: Schedule,
    out: np.ndarray,
    start: int,
    hold_from: int,
    formula: Callable[[np.ndarray], None] | None = None,
) -> None:
    """Fill with the formula before ``hold_from`` and with the value at ``hold_from`` after it.

    ``formula(out)``, when given, turns the steps written in ``out`` into values in place, with
    the same operations in the same order as ``_array`` (so the curve is bit-identical to it)
    but without its temporaries.
    """
    n = out.shape[0]
    split = min(max(hold_from - start, 0), n)
    if split:
        if formula is None:
            out[:split] = schedule._array(np.arange(start, start + split, dtype=np.float64), np)
        else:
            formula(steps_into(out[:split], start))
    if split < n:
        out[split:] = schedule._scalar(max(hold_from, start))


def _fill_piecewise_constant(
    out: np.ndarray, edges: list[int], value_at: Callable[[int], float], start: int
) -> None:
    """Fill a curve that is constant between ``edges`` (offsets into ``out``): one value each."""
    n = out.shape[0]
    cuts = sorted({e for e in edges if 0 < e < n})
    position = 0
    for cut in [*cuts, n]:
        out[position:cut] = value_at(start + position)
        position = cut
