"""The ``schedalg`` command line (also ``python -m schedalg``): plot, describe, check and export
the curve of an expression or of an MMEngine-style ``param_scheduler`` config.

Every input is either an expression in the library's own syntax (read by the safe
:func:`schedalg.text.parse`, never ``eval``), a ``.json`` file written by ``to_dict``, or an
MMEngine-style ``.py``/``.json`` config (read as data by :mod:`schedalg.mmengine`, no code run).
User errors print one line on stderr and exit with status 2; ``check`` exits 1 when it warns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import numpy as np

from schedalg.expression import Schedule

USAGE_ERROR = 2
# The largest --width/--height: pixels for a PNG (Agg needs width * height * 4 bytes and refuses
# sides over 2**16), columns or rows for the terminal.
MAX_SIDE = 10_000


class UserError(Exception):
    """A problem with what the user typed or pointed at: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage block: the same shape as every other user error.
        raise UserError(f"{message} (see `{self.prog} --help`)")


def _positive(name: str, limit: int | None = None) -> Any:
    def convert(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a positive integer, got {text!r}"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be a positive integer, got {text!r}")
        if limit is not None and value > limit:
            raise argparse.ArgumentTypeError(f"{name} must be at most {limit}, got {text!r}")
        return value

    return convert


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, e.g. 800x450, got {text!r}")
    if any(int(p) > MAX_SIDE for p in parts):
        raise argparse.ArgumentTypeError(
            f"--size: width and height must be at most {MAX_SIDE}, got {text!r}"
        )
    return int(parts[0]), int(parts[1])


def _bases(text: str) -> dict[str, float]:
    try:  # --base lr=0.01,momentum=0.9
        found = {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}
    except ValueError:
        found = {}
    if not found or "" in found or not all(math.isfinite(v) and v for v in found.values()):
        raise argparse.ArgumentTypeError(f"--base takes NAME=VALUE,... nonzero, got {text!r}")
    return found


def _build_parser() -> argparse.ArgumentParser:
    from schedalg.analysis import MAX_STEPS

    parser = _Parser(
        prog="schedalg",
        description="Plot, describe, check and export training schedules.",
        epilog='Example: schedalg plot "warmup(cosine(9000), 1000, start=0.01)" --steps 10000',
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    def common(sub: argparse.ArgumentParser, several: bool) -> None:
        sub.add_argument(
            "inputs" if several else "input",
            nargs="+" if several else None,
            metavar="EXPR|CONFIG",
            help="an expression such as 'warmup(cosine(900), 100)', a .json file from to_dict, "
            "or an MMEngine-style .py/.json config with param_scheduler",
        )
        sub.add_argument(
            "--steps",
            "-n",
            type=_positive("--steps", MAX_STEPS),
            required=True,
            help="number of optimizer steps (iterations) to evaluate: steps [0, N)",
        )
        sub.add_argument("--base", type=_bases, default={}, help="lr=0.01,momentum=0.9,...")
        sub.add_argument(
            "--epoch-length",
            "-L",
            type=_positive("--epoch-length"),
            help="iterations per epoch: configs with by_epoch schedulers need it; an expression "
            "is then read in epochs (per_epoch(expr, L))",
        )

    plot = commands.add_parser("plot", help="draw the curve (PNG with -o, else in the terminal)")
    common(plot, several=True)
    plot.add_argument(
        "-o",
        "--output",
        help="image file to write (needs matplotlib); the suffix picks the format, and a name "
        "without one gets .png",
    )
    plot.add_argument("--log", action="store_true", help="logarithmic value axis")
    plot.add_argument(
        "--width", type=_positive("--width", MAX_SIDE), help="pixels (PNG) or columns"
    )
    plot.add_argument("--height", type=_positive("--height", MAX_SIDE), help="pixels (PNG) or rows")
    plot.add_argument("--size", type=_size, help="WIDTHxHEIGHT, same as --width and --height")

    describe = commands.add_parser("describe", help="summarise the curve: phases, peak, jumps")
    common(describe, several=False)

    check = commands.add_parser("check", help="warn about likely mistakes; exit 1 if any")
    common(check, several=False)

    export = commands.add_parser("export", help="write the curve as CSV, JSON or NumPy .npy")
    common(export, several=True)
    export.add_argument("--format", "-f", choices=("csv", "json", "npy"), default="csv")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    return parser


# -- inputs ----------------------------------------------------------------------------------------


def _is_file_like(text: str) -> bool:
    return text.endswith((".py", ".json")) or (os.sep in text and "(" not in text)


def load(
    text: str, *, steps: int, epoch_length: int | None, base: dict[str, float] | None = None
) -> list[tuple[str, Schedule]]:
    """The labelled schedules an input names: one for an expression, one per parameter for a
    config (``base`` overrides the config's base values)."""
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
    data = _read_json(text) if text.endswith(".json") else None
    if isinstance(data, dict) and "schedalg" in data:
        try:
            return [(os.path.basename(text), from_dict(data))]
        except ParseError as error:
            raise UserError(f"{text}: {error}") from None
    return _load_config(text, steps=steps, epoch_length=epoch_length, base=base or {})


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    except (RecursionError, MemoryError):
        # The json module recurses per bracket: '[' * 100000 exhausts the stack.
        raise UserError(f"cannot read {path}: JSON nested too deeply") from None


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
        message = re.sub(r"base=\{'(\w+)': <value>\}", r"--base \1=<value>", message)
        # The config reader already names the file in its messages; say it once.
        raise UserError(message if str(path) in message else f"{path}: {message}") from None
    except (RecursionError, MemoryError):
        raise UserError(f"{path}: nested too deeply to read") from None


def _needs_epochs(entries: Any) -> bool:
    try:
        return any(bool(entry.get("by_epoch", True)) for entry in entries)
    except (AttributeError, TypeError):
        return False


def _gather(args: argparse.Namespace) -> list[tuple[str, Schedule]]:
    inputs = args.inputs if hasattr(args, "inputs") else [args.input]
    found: list[tuple[str, Schedule]] = []
    for text in inputs:
        found.extend(load(text, steps=args.steps, epoch_length=args.epoch_length, base=args.base))
    if not found:
        raise UserError("no schedule found in the inputs")
    return found


@contextlib.contextmanager
def _evaluating(steps: int) -> Iterator[None]:
    """Evaluation failures as one-line user errors."""
    try:
        yield
    except MemoryError:
        raise UserError(f"not enough memory for a curve of {steps} steps") from None
    except (ValueError, TypeError) as error:
        # A Python function inside the expression may refuse some steps.
        raise UserError(f"cannot evaluate the schedule: {error}") from None


def _curve(schedule: Schedule, steps: int) -> np.ndarray:
    # NaN or inf values are reported (check) or written (export), not warned about.
    with _evaluating(steps), np.errstate(all="ignore"):
        return schedule.curve(steps)


# -- commands --------------------------------------------------------------------------------------


def _plot(args: argparse.Namespace, out: Any) -> int:
    schedules = _gather(args)
    series = [(label, _curve(s, args.steps)) for label, s in schedules]
    boundaries = _boundaries([s for _, s in schedules], args.steps)
    width, height = args.size if args.size else (args.width, args.height)
    if args.output is None:
        _plot_terminal(series, boundaries, width or 72, height or 16, args.log, out)
    else:
        _plot_image(series, boundaries, width or 800, height or 450, args.log, args.output)
    return 0


Series = list[tuple[str, np.ndarray]]


def _boundaries(schedules: list[Schedule], steps: int) -> list[int]:
    """The steps inside the run that any of the expressions marks."""
    from schedalg.tree import events

    marked = {e.step for s in schedules for e in events(s, steps)}
    return sorted(step for step in marked if 0 < step < steps)


def _plot_terminal(
    series: Series, boundaries: list[int], width: int, height: int, log: bool, out: Any
) -> None:
    from schedalg.plot import text_plot

    try:
        out.write(text_plot(series, width=width, height=height, log=log, boundaries=boundaries))
    except ValueError as error:
        raise UserError(str(error).removeprefix("text_plot(): ")) from None


def _plot_image(
    series: Series, boundaries: list[int], width: int, height: int, log: bool, output: str
) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(
            "writing an image needs matplotlib: pip install 'schedalg[plot]' "
            "(or leave out -o for a terminal plot)"
        ) from None
    from schedalg.plot import drawable, save_png

    path = _image_path(output)
    try:
        drawable(series, log=log)
    except ValueError as error:
        raise UserError(str(error)) from None
    title = series[0][0] if len(series) == 1 else None
    try:
        with warnings.catch_warnings():
            # matplotlib's warnings (fonts, layout) are not the user's problem; errors still are.
            warnings.simplefilter("ignore")
            save_png(
                series,
                path,
                width=width,
                height=height,
                log=log,
                boundaries=boundaries,
                title=title,
            )
    except MemoryError:
        raise UserError(f"not enough memory to draw a {width}x{height} image") from None
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise UserError(f"cannot write {path}: {str(error).splitlines()[0]}") from None
    print(f"wrote {path} ({width}x{height} pixels)", file=sys.stderr)


def _image_path(output: str) -> str:
    """The file ``-o`` names: a directory is refused, a name without a suffix gets ``.png``."""
    if output.endswith(("/", os.sep)) or os.path.isdir(output):
        raise UserError(f"-o must name an image file, not a directory: {output}")
    name = os.path.basename(output)
    if not os.path.splitext(name)[1]:
        return output + ".png"
    return output


def _describe(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis import describe

    for label, schedule in _gather(args):
        if label != repr(schedule):
            out.write(f"{label}\n")
        out.write(str(describe(schedule, args.steps)) + "\n")
    return 0


def _check(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis import check

    status = 0
    for label, schedule in _gather(args):
        warnings = check(schedule, args.steps)
        if not warnings:
            out.write(f"ok: {label}: no problems found over {args.steps} steps\n")
        for warning in warnings:
            out.write(f"warning [{warning.code}]: {label}: {warning.message}\n")
            status = 1
    return status


# Steps per piece when streaming an export: the curve and its text never exist whole in memory.
_EXPORT_CHUNK = 1 << 16


def _pieces(schedule: Schedule, steps: int) -> Iterator[np.ndarray]:
    """The curve of ``[0, steps)`` in pieces, with the same errors as ``_curve``."""
    with _evaluating(steps):
        chunks = iter(schedule.chunks(0, steps, size=_EXPORT_CHUNK))
        while True:
            with np.errstate(all="ignore"):
                piece = next(chunks, None)
            if piece is None:
                return
            yield piece


def _export(args: argparse.Namespace, out: Any) -> int:
    schedules = _gather(args)
    n = args.steps
    if args.format == "npy":
        if args.output is None:
            raise UserError("--format npy writes binary data: give a file with -o")
        shape = (n,) if len(schedules) == 1 else (len(schedules), n)
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}

        def binary(handle: Any) -> None:
            np.lib.format.write_array_header_1_0(handle, header)
            for _, schedule in schedules:
                for piece in _pieces(schedule, n):
                    handle.write(piece.astype("<f8", copy=False).tobytes())

        _stream(args.output, out, binary, binary=True)
        return 0
    if args.format == "json":

        def text(handle: Any) -> None:
            handle.write(f'{{"steps": {json.dumps(n)}, "curves": [')
            for i, (label, schedule) in enumerate(schedules):
                head = json.dumps({"label": label, "expression": repr(schedule)})[:-1]
                handle.write((", " if i else "") + head + ', "values": [')
                first = True
                for piece in _pieces(schedule, n):
                    items = [json.dumps(v) if math.isfinite(v) else "null" for v in piece.tolist()]
                    handle.write(("" if first else ", ") + ", ".join(items))
                    first = False
                handle.write("]}")
            handle.write("]}\n")

    else:

        def text(handle: Any) -> None:
            handle.write("step," + ",".join(_csv_field(label) for label, _ in schedules) + "\n")
            step = 0
            streams = [_pieces(schedule, n) for _, schedule in schedules]
            for pieces in zip(*streams):
                columns = [piece.tolist() for piece in pieces]
                handle.write(
                    "".join(
                        f"{step + i}," + ",".join(repr(column[i]) for column in columns) + "\n"
                        for i in range(len(columns[0]))
                    )
                )
                step += len(columns[0])

    _stream(args.output, out, text, binary=False)
    return 0


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _stream(path: str | None, out: Any, write: Any, *, binary: bool) -> None:
    """Run ``write(handle)`` on standard output or on the file ``path``."""
    if path is None:
        write(out)
        return
    try:
        if binary:
            with open(path, "wb") as handle:
                write(handle)
        else:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                write(handle)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


_COMMANDS = {"plot": _plot, "describe": _describe, "check": _check, "export": _export}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check warned, 2 user error)."""
    try:
        parser = _build_parser()
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        return _COMMANDS[args.command](args, sys.stdout)
    except UserError as error:
        print(f"schedalg: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        # `schedalg export ... | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
