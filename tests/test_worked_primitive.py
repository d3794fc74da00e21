"""docs/adding-a-primitive.md, run: its blocks declare, export and test ``exponential_to``, and
with no other edit the node checks its arguments, prints, parses, serialises, is listed by the
command line, joins the random expressions and the compiled table, and gives its one-step
values bit for bit on its curve. Also: every library node is drawn by the random expressions of
tests/strategies.py or left out with a reason.

The example registers in a copy of the registry that each test drops when it ends (the way
tests/test_protocol.py's nodes are defined outside the package, but without their leak), so no
other test sees it.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import schedalg as sa
import tests.test_primitives_table as table  # imported here, before any test adds a name
from schedalg.algebra.tree import nodes
from schedalg.cli import main
from schedalg.core import node as protocol
from schedalg.core.node import name_of, registered
from schedalg.curves import primitives as module
from tests.strategies import (
    DRAWN,
    EXCLUDED,
    drawn_nodes,
    excluded,
    expressions,
    library,
    node_strategy,
    primitives,
)

# The compiled table needs torch; imported once here, outside the example's registry.
if importlib.util.find_spec("torch") is not None:
    from tests import test_compiled
else:  # pragma: no cover - torch comes with the test extra
    test_compiled = None

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adding-a-primitive.md"
NAME = "exponential_to"
# A block of the guide and the file it goes in, from the marker on the line before its fence.
BLOCK = re.compile(
    r"<!-- not runnable: goes in (\S+?),[^\n]*-->\n```python\n(.*?)^```", re.M | re.S
)
FIND = settings(database=None, derandomize=True, max_examples=500)


def guide_blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def block(path: str, index: int = 0) -> str:
    return [code for where, code in guide_blocks() if where == path][index]


def declare(patch: pytest.MonkeyPatch) -> type:
    """Run the guide's class and export blocks as if pasted where they go, in a copy of the
    registry that ``patch`` drops on undo; the class."""
    assert NAME not in registered(), f"{NAME} is a real node now: the guide needs a new example"
    patch.setattr(protocol, "_REGISTRY", dict(protocol._REGISTRY))
    patch.setattr(protocol, "_NAMES", dict(protocol._NAMES))
    # exec of our own page, not of user input: the class runs in the globals of the module it
    # goes in, so its __module__ is the library's and it registers as a library node does.
    where = dict(vars(module))
    exec(compile(block("schedalg/curves/primitives.py"), str(GUIDE), "exec"), where)
    cls = where[NAME]
    patch.setattr(module, NAME, cls, raising=False)
    exported = dict(vars(sa))
    exec(compile(block("schedalg/__init__.py"), str(GUIDE), "exec"), exported)
    patch.setattr(sa, NAME, exported[NAME], raising=False)
    patch.setattr(sa, "__all__", [*sa.__all__, NAME])
    return cls


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> type:
    return declare(monkeypatch)


def test_the_guide_touches_three_files_and_its_blocks_go_in_them():
    text = GUIDE.read_text(encoding="utf-8")
    listed = re.findall(r"^- `([\w/.]+)`: ", text, re.M)
    assert len(listed) == 3, listed
    assert all((ROOT / path).is_file() for path in listed), listed
    assert {path for path, _ in guide_blocks()} == set(listed)


def test_the_registry_forgets_the_example_when_the_test_ends():
    before = registered()
    with pytest.MonkeyPatch.context() as patch:
        cls = declare(patch)
        assert registered()[NAME] is cls and name_of(cls) == NAME
        assert cls.__module__ == "schedalg.curves.primitives" and NAME in library()
    assert registered() == before and name_of(cls) is None
    assert not hasattr(sa, NAME) and NAME not in sa.__all__


def test_its_docstring_example_runs(node):
    examples = doctest.DocTestParser().get_doctest(node.__doc__, {}, NAME, str(GUIDE), 0)
    runner = doctest.DocTestRunner()
    runner.run(examples)
    assert runner.summarize(verbose=False) == (0, 3)


def test_it_checks_its_arguments_by_name(node):
    with pytest.raises(ValueError, match=rf"^{NAME}\(\): steps must be a positive integer, got 0$"):
        node(0, 0.5)
    with pytest.raises(ValueError, match=rf"^{NAME}\(\): end must be a finite number > 0, got -1"):
        node(10, -1)
    with pytest.raises(TypeError, match=rf"^{NAME}\(\) missing 1 required argument: 'end'$"):
        node(10)
    with pytest.raises(TypeError, match=rf"^{NAME}\(\) got an unexpected keyword 'ends'; did "):
        node(10, ends=0.5)


def test_it_prints_parses_and_serialises(node):
    s = node(100, 0.01)
    assert repr(s) == f"{NAME}(100, 0.01)"
    assert sa.parse(repr(s)) == s
    expression = sa.parse(f"0.1 * warmup({NAME}(900, 0.001), 100)")
    assert expression == 0.1 * sa.warmup(node(900, 0.001), 100)
    data = json.loads(json.dumps(sa.to_dict(expression)))
    assert sa.from_dict(data) == expression
    assert sa.fingerprint(sa.from_dict(data)) == sa.fingerprint(expression)
    assert sa.fingerprint(node(100, 0.02)) != sa.fingerprint(s)


def test_the_command_line_lists_it_with_its_formula(node, capsys):
    assert main(["list"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.split()[:1] == [NAME]]
    assert len(rows) == 1 and "end ** (min(t, steps) / steps)" in rows[0]


def test_the_random_expressions_draw_it(node):
    assert excluded(NAME, node) is None
    assert type(find(primitives(), lambda s: isinstance(s, node), settings=FIND)) is node
    holds = find(expressions(1, 1), lambda s: node in {type(n) for n in nodes(s)}, settings=FIND)
    assert node in {type(n) for n in nodes(holds)}


@pytest.mark.skipif(test_compiled is None, reason="the compiled table needs torch")
def test_the_compiled_table_holds_it_and_compiles_it(node):
    rows = [
        row
        for row in test_compiled.compiled_table()
        if NAME in {type(n).__name__ for n in nodes(row)}
    ]
    assert len(rows) == 1
    test_compiled.compiles_once_to_the_eager_values(rows)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), n=st.integers(1, 700))
def test_its_curve_is_its_one_step_values_bit_for_bit(node, data, n):
    s = data.draw(node_strategy(node, st.nothing()))
    one_step = [s(t) for t in range(n)]
    assert s.curve(n).tolist() == one_step
    assert s(np.arange(n)).tolist() == one_step


def test_the_guides_tests_pass(node):
    rows = {**vars(sa)}  # what the test module sees once it imports the new name
    exec(compile(block("tests/test_primitives_table.py", 0), str(GUIDE), "exec"), rows)
    (row,) = [r for r in rows["TABLE"] if r is not Ellipsis]  # ... stands for the other rows
    table.test_table(*row)
    where = {**vars(table), NAME: node}  # the test module, once it imports the new name
    exec(compile(block("tests/test_primitives_table.py", 1), str(GUIDE), "exec"), where)
    laws = [where[name] for name in where if name.startswith("test_") and name not in vars(table)]
    assert laws
    for law in laws:
        law()


# -- every library node, drawn or left out with its reason ----------------------------------------


def test_every_library_node_is_drawn_or_left_out_with_a_reason():
    drawn = {**drawn_nodes(combinators=False), **drawn_nodes(combinators=True)}
    neither = [n for n, cls in library().items() if n not in drawn and not excluded(n, cls)]
    assert not neither, f"describe their validators or give a reason in EXCLUDED: {neither}"
    both = [n for n in drawn if n in EXCLUDED]
    assert not both
    assert set(EXCLUDED) <= set(library()), "EXCLUDED names a node the library no longer has"
    assert {key.split(".")[0] for key in DRAWN} <= set(drawn), "DRAWN for a node not drawn"


@pytest.mark.parametrize(
    "name", sorted({**drawn_nodes(combinators=False), **drawn_nodes(combinators=True)})
)
def test_each_drawn_node_is_in_the_random_expressions(name):
    cls = library()[name]
    found = find(expressions(1, 1), lambda s: cls in {type(n) for n in nodes(s)}, settings=FIND)
    assert cls in {type(n) for n in nodes(found)}
