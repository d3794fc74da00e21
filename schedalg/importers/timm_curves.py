"""The curves of timm's scheduler classes, for ``schedalg.timm``: one builder per class.

Each builder takes the class's options (checked by ``schedalg.timm``) and a param group's base
lr and returns timm's ``_get_lr`` on timm's own clock, in timm's operations where they have a
node (``(1 - t / T) ** power``, ``r ** frac``) and within a few ulps of them where they have
not (the cosine of ``k_decay`` read on a warped clock, ``tanh`` through ``exp``). timm's cycle
index for ``cycle_mul != 1`` is a float logarithm; the cycles start where it says they do, and
a step it puts in a cycle before that cycle's float start (a negative cycle clock, which no
clock of the engine reads) holds timm's own value there, computed with timm's operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import repeat, shift, warp
from schedalg.curves.functions import from_fn
from schedalg.curves.metric import plateau
from schedalg.curves.perturbation import noise
from schedalg.curves.primitives import cosine, elapsed, linear, multistep, step_decay
from schedalg.importers import options as opt
from schedalg.importers import shapes

FN = "from_timm"
Options = dict[str, Any]
_STEPS_EXACT = 2**53  # float steps beyond are not integers: cycles starting later are left out
_MAX_PIECES = 10_000


def count(kind: str, name: str, value: Any, minimum: int = 0) -> int:
    return opt.count(FN, kind, name, value, minimum=minimum)


def real(kind: str, name: str, value: Any, **bounds: Any) -> float:
    return opt.number(FN, kind, name, value, **bounds)


def _affine(low: float, high: float, shape: Schedule) -> Schedule:
    """``low + (high - low) * shape``: timm's ``lr_min + (lr_max - lr_min) * factor``."""
    if low == 0:
        return shape if high == 1 else high * shape
    return low + (high - low) * shape


# -- one cycle's normalised shape, 1 -> 0 over ``length`` steps, read at ``u + offset`` ---------


def _clock(offset: float) -> Schedule:
    return elapsed() + offset if offset else elapsed()


def _cosine_shape(o: Options, length: float, offset: float) -> Schedule:
    """``(1 + cos(pi x**k / T**k)) / 2``; ``k_decay`` reads the cosine on the clock
    ``x**k / T**(k - 1)``, a fractional cycle length reads ``cosine(1)`` on ``x**k / T**k``."""
    k = o["k_decay"]
    x = _clock(offset)
    if float(length).is_integer():
        steps = int(length)
        if k == 1:
            return cosine(steps) if not offset else warp(cosine(steps), x)
        return warp(cosine(steps), x**k / float(length) ** (k - 1))
    return warp(cosine(1), x / length if k == 1 else x**k / length**k)


def _poly_shape(o: Options, length: float, offset: float) -> Schedule:
    """``(1 - x**k / T**k) ** power``, in timm's operations."""
    k, x = o["k_decay"], _clock(offset)
    progress = x / float(length) if k == 1 else x**k / float(length) ** k
    return (1.0 - progress) ** o["power"]


def _tanh_shape(o: Options, length: float, offset: float) -> Schedule:
    """``(1 - tanh(lb (1 - x/T) + ub x/T)) / 2``, written ``1 / (1 + e ** (2 lb + 2 (ub - lb)
    x / T))`` (no cancellation where timm's ``1 - tanh`` has some: within ulps of it)."""
    lb, ub = o["lb"], o["ub"]
    return 1.0 / (1.0 + math.e ** (2.0 * lb + (2.0 * (ub - lb) / length) * _clock(offset)))


Shape = Callable[[Options, float, float], Schedule]


# -- cycles (cosine, tanh, poly) -----------------------------------------------------------------


def _cycle_index(t: int, length: float, mul: float) -> int:
    """timm's cycle index for ``cycle_mul != 1`` (a float logarithm, as timm computes it)."""
    return math.floor(math.log(1 - t / length * (1 - mul), mul))


def _first_step(length: float, mul: float, i: int) -> tuple[int, float]:
    """The first step timm's index puts in cycle ``i`` or later, and timm's float start."""
    exact = (1 - mul**i) / (1 - mul) * length
    if exact >= _STEPS_EXACT:
        return _STEPS_EXACT, exact
    t = max(0, math.ceil(exact))
    while t > 0 and _cycle_index(t - 1, length, mul) >= i:
        t -= 1
    while _cycle_index(t, length, mul) < i:
        t += 1
    return t, exact


def _cycle_starts(kind: str, length: float, mul: float, limit: int) -> list[tuple[int, int, float]]:
    """``(cycle, first step, float start)`` of each cycle ``i < limit`` that has a step, where
    timm's index says it starts (the first step may be before the float start: timm rounds)."""
    reachable = math.log(1 + _STEPS_EXACT * (mul - 1) / length, mul)
    if min(limit, reachable) > _MAX_PIECES:
        raise ValueError(
            f"{FN}(): {kind} with cycle_mul={mul!r} and cycle_limit={limit!r} has over "
            f"{_MAX_PIECES} cycles of different lengths, one sequence piece each: too many"
        )
    starts: list[tuple[int, int, float]] = []
    for i in range(limit):
        t, exact = _first_step(length, mul, i)
        if exact >= _STEPS_EXACT:
            break
        if _cycle_index(t, length, mul) > i:
            continue  # a cycle shorter than a step: timm never uses it
        starts.append((i, t, exact))
    return starts


def _early_value(kind: str, o: Options, high: float, t: int, exact: float, i: int) -> float:
    """timm's lr at step ``t``, which its float index puts in cycle ``i`` though ``t`` is before
    the cycle's float start ``exact``: timm's own operations on its negative ``t_curr``.

    A fractional ``k_decay`` raises ``t_curr`` to a fractional power there: a complex number,
    on which timm fails (``math.cos`` raises, the poly lr is complex); refused, naming the step.
    """
    low, mul, length = o["lr_min"], o["cycle_mul"], o["t_initial"]
    t_curr = t - (1 - mul**i) / (1 - mul) * length
    t_i = mul**i * length
    value: Any
    if kind == "TanhLRScheduler":
        tr = t_curr / t_i
        value = low + 0.5 * (high - low) * (1 - math.tanh(o["lb"] * (1.0 - tr) + o["ub"] * tr))
    else:
        progress = t_curr ** o["k_decay"] / t_i ** o["k_decay"]
        if isinstance(progress, complex):
            value = progress
        elif kind == "CosineLRScheduler":
            value = low + 0.5 * (high - low) * (1 + math.cos(math.pi * progress))
        else:
            value = low + (high - low) * (1 - progress) ** o["power"]
    if isinstance(value, complex):
        failure = "math.cos raises" if kind == "CosineLRScheduler" else "its lr is complex"
        raise ValueError(
            f"{FN}(): {kind} with cycle_mul={mul!r} and k_decay={o['k_decay']!r}: timm's cycle "
            f"index (a float logarithm) puts step {t} in cycle {i}, before its start {exact!r}; "
            f"the cycle's clock {t_curr!r} to the power k_decay is complex there, and timm "
            f"fails at that step ({failure})"
        )
    return float(value)


def _cycled(kind: str, o: Options, base: float, shape: Shape) -> Schedule:
    """timm's cycles: in cycle ``i`` of length ``T_i``, ``lr_min + (base * cycle_decay**i -
    lr_min) * shape(t_curr)``; ``lr_min`` from the end of cycle ``cycle_limit - 1`` on."""
    length, mul, decay, limit, low = (
        o["t_initial"],
        o["cycle_mul"],
        o["cycle_decay"],
        o["cycle_limit"],
        o["lr_min"],
    )
    if limit < 1:
        return constant(low)
    if mul == 1 and limit > 1:
        return _repeated(length, decay, limit, low, base, shape(o, length, 0.0))
    if mul == 1:
        wave = _affine(low, base, shape(o, length, 0.0))
        if shape is _cosine_shape and o["k_decay"] == 1:
            return wave  # the cosine holds its end, lr_min
        return sequence(wave, constant(low), at=[length])
    # Without warmup_prefix the warm-up replaces the cycles' first warmup_t steps: timm never
    # computes them (but tanh's, at warmup_t itself).
    read_from = 0 if o["warmup_prefix"] else o["warmup_t"]
    placed: list[tuple[int, Schedule]] = []
    for i, start, exact in _cycle_starts(kind, length, mul, limit):
        high = base * decay**i
        if start < exact:  # the one step with a negative cycle clock
            if start >= read_from:
                placed.append((start, constant(_early_value(kind, o, high, start, exact, i))))
            start += 1  # else the warm-up covers it: the previous piece holds it, unread
        # start - exact is exact (start and exact are within a factor 2), so the clock
        # u + (start - exact) rounds like timm's (start + u) - exact
        placed.append((start, _affine(low, high, shape(o, mul**i * length, start - exact))))
    end, exact = _first_step(length, mul, limit)
    if exact < _STEPS_EXACT:
        placed.append((end, constant(low)))
    # a piece that starts where the next one does has no step (a one-step cycle)
    kept = [p for n, p in enumerate(placed) if n + 1 == len(placed) or placed[n + 1][0] > p[0]]
    return sequence(*(piece for _, piece in kept), at=[at for at, _ in kept[1:]])


def _repeated(
    length: int, decay: float, limit: int, low: float, base: float, wave: Schedule
) -> Schedule:
    """Equal cycles (``cycle_mul == 1``): ``repeat`` instead of one piece per cycle."""
    if decay == 1:
        body = _affine(low, base, repeat(wave, length))
    elif decay > 0:
        decayed = base * repeat(wave, length, decay=decay)
        body = decayed if low == 0 else low * (1.0 - repeat(wave, length)) + decayed
    else:  # cycle_decay = 0: the later cycles have lr_max = 0
        later = low * (1.0 - repeat(wave, length))
        body = _affine(low, base, wave)
        body = sequence(body, later, at=[length]) if limit > 1 else body
    return sequence(body, constant(low), at=[limit * length])


# -- warm-up, the constructor's value, noise -----------------------------------------------------


def _warmed(kind: str, o: Options, base: float, main: Schedule, prefix: bool) -> Schedule:
    """``warmup_lr_init + t * (target - warmup_lr_init) / warmup_t`` for ``t < warmup_t``, then
    ``main`` on timm's clock (``t - warmup_t`` with ``warmup_prefix``, else ``t``)."""
    steps = o["warmup_t"]
    if not steps:
        return main
    after = main if prefix or isinstance(main, constant) else shift(main, steps)
    # TanhLRScheduler without the prefix warms up to its own value at warmup_t.
    target = main(steps) if kind == "TanhLRScheduler" and not prefix else base
    return sequence(linear(o["warmup_lr_init"], target, steps), after, at=[steps])


def from_construction(schedule: Schedule, initial: float) -> Schedule:
    """The constructor's value at ``t = 0`` (``warmup_lr_init``, or the base lr) where
    ``step(0)``'s differs from it (tanh without warm-up, a milestone at 1)."""
    if math.isclose(schedule(0), initial, rel_tol=1e-15, abs_tol=0.0):
        return schedule
    return sequence(constant(initial), shift(schedule, 1), at=[1])


def _noise_range(value: Any, first: int) -> tuple[int, float] | None:
    """timm's ``noise_range_t`` as the integer steps ``[begin, end)`` it covers from ``first``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{FN}(): noise_range_t must be a number or a pair, got {value!r}")
        low, high = (real("noise", "noise_range_t", v) for v in value)
        begin, end = max(first, math.ceil(low)), float(math.ceil(high))
    else:
        begin, end = max(first, math.ceil(real("noise", "noise_range_t", value))), math.inf
    return (begin, end) if end > begin else None


def noisy(kind: str, o: Options, schedule: Schedule, first: int = 1) -> Schedule:
    """timm's ``v + v * noise(t)`` on ``noise_range_t`` (never at ``t = 0``: no ``step(0)``)."""
    span = _noise_range(o["noise_range_t"], first)
    if span is None:
        return schedule
    pct = real(kind, "noise_pct", o["noise_pct"], above=0)
    std = real(kind, "noise_std", o["noise_std"], at_least=0)
    kind_of = opt.pick(
        FN, f"{kind} noise_type", o.get("noise_type", "normal"), ("normal", "uniform")
    )
    if kind_of == "normal" and std > 100 * pct:
        raise ValueError(
            f"{FN}(): {kind} noise_std={std!r} with noise_pct={pct!r}: timm would redraw "
            "hundreds of times per step (noise_pct must be at least noise_std / 100)"
        )
    seed = o["noise_seed"]
    seed = 42 if seed is None else count(kind, "noise_seed", seed)
    begin, end = span
    return noise(schedule, begin=begin, end=end, pct=pct, std=std, seed=seed, kind=kind_of)


# -- the classes ---------------------------------------------------------------------------------


def _cosine(o: Options, base: float) -> Schedule:
    return _warmed(
        "CosineLRScheduler",
        o,
        base,
        _cycled("CosineLRScheduler", o, base, _cosine_shape),
        o["warmup_prefix"],
    )


def _tanh(o: Options, base: float) -> Schedule:
    if not o["lb"] < o["ub"]:
        raise ValueError(f"{FN}(): TanhLRScheduler needs lb < ub, got {o['lb']!r} and {o['ub']!r}")
    main = _cycled("TanhLRScheduler", o, base, _tanh_shape)
    return _warmed("TanhLRScheduler", o, base, main, o["warmup_prefix"])


def _poly(o: Options, base: float) -> Schedule:
    main = _cycled("PolyLRScheduler", o, base, _poly_shape)
    return _warmed("PolyLRScheduler", o, base, main, o["warmup_prefix"])


def _step(o: Options, base: float) -> Schedule:
    kind = "StepLRScheduler"
    size, rate = o["decay_t"], real(kind, "decay_rate", o["decay_rate"], above=0)
    if rate == 1:
        main: Schedule = constant(base)
    elif float(real(kind, "decay_t", size, above=0)).is_integer():
        main = base * step_decay(count(kind, "decay_t", size, minimum=1), rate)
    else:
        # A fractional decay_t is the float M / 2**e: timm's float t // decay_t is exactly
        # (2**e * t) // M, and 2**e * t is exact in floats.
        numerator, denominator = float(size).as_integer_ratio()
        main = base * warp(step_decay(numerator, rate), float(denominator) * elapsed())
    return _warmed(kind, o, base, main, o["warmup_prefix"])


def _multistep(o: Options, base: float) -> Schedule:
    kind = "MultiStepLRScheduler"
    milestones = o["decay_t"]
    if not isinstance(milestones, (list, tuple)) or not milestones:
        raise ValueError(f"{FN}(): {kind} decay_t must be a non-empty list, got {milestones!r}")
    values = [real(kind, "decay_t", m) for m in milestones]
    if values != sorted(values):
        raise ValueError(
            f"{FN}(): {kind} decay_t must be sorted (timm bisects it), got {milestones!r}"
        )
    # timm counts the milestones m <= t + 1: a milestone m applies from step ceil(m) - 1.
    steps = tuple(max(0, math.ceil(m) - 1) for m in values)
    main = base * multistep(steps, real(kind, "decay_rate", o["decay_rate"], above=0))
    return _warmed(kind, o, base, main, o["warmup_prefix"])


def _shared(build: Callable[[int], Schedule]) -> Callable[[Options, int], Schedule]:
    return lambda o, d: build(d)


# timm's decay_fn names: the shapes shared with the other importers, and timm's own two.
_DECAYS: dict[str, Callable[[Options, int], Schedule]] = {
    **{name: _shared(build) for name, build in shapes.DECAYS.items()},
    "power": lambda o, d: 1.0 - (elapsed() / float(d)) ** o["decay_power"],
    "exp": lambda o, d: (
        (o["decay_ratio"] ** (elapsed() / float(d)) - o["decay_ratio"]) / (1.0 - o["decay_ratio"])
    ),
}


def _wsd_stable(o: Options, base: float) -> Schedule:
    """``max(base * stable(t_s), lr_min)``, ``stable`` 1 or ``(1 + t_s / timescale) ** -p``."""
    low = o["lr_min"]
    if o["stable_fn"] == "constant":
        return constant(max(base, low))
    p = 0.5 if o["stable_fn"] == "rsqrt" else o["stable_power"]
    value = base * (1.0 + elapsed() / float(o["stable_timescale"])) ** -p
    return maximum(value, low) if low else value


def _wsd_options(o: Options) -> Options:
    """WSDLRScheduler's checks, in timm's names; ``stable_timescale`` defaulted as timm does."""
    kind = "WSDLRScheduler"
    total = count(kind, "t_initial", o["t_initial"], minimum=1)
    span = count(kind, "decay_t", o["decay_t"], minimum=1)
    if span > total:
        raise ValueError(f"{FN}(): {kind} decay_t must be in (0, t_initial={total}], got {span!r}")
    stable = opt.pick(FN, f"{kind} stable_fn", o["stable_fn"], ("constant", "rsqrt", "power"))
    for name in ("stable_power", "decay_power"):
        real(kind, name, o[name], above=0)
    ratio = real(kind, "decay_ratio", o["decay_ratio"], above=0)
    if not ratio < 1:
        raise ValueError(f"{FN}(): {kind} decay_ratio must be in (0, 1), got {ratio!r}")
    checked = {**o, "t_initial": total, "decay_t": span, "stable_fn": stable}
    checked["lr_min"] = real(kind, "lr_min", o["lr_min"], at_least=0)
    if stable != "constant":
        scale = o["warmup_t"] if o["stable_timescale"] is None else o["stable_timescale"]
        checked["stable_timescale"] = real(kind, "stable_timescale", scale, above=0)
    return checked


def _wsd_decay(o: Options) -> tuple[Schedule, float, int]:
    """The decay factor on the decay phase's clock, its value past the end, its first step."""
    decay_fn, span = o["decay_fn"], o["decay_t"]
    if callable(decay_fn):
        # timm holds the stable value at t_decay = 0 and calls decay_fn from t_decay = 1 on.
        d = float(span)
        return from_fn(lambda u: decay_fn(min((u + 1) / d, 1.0))), decay_fn(1.0), 1
    # every named decay is exactly 1 at t_decay = 0
    name = opt.pick(FN, "WSDLRScheduler decay_fn", decay_fn, _DECAYS)
    return _DECAYS[name](o, span), 0.0, 0


def _wsd(o: Options, base: float) -> Schedule:
    o = _wsd_options(o)
    low, total = o["lr_min"], o["t_initial"]
    level = _wsd_stable(o, base)
    shape, final, late = _wsd_decay(o)
    start = total - o["decay_t"] + late

    def scaled(factor: Any, at: int) -> Schedule:  # lr_min + (stable(t) - lr_min) * factor
        if o["stable_fn"] == "constant":
            return (
                _affine(low, max(base, low), factor)
                if isinstance(factor, Schedule)
                else (constant(low + (max(base, low) - low) * factor))
            )
        moved = shift(level, at)
        return low + (moved - low) * factor if low else moved * factor

    tail = constant(low) if final == 0 else scaled(final, total)
    pieces, at = [scaled(shape, start), tail], [total]
    if start:
        pieces, at = [level, *pieces], [start, *at]
    return _warmed("WSDLRScheduler", o, base, sequence(*pieces, at=at), prefix=True)


def plateau_lr(o: Options, base: float, scale: float) -> Schedule:
    """The warm-up (to ``warmup_t`` included), then torch's ReduceLROnPlateau on the group's lr
    (``lr_scale`` applied: torch reduces the scaled lr, down to the unscaled ``lr_min``)."""
    kind = "PlateauLRScheduler"
    steps, start_lr = o["warmup_t"], o["warmup_lr_init"]
    reducer = {
        "factor": o["decay_rate"],
        "patience": o["patience_t"],
        "threshold": o["threshold"],
        "cooldown": o["cooldown_t"],
        "mode": opt.pick(FN, f"{kind} mode", o["mode"], ("min", "max")),
        "min_value": real(kind, "lr_min", o["lr_min"], at_least=0),
    }
    if not steps:
        schedule: Schedule = plateau(**reducer, start=base * scale)
    else:
        held = (start_lr + steps * ((base - start_lr) / steps)) * scale
        ramp = times(scale, linear(start_lr, base, steps))
        schedule = sequence(ramp, plateau(**reducer, start=held), at=[steps + 1])
    return noisy(kind, o, schedule, first=steps + 1)


def times(scale: float, schedule: Schedule) -> Schedule:
    return schedule if scale == 1 else scale * schedule


BUILDERS: dict[str, Callable[[Options, float], Schedule]] = {
    "CosineLRScheduler": _cosine,
    "TanhLRScheduler": _tanh,
    "PolyLRScheduler": _poly,
    "StepLRScheduler": _step,
    "MultiStepLRScheduler": _multistep,
    "WSDLRScheduler": _wsd,
}
"""One builder per timm class, but PlateauLRScheduler (``plateau_lr``: it needs the group's
``lr_scale``, which torch's plateau reduces)."""
