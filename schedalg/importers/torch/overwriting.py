"""The schedulers that compute the lr from scratch on every step (overwriting it), so they
cannot be chained: LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SWALR and the
metric-driven ReduceLROnPlateau.

CyclicLR and OneCycleLR are rebuilt from torch's own values (step sizes, phase ends, ``max_lr``
and the divided lrs) and checked to reproduce them bit for bit; where a parameter cannot be
recovered exactly the conversion is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift
from schedalg.curves.cycles import cyclic, one_cycle, one_cycle_momentum
from schedalg.curves.functions import from_fn
from schedalg.curves.metric import plateau
from schedalg.curves.primitives import cosine, cosine_restarts, linear
from schedalg.importers.hf import from_lr_lambda
from schedalg.importers.torch.context import Curve, Place, Position, name_of, refuse, whole
from schedalg.importers.torch.state import foreign_initial_lr, resumed_at, resumed_here


def _resumed(curve: Schedule, begin: int) -> Schedule:
    """A closed form constructed with ``last_epoch = begin - 1``: its constructor's step is at
    ``begin``, and every later step is the closed form's next one (``shift``)."""
    return shift(curve, begin) if begin > 0 else curve


def lambda_curve(scheduler: Any, place: Place) -> Curve:
    """``base_lr * f(last_epoch)``; constructed with ``last_epoch=k`` it starts at ``f(k + 1)``."""
    base = float(scheduler.base_lrs[place.group])
    function = scheduler.lr_lambdas[place.group]
    # A lambda that transformers' get_scheduler built is read as the HF schedule it is.
    factor: Schedule | None = from_lr_lambda(function)
    if factor is None:
        factor = from_fn(function)
    return Curve.of(_resumed(factor, resumed_here(scheduler, place)), base, place.start)


def restarts_curve(scheduler: Any, place: Place) -> Curve:
    base, eta = float(scheduler.base_lrs[place.group]), float(scheduler.eta_min)
    restarts = cosine_restarts(whole(scheduler, "T_0", minimum=1), scheduler.T_mult)
    if eta == 0:
        return Curve.of(restarts, base, place.start)
    # torch's order of operations, so the values agree to the last bit.
    return Curve(None, eta + (base - eta) * restarts)


# -- CyclicLR ----------------------------------------------------------------------------------


def _cyclic_step_sizes(total: Any, ratio: Any) -> tuple[Any, Any]:
    """The up and down step sizes that give torch's ``total_size`` and ``step_ratio`` exactly."""
    guess = ratio * total
    for up in (round(guess), guess):
        if up <= 0:
            continue
        down = total - up
        if isinstance(up, int) and float(total).is_integer():
            down = int(total) - up
        if down >= 0 and float(up) + float(down) == total and float(up) / total == ratio:
            return up, down
    raise refuse(
        "CyclicLR",
        f"cannot recover step sizes from total_size={total!r}, step_ratio={ratio!r} exactly",
    )


def _cyclic(scheduler: Any, low: float, high: float) -> Schedule:
    up, down = _cyclic_step_sizes(scheduler.total_size, scheduler.step_ratio)
    custom = scheduler._scale_fn_custom
    if custom is not None:
        return cyclic(low, high, up, down, scale_fn=custom, scale_mode=scheduler.scale_mode)
    return cyclic(low, high, up, down, mode=scheduler.mode, gamma=scheduler.gamma)


def cyclic_curve(scheduler: Any, place: Place) -> Curve:
    """Closed form; constructed with ``last_epoch = begin - 1`` it starts at ``begin``. On its
    own, its constructor's step computed the lr from the group's ``initial_lr``, which an
    earlier scheduler may have set to another value than ``base_lr``: that step's value, then
    the cycle (a ``SequentialLR`` recomputes that step from ``base_lr``)."""
    group, high = place.group, scheduler.max_lrs[place.group]
    begin = resumed_here(scheduler, place)
    own = _cyclic(scheduler, scheduler.base_lrs[group], high)
    initial = foreign_initial_lr(scheduler, group) if place.position is Position.ALONE else None
    if initial is None:
        return Curve(None, _resumed(own, begin))
    first = float(_cyclic(scheduler, initial, high)(begin))
    return Curve(None, sequence(constant(first), shift(own, begin + 1), at=[1]))


def cyclic_momentum(scheduler: Any, group: int) -> Schedule | None:
    """Momentum cycles the other way: from ``max_momentum`` down to ``base_momentum``."""
    if not scheduler.cycle_momentum:
        return None
    high, low = scheduler.max_momentums[group], scheduler.base_momentums[group]
    return _resumed(_cyclic(scheduler, high, low), resumed_at(scheduler))


def refuse_cycled_momentum(scheduler: Any, position: Position) -> str | None:
    if scheduler.cycle_momentum:
        return (
            f"a nested {name_of(scheduler)} cycles momentum only while active and "
            "freezes it after; use cycle_momentum=False or convert it alone"
        )
    return None


# -- OneCycleLR --------------------------------------------------------------------------------


def _solve(what: str, f: Callable[[float], float], target: float, guess: float) -> float:
    """The float near ``guess`` at which ``f`` gives torch's ``target`` exactly."""
    candidates = [guess]
    for direction in (math.inf, -math.inf):
        x = guess
        for _ in range(4):
            x = math.nextafter(x, direction)
            candidates.append(x)
    for x in candidates:
        try:
            if f(x) == target:
                return x
        except ZeroDivisionError:
            continue
    raise refuse("OneCycleLR", f"cannot recover {what} exactly from the optimizer's values")


def _pct_start(scheduler: Any) -> float:
    total, end = int(scheduler.total_steps), scheduler._schedule_phases[0]["end_step"]
    return _solve("pct_start", lambda p: float(p * total) - 1, end, (end + 1) / total)


def _phases_as_torch(
    node: one_cycle | one_cycle_momentum, scheduler: Any, group: int, start_key: str, end_key: str
) -> bool:
    """Whether the node's phases are torch's: the same end steps and the same values."""
    values = scheduler.optimizer.param_groups[group]
    built = [(end, a, b) for _, end, a, b in node.phases]
    expected = [
        (p["end_step"], values[p[start_key]], values[p[end_key]])
        for p in scheduler._schedule_phases
    ]
    return built == expected


def one_cycle_curve(scheduler: Any, place: Place) -> Curve:
    group = scheduler.optimizer.param_groups[place.group]
    peak, initial = float(group["max_lr"]), float(group["initial_lr"])
    final = float(group["min_lr"])
    if initial == 0 or final == 0:
        raise refuse("OneCycleLR", "max_lr / div_factor / final_div_factor must be non-zero")
    pct = _pct_start(scheduler)
    div = _solve("div_factor", lambda d: peak / d, initial, peak / initial)
    final_div = _solve("final_div_factor", lambda d: initial / d, final, initial / final)
    three = len(scheduler._schedule_phases) == 3
    anneal, total = scheduler._anneal_func_type, int(scheduler.total_steps)
    lr = one_cycle(total, pct, div, final_div, anneal, three, peak)
    if not _phases_as_torch(lr, scheduler, place.group, "start_lr", "end_lr"):
        raise refuse("OneCycleLR", "its phases cannot be reproduced exactly")
    return Curve(None, _resumed(lr, resumed_here(scheduler, place)))


def one_cycle_momentum_of(scheduler: Any, group: int) -> Schedule | None:
    if not scheduler.cycle_momentum:
        return None
    values = scheduler.optimizer.param_groups[group]
    three = len(scheduler._schedule_phases) == 3
    momentum = one_cycle_momentum(
        int(scheduler.total_steps),
        _pct_start(scheduler),
        values["base_momentum"],
        values["max_momentum"],
        scheduler._anneal_func_type,
        three,
    )
    if not _phases_as_torch(momentum, scheduler, group, "start_momentum", "end_momentum"):
        raise refuse("OneCycleLR", "its momentum phases cannot be reproduced exactly")
    return _resumed(momentum, resumed_at(scheduler))


# -- SWALR and ReduceLROnPlateau ---------------------------------------------------------------


def swalr_curve(scheduler: Any, place: Place) -> Curve:
    group = scheduler.optimizer.param_groups[place.group]
    swa, steps, lr0 = float(group["swa_lr"]), scheduler.anneal_epochs, place.start
    if steps == 0:
        return Curve(None, constant(swa))
    relative: Schedule | None
    if scheduler._anneal_strategy == "cos":
        relative = cosine(steps, end=swa / lr0) if lr0 else None
        absolute = lr0 * relative if relative is not None else swa * (1.0 - cosine(steps))
    else:
        relative = linear(1.0, swa / lr0, steps) if lr0 else None
        absolute = lr0 * relative if relative is not None else swa * linear(0.0, 1.0, steps)
    # Built after another scheduler moved the lr: relative to lr0, not to the fresh optimizer's lr.
    return Curve(relative if lr0 == float(group["initial_lr"]) else None, absolute)


def refuse_swalr_in_sequence(scheduler: Any, position: Position) -> str | None:
    return "SWALR counts _step_count, not its own clock"


def plateau_curve(scheduler: Any, place: Place) -> Curve:
    """A ``plateau`` node in absolute units: it starts at the group's lr."""
    node = plateau(
        factor=scheduler.factor,
        patience=scheduler.patience,
        threshold=scheduler.threshold,
        threshold_mode=scheduler.threshold_mode,
        mode=scheduler.mode,
        cooldown=scheduler.cooldown,
        min_value=float(scheduler.min_lrs[place.group]),
        eps=scheduler.eps,
        start=place.start,
    )
    return Curve(None, node)
