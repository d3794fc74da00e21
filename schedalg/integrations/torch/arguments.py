"""The arguments of ``Scheduler``: which param-group values are scheduled, from which base
values, in which mode; each refusal names the argument and the value."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import torch

from schedalg.algebra.expression import Schedule
from schedalg.algebra.units import is_absolute
from schedalg.curves.metric import bind as _bind
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


def adopted(group: Mapping[str, Any], index: int, like: ScheduledValue, t: int) -> ScheduledValue:
    """The entry of a param group added while step ``t`` was applied, scheduled by ``like``'s
    schedule (the one every group shares): its reducer states (the same metrics reached every
    group) and, relative, the base that continues its current value: ``value / s(t)``."""
    slot = _slot(group, like.key, index)
    entry = ScheduledValue(like.key, index, slot, like.schedule, 0.0, like.absolute)
    entry.states = [dict(s) for s in like.states]
    if not like.absolute:
        schedule = _bind(like.schedule, entry.states) if entry.plateaus else like.schedule
        at = float(schedule(t))
        if at == 0:
            raise ValueError(
                f"Scheduler: param group {index} was added at step {t}, where the {like.key} "
                "schedule is 0, so its value cannot be continued by the schedule's ratios; "
                "add it at another step or give it an absolute schedule"
            )
        entry.base = current(group, slot) / at
    return entry
