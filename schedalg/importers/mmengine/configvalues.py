"""The values of MMEngine's config language as data: :class:`ConfigDict` (MMEngine's, with its
attribute access, conversion of stored dicts, recursive ``update`` and ``_delete_``-aware
``merge``), :class:`Imported` (MMEngine's ``LazyObject``: a type name never imported),
:class:`Refused` (a value that would need running the config) and the error of a config that
cannot be read."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from schedalg.forms.literals import MAX_DEPTH

__all__ = ["DELETE", "ConfigDict", "ConfigError", "Imported", "Refused", "find_refusal", "hook"]

DELETE = "_delete_"


class ConfigError(ValueError):
    """A config that cannot be read: the message names the file, the line and why."""


@dataclass(frozen=True)
class Refused:
    """A value that would need running the config: where, and the construct."""

    file: str
    line: int
    what: str
    drop: bool = False  # a function or class definition: MMEngine leaves it out of the result

    def message(self, key: str | None = None) -> str:
        needed = f", and {key} needs it" if key else ""
        return (
            f"{self.file}: line {self.line}: {self.what} is not evaluated{needed} (a config is "
            "read without running it: assignments, numbers, strings, arithmetic, subscripts, "
            "dict(...), lists, tuples, _base_ and read_base() imports)"
        )


@dataclass(frozen=True)
class Imported:
    """A name imported from a module in a new-style config, never imported: MMEngine's
    ``LazyObject``. ``text`` is how MMEngine writes it out (``'mmengine.optim.LinearLR'``);
    ``prefix`` starts the text of its attributes."""

    text: str
    prefix: str

    def attribute(self, name: str) -> Imported:
        return Imported(f"{self.prefix}.{name}", f"{self.prefix}.{name}")


class ConfigDict(dict[Any, Any]):
    """MMEngine's ConfigDict as data: keys read as attributes, a plain dict stored in it becomes
    a ConfigDict, ``update`` merges nested dicts, ``merge`` follows ``_delete_``."""

    @classmethod
    def of(cls, mapping: Any) -> ConfigDict:
        made = cls()
        for key, value in mapping.items():
            made[key] = value
        return made

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, hook(value))

    def copy(self) -> ConfigDict:
        return ConfigDict.of(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError("update only accept one positional argument")
        other = {**(dict(args[0]) if args else {}), **kwargs}
        for key, value in other.items():
            current = self.get(key)
            if key in self and isinstance(current, dict) and isinstance(value, dict):
                current.update(value)
            else:
                self[key] = value

    def merge(self, other: Any) -> None:
        merged = _merge_into(copy.deepcopy(other), copy.deepcopy(self))
        self.clear()
        for key, value in merged.items():
            self[key] = value

    def pop(self, key: Any, default: Any = None) -> Any:
        return super().pop(key, default)

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, default)


def hook(item: Any) -> Any:
    """What ConfigDict stores for ``item``: plain dicts (in lists and tuples too) converted."""
    if type(item) is dict:
        return ConfigDict.of(item)
    if isinstance(item, (list, tuple)):
        return type(item)(hook(element) for element in item)
    return item


_MISSING = object()


def _merge_into(a: Any, b: Any) -> Any:
    """ConfigDict.merge's recursion: ``a`` over ``b``, keys of both, ``_delete_`` clearing."""
    if isinstance(a, dict):
        if not isinstance(b, dict):
            a.pop(DELETE, None)
            return a
        if a.pop(DELETE, False):
            b.clear()
        keys = list(b) + list(a)
        return {k: _merge_into(a.get(k, _MISSING), b.get(k, _MISSING)) for k in keys}
    return a if a is not _MISSING else b


def find_refusal(value: Any, tainted: dict[int, tuple[Any, Refused]], depth: int = 0) -> Any:
    """The first :class:`Refused` in ``value`` (or a container a refused statement may have
    changed), else None."""
    if isinstance(value, Refused):
        return value
    if id(value) in tainted:
        return tainted[id(value)][1]
    if depth > MAX_DEPTH:
        return None
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list, tuple)):
        for item in items:
            found = find_refusal(item, tainted, depth + 1)
            if found is not None:
                return found
    return None
