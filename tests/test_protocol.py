"""The node protocol: a node declared once gets construction, errors, repr, text, describe,
check and plateau binding — also a node defined here, outside the library."""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import schedalg as sa
from schedalg.core import validators as check
from schedalg.core.node import Child, Clock, Event, param, registered
from schedalg.curves.metric import bind, plateaus
from schedalg.forms.data import ParseError, fingerprint, from_dict, to_dict
from schedalg.forms.text import parse

PACKAGE = Path(sa.__file__).resolve().parent


# -- a combinator and a primitive defined outside the library, by the documented protocol -------


class scaled_test_node(sa.Schedule):
    """``factor * schedule(t)``: a user-defined combinator."""

    schedule: sa.Schedule = param(check.a_schedule())
    factor: float = param(check.a_number(), default=2.0)

    def _scalar(self, t):
        return self.factor * self.schedule._scalar(t)

    def _array(self, t, xp):
        return self.factor * self.schedule._array(t, xp)


class delayed_test_node(sa.Schedule):
    """``schedule(t - delay)`` after ``delay`` steps of 1.0: a combinator with its own clock."""

    schedule: sa.Schedule = param(check.a_schedule())
    delay: int = param(check.an_integer(minimum=1))

    def children(self) -> Iterator[Child]:
        yield Child("schedule", None, self.schedule, Clock(offset=self.delay))

    def events(self) -> Iterator[Event]:
        yield Event(self.delay, "milestone", "delay ends")

    def _scalar(self, t):
        return 1.0 if t < self.delay else self.schedule._scalar(t - self.delay)

    def _array(self, t, xp):
        inner = self.schedule._array(xp.where(t < self.delay, 0.0, t - self.delay), xp)
        return xp.where(t < self.delay, 1.0, inner)


class ramp_test_node(sa.Schedule):
    """``min(t / steps, 1)``: a user-defined primitive, formula written once."""

    steps: int = param(check.an_integer(minimum=1))

    def _formula(self, t, xp):
        return xp.where(t < self.steps, t, float(self.steps)) / self.steps

    def events(self):
        yield Event(self.steps, "end", "ramp ends")


def test_user_node_is_constructed_validated_and_printed_like_the_library_s():
    s = scaled_test_node(sa.cosine(10), factor=3.0)
    assert s(0) == 3.0 and repr(s) == "scaled_test_node(cosine(10), factor=3.0)"
    assert s.curve(4).tolist() == [s(t) for t in range(4)]
    with pytest.raises(TypeError, match=r"^scaled_test_node\(\) missing 1 required argument"):
        scaled_test_node()
    with pytest.raises(TypeError, match="did you mean 'factor'"):
        scaled_test_node(sa.cosine(10), facter=3.0)
    with pytest.raises(TypeError, match=r"scaled_test_node\(\): factor must be a finite number"):
        scaled_test_node(sa.cosine(10), factor="x")
    ramp = ramp_test_node(4)
    assert [ramp(t) for t in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert ramp.curve(6).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_user_combinator_gets_describe_and_check():
    inner = sa.warmup(sa.cosine(9000), 1000)
    wrapped = scaled_test_node(inner, factor=0.5)
    assert [w.code for w in sa.check(wrapped, 8000)] == [w.code for w in sa.check(inner, 8000)]
    assert "decay-unfinished" in [w.code for w in sa.check(wrapped, 8000)]
    assert sa.describe(wrapped, 12000).boundaries == sa.describe(inner, 12000).boundaries


def test_user_combinator_clock_places_its_children_events():
    s = delayed_test_node(sa.cosine(100), 50)
    steps = {(e.step, e.kind) for e in sa.describe(s, 400).boundaries}
    assert steps == {(50, "milestone"), (150, "end")}
    nested = sa.sequence(sa.constant(1.0), delayed_test_node(ramp_test_node(10), 5), at=[20])
    assert (35, "end") in {(e.step, e.kind) for e in sa.describe(nested, 100).boundaries}


def test_user_combinator_binds_plateaus():
    s = scaled_test_node(sa.warmup(sa.plateau(patience=0), 10), factor=2.0)
    assert len(plateaus(s)) == 1
    p = plateaus(s)[0]
    state = p.update(p.update(p.initial(), 1.0), 2.0)  # one bad epoch: the value drops
    bound = bind(s, [state])
    assert bound(10) == 2.0 * 0.1
    with pytest.raises(ValueError, match="driven by metrics"):
        s(10)


def test_user_nodes_serialise_after_registering():
    s = delayed_test_node(scaled_test_node(ramp_test_node(8)), 3)
    for node in (delayed_test_node, scaled_test_node, ramp_test_node):
        sa.register(node)
    data = json.loads(json.dumps(to_dict(s)))
    assert from_dict(data) == s
    assert parse(repr(s)) == s
    assert fingerprint(from_dict(data)) == fingerprint(s)


# -- uniform public constructors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: sa.cosine(), "cosine() missing 1 required argument: 'steps'"),
        (lambda: sa.clip(), "clip() missing 1 required argument: 'schedule'"),
        (lambda: sa.sequence(sa.cosine(3)), "sequence() missing 1 required argument: 'at'"),
        (
            lambda: sa.cosine(10, endd=0.1),
            "cosine() got an unexpected keyword 'endd'; did you mean 'end'?",
        ),
        (
            lambda: sa.warmup(sa.cosine(10), 5, overley=True),
            "warmup() got an unexpected keyword 'overley'; did you mean 'overlay'?",
        ),
        (lambda: sa.linear(1, 2, 3, 4), "linear() takes at most 3 positional arguments"),
    ],
)
def test_constructor_errors_read_as_the_public_name(build, message):
    with pytest.raises(TypeError) as error:
        build()
    assert str(error.value) == message


def test_parse_suggests_the_nearest_constructor_and_keyword():
    with pytest.raises(ParseError, match="did you mean 'end'"):
        parse("cosine(10, endd=0.1)")
    with pytest.raises(ParseError, match="did you mean 'cosine'"):
        parse("cosin(10)")
    with pytest.raises(ParseError, match="did you mean 'warmup'"):
        parse("warmpu(cosine(10), 2)")
    with pytest.raises(ParseError, match=r"unknown schedule type 'cosin'.*did you mean 'cosine'"):
        from_dict({"schedalg": 1, "schedule": {"type": "cosin", "steps": 3}})


def test_every_registered_library_node_is_a_public_name():
    library = {name for name, cls in registered().items() if cls.__module__.startswith("schedalg.")}
    assert library <= set(sa.__all__), library - set(sa.__all__)
    for name in library:
        assert getattr(sa, name).__name__ == name


# -- the package's structure ------------------------------------------------------------------


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, package: str) -> set[str]:
    """The schedalg modules ``path`` imports anywhere: at the top, inside functions, and for
    typing alone (``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("schedalg"))
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("schedalg"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def test_no_import_circle():
    modules = _modules()
    graph = {
        name: {m for m in _imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }
    for name in graph:  # a package's __init__ importing its own submodules is not a circle
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_public_name_shadows_a_submodule():
    import importlib

    for name in _modules():
        parent, _, leaf = name.rpartition(".")
        if not parent:
            continue
        module = importlib.import_module(parent)
        if hasattr(module, leaf):
            value = getattr(module, leaf)
            assert getattr(value, "__name__", None) == name, f"{parent}.{leaf} is {value!r}"


def test_no_module_over_500_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert max(sizes.values()) <= 500, {n: s for n, s in sizes.items() if s > 500}


SECTION = "\u00a7"  # the section sign, spelt so that this file cites nothing itself


def test_nothing_cites_files_outside_the_repository():
    """Every markdown document a file cites (with or without a section sign) ships with the
    project, and no code or test cites a section without naming its document."""
    root = PACKAGE.parent
    shipped = {path.name for path in root.rglob("*.md")}
    texts = [*root.glob("schedalg/**/*.py"), *root.glob("tests/*.py"), *root.glob("docs/*.md")]
    texts += [*root.glob("benchmarks/*.py"), root / "README.md", root / "CHANGELOG.md"]
    for path in texts:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(root)}:{number}"
            for cited in re.findall(r"[\w./-]+\.md\b", line):
                assert Path(cited).name in shipped, f"{where} cites {cited}, which does not ship"
            if SECTION in line and path.suffix == ".py":
                assert re.search(r"\.md\)? *" + SECTION, line), f"{where}: a section of no document"


def test_infinite_begin_is_refused_by_clip():
    with pytest.raises(TypeError, match=r"clip\(\): begin must be a non-negative integer"):
        sa.clip(sa.cosine(3), math.inf)


def test_the_contributor_guide_s_example_node_works_as_written():
    import re

    guide = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    namespace: dict = {}
    exec(re.findall(r"```python\n(.*?)```", guide, re.S)[0], namespace)  # our own doc, not input
    node = namespace["cosine_to"](10, end=0.1)
    assert node(0) == 1.0 and node(10) == 0.1 and node(99) == 0.1
    assert node.curve(12).tolist() == [node(t) for t in range(12)]
    assert [w.code for w in sa.check(node, 5)] == ["decay-unfinished"]
