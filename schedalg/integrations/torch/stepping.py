"""The adapter's step path: each distinct schedule evaluated once per step, its value written
into every param group that uses it.

A *plan* is built once (at construction, after a metric, after groups are added) from the
scheduled values: entries that share one schedule object (``lr=s`` for 64 groups of a layer-wise
decay) share one evaluation. Entries with plateau nodes are bound to their own reducer states, so
they are never merged. Writing keeps each value's type: a float stays a float, a tensor is updated
in place (``fill_``), ``betas[0]`` too when it is a tensor.

``get_last_lr()`` needs a snapshot of the learning rates that later steps cannot change. Taking it
costs a ``clone()`` per tensor lr per step; instead the step records the value it wrote (and the
tensor it wrote it to) and the snapshot is made only when it is read. A tensor lr that no
schedule writes is cloned at each step, as torch does, since nothing else records it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from schedalg.curves.metric import bind
from schedalg.integrations.torch.arguments import ScheduledValue

_Tensor = torch.Tensor

# (group index, slot, base, absolute, is the lr)
Target = tuple[int, str, float, bool, bool]
Step = tuple[Callable[[Any], Any], tuple[Target, ...]]


def plan(entries: Iterable[ScheduledValue]) -> list[Step]:
    """One step per distinct schedule, in the order the schedules first appear."""
    shared: dict[int, list[Target]] = {}
    functions: dict[int, Callable[[Any], Any]] = {}
    order: list[int] = []
    for e in entries:
        target = (e.group, e.slot, e.base, e.absolute, e.key == "lr")
        if e.plateaus:  # its own reducer states: its own evaluation
            key = -1 - len(order)
            functions[key] = bind(e.schedule, e.states)._scalar_function()
        else:
            key = id(e.schedule)
            functions.setdefault(key, e.schedule._scalar_function())
        if key not in shared:
            shared[key] = []
            order.append(key)
        shared[key].append(target)
    return [(functions[k], tuple(shared[k])) for k in order]


def _set_first_beta(group: dict[str, Any], value: float) -> None:
    """Adam's momentum: ``betas[0]``, in place for a tensor, else a new tuple."""
    betas = group["betas"]
    if isinstance(betas[0], _Tensor):
        betas[0].fill_(value)
    else:
        group["betas"] = (value, *betas[1:])


def apply(steps: Sequence[Step], groups: Sequence[Any], t: int, lrs: list[Any]) -> None:
    """Write the values of step ``t`` into ``groups``; record the lrs written into ``lrs`` (a
    float, or ``(tensor, value)`` for a tensor lr: see :func:`snapshot`)."""
    # The hot path of every training step: one call per distinct schedule, then per group one
    # multiplication, one write, no validation and no allocation (the type check skips
    # isinstance for floats, the common case).
    for fn, targets in steps:
        v = fn(t)
        for index, slot, base, absolute, is_lr in targets:
            value = float(v) if absolute else base * v
            group = groups[index]
            if slot == "betas":
                _set_first_beta(group, value)
                continue
            current = group[slot]
            if type(current) is not float and isinstance(current, _Tensor):
                current.fill_(value)
                if is_lr:
                    lrs[index] = (current, value)
            else:
                group[slot] = value
                if is_lr:
                    lrs[index] = value


def unscheduled_lrs(groups: Sequence[Any], lrs: list[Any], indices: Sequence[int]) -> None:
    """The lrs no schedule writes, as they are now (a tensor cloned, as torch's snapshot)."""
    for index in indices:
        lr = groups[index]["lr"]
        lrs[index] = lr.clone() if isinstance(lr, _Tensor) else lr


def snapshot(lrs: Sequence[Any]) -> list[Any]:
    """``get_last_lr()``: floats as they are, a written tensor lr as a new tensor of the same
    dtype and device holding the value written (what ``clone()`` right after ``fill_`` gives)."""
    return [torch.full_like(v[0], v[1]) if type(v) is tuple else v for v in lrs]


def values(steps: Sequence[Step], t: int) -> list[tuple[int, str, float]]:
    """``(group, slot, value)`` of every scheduled value at step ``t``, without writing."""
    result = []
    for fn, targets in steps:
        v = fn(t)
        for index, slot, base, absolute, _ in targets:
            result.append((index, slot, float(v) if absolute else base * v))
    return result
