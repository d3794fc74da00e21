"""MMEngine's config language, evaluated from the ``ast``: nothing in a config runs.

One file's statements are interpreted in order over plain data: assignments (to names, to
``a.b`` of a ConfigDict, to ``a[k]``, tuple unpacking, ``+=``), ``del``, and the methods configs
call on their dicts and lists (``update``, ``merge``, ``pop``, ``get``, ``copy``, ``append``,
``extend``, ``insert``, ``setdefault``). Expressions are numbers, strings, ``True``/``False``/
``None``, names, arithmetic (``+ - * / // % **``, ``<< >>``, unary ``-``/``+``), subscripts and
slices, ``dict(...)``, ``{...}``, lists and tuples (with ``*``/``**`` unpacking), attribute reads
of ConfigDicts and of imported type names. :class:`ConfigDict` mirrors MMEngine's (attribute
access, nested dicts converted when stored, its recursive ``update`` and ``merge``).

Anything else (another call, a comprehension, a lambda, an f-string, a comparison, a loop, a
function definition, ...) is not run: the names the statement assigns or touches become a
:class:`Refused` value that remembers the file, the line and the construct, and only a value the
caller asks for that holds one is an error. Errors MMEngine itself raises (an undefined name, a
missing key, a division by zero) are a :class:`ConfigError` at once. Caps: integers of at most
``MAX_DIGITS`` digits, ``MAX_DEPTH`` levels of nesting, ``MAX_ITEMS`` elements or characters.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NoReturn

from schedalg.forms.literals import MAX_DEPTH, MAX_DIGITS
from schedalg.importers.mmengine.configscope import (
    CONSTRUCTS,
    configdict_attribute,
    interpreter_imports,
    module_stores,
    namespace_construct,
)
from schedalg.importers.mmengine.configvalues import ConfigDict, ConfigError, Imported, Refused

__all__ = ["MAX_ITEMS", "Evaluator"]

MAX_ITEMS = 1_000_000


class _Poison(Exception):
    def __init__(self, refused: Refused) -> None:
        self.refused = refused


_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}

_NUMBERS = (int, float)  # bool is an int


def _plural_container(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))


class Evaluator:
    """Runs one file's statements over data (see the module docstring). ``env`` holds the
    names; ``imports`` handles ``import`` statements (they depend on the config's style);
    ``tainted`` and ``opaque`` are the tree's: the containers a statement not run may have
    changed, and the constructs not run that may have set any name (``exec``, ...)."""

    def __init__(
        self,
        file: str,
        env: dict[str, Any],
        imports: Callable[[ast.stmt], None],
        tainted: dict[int, tuple[Any, Refused]],
        opaque: list[Refused],
    ) -> None:
        self.file, self.env, self.imports, self.tainted = file, env, imports, tainted
        self.opaque = opaque
        self.interpreter: set[str] = set()  # names bound to the interpreter's modules
        self._line = 0

    # -- statements ---------------------------------------------------------------------------

    def run(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self._line = statement.lineno
            try:
                self.statement(statement)
            except _Poison as poison:
                self._not_run(statement, poison.refused)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            value = self.value(node.value)
            for target in node.targets:
                self.assign(target, value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.value(node.value))
        elif isinstance(node, ast.AugAssign):
            self._augmented(node)
        elif isinstance(node, ast.Expr):
            if not isinstance(node.value, ast.Constant):  # a docstring does nothing
                self.value(node.value)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self._delete(target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports(node)
            self.interpreter.update(interpreter_imports(node))
        elif isinstance(node, ast.With):
            self.error("a with statement (only one 'with read_base():' of imports is read)")
        elif not isinstance(node, ast.Pass):
            what = CONSTRUCTS.get(type(node), f"a {type(node).__name__} statement")
            raise _Poison(
                self.refused(what, drop=isinstance(node, (ast.FunctionDef, ast.ClassDef)))
            )

    def _not_run(self, statement: ast.stmt, refused: Refused) -> None:
        """What a statement that is not run may have changed is refused (``configscope``):
        every key of the tree, where it reaches the namespace itself (``exec``,
        ``globals()``, ...); else the names it binds, the module names its functions declare
        ``global``, and every container it reaches (``a.b[0]`` as far as that resolves)."""
        found = namespace_construct(statement, self._is_data, self.interpreter.__contains__)
        if found is not None:  # then every key of the tree is refused (configfile)
            line, what = found
            self.opaque.append(Refused(self.file, line, f"{what} (it may set any name)"))
        self._taint_reached(statement, refused)
        names, definitions, declared = module_stores(statement)
        defined = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for name in names:
            # MMEngine leaves functions out of the config: a name a def surely binds is gone.
            gone = name in definitions and (defined or name not in self.env)
            self.env[name] = replace(refused, drop=gone)
        for name, (line, where) in declared.items():
            what = f"a global statement in {where} (it may assign the module name {name!r})"
            self.env[name] = Refused(self.file, line, what)

    def _taint_reached(self, statement: ast.stmt, refused: Refused) -> None:
        """Every container the statement reaches (``a.b[0]`` as far as that resolves)."""
        parents = {id(c): n for n in ast.walk(statement) for c in ast.iter_child_nodes(n)}
        for node in ast.walk(statement):
            parent = parents.get(id(node))
            if not isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) or (
                isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node
            ):
                continue  # only the longest chains
            for container in _containers(self._reach(node)):
                self.tainted[id(container)] = (container, refused)

    def _is_data(self, name: str) -> bool:
        return name in self.env and not isinstance(self.env[name], Refused)

    def _reach(self, node: ast.expr) -> Any:
        """The value ``node`` names, or that of its longest prefix that resolves."""
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if not isinstance(node, (ast.Attribute, ast.Subscript)):
            return None
        owner = self._reach(node.value)
        if isinstance(node, ast.Attribute):
            key: Any = node.attr
        elif isinstance(node.slice, ast.Constant):
            key = node.slice.value
        else:
            return owner
        try:
            return owner[key] if isinstance(owner, (dict, list, tuple)) else owner
        except (KeyError, IndexError, TypeError):
            return owner

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = list(self._iterable(value))
            if len(items) != len(target.elts) or any(
                isinstance(e, ast.Starred) for e in target.elts
            ):
                self.error(f"cannot unpack {len(items)} values into {len(target.elts)} names")
            for element, item in zip(target.elts, items, strict=True):
                self.assign(element, item)
        elif isinstance(target, ast.Attribute):
            owner = self.value(target.value)
            self._attribute_error(owner, target.attr, "setting")
            if not isinstance(owner, ConfigDict):
                raise _Poison(self.refused(f"setting the attribute .{target.attr}"))
            owner[target.attr] = value
        elif isinstance(target, ast.Subscript):
            owner, key = self.value(target.value), self._key(target.slice)
            if not isinstance(owner, (dict, list)):
                raise _Poison(self.refused(f"an item assignment on a {type(owner).__name__}"))
            self._apply(operator.setitem, owner, key, value)
        else:
            raise _Poison(self.refused(f"an assignment to {type(target).__name__}"))

    def _augmented(self, node: ast.AugAssign) -> None:
        current = self.value(_loading(node.target))
        change = self.value(node.value)
        if isinstance(current, list) and isinstance(node.op, ast.Add):
            self._method(current, "extend", [change], {})  # += on a list extends it in place
            return
        self.assign(node.target, self._binary(node.op, current, change))

    def _delete(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if target.id not in self.env:
                self.error(f"name {target.id!r} is not defined")
            del self.env[target.id]
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            owner = self.value(target.value)
            key = self._key(target.slice) if isinstance(target, ast.Subscript) else target.attr
            if isinstance(target, ast.Attribute):
                self._attribute_error(owner, key, "deleting")
                if not isinstance(owner, ConfigDict):
                    raise _Poison(self.refused(f"deleting the attribute .{key}"))
            self._apply(operator.delitem, owner, key)
        else:
            raise _Poison(self.refused("this del statement"))

    # -- expressions --------------------------------------------------------------------------

    def value(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _Poison(self.refused(f"an expression nested deeper than {MAX_DEPTH} levels"))
        method = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None:
            what = CONSTRUCTS.get(type(node), f"the expression {type(node).__name__}")
            raise _Poison(self.refused(what))
        return method(node, depth + 1)

    def _constant(self, node: ast.Constant, depth: int) -> Any:
        value = node.value
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return self._checked_int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Poison(self.refused(f"the non-finite number {value!r}"))
            return value
        if isinstance(value, str):
            return self._sized(value)
        raise _Poison(self.refused(f"a {type(value).__name__} constant"))

    def _name(self, node: ast.Name, depth: int) -> Any:
        if node.id not in self.env:
            if hasattr(builtins, node.id):
                raise _Poison(self.refused(f"the built-in {node.id!r}"))
            self.error(f"name {node.id!r} is not defined")
        value = self.env[node.id]
        if isinstance(value, Refused):
            raise _Poison(value)
        return value

    def _unaryop(self, node: ast.UnaryOp, depth: int) -> Any:
        value = self.value(node.operand, depth)
        signs: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
        if type(node.op) not in signs or not isinstance(value, _NUMBERS):
            raise _Poison(self.refused(f"the operator {type(node.op).__name__}"))
        return signs[type(node.op)](value)

    def _binop(self, node: ast.BinOp, depth: int) -> Any:
        return self._binary(node.op, self.value(node.left, depth), self.value(node.right, depth))

    def _binary(self, op: ast.operator, left: Any, right: Any) -> Any:
        function = _OPERATORS.get(type(op))
        if function is None:
            raise _Poison(self.refused(f"the operator {type(op).__name__}"))
        numbers = isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS)
        if not numbers:
            self._check_sequence_operation(op, left, right)
        elif isinstance(op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            if abs(left) > 1 and right * math.log10(abs(left)) > MAX_DIGITS:
                raise _Poison(self.refused(f"an integer with more than {MAX_DIGITS} digits"))
        elif isinstance(op, (ast.LShift, ast.RShift)) and isinstance(right, int) and right > 128:
            raise _Poison(self.refused(f"a shift by {right} bits"))
        result = self._apply(function, left, right)
        if isinstance(result, int):
            return self._checked_int(result)
        if isinstance(result, float) and not math.isfinite(result):
            self.error(f"the arithmetic gives {result!r}")
        return self._sized(result)

    def _check_sequence_operation(self, op: ast.operator, left: Any, right: Any) -> None:
        if isinstance(op, ast.Add) and type(left) is type(right) and _plural_container(left):
            return
        if isinstance(op, ast.Mult):
            sequence, count = (left, right) if _plural_container(left) else (right, left)
            if _plural_container(sequence) and isinstance(count, int):
                if len(sequence) * max(count, 0) > MAX_ITEMS:
                    raise _Poison(self.refused(f"a value of more than {MAX_ITEMS} items"))
                return
        if isinstance(op, ast.Mod) and isinstance(left, str):
            raise _Poison(self.refused("string formatting with %"))
        self.error(
            f"unsupported operand types for {type(op).__name__}: "
            f"{type(left).__name__} and {type(right).__name__}"
        )

    def _attribute(self, node: ast.Attribute, depth: int) -> Any:
        owner = self.value(node.value, depth)
        if isinstance(owner, Imported):
            return owner.attribute(node.attr)
        self._attribute_error(owner, node.attr, "reading")
        if not isinstance(owner, ConfigDict) or configdict_attribute(node.attr):
            raise _Poison(self.refused(f"the attribute .{node.attr} of a {type(owner).__name__}"))
        if node.attr not in owner:
            self.error(f"the config value has no key {node.attr!r}")
        value = owner[node.attr]
        if isinstance(value, Refused):
            raise _Poison(value)
        return value

    def _subscript(self, node: ast.Subscript, depth: int) -> Any:
        owner, key = self.value(node.value, depth), self._key(node.slice, depth)
        if not isinstance(owner, (dict, list, tuple, str)):
            raise _Poison(self.refused(f"a subscript of a {type(owner).__name__}"))
        value = self._apply(operator.getitem, owner, key)
        if isinstance(value, Refused):
            raise _Poison(value)
        return value

    def _key(self, node: ast.expr, depth: int = 0) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.value(p, depth) for p in (node.lower, node.upper)]
            step = None if node.step is None else self.value(node.step, depth)
            return slice(parts[0], parts[1], step)
        key = self.value(node, depth)
        if isinstance(key, (dict, list)):
            self.error(f"a {type(key).__name__} cannot be a key")
        return key

    def _dict(self, node: ast.Dict, depth: int) -> dict[Any, Any]:
        made: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                made.update(self._mapping(self.value(value, depth)))
            else:
                made[self._key(key, depth)] = self.value(value, depth)
        return made

    def _list(self, node: ast.List, depth: int) -> list[Any]:
        return self._sized(list(self._elements(node.elts, depth)))

    def _tuple(self, node: ast.Tuple, depth: int) -> tuple[Any, ...]:
        return self._sized(tuple(self._elements(node.elts, depth)))

    def _elements(self, nodes: list[ast.expr], depth: int) -> Iterator[Any]:
        for node in nodes:
            if isinstance(node, ast.Starred):
                yield from self._iterable(self.value(node.value, depth))
            else:
                yield self.value(node, depth)

    def _call(self, node: ast.Call, depth: int) -> Any:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "dict" and "dict" not in self.env:
            return self._dict_call(node, depth)
        if isinstance(func, ast.Attribute) and func.attr in _METHODS:
            owner = self.value(func.value, depth)
            if isinstance(owner, (dict, list)):
                args = list(self._elements(node.args, depth))
                kwargs = self._keywords(node.keywords, depth)
                return self._method(owner, func.attr, args, kwargs)
        raise _Poison(self.refused(f"the call {ast.unparse(func)[:60]}(...)"))

    def _dict_call(self, node: ast.Call, depth: int) -> dict[Any, Any]:
        if len(node.args) > 1:
            self.error("dict() takes at most one positional argument")
        made: dict[Any, Any] = {}
        if node.args:
            first = self.value(node.args[0], depth)
            made.update(self._mapping(first) if isinstance(first, dict) else self._pairs(first))
        made.update(self._keywords(node.keywords, depth))
        return made

    def _keywords(self, keywords: list[ast.keyword], depth: int) -> dict[str, Any]:
        made: dict[str, Any] = {}
        for keyword in keywords:
            if keyword.arg is None:
                made.update(self._mapping(self.value(keyword.value, depth)))
            else:
                made[keyword.arg] = self.value(keyword.value, depth)
        return made

    def _method(self, owner: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        allowed = _METHODS[name]
        if not isinstance(owner, allowed):
            raise _Poison(self.refused(f"the method .{name}() of a {type(owner).__name__}"))
        bound: Callable[..., Any] = getattr(owner, name)
        result = self._apply(bound, *args, **kwargs)
        if isinstance(owner, list):
            self._sized(owner)
        return result

    # -- helpers ------------------------------------------------------------------------------

    def _mapping(self, value: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            self.error(f"** needs a mapping, got a {type(value).__name__}")
        return dict(value)

    def _pairs(self, value: Any) -> list[tuple[Any, Any]]:
        pairs = [tuple(self._iterable(item)) for item in self._iterable(value)]
        if any(len(pair) != 2 for pair in pairs):
            self.error("dict() needs (key, value) pairs")
        return [(pair[0], pair[1]) for pair in pairs]

    def _iterable(self, value: Any) -> Any:
        if isinstance(value, (list, tuple, str)):
            return value
        if isinstance(value, dict):
            return list(value)
        raise _Poison(self.refused(f"unpacking a {type(value).__name__}"))

    def _apply(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args)`` with Python's errors as the config errors MMEngine raises too."""
        try:
            return function(*args, **kwargs)
        except (ArithmeticError, KeyError, IndexError, TypeError, ValueError) as error:
            self.error(f"{type(error).__name__}: {error}")

    def _checked_int(self, value: int) -> int:
        if abs(value) >= 10**MAX_DIGITS:
            raise _Poison(self.refused(f"an integer with more than {MAX_DIGITS} digits"))
        return value

    def _sized(self, value: Any) -> Any:
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_ITEMS:
            raise _Poison(self.refused(f"a value of more than {MAX_ITEMS} items"))
        return value

    def _attribute_error(self, owner: Any, name: str, action: str) -> None:
        """The AttributeError MMEngine raises: an attribute a dict does not have (a config's
        dicts are plain ones until stored in a ConfigDict), or setting one of ConfigDict's own
        (addict's "read-only")."""
        if type(owner) is dict and not (action == "reading" and hasattr(dict, name)):
            self.error(
                f"{action} the attribute .{name} of a dict: MMEngine raises AttributeError "
                f"('dict' object has no attribute {name!r})"
            )
        if isinstance(owner, ConfigDict) and action == "setting" and configdict_attribute(name):
            self.error(
                f"setting the attribute .{name} of a ConfigDict: MMEngine raises AttributeError "
                f"('Dict' object attribute {name!r} is read-only)"
            )

    def refused(self, what: str, drop: bool = False) -> Refused:
        return Refused(self.file, self._line, what, drop)

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.file}: line {self._line}: {message}")


_METHODS: dict[str, tuple[type, ...]] = {
    "update": (dict,),
    "merge": (ConfigDict,),
    "pop": (dict, list),
    "get": (dict,),
    "copy": (dict, list),
    "setdefault": (dict,),
    "append": (list,),
    "extend": (list,),
    "insert": (list,),
}


def _loading(target: ast.expr) -> ast.expr:
    """``target`` read as a value (the left side of ``+=``)."""
    loaded = copy.copy(target)
    loaded.ctx = ast.Load()  # type: ignore[attr-defined]
    return loaded


def _containers(value: Any, depth: int = 0) -> Iterator[Any]:
    if isinstance(value, (dict, list)) and depth <= MAX_DEPTH:
        yield value
        for item in value.values() if isinstance(value, dict) else value:
            yield from _containers(item, depth + 1)
    elif isinstance(value, tuple) and depth <= MAX_DEPTH:
        for item in value:
            yield from _containers(item, depth + 1)
