"""Schedules as text: a safe ``parse`` of reprs (and the data forms, re-exported).

``parse(text)`` rebuilds an expression from its repr without ``eval``: the text is parsed with
:mod:`ast` and only an allow-list of node kinds is walked (calls to the library's registered
constructors, numbers, strings, lists, tuples, keywords, ``inf``, ``True``/``False``/``None``,
unary ``-``/``+`` and ``+ - * / **``; numbers alone are computed as Python computes them, so a
repr never writes two numbers side by side). Anything else is a :class:`ParseError`, before
anything runs. ``to_dict``, ``from_dict`` and ``fingerprint`` live in ``schedalg.forms.data``
and are importable from here too.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

from schedalg.algebra.arithmetic import clamp
from schedalg.algebra.expression import Schedule
from schedalg.algebra.horizon import ROUNDINGS, Quantity, placeholder, refused_name, rounded
from schedalg.core.node import declared, nearest, parameters, registered
from schedalg.forms import literals
from schedalg.forms.data import (
    FORMAT_VERSION,
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_TEXT,
    ParseError,
    SerializationError,
    fingerprint,
    from_dict,
    to_dict,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_TEXT",
    "ParseError",
    "SerializationError",
    "fingerprint",
    "from_dict",
    "parse",
    "to_dict",
]


# -- reading text ----------------------------------------------------------------------------------


def _constructors() -> dict[str, Any]:
    """The names ``parse`` may call: every registered node, and ``clamp``."""
    return {**registered(), "clamp": clamp}


def _holds_function(cls: Any) -> bool:
    """A node with a required Python-function parameter (``from_fn``, ``cumulative``); ``clamp``
    is a function building nodes, with no parameters of its own to look at."""
    return dataclasses.is_dataclass(cls) and any(
        getattr(declared(f).validator, "holds_function", False) and f.default is dataclasses.MISSING
        for f in parameters(cls)
    )


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.names = _constructors()

    def fail(self, node: ast.AST | None, message: str) -> ParseError:
        if node is not None and hasattr(node, "lineno"):
            where = f"line {node.lineno}, column {getattr(node, 'col_offset', 0) + 1}"
            return ParseError(f"parse(): {message} (at {where})")
        return ParseError(f"parse(): {message}")

    def unknown(self, name: str) -> str:
        hint = (
            nearest(name, self.names) or f"; the constructors are {', '.join(sorted(self.names))}"
        )
        return f"name {name!r} is not allowed: not a schedalg constructor{hint}"

    def value(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"expression nested deeper than {MAX_DEPTH} levels")
        read = {
            ast.Constant: self.literal,
            ast.Name: self.name,
            ast.UnaryOp: self.unary,
            ast.BinOp: self.binary,
            ast.List: self.items,
            ast.Tuple: self.items,
            ast.Call: self.call,
        }.get(type(node))
        if read is None:
            raise self.fail(node, f"{_describe(node)} is not allowed")
        return read(node, depth)  # type: ignore[operator]

    def items(self, node: ast.List | ast.Tuple, depth: int) -> tuple[Any, ...]:
        return tuple(self.value(item, depth + 1) for item in node.elts)

    def name(self, node: ast.Name, depth: int) -> Any:
        if node.id == "inf":
            return math.inf
        if node.id in self.names or node.id in ROUNDINGS:
            raise self.fail(node, f"{node.id} must be called, as in {node.id}(...)")
        if refused_name(node.id) is None:
            return placeholder(node.id)  # a step count bound later (schedalg.algebra.horizon)
        raise self.fail(node, self.unknown(node.id))

    def unary(self, node: ast.UnaryOp, depth: int) -> Any:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.fail(node, f"{_describe(node)} is not allowed")
        operand = self.value(node.operand, depth + 1)
        if not _arithmetic_operand(operand):
            raise self.fail(node, f"unary {_OPS[type(node.op)]} needs a number or schedule")
        negate = isinstance(node.op, ast.USub)
        return self.arithmetic(node, lambda x: -x if negate else +x, operand)

    def binary(self, node: ast.BinOp, depth: int) -> Any:
        if type(node.op) not in _BINARY:
            raise self.fail(node, f"{_describe(node)} is not allowed")
        symbol, operation = _BINARY[type(node.op)]
        left = self.value(node.left, depth + 1)
        right = self.value(node.right, depth + 1)
        for side in (left, right):
            if not _arithmetic_operand(side):
                raise self.fail(node, f"{symbol} needs numbers or schedules, got {side!r}")
        return self.arithmetic(node, operation, left, right)

    def literal(self, node: ast.Constant, depth: int = 0) -> Any:
        def refuse(refusal: literals.Refusal) -> ParseError:
            if refusal.problem is literals.Problem.TOO_MANY_DIGITS:
                return self.fail(node, f"integer literal with more than {MAX_DIGITS} digits")
            if refusal.problem is literals.Problem.NON_FINITE:
                return self.fail(node, "number literal out of range (overflows to inf)")
            return self.fail(node, f"{type(node.value).__name__} literal is not allowed")

        return literals.read_constant(node, refuse, max_digits=MAX_DIGITS)

    def arithmetic(self, node: ast.AST, op: Callable[..., Any], *args: Any) -> Any:
        try:
            result = op(*args)
        except (ValueError, TypeError, ArithmeticError) as error:
            raise self.fail(node, str(error) or type(error).__name__) from None
        if isinstance(result, bool) or (isinstance(result, int) and abs(result) >= 10**MAX_DIGITS):
            raise self.fail(node, f"integer result with more than {MAX_DIGITS} digits")
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(node, "arithmetic on numbers overflows")
        return result

    def rounding(self, node: ast.Call, name: str, depth: int) -> Any:
        """``ceil(q)``, ``floor(q)``, ``round(q)`` of a step count
        (``schedalg.algebra.horizon``)."""
        if len(node.args) != 1 or node.keywords:
            raise self.fail(node, f"{name}() takes one step count")
        value = self.value(node.args[0], depth + 1)
        return self.arithmetic(node, lambda v: rounded(name, v), value)

    def keywords(self, node: ast.Call, name: str, depth: int) -> dict[str, Any]:
        """The keyword arguments of a call to ``name``, each given once."""
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.fail(keyword.value, "** arguments are not allowed")
            if keyword.arg in kwargs:
                # Python's compiler refuses it; ast.parse does not, and the last would win.
                raise self.fail(keyword, f"{name}(): keyword argument {keyword.arg!r} repeated")
            kwargs[keyword.arg] = self.value(keyword.value, depth + 1)
        return kwargs

    def call(self, node: ast.Call, depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.fail(
                node, f"only calls to schedalg constructors are allowed, not {_describe(node.func)}"
            )
        name = node.func.id
        if name in ROUNDINGS:
            return self.rounding(node, name, depth)
        if name not in self.names:
            raise self.fail(node, self.unknown(name))
        if _holds_function(self.names[name]):
            raise self.fail(
                node, f"{name}() holds a Python function and cannot be parsed from text"
            )
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, "starred arguments are not allowed")
            args.append(self.value(arg, depth + 1))
        kwargs = self.keywords(node, name, depth)
        try:
            return self.names[name](*args, **kwargs)
        except (ValueError, TypeError, ArithmeticError) as error:
            raise self.fail(node, str(error) or type(error).__name__) from None


def _arithmetic_operand(value: Any) -> bool:
    return isinstance(value, (Schedule, Quantity, int, float)) and not isinstance(value, bool)


_OPS = {ast.USub: "-", ast.UAdd: "+"}
_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.Pow: ("**", lambda a, b: _power(a, b)),
}


def _power(base: Any, exponent: Any) -> Any:
    """``base ** exponent``, refusing what would not be a real number of bounded size before
    computing it (``10 ** 10 ** 10`` must not run)."""
    if isinstance(base, Schedule) or isinstance(exponent, Schedule):
        return base**exponent
    integers = isinstance(base, int) and isinstance(exponent, int)
    if (
        integers
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log10(abs(base)) > MAX_DIGITS
    ):
        raise OverflowError(f"integer result with more than {MAX_DIGITS} digits")
    try:
        result = base**exponent
    except OverflowError:  # floats: Python raises ERANGE's text, "(34, 'Numerical result ...')"
        raise OverflowError(f"{base!r} ** {exponent!r} overflows") from None
    if isinstance(result, complex):
        raise ValueError(f"{base!r} ** {exponent!r} is not a real number")
    return result


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access",
        ast.Subscript: "subscript",
        ast.Lambda: "lambda",
        ast.ListComp: "comprehension",
        ast.SetComp: "comprehension",
        ast.DictComp: "comprehension",
        ast.GeneratorExp: "generator expression",
        ast.JoinedStr: "f-string",
        ast.Starred: "starred expression",
        ast.Dict: "dict",
        ast.Set: "set",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.IfExp: "conditional expression",
        ast.NamedExpr: "assignment expression",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
        ast.BinOp: "this operator",
        ast.UnaryOp: "this operator",
    }
    return kinds.get(type(node), type(node).__name__)


def parse(text: str) -> Schedule:
    """Rebuild a schedule from text such as its repr: ``parse("warmup(cosine(900), 100)")``.

    Only the library's constructors, numbers, strings, lists, tuples, keyword arguments, ``inf``,
    ``True``/``False``/``None``, unary ``-``/``+`` and ``+ - * / **`` are accepted; nothing is
    evaluated as Python (a keyword given twice is refused, as Python refuses it). Everything
    else — and any constructor's validation error — raises :class:`ParseError` with the
    position. Python functions (``from_fn``, ``cumulative``,
    ``cyclic(scale_fn=...)``) cannot be written as text.
    """
    tree = _syntax_tree(text)
    reader = _Reader(text)
    try:
        result = reader.value(tree.body, 0)
    except RecursionError:
        raise ParseError("parse(): expression nested too deeply") from None
    if not isinstance(result, Schedule):
        raise ParseError(f"parse(): text must describe a schedule, got {result!r}")
    return result


def _syntax_tree(text: Any) -> ast.Expression:
    """The text's Python syntax tree, after the limits on untrusted input."""
    if not isinstance(text, str):
        raise ParseError(f"parse(): text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ParseError(f"parse(): text longer than {MAX_TEXT} characters")
    if not text.strip():
        raise ParseError("parse(): the expression is empty")
    if "\x00" in text:
        raise ParseError("parse(): text contains a NUL character")
    # Python's parser recurses per bracket/operator: refuse depth before it can blow the stack.
    if _nesting(text) > MAX_DEPTH:
        raise ParseError(f"parse(): expression nested deeper than {MAX_DEPTH} levels")
    try:
        with warnings.catch_warnings():
            # Python warns about text like "1if"; the reader reports, it does not print.
            warnings.simplefilter("ignore")
            return ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):
        # CPython reports its parser's own stack limit this way, not a real lack of memory.
        raise ParseError("parse(): expression nested too deeply for the parser") from None
    except (SyntaxError, ValueError) as error:
        detail = getattr(error, "msg", None) or str(error) or type(error).__name__
        line, column = getattr(error, "lineno", None), getattr(error, "offset", None)
        where = f" (at line {line}, column {column})" if line is not None else ""
        raise ParseError(f"parse(): invalid syntax: {detail}{where}") from None


def _nesting(text: str) -> int:
    """The deepest bracket nesting (brackets inside strings count too: options are short)."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest
