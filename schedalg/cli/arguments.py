"""The command line's arguments: their value types (``--steps 1e4``, ``--base lr=0.01``) and the
options every command that reads inputs shares. Each command adds its own arguments next to its
``run`` (``schedalg.cli.parser.COMMANDS`` pairs them)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from schedalg.cli import formats

# The largest --width/--height: pixels for a PNG (Agg needs width * height * 4 bytes and refuses
# sides over 2**16), columns or rows for the terminal.
MAX_SIDE = 10_000
# The most steps `plot` and `export` take: they stream the curve, so memory sets no limit; past
# 2**53 steps are no longer distinct as float64, which the formulas evaluate on.
MAX_STREAMED = 2**53


def bases(text: str) -> dict[str, float]:
    """``--base lr=0.01,momentum=0.9``: finite, non-zero values by parameter name."""
    try:
        found = {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError:
        found = {}
    if not found or "" in found or not all(math.isfinite(v) and v for v in found.values()):
        raise argparse.ArgumentTypeError(f"--base takes NAME=VALUE,... nonzero, got {text!r}")
    return found


def whole_number(name: str, text: str) -> int:
    """``text`` as an integer: ``10000``, ``10_000`` and ``1e4`` all read as 10000; a fraction,
    an infinity or NaN is refused with its own message."""
    cleaned = text.strip().replace("_", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        value = float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name} must be a positive integer, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{name} must be a finite number, got {text!r}")
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
    return int(value)


def positive(name: str, limit: int | None = None) -> Any:
    def convert(text: str) -> int:
        value = whole_number(name, text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"{name} must be at most {limit}, got {text!r}")
        return value

    return convert


def fraction(text: str) -> float:
    """``--below 0.1``: a fraction of the peak in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"--below must be a fraction of the peak in (0, 1], got {text!r}"
        )
    return value


def setting(text: str) -> tuple[str, str]:
    """``--set total=100000``: a name and its value, kept as written. A placeholder takes a
    non-negative integer (checked when it is bound); a launch script's variable takes the text
    the shell would have."""
    name, equals, value = text.partition("=")
    if not (equals and name.strip().isidentifier() and value.strip()):
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, e.g. 800x450, got {text!r}")
    if any(int(p) > MAX_SIDE for p in parts):
        raise argparse.ArgumentTypeError(
            f"--size: width and height must be at most {MAX_SIDE}, got {text!r}"
        )
    return int(parts[0]), int(parts[1])


def inputs_and_steps(sub: argparse.ArgumentParser, max_steps: int) -> None:
    """The inputs (several), ``--steps`` up to ``max_steps``, and the input options."""
    sub.add_argument(
        "inputs",
        nargs="+",
        metavar="EXPR|CONFIG",
        help="an expression such as 'warmup(cosine(900), 100)', a .json file from to_dict, "
        f"{formats.files_help()}, or an MMEngine-style .py/.json config with param_scheduler "
        "(several may be given)",
    )
    sub.add_argument(
        "--steps",
        "-n",
        type=positive("--steps", max_steps),
        help="number of optimizer steps (iterations) to evaluate: steps [0, N); "
        "10000, 10_000 and 1e4 are the same; a config's train_cfg gives the default "
        "(max_iters, or max_epochs times --epoch-length)",
    )
    input_options(sub)


def input_options(sub: argparse.ArgumentParser) -> None:
    """How inputs are read: base values, config roots, format hints, epochs, placeholders."""
    sub.add_argument(
        "--base",
        type=bases,
        default={},
        help="the optimizer's values, NAME=VALUE,... (lr=0.01,momentum=0.9): they override a "
        "config's optim_wrapper.optimizer",
    )
    sub.add_argument(
        "--config-root",
        metavar="DIR",
        help="the configs directory that package::path bases are found in (e.g. an "
        "mmdetection checkout's configs/); default: the installed package's .mim/configs",
    )
    # The names are checked when a file is read (schedalg.cli.formats.recognise), which
    # suggests the nearest one; argparse's own choices= check would not.
    sub.add_argument("--format-hint", metavar="NAME", help=formats.hint_help())
    sub.add_argument(
        "--epoch-length",
        "--steps-per-epoch",
        "-L",
        type=positive("--epoch-length"),
        help="optimizer steps (iterations) per epoch: a file whose run is given in epochs needs "
        "it (HF num_train_epochs, torchtune, Lightning, ultralytics batches per epoch, MMEngine "
        "by_epoch schedulers); an expression is then read in epochs (per_epoch(expr, L))",
    )
    sub.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="bind a placeholder of the expressions, e.g. --set total=100000, or give a "
        "launch script's shell variable, e.g. --set LR=3e-4 (repeatable)",
    )
