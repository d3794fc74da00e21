"""timm's learning-rate schedulers (``timm.scheduler``, 1.0.x) as schedalg expressions.

``from_timm`` reads a schedule three ways and returns the learning rate it gives as absolute
values (marked ``absolute(...)``, so ``schedalg.torch.Scheduler`` applies them as they are):

- ``from_timm("cosine", lr=0.1, num_epochs=300, warmup_epochs=5)``: ``create_scheduler_v2``'s
  keyword arguments (``sched`` first), with the optimizer's ``lr``;
- ``from_timm("CosineLRScheduler", lr=0.1, t_initial=300)``: a scheduler class's own arguments;
- ``from_timm(scheduler)``: a constructed scheduler, one expression per param group (their
  ``initial_lr`` and ``lr_scale``), or one when every group follows the same expression.

The value at ``t`` is the lr the optimizer holds for epoch (or update) ``t`` when the scheduler
is driven as timm's ``train.py`` drives it: the value the constructor sets at ``t = 0``, then
what ``step(t)`` (``t_in_epochs``) or ``step_update(t)`` sets. The clock is timm's ``t``: epochs
for a schedule stepped per epoch, updates otherwise; with ``updates_per_epoch=`` an epoch
schedule is read per update (``per_epoch``). Each class is one entry of ``CLASSES`` (its
options and their defaults; its builder is in ``schedalg.importers.timm_curves.BUILDERS``), each
``sched`` name one entry of ``SCHEDS`` (the class ``create_scheduler_v2`` builds, and its
options).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from schedalg.algebra.combinators import per_epoch
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.units import absolute
from schedalg.importers import options as opt
from schedalg.importers import shapes
from schedalg.importers import timm_curves as curves

__all__ = ["CLASSES", "SCHEDS", "from_timm"]

_FN = curves.FN
Options = curves.Options

_COMMON: Options = {
    "warmup_t": 0,
    "warmup_lr_init": 0.0,
    "t_in_epochs": True,
    "noise_range_t": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
}
_CYCLES: Options = {"lr_min": 0.0, "cycle_mul": 1.0, "cycle_decay": 1.0, "cycle_limit": 1}
# One entry per timm scheduler class (timm 1.0.31's signatures, less optimizer and initialize):
# its options with their defaults (``...``: required); its builder is in curves.BUILDERS.
CLASSES: dict[str, Options] = {
    "CosineLRScheduler": {
        "t_initial": ...,
        **_CYCLES,
        "warmup_prefix": False,
        "k_decay": 1.0,
        **_COMMON,
    },
    "TanhLRScheduler": {
        "t_initial": ...,
        "lb": -7.0,
        "ub": 3.0,
        **_CYCLES,
        "warmup_prefix": False,
        **_COMMON,
    },
    "PolyLRScheduler": {
        "t_initial": ...,
        "power": 0.5,
        **_CYCLES,
        "warmup_prefix": False,
        "k_decay": 1.0,
        **_COMMON,
    },
    "StepLRScheduler": {"decay_t": ..., "decay_rate": 1.0, "warmup_prefix": True, **_COMMON},
    "MultiStepLRScheduler": {"decay_t": ..., "decay_rate": 1.0, "warmup_prefix": True, **_COMMON},
    "WSDLRScheduler": {
        "t_initial": ...,
        "decay_t": ...,
        "lr_min": 0.0,
        "stable_fn": "constant",
        "stable_timescale": None,
        "stable_power": 0.5,
        "decay_fn": shapes.ONE_MINUS_SQRT,
        "decay_power": 0.5,
        "decay_ratio": 0.1,
        **_COMMON,
    },
    "PlateauLRScheduler": {
        "decay_rate": 0.1,
        "patience_t": 10,
        "threshold": 1e-4,
        "cooldown_t": 0,
        "warmup_t": 0,
        "warmup_lr_init": 0.0,
        "lr_min": 0.0,
        "mode": "max",
        "noise_range_t": None,
        "noise_type": "normal",
        "noise_pct": 0.67,
        "noise_std": 1.0,
        "noise_seed": None,
    },
}


def _last_cycle_end(o: Options) -> int:
    """The first step at which timm's cycle index fails for ``cycle_mul < 1`` (its clock)."""
    length, mul = o["t_initial"], o["cycle_mul"]
    t = math.floor(length / (1 - mul))
    while t > 0 and 1 - (t - 1) / length * (1 - mul) <= 0:
        t -= 1
    while 1 - t / length * (1 - mul) > 0:
        t += 1
    return t


def _checked(kind: str, o: Options) -> Options:
    """The options every class shares, checked with the class's own names."""
    o = dict(o)
    o["warmup_t"] = curves.count(kind, "warmup_t", o["warmup_t"])
    o["warmup_lr_init"] = curves.real(kind, "warmup_lr_init", o["warmup_lr_init"], at_least=0)
    if "t_in_epochs" in o:
        o["t_in_epochs"] = opt.flag(_FN, kind, "t_in_epochs", o["t_in_epochs"])
    if "t_initial" in o:
        o["t_initial"] = curves.count(kind, "t_initial", o["t_initial"], minimum=1)
    if "cycle_mul" in o:
        o["lr_min"] = curves.real(kind, "lr_min", o["lr_min"], at_least=0)
        o["cycle_mul"] = curves.real(kind, "cycle_mul", o["cycle_mul"], above=0)
        if o["cycle_mul"] < 1:
            raise ValueError(
                f"{_FN}(): {kind} cycle_mul must be >= 1, got {o['cycle_mul']!r}: shorter and "
                f"shorter cycles end at step {_last_cycle_end(o)} of the cycle clock, where "
                "timm's cycle index takes the logarithm of a number <= 0 and raises ValueError "
                "at every step from then on"
            )
        o["cycle_decay"] = curves.real(kind, "cycle_decay", o["cycle_decay"], at_least=0)
        o["cycle_limit"] = curves.count(kind, "cycle_limit", o["cycle_limit"])
    for name in ("k_decay", "power", "lb", "ub"):
        if name in o:
            o[name] = curves.real(kind, name, o[name])
    if "k_decay" in o and not o["k_decay"] > 0:
        raise ValueError(f"{_FN}(): {kind} k_decay must be > 0, got {o['k_decay']!r}")
    return o


def _group(kind: str, o: Options, base: float, scale: float) -> Schedule:
    """One param group's lr: ``lr_scale * (timm's value)``."""
    if kind == "PlateauLRScheduler":
        return curves.plateau_lr(o, base, scale)
    schedule = curves.from_construction(
        curves.BUILDERS[kind](o, base), o["warmup_lr_init"] if o["warmup_t"] else base
    )
    return curves.times(scale, curves.noisy(kind, o, schedule))


def _finish(o: Options, schedule: Schedule, updates_per_epoch: Any) -> Schedule:
    if updates_per_epoch and o.get("t_in_epochs", True):
        length = opt.count(_FN, "the schedule", "updates_per_epoch", updates_per_epoch, minimum=1)
        schedule = per_epoch(schedule, length)
    return absolute(schedule)


# -- create_scheduler_v2 -------------------------------------------------------------------------

_V2: Options = {
    "sched": "cosine",
    "num_epochs": 300,
    "decay_epochs": None,
    "decay_milestones": (90, 180, 270),
    "cooldown_epochs": 0,
    "patience_epochs": 10,
    "decay_rate": 0.1,
    "min_lr": 0.0,
    "warmup_lr": 1e-5,
    "warmup_epochs": 0,
    "warmup_prefix": False,
    "noise": None,
    "noise_pct": 0.67,
    "noise_std": 1.0,
    "noise_seed": 42,
    "cycle_mul": 1.0,
    "cycle_decay": 0.1,
    "cycle_limit": 1,
    "k_decay": 1.0,
    "decay_fn": None,
    "stable_timescale": None,
    "plateau_mode": "max",
    "step_on_epochs": True,
    "updates_per_epoch": 0,
}
_V2_NAME = "create_scheduler_v2"
Derived = dict[str, Any]


def _v2_cycles(kind: str, p: Options, c: Derived, **more: Any) -> tuple[str, Options]:
    cycles = {k: p[k] for k in ("cycle_mul", "cycle_decay", "cycle_limit")}
    return kind, {"t_initial": c["t"], "lr_min": p["min_lr"], **cycles, **c["warmup"], **more}


def _v2_wsd(sched: str, p: Options, c: Derived) -> tuple[str, Options]:
    span = c["t"] if p["warmup_prefix"] else c["t"] - c["warmup"]["warmup_t"]
    decay = p["decay_epochs"] if p["decay_epochs"] is not None else 0.2
    decay_t = decay * span if 0 < decay < 1 else c["decay_t"]
    decay_t = round(decay_t)
    if not 0 < decay_t <= span:
        raise ValueError(
            f"{_FN}(): {sched} needs 0 < decay_epochs <= num_epochs"
            f"{'' if p['warmup_prefix'] else ' - warmup_epochs'}, got decay {decay_t} and "
            f"stable + decay length {span}"
        )
    warm = {k: v for k, v in c["warmup"].items() if k != "warmup_prefix"}
    return "WSDLRScheduler", {
        "t_initial": span,
        "decay_t": decay_t,
        "lr_min": p["min_lr"],
        "stable_fn": "rsqrt" if sched == "rsqrt" else "constant",
        "stable_timescale": c["timescale"],
        "decay_fn": p["decay_fn"] or (shapes.LINEAR if sched == "rsqrt" else shapes.ONE_MINUS_SQRT),
        **warm,
    }


def _v2_plateau(p: Options, c: Derived) -> tuple[str, Options]:
    if not p["step_on_epochs"]:
        raise ValueError(f"{_FN}(): plateau steps per epoch only (step_on_epochs=True)")
    warm = {k: v for k, v in c["warmup"].items() if k != "warmup_prefix"}
    return "PlateauLRScheduler", {
        "decay_rate": p["decay_rate"],
        "patience_t": p["patience_epochs"],
        "cooldown_t": 0,
        **warm,
        "lr_min": p["min_lr"],
        "mode": p["plateau_mode"],
    }


_V2Builder = Callable[[Options, Derived], tuple[str, Options]]

# One entry per create_scheduler_v2 ``sched`` name: the timm class and its options.
SCHEDS: dict[str, _V2Builder] = {
    "cosine": lambda p, c: _v2_cycles("CosineLRScheduler", p, c, k_decay=p["k_decay"]),
    "tanh": lambda p, c: _v2_cycles("TanhLRScheduler", p, c),
    "poly": lambda p, c: _v2_cycles(
        "PolyLRScheduler", p, c, power=p["decay_rate"], k_decay=p["k_decay"]
    ),
    "step": lambda p, c: (
        "StepLRScheduler",
        {"decay_t": c["decay_t"], "decay_rate": p["decay_rate"], **c["warmup"]},
    ),
    "constant": lambda p, c: (
        "StepLRScheduler",
        {"decay_t": 1, "decay_rate": 1.0, **c["warmup"]},
    ),
    "multistep": lambda p, c: (
        "MultiStepLRScheduler",
        {"decay_t": c["milestones"], "decay_rate": p["decay_rate"], **c["warmup"]},
    ),
    "plateau": _v2_plateau,
    "wsd": lambda p, c: _v2_wsd("wsd", p, c),
    "rsqrt": lambda p, c: _v2_wsd("rsqrt", p, c),
}


def _v2_noise(p: Options, length: int) -> Any:
    value = p["noise"]
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        points = [curves.real(_V2_NAME, "noise", n) * length for n in value]
        return points[0] if len(points) == 1 else points
    return curves.real(_V2_NAME, "noise", value) * length


def _from_v2(p: Options) -> tuple[str, Options] | None:
    """``create_scheduler_v2``'s arithmetic: the class it builds and that class's options."""
    sched = opt.pick(_FN, "timm sched", p["sched"], [*SCHEDS, "none"])
    if sched == "none":
        return None
    n = _V2_NAME
    length = curves.count(n, "num_epochs", p["num_epochs"], minimum=1)
    warm = curves.count(n, "warmup_epochs", p["warmup_epochs"])
    decay = p["decay_epochs"]
    decay = (0.2 if sched in ("wsd", "rsqrt") else 90) if decay is None else decay
    decay = curves.real(n, "decay_epochs", decay, above=0)
    milestones = [curves.real(n, "decay_milestones", m) for m in p["decay_milestones"]]
    timescale = p["stable_timescale"]
    if not opt.flag(_FN, n, "step_on_epochs", p["step_on_epochs"]):
        upe = curves.count(n, "updates_per_epoch", p["updates_per_epoch"])
        if not upe:
            raise ValueError(
                f"{_FN}(): {n} updates_per_epoch must be set (the number of batches per epoch) "
                "for step_on_epochs=False"
            )
        length, warm, decay = length * upe, warm * upe, decay * upe
        milestones = [m * upe for m in milestones]
        timescale = None if timescale is None else timescale * upe
    c: Derived = {
        "t": length,
        "decay_t": decay,
        "milestones": milestones,
        "timescale": timescale,
        "warmup": {
            "warmup_lr_init": p["warmup_lr"],
            "warmup_t": warm,
            "warmup_prefix": opt.flag(_FN, n, "warmup_prefix", p["warmup_prefix"]),
        },
    }
    kind, options = SCHEDS[sched](p, c)
    noisy = {
        "noise_range_t": _v2_noise(p, length),
        "noise_pct": p["noise_pct"],
        "noise_std": p["noise_std"],
        "noise_seed": p["noise_seed"],
    }
    options = {**options, **noisy, "t_in_epochs": p["step_on_epochs"]}
    if kind == "PlateauLRScheduler":
        del options["t_in_epochs"]
    return kind, opt.options(_FN, kind, options, CLASSES[kind])


# -- a constructed scheduler ---------------------------------------------------------------------

_METHODS = ("_get_lr", "_get_values", "step", "step_update", "_add_noise", "update_groups")


def _class_of(scheduler: Any) -> str:
    for cls in type(scheduler).__mro__:
        if cls.__name__ in CLASSES and cls.__module__.startswith("timm."):
            changed = [
                m
                for m in _METHODS
                if getattr(type(scheduler), m, None) is not getattr(cls, m, None)
            ]
            if changed:
                raise TypeError(
                    f"{_FN}(): {type(scheduler).__name__} overrides {cls.__name__}.{changed[0]}: "
                    "its values are not timm's"
                )
            return cls.__name__
    raise TypeError(
        f"{_FN}(): expected a timm scheduler ({', '.join(CLASSES)}), a sched name or a class "
        f"name, got {scheduler!r}"
    )


def _read(kind: str, scheduler: Any) -> Options:
    defaults = CLASSES[kind]
    if kind == "PlateauLRScheduler":
        torch_plateau = scheduler.lr_scheduler
        if torch_plateau.threshold_mode != "rel" or torch_plateau.eps != 1e-8:
            raise ValueError(f"{_FN}(): {kind} with a changed ReduceLROnPlateau is not timm's")
        names = {"decay_rate": "factor", "patience_t": "patience", "cooldown_t": "cooldown"}
        read = {
            k: getattr(torch_plateau, names.get(k, k))
            for k in ("decay_rate", "patience_t", "threshold", "cooldown_t", "mode")
        }
        read["lr_min"] = torch_plateau.min_lrs[0]
        others = {k: getattr(scheduler, k) for k in defaults if k not in read}
        return {**others, **read}
    o = {k: getattr(scheduler, k) for k in defaults}
    o["noise_type"] = scheduler.noise_type
    return o


def _from_scheduler(scheduler: Any, updates_per_epoch: Any) -> Schedule | tuple[Schedule, ...]:
    kind = _class_of(scheduler)
    o = _checked(kind, _read(kind, scheduler))
    groups = scheduler.optimizer.param_groups
    schedules = []
    for base, group in zip(scheduler.base_values, groups):
        lr = curves.real(kind, "initial_lr", base)
        scale = curves.real(kind, "lr_scale", group.get("lr_scale", 1.0))
        schedules.append(_finish(o, _group(kind, o, lr, scale), updates_per_epoch))
    if all(s == schedules[0] for s in schedules):
        return schedules[0]
    return tuple(schedules)


def _class_options(
    source: str | None, options: Options, updates_per_epoch: Any
) -> tuple[str, Options] | None:
    """The class and its options from a class name's or ``create_scheduler_v2``'s arguments."""
    if source in CLASSES:
        return source, opt.options(_FN, source, options, CLASSES[source])
    if source is not None and "sched" in options:
        raise TypeError(f"{_FN}(): sched given twice ({source!r} and {options['sched']!r})")
    given = {**options, "sched": options.get("sched", source or "cosine")}
    if updates_per_epoch is not None:
        given["updates_per_epoch"] = updates_per_epoch
    return _from_v2(opt.options(_FN, _V2_NAME, given, _V2))


def from_timm(
    source: Any = None,
    /,
    *,
    lr: float | None = None,
    updates_per_epoch: int | None = None,
    **options: Any,
) -> Schedule | tuple[Schedule, ...]:
    """timm's learning rate as an absolute expression (see the module's docstring).

    ``source`` is a constructed timm scheduler (then one expression per param group, or one
    when they agree), a ``create_scheduler_v2`` ``sched`` name (default ``'cosine'``, also as
    ``sched=``) with that function's keyword arguments, or a scheduler class name with the
    class's arguments; ``lr`` is the optimizer's learning rate for the last two.
    """
    if source is not None and not isinstance(source, str):
        if options or lr is not None:
            raise TypeError(
                f"{_FN}(): a constructed scheduler takes no options but updates_per_epoch"
            )
        return _from_scheduler(source, updates_per_epoch)
    if lr is None:
        raise TypeError(f"{_FN}(): lr (the optimizer's learning rate) must be given with options")
    base = curves.real("the optimizer", "lr", lr, at_least=0)
    built = _class_options(source, options, updates_per_epoch)
    if built is None:
        return absolute(constant(base))
    kind, o = built
    o = _checked(kind, o)
    return _finish(o, _group(kind, o, base, 1.0), updates_per_epoch)
