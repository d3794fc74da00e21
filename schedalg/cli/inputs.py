"""The command line's inputs: an expression, a ``.json`` file from ``to_dict``, a file in one
of the formats of ``schedalg.cli.formats`` (HF, DeepSpeed, Keras), or an MMEngine-style config,
each read as data (never run), and their curves."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.cli.formats import DATA_SUFFIXES, read_data, recognise
from schedalg.cli.parser import UserError
from schedalg.expression import Schedule


def _is_file_like(text: str) -> bool:
    return text.endswith((".py", *DATA_SUFFIXES)) or (os.sep in text and "(" not in text)


def load(
    text: str,
    *,
    steps: int,
    epoch_length: int | None,
    base: dict[str, float] | None = None,
    hint: str | None = None,
) -> list[tuple[str, Schedule]]:
    """The labelled schedules an input names: one for an expression, one per parameter for a
    config."""
    from schedalg.combinators import per_epoch
    from schedalg.text import ParseError, from_dict, parse

    if not _is_file_like(text):
        try:
            schedule = parse(text)
        except ParseError as error:
            raise UserError(str(error).removeprefix("parse(): ")) from None
        if epoch_length is not None:
            schedule = per_epoch(schedule, epoch_length)
        return [(text, schedule)]
    if not os.path.isfile(text):
        raise UserError(f"no such file: {text}")
    data = read_data(text) if text.endswith(DATA_SUFFIXES) else None
    if isinstance(data, dict) and "schedalg" in data:
        try:
            return [(os.path.basename(text), from_dict(data))]
        except ParseError as error:
            raise UserError(f"{text}: {error}") from None
    found = recognise(text, data, hint, base or {}) if data is not None else None
    if found is not None:
        return found
    return _load_config(text, steps=steps, epoch_length=epoch_length, base=base or {})


def _load_config(
    path: str, *, steps: int, epoch_length: int | None, base: dict[str, float]
) -> list[tuple[str, Schedule]]:
    try:
        from schedalg import mmengine
    except ImportError:
        raise UserError(
            f"cannot read the config {path}: this installation has no schedalg.mmengine"
        ) from None
    with _config_errors(path):
        settings = mmengine.read_settings(path)
        entries = settings["param_scheduler"]
        by_epoch = _needs_epochs(entries)
        if by_epoch and epoch_length is None:
            raise UserError(
                f"{path} has by_epoch schedulers: give --epoch-length (iterations per epoch)"
            )
        loop = mmengine.loop_arguments(settings.get("train_cfg"))
        if not loop:
            # No train_cfg: the run is --steps iterations long, in whole epochs if epoch-based.
            loop = (
                {"max_epochs": -(-steps // epoch_length)}
                if by_epoch and epoch_length
                else {"max_iters": steps}
            )
        schedules = mmengine.from_config(
            entries,
            epoch_length=epoch_length or 1,
            max_epochs=loop.get("max_epochs"),
            max_iters=loop.get("max_iters"),
            # --base overrides the optimizer's values read from the config.
            base={**settings.get("base", {}), **base},
        )
    name = os.path.basename(path)
    return [(f"{name}: {param}", schedule) for param, schedule in schedules.items()]


@contextlib.contextmanager
def _config_errors(path: str) -> Iterator[None]:
    """A config's errors as one-line user errors that name the file once."""
    try:
        yield
    except UserError:
        raise
    except ImportError as error:
        raise UserError(f"cannot read the config {path}: {error}") from None
    except (OSError, ValueError, TypeError, KeyError, SyntaxError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        # A hint to pass base= in Python reads, on the command line, as the option that does it.
        message = re.sub(r"base=\{'(\w+)': <value>\}", r"--base \1=<value>", message)
        # The config reader already names the file in its messages; say it once.
        raise UserError(message if str(path) in message else f"{path}: {message}") from None
    except (RecursionError, MemoryError):
        raise UserError(f"{path}: nested too deeply to read") from None


def _needs_epochs(entries: Any) -> bool:
    from schedalg.mmengine.specs import check_types

    # A misspelt type is reported before the missing --epoch-length: it is what a user fixes first.
    check_types(entries)
    try:
        return any(bool(entry.get("by_epoch", True)) for entry in entries)
    except (AttributeError, TypeError):
        return False


def gather(args: argparse.Namespace) -> list[tuple[str, Schedule]]:
    """The labelled schedules of every input, in order."""
    found: list[tuple[str, Schedule]] = []
    for text in args.inputs:
        if os.path.isdir(text):
            raise UserError(f"{text} is a directory: give a config or .json file, or an expression")
        found.extend(
            load(
                text,
                steps=args.steps,
                epoch_length=args.epoch_length,
                base=args.base,
                hint=args.format_hint,
            )
        )
    if not found:
        raise UserError("no schedule found in the inputs")
    return found


@contextlib.contextmanager
def evaluating(steps: int) -> Iterator[None]:
    """Evaluation failures as one-line user errors."""
    try:
        yield
    except MemoryError:
        raise UserError(f"not enough memory for a curve of {steps} steps") from None
    except (ValueError, TypeError) as error:
        # A Python function inside the expression may refuse some steps.
        raise UserError(f"cannot evaluate the schedule: {error}") from None


def curve(schedule: Schedule, steps: int) -> np.ndarray:
    # NaN or inf values are reported (check) or written (export), not warned about.
    with evaluating(steps), np.errstate(all="ignore"):
        return schedule.curve(steps)
