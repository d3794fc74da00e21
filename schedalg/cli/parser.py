"""The command line's commands, one entry each in ``COMMANDS``, and the parser built from them.

A command is its name, its line in ``schedalg --help``, a function that adds its arguments to
its subparser and a function that runs it and returns the exit status; both live in the
command's own module. ``schedalg.cli.main`` dispatches through the same table, so a new command
is one module and one entry.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from schedalg.cli import commands, diffing, exporting, laws, reference
from schedalg.cli.errors import UserError

__all__ = ["COMMANDS", "Command", "UserError", "build_parser", "command"]

EXAMPLE = 'schedalg plot "warmup(cosine(9000), 1000, start=0.01)" --steps 10000'


@dataclass(frozen=True)
class Command:
    """One subcommand: ``arguments(subparser)`` adds its arguments, ``run(args, out)`` writes its
    output to ``out`` and returns the exit status."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int]


COMMANDS: tuple[Command, ...] = (
    Command(
        "plot",
        "draw the curve (PNG with -o, else in the terminal)",
        commands.plot_arguments,
        commands.plot,
    ),
    Command(
        "describe",
        "summarise the curve: phases, peak, jumps",
        commands.describe_arguments,
        commands.describe,
    ),
    Command(
        "check",
        "warn about likely mistakes; exit 1 if any",
        commands.check_arguments,
        commands.check,
    ),
    Command(
        "export",
        "write the curve as CSV, JSON or NumPy .npy",
        exporting.export_arguments,
        exporting.export,
    ),
    Command(
        "diff",
        "where two schedules differ; exit 1 if they do",
        diffing.diff_arguments,
        diffing.diff,
    ),
    Command(
        "fit",
        "fit a loss-curve law to logged runs (RUN.csv=EXPR); print it as JSON",
        laws.fit_arguments,
        laws.fit,
    ),
    Command(
        "predict",
        "rank schedules by the loss a law predicts at the last step",
        laws.predict_arguments,
        laws.predict,
    ),
    Command(
        "optimize",
        "the schedule a law predicts to end lowest",
        laws.optimize_arguments,
        laws.optimize,
    ),
    Command(
        "list",
        "list the constructors, one line each",
        reference.list_arguments,
        reference.list_constructors,
    ),
    Command(
        "help",
        "explain one constructor: formula, parameters",
        reference.explain_arguments,
        reference.explain,
    ),
)


def command(name: str) -> Command:
    """The entry of ``COMMANDS`` named ``name`` (argparse has already refused any other)."""
    return next(c for c in COMMANDS if c.name == name)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage block: the same shape as every other user error.
        raise UserError(f"{message} (see `{self.prog} --help`)")


def build_parser(version: str) -> argparse.ArgumentParser:
    """The parser: one subcommand per entry of ``COMMANDS``, in their order."""
    parser = _Parser(
        prog="schedalg",
        description="Plot, describe, check and export training schedules.",
        epilog=f"Example: {EXAMPLE}\n`schedalg list` lists the constructors, "
        "`schedalg help NAME` explains one.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"schedalg {version}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for entry in COMMANDS:
        entry.arguments(subparsers.add_parser(entry.name, help=entry.help))
    return parser
