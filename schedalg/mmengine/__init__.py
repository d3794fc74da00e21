"""MMEngine ``param_scheduler`` configs as schedalg expressions, with MMEngine's exact curves.

``from_config(param_scheduler, epoch_length=L, max_epochs=E)`` returns one expression per
scheduled parameter (``'lr'``, ``'momentum'``, ``'weight_decay'``, ...), in iterations: the value
at iteration ``i`` is the value MMEngine's ``ParamSchedulerHook`` has the optimizer use for
iteration ``i`` (iteration schedulers stepped after every iteration, epoch schedulers after each
epoch's last iteration, in config order). ``load_config`` / ``read_settings`` / ``read_config``
read a config file (``_base_`` and ``read_base()`` inheritance included) as data, never running
it (:mod:`schedalg.mmengine.configfile`).

How MMEngine computes, and how it is mapped (``docs/mmengine-semantics.md``):

- Every scheduler updates the *current* value of the parameter, so schedulers compose in time
  order. The multiplicative ones (Constant, Linear, Step, MultiStep, Exponential, and
  CosineAnnealing / Poly annealing to 0) compose as a product of their clipped closed forms,
  whatever their overlaps: ``chain(clip(f, begin, end), per_epoch(clip(g, b2, e2), L), ...)``.
- The others are affine in the current value (CosineAnnealing / Poly with an ``eta_min``, Cosine
  run past ``T_max``) or absolute (OneCycle, CosineRestart). One that runs alone while it changes
  the value is a piece of a ``sequence``. Affine updates that interleave with another
  scheduler's changes are the exact scan ``affine_steps`` of every update in the hook's order
  (an absolute update is one with ratio 0); additive ones (a cosine past its ``T_max``, mmdet's
  QuadraticWarmup) that interleave are a ``ValueError`` saying so.
- ReduceOnPlateau decides from validation metrics: it is ``schedalg.plateau``'s node.

Values are multipliers of the optimizer's original value (``initial_lr``), the adapter's
convention. Configs with absolute numbers in them (``eta_min`` != 0, OneCycle's ``eta_max``)
need that original value, ``base={'lr': 0.1}``, to express them as a multiplier; with
``absolute=True`` every expression is the absolute value instead (``base`` required for all).

The table
---------
Everything about one MMEngine scheduler kind lives in one entry of the table
(:mod:`schedalg.mmengine.kinds`): a subclass of :class:`schedalg.mmengine.base.Kind` decorated
with ``@entry``. Its class attributes say which arguments it takes (``defaults``, ``required``),
which of them count steps that ``convert_to_iter_based`` multiplies by the epoch length
(``step_counts``, ``step_lists``), the parameter it is limited to (``only_param``), whether
MMEngine registers a ``...Momentum`` for it, and how refusals describe it; its methods give its
checks (``validate``), its form (``multiplicative`` with its ``factor``, or the affine/absolute
``curve``), where it changes the value (``changes_from``, ``last_change``, ``settles``) and the
remedy offered when it overlaps another scheduler. The rest of the package never branches on a kind:
:mod:`~schedalg.mmengine.specs` turns configs into specs (``Spec``) by reading the entry, and
:mod:`~schedalg.mmengine.timeline` composes one parameter's specs by asking it.

Adding an MMEngine type is one entry, in the module of ``kinds/`` that fits it (a new module
also needs its import in ``kinds/__init__.py``); this one, in ``kinds/multiplicative.py``,
makes ``HalvingLR``, ``HalvingMomentum`` and ``HalvingParamScheduler``::

    @entry
    class Halving(Multiplicative):
        name = "Halving"
        defaults = arguments(every=None)
        required = ("every",)
        step_counts = ("every",)

        def validate(self, spec, horizon):
            spec.args["every"] = integral(spec.label, "every", spec.args["every"])
            return spec

        def changes_from(self, spec, t):
            every = spec.args["every"]
            return -(-max(t, 1) // every) * every

        def factor(self, spec):
            return step_decay(spec.args["every"], 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedalg import Schedule, chain, constant
from schedalg import _validate as check
from schedalg.mmengine.base import FN, INF, Loop, Spec
from schedalg.mmengine.configfile import load_config, read_config, read_settings
from schedalg.mmengine.specs import normalise, type_name
from schedalg.mmengine.timeline import ParameterTimeline
from schedalg.node import nearest
from schedalg.units import absolute as _absolute

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
