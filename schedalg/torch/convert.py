"""``from_torch``: turn a constructed torch scheduler into schedalg expressions.

Every class of ``torch.optim.lr_scheduler`` and ``torch.optim.swa_utils.SWALR`` converts, with
nesting and several param groups. Where torch's stateful arithmetic is not the clean algebra,
the exact curve torch produces is built (e.g. a ``ChainedScheduler`` whose nested
``SequentialLR`` overwrites the lr at its milestones) or a ``ValueError`` says why it cannot be —
never a silently different curve. The facts matched are in the reference notes on torch 2.13.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

from schedalg.combinators import Shift, sequence
from schedalg.core import Schedule
from schedalg.plateau import Plateau
from schedalg.primitives import (
    Constant,
    Cosine,
    CosineRestarts,
    Cumulative,
    Cyclic,
    Exponential,
    FromFn,
    Linear,
    MultiStep,
    OneCycle,
    OneCycleMomentum,
    Polynomial,
    StepDecay,
)


class TorchSchedules(Mapping):
    """What ``from_torch`` returns: the schedules, ready for ``Scheduler(optimizer, **result)``.

    ``lr`` (and ``momentum`` where torch cycles it) is one ``Schedule`` when every param group
    follows the same expression, else a tuple with one per group. ``absolute`` names the keys
    whose schedules are absolute values rather than multipliers of the group's initial value.
    As a mapping it holds exactly the adapter's keyword arguments.
    """

    def __init__(
        self,
        lr: Schedule | tuple[Schedule, ...],
        momentum: Schedule | tuple[Schedule, ...] | None,
        absolute: tuple[str, ...],
    ) -> None:
        self.lr, self.momentum, self.absolute = lr, momentum, absolute

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = {"lr": self.lr}
        if self.momentum is not None:
            items["momentum"] = self.momentum
        items["absolute"] = self.absolute
        return items

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def group(self, key: str, index: int) -> Schedule:
        """The schedule of ``key`` for param group ``index``."""
        value = self._items()[key]
        return value[index] if isinstance(value, tuple) else value

    def __repr__(self) -> str:
        return f"TorchSchedules({self._items()!r})"


@dataclass(frozen=True)
class _Curve:
    """One group's curve: as a multiplier of the group's start value (if exact) and absolute."""

    rel: Schedule | None
    abs: Schedule


class _Refuse(ValueError):
    pass


def _refuse(name: str, why: str) -> _Refuse:
    return _Refuse(f"from_torch(): {name}: {why}")


# Schedulers that compute their value from scratch every step (overwriting the group lr).
_OVERWRITING = (L.LambdaLR, L.CosineAnnealingWarmRestarts, L.CyclicLR, L.OneCycleLR, SWALR)


def _leaf(m: Schedule, base: float, start: float) -> _Curve:
    return _Curve(m if base == start else None, base * m)


def _as_int(name: str, param: str, value: Any, minimum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _refuse(
            name,
            f"{param}={value!r} has no schedalg equivalent (an integer >= {minimum} is needed; "
            "torch " + ("divides by zero" if value == 0 else "uses float arithmetic on it") + ")",
        )
    return value


def _base(s: Any, i: int, ctx: str) -> float:
    # A recursive scheduler that opens a SequentialLR starts from the group's initial_lr
    # (SequentialLR resets the lr to it), which OneCycleLR may have overwritten.
    if ctx == "first":
        return float(s.optimizer.param_groups[i]["initial_lr"])
    return float(s.base_lrs[i])


def _multiplier(s: Any, i: int, ctx: str) -> Schedule:
    """The multiplier of a chainable (recursive) scheduler, relative to its base."""
    name = type(s).__name__
    if isinstance(s, L.StepLR):
        return StepDecay(_as_int(name, "step_size", s.step_size, 1), s.gamma)
    if isinstance(s, L.MultiStepLR):
        milestones = sorted(s.milestones.elements())
        if any(m < 0 for m in milestones):
            raise _refuse(
                name,
                f"negative milestones {milestones!r} (torch counts them only "
                "in its closed form, not when stepping)",
            )
        return MultiStep(tuple(int(m) for m in milestones), s.gamma)
    if isinstance(s, L.ConstantLR):
        total = _as_int(name, "total_iters", s.total_iters, 0)
        if total == 0:
            # Stepping applies the factor at t=0 and never undoes it; the closed form used at a
            # SequentialLR milestone never applies it.
            return Constant(1.0 if ctx == "milestone" else s.factor)
        if s.factor == 0:
            raise _refuse(name, "factor=0 makes torch divide by zero at step total_iters")
        return sequence(Constant(s.factor), Constant(1.0), at=[total])
    if isinstance(s, L.LinearLR):
        total = _as_int(name, "total_iters", s.total_iters, 0)
        if total == 0:
            if ctx == "milestone":
                raise _refuse(name, "total_iters=0 makes torch divide by zero at the milestone")
            return Constant(s.start_factor)
        return Linear(s.start_factor, s.end_factor, total)
    if isinstance(s, L.ExponentialLR):
        return Exponential(s.gamma)
    if isinstance(s, L.PolynomialLR):
        total = _as_int(name, "total_iters", s.total_iters, 0)
        if total == 0:
            if ctx == "milestone":
                raise _refuse(name, "total_iters=0 makes torch divide by zero at the milestone")
            return Constant(1.0)
        return Polynomial(total, s.power)
    if isinstance(s, L.MultiplicativeLR):
        return Cumulative(s.lr_lambdas[i])
    raise AssertionError(name)


def _convert_leaf(s: Any, ctx: str, starts: list[float]) -> list[_Curve]:
    name = type(s).__name__
    groups = s.optimizer.param_groups
    curves = []
    for i, start in enumerate(starts):
        if isinstance(s, L.LambdaLR):
            b = float(s.base_lrs[i])
            curves.append(_leaf(FromFn(s.lr_lambdas[i]), b, start))
        elif isinstance(s, L.CosineAnnealingLR):
            b, eta = _base(s, i, ctx), float(s.eta_min)
            steps = _as_int(name, "T_max", s.T_max, 1)
            own = float(s.base_lrs[i])
            if b != own:
                # Opening a SequentialLR whose initial_lr OneCycleLR overwrote: the recursion
                # starts from that lr, but its step past T_max adds a term built from its own
                # base_lr, which then carries on.
                after = Shift(_cosine_abs(own, eta, steps), steps + 1)
                curves.append(
                    _Curve(None, sequence(_cosine_abs(b, eta, steps), after, at=[steps + 1]))
                )
            elif b != 0:
                curves.append(_leaf(Cosine(steps, end=eta / b, periodic=True), b, start))
            else:
                curves.append(_Curve(None, _cosine_abs(b, eta, steps)))
        elif isinstance(s, L.CosineAnnealingWarmRestarts):
            b, eta = float(s.base_lrs[i]), float(s.eta_min)
            restarts = CosineRestarts(_as_int(name, "T_0", s.T_0, 1), s.T_mult)
            if eta == 0:
                curves.append(_leaf(restarts, b, start))
            else:
                # torch's order of operations, so the values agree to the last bit.
                curves.append(_Curve(None, eta + (b - eta) * restarts))
        elif isinstance(s, L.CyclicLR):
            curves.append(_Curve(None, _cyclic(s, i, s.base_lrs[i], s.max_lrs[i])))
        elif isinstance(s, L.OneCycleLR):
            curves.append(_Curve(None, _one_cycle(s, i)[0]))
        elif isinstance(s, SWALR):
            curves.append(_swalr(s, i, start))
        else:
            b = _base(s, i, ctx)
            curves.append(_leaf(_multiplier(s, i, ctx), b, start))
    del groups
    return curves


def _cosine_abs(base: float, eta: float, steps: int) -> Schedule:
    """CosineAnnealingLR's absolute curve from ``base`` (periodic past ``T_max``, as torch)."""
    if base != 0:
        return base * Cosine(steps, end=eta / base, periodic=True)
    return eta - eta * Cosine(steps, periodic=True)


def _cyclic(s: Any, i: int, low: float, high: float) -> Schedule:
    total, ratio = s.total_size, s.step_ratio
    guess = ratio * total
    for up in (round(guess), guess):
        if up <= 0:
            continue
        down = total - up
        if isinstance(up, int) and float(total).is_integer():
            down = int(total) - up
        if down < 0 or float(up) + float(down) != total or float(up) / total != ratio:
            continue
        custom = s._scale_fn_custom
        if custom is not None:
            return Cyclic(low, high, up, down, scale_fn=custom, scale_mode=s.scale_mode)
        return Cyclic(low, high, up, down, mode=s.mode, gamma=s.gamma)
    raise _refuse(
        "CyclicLR",
        f"cannot recover step sizes from total_size={total!r}, step_ratio={ratio!r} exactly",
    )


def _solve(name: str, what: str, f: Any, target: float, guess: float) -> float:
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
    raise _refuse(name, f"cannot recover {what} exactly from the optimizer's values")


def _one_cycle(s: Any, i: int) -> tuple[Schedule, Schedule | None]:
    name = "OneCycleLR"
    group = s.optimizer.param_groups[i]
    phases = s._schedule_phases
    total, three = int(s.total_steps), len(phases) == 3
    anneal = s._anneal_func_type
    peak, initial, final = (
        float(group["max_lr"]),
        float(group["initial_lr"]),
        float(group["min_lr"]),
    )
    if initial == 0 or final == 0:
        raise _refuse(name, "max_lr / div_factor / final_div_factor must be non-zero")
    end1 = phases[0]["end_step"]
    pct = _solve(name, "pct_start", lambda p: float(p * total) - 1, end1, (end1 + 1) / total)
    div = _solve(name, "div_factor", lambda d: peak / d, initial, peak / initial)
    final_div = _solve(name, "final_div_factor", lambda d: initial / d, final, initial / final)
    lr = OneCycle(total, pct, div, final_div, anneal, three, peak)
    expected = [(p["end_step"], group[p["start_lr"]], group[p["end_lr"]]) for p in phases]
    if [(e, a, b) for _, e, a, b in lr._phases] != expected:
        raise _refuse(name, "its phases cannot be reproduced exactly")
    momentum = None
    if s.cycle_momentum:
        low, high = group["base_momentum"], group["max_momentum"]
        momentum = OneCycleMomentum(total, pct, low, high, anneal, three)
        expected = [
            (p["end_step"], group[p["start_momentum"]], group[p["end_momentum"]]) for p in phases
        ]
        if [(e, a, b) for _, e, a, b in momentum._phases] != expected:
            raise _refuse(name, "its momentum phases cannot be reproduced exactly")
    return lr, momentum


def _swalr(s: Any, i: int, start: float) -> _Curve:
    group = s.optimizer.param_groups[i]
    swa, steps = float(group["swa_lr"]), s.anneal_epochs
    if steps == 0:
        return _Curve(None, Constant(swa))
    lr0 = start
    if s._anneal_strategy == "cos":
        rel = Cosine(steps, end=swa / lr0) if lr0 else None
        absolute = lr0 * rel if rel is not None else swa * (1.0 - Cosine(steps))
    else:
        rel = Linear(1.0, swa / lr0, steps) if lr0 else None
        absolute = lr0 * rel if rel is not None else swa * Linear(0.0, 1.0, steps)
    # Built after another scheduler moved the lr: relative to lr0, not to the fresh optimizer's lr.
    return _Curve(rel if lr0 == float(group["initial_lr"]) else None, absolute)


def _convert_sequential(s: Any, starts: list[float]) -> list[_Curve]:
    milestones, schedulers = list(s._milestones), list(s._schedulers)
    if any(b < a for a, b in itertools.pairwise(milestones)):
        raise _refuse("SequentialLR", f"milestones {milestones!r} are not sorted")
    first = bisect.bisect_right(milestones, 0)
    active = [(schedulers[first], 0, "first")]
    for j in range(first + 1, len(schedulers)):
        begin = milestones[j - 1]
        end = milestones[j] if j < len(milestones) else math.inf
        if end > begin:  # with duplicate milestones a scheduler is never used
            active.append((schedulers[j], begin, "milestone"))
    for piece, _, ctx in active:
        if isinstance(piece, (L.SequentialLR, L.ChainedScheduler)):
            raise _refuse(
                "SequentialLR",
                f"a nested {type(piece).__name__} "
                + (
                    "raises NotImplementedError in torch at its milestone"
                    if ctx == "milestone"
                    else "in first position is stepped twice by torch's constructor"
                ),
            )
        if isinstance(piece, SWALR):
            raise _refuse("SequentialLR", "SWALR counts _step_count, not its own clock")
        if isinstance(piece, (L.CyclicLR, L.OneCycleLR)) and piece.cycle_momentum:
            raise _refuse(
                "SequentialLR",
                f"a nested {type(piece).__name__} cycles momentum only while active and "
                "freezes it after; use cycle_momentum=False or convert it alone",
            )
    per_group: list[list[_Curve]] = [[] for _ in starts]
    at = [begin for _, begin, _ in active[1:]]
    for k, (piece, begin, ctx) in enumerate(active):
        if ctx == "milestone" and isinstance(piece, L.MultiplicativeLR):
            # torch multiplies the previous phase's last lr by f(0), then by f(1), f(2), ...
            for i, curves in enumerate(per_group):
                before = _sequence(curves, at[: k - 1])
                f = piece.lr_lambdas[i]
                f0 = float(f(0))
                rel = None
                if before.rel is not None:
                    rel = before.rel(begin - 1) * f0 * Cumulative(f)
                curves.append(_Curve(rel, before.abs(begin - 1) * f0 * Cumulative(f)))
            continue
        for curves, curve in zip(per_group, _convert_leaf(piece, ctx, starts)):
            curves.append(curve)
    return [_sequence(curves, at) for curves in per_group]


def _seq_pieces(s: Any) -> list[tuple[Any, float]]:
    """A SequentialLR's schedulers that are ever active, each with how many steps it is."""
    milestones, schedulers = list(s._milestones), list(s._schedulers)
    first = bisect.bisect_right(milestones, 0)
    pieces = []
    for j in range(first, len(schedulers)):
        begin = 0 if j == first else milestones[j - 1]
        end = milestones[j] if j < len(milestones) else math.inf
        if end > begin:
            pieces.append((schedulers[j], end - begin))
    return pieces


def _sequence(curves: list[_Curve], at: list[int]) -> _Curve:
    rels = [c.rel for c in curves]
    rel = sequence(*rels, at=at) if all(r is not None for r in rels) else None
    return _Curve(rel, sequence(*(c.abs for c in curves), at=at))


def _flatten(s: Any) -> list[Any]:
    if isinstance(s, L.ChainedScheduler):
        return [leaf for child in s._schedulers for leaf in _flatten(child)]
    return [s]


def _settles(s: Any) -> int | None:
    """The step from which a chainable scheduler no longer changes the lr (None: never)."""
    if isinstance(s, (L.StepLR, L.ExponentialLR)):
        return 0 if s.gamma == 1 else None
    if isinstance(s, L.MultiStepLR):
        return max(s.milestones.elements(), default=0)
    if isinstance(s, (L.ConstantLR, L.LinearLR, L.PolynomialLR)):
        return int(s.total_iters)
    return None


def _convert_chained(s: Any, starts: list[float]) -> list[_Curve]:
    children = _flatten(s)
    if len(children) == 1:
        return _convert(children[0], "top", starts)
    for member in children:
        nested = isinstance(member, L.SequentialLR)
        where = " (inside a nested SequentialLR)" if nested else ""
        for child, span in _seq_pieces(member) if nested else [(member, None)]:
            if isinstance(child, (*_OVERWRITING, L.ReduceLROnPlateau)):
                raise _refuse(
                    "ChainedScheduler",
                    f"{type(child).__name__}{where} overwrites the lr on every step, so the "
                    "schedulers before it are lost and the ones after it keep only their last "
                    "step's ratio: not a product of curves. Multiply the expressions with "
                    "chain() instead",
                )
            if isinstance(child, L.CosineAnnealingLR) and child.eta_min != 0:
                raise _refuse(
                    "ChainedScheduler",
                    f"CosineAnnealingLR{where} with eta_min != 0 updates the lr affinely (not by "
                    "a ratio), so the chain is not a product of multipliers",
                )
            if nested and isinstance(child, L.CosineAnnealingLR):
                steps = _as_int("CosineAnnealingLR", "T_max", child.T_max, 1)
                if span > steps + 1:
                    raise _refuse(
                        "ChainedScheduler",
                        f"CosineAnnealingLR(T_max={steps}){where} is still active past T_max, "
                        "where torch restarts it from base_lr, forgetting the other factors: "
                        "not a product of multipliers",
                    )
    groups = s.optimizer.param_groups
    bases = {tuple(float(b) for b in c.base_lrs) for c in children if hasattr(c, "base_lrs")}
    seqs = [c for c in children if isinstance(c, L.SequentialLR)]
    if len(bases) > 1 and not seqs:
        raise _refuse("ChainedScheduler", f"its schedulers have different base lrs {bases!r}")
    cosines = [c for c in children if isinstance(c, L.CosineAnnealingLR)]
    # Multipliers per child and group, all relative to the group's initial lr.
    multipliers = []
    for child in children:
        if isinstance(child, L.SequentialLR):
            inner = _convert_sequential(child, starts)
            if any(c.rel is None for c in inner):
                raise _refuse("ChainedScheduler", "a nested SequentialLR is not relative")
            multipliers.append([c.rel for c in inner])
        elif isinstance(child, L.CosineAnnealingLR):
            steps = _as_int("CosineAnnealingLR", "T_max", child.T_max, 1)
            multipliers.append([Cosine(steps, periodic=True)] * len(groups))
        else:
            multipliers.append([_multiplier(child, i, "chained") for i in range(len(groups))])
    curves = []
    for i, start in enumerate(starts):
        base = float(groups[i]["initial_lr"])
        ms = [m[i] for m in multipliers]
        rel = _chained_cosine(children, cosines, ms) if cosines else _chained_resets(children, ms)
        curves.append(_leaf(rel, base, start))
    return curves


def _chained_cosine(children: list[Any], cosines: list[Any], ms: list[Schedule]) -> Schedule:
    if len(cosines) > 1 or any(isinstance(c, L.SequentialLR) for c in children):
        raise _refuse(
            "ChainedScheduler",
            "CosineAnnealingLR past T_max adds a step built from base_lr (forgetting the other "
            "factors); only a single cosine with schedulers that settle by T_max is supported",
        )
    cos = cosines[0]
    steps = int(cos.T_max)
    for child in children:
        if child is cos:
            continue
        settle = _settles(child)
        if settle is None or settle > steps:
            raise _refuse(
                "ChainedScheduler",
                f"CosineAnnealingLR(T_max={steps}) restarts the product at step {steps + 1} "
                f"from base_lr, forgetting {type(child).__name__}, which still changes the lr "
                "after T_max: torch's curve is not a product there",
            )
    product = ms[0]
    for m in ms[1:]:
        product = product * m
    return sequence(product, Shift(Cosine(steps, periodic=True), steps + 1), at=[steps + 1])


def _chained_resets(children: list[Any], ms: list[Schedule]) -> Schedule:
    """A product of multipliers, restarted where a nested SequentialLR overwrites the lr.

    At a milestone ``R`` of child ``k`` torch sets ``lr = base * m_k(R)``: the children before
    ``k`` are forgotten and those after it apply one ratio ``m_j(R) / m_j(R - 1)``. So on
    ``[R, next)`` the lr is ``base * prod m_j(t) / D`` with
    ``D = prod_{j<k} m_j(R) * prod_{j>k} m_j(R - 1)``.
    """
    resets: dict[int, int] = {}
    for k, child in enumerate(children):
        if isinstance(child, L.SequentialLR):
            for piece in child._schedulers:
                if isinstance(piece, L.MultiplicativeLR):
                    raise _refuse(
                        "ChainedScheduler",
                        "a nested SequentialLR with MultiplicativeLR starts from the lr of the "
                        "whole chain",
                    )
            for r in child._milestones:
                if r > 0:
                    resets[r] = k  # the last child in list order wins
    product = ms[0]
    for m in ms[1:]:
        product = product * m
    if not resets:
        return product
    pieces, at = [product], sorted(resets)
    for r in at:
        k = resets[r]
        divisor = 1.0
        for j, m in enumerate(ms):
            if j != k:
                divisor *= m(r) if j < k else m(r - 1)
        if divisor == 0:
            raise _refuse("ChainedScheduler", f"the lr is 0 before the milestone at step {r}")
        shifted = Shift(ms[0], r)
        for m in ms[1:]:
            shifted = shifted * Shift(m, r)
        pieces.append(shifted if divisor == 1.0 else shifted / divisor)
    return sequence(*pieces, at=at)


def _convert(s: Any, ctx: str, starts: list[float]) -> list[_Curve]:
    if isinstance(s, L.SequentialLR):
        return _convert_sequential(s, starts)
    if isinstance(s, L.ChainedScheduler):
        return _convert_chained(s, starts)
    return _convert_leaf(s, ctx, starts)


def _starts(s: Any) -> list[float]:
    groups = s.optimizer.param_groups
    if isinstance(s, SWALR):
        if s.anneal_epochs and s._step_count != 1:
            raise _refuse("SWALR", "convert it before stepping it (its start lr is then known)")
        return [float(g["lr"]) for g in groups]
    return [float(g.get("initial_lr", g["lr"])) for g in groups]


def _collapse(values: list[Schedule]) -> Schedule | tuple[Schedule, ...]:
    return values[0] if all(v == values[0] for v in values) else tuple(values)


def _plateau(s: Any) -> TorchSchedules:
    fresh = (
        s.last_epoch == 0
        and s.num_bad_epochs == 0
        and s.cooldown_counter == 0
        and s.best == s.mode_worse
    )
    if not fresh:
        raise _refuse("ReduceLROnPlateau", "convert it before stepping it")
    lrs = [float(g["lr"]) for g in s.optimizer.param_groups]
    nodes = [
        Plateau(
            factor=s.factor,
            patience=s.patience,
            threshold=s.threshold,
            threshold_mode=s.threshold_mode,
            mode=s.mode,
            cooldown=s.cooldown,
            min_value=float(s.min_lrs[i]),
            eps=s.eps,
            start=lr,
        )
        for i, lr in enumerate(lrs)
    ]
    return TorchSchedules(_collapse(nodes), None, ("lr",))


def from_torch(scheduler: Any) -> TorchSchedules:
    """The schedalg expressions that reproduce a constructed torch scheduler's curve.

    ``Scheduler(fresh_optimizer, **from_torch(torch_scheduler))`` — on an optimizer with the
    same initial values (lrs, momentum/betas) — applies the values the torch scheduler applies,
    step for step, within the rounding of torch's own recursions (``result.lr`` is the curve of
    steps ``0, 1, 2, ...`` since construction, whatever the scheduler has stepped since).

    - Multipliers of each group's initial lr where that is exact; absolute values otherwise
      (``OneCycleLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts`` with ``eta_min``,
      ``ReduceLROnPlateau``), named in ``result.absolute``; closed-form schedulers convert bit
      for bit. ``CyclicLR``/``OneCycleLR`` that cycle momentum give ``result.momentum``
      (``betas[0]`` on Adam-style optimizers).
    - ``CosineAnnealingLR`` keeps oscillating past ``T_max``, as torch does.
    - ``OneCycleLR``: schedalg holds the final value from step ``total_steps - 1`` on; torch
      extrapolates at step ``total_steps`` (a value no optimizer update uses) and raises after.
    - ``ReduceLROnPlateau`` becomes ``plateau(...)`` nodes (absolute, one per group), driven by
      ``Scheduler.step(metric)``; convert it before stepping it.
    - Refused, with the reason: ``ChainedScheduler`` holding schedulers that overwrite the lr
      (LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SWALR), a CosineAnnealingLR
      with ``eta_min != 0``, or a CosineAnnealingLR whose restart past ``T_max`` forgets
      factors still changing; ``SequentialLR`` holding nested SequentialLR/ChainedScheduler
      (torch fails or double-steps them), SWALR, or momentum-cycling pieces; ``LinearLR``/
      ``PolynomialLR`` with ``total_iters=0`` at a milestone (torch divides by zero); non-integer
      step counts; a scheduler whose current lr shows it was built on an lr already changed by
      another scheduler; a scheduler constructed with ``last_epoch != -1`` (and a stepped
      ``CosineAnnealingWarmRestarts``, which keeps no step count to tell the two apart). The
      ChainedScheduler checks apply to the pieces of a nested SequentialLR too (there a
      CosineAnnealingLR must not stay active past ``T_max``).
    - Absolute values also where the start is not the lr the optimizer was built with: a tree
      holding ``CyclicLR`` (it writes ``initial_lr``), or ``SWALR`` built after the lr moved.
    """
    if isinstance(scheduler, L.ReduceLROnPlateau):
        return _plateau(scheduler)
    if not isinstance(scheduler, L.LRScheduler):
        raise TypeError(
            f"from_torch(): scheduler must be a torch.optim.lr_scheduler scheduler, got "
            f"{type(scheduler).__name__}"
        )
    if isinstance(scheduler, L.CyclicLR):
        for i, g in enumerate(scheduler.optimizer.param_groups):
            if float(g["initial_lr"]) != float(scheduler.base_lrs[i]):
                raise _refuse(
                    "CyclicLR",
                    f"group {i} already had initial_lr={g['initial_lr']!r} from an earlier "
                    f"scheduler, so torch's step 0 used it instead of base_lr",
                )
    starts = _starts(scheduler)
    try:
        curves = _convert(scheduler, "top", starts)
    except _Refuse:
        raise
    except (ValueError, TypeError) as error:
        raise _refuse(type(scheduler).__name__, f"no schedalg equivalent: {error}") from None
    # CyclicLR and OneCycleLR write initial_lr themselves, so it need not be the lr the
    # optimizer was built with (which a relative result multiplies): give absolute values.
    relative = all(c.rel is not None for c in curves) and not _has(
        scheduler, (L.OneCycleLR, L.CyclicLR)
    )
    lr = [c.rel if relative else c.abs for c in curves]
    _check_now(scheduler, lr, starts, relative)
    momentum = None
    if isinstance(scheduler, L.CyclicLR) and scheduler.cycle_momentum:
        momentum = [
            _cyclic(scheduler, i, high, low)
            for i, (low, high) in enumerate(zip(scheduler.base_momentums, scheduler.max_momentums))
        ]
    elif isinstance(scheduler, L.OneCycleLR) and scheduler.cycle_momentum:
        momentum = [
            _one_cycle(scheduler, i)[1] for i in range(len(scheduler.optimizer.param_groups))
        ]
    absolute = () if relative else ("lr",)
    if momentum is not None:
        absolute = (*absolute, "momentum")
    return TorchSchedules(
        _collapse(lr), None if momentum is None else _collapse(momentum), absolute
    )


def _has(s: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(s, kind):
        return True
    return any(_has(c, kind) for c in getattr(s, "_schedulers", ()))


def _clock(s: Any) -> int:
    """Steps since construction; refuses a scheduler constructed with ``last_epoch != -1``
    (torch's curve then does not start at the expression's step 0)."""
    name = type(s).__name__
    if isinstance(s, L.ChainedScheduler):
        clocks = {_clock(c) for c in s._schedulers}
        if len(clocks) != 1:
            raise _refuse(name, f"its schedulers have taken different numbers of steps {clocks}")
        return clocks.pop()
    if isinstance(s, L.SequentialLR):
        t, milestones = s.last_epoch, list(s._milestones)
        idx = bisect.bisect_right(milestones, t)
        local = t - milestones[idx - 1] if idx > 0 else t
        if s._schedulers[idx].last_epoch != local:
            raise _refuse(
                name,
                f"its step {t} and its active scheduler's step "
                f"{s._schedulers[idx].last_epoch} (expected {local}) disagree: it or a scheduler "
                "inside it was constructed with last_epoch != -1 or stepped on its own",
            )
        # A CosineAnnealingWarmRestarts resumes from its own T_cur at its milestone, which a
        # constructor's last_epoch leaves non-zero (its last_epoch is reset to 0 there).
        for j, piece in enumerate(s._schedulers[idx:], idx):
            if isinstance(piece, L.CosineAnnealingWarmRestarts):
                want = _restarts_t_cur(piece, local) if j == idx else 0
                if piece.T_cur != want:
                    raise _refuse(
                        name,
                        f"its CosineAnnealingWarmRestarts has T_cur={piece.T_cur} where {want} "
                        "is expected: it was constructed with last_epoch != -1 or stepped on "
                        "its own",
                    )
        return t
    if isinstance(s, L.CosineAnnealingWarmRestarts):
        # It keeps no step count: a stepped one cannot be told from one built with last_epoch.
        if s.last_epoch != 0:
            raise _refuse(
                name,
                f"last_epoch={s.last_epoch}: convert it before stepping it and construct it "
                "with last_epoch=-1 (it keeps no step count, so its start cannot be recovered)",
            )
        return 0
    if isinstance(s, SWALR):
        return s._step_count - 1
    if s._step_count - 1 != s.last_epoch:
        raise _refuse(
            name,
            f"last_epoch={s.last_epoch} after {s._step_count - 1} steps: it was constructed with "
            "last_epoch != -1 (or stepped with an epoch), so its curve does not start at step 0",
        )
    return s.last_epoch


def _restarts_t_cur(s: Any, t: int) -> float:
    """CosineAnnealingWarmRestarts' T_cur after ``t`` steps from a fresh start."""
    t_cur, t_i = 0, s.T_0
    for _ in range(t):
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * s.T_mult
    return t_cur


def _check_now(s: Any, lr: list[Schedule], starts: list[float], relative: bool) -> None:
    """Now (step ``t`` since construction) the torch lr must be the expression's: else the
    scheduler was built on an lr that another scheduler had already changed (torch's
    constructors compound), or was constructed with ``last_epoch != -1``."""
    t = _clock(s)
    if isinstance(s, SWALR) or (t > 0 and _has(s, L.OneCycleLR)):
        # SWALR starts from the current lr; OneCycleLR overwrites the lr (and torch
        # extrapolates past total_steps where schedalg holds the final value).
        return
    for i, group in enumerate(s.optimizer.param_groups):
        expected = float(lr[i](t)) * starts[i] if relative else float(lr[i](t))
        actual = float(group["lr"])
        # Loose enough for torch's recursions over many steps (§9), far below any compounding.
        if not math.isclose(actual, expected, rel_tol=1e-12 * (1 + t), abs_tol=1e-300):
            raise _refuse(
                type(s).__name__,
                f"group {i} holds lr={actual!r} at step {t} where the converted schedule gives "
                f"{expected!r}: it was built on an lr another scheduler had already changed",
            )
