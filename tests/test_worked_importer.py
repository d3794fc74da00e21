"""docs/adding-an-importer.md works as written, and its example needs nothing else.

The page's blocks are taken from the page and run: its module as ``schedalg.importers.fairseq``
(in ``sys.modules`` for one test only), its test functions against that module, its table entry
in a copy of ``formats.FORMATS``. The command line then reads the page's ``config.yaml`` as the
page shows, and every place that lists formats (``--format-hint`` and its help, the inputs'
help, the error for a file no format fits, the docs table) names the new format: the three
files the page writes are all a new importer touches.

The ``exec`` and ``eval`` below run our own page's code, never anything a user supplies.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from schedalg.cli import formats, main

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "adding-an-importer.md"
MODULE, TEST, TABLE = (
    "schedalg/importers/fairseq.py",
    "tests/test_fairseq.py",
    "schedalg/cli/formats.py",
)
# A fenced block with the line before its fence, where the page says which file it goes in.
FENCE = re.compile(r"^([^\n]*)\n```(\w+)\n(.*?)^```", re.M | re.S)


def _blocks() -> list[tuple[str | None, str, str]]:
    """(the file the block goes in, if it says; its language; its text), in the page's order."""
    found = []
    for before, language, text in FENCE.findall(GUIDE.read_text(encoding="utf-8")):
        goes = re.search(r"goes in ([\w/.]+\.py)", before)
        found.append((goes.group(1) if goes else None, language, text))
    return found


BLOCKS = _blocks()


def _code(path: str) -> str:
    (code,) = [text for where, _, text in BLOCKS if where == path]
    return code


@pytest.fixture
def worked(monkeypatch: pytest.MonkeyPatch) -> formats.Format:
    """The page's module imported as ``schedalg.importers.fairseq`` and its entry in
    ``FORMATS`` before the configs, as the page says; both undone after the test."""
    module = types.ModuleType("schedalg.importers.fairseq")
    exec(compile(_code(MODULE), str(GUIDE), "exec"), module.__dict__)  # our own page's code
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # The entry is written inside formats.py: it is evaluated in that module's namespace.
    entry = eval(_code(TABLE).strip().rstrip(","), vars(formats))  # our own page's code
    assert isinstance(entry, formats.Format)
    at = next(i for i, f in enumerate(formats.FORMATS) if f.config)
    monkeypatch.setattr(formats, "FORMATS", (*formats.FORMATS[:at], entry, *formats.FORMATS[at:]))
    return entry


def test_the_example_writes_a_module_its_test_and_one_table_entry():
    python = [where for where, language, _ in BLOCKS if language == "python"]
    assert sorted(python) == sorted([MODULE, TEST, TABLE]), "every python block names its file"
    entry = ast.parse(_code(TABLE).strip().rstrip(","), mode="eval").body
    assert isinstance(entry, ast.Call) and ast.unparse(entry.func) == "Format"
    # formats.py gains that one expression: no import, no second edit.
    assert not [n for n in ast.walk(entry) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_the_module_imports_only_the_layers_below_the_command_line():
    tree = ast.parse(_code(MODULE))
    names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {name for name in names if name.startswith("schedalg")}
    below = ("schedalg.core", "schedalg.engine", "schedalg.algebra", "schedalg.curves")
    assert ours and all(name.startswith((*below, "schedalg.importers")) for name in ours)


FIRST_PARTY = "lint.isort.known-first-party = ['schedalg']"


def test_the_module_and_its_test_are_lint_clean(tmp_path: Path):
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    files = []
    for path in (MODULE, TEST):
        files.append(tmp_path / Path(path).name)
        files[-1].write_text(_code(path), encoding="utf-8")
    # The repository's settings; outside it, ruff needs telling that schedalg is ours.
    config = ["--config", str(ROOT / "pyproject.toml"), "--config", FIRST_PARTY, *map(str, files)]
    for command in (["check"], ["format", "--check"]):
        ran = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *config],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_page_s_tests_pass_on_its_module(worked: formats.Format):
    namespace: dict[str, Any] = {}
    exec(compile(_code(TEST), str(GUIDE), "exec"), namespace)  # our own page's code
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test()


def test_the_command_line_reads_the_page_s_file_as_the_page_shows(
    worked: formats.Format, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    pytest.importorskip("yaml")
    (config,) = [text for _, language, text in BLOCKS if language == "yaml"]
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (session,) = [t for _, lang, t in BLOCKS if lang == "text" and t.startswith("$ schedalg")]
    command, *shown = session.splitlines()
    assert main(shlex.split(command.removeprefix("$ "))[1:]) == 0
    assert capsys.readouterr().out.splitlines() == shown
    # --format-hint takes the new name, and --base lr reaches the importer through `call`.
    hinted = ["config.yaml", "--steps", "4001", "--format-hint", "fairseq", "--base", "lr=0.001"]
    assert main(["export", *hinted, "-f", "json"]) == 0
    (curve,) = json.loads(capsys.readouterr().out)["curves"]
    assert curve["label"] == "config.yaml: lr" and curve["values"][4000] == 0.001


def test_every_list_of_formats_names_the_new_one(worked: formats.Format, tmp_path: Path, capsys):
    assert formats.hints()[-2:] == ("fairseq", "mmengine")
    assert main(["describe", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "megatron, fairseq or mmengine (default" in shown  # --format-hint's names
    assert "detectron2 or fairseq, a .sh launch script" in shown  # the data formats
    other = tmp_path / "other.json"
    other.write_text('{"batch_size": 8}')
    assert main(["describe", str(other), "--steps", "10"]) == 2
    assert worked.title in capsys.readouterr().err
    # The docs table: the page's table and one row, which pasting markdown_table() adds.
    rows = formats.markdown_table().splitlines(keepends=True)
    row = f"| `fairseq` | {worked.description} | `schedalg.importers.fairseq.from_fairseq` |"
    (added,) = [r for r in rows if r.startswith(row)]
    rows.remove(added)
    assert "".join(rows) in (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
