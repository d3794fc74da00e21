"""The schedule files the command line recognises, one entry per format: its name (what
``--format-hint`` takes), a detector (does this data look like it?) and a loader (the labelled
schedules it gives). A ``.json``, ``.yaml`` or ``.yml`` file is read as data (never run); a
schedalg ``to_dict`` file and an MMEngine-style config are read by ``schedalg.cli.inputs``.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.cli.parser import UserError

DATA_SUFFIXES = (".json", ".yaml", ".yml")
Labelled = list[tuple[str, Schedule]]


@dataclass(frozen=True)
class Format:
    """One kind of schedule file."""

    name: str
    title: str
    detect: Callable[[Mapping[str, Any]], bool]
    load: Callable[[Mapping[str, Any], Mapping[str, float]], Labelled]


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


# -- HF TrainingArguments ------------------------------------------------------------------------


def _is_hf(data: Mapping[str, Any]) -> bool:
    return "lr_scheduler_type" in data


def _load_hf(data: Mapping[str, Any], base: Mapping[str, float]) -> Labelled:
    from schedalg.importers.hf import from_training_arguments

    multiplier = from_training_arguments(data)
    lr = base.get("lr", data.get("learning_rate", 5e-5))
    return [("lr", float(lr) * multiplier)]


# -- DeepSpeed -----------------------------------------------------------------------------------


def _is_deepspeed(data: Mapping[str, Any]) -> bool:
    block = data.get("scheduler")
    if isinstance(block, Mapping):
        return "type" in block
    return set(data) == {"type", "params"} and isinstance(data["params"], Mapping)


def _load_deepspeed(data: Mapping[str, Any], base: Mapping[str, float]) -> Labelled:
    from schedalg.importers.deepspeed import from_deepspeed

    found = from_deepspeed(data, lr=base.get("lr"))
    out: Labelled = []
    for key, value in found.items():
        if isinstance(value, list):
            out.extend((f"{key} (group {i})", schedule) for i, schedule in enumerate(value))
        else:
            out.append((key, value))
    return out


# -- Keras ---------------------------------------------------------------------------------------


def _is_keras(data: Mapping[str, Any]) -> bool:
    return "class_name" in data and isinstance(data.get("config"), Mapping)


def _load_keras(data: Mapping[str, Any], base: Mapping[str, float]) -> Labelled:
    from schedalg.importers.keras import from_keras

    return [("lr", from_keras(dict(data)))]


FORMATS: tuple[Format, ...] = (
    Format("hf", "an HF TrainingArguments JSON (lr_scheduler_type)", _is_hf, _load_hf),
    Format("deepspeed", "a DeepSpeed config (a scheduler block)", _is_deepspeed, _load_deepspeed),
    Format("keras", "a Keras schedule config (class_name, config)", _is_keras, _load_keras),
)
# The names ``--format-hint`` takes: the formats above, and the MMEngine config reader's.
HINTS = (*(f.name for f in FORMATS), "mmengine")
# What ``schedalg.cli.inputs`` reads itself, named in the message for a file none of them fits.
OTHERS = ("a schedalg to_dict file (schedalg)", "an MMEngine config (param_scheduler)")


def recognise(path: str, data: Any, hint: str | None, base: Mapping[str, float]) -> Labelled | None:
    """The schedules of a data file in one of ``FORMATS``; ``None`` for an MMEngine-style config
    (``param_scheduler``), which the config reader takes. ``hint`` (a format's name) skips the
    detection; a file no format fits is an error naming every format tried."""
    by_name = {f.name: f for f in FORMATS}
    if hint is not None and hint not in HINTS:
        close = difflib.get_close_matches(hint, HINTS, n=1)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(
            f"--format-hint must be one of {', '.join(HINTS)}, got {hint!r}{suggestion}"
        )
    if hint is not None and hint in by_name:
        chosen = [by_name[hint]]
        if not isinstance(data, Mapping):
            raise UserError(f"{path}: a {hint} file holds a mapping, got {type(data).__name__}")
    elif hint is not None or (isinstance(data, Mapping) and "param_scheduler" in data):
        return None
    else:
        chosen = [f for f in FORMATS if isinstance(data, Mapping) and f.detect(data)]
    if not chosen:
        tried = "; ".join([*(f.title for f in FORMATS), *OTHERS])
        raise UserError(f"{path}: not a schedule file I recognise (tried {tried})")
    if len(chosen) > 1:
        names = " and ".join(f.name for f in chosen)
        raise UserError(f"{path} reads as {names}: pass --format-hint NAME to choose")
    name = os.path.basename(path)
    try:
        schedules = chosen[0].load(data, base)
    except (ValueError, TypeError, KeyError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"{path} (read as {chosen[0].name}): {message}") from None
    return [(f"{name}: {label}", schedule) for label, schedule in schedules]
