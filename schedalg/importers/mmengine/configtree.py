"""The files of one config tree: reading them (with caps), finding bases (relative paths,
``package::path``, new-style module paths), cycles, and MMEngine's merge of a child into its
bases (``Config._merge_a_into_b``) and the ``_scope_`` a package's base gets."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.importers.mmengine.configlang import Evaluator
from schedalg.importers.mmengine.configvalues import (
    DELETE,
    ConfigDict,
    ConfigError,
    Refused,
    find_refusal,
)

__all__ = ["Tree", "is_builtin_module", "merge_into", "scoped", "settle"]

MAX_BYTES = 4 << 20  # a config is a few kilobytes; refuse to parse a huge file
MAX_FILES = 2000  # file reads in one tree (old-style bases are re-read wherever inherited)
MAX_INHERITANCE = 50  # bases of bases of ...


class Tree:
    """What one ``load_config`` call shares: the config root, the refused containers, the
    constructs that may set any name, the count of files read."""

    def __init__(self, config_root: Any) -> None:
        if config_root is not None and not isinstance(config_root, (str, os.PathLike, Mapping)):
            raise TypeError(
                "load_config(): config_root must be a directory or a dict of package name -> "
                f"directory, got {config_root!r}"
            )
        self.config_root = config_root
        self.tainted: dict[int, tuple[Any, Refused]] = {}
        # What a file of the tree does not run that may set any of its names (exec, ...).
        self.opaque: list[Refused] = []
        self.files = 0

    def read(self, path: str) -> str:
        self.files += 1
        if self.files > MAX_FILES:
            raise ConfigError(f"{path}: the config tree reads more than {MAX_FILES} files")
        try:
            if os.path.getsize(path) > MAX_BYTES:
                raise ConfigError(
                    f"{path}: the file is larger than {MAX_BYTES} bytes; not a config"
                )
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: cannot read the config: {error}") from None

    def parse(self, path: str, text: str) -> ast.Module:
        try:
            return ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            raise ConfigError(f"{path}: not a Python file that can be parsed: {error}") from None

    def evaluator(self, path: str, env: dict[str, Any], imports: Callable[..., None]) -> Evaluator:
        return Evaluator(path, env, imports, self.tainted, self.opaque)

    def is_lazy(self, path: str, module: ast.Module) -> bool:
        """MMEngine's ``Config._is_lazy_import``: is this a new-style (read_base) config?"""
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "_base_"
            ):
                return False
            if isinstance(node, ast.With):
                check_read_base(path, node)
                return True
            if isinstance(node, ast.ImportFrom) and _lazy_import_from(node):
                return True
            if isinstance(node, ast.Import) and not all(
                is_builtin_module(a.name) for a in node.names
            ):
                return True
        return False

    def locate(self, path: str, line: int, base: str, stack: list[str]) -> tuple[str, str | None]:
        """The file of the old-style base ``base`` named in ``path``, and its scope."""
        scope = None
        if "::" in base:
            scope, _, relative = base.partition("::")
            found = os.path.join(self._package_configs(path, line, scope), relative)
        else:
            found = os.path.join(os.path.dirname(path), base)
        return self.checked(path, line, repr(base), os.path.abspath(found), stack), scope

    def module_path(self, path: str, line: int, module: str, stack: list[str]) -> str:
        """The file of the new-style base module ``module`` imported in ``path``."""
        level = len(module) - len(module.lstrip("."))
        parts = module[level:].split(".")
        if level:
            found = os.path.join(os.path.dirname(path), *[".."] * (level - 1), *parts) + ".py"
        elif len(parts) == 1:
            raise ConfigError(
                f"{path}: line {line}: read_base() imports a module of a package "
                f"(from {module}.configs... import *), not the package {module}"
            )
        else:
            found = os.path.join(self._package_dir(path, line, parts[0]), *parts[1:]) + ".py"
        return self.checked(path, line, module, os.path.abspath(found), stack)

    def checked(self, path: str, line: int, named: str, found: str, stack: list[str]) -> str:
        if not os.path.isfile(found):
            raise ConfigError(f"{path}: line {line}: the base {named} is not a file ({found})")
        if found in stack or found == path:
            chain = " -> ".join(os.path.basename(p) for p in [*stack, path, found])
            raise ConfigError(f"{path}: line {line}: a _base_ cycle: {chain}")
        if len(stack) >= MAX_INHERITANCE:
            raise ConfigError(f"{path}: line {line}: more than {MAX_INHERITANCE} levels of bases")
        return found

    def _package_configs(self, path: str, line: int, package: str) -> str:
        root = self.config_root
        if isinstance(root, Mapping):
            root = root.get(package)
        if root is not None:
            return os.fspath(root)
        return os.path.join(
            self._package_dir(path, line, package, "config_root"), ".mim", "configs"
        )

    def _package_dir(self, path: str, line: int, package: str, hint: str = "") -> str:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            option = f"; give config_root=<{package}'s configs directory>" if hint else ""
            raise ConfigError(
                f"{path}: line {line}: the base comes from the package {package!r}, which is not "
                f"installed{option}"
            )
        return os.path.dirname(spec.origin)


def check_read_base(path: str, node: ast.With) -> None:
    expr = node.items[0].context_expr
    if (
        len(node.items) > 1
        or not isinstance(expr, ast.Call)
        or not isinstance(expr.func, ast.Name)
        or expr.func.id != "read_base"
    ):
        raise ConfigError(
            f"{path}: line {node.lineno}: a with statement other than 'with read_base():' "
            "(MMEngine allows only that one)"
        )


def _lazy_import_from(node: ast.ImportFrom) -> bool:
    if node.level != 0:
        return True
    if node.module == "mmengine" and [a.name for a in node.names] == ["Config"]:
        return False
    return isinstance(node.module, str) and not is_builtin_module(node.module)


def is_builtin_module(name: str) -> bool:
    """MMEngine's ``_is_builtin_module``: a module it imports for real rather than lazily (one
    found in this Python's own library outside site-packages, or mmengine.config). As there, a
    frozen standard module (``os`` on Python 3.11) does not count."""
    if name.startswith("."):
        return False
    if name.startswith("mmengine.config") or name in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(name.split(".")[0])  # finds, never imports, a top name
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None)
    if origin is None:
        return False
    origin = os.path.abspath(origin)
    if "site-package" in origin or "dist-package" in origin:
        return False
    return origin.startswith((_PYTHON_ROOT, "/usr/lib/python"))


_PYTHON_ROOT = os.path.dirname(os.path.dirname(sys.executable))


def merge_into(path: str, a: Mapping[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """MMEngine's ``Config._merge_a_into_b``: ``a`` (the child) over a copy of ``b``."""
    merged = b.copy()
    for key, value in a.items():
        if isinstance(value, dict):
            if key in merged and not value.pop(DELETE, False):
                current = merged[key]
                if isinstance(current, Refused):
                    continue  # what the base holds here is not known, nor is the merge
                if not isinstance(current, dict):
                    raise ConfigError(
                        f"{path}: {key} is a dict in this config but a "
                        f"{type(current).__name__} in its base: set _delete_=True to replace it"
                    )
                merged[key] = merge_into(path, value, current)
            else:
                merged[key] = ConfigDict.of(value)
        else:
            merged[key] = value
    return merged


def scoped(cfg: Any, scope: str | None, has_scope: bool = True) -> Any:
    """MMEngine's ``_dict_to_config_dict``: dicts as ConfigDicts, and the outermost dicts with a
    ``type`` given ``_scope_`` when the base came from a package (``mmdet::...``)."""
    if isinstance(cfg, dict):
        if has_scope and "type" in cfg:
            has_scope = False
            if scope is not None and cfg.get("_scope_") is None:
                cfg["_scope_"] = scope
        made = ConfigDict.of(cfg)
        for key, value in made.items():
            dict.__setitem__(made, key, scoped(value, scope, has_scope))
        return made
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(scoped(item, scope, has_scope) for item in cfg)
    return cfg


def settle(value: Any, tainted: dict[int, tuple[Any, Refused]]) -> Any:
    """``value`` with every container a refused statement may have changed replaced by that
    refusal, before copies lose track of them."""
    if not tainted or find_refusal(value, tainted) is None or isinstance(value, Refused):
        return value
    if id(value) in tainted:
        return tainted[id(value)][1]
    if isinstance(value, dict):
        made = ConfigDict() if isinstance(value, ConfigDict) else {}
        for key, item in value.items():
            dict.__setitem__(made, key, settle(item, tainted))
        return made
    if isinstance(value, (list, tuple)):
        return type(value)(settle(item, tainted) for item in value)
    return value
