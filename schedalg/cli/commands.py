"""The commands that show a curve: ``plot`` (terminal or image), ``describe`` and ``check``,
each with the function that adds its arguments (``schedalg.cli.parser.COMMANDS`` pairs them)."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.cli.arguments import (
    MAX_SIDE,
    MAX_STREAMED,
    fraction,
    inputs_and_steps,
    positive,
    size,
)
from schedalg.cli.errors import UserError
from schedalg.cli.inputs import gather


def plot_arguments(plot: argparse.ArgumentParser) -> None:
    inputs_and_steps(plot, MAX_STREAMED)
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


def plot(args: argparse.Namespace, out: Any) -> int:
    """Both pictures read each curve once, in pieces of ``schedalg.analysis.plot.CHUNK`` steps,
    keeping
    only what the picture draws: the memory does not grow with ``--steps``."""
    from schedalg.analysis import plot as pictures
    from schedalg.cli.exporting import pieces

    schedules = gather(args)
    series = [(label, pieces(s, args.steps, pictures.CHUNK)) for label, s in schedules]
    boundaries = _boundaries([s for _, s in schedules], args.steps)
    width, height = args.size if args.size else (args.width, args.height)
    if args.output is None:
        _plot_terminal(series, args.steps, boundaries, width or 72, height or 16, args.log, out)
    else:
        size = (width or 800, height or 450)
        _plot_image(
            series,
            args.steps,
            boundaries,
            size,
            args.log,
            args.output,
            getattr(args, "ylabel", "value"),
        )
    return 0


Series = list[tuple[str, Iterator[np.ndarray]]]


def _boundaries(schedules: list[Schedule], steps: int) -> list[int]:
    """The steps inside the run that any of the expressions marks."""
    from schedalg.algebra.tree import events

    marked = {e.step for s in schedules for e in events(s, steps)}
    return sorted(step for step in marked if 0 < step < steps)


def _plot_terminal(
    series: Series,
    steps: int,
    boundaries: list[int],
    width: int,
    height: int,
    log: bool,
    out: Any,
) -> None:
    from schedalg.analysis.plot import text_plot

    try:
        drawn = text_plot(
            series, width=width, height=height, log=log, boundaries=boundaries, steps=steps
        )
        out.write(drawn)
    except ValueError as error:
        raise UserError(str(error).removeprefix("text_plot(): ")) from None


def _plot_image(
    series: Series,
    steps: int,
    boundaries: list[int],
    size: tuple[int, int],
    log: bool,
    output: str,
    ylabel: str = "value",
) -> None:
    width, height = size
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(
            "writing an image needs matplotlib: pip install 'schedalg[plot]' "
            "(or leave out -o for a terminal plot)"
        ) from None
    from schedalg.analysis.plot import drawable, envelopes, save_png

    path = _image_path(output)
    shown = envelopes(series, steps)
    try:
        drawable(shown, log=log)
    except ValueError as error:
        raise UserError(str(error)) from None
    title = series[0][0] if len(series) == 1 else None
    try:
        with warnings.catch_warnings():
            # matplotlib's warnings (fonts, layout) are not the user's problem; errors still are.
            warnings.simplefilter("ignore")
            save_png(
                shown,
                path,
                width=width,
                height=height,
                log=log,
                boundaries=boundaries,
                title=title,
                ylabel=ylabel,
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


def describe_arguments(describe: argparse.ArgumentParser) -> None:
    from schedalg.analysis.description import MAX_STREAMED_STEPS

    inputs_and_steps(describe, MAX_STREAMED_STEPS)
    describe.add_argument(
        "--below",
        type=fraction,
        action="append",
        default=[],
        metavar="FRACTION",
        help="report the first step after the peak where the value is below FRACTION of the "
        "peak, e.g. 0.1 (repeatable)",
    )


def describe(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis.description import describe

    for index, (label, schedule) in enumerate(gather(args)):
        if index:
            out.write("\n")
        if label != repr(schedule):
            out.write(f"{label}\n")
        out.write(str(describe(schedule, args.steps, below=args.below)) + "\n")
    return 0


def check_arguments(check: argparse.ArgumentParser) -> None:
    from schedalg.analysis.description import MAX_STREAMED_STEPS

    inputs_and_steps(check, MAX_STREAMED_STEPS)


def check(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis.checks import check

    status = 0
    for label, schedule in gather(args):
        warnings = check(schedule, args.steps)
        if not warnings:
            out.write(f"ok: {label}: no problems found over {args.steps} steps\n")
        for warning in warnings:
            out.write(f"warning [{warning.code}]: {label}: {warning.message}\n")
            status = 1
    return status
