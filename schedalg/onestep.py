"""The one-step closures of the hot nodes (``Schedule._scalar_closure``): each node's ``_scalar``
as a closure over its parameters and its children's closures, with the same operations in the
same order, so that ``s(t)`` and the torch adapter's step pay no method lookup per node.

Each function takes the node (``self``) and is assigned in the node's class:
``_scalar_closure = onestep.cosine``. Held and peak values are computed on first use and kept in
the closure (a ``nonlocal``, no lock).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from schedalg.backends import power


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
