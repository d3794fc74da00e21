"""The schedule files the command line reads, one entry per format in ``FORMATS``: its name
(what ``--format-hint`` takes), a detector (does this data look like it?), the importer it
calls, and what the help and docs say of it. Everything that lists formats reads this table:
``--format-hint``'s names and help, the inputs' help, the one-line error for a file no format
fits and the table of docs/command-line.md (``markdown_table()``, checked against the page by
tests/test_cli_formats.py). A new importer's files are one entry: docs/adding-an-importer.md.

A ``.json``, ``.yaml`` or ``.yml`` file is read as data (never run). ``schedalg.cli.inputs``
reads a schedalg ``to_dict`` file before any format, and a ``config`` format (MMEngine's) with
its config reader, which also reads ``.py`` configs.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.cli.errors import UserError

DATA_SUFFIXES = (".json", ".yaml", ".yml")
Labelled = list[tuple[str, Schedule]]
# How a format calls its importer: (the importer, the file's data, the --base values).
Call = Callable[[Callable[..., Any], Mapping[str, Any], Mapping[str, float]], Any]


def _with_data(read: Callable[..., Any], data: Mapping[str, Any], base: Mapping[str, float]) -> Any:
    return read(data)


@dataclass(frozen=True)
class Format:
    """One kind of schedule file.

    ``importer`` is ``"module:function"``, imported only when a file is read as this format (the
    command line starts without importing every importer). ``call`` calls it, by default as
    ``importer(data)``; it returns a schedule (the ``lr``) or a mapping from parameter names to
    a schedule, or to a list of them, one per param group.
    """

    name: str
    title: str  # the file and its telltale key, as the error for a file no format fits says
    description: str  # markdown, one line: how a file is recognised (the docs table)
    importer: str
    curves: str  # markdown, one line: the curves a file gives (the docs table)
    detect: Callable[[Mapping[str, Any]], bool]
    call: Call = _with_data
    config: bool = False  # read by the config reader of schedalg.cli.inputs, not by call

    def function(self) -> Callable[..., Any]:
        """The importer function, imported now."""
        module, _, name = self.importer.partition(":")
        found: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return found

    def load(self, data: Mapping[str, Any], base: Mapping[str, float]) -> Labelled:
        """The labelled schedules of the file's ``data``."""
        return _labelled(self.call(self.function(), data, base))


def _labelled(found: Any) -> Labelled:
    if isinstance(found, Schedule):
        return [("lr", found)]
    out: Labelled = []
    for key, value in found.items():
        if isinstance(value, list):
            out.extend((f"{key} (group {i})", schedule) for i, schedule in enumerate(value))
        else:
            out.append((key, value))
    return out


def read_data(path: str) -> Any:
    """A ``.json`` or ``.yaml`` file's data (YAML needs PyYAML)."""
    try:
        with open(path, encoding="utf-8") as handle:
            if path.endswith(".json"):
                return json.load(handle)
            try:
                import yaml
            except ImportError:
                raise UserError(
                    f"cannot read {path}: YAML files need PyYAML (pip install pyyaml)"
                ) from None
            try:
                return yaml.safe_load(handle)
            except yaml.YAMLError as error:
                raise UserError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    except (RecursionError, MemoryError):
        # The readers recurse per bracket: '[' * 100000 exhausts the stack.
        raise UserError(f"cannot read {path}: nested too deeply") from None


# -- the formats' own detectors and calls ----------------------------------------------------------


def _is_deepspeed(data: Mapping[str, Any]) -> bool:
    block = data.get("scheduler")
    if isinstance(block, Mapping):
        return "type" in block
    return set(data) == {"type", "params"} and isinstance(data["params"], Mapping)


def _times_lr(read: Callable[..., Any], data: Mapping[str, Any], base: Mapping[str, float]) -> Any:
    # HF's schedule is a multiplier: --base lr wins over the file's learning_rate (HF's default).
    return float(base.get("lr", data.get("learning_rate", 5e-5))) * read(data)


def _lr_from_base(
    read: Callable[..., Any], data: Mapping[str, Any], base: Mapping[str, float]
) -> Any:
    # Without --base lr the importer reads the lr from the config's optimizer block.
    return read(data, lr=base.get("lr"))


FORMATS: tuple[Format, ...] = (
    Format(
        name="hf",
        title="an HF TrainingArguments JSON (lr_scheduler_type)",
        description="`lr_scheduler_type` (what `TrainingArguments.to_json_string()` writes)",
        importer="schedalg.importers.hf:from_training_arguments",
        curves="`lr`: `learning_rate` (or `--base lr=...`) times the multiplier",
        detect=lambda data: "lr_scheduler_type" in data,
        call=_times_lr,
    ),
    Format(
        name="deepspeed",
        title="a DeepSpeed config (a scheduler block)",
        description="a `scheduler` block with a `type` (a whole DeepSpeed config), or just "
        '`{"type", "params"}`',
        importer="schedalg.importers.deepspeed:from_deepspeed",
        curves="`lr` (from the config's optimizer lr, or `--base lr=...`), and `momentum` for "
        "`OneCycle`; `lr (group i)` for per-group lists",
        detect=_is_deepspeed,
        call=_lr_from_base,
    ),
    Format(
        name="keras",
        title="a Keras schedule config (class_name, config)",
        description="`class_name` and a `config` mapping (`keras.optimizers.schedules.serialize`)",
        importer="schedalg.importers.keras:from_keras",
        curves="`lr`",
        detect=lambda data: "class_name" in data and isinstance(data.get("config"), Mapping),
    ),
    Format(
        name="mmengine",
        title="an MMEngine config (param_scheduler)",
        description="`param_scheduler`, whatever else the file holds (and any `.py` config)",
        importer="schedalg.importers.mmengine.convert:from_config",
        curves="one per parameter",
        detect=lambda data: "param_scheduler" in data,
        config=True,
    ),
)
# schedalg's own data, read before any format: named in the error for a file none fits.
TO_DICT = "a schedalg to_dict file (schedalg)"


def hints() -> tuple[str, ...]:
    """The names ``--format-hint`` takes."""
    return tuple(f.name for f in FORMATS)


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def hint_help() -> str:
    """``--format-hint``'s help."""
    return f"read .json/.yaml inputs as {_either(hints())} (default: recognised from their keys)"


def files_help() -> str:
    """The inputs' help on schedule files: the formats read as data alone."""
    names = [f.name for f in FORMATS if not f.config]
    return f"a .json/.yaml schedule file of {_either(names)} (see --format-hint)"


def tried() -> str:
    """Every kind of file, for the error of a file none fits: the formats read as data, then
    schedalg's own, then the configs (the order the message has always had)."""
    titles = [f.title for f in FORMATS if not f.config]
    return "; ".join([*titles, TO_DICT, *(f.title for f in FORMATS if f.config)])


def markdown_table() -> str:
    """The table of formats in docs/command-line.md (the page holds it verbatim)."""
    rows = [
        "| format (`--format-hint`) | recognised by | read with | curves |",
        "|---|---|---|---|",
    ]
    for f in FORMATS:
        read_with = f"`{f.importer.replace(':', '.')}`"
        rows.append(f"| `{f.name}` | {f.description} | {read_with} | {f.curves} |")
    return "\n".join(rows) + "\n"


def by_name(hint: str) -> Format:
    """The format ``--format-hint`` names; an unknown name is a user error with a suggestion."""
    names = hints()
    if hint not in names:
        close = difflib.get_close_matches(hint, names, n=1)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(
            f"--format-hint must be one of {', '.join(names)}, got {hint!r}{suggestion}"
        )
    return FORMATS[names.index(hint)]


def _candidates(path: str, data: Any, hint: str | None) -> list[Format]:
    if hint is not None:
        chosen = by_name(hint)
        if not (chosen.config or isinstance(data, Mapping)):
            raise UserError(f"{path}: a {hint} file holds a mapping, got {type(data).__name__}")
        return [chosen]
    return [f for f in FORMATS if isinstance(data, Mapping) and f.detect(data)]


def recognise(path: str, data: Any, hint: str | None, base: Mapping[str, float]) -> Labelled | None:
    """The schedules of a data file in one of ``FORMATS``; ``None`` for a config format (the
    config reader takes it, whatever other format the file also fits). ``hint`` (a format's
    name) skips the detection; a file no format fits is an error naming every format tried."""
    chosen = _candidates(path, data, hint)
    if any(f.config for f in chosen):
        return None
    if not chosen:
        raise UserError(f"{path}: not a schedule file I recognise (tried {tried()})")
    if len(chosen) > 1:
        names = " and ".join(f.name for f in chosen)
        raise UserError(f"{path} reads as {names}: pass --format-hint NAME to choose")
    try:
        schedules = chosen[0].load(data, base)
    except ImportError as error:
        raise UserError(f"cannot read {path} as {chosen[0].name}: {error}") from None
    except (ValueError, TypeError, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{path} (read as {chosen[0].name}): {message}") from None
    name = os.path.basename(path)
    return [(f"{name}: {label}", schedule) for label, schedule in schedules]
