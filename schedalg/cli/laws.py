"""``schedalg fit``, ``predict`` and ``optimize``: a loss-curve law from logged runs, the loss it
predicts for any schedule, and the schedule it predicts to end lowest.

- ``schedalg fit RUN.csv=EXPR ... [-o LAW.json]``: each run is a CSV of its logged ``step`` and
  ``loss`` (an ``lr`` column, if present, is checked against ``EXPR``, the run's absolute
  learning-rate schedule); prints the fitted law as JSON, progress and residuals on stderr.
- ``schedalg predict LAW.json EXPR|RUN.csv=EXPR ... --steps N [-o plot.png]``: each candidate's
  predicted loss at the last step ``N - 1``, lowest first; ``-o`` draws the predicted curves,
  with the logged losses of the candidates given as runs.
- ``schedalg optimize LAW.json --steps N --peak X --warmup W [--free]``: the expression.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedalg.algebra.expression import Schedule
from schedalg.cli.arguments import positive
from schedalg.cli.errors import UserError
from schedalg.cli.inputs import load

__all__ = [
    "fit",
    "fit_arguments",
    "optimize",
    "optimize_arguments",
    "predict",
    "predict_arguments",
]

# Relative difference beyond which a CSV's lr column and the run's expression disagree.
LR_TOLERANCE = 1e-12
# The longest run the commands take: the law reads the whole curve (8 bytes a step, a few times).
MAX_STEPS = 10**7
# Steps on each predicted curve of a picture (plus the logged ones).
PICTURE_POINTS = 400


@dataclass(frozen=True)
class Run:
    """A logged run: its file, its schedule and the logged steps and losses."""

    path: str
    text: str
    schedule: Schedule
    steps: np.ndarray
    losses: np.ndarray


def _number(name: str, above: float | None = None, at_least: float | None = None) -> Any:
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        low_ok = (above is None or value > above) and (at_least is None or value >= at_least)
        if not (math.isfinite(value) and low_ok):
            bound = f" > {above:g}" if above is not None else f" >= {at_least:g}"
            raise argparse.ArgumentTypeError(f"{name} must be a finite number{bound}, got {text!r}")
        return value

    return convert


# -- reading --------------------------------------------------------------------------------------


def _schedule(text: str) -> Schedule:
    found = load(text, steps=None, epoch_length=None)[0]
    if len(found) != 1:
        raise UserError(f"{text} holds {len(found)} schedules: give one learning-rate schedule")
    return found[0][1]


def is_run(text: str) -> bool:
    """``RUN.csv=EXPR``: a CSV path before the first ``=``."""
    path, equals, _ = text.partition("=")
    return bool(equals) and path.lower().endswith(".csv")


def read_run(text: str) -> Run:
    """``RUN.csv=EXPR`` read and checked: the CSV's steps and losses, ``EXPR`` its schedule."""
    path, _, expression = text.partition("=")
    if not is_run(text) or not expression.strip():
        raise UserError(f"a run is RUN.csv=EXPR (its lr schedule), got {text!r}")
    if not os.path.isfile(path):
        raise UserError(f"no such file: {path}")
    schedule = _schedule(expression)
    steps, lrs, losses = _columns(path)
    if lrs is not None:
        _same_rates(path, expression, schedule, steps, lrs)
    return Run(path, expression, schedule, steps, losses)


def _columns(path: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The ``step``, ``lr`` (or None) and ``loss`` columns of a CSV with a header."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    if not rows or not {"step", "loss"} <= set(rows[0]):
        raise UserError(f"{path}: a run's CSV has a header with the columns step,loss (and lr)")
    values = {name: _column(path, rows, name) for name in ("step", "lr", "loss") if name in rows[0]}
    steps, losses = values["step"], values["loss"]
    bad = (steps != np.round(steps)) | (steps < 1) | (np.diff(steps, prepend=0.0) <= 0)
    if np.any(bad):
        line = int(np.argmax(bad)) + 2
        raise UserError(
            f"{path}, line {line}: step must be increasing integers >= 1, got "
            f"{float(steps[line - 2])!r}"
        )
    if np.any(losses <= 0):
        line = int(np.argmax(losses <= 0)) + 2
        raise UserError(f"{path}, line {line}: loss must be > 0, got {float(losses[line - 2])!r}")
    return steps.astype(np.int64), values.get("lr"), values["loss"]


def _column(path: str, rows: list[dict[str, str]], name: str) -> np.ndarray:
    out = np.empty(len(rows))
    for line, row in enumerate(rows, start=2):
        try:
            out[line - 2] = float(row[name])
        except (TypeError, ValueError):
            raise UserError(
                f"{path}, line {line}: {name} must be a number, got {row[name]!r}"
            ) from None
        if not math.isfinite(out[line - 2]):
            raise UserError(f"{path}, line {line}: {name} must be finite, got {row[name]!r}")
    return out


def _same_rates(
    path: str, text: str, schedule: Schedule, steps: np.ndarray, lrs: np.ndarray
) -> None:
    """Refuses a run whose ``lr`` column and expression differ beyond ``LR_TOLERANCE``."""
    values = schedule.curve(int(steps.max()) + 1)[steps]
    scale = np.maximum(np.abs(values), np.abs(lrs))
    far = np.abs(values - lrs) > LR_TOLERANCE * scale
    if np.any(far):
        i = int(np.argmax(far))
        raise UserError(
            f"{path}: the lr column and {text} differ first at step {int(steps[i])}: "
            f"{float(lrs[i])!r} in the file, {float(values[i])!r} from the expression"
        )


def read_law(path: str) -> Any:
    from schedalg.analysis.laws.multipower import MultiPowerLaw

    if not os.path.isfile(path):
        raise UserError(f"no such file: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            return MultiPowerLaw.from_json(handle.read())
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    except (TypeError, ValueError) as error:
        raise UserError(f"{path}: {error}") from None


@contextmanager
def _library_errors() -> Iterator[None]:
    """The library's argument errors (they name the function and the value) as user errors."""
    try:
        yield
    except ImportError as error:
        raise UserError(
            f"this command needs scipy: pip install 'schedalg[laws]' ({error})"
        ) from None
    except (TypeError, ValueError) as error:
        raise UserError(str(error)) from None


# -- fit ------------------------------------------------------------------------------------------


def fit_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "runs",
        nargs="+",
        metavar="RUN.csv=EXPR",
        help="a logged run: a CSV with step,loss (and lr) columns, = its absolute learning-rate "
        "schedule, e.g. 'cosine.csv=sequence(linear(0.0, 3e-4, 2159), 3e-5 + 2.7e-4 * "
        "cosine(21840), at=[2160])'",
    )
    sub.add_argument("-o", "--output", help="write the law's JSON to this file (else stdout)")
    sub.add_argument(
        "--starts", type=positive("--starts", 81), default=4, help="searches to run (default 4)"
    )


def fit(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis.laws.fitting import fit as fit_law
    from schedalg.analysis.laws.scores import score

    runs = [read_run(text) for text in args.runs]
    data = [(r.schedule, r.steps, r.losses) for r in runs]
    with _library_errors():
        found = fit_law(data, starts=args.starts, callback=_progress(sys.stderr))
    if sys.stderr.isatty():
        sys.stderr.write("\n")  # after the progress line, rewritten in place
    for run, residuals in zip(runs, found.residuals):
        sys.stderr.write(
            f"{run.path}: {residuals.size} points, log residuals mean {residuals.mean():+.2e}, "
            f"largest {np.abs(residuals).max():.2e}\n"
        )
    sys.stderr.write(f"fit on these runs: {score(found.law, data)}\n")
    text = found.law.to_json() + "\n"
    _write(args.output, text, out)
    return 0


def _progress(stream: Any) -> Any:
    """Progress on one line of ``stream`` (rewritten in a terminal, else a line per stage)."""
    from schedalg.analysis.laws.fitting import Progress

    last: list[tuple[str, int]] = []
    tty = stream.isatty()

    def report(progress: Progress) -> None:
        stage = (progress.stage, progress.start)
        if not tty and last and last[-1] == stage:
            return
        where = {"grid": "grid", "done": "done"}.get(
            progress.stage, f"search {progress.start}/{progress.starts}"
        )
        line = (
            f"fitting: {where}, {progress.evaluations} evaluations, "
            f"objective {progress.objective:.6e}"
        )
        stream.write(("\r" if tty else "") + line + ("" if tty else "\n"))
        stream.flush()
        last.append(stage)

    return report


def _write(path: str | None, text: str, out: Any) -> None:
    if path is None:
        out.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    print(f"wrote {path}", file=sys.stderr)


# -- predict --------------------------------------------------------------------------------------


def predict_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("law", metavar="LAW.json", help="a law written by schedalg fit")
    sub.add_argument(
        "candidates",
        nargs="+",
        metavar="EXPR|RUN.csv=EXPR",
        help="absolute learning-rate schedules to compare; a run's logged losses are drawn too",
    )
    sub.add_argument(
        "--steps",
        "-n",
        type=positive("--steps", MAX_STEPS),
        required=True,
        help="the run's length: the loss is predicted at its last step, N - 1",
    )
    sub.add_argument("-o", "--output", help="draw the predicted curves into this PNG")


def predict(args: argparse.Namespace, out: Any) -> int:
    law = read_law(args.law)
    if args.steps < 2:
        raise UserError(f"--steps must be at least 2 (the law starts at step 1), got {args.steps}")
    candidates: list[tuple[str, Schedule, Run | None]] = []
    for text in args.candidates:
        run = read_run(text) if is_run(text) else None
        candidates.append((text, run.schedule if run else _schedule(text), run))
    last = args.steps - 1
    with _library_errors():
        finals = [float(law.predict(s, [last])[0]) for _, s, _ in candidates]
    order = sorted(range(len(candidates)), key=lambda i: finals[i])
    out.write(f"rank  loss at step {last}  schedule\n")
    for rank, i in enumerate(order, start=1):
        out.write(f"{rank:>4}  {finals[i]:>17.6f}  {_label(candidates[i])}\n")
    if args.output is not None:
        _picture(law, candidates, last, args.output)
    return 0


def _label(candidate: tuple[str, Schedule, Run | None]) -> str:
    """A run's file and expression; an expression as the user typed it."""
    text, _, run = candidate
    return f"{run.path}: {run.text}" if run else text


def _picture(
    law: Any, candidates: list[tuple[str, Schedule, Run | None]], last: int, output: str
) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("drawing needs matplotlib: pip install 'schedalg[plot]'") from None
    from schedalg.analysis.laws.pictures import Curve, draw

    grid = np.unique(np.linspace(1, last, PICTURE_POINTS).round().astype(np.int64))
    curves = []
    for candidate in candidates:
        _, schedule, run = candidate
        logged = (run.steps, run.losses) if run else None
        label = _label(candidate)
        curves.append(
            Curve(
                label if len(label) <= 90 else label[:87] + "...",
                grid,
                law.predict(schedule, grid),
                logged,
            )
        )
    path = output if os.path.splitext(output)[1] else output + ".png"
    try:
        draw(curves, path, title=f"predicted loss, {law!r}"[:140])
    except (OSError, ValueError) as error:
        raise UserError(f"cannot write {path}: {error}") from None
    print(f"wrote {path}", file=sys.stderr)


# -- optimize -------------------------------------------------------------------------------------


def optimize_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("law", metavar="LAW.json", help="a law written by schedalg fit")
    sub.add_argument(
        "--steps", "-n", type=positive("--steps", MAX_STEPS), required=True, help="run length"
    )
    sub.add_argument(
        "--peak", type=_number("--peak", above=0.0), required=True, help="the peak learning rate"
    )
    sub.add_argument(
        "--warmup",
        type=positive("--warmup", MAX_STEPS),
        required=True,
        help="warm-up steps: a line from 0 at step 0 to the peak at step W - 1",
    )
    sub.add_argument(
        "--free",
        action="store_true",
        help="any non-increasing schedule (a piecewise expression) instead of the compact "
        "warm-up, stable, decay family",
    )
    sub.add_argument(
        "--minimum",
        type=_number("--minimum", at_least=0.0),
        default=0.0,
        help="the lowest learning rate allowed (default 0)",
    )


def optimize(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis.laws.optimize import optimum

    law = read_law(args.law)
    if args.warmup < 2 or args.steps < args.warmup + 2:
        raise UserError(
            f"--warmup must be at least 2 and --steps at least --warmup + 2, got --warmup "
            f"{args.warmup} and --steps {args.steps}"
        )
    if args.minimum > args.peak:
        raise UserError(f"--minimum must be at most --peak ({args.peak}), got {args.minimum}")
    with _library_errors():
        found = optimum(
            law,
            steps=args.steps,
            peak=args.peak,
            warmup=args.warmup,
            free=args.free,
            minimum=args.minimum,
        )
    out.write(f"{found.schedule!r}\n")
    print(f"predicted loss at step {args.steps - 1}: {found.loss:.6f}", file=sys.stderr)
    return 0
