"""DeepSpeed's ``scheduler`` config block as schedalg expressions.

``from_deepspeed(config, lr=None)`` takes the block (``{"type": "WarmupLR", "params": {...}}``)
or the whole DeepSpeed config with a ``"scheduler"`` key, and returns ``{"lr": ...}`` (and
``"momentum"``, Adam's ``beta1``, for ``OneCycle`` with ``cycle_momentum``): absolute values at
iteration ``t``, the value the optimizer uses for its ``t``-th step. DeepSpeed builds the
scheduler with ``last_batch_iteration=-1`` and steps it after every optimizer step, so the
value at ``t`` is DeepSpeed's formula at ``last_batch_iteration = t - 1``
(``deepspeed/runtime/lr_schedules.py``):

- ``WarmupLR`` / ``WarmupDecayLR``: ``min + (max - min) * gamma``; ``min`` at ``t = 0``; with
  ``W = max(2, warmup_num_steps)``, ``gamma = log(t) / log(W)`` (``log``) or ``(t - 1) / W``
  (``linear``) for ``1 <= t <= W``, then 1 (WarmupLR) or ``max(0, (T - t + 1) / max(1, T - W))``.
- ``WarmupCosineLR``: the optimizer's ``lr`` times a ratio: 0 at ``t = 0``, then
  ``warmup_min_ratio + (1 - warmup_min_ratio) * gamma``, then
  ``max(0, c + (1 - c) * (1 + cos(pi min(1, (t - W) / max(1, T - W)))) / 2)`` with
  ``c = cos_min_ratio``.
- ``OneCycle``: a triangle from ``cycle_min_lr`` up over ``cycle_first_step_size`` and down over
  ``cycle_second_step_size`` (stairs with the stair counts), then ``min / (1 + rate * d / size)``
  with ``d = t - total`` (``decay_lr_rate``, ``decay_step_size``); the momentum mirrors it between
  ``cycle_max_mom`` and ``cycle_min_mom`` and then grows as ``max_mom * (1 + rate * d / size)``.
- ``LRRangeTest``: ``min * (1 + rate * t / size)``, ``floor(t / size)`` with the staircase.

The log warm-up has no closed form among the nodes: it is a ``piecewise`` through DeepSpeed's
own values at each step of the warm-up (bit-exact there). The table ``TYPES`` has one entry per
DeepSpeed type: its options with their defaults (``...``: required) and its builder.

A config written for the HF Trainer has ``"auto"`` values, which the Trainer fills from its
``TrainingArguments`` (``HF_AUTO``, from ``transformers/integrations/deepspeed.py``:
``trainer_config_process`` and ``trainer_config_finalize``): ``warmup_min_lr`` is 0, the
optimizer's ``lr`` and ``warmup_max_lr`` its ``learning_rate`` (``lr=``), and the step counts
``total_num_steps`` and ``warmup_num_steps`` are given with ``auto={...}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import per_epoch, sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift
from schedalg.core.node import nearest
from schedalg.curves.phases import piecewise
from schedalg.curves.primitives import cosine, linear
from schedalg.importers import options as opt

_FN = "from_deepspeed"
Params = dict[str, Any]


# The longest log warm-up read: its table holds one value per step (10**6 take 5 s and 240 MB
# to build); real configs warm up over thousands of steps.
MAX_LOG_WARMUP = 10**6


def _warmup_steps(kind: str, p: Params) -> int:
    return max(2, opt.count(_FN, kind, "warmup_num_steps", p["warmup_num_steps"], minimum=1))


def _ramp(kind: str, p: Params, low: float, high: float) -> Schedule:
    """``low + (high - low) * gamma`` for ``t = 1 .. W`` on the clock ``t - 1``."""
    steps = _warmup_steps(kind, p)
    style = opt.pick(_FN, f"{kind} warmup_type", p["warmup_type"], ("log", "linear"))
    if style == "linear":
        return linear(low, high, steps)
    if steps > MAX_LOG_WARMUP:
        raise ValueError(
            f"{_FN}(): {kind} warmup_num_steps {steps!r}: a log warm-up is tabulated one value "
            f"per step, with DeepSpeed's own math.log, up to {MAX_LOG_WARMUP:,} steps"
        )
    inverse = 1.0 / math.log(steps)
    return piecewise(
        tuple((u, low + (high - low) * (inverse * math.log(u + 1))) for u in range(steps))
    )


def _limits(kind: str, p: Params, lr: float | None) -> tuple[float, float]:
    low = opt.number(_FN, kind, "warmup_min_lr", p["warmup_min_lr"])
    high = p["warmup_max_lr"] if p["warmup_max_lr"] is not None else lr
    if high is None:
        raise TypeError(
            f"{_FN}(): {kind} without warmup_max_lr warms up to the optimizer's lr: pass lr=... "
            "(or the whole config with its optimizer block)"
        )
    return low, opt.number(_FN, kind, "warmup_max_lr", high)


def _warmup_lr(p: Params, lr: float | None) -> dict[str, Schedule]:
    low, high = _limits("WarmupLR", p, lr)
    ramp = _ramp("WarmupLR", p, low, high)
    steps = _warmup_steps("WarmupLR", p)
    return {"lr": sequence(constant(low), ramp, constant(high), at=[1, steps + 1])}


def _warmup_decay_lr(p: Params, lr: float | None) -> dict[str, Schedule]:
    kind = "WarmupDecayLR"
    low, high = _limits(kind, p, lr)
    steps = _warmup_steps(kind, p)
    total = opt.count(_FN, kind, "total_num_steps", p["total_num_steps"], minimum=1)
    decay = linear(high, low, total - steps) if total > steps else constant(low)
    ramp = _ramp(kind, p, low, high)
    return {"lr": sequence(constant(low), ramp, decay, at=[1, steps + 1])}


def _warmup_cosine_lr(p: Params, lr: float | None) -> dict[str, Schedule]:
    kind = "WarmupCosineLR"
    if lr is None:
        raise TypeError(
            f"{_FN}(): {kind} scales the optimizer's lr: pass lr=... (or the whole config with "
            "its optimizer block)"
        )
    steps = _warmup_steps(kind, p)
    total = opt.count(_FN, kind, "total_num_steps", p["total_num_steps"], minimum=1)
    start = opt.number(_FN, kind, "warmup_min_ratio", p["warmup_min_ratio"])
    end = opt.number(_FN, kind, "cos_min_ratio", p["cos_min_ratio"])
    decay: Schedule = shift(cosine(max(1, total - steps), end=end), 1)
    if end < 0:
        decay = maximum(0.0, decay)
    ratio = sequence(constant(0.0), _ramp(kind, p, start, 1.0), decay, at=[1, steps + 1])
    return {"lr": opt.number(_FN, "optimizer", "lr", lr) * ratio}


class _Cycle:
    """OneCycle's shape, checked with DeepSpeed's option names."""

    def __init__(self, p: Params) -> None:
        k = "OneCycle"
        self.first = opt.count(
            _FN, k, "cycle_first_step_size", p["cycle_first_step_size"], minimum=1
        )
        second = p["cycle_second_step_size"]
        self.second = (
            self.first if second is None else opt.count(_FN, k, "cycle_second_step_size", second)
        )
        self.total = self.first + self.second
        self.stairs = opt.count(_FN, k, "cycle_first_stair_count", p["cycle_first_stair_count"])
        later = p["cycle_second_stair_count"]
        self.later = (
            self.stairs if later is None else opt.count(_FN, k, "cycle_second_stair_count", later)
        )
        self.decay_size = opt.number(_FN, k, "decay_step_size", p["decay_step_size"], at_least=0)

    def scale(self, t: int, stairs: int) -> float:
        """DeepSpeed's stair scale factor at batch ``t`` of the cycle (``stairs > 0``)."""
        if t <= self.first:
            return math.floor(t * stairs / float(self.first)) / stairs
        return math.floor((self.total - t) * stairs / float(self.second)) / stairs

    def shape(
        self, value: Callable[[float], float], tail: Schedule, head: float | None = None
    ) -> Schedule:
        """``value(scale)`` up over the first half, down over the second, then ``tail``; with
        ``head``, that value at ``t = 0`` instead (the momentum DeepSpeed sets at construction)."""
        up: Schedule = linear(value(0.0), value(1.0), self.first)
        if self.stairs:
            up = _staircase([value(self.scale(t, self.stairs)) for t in range(self.first + 1)])
        pieces, at = [up], [self.first]
        if self.second:
            down: Schedule = linear(value(1.0), value(0.0), self.second)
            if self.later:
                values = [
                    value(self.scale(t, self.later)) for t in range(self.first, self.total + 1)
                ]
                down = _staircase(values)
            pieces.append(down)
            at.append(self.total)
        if head is not None:
            pieces[0] = shift(up, 1)
            pieces, at = (
                ([constant(head), *pieces], [1, *at])
                if self.first > 1
                else ([constant(head), *pieces[1:]], at)
            )
        return sequence(*pieces, tail, at=at)

    def after(self, rate: float, name: str) -> tuple[float, float] | None:
        """The rate and step size of the decay after the cycle, ``1 + rate * (t / size)``, or
        None where it does not decay."""
        if math.isclose(self.decay_size, 0) or math.isclose(rate, 0):
            return None
        if rate < 0:
            raise ValueError(f"{_FN}(): OneCycle {name} must be >= 0 here, got {rate!r}")
        return rate, self.decay_size


def _staircase(values: list[float]) -> Schedule:
    points = [(t, v) for t, v in enumerate(values) if t == 0 or v != values[t - 1]]
    return (
        piecewise(tuple(points), interpolation="step")
        if len(points) > 1
        else constant(points[0][1])
    )


def _one_cycle(p: Params, lr: float | None) -> dict[str, Schedule]:
    cycle = _Cycle(p)
    low = opt.number(_FN, "OneCycle", "cycle_min_lr", p["cycle_min_lr"])
    high = opt.number(_FN, "OneCycle", "cycle_max_lr", p["cycle_max_lr"])
    rate = opt.number(_FN, "OneCycle", "decay_lr_rate", p["decay_lr_rate"])
    scale = cycle.after(rate, "decay_lr_rate")
    tail = constant(low) if scale is None else low / opt.growth(*scale)
    out = {"lr": cycle.shape(lambda f: low + (high - low) * f, tail)}
    if opt.flag(_FN, "OneCycle", "cycle_momentum", p["cycle_momentum"]):
        bottom = opt.number(_FN, "OneCycle", "cycle_min_mom", p["cycle_min_mom"])
        top = opt.number(_FN, "OneCycle", "cycle_max_mom", p["cycle_max_mom"])
        mom_rate = opt.number(_FN, "OneCycle", "decay_mom_rate", p["decay_mom_rate"])
        mom_scale = cycle.after(mom_rate, "decay_mom_rate")
        rise = constant(top) if mom_scale is None else top * opt.growth(*mom_scale)
        out["momentum"] = cycle.shape(lambda f: top - (top - bottom) * f, rise, head=bottom)
    return out


def _lr_range_test(p: Params, lr: float | None) -> dict[str, Schedule]:
    kind = "LRRangeTest"
    low = opt.number(_FN, kind, "lr_range_test_min_lr", p["lr_range_test_min_lr"])
    size = opt.count(_FN, kind, "lr_range_test_step_size", p["lr_range_test_step_size"], minimum=1)
    rate = opt.number(
        _FN, kind, "lr_range_test_step_rate", p["lr_range_test_step_rate"], at_least=0
    )
    staircase = opt.flag(_FN, kind, "lr_range_test_staircase", p["lr_range_test_staircase"])
    if rate == 0:
        return {"lr": constant(low)}
    if staircase:  # min * (1 + rate * k) at k = floor(t / size)
        return {"lr": per_epoch(low * opt.growth(rate), size)}
    return {"lr": low * opt.growth(rate, size)}


_WARMUP = {"warmup_min_lr": 0.0, "warmup_num_steps": 1000, "warmup_type": "log"}

# One entry per DeepSpeed scheduler type: (its options with their defaults, its builder).
TYPES: dict[str, tuple[dict[str, Any], Callable[[Params, float | None], dict[str, Schedule]]]] = {
    "WarmupLR": ({**_WARMUP, "warmup_max_lr": None}, _warmup_lr),
    "WarmupDecayLR": (
        {**_WARMUP, "warmup_max_lr": 0.001, "total_num_steps": ...},
        _warmup_decay_lr,
    ),
    "WarmupCosineLR": (
        {
            "total_num_steps": ...,
            "warmup_min_ratio": 0.0,
            "warmup_num_steps": 1000,
            "cos_min_ratio": 0.0001,
            "warmup_type": "log",
        },
        _warmup_cosine_lr,
    ),
    "OneCycle": (
        {
            "cycle_min_lr": ...,
            "cycle_max_lr": ...,
            "decay_lr_rate": 0.0,
            "cycle_first_step_size": 2000,
            "cycle_second_step_size": None,
            "cycle_first_stair_count": 0,
            "cycle_second_stair_count": None,
            "decay_step_size": 0,
            "cycle_momentum": True,
            "cycle_min_mom": 0.8,
            "cycle_max_mom": 0.9,
            "decay_mom_rate": 0.0,
        },
        _one_cycle,
    ),
    "LRRangeTest": (
        {
            "lr_range_test_min_lr": 0.001,
            "lr_range_test_step_size": 2000,
            "lr_range_test_step_rate": 1.0,
            "lr_range_test_staircase": False,
        },
        _lr_range_test,
    ),
}


def _optimizer_lr(config: Mapping[str, Any]) -> float | str | None:
    """The optimizer block's lr (``"auto"`` as it is), None without one."""
    optimizer = config.get("optimizer")
    if isinstance(optimizer, Mapping) and isinstance(optimizer.get("params"), Mapping):
        value = optimizer["params"].get("lr")
        if value is None or _is_auto(value):
            return value
        return opt.number(_FN, "optimizer", "lr", value)
    return None


def _is_auto(value: object) -> bool:
    return isinstance(value, str) and value == "auto"


# The scheduler options whose "auto" the HF Trainer fills, and what it fills them with.
HF_AUTO: dict[str, str] = {
    "warmup_min_lr": "0",
    "warmup_max_lr": "its learning_rate",
    "total_num_steps": "the run's optimizer steps (max_steps, or num_train_epochs times the "
    "optimizer updates per epoch)",
    "warmup_num_steps": "max(1, its warm-up steps) (warmup_steps, or a fraction of the run's "
    "optimizer steps rounded up)",
}
AUTO_STEPS = ("total_num_steps", "warmup_num_steps")  # the ones given with auto=


def _fill_auto(kind: str, params: Params, lr: Lr, auto: Mapping[str, int | str]) -> Params:
    """``params`` with their ``"auto"`` values as the HF Trainer fills them."""
    for name in auto:
        if name not in AUTO_STEPS:
            hint = nearest(str(name), AUTO_STEPS)
            raise ValueError(f"{_FN}(): auto takes {' and '.join(AUTO_STEPS)}, got {name!r}{hint}")
        if not _is_auto(params.get(name)):
            raise ValueError(
                f"{_FN}(): auto gives {name}, but {kind} {name} is {params.get(name)!r}, not "
                "'auto' (the HF Trainer refuses a value that does not match its own)"
            )
    for name, value in params.items():
        if _is_auto(value) and name not in HF_AUTO:
            raise ValueError(
                f"{_FN}(): {kind} {name} is 'auto', which the HF Trainer does not fill (it "
                f"fills {', '.join(HF_AUTO)}): DeepSpeed would not run it"
            )
    filled = dict(params)
    for name in HF_AUTO:
        if not _is_auto(params.get(name)):
            continue
        fills = f"{kind} {name} is 'auto', which the HF Trainer fills with {HF_AUTO[name]}"
        if name == "warmup_max_lr" and lr is None:
            raise TypeError(f"{_FN}(): {fills}: pass lr=...")
        if name in AUTO_STEPS and name not in auto:
            raise TypeError(f"{_FN}(): {fills}: pass auto={{'{name}': ...}}")
        given = auto.get(name)
        if isinstance(given, str) and given.strip().isdigit():  # as the command line gives it
            given = int(given)
        filled[name] = 0 if name == "warmup_min_lr" else lr if name == "warmup_max_lr" else given
    return filled


# The options DeepSpeed takes as one value per parameter group (``_format_param``).
PER_GROUP: dict[str, tuple[str, ...]] = {
    "WarmupLR": ("warmup_min_lr", "warmup_max_lr"),
    "WarmupDecayLR": ("warmup_min_lr", "warmup_max_lr"),
    "WarmupCosineLR": (),
    "OneCycle": ("cycle_min_lr", "cycle_max_lr", "cycle_min_mom", "cycle_max_mom"),
    "LRRangeTest": ("lr_range_test_min_lr",),
}

Lr = float | list[float] | tuple[float, ...] | None


def _group_count(kind: str, params: Params, lr: Lr) -> int | None:
    """The number of parameter groups the lists give (``None``: no list), checked."""
    lists = {name: v for name, v in params.items() if isinstance(v, (list, tuple))}
    for name in lists:
        if name not in PER_GROUP[kind]:
            allowed = ", ".join(PER_GROUP[kind]) or "none of its options"
            raise ValueError(
                f"{_FN}(): {kind} {name} is a list ({lists[name]!r}); DeepSpeed takes one value "
                f"per parameter group only for {allowed}"
            )
    if isinstance(lr, (list, tuple)):
        lists["lr"] = lr
    sizes = {name: len(v) for name, v in lists.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"{_FN}(): {kind} per-parameter-group lists must have one value per group, got "
            f"lists of different lengths {sizes!r}"
        )
    if 0 in sizes.values():
        raise ValueError(f"{_FN}(): {kind} per-parameter-group lists must not be empty")
    return next(iter(sizes.values()), None)


def _for_group(value: Any, i: int) -> Any:
    return value[i] if isinstance(value, (list, tuple)) else value


def from_deepspeed(
    config: Mapping[str, Any], lr: Lr = None, auto: Mapping[str, int | str] | None = None
) -> dict[str, Schedule | list[Schedule]]:
    """``{"lr": ...}`` (and ``"momentum"`` for OneCycle) from a DeepSpeed ``scheduler`` block or
    a whole DeepSpeed config; ``lr`` is the optimizer's learning rate, read from the whole
    config's ``optimizer`` block when not given (needed by WarmupCosineLR, and by WarmupLR
    without ``warmup_max_lr``). Where DeepSpeed takes a list per parameter group
    (``warmup_min_lr``, ``cycle_max_lr``, ... or a list ``lr``), each key maps to a list with
    one schedule per group, as ``schedalg.torch.Scheduler`` takes it. A config written for the
    HF Trainer has ``"auto"`` values: ``lr`` is its ``learning_rate``, and ``auto`` gives the
    step counts it fills (``{"total_num_steps": N, "warmup_num_steps": W}``, ``HF_AUTO``)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{_FN}(): config must be a dict, got {config!r}")
    optimizer_auto = False
    if "scheduler" in config:
        given = _optimizer_lr(config)
        optimizer_auto = _is_auto(given)
        lr = (None if optimizer_auto else given) if lr is None else lr  # type: ignore[assignment]
        config = config["scheduler"]
        if not isinstance(config, Mapping):
            raise TypeError(f"{_FN}(): the scheduler block must be a dict, got {config!r}")
    block = opt.options(_FN, "the scheduler block", config, {"type": ..., "params": {}})
    kind = opt.pick(_FN, "DeepSpeed scheduler type", block["type"], TYPES)
    defaults, build = TYPES[kind]
    params = _fill_auto(kind, opt.options(_FN, kind, block["params"], defaults), lr, auto or {})
    uses_lr = kind == "WarmupCosineLR" or (kind == "WarmupLR" and params["warmup_max_lr"] is None)
    if lr is None and optimizer_auto and uses_lr:
        raise TypeError(
            f"{_FN}(): {kind} uses the optimizer's lr, which is 'auto': the HF Trainer fills it "
            "with its learning_rate: pass lr=..."
        )
    groups = _group_count(kind, params, lr)
    if groups is None:
        return dict(build(params, lr))  # type: ignore[arg-type]
    each = [
        build({k: _for_group(v, i) for k, v in params.items()}, _for_group(lr, i))
        for i in range(groups)
    ]
    return {key: [schedules[key] for schedules in each] for key in each[0]}
