"""Curve fills of the nodes whose value is one elementwise operation folded over their children
(``a + b + c``, ``a * b``, ``minimum(a, b)``, ``a ** b``).

Each child fills the block with its own fast path (a held tail, a staircase, one period copied)
instead of the node evaluating its whole subtree per step; the operation then runs in place, left
to right, as the array path runs it — the same operation on the same values, so the curve is the
array path's bit for bit. A child that is a number is applied as that number where the
operation is correctly rounded (the same result as an array filled with it, without filling
one); ``power`` (libm's, element by element) fills it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

_ROUNDED = (np.add, np.subtract, np.multiply, np.divide, np.minimum, np.maximum)


def folded(operation: Callable[..., Any], *fields: str) -> Any:
    """The ``_fill`` of a node whose value is ``operation`` folded over the schedules in
    ``fields`` (each a schedule or a tuple of them), in order. (Typed ``Any``: assigned in a
    class body, it is the method ``_fill(self, out, start)``, which a ``Callable`` type cannot
    name the parameters of.)"""

    numbers = operation in _ROUNDED

    def fill(node: Any, out: np.ndarray, start: int) -> None:
        operands = _operands(node, fields)
        next(operands)._fill(out, start)
        scratch: np.ndarray | None = None
        for operand in operands:
            number = operand._as_number() if numbers else None
            if number is not None:
                operation(out, number, out=out)
                continue
            if scratch is None:
                scratch = np.empty_like(out)
            operand._fill(scratch, start)
            operation(out, scratch, out=out)

    return fill


def _operands(node: Any, fields: tuple[str, ...]) -> Iterator[Any]:
    for field in fields:
        value = getattr(node, field)
        yield from value if isinstance(value, tuple) else (value,)
