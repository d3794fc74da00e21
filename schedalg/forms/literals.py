"""Reading literal ``ast`` nodes of untrusted text safely, with errors each caller phrases itself.

``parse`` (schedalg.forms.text) and the MMEngine config reader both walk ``ast`` trees of text they
did
not write, and both must accept only plain data: numbers (integers with at most ``MAX_DIGITS``
digits, finite floats), strings, ``True``/``False``/``None``, a sign on a number, lists, tuples,
dicts with string keys (and, where a caller allows it, ``dict(key=value)`` calls), nested at most
``MAX_DEPTH`` levels. Nothing is evaluated.

The readers never build a message. Everything they refuse is a :class:`Refusal` (what is wrong,
the node, the offending value) handed to the caller's ``refuse`` function, which returns the
exception to raise: so each caller keeps its own wording (a file, line and construct for the
config reader; a ``ParseError`` with line and column for ``parse``).
"""

from __future__ import annotations

import ast
import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "LiteralReader", "Problem", "Refusal", "read_constant"]

MAX_DIGITS = 30
MAX_DEPTH = 100


class Problem(enum.Enum):
    """Why a node is not a literal the readers accept."""

    TOO_MANY_DIGITS = "an integer with more than the allowed digits"
    NON_FINITE = "a float that is inf or nan (a literal that overflows)"
    CONSTANT_TYPE = "a constant of another type (bytes, complex, Ellipsis)"
    SIGN = "a sign on something other than a number"
    UNPACKING = "a ** unpacking in a dict"
    KEY = "a dict key that is not a string"
    CALL = "a call (other than an allowed dict(...))"
    POSITIONAL = "dict(...) with positional arguments"
    TOO_DEEP = "nested deeper than the depth limit"
    CONSTRUCT = "any other expression (a name, arithmetic, a lambda, ...)"


@dataclass(frozen=True)
class Refusal:
    """One refused node: ``problem`` says why, ``value`` is the offending constant or key."""

    problem: Problem
    node: ast.AST
    value: object = None


Refuse = Callable[[Refusal], Exception]


def read_constant(
    node: ast.Constant, refuse: Refuse, *, max_digits: int | None = MAX_DIGITS
) -> Any:
    """The value of a constant node: a number within the caps, a string, a bool or None."""
    value = node.value
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if max_digits is not None and abs(value) >= 10**max_digits:
            raise refuse(Refusal(Problem.TOO_MANY_DIGITS, node, value))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(Refusal(Problem.NON_FINITE, node, value))
        return value
    raise refuse(Refusal(Problem.CONSTANT_TYPE, node, value))


class LiteralReader:
    """Reads a whole literal expression tree: constants, signed numbers, lists (as lists),
    tuples, dicts with string keys and, with ``dict_calls``, ``dict(key=value, ...)``.

    ``max_digits`` / ``max_depth`` of None lift that cap (the caller then owns the risk).
    """

    def __init__(
        self,
        refuse: Refuse,
        *,
        max_digits: int | None = MAX_DIGITS,
        max_depth: int | None = MAX_DEPTH,
        dict_calls: bool = False,
    ) -> None:
        self.refuse = refuse
        self.max_digits = max_digits
        self.max_depth = max_depth
        self.dict_calls = dict_calls
        self._readers: dict[type, Callable[[Any, int], Any]] = {
            ast.Constant: lambda node, depth: self.constant(node),
            ast.UnaryOp: self._signed,
            ast.List: lambda node, depth: [self.read(item, depth + 1) for item in node.elts],
            ast.Tuple: lambda node, depth: tuple(self.read(item, depth + 1) for item in node.elts),
            ast.Dict: self._dict,
            ast.Call: self._call,
        }

    def read(self, node: ast.AST, depth: int = 0) -> Any:
        """The value of ``node``; anything else raises the caller's exception."""
        if self.max_depth is not None and depth > self.max_depth:
            raise self.refuse(Refusal(Problem.TOO_DEEP, node))
        reader = self._readers.get(type(node))
        if reader is None:
            raise self.refuse(Refusal(Problem.CONSTRUCT, node))
        return reader(node, depth)

    def constant(self, node: ast.Constant) -> Any:
        return read_constant(node, self.refuse, max_digits=self.max_digits)

    def _signed(self, node: ast.UnaryOp, depth: int) -> Any:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.refuse(Refusal(Problem.CONSTRUCT, node))
        operand = node.operand
        # Only a sign on a number literal: '-(-0.5)' or '-x' is an expression, not data.
        if not (isinstance(operand, ast.Constant) and type(operand.value) in (int, float)):
            raise self.refuse(Refusal(Problem.SIGN, node))
        value = self.constant(operand)
        return -value if isinstance(node.op, ast.USub) else value

    def _dict(self, node: ast.Dict, depth: int) -> dict[str, Any]:
        result = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.refuse(Refusal(Problem.UNPACKING, value))
            name = self.read(key, depth + 1)
            if not isinstance(name, str):
                raise self.refuse(Refusal(Problem.KEY, key, name))
            result[name] = self.read(value, depth + 1)
        return result

    def _call(self, node: ast.Call, depth: int) -> dict[str, Any]:
        if not (self.dict_calls and isinstance(node.func, ast.Name) and node.func.id == "dict"):
            raise self.refuse(Refusal(Problem.CALL, node))
        if node.args:
            raise self.refuse(Refusal(Problem.POSITIONAL, node))
        result = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.refuse(Refusal(Problem.UNPACKING, keyword.value))
            result[keyword.arg] = self.read(keyword.value, depth + 1)
        return result
