"""A random expression's formula written by hand over a whole array of steps.

``functions(expression)`` writes the formula the way a person writes it over ``np.arange(n)``:
one ``where`` per phase (both sides computed on every step, as ``np.where`` does), the clocks as
arithmetic on the step array, the held and peak values precomputed (as ``expressions.closure``
does for one step). The same source runs on NumPy and, jitted, on ``jax.numpy``: the first is
the "hand-written NumPy" of the random-expression workload, the second its "optax jit" (optax has
no factory for such an expression).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import schedalg as sa
from benchmarks.expressions import Source
from schedalg.algebra import combinators, expression, timewarps
from schedalg.curves import primitives


class _ArrayWriter(Source):
    def line(self, text: str) -> None:
        self.lines.append("    " + text)

    def emit(self, node: sa.Schedule, x: str, out: str) -> bool:
        """Code that assigns ``node`` at the steps ``x`` (an array) to ``out``; whether ``out``
        is an array (a constant stays a Python float, broadcast where it is used)."""
        if isinstance(node, expression.constant):
            self.line(f"{out} = {node.value!r}")
            return False
        if isinstance(node, primitives.cosine):
            u, e = self.name("u"), node.end
            self.line(f"{u} = xp.minimum({x}, {node.steps})")
            self.line(f"{out} = {e!r} + {1.0 - e!r} * (1.0 + xp.cos(pi * {u} / {node.steps})) / 2")
        elif isinstance(node, primitives.linear):
            u, slope = self.name("u"), node.end - node.start
            self.line(f"{u} = xp.minimum({x}, {float(node.steps)!r})")
            self.line(f"{out} = {node.start!r} + {slope!r} * {u} / {node.steps}")
        elif isinstance(node, primitives.exponential):
            self.line(f"{out} = {node.gamma!r} ** {x}")
        elif isinstance(node, primitives.multistep):
            milestones = self.constant(np.asarray(node.milestones, dtype=np.float64), "m")
            count = f"xp.searchsorted({milestones}, {x}, side='right')"
            self.line(f"{out} = {node.gamma!r} ** {count}")
        else:
            return self._combinator(node, x, out)
        return True

    def _combinator(self, node: sa.Schedule, x: str, out: str) -> bool:
        if isinstance(node, (expression.chain, expression.add)):
            parts = node.factors if isinstance(node, expression.chain) else node.terms
            names = [self.name("v") for _ in parts]
            arrays = [self.emit(part, x, name) for part, name in zip(parts, names)]
            op = " * " if isinstance(node, expression.chain) else " + "
            self.line(f"{out} = {op.join(names)}")
            return any(arrays)
        if isinstance(node, combinators.sequence):
            (m,) = node.at
            first, second, later = self.name("v"), self.name("v"), self.clock(f"{x} - {m}")
            self.emit(node.pieces[0], x, first)
            self.emit(node.pieces[1], later, second)
            self.line(f"{out} = xp.where({x} < {m}, {first}, {second})")
        elif isinstance(node, combinators.clip):
            inner, held = self.name("v"), node.schedule(node.end - 1 - node.begin)
            self.emit(node.schedule, self.clock(f"{x} - {node.begin}"), inner)
            within = f"xp.where({x} < {node.end}, {inner}, {held!r})"
            self.line(f"{out} = xp.where({x} < {node.begin}, 1.0, {within})")
        elif isinstance(node, combinators.warmup):
            peak, a, inner = node.schedule(0), node.start, self.name("v")
            self.emit(node.schedule, self.clock(f"{x} - {node.steps}"), inner)
            ramp = f"({a!r} + {1.0 - a!r} * {x} / {node.steps}) * {peak!r}"
            self.line(f"{out} = xp.where({x} < {node.steps}, {ramp}, {inner})")
        elif isinstance(node, combinators.per_epoch):
            self.emit(node.schedule, self.clock(f"{x} // {node.epoch_length}"), out)
        elif isinstance(node, timewarps.shift):
            self.emit(node.schedule, self.clock(f"{x} + {node.offset}"), out)
        elif isinstance(node, timewarps.stretch):
            self.emit(node.schedule, self.clock(f"{x} / {node.factor!r}"), out)
        else:
            raise TypeError(f"no array formula for {type(node).__name__}")
        return True

    def clock(self, formula: str) -> str:
        step = self.name("x")
        self.line(f"{step} = {formula}")
        return step


def source(schedule: sa.Schedule) -> tuple[str, dict[str, Any]]:
    """The source of ``value(t)`` (``t`` the steps) and the constants it reads."""
    writer = _ArrayWriter()
    writer.line("x0 = xp.asarray(t, dtype=xp.float64)")
    if not writer.emit(schedule, "x0", "result"):
        writer.line("result = xp.full_like(x0, result)")
    return "def value(t):\n" + "\n".join(writer.lines) + "\n    return result\n", writer.constants


def _compile(schedule: sa.Schedule, xp: Any) -> Callable[[Any], Any]:
    text, constants = source(schedule)
    namespace: dict[str, Any] = {"xp": xp, "pi": math.pi, **constants}
    exec(compile(text, "<vectorised>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace["value"]
    return function


def functions(schedule: sa.Schedule) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The NumPy function and the ``jax.numpy`` function (not jitted) of ``schedule``'s formula,
    each a function of the steps. The caller checks both against the curve (``suite``)."""

    def jax_function(t: Any) -> Any:
        import jax.numpy as jnp

        return _compile(schedule, jnp)(t)

    return _compile(schedule, np), jax_function
