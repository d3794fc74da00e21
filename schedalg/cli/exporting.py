"""``export`` and its arguments: the curve as CSV, JSON or NumPy ``.npy``, streamed in pieces."""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.cli.arguments import MAX_STREAMED, inputs_and_steps
from schedalg.cli.errors import UserError
from schedalg.cli.inputs import evaluating, gather

# Steps per piece when streaming an export: the curve and its text never exist whole in memory.
_EXPORT_CHUNK = 1 << 16
# What --format writes (schedalg.cli.formats.FORMATS are the files the inputs read).
EXPORT_FORMATS = ("csv", "json", "npy")


def export_arguments(export: argparse.ArgumentParser) -> None:
    inputs_and_steps(export, MAX_STREAMED)
    export.add_argument(
        "--format",
        "-f",
        choices=EXPORT_FORMATS,
        help="default: from the suffix of -o (.csv, .json, .npy), else csv",
    )
    export.add_argument("-o", "--output", help="file to write (default: standard output)")


def pieces(schedule: Schedule, steps: int, size: int | None = None) -> Iterator[np.ndarray]:
    """The curve of ``[0, steps)`` in pieces of ``size`` steps (default ``_EXPORT_CHUNK``),
    evaluation failures raised as one-line user errors (as ``inputs.curve`` does for the whole
    curve)."""
    with evaluating(steps):
        chunks = iter(schedule.chunks(0, steps, size=size or _EXPORT_CHUNK))
        while True:
            with np.errstate(all="ignore"):
                piece = next(chunks, None)
            if piece is None:
                return
            yield piece


Labelled = list[tuple[str, Schedule]]


def export_format(args: argparse.Namespace) -> str:
    """``--format`` when given, else the suffix of ``-o`` (``.csv``, ``.json``, ``.npy``), else
    CSV."""
    if args.format is not None:
        return str(args.format)
    suffix = os.path.splitext(args.output or "")[1].lower().lstrip(".")
    return suffix if suffix in EXPORT_FORMATS else "csv"


def export(args: argparse.Namespace, out: Any) -> int:
    schedules = gather(args)
    form = export_format(args)
    # The first piece of every curve is evaluated before anything is written: a schedule that
    # cannot be evaluated (a clock past the floats) is refused with no half-written output.
    for _, schedule in schedules:
        next(pieces(schedule, min(args.steps, _EXPORT_CHUNK)), None)
    if form == "npy":
        if args.output is None:
            raise UserError("--format npy writes binary data: give a file with -o")
        _stream(args.output, out, _npy_writer(schedules, args.steps), binary=True)
    else:
        writer = _json_writer if form == "json" else _csv_writer
        _stream(args.output, out, writer(schedules, args.steps), binary=False)
    return 0


def _npy_writer(schedules: Labelled, n: int) -> Any:
    shape = (n,) if len(schedules) == 1 else (len(schedules), n)
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}

    def binary(handle: Any) -> None:
        np.lib.format.write_array_header_1_0(handle, header)
        for _, schedule in schedules:
            for piece in pieces(schedule, n):
                handle.write(piece.astype("<f8", copy=False).tobytes())

    return binary


def _json_writer(schedules: Labelled, n: int) -> Any:
    def text(handle: Any) -> None:
        handle.write(f'{{"steps": {json.dumps(n)}, "curves": [')
        for i, (label, schedule) in enumerate(schedules):
            head = json.dumps({"label": label, "expression": repr(schedule)})[:-1]
            handle.write((", " if i else "") + head + ', "values": [')
            first = True
            for piece in pieces(schedule, n):
                items = [json.dumps(v) if math.isfinite(v) else "null" for v in piece.tolist()]
                handle.write(("" if first else ", ") + ", ".join(items))
                first = False
            handle.write("]}")
        handle.write("]}\n")

    return text


def _csv_writer(schedules: Labelled, n: int) -> Any:
    def text(handle: Any) -> None:
        handle.write("step," + ",".join(_csv_field(label) for label, _ in schedules) + "\n")
        step = 0
        streams = [pieces(schedule, n) for _, schedule in schedules]
        for parts in zip(*streams):
            columns = [part.tolist() for part in parts]
            handle.write(
                "".join(
                    f"{step + i}," + ",".join(repr(column[i]) for column in columns) + "\n"
                    for i in range(len(columns[0]))
                )
            )
            step += len(columns[0])

    return text


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
