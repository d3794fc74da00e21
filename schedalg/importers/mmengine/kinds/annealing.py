"""The annealing kinds: CosineAnnealing and Poly (multiplicative towards 0, affine towards an
eta_min) and CosineRestart (absolute restarts)."""

from __future__ import annotations

import functools
import math

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch
from schedalg.core import validators as check
from schedalg.curves.primitives import cosine, polynomial
from schedalg.importers.mmengine.base import (
    Kind,
    Spec,
    Timeline,
    anneal,
    arguments,
    as_list,
    entry,
    finite,
    integral,
    step_ratio,
)

LONG_COSINE = 1 << 19  # steps of a cosine window past which MMEngine's recursion is scanned
_ETA_ZERO_REMEDY = " (or use eta_min=0, which makes CosineAnnealing/Poly multiplicative)"


def _one_eta(spec: Spec) -> None:
    a = spec.args
    if (a["eta_min"] is None) == (a["eta_min_ratio"] is None):
        raise spec.fail("give exactly one of eta_min and eta_min_ratio (MMEngine asserts it)")
    finite(spec, "eta_min" if a["eta_min"] is not None else "eta_min_ratio")


def _eta_min(spec: Spec, timeline: Timeline) -> float:
    a = spec.args
    if a.get("eta_min_ratio") is not None:
        return timeline.initial(spec) * a["eta_min_ratio"]
    return timeline.absolute(spec, a["eta_min"], "eta_min")


@entry
class CosineAnnealing(Kind):
    """Multiplicative while it anneals to 0 within T_max; affine towards an eta_min, or past
    T_max (where MMEngine's update turns into a rising cosine)."""

    name = "CosineAnnealing"
    defaults = arguments(T_max=None, eta_min=None, eta_min_ratio=None)
    step_counts = ("T_max",)
    effect = "affinely (cosine towards eta_min)"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        a = spec.args
        if a["eta_min"] is None and a["eta_min_ratio"] is None:
            a["eta_min"] = 0.0
        _one_eta(spec)
        t_max = a["T_max"] or spec.length
        if check.is_real(t_max) and math.isfinite(t_max) and not float(t_max).is_integer():
            # A fractional T_max (4.5 epochs converted to iterations): MMEngine's ratio update
            # never meets its T_max, so the cosine runs on, periodic, from where it started.
            if t_max <= 0:
                raise spec.fail(f"T_max must be > 0, got {t_max!r}")
            a["T_max"] = float(t_max)
            return spec
        a["T_max"] = integral(spec.label, "T_max", t_max)
        if a["T_max"] < 1:
            raise spec.fail(f"T_max must be >= 1, got {t_max!r}")
        return spec

    def multiplicative(self, spec: Spec) -> bool:
        a = spec.args
        eta_zero = (a["eta_min"] if a["eta_min"] is not None else a["eta_min_ratio"]) == 0
        return eta_zero and (_fractional(spec) or spec.length - 1 <= a["T_max"])

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return max(t, 1)  # step 0 leaves the value as it is

    def factor(self, spec: Spec) -> Schedule | None:
        return _unit_cosine(spec, 0.0)

    def settles(self, spec: Spec, last: int) -> bool:
        return not _fractional(spec) and last == spec.args["T_max"]

    def scanned(self, spec: Spec) -> bool:
        # Past a fractional T_max MMEngine's ratio passes next to the cosine's zero, where its
        # recursion loses digits that only the same recursion reproduces. Over a very long
        # window its recursion drifts from the cosine by an ulp or so every few steps: past
        # LONG_COSINE steps (1e-12 relative after ~1M), only the same recursion keeps 1e-12.
        if spec.last_change() >= LONG_COSINE:
            return True
        return _fractional(spec) and spec.last_change() > spec.args["T_max"]

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        t_max, eta = spec.args["T_max"], _eta_min(spec, timeline)
        curve = anneal(v0, eta, functools.partial(_unit_cosine, spec))
        if _fractional(spec):
            return curve
        if spec.last_change() > t_max:
            # Past T_max MMEngine adds (base - eta_min)(1 - cos(pi / T_max)) / 2 and then
            # follows the cosine anchored at the scheduler's base value, not at v0.
            rising = anneal(
                timeline.initial(spec), eta, lambda end: cosine(t_max, end=end, periodic=True)
            )
            curve = sequence(curve, shift(rising, t_max + 1), at=[t_max + 1])
        return curve

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        t_max = spec.args["T_max"]
        if not _fractional(spec) and spec.last_change() > t_max:
            return (
                f"past T_max={t_max} MMEngine adds to the value once per period, which is not "
                "an update of the form eta_min + (v - eta_min) * r"
            )
        return step_ratio(_unit_cosine(spec, 0.0), 1.0), constant(_eta_min(spec, timeline))

    def remedy(self, spec: Spec) -> str:
        if spec.args["eta_min"] != 0 or _fractional(spec):
            return _ETA_ZERO_REMEDY
        return (
            f" (or make T_max >= end - begin - 1 = {spec.length - 1}: past "
            f"T_max={spec.args['T_max']} MMEngine's cosine update is affine, not multiplicative)"
        )


def _fractional(spec: Spec) -> bool:
    return isinstance(spec.args["T_max"], float)


def _unit_cosine(spec: Spec, end: float) -> Schedule:
    """``end + (1 - end) * (1 + cos(pi * t / T_max)) / 2``, held from an integer T_max on, and
    periodic for a fractional one (``stretch`` of the unit cosine)."""
    t_max = spec.args["T_max"]
    if isinstance(t_max, float):
        # T_max = n / d with d a power of 2: pi * (t * d) / n rounds as MMEngine's pi * t / T_max.
        n, d = t_max.as_integer_ratio()
        return stretch(cosine(n, end=end, periodic=True), 1 / d)
    return cosine(t_max, end=end)


@entry
class Poly(Kind):
    """Multiplicative when it anneals to 0, affine towards any other eta_min."""

    name = "Poly"
    defaults = arguments(eta_min=0.0, power=1.0)
    effect = "affinely (polynomial towards eta_min)"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        finite(spec, "eta_min")
        finite(spec, "power", low=0.0)
        return spec

    def multiplicative(self, spec: Spec) -> bool:
        return bool(spec.args["eta_min"] == 0)

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return max(t, 1)  # step 0 leaves the value as it is

    def factor(self, spec: Spec) -> Schedule | None:
        total = spec.length - 1
        return polynomial(total, float(spec.args["power"])) if total >= 1 else None

    def settles(self, spec: Spec, last: int) -> bool:
        return True

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        eta = timeline.absolute(spec, spec.args["eta_min"], "eta_min")
        total, power = spec.length - 1, float(spec.args["power"])
        return anneal(v0, eta, lambda end: polynomial(total, power, end=end))

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        total, power = spec.length - 1, float(spec.args["power"])
        if total < 1:
            return constant(1.0), constant(0.0)
        eta = timeline.absolute(spec, spec.args["eta_min"], "eta_min")
        return step_ratio(polynomial(total, power), 1.0), constant(eta)

    def remedy(self, spec: Spec) -> str:
        return _ETA_ZERO_REMEDY


@entry
class CosineRestart(Kind):
    """Writes absolute values: each period restarts a cosine from the base value times its
    weight, whatever the value was."""

    name = "CosineRestart"
    defaults = arguments(periods=None, restart_weights=(1,), eta_min=None, eta_min_ratio=None)
    required = ("periods",)
    step_lists = ("periods",)
    effect = "with absolute restarts (CosineRestart)"
    update = "absolute update"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        a = spec.args
        _one_eta(spec)
        periods = [
            integral(spec.label, "periods", p) for p in as_list(spec.label, "periods", a["periods"])
        ]
        weights = as_list(spec.label, "restart_weights", a["restart_weights"])
        if not periods or any(p < 1 for p in periods):
            raise spec.fail(f"periods must be positive integers, got {a['periods']!r}")
        if len(periods) != len(weights):
            raise spec.fail("periods and restart_weights must have the same length")
        if not all(check.is_real(w) and math.isfinite(w) for w in weights):
            raise spec.fail(f"restart_weights must be numbers, got {weights!r}", TypeError)
        a["periods"], a["restart_weights"] = periods, [float(w) for w in weights]
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return t  # it writes absolute values from step 0

    def last_change(self, spec: Spec) -> int:
        return min(sum(spec.args["periods"]), spec.length) - 1

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        a, eta, base = spec.args, _eta_min(spec, timeline), timeline.initial(spec)
        pieces = [
            anneal(base * weight, eta, functools.partial(_cosine_to, period))
            for period, weight in zip(a["periods"], a["restart_weights"])
        ]
        starts = [sum(a["periods"][: i + 1]) for i in range(len(pieces) - 1)]
        return sequence(*pieces, at=starts)

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        # Each period's first step writes base * weight (ratio 0); its other steps are
        # MMEngine's cosine ratio towards eta_min, applied to whatever the value is.
        a, eta, base = spec.args, _eta_min(spec, timeline), timeline.initial(spec)
        ratios = [step_ratio(cosine(period), 0.0) for period in a["periods"]]
        targets = [
            sequence(constant(base * weight), constant(eta), at=[1])
            if period > 1
            else constant(base * weight)
            for period, weight in zip(a["periods"], a["restart_weights"])
        ]
        starts = [sum(a["periods"][: i + 1]) for i in range(len(ratios) - 1)]
        return sequence(*ratios, at=starts), sequence(*targets, at=starts)


def _cosine_to(period: int, end: float) -> Schedule:
    return cosine(period, end=end)
