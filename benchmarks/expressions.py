"""Random deep expressions and the closure a person would write for each.

``random_expression(seed, depth)`` builds an expression whose deepest root-to-leaf path has
``depth`` combinators, from the nodes MMEngine-style configs and hand-made schedules use most:
products, sums, ``sequence``, ``clip`` (with an end), ``warmup``, ``per_epoch``, ``shift`` and
``stretch`` over ``cosine``, ``linear``, ``exponential``, ``multistep`` and constants.
``closure(expression)`` writes the same formula as one flat Python function (``if`` for the
phases, the held and peak values precomputed, no call per node) and checks that it gives the
expression's values bit for bit.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from typing import Any

import schedalg as sa
from schedalg.algebra import combinators, expression, timewarps
from schedalg.curves import primitives

UNARY = ("clip", "warmup", "per_epoch", "shift", "stretch")
BINARY = ("chain", "add", "sequence")


def _leaf(rng: random.Random) -> sa.Schedule:
    kind = rng.choice(("cosine", "linear", "exponential", "multistep", "constant"))
    if kind == "cosine":
        return sa.cosine(rng.randint(50, 1000), end=round(rng.uniform(0, 0.2), 3))
    if kind == "linear":
        return sa.linear(
            round(rng.uniform(0, 1), 3), round(rng.uniform(0, 1), 3), rng.randint(10, 500)
        )
    if kind == "exponential":
        return sa.exponential(round(rng.uniform(0.99, 1.0), 4))
    if kind == "multistep":
        return sa.multistep(tuple(sorted(rng.sample(range(1, 1000), 3))), 0.5)
    return sa.constant(round(rng.uniform(0.5, 2.0), 3))


def random_expression(seed: int, depth: int = 8) -> sa.Schedule:
    rng = random.Random(seed)

    def build(d: int) -> sa.Schedule:
        if d == 0:
            return _leaf(rng)
        kind = rng.choice(UNARY + BINARY)
        deep = build(d - 1)
        if kind in BINARY:
            other = build(rng.randint(0, d - 1))
            pair = (deep, other) if rng.random() < 0.5 else (other, deep)
            if kind == "chain":
                return pair[0] * pair[1]
            if kind == "add":
                return pair[0] + pair[1]
            return sa.sequence(*pair, at=[rng.randint(10, 500)])
        if kind == "clip":
            begin = rng.randint(0, 300)
            return sa.clip(deep, begin, begin + rng.randint(50, 600))
        if kind == "warmup":
            return sa.warmup(deep, rng.randint(5, 100), start=round(rng.uniform(0, 0.5), 3))
        if kind == "per_epoch":
            return sa.per_epoch(deep, rng.randint(2, 20))
        if kind == "shift":
            return sa.shift(deep, rng.randint(1, 100))
        return sa.stretch(deep, rng.randint(2, 4))

    return build(depth)


class Source:
    """The lines of a written function, its fresh names and the constants bound to them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {}
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, value: Any, prefix: str = "k") -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name


class _Writer(Source):
    def emit(self, node: sa.Schedule, x: str, out: str, pad: str) -> None:
        """Code that assigns ``node`` at step ``x`` to ``out``."""
        write = self.lines.append
        if isinstance(node, expression.constant):
            write(f"{pad}{out} = {node.value!r}")
        elif isinstance(node, primitives.cosine):
            u = self.name("u")
            write(f"{pad}{u} = {node.steps} if {x} > {node.steps} else {x}")
            e = node.end
            write(f"{pad}{out} = {e!r} + {1.0 - e!r} * (1.0 + cos(pi * {u} / {node.steps})) / 2")
        elif isinstance(node, primitives.linear):
            u = self.name("u")
            write(f"{pad}{u} = {x} if {x} < {node.steps} else {float(node.steps)!r}")
            slope = node.end - node.start
            write(f"{pad}{out} = {node.start!r} + {slope!r} * {u} / {node.steps}")
        elif isinstance(node, primitives.exponential):
            write(f"{pad}{out} = {node.gamma!r} ** {x}")
        elif isinstance(node, primitives.multistep):
            ms = self.constant(node.milestones)
            write(f"{pad}{out} = {node.gamma!r} ** bisect_right({ms}, {x})")
        else:
            self._combinator(node, x, out, pad)

    def _combinator(self, node: sa.Schedule, x: str, out: str, pad: str) -> None:
        write, inner = self.lines.append, pad + "    "
        if isinstance(node, (expression.chain, expression.add)):
            parts = node.factors if isinstance(node, expression.chain) else node.terms
            names = [self.name("v") for _ in parts]
            for part, name in zip(parts, names):
                self.emit(part, x, name, pad)
            op = " * " if isinstance(node, expression.chain) else " + "
            write(f"{pad}{out} = {op.join(names)}")
        elif isinstance(node, combinators.sequence):
            (m,) = node.at
            write(f"{pad}if {x} < {m}:")
            self.emit(node.pieces[0], x, out, inner)
            write(f"{pad}else:")
            self.emit(node.pieces[1], f"({x} - {m})", out, inner)
        elif isinstance(node, combinators.clip):
            write(f"{pad}if {x} < {node.begin}:")
            write(f"{inner}{out} = 1.0")
            write(f"{pad}elif {x} < {node.end}:")
            self.emit(node.schedule, f"({x} - {node.begin})", out, inner)
            write(f"{pad}else:")
            write(f"{inner}{out} = {node.schedule(node.end - 1 - node.begin)!r}")
        elif isinstance(node, combinators.warmup):
            peak, a = node.schedule(0), node.start
            write(f"{pad}if {x} < {node.steps}:")
            ramp = f"({a!r} + {1.0 - a!r} * {x} / {node.steps})"
            write(f"{inner}{out} = {ramp} * {peak!r}")
            write(f"{pad}else:")
            self.emit(node.schedule, f"({x} - {node.steps})", out, inner)
        else:
            step = self.name("x")
            if isinstance(node, combinators.per_epoch):
                write(f"{pad}{step} = {x} // {node.epoch_length}")
            elif isinstance(node, timewarps.shift):
                write(f"{pad}{step} = {x} + {node.offset}")
            elif isinstance(node, timewarps.stretch):
                write(f"{pad}{step} = {x} / {node.factor!r}")
            else:
                raise TypeError(f"no closure for {type(node).__name__}")
            self.emit(node.schedule, step, out, pad)


def closure(schedule: sa.Schedule, check_steps: range) -> Callable[[int], float]:
    """The hand-written closure of ``schedule``'s formula, checked equal on ``check_steps``."""
    writer = _Writer()
    writer.emit(schedule, "t", "result", "    ")
    source = "def value(t):\n" + "\n".join(writer.lines) + "\n    return result\n"
    namespace: dict[str, Any] = {
        "cos": math.cos,
        "pi": math.pi,
        "bisect_right": bisect.bisect_right,
    }
    namespace.update(writer.constants)
    exec(compile(source, "<closure>", "exec"), namespace)
    function: Callable[[int], float] = namespace["value"]
    for t in check_steps:
        if function(t) != schedule(t):
            raise AssertionError(f"the closure of {schedule!r} differs at step {t}")
    return function


def _ratio(
    schedule: sa.Schedule, function: Callable[[int], float], samples: int
) -> tuple[float, float]:
    """Median seconds per call of ``schedule`` and ``function``, interleaved in samples of 50
    steps (short samples: a preempted one is an outlier the median drops)."""
    import gc
    import statistics
    import time

    steps = list(range(0, 3000, 3))
    chunks = [steps[i : i + 50] for i in range(0, len(steps), 50)]
    ours, theirs = [], []
    gc.disable()
    try:
        for i in range(samples):
            chunk = chunks[i % len(chunks)]
            start = time.perf_counter()
            for t in chunk:
                schedule(t)
            middle = time.perf_counter()
            for t in chunk:
                function(t)
            ours.append(middle - start)
            theirs.append(time.perf_counter() - middle)
    finally:
        gc.enable()
    return statistics.median(ours) / 50, statistics.median(theirs) / 50


def rows(row: Any, quick: bool, seeds: int = 8) -> list[Any]:
    """``s(t)`` of depth-8 random expressions against their closures."""
    import statistics

    from benchmarks.timing import verdict

    ratios, ours_all = [], []
    for seed in range(seeds):
        schedule = random_expression(seed)
        a, b = _ratio(schedule, closure(schedule, range(0, 3000, 7)), 100 if quick else 600)
        ratios.append(a / b)
        ours_all.append(a)
    worst = max(ratios)
    return [
        row(
            "#4 scalar s(t)",
            f"depth-8 random expressions ({seeds}): median ratio",
            f"{statistics.median(ours_all) * 1e6:9.3f} us",
            f"{statistics.median(ratios):.2f}x the closure",
        ),
        row(
            "#4 scalar s(t)",
            "depth-8 random expressions: the worst ratio",
            "",
            f"{worst:.2f}x the closure",
            "<= 3x",
            verdict(worst <= 3),
        ),
    ]
