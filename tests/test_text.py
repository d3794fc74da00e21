"""Text and data forms: parse(repr(s)) == s, from_dict(to_dict(s)) == s, a stable fingerprint,
and readers that refuse hostile input with their one documented error type."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedalg as sa
from schedalg import register
from schedalg.forms.data import (
    MAX_DEPTH,
    ParseError,
    SerializationError,
    fingerprint,
    from_dict,
    to_dict,
)
from schedalg.forms.text import parse
from tests.strategies import (
    expressions,
    gentle_factor,
    half_life,
    primitives,
    stepwise,
    triangle_scale,
)

# -- round trips --------------------------------------------------------------------------------


@given(primitives() | expressions(1, 3))
def test_parse_inverts_repr(schedule):
    assert parse(repr(schedule)) == schedule
    assert repr(parse(repr(schedule))) == repr(schedule)


@given(primitives() | expressions(1, 3))
def test_dict_round_trip_through_strict_json(schedule):
    data = to_dict(schedule)
    text = json.dumps(data, allow_nan=False)  # strict JSON: inf is spelled {"$float": "inf"}
    assert from_dict(json.loads(text)) == schedule
    assert from_dict(data) == schedule


@given(primitives() | expressions(1, 2))
def test_fingerprint_follows_equality(schedule):
    rebuilt = parse(repr(schedule))
    assert fingerprint(rebuilt) == fingerprint(schedule)
    assert len(fingerprint(schedule)) == 64
    assert fingerprint(schedule * 0.5) != fingerprint(schedule)


def test_examples_round_trip():
    cases = [
        sa.warmup(sa.cosine(900), 100, start=0.001),
        0.5 * sa.cosine(10) + 0.1,
        -sa.cosine(10),
        3 - sa.cosine(5) / 2,
        sa.clip(sa.multistep([30, 80], 0.1), 10, 100),
        sa.cosine(50).clip(0),  # Clip(s, 0) made by the method: kept as a node in dicts
        sa.piecewise([(0, 1.0), (10, 0.5)], interpolation="step"),
        sa.cyclic(0.1, 1.0, 10.5, down=None, mode="exp_range", gamma=0.99),
        sa.per_epoch(sa.cosine(10), 100, smooth=True),
        sa.minimum(sa.cosine(3), 0.5, sa.linear(1.0, 0.0, 7)),
        sa.clamp(sa.cosine(10) - 0.5, 0.0, 1.0),
        sa.stretch(sa.cosine(10), 2.5),
        sa.repeat(sa.cosine(10), 10, decay=0.5),
        sa.shift(sa.cosine(10), 3),
    ]
    for schedule in cases:
        assert from_dict(json.loads(json.dumps(to_dict(schedule)))) == schedule
    for schedule in cases[:5] + cases[6:]:
        assert parse(repr(schedule)) == schedule


def test_dict_format_is_versioned_plain_data():
    data = to_dict(sa.clip(sa.cosine(100, end=0.1), 10))
    assert data == {
        "schedalg": 1,
        "schedule": {
            "type": "clip",
            "schedule": {"type": "cosine", "steps": 100, "end": 0.1},
            "begin": 10,
        },
    }
    assert to_dict(sa.cosine(5).clip(1, sa.inf))["schedule"].get("end") is None
    spelled = {"type": "clip", "schedule": {"type": "cosine", "steps": 5}, "begin": 1}
    spelled["end"] = {"$float": "inf"}
    assert from_dict({"schedalg": 1, "schedule": spelled}) == sa.cosine(5).clip(1)


def test_fingerprint_is_pinned_and_process_independent():
    schedule = sa.warmup(sa.cosine(900, end=0.1), 100, start=0.001)
    expected = fingerprint(schedule)
    # The same in a fresh interpreter with a different hash seed.
    code = (
        "import schedalg as sa; from schedalg.forms.text import fingerprint; "
        "print(fingerprint(sa.warmup(sa.cosine(900, end=0.1), 100, start=0.001)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == expected
    # Pinned: a change here breaks every saved adapter state, so it must be deliberate.
    assert expected == PINNED


PINNED = "75159336bee7bc8688b37f55ecc15f4b73cca49cc3c8ce92d746c731d0cc11e4"


def test_fingerprint_covers_function_nodes_by_name():
    a, b = sa.from_fn(half_life), sa.from_fn(stepwise)
    assert fingerprint(a) == fingerprint(sa.from_fn(half_life))
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(sa.cumulative(gentle_factor)) != fingerprint(a)
    plain = sa.cyclic(0.1, 1.0, 10)
    assert fingerprint(sa.cyclic(0.1, 1.0, 10, scale_fn=triangle_scale)) != fingerprint(plain)
    assert fingerprint(sa.from_fn(lambda t: 1.0)) == fingerprint(sa.from_fn(lambda t: 2.0))


def test_fingerprint_distinguishes_parameters():
    seen = {
        fingerprint(s)
        for s in [
            sa.cosine(100),
            sa.cosine(101),
            sa.cosine(100, end=0.1),
            sa.cosine(100, periodic=True),
            sa.polynomial(100),
            sa.cosine(100) * 0.5,
            sa.cosine(100) + 0.5,
            sa.cosine(100) - 0.5,
            sa.cosine(100) / 0.5,
            sa.clip(sa.cosine(100), 1),
            sa.clip(sa.cosine(100), 1, 50),
        ]
    }
    assert len(seen) == 11


@pytest.mark.parametrize(
    "schedule",
    [
        sa.from_fn(half_life),
        sa.cumulative(gentle_factor),
        sa.cyclic(0.1, 1.0, 10, scale_fn=triangle_scale),
        sa.warmup(sa.from_fn(half_life), 10),
    ],
)
def test_function_nodes_cannot_be_serialized(schedule):
    with pytest.raises(SerializationError, match=r"cannot serialize .* Python function"):
        to_dict(schedule)
    with pytest.raises(ParseError, match=r"Python function|not allowed"):
        parse(repr(schedule))


def test_unregistered_node_is_a_clear_error():
    class test_half_node(sa.Schedule):  # a node declared outside the library
        steps: int

        def _formula(self, t, xp):
            return 0.5 + 0.0 * t

    Half = test_half_node

    with pytest.raises(SerializationError, match="register"):
        to_dict(Half(3))
    assert fingerprint(Half(3)) != fingerprint(Half(4))  # defined for every schedule
    register(Half)
    assert from_dict(to_dict(Half(3))) == Half(3)
    with pytest.raises(ValueError, match="already used"):
        register(sa.cosine, "test_half_node")


# -- hostile or malformed text ----------------------------------------------------------------


SENTINEL = "/tmp/schedalg-parse-must-not-run"


@pytest.mark.parametrize(
    "text, reason",
    [
        (f"__import__('os').system('touch {SENTINEL}')", "attribute access"),
        (f"cosine(__import__('os').system('touch {SENTINEL}'))", "attribute access"),
        ("cosine.__class__", "attribute access"),
        ("sa.cosine(10)", "attribute access"),
        ("[cosine][0](10)", "only calls"),
        ("cosine(10)[0]", "subscript"),
        ("(lambda: 1)()", "only calls"),
        ("constant(lambda t: 1)", "lambda"),
        ("sequence(*[cosine(1), cosine(2)], at=[1])", "starred"),
        ("cosine(**{'steps': 3})", r"\*\* arguments"),
        ("constant([x for x in (1, 2)])", "comprehension"),
        ("constant(f'{1}')", "f-string"),
        ("eval('cosine(1)')", "not allowed"),
        ("open('/etc/passwd')", "not allowed"),
        ("Schedule()", "not allowed"),
        ("from_fn(print)", "Python function"),
        ("cumulative(abs)", "Python function"),
        ("cyclic(0.1, 1.0, 10, scale_fn=abs)", "not allowed"),
        ("cosine", "must be called"),
        ("cosine(" + "9" * 40 + ")", "digits"),
        ("constant(1e999)", "out of range"),
        ("constant(10000000000 * 10000000000 * 10000000000 * 100000)", "digits"),
        ("constant(1e300 * 1e300)", "overflows"),
        ("constant(1 / 0)", "division by zero"),
        ("cosine(-5)", "cosine\\(\\): steps must be a positive integer, got -5"),
        ("cosine(10.5)", "steps must be a positive integer"),
        ("cosine(10, bogus=1)", "unexpected keyword"),
        ("warmup(cosine(10), 5, shape='zigzag')", "shape must be one of"),
        ("1 + 2", "must describe a schedule"),
        ("cosine(10) // 2", "this operator"),
        ("cosine(10) if True else 1", "conditional"),
        ("not cosine(10)", "this operator"),
        ("cosine(10) < 3", "comparison"),
        ("cosine(10); cosine(3)", "invalid syntax"),
        ("import os", "invalid syntax"),
        ("cosine(10", "invalid syntax"),
        ("", "the expression is empty"),
        (" \n ", "the expression is empty"),
        ("constant(b'1')", "bytes literal"),
        ("constant(1j)", "complex literal"),
        ("constant({1: 2})", "dict"),
        ("(" * 100 + "cosine(1)" + ")" * 100, "nested deeper"),
        ("+" * 5000 + "cosine(1)", "nested"),
        ("cosine(1) + " * 1500 + "cosine(1)", "nested"),
        ("constant(" + "1" * 25_000 + ")", "longer than"),
        ("cosine(10)\x00", "NUL"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_parse_refuses(text, reason):
    with pytest.raises(ParseError, match=reason):
        parse(text)
    assert not os.path.exists(SENTINEL)


def test_parse_error_names_the_position():
    with pytest.raises(ParseError, match="line 1, column 19"):
        parse("warmup(cosine(1), os.x)")


def test_parse_accepts_what_users_type():
    assert parse("  warmup(cosine(9000), 1000, start=0.01)\n") == sa.warmup(
        sa.cosine(9000), 1000, start=0.01
    )
    assert parse("clip(cosine(10), 2, inf)") == sa.clip(sa.cosine(10), 2)
    assert parse("0.1 * (cosine(10) + 1) / 2") == 0.1 * (sa.cosine(10) + 1) / 2
    assert parse("-cosine(10) + +1") == -sa.cosine(10) + 1
    assert parse("piecewise(((0, 1.0), (10, 0.0)))") == sa.piecewise([(0, 1.0), (10, 0.0)])
    assert parse("constant(2 * 3 - 1)") == sa.constant(5)


# -- fuzzing: the readers raise nothing but their documented error --------------------------------

_TOKENS = [
    *sa.__all__,
    "os",
    "__import__",
    "x",
    "lambda",
    "for",
    "in",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "+",
    "-",
    "*",
    "/",
    "**",
    ".",
    ":",
    "'linear'",
    "'cos'",
    "1",
    "0",
    "-1",
    "0.5",
    "1e308",
    "10",
    "100",
    "inf",
    "True",
    "None",
    " ",
    "steps=",
    "at=",
    "end=",
    "start=",
]


@st.composite
def token_soup(draw):
    return "".join(draw(st.lists(st.sampled_from(_TOKENS), max_size=30)))


@st.composite
def mutated_reprs(draw):
    text = repr(draw(expressions(1, 2)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 5)))
        text = text[:i] + draw(st.sampled_from(_TOKENS) | st.text(max_size=3)) + text[j:]
    return text


@given(st.text(max_size=200) | token_soup() | mutated_reprs())
def test_parse_fuzz_raises_only_parse_error(text):
    try:
        result = parse(text)
    except ParseError:
        return
    assert isinstance(result, sa.Schedule)


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["cosine", "inf", "-inf", "type", "$float", "linear"])
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "steps", "schedule", "at", "pieces", "$float", "end", "x"])
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@st.composite
def mutated_dicts(draw):
    data = to_dict(draw(expressions(1, 2)))

    def mutate(node):
        if isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            return {**node, key: mutate(node[key])}
        if isinstance(node, list) and node and draw(st.booleans()):
            i = draw(st.integers(0, len(node) - 1))
            return [*node[:i], mutate(node[i]), *node[i + 1 :]]
        return draw(_json)

    return mutate(data)


@given(_json | st.builds(lambda s: {"schedalg": 1, "schedule": s}, _json) | mutated_dicts())
def test_from_dict_fuzz_raises_only_parse_error(data):
    try:
        result = from_dict(data)
    except ParseError:
        return
    assert isinstance(result, sa.Schedule)


@pytest.mark.parametrize(
    "data, reason",
    [
        ([], "expected a dict"),
        ({"schedule": {"type": "cosine", "steps": 3}}, "format version"),
        ({"schedalg": 2, "schedule": {"type": "cosine", "steps": 3}}, "format version"),
        ({"schedalg": True, "schedule": {"type": "cosine", "steps": 3}}, "format version"),
        ({"schedalg": 1}, "missing key"),
        ({"schedalg": 1, "schedule": 3}, "must describe a schedule"),
        ({"schedalg": 1, "schedule": {"type": "os.system"}}, "unknown schedule type"),
        ({"schedalg": 1, "schedule": {"type": "cosine", "steps": -1}}, "steps must be"),
        ({"schedalg": 1, "schedule": {"type": "cosine", "stepz": 1}}, "no parameter"),
        ({"schedalg": 1, "schedule": {"type": "cosine", "steps": 10**40}}, "digits"),
        ({"schedalg": 1, "schedule": {"type": "constant", "value": math.inf}}, "non-finite"),
        ({"schedalg": 1, "schedule": {"type": "constant", "value": {"$float": "nan"}}}, "float"),
        ({"schedalg": 1, "schedule": {"$float": []}}, "float"),
        (
            {
                "schedalg": 1,
                "schedule": {"type": "from_fn", "function": {"$function": "os:system"}},
            },
            "Python function",
        ),
        ({"schedalg": 1, "schedule": {"type": "chain", "factors": [1, 2]}}, "schedule"),
        ({"schedalg": 1, "schedule": {"type": "chain", "factors": []}}, "non-empty list"),
        ({"schedalg": 1, "schedule": {"type": "subtract", "left": 1, "right": 2}}, "schedule"),
        (
            {"schedalg": 1, "schedule": {"type": "sequence", "pieces": 1, "at": []}},
            "non-empty list",
        ),
        ({"schedalg": 1, "schedule": {"type": "clip", "schedule": {}, "begin": 1}}, "type"),
        ({"schedalg": 1, "schedule": {"type": "constant"}, "extra": 1}, "unexpected keys"),
    ],
)
def test_from_dict_refuses(data, reason):
    with pytest.raises(ParseError, match=reason):
        from_dict(data)


def test_from_dict_refuses_deep_nesting():
    node = {"type": "cosine", "steps": 3}
    for _ in range(MAX_DEPTH + 5):
        node = {"type": "shift", "schedule": node, "offset": 1}
    with pytest.raises(ParseError, match="nested deeper"):
        from_dict({"schedalg": 1, "schedule": node})


def test_library_nodes_outside_the_core_join_the_registry():
    metric = pytest.importorskip("schedalg.curves.metric")
    schedule = sa.warmup(metric.plateau(patience=3, mode="max"), 10)
    data = json.loads(json.dumps(to_dict(schedule)))
    assert data["schedule"]["schedule"] == {"type": "plateau", "patience": 3, "mode": "max"}
    assert from_dict(data) == schedule


# -- from_dict builds through the public constructors ---------------------------------------------


def _raw(node_type, *fields):
    """A node built from its fields without the constructor's normal form (validated)."""
    return type.__call__(node_type, *fields)


def _raw_wrappers():
    """Trees made straight from the node classes, which the public constructors never make."""
    one = sa.constant(1.0)
    return [
        lambda s, o: _raw(sa.clip, s, 0),
        lambda s, o: _raw(sa.chain, (s, one)),
        lambda s, o: _raw(sa.chain, (_raw(sa.chain, (s, o)), o)),
        lambda s, o: _raw(sa.add, (_raw(sa.add, (s, o)), o)),
        lambda s, o: _raw(sa.minimum, (_raw(sa.minimum, (s, o)), o)),
        lambda s, o: _raw(sa.maximum, (s, _raw(sa.maximum, (o, s)))),
        lambda s, o: _raw(sa.per_epoch, _raw(sa.per_epoch, s, 2), 3),
        lambda s, o: _raw(sa.sequence, (s,), ()),
        lambda s, o: _raw(sa.sequence, (_raw(sa.sequence, (s,), ()), o), (5,)),
        lambda s, o: _raw(sa.shift, s, 0),
        lambda s, o: _raw(sa.stretch, _raw(sa.stretch, s, 2), 3),
    ]


@st.composite
def raw_trees(draw):
    schedule = draw(expressions(1, 2))
    for _ in range(draw(st.integers(1, 3))):
        wrap = draw(st.sampled_from(_raw_wrappers()))
        schedule = wrap(schedule, draw(primitives()))
    return schedule


@given(raw_trees() | mutated_dicts())
def test_from_dict_gives_what_parse_gives(item):
    try:
        schedule = from_dict(to_dict(item) if isinstance(item, sa.Schedule) else item)
    except ParseError:
        return
    again = parse(repr(schedule))
    assert again == schedule
    assert fingerprint(again) == fingerprint(schedule)
    assert from_dict(to_dict(schedule)) == schedule


@pytest.mark.parametrize(
    "node, expected",
    [
        ({"type": "clip", "schedule": {"type": "cosine", "steps": 9}, "begin": 0}, "cosine(9)"),
        (
            {
                "type": "chain",
                "factors": [{"type": "cosine", "steps": 9}, {"type": "constant", "value": 1.0}],
            },
            "cosine(9)",
        ),
        ({"type": "sequence", "pieces": [{"type": "cosine", "steps": 9}], "at": []}, "cosine(9)"),
        (
            {
                "type": "per_epoch",
                "schedule": {"type": "per_epoch", "schedule": {"type": "cosine", "steps": 9},
                             "epoch_length": 2},
                "epoch_length": 3,
            },
            "per_epoch(cosine(9), 6)",
        ),
    ],
)  # fmt: skip
def test_from_dict_normalises_like_the_constructors(node, expected):
    data = {"schedalg": 1, "schedule": node}
    schedule = from_dict(data)
    assert schedule == parse(expected)
    assert fingerprint(schedule) == fingerprint(parse(expected))


@given(
    st.integers(2**53, 10**30) | st.integers(-(10**30), -(2**53)),
    st.sampled_from(["stretch", "constant", "linear_end"]),
)
def test_fingerprint_of_large_integral_values_follows_equality(big, where):
    as_float = float(big)
    exact = int(as_float)  # the integer equal to that float
    if where == "stretch":
        a, b = sa.stretch(sa.cosine(10), abs(exact)), sa.stretch(sa.cosine(10), abs(as_float))
    elif where == "constant":
        a, b = sa.constant(exact), sa.constant(as_float)
    else:
        a, b = sa.linear(1.0, exact, 10), sa.linear(1.0, as_float, 10)
    assert a == b and hash(a) == hash(b)
    assert fingerprint(a) == fingerprint(b)
    if exact + 1 != as_float:
        other = sa.constant(exact + 1)
        assert (other == sa.constant(as_float)) == (
            fingerprint(other) == fingerprint(sa.constant(as_float))
        )


def test_clamp_parses_as_the_expression_it_builds():
    # clamp is a function, not a node class: parse crashed with dataclasses' TypeError.
    text = "0.5 * clamp(inverse_sqrt(10), 0.1, 1.0)"
    s = sa.parse(text)
    assert s == 0.5 * sa.clamp(sa.inverse_sqrt(10), 0.1, 1.0)
    assert sa.parse(repr(s)) == s
