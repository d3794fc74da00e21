"""A ``ChainedScheduler`` holding a ``CosineAnnealingLR`` with ``eta_min != 0``: the cosine's
step is affine, ``lr <- eta_min + (lr - eta_min) * r(t)``, so the chain is not a product of
multipliers; it is the exact scan ``affine_steps`` of every member's update in torch's order.

Each step torch runs the members in list order, each on the lr the one before it left: a
multiplicative member applies ``m(0)`` at construction and ``m(t) / m(t - 1)`` after, the cosine
``r(t) = (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T))`` towards ``eta_min``. The scan is finite,
so the chain converts when every other member stops changing the lr by ``T_max``: at ``T_max`` the
cosine lands on ``eta_min`` exactly (``r = 0``), and from there on it runs alone, as a lone
``CosineAnnealingLR`` does from ``eta_min`` (its closed form, periodic past ``T_max``).
"""

from __future__ import annotations

from typing import Any

from torch.optim import lr_scheduler as L

from schedalg import Schedule, affine_steps, constant, cosine, sequence, shift
from schedalg.torch.context import Curve, Place, Position, name_of, refuse
from schedalg.torch.recursive import t_max
from schedalg.torch.table import lookup


def is_affine(member: Any) -> bool:
    """A member whose update is affine: ``CosineAnnealingLR`` towards ``eta_min != 0``."""
    return isinstance(member, L.CosineAnnealingLR) and float(member.eta_min) != 0


def _ratios(factor: Schedule) -> Schedule:
    """A multiplicative member's update: ``m(0)`` at construction, ``m(u) / m(u - 1)`` after."""
    return sequence(constant(float(factor(0))), shift(factor, 1) / factor, at=[1])


def _settle(member: Any, cosine_steps: int, after_cosine: bool) -> int:
    """The last step at which ``member`` changes the lr, refusing one that changes it later than
    the cosine allows (a member after the cosine in the list must be done before ``T_max``)."""
    name = name_of(member)
    if isinstance(member, L.SequentialLR) or lookup(member).multiplier is None:
        raise refuse(
            "ChainedScheduler",
            f"{name} beside CosineAnnealingLR(eta_min != 0) is not a ratio per step, so the "
            "affine updates cannot be scanned with it",
        )
    settle = lookup(member).settles(member)
    limit = cosine_steps - 1 if after_cosine else cosine_steps
    if settle is None or settle > limit:
        when = "forever" if settle is None else f"until step {settle}"
        raise refuse(
            "ChainedScheduler",
            f"its {name} changes the lr {when}, past CosineAnnealingLR(T_max={cosine_steps}) "
            "with eta_min != 0: the cosine's affine updates interleaved with ratios that never "
            "end make torch's lr a sum over every past step (no closed form), and affine_steps "
            "scans a finite run of updates; it converts when the other schedulers settle by "
            "T_max (before it, in the list, for those after the cosine)",
        )
    return int(settle)


def affine_chain(members: list[Any], place: Place) -> Curve:
    """The curve of a chain whose members include one affine ``CosineAnnealingLR``."""
    affine = [k for k, m in enumerate(members) if is_affine(m)]
    if len(affine) > 1:
        raise refuse(
            "ChainedScheduler",
            "more than one CosineAnnealingLR with eta_min != 0: each restarts past its T_max "
            "from base_lr while the others keep updating, no finite scan",
        )
    if place.position is Position.OPENS_SEQUENCE:
        raise refuse(
            "SequentialLR",
            "the CosineAnnealingLR(eta_min != 0) in its opening ChainedScheduler is stepped "
            "again at last_epoch 0 by torch's constructor, a step from_torch does not build",
        )
    k = affine[0]
    cos = members[k]
    steps, base = t_max(cos), float(cos.base_lrs[place.group])
    eta = float(cos.eta_min)
    relative = base != 0
    ratios: list[Schedule] = []
    targets: list[Schedule] = []
    ends: list[int] = []
    in_chain = Place(place.group, place.start, Position.IN_CHAIN)
    for j, member in enumerate(members):
        if j == k:
            shape = cosine(steps)
            ratios.append(sequence(constant(1.0), shift(shape, 1) / shape, at=[1]))
            targets.append(constant(eta / base if relative else eta))
            ends.append(steps + 1)
            continue
        settle = _settle(member, steps, j > k)
        multiplier = lookup(member).multiplier
        assert multiplier is not None  # _settle refused the others
        factor = multiplier(member, in_chain)
        _check_finite(member, factor, settle)
        ratios.append(_ratios(factor))
        targets.append(constant(0.0))
        ends.append(settle + 1)
    scan = affine_steps(
        *ratios,
        targets=targets,
        every=[1] * len(members),
        begins=[0] * len(members),
        ends=ends,
        start=1.0 if relative else 0.0,
    )
    alone: Schedule
    if relative:
        alone = cosine(steps, end=eta / base, periodic=True)
    else:
        alone = eta - eta * cosine(steps, periodic=True)
    curve = sequence(scan, shift(alone, steps + 1), at=[steps + 1])
    return Curve.of(curve, base, place.start) if relative else Curve(None, curve)


def _check_finite(member: Any, factor: Schedule, settle: int) -> None:
    """Refuse a member whose factor is 0 before it settles: torch divides by it there."""
    values = factor.curve(settle + 1).tolist()
    zero = next((u for u, v in enumerate(values[:-1]) if v == 0), None)
    if zero is not None:
        raise refuse(
            "ChainedScheduler",
            f"its {name_of(member)} takes the lr to 0 at step {zero} and changes it after: "
            "torch divides by zero there",
        )
