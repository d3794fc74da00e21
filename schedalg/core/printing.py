"""How nodes print: the generic ``repr`` from a node's declaration, and infix arithmetic.

A repr is the expression that rebuilds the node after ``from schedalg import *``: the public
name, the parameters without a default positionally, the others as keywords when they differ
from their default, a variadic parameter as ``*args``. Arithmetic prints with operators and only
the parentheses Python needs: ``0.1 * cosine(100) + 0.01``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from schedalg.core.node import NodeType, declared, parameters, shown_positionally


def _equal(a: Any, b: Any) -> bool:
    """Whether a parameter's value is its default, so that the repr may leave it out: ``-0.0``
    is not the default ``0.0`` (``==`` says it is, but its sign can reach a value)."""
    if isinstance(a, float) and isinstance(b, (int, float)) and a == b == 0:
        return math.copysign(1.0, a) == math.copysign(1.0, b)
    try:
        return bool(a == b)
    except Exception:  # an odd value (an array?) is simply not the default
        return False


def call_repr(node: Any) -> str:
    """``name(positional, ..., keyword=value, ...)`` from the node's declaration."""
    parts: list[str] = []
    for field in parameters(node):
        if not field.repr:
            continue
        value = getattr(node, field.name)
        if declared(field).variadic:
            parts.extend(format_value(v) for v in value)
        elif field.default is not dataclasses.MISSING and _equal(value, field.default):
            continue
        elif shown_positionally(field):
            parts.append(format_value(value))
        else:
            parts.append(f"{field.name}={format_value(value)}")
    return f"{type(node).__name__}({', '.join(parts)})"


def format_value(value: Any) -> str:
    """How a parameter is written in a repr: lists for tuples, names for functions."""
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if callable(value) and not isinstance(type(value), NodeType):
        return str(getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value)))
    return repr(value)


def _number(node: Any) -> float | None:
    """The value of a node that prints as a plain number in arithmetic (a ``constant``)."""
    return node._as_number()


def bare_flags(nodes: Sequence[Any]) -> list[bool]:
    """Which constants may print as plain numbers in ``a op b op c``.

    Python folds ``2.0 * 3.0 * s`` to ``6.0 * s`` before any schedule is involved, so a constant
    prints bare only once a schedule precedes it, or when it is first and a schedule follows.
    """
    flags, seen_schedule = [], False
    for i, node in enumerate(nodes):
        follows = i + 1 < len(nodes) and _number(nodes[i + 1]) is None
        flags.append(seen_schedule or (i == 0 and follows))
        seen_schedule = seen_schedule or _number(node) is None
    return flags


def operand_text(node: Any, parenthesize_below: int, bare_constant: bool = True) -> str:
    number = _number(node)
    if number is not None and bare_constant:
        return repr(number)
    text = repr(node)
    return f"({text})" if node._precedence < parenthesize_below else text


def infix(nodes: Sequence[Any], symbol: str, precedence: int) -> str:
    """``a op b op c``, left-associative: operands after the first need parentheses at equal
    precedence (``a - (b - c)``)."""
    bare = bare_flags(nodes)
    return f" {symbol} ".join(
        operand_text(node, precedence + (i > 0), bare[i]) for i, node in enumerate(nodes)
    )


def _negative(number: float) -> bool:
    """A number printed with a leading minus: ``-0.0`` too."""
    return math.copysign(1.0, number) < 0


def power_infix(base: Any, exponent: Any, precedence: int) -> str:
    """``base ** exponent``: right-associative and tighter than a sign, so ``(a ** b) ** c``,
    ``(-2.0) ** s`` (and ``(-0.0) ** s``: ``-0.0 ** s`` reads as ``-(0.0 ** s)``) and
    ``a ** -b``. A number prints bare only beside a schedule: Python (and ``parse``) would
    compute ``2.0 ** 3.0`` before any schedule is involved, so a constant raised to a constant
    prints as ``constant(2.0) ** 3.0``."""
    number, power_of = _number(base), _number(exponent)
    if number is not None and power_of is None:
        text = f"({number!r})" if _negative(number) else repr(number)
    else:
        text = repr(base)
        if base._precedence <= precedence:
            text = f"({text})"
    if power_of is not None:
        return f"{text} ** {power_of!r}"
    right = repr(exponent)
    return f"{text} ** {right if exponent._precedence >= precedence else f'({right})'}"
