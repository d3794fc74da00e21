"""The tree stays ruff- and mypy-clean and keeps its layers: lint, format, types and the import
contract (``[tool.importlinter]`` in pyproject.toml) are checked with the tests."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command):
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy():
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it comes with the test extra)")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contract():
    """The layers import only downwards, no module circle, no layer imports a face."""
    if importlib.util.find_spec("importlinter") is None:
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_import_contract_sees_an_import_inside_a_function():
    """The contract is checked on imports anywhere in a module, so a call-time import upwards
    (``Schedule.plot`` once imported the plot module when called) breaks it."""
    grimp = pytest.importorskip("grimp", reason="import-linter comes with the test extra")
    graph = grimp.build_graph("schedalg")
    details = graph.get_import_details(
        importer="schedalg.cli.commands", imported="schedalg.analysis.plot"
    )
    assert details, "cli.commands imports the plot module inside a function"
    assert not graph.find_modules_that_directly_import("schedalg")
    upward = graph.find_illegal_dependencies_for_layers(
        layers=["schedalg.analysis", "schedalg.algebra"], containers=set()
    )
    assert not upward
    graph.add_import(importer="schedalg.algebra.expression", imported="schedalg.analysis.plot")
    upward = graph.find_illegal_dependencies_for_layers(
        layers=["schedalg.analysis", "schedalg.algebra"], containers=set()
    )
    assert upward


def test_complexity():
    """At most 3% of blocks above cyclomatic complexity 10 (the rank C of radon)."""
    radon = pytest.importorskip("radon.complexity", reason="radon comes with the test extra")
    blocks = []
    for path in sorted((ROOT / "schedalg").rglob("*.py")):
        blocks.extend(radon.cc_visit(path.read_text()))
    flat = [b for block in blocks for b in (block, *getattr(block, "methods", []))]
    complex_ = [f"{b.name} ({b.complexity})" for b in flat if b.complexity > 10]
    assert len(complex_) <= 0.03 * len(flat), complex_
