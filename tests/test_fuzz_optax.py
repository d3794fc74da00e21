"""Differential fuzzing of ``schedalg.optax`` against optax itself (issue 23).

Random arguments for every optax schedule factory ``schedalg.optax`` ports (the 14 of optax
0.2.8, ``join_schedules`` of random factories included), around the edges optax gives meaning
to: non-positive ``transition_steps``, negative ``transition_begin``, a boundary at 0, a zero
``decay_rate``, rates above 1 with an ``end_value`` bound, a warm-up as long as the decay,
``join_schedules`` boundaries that hide an earlier schedule. optax is evaluated one count at a
time (as a training loop calls it; XLA's vectorised ``pow`` rounds differently from its scalar
one), eagerly, on the steps near the start, around every boundary and at random steps further.

- float64 (``jax.enable_x64(True)``, a context local to the comparison that restores the
  setting): equal to the NumPy values **bit for bit**, docs/importers.md's claim, whole and
  fractional ``power``/``exponent`` included (an int is JAX's ``integer_pow``, products in its
  order; a float is ``pow``).
- float32 (JAX's default): within docs/jax.md's float32 bound, 4e-6 relative, plus 16 float32
  ulps of the peak, plus the rounding of optax's float32 clock ``q = t / length`` (half an ulp
  of ``q``, turned by a cosine into up to ``pi / 2`` times the peak per unit of ``q``, by
  ``rate ** q`` into ``|log rate|`` times the value); values beyond float32's range (an
  ``exponential_decay`` growing past 3.4e38, where optax's float32 gives inf) are not compared.

A factory optax refuses must be refused, and schedalg may refuse nothing optax runs among the
drawn arguments (``REFUSALS`` is empty). The examples are fixed (``derandomize``): the
``ci`` and ``dev`` profiles run ``SCALE`` times their ``max_examples``,
``HYPOTHESIS_PROFILE=thorough`` about 33 times more.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")

import schedalg.optax as so  # noqa: E402
from schedalg import from_dict, parse, to_dict  # noqa: E402

EPS = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
SCALE = 2  # examples per test: this many times the profile's max_examples
REFUSALS: tuple[str, ...] = ()  # what schedalg may refuse that optax runs: nothing drawn

value = st.sampled_from([0.0, 1.0, 0.1, 1e-3, 2.5, -0.3])
count = st.one_of(st.integers(1, 300), st.integers(-3, 0))
begin = st.one_of(st.integers(0, 60), st.just(-5))
exponent = st.sampled_from([1.0, 1, 2, 3, 1.5, 4, 7, 2.0, 3.0, 0.5, 0])
Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def _scales(draw: Any) -> dict[int, float]:
    keys = draw(st.lists(st.integers(0, 300), max_size=4, unique=True))
    scales = st.sampled_from([0.5, 2.0, 0.1, 1.0, 0.0, 3.0])
    return {k: draw(scales) for k in keys}


@st.composite
def calls(draw: Any, joinable: bool = True) -> Call:
    """One factory and its arguments."""
    names = [
        "constant_schedule",
        "polynomial_schedule",
        "linear_schedule",
        "warmup_constant_schedule",
        "piecewise_constant_schedule",
        "piecewise_interpolate_schedule",
        "exponential_decay",
        "cosine_decay_schedule",
        "warmup_cosine_decay_schedule",
        "warmup_exponential_decay_schedule",
        "sgdr_schedule",
        "linear_onecycle_schedule",
        "cosine_onecycle_schedule",
    ] + (["join_schedules"] if joinable else [])
    name = draw(st.sampled_from(names))
    if name == "constant_schedule":
        return name, (draw(value),), {}
    if name == "polynomial_schedule":
        power = draw(st.sampled_from([1.0, 2.0, 0.5, 0.7, 0.0, 3, 4, 5, 2, 1, 0, 3.0]))
        return (
            name,
            (draw(value), draw(value), power, draw(count)),
            {"transition_begin": draw(begin)},
        )
    if name == "linear_schedule":
        return name, (draw(value), draw(value), draw(count)), {"transition_begin": draw(begin)}
    if name == "warmup_constant_schedule":
        return name, (draw(value), draw(value), draw(count)), {}
    if name == "piecewise_constant_schedule":
        return name, (draw(value), _scales(draw)), {}
    if name == "piecewise_interpolate_schedule":
        kind = draw(st.sampled_from(["linear", "cosine"]))
        return name, (kind, draw(value), _scales(draw)), {}
    if name in ("exponential_decay", "warmup_exponential_decay_schedule"):
        rate = draw(st.sampled_from([0.5, 0.9, 0.1, 1.5, 1.0, 0.0]))
        kwargs = {
            "transition_begin": draw(begin),
            "staircase": draw(st.booleans()),
            "end_value": draw(st.none() | st.sampled_from([0.01, 0.5, 2.0])),
        }
        steps = draw(count)
        if name == "exponential_decay":
            return name, (draw(value), steps, rate), kwargs
        return name, (draw(value), draw(value), draw(st.integers(0, 50)), steps, rate), kwargs
    if name == "cosine_decay_schedule":
        alpha = draw(st.sampled_from([0.0, 0.1, -0.5]))
        return name, (draw(value), draw(st.integers(1, 300)), alpha, draw(exponent)), {}
    if name == "warmup_cosine_decay_schedule":
        warm = draw(st.integers(0, 50))
        decay = warm + draw(st.integers(1, 250))
        return name, (draw(value), draw(value), warm, decay, draw(value), draw(exponent)), {}
    if name == "sgdr_schedule":
        runs = []
        for _ in range(draw(st.integers(1, 3))):
            warm = draw(st.integers(0, 30))
            runs.append(
                {
                    "init_value": draw(value),
                    "peak_value": draw(value),
                    "warmup_steps": warm,
                    "decay_steps": warm + draw(st.integers(1, 120)),
                    "end_value": draw(value),
                }
            )
        return name, (runs,), {}
    if name in ("linear_onecycle_schedule", "cosine_onecycle_schedule"):
        steps = draw(st.integers(1, 300))
        pct = draw(st.sampled_from([0.3, 0.0, 0.25, 0.5]))
        args: tuple[Any, ...] = (steps, draw(st.sampled_from([0.1, 1000.0, 3e-3])), pct)
        if name == "linear_onecycle_schedule":
            args += (draw(st.sampled_from([0.85, 0.35, 0.9])),)
        return name, (*args, draw(st.sampled_from([25.0, 10.0])), 1e4), {}
    pieces = draw(st.lists(calls(joinable=False), min_size=1, max_size=3))
    bounds = draw(st.lists(st.integers(0, 150), min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    return name, (pieces, bounds), {}


def _build(module: Any, call: Call) -> Any:
    name, args, kwargs = call
    if name == "join_schedules":
        pieces, bounds = args
        return module.join_schedules([_build(module, p) for p in pieces], bounds)
    return getattr(module, name)(*args, **kwargs)


def _boundaries(call: Call) -> set[int]:
    """The steps where the call's curve changes its formula (probed around)."""
    name, args, kwargs = call
    points: set[int] = set()
    for a in [*args, *kwargs.values()]:
        if isinstance(a, bool):
            continue
        if isinstance(a, int):
            points.add(a)
        if isinstance(a, dict):
            points |= {k for k in a if isinstance(k, int)}
    if name == "sgdr_schedule":
        total = 0
        for run in args[0]:
            points |= {total + run["warmup_steps"], total + run["decay_steps"]}
            total += run["decay_steps"]
    if name == "join_schedules":
        for piece, at in zip(args[0], [0, *args[1]]):
            points |= {at + b for b in _boundaries(piece)} | {at}
    if name in ("linear_onecycle_schedule", "cosine_onecycle_schedule"):
        points |= {int(p * args[0]) for p in args[2:4] if isinstance(p, float) and p <= 1}
    if "transition_begin" in kwargs and name != "join_schedules":
        steps = args[1] if name == "exponential_decay" else args[3] if len(args) > 3 else 0
        points |= {kwargs["transition_begin"] + k * int(steps) for k in range(1, 4)}
    return {p for p in points if 0 <= p < 2000}


def _steps(call: Call, draw_more: list[int]) -> list[int]:
    near = {p + d for p in _boundaries(call) for d in (-1, 0, 1)}
    return sorted({*range(25), *near, *draw_more} - {-1})


def _optax_values(call: Call, steps: list[int], x64: bool) -> np.ndarray:
    with jax.enable_x64(x64):
        fn = _build(optax, call)
        return np.array([float(fn(jnp.asarray(t))) for t in steps])


def _shortest(call: Call) -> float:
    name, args, _ = call
    if name == "join_schedules":
        return min(_shortest(p) for p in args[0])
    counts = [a for a in args if isinstance(a, int) and not isinstance(a, bool) and a > 0]
    return float(min(counts, default=1))


def _float32_bound(theirs: np.ndarray, steps: list[int], call: Call) -> np.ndarray:
    """docs/jax.md's float32 bound, with the rounding of optax's float32 clock; infinite where
    the value is beyond float32's range (optax's float32 overflows there, as it must)."""
    inside = np.abs(theirs) <= np.finfo(np.float32).max
    peak = float(np.max(np.abs(theirs[inside]), initial=0.0))
    q = np.array(steps, dtype=np.float64) / _shortest(call)
    rates = [a for a in call[1] if isinstance(a, float) and a > 0 and call[0].endswith("decay")]
    slope = max([math.pi / 2, *(abs(math.log(r)) for r in rates)])
    limit = 4e-6 * np.abs(theirs) + 16 * EPS32 * peak + slope * EPS32 * q * peak
    return np.where(inside, limit, np.inf)


@settings(max_examples=SCALE * settings().max_examples, derandomize=True)
@given(calls(), st.lists(st.integers(25, 1500), max_size=20))
@example(("polynomial_schedule", (1.0, 0.1, 0.7, 300), {"transition_begin": -5}), [299, 301])
# found by this fuzzer: an int power is JAX's integer_pow (x * (x * x)), not pow: an ulp apart
@example(("polynomial_schedule", (1.0, 2.5, 3, 287), {"transition_begin": -5}), [219, 182])
@example(("cosine_decay_schedule", (0.3, 100, 0.1, 5), {}), [])
# found by this fuzzer: before transition_begin optax holds (init - end) * 1 + end, not init
@example(("linear_schedule", (0.1, 1.0, 250), {"transition_begin": 27}), [])
# float32 overflows where float64 does not (-0.3 * 1.5 ** 932): beyond float32, not compared
@example(("exponential_decay", (-0.3, 1, 1.5), {"transition_begin": -5, "staircase": True}), [932])
# a fractional exponent, refused before: optax's pow
@example(("cosine_decay_schedule", (0.3, 100, 0.1, 1.5), {}), [])
@example(("exponential_decay", (0.1, 100, 1.5), {"end_value": 2.0, "staircase": True}), [900])
@example(("warmup_cosine_decay_schedule", (0.0, 1.0, 50, 51, 0.0, 2), {}), [])
@example(
    (
        "join_schedules",
        (
            [
                ("constant_schedule", (1.0,), {}),
                ("linear_schedule", (1.0, 0.0, 10), {}),
                ("constant_schedule", (3.0,), {}),
            ],
            [10, 5],
        ),
        {},
    ),
    [],
)
def test_random_optax_schedules_match_optax(call: Call, more: list[int]) -> None:
    note(repr(call))
    try:
        ours = _build(so, call)
    except (TypeError, ValueError) as error:
        message = str(error)
        note(message)
        try:
            _build(optax, call)
        except Exception:  # optax refuses too
            event("refused by both")
            return
        assert "\n" not in message and any(r in message for r in REFUSALS), message
        event(f"refused: {message.split(':')[0]}")
        return
    assert parse(repr(ours)) == ours
    assert from_dict(to_dict(ours)) == ours
    steps = _steps(call, more)
    x64 = jax.config.jax_enable_x64
    expected = _optax_values(call, steps, x64=True)
    assert jax.config.jax_enable_x64 == x64  # the setting is the test's only
    grid = np.array(steps, dtype=np.float64)
    got = [
        np.asarray(ours(grid)),
        np.array([ours(t) for t in steps]),
        ours.curve(steps[-1] + 1)[steps],
    ]
    for values in got:
        np.testing.assert_array_equal(values, expected)
    single = _optax_values(call, steps, x64=False)
    limit = _float32_bound(expected, steps, call)
    bad = np.flatnonzero(~((np.abs(got[0] - single) <= limit) | np.isinf(limit)))
    assert bad.size == 0, ("float32", [steps[i] for i in bad[:5]], got[0][bad[:5]], single[bad[:5]])
    event(f"read: {call[0]}")


def test_the_comparison_can_fail() -> None:
    """One step late misses both bounds (the comparisons are not vacuous)."""
    call: Call = ("cosine_decay_schedule", (0.3, 100, 0.0, 1.0), {})
    steps = list(range(120))
    late = np.array([_build(so, call)(max(t - 1, 0)) for t in steps])
    with pytest.raises(AssertionError):
        np.testing.assert_array_equal(late, _optax_values(call, steps, x64=True))
    single = _optax_values(call, steps, x64=False)
    assert np.any(np.abs(late - single) > _float32_bound(single, steps, call))
