"""One parameter's schedulers composed into one expression, in iterations.

Every MMEngine scheduler updates the *current* value, so schedulers compose in time order. The
multiplicative ones compose as a product of their clipped closed forms, whatever their overlaps.
An affine or absolute one that runs alone while it changes the value (others may be active but
must not change the value then) starts from the value the schedulers before it left, and the
ones after it continue from the value it leaves: the result is a ``sequence`` of pieces, regions
of multiplicative changes and the affine curves between them. Where affine updates really
interleave with other changes, the parameter is the exact scan of every scheduler's updates in
the hook's order (``affine_steps``); an absolute update (OneCycle's every step, CosineRestart's
restarts) is one with ratio 0. Additive updates (a cosine past its integer ``T_max``, mmdet's
QuadraticWarmup) have no such form and are refused there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from schedalg.algebra.combinators import clip, per_epoch, sequence
from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.algebra.timewarps import shift
from schedalg.curves.recurrence import affine_steps
from schedalg.importers.mmengine.base import INF, Key, Spec, scaled

__all__ = ["ParameterTimeline"]


class ParameterTimeline:
    """Compiles the schedulers of one parameter into an expression (multiplier of ``base``)."""

    def __init__(self, name: str, specs: list[Spec], base: float | None) -> None:
        self.name = name
        self.specs = specs
        self.base = base
        self.multiplicative = [s for s in specs if s.kind.multiplicative(s)]
        self.factors = {s.index: s.kind.factor(s) for s in self.multiplicative}
        # What the kinds' values are in: 1.0 (multipliers of base), or base (absolute values)
        # while the scan is built, which then runs in the optimizer's own numbers as MMEngine's.
        self._unit = 1.0
        self._initial = self._initial_values()

    def _initial_values(self) -> dict[int, float]:
        """Each scheduler's ``base_values`` as a multiplier: 1.0, or what an earlier
        scheduler's constructor wrote as the initial value (OneCycle's eta_max / div_factor)."""
        values, current = {}, 1.0
        for s in self.specs:
            written = s.kind.initial_value(s, self)
            if written is not None:
                current = written
            values[s.index] = current
        return values

    # -- what the kinds' affine curves read (the Timeline protocol) --

    def absolute(self, spec: Spec, value: float, what: str) -> float:
        if value == 0:
            return 0.0
        if self.base is None:
            raise spec.fail(
                f"{what}={spec.args.get(what)!r} is an absolute {self.name}, so the expression "
                f"depends on the optimizer's {self.name}: pass base={{{self.name!r}: <value>}}"
            )
        return value if self._unit == self.base else value / self.base

    def initial(self, spec: Spec) -> float:
        return self._initial[spec.index] * self._unit

    def last_built(self, spec: Spec) -> Spec:
        return [s for s in self.specs if s.kind is spec.kind][-1]

    # -- the whole timeline --

    def compile(self) -> Schedule:
        """The readable expression (a ``sequence`` of closed forms) where one exists, else the
        exact scan of every scheduler's updates in MMEngine's order (``affine_steps``)."""
        scanned = [s for s in self.specs if s.kind.scanned(s)]
        if scanned:
            return self._recurrence(Interleaved(scanned[0], "it is reproduced update by update"))
        try:
            return self._pieces()
        except Interleaved as refusal:
            return self._recurrence(refusal)

    def _recurrence(self, refusal: Interleaved) -> Schedule:
        """Every update of every scheduler, in MMEngine's order: at iteration 0 the steps the
        constructors take as the Runner builds the schedulers, in config order; at a later
        iteration the iteration schedulers' steps before the epoch schedulers', config order
        within each."""
        unit = 1.0 if self.base is None else self.base
        updates = _in_order([u for s in self.specs if (u := self._updates(s, unit, refusal))])
        try:
            scan = _scan(updates, unit)
        except ValueError as error:
            raise refusal.spec.fail(f"{refusal.overlap}; {error}") from None
        return scan if unit == 1.0 else scan / unit

    def _updates(self, spec: Spec, unit: float, refusal: Interleaved) -> _Update | None:
        """The scheduler's updates from its first change on (None: it changes nothing). The
        steps before leave the value as it is: Cosine's and Poly's step 0 returns the value
        itself, which ``eta + (v - eta) * 1`` may not (``v`` far below ``eta``)."""
        first = spec.first_change_from(0)
        if first is None:
            return None
        form = self._stepwise(spec, unit)
        if isinstance(form, str):
            remedy = refusal.spec.kind.remedy(refusal.spec)
            raise refusal.spec.fail(
                f"{refusal.overlap}; {spec.label}: {form}, so the updates cannot be composed "
                f"exactly. Make their windows [begin, end) not overlap{remedy}"
            )
        ratio, target = (shift(f, first) for f in form) if first else form
        return _Update(spec, ratio, target, spec.begin + first, spec.begin + spec.last_change() + 1)

    def _stepwise(self, spec: Spec, unit: float) -> tuple[Schedule, Schedule] | str:
        """The kind's update with its values in ``unit``s (1.0: multipliers of base); a kind
        whose curve while alone writes absolute values, when no other scheduler changes the
        value in its window, as those writes (ratio 0)."""
        self._unit = unit
        try:
            form = spec.kind.stepwise(spec, self)
            if isinstance(form, str) and spec.kind.writes_alone and self._alone(spec):
                return constant(0.0), spec.kind.curve(spec, 0.0, self)
            return form
        finally:
            self._unit = 1.0

    def _alone(self, spec: Spec) -> bool:
        first = spec.next_change(_before(spec.key(spec.begin)))
        if first is None:
            return True
        try:
            self._check_alone(spec, first, spec.key(spec.begin + spec.last_change()))
        except Interleaved:
            return False
        return True

    def _pieces(self) -> Schedule:
        pieces = _Pieces()
        value, key = 1.0, None  # the current region: its value at its start, its first key
        for first, spec in self._affine_windows():
            value, key = self._place_affine(pieces, spec, first, value, key)
            if key is None:
                break
        else:
            pieces.add(self._region(value, key, None), 0 if key is None else key[0])
        return pieces.expression()

    def _affine_windows(self) -> list[tuple[Key, Spec]]:
        """The affine/absolute schedulers that change the value, by their first change."""
        windows = []
        for s in self.specs:
            if not s.kind.multiplicative(s):
                first = s.next_change(_before(s.key(s.begin)))
                if first is not None:
                    windows.append((first, s))
        windows.sort(key=lambda w: w[0])
        return windows

    def _place_affine(
        self, pieces: _Pieces, spec: Spec, first: Key, value: float, key: Key | None
    ) -> tuple[float, Key | None]:
        """Adds the region before ``spec`` and ``spec``'s curve; returns the value it leaves and
        the key of the next change after it (None: no more changes)."""
        last = spec.key(spec.begin + spec.last_change())
        self._check_alone(spec, first, last)
        start = self._curve_start(spec, first)
        region_start = 0 if key is None else key[0]
        if start[0] > region_start:
            pieces.add(self._region(value, key, start), region_start)
        v0 = self._value_before(value, key, start)
        local, final = self._affine_local(spec, v0)
        offset = start[0] // spec.unit - spec.begin
        if offset:
            local = shift(local, offset)
        pieces.add(local if spec.unit == 1 else per_epoch(local, spec.unit), start[0])
        following = [
            k for s in self.specs if s is not spec and (k := s.next_change(last)) is not None
        ]
        return final, (min(following) if following else None)

    def _curve_start(self, spec: Spec, first: Key) -> Key:
        # Cosine and Poly leave the value alone at their step 0: start the curve there
        # unless another scheduler changes the value between their steps 0 and 1.
        zero = spec.key(spec.begin)
        if first != zero and not self._changes_between(spec, zero, first):
            return zero
        return first

    def _affine_local(self, spec: Spec, v0: float) -> tuple[Schedule, float]:
        """The affine/absolute scheduler's curve over its local steps, and its final value."""
        last = spec.last_change()
        curve = spec.kind.curve(spec, v0, self)
        final = curve(last)
        if not spec.kind.settles(spec, last):
            curve = clip(curve, 0, last + 1)
        return curve, final

    # -- regions of multiplicative changes --

    def _needs_hold(self, spec: Spec) -> bool:
        """Whether the factor must be held (clipped) after the window to stay constant."""
        # MMEngine's INF: a hold from step 1e9 on is treated as never.
        return not (spec.end >= INF or spec.kind.settles(spec, spec.length - 1))

    def _local_factor(self, spec: Spec) -> Schedule:
        local = self.factors[spec.index]
        assert local is not None
        return local

    def _cum(self, spec: Spec, key: Key) -> float:
        """The factor a multiplicative scheduler has applied before hook call ``key``."""
        expr = _in_iterations(spec, self._local_factor(spec), self._needs_hold(spec))
        position = key[0]
        g, rest = divmod(position, spec.unit)
        if rest == 0 and spec.key(g) >= key:
            return 1.0 if position == 0 else expr(position - 1)
        return expr(position)

    def _changing(self, key: Key | None, stop: Key | None) -> list[Spec]:
        """The multiplicative schedulers that change the value from ``key`` on, before ``stop``."""
        after = (-1, 0, 0) if key is None else _before(key)
        found = []
        for s in self.multiplicative:
            if self.factors[s.index] is not None:
                first = s.next_change(after)
                if first is not None and (stop is None or first < stop):
                    found.append(s)
        return found

    def _region(self, value: float, key: Key | None, stop: Key | None) -> Schedule:
        """The value from hook call ``key`` on: ``value`` times every multiplicative change made
        from ``key`` on, written as a function of the iteration counted from ``key``'s."""
        start = 0 if key is None else key[0]
        factors = []
        scale = value
        for s in self._changing(key, stop):
            divisor = 1.0 if key is None else self._cum(s, key)
            if divisor == 0:
                raise s.fail(
                    f"the {self.name} is 0 when a later change of this scheduler would have to "
                    "be divided out; this config cannot be expressed exactly"
                )
            scale /= divisor
            factors.append(_shifted(s, self._local_factor(s), self._needs_hold(s), start))
        return scaled(scale, chain(*factors)) if factors else constant(scale)

    def _value_before(self, value: float, key: Key | None, at: Key) -> float:
        """The region's value just before hook call ``at``."""
        for s in self.multiplicative:
            if self.factors[s.index] is None:
                continue
            before = 1.0 if key is None else self._cum(s, key)
            now = self._cum(s, at)
            if now != before:
                value = value * now / before
        return value

    # -- refusals --

    def _changes_between(self, spec: Spec, lo: Key, hi: Key) -> bool:
        for s in self.specs:
            if s is not spec and (k := s.next_change(lo)) is not None and k < hi:
                return True
        return False

    def _check_alone(self, spec: Spec, first: Key, last: Key) -> None:
        for s in self.specs:
            if s is spec:
                continue
            k = s.next_change(first)
            if k is not None and k <= last:
                raise Interleaved(
                    spec,
                    f"it changes the {self.name} {spec.kind.effect} from iteration {first[0]} "
                    f"to {last[0]}, and {s.label} changes it too at iteration {k[0]}",
                )


class Interleaved(Exception):
    """An affine or absolute scheduler whose updates interleave with another's: no sequence of
    closed forms (``overlap`` says which and where); the timeline scans the updates instead."""

    def __init__(self, spec: Spec, overlap: str) -> None:
        super().__init__(overlap)
        self.spec = spec
        self.overlap = overlap


@dataclass(frozen=True)
class _Update:
    """One scheduler's updates as an entry of the scan: at its global steps ``[begin, end)``,
    ``v <- target(u) + (v - target(u)) * ratio(u)`` with ``u = g - begin``."""

    spec: Spec
    ratio: Schedule
    target: Schedule
    begin: int
    end: int
    built: bool = False  # the constructor's step alone

    def hook_order(self) -> tuple[bool, bool, int]:
        """Its place among one step's updates: the constructors' steps (iteration 0, config
        order) first; then iteration schedulers before epoch schedulers, config order within."""
        return (not self.built, self.spec.epoch and not self.built, self.spec.index)

    def first(self) -> _Update:
        """Its constructor's step alone (at iteration 0)."""
        return dataclasses.replace(self, end=1, built=True)

    def rest(self) -> _Update | None:
        """Its steps after the constructor's (None: none), when that is an entry of its own."""
        if self.begin != 0:
            return self
        if self.end == 1:
            return None
        return dataclasses.replace(
            self, ratio=shift(self.ratio, 1), target=shift(self.target, 1), begin=1
        )


def _in_order(updates: list[_Update]) -> list[_Update]:
    """The updates (in config order) in the order the scan applies one step's updates: the
    hook's. Where the constructors' order at iteration 0 (config order) differs, their steps
    there are updates of their own, before the others."""
    built = [u for u in updates if u.begin == 0]
    if any(u is not h for u, h in zip(built, sorted(built, key=_Update.hook_order))):
        rest = [r for u in updates if (r := u.rest()) is not None]
        updates = [*(u.first() for u in built), *rest]
    return sorted(updates, key=_Update.hook_order)


def _scan(updates: list[_Update], unit: float) -> Schedule:
    return affine_steps(
        *(u.ratio for u in updates),
        targets=[u.target for u in updates],
        every=[u.spec.unit for u in updates],
        begins=[u.begin for u in updates],
        ends=[u.end for u in updates],
        start=unit,
    )


class _Pieces:
    """The pieces of the timeline's ``sequence`` and the iterations they start at."""

    def __init__(self) -> None:
        self.pieces: list[Schedule] = []
        self.starts: list[int] = []

    def add(self, piece: Schedule, position: int) -> None:
        if self.starts and position == self.starts[-1]:
            self.pieces[-1] = piece  # the earlier piece was empty
        else:
            self.pieces.append(piece)
            self.starts.append(position)

    def expression(self) -> Schedule:
        if not self.starts:
            return constant(1.0)
        if self.starts[0] != 0:  # cannot happen: the first region starts at 0
            raise AssertionError(self.starts)
        return sequence(*self.pieces, at=self.starts[1:])


def _before(key: Key) -> Key:
    return (key[0], key[1], key[2] - 0.5)


def _in_iterations(spec: Spec, local: Schedule, hold: bool) -> Schedule:
    """``local`` (a function of the local step) placed on the iteration axis."""
    end = spec.end if hold else math.inf
    placed = clip(local, spec.begin, end)
    return placed if spec.unit == 1 else per_epoch(placed, spec.unit)


def _shifted(spec: Spec, local: Schedule, hold: bool, offset: int) -> Schedule:
    """``_in_iterations(spec, local, hold)`` read from iteration ``offset`` on: ``E(offset + tau)``.

    Written with the offset folded into ``clip``'s bounds where it divides evenly, so the
    expressions read like the config.
    """
    if offset == 0:
        return _in_iterations(spec, local, hold)
    if offset % spec.unit:
        return shift(_in_iterations(spec, local, hold), offset)
    k = offset // spec.unit
    end = spec.end - k if hold else math.inf
    if k <= spec.begin:
        placed = clip(local, spec.begin - k, end)
    else:
        placed = clip(shift(local, k - spec.begin), 0, end)
    return placed if spec.unit == 1 else per_epoch(placed, spec.unit)
