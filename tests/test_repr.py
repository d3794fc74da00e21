"""``repr`` prints the expression the user wrote, and ``eval(repr(s)) == s``."""

import pytest
from hypothesis import given
from strategies import expressions, primitives

import schedalg
from schedalg import *  # noqa: F403 - the namespace a repr is evaluated in

NAMESPACE = {name: getattr(schedalg, name) for name in schedalg.__all__}


@given(expressions())
def test_eval_repr_rebuilds_an_equal_schedule(s):
    rebuilt = eval(repr(s), NAMESPACE)  # test-only: the library itself never evals
    assert rebuilt == s
    assert hash(rebuilt) == hash(s)
    assert repr(rebuilt) == repr(s)


@given(primitives())
def test_primitive_reprs_round_trip(s):
    assert eval(repr(s), NAMESPACE) == s


@pytest.mark.parametrize(
    "text",
    [
        "warmup(cosine(900), 100, start=0.001)",
        "cosine(1000)",
        "cosine(1000, end=0.1, periodic=True)",
        "sequence(linear(0.1, 1.0, 5), cosine(95), at=[5])",
        "clip(exponential(0.9), 10, 20)",
        "clip(exponential(0.9), 10)",
        "per_epoch(multistep([30, 60], 0.1), 500)",
        "per_epoch(cosine(90), 500, smooth=True)",
        "0.0003 * cosine(1000)",
        "0.5 * cosine(10) + 0.1",
        "(cosine(10) + 0.1) * 0.5",
        "cosine(10) * (linear(0.0, 1.0, 5) / 2.0)",
        "1.0 - cosine(10)",
        "cosine(10) - (linear(0.0, 1.0, 5) - 0.5)",
        "constant(2.0) * constant(3.0)",
        "minimum(cosine(10), 0.5)",
        "maximum(minimum(cosine(10), 0.9), 0.1)",
        "one_cycle(1000, pct_start=0.25, three_phase=True)",
        "cyclic(0.001, 0.01, 2000, mode='triangular2')",
        "piecewise([(0, 1.0), (100, 0.1)], interpolation='cosine')",
        "warmup_stable_decay(100, 800, 100, end=0.1, decay_shape='1-sqrt')",
        "repeat(cosine(100), 100, decay=0.5)",
        "stretch(cosine(100), 2)",
        "shift(cosine(100), 10)",
        "constant(1.0)",
    ],
)
def test_reprs_read_as_written(text):
    s = eval(text, NAMESPACE)
    assert repr(s) == text
    assert eval(repr(s), NAMESPACE) == s


def test_function_nodes_name_their_function():
    def decay(t):
        return 0.9**t

    assert repr(from_fn(decay)) == "from_fn(test_function_nodes_name_their_function.<locals>.decay)"  # noqa: F405
