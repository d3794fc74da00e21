"""Read MMEngine config files as MMEngine's ``Config.fromfile`` resolves them, running nothing.

``load_config(path)`` gives the resolved config as plain data (dicts, lists, tuples, numbers,
strings; a type imported in a new-style config as its dotted name, ``'mmengine.optim.LinearLR'``,
as ``Config.to_dict()`` writes it). Every statement is interpreted by
:mod:`schedalg.importers.mmengine.configlang`; inheritance follows MMEngine:

- old-style configs: ``_base_`` (a string or a list; paths relative to the file, or
  ``package::path`` found under ``config_root`` or the installed package's ``.mim/configs``), the
  bases' keys merged (nested dicts merged, ``_delete_=True`` replacing, lists replaced, duplicate
  keys among bases refused), ``_base_.x`` and ``{{_base_.x}}`` reading the bases, the predefined
  ``{{ fileDirname }}``-style and ``{{$ENV:default}}`` substitutions, ``_scope_`` set on what a
  package's base gives;
- new-style configs: ``with read_base():`` ``from .._base_.x import *`` (or names), then plain
  Python semantics over the imported values; names imported from other modules
  (``from mmengine.optim import LinearLR``) are kept as their dotted names, never imported.

``read_settings(path)`` picks what a schedule needs: ``param_scheduler``, ``train_cfg``, the base
values (``lr``, ``momentum`` or ``betas[0]``, ``weight_decay`` of ``optim_wrapper.optimizer`` or
an old-style ``optimizer``) and a ``default_hooks.param_scheduler`` hook. A value that would need
running the config (a call, a comprehension, ...) is an error only when it is one of these.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

from schedalg.importers.mmengine.configtree import Tree, merge_into, scoped, settle
from schedalg.importers.mmengine.configvalues import (
    ConfigDict,
    ConfigError,
    Imported,
    Refused,
    find_refusal,
)

__all__ = ["ConfigError", "load_config", "read_config", "read_settings"]

ConfigRoot = str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | None
_STRICT = ("param_scheduler", "train_cfg")
_SOFT = ("optim_wrapper", "optimizer", "default_hooks", "custom_hooks")
_RESERVED = ("filename", "text", "pretty_text", "env_variables")


def load_config(
    path: str | os.PathLike[str],
    *,
    config_root: ConfigRoot = None,
    keys: Any = None,
) -> dict[str, Any]:
    """The config ``path`` resolved as ``Config.fromfile(path).to_dict()`` would be, as plain
    data (see the module docstring). ``keys`` (default: all) are the top-level names wanted; a
    wanted value that needs running code is a ``ConfigError`` naming file, line and construct.
    ``config_root``: the directory ``package::path`` bases are found in (or a dict of one per
    package); without it, the installed package's ``.mim/configs``."""
    values, tree = _resolve(os.fspath(path), config_root)
    wanted = list(values) if keys is None else list(keys)
    _refuse_opaque(tree, wanted[0] if keys is not None and wanted else None)
    return {key: _strict(key, values[key], tree) for key in wanted if key in values}


def read_settings(
    path: str | os.PathLike[str], *, config_root: ConfigRoot = None
) -> dict[str, Any]:
    """``{'param_scheduler': [dict, ...] or None, 'train_cfg': dict or None, 'base': {name:
    value}, 'hook': dict or None}`` of a ``.py``/``.json`` config (``base``: the optimizer's
    values; ``hook``: a ``default_hooks.param_scheduler`` other than MMEngine's own)."""
    name = os.fspath(path)
    values, tree = _resolve(name, config_root)
    _refuse_opaque(tree, "param_scheduler")
    picked = {key: _strict(key, values[key], tree) for key in _STRICT if key in values}
    soft = {key: _soft(values[key], tree) for key in _SOFT if key in values}
    hook = _schedule_hook(soft.get("default_hooks"))
    scheduler = picked.get("param_scheduler")
    hooks = values.get("default_hooks")
    refused = None if hooks is None else find_refusal(hooks, tree.tainted)
    if scheduler is None and refused is not None:
        raise ConfigError(
            f"{refused.file}: line {refused.line}: {refused.what} is not evaluated, and "
            "default_hooks needs it: param_scheduler is None, so the schedule lives in a hook "
            "there (a config is read without running it)"
        )
    if scheduler is None and hook is None:
        raise ValueError(f"{name}: no param_scheduler in this config")
    if isinstance(scheduler, dict) and "type" in scheduler:
        scheduler = [scheduler]
    if scheduler is not None and (
        not isinstance(scheduler, (list, tuple)) or not all(isinstance(s, dict) for s in scheduler)
    ):
        raise ValueError(
            f"{name}: param_scheduler must be a dict or a list of dicts, got {scheduler!r}"
        )
    train_cfg = picked.get("train_cfg")
    if train_cfg is not None and not isinstance(train_cfg, dict):
        raise ValueError(f"{name}: train_cfg must be a dict, got {train_cfg!r}")
    return {
        "param_scheduler": None if scheduler is None else list(scheduler),
        "train_cfg": train_cfg,
        "base": _bases(soft),
        "hook": hook,
    }


def read_config(
    path: str | os.PathLike[str], *, config_root: ConfigRoot = None
) -> list[dict[str, Any]]:
    """The ``param_scheduler`` list of a config file (see :func:`read_settings`)."""
    scheduler = read_settings(path, config_root=config_root)["param_scheduler"]
    if scheduler is None:
        raise ValueError(f"{os.fspath(path)}: the schedule of this config is in a hook")
    return list(scheduler)


def _schedule_hook(hooks: Any) -> dict[str, Any] | None:
    hook = hooks.get("param_scheduler") if isinstance(hooks, dict) else None
    if not isinstance(hook, dict) or not isinstance(hook.get("type"), str):
        return None
    if hook["type"].rsplit(".", 1)[-1] == "ParamSchedulerHook":
        return None
    return hook


def _bases(values: dict[str, Any]) -> dict[str, float]:
    """The optimizer's lr, momentum (or ``betas[0]``) and weight decay where the config gives
    them as numbers: the base values of the schedules."""
    wrapper = values.get("optim_wrapper")
    optimizer = wrapper.get("optimizer") if isinstance(wrapper, dict) else None
    if not isinstance(optimizer, dict):
        optimizer = values.get("optimizer")
    if not isinstance(optimizer, dict):
        return {}
    found = {k: optimizer.get(k) for k in ("lr", "momentum", "weight_decay")}
    betas = optimizer.get("betas")
    if found["momentum"] is None and isinstance(betas, (list, tuple)) and betas:
        found["momentum"] = betas[0]
    return {
        k: float(v)
        for k, v in found.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v
    }


def _refuse_opaque(tree: Tree, key: str | None) -> None:
    """A construct not run that reaches the namespace itself (``exec``, ``globals()``, ...)
    may have set any name, before or after it, rebound ``dict`` or kept the namespace as a
    value (MMEngine then fails to copy it): no key of the tree is known."""
    if tree.opaque:
        raise ConfigError(tree.opaque[0].message(key))


def _strict(key: str, value: Any, tree: Tree) -> Any:
    refused = find_refusal(value, tree.tainted)
    if refused is not None:
        raise ConfigError(refused.message(key))
    return plain(value)


def _soft(value: Any, tree: Tree) -> Any:
    """A value read only if it is data; what needs running code reads as None."""
    if isinstance(value, Refused):
        return None
    if isinstance(value, dict):
        return {k: _soft(v, tree) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_soft(v, tree) for v in value)
    return plain(value) if find_refusal(value, tree.tainted) is None else None


def plain(value: Any) -> Any:
    """``value`` as plain data: dicts, lists, tuples; an imported name as its dotted text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, Imported):
        return value.text
    return value


# -- the files -----------------------------------------------------------------------------------


def _resolve(name: str, config_root: ConfigRoot) -> tuple[dict[str, Any], Tree]:
    tree = Tree(config_root)
    path = os.path.abspath(os.path.expanduser(name))
    if not os.path.isfile(path):
        raise ConfigError(f"{name}: no such config file")
    if not path.endswith((".py", ".json")):
        raise ConfigError(f"{name}: a config must be a .py or .json file")
    if path.endswith(".py") and tree.is_lazy(path, tree.parse(path, tree.read(path))):
        from schedalg.importers.mmengine.configlazy import lazy_file

        cfg, imported = lazy_file(tree, path, [])
        values = {k: v for k, v in cfg.items() if k not in imported}
    else:
        values = old_file(tree, path, [])
    for key in _RESERVED:
        if key in values:
            raise ConfigError(f"{name}: {key!r} is reserved by MMEngine; a config may not set it")
    return values, tree


def old_file(tree: Tree, path: str, stack: list[str]) -> dict[str, Any]:
    """MMEngine's ``_file2dict``: one old-style file merged over its bases."""
    text = tree.read(path)
    if path.endswith(".py") and stack and tree.is_lazy(path, tree.parse(path, text)):
        raise ConfigError(
            f"{stack[-1]}: its base {path} is a new-style (read_base) config; MMEngine refuses "
            "to mix the two styles in one inheritance chain"
        )
    text = _environment(path, _predefined(path, text))
    text, markers = _base_markers(text)
    if path.endswith(".json"):
        data, tree_node = _json(path, text), None
        bases, line = data.pop("_base_", []) if isinstance(data, dict) else [], 1
    else:
        tree_node = tree.parse(path, text)
        bases, line = _base_files(path, tree_node)
    base_cfg = ConfigDict()
    for base in bases if isinstance(bases, list) else [bases]:
        base_path, scope = tree.locate(path, line, base, stack)
        found = old_file(tree, base_path, [*stack, path])
        duplicate = set(base_cfg) & set(found)
        if duplicate:
            raise ConfigError(
                f"{path}: line {line}: duplicate key {sorted(duplicate)!r} among the bases "
                "(MMEngine refuses it)"
            )
        dict.update(base_cfg, scoped(found, scope))
    if tree_node is None:
        cfg = data
    else:
        env: dict[str, Any] = {"_base_": base_cfg}
        statements = [s for s in tree_node.body if not _is_base_assignment(s)]
        tree.evaluator(path, env, _old_imports(tree, path, env)).run(statements)
        cfg = {
            k: v
            for k, v in env.items()
            if k != "_base_" and not k.startswith("__") and not (isinstance(v, Refused) and v.drop)
        }
    cfg = {k: settle(v, tree.tainted) for k, v in cfg.items()}
    cfg.pop("_deprecation_", None)
    cfg = _substitute(path, cfg, markers, base_cfg)
    cfg.pop("_base_", None)
    settled = settle(base_cfg, tree.tainted)
    if isinstance(settled, Refused):  # a statement not run may have changed any of the bases
        settled = ConfigDict({key: settled for key in base_cfg})
    merged = merge_into(path, cfg, settled)
    return {k: v for k, v in merged.items() if not k.startswith("__")}


def _old_imports(tree: Tree, path: str, env: dict[str, Any]) -> Any:
    def imports(node: ast.stmt) -> None:
        # MMEngine imports these for real; their values are not data this reader has.
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names:
            if alias.name == "*":
                raise ConfigError(f"{path}: line {node.lineno}: 'import *' is not read")
            bound = alias.asname or alias.name.split(".")[0]
            env[bound] = Refused(path, node.lineno, f"the imported name {alias.name!r}", True)

    return imports


def _is_base_assignment(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "_base_"
    )


def _base_files(path: str, module: ast.Module) -> tuple[Any, int]:
    for node in module.body:
        if _is_base_assignment(node):
            assert isinstance(node, ast.Assign)
            try:
                bases = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                bases = None
            if not isinstance(bases, (str, list)) or (
                isinstance(bases, list) and not all(isinstance(b, str) for b in bases)
            ):
                raise ConfigError(
                    f"{path}: line {node.lineno}: _base_ must be a path or a list of paths "
                    f"written out as strings, got {ast.unparse(node.value)[:80]}"
                )
            return bases, node.lineno
    return [], 1


def _json(path: str, text: str) -> Any:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise ConfigError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(data, dict) or ("param_scheduler" not in data and "type" in data):
        return {"param_scheduler": data}  # the param_scheduler value alone
    return data


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number a config may hold")


def _predefined(path: str, text: str) -> str:
    """MMEngine's predefined variables: ``{{ fileDirname }}`` and the like."""
    stem, extension = os.path.splitext(os.path.basename(path))
    values = {
        "fileDirname": os.path.dirname(path),
        "fileBasename": os.path.basename(path),
        "fileBasenameNoExtension": stem,
        "fileExtname": extension,
    }
    for key, value in values.items():
        text = re.sub(r"\{\{\s*" + key + r"\s*\}\}", value.replace("\\", "/"), text)
    return text


def _environment(path: str, text: str) -> str:
    """MMEngine's ``{{$NAME:default}}``: the environment variable, else the default."""
    pattern = r"\{\{[\'\"]?\s*\$(\w+)\s*\:\s*(\S*?)\s*[\'\"]?\}\}"
    for var, default in re.findall(pattern, text):
        value = os.environ.get(var, default)
        if not value:
            raise ConfigError(f"{path}: {{{{${var}:}}}} needs the environment variable {var}")
        one = r"\{\{[\'\"]?\s*\$" + var + r"\s*\:\s*" + re.escape(default) + r"\s*[\'\"]?\}\}"
        text = re.sub(one, value.replace("\\", "\\\\"), text)
    return text


def _base_markers(text: str) -> tuple[str, dict[str, str]]:
    """``{{_base_.x}}`` as MMEngine reads it: a unique string now, the base's value after."""
    markers = {}
    for var in set(re.findall(r"\{\{\s*_base_\.([\w\.]+)\s*\}\}", text)):
        marker = f"_{var}_{uuid.uuid4().hex[:12]}"
        markers[marker] = var
        text = re.sub(r"\{\{\s*_base_\." + re.escape(var) + r"\s*\}\}", f'"{marker}"', text)
    return text, markers


def _substitute(path: str, value: Any, markers: dict[str, str], base: Any) -> Any:
    if not markers:
        return value
    if isinstance(value, str) and value in markers:
        found = base
        for key in markers[value].split("."):
            if not isinstance(found, dict) or key not in found:
                raise ConfigError(
                    f"{path}: {{{{_base_.{markers[value]}}}}}: the bases have no {key!r}"
                )
            found = found[key]
        return found
    if isinstance(value, dict):
        made = type(value)() if type(value) is dict else ConfigDict()
        for k, v in value.items():
            made[k] = _substitute(path, v, markers, base)
        return made
    if isinstance(value, (list, tuple)):
        return type(value)(_substitute(path, v, markers, base) for v in value)
    return value
