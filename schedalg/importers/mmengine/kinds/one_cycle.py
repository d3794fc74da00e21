"""OneCycle: absolute values, from the param group's initial, max and min lr, in MMEngine's
phases."""

from __future__ import annotations

import dataclasses
from typing import Any

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift
from schedalg.core import validators as check
from schedalg.curves.cycles import one_cycle, one_cycle_at, one_cycle_ends
from schedalg.importers.mmengine.base import (
    FN,
    Kind,
    Spec,
    Timeline,
    arguments,
    entry,
    finite,
    scaled,
)


@entry
class OneCycle(Kind):
    """Writes absolute values computed from the param group's initial, max and min lr."""

    name = "OneCycle"
    defaults = arguments(
        eta_max=0.0,
        total_steps=None,
        pct_start=0.3,
        anneal_strategy="cos",
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
    )
    step_counts = ("total_steps",)
    momentum = False
    only_param = "lr"
    effect = "with absolute values (OneCycle)"
    update = "absolute update"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        a = spec.args
        finite(spec, "eta_max")
        for name in ("div_factor", "final_div_factor"):
            if finite(spec, name) <= 0:
                raise spec.fail(
                    f"{name} must be > 0, got {a[name]!r} (MMEngine divides by it: 0 raises "
                    "ZeroDivisionError, a negative one makes a negative lr)"
                )
        if a["total_steps"] is None:
            a["total_steps"] = spec.length
        else:
            check.integer(FN, f"{spec.label}: total_steps", a["total_steps"], minimum=1)
        if not isinstance(a["pct_start"], float) or not 0 <= a["pct_start"] <= 1:
            raise spec.fail(f"pct_start must be a float in [0, 1], got {a['pct_start']!r}")
        if a["anneal_strategy"] not in ("cos", "linear"):
            raise spec.fail(
                f"anneal_strategy must be 'cos' or 'linear', got {a['anneal_strategy']!r}"
            )
        check.flag(FN, f"{spec.label}: three_phase", a["three_phase"])
        return _cycle_window(spec, horizon)

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return t  # it writes absolute values from step 0

    def settles(self, spec: Spec, last: int) -> bool:
        return last >= spec.args["total_steps"] - 1

    def initial_value(self, spec: Spec, timeline: Timeline) -> float | None:
        # Its constructor overwrites initial_lr, which later schedulers start from.
        return timeline.absolute(spec, spec.args["eta_max"] / spec.args["div_factor"], "eta_max")

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        # MMEngine's OneCycle reads initial_lr, max_lr and min_lr from the param group at
        # every step, and each OneCycle's constructor overwrites them: every step after
        # construction uses the values of the last OneCycle built; the step a OneCycle
        # takes while it is built (global step 0) uses its own.
        last = timeline.last_built(spec)
        curve = _cycle(spec, last, timeline)
        if spec.begin == 0 and last is not spec:
            curve = sequence(_cycle(spec, spec, timeline), shift(curve, 1), at=[1])
        return curve

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        # Every step writes its value, whatever the value was: ratio 0, target the value.
        return constant(0.0), self.curve(spec, 0.0, timeline)


def _cycle(spec: Spec, values: Spec, timeline: Timeline) -> Schedule:
    """``spec``'s OneCycle phases with the lr values (eta_max, div, final_div) of ``values``."""
    a, v = spec.args, values.args
    # Computed in absolute numbers, then scaled: MMEngine's phase formulas cancel
    # (e.g. (min - max) * 1 + max), and only the same operands round the same way.
    scale = timeline.absolute(values, 1.0, "eta_max") if v["eta_max"] else 1.0
    curve: Schedule = one_cycle(
        a["total_steps"],
        pct_start=a["pct_start"],
        div=float(v["div_factor"]),
        final_div=float(v["final_div_factor"]),
        anneal=a["anneal_strategy"],
        three_phase=a["three_phase"],
        peak=float(v["eta_max"]),
    )
    total = a["total_steps"]
    if spec.length > total:
        # MMEngine extrapolates the last phase at step total_steps (the window is cut
        # before any later step): one_cycle holds its final value there instead.
        extra = constant(_cycle_value(a, v, total))
        curve = sequence(curve, extra, at=[total])
    return scaled(scale, curve)


def _cycle_value(a: dict[str, Any], v: dict[str, Any], t: int) -> float:
    """MMEngine's ``OneCycleParamScheduler._get_value`` at local step ``t``: phases of ``a``,
    lr values of ``v`` (the param group's initial/max/min lr).

    The phases are built here from ``one_cycle_ends``: a phase of no length must stay the
    ZeroDivisionError MMEngine raises when it selects it (``_cycle_window`` turns that into a
    refusal or a shorter window), not become ``one_cycle_phases``' torch-worded refusal.
    """
    initial = v["eta_max"] / v["div_factor"]
    low = initial / v["final_div_factor"]
    peak = v["eta_max"]
    values = [initial, peak, initial, low] if a["three_phase"] else [initial, peak, low]
    ends = one_cycle_ends(a["total_steps"], a["pct_start"], a["three_phase"])
    begins = [0.0, *ends[:-1]]
    phases = [(b, e, values[i], values[i + 1]) for i, (b, e) in enumerate(zip(begins, ends))]
    return one_cycle_at(phases, a["anneal_strategy"], t)


def _cycle_window(spec: Spec, horizon: int | None) -> Spec:
    """A OneCycle's window, refused where MMEngine raises during the training run.

    MMEngine raises ValueError at local step ``total_steps + 1`` and extrapolates the last phase
    at ``total_steps``. Steps the run never takes do not matter, so the window is cut after the
    last step the run takes (``horizon``) when that avoids them.
    """
    a, total = spec.args, spec.args["total_steps"]
    if one_cycle_ends(total, a["pct_start"], a["three_phase"])[0] == 0:
        raise spec.fail(
            f"pct_start * total_steps = 1 (pct_start={a['pct_start']!r}, total_steps={total}) "
            "makes MMEngine divide by zero in its first phase"
        )
    last = spec.end - 1 if horizon is None else min(spec.end - 1, horizon)
    reached = last - spec.begin  # the last local step the training run takes
    run = (
        "the training run reaches it"
        if horizon is not None
        else "the training run may reach it (pass max_epochs or max_iters if it stops earlier)"
    )
    if reached > total:
        raise spec.fail(
            f"its window [{spec.begin}, {spec.end}) has {spec.length} steps but "
            f"total_steps={total}: MMEngine raises ValueError ('Tried to step {total + 2} "
            f"times') at its local step {total + 1} (global step {spec.begin + total + 1}), "
            f"and {run}; make end - begin <= total_steps + 1"
        )
    length = min(spec.length, total + 1)
    if length == total + 1:
        try:
            _cycle_value(a, a, total)
        except ZeroDivisionError:
            if reached == total:
                raise spec.fail(
                    f"at its local step total_steps={total} (global step {spec.begin + total}) "
                    "MMEngine extrapolates past the cycle and divides by zero (its last phase "
                    f"has no length with pct_start={a['pct_start']!r}), and {run}; "
                    "make end - begin <= total_steps"
                ) from None
            length = total
    if length == spec.length:
        return spec
    return dataclasses.replace(spec, end=spec.begin + length)
