"""``schedalg diff A B --steps N``: where two schedules part.

A and B are inputs as every command reads them (an expression, a ``.json`` file from
``to_dict`` or an MMEngine-style config). Two single schedules are compared; configs with
several parameters are compared parameter by parameter (``lr`` with ``lr``). Exit status 0 when
they are identical over the steps, 1 when they differ, 2 on bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.cli.arguments import input_options, positive
from schedalg.cli.errors import UserError
from schedalg.cli.inputs import bound, evaluating, load
from schedalg.engine.backends import MAX_INTEGER_STEP

__all__ = ["diff", "diff_arguments"]


def diff_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("inputs", nargs=2, metavar="A|B", help="two expressions, .json or configs")
    sub.add_argument(
        "--steps",
        "-n",
        type=positive("--steps", MAX_INTEGER_STEP),
        required=True,
        help="compare steps [0, N) (evaluated in blocks: a long run needs little memory)",
    )
    input_options(sub)


def _parameter(label: str) -> str:
    """``lr`` of a config's ``"file.py: lr"``; an expression is its own label."""
    return label.rpartition(": ")[2]


def _pairs(
    a: list[tuple[str, Schedule]], b: list[tuple[str, Schedule]]
) -> list[tuple[Schedule, Schedule]]:
    if len(a) == 1 and len(b) == 1:
        return [(a[0][1], b[0][1])]
    left = {_parameter(label): s for label, s in a}
    right = {_parameter(label): s for label, s in b}
    if set(left) != set(right):
        raise UserError(
            f"A schedules {', '.join(sorted(left))} and B schedules {', '.join(sorted(right))}: "
            "compare configs that schedule the same parameters"
        )
    return [(left[name], right[name]) for name in sorted(left)]


def diff(args: argparse.Namespace, out: Any) -> int:
    from schedalg.analysis.diffing import diff as compare

    values = dict(args.set)
    used: set[str] = set()
    loaded = [
        load(
            text,
            steps=args.steps,
            epoch_length=args.epoch_length,
            base=args.base,
            config_root=args.config_root,
            hint=args.format_hint,
            settings=values,
            used=used,
        )[0]
        for text in args.inputs
    ]
    both = bound([*loaded[0], *loaded[1]], {k: v for k, v in values.items() if k not in used})
    status = 0
    for index, (a, b) in enumerate(_pairs(both[: len(loaded[0])], both[len(loaded[0]) :])):
        with evaluating(args.steps):
            result = compare(a, b, args.steps)
        out.write(("\n" if index else "") + str(result) + "\n")
        status = max(status, int(bool(result)))
    return status
