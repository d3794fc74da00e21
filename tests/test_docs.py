"""Every ```python block of README.md and docs/*.md runs as pasted, on its own: imports included.

A block is skipped only when it imports an optional library that is not installed, or when the
line before its fence says ``<!-- not runnable: REASON -->``. Each block runs in a fresh
namespace, in a temporary directory (blocks may write files such as ``schedule.png``).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
NOT_RUNNABLE = re.compile(r"<!-- not runnable: (.+?) -->\s*$")
OPTIONAL = ("torch", "jax", "optax", "matplotlib", "mmengine", "lightning", "transformers")


def blocks() -> list[tuple[str, str, str | None]]:
    """(page:line, code, reason it is not run) for every python block."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marked = NOT_RUNNABLE.search(before)
            found.append((f"{page.name}:{line}", match.group(1), marked and marked.group(1)))
    return found


def _missing(code: str) -> str | None:
    for name in OPTIONAL:
        imported = re.search(rf"^\s*(import|from) {name}\b", code, re.M)
        if imported and importlib.util.find_spec(name) is None:
            return name
    return None


BLOCKS = blocks()


def test_the_pages_have_python_blocks():
    assert len(BLOCKS) >= 20


def test_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 300


@pytest.mark.parametrize("where, code, reason", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_block_runs_as_pasted(where, code, reason, tmp_path, monkeypatch):
    if reason:
        pytest.skip(f"{where}: not runnable: {reason}")
    missing = _missing(code)
    if missing:
        pytest.skip(f"{where} needs {missing}, which is not installed")
    monkeypatch.chdir(tmp_path)
    # A real module, so that classes defined in a block (dataclasses) find their module.
    module = types.ModuleType("docs_block")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, where, "exec"), module.__dict__)
