"""Hypothesis strategies for schedules: every primitive, and random expressions built from every
combinator. Later test modules reuse ``expressions()``.

Parameters stay in ranges where values are finite and well scaled, so that tests comparing two
evaluation paths measure rounding, not overflow.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import schedalg as sa
from schedalg import Schedule

finite = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
positive_factor = st.floats(min_value=0.05, max_value=1.0, allow_nan=False)
lengths = st.integers(min_value=1, max_value=400)


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


@st.composite
def one_cycles(draw: st.DrawFn) -> Schedule:
    total = draw(st.integers(2, 500))
    pct = draw(st.floats(0.05, 0.95))
    if float(pct * total) - 1 == 0:
        pct = 0.5 if float(0.5 * total) - 1 != 0 else 0.3
    three = draw(st.booleans())
    anneal = draw(st.sampled_from(["cos", "linear"]))
    if draw(st.booleans()):
        return sa.one_cycle(
            total,
            pct_start=pct,
            div=draw(st.floats(1.5, 50)),
            final_div=draw(st.floats(1.5, 1e4)),
            anneal=anneal,
            three_phase=three,
        )
    return sa.one_cycle_momentum(total, pct_start=pct, anneal=anneal, three_phase=three)


def primitives(
    *, serializable: bool = True, traceable: bool = False
) -> st.SearchStrategy[Schedule]:
    """Every primitive. ``serializable`` leaves out the Python-function nodes; ``traceable``
    leaves out the ones that cannot run under ``jax.jit``."""
    options: list[st.SearchStrategy[Schedule]] = [
        st.builds(sa.constant, finite),
        st.builds(sa.linear, unit, unit, lengths),
        st.builds(sa.exponential, st.floats(0.9, 1.0)),
        st.builds(sa.step_decay, lengths, positive_factor),
        st.builds(
            sa.multistep,
            st.lists(st.integers(0, 600), min_size=1, max_size=4).map(sorted),
            positive_factor,
        ),
        st.builds(sa.polynomial, lengths, power=st.floats(0.0, 3.0), end=unit),
        st.builds(sa.cosine, lengths, end=unit, periodic=st.booleans()),
        st.builds(sa.cosine_restarts, lengths, mult=st.integers(1, 3), end=unit),
        st.builds(
            sa.cyclic,
            unit,
            unit,
            lengths,
            down=st.none() | st.integers(0, 300),
            mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
            gamma=st.floats(0.99, 1.0),
        ),
        one_cycles(),
        st.builds(sa.inverse_sqrt, lengths),
        st.just(sa.elapsed()),
        st.builds(
            sa.warmup_stable_decay,
            st.integers(0, 200),
            st.integers(0, 200),
            lengths,
            end=unit,
            warmup_shape=st.sampled_from(["linear", "cosine", "1-sqrt"]),
            decay_shape=st.sampled_from(["linear", "cosine", "1-sqrt"]),
        ),
        st.builds(
            sa.piecewise,
            piecewise_points(),
            interpolation=st.sampled_from(["linear", "cosine", "step"]),
        ),
    ]
    if not serializable:
        options.append(st.builds(sa.from_fn, st.just(half_life)))
        options.append(
            st.builds(
                sa.cyclic,
                unit,
                unit,
                lengths,
                scale_fn=st.just(triangle_scale),
                scale_mode=st.sampled_from(["cycle", "iterations"]),
            )
        )
        if not traceable:
            options.append(st.builds(sa.from_fn, st.just(stepwise)))
            options.append(st.builds(sa.cumulative, st.just(gentle_factor)))
    return st.one_of(options)


def _combine(children: st.SearchStrategy[Schedule]) -> st.SearchStrategy[Schedule]:
    """Every combinator and arithmetic node over ``children``."""

    @st.composite
    def sequences(draw: st.DrawFn) -> Schedule:
        pieces = draw(st.lists(children, min_size=2, max_size=3))
        gaps = draw(
            st.lists(st.integers(1, 300), min_size=len(pieces) - 1, max_size=len(pieces) - 1)
        )
        at = [sum(gaps[: i + 1]) for i in range(len(gaps))]
        return sa.sequence(*pieces, at=at)

    @st.composite
    def clips(draw: st.DrawFn) -> Schedule:
        begin = draw(st.integers(0, 300))
        end = draw(st.none() | st.integers(begin + 1, begin + 400))
        return sa.clip(draw(children), begin, sa.inf if end is None else end)

    @st.composite
    def warmups(draw: st.DrawFn) -> Schedule:
        shape = draw(st.sampled_from(["linear", "exponential", "cosine", "constant"]))
        low = 0.001 if shape == "exponential" else 0.0
        return sa.warmup(
            draw(children),
            draw(st.integers(1, 300)),
            start=draw(st.floats(low, 1.0)),
            shape=shape,
            overlay=draw(st.booleans()),
        )

    return st.one_of(
        st.builds(lambda a, b: a * b, children, children),
        st.builds(lambda a, b: a + b, children, children),
        st.builds(lambda a, b: a - b, children, children),
        # Denominators kept within [1.5, 3.5]: the test is about rounding, not poles.
        st.builds(lambda a, b: a / (sa.clamp(b, -1.0, 1.0) + 2.5), children, children),
        st.builds(lambda a, k: k * a, children, finite),
        st.builds(lambda *xs: sa.minimum(*xs), children, children),
        st.builds(lambda *xs: sa.maximum(*xs), children, children),
        st.builds(lambda a: sa.clamp(a, 0.1, 0.9), children),
        sequences(),
        clips(),
        warmups(),
        st.builds(sa.per_epoch, children, st.integers(1, 50), smooth=st.booleans()),
        st.builds(sa.stretch, children, st.integers(1, 5) | st.floats(0.25, 4.0)),
        st.builds(sa.repeat, children, st.integers(1, 300), decay=st.floats(0.5, 1.0)),
        st.builds(sa.shift, children, st.integers(0, 300)),
        # Powers of positive bases and bounded exponents: rounding, not overflow or NaN.
        st.builds(lambda a, p: sa.clamp(a, 0.1, 2.0) ** p, children, st.floats(0.5, 3.0)),
        st.builds(lambda a: 2.0 ** sa.clamp(a, -1.0, 1.0), children),
        # A clock that stays in [0, 300]: every child is read at valid steps.
        st.builds(
            lambda a, b: sa.warp(a, 150 * (sa.clamp(b, -1.0, 1.0) + 1.0)), children, children
        ),
    )


def expressions(
    min_depth: int = 3, max_depth: int = 3, *, serializable: bool = True, traceable: bool = False
) -> st.SearchStrategy[Schedule]:
    """Random expressions whose every root-to-leaf path has at least ``min_depth`` combinators
    above the primitives (at most ``max_depth``)."""
    leaves = primitives(serializable=serializable, traceable=traceable)

    def at_depth(depth: int) -> st.SearchStrategy[Schedule]:
        if depth == 0:
            return leaves
        return _combine(at_depth(depth - 1))

    return st.integers(min_depth, max_depth).flatmap(at_depth)
