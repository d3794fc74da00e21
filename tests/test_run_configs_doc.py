"""docs/run-configs.md shows ``schedalg`` commands on real config files with what they print:
each ``$ schedalg ...`` block there is run here, from the repository's root, and must print
exactly what the page shows (a changed importer or output fails here, not in a reader's shell)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from schedalg.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "run-configs.md"
BLOCK = re.compile(r"^```text\n\$ (schedalg [^\n]*)\n(.*?)^```$", re.S | re.M)


def _blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_shows_commands():
    assert len(_blocks()) >= 10


@pytest.mark.parametrize(("command", "shown"), _blocks(), ids=[c for c, _ in _blocks()])
def test_each_command_prints_what_the_page_shows(command, shown, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    status = main(shlex.split(command)[1:])
    captured = capsys.readouterr()
    printed = captured.out if status == 0 else captured.err
    assert printed == shown, f"{command} printed:\n{printed}"
