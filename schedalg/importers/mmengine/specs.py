"""A ``param_scheduler`` config as ``Spec``s: MMEngine's Runner defaults (``end``, the step
unit), ``convert_to_iter_based`` (``build_iter_from_epoch``) and each kind's own checks, all read
from the kind's table entry."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.importers.mmengine import kinds  # noqa: F401 - importing it fills TYPES
from schedalg.importers.mmengine.base import FN, INF, TYPES, Kind, Loop, Spec, as_list, integral

__all__ = ["check_types", "normalise"]

_COMMON = {"begin", "end", "by_epoch", "last_step", "verbose", "convert_to_iter_based"}


def normalise(param_scheduler: Any, loop: Loop) -> list[Spec]:
    """Every scheduler of ``param_scheduler`` (a dict or a list of dicts), checked, in order."""
    configs = _configs(param_scheduler)
    _check_loop(loop)
    specs = []
    for index, cfg in enumerate(configs):
        if not isinstance(cfg, Mapping):
            raise TypeError(
                f"{FN}(): param_scheduler[{index}] must be a dict with a 'type', got {cfg!r}"
            )
        specs.append(_spec(index, dict(cfg), loop))
    return specs


def check_types(param_scheduler: Any) -> None:
    """Refuse a scheduler whose ``type`` is not one of MMEngine's, before anything else about the
    config is read (the type is the first thing a user fixes)."""
    for index, cfg in enumerate(_configs(param_scheduler)):
        if isinstance(cfg, Mapping):
            _type_name(index, cfg)


def _type_name(index: int, cfg: Mapping[str, Any]) -> str:
    name = type_name(cfg.get("type", None))
    if not isinstance(name, str) or name not in TYPES:
        hint = nearest(name, TYPES) if isinstance(name, str) else ""
        raise ValueError(
            f"{FN}(): param_scheduler[{index}]: type must be one of MMEngine's parameter "
            f"schedulers (e.g. 'LinearLR', 'CosineAnnealingMomentum', "
            f"'PolyParamScheduler'), got {name!r}{hint}"
        )
    return name


def _configs(param_scheduler: Any) -> list[Any]:
    if isinstance(param_scheduler, Mapping):
        if "type" not in param_scheduler:
            raise ValueError(
                f"{FN}(): param_scheduler must be a dict with a 'type' or a list of them; "
                f"a dict keyed by optimizer name (several optimizers) must be converted one "
                f"optimizer at a time, got keys {sorted(map(str, param_scheduler))!r}"
            )
        configs = [param_scheduler]
    elif isinstance(param_scheduler, (list, tuple)):
        configs = list(param_scheduler)
    else:
        raise TypeError(
            f"{FN}(): param_scheduler must be a dict or a list of dicts, got {param_scheduler!r}"
        )
    if not configs:
        raise ValueError(f"{FN}(): param_scheduler must not be empty, got {param_scheduler!r}")
    return configs


def _check_loop(loop: Loop) -> None:
    for name in ("epoch_length", "max_epochs", "max_iters"):
        value = getattr(loop, name)
        if value is not None:
            check.integer(FN, name, value, minimum=1)
    if loop.max_epochs is not None and loop.max_iters is not None:
        raise ValueError(
            f"{FN}(): give max_epochs (EpochBasedTrainLoop) or max_iters (IterBasedTrainLoop), "
            f"not both, got max_epochs={loop.max_epochs!r}, max_iters={loop.max_iters!r}"
        )


def _spec(index: int, cfg: dict[str, Any], loop: Loop) -> Spec:
    label = f"param_scheduler[{index}] ({cfg.get('type')})"
    kind, param = _kind_and_param(index, label, cfg)
    args = {**kind.defaults, **{k: v for k, v in cfg.items() if k in kind.defaults}}
    by_epoch = cfg.get("by_epoch", True)
    convert = cfg.get("convert_to_iter_based", False)
    check.flag(FN, f"{label}: by_epoch", by_epoch)
    check.flag(FN, f"{label}: convert_to_iter_based", convert)
    if cfg.get("last_step", -1) != -1:
        raise ValueError(
            f"{FN}(): {label}: last_step={cfg['last_step']!r} resumes a scheduler from a state "
            "this config does not hold; only last_step=-1 (a fresh run) can be expressed"
        )
    begin, end = _window(label, cfg, by_epoch, loop)
    if convert:
        begin, end = _to_iterations(label, kind, args, begin, end, by_epoch, loop)
        by_epoch = False
    if not end > begin:
        raise ValueError(
            f"{FN}(): {label}: end must be larger than begin, got begin={begin!r}, end={end!r}"
        )
    begin, end = integral(label, "begin", begin), integral(label, "end", end)
    if begin < 0:
        raise ValueError(f"{FN}(): {label}: begin must be >= 0, got {begin!r}")
    unit = _unit(label, by_epoch, loop)
    spec = Spec(index, label, kind, param, unit, begin, end, args, epoch=by_epoch)
    return kind.validate(spec, loop.default_end(by_epoch))


def _kind_and_param(index: int, label: str, cfg: dict[str, Any]) -> tuple[Kind, str]:
    """The table entry of the config's type and the parameter it schedules; pops both keys and
    checks the remaining ones are the kind's arguments."""
    name = _type_name(index, cfg)
    cfg.pop("type")
    cfg.pop("_scope_", None)  # MMEngine's registry scope: it does not change the scheduler
    kind, param = TYPES[name]
    if param is None:
        param = cfg.pop("param_name", None)
        if not isinstance(param, str) or not param:
            raise ValueError(f"{FN}(): {label}: param_name must be a parameter name, got {param!r}")
    _check_arguments(label, name, kind, param, cfg)
    return kind, param


def type_name(value: Any) -> Any:
    """A ``type`` as MMEngine's registry accepts it, as the plain registered name: a class
    (``type=LinearLR`` in new-style configs) by its name, a dotted import path
    (``mmengine.optim.scheduler.lr_scheduler.LinearLR``, as a new-style config writes it) or a
    scoped name (``mmdet.QuadraticWarmupLR``) of an OpenMMLab package by its last part. Anything
    else (``torch.optim.lr_scheduler.LinearLR`` is torch's class, not MMEngine's) is returned as
    it is, for the caller to refuse."""
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, str) and "." in value and value.startswith("mm"):
        return value.rsplit(".", 1)[1]
    return value


def _check_arguments(label: str, name: str, kind: Kind, param: str, cfg: dict[str, Any]) -> None:
    allowed = _COMMON | set(kind.defaults)
    unknown = set(cfg) - allowed
    if unknown:
        first = sorted(unknown)[0]
        hint = nearest(first, allowed).removeprefix("; ")
        raise TypeError(
            f"{FN}(): {label}: unexpected argument(s) {sorted(unknown)!r}; "
            f"{name} takes {sorted(allowed)!r}{' (' + hint + ')' if hint else ''}"
        )
    for required in kind.required:
        if required not in cfg:
            raise TypeError(f"{FN}(): {label}: missing required argument {required!r}")
    if kind.only_param is not None and param != kind.only_param:
        raise ValueError(
            f"{FN}(): {label}: {kind.name} only schedules {kind.only_param!r}, "
            f"got param_name={param!r}"
        )


def _window(label: str, cfg: dict[str, Any], by_epoch: bool, loop: Loop) -> tuple[Any, Any]:
    """``begin`` and ``end`` as configured, ``end`` defaulted as MMEngine's Runner does."""
    begin = cfg.get("begin", 0)
    end = cfg.get("end")
    if end is None:
        end = loop.default_end(by_epoch)
        if end is None:
            needed = "max_epochs" if by_epoch else "max_iters (or max_epochs and epoch_length)"
            raise ValueError(
                f"{FN}(): {label} has no end; MMEngine's Runner defaults it to the loop's "
                f"{needed}: pass it, or give the scheduler an explicit end"
            )
    for key, value in (("begin", begin), ("end", end)):
        if not check.is_real(value):
            raise TypeError(f"{FN}(): {label}: {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            integral(label, key, value)  # raises, explaining MMEngine's end=INF
    return begin, end


def _to_iterations(
    label: str, kind: Kind, args: dict[str, Any], begin: Any, end: Any, by_epoch: bool, loop: Loop
) -> tuple[Any, Any]:
    """MMEngine's ``build_iter_from_epoch``: the window and the kind's step counts (its
    ``step_counts`` and ``step_lists``, in place in ``args``) times the epoch length."""
    if kind.not_convertible is not None:
        raise ValueError(f"{FN}(): {label}: {kind.not_convertible}")
    if not by_epoch:
        raise ValueError(
            f"{FN}(): {label}: convert_to_iter_based=True needs by_epoch=True (MMEngine asserts it)"
        )
    length = loop.epoch_length
    if length is None:
        raise ValueError(f"{FN}(): {label}: convert_to_iter_based=True needs epoch_length")
    for name in kind.step_counts:
        if args[name] is not None:
            args[name] = args[name] * length
    for name in kind.step_lists:
        args[name] = [m * length for m in as_list(label, name, args[name])]
    return int(begin * length), (end if end == INF else int(end * length))


def _unit(label: str, by_epoch: bool, loop: Loop) -> int:
    """Iterations per step of the scheduler."""
    if not by_epoch:
        return 1
    if loop.max_iters is not None:
        # IterBasedTrainLoop calls after_train_epoch once, after the last iteration.
        return loop.max_iters
    if loop.epoch_length is None:
        raise ValueError(f"{FN}(): {label} steps by epoch: pass epoch_length")
    return loop.epoch_length
