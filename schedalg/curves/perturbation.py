"""timm's learning-rate noise: seeded per-step draws from torch's random generator.

timm (``timm.scheduler.Scheduler``) perturbs its schedulers' values on a range of steps: at step
``t`` it seeds a fresh ``torch.Generator`` with ``seed + t`` and draws one number, so the noise
is a pure function of the step — which is what lets it be a node here. The draws need torch;
everything else about the node works without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import Event, param
from schedalg.engine.backends import host, library, like, torch_compiling

_KINDS = ("normal", "uniform")


def _end(fn: str, name: str, value: Any) -> int | float:
    if value == math.inf:
        return math.inf
    return check.integer(fn, name, value, minimum=1)


class noise(Schedule):
    """``noise(schedule, begin=0, end=inf, pct=0.67, std=1.0, seed=42, kind='normal')``:
    ``v + v * n(t)`` with ``v = schedule(t)``, for ``begin <= t < end`` (``v`` elsewhere).

    ``n(t)`` is timm's draw from ``torch.Generator().manual_seed(seed + t)``: ``normal``,
    ``randn() * std`` redrawn until ``|n| < pct``; ``uniform``, ``2 * (rand() - 0.5) * pct``.
    timm's ``noise_range_t=[a, b]`` is ``begin=a, end=b`` (a single number ``a`` is
    ``begin=a``), ``noise_pct``, ``noise_std``, ``noise_seed``, ``noise_type`` the rest. The noise
    is drawn at integer steps and constant in between (timm's steps are integers). Evaluating
    it needs torch; under ``jax.jit`` it cannot be traced.

    >>> from schedalg import constant, noise
    >>> s = noise(constant(1.0), begin=10, seed=42)
    >>> s(5), 1 - 0.67 < s(10) < 1 + 0.67, s(10) == s(10.5)
    (1.0, True, True)
    """

    schedule: Schedule = param(check.a_schedule())
    begin: int = param(check.an_integer(minimum=0), default=0)
    end: int | float = param(_end, default=math.inf)
    pct: float = param(check.a_number(above=0), default=0.67)
    std: float = param(check.a_number(at_least=0), default=1.0)
    seed: int = param(check.an_integer(minimum=0), default=42)
    kind: str = param(check.one_of(*_KINDS), default="normal")
    # A torch draw per step, in Python: it holds the GIL, so a second thread gains nothing.
    _threadsafe_fill: ClassVar[bool] = False

    def _check(self) -> None:
        if not self.end > self.begin:
            raise ValueError(
                f"noise(): end must be greater than begin={self.begin!r}, got {self.end!r}"
            )
        if self.kind == "normal" and self.std > 100 * self.pct:
            # A normal draw lands inside (-pct, pct) with probability ~0.8 pct / std: beyond this
            # the redraw loop would spin for hundreds of draws per step.
            raise ValueError(
                f"noise(): pct must be at least std / 100 for kind='normal', got pct={self.pct!r}"
                f" with std={self.std!r}"
            )

    def events(self) -> Iterator[Event]:
        if self.begin:
            yield Event(self.begin, "boundary", "noise begins")
        if self.end != math.inf:
            yield Event(self.end, "boundary", "noise ends")

    def draw(self, step: int) -> float:
        """``n(step)``, timm's draw for that step (0.0 outside ``[begin, end)``)."""
        if not self.begin <= step < self.end:
            return 0.0
        try:
            import torch
        except ImportError:
            raise TypeError(
                "noise() draws timm's noise from torch's random generator: install torch "
                "(pip install 'schedalg[torch]') to evaluate it"
            ) from None
        generator = torch.Generator()
        generator.manual_seed(self.seed + step)
        if self.kind == "uniform":
            return 2 * (torch.rand(1, generator=generator).item() - 0.5) * self.pct
        while True:
            value = torch.randn(1, generator=generator).item() * self.std
            if abs(value) < self.pct:
                return float(value)

    def _scalar(self, t: float) -> float:
        value = self.schedule._scalar(t)
        return value + value * self.draw(math.floor(t))

    def _array(self, t: Any, xp: Any) -> Any:
        if (library(xp) == "jax" and _tracing(t)) or torch_compiling():
            raise TypeError(
                "noise() draws from torch's generator once per step: it cannot be traced by "
                "jax.jit or torch.compile; evaluate it outside the compiled function"
            )
        values = self.schedule._array(t, xp)
        steps = np.floor(np.asarray(host(t, xp), dtype=np.float64)).astype(np.int64)
        unique, where = np.unique(steps.reshape(-1), return_inverse=True)
        draws = np.array([self.draw(int(k)) for k in unique], dtype=np.float64)[where]
        draws = draws.reshape(steps.shape)
        return values + values * like(draws, values, xp)


def _tracing(t: Any) -> bool:
    import jax

    return isinstance(t, jax.core.Tracer)
