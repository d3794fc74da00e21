"""The torch adapter: apply schedules to any ``param_groups`` key of an optimizer.

``Scheduler`` is a real ``torch.optim.lr_scheduler.LRScheduler`` (PyTorch Lightning, HF Trainer
and accelerate accept it) that holds nothing but a step counter, the base values and the
reducer states of metric-driven (``plateau``) nodes. ``step()`` writes ``base * s(t)`` — or
``s(t)`` in absolute mode — into each scheduled group value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from schedalg import Schedule

# From-imports: the package attribute `schedalg.plateau` is the plateau() constructor.
from schedalg.plateau import bind as _bind
from schedalg.plateau import plateaus as _plateaus
from schedalg.text import fingerprint

_FORMAT = "schedalg.torch.Scheduler/1"
_Tensor = torch.Tensor


class _Entry:
    """One scheduled value: ``param_groups[group][key]`` (``betas[0]`` for Adam's momentum)."""

    __slots__ = ("absolute", "base", "group", "key", "plateaus", "schedule", "slot", "states")

    def __init__(
        self, key: str, group: int, slot: str, schedule: Schedule, base: float, absolute: bool
    ) -> None:
        self.key, self.group, self.slot = key, group, slot
        self.schedule, self.base, self.absolute = schedule, base, absolute
        self.plateaus = _plateaus(schedule)
        self.states = [p.initial() for p in self.plateaus]


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


def _group_specs(name: str, spec: Any, count: int) -> dict[int, Schedule]:
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


def _slot(group: Mapping[str, Any], key: str, index: int) -> str:
    if key in group:
        return key
    if key == "momentum" and "betas" in group:
        return "betas"
    raise ValueError(
        f"Scheduler(): param_groups[{index}] has no {key!r} to schedule "
        f"(it has {sorted(k for k in group if k != 'params')})"
    )


def _number(value: Any) -> float:
    return float(value.item()) if isinstance(value, _Tensor) else float(value)


def _set_first_beta(group: dict[str, Any], value: float) -> None:
    """Adam's momentum: ``betas[0]``, in place for a tensor, else a new tuple."""
    betas = group["betas"]
    if isinstance(betas[0], _Tensor):
        betas[0].fill_(value)
    else:
        group["betas"] = (value, *betas[1:])


def _current(group: Mapping[str, Any], slot: str) -> float:
    return _number(group["betas"][0] if slot == "betas" else group[slot])


def _param_groups(optimizer: Any) -> list[Any]:
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise TypeError(
            "Scheduler(): optimizer must have a param_groups list of dicts, "
            f"got {type(optimizer).__name__}"
        )
    return groups


def _given(specs: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule arguments that were given (not ``None``); at least one."""
    given = {k: v for k, v in specs.items() if v is not None}
    if not given:
        raise ValueError("Scheduler(): give at least one schedule (lr=..., momentum=..., ...)")
    return given


def _entries(
    groups: list[Any],
    specs: Mapping[str, Any],
    bases: Mapping[str, list[float | None]],
    absolute_keys: frozenset[str],
) -> list[_Entry]:
    entries = []
    for key, spec in specs.items():
        for index, schedule in sorted(_group_specs(key, spec, len(groups)).items()):
            slot = _slot(groups[index], key, index)
            given = bases.get(key, [None] * len(groups))[index]
            value = _current(groups[index], slot) if given is None else given
            entries.append(_Entry(key, index, slot, schedule, value, key in absolute_keys))
    return entries


def _record_initial_lrs(groups: list[Any]) -> None:
    """As torch's schedulers do, for code that reads ``initial_lr``."""
    for group in groups:
        lr_value = group["lr"]
        group.setdefault(
            "initial_lr", lr_value.clone() if isinstance(lr_value, _Tensor) else lr_value
        )


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


def _check_format(state_dict: Any) -> None:
    if not isinstance(state_dict, Mapping) or state_dict.get("format") != _FORMAT:
        raise ValueError(
            "Scheduler.load_state_dict(): not a schedalg Scheduler state_dict "
            f"(format {getattr(state_dict, 'get', lambda k: None)('format')!r})"
        )


def _difference(
    where: tuple[str, int], saved: Mapping[str, Any] | None, entry: _Entry | None
) -> str | None:
    """How a scheduled (key, group) differs from the checkpoint's, if it does."""
    label = f"{where[0]} of group {where[1]}"
    if saved is None:
        return f"{label}: scheduled now, not in the checkpoint"
    if entry is None:
        return f"{label}: in the checkpoint, not scheduled now"
    if saved["fingerprint"] != fingerprint(entry.schedule):
        return f"{label}: the schedule differs from the checkpoint's ({entry.schedule!r})"
    if bool(saved["absolute"]) != entry.absolute:
        return f"{label}: absolute={saved['absolute']} in the checkpoint"
    return None


def _differences(saved: Mapping[Any, Any], mine: Mapping[Any, _Entry]) -> list[str]:
    found = (
        _difference(where, saved.get(where), mine.get(where)) for where in sorted({*saved, *mine})
    )
    return [problem for problem in found if problem is not None]


def _restore(entry: _Entry, saved: Mapping[str, Any]) -> None:
    """The checkpoint's base, and its plateau states where the schedule is the same."""
    same = saved["fingerprint"] == fingerprint(entry.schedule)
    entry.base = float(saved["base"])
    if same and len(saved["plateau"]) == len(entry.plateaus):
        entry.states = [dict(x) for x in saved["plateau"]]


class Scheduler(LRScheduler):
    """``Scheduler(optimizer, lr=s, momentum=m, weight_decay=w, *, absolute=False, base=None,
    **other_keys)``: set param-group values from schedules at every step.

    - Each schedule argument is a ``Schedule`` (every group), a list with one schedule or
      ``None`` per group, or a mapping ``{group index: schedule}``. Any key of the param groups
      can be scheduled; ``momentum`` sets ``betas[0]`` on Adam-style groups.
    - Relative (default): the value is ``base * s(t)``, ``base`` being the group's value when the
      adapter is built (or ``base={"lr": [...], ...}``: a number or a per-group list per key).
      Absolute: ``absolute=True`` (all keys) or ``absolute={"lr", ...}``: the value is ``s(t)``.
    - ``t`` is the number of ``step()`` calls so far (``last_epoch``); the values for ``t = 0``
      are applied at construction. Tensor values are updated in place (``fill_``).
    - Metric-driven nodes (``schedalg.plateau``): ``step(metric)`` reports a metric and then
      advances, ``observe(metric)`` reports without advancing.
    - ``state_dict()`` is plain data (``torch.load(weights_only=True)`` loads it) with a
      fingerprint of every schedule; ``load_state_dict`` refuses a different schedule unless
      ``strict=False``.

    Works with any object that has ``param_groups`` (optimizer wrappers included).
    """

    def __init__(
        self,
        optimizer: Any,
        lr: Any = None,
        momentum: Any = None,
        weight_decay: Any = None,
        *,
        absolute: bool | Collection[str] = False,
        base: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> None:
        # LRScheduler.__init__ is not called: it insists on a torch Optimizer and recomputes
        # values through get_lr(). The attributes it sets are set here, as torch names them.
        groups = _param_groups(optimizer)
        specs = _given({"lr": lr, "momentum": momentum, "weight_decay": weight_decay, **params})
        absolute_keys = self._absolute_keys(absolute, specs)
        bases = self._bases(base, specs, len(groups))
        entries = _entries(groups, specs, bases, absolute_keys)
        self.optimizer = optimizer
        self._entries = entries
        self._group_count = len(groups)
        _record_initial_lrs(groups)
        lr_bases = {e.group: e.base for e in entries if e.key == "lr"}
        self.base_lrs = [lr_bases.get(i, _number(g["lr"])) for i, g in enumerate(groups)]
        self.last_epoch = 0
        self._step_count = 1
        self._get_lr_called_within_step = False
        self._is_initial = False
        self._compile()
        self._apply()

    # -- construction helpers ------------------------------------------------------------------

    @staticmethod
    def _absolute_keys(absolute: Any, specs: Mapping[str, Any]) -> frozenset[str]:
        if isinstance(absolute, bool):
            return frozenset(specs) if absolute else frozenset()
        if isinstance(absolute, str) or not isinstance(absolute, Collection):
            raise TypeError(
                f"Scheduler(): absolute must be True, False or a collection of keys, "
                f"got {absolute!r}"
            )
        unknown = set(absolute) - set(specs)
        if unknown:
            raise ValueError(
                f"Scheduler(): absolute names keys that have no schedule: {sorted(unknown)!r}"
            )
        return frozenset(absolute)

    @staticmethod
    def _bases(base: Any, specs: Mapping[str, Any], count: int) -> dict[str, list[float | None]]:
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

    def _compile(self) -> None:
        """The step path: one tuple per entry, with the plateau states already bound."""
        plan = []
        for e in self._entries:
            schedule = _bind(e.schedule, e.states) if e.plateaus else e.schedule
            plan.append((e.group, e.slot, schedule._scalar, e.base, e.absolute))
        self._plan = plan

    # -- stepping ------------------------------------------------------------------------------

    def _values(self, t: int) -> list[tuple[int, str, float]]:
        return [
            (group, slot, float(fn(t)) if absolute else base * fn(t))
            for group, slot, fn, base, absolute in self._plan
        ]

    def _apply(self) -> None:
        # The hot path (every training step): plain floats, no validation, no allocation
        # beyond _last_lr, no call but the schedules' (the type check skips isinstance for
        # floats, the common case).
        t = self.last_epoch
        groups = self.optimizer.param_groups
        if len(groups) != self._group_count:
            raise self._groups_changed(len(groups))
        for index, slot, fn, base, absolute in self._plan:
            value = float(fn(t)) if absolute else base * fn(t)
            group = groups[index]
            current = group[slot]
            if slot == "betas":
                _set_first_beta(group, value)
            elif type(current) is not float and isinstance(current, _Tensor):
                current.fill_(value)
            else:
                group[slot] = value
        self._last_lr = [
            lr.clone() if type(lr := g["lr"]) is not float and isinstance(lr, _Tensor) else lr
            for g in groups
        ]

    def _groups_changed(self, count: int) -> RuntimeError:
        # A group added later would silently keep its value: say so instead.
        return RuntimeError(
            f"Scheduler: the optimizer has {count} param groups, but it had "
            f"{self._group_count} when the scheduler was built; build the Scheduler after "
            "adding every param group (or build a new one)"
        )

    def step(self, metrics: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Advance one step (or to ``epoch``) and apply the values; a metric, if given, is
        reported to the plateau nodes first (as ``ReduceLROnPlateau.step(metric)``)."""
        if metrics is not None:
            self.observe(metrics, apply=False)
        if epoch is None:
            self.last_epoch += 1
        elif not isinstance(epoch, numbers.Integral) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(
                f"Scheduler.step(): epoch must be a non-negative integer, got {epoch!r}"
            )
        else:
            self.last_epoch = int(epoch)
        self._step_count += 1
        self._apply()

    def observe(self, metric: Any, *, apply: bool = True) -> None:
        """Report a metric to every plateau node without advancing the step; the new values
        take effect at once."""
        if not any(e.plateaus for e in self._entries):
            raise ValueError(
                "Scheduler.observe(): no schedule has a plateau node, so a metric would be "
                f"ignored (got {metric!r}); use step() without a metric"
            )
        for e in self._entries:
            if e.plateaus:
                e.states = [p.update(s, metric) for p, s in zip(e.plateaus, e.states)]
        self._compile()
        if apply:
            self._apply()

    def get_lr(self) -> list[Any]:
        """The learning rates for the current step, without applying them."""
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        for group, slot, value in self._values(self.last_epoch):
            if slot == "lr":
                lrs[group] = value
        return lrs

    @property
    def schedules(self) -> dict[str, dict[int, Schedule]]:
        """The schedules by key and group index."""
        result: dict[str, dict[int, Schedule]] = {}
        for e in self._entries:
            result.setdefault(e.key, {})[e.group] = e.schedule
        return result

    # -- state ---------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data: ints, floats, strings, lists and dicts (loads with ``weights_only``)."""
        return {
            "format": _FORMAT,
            "last_epoch": int(self.last_epoch),
            "_step_count": int(self._step_count),
            "base_lrs": [float(b) for b in self.base_lrs],
            "_last_lr": [_number(v) for v in self._last_lr],
            "entries": [
                {
                    "key": e.key,
                    "group": e.group,
                    "absolute": e.absolute,
                    "base": e.base,
                    "fingerprint": fingerprint(e.schedule),
                    "plateau": [dict(s) for s in e.states],
                }
                for e in self._entries
            ],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Restore a ``state_dict()`` and apply the values of the restored step.

        With ``strict=True`` (default) every scheduled (key, group) must have the same
        schedule, by fingerprint, and the same mode; ``strict=False`` loads the step counter and
        whatever matches, keeping this adapter's schedules.
        """
        _check_format(state_dict)
        saved = {(s["key"], s["group"]): s for s in state_dict["entries"]}
        mine = {(e.key, e.group): e for e in self._entries}
        problems = _differences(saved, mine)
        if problems and strict:
            raise ValueError(
                "Scheduler.load_state_dict(): the checkpoint was saved with different "
                "schedules: " + "; ".join(problems) + ". Pass strict=False to load the step "
                "counter anyway."
            )
        for where, e in mine.items():
            if where in saved:
                _restore(e, saved[where])
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        lr_bases = {e.group: e.base for e in self._entries if e.key == "lr"}
        self.base_lrs = [lr_bases.get(i, b) for i, b in enumerate(state_dict["base_lrs"])]
        self._compile()
        self._apply()
