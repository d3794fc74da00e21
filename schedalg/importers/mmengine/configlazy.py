"""New-style (``read_base()``) configs, as MMEngine's ``Config._parse_lazy_import`` reads them:
the bases of the first ``with read_base():`` imported, then the file's statements over them;
names imported from other modules are kept as MMEngine's ``LazyObject`` would write them."""

from __future__ import annotations

import ast
from typing import Any

from schedalg.importers.mmengine.configtree import Tree, check_read_base, is_builtin_module, settle
from schedalg.importers.mmengine.configvalues import ConfigDict, ConfigError, Imported, Refused

__all__ = ["lazy_file"]


def lazy_file(tree: Tree, path: str, stack: list[str]) -> tuple[ConfigDict, set[str]]:
    """The file's names (as ConfigDicts) and the names that are imports (left out of the
    result at the top)."""
    module = tree.parse(path, tree.read(path))
    body = list(module.body)
    with_node = _read_base(path, body)
    bases: dict[str, Any] = {}
    imported: set[str] = set()
    for node in with_node.body if with_node else []:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        name = "." * node.level + node.module
        found = tree.module_path(path, node.lineno, name, stack)
        bases[name], names = lazy_file(tree, found, [*stack, path])
        imported |= names
    env: dict[str, Any] = {"__file__": path}
    for node in with_node.body if with_node else []:
        assert isinstance(node, ast.ImportFrom)
        _from_base(path, node, bases, env, tree.opaque)
    rest = [node for node in body if node is not with_node]
    imported |= _nested_imports(rest)
    rest = _hoist_imports(path, rest, env, imported)
    imports = _imports(path, bases, env, imported, tree.opaque)
    tree.evaluator(path, env, imports).run(rest)
    result = ConfigDict()
    for key, value in env.items():
        if not key.startswith("__") and key != "LazyObject":
            dict.__setitem__(result, key, _config_dicts(settle(value, tree.tainted)))
    return result, imported


def _read_base(path: str, body: list[ast.stmt]) -> ast.With | None:
    """The first ``with read_base():`` (MMEngine reads the bases of that one only)."""
    for node in body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "_base_"
        ):
            raise ConfigError(
                f"{path}: line {node.lineno}: _base_ = ... in a new-style (read_base) config "
                "tree; MMEngine refuses to mix the two styles"
            )
        if isinstance(node, ast.With):
            check_read_base(path, node)
            for item in node.body:
                if not isinstance(item, ast.ImportFrom) or item.module is None:
                    raise ConfigError(
                        f"{path}: line {item.lineno}: only 'from <config module> import ...' "
                        "may be in 'with read_base():'"
                    )
            return node
    return None


def _from_base(
    path: str,
    node: ast.ImportFrom,
    bases: dict[str, Any],
    env: dict[str, Any],
    opaque: list[Refused],
) -> None:
    base = bases["." * node.level + (node.module or "")]
    for alias in node.names:
        if alias.name == "*":
            env.update(base)
            return
        if alias.name not in base and opaque:  # the base may have set it (exec, ...)
            raise ConfigError(opaque[0].message(alias.name))
        if alias.name not in base:
            raise ConfigError(
                f"{path}: line {node.lineno}: the base {node.module} has no name {alias.name!r}"
            )
        env[alias.asname or alias.name] = base[alias.name]


def _nested_imports(body: list[ast.stmt]) -> set[str]:
    """The names imports inside other statements bind (``from m import a``, ``import m as
    a``): MMEngine's ImportTransformer visits every import of the file and leaves the names
    out of the config, whatever they are bound to later."""
    names = set()
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.asname is not None or isinstance(node, ast.ImportFrom):
                        names.add(alias.asname or alias.name)
    names.discard("*")
    return names


def _hoist_imports(
    path: str, body: list[ast.stmt], env: dict[str, Any], imported: set[str]
) -> list[ast.stmt]:
    """``import pkg.mod`` (not a standard module, no ``as``) binds ``pkg`` before anything runs,
    as MMEngine's ``_gather_abs_import_lazyobj`` does; the other statements stay."""
    kept = []
    for node in body:
        if isinstance(node, ast.Import):
            if len(node.names) != 1:
                raise ConfigError(
                    f"{path}: line {node.lineno}: one module per import statement (MMEngine's rule)"
                )
            alias = node.names[0]
            if alias.asname is None and not is_builtin_module(alias.name):
                top = alias.name.split(".")[0]
                env[top] = Imported(f"{top}.{top}", top)
                imported.add(top)
                continue
        kept.append(node)
    return kept


def _imports(
    path: str, bases: dict[str, Any], env: dict[str, Any], imported: set[str], opaque: list[Refused]
) -> Any:
    def imports(node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            alias = node.names[0]
            bound = alias.asname or alias.name.split(".")[0]
            imported.add(bound)
            if is_builtin_module(alias.name.split(".")[0]):
                env[bound] = Refused(path, node.lineno, f"the module {alias.name}", True)
            else:
                env[bound] = Imported(f"{alias.name}.{alias.name}", alias.name)
            return
        assert isinstance(node, ast.ImportFrom)
        module = "." * node.level + (node.module or "")
        if not is_builtin_module(module) and module in bases:
            _from_base(path, node, bases, env, opaque)
            return
        for alias in node.names:
            if alias.name == "*":
                raise ConfigError(
                    f"{path}: line {node.lineno}: 'from {module} import *' outside "
                    "'with read_base():' (MMEngine refuses it)"
                )
            bound = alias.asname or alias.name
            imported.add(bound)
            if is_builtin_module(module):
                what = f"the imported name {module}.{alias.name}"
                env[bound] = Refused(path, node.lineno, what, True)
            else:
                env[bound] = Imported(f"{module}.{alias.name}", f"{module}.{alias.name}")

    return imports


def _config_dicts(value: Any) -> Any:
    """MMEngine's ``_dict_to_config_dict_lazy``: every dict a new ConfigDict."""
    if isinstance(value, dict):
        made = ConfigDict()
        for key, item in value.items():
            dict.__setitem__(made, key, _config_dicts(item))
        return made
    if isinstance(value, (list, tuple)):
        return type(value)(_config_dicts(item) for item in value)
    return value
