"""The composite schedulers: ``SequentialLR`` runs schedulers one after another and
``ChainedScheduler`` steps them all on the same lr, so that their ratios multiply.

Each piece converts by its own entry in the table, at its ``Place``. Where torch's stateful
arithmetic is not the clean algebra — a ChainedScheduler whose nested SequentialLR overwrites the
lr at its milestones, or whose CosineAnnealingLR restarts from ``base_lr`` past ``T_max`` — the
curve torch produces is built, or the conversion is refused with the reason.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from torch.optim import lr_scheduler as L

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule
from schedalg.algebra.timewarps import shift
from schedalg.importers.torch.affine import affine_chain, is_affine
from schedalg.importers.torch.context import Curve, Place, Position, joined, name_of, refuse
from schedalg.importers.torch.state import resumed_at
from schedalg.importers.torch.table import GroupCurve, GroupMultiplier, find, lookup


def nested_schedulers(scheduler: Any) -> list[Any]:
    return list(scheduler._schedulers)


def relative_part(curve: GroupCurve) -> GroupMultiplier:
    """The multiplier of a composite nested in a ``ChainedScheduler``: its relative curve."""

    def multiplier(scheduler: Any, place: Place) -> Schedule:
        relative = curve(scheduler, place).relative
        if relative is None:
            pieces = ", ".join(name_of(s) for s in nested_schedulers(scheduler))
            raise refuse(
                "ChainedScheduler",
                f"a nested {name_of(scheduler)} (of {pieces}) gives absolute lrs, not a "
                "multiplier of the group's initial lr, so it is not a factor of the product",
            )
        return relative

    return multiplier


def refuse_nested(scheduler: Any, position: Position) -> str | None:
    """A nested ``SequentialLR`` cannot be a piece of a ``SequentialLR``."""
    if position is Position.AT_MILESTONE:
        return f"a nested {name_of(scheduler)} raises NotImplementedError in torch at its milestone"
    return (
        f"a nested {name_of(scheduler)} in first position is stepped twice by torch's constructor"
    )


def refuse_chain_at_milestone(scheduler: Any, position: Position) -> str | None:
    """A ``ChainedScheduler`` can open a ``SequentialLR`` but not be switched in later."""
    if position is Position.AT_MILESTONE:
        return f"a nested {name_of(scheduler)} raises NotImplementedError in torch at its milestone"
    return None


# -- SequentialLR ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """A scheduler that a SequentialLR runs, on the steps ``[begin, end)``."""

    scheduler: Any
    begin: int
    end: float
    position: Position


def _pieces(sequential: Any) -> list[_Piece]:
    """The schedulers a SequentialLR ever runs (the first, and those given any steps)."""
    milestones, schedulers = list(sequential._milestones), list(sequential._schedulers)
    first = bisect.bisect_right(milestones, 0)
    pieces = []
    for j in range(first, len(schedulers)):
        begin = 0 if j == first else milestones[j - 1]
        end = milestones[j] if j < len(milestones) else math.inf
        if j == first:
            pieces.append(_Piece(schedulers[j], begin, end, Position.OPENS_SEQUENCE))
        elif end > begin:  # with duplicate milestones a scheduler is never used
            pieces.append(_Piece(schedulers[j], begin, end, Position.AT_MILESTONE))
    return pieces


def _checked_pieces(sequential: Any) -> list[_Piece]:
    milestones = list(sequential._milestones)
    if any(b < a for a, b in itertools.pairwise(milestones)):
        raise refuse("SequentialLR", f"milestones {milestones!r} are not sorted")
    pieces = _pieces(sequential)
    for piece in pieces:
        reason = lookup(piece.scheduler).refuse_in_sequence(piece.scheduler, piece.position)
        if reason is not None:
            raise refuse("SequentialLR", reason)
    return pieces


def sequential_curve(sequential: Any, place: Place) -> Curve:
    pieces = _checked_pieces(sequential)
    at = [piece.begin for piece in pieces[1:]]
    curves: list[Curve] = []
    for piece in pieces:
        before = joined(curves, at[: len(curves) - 1]) if curves else None
        here = Place(place.group, place.start, piece.position, piece.begin, before)
        curves.append(lookup(piece.scheduler).curve(piece.scheduler, here))
    return joined(curves, at)


def sequential_clock(sequential: Any) -> int:
    """Its ``last_epoch``, refusing pieces whose own clocks say they did not start with it."""
    t, milestones = sequential.last_epoch, list(sequential._milestones)
    index = bisect.bisect_right(milestones, t)
    local = t - milestones[index - 1] if index > 0 else t
    active = sequential._schedulers[index]
    if isinstance(active, L.ChainedScheduler):
        _check_opening_chain(sequential, active, local)
    elif active.last_epoch != local:
        raise refuse(
            name_of(sequential),
            f"its step {t} and its active scheduler's step {active.last_epoch} (expected "
            f"{local}) disagree: it or a scheduler inside it was constructed with "
            "last_epoch != -1 or stepped on its own",
        )
    for j, piece in enumerate(sequential._schedulers[index:], index):
        entry = find(piece)
        if entry is not None:
            entry.check_in_sequence(piece, local if j == index else 0)
    _check_pieces_ran(sequential, t)
    return int(t)


def _check_pieces_ran(sequential: Any, t: int) -> None:
    """The piece a SequentialLR opened with started with it, and each piece it has finished ran
    its whole span. A SequentialLR constructed with ``last_epoch=k`` counts from ``k + 1`` while
    its pieces count from 0, and a piece constructed with ``last_epoch`` starts part-way: once
    the active piece's clock lines up with the sequence's again, only these show it."""
    for piece in _pieces(sequential):
        members = _members(piece.scheduler)
        if piece.position is Position.OPENS_SEQUENCE:
            _check_opening(sequential, piece.scheduler, members, t)
        if piece.end <= t:
            span = piece.end - piece.begin - 1
            short = [m for m in members if getattr(m, "last_epoch", span) != span]
            _refuse_piece(sequential, short, f"did not run its {span + 1} steps" + _RESUMED)


_RESUMED = ": it or a scheduler inside it was constructed with last_epoch != -1 or stepped alone"


def _check_opening(sequential: Any, opening: Any, members: list[Any], t: int) -> None:
    """Its constructor's step, undone, then SequentialLR's (a chain steps its members once
    more): ``last_epoch - (_step_count - 1)`` is 0 (-1 for chain members). A piece that keeps
    no step count (CosineAnnealingWarmRestarts) cannot show it once stepped."""
    start = -1 if isinstance(opening, L.ChainedScheduler) else 0
    late = [m for m in members if getattr(m, "_step_count", 0) and resumed_at(m) != start]
    _refuse_piece(sequential, late, "did not start with it" + _RESUMED)
    uncounted = [m for m in members if t > 0 and not getattr(m, "_step_count", 0)]
    _refuse_piece(
        sequential,
        uncounted,
        "keeps no step count, so a stepped SequentialLR opening with it cannot be told from one "
        "rebuilt around it with last_epoch; convert it before stepping it",
    )


def _refuse_piece(sequential: Any, schedulers: list[Any], why: str) -> None:
    if schedulers:
        scheduler = schedulers[0]
        raise refuse(
            name_of(sequential),
            f"its {name_of(scheduler)} (last_epoch={scheduler.last_epoch}) {why}",
        )


def _check_opening_chain(sequential: Any, chained: Any, local: int) -> None:
    """The members of a ChainedScheduler opening a SequentialLR: constructed (one step), undone
    and stepped again by SequentialLR's constructor, so ``_step_count = last_epoch + 2``."""
    for member in _members(chained):
        if getattr(member, "last_epoch", local) != local or resumed_at(member) != -1:
            raise refuse(
                name_of(sequential),
                f"its step {local} and the step {member.last_epoch} of the {name_of(member)} in "
                "its ChainedScheduler disagree: it was constructed with last_epoch != -1 or "
                "stepped on its own",
            )


# -- ChainedScheduler --------------------------------------------------------------------------

_IN_NESTED = " (inside a nested SequentialLR)"


def _members(scheduler: Any) -> list[Any]:
    """The schedulers of a ChainedScheduler, nested ChainedSchedulers flattened."""
    if isinstance(scheduler, L.ChainedScheduler):
        return [leaf for child in scheduler._schedulers for leaf in _members(child)]
    return [scheduler]


def _chain_factor(scheduler: Any, span: float | None, where: str) -> GroupMultiplier:
    """The multiplier of a factor of the chain, or why it is not one. ``span``: the steps it
    runs inside a nested SequentialLR (``None``: a member itself)."""
    entry, name = lookup(scheduler), name_of(scheduler)
    if entry.multiplier is None:
        raise refuse(
            "ChainedScheduler",
            f"{name}{where} overwrites the lr on every step, so the schedulers before it are "
            "lost and the ones after it keep only their last step's ratio: not a product of "
            "curves. Multiply the expressions with chain() instead",
        )
    reason = entry.refuse_in_chain(scheduler)
    if reason is not None:
        raise refuse("ChainedScheduler", f"{name}{where} {reason}")
    if span is not None and entry.restarts_chain_after is not None:
        steps = entry.restarts_chain_after(scheduler)
        if span > steps + 1:
            raise refuse(
                "ChainedScheduler",
                f"{name}(T_max={steps}){where} is still active past T_max, where torch restarts "
                "it from base_lr, forgetting the other factors: not a product of multipliers",
            )
    return entry.multiplier


def _member_factor(member: Any) -> GroupMultiplier:
    if isinstance(member, L.SequentialLR):
        for piece in _pieces(member):
            if piece.end > piece.begin:
                _chain_factor(piece.scheduler, piece.end - piece.begin, _IN_NESTED)
    return _chain_factor(member, None, "")


def order_shows_only_in_lr(scheduler: Any) -> bool:
    """Whether the tree holds a ChainedScheduler with a nested SequentialLR: whether that
    SequentialLR was built before the chain's other members shows only in the lr (its
    constructor resets the lr, wiping the constructor steps of those built before it)."""
    if isinstance(scheduler, L.ChainedScheduler) and any(
        isinstance(m, L.SequentialLR) for m in _members(scheduler)
    ):
        return True
    return any(order_shows_only_in_lr(s) for s in getattr(scheduler, "_schedulers", []))


def _check_bases(members: list[Any]) -> None:
    bases = {tuple(float(b) for b in m.base_lrs) for m in members if hasattr(m, "base_lrs")}
    nested = any(isinstance(m, L.SequentialLR) for m in members)
    if len(bases) > 1 and not nested:
        raise refuse("ChainedScheduler", f"its schedulers have different base lrs {bases!r}")


def _product(factors: list[Schedule]) -> Schedule:
    return functools.reduce(operator.mul, factors)


def _restarted_product(
    members: list[Any],
    restarting: list[tuple[int, Callable[[Any], int]]],
    factors: list[Schedule],
) -> Schedule:
    """The product up to the step past ``T_max``, then the restarted factor alone."""
    if len(restarting) > 1 or any(isinstance(m, L.SequentialLR) for m in members):
        raise refuse(
            "ChainedScheduler",
            "CosineAnnealingLR past T_max adds a step built from base_lr (forgetting the other "
            "factors); only a single cosine with schedulers that settle by T_max is supported",
        )
    k, restarts_after = restarting[0]
    steps = restarts_after(members[k])
    for j, member in enumerate(members):
        if j == k:
            continue
        settle = lookup(member).settles(member)
        if settle is None or settle > steps:
            raise refuse(
                "ChainedScheduler",
                f"{name_of(members[k])}(T_max={steps}) restarts the product at step {steps + 1} "
                f"from base_lr, forgetting {name_of(member)}, which still changes the lr after "
                "T_max: torch's curve is not a product there",
            )
    return sequence(_product(factors), shift(factors[k], steps + 1), at=[steps + 1])


def _resets(members: list[Any]) -> dict[int, int]:
    """The steps at which a nested SequentialLR overwrites the lr, each with the index of the
    member that does (the last in list order wins)."""
    resets: dict[int, int] = {}
    for k, member in enumerate(members):
        if not isinstance(member, L.SequentialLR):
            continue
        for piece in member._schedulers:
            entry = find(piece)
            if entry is not None and entry.continues_at_milestone:
                raise refuse(
                    "ChainedScheduler",
                    f"a nested SequentialLR with {name_of(piece)} starts from the lr of the "
                    "whole chain",
                )
        for r in member._milestones:
            if r > 0:
                resets[r] = k
    return resets


def _reset_product(members: list[Any], factors: list[Schedule]) -> Schedule:
    """A product of multipliers, restarted where a nested SequentialLR overwrites the lr.

    At a milestone ``R`` of member ``k`` torch sets ``lr = base * m_k(R)``: the members before
    ``k`` are forgotten and those after it apply one ratio ``m_j(R) / m_j(R - 1)``. So on
    ``[R, next)`` the lr is ``base * prod m_j(t) / D`` with
    ``D = prod_{j<k} m_j(R) * prod_{j>k} m_j(R - 1)``.
    """
    resets = _resets(members)
    product = _product(factors)
    if not resets:
        return product
    pieces, at = [product], sorted(resets)
    for r in at:
        k = resets[r]
        divisor = 1.0
        for j, m in enumerate(factors):
            if j != k:
                divisor *= m(r) if j < k else m(r - 1)
        if divisor == 0:
            raise refuse("ChainedScheduler", f"the lr is 0 before the milestone at step {r}")
        shifted = _product([shift(m, r) for m in factors])
        pieces.append(shifted if divisor == 1.0 else shifted / divisor)
    return sequence(*pieces, at=at)


def _check_members(members: list[Any], opens: bool) -> None:
    """Refuse members constructed with ``last_epoch != -1`` (a chain resumes no closed form);
    opening a SequentialLR each member is stepped once more."""
    expected = -1 if opens else 0
    for member in members:
        if hasattr(member, "_step_count") and resumed_at(member) != expected:
            raise refuse(
                "ChainedScheduler",
                f"its {name_of(member)} has last_epoch={member.last_epoch} after "
                f"{member._step_count - 1} steps: constructed with last_epoch != -1 (or "
                "stepped on its own), its factor does not start with the chain",
            )


def _ratio_at_zero(members: list[Any], group: int) -> float:
    """The ratios SequentialLR's constructor adds when it steps an opening chain once more."""
    ratio = 1.0
    for member in members:
        at_zero = lookup(member).ratio_at_zero
        if at_zero is None:
            raise refuse(
                "SequentialLR",
                f"the {name_of(member)} in its opening ChainedScheduler is stepped again at "
                "last_epoch 0 by torch's constructor, a step from_torch does not build for it",
            )
        ratio *= at_zero(member, group)
    return ratio


def chained_curve(chained: Any, place: Place) -> Curve:
    members = _members(chained)
    opens = place.position is Position.OPENS_SEQUENCE
    _check_members(members, opens)
    again = _ratio_at_zero(members, place.group) if opens else 1.0
    if len(members) == 1:
        curve = lookup(members[0]).curve(members[0], place)
        return curve if again == 1.0 else _scaled(curve, again)
    if any(is_affine(m) for m in members):
        _check_bases(members)
        return affine_chain(members, place)
    multipliers = [_member_factor(m) for m in members]
    _check_bases(members)
    in_chain = replace(place, position=Position.IN_CHAIN)
    factors = [multiplier(m, in_chain) for multiplier, m in zip(multipliers, members)]
    restarting = [
        (k, after)
        for k, m in enumerate(members)
        if (after := lookup(m).restarts_chain_after) is not None
    ]
    if restarting:
        product = _restarted_product(members, restarting, factors)
    else:
        product = _reset_product(members, factors)
    base = float(chained.optimizer.param_groups[place.group]["initial_lr"])
    return Curve.of(product if again == 1.0 else again * product, base, place.start)


def _scaled(curve: Curve, ratio: float) -> Curve:
    relative = None if curve.relative is None else ratio * curve.relative
    return Curve(relative, ratio * curve.absolute)


def chained_clock(chained: Any) -> int:
    """The steps its schedulers have taken, refusing them if they disagree."""
    clocks = {lookup(c).clock(c) for c in chained._schedulers}
    if len(clocks) != 1:
        raise refuse(
            name_of(chained), f"its schedulers have taken different numbers of steps {clocks}"
        )
    return clocks.pop()
