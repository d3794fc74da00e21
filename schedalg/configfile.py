"""Read ``param_scheduler`` (and ``train_cfg``) from MMEngine config files without running them.

A ``.py`` config is parsed with ``ast`` and nothing in it is executed or imported: only the
top-level assignments ``param_scheduler = ...`` and ``train_cfg = ...`` are read, and their values
may only be literals — ``dict(...)`` calls with keyword arguments, ``{...}``, lists, tuples,
numbers, strings, ``True``/``False``/``None`` and a unary minus on a number. Anything else (a
name, an attribute, any other call, arithmetic, a lambda, a comprehension, an f-string) is a
``ValueError`` naming the file, the line and the construct, and so is any other top-level
statement that changes these names afterwards (``+=``, ``x[0]['end'] = 5``, ``.append``,
``del``) and a ``_base_`` (inheritance is not followed). A ``.json`` file holds either the
``param_scheduler`` value itself or an object with ``"param_scheduler"`` (and ``"train_cfg"``).
"""

from __future__ import annotations

import ast
import json
import math
import os
from typing import Any

__all__ = ["read_config", "read_settings"]

_NAMES = ("param_scheduler", "train_cfg")
_MAX_BYTES = 4 << 20  # a config is a few kilobytes; refuse to parse a huge file


class _Refused(ValueError):
    pass


def read_settings(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{'param_scheduler': [dict, ...], 'train_cfg': dict or None}`` from a ``.py``/``.json``."""
    name = os.fspath(path)
    if os.path.getsize(name) > _MAX_BYTES:
        raise ValueError(f"{name}: the file is larger than {_MAX_BYTES} bytes; not a config")
    with open(name, encoding="utf-8") as handle:
        text = handle.read()
    if name.endswith(".json"):
        values = _from_json(name, text)
    elif name.endswith(".py"):
        values = _from_python(name, text)
    else:
        raise ValueError(f"{name}: a config must be a .py or .json file")
    if values.get("param_scheduler") is None:
        raise ValueError(f"{name}: no param_scheduler in this config")
    scheduler = values["param_scheduler"]
    if isinstance(scheduler, dict) and "type" in scheduler:
        scheduler = [scheduler]
    if not isinstance(scheduler, list) or not all(isinstance(s, dict) for s in scheduler):
        raise ValueError(
            f"{name}: param_scheduler must be a dict or a list of dicts, got {scheduler!r}"
        )
    train_cfg = values.get("train_cfg")
    if train_cfg is not None and not isinstance(train_cfg, dict):
        raise ValueError(f"{name}: train_cfg must be a dict, got {train_cfg!r}")
    return {"param_scheduler": scheduler, "train_cfg": train_cfg}


def read_config(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ``param_scheduler`` list of a config file (see the module docstring)."""
    return read_settings(path)["param_scheduler"]


def _from_json(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{name}: not valid JSON: {error}") from None
    if isinstance(value, dict) and "param_scheduler" in value:
        return {key: value.get(key) for key in _NAMES}
    return {"param_scheduler": value, "train_cfg": None}


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number a config may hold")


def _from_python(name: str, text: str) -> dict[str, Any]:
    try:
        tree = ast.parse(text, filename=name)
    except (SyntaxError, ValueError, RecursionError) as error:
        raise ValueError(f"{name}: not a Python file that can be parsed: {error}") from None
    values: dict[str, Any] = {}
    inherits = False
    for statement in tree.body:
        plain = isinstance(statement, ast.Assign) and all(
            isinstance(target, ast.Name) for target in statement.targets
        )
        if plain:
            targets, value = statement.targets, statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and statement.value is not None
            and isinstance(statement.target, ast.Name)
        ):
            targets, value = [statement.target], statement.value
        else:
            # Anything else that touches the names (+=, x[0]['end'] = 5, .append(...), del,
            # a tuple target, ...) changes the value after the assignment read here.
            touched = _touched(statement)
            if touched:
                raise ValueError(
                    f"{name}: line {statement.lineno}: this statement changes {touched}, which "
                    "is only read from plain assignments 'name = <literal>' (nothing is "
                    "executed); write the final value in one assignment"
                )
            continue
        for target in targets:
            assert isinstance(target, ast.Name)
            if target.id == "_base_":
                inherits = True
            if target.id in _NAMES:
                try:
                    values[target.id] = _literal(value)
                except _Refused as error:
                    raise ValueError(f"{name}: {target.id}: {error}") from None
                except RecursionError:
                    raise ValueError(f"{name}: {target.id}: nested too deeply") from None
    if inherits:
        raise ValueError(
            f"{name}: the config has _base_ = ...: _base_ inheritance is not followed (the "
            "values this file inherits or merges into are not read); write param_scheduler and "
            "train_cfg out in full in a config without _base_"
        )
    return values


def _touched(statement: ast.stmt) -> str:
    """The read names that ``statement`` assigns, deletes or calls methods of, if any."""
    found = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and node.id in _NAMES:
            store = isinstance(node.ctx, (ast.Store, ast.Del))
            if store or isinstance(statement, (ast.AugAssign, ast.Expr, ast.Delete)):
                found.add(node.id)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and any(
                node in ast.walk(target)
                for target in (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
            ):
                found.add(node.id)  # param_scheduler[0]['end'] = 5
    return " and ".join(sorted(found))


def _where(node: ast.AST) -> str:
    return f"line {getattr(node, 'lineno', '?')}, column {getattr(node, 'col_offset', -1) + 1}"


def _refuse(node: ast.AST, what: str) -> _Refused:
    return _Refused(
        f"{_where(node)}: {what} is not allowed; only literals (dict(...), {{...}}, lists, "
        "tuples, numbers, strings, True/False/None) are read, nothing is executed"
    )


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _refuse(node, f"the non-finite number {value!r}")
            return value
        raise _refuse(node, f"a {type(value).__name__} constant")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            value = _literal(operand)
            return -value if isinstance(node.op, ast.USub) else value
        raise _refuse(node, "a sign on something other than a number")
    if isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.Dict):
        result = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise _refuse(value, "a ** unpacking")
            key_value = _literal(key)
            if not isinstance(key_value, str):
                raise _refuse(key, f"the non-string key {key_value!r}")
            result[key_value] = _literal(value)
        return result
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == "dict"):
            raise _refuse(node, f"the call {ast.unparse(node.func)[:40]}(...)")
        if node.args:
            raise _refuse(node, "dict() with positional arguments")
        result = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _refuse(keyword.value, "a ** unpacking")
            result[keyword.arg] = _literal(keyword.value)
        return result
    construct = {
        ast.Name: "a name",
        ast.Attribute: "an attribute access",
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.GeneratorExp: "a generator expression",
        ast.JoinedStr: "an f-string",
        ast.BinOp: "arithmetic",
        ast.Subscript: "a subscript",
        ast.Set: "a set",
        ast.Starred: "a * unpacking",
    }.get(type(node), f"the expression {type(node).__name__}")
    if isinstance(node, ast.Name):
        construct = f"the name {node.id!r}"
    raise _refuse(node, construct)
