"""The recursive schedulers: each step multiplies the lr by a ratio, so the curve is a multiplier
of a base lr and the scheduler chains (``ChainedScheduler`` multiplies the factors).

StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR and MultiplicativeLR, and
CosineAnnealingLR, whose recursion is a cosine from ``base_lr`` to ``eta_min``. A
``SequentialLR`` switches them in at a milestone by their closed form (``_get_closed_form_lr``),
which differs from stepping where a count is 0.
"""

from __future__ import annotations

from typing import Any

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift
from schedalg.curves.functions import cumulative
from schedalg.curves.primitives import (
    cosine,
    exponential,
    linear,
    multistep,
    polynomial,
    step_decay,
)
from schedalg.importers.torch.context import Curve, Place, Position, name_of, refuse, whole
from schedalg.importers.torch.state import check_start_shown, resumed_here, steps_taken
from schedalg.importers.torch.table import GroupCurve, GroupMultiplier


def relative_to_base(multiplier: GroupMultiplier) -> GroupCurve:
    """The curve of a scheduler that multiplies its base lr by ``multiplier``; on its own, one
    constructed with ``last_epoch=k`` continues from step ``k + 1`` (``resumed``)."""

    def curve(scheduler: Any, place: Place) -> Curve:
        base, factor = place.base_lr(scheduler), multiplier(scheduler, place)
        begin = resumed_here(scheduler, place)
        if begin > 0:
            factor = resumed(scheduler, place, factor, begin, base)
        return Curve.of(factor, base, place.start)

    return curve


def resumed(scheduler: Any, place: Place, factor: Schedule, begin: int, base: float) -> Schedule:
    """A recursive scheduler constructed with ``last_epoch = begin - 1``.

    Its constructor's step computes the lr at ``last_epoch = begin`` from the lr it finds (the
    guarded classes keep it; StepLR, MultiStepLR and ConstantLR apply the ratio of that step),
    and each later step applies the ratio ``m(t) / m(t - 1)`` of the closed form ``m``. So the
    curve from construction is ``found / m(begin) * m(begin + t)``: the closed form started
    part-way, scaled to the lr found. Before any step ``found`` is the lr the group holds;
    after, it is taken to be the closed form's ``base * m(begin)``, which ``from_torch`` checks
    against the lr now: refused where the lr now is 0, which any start gives.
    """
    at = float(factor(begin))
    if at == 0:
        raise refuse(
            name_of(scheduler),
            f"constructed with last_epoch={begin - 1}: its closed form is 0 at step {begin}, "
            "so the ratios torch applies from the lr it found have no closed form",
        )
    shifted = shift(factor, begin)
    if scheduler._step_count != 1:
        now = base * float(shifted(steps_taken(scheduler)))
        check_start_shown(scheduler, place.group, now, now)
        return shifted
    found = float(scheduler.optimizer.param_groups[place.group]["lr"])
    scale = found / (base * at) if base != 0 else 1.0
    return shifted if scale == 1.0 else scale * shifted


def step(scheduler: Any, place: Place) -> Schedule:
    return step_decay(whole(scheduler, "step_size", minimum=1), scheduler.gamma)


def multi_step(scheduler: Any, place: Place) -> Schedule:
    milestones = sorted(scheduler.milestones.elements())
    if any(m < 0 for m in milestones):
        raise refuse(
            name_of(scheduler),
            f"negative milestones {milestones!r} (torch counts them only in its closed form, "
            "not when stepping)",
        )
    if not milestones:  # torch runs it: the lr never changes
        return constant(1.0)
    return multistep(tuple(int(m) for m in milestones), scheduler.gamma)


def constant_factor(scheduler: Any, place: Place) -> Schedule:
    total = whole(scheduler, "total_iters", minimum=0)
    if total == 0:
        # Stepping applies the factor at t=0 and never undoes it; the closed form used at a
        # SequentialLR milestone never applies it.
        return constant(1.0 if place.position is Position.AT_MILESTONE else scheduler.factor)
    if scheduler.factor == 0:
        raise refuse(name_of(scheduler), "factor=0 makes torch divide by zero at step total_iters")
    return sequence(constant(scheduler.factor), constant(1.0), at=[total])


def _total_iters_at_milestone(scheduler: Any, place: Place) -> int:
    """``total_iters``, refusing 0 at a milestone, where torch's closed form divides by it."""
    total = whole(scheduler, "total_iters", minimum=0)
    if total == 0 and place.position is Position.AT_MILESTONE:
        raise refuse(
            name_of(scheduler), "total_iters=0 makes torch divide by zero at the milestone"
        )
    return total


def linear_factor(scheduler: Any, place: Place) -> Schedule:
    total = _total_iters_at_milestone(scheduler, place)
    if total == 0:
        return constant(scheduler.start_factor)
    return linear(scheduler.start_factor, scheduler.end_factor, total)


def exponential_factor(scheduler: Any, place: Place) -> Schedule:
    return exponential(scheduler.gamma)


def polynomial_factor(scheduler: Any, place: Place) -> Schedule:
    total = _total_iters_at_milestone(scheduler, place)
    if total == 0:
        return constant(1.0)
    return polynomial(total, scheduler.power)


def multiplicative_factor(scheduler: Any, place: Place) -> Schedule:
    return cumulative(scheduler.lr_lambdas[place.group])


def multiplicative_curve(scheduler: Any, place: Place) -> Curve:
    """At a milestone torch multiplies the previous piece's last lr by ``f(0)``, then by
    ``f(1)``, ``f(2)``, ...; elsewhere the product of ``f`` multiplies the base lr."""
    if place.position is not Position.AT_MILESTONE or place.before is None:
        return relative_to_base(multiplicative_factor)(scheduler, place)
    f = scheduler.lr_lambdas[place.group]
    f0, last, before = float(f(0)), place.begin - 1, place.before
    relative = None if before.relative is None else before.relative(last) * f0 * cumulative(f)
    return Curve(relative, before.absolute(last) * f0 * cumulative(f))


def _cosine_from(base: float, eta: float, steps: int) -> Schedule:
    """CosineAnnealingLR's absolute curve from ``base`` (periodic past ``T_max``, as torch)."""
    if base != 0:
        return base * cosine(steps, end=eta / base, periodic=True)
    return eta - eta * cosine(steps, periodic=True)


def t_max(scheduler: Any) -> int:
    return whole(scheduler, "T_max", minimum=1)


def cosine_curve(scheduler: Any, place: Place) -> Curve:
    curve = _cosine_from_start(scheduler, place)
    begin = resumed_here(scheduler, place)
    return curve if begin <= 0 else _cosine_resumed(scheduler, place, begin)


def _cosine_resumed(scheduler: Any, place: Place, begin: int) -> Curve:
    """CosineAnnealingLR constructed with ``last_epoch = begin - 1``.

    Its constructor's step keeps the lr it finds (torch 2.13), and each later step applies
    ``eta + (lr - eta) * m(u) / m(u - 1)`` with ``m(u) = 1 + cos(pi u / T)``: so from the lr
    ``found``, ``eta + (found - eta) * m(begin + t) / m(begin)``, up to the next step ``Z`` where
    ``m`` is 0 (an odd multiple of ``T``) and the lr is ``eta``; from there it is the lone
    cosine's curve. After a step, ``found`` is taken to be the closed form's value at ``begin``
    (which ``from_torch`` checks against the lr now), refused once the lr now no longer shows it:
    from ``Z`` on it is the lone cosine's, whatever ``found`` was.
    """
    base, eta, steps = place.base_lr(scheduler), float(scheduler.eta_min), t_max(scheduler)
    shape = cosine(steps, periodic=True)
    at = float(shape(begin))
    if at == 0 or base == 0:
        why = "its cosine is at eta_min there" if at == 0 else "its base lr is 0"
        raise refuse(
            name_of(scheduler),
            f"constructed with last_epoch={begin - 1}: {why}, and the additive step torch takes "
            "next from the lr it found is not built",
        )
    closed = eta + (base - eta) * at
    zero = steps + 2 * steps * -(-max(0, begin - steps) // (2 * steps))
    found = float(scheduler.optimizer.param_groups[place.group]["lr"])
    if scheduler._step_count != 1:
        found, t = closed, steps_taken(scheduler)
        ratio = float(shape(begin + t)) / at if begin + t < zero else 0.0
        check_start_shown(scheduler, place.group, found * ratio, eta + (found - eta) * ratio)
    first = eta / base + (found - eta) / (base * at) * shift(shape, begin)
    alone = shift(cosine(steps, end=eta / base, periodic=True), zero + 1)
    return Curve.of(sequence(first, alone, at=[zero - begin + 1]), base, place.start)


def _cosine_from_start(scheduler: Any, place: Place) -> Curve:
    base, eta, steps = place.base_lr(scheduler), float(scheduler.eta_min), t_max(scheduler)
    own = float(scheduler.base_lrs[place.group])
    if base != own:
        # Opening a SequentialLR whose initial_lr OneCycleLR overwrote: the recursion starts
        # from that lr, but its step past T_max adds a term built from its own base_lr, which
        # then carries on.
        after = shift(_cosine_from(own, eta, steps), steps + 1)
        return Curve(None, sequence(_cosine_from(base, eta, steps), after, at=[steps + 1]))
    if base != 0:
        return Curve.of(cosine(steps, end=eta / base, periodic=True), base, place.start)
    return Curve(None, _cosine_from(base, eta, steps))


def cosine_factor(scheduler: Any, place: Place) -> Schedule:
    return cosine(t_max(scheduler), periodic=True)


def cosine_in_chain(scheduler: Any) -> str | None:
    if scheduler.eta_min != 0:
        return (
            "with eta_min != 0 updates the lr affinely (not by a ratio), so the chain is not a "
            "product of multipliers"
        )
    return None


def settles_unless_gamma(scheduler: Any) -> int | None:
    return 0 if scheduler.gamma == 1 else None


def settles_at_last_milestone(scheduler: Any) -> int | None:
    return max(scheduler.milestones.elements(), default=0)


def settles_at_total_iters(scheduler: Any) -> int | None:
    return int(scheduler.total_iters)


# -- the ratio a step at last_epoch 0 applies (a ChainedScheduler opening a SequentialLR) -------


def gamma_at_zero(scheduler: Any, group: int) -> float:
    """ExponentialLR multiplies by ``gamma`` on every step but the constructor's."""
    return float(scheduler.gamma)


def polynomial_at_zero(scheduler: Any, group: int) -> float:
    """PolynomialLR's ratio at ``last_epoch == 0``, in torch's order of operations."""
    total = scheduler.total_iters
    return float(((1.0 - 0 / total) / (1.0 - (0 - 1) / total)) ** scheduler.power)


def lambda_at_zero(scheduler: Any, group: int) -> float:
    """MultiplicativeLR multiplies by ``f(0)`` on every step but the constructor's."""
    return float(scheduler.lr_lambdas[group](0))
