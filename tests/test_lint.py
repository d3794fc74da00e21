"""The tree stays ruff- and mypy-clean: lint, format and types are checked with the tests."""

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


def test_complexity():
    """At most 3% of blocks above cyclomatic complexity 10 (the rank C of radon)."""
    radon = pytest.importorskip("radon.complexity", reason="radon comes with the test extra")
    blocks = []
    for path in sorted((ROOT / "schedalg").rglob("*.py")):
        blocks.extend(radon.cc_visit(path.read_text()))
    flat = [b for block in blocks for b in (block, *getattr(block, "methods", []))]
    complex_ = [f"{b.name} ({b.complexity})" for b in flat if b.complexity > 10]
    assert len(complex_) <= 0.03 * len(flat), complex_
