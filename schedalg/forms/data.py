"""Schedules as data: versioned JSON-ready dicts and a stable fingerprint.

- ``to_dict(s)`` / ``from_dict(d)``: ``{"schedalg": 1, "schedule": {"type": "cosine", ...}}``,
  plain JSON data (non-finite floats are ``{"$float": "inf"}``, so strict JSON parsers accept it).
  Nodes are walked generically through their declared parameters (``schedalg.core.node``); a node
  class defined outside the library joins with one line, ``schedalg.register(MyNode)``.
- ``fingerprint(s)``: the SHA-256 of the canonical JSON of the same walk, stable across processes
  and Python versions. Nodes holding Python functions (``from_fn``, ``cumulative``,
  ``cyclic(scale_fn=...)``) are fingerprinted by the function's module and qualified name only,
  which is weaker: editing the function's body does not change the fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from typing import Any, cast

from schedalg.algebra.expression import Schedule
from schedalg.algebra.horizon import Quantity, _Unbound, read_quantity
from schedalg.core.node import declared, lookup, name_of, nearest, parameters, registered

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
    if isinstance(value, _Unbound):  # a call holding placeholders: written as that call
        value = value.written_as()
    if isinstance(value, Schedule):
        return _encode_node(value, functions=functions, canonical=canonical, depth=depth)
    if isinstance(value, Quantity):
        return {"$quantity": str(value)}
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
    if "$quantity" in value and len(value) == 1:
        return _decode_quantity(value["$quantity"], path)
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


def _decode_quantity(text: Any, path: str) -> Any:
    """A step count bound later (``schedalg.algebra.horizon``), written as its text."""
    try:
        return read_quantity(text)
    except ValueError as error:
        raise ParseError(f"from_dict(): '$quantity' at {path}: {error}") from None


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
