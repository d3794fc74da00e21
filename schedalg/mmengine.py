"""MMEngine ``param_scheduler`` configs as schedalg expressions, with MMEngine's exact curves.

``from_config(param_scheduler, epoch_length=L, max_epochs=E)`` returns one expression per
scheduled parameter (``'lr'``, ``'momentum'``, ``'weight_decay'``, ...), in iterations: the value
at iteration ``i`` is the value MMEngine's ``ParamSchedulerHook`` has the optimizer use for
iteration ``i`` (iteration schedulers stepped after every iteration, epoch schedulers after each
epoch's last iteration, in config order).

How MMEngine computes, and how it is mapped (``reference/mmengine_semantics.md``):

- Every scheduler updates the *current* value of the parameter, so schedulers compose in time
  order. The multiplicative ones (Constant, Linear, Step, MultiStep, Exponential, and
  CosineAnnealing / Poly annealing to 0) compose as a product of their clipped closed forms,
  whatever their overlaps: ``chain(clip(f, begin, end), per_epoch(clip(g, b2, e2), L), ...)``.
- The others are affine in the current value (CosineAnnealing / Poly with an ``eta_min``, Cosine
  run past ``T_max``) or absolute (OneCycle, CosineRestart). Each must run alone while it changes
  the value (other schedulers may be active but must not change the value then); it starts from
  the value the schedulers before it left, and the schedulers after it continue from the value it
  leaves. The result is a ``sequence`` of pieces. An affine scheduler whose changes interleave
  with another's has no closed form: that is a ``ValueError`` that says so, never another curve.

Values are multipliers of the optimizer's original value (``initial_lr``), the adapter's
convention. Configs with absolute numbers in them (``eta_min`` != 0, OneCycle's ``eta_max``)
need that original value, ``base={'lr': 0.1}``, to express them as a multiplier; with
``absolute=True`` every expression is the absolute value instead (``base`` required for all).
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from schedalg import (
    Schedule,
    chain,
    clip,
    constant,
    cosine,
    exponential,
    linear,
    multistep,
    one_cycle,
    per_epoch,
    polynomial,
    sequence,
    shift,
    step_decay,
)
from schedalg import _validate as check

__all__ = ["INF", "from_config", "read_config", "read_settings"]

INF = int(1e9)  # MMEngine's default ``end``: treated as "never ends" for holds
_FN = "from_config"

_KINDS = (
    "Constant",
    "Linear",
    "Step",
    "MultiStep",
    "Exponential",
    "CosineAnnealing",
    "Poly",
    "OneCycle",
    "CosineRestart",
    "ReduceOnPlateau",
)
_COMMON = {"begin", "end", "by_epoch", "last_step", "verbose", "convert_to_iter_based"}
_ARGS: dict[str, dict[str, Any]] = {
    "Constant": {"factor": 1.0 / 3},
    "Linear": {"start_factor": 1.0 / 3, "end_factor": 1.0},
    "Step": {"step_size": None, "gamma": 0.1},
    "MultiStep": {"milestones": None, "gamma": 0.1},
    "Exponential": {"gamma": None},
    "CosineAnnealing": {"T_max": None, "eta_min": None, "eta_min_ratio": None},
    "Poly": {"eta_min": 0.0, "power": 1.0},
    "OneCycle": {
        "eta_max": 0.0,
        "total_steps": None,
        "pct_start": 0.3,
        "anneal_strategy": "cos",
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": False,
    },
    "CosineRestart": {
        "periods": None,
        "restart_weights": (1,),
        "eta_min": None,
        "eta_min_ratio": None,
    },
    "ReduceOnPlateau": {
        "monitor": "loss",
        "rule": "less",
        "factor": 0.1,
        "patience": 10,
        "threshold": 1e-4,
        "threshold_rule": "rel",
        "cooldown": 0,
        "min_value": 0.0,
        "eps": 1e-8,
    },
}
_REQUIRED = {"Step": ("step_size",), "MultiStep": ("milestones",), "Exponential": ("gamma",)}


def _type_table() -> dict[str, tuple[str, str | None]]:
    """Registered type name -> (kind, fixed parameter name or None for ``param_name=``)."""
    table: dict[str, tuple[str, str | None]] = {}
    for kind in _KINDS:
        table[f"{kind}LR"] = (kind, "lr")
        table[f"{kind}ParamScheduler"] = (kind, None)
        if kind != "OneCycle":
            table[f"{kind}Momentum"] = (kind, "momentum")
    return table


_TYPES = _type_table()


# -- normalised scheduler specs -----------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """One scheduler after MMEngine's Runner defaults and ``build_iter_from_epoch``."""

    index: int
    label: str
    kind: str
    param: str
    unit: int  # iterations per own step: 1 (iteration-based) or the epoch length
    begin: int
    end: int
    args: dict[str, Any]
    epoch: bool = False

    def key(self, g: int) -> tuple[int, int, float]:
        """Order of this scheduler's step ``g`` among all hook calls: (iteration, phase, index).

        Construction (iteration 0) runs in config order; later, at iteration ``i`` the
        iteration schedulers' ``after_train_iter`` of iteration ``i - 1`` comes before the epoch
        schedulers' ``after_train_epoch``.
        """
        position = g * self.unit
        phase = 0 if position == 0 else (2 if self.epoch else 1)
        return (position, phase, self.index)

    @property
    def length(self) -> int:
        """Number of in-window steps (local t runs 0 .. length - 1)."""
        return self.end - self.begin

    def fail(self, message: str, error: type = ValueError) -> Exception:
        return error(f"{_FN}(): {self.label}: {message}")


def _label(index: int, cfg: Mapping[str, Any]) -> str:
    return f"param_scheduler[{index}] ({cfg.get('type')})"


def _integral(spec_label: str, name: str, value: Any) -> int:
    """MMEngine steps are integers; a float that is one is accepted (JSON writes 12.0)."""
    if isinstance(value, bool):
        raise TypeError(
            f"{_FN}(): {spec_label}: {name} must be an integer number of steps, got {value!r} "
            "(a boolean)"
        )
    if check.is_integer(value):
        return int(value)
    if check.is_real(value) and not math.isfinite(value):
        raise ValueError(
            f"{_FN}(): {spec_label}: {name} must be a finite number of steps, got {value!r} "
            f"(a scheduler that never ends leaves end out under no loop, or uses MMEngine's "
            f"end=INF={INF})"
        )
    if check.is_real(value) and float(value).is_integer():
        return int(value)
    raise ValueError(
        f"{_FN}(): {spec_label}: {name} must be an integer number of steps here, got {value!r} "
        "(a fractional step never matches an integer step counter, so it is not supported)"
    )


def _normalise(
    param_scheduler: Any,
    epoch_length: int | None,
    max_epochs: int | None,
    max_iters: int | None,
) -> list[_Spec]:
    if isinstance(param_scheduler, Mapping):
        if "type" not in param_scheduler:
            raise ValueError(
                f"{_FN}(): param_scheduler must be a dict with a 'type' or a list of them; "
                f"a dict keyed by optimizer name (several optimizers) must be converted one "
                f"optimizer at a time, got keys {sorted(map(str, param_scheduler))!r}"
            )
        configs = [param_scheduler]
    elif isinstance(param_scheduler, (list, tuple)):
        configs = list(param_scheduler)
    else:
        raise TypeError(
            f"{_FN}(): param_scheduler must be a dict or a list of dicts, got {param_scheduler!r}"
        )
    if not configs:
        raise ValueError(f"{_FN}(): param_scheduler must not be empty, got {param_scheduler!r}")
    if epoch_length is not None:
        check.integer(_FN, "epoch_length", epoch_length, minimum=1)
    if max_epochs is not None:
        check.integer(_FN, "max_epochs", max_epochs, minimum=1)
    if max_iters is not None:
        check.integer(_FN, "max_iters", max_iters, minimum=1)
    if max_epochs is not None and max_iters is not None:
        raise ValueError(
            f"{_FN}(): give max_epochs (EpochBasedTrainLoop) or max_iters (IterBasedTrainLoop), "
            f"not both, got max_epochs={max_epochs!r}, max_iters={max_iters!r}"
        )
    iter_loop = max_iters is not None
    # The Runner's default ``end``: the loop's max_epochs (1 under IterBasedTrainLoop) or
    # max_iters (max_epochs * len(train_dataloader) under EpochBasedTrainLoop).
    default_epochs = 1 if iter_loop else max_epochs
    default_iters = max_iters
    if not iter_loop and max_epochs is not None and epoch_length is not None:
        default_iters = max_epochs * epoch_length
    specs = []
    for index, cfg in enumerate(configs):
        if not isinstance(cfg, Mapping):
            raise TypeError(
                f"{_FN}(): param_scheduler[{index}] must be a dict with a 'type', got {cfg!r}"
            )
        specs.append(
            _spec(
                index, dict(cfg), epoch_length, iter_loop, max_iters, default_epochs, default_iters
            )
        )
    return specs


def _spec(
    index: int,
    cfg: dict[str, Any],
    epoch_length: int | None,
    iter_loop: bool,
    max_iters: int | None,
    default_epochs: int | None,
    default_iters: int | None,
) -> _Spec:
    label = _label(index, cfg)
    name = cfg.pop("type", None)
    if isinstance(name, str) and name.startswith("mmengine."):
        name = name[len("mmengine.") :]
    if not isinstance(name, str) or name not in _TYPES:
        raise ValueError(
            f"{_FN}(): param_scheduler[{index}]: type must be one of MMEngine's parameter "
            f"schedulers (e.g. 'LinearLR', 'CosineAnnealingMomentum', "
            f"'PolyParamScheduler'), got {name!r}"
        )
    kind, param = _TYPES[name]
    if param is None:
        param = cfg.pop("param_name", None)
        if not isinstance(param, str) or not param:
            raise ValueError(
                f"{_FN}(): {label}: param_name must be a parameter name, got {param!r}"
            )
    unknown = set(cfg) - _COMMON - set(_ARGS[kind])
    if unknown:
        raise TypeError(
            f"{_FN}(): {label}: unexpected argument(s) {sorted(unknown)!r}; "
            f"{name} takes {sorted(_COMMON | set(_ARGS[kind]))!r}"
        )
    for required in _REQUIRED.get(kind, ()):
        if required not in cfg:
            raise TypeError(f"{_FN}(): {label}: missing required argument {required!r}")
    if kind == "CosineRestart" and "periods" not in cfg:
        raise TypeError(f"{_FN}(): {label}: missing required argument 'periods'")
    if kind == "OneCycle" and param != "lr":
        raise ValueError(
            f"{_FN}(): {label}: OneCycle only schedules 'lr', got param_name={param!r}"
        )
    args = {**_ARGS[kind], **{k: v for k, v in cfg.items() if k in _ARGS[kind]}}
    by_epoch = cfg.get("by_epoch", True)
    convert = cfg.get("convert_to_iter_based", False)
    check.flag(_FN, f"{label}: by_epoch", by_epoch)
    check.flag(_FN, f"{label}: convert_to_iter_based", convert)
    if cfg.get("last_step", -1) != -1:
        raise ValueError(
            f"{_FN}(): {label}: last_step={cfg['last_step']!r} resumes a scheduler from a state "
            "this config does not hold; only last_step=-1 (a fresh run) can be expressed"
        )
    begin = cfg.get("begin", 0)
    end = cfg.get("end")
    if end is None:
        end = default_epochs if by_epoch else default_iters
        if end is None:
            loop = "max_epochs" if by_epoch else "max_iters (or max_epochs and epoch_length)"
            raise ValueError(
                f"{_FN}(): {label} has no end; MMEngine's Runner defaults it to the loop's "
                f"{loop}: pass it, or give the scheduler an explicit end"
            )
    for key, value in (("begin", begin), ("end", end)):
        if not check.is_real(value):
            raise TypeError(f"{_FN}(): {label}: {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            _integral(label, key, value)  # raises, explaining MMEngine's end=INF
    if convert:
        if kind == "ReduceOnPlateau":
            raise ValueError(
                f"{_FN}(): {label}: ReduceOnPlateau cannot be converted to iterations "
                "(MMEngine has no build_iter_from_epoch for it and raises AttributeError)"
            )
        if not by_epoch:
            raise ValueError(
                f"{_FN}(): {label}: convert_to_iter_based=True needs by_epoch=True "
                "(MMEngine asserts it)"
            )
        if epoch_length is None:
            raise ValueError(f"{_FN}(): {label}: convert_to_iter_based=True needs epoch_length")
        length = epoch_length
        begin = int(begin * length)
        if end != INF:
            end = int(end * length)
        if kind == "Step":
            args["step_size"] = args["step_size"] * length
        elif kind == "MultiStep":
            args["milestones"] = [
                m * length for m in _list(label, "milestones", args["milestones"])
            ]
        elif kind == "CosineAnnealing" and args["T_max"] is not None:
            args["T_max"] = args["T_max"] * length
        elif kind == "OneCycle" and args["total_steps"] is not None:
            args["total_steps"] = args["total_steps"] * length
        elif kind == "CosineRestart":
            args["periods"] = [p * length for p in _list(label, "periods", args["periods"])]
        by_epoch = False
    if not end > begin:
        raise ValueError(
            f"{_FN}(): {label}: end must be larger than begin, got begin={begin!r}, end={end!r}"
        )
    begin, end = _integral(label, "begin", begin), _integral(label, "end", end)
    if begin < 0:
        raise ValueError(f"{_FN}(): {label}: begin must be >= 0, got {begin!r}")
    if by_epoch:
        if iter_loop:
            # IterBasedTrainLoop calls after_train_epoch once, after the last iteration.
            unit = max_iters
        elif epoch_length is None:
            raise ValueError(f"{_FN}(): {label} steps by epoch: pass epoch_length")
        else:
            unit = epoch_length
    else:
        unit = 1
    spec = _Spec(index, label, kind, param, unit, begin, end, args, epoch=by_epoch)
    # The last global step the training run takes (after its last iteration or epoch).
    horizon = default_epochs if by_epoch else default_iters
    return _validate_args(spec, horizon)


def _list(label: str, name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{_FN}(): {label}: {name} must be a list, got {value!r}")
    return list(value)


def _real(spec: _Spec, name: str, *, low: float | None = None, high: float | None = None) -> float:
    value = spec.args[name]
    if not check.is_real(value) or not math.isfinite(value):
        raise spec.fail(f"{name} must be a finite number, got {value!r}", TypeError)
    if (low is not None and value < low) or (high is not None and value > high):
        raise spec.fail(f"{name} must be in [{low}, {high}], got {value!r}")
    return float(value)


def _validate_args(spec: _Spec, horizon: int | None) -> _Spec:
    """MMEngine's own constructor checks, plus the inputs MMEngine crashes on later.

    ``horizon`` is the last global step the training run takes (None: unknown). Returns the
    spec, with a OneCycle's window cut where the training run ends before MMEngine would raise.
    """
    a, kind = spec.args, spec.kind
    total = spec.length - 1  # MMEngine's total_iters for Constant, Linear, Poly
    if kind == "Constant":
        factor = _real(spec, "factor", low=0.0, high=1.0)
        if factor == 0 and total >= 1:
            raise spec.fail("factor=0 makes MMEngine divide by zero when it restores the value")
    elif kind == "Linear":
        start = _real(spec, "start_factor", low=0.0, high=1.0)
        _real(spec, "end_factor", low=0.0, high=1.0)
        if start == 0 and total >= 1:
            raise spec.fail("start_factor=0 makes MMEngine divide by zero at its second step")
    elif kind in ("Step", "MultiStep", "Exponential"):
        _real(spec, "gamma")
        if a["gamma"] <= 0:
            raise spec.fail(f"gamma must be > 0, got {a['gamma']!r}")
        if kind == "Step":
            a["step_size"] = _integral(spec.label, "step_size", a["step_size"])
            if a["step_size"] < 1:
                raise spec.fail(f"step_size must be >= 1, got {a['step_size']!r}")
        if kind == "MultiStep":
            milestones = _list(spec.label, "milestones", a["milestones"])
            for m in milestones:
                if not check.is_real(m):
                    raise spec.fail(f"milestones must be numbers, got {milestones!r}", TypeError)
            # A milestone fires when the integer step equals it: fractional or negative ones
            # never do in MMEngine either, and ones past the window are never reached.
            a["milestones"] = sorted(
                int(m) for m in milestones if float(m).is_integer() and 0 <= m < spec.length
            )
    elif kind in ("CosineAnnealing", "CosineRestart"):
        if kind == "CosineAnnealing" and a["eta_min"] is None and a["eta_min_ratio"] is None:
            a["eta_min"] = 0.0
        if (a["eta_min"] is None) == (a["eta_min_ratio"] is None):
            raise spec.fail("give exactly one of eta_min and eta_min_ratio (MMEngine asserts it)")
        _real(spec, "eta_min" if a["eta_min"] is not None else "eta_min_ratio")
        if kind == "CosineAnnealing":
            t_max = a["T_max"] or spec.length
            a["T_max"] = _integral(spec.label, "T_max", t_max)
            if a["T_max"] < 1:
                raise spec.fail(f"T_max must be >= 1, got {t_max!r}")
        else:
            periods = [
                _integral(spec.label, "periods", p)
                for p in _list(spec.label, "periods", a["periods"])
            ]
            weights = _list(spec.label, "restart_weights", a["restart_weights"])
            if not periods or any(p < 1 for p in periods):
                raise spec.fail(f"periods must be positive integers, got {a['periods']!r}")
            if len(periods) != len(weights):
                raise spec.fail("periods and restart_weights must have the same length")
            for w in weights:
                if not check.is_real(w) or not math.isfinite(w):
                    raise spec.fail(f"restart_weights must be numbers, got {weights!r}", TypeError)
            a["periods"], a["restart_weights"] = periods, [float(w) for w in weights]
    elif kind == "Poly":
        _real(spec, "eta_min")
        _real(spec, "power", low=0.0)
    elif kind == "OneCycle":
        _real(spec, "eta_max")
        for name in ("div_factor", "final_div_factor"):
            if _real(spec, name) <= 0:
                raise spec.fail(
                    f"{name} must be > 0, got {a[name]!r} (MMEngine divides by it: 0 raises "
                    "ZeroDivisionError, a negative one makes a negative lr)"
                )
        if a["total_steps"] is None:
            a["total_steps"] = spec.length
        elif not check.is_integer(a["total_steps"]) or a["total_steps"] <= 0:
            raise spec.fail(f"total_steps must be a positive integer, got {a['total_steps']!r}")
        if not isinstance(a["pct_start"], float) or not 0 <= a["pct_start"] <= 1:
            raise spec.fail(f"pct_start must be a float in [0, 1], got {a['pct_start']!r}")
        if a["anneal_strategy"] not in ("cos", "linear"):
            raise spec.fail(
                f"anneal_strategy must be 'cos' or 'linear', got {a['anneal_strategy']!r}"
            )
        check.flag(_FN, f"{spec.label}: three_phase", a["three_phase"])
        return _cycle_window(spec, horizon)
    elif kind == "ReduceOnPlateau" and not spec.epoch:
        raise spec.fail("ReduceOnPlateau must have by_epoch=True (MMEngine asserts it)")
    return spec


def _cycle_ends(a: dict[str, Any]) -> list[float]:
    """OneCycle's phase end steps, as MMEngine computes them."""
    total, pct = a["total_steps"], a["pct_start"]
    if a["three_phase"]:
        return [float(pct * total) - 1, float(2 * pct * total) - 2, total - 1]
    return [float(pct * total) - 1, total - 1]


def _cycle_value(a: dict[str, Any], v: dict[str, Any], t: int) -> float:
    """MMEngine's ``OneCycleParamScheduler._get_value`` at local step ``t``: phases of ``a``,
    lr values of ``v`` (the param group's initial/max/min lr). Raises ZeroDivisionError where
    MMEngine does."""
    initial = v["eta_max"] / v["div_factor"]
    low = initial / v["final_div_factor"]
    peak = v["eta_max"]
    values = [initial, peak, initial, low] if a["three_phase"] else [initial, peak, low]
    ends = _cycle_ends(a)
    start = 0.0
    for i, end in enumerate(ends):
        if t <= end or i == len(ends) - 1:
            pct = (t - start) / (end - start)
            first, last = values[i], values[i + 1]
            if a["anneal_strategy"] == "cos":
                return last + (first - last) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (last - first) * pct + first
        start = end
    raise AssertionError("unreachable")


def _cycle_window(spec: _Spec, horizon: int | None) -> _Spec:
    """A OneCycle's window, refused where MMEngine raises during the training run.

    MMEngine raises ValueError at local step ``total_steps + 1`` and extrapolates the last phase
    at ``total_steps``. Steps the run never takes do not matter, so the window is cut after the
    last step the run takes (``horizon``) when that avoids them.
    """
    a, total = spec.args, spec.args["total_steps"]
    if float(a["pct_start"] * total) - 1 == 0:
        raise spec.fail(
            f"pct_start * total_steps = 1 (pct_start={a['pct_start']!r}, total_steps={total}) "
            "makes MMEngine divide by zero in its first phase"
        )
    last = spec.end - 1 if horizon is None else min(spec.end - 1, horizon)
    reached = last - spec.begin  # the last local step the training run takes
    run = (
        "the training run reaches it"
        if horizon is not None
        else "the training run may reach it (pass max_epochs or max_iters if it stops earlier)"
    )
    if reached > total:
        raise spec.fail(
            f"its window [{spec.begin}, {spec.end}) has {spec.length} steps but "
            f"total_steps={total}: MMEngine raises ValueError ('Tried to step {total + 2} "
            f"times') at its local step {total + 1} (global step {spec.begin + total + 1}), "
            f"and {run}; make end - begin <= total_steps + 1"
        )
    length = min(spec.length, total + 1)
    if length == total + 1:
        try:
            _cycle_value(a, a, total)
        except ZeroDivisionError:
            if reached == total:
                raise spec.fail(
                    f"at its local step total_steps={total} (global step {spec.begin + total}) "
                    "MMEngine extrapolates past the cycle and divides by zero (its last phase "
                    f"has no length with pct_start={a['pct_start']!r}), and {run}; "
                    "make end - begin <= total_steps"
                ) from None
            length = total
    if length == spec.length:
        return spec
    return replace(spec, end=spec.begin + length)


# -- when each scheduler changes the value -----------------------------------------------------

Key = tuple[int, int, float]


def _multiplicative(spec: _Spec) -> bool:
    a = spec.args
    if spec.kind in ("Constant", "Linear", "Step", "MultiStep", "Exponential"):
        return True
    if spec.kind == "Poly":
        return a["eta_min"] == 0
    if spec.kind == "CosineAnnealing":
        eta_zero = (a["eta_min"] if a["eta_min"] is not None else a["eta_min_ratio"]) == 0
        return eta_zero and spec.length - 1 <= a["T_max"]
    return False


def _last_change(spec: _Spec) -> int:
    """The last local step at which the scheduler may change the value."""
    if spec.kind == "CosineRestart":
        return min(sum(spec.args["periods"]), spec.length) - 1
    return spec.length - 1


def _first_change_from(spec: _Spec, t: int) -> int | None:
    """The first local step >= t at which the scheduler changes the value, if any."""
    a, kind, last = spec.args, spec.kind, _last_change(spec)
    total = spec.length - 1
    found: int | None
    if kind == "Constant":
        candidates = [0, total] if total >= 1 else [0]
        found = next((c for c in candidates if c >= t), None) if a["factor"] != 1 else None
    elif kind == "Linear":
        if t == 0 and a["start_factor"] != 1:
            found = 0
        elif a["start_factor"] != a["end_factor"]:
            found = max(t, 1)
        else:
            found = None
    elif kind == "Step":
        size = a["step_size"]
        found = -(-max(t, 1) // size) * size if a["gamma"] != 1 else None
    elif kind == "MultiStep":
        milestones = a["milestones"]
        i = bisect.bisect_left(milestones, t)
        found = milestones[i] if i < len(milestones) and a["gamma"] != 1 else None
    elif kind == "Exponential":
        found = max(t, 1) if a["gamma"] != 1 else None
    elif kind in ("CosineAnnealing", "Poly"):
        found = max(t, 1)  # step 0 leaves the value as it is
    elif kind in ("OneCycle", "CosineRestart"):
        found = t  # they write absolute values from step 0
    else:
        raise AssertionError(kind)
    return found if found is not None and found <= last else None


def _next_change(spec: _Spec, after: Key) -> Key | None:
    """The key of the scheduler's first value change strictly after ``after``."""
    position = after[0]
    g = -(-position // spec.unit)
    if spec.key(g) <= after:
        g += 1
    t = _first_change_from(spec, max(g - spec.begin, 0))
    return None if t is None else spec.key(spec.begin + t)


# -- expressions of single schedulers ----------------------------------------------------------


def _factor(spec: _Spec) -> Schedule | None:
    """A multiplicative scheduler's cumulative factor at local step t (before holding)."""
    a, kind, total = spec.args, spec.kind, spec.length - 1
    if kind == "Constant":
        if total >= 1:
            return sequence(constant(a["factor"]), constant(1.0), at=[total])
        return constant(a["factor"])
    if kind == "Linear":
        if total >= 1:
            return linear(float(a["start_factor"]), float(a["end_factor"]), total)
        return constant(a["start_factor"])
    if kind == "Step":
        return step_decay(a["step_size"], float(a["gamma"]))
    if kind == "MultiStep":
        return multistep(a["milestones"], float(a["gamma"])) if a["milestones"] else None
    if kind == "Exponential":
        return exponential(float(a["gamma"]))
    if kind == "CosineAnnealing":
        return cosine(a["T_max"])
    if kind == "Poly":
        return polynomial(total, float(a["power"])) if total >= 1 else None
    raise AssertionError(kind)


def _holds_naturally(spec: _Spec) -> bool:
    """Whether the closed form is already constant from the window's last step on."""
    a, kind, last = spec.args, spec.kind, spec.length - 1
    if spec.end >= INF:
        return True  # MMEngine's INF: a hold from step 1e9 on is treated as never
    if kind in ("Constant", "Linear", "Poly", "MultiStep"):
        return True
    if kind == "CosineAnnealing":
        return last == a["T_max"]
    return False


def _in_iterations(spec: _Spec, local: Schedule, hold: bool) -> Schedule:
    """``local`` (a function of the local step) placed on the iteration axis."""
    end = spec.end if hold else math.inf
    placed = clip(local, spec.begin, end)
    return placed if spec.unit == 1 else per_epoch(placed, spec.unit)


def _shifted(spec: _Spec, local: Schedule, hold: bool, offset: int) -> Schedule:
    """``_in_iterations(spec, local, hold)`` read from iteration ``offset`` on: ``E(offset + tau)``.

    Written with the offset folded into ``clip``'s bounds where it divides evenly, so the
    expressions read like the config.
    """
    if offset == 0:
        return _in_iterations(spec, local, hold)
    if offset % spec.unit:
        return shift(_in_iterations(spec, local, hold), offset)
    k = offset // spec.unit
    end = spec.end - k if hold else math.inf
    if k <= spec.begin:
        placed = clip(local, spec.begin - k, end)
    else:
        placed = clip(shift(local, k - spec.begin), 0, end)
    return placed if spec.unit == 1 else per_epoch(placed, spec.unit)


def _scaled(value: float, curve: Schedule) -> Schedule:
    return curve if value == 1.0 else chain(constant(value), curve)


def _anneal(v0: float, eta: float, unit_curve: Callable[[float], Schedule]) -> Schedule:
    """``eta + (v0 - eta) * c(t)`` where ``unit_curve(end)`` is ``end + (1 - end) * c(t)``."""
    if v0 != 0:
        return _scaled(v0, unit_curve(eta / v0))
    return chain(constant(eta), constant(1.0) - unit_curve(0.0))


# -- the whole timeline of one parameter --------------------------------------------------------


class _Param:
    """Compiles the schedulers of one parameter into an expression (multiplier of ``base``)."""

    def __init__(self, name: str, specs: list[_Spec], base: float | None) -> None:
        self.name = name
        self.specs = specs
        self.base = base
        self.multiplicative = [s for s in specs if _multiplicative(s)]
        self.factors = {s.index: _factor(s) for s in self.multiplicative}
        self.initial = self._initial_values()
        cycles = [s for s in specs if s.kind == "OneCycle"]
        self.last_cycle = cycles[-1] if cycles else None

    def _initial_values(self) -> dict[int, float]:
        """Each scheduler's ``base_values`` as a multiplier: 1.0, or eta_max / div_factor after
        an earlier OneCycle (which overwrites ``initial_lr``)."""
        values, current = {}, 1.0
        for s in self.specs:
            if s.kind == "OneCycle":
                current = self._absolute(s, s.args["eta_max"] / s.args["div_factor"], "eta_max")
            values[s.index] = current
        return values

    def _absolute(self, spec: _Spec, value: float, what: str) -> float:
        if value == 0:
            return 0.0
        if self.base is None:
            raise spec.fail(
                f"{what}={spec.args.get(what)!r} is an absolute {self.name}, so the expression "
                f"depends on the optimizer's {self.name}: pass base={{{self.name!r}: <value>}}"
            )
        return value / self.base

    def _eta(self, spec: _Spec) -> float:
        a = spec.args
        if a.get("eta_min_ratio") is not None:
            return self.initial[spec.index] * a["eta_min_ratio"]
        return self._absolute(spec, a["eta_min"], "eta_min")

    # -- pieces --

    def _cum(self, spec: _Spec, key: Key) -> float:
        """The factor a multiplicative scheduler has applied before hook call ``key``."""
        expr = self._placed(spec)
        position = key[0]
        g, rest = divmod(position, spec.unit)
        if rest == 0 and spec.key(g) >= key:
            return 1.0 if position == 0 else expr(position - 1)
        return expr(position)

    def _placed(self, spec: _Spec) -> Schedule:
        local = self.factors[spec.index]
        assert local is not None
        return _in_iterations(spec, local, not _holds_naturally(spec))

    def _region(self, value: float, key: Key | None, stop: Key | None) -> Schedule:
        """The value from hook call ``key`` on: ``value`` times every multiplicative change made
        from ``key`` on, written as a function of the iteration counted from ``key``'s."""
        start = 0 if key is None else key[0]
        factors = []
        scale = value
        for s in self.multiplicative:
            if self.factors[s.index] is None:
                continue
            first = _next_change(s, (-1, 0, 0)) if key is None else _next_change(s, _before(key))
            if first is None or (stop is not None and first >= stop):
                continue
            divisor = 1.0 if key is None else self._cum(s, key)
            if divisor == 0:
                raise s.fail(
                    f"the {self.name} is 0 when a later change of this scheduler would have to "
                    "be divided out; this config cannot be expressed exactly"
                )
            scale /= divisor
            factors.append(_shifted(s, self.factors[s.index], not _holds_naturally(s), start))
        return _scaled(scale, chain(*factors)) if factors else constant(scale)

    def _value_before(self, value: float, key: Key | None, at: Key) -> float:
        """The region's value just before hook call ``at``."""
        for s in self.multiplicative:
            if self.factors[s.index] is None:
                continue
            before = 1.0 if key is None else self._cum(s, key)
            now = self._cum(s, at)
            if now != before:
                value = value * now / before
        return value

    def _affine_local(self, spec: _Spec, v0: float) -> tuple[Schedule, float]:
        """The affine/absolute scheduler's curve over its local steps, and its final value."""
        a, kind, last = spec.args, spec.kind, _last_change(spec)
        bases = self.initial[spec.index]
        if kind == "CosineAnnealing":
            t_max, eta = a["T_max"], self._eta(spec)
            curve = _anneal(v0, eta, lambda e: cosine(t_max, end=e))
            if last > t_max:
                # Past T_max MMEngine adds (base - eta_min)(1 - cos(pi / T_max)) / 2 and then
                # follows the cosine anchored at the scheduler's base value, not at v0.
                rising = _anneal(bases, eta, lambda e: cosine(t_max, end=e, periodic=True))
                curve = sequence(curve, shift(rising, t_max + 1), at=[t_max + 1])
        elif kind == "Poly":
            eta = self._absolute(spec, a["eta_min"], "eta_min")
            total, power = spec.length - 1, float(a["power"])
            curve = _anneal(v0, eta, lambda e: polynomial(total, power, end=e))
        elif kind == "CosineRestart":
            eta = self._eta(spec)
            pieces = [
                _anneal(bases * w, eta, lambda e, p=p: cosine(p, end=e))
                for p, w in zip(a["periods"], a["restart_weights"])
            ]
            starts = [sum(a["periods"][: i + 1]) for i in range(len(pieces) - 1)]
            curve = sequence(*pieces, at=starts)
        elif kind == "OneCycle":
            # MMEngine's OneCycle reads initial_lr, max_lr and min_lr from the param group at
            # every step, and each OneCycle's constructor overwrites them: every step after
            # construction uses the values of the last OneCycle built; the step a OneCycle
            # takes while it is built (global step 0) uses its own.
            assert self.last_cycle is not None
            curve = self._cycle(spec, self.last_cycle)
            if spec.begin == 0 and self.last_cycle is not spec:
                curve = sequence(self._cycle(spec, spec), shift(curve, 1), at=[1])
        else:
            raise AssertionError(kind)
        final = curve(last)
        if not _affine_holds(spec, last):
            curve = clip(curve, 0, last + 1)
        return curve, final

    def _cycle(self, spec: _Spec, values: _Spec) -> Schedule:
        """``spec``'s OneCycle phases with the lr values (eta_max, div, final_div) of ``values``."""
        a, v = spec.args, values.args
        # Computed in absolute numbers, then scaled: MMEngine's phase formulas cancel
        # (e.g. (min - max) * 1 + max), and only the same operands round the same way.
        scale = self._absolute(values, 1.0, "eta_max") if v["eta_max"] else 1.0
        curve = one_cycle(
            a["total_steps"],
            pct_start=a["pct_start"],
            div=float(v["div_factor"]),
            final_div=float(v["final_div_factor"]),
            anneal=a["anneal_strategy"],
            three_phase=a["three_phase"],
            peak=float(v["eta_max"]),
        )
        total = a["total_steps"]
        if spec.length > total:
            # MMEngine extrapolates the last phase at step total_steps (the window is cut
            # before any later step): one_cycle holds its final value there instead.
            extra = constant(_cycle_value(a, v, total))
            curve = sequence(curve, extra, at=[total])
        return _scaled(scale, curve)

    def compile(self) -> Schedule:
        affine = [s for s in self.specs if not _multiplicative(s)]
        windows = []
        for s in affine:
            first = _next_change(s, _before(s.key(s.begin)))
            if first is not None:
                windows.append((first, s))
        windows.sort(key=lambda w: w[0])
        pieces: list[Schedule] = []
        starts: list[int] = []
        value, key = 1.0, None  # the current region: its value at its start, its first key

        def emit(piece: Schedule, position: int) -> None:
            if starts and position == starts[-1]:
                pieces[-1], starts[-1] = piece, position  # an empty earlier piece
            else:
                pieces.append(piece)
                starts.append(position)

        for first, spec in windows:
            last = spec.key(spec.begin + _last_change(spec))
            self._check_alone(spec, first, last)
            # Cosine and Poly leave the value alone at their step 0: start the curve there
            # unless another scheduler changes the value between their steps 0 and 1.
            zero = spec.key(spec.begin)
            start = first
            if first != zero and not self._changes_between(spec, zero, first):
                start = zero
            region_start = 0 if key is None else key[0]
            if start[0] > region_start:
                emit(self._region(value, key, start), region_start)
            v0 = self._value_before(value, key, start)
            local, final = self._affine_local(spec, v0)
            offset = start[0] // spec.unit - spec.begin
            if offset:
                local = shift(local, offset)
            piece = local if spec.unit == 1 else per_epoch(local, spec.unit)
            emit(piece, start[0])
            following = [
                k for s in self.specs if s is not spec and (k := _next_change(s, last)) is not None
            ]
            value, key = final, (min(following) if following else None)
            if key is None:
                break
        else:
            emit(self._region(value, key, None), 0 if key is None else key[0])
        if not starts:
            return constant(1.0)
        if starts[0] != 0:  # cannot happen: the first region starts at 0
            raise AssertionError(starts)
        return sequence(*pieces, at=starts[1:])

    def _changes_between(self, spec: _Spec, lo: Key, hi: Key) -> bool:
        for s in self.specs:
            if s is not spec and (k := _next_change(s, lo)) is not None and k < hi:
                return True
        return False

    def _check_alone(self, spec: _Spec, first: Key, last: Key) -> None:
        for s in self.specs:
            if s is spec:
                continue
            k = _next_change(s, first)
            if k is not None and k <= last:
                raise spec.fail(
                    f"it changes the {self.name} {_describe(spec)} from iteration {first[0]} to "
                    f"{last[0]}, and {s.label} changes it too at iteration {k[0]}; MMEngine then "
                    f"interleaves an {_why(spec)} with another update, which has no closed form "
                    f"in schedalg. Make their windows [begin, end) not overlap{_remedy(spec)}"
                )


def _affine_holds(spec: _Spec, last: int) -> bool:
    """Whether the local curve is already constant from ``last`` on."""
    a = spec.args
    if spec.kind == "Poly":
        return True
    if spec.kind == "CosineAnnealing":
        return last == a["T_max"]
    if spec.kind == "OneCycle":
        return last >= a["total_steps"] - 1
    return False


def _before(key: Key) -> Key:
    return (key[0], key[1], key[2] - 0.5)


def _describe(spec: _Spec) -> str:
    return {
        "CosineAnnealing": "affinely (cosine towards eta_min)",
        "Poly": "affinely (polynomial towards eta_min)",
        "OneCycle": "with absolute values (OneCycle)",
        "CosineRestart": "with absolute restarts (CosineRestart)",
    }.get(spec.kind, "")


def _remedy(spec: _Spec) -> str:
    """What else makes ``spec`` multiplicative, if anything."""
    a = spec.args
    if spec.kind == "Poly" or (spec.kind == "CosineAnnealing" and a["eta_min"] != 0):
        return " (or use eta_min=0, which makes CosineAnnealing/Poly multiplicative)"
    if spec.kind == "CosineAnnealing":
        return (
            f" (or make T_max >= end - begin - 1 = {spec.length - 1}: past T_max={a['T_max']} "
            "MMEngine's cosine update is affine, not multiplicative)"
        )
    return ""


def _why(spec: _Spec) -> str:
    if spec.kind in ("OneCycle", "CosineRestart"):
        return "absolute update"
    return "affine update v <- eta_min + (v - eta_min) * r"


# -- public API ---------------------------------------------------------------------------------


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
    check.flag(_FN, "absolute", absolute)
    bases = _bases(base)
    specs = _normalise(param_scheduler, epoch_length, max_epochs, max_iters)
    names: dict[str, list[_Spec]] = {}
    for spec in specs:
        names.setdefault(spec.param, []).append(spec)
    result = {}
    for name, group in names.items():
        if absolute and name not in bases:
            raise ValueError(
                f"{_FN}(): absolute=True needs the original {name}: base={{{name!r}: <value>}}, "
                f"got base={dict(bases)!r}"
            )
        plateau = [s for s in group if s.kind == "ReduceOnPlateau"]
        if plateau:
            expr = _plateau(
                name, group, plateau[0], bases.get(name), max_iters is not None, max_epochs
            )
        else:
            expr = _Param(name, group, bases.get(name)).compile()
        result[name] = chain(constant(bases[name]), expr) if absolute else expr
    return result


def _plateau(
    name: str,
    group: list[_Spec],
    spec: _Spec,
    base: float | None,
    iter_loop: bool,
    max_epochs: int | None,
) -> Schedule:
    """ReduceOnPlateau as ``schedalg.plateau``'s metric-driven node, scaled to a multiplier.

    MMEngine compares ``value - new > eps`` and clamps at ``min_value`` in absolute numbers, so
    the node runs on the absolute value (``start=base``) and the expression is
    ``(1 / base) * plateau(...)``: feed it ``metrics[monitor]`` after each validation.
    """
    from schedalg import plateau

    if len(group) > 1:
        raise spec.fail(
            f"ReduceOnPlateau multiplies the current {name}, whatever other schedulers made it, "
            "and decides from that product; with other schedulers on the same parameter its "
            "decisions are not a function of the metrics alone. Only a ReduceOnPlateau that is "
            f"the one scheduler of its parameter can be expressed (here {len(group)} are)"
        )
    if base is None:
        raise spec.fail(
            f"min_value and eps are absolute {name} values: pass base={{{name!r}: <value>}}"
        )
    # Validation after epoch e runs at the scheduler's global step e + 1 (once, at step 0,
    # under IterBasedTrainLoop); MMEngine ignores metrics outside [begin, end).
    first, last = (0, 0) if iter_loop else (1, (max_epochs or spec.end) - 1)
    if spec.begin > first or spec.end <= last:
        raise spec.fail(
            f"its window [{spec.begin}, {spec.end}) skips some validations whose metrics change "
            "the value during training; the metric-driven node counts every metric it is fed. "
            f"Use begin <= {first} and end >= {last + 1}"
        )
    a = spec.args
    rules = {"less": "min", "greater": "max"}
    if a["rule"] not in rules:
        raise spec.fail(f"rule must be 'less' or 'greater', got {a['rule']!r}")
    try:
        node = plateau(
            factor=float(a["factor"]),
            patience=a["patience"],
            threshold=float(a["threshold"]),
            threshold_mode=a["threshold_rule"],
            mode=rules[a["rule"]],
            cooldown=a["cooldown"],
            min_value=float(a["min_value"]),
            eps=float(a["eps"]),
            start=base,
        )
    except (TypeError, ValueError) as error:
        raise spec.fail(str(error)) from None
    return chain(constant(1.0 / base), node)


def _bases(base: Mapping[str, float] | None) -> dict[str, float]:
    if base is None:
        return {}
    if not isinstance(base, Mapping):
        raise TypeError(f"{_FN}(): base must be a dict of parameter name -> value, got {base!r}")
    out = {}
    for name, value in base.items():
        out[name] = check.real(_FN, f"base[{name!r}]", value)
        if out[name] == 0:
            raise ValueError(f"{_FN}(): base[{name!r}] must not be 0 (it divides), got {value!r}")
    return out


def read_config(path: Any) -> list[dict[str, Any]]:
    """The ``param_scheduler`` of an MMEngine ``.py`` config (read without running it) or of a
    ``.json`` file, as a list of dicts. See ``schedalg.configfile``."""
    from schedalg.configfile import read_config as read

    return read(path)


def read_settings(path: Any) -> dict[str, Any]:
    """``{'param_scheduler': [...], 'train_cfg': {...} or None}`` from a config file."""
    from schedalg.configfile import read_settings as read

    return read(path)


def loop_arguments(train_cfg: Mapping[str, Any] | None) -> dict[str, int]:
    """``max_epochs=`` or ``max_iters=`` for ``from_config`` from a ``train_cfg`` dict."""
    if not train_cfg:
        return {}
    by_epoch = train_cfg.get("by_epoch")
    loop = train_cfg.get("type")
    iter_loop = by_epoch is False or loop == "IterBasedTrainLoop"
    key = "max_iters" if iter_loop else "max_epochs"
    value = train_cfg.get(key)
    if value is None:
        return {}
    if not check.is_integer(value) or (isinstance(value, numbers.Integral) and value < 1):
        raise ValueError(
            f"loop_arguments(): train_cfg {key} must be a positive integer, got {value!r}"
        )
    return {key: int(value)}
