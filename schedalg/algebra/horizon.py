"""A horizon bound late: placeholders for step counts known only when the run starts.

``total`` (or any ``placeholder(name)``) stands for an integer that a trainer or the user gives
later. It is usable wherever a step count is, with ``+ - * /``::

    s = warmup(cosine(total - 1000), 1000)          # the cosine ends where the run does
    s = warmup(cosine(total), 0.01 * total)         # a warm-up of 1% of the run
    s.bind(total=100_000)                           # warmup(cosine(99000), 1000)

A schedule holding a placeholder prints, parses and serialises as written (``repr``, ``parse``,
``to_dict`` keep ``total``); evaluating it raises :class:`UnboundError` naming the placeholder.
``s.bind(total=...)`` builds the ordinary schedule: every constructor's validation runs then,
with the bound values.

**Rounding.** A placeholder is a non-negative integer and a quantity built from it ends as an
integer: integer arithmetic is exact; a result that is not a whole number (a fraction of the
run, a division) is rounded *up*, as Hugging Face's ``math.ceil(warmup_ratio *
num_training_steps)`` — the product is the same float product, so ``0.07 * total`` with
``total=100`` is 8, as there. ``floor(q)`` and ``round(q)`` (Python's: ties to even) round the
other ways where they are written (``math.floor``/``math.ceil``/``round`` on a placeholder
build these; ``parse`` reads ``ceil``, ``floor`` and ``round``).

How it works: a constructor given a placeholder (or a child holding one) returns a node that
records the call (an unbound node); binding replays the call with the values. So an expression
holding a placeholder anywhere is unbound at its root, and no node of the library needs to know.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import keyword
import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.core.node import declared, nearest, param, parameters, registered

__all__ = [
    "Quantity",
    "UnboundError",
    "bind_held",
    "placeholder",
    "placeholders",
    "read_quantity",
    "total",
]

ROUNDINGS = ("ceil", "floor", "round")
_BINARY = ("+", "-", "*", "/")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3}
_ATOM = 4


class UnboundError(ValueError):
    """An expression evaluated (or a quantity used as a number) before its placeholders are
    bound; the message names them."""


def _unbound_message(what: str, names: Iterator[str] | tuple[str, ...]) -> str:
    held = sorted(set(names))
    plural = "s" if len(held) > 1 else ""
    example = ", ".join(f"{name}=..." for name in held)
    return (
        f"{what} holds the unbound placeholder{plural} {', '.join(held)}: bind it first with "
        f"schedule.bind({example}) (or --set {held[0]}=N on the command line)"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Quantity:
    """An integer known later: a placeholder (``op == "name"``) or arithmetic on placeholders
    and numbers (``+ - * /``, ``neg``, ``ceil``/``floor``/``round``). Compared by structure."""

    op: str
    args: tuple[Any, ...]
    _is_placeholder: ClassVar[bool] = True

    # -- arithmetic --------------------------------------------------------------------------

    def _with(self, op: str, left: Any, right: Any) -> Any:
        for side in (left, right):
            if not (isinstance(side, Quantity) or _is_number(side)):
                return NotImplemented
            if _is_number(side) and not math.isfinite(side):
                raise ValueError(f"a step count must be finite, got {side!r} in {op}")
        return Quantity(op, (left, right))

    def __add__(self, other: Any) -> Any:
        return self._with("+", self, other)

    def __radd__(self, other: Any) -> Any:
        return self._with("+", other, self)

    def __sub__(self, other: Any) -> Any:
        return self._with("-", self, other)

    def __rsub__(self, other: Any) -> Any:
        return self._with("-", other, self)

    def __mul__(self, other: Any) -> Any:
        return self._with("*", self, other)

    def __rmul__(self, other: Any) -> Any:
        return self._with("*", other, self)

    def __truediv__(self, other: Any) -> Any:
        return self._with("/", self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return self._with("/", other, self)

    def __neg__(self) -> Quantity:
        return Quantity("neg", (self,))

    def __pos__(self) -> Quantity:
        return self

    def __ceil__(self) -> Quantity:
        return Quantity("ceil", (self,))

    def __floor__(self) -> Quantity:
        return Quantity("floor", (self,))

    def __round__(self, ndigits: Any = None) -> Quantity:
        if ndigits is not None:
            raise TypeError(f"round(): a step count rounds to an integer, got ndigits={ndigits!r}")
        return Quantity("round", (self,))

    # -- not a number yet --------------------------------------------------------------------

    def _unbound(self, *_: Any) -> Any:
        raise UnboundError(_unbound_message(f"the step count {self!r}", self.names()))

    __float__ = __int__ = __index__ = __bool__ = _unbound

    # -- values ------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The placeholders it holds, sorted."""
        if self.op == "name":
            return (self.args[0],)
        found = {n for a in self.args if isinstance(a, Quantity) for n in a.names()}
        return tuple(sorted(found))

    def substitute(self, values: dict[str, int]) -> Any:
        """The value with ``values`` for its placeholders: a number when all are given (not
        yet rounded to an integer: see :func:`as_step_count`), else a quantity."""
        if self.op == "name":
            return values.get(self.args[0], self)
        args = tuple(a.substitute(values) if isinstance(a, Quantity) else a for a in self.args)
        if any(isinstance(a, Quantity) for a in args):
            return Quantity(self.op, args)
        return _compute(self.op, args)

    def _defer(self, cls: type, fields: dict[str, Any]) -> Schedule:
        return defer(cls, fields)

    # -- text --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return _text(self)[0]

    __str__ = __repr__


def _compute(op: str, args: tuple[Any, ...]) -> Any:
    operations: dict[str, Callable[..., Any]] = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "neg": lambda a: -a,
        "ceil": math.ceil,
        "floor": math.floor,
        "round": round,
    }
    try:
        return operations[op](*args)
    except ZeroDivisionError:
        raise ValueError(f"a step count divides by zero: {args[0]!r} / {args[1]!r}") from None


def as_step_count(value: Any) -> Any:
    """A bound quantity's number as the integer it stands for (a fraction rounded up, as
    HF's ``math.ceil(warmup_ratio * num_training_steps)``); a quantity stays as it is."""
    if isinstance(value, (Quantity, int)):
        return value
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a step count must be finite, got {number!r}")
    return int(number) if number.is_integer() else math.ceil(number)


def _operand(value: Any) -> tuple[str, int]:
    if isinstance(value, Quantity):
        return _text(value)
    text = repr(value)
    return text, (_PRECEDENCE["neg"] if value < 0 else _ATOM)


def _text(q: Quantity) -> tuple[str, int]:
    """The quantity's text and its precedence (for the parentheses Python needs)."""
    if q.op == "name":
        return q.args[0], _ATOM
    if q.op in ROUNDINGS:
        return f"{q.op}({_operand(q.args[0])[0]})", _ATOM
    if q.op == "neg":
        inner, level = _operand(q.args[0])
        return "-" + (inner if level >= _PRECEDENCE["neg"] else f"({inner})"), _PRECEDENCE["neg"]
    level = _PRECEDENCE[q.op]
    (left, left_level), (right, right_level) = _operand(q.args[0]), _operand(q.args[1])
    left = left if left_level >= level else f"({left})"
    right = right if right_level > level else f"({right})"
    return f"{left} {q.op} {right}", level


# -- placeholders ---------------------------------------------------------------------------------


def refused_name(name: str) -> str | None:
    """Why ``name`` cannot be a placeholder, or None: constructors, ``inf``, the roundings and
    Python's builtins keep their meaning."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "must be an identifier"
    if name in registered() or name in {"inf", "clamp", *ROUNDINGS}:
        return "is a schedalg name"
    if hasattr(builtins, name):
        return "is a Python builtin"
    return None


def placeholder(name: str) -> Quantity:
    """``placeholder(name)``: a step count called ``name``, bound later with
    ``schedule.bind(name=...)`` (``total`` is ``placeholder("total")``).

    >>> from schedalg import cosine, placeholder, warmup
    >>> warmup_steps = placeholder("warmup_steps")
    >>> s = warmup(cosine(9000), warmup_steps)
    >>> s, s.bind(warmup_steps=500)
    (warmup(cosine(9000), warmup_steps), warmup(cosine(9000), 500))
    """
    problem = refused_name(name)
    if problem is not None:
        raise ValueError(f"placeholder(): name {problem}, got {name!r}")
    return Quantity("name", (name,))


total = placeholder("total")


def placeholders(schedule: Schedule) -> tuple[str, ...]:
    """The names of the placeholders ``schedule`` holds, sorted (empty when it is bound)."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"placeholders(): schedule must be a Schedule, got {schedule!r}")
    return schedule.names() if isinstance(schedule, _Unbound) else ()


def bind_held(schedule: Schedule, values: dict[str, int]) -> Schedule:
    """``schedule.bind(...)`` with those of ``values`` it holds (a trainer binding ``total``
    into whatever schedule it was given); a schedule holding none is returned as it is."""
    held = set(placeholders(schedule))
    given = {name: value for name, value in values.items() if name in held}
    return schedule.bind(**given) if given else schedule


# -- the unbound node -------------------------------------------------------------------------


def _holds(value: Any) -> bool:
    items = value if isinstance(value, (tuple, list)) else (value,)
    return any(getattr(item, "_is_placeholder", False) for item in items)


def _early(fn: str, field: dataclasses.Field[Any], value: Any) -> Any:
    """A field value validated now where it can be; one holding a placeholder that its
    validator refuses is kept as written (validated when bound)."""
    if isinstance(value, list):
        value = tuple(value)
    validator = declared(field).validator
    if validator is None:
        return value
    if getattr(validator, "holds_function", False) and _holds(value):
        raise TypeError(
            f"{fn}(): {field.name} must be callable, got {value!r} (a Python function is not "
            "allowed in text)"
        )
    try:
        return validator(fn, field.name, value)
    except (TypeError, ValueError):
        if _holds(value):
            return value
        raise


def defer(cls: type, fields: dict[str, Any]) -> Schedule:
    """The unbound node of the call ``cls(**fields)`` whose fields hold placeholders."""
    fn = cls.__name__
    complete: dict[str, Any] = {}
    for field in parameters(cls):
        if field.name in fields:
            value = fields[field.name]
        elif field.default is not dataclasses.MISSING:
            value = field.default
        else:
            raise TypeError(f"{fn}() missing 1 required argument: {field.name!r}")
        complete[field.name] = _early(fn, field, value)
    node: Schedule = type.__call__(
        _Unbound, target=cls, names_=tuple(complete), values=tuple(complete.values())
    )
    return node


def _names_in(value: Any) -> set[str]:
    if isinstance(value, (Quantity, _Unbound)):
        return set(value.names())
    if isinstance(value, tuple):
        return {n for item in value for n in _names_in(item)}
    return set()


def _substitute(value: Any, values: dict[str, int]) -> Any:
    if isinstance(value, Quantity):
        return as_step_count(value.substitute(values))
    if isinstance(value, _Unbound):
        return value._replayed(values)
    if isinstance(value, tuple):
        return tuple(_substitute(item, values) for item in value)
    return value


class _Failed(Exception):
    """A replayed call refused its bound arguments (carried up to ``bind`` once)."""

    def __init__(self, node: Schedule, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


class _Unbound(Schedule):
    """A call to ``target`` whose arguments hold placeholders: prints, serialises and compares
    as that call; evaluating it raises :class:`UnboundError`; ``bind`` replays it."""

    target: type = param()
    names_: tuple[str, ...] = param()
    values: tuple[Any, ...] = param()
    _is_placeholder: ClassVar[bool] = True
    _threadsafe_fill: ClassVar[bool] = False  # it only raises

    def _check(self) -> None:
        self._set("_precedence", getattr(self.target, "_precedence", 100))

    def names(self) -> tuple[str, ...]:
        """The placeholders it holds, sorted."""
        return tuple(sorted(_names_in(self.values)))

    def written_as(self) -> Schedule:
        """The target node holding the arguments as given (for text and data only)."""
        shadow: Schedule = object.__new__(self.target)
        for name, value in zip(self.names_, self.values):
            object.__setattr__(shadow, name, value)
        return shadow

    def __repr__(self) -> str:
        return repr(self.written_as())

    def _refuse(self) -> UnboundError:
        text = repr(self)
        text = text if len(text) <= 120 else text[:117] + "..."
        return UnboundError(_unbound_message(text, self.names()))

    def _scalar(self, t: float) -> float:
        raise self._refuse()

    def _array(self, t: Any, xp: Any) -> Any:
        raise self._refuse()

    def _fill(self, out: Any, start: int) -> None:
        raise self._refuse()

    def children(self) -> Iterator[Any]:
        return iter(())

    def _defer(self, cls: type, fields: dict[str, Any]) -> Schedule:
        return defer(cls, fields)

    def _bound(self, values: dict[str, Any]) -> Schedule:
        given = {name: check.integer("bind", name, value) for name, value in values.items()}
        held = self.names()
        for name in given:
            if name not in held:
                raise ValueError(
                    f"bind(): the schedule has no placeholder {name!r}{nearest(name, held)} "
                    f"(it holds {', '.join(held)})"
                )
        try:
            return self._replayed(given)
        except _Failed as failed:
            bound = ", ".join(f"{k}={v}" for k, v in given.items())
            raise type(failed.error)(
                f"bind({bound}): {failed.error} (in {failed.node!r})"
            ) from None

    def _replayed(self, values: dict[str, int]) -> Schedule:
        fields = {n: _substitute(v, values) for n, v in zip(self.names_, self.values)}
        try:
            node: Schedule = self.target._from_fields(fields)  # type: ignore[attr-defined]
        except (TypeError, ValueError) as error:
            raise _Failed(self, error) from None
        return node


# -- reading quantities from text -----------------------------------------------------------------


def rounded(name: str, value: Any) -> Any:
    """``ceil``/``floor``/``round`` of a quantity or a number, as text spells them."""
    if isinstance(value, Quantity):
        return Quantity(name, (value,))
    if not _is_number(value):
        raise TypeError(f"{name}() takes a step count or a number, got {value!r}")
    result: Any = _compute(name, (value,))
    return result


def read_quantity(text: str) -> Any:
    """A quantity written as text (``"total - 1000"``, ``"floor(0.01 * total)"``): names,
    numbers, ``+ - * /``, a sign and the three roundings; nothing else is accepted."""
    try:
        tree = ast.parse(text, mode="eval") if isinstance(text, str) and len(text) < 1000 else None
    except SyntaxError:
        tree = None
    if tree is None:
        raise ValueError(f"not a step count: {text!r}")
    return _read(tree.body, text, 0)


def _read(node: ast.AST, text: str, depth: int) -> Any:
    if depth > 50:
        raise ValueError(f"step count nested too deeply: {text!r}")
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return node.value
    if isinstance(node, ast.Name) and refused_name(node.id) is None:
        return placeholder(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _read(node.operand, text, depth + 1)
        return -operand if isinstance(node.op, ast.USub) else operand
    operators = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
    if isinstance(node, ast.BinOp) and type(node.op) in operators:
        left, right = _read(node.left, text, depth + 1), _read(node.right, text, depth + 1)
        if not any(isinstance(side, Quantity) for side in (left, right)):
            return _compute(operators[type(node.op)], (left, right))
        return Quantity(operators[type(node.op)], (left, right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ROUNDINGS
        and len(node.args) == 1
        and not node.keywords
    ):
        return rounded(node.func.id, _read(node.args[0], text, depth + 1))
    raise ValueError(f"not a step count: {text!r}")
