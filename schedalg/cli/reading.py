"""How the command line reads a schedule file before its format is known: the suffixes it
takes, the file's data (JSON, YAML) or text (a launch script), never run, and what the user
gives beside the file (``Reading``). An importer's own hint to pass a value in Python (``pass
steps_per_epoch=N``) reads, on the command line, as the option that gives it
(``command_line_message``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schedalg.cli.errors import UserError

DATA_SUFFIXES = (".json", ".yaml", ".yml", ".config")
TEXT_SUFFIXES = (".sh",)
CONFIG_SUFFIXES = (".py",)
SUFFIXES = (*DATA_SUFFIXES, *TEXT_SUFFIXES, *CONFIG_SUFFIXES)


@dataclass(frozen=True)
class Reading:
    """What the command line gives beside the file: its path, the ``--base`` values, the
    optimizer steps per epoch (``--steps-per-epoch``), the ``--set`` values and the
    ``--config-root`` that a config's bases are confined to. ``used`` collects
    the ``--set`` names an importer took (a launch script's variables), which are then not
    placeholders to bind."""

    path: str
    base: Mapping[str, float] = field(default_factory=dict)
    steps_per_epoch: int | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    config_root: str | None = None


def read_data(path: str) -> Any:
    """A file's data: a ``.json`` file's JSON, a ``.yaml``/``.yml`` file's YAML (needs PyYAML),
    a ``.config`` file's JSON or else YAML (DeepSpeed's ``ds.config`` files are JSON), and a
    launch script's text."""
    try:
        with open(path, encoding="utf-8") as handle:
            if path.endswith(TEXT_SUFFIXES):
                return handle.read()
            if path.endswith(".json"):
                return json.load(handle)
            if path.endswith(".config"):
                text = handle.read()
                try:
                    return json.loads(text)
                except ValueError:
                    return _yaml(path, text)
            return _yaml(path, handle.read())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    except (RecursionError, MemoryError):
        # The readers recurse per bracket: '[' * 100000 exhausts the stack.
        raise UserError(f"cannot read {path}: nested too deeply") from None


# The most values a YAML file's aliases may expand to: a schedule file holds a few hundred, and
# nine nested aliases of nine ("a billion laughs") would make every walk of the data take hours.
MAX_EXPANDED = 1_000_000


def _yaml(path: str, text: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise UserError(
            f"cannot read {path}: YAML files need PyYAML (pip install pyyaml)"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    if _expanded_size(data, {}) > MAX_EXPANDED:
        raise UserError(
            f"cannot read {path}: its aliases expand to more than {MAX_EXPANDED:,} values"
        )
    return data


def _expanded_size(data: Any, sizes: dict[int, int]) -> int:
    """The values ``data`` holds with every alias expanded, counted once per shared object."""
    if not isinstance(data, (list, dict)):
        return 1
    if id(data) not in sizes:
        items = data.values() if isinstance(data, dict) else data
        sizes[id(data)] = 1 + sum(_expanded_size(item, sizes) for item in items)
    return sizes[id(data)]


# An importer's hint to pass a value in Python, and the command-line option that gives it.
_OPTIONS = (
    (re.compile(r"\bpass steps_per_epoch=N\b"), "give --steps-per-epoch N"),
    (re.compile(r"\bpass lr=\.\.\.|\bpass lr=<value>"), "give --base lr=<value>"),
    (re.compile(r"\bpass variables=\{'(\w+)': \.\.\.\}"), r"give --set \1=..."),
    (re.compile(r"\bpass auto=\{'(\w+)': \.\.\.\}"), r"give --set \1=..."),
    (re.compile(r"\bpass (devices|max_seq_length)=N\b"), r"give --set \1=N"),
    (re.compile(r"\bpass config_root=DIR\b"), "give --config-root DIR"),
    (
        re.compile(r"\bpass script='pretrain' or script='finetune'"),
        "give --set script=pretrain (or finetune)",
    ),
)


def command_line_message(message: str) -> str:
    """An importer's message with its Python hints (``pass steps_per_epoch=N``) read as the
    options that give the same on the command line."""
    for pattern, option in _OPTIONS:
        message = pattern.sub(option, message)
    return message
