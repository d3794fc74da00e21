"""What a config statement that is not run may change, found from its ``ast`` alone.

MMEngine runs a config's statements with one dict as globals and locals; the reader runs none
of those it cannot follow, and refuses what they may change when a key that needs it is read:

- the names the statement binds at module level (:func:`module_stores`), scope by scope as
  Python binds them: a function's or a class's own names are not the config's, its ``global``
  ones are (MMEngine's configs see them: ``def f(): global x``), and so are the names a loop,
  an ``if``, a ``try`` (``except E as e``), a ``match`` or an import inside them binds;
- any name of the config, where the statement reaches the namespace itself
  (:func:`namespace_construct`): the built-ins ``exec``, ``eval``, ``globals``, ``locals``,
  ``vars``, ``getattr``, ``setattr``, ``delattr`` and ``__builtins__``, a dunder or frame
  attribute (``f.__globals__``, ``frame.f_globals``), a call or an assignment through
  ``__import__(...)`` or a module of the interpreter (``builtins``, ``sys``, ``inspect``,
  ``importlib``, ``ctypes``, ``gc``). A call into another imported module is taken to change
  only what it is given.

Also MMEngine's ``ConfigDict`` class attributes: on a ConfigDict, ``cfg.items`` is the method,
not the key, and setting one raises AttributeError (addict's "read-only").
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "CONFIGDICT_ATTRIBUTES",
    "CONSTRUCTS",
    "INTERPRETER_MODULES",
    "configdict_attribute",
    "interpreter_imports",
    "module_stores",
    "namespace_construct",
]

# How a refusal names what is not run.
CONSTRUCTS: dict[type, str] = {
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.DictComp: "a dict comprehension",
    ast.SetComp: "a set comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.IfExp: "a conditional expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "an and/or",
    ast.Set: "a set",
    ast.NamedExpr: "an assignment expression",
    ast.For: "a for loop",
    ast.While: "a while loop",
    ast.If: "an if statement",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.Try: "a try statement",
    ast.Assert: "an assert statement",
    ast.Raise: "a raise statement",
    ast.Global: "a global statement",
    ast.Match: "a match statement",
}

NAMESPACE_BUILTINS = frozenset(
    {
        "exec",
        "eval",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "__builtins__",
    }
)
FRAME_ATTRIBUTES = frozenset(
    {"f_globals", "f_locals", "f_builtins", "f_back", "_getframe", "currentframe", "stack"}
)
INTERPRETER_MODULES = frozenset({"builtins", "sys", "inspect", "importlib", "ctypes", "gc"})
# What imports a module of the interpreter by itself: ``__import__('builtins').dict = list``.
_IMPORTING = "__import__"
# dir(mmengine.config.ConfigDict), mmengine 0.10.7 (a test compares): on a ConfigDict these
# attributes are not its keys.
_CONFIGDICT = """
_hook _to_lazy_dict build_lazy clear copy deepcopy freeze fromkeys get items keys lazy merge
pop popitem setdefault to_dict unfreeze update values __add__ __class__ __class_getitem__
__contains__ __copy__ __deepcopy__ __delattr__ __delitem__ __dict__ __dir__ __doc__ __eq__
__format__ __ge__ __getattr__ __getattribute__ __getitem__ __getnewargs__ __getstate__ __gt__
__hash__ __init__ __init_subclass__ __ior__ __iter__ __le__ __len__ __lt__ __missing__
__module__ __ne__ __new__ __or__ __reduce__ __reduce_ex__ __repr__ __reversed__ __ror__
__setattr__ __setitem__ __setstate__ __sizeof__ __str__ __subclasshook__ __weakref__
"""
CONFIGDICT_ATTRIBUTES = frozenset(_CONFIGDICT.split())


def configdict_attribute(name: str) -> bool:
    """Whether ``cfg.<name>`` on MMEngine's ConfigDict is a class attribute, not the key."""
    return name in CONFIGDICT_ATTRIBUTES


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


# -- names bound at module level ------------------------------------------------------------------

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Stores:
    """The module-level names of one statement (see :func:`module_stores`)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.definitions: set[str] = set()  # bound by a def or class statement only
        self.declared: dict[str, tuple[int, str]] = {}  # global name -> (line, where)

    def bind(self, name: str, scope: str | None, definition: bool = False) -> None:
        if scope is None:
            self.names.add(name)
            if definition:
                self.definitions.add(name)
            else:
                self.definitions.discard(name)

    def visit(self, node: ast.AST, scope: str | None) -> None:
        """``node`` in ``scope`` (None: the module; else the function or class it runs in)."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.bind(node.name, scope, definition=node.name not in self.names)
            outer: list[ast.AST | None] = [*node.decorator_list, *_headers(node)]
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            self._visit_all(outer, scope)
            self._visit_all(node.body, f"the {kind} {node.name}")
        elif isinstance(node, ast.Lambda):
            self._visit_all([*node.args.defaults, *node.args.kw_defaults], scope)
            self.visit(node.body, "a lambda")
        elif isinstance(node, _COMPREHENSIONS):
            self._comprehension(node, scope)
        elif isinstance(node, ast.Global):
            if scope is not None:
                for name in node.names:
                    self.declared.setdefault(name, (node.lineno, scope))
        elif isinstance(node, ast.NamedExpr):
            self.visit(node.value, scope)
            self.bind(node.target.id, scope)
        else:
            for name in _bound_names(node):
                self.bind(name, scope)
            self._visit_all(list(ast.iter_child_nodes(node)), scope)

    def _visit_all(self, nodes: Sequence[ast.AST | None], scope: str | None) -> None:
        for child in nodes:
            if child is not None:
                self.visit(child, scope)

    def _comprehension(self, node: ast.AST, scope: str | None) -> None:
        # Its targets are its own; an assignment expression in it binds in the scope around.
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr):
                self.bind(child.target.id, scope)
            elif isinstance(child, ast.Lambda):
                self.visit(child, scope)


def _headers(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.AST | None]:
    """What a def or class statement evaluates where it stands: defaults, annotations, bases."""
    if isinstance(node, ast.ClassDef):
        return [*node.bases, *node.keywords]
    args = node.args
    annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return [*args.defaults, *args.kw_defaults, *annotations, node.returns]


def _bound_names(node: ast.AST) -> Iterator[str]:
    """The names ``node`` itself binds (not its children): an assignment target, an import, an
    ``except ... as``, a ``match`` capture."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        yield node.id
    elif isinstance(node, ast.alias):
        yield node.asname or node.name.split(".")[0]
    elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
        yield node.name
    elif isinstance(node, ast.MatchMapping) and node.rest:
        yield node.rest


def module_stores(statement: ast.stmt) -> tuple[set[str], set[str], dict[str, tuple[int, str]]]:
    """The names ``statement`` may bind at module level: all of them, those bound only by
    ``def``/``class`` (MMEngine leaves functions out of the config), and the ``global`` ones
    of its functions and classes with the line and the function or class declaring them."""
    stores = _Stores()
    stores.visit(statement, None)
    return stores.names, stores.definitions, stores.declared


# -- constructs that reach every name -------------------------------------------------------------


def namespace_construct(
    statement: ast.stmt, is_data: Callable[[str], bool], interpreter: Callable[[str], bool]
) -> tuple[int, str] | None:
    """The first construct in ``statement`` that may set any name of the config: ``(line,
    what)``, else None. ``is_data(name)``: the config binds ``name`` to data (``vars = dict()``
    is not the built-in); ``interpreter(name)``: ``name`` is an imported module of the
    interpreter (or a name from one)."""
    calls = {id(n.func) for n in ast.walk(statement) if isinstance(n, ast.Call)}
    imported = {*interpreter_imports(statement)}
    if not is_data(_IMPORTING):
        imported.add(_IMPORTING)
    for node in ast.walk(statement):
        what = _reaching(
            node, id(node) in calls, is_data, lambda n: n in imported or interpreter(n)
        )
        if what is not None:
            return getattr(node, "lineno", 0), what
    return None


def _reaching(
    node: ast.AST, called: bool, is_data: Callable[[str], bool], interpreter: Callable[[str], bool]
) -> str | None:
    """What ``node`` is, if it may set any name of the config (see ``namespace_construct``)."""
    if isinstance(node, ast.Name) and node.id in NAMESPACE_BUILTINS and not is_data(node.id):
        return f"the call {node.id}(...)" if called else f"the built-in {node.id}"
    if isinstance(node, ast.Attribute) and _reaching_attribute(node.attr):
        return f"the attribute .{node.attr}"
    return _through(node, called, interpreter)


def _reaching_attribute(name: str) -> bool:
    return name in FRAME_ATTRIBUTES or _dunder(name)


def _through(node: ast.AST, called: bool, interpreter: Callable[[str], bool]) -> str | None:
    """A call or an assignment through a module of the interpreter (a read is data)."""
    if not isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        return None
    if not interpreter(_root(node) or ""):
        return None
    if called:
        return f"the call {ast.unparse(node)[:60]}(...)"
    if not isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
        return f"the assignment to {ast.unparse(node)[:60]}"
    return None


def interpreter_imports(statement: ast.stmt) -> Iterator[str]:
    """The names ``statement`` binds to a module of the interpreter or a name from one."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in INTERPRETER_MODULES:
                    yield alias.asname or alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and _interpreter_module(node):
            yield from (alias.asname or alias.name for alias in node.names)


def _interpreter_module(node: ast.ImportFrom) -> bool:
    return node.level == 0 and (node.module or "").split(".")[0] in INTERPRETER_MODULES


def _root(node: ast.AST) -> str | None:
    """The name a chain of attributes, subscripts and calls starts from (``sys`` of
    ``sys.modules[k]``, ``__import__`` of ``__import__('os').system``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
