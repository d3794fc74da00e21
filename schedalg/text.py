"""Schedules as text and data: a safe ``parse`` of reprs, versioned JSON dicts, a fingerprint.

- ``parse(text)`` rebuilds an expression from its repr without ``eval``: the text is parsed with
  :mod:`ast` and only an allow-list of node kinds is walked (calls to the library's own
  constructors, numbers, strings, lists, tuples, keywords, ``inf``, ``True``/``False``/``None``,
  unary ``-``/``+`` and ``+ - * /``). Anything else is a :class:`ParseError`, before anything runs.
- ``to_dict(s)`` / ``from_dict(d)``: ``{"schedalg": 1, "schedule": {"type": "cosine", ...}}``,
  plain JSON data (non-finite floats are ``{"$float": "inf"}``, so strict JSON parsers accept it).
  Nodes are walked generically through their dataclass fields; a node class joins with one line,
  ``schedalg.register(MyNode)``.
- ``fingerprint(s)``: the SHA-256 of the canonical JSON of the same walk, stable across processes
  and Python versions. Nodes holding Python functions (``from_fn``, ``cumulative``,
  ``cyclic(scale_fn=...)``) are fingerprinted by the function's module and qualified name only,
  which is weaker: editing the function's body does not change the fingerprint.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, cast

from schedalg import literals
from schedalg.arithmetic import clamp
from schedalg.expression import Schedule
from schedalg.node import declared, lookup, name_of, nearest, parameters, registered

FORMAT_VERSION = 1

# Limits on untrusted input, so a reader never spends unbounded time or memory, and never hits
# Python's own recursion limit (the ast parser and our walk are both recursive).
MAX_TEXT = 20_000
MAX_DEPTH = 100
MAX_DIGITS = 30
_MAX_INT = 10**MAX_DIGITS


class ParseError(ValueError):
    """Text or data that does not describe a schedule (the one error ``parse`` and
    ``from_dict`` raise); the message says where and why."""


class SerializationError(TypeError):
    """A schedule that cannot be written as data: it holds a Python function, or a node class
    that was never registered."""


# -- names -------------------------------------------------------------------------------------


def _name_of(node: Schedule, strict: bool = True) -> str:
    cls = type(node)
    name = name_of(cls)
    if name is None:
        if not strict:
            # A fingerprint is defined for every schedule: an unregistered class is named by
            # where it lives.
            return f"{cls.__module__}:{cls.__qualname__}"
        raise SerializationError(
            f"{cls.__qualname__} is not registered for serialization; "
            f"call schedalg.register({cls.__qualname__})"
        )
    return name


# -- writing ---------------------------------------------------------------------------------------


def _fields(node: Schedule, canonical: bool = False) -> list[tuple[str, Any]]:
    """The init fields of a node that differ from their defaults (defaults are implied, so adding
    a field with a default later keeps old dicts and fingerprints valid). For a fingerprint a
    value equal to the default (``1`` for ``1.0``) is left out too, as ``==`` says it is the
    same."""
    out = []
    for field in parameters(node):
        value = getattr(node, field.name)
        if field.default is not dataclasses.MISSING and (
            _same(value, field.default) or (canonical and _equal(value, field.default))
        ):
            continue
        out.append((field.name, value))
    return out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # an odd field value (an array?) is simply not the default
        return False


def _encode(value: Any, *, functions: bool, canonical: bool, depth: int = 0) -> Any:
    if depth > 10 * MAX_DEPTH:
        raise SerializationError("schedule is nested too deeply to serialize")
    if isinstance(value, Schedule):
        return _encode_node(value, functions=functions, canonical=canonical, depth=depth)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Real):
        return _encode_number(value, canonical)
    if isinstance(value, (tuple, list)):
        return [
            _encode(v, functions=functions, canonical=canonical, depth=depth + 1) for v in value
        ]
    if callable(value):
        return _encode_function(value, functions)
    raise SerializationError(f"cannot serialize the value {value!r} of type {type(value).__name__}")


def _encode_node(node: Schedule, *, functions: bool, canonical: bool, depth: int) -> Any:
    encoded: dict[str, Any] = {"type": _name_of(node, strict=not functions)}
    for name, field_value in _fields(node, canonical):
        if name == "type":
            raise SerializationError(f"{type(node).__qualname__} has a reserved field {name!r}")
        encoded[name] = _encode(
            field_value, functions=functions, canonical=canonical, depth=depth + 1
        )
    return encoded


def _encode_number(value: numbers.Real, canonical: bool) -> Any:
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        return {"$float": repr(number)}
    # In a fingerprint, equal schedules hash equally: 2.0 == 2 (and -0.0 == 0).
    # int() of a float is exact at any magnitude, so 1e20 and 10**20 (equal) meet here too.
    if canonical and number.is_integer():
        return int(number)
    return number


def _encode_function(value: Any, functions: bool) -> Any:
    if functions:
        module = getattr(value, "__module__", None) or "?"
        qualname = getattr(value, "__qualname__", None) or type(value).__qualname__
        return {"$function": f"{module}:{qualname}"}
    raise SerializationError(
        f"cannot serialize a schedule holding the Python function {_callable_name(value)}; "
        "from_fn, cumulative and cyclic(scale_fn=...) have no data form"
    )


def _callable_name(value: Any) -> str:
    return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or repr(value)


def to_dict(schedule: Schedule) -> dict[str, Any]:
    """``{"schedalg": 1, "schedule": {...}}``: JSON-ready data that ``from_dict`` turns back into
    an equal schedule. Raises :class:`SerializationError` for nodes holding Python functions."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"to_dict(): schedule must be a Schedule, got {schedule!r}")
    return {
        "schedalg": FORMAT_VERSION,
        "schedule": _encode(schedule, functions=False, canonical=False),
    }


def fingerprint(schedule: Schedule) -> str:
    """A 64-character hex SHA-256 of the schedule's structure: equal schedules give equal
    fingerprints, in any process and on any Python version (floats are written with ``repr``,
    never ``hash()``). Defined for every schedule; a node holding a Python function contributes
    only that function's ``module:qualname``, so a changed function body goes unnoticed."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"fingerprint(): schedule must be a Schedule, got {schedule!r}")
    data = {
        "schedalg": FORMAT_VERSION,
        "schedule": _encode(schedule, functions=True, canonical=True),
    }
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# -- reading data ----------------------------------------------------------------------------------


def from_dict(data: Any) -> Schedule:
    """The schedule that ``to_dict`` wrote. Anything else raises :class:`ParseError`."""
    if not isinstance(data, dict):
        raise ParseError(f"from_dict(): expected a dict, got {type(data).__name__}")
    version = data.get("schedalg")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ParseError(
            f"from_dict(): expected format version 'schedalg': {FORMAT_VERSION}, got {version!r}"
        )
    extra = set(data) - {"schedalg", "schedule"}
    if extra:
        raise ParseError(f"from_dict(): unexpected keys {sorted(map(str, extra))}")
    if "schedule" not in data:
        raise ParseError("from_dict(): missing key 'schedule'")
    result = _decode(data["schedule"], "schedule", 0)
    if not isinstance(result, Schedule):
        raise ParseError(f"from_dict(): 'schedule' must describe a schedule, got {result!r}")
    return result


def _decode(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ParseError(f"from_dict(): nested deeper than {MAX_DEPTH} levels at {path}")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return _decode_number(value, path)
    if isinstance(value, list):
        return tuple(_decode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
    if not isinstance(value, dict):
        raise ParseError(f"from_dict(): unexpected {type(value).__name__} at {path}")
    if "$float" in value and len(value) == 1:
        return _decode_float(value["$float"], path)
    if "$function" in value:
        raise ParseError(f"from_dict(): a Python function cannot be read from data, at {path}")
    return _decode_node(value, path, depth)


def _decode_number(value: int | float, path: str) -> int | float:
    if isinstance(value, int) and abs(value) >= _MAX_INT:
        raise ParseError(f"from_dict(): integer with more than {MAX_DIGITS} digits at {path}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParseError(
            f"from_dict(): non-finite float {value!r} at {path}; use {{'$float': 'inf'}}"
        )
    return value


def _decode_float(spelled: Any, path: str) -> float:
    special = {"inf": math.inf, "-inf": -math.inf}.get(spelled if isinstance(spelled, str) else "")
    if special is None:
        raise ParseError(f"from_dict(): '$float' must be 'inf' or '-inf' at {path}")
    return special


def _decode_node(value: dict[str, Any], path: str, depth: int) -> Schedule:
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ParseError(f"from_dict(): a node needs a string 'type' at {path}, got {kind!r}")
    cls = lookup(kind)
    if cls is None:
        raise ParseError(
            f"from_dict(): unknown schedule type {kind!r} at {path}{nearest(kind, registered())}"
        )
    fields = {f.name: f for f in parameters(cls)}
    kwargs = {}
    for key, item in value.items():
        if key != "type" and key not in fields:
            raise ParseError(
                f"from_dict(): {kind} has no parameter {key!r} at {path}{nearest(key, fields)}"
            )
        if key != "type":
            kwargs[key] = _decode(item, f"{path}.{key}", depth + 1)
    try:
        for key in kwargs:
            if declared(fields[key]).variadic:
                kwargs[key] = _nodes(kind, key, kwargs[key])
        return cast("type[Schedule]", cls)._from_fields(kwargs)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise ParseError(f"from_dict(): at {path}: {error}") from None


def _nodes(fn: str, name: str, values: Any) -> tuple[Schedule, ...]:
    """A variadic field in data: a non-empty list naming every entry as a node (a bare number
    is not a schedule here)."""
    if not isinstance(values, tuple) or not values:
        raise ValueError(f"{fn}(): {name} must be a non-empty list of schedules, got {values!r}")
    for entry in values:
        if not isinstance(entry, Schedule):
            raise TypeError(f"{fn}(): an operand must be a schedule, got {entry!r}")
    return values


# -- reading text ----------------------------------------------------------------------------------


def _constructors() -> dict[str, Any]:
    """The names ``parse`` may call: every registered node, and ``clamp``."""
    return {**registered(), "clamp": clamp}


def _holds_function(cls: Any) -> bool:
    """A node with a required Python-function parameter (``from_fn``, ``cumulative``)."""
    return any(
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
        return (
            f"name {name!r} is not allowed; only schedalg constructors{nearest(name, self.names)}"
        )

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

    def name(self, node: ast.Name, depth: int) -> float:
        if node.id == "inf":
            return math.inf
        if node.id in self.names:
            raise self.fail(node, f"{node.id} must be called, as in {node.id}(...)")
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
        if isinstance(result, bool) or (isinstance(result, int) and abs(result) >= _MAX_INT):
            raise self.fail(node, f"integer result with more than {MAX_DIGITS} digits")
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(node, "arithmetic on numbers overflows")
        return result

    def call(self, node: ast.Call, depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.fail(
                node, f"only calls to schedalg constructors are allowed, not {_describe(node.func)}"
            )
        name = node.func.id
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
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.fail(keyword.value, "** arguments are not allowed")
            kwargs[keyword.arg] = self.value(keyword.value, depth + 1)
        try:
            return self.names[name](*args, **kwargs)
        except (ValueError, TypeError, ArithmeticError) as error:
            raise self.fail(node, str(error) or type(error).__name__) from None


def _arithmetic_operand(value: Any) -> bool:
    return isinstance(value, (Schedule, int, float)) and not isinstance(value, bool)


_OPS = {ast.USub: "-", ast.UAdd: "+"}
_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
}


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
    ``True``/``False``/``None``, unary ``-``/``+`` and ``+ - * /`` are accepted; nothing is
    evaluated as Python. Everything else — and any constructor's validation error — raises
    :class:`ParseError` with the position. Python functions (``from_fn``, ``cumulative``,
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
