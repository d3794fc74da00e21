"""The command line's arguments: the parser, its value types, and the one-line user error."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

# The largest --width/--height: pixels for a PNG (Agg needs width * height * 4 bytes and refuses
# sides over 2**16), columns or rows for the terminal.
MAX_SIDE = 10_000
FORMATS = ("csv", "json", "npy")
# The most steps `plot` and `export` take: they stream the curve, so memory sets no limit; past
# 2**53 steps are no longer distinct as float64, which the formulas evaluate on.
MAX_STREAMED = 2**53
EXAMPLE = 'schedalg plot "warmup(cosine(9000), 1000, start=0.01)" --steps 10000'


class UserError(Exception):
    """A problem with what the user typed or pointed at: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage block: the same shape as every other user error.
        raise UserError(f"{message} (see `{self.prog} --help`)")


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


def setting(text: str) -> tuple[str, int]:
    """``--set total=100000``: a placeholder's name and its non-negative integer value."""
    name, equals, value = text.partition("=")
    if not (equals and name.strip().isidentifier()):
        raise argparse.ArgumentTypeError(f"--set takes NAME=INTEGER, got {text!r}")
    number = whole_number(f"--set {name.strip()}", value)
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"--set {name.strip()} must be a non-negative integer, got {value!r}"
        )
    return name.strip(), number


def size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, e.g. 800x450, got {text!r}")
    if any(int(p) > MAX_SIDE for p in parts):
        raise argparse.ArgumentTypeError(
            f"--size: width and height must be at most {MAX_SIDE}, got {text!r}"
        )
    return int(parts[0]), int(parts[1])


def _common(sub: argparse.ArgumentParser, max_steps: int) -> None:
    sub.add_argument(
        "inputs",
        nargs="+",
        metavar="EXPR|CONFIG",
        help="an expression such as 'warmup(cosine(900), 100)', a .json file from to_dict, "
        "an HF TrainingArguments, DeepSpeed or Keras schedule .json/.yaml, or an MMEngine-style "
        ".py/.json config with param_scheduler (several may be given)",
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
    sub.add_argument(
        "--format-hint",
        metavar="NAME",
        help="read .json/.yaml inputs as hf, deepspeed, keras or mmengine (default: recognised "
        "from their keys)",
    )
    sub.add_argument(
        "--epoch-length",
        "-L",
        type=positive("--epoch-length"),
        help="iterations per epoch: configs with by_epoch schedulers need it; an expression "
        "is then read in epochs (per_epoch(expr, L))",
    )
    sub.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=N",
        help="bind a placeholder of the expressions, e.g. --set total=100000 (repeatable)",
    )


def _plot_arguments(plot: argparse.ArgumentParser) -> None:
    plot.add_argument(
        "-o",
        "--output",
        help="image file to write (needs matplotlib); the suffix picks the format, and a name "
        "without one gets .png",
    )
    plot.add_argument("--log", action="store_true", help="logarithmic value (y) axis")
    plot.add_argument("--width", type=positive("--width", MAX_SIDE), help="pixels (PNG) or columns")
    plot.add_argument("--height", type=positive("--height", MAX_SIDE), help="pixels (PNG) or rows")
    plot.add_argument("--size", type=size, help="WIDTHxHEIGHT, same as --width and --height")


def build_parser(
    version: str, extra: Sequence[Callable[[Any], None]] = ()
) -> argparse.ArgumentParser:
    """The parser; each of ``extra`` adds a subcommand to the subparsers."""
    from schedalg.analysis.description import MAX_STREAMED_STEPS

    parser = _Parser(
        prog="schedalg",
        description="Plot, describe, check and export training schedules.",
        epilog=f"Example: {EXAMPLE}\n`schedalg list` lists the constructors, "
        "`schedalg help NAME` explains one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"schedalg {version}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    plot = commands.add_parser("plot", help="draw the curve (PNG with -o, else in the terminal)")
    _common(plot, MAX_STREAMED)
    _plot_arguments(plot)
    describe = commands.add_parser("describe", help="summarise the curve: phases, peak, jumps")
    _common(describe, MAX_STREAMED_STEPS)
    describe.add_argument(
        "--below",
        type=fraction,
        action="append",
        default=[],
        metavar="FRACTION",
        help="report the first step after the peak where the value is below FRACTION of the "
        "peak, e.g. 0.1 (repeatable)",
    )
    check = commands.add_parser("check", help="warn about likely mistakes; exit 1 if any")
    _common(check, MAX_STREAMED_STEPS)
    export = commands.add_parser("export", help="write the curve as CSV, JSON or NumPy .npy")
    _common(export, MAX_STREAMED)
    export.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        help="default: from the suffix of -o (.csv, .json, .npy), else csv",
    )
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    for add in extra:
        add(commands)
    commands.add_parser("list", help="list the constructors, one line each")
    explain = commands.add_parser("help", help="explain one constructor: formula, parameters")
    explain.add_argument("name", metavar="NAME", help="a constructor, e.g. cosine")
    return parser
