"""Reading another library's options, for the importers (Keras, DeepSpeed, Megatron-LM).

Each importer names the source's own types and options in its messages: ``from_deepspeed():
WarmupLR has no option 'warmup_num_step'; did you mean 'warmup_num_steps'?``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.curves.primitives import elapsed


def pick(fn: str, what: str, name: object, table: Iterable[str]) -> str:
    """``name`` if it is one of ``table``; else a ValueError listing them, with a suggestion."""
    names = sorted(table)
    if isinstance(name, str) and name in names:
        return name
    hint = nearest(name, names) if isinstance(name, str) else ""
    raise ValueError(f"{fn}(): unknown {what} {name!r}{hint} (known: {', '.join(names)})")


def options(
    fn: str, owner: str, given: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """``defaults`` updated by ``given``; an option ``owner`` does not take is a ValueError with
    the nearest option's name, and a required one (default ``...``) missing is a TypeError."""
    if not isinstance(given, Mapping):
        raise TypeError(f"{fn}(): the options of {owner} must be a dict, got {given!r}")
    for name in given:
        if name not in defaults:
            hint = nearest(str(name), defaults)
            raise ValueError(f"{fn}(): {owner} has no option {name!r}{hint}")
    merged = {**defaults, **given}
    missing = [name for name, value in merged.items() if value is ...]
    if missing:
        raise TypeError(f"{fn}(): {owner} needs the option {missing[0]!r}")
    return merged


def number(
    fn: str,
    owner: str,
    name: str,
    value: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    """A finite real option, named ``owner name`` in the message."""
    return check.real(fn, f"{owner} {name}", value, above=above, at_least=at_least, at_most=at_most)


def count(fn: str, owner: str, name: str, value: object, *, minimum: int = 0) -> int:
    """A step count: an int, or a float with an integral value (JSON and argparse give both)."""
    return check.integer(
        fn, f"{owner} {name}", check.integral(value), minimum=minimum, wrong_type=ValueError
    )


def flag(fn: str, owner: str, name: str, value: object) -> bool:
    return check.flag(fn, f"{owner} {name}", value)


def growth(rate: float, size: float | None = None) -> Schedule:
    """``1 + rate * (t / size)`` (``1 + rate * t`` without ``size``), in the sources' own order
    of operations (Keras's InverseTimeDecay divides by it, DeepSpeed's LRRangeTest multiplies by
    it)."""
    return 1.0 + rate * (elapsed() if size is None else elapsed() / size)
