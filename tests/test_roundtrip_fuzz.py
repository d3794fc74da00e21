"""Round trips of random expressions with random constants: ``parse(repr(s))``,
``eval(repr(s))`` and ``from_dict(to_dict(s))`` (through strict JSON) rebuild ``s`` structurally,
every float to the bit, and give its values bit for bit.

The constants are the ones a printer or a reader gets wrong: negative zero, subnormals, the
largest finite floats, tiny and huge exponents, numbers on both sides of ``**``, and arithmetic
nodes holding only numbers (``constant(2.0) ** 3.0``, which Python itself would compute).
"""

from __future__ import annotations

import json
import math
import struct
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import expressions, primitives

import schedalg
from schedalg import Schedule, constant, cosine, elapsed, linear, polynomial
from schedalg.core.node import parameters
from schedalg.forms.text import ParseError, from_dict, parse, to_dict

NAMESPACE = {name: getattr(schedalg, name) for name in schedalg.__all__}

# Floats a printer or a reader gets wrong: signed zeros, subnormals, the extremes, exponents
# that overflow or barely move a value.
EDGES = (
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e-300,
    5e-11,
    -5e-11,
    0.5,
    1.0,
    -1.0,
    2.0,
    -2.0,
    3.0,
    1e6,
    -1e6,
    1e300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
)
numbers = st.sampled_from(EDGES) | st.floats(allow_nan=False, allow_infinity=False)
STEPS = (0, 1, 2, 3, 7, 10, 99, 1000, 10**6)


def bits(value: Any) -> Any:
    """A value with every float replaced by its bits (``-0.0`` is not ``0.0``), nodes by their
    name and fields: equal exactly when the structures are equal float for float."""
    if isinstance(value, Schedule):
        fields = tuple((f.name, bits(getattr(value, f.name))) for f in parameters(value))
        return (type(value).__name__, fields)
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, (tuple, list)):
        return tuple(bits(v) for v in value)
    return value


def outcome(schedule: Schedule, t: Any) -> Any:
    """The value at ``t`` as bits (a NumPy curve as its bytes), or the error it raises."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = schedule(t) if not isinstance(t, tuple) else schedule.curve(*t)
    except (ValueError, TypeError, ArithmeticError) as error:
        return type(error).__name__
    if isinstance(value, np.ndarray):
        return value.tobytes()
    return struct.pack("<d", value)


def assert_same(rebuilt: Schedule, schedule: Schedule) -> None:
    assert bits(rebuilt) == bits(schedule)
    assert rebuilt == schedule
    assert repr(rebuilt) == repr(schedule)
    for t in (*STEPS, 2.5, (0, 64), (10**6, 10**6 + 16)):
        assert outcome(rebuilt, t) == outcome(schedule, t), t


# -- random expressions with random constants ---------------------------------------------


def _signed_zero_parameters() -> st.SearchStrategy[Schedule]:
    """Nodes whose defaulted parameter is given as ``-0.0``: not the default ``0.0``."""
    zero = st.just(-0.0)
    return st.one_of(
        st.builds(cosine, st.integers(1, 50), end=zero),
        st.builds(polynomial, st.integers(1, 50), end=zero),
        st.builds(linear, numbers, numbers, st.integers(1, 50)),
    )


def _leaf(draw: st.DrawFn, signed_defaults: bool) -> Schedule:
    kinds = ["number", "number", "elapsed", "primitive", "combinator"]
    if signed_defaults:
        kinds.append("signed zero")
    kind = draw(st.sampled_from(kinds))
    if kind == "number":
        return constant(draw(numbers))
    if kind == "elapsed":
        return elapsed()
    if kind == "primitive":
        return draw(primitives())
    if kind == "combinator":
        return draw(expressions(1, 1))
    return draw(_signed_zero_parameters())


OPERATORS = ("*", "+", "-", "/", "**", "neg", "clamp")


def _combined(op: str, left: Any, right: Any) -> Schedule:
    if op == "neg":
        return -(left if isinstance(left, Schedule) else constant(left))
    if op == "clamp":
        schedule = left if isinstance(left, Schedule) else constant(left)
        bound = right if not isinstance(right, Schedule) else 0.5
        return schedalg.clamp(schedule, min(bound, -bound), max(bound, -bound))
    if not isinstance(left, Schedule) and not isinstance(right, Schedule):
        left = constant(left)  # two numbers: Python would compute them
    return {
        "*": lambda: left * right,
        "+": lambda: left + right,
        "-": lambda: left - right,
        "/": lambda: left / right,
        "**": lambda: left**right,
    }[op]()


@st.composite
def random_expressions(draw: st.DrawFn, signed_defaults: bool = True, depth: int = 3) -> Schedule:
    """A tree of operators (numbers on either side, or both) over constants and library
    nodes, up to ``depth`` operators deep."""

    def operand(level: int) -> Any:
        if draw(st.booleans()):
            return draw(numbers)  # a plain number, promoted by the operator
        return tree(level)

    def tree(level: int) -> Schedule:
        if level == 0 or draw(st.integers(0, 3)) == 0:
            return _leaf(draw, signed_defaults)
        op = draw(st.sampled_from(OPERATORS))
        return _combined(op, operand(level - 1), operand(level - 1))

    return tree(depth)


@pytest.mark.parametrize("op", ["*", "+", "-", "/", "**"])
def test_every_pair_of_edge_numbers_round_trips(op: str) -> None:
    # Exhaustive over the edges, each side a number, a constant or a schedule.
    sides = [*EDGES, *(constant(x) for x in EDGES), elapsed()]
    for left in sides:
        for right in sides:
            schedule = _combined(op, left, right)
            rebuilt = parse(repr(schedule))
            assert bits(rebuilt) == bits(schedule), repr(schedule)
            assert outcome(rebuilt, 0) == outcome(schedule, 0), repr(schedule)
            assert outcome(rebuilt, 3) == outcome(schedule, 3), repr(schedule)


@given(random_expressions())
def test_parse_of_repr_rebuilds_the_expression_bit_for_bit(schedule: Schedule) -> None:
    text = repr(schedule)
    assert_same(parse(text), schedule)
    # A repr is also the Python expression that rebuilds the schedule (Python folds numbers as
    # parse does).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(eval(text, NAMESPACE), schedule)  # test-only: the library never evals


@given(random_expressions(signed_defaults=False))
def test_data_round_trip_rebuilds_the_expression_bit_for_bit(schedule: Schedule) -> None:
    data = json.loads(json.dumps(to_dict(schedule), allow_nan=False))
    assert_same(from_dict(data), schedule)


# -- the examples of the issue, one each ------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (constant(2.0) ** 2.0, "constant(2.0) ** 2.0"),
        (constant(2.0) ** 1e6, "constant(2.0) ** 1000000.0"),
        (constant(3.0) ** 5e-11 * cosine(14), "constant(3.0) ** 5e-11 * cosine(14)"),
        (constant(-0.0) ** elapsed(), "(-0.0) ** elapsed()"),
        (constant(-2.0) ** constant(-0.0), "constant(-2.0) ** -0.0"),
        (2.0 ** (constant(2.0) ** 3.0), "2.0 ** constant(2.0) ** 3.0"),
        (cosine(10, end=-0.0), "cosine(10, end=-0.0)"),
    ],
)
def test_numbers_beside_numbers_print_as_schedules(schedule: Schedule, text: str) -> None:
    assert repr(schedule) == text
    assert_same(parse(text), schedule)


def test_a_negative_zero_base_keeps_its_value_at_step_0() -> None:
    s = constant(-0.0) ** elapsed()
    assert parse(repr(s))(0) == 1.0  # not -(0.0 ** 0) = -1.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("warmup(cosine(10), steps=3, steps=4)", "warmup(): keyword argument 'steps' repeated"),
        ("cosine(10, end=0.1, end=0.1)", "cosine(): keyword argument 'end' repeated"),
        ("2.0 ** 1e6 * cosine(3)", "2.0 ** 1000000.0 overflows"),
        ("2.0 ** 2.0", "text must describe a schedule, got 4.0"),
    ],
)
def test_parse_refuses_in_one_line_naming_the_reason(text: str, words: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message


def test_bits_tell_signed_zeros_apart() -> None:
    # The comparison the fuzzers rely on can fail: -0.0 == 0.0, but not bit for bit.
    assert bits(constant(-0.0)) != bits(constant(0.0))
    assert constant(-0.0) == constant(0.0)
    assert outcome(constant(-0.0), 0) != outcome(constant(0.0), 0)
    assert not math.isnan(constant(5e-324)(0))


@pytest.mark.xfail(
    strict=True,
    reason="schedalg/forms/data.py leaves a parameter equal to its default out, and -0.0 == 0.0 "
    "(its _same); the repr keeps it (core/printing.py). Not this area's file: reported.",
)
def test_data_keeps_a_negative_zero_parameter() -> None:
    s = cosine(10, end=-0.0)
    assert bits(from_dict(to_dict(s))) == bits(s)
