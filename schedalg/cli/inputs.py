"""The command line's inputs: an expression, a ``.json`` file from ``to_dict``, a file in one
of the formats of ``schedalg.cli.formats.FORMATS`` (a launch script among them), or an
MMEngine-style config, each read as data or text (never run), and their curves."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.cli.errors import UserError
from schedalg.cli.formats import recognise
from schedalg.cli.reading import SUFFIXES, Reading, read_data


def _is_file_like(text: str) -> bool:
    return text.endswith(SUFFIXES) or (os.sep in text and "(" not in text)


def load(
    text: str,
    *,
    steps: int | None,
    epoch_length: int | None,
    base: dict[str, float] | None = None,
    config_root: str | None = None,
    hint: str | None = None,
    settings: dict[str, str] | None = None,
    used: set[str] | None = None,
) -> tuple[list[tuple[str, Schedule]], int | None]:
    """The labelled schedules an input names (one for an expression, one per parameter for a
    config) and the run's length in iterations where the file gives it (a config's
    ``train_cfg``, a format's own length). ``settings`` are the ``--set`` values; the names a
    file's importer takes (a launch script's variables) are added to ``used``."""
    from schedalg.algebra.combinators import per_epoch
    from schedalg.forms.data import ParseError, from_dict
    from schedalg.forms.text import parse

    if not _is_file_like(text):
        try:
            schedule = parse(text)
        except ParseError as error:
            raise UserError(str(error).removeprefix("parse(): ")) from None
        if epoch_length is not None:
            schedule = per_epoch(schedule, epoch_length)
        return [(text, schedule)], None
    if not os.path.isfile(text):
        raise UserError(f"no such file: {text}")
    if not text.endswith(SUFFIXES):
        suffix = os.path.splitext(text)[1] or "no suffix"
        raise UserError(f"{text}: schedalg reads {', '.join(SUFFIXES)} files, got {suffix}")
    data = None if text.endswith(".py") else read_data(text)
    if isinstance(data, dict) and "schedalg" in data:
        try:
            return [(os.path.basename(text), from_dict(data))], None
        except ParseError as error:
            raise UserError(f"{text}: {error}") from None
    reading = Reading(
        text,
        base or {},
        epoch_length,
        settings or {},
        set() if used is None else used,
        config_root,
    )
    found = recognise(text, data, hint, reading) if data is not None else None
    if found is not None:
        return found
    return _load_config(
        text, steps=steps, epoch_length=epoch_length, base=base or {}, config_root=config_root
    )


def _load_config(
    path: str,
    *,
    steps: int | None,
    epoch_length: int | None,
    base: dict[str, float],
    config_root: str | None,
) -> tuple[list[tuple[str, Schedule]], int | None]:
    try:
        from schedalg.importers.mmengine import convert as mmengine
    except ImportError:
        raise UserError(
            f"cannot read the config {path}: this installation has no schedalg.mmengine"
        ) from None
    with _config_errors(path):
        settings = mmengine.read_settings(path, config_root=config_root)
        entries = settings["param_scheduler"]
        if settings.get("hook") is not None:
            return _from_hook(path, settings, epoch_length, base)
        by_epoch = _needs_epochs(entries)
        if by_epoch and epoch_length is None:
            raise UserError(
                f"{path} has by_epoch schedulers: give --epoch-length (iterations per epoch)"
            )
        loop = mmengine.loop_arguments(settings.get("train_cfg"))
        length = _run_length(path, loop, epoch_length)
        if not loop:
            # No train_cfg: the run is --steps iterations long, in whole epochs if epoch-based.
            if steps is None:
                raise UserError(f"{path} has no train_cfg giving the run's length: give --steps")
            loop = (
                {"max_epochs": -(-steps // epoch_length)}
                if by_epoch and epoch_length
                else {"max_iters": steps}
            )
        # --base overrides the optimizer's values read from the config.
        bases = {**settings.get("base", {}), **base}
        schedules = mmengine.from_config(
            entries,
            epoch_length=epoch_length or 1,
            max_epochs=loop.get("max_epochs"),
            max_iters=loop.get("max_iters"),
            base=bases,
        )
    name = os.path.basename(path)
    return [
        (f"{name}: {param}", _absolute(schedule, bases.get(param)))
        for param, schedule in schedules.items()
    ], length


def _absolute(schedule: Schedule, base: float | None) -> Schedule:
    """The parameter's own values where its base value is known, else the multiplier."""
    if base is None:
        return schedule
    from schedalg.algebra.expression import chain, constant
    from schedalg.algebra.units import absolute

    return absolute(chain(constant(base), schedule))


def _run_length(path: str, loop: dict[str, int], epoch_length: int | None) -> int | None:
    """The iterations of the run ``train_cfg`` describes (the default of --steps)."""
    if "max_iters" in loop:
        return loop["max_iters"]
    if "max_epochs" in loop and epoch_length is not None:
        return loop["max_epochs"] * epoch_length
    return None


def _from_hook(
    path: str, settings: dict[str, Any], epoch_length: int | None, base: dict[str, float]
) -> tuple[list[tuple[str, Schedule]], int | None]:
    """The schedule of a scheduler hook (``default_hooks.param_scheduler``)."""
    from schedalg.importers.mmengine.convert import loop_arguments
    from schedalg.importers.mmengine.hooks import HOOKS, from_hook

    hook = settings["hook"]
    kind = str(hook.get("type")).rsplit(".", 1)[-1]
    if kind not in HOOKS or settings["param_scheduler"] is not None:
        also = " besides its param_scheduler" if settings["param_scheduler"] is not None else ""
        raise UserError(
            f"{path}: the schedule lives in the hook default_hooks.param_scheduler "
            f"({hook['type']}){also}, which sets the optimizer's values itself; schedalg "
            f"reproduces MMEngine's ParamSchedulerHook and {', '.join(HOOKS)} alone"
        )
    if epoch_length is None:
        raise UserError(f"{path}: {kind} schedules by epoch: give --epoch-length")
    bases = {**settings.get("base", {}), **base}
    if "lr" not in bases:
        raise UserError(f"{path}: {kind} sets the lr itself: give --base lr=<value>")
    schedules = from_hook(hook, epoch_length=epoch_length, base=bases)
    length = _run_length(path, loop_arguments(settings.get("train_cfg")), epoch_length)
    name = os.path.basename(path)
    return [(f"{name}: {param}", schedule) for param, schedule in schedules.items()], length


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
        message = re.sub(r"\bpass epoch_length\b", "give --epoch-length", message)
        # The config reader already names the file in its messages; say it once.
        raise UserError(message if str(path) in message else f"{path}: {message}") from None
    except (RecursionError, MemoryError):
        raise UserError(f"{path}: nested too deeply to read") from None


def _needs_epochs(entries: Any) -> bool:
    from schedalg.importers.mmengine.specs import check_types

    # A misspelt type is reported before the missing --epoch-length: it is what a user fixes first.
    check_types(entries)
    try:
        return any(bool(entry.get("by_epoch", True)) for entry in entries)
    except (AttributeError, TypeError):
        return False


def gather(args: argparse.Namespace) -> list[tuple[str, Schedule]]:
    """The labelled schedules of every input, in order. Without ``--steps``, the run's length
    comes from the first file that gives it, or from ``--set total=N`` (``args.steps`` is set
    to it)."""
    found: list[tuple[str, Schedule]] = []
    settings = dict(getattr(args, "set", []))
    used: set[str] = set()
    lacking = None  # the first input that does not give the run's length
    for text in args.inputs:
        if os.path.isdir(text):
            raise UserError(f"{text} is a directory: give a config or .json file, or an expression")
        schedules, length = load(
            text,
            steps=args.steps,
            epoch_length=args.epoch_length,
            base=args.base,
            config_root=getattr(args, "config_root", None),
            hint=getattr(args, "format_hint", None),
            settings=settings,
            used=used,
        )
        if args.steps is None and length is not None:
            args.steps = length
        lacking = lacking or (text if length is None else None)
        found.extend(schedules)
    if not found:
        raise UserError("no schedule found in the inputs")
    found = bound(found, {k: v for k, v in settings.items() if k not in used})
    if args.steps is None:
        if "total" not in settings or "total" in used:
            raise UserError(f"give --steps (the number of iterations to evaluate) for {lacking}")
        args.steps = whole_number_setting("total", settings["total"])
    args.ylabel = _value_name(found)
    return found


def whole_number_setting(name: str, value: str) -> int:
    """A ``--set`` value bound to a placeholder: a non-negative whole number."""
    from schedalg.cli.arguments import whole_number

    try:
        number = whole_number(f"--set {name}", value)
    except argparse.ArgumentTypeError as error:
        raise UserError(str(error)) from None
    if number < 0:
        raise UserError(f"--set {name} must be a non-negative integer, got {value!r}")
    return number


def bound(found: list[tuple[str, Schedule]], values: dict[str, str]) -> list[tuple[str, Schedule]]:
    """The schedules with the ``--set`` placeholders bound; a name no input holds, or a
    placeholder left unbound, is a user error."""
    from schedalg.algebra.horizon import bind_held, placeholders

    held = {name for _, s in found for name in placeholders(s)}
    for name in values:
        if name not in held:
            raise UserError(f"--set {name}: no input holds a placeholder {name!r}")
    numbers = {name: whole_number_setting(name, value) for name, value in values.items()}
    try:
        result = [(label, bind_held(s, numbers)) for label, s in found]
    except (ValueError, TypeError) as error:
        raise UserError(str(error)) from None
    for label, schedule in result:
        missing = placeholders(schedule)
        if missing:
            also = ""
            if missing[0] == "total" and ": " in label:
                # A file's run length in epochs: the steps per epoch give it as well.
                also = " (the run's optimizer steps) or --steps-per-epoch N"
            raise UserError(
                f"{label} holds the unbound placeholder {missing[0]}: "
                f"give --set {missing[0]}=N{also}"
            )
    return result


def _value_name(found: list[tuple[str, Schedule]]) -> str:
    """The y axis: the parameter's name when every curve is that parameter's own values."""
    from schedalg.algebra.units import is_absolute

    names = {label.rsplit(": ", 1)[-1] for label, _ in found}
    if len(names) == 1 and all(is_absolute(s) for _, s in found):
        return names.pop()
    return "value"


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
