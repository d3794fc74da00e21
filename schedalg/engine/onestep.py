"""The one-step closures of the hot nodes (``Schedule._scalar_closure``): each node's ``_scalar``
as a closure over its parameters and its children's closures, with the same operations in the
same order, so that ``s(t)`` and the torch adapter's step pay no method lookup per node.

Each function takes the node (``self``) and is assigned in the node's class:
``_scalar_closure = onestep.cosine``. Held and peak values are computed on first use and kept in
the closure (a ``nonlocal``, no lock). ``schedalg.engine.flatstep`` writes a whole expression of
these
nodes as one function from the templates of ``TEMPLATES``; the closures are what it calls for a
node it does not write out. This module also builds what ``s(t)`` keeps (``keep_step``): that
function, and the held tail of the expression (``held_from``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from schedalg.engine import flatstep
from schedalg.engine.backends import MAX_INTEGER_STEP, power


def closure_is_own(cls: type) -> bool:
    """Whether the class's ``_scalar_closure`` is as specific as its one-step path: a subclass
    that redefines ``_scalar`` or ``_formula`` but not the closure uses its ``_scalar``."""
    mro = cls.__mro__
    closure = next(i for i, c in enumerate(mro) if "_scalar_closure" in c.__dict__)
    scalar = next(
        (i for i, c in enumerate(mro) if "_scalar" in c.__dict__ or "_formula" in c.__dict__),
        len(mro),
    )
    return closure <= scalar


def scalar_function(node: Any) -> Callable[[Any], Any]:
    """The node's one-step function (``Schedule._scalar_function``), built once and kept in the
    node: its closure when the class's closure is its own, else its ``_scalar``."""
    function: Callable[[Any], Any] | None = node.__dict__.get("_scalar_fn")
    if function is None:
        if closure_is_own(type(node)):
            function = flatstep.function(node, template) or node._scalar_closure()
        else:
            function = node._scalar
        object.__setattr__(node, "_scalar_fn", function)
    return function


def template(node: Any) -> flatstep.Template | None:
    """How ``flatstep`` writes the node: the template of its class's closure, when that closure
    is the class's own one-step path."""
    cls = type(node)
    found = TEMPLATES.get(_builder(cls))
    return found if found is not None and closure_is_own(cls) else None


def _builder(cls: type) -> Any:
    closure = cls._scalar_closure  # type: ignore[attr-defined]
    return getattr(closure, "__func__", closure)


# What ``s(t)`` of an int keeps (``Schedule._step``): ints from 0 to below ``below`` (at most
# MAX_INTEGER_STEP + 1) call ``function``; from ``below`` to MAX_INTEGER_STEP the value is
# ``held`` (None: no held tail is known, the general path runs, as for any invalid step).
Step = tuple[int, "float | None", Callable[[int], float]]
# Without a held tail, ints below this bound (compared fast: it is a small int) call the function.
SMALL = 2**30 - 1


def keep_step(node: Any) -> Step:
    """The node's ``Step``, built once and kept in it: the one-step function itself when every
    closure in the tree returns a float, else its value passed through ``float()``; and the held
    tail, the step from which every node of the tree is past its end (``held_from``), with its
    value (computed here: such a tree holds only this module's closures, which do nothing but
    compute)."""
    raw = node._scalar_function()
    step: Step = (SMALL, None, raw)
    if returns_float(node):
        below = held_from(node)
        if below is not None and below <= MAX_INTEGER_STEP:
            step = (below, raw(below), raw)
    else:
        step = (SMALL, None, lambda t: float(raw(t)))
    object.__setattr__(node, "_step", step)
    return step


def returns_float(node: Any) -> bool:
    """Whether the node's one-step function returns a Python float at every step: it is one of
    this module's closures, which compute in floats from float parameters (the validators make
    numbers floats) and return a float or a child's value, and so is every child's. Kept in the
    node, so a subtree shared by many parents is looked at once."""
    known: bool | None = node.__dict__.get("_returns_float")
    if known is None:
        known = template(node) is not None and all(
            returns_float(child.node) for child in node.children()
        )
        object.__setattr__(node, "_returns_float", known)
    return known


def held_from(node: Any) -> int | None:
    """A step from which the node's one-step function gives one value at every valid step,
    integral or not (a decay past its end, a clip past its end, a sequence in its last piece
    held ...), or None where none is known. Rounding is monotonic, so a child's step computed
    from a parent's step at or past the bound is at or past the child's bound."""
    known: tuple[int | None] | None = node.__dict__.get("_held_from")  # kept: see returns_float
    if known is None:
        rule = _HELD.get(_builder(type(node))) if template(node) is not None else None
        known = (None if rule is None else rule(node),)
        object.__setattr__(node, "_held_from", known)
    return known[0]


def _all_held(children: tuple[Any, ...]) -> int | None:
    bounds = [held_from(child) for child in children]
    return None if None in bounds else max(bounds)  # type: ignore[type-var]


def _after(bound: int | None, offset: int) -> int | None:
    return None if bound is None else bound + offset


def _clip_held(node: Any) -> int | None:
    if node.end != math.inf:
        return int(node.end)
    return _after(held_from(node.schedule), node.begin)


def _per_epoch_held(node: Any) -> int | None:
    bound = held_from(node.schedule)
    return None if bound is None else bound * node.epoch_length


def _stretch_held(node: Any) -> int | None:
    bound = held_from(node.schedule)  # t >= bound * factor, exactly: t / factor >= bound
    return None if bound is None else math.ceil(Fraction(bound) * Fraction(node.factor))


def _shift_held(node: Any) -> int | None:
    bound = held_from(node.schedule)
    return None if bound is None else max(bound - node.offset, 0)


def _warmup_held(node: Any) -> int | None:
    bound = held_from(node.schedule)
    if bound is None:
        return None
    return max(bound, node.steps) if node.overlay else bound + node.steps


def constant(self: Any) -> Callable[[Any], Any]:
    value = self.value
    return lambda t: value


def chain(self: Any) -> Callable[[Any], Any]:
    functions = [f._scalar_function() for f in self.factors]
    if len(functions) == 2:
        a, b = functions
        return lambda t: a(t) * b(t)
    first, rest = functions[0], functions[1:]

    def product(t: Any) -> Any:
        value = first(t)
        for function in rest:
            value = value * function(t)
        return value

    return product


def add(self: Any) -> Callable[[Any], Any]:
    functions = [f._scalar_function() for f in self.terms]
    if len(functions) == 2:
        a, b = functions
        return lambda t: a(t) + b(t)
    first, rest = functions[0], functions[1:]

    def total(t: Any) -> Any:
        value = first(t)
        for function in rest:
            value = value + function(t)
        return value

    return total


def subtract(self: Any) -> Callable[[Any], Any]:
    a, b = self.left._scalar_function(), self.right._scalar_function()
    return lambda t: a(t) - b(t)


def linear(self: Any) -> Callable[[Any], Any]:
    start, slope, steps, held = self.start, self.end - self.start, self.steps, float(self.steps)
    return lambda t: start + slope * (t if t < steps else held) / steps


def exponential(self: Any) -> Callable[[Any], Any]:
    gamma = self.gamma

    def value(t: Any) -> Any:
        try:
            return gamma**t
        except OverflowError:  # as power(): inf, the array rule
            return math.inf

    return value


def multistep(self: Any) -> Callable[[Any], Any]:
    gamma, milestones, count = self.gamma, self.milestones, bisect.bisect_right
    return lambda t: power(gamma, count(milestones, t))


def cosine(self: Any) -> Callable[[Any], Any]:
    steps, end, periodic, cos, pi = self.steps, self.end, self.periodic, math.cos, math.pi
    amplitude = 1.0 - end

    def value(t: Any) -> Any:
        if not periodic and t > steps:
            t = steps
        return end + amplitude * (1.0 + cos(pi * t / steps)) / 2

    return value


def clip(self: Any) -> Callable[[Any], Any]:
    inner, begin, end, held = self.schedule._scalar_function(), self.begin, self.end, self._held
    number: float | None = None  # the held value, once computed (on first use)

    def value(t: Any) -> Any:
        nonlocal number
        if t < begin:
            return 1.0
        if t < end:
            return inner(t - begin)
        if number is None:
            number = held()
        return number

    return value


def sequence(self: Any) -> Callable[[Any], Any]:
    pieces = [p._scalar_function() for p in self.pieces]
    if len(pieces) == 2:
        (first, second), (milestone,) = pieces, self.at
        return lambda t: first(t) if t < milestone else second(t - milestone)
    at, find = self.at, bisect.bisect_right

    def value(t: Any) -> Any:
        i = find(at, t)
        return pieces[i](t - at[i - 1] if i else t)

    return value


def per_epoch(self: Any) -> Callable[[Any], Any]:
    inner, length = self.schedule._scalar_function(), self.epoch_length
    if self.smooth:
        return lambda t: inner(t / length)
    return lambda t: inner(t // length)


def warmup(self: Any) -> Callable[[Any], Any]:
    if self.overlay or self.shape != "linear":
        return self._scalar
    inner, steps, start = self.schedule._scalar_function(), self.steps, self.start
    rise, peak = 1.0 - start, self._peak
    number: float | None = None  # the peak, once computed (on first use)

    def value(t: Any) -> Any:
        nonlocal number
        if t < steps:
            if number is None:
                number = peak()
            return (start + rise * t / steps) * number
        return inner(t - steps)

    return value


def stretch(self: Any) -> Callable[[Any], Any]:
    inner, factor = self.schedule._scalar_function(), self.factor
    return lambda t: inner(t / factor)


def shift(self: Any) -> Callable[[Any], Any]:
    inner, offset = self.schedule._scalar_function(), self.offset
    return lambda t: inner(t + offset)


# The closures ``flatstep`` writes out, with their templates (each returns a float when its
# children do: see ``returns_float``).
TEMPLATES: dict[Any, flatstep.Template] = {
    constant: flatstep.constant,
    chain: flatstep.chain,
    add: flatstep.add,
    subtract: flatstep.subtract,
    linear: flatstep.linear,
    exponential: flatstep.exponential,
    multistep: flatstep.multistep,
    cosine: flatstep.cosine,
    clip: flatstep.clip,
    sequence: flatstep.sequence,
    per_epoch: flatstep.per_epoch,
    warmup: flatstep.warmup,
    stretch: flatstep.stretch,
    shift: flatstep.shift,
}

_HELD: dict[Any, Callable[[Any], int | None]] = {
    constant: lambda node: 0,
    chain: lambda node: _all_held(node.factors),
    add: lambda node: _all_held(node.terms),
    subtract: lambda node: _all_held((node.left, node.right)),
    linear: lambda node: node.steps,
    exponential: lambda node: 0 if node.gamma == 1.0 else None,
    multistep: lambda node: node.milestones[-1] if node.milestones else 0,
    cosine: lambda node: None if node.periodic else node.steps,
    clip: _clip_held,
    sequence: lambda node: _after(held_from(node.pieces[-1]), node.at[-1] if node.at else 0),
    per_epoch: _per_epoch_held,
    warmup: _warmup_held,
    stretch: _stretch_held,
    shift: _shift_held,
}
