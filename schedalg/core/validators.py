"""Eager argument checks shared by every constructor.

Each check names the public function, the parameter and the offending value, so a bad schedule
fails where it is written: ``cosine(): steps must be a positive integer, got -5``.
"""

from __future__ import annotations

import itertools
import math
import numbers
import reprlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from schedalg.core.node import NodeType

_Number = TypeVar("_Number", int, float)


def _shortened() -> reprlib.Repr:
    # A message shows the value, not all of it: a config's list of a million items, or an
    # integer of 400 digits, is shown by its start and end.
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxtuple = 3, 8, 8, 8
    short.maxstring, short.maxother, short.maxlong = 80, 80, 40
    return short


shown = _shortened().repr


def _fail(fn: str, name: str, requirement: str, value: object, error: type = ValueError) -> None:
    raise error(f"{fn}(): {name} must be {requirement}, got {shown(value)}")


def is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


FLOAT_RANGE = 2**1024


def is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integral(value: object) -> object:
    """An integral float as its int; anything else unchanged (an int is not passed to float(),
    which refuses one past the float range)."""
    if is_real(value) and not is_integer(value) and float(value).is_integer():  # type: ignore[arg-type]
        return int(value)  # type: ignore[call-overload]
    return value


def integer(
    fn: str,
    name: str,
    value: object,
    *,
    minimum: int = 0,
    wrong_type: type = TypeError,
    integral_floats: bool = True,
) -> int:
    """An int >= ``minimum``. An integral float (``20.0``, as timm's ``t_initial * cycle_mul``
    produces) is that integer; any other float is refused with its value shown.
    ``wrong_type`` is the error for a value that is not an integer at all;
    ``integral_floats=False`` refuses floats too (range bounds, as Python's ``range`` does)."""
    requirement = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    if integral_floats:
        value = integral(value)
    if not is_integer(value):
        _fail(fn, name, requirement, value, wrong_type)
    if value < minimum:  # type: ignore[operator]
        _fail(fn, name, requirement, value)
    if value >= FLOAT_RANGE:  # type: ignore[operator]
        # The formulas divide by step counts as floats: past the float range they would raise.
        _fail(fn, name, f"{requirement} below 2**1024 (the float range)", value)
    return int(value)  # type: ignore[call-overload]


def in_float_range(fn: str, what: str, value: _Number) -> _Number:
    """``value``, a count or product computed from options (``what`` names them), where it is
    inside the float range: valid options can multiply past it, where ``int()`` and
    ``math.ceil()`` of the infinite float raise OverflowError and the formulas, which divide by
    step counts as floats, would."""
    if not -FLOAT_RANGE < value < FLOAT_RANGE:
        raise ValueError(f"{fn}(): {what} is {shown(value)}, past the float range (2**1024)")
    return value


def real(
    fn: str,
    name: str,
    value: object,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    finite: bool = True,
) -> float:
    """A finite real number within the given bounds, as a float."""
    limits = [(">", above), (">=", at_least), ("<=", at_most)]
    bounds = " and ".join(f"{symbol} {bound:g}" for symbol, bound in limits if bound is not None)
    requirement = ("a finite number" if finite else "a number") + (f" {bounds}" if bounds else "")
    if not is_real(value):
        _fail(fn, name, requirement, value, TypeError)
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an integer past the float range (JSON reads 400 digits as one)
        number = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if math.isnan(number) or (finite and math.isinf(number)) or not _within(number, limits):
        _fail(fn, name, requirement, value)
    return number


def _within(number: float, limits: list[tuple[str, float | None]]) -> bool:
    tests = {">": number.__gt__, ">=": number.__ge__, "<=": number.__le__}
    return all(bound is None or tests[symbol](bound) for symbol, bound in limits)


def positive_length(fn: str, name: str, value: object) -> int | float:
    """A positive, finite length: ints stay ints (so reprs read as written), reals become floats."""
    if is_integer(value):
        return integer(fn, name, value, minimum=1)
    return real(fn, name, value, above=0)


def choice(fn: str, name: str, value: object, options: Iterable[str]) -> str:
    options = tuple(options)
    if value not in options:
        _fail(fn, name, "one of " + ", ".join(repr(o) for o in options), value)
    return value  # type: ignore[return-value]


def flag(fn: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        _fail(fn, name, "True or False", value, TypeError)
    return value  # type: ignore[return-value]


def function(fn: str, name: str, value: object) -> Callable[..., Any]:
    if not callable(value):
        _fail(fn, name, "callable", value, TypeError)
    return value  # type: ignore[return-value]


def integer_list(
    fn: str, name: str, value: object, *, minimum: int, strictly_increasing: bool, nonempty: bool
) -> tuple[int, ...]:
    order = "strictly increasing" if strictly_increasing else "non-decreasing"
    requirement = f"a {'non-empty ' if nonempty else ''}{order} list of integers >= {minimum}"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        _fail(fn, name, requirement, value, TypeError)
    items: tuple[Any, ...] = tuple(integral(v) for v in value)  # type: ignore[attr-defined]
    if not all(is_integer(v) for v in items):
        _fail(fn, name, requirement, list(items), TypeError)
    if not _well_formed(items, minimum, strictly_increasing, nonempty):
        _fail(fn, name, requirement, list(items))
    return tuple(int(v) for v in items)


def _well_formed(items: tuple[int, ...], minimum: int, strictly: bool, nonempty: bool) -> bool:
    steps = [b - a for a, b in itertools.pairwise(items)]
    increasing = min(steps, default=1) > 0 if strictly else min(steps, default=0) >= 0
    return increasing and min(items, default=minimum) >= minimum and (bool(items) or not nonempty)


# -- declarative validators, for node parameters: ``param(an_integer(minimum=1))`` --------------
#
# Each returns ``check(function_name, parameter_name, value) -> normalised value``, carrying a
# ``domain`` that says in data what it accepts.

Check = Callable[[str, str, Any], Any]


@dataclass(frozen=True)
class Domain:
    """What a declarative validator accepts, for tools that read a node's declaration instead of
    calling it (the test suite draws random parameters from it). Descriptive only: the check is
    the rule, and a validator without a domain (:func:`domain_of` is ``None``) is just not
    described.

    ``kind`` is ``"integer"`` (``minimum``), ``"number"`` (``above``, ``at_least``, ``at_most``,
    ``finite``), ``"length"`` (a positive int or real), ``"flag"``, ``"choice"`` (``options``),
    ``"function"``, ``"integers"`` (a list: ``minimum``, ``strictly_increasing``, ``nonempty``),
    ``"schedule"``, ``"schedules"`` or ``"optional"`` (``None`` or what ``inner`` accepts).
    """

    kind: str
    minimum: int | None = None
    above: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    finite: bool = True
    options: tuple[str, ...] = ()
    strictly_increasing: bool = False
    nonempty: bool = False
    inner: Domain | None = None


def described(check: Check, domain: Domain) -> Check:
    """``check`` carrying ``domain``: also for a validator written in a node's own module."""
    check.domain = domain  # type: ignore[attr-defined]
    return check


def domain_of(validator: Check | None) -> Domain | None:
    """The domain a validator declares, or ``None`` (no validator, or one not described)."""
    found = getattr(validator, "domain", None)
    return found if isinstance(found, Domain) else None


def an_integer(*, minimum: int = 0) -> Check:
    def check(fn: str, name: str, value: Any) -> int:
        return integer(fn, name, value, minimum=minimum)

    return described(check, Domain("integer", minimum=minimum))


def a_number(
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    finite: bool = True,
) -> Check:
    def check(fn: str, name: str, value: Any) -> float:
        return real(fn, name, value, above=above, at_least=at_least, at_most=at_most, finite=finite)

    bounds = Domain("number", above=above, at_least=at_least, at_most=at_most, finite=finite)
    return described(check, bounds)


def a_length() -> Check:
    """A positive length: ints stay ints, reals become floats."""
    return positive_length


def a_flag() -> Check:
    return flag


def one_of(*options: str) -> Check:
    def check(fn: str, name: str, value: Any) -> str:
        return choice(fn, name, value, options)

    return described(check, Domain("choice", options=options))


def a_function() -> Check:
    return function


def optional(inner: Check) -> Check:
    """``None`` or what ``inner`` accepts."""

    def check(fn: str, name: str, value: Any) -> Any:
        return None if value is None else inner(fn, name, value)

    check.holds_function = getattr(inner, "holds_function", False)  # type: ignore[attr-defined]
    return described(check, Domain("optional", inner=domain_of(inner)))


def integers(*, minimum: int, strictly_increasing: bool, nonempty: bool) -> Check:
    def check(fn: str, name: str, value: Any) -> tuple[int, ...]:
        return integer_list(
            fn,
            name,
            value,
            minimum=minimum,
            strictly_increasing=strictly_increasing,
            nonempty=nonempty,
        )

    listed = Domain(
        "integers", minimum=minimum, strictly_increasing=strictly_increasing, nonempty=nonempty
    )
    return described(check, listed)


function.holds_function = True  # type: ignore[attr-defined]
described(positive_length, Domain("length"))
described(flag, Domain("flag"))
described(function, Domain("function"))


def a_schedule() -> Check:
    def check(fn: str, name: str, value: Any) -> Any:
        if not isinstance(type(value), NodeType):
            raise TypeError(f"{fn}(): {name} must be a Schedule, got {value!r}")
        return value

    return described(check, Domain("schedule"))


def schedules(*, item: str = "piece") -> Check:
    """A tuple of schedules (a list or tuple is accepted); an entry that is not one is named by
    its position: ``sequence(): piece 1 must be a Schedule``."""

    def check(fn: str, name: str, value: Any) -> tuple[Any, ...]:
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"{fn}(): {name} must be schedules, got {value!r}")
        for i, entry in enumerate(value):
            if not isinstance(type(entry), NodeType):
                raise TypeError(f"{fn}(): {item} {i} must be a Schedule, got {entry!r}")
        return tuple(value)

    return described(check, Domain("schedules"))
