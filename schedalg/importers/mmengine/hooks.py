"""Schedules that live in a hook: mmyolo's ``YOLOv5ParamSchedulerHook``, as expressions.

The hook (``default_hooks.param_scheduler`` of mmyolo's YOLOv5/v6/v7/v8 configs, with
``param_scheduler = None``) sets the optimizer's values itself. With ``L`` iterations per epoch,
``W = max(round(warmup_epochs * L), warmup_mim_iter)`` warmup iterations and ``f`` its factor of
the epoch (``linear``: ``(1 - e / max_epochs) * (1 - lr_factor) + lr_factor``; ``cosine``:
``(1 - cos(e * pi / max_epochs)) / 2 * (lr_factor - 1) + 1``), iteration ``i`` of epoch
``e = i // L`` uses

- ``lr = (base * f(e) / W) * i`` for ``i < W`` and ``base * f(e)`` at ``i = W`` (``np.interp``
  from 0; the hook sets it before each warmup iteration), then ``base * f(max(e - 1, W // L))``
  (set after each epoch once the warmup is over);
- ``momentum = warmup_momentum + (base - warmup_momentum) / W * i`` up to ``W``, then ``base``.

This is the weights' parameter group; mmyolo's bias group warms up from ``warmup_bias_lr``
instead of 0, which one expression per parameter does not hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import per_epoch, sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, warp
from schedalg.algebra.units import absolute
from schedalg.core import validators as check
from schedalg.curves.primitives import cosine, elapsed

__all__ = ["HOOKS", "from_hook"]

FN = "from_hook"
HOOKS = ("YOLOv5ParamSchedulerHook",)
_DEFAULTS = dict(
    scheduler_type="linear",
    lr_factor=0.01,
    max_epochs=300,
    warmup_epochs=3,
    warmup_bias_lr=0.1,
    warmup_momentum=0.8,
    warmup_mim_iter=1000,
)


def from_hook(
    hook: Mapping[str, Any], *, epoch_length: int, base: Mapping[str, float]
) -> dict[str, Schedule]:
    """The absolute ``lr`` (and ``momentum`` where ``base`` has it) a scheduler hook sets,
    per iteration. ``base``: the optimizer's ``lr`` (required) and ``momentum``."""
    kind = str(hook.get("type", "")).rsplit(".", 1)[-1]
    if kind not in HOOKS:
        raise ValueError(
            f"{FN}(): the schedule lives in the hook {hook.get('type')!r}, which sets the "
            f"optimizer's values itself; of the hooks, {', '.join(HOOKS)} is reproduced"
        )
    unknown = sorted(set(hook) - set(_DEFAULTS) - {"type", "priority", "_scope_"})
    if unknown:
        raise TypeError(f"{FN}(): {kind}: unexpected argument(s) {unknown!r}")
    args = {**_DEFAULTS, **{k: v for k, v in hook.items() if k in _DEFAULTS}}
    length = check.integer(FN, "epoch_length", epoch_length, minimum=1)
    if "lr" not in base:
        raise ValueError(f"{FN}(): {kind} sets absolute values: it needs the optimizer's lr")
    lr = check.real(FN, "base['lr']", base["lr"])
    warmup = max(round(args["warmup_epochs"] * length), args["warmup_mim_iter"])
    if warmup < 1:
        raise ValueError(f"{FN}(): {kind}: the warmup must be at least one iteration")
    factor = _factor(kind, args)
    in_epochs = constant(lr) * factor  # base * f(e), e in epochs
    ramp = per_epoch(in_epochs, length)
    last_epoch = warmup // length
    epoch = shift(per_epoch(elapsed(), length), warmup + 1)  # e of iteration warmup + 1 + t
    after = warp(in_epochs, maximum(epoch - 1, last_epoch))
    schedules = {
        "lr": sequence(
            ramp / warmup * elapsed(),
            constant(lr * _value(kind, args, warmup // length)),
            after,
            at=[warmup, warmup + 1],
        )
    }
    if "momentum" in base:
        start, end = float(args["warmup_momentum"]), float(base["momentum"])
        slope = (end - start) / warmup
        schedules["momentum"] = sequence(slope * elapsed() + start, constant(end), at=[warmup])
    return {name: absolute(schedule) for name, schedule in schedules.items()}


def _factor(kind: str, args: dict[str, Any]) -> Schedule:
    total = check.integer(FN, f"{kind}: max_epochs", args["max_epochs"], minimum=1)
    lf = float(check.real(FN, f"{kind}: lr_factor", args["lr_factor"]))
    if args["scheduler_type"] == "linear":
        return (1.0 - elapsed() / float(total)) * (1.0 - lf) + lf
    if args["scheduler_type"] == "cosine":
        # (1 - cos(x pi / T)) / 2 is 1 - cosine(T), the half-cosine from 1 to 0
        return (1.0 - cosine(total, periodic=True)) * (lf - 1.0) + 1.0
    raise ValueError(
        f"{FN}(): {kind}: scheduler_type must be 'linear' or 'cosine', "
        f"got {args['scheduler_type']!r}"
    )


def _value(kind: str, args: dict[str, Any], epoch: int) -> float:
    """The hook's own factor at ``epoch``, as it computes it."""
    total, lf = args["max_epochs"], args["lr_factor"]
    if args["scheduler_type"] == "linear":
        return (1 - epoch / total) * (1.0 - lf) + lf
    return ((1 - math.cos(epoch * math.pi / total)) / 2) * (lf - 1) + 1
