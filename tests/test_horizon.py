"""Placeholders: a horizon bound late (``total``), kept by repr, parse and JSON, bound by
``bind`` and ``--set``, refused when evaluated unbound."""

import doctest
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg import cosine, parse, placeholder, sequence, total, warmup
from schedalg.algebra import horizon
from schedalg.algebra.horizon import UnboundError, bind_held, read_quantity
from schedalg.cli import main
from schedalg.forms.text import ParseError


def _roundtrips(s):
    assert parse(repr(s)) == s
    assert sa.from_dict(json.loads(json.dumps(sa.to_dict(s)))) == s
    assert eval(repr(s), vars(sa)) == s  # the repr reads back after `from schedalg import *`


@pytest.mark.parametrize(
    "text",
    [
        "warmup(cosine(total - 1000), 1000)",
        "warmup(cosine(total), 0.01 * total)",
        "sequence(constant(1.0), cosine(2000), at=[total - 2000])",
        "cosine((total - 1000) / 2, end=0.1)",
        "0.5 * warmup_stable_decay(total, 0.05 * total, 0.2 * total)",
    ],
)
def test_repr_parse_and_json_keep_the_placeholder(text):
    s = parse(text)
    assert repr(s) == text
    assert sa.placeholders(s) == ("total",)
    _roundtrips(s)


def test_explicit_roundings_read_back():
    s = warmup(cosine(total), math.floor(0.01 * total))
    assert repr(s) == "warmup(cosine(total), floor(0.01 * total))"
    assert parse(repr(s)) == s
    assert sa.from_dict(sa.to_dict(s)) == s
    assert parse("warmup(cosine(total), round(0.01 * total))") == warmup(
        cosine(total), round(0.01 * total)
    )


def test_bind_builds_the_ordinary_schedule():
    s = warmup(cosine(total - 1000), 1000).bind(total=10_000)
    assert s == warmup(cosine(9000), 1000)
    assert sa.fingerprint(s) == sa.fingerprint(warmup(cosine(9000), 1000))
    np.testing.assert_array_equal(s.curve(10_000), warmup(cosine(9000), 1000).curve(10_000))


def _hf_warmup_steps(ratio, steps):
    """transformers' own TrainingArguments.get_warmup_steps for a fractional warmup_steps."""
    training_args = pytest.importorskip("transformers.training_args")
    arguments = SimpleNamespace(warmup_steps=ratio)
    return training_args.TrainingArguments.get_warmup_steps(arguments, steps)


@given(st.integers(1, 10**7), st.sampled_from([0.01, 0.03, 0.05, 0.07, 0.1, 0.25, 1 / 3, 0.999]))
@settings(max_examples=60, deadline=None)
def test_a_fraction_of_the_run_rounds_up_as_hugging_face_does(steps, ratio):
    # The rounding applies to the quantity as written: HF rounds the product alone, so the
    # product is what is compared (``ratio * total + 1`` rounds the sum, a different number
    # where the product lies within an ulp of an integer, as 0.07 * 100 does).
    assert cosine(ratio * total).bind(total=steps).steps == _hf_warmup_steps(ratio, steps)
    floor = cosine(math.floor(ratio * total) + 1).bind(total=steps)
    assert floor.steps == math.floor(ratio * steps) + 1


def test_rounding_of_float_products_is_that_of_python_floats():
    # 0.07 * 100 is 7.000000000000001 in binary floating point: rounded up, 8 (as in HF).
    assert warmup(cosine(100), 0.07 * total).bind(total=100).steps == 8
    assert warmup(cosine(100), round(0.07 * total)).bind(total=100).steps == 7
    assert warmup(cosine(100), math.floor(0.07 * total)).bind(total=100).steps == 7


def test_evaluating_unbound_names_the_placeholder():
    s = warmup(cosine(total - 1000), 1000)
    for evaluate in (lambda: s(5), lambda: s.curve(10), lambda: sa.describe(s, 100)):
        with pytest.raises(UnboundError, match=r"unbound placeholder total.*bind\(total="):
            evaluate()
    with pytest.raises(UnboundError, match="total"):
        sa.check(s, 100)
    with pytest.raises(UnboundError, match="total"):
        float(total - 1)


def test_bad_bindings_are_refused_naming_parameter_and_value():
    s = warmup(cosine(total - 1000), 1000)
    with pytest.raises(ValueError, match=r"bind\(\): total must be a non-negative integer, got -5"):
        s.bind(total=-5)
    with pytest.raises(TypeError, match=r"bind\(\): total must be a non-negative integer"):
        s.bind(total="many")
    with pytest.raises(ValueError, match=r"no placeholder 'totl'; did you mean 'total'"):
        s.bind(totl=5)
    with pytest.raises(ValueError, match=r"cosine\(\): steps must be a positive integer, got -500"):
        s.bind(total=500)
    with pytest.raises(ValueError, match="holds no placeholder"):
        cosine(10).bind(total=5)
    assert cosine(10).bind() == cosine(10)


def test_early_validation_still_runs_for_arguments_without_placeholders():
    with pytest.raises(ValueError, match=r"warmup\(\): steps must be a positive integer, got -5"):
        warmup(cosine(total), -5)
    with pytest.raises(ValueError, match=r"placeholder\(\): name is a schedalg name"):
        placeholder("cosine")


def test_partial_binding_and_bind_held():
    w = placeholder("warmup_steps")
    s = warmup(cosine(total - w), w)
    assert sa.placeholders(s) == ("total", "warmup_steps")
    half = s.bind(total=1000)
    assert sa.placeholders(half) == ("warmup_steps",)
    assert half.bind(warmup_steps=100) == warmup(cosine(900), 100)
    assert bind_held(cosine(10), {"total": 5}) == cosine(10)
    assert bind_held(s, {"total": 1000, "other": 1}) == half


def test_text_refuses_builtins_and_read_quantity_refuses_code():
    with pytest.raises(ParseError, match="not allowed"):
        parse("cosine(len)")
    with pytest.raises(ValueError, match="not a step count"):
        read_quantity("__import__('os')")
    assert read_quantity("floor(0.5 * total) - 1") == math.floor(0.5 * total) - 1


def test_sequence_milestone_bound_late():
    s = sequence(sa.constant(1.0), cosine(2000), at=[total - 2000]).bind(total=10_000)
    assert s == sequence(sa.constant(1.0), cosine(2000), at=[8000])


def test_command_line_set_binds(capsys):
    expr = "warmup(cosine(total - 1000), 1000)"
    assert main(["describe", expr, "--steps", "5000", "--set", "total=5000"]) == 0
    assert "warmup(cosine(4000), 1000)" in capsys.readouterr().out
    assert main(["describe", expr, "--steps", "5000"]) == 2
    assert "--set total=N" in capsys.readouterr().err
    assert main(["describe", "cosine(10)", "--steps", "50", "--set", "total=5"]) == 2
    assert "no input holds a placeholder 'total'" in capsys.readouterr().err
    assert main(["describe", expr, "--steps", "50", "--set", "total=-5"]) == 2
    assert "non-negative" in capsys.readouterr().err


def test_the_module_s_examples_run():
    result = doctest.testmod(horizon, verbose=False, report=True)
    assert result.failed == 0 and result.attempted > 0


def test_torch_and_jax_evaluation_refuse_unbound_and_agree_once_bound():
    torch = pytest.importorskip("torch")
    s = warmup(cosine(total - 1000), 0.01 * total)
    with pytest.raises(UnboundError, match="total"):
        s(torch.arange(3))
    from schedalg.torch import Scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = Scheduler(optimizer, lr=s)  # applied from scheduler.bind(total=...) on
    with pytest.raises(UnboundError, match="total"):
        scheduler.step()
    with pytest.raises(UnboundError, match="total"):
        optimizer.step()
    bound, written = s.bind(total=5000), warmup(cosine(4000), 50)
    assert bound == written
    steps = torch.arange(5000, dtype=torch.float64)
    assert torch.equal(bound(steps), written(steps))
    jax = pytest.importorskip("jax")
    with jax.enable_x64(True):
        values = jax.jit(bound)(jax.numpy.arange(5000, dtype=jax.numpy.float64))
    # jax's cos and NumPy's may differ in the last place (not a matter of binding)
    np.testing.assert_allclose(np.asarray(values), bound.curve(5000), rtol=1e-14, atol=1e-16)
