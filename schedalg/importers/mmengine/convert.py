"""``from_config``: a ``param_scheduler`` config as one expression per scheduled parameter, and
``loop_arguments``, the run's length read from ``train_cfg`` (the package docstring says how)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.algebra.units import absolute as _absolute
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.importers.mmengine.base import FN, INF, Loop, Spec
from schedalg.importers.mmengine.configfile import load_config, read_config, read_settings
from schedalg.importers.mmengine.specs import normalise, type_name
from schedalg.importers.mmengine.timeline import ParameterTimeline

__all__ = [
    "INF",
    "from_config",
    "load_config",
    "loop_arguments",
    "read_config",
    "read_settings",
]


def from_config(
    param_scheduler: Any,
    *,
    epoch_length: int | None = None,
    max_epochs: int | None = None,
    max_iters: int | None = None,
    base: Mapping[str, float] | None = None,
    absolute: bool = False,
) -> dict[str, Schedule]:
    """MMEngine's ``param_scheduler`` (a dict or a list of dicts) as one expression per parameter.

    The expressions are in iterations: the value at iteration ``i`` is the value MMEngine uses
    for training iteration ``i``. ``epoch_length`` is ``len(train_dataloader)``; ``max_epochs``
    (``EpochBasedTrainLoop``) or ``max_iters`` (``IterBasedTrainLoop``) give the Runner's default
    ``end`` (and under the iteration loop, epoch schedulers step once, after the last iteration).

    Each expression is a multiplier of the parameter's original value (the optimizer's lr, its
    momentum or ``betas[0]``, ...). Absolute numbers in the config (``eta_min`` != 0, OneCycle's
    ``eta_max``) need that value: ``base={'lr': 0.1}``. ``absolute=True`` returns absolute values
    (``base`` then needed for every parameter). Raises ``ValueError``/``TypeError`` for configs
    MMEngine refuses and for those whose curve has no exact expression, saying why.
    """
    check.flag(FN, "absolute", absolute)
    bases = _bases(base)
    loop = Loop(epoch_length, max_epochs, max_iters)
    groups: dict[str, list[Spec]] = {}
    for spec in normalise(param_scheduler, loop):
        groups.setdefault(spec.param, []).append(spec)
    result = {}
    for name, group in groups.items():
        if absolute and name not in bases:
            raise ValueError(
                f"{FN}(): absolute=True needs the original {name}: base={{{name!r}: <value>}}, "
                f"got base={dict(bases)!r}"
            )
        expr = _expression(name, group, bases.get(name), loop)
        result[name] = _absolute(chain(constant(bases[name]), expr)) if absolute else expr
    return result


def _expression(name: str, group: list[Spec], base: float | None, loop: Loop) -> Schedule:
    """One parameter's expression, a multiplier of ``base``."""
    driven = [s for s in group if s.kind.metric_driven]
    if driven:
        return driven[0].kind.metric_node(driven[0], group, base, loop)
    return ParameterTimeline(name, group, base).compile()


def _bases(base: Mapping[str, float] | None) -> dict[str, float]:
    if base is None:
        return {}
    if not isinstance(base, Mapping):
        raise TypeError(f"{FN}(): base must be a dict of parameter name -> value, got {base!r}")
    out = {}
    for name, value in base.items():
        out[name] = check.real(FN, f"base[{name!r}]", value)
        if out[name] == 0:
            raise ValueError(f"{FN}(): base[{name!r}] must not be 0 (it divides), got {value!r}")
    return out


_LOOPS = ("EpochBasedTrainLoop", "IterBasedTrainLoop")


def loop_arguments(train_cfg: Mapping[str, Any] | None) -> dict[str, int]:
    """``max_epochs=`` or ``max_iters=`` for ``from_config`` from a ``train_cfg`` dict."""
    if not train_cfg:
        return {}
    by_epoch = train_cfg.get("by_epoch")
    loop = type_name(train_cfg.get("type"))
    if loop is not None and loop not in _LOOPS:
        raise ValueError(
            f"loop_arguments(): train_cfg type must be one of {sorted(_LOOPS)!r} (plain, dotted "
            f"or scoped), got {train_cfg.get('type')!r}{nearest(str(loop), _LOOPS)}"
        )
    iter_loop = by_epoch is False or loop == "IterBasedTrainLoop"
    key = "max_iters" if iter_loop else "max_epochs"
    value = train_cfg.get(key)
    if value is None:
        return {}
    return {key: check.integer("loop_arguments", f"train_cfg {key}", value, minimum=1)}
