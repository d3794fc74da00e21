"""Read ``param_scheduler`` (and ``train_cfg``) from MMEngine config files without running them.

A ``.py`` config is parsed with ``ast`` and nothing in it is executed or imported: only the
top-level assignments ``param_scheduler = ...`` and ``train_cfg = ...`` are read, and their values
may only be literals — ``dict(...)`` calls with keyword arguments, ``{...}``, lists, tuples,
numbers, strings, ``True``/``False``/``None`` and a unary minus on a number (read by
:mod:`schedalg.literals`, with its caps on digits and nesting). Anything else (a name, an
attribute, any other call, arithmetic, a lambda, a comprehension, an f-string) is a
``ValueError`` naming the file, the line and the construct, and so is any other top-level
statement that changes these names afterwards (``+=``, ``x[0]['end'] = 5``, ``.append``,
``del``) and a ``_base_`` (inheritance is not followed). A ``.json`` file holds either the
``param_scheduler`` value itself or an object with ``"param_scheduler"`` (and ``"train_cfg"``).
A literal ``optim_wrapper`` gives the base values (``read_settings(path)["base"]``: the optimizer's
``lr``, ``momentum`` or ``betas[0]``, ``weight_decay``); one that is not literal gives none.
"""

from __future__ import annotations

import ast
import json
import math
import os
from typing import Any

from schedalg.literals import LiteralReader, Problem, Refusal

__all__ = ["read_config", "read_settings"]

_NAMES = ("param_scheduler", "train_cfg")
_MAX_BYTES = 4 << 20  # a config is a few kilobytes; refuse to parse a huge file


class _Refused(ValueError):
    pass


def read_settings(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{'param_scheduler': [dict, ...], 'train_cfg': dict or None, 'base': {name: value}}``
    from a ``.py``/``.json`` config (``base``: from a literal ``optim_wrapper.optimizer``)."""
    name = os.fspath(path)
    values = _read_values(name)
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
    return {"param_scheduler": scheduler, "train_cfg": train_cfg, "base": _bases(values)}


def _bases(values: dict[str, Any]) -> dict[str, float]:
    """The optimizer's lr, momentum (or ``betas[0]``) and weight decay where the config's
    ``optim_wrapper.optimizer`` gives them as numbers: the base values of the schedules."""
    wrapper = values.get("optim_wrapper")
    optimizer = wrapper.get("optimizer") if isinstance(wrapper, dict) else None
    if not isinstance(optimizer, dict):
        return {}
    found = {k: optimizer.get(k) for k in ("lr", "momentum", "weight_decay")}
    betas = optimizer.get("betas")
    if found["momentum"] is None and isinstance(betas, (list, tuple)) and betas:
        found["momentum"] = betas[0]
    real = (int, float)
    return {
        k: float(v)
        for k, v in found.items()
        if isinstance(v, real) and not isinstance(v, bool) and math.isfinite(v) and v != 0
    }


def read_config(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ``param_scheduler`` list of a config file (see the module docstring)."""
    return read_settings(path)["param_scheduler"]


def _read_values(name: str) -> dict[str, Any]:
    """The read names' values in the file ``name``, whatever their shape."""
    if os.path.getsize(name) > _MAX_BYTES:
        raise ValueError(f"{name}: the file is larger than {_MAX_BYTES} bytes; not a config")
    with open(name, encoding="utf-8") as handle:
        text = handle.read()
    if name.endswith(".json"):
        return _from_json(name, text)
    if name.endswith(".py"):
        return _from_python(name, text)
    raise ValueError(f"{name}: a config must be a .py or .json file")


def _from_json(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{name}: not valid JSON: {error}") from None
    if isinstance(value, dict) and "param_scheduler" in value:
        return {key: value.get(key) for key in (*_NAMES, "optim_wrapper")}
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
        assignment = _plain_assignment(statement)
        if assignment is None:
            _refuse_changes(name, statement)
            continue
        targets, value = assignment
        inherits = inherits or "_base_" in targets
        for target in targets:
            if target in _NAMES:
                values[target] = _read_literal(name, target, value)
            elif target == "optim_wrapper":
                values[target] = _optional_literal(name, target, value)
    if inherits:
        raise ValueError(
            f"{name}: the config has _base_ = ...: _base_ inheritance is not followed (the "
            "values this file inherits or merges into are not read); write param_scheduler and "
            "train_cfg out in full in a config without _base_"
        )
    return values


def _plain_assignment(statement: ast.stmt) -> tuple[list[str], ast.expr] | None:
    """``(names, value)`` of ``a = b = <value>`` or ``a: T = <value>``; None for anything else."""
    if isinstance(statement, ast.Assign):
        names = [target.id for target in statement.targets if isinstance(target, ast.Name)]
        if len(names) == len(statement.targets):
            return names, statement.value
        return None
    if (
        isinstance(statement, ast.AnnAssign)
        and statement.value is not None
        and isinstance(statement.target, ast.Name)
    ):
        return [statement.target.id], statement.value
    return None


def _refuse_changes(name: str, statement: ast.stmt) -> None:
    # Anything else that touches the names (+=, x[0]['end'] = 5, .append(...), del, a tuple
    # target, ...) changes the value after the assignment read here.
    touched = _touched(statement)
    if touched:
        raise ValueError(
            f"{name}: line {statement.lineno}: this statement changes {touched}, which "
            "is only read from plain assignments 'name = <literal>' (nothing is "
            "executed); write the final value in one assignment"
        )


def _touched(statement: ast.stmt) -> str:
    """The read names that ``statement`` assigns, deletes or calls methods of, if any."""
    changes_any = isinstance(statement, (ast.AugAssign, ast.Expr, ast.Delete))
    # A name inside an assignment's target is changed: param_scheduler[0]['end'] = 5
    in_targets = {id(node) for target in _targets(statement) for node in ast.walk(target)}
    found = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and node.id in _NAMES:
            stored = isinstance(node.ctx, (ast.Store, ast.Del))
            if stored or changes_any or id(node) in in_targets:
                found.add(node.id)
    return " and ".join(sorted(found))


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return statement.targets
    if isinstance(statement, ast.AnnAssign):
        return [statement.target]
    return []


def _optional_literal(name: str, target: str, value: ast.expr) -> Any:
    """A value the schedules only may use (the optimizer's base values): None if not literal."""
    try:
        return _read_literal(name, target, value)
    except ValueError:
        return None


def _read_literal(name: str, target: str, value: ast.expr) -> Any:
    try:
        return _READER.read(value)
    except _Refused as error:
        raise ValueError(f"{name}: {target}: {error}") from None


def _where(node: ast.AST) -> str:
    return f"line {getattr(node, 'lineno', '?')}, column {getattr(node, 'col_offset', -1) + 1}"


def _refuse(refusal: Refusal) -> _Refused:
    if refusal.problem is Problem.TOO_DEEP:
        return _Refused("nested too deeply")
    return _Refused(
        f"{_where(refusal.node)}: {_what(refusal)} is not allowed; only literals (dict(...), "
        "{...}, lists, tuples, numbers, strings, True/False/None) are read, nothing is executed"
    )


def _what(refusal: Refusal) -> str:
    node, value = refusal.node, refusal.value
    phrases = {
        Problem.TOO_MANY_DIGITS: f"an integer with more than {_READER.max_digits} digits",
        Problem.NON_FINITE: f"the non-finite number {value!r}",
        Problem.CONSTANT_TYPE: f"a {type(value).__name__} constant",
        Problem.SIGN: "a sign on something other than a number",
        Problem.UNPACKING: "a ** unpacking",
        Problem.KEY: f"the non-string key {value!r}",
        Problem.POSITIONAL: "dict() with positional arguments",
    }
    if refusal.problem in phrases:
        return phrases[refusal.problem]
    if isinstance(node, ast.Call):
        return f"the call {ast.unparse(node.func)[:40]}(...)"
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}"
    return _CONSTRUCTS.get(type(node), f"the expression {type(node).__name__}")


_CONSTRUCTS: dict[type, str] = {
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
}

_READER = LiteralReader(_refuse, dict_calls=True)
