"""Hypothesis strategies for schedules: every node of the registry, and random expressions built
from them. Later test modules reuse ``expressions()``.

Each registered library node is drawn from its declaration: every parameter from the
``Domain`` its validator declares (``schedalg.core.validators``), so a new node joins the
random expressions with no edit here. What a declaration cannot say is written below, each with
its reason: parameters drawn by hand (``DRAWN``) and nodes left out (``EXCLUDED``);
``tests/test_worked_primitive.py`` checks that every library node is drawn or left out.

Parameters stay in ranges where values are finite and well scaled, so that tests comparing two
evaluation paths measure rounding, not overflow.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from hypothesis import reject
from hypothesis import strategies as st

import schedalg as sa
from schedalg import Schedule
from schedalg.core.node import declared, parameters, registered
from schedalg.core.validators import Domain, domain_of
from schedalg.curves.integers import _Integral

Strategy = st.SearchStrategy

finite = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)

# -- ranges, by what a validator declares -------------------------------------------------------
# Integers stay within SPAN of their minimum: step counts, offsets and boundaries of at most 300,
# which the float32 tolerance of tests/test_jax.py counts on. Lengths are integers or reals in
# [1, SPAN]: a length below 1 is a clock running faster, steeper as numbers above 1 are.
SPAN = 300
# Numbers: in [0, 1] when unbounded, as multipliers are (a steeper curve read on a computed
# clock, warp's, turns the clock's rounding into more than the float64 tolerance of
# tests/test_jax.py); one unit above a lower bound (a factor in (0, 1]: gamma ** t stays finite
# at any step), MARGIN above a strict one; magnitudes below TINY are drawn as 0 (a warmup from
# 1e-300 is a different formula in float32, and its rounding, amplified by 1 / start, is not
# what the tests compare).
NUMBERS = (0.0, 1.0)
MARGIN = 0.05
TINY = 1e-3
# Draws of a node's scalar parameters before giving the example up: checks across parameters
# (one_cycle's pct_start * total != 1, batch_ramp's increments) refuse some combinations.
TRIES = 20


def half_life(t: Any) -> Any:
    """A vectorisable module-level function (works on floats, NumPy, torch and JAX)."""
    return 0.5 ** (t / 100)


def stepwise(t: Any) -> float:
    """A scalar-only function: arrays make ``if`` raise, so evaluation falls back to mapping."""
    if t < 50:
        return 1.0
    return 0.25


def gentle_factor(k: int) -> float:
    return 0.999 if k % 2 else 0.998


def triangle_scale(x: Any) -> Any:
    return 1 / (1 + x)


@st.composite
def piecewise_points(draw: st.DrawFn) -> list[tuple[int, float]]:
    gaps = draw(st.lists(st.integers(1, 200), min_size=1, max_size=4))
    steps = [0]
    for gap in gaps:
        steps.append(steps[-1] + gap)
    return [(s, draw(unit)) for s in steps]


# -- what a declaration cannot say ------------------------------------------------------------


class Drawn(NamedTuple):
    """A parameter drawn by hand: why, and its strategy given the children's."""

    why: str
    strategy: Callable[[Strategy[Schedule]], Strategy[Any]]
    children: bool = False  # it holds schedules: the node is a combinator


def _two(children: Strategy[Schedule]) -> Strategy[tuple[Schedule, Schedule]]:
    return st.tuples(children, children)


def _bounded(low: float, high: float) -> Callable[[Schedule], Schedule]:
    return lambda s: sa.clamp(s, low, high)


DRAWN: dict[str, Drawn] = {
    # Validators written in a node's module without a Domain: drawn as their messages say.
    "clip.end": Drawn(
        "an integer or inf (combinators._interval_end)",
        lambda _: st.just(math.inf) | st.integers(1, 2 * SPAN),
    ),
    "cyclic.down": Drawn(
        "None or a non-negative length (cycles._down)", lambda _: st.none() | st.integers(0, SPAN)
    ),
    "piecewise.points": Drawn(
        "(step, value) pairs from step 0 (phases._points)", lambda _: piecewise_points()
    ),
    "chain.factors": Drawn(
        "schedules or numbers (expression.operands)",
        lambda c: st.tuples(c | finite, c),
        children=True,
    ),
    "add.terms": Drawn("schedules (expression.operands)", _two, children=True),
    "minimum.operands": Drawn("schedules (expression.operands)", _two, children=True),
    "maximum.operands": Drawn("schedules (expression.operands)", _two, children=True),
    # Values no validator refuses that would make a pole, a NaN or an invalid step: the tests
    # compare evaluation paths, which is about rounding.
    "divide.right": Drawn(
        "denominators within [1.5, 3.5]",
        lambda c: c.map(lambda b: _bounded(-1.0, 1.0)(b) + 2.5),
        children=True,
    ),
    "power.base": Drawn(
        "a positive base: no NaN from a fractional exponent",
        lambda c: c.map(_bounded(0.1, 2.0)) | st.just(sa.constant(2.0)),
        children=True,
    ),
    "power.exponent": Drawn(
        "a bounded exponent: no overflow",
        lambda c: st.floats(0.5, 3.0).map(sa.constant) | c.map(_bounded(-1.0, 1.0)),
        children=True,
    ),
    "warp.clock": Drawn(
        "a clock within [0, 300]: every child is read at valid steps",
        lambda c: c.map(lambda b: 150 * (_bounded(-1.0, 1.0)(b) + 1.0)),
        children=True,
    ),
    # Declarations that allow more than the tests' tolerances do.
    "stretch.factor": Drawn(
        "at most 4x faster or slower, which the float32 tolerance of tests/test_jax.py counts on",
        lambda _: st.integers(1, 5) | st.floats(0.25, 4.0),
    ),
    "one_cycle.div": Drawn(
        "a divisor of the peak, above 1 as torch's is (below 1 the curve climbs to 1 / div "
        "times the peak within a few steps: steeper than the tolerances allow on a warped clock)",
        lambda _: st.floats(1.5, 50.0),
    ),
    "one_cycle.final_div": Drawn(
        "a divisor of the start, above 1 as torch's is", lambda _: st.floats(1.5, 1e4)
    ),
}

EXCLUDED: dict[str, str] = {
    "from_fn": "takes a Python function: drawn with module-level ones by the extras below",
    "cumulative": "takes a Python function: drawn with a module-level one by the extras below",
    "plateau": "driven by reported metrics: evaluated unbound, it raises",
    "bound_plateau": "made by bind() from a plateau and a reported value, not by its arguments",
    "noise": "draws timm's noise from torch.Generator: needs torch, cannot run under jax.jit",
    "affine_steps": "its every/begins/ends go one for one with its ratios, which no domain says",
}
# Left out by what they are (curves.integers): ints and int64 curves, where the property tests
# compare float64 paths; and rounding turns an ulp between two paths into a whole unit.
INTEGER_VALUED = "integer-valued (a subclass of curves.integers._Integral)"


def excluded(name: str, cls: type) -> str | None:
    """Why the random expressions leave the node out, or ``None``."""
    return EXCLUDED.get(name) or (INTEGER_VALUED if issubclass(cls, _Integral) else None)


# -- strategies from declarations ---------------------------------------------------------------


def library() -> dict[str, type]:
    """The library's registered nodes by name, sorted (a node a test registers from its own
    module is not the library's, and is not drawn)."""
    found = registered()
    return {n: found[n] for n in sorted(found) if found[n].__module__.startswith("schedalg.")}


def _number(domain: Domain) -> Strategy[float]:
    bound = max((b for b in (domain.at_least, domain.above) if b is not None), default=None)
    high = domain.at_most
    if bound is None:
        low, high = NUMBERS if high is None else (high - 1.0, high)
    else:
        low = bound + MARGIN if bound == domain.above else bound
        if high is None:
            high = bound + 1.0
        elif max(low, NUMBERS[0]) <= min(high, NUMBERS[1]):
            low, high = max(low, NUMBERS[0]), min(high, NUMBERS[1])
    zero = low <= 0.0 <= high
    return st.floats(low, high).map(lambda x: 0.0 if zero and abs(x) < TINY else x)


def _integers(domain: Domain) -> Strategy[list[int]]:
    low = domain.minimum or 0
    return st.lists(
        st.integers(low, low + 2 * SPAN),
        min_size=int(domain.nonempty),
        max_size=4,
        unique=domain.strictly_increasing,
    ).map(sorted)


def _optional(domain: Domain, children: Strategy[Schedule]) -> Strategy[Any] | None:
    inner = None if domain.inner is None else _from_domain(domain.inner, children)
    return None if inner is None else st.none() | inner


def _from_domain(domain: Domain, children: Strategy[Schedule]) -> Strategy[Any] | None:
    """A value ``domain`` accepts, or ``None`` for a kind no strategy can draw (a function)."""
    kinds: dict[str, Callable[[], Strategy[Any]]] = {
        "integer": lambda: st.integers(domain.minimum or 0, (domain.minimum or 0) + SPAN),
        "number": lambda: _number(domain),
        "length": lambda: st.integers(1, SPAN) | st.floats(1.0, float(SPAN)),
        "flag": st.booleans,
        "choice": lambda: st.sampled_from(domain.options),
        "integers": lambda: _integers(domain),
        "schedule": lambda: children,
        "schedules": lambda: st.lists(children, min_size=2, max_size=3),
    }
    if domain.kind == "optional":
        return _optional(domain, children)
    make = kinds.get(domain.kind)
    return None if make is None else make()


def _holds_schedules(name: str, field: dataclasses.Field[Any]) -> bool:
    drawn = DRAWN.get(f"{name}.{field.name}")
    if drawn is not None:
        return drawn.children
    domain = domain_of(declared(field).validator)
    return domain is not None and domain.kind in ("schedule", "schedules")


def is_combinator(cls: type) -> bool:
    """Whether the node holds schedules (drawn above children) rather than being a leaf."""
    return any(_holds_schedules(cls.__name__, f) for f in parameters(cls))


def node_strategy(cls: type, children: Strategy[Schedule]) -> Strategy[Schedule] | None:
    """``cls`` with every parameter drawn from its declaration (or ``DRAWN``), a defaulted one
    also at its default; ``None`` when a required parameter can be drawn neither way."""
    held: dict[str, Strategy[Any]] = {}  # children: drawn once per example
    retried: dict[str, Strategy[Any]] = {}  # the rest: drawn again when a check refuses them
    for field in parameters(cls):
        drawn = DRAWN.get(f"{cls.__name__}.{field.name}")
        domain = domain_of(declared(field).validator)
        if drawn is not None:
            strategy = drawn.strategy(children)
        else:
            strategy = None if domain is None else _from_domain(domain, children)
        if strategy is None:
            if field.default is dataclasses.MISSING:
                return None
            continue  # not described: left at its default
        if field.default is not dataclasses.MISSING:
            strategy = st.just(field.default) | strategy
        (held if _holds_schedules(cls.__name__, field) else retried)[field.name] = strategy
    variadic = next((f.name for f in parameters(cls) if declared(f).variadic), None)

    # A closure, not arguments: hypothesis prints a strategy with its arguments, and those of a
    # deep expression would nest every level's strategies (megabytes of repr).
    def built(draw: st.DrawFn) -> Schedule:
        children = {name: draw(strategy) for name, strategy in held.items()}
        for _ in range(TRIES):
            values = {**children, **{name: draw(s) for name, s in retried.items()}}
            args = tuple(values.pop(variadic)) if variadic else ()
            try:
                return cls(*args, **values)
            except (TypeError, ValueError):
                continue  # a check across parameters refused this combination
        reject()

    built.__name__ = built.__qualname__ = cls.__name__  # printed as cosine(), warmup(), ...
    return st.composite(built)()


def drawn_nodes(*, combinators: bool) -> dict[str, type]:
    """The library nodes the random expressions draw, leaves or combinators."""
    return {
        name: cls
        for name, cls in library().items()
        if excluded(name, cls) is None
        and is_combinator(cls) == combinators
        and node_strategy(cls, st.just(sa.constant(1.0))) is not None
    }


# -- random expressions ---------------------------------------------------------------------


def _function_nodes(traceable: bool) -> list[Strategy[Schedule]]:
    """The Python-function nodes, with module-level functions (a repr names them)."""
    options = [
        st.builds(sa.from_fn, st.just(half_life)),
        st.builds(
            sa.cyclic,
            unit,
            unit,
            st.integers(1, 400),
            scale_fn=st.just(triangle_scale),
            scale_mode=st.sampled_from(["cycle", "iterations"]),
        ),
    ]
    if not traceable:
        options.append(st.builds(sa.from_fn, st.just(stepwise)))
        options.append(st.builds(sa.cumulative, st.just(gentle_factor)))
    return options


@functools.cache
def _leaves(nodes: tuple[type, ...], serializable: bool, traceable: bool) -> Strategy[Schedule]:
    options: list[Strategy[Schedule]] = []
    for cls in nodes:
        strategy = node_strategy(cls, st.nothing())
        if strategy is not None:
            options.append(strategy)
    if not serializable:
        options.extend(_function_nodes(traceable))
    return st.one_of(options)


def primitives(*, serializable: bool = True, traceable: bool = False) -> Strategy[Schedule]:
    """Every leaf node of the library. ``serializable`` leaves out the Python-function nodes;
    ``traceable`` leaves out the ones that cannot run under ``jax.jit``."""
    leaves = tuple(drawn_nodes(combinators=False).values())
    return _leaves(leaves, serializable, traceable)


def _combine(nodes: tuple[type, ...], children: Strategy[Schedule]) -> Strategy[Schedule]:
    """Every combinator and arithmetic node over ``children``."""
    options = [node_strategy(cls, children) for cls in nodes]
    return st.one_of([s for s in options if s is not None])


@functools.cache
def _at_depth(
    depth: int, nodes: tuple[type, ...], leaves: Strategy[Schedule]
) -> Strategy[Schedule]:
    if depth == 0:
        return leaves
    return _combine(nodes, _at_depth(depth - 1, nodes, leaves))


def expressions(
    min_depth: int = 3, max_depth: int = 3, *, serializable: bool = True, traceable: bool = False
) -> Strategy[Schedule]:
    """Random expressions whose every root-to-leaf path has at least ``min_depth`` combinators
    above the primitives (at most ``max_depth``)."""
    leaves = primitives(serializable=serializable, traceable=traceable)
    nodes = tuple(drawn_nodes(combinators=True).values())
    return st.integers(min_depth, max_depth).flatmap(lambda d: _at_depth(d, nodes, leaves))
