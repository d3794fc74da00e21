"""The kinds whose every step multiplies the current value by a factor of their own."""

from __future__ import annotations

import bisect
from collections import Counter

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import repeat
from schedalg.core import validators as check
from schedalg.curves.primitives import exponential, linear, multistep, step_decay
from schedalg.importers.mmengine.base import Kind, Spec, arguments, as_list, entry, finite, integral

# A last Linear ratio below this has lost more than 10 of its 53 bits to cancellation.
_CANCELLED = 2.0**-10


class Multiplicative(Kind):
    """A kind whose every step multiplies the current value by a factor."""

    def multiplicative(self, spec: Spec) -> bool:
        return True


def _positive_gamma(spec: Spec) -> None:
    finite(spec, "gamma")
    if spec.args["gamma"] <= 0:
        raise spec.fail(f"gamma must be > 0, got {spec.args['gamma']!r}")


@entry
class Constant(Multiplicative):
    name = "Constant"
    defaults = arguments(factor=1.0 / 3)

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        factor = finite(spec, "factor", low=0.0, high=1.0)
        if factor == 0 and spec.length - 1 >= 1:
            raise spec.fail("factor=0 makes MMEngine divide by zero when it restores the value")
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        if spec.args["factor"] == 1:
            return None
        total = spec.length - 1
        candidates = [0, total] if total >= 1 else [0]
        return next((c for c in candidates if c >= t), None)

    def factor(self, spec: Spec) -> Schedule | None:
        total = spec.length - 1
        if total >= 1:
            return sequence(constant(spec.args["factor"]), constant(1.0), at=[total])
        return constant(spec.args["factor"])

    def settles(self, spec: Spec, last: int) -> bool:
        return True


@entry
class Linear(Multiplicative):
    name = "Linear"
    defaults = arguments(start_factor=1.0 / 3, end_factor=1.0)

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        start = finite(spec, "start_factor", low=0.0, high=1.0)
        finite(spec, "end_factor", low=0.0, high=1.0)
        if start == 0 and spec.length - 1 >= 1:
            raise spec.fail("start_factor=0 makes MMEngine divide by zero at its second step")
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        a = spec.args
        if t == 0 and a["start_factor"] != 1:
            return 0
        return max(t, 1) if a["start_factor"] != a["end_factor"] else None

    def factor(self, spec: Spec) -> Schedule | None:
        a, total = spec.args, spec.length - 1
        if total < 1:
            return constant(a["start_factor"])
        start, end = float(a["start_factor"]), float(a["end_factor"])
        curve: Schedule = linear(start, end, total)
        # MMEngine's last update multiplies by 1 + (e - s) / (T s + (T - 1)(e - s)): near 0
        # where end_factor is far below start_factor, a cancellation whose rounding (1e-16
        # absolute, any relative size) only the same operations reproduce.
        last = 1.0 + (end - start) / (total * start + (total - 1) * (end - start))
        if last < _CANCELLED:
            curve = sequence(curve, constant(curve(total - 1) * last), at=[total])
        return curve

    def settles(self, spec: Spec, last: int) -> bool:
        return True


@entry
class Step(Multiplicative):
    name = "Step"
    defaults = arguments(step_size=None, gamma=0.1)
    required = ("step_size",)
    step_counts = ("step_size",)

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        _positive_gamma(spec)
        size = spec.args["step_size"] = integral(spec.label, "step_size", spec.args["step_size"])
        if size < 1:
            raise spec.fail(f"step_size must be >= 1, got {size!r}")
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        size = spec.args["step_size"]
        return -(-max(t, 1) // size) * size if spec.args["gamma"] != 1 else None

    def factor(self, spec: Spec) -> Schedule | None:
        return step_decay(spec.args["step_size"], float(spec.args["gamma"]))

    def ratio(self, spec: Spec, factor: Schedule) -> Schedule:
        # MMEngine: v * gamma at every step_size-th step after 0, v itself at the others.
        size, gamma = spec.args["step_size"], float(spec.args["gamma"])
        period = sequence(constant(1.0), constant(gamma), at=[size - 1]) if size > 1 else None
        every = constant(gamma) if period is None else repeat(period, size)
        return sequence(constant(1.0), every, at=[1])


@entry
class MultiStep(Multiplicative):
    name = "MultiStep"
    defaults = arguments(milestones=None, gamma=0.1)
    required = ("milestones",)
    step_lists = ("milestones",)

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        _positive_gamma(spec)
        milestones = as_list(spec.label, "milestones", spec.args["milestones"])
        if not all(check.is_real(m) for m in milestones):
            raise spec.fail(f"milestones must be numbers, got {milestones!r}", TypeError)
        # A milestone fires when the integer step equals it: fractional or negative ones
        # never do in MMEngine either, and ones past the window are never reached.
        spec.args["milestones"] = sorted(
            int(m) for m in milestones if float(m).is_integer() and 0 <= m < spec.length
        )
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        milestones = spec.args["milestones"]
        i = bisect.bisect_left(milestones, t)
        return milestones[i] if i < len(milestones) and spec.args["gamma"] != 1 else None

    def factor(self, spec: Spec) -> Schedule | None:
        milestones = spec.args["milestones"]
        return multistep(milestones, float(spec.args["gamma"])) if milestones else None

    def ratio(self, spec: Spec, factor: Schedule) -> Schedule:
        # MMEngine: v * gamma ** (times t is a milestone) at a milestone, v itself elsewhere.
        gamma, values = float(spec.args["gamma"]), {0: 1.0}
        for milestone, count in sorted(Counter(spec.args["milestones"]).items()):
            values[milestone] = gamma**count
            values.setdefault(milestone + 1, 1.0)
        starts = sorted(values)
        return sequence(*(constant(values[s]) for s in starts), at=starts[1:])

    def settles(self, spec: Spec, last: int) -> bool:
        return True


@entry
class Exponential(Multiplicative):
    name = "Exponential"
    defaults = arguments(gamma=None)
    required = ("gamma",)

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        _positive_gamma(spec)
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return max(t, 1) if spec.args["gamma"] != 1 else None

    def factor(self, spec: Spec) -> Schedule | None:
        return exponential(float(spec.args["gamma"]))

    def ratio(self, spec: Spec, factor: Schedule) -> Schedule:
        return sequence(constant(1.0), constant(float(spec.args["gamma"])), at=[1])  # v * gamma
