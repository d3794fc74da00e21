"""The ``schedalg`` command line (also ``python -m schedalg``): plot, describe, check and export
the curve of an expression or of an MMEngine-style ``param_scheduler`` config; list the
constructors and explain one; diff two schedules (``schedalg diff A B --steps N``).

Every input is either an expression in the library's own syntax (read by the safe
:func:`schedalg.forms.text.parse`, never ``eval``), a ``.json`` file written by ``to_dict``,
another library's schedule file (one entry each in ``schedalg.cli.formats.FORMATS``), or an
MMEngine-style ``.py``/``.json`` config (read as data by :mod:`schedalg.mmengine`, no code run).
The commands are the entries of ``schedalg.cli.parser.COMMANDS``. User errors print one line on
stderr and exit with status 2; ``check`` exits 1 when it warns, ``diff`` when the schedules
differ.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Sequence

from schedalg.cli.errors import USAGE_ERROR, UserError
from schedalg.cli.inputs import load
from schedalg.cli.parser import build_parser, command

__all__ = ["USAGE_ERROR", "UserError", "load", "main"]


def _version() -> str:
    """The installed distribution's version (a source tree run without installing has none)."""
    try:
        return importlib.metadata.version("schedalg")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check warned, 2 user error)."""
    try:
        parser = build_parser(_version())
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command is None:
            # A bare `schedalg`: the short help, not an error.
            sys.stdout.write(parser.format_help())
            return 0
        return command(args.command).run(args, sys.stdout)
    except UserError as error:
        print(f"schedalg: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as done:
        # --help and --version print and stop; the status is theirs.
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:
        # `schedalg export ... | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
