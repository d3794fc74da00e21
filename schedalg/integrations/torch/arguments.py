"""The arguments of ``Scheduler``: which param-group values are scheduled, from which base
values, in which mode; each refusal names the argument and the value."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import torch

from schedalg.algebra.expression import Schedule
from schedalg.algebra.tree import rebuild
from schedalg.algebra.units import absolute as _absolute
from schedalg.algebra.units import is_absolute
from schedalg.core.node import parameters
from schedalg.curves.metric import bind as _bind
from schedalg.curves.metric import plateau
from schedalg.curves.metric import plateaus as _plateaus


class ScheduledValue:
    """One scheduled value: ``param_groups[group][key]`` (``betas[0]`` for Adam's momentum)."""

    __slots__ = ("absolute", "base", "group", "key", "plateaus", "schedule", "slot", "states")

    def __init__(
        self, key: str, group: int, slot: str, schedule: Schedule, base: float, absolute: bool
    ) -> None:
        self.key, self.group, self.slot = key, group, slot
        self.schedule, self.base, self.absolute = schedule, base, absolute
        self.plateaus = _plateaus(schedule)
        self.states = [p.initial() for p in self.plateaus]


def param_groups(optimizer: Any) -> list[Any]:
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise TypeError(
            "Scheduler(): optimizer must have a param_groups list of dicts, "
            f"got {type(optimizer).__name__}"
        )
    return groups


def check_numbers(optimizer: Any, keys: Collection[str], first: int = 0) -> None:
    """Refuse a param group (from index ``first``) whose lr, or a value to schedule, is not a
    number: an optimizer that computes it itself (Adafactor's ``lr=None`` with
    ``relative_step=True``) leaves nothing to schedule, and the adapter records every lr."""
    groups = optimizer.param_groups
    for index in range(first, len(groups)):
        for key in dict.fromkeys(("lr", *keys)):
            value = groups[index].get(key, 0.0)
            if isinstance(value, torch.Tensor) or (
                isinstance(value, numbers.Real) and not isinstance(value, bool)
            ):
                continue
            raise ValueError(
                f"Scheduler(): {type(optimizer).__name__} param_groups[{index}][{key!r}] is "
                f"{value!r}, not a number: the optimizer computes that value itself (as "
                "Adafactor does with relative_step=True), so it cannot be scheduled; build the "
                f"optimizer with {key}=... (Adafactor: lr=... and relative_step=False)"
            )


def given(specs: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule arguments that were given (not ``None``); at least one."""
    present = {k: v for k, v in specs.items() if v is not None}
    if not present:
        raise ValueError("Scheduler(): give at least one schedule (lr=..., momentum=..., ...)")
    return present


def absolute_keys(absolute: Any, specs: Mapping[str, Any]) -> frozenset[str] | None:
    """The keys whose schedules give the values themselves, not multipliers of a base: all
    (``True``), none (``False``: multipliers only), or ``None`` for "as each schedule says"
    (a collection adds its keys to those the schedules mark absolute)."""
    if absolute is None:
        return frozenset()
    if isinstance(absolute, bool):
        return frozenset(specs) if absolute else None
    if isinstance(absolute, str) or not isinstance(absolute, Collection):
        raise TypeError(
            "Scheduler(): absolute must be True, False, None or a collection of keys, "
            f"got {absolute!r}"
        )
    unknown = set(absolute) - set(specs)
    if unknown:
        raise ValueError(
            f"Scheduler(): absolute names keys that have no schedule: {sorted(unknown)!r}"
        )
    return frozenset(absolute)


def _is_absolute(key: str, index: int, schedule: Schedule, keys: frozenset[str] | None) -> bool:
    """Whether the value of ``key`` is ``s(t)`` (else ``base * s(t)``); ``keys`` is None for
    ``absolute=False``, which refuses a schedule marked absolute rather than scale it."""
    marked = is_absolute(schedule)
    if keys is None and marked:
        raise ValueError(
            f"Scheduler(): {key}={schedule!r} (group {index}) gives absolute values, not "
            "multipliers, but absolute=False asks for multipliers of the optimizer's value; "
            "drop absolute=False to apply its values as they are"
        )
    return marked or (keys is not None and key in keys)


def _check_base(key: str, index: int, schedule: Schedule, base: float) -> None:
    if base == 0.0:
        raise ValueError(
            f"Scheduler(): {key}={schedule!r} is a multiplier, but param_groups[{index}][{key!r}] "
            f"is 0, so {key} would stay 0; set the optimizer's {key}, pass base={{{key!r}: ...}}, "
            f"or give absolute values: absolute(...) or absolute={{{key!r}}}"
        )


def bases(base: Any, specs: Mapping[str, Any], count: int) -> dict[str, list[float | None]]:
    """The ``base`` argument as one value (or ``None``) per group for each key it names."""
    if base is None:
        return {}
    if not isinstance(base, Mapping):
        raise TypeError(f"Scheduler(): base must be a mapping from key to values, got {base!r}")
    result = {}
    for key, values in base.items():
        if key not in specs:
            raise ValueError(f"Scheduler(): base names {key!r}, which has no schedule")
        result[key] = _base_values(key, values, count)
    return result


def _base_values(key: str, values: Any, count: int) -> list[float | None]:
    """``base[key]``: one number (or ``None``: the group's value) per group."""
    if isinstance(values, (list, tuple)):
        if len(values) != count:
            raise ValueError(
                f"Scheduler(): base[{key!r}] must have one value per param group "
                f"({count}), got {len(values)}"
            )
    else:
        values = [values] * count
    checked: list[float | None] = []
    for v in values:
        if v is not None and (
            not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
        ):
            raise ValueError(f"Scheduler(): base[{key!r}] values must be finite numbers, got {v!r}")
        checked.append(None if v is None else float(v))
    return checked


def scheduled_values(
    groups: list[Any],
    specs: Mapping[str, Any],
    bases: Mapping[str, list[float | None]],
    absolute_keys: frozenset[str] | None,
) -> list[ScheduledValue]:
    values = []
    for key, spec in specs.items():
        for index, schedule in sorted(group_specs(key, spec, len(groups)).items()):
            slot = _slot(groups[index], key, index)
            base = bases.get(key, [None] * len(groups))[index]
            if base is None:
                base = current(groups[index], slot)
            absolute = _is_absolute(key, index, schedule, absolute_keys)
            if not absolute:
                _check_base(key, index, schedule, base)
            values.append(ScheduledValue(key, index, slot, schedule, base, absolute))
    return values


def group_specs(name: str, spec: Any, count: int) -> dict[int, Schedule]:
    """One schedule argument as ``{group index: schedule}``."""
    if isinstance(spec, Schedule):
        return dict.fromkeys(range(count), spec)
    result = {}
    for index, schedule in _indexed(name, spec, count):
        group = _group_index(name, index, count)
        if schedule is None:
            continue
        if not isinstance(schedule, Schedule):
            raise TypeError(
                f"Scheduler(): {name} for group {index} must be a Schedule, got {schedule!r}"
            )
        result[group] = schedule
    return result


def _indexed(name: str, spec: Any, count: int) -> list[tuple[Any, Any]]:
    """A list (one per group) or a mapping (by group index) as (index, schedule) pairs."""
    if isinstance(spec, Mapping):
        return list(spec.items())
    if isinstance(spec, (list, tuple)):
        if len(spec) != count:
            raise ValueError(
                f"Scheduler(): {name} must have one schedule (or None) per param group "
                f"({count}), got {len(spec)}"
            )
        return list(enumerate(spec))
    raise TypeError(
        f"Scheduler(): {name} must be a Schedule, a list with one per param group or a "
        f"mapping from group index to Schedule, got {spec!r}"
    )


def _group_index(name: str, index: Any, count: int) -> int:
    if not isinstance(index, numbers.Integral) or isinstance(index, bool):
        raise TypeError(f"Scheduler(): {name} group indices must be integers, got {index!r}")
    if not 0 <= int(index) < count:
        raise ValueError(
            f"Scheduler(): {name} names param group {index!r}, but the optimizer has {count} groups"
        )
    return int(index)


def _slot(group: Mapping[str, Any], key: str, index: int) -> str:
    """Where the value of ``key`` lives in the group: ``momentum`` is ``betas[0]`` for Adam."""
    if key in group:
        return key
    if key == "momentum" and "betas" in group:
        return "betas"
    raise ValueError(
        f"Scheduler(): param_groups[{index}] has no {key!r} to schedule "
        f"(it has {sorted(k for k in group if k != 'params')})"
    )


def current(group: Mapping[str, Any], slot: str) -> float:
    return number(group["betas"][0] if slot == "betas" else group[slot])


def number(value: Any) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


def record_initial_lrs(groups: list[Any]) -> None:
    """As torch's schedulers do, for code that reads ``initial_lr``."""
    for group in groups:
        lr_value = group["lr"]
        group.setdefault(
            "initial_lr", lr_value.clone() if isinstance(lr_value, torch.Tensor) else lr_value
        )


def lr_base(group: dict[str, Any], entries: list[ScheduledValue]) -> float:
    """The ``base_lrs`` entry of an adopted group: its lr schedule's base (also set as its
    ``initial_lr`` when absent: what the schedule multiplies), else its lr."""
    base = next((e.base for e in entries if e.key == "lr" and not e.absolute), None)
    if base is None:
        return number(group["lr"])
    group.setdefault("initial_lr", base)
    return base


def _own_plateau(schedule: Schedule) -> plateau | None:
    """The plateau of a schedule that is one plateau alone (``absolute(plateau(...))``: what
    ``from_torch`` builds for a ``ReduceLROnPlateau``): applied as values, its value is the
    group's value itself."""
    inner = schedule.schedule if isinstance(schedule, _absolute) else schedule
    return inner if isinstance(inner, plateau) else None


def started_at(schedule: Schedule, start: float) -> Schedule:
    """The schedule with each plateau node started at ``start``: the same reducer (a plateau's
    start sets only its state before the first metric)."""

    def restart(node: Schedule) -> Schedule | None:
        if not isinstance(node, plateau):
            return None
        fields = {f.name: getattr(node, f.name) for f in parameters(node)}
        return plateau._from_fields({**fields, "start": float(start)})

    return rebuild(schedule, restart)


def _one_reducer(entries: list[ScheduledValue]) -> bool:
    """Absolute plateaus alone, the same but for their start: one ``ReduceLROnPlateau``."""
    if not all(e.absolute and _own_plateau(e.schedule) is not None for e in entries):
        return False
    return len({started_at(e.schedule, 0.0) for e in entries}) == 1


def shared_keys(
    specs: Mapping[str, Any], entries: list[ScheduledValue], count: int
) -> dict[str, Schedule]:
    """The keys that schedule the param groups added later, with their schedule: one
    ``Schedule`` given for every group, or one ``ReduceLROnPlateau`` over groups with different
    lrs (absolute plateaus alone, one per group, the same but for their start: what
    ``from_torch`` builds), which reduces every group's own value, new groups included."""
    shared = {}
    for key, spec in specs.items():
        mine = [e for e in entries if e.key == key]
        if isinstance(spec, Schedule):
            shared[key] = spec
        elif len(mine) == count and _one_reducer(mine):
            shared[key] = mine[0].schedule
    return shared


def adopted(
    group: Mapping[str, Any], index: int, like: ScheduledValue, t: int, base: float | None = None
) -> ScheduledValue:
    """The entry of a param group added while step ``t`` was applied, scheduled by ``like``'s
    schedule (the one every group shares): its reducer states (the same metrics reached every
    group) and, relative, the base that continues its current value: ``value / s(t)``.
    Applied as values, a plateau alone continues the group's own value as torch's
    ``ReduceLROnPlateau`` does (``max(value * factor, min_value)`` from it): the same plateau
    started at that value, sharing the decisions (best, bad epochs, cooldown). ``base``: a
    checkpoint's, for a group it restores."""
    slot = _slot(group, like.key, index)
    own = _own_plateau(like.schedule) if like.absolute else None
    if own is not None:
        value = current(group, slot)
        entry = ScheduledValue(
            like.key, index, slot, started_at(like.schedule, value), 0.0, like.absolute
        )
        entry.states = [{**like.states[0], "value": value}]
        return entry
    entry = ScheduledValue(like.key, index, slot, like.schedule, 0.0, like.absolute)
    entry.states = [dict(s) for s in like.states]
    if base is not None:
        entry.base = float(base)
    elif not like.absolute:
        schedule = _bind(like.schedule, entry.states) if entry.plateaus else like.schedule
        at = float(schedule(t))
        base = current(group, slot) / at if at != 0 else math.inf
        if not math.isfinite(base):
            raise ValueError(
                f"Scheduler: param group {index} was added at step {t}, where the {like.key} "
                f"schedule is {at!r}, so its value cannot be continued by the schedule's ratios "
                "(its base would not be finite); add it at another step or give it an absolute "
                "schedule"
            )
        entry.base = base
    return entry
