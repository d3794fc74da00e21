"""The examples in the docstrings of every node module run as written (``doctest``), and every
public constructor has one, after its formula."""

from __future__ import annotations

import doctest
import importlib

import pytest

import schedalg as sa
from schedalg.core.node import registered

NODE_MODULES = [
    "schedalg",
    "schedalg.algebra.expression",
    "schedalg.curves.primitives",
    "schedalg.curves.phases",
    "schedalg.curves.perturbation",
    "schedalg.curves.recurrence",
    "schedalg.curves.cycles",
    "schedalg.curves.functions",
    "schedalg.algebra.combinators",
    "schedalg.algebra.timewarps",
    "schedalg.algebra.arithmetic",
    "schedalg.curves.metric",
    "schedalg.algebra.units",
    "schedalg.curves.integers",
    "schedalg.curves.clocks",
]


@pytest.mark.parametrize("name", NODE_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    assert result.attempted > 0


LIBRARY = sorted(n for n, c in registered().items() if c.__module__.startswith("schedalg."))


@pytest.mark.parametrize("name", LIBRARY)
def test_every_constructor_shows_its_formula_then_an_example(name):
    cls = getattr(sa, name)
    assert cls.__module__ in NODE_MODULES
    doc = cls.__doc__ or ""
    first = doc.strip().splitlines()[0]
    assert "``" in first, first  # the call and its formula lead
    examples = doctest.DocTestParser().get_examples(doc)
    assert examples, f"{name} has no example"
    assert doc.index(">>>") > doc.index(first) + len(first)


def test_help_of_sequence_says_each_piece_restarts_at_zero():
    assert "Each piece restarts at step 0" in sa.sequence.__doc__
