"""A ``ChainedScheduler`` holding a ``CosineAnnealingLR`` with ``eta_min != 0``: the cosine's
step is affine, ``lr <- eta_min + (lr - eta_min) * r(t)``, so the chain is not a product of
multipliers; it is the exact scan ``affine_steps`` of every member's update in torch's order.

Each step torch runs the members in list order, each on the lr the one before it left: a
multiplicative member applies ``m(0)`` at construction and ``m(t) / m(t - 1)`` after, the cosine
``r(t) = (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T))`` towards ``eta_min``. When every other
member stops changing the lr by ``T_max``, the scan ends there: at ``T_max`` the cosine lands on
``eta_min`` exactly (``r = 0``), and from there on it runs alone, as a lone
``CosineAnnealingLR`` does from ``eta_min`` (its closed form, periodic past ``T_max``). When
another member keeps changing the lr (``ExponentialLR``, ``StepLR``, a milestone past ``T_max``),
every update runs for ever: an unbounded scan, the cosine's own recursive step included, with
torch's additive step ``lr + (base_lr - eta_min) * (1 - cos(pi / T)) / 2`` at the steps
``t = T + 1 + 2 k T`` (where ``r`` would divide by zero).
"""

from __future__ import annotations

import math
from math import inf
from typing import Any

from torch.optim import lr_scheduler as L

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import repeat, shift
from schedalg.curves.primitives import cosine
from schedalg.curves.recurrence import affine_steps
from schedalg.importers.torch.context import Curve, Place, Position, name_of, refuse
from schedalg.importers.torch.recursive import t_max
from schedalg.importers.torch.table import lookup


def is_affine(member: Any) -> bool:
    """A member whose update is affine: ``CosineAnnealingLR`` towards ``eta_min != 0``."""
    return isinstance(member, L.CosineAnnealingLR) and float(member.eta_min) != 0


def _ratios(factor: Schedule) -> Schedule:
    """A multiplicative member's update: ``m(0)`` at construction, ``m(u) / m(u - 1)`` after."""
    return sequence(constant(float(factor(0))), shift(factor, 1) / factor, at=[1])


def _recursive_ratio(member: Any) -> Schedule | None:
    """torch's own step of a member that never settles, where it is one ratio (``lr * gamma``
    each step, or every ``step_size`` steps): exact where the closed form's ``m(t) / m(t - 1)``
    would underflow to ``0 / 0`` on a long run. ``None`` for the other classes."""
    if isinstance(member, L.ExponentialLR):
        return sequence(constant(1.0), constant(float(member.gamma)), at=[1])
    if isinstance(member, L.StepLR) and int(member.step_size) >= 1:
        n, gamma = int(member.step_size), constant(float(member.gamma))
        period = gamma if n == 1 else sequence(constant(1.0), gamma, at=[n - 1])
        return sequence(constant(1.0), repeat(period, n), at=[1])
    return None


def _settle(member: Any) -> int | None:
    """The last step at which ``member`` changes the lr (``None``: never), refusing a member
    whose update is not a ratio per step."""
    if isinstance(member, L.SequentialLR) or lookup(member).multiplier is None:
        raise refuse(
            "ChainedScheduler",
            f"{name_of(member)} beside CosineAnnealingLR(eta_min != 0) is not a ratio per step, "
            "so the affine updates cannot be scanned with it",
        )
    settle = lookup(member).settles(member)
    return None if settle is None else int(settle)


def _periodic(steps: int, first: Schedule, other: Schedule, at_restart: Schedule) -> Schedule:
    """``first`` at step 0; from step 1, ``at_restart`` at the steps ``T + 1 + 2 k T`` and
    ``other`` (on the local step ``s = t - 1`` reduced modulo ``2 T``) at the others."""
    period = sequence(other, at_restart, shift(other, steps + 1), at=[steps, steps + 1])
    return sequence(first, repeat(period, 2 * steps), at=[1])


def _cosine_for_ever(steps: int, base: float, eta: float) -> tuple[Schedule, Schedule, Schedule]:
    """The ratio, target and offset of torch's recursive ``CosineAnnealingLR`` step at every
    step, in the scan's units (relative to ``base`` unless it is 0)."""
    shape = cosine(steps, periodic=True)
    scale = base if base != 0 else 1.0
    added = (base - eta) * (1 - math.cos(math.pi / steps)) / 2 / scale
    zero, one = constant(0.0), constant(1.0)
    ratio = _periodic(steps, one, shift(shape, 1) / shape, one)
    target = _periodic(steps, zero, constant(eta / scale), zero)
    offset = _periodic(steps, zero, zero, constant(added))
    return ratio, target, offset


def affine_chain(members: list[Any], place: Place) -> Curve:
    """The curve of a chain whose members include affine ``CosineAnnealingLR``s."""
    if place.position is Position.OPENS_SEQUENCE:
        raise refuse(
            "SequentialLR",
            "the CosineAnnealingLR(eta_min != 0) in its opening ChainedScheduler is stepped "
            "again at last_epoch 0 by torch's constructor, a step from_torch does not build",
        )
    affine = [k for k, m in enumerate(members) if is_affine(m)]
    k = affine[0]
    steps, base = t_max(members[k]), float(members[k].base_lrs[place.group])
    eta = float(members[k].eta_min)
    relative = base != 0
    settles = {j: _settle(m) for j, m in enumerate(members) if j not in affine}
    # One cosine, the others settled by its T_max (before it, for those after it in the list):
    # the cosine then runs alone, by its closed form.
    bounded = len(affine) == 1 and all(
        s is not None and s <= steps - (j > k) for j, s in settles.items()
    )
    parts: list[tuple[Schedule, Schedule, Schedule, int | float]] = []
    in_chain = Place(place.group, place.start, Position.IN_CHAIN)
    for j, member in enumerate(members):
        if j in affine:
            parts.append(_cosine_update(member, place.group, bounded))
            continue
        settle = settles[j]
        zero = constant(0.0)
        ratio = _member_ratio(member, in_chain, settle)
        parts.append((ratio, zero, zero, inf if settle is None else settle + 1))
    ratios, targets, offsets, ends = zip(*parts)
    scan = affine_steps(
        *ratios,
        targets=targets,
        every=[1] * len(members),
        begins=[0] * len(members),
        ends=ends,
        offsets=() if bounded else offsets,
        start=1.0 if relative else 0.0,
    )
    curve: Schedule = scan
    if bounded:
        alone: Schedule
        if relative:
            alone = cosine(steps, end=eta / base, periodic=True)
        else:
            alone = eta - eta * cosine(steps, periodic=True)
        curve = sequence(scan, shift(alone, steps + 1), at=[steps + 1])
    return Curve.of(curve, base, place.start) if relative else Curve(None, curve)


def _cosine_update(
    member: Any, group: int, bounded: bool
) -> tuple[Schedule, Schedule, Schedule, int | float]:
    """An affine cosine's ratio, target, offset and end in the scan (relative to its base lr
    unless that is 0): to ``T_max`` only when ``bounded``, else its recursive step for ever."""
    steps, base = t_max(member), float(member.base_lrs[group])
    eta = float(member.eta_min)
    if not bounded:
        ratio, target, offset = _cosine_for_ever(steps, base, eta)
        return ratio, target, offset, inf
    shape = cosine(steps)
    ratio = sequence(constant(1.0), shift(shape, 1) / shape, at=[1])
    return ratio, constant(eta / base if base != 0 else eta), constant(0.0), steps + 1


def _member_ratio(member: Any, place: Place, settle: int | None) -> Schedule:
    """A multiplicative member's ratio per step in the chain (refusing a 0 factor)."""
    if settle is None:
        exact = _recursive_ratio(member)
        if exact is None:
            raise refuse(
                "ChainedScheduler",
                f"its {name_of(member)} changes the lr forever beside CosineAnnealingLR(eta_min "
                "!= 0), and its ratio per step is known only as m(t) / m(t - 1) of its closed "
                "form, which underflows to 0 / 0 on a long run; the unbounded scan takes "
                "ExponentialLR and StepLR (torch's own ratio per step) or members that settle",
            )
        return exact
    multiplier = lookup(member).multiplier
    assert multiplier is not None  # _settle refused the others
    factor = multiplier(member, place)
    _check_finite(member, factor, settle)
    return _ratios(factor)


def _check_finite(member: Any, factor: Schedule, settle: int) -> None:
    """Refuse a member whose factor is 0 before it settles: its ratio ``m(t) / m(t - 1)``
    divides by zero there."""
    values = factor.curve(settle + 1).tolist()
    zero = next((u for u, v in enumerate(values[:-1]) if v == 0), None)
    if zero is not None:
        raise refuse(
            "ChainedScheduler",
            f"its {name_of(member)} takes the lr to 0 at step {zero} and may change it after: "
            "its ratio per step divides by zero there",
        )
