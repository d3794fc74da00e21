"""axolotl's learning-rate schedule, read from its YAML config, as a schedalg expression.

``from_axolotl(config, *, steps_per_epoch=None, lr=None)`` takes the config (a mapping, as
``yaml.safe_load`` gives it) and returns the learning rate of optimizer update ``t`` (absolute
values: ``learning_rate``, or ``lr``, times the multiplier). axolotl hands HF's ``Trainer``
these arguments (``core/builders/base.py``) and builds the scheduler in its ``SchedulerMixin``
(``core/trainers/mixins/scheduler.py``, ``utils/schedulers.py``):

- **Length.** axolotl counts the run itself (``total_num_steps``; it logs "Maximum number of
  steps set at N") and passes ``max_steps = config max_steps or total_num_steps``; with
  ``max_steps`` it counts ``min(its count, max_steps)`` for the warm-up (streaming: max_steps).
  ``steps_per_epoch`` is its optimizer steps per epoch (samples / batch size without
  ``sample_packing``, the packed loader's batches with it): the count is ``steps_per_epoch *
  num_epochs``, which must be whole (axolotl rounds a part of an epoch up or down by its data
  path), less ``ceil(num_epochs)`` with ``sample_packing`` and ``dataloader_drop_last``. Without
  it the count is the placeholder ``total``. ``rl: grpo``/``ebft`` leave the length to HF's
  Trainer: ``ceil(num_epochs * steps_per_epoch)``.
- **Warm-up.** ``warmup_steps``; else ``int(warmup_ratio * count)``; else ``min(int(0.03 *
  count), 100)``; a warm-up of 1 step becomes 2. Without a count (GRPO) the ratio (default
  0.03) goes to HF's ``ceil(steps * ratio)``. These need the count as a number, so with the
  placeholder only ``warmup_steps`` is read (else ``pass steps_per_epoch=N``).
- **Scheduler.** ``lr_scheduler`` (default ``cosine``): ``one_cycle`` (torch's ``OneCycleLR``,
  ``max_lr`` the lr, ``pct_start`` the warm-up's share, ``anneal_strategy`` ``cos``, options
  from ``lr_scheduler_kwargs``), ``rex`` (``RexLR``), ``cosine`` with ``lr_quadratic_warmup``,
  with ``cosine_min_lr_ratio`` (and ``cosine_constant_lr_ratio``): axolotl's own functions;
  any other name is ``transformers.get_scheduler``'s (``from_hf``) with ``lr_scheduler_kwargs``.

Numbers are read as axolotl's config model (pydantic) reads them: ``learning_rate: 2e-5`` is
2e-05; ``warmup_steps: 0.1`` is refused, as there. Refused, with the reason: ``log_sweep`` (no
``lr_scheduler`` value builds axolotl's ``InterpolatingLogScheduler``) and
``jagged_restart_steps`` (ReLoRA's restarts are not read here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.horizon import Quantity, total
from schedalg.core import validators as check
from schedalg.curves.cycles import one_cycle
from schedalg.curves.primitives import cosine, elapsed, linear
from schedalg.importers import hf_arguments as hfa
from schedalg.importers import options as opt
from schedalg.importers.hf import BUILDERS, NeedsLength, from_hf, renamed

__all__ = ["SCHEDULERS", "from_axolotl", "run_length"]

FN = "from_axolotl"
# A step count: an int, or a placeholder quantity (horizon.Quantity) bound later. Typed
# Any as the constructors take both (their signatures say int).
Steps = Any
READ = hfa.PYDANTIC
LENGTH = "pass steps_per_epoch=N (optimizer updates per epoch)"

SCHEDULERS = (*BUILDERS, "one_cycle", "rex")
"""The ``lr_scheduler`` values: transformers' scheduler types and axolotl's own two."""

_REFUSED = {
    "log_sweep": "no lr_scheduler value builds axolotl's InterpolatingLogScheduler (transformers' "
    "get_scheduler refuses the name)",
}

# torch's OneCycleLR options (less max_lr and total_steps, which axolotl sets), its defaults.
_ONE_CYCLE = {
    "pct_start": 0.3,
    "anneal_strategy": "cos",
    "cycle_momentum": True,
    "base_momentum": 0.85,
    "max_momentum": 0.95,
    "div_factor": 25.0,
    "final_div_factor": 1e4,
    "three_phase": False,
    "epochs": None,
    "steps_per_epoch": None,
}


class _Unknown:
    """axolotl's count with max_steps set, which needs the data's own count."""


_UNKNOWN = _Unknown()


@dataclass(frozen=True)
class _Run:
    steps: Steps  # the scheduler's num_training_steps
    counted: Steps | _Unknown | None  # axolotl's total_num_steps (None: it leaves it to HF)


def _known(*values: Any) -> bool:
    return not any(isinstance(value, Quantity) for value in values)


def _config(config: Any) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{FN}(): config must be a mapping (an axolotl YAML), got {config!r}")
    return config


def _option(cfg: Mapping[str, Any], name: str, **bounds: float) -> float | None:
    value = cfg.get(name)
    return None if value is None else READ.number(FN, name, value, **bounds)


def _counted(cfg: Mapping[str, Any], steps_per_epoch: int, epochs: float, rl: bool) -> int:
    """axolotl's ``total_num_steps`` for ``steps_per_epoch`` steps an epoch."""
    per_epoch = check.integer(FN, "steps_per_epoch", steps_per_epoch, minimum=1)
    product = check.in_float_range(
        FN, f"num_epochs {epochs!r} * steps_per_epoch {per_epoch}", per_epoch * epochs
    )
    if not float(product).is_integer():
        raise ValueError(
            f"{FN}(): num_epochs {epochs!r} * steps_per_epoch {per_epoch} is {product!r}: axolotl "
            "rounds a part of an epoch up or down by its data path; set max_steps, or give the "
            "steps per epoch that make the epochs whole"
        )
    steps = int(product)
    packed = READ.flag(FN, "sample_packing", cfg.get("sample_packing") or False)
    drop_last = READ.flag(FN, "dataloader_drop_last", cfg.get("dataloader_drop_last") or False)
    if not rl and packed and drop_last and not cfg.get("sample_packing_eff_est"):
        steps -= math.ceil(epochs)  # the packed loader drops its last batch each epoch
    if steps < 1:
        raise ValueError(f"{FN}(): num_epochs {epochs!r} trains no step")
    return steps


def _run(cfg: Mapping[str, Any], steps_per_epoch: int | None) -> _Run:
    epochs = READ.number(FN, "num_epochs", cfg.get("num_epochs", 1.0), above=0)
    max_steps = cfg.get("max_steps")
    max_steps = READ.count(FN, "max_steps", max_steps) if max_steps is not None else 0
    rl = cfg.get("rl") or None
    if rl in ("grpo", "ebft"):  # axolotl counts nothing: HF's Trainer does
        steps = hfa.training_steps(FN, max_steps or -1, epochs, steps_per_epoch)
        return _Run(steps, None)
    data = (
        None if steps_per_epoch is None else _counted(cfg, steps_per_epoch, epochs, rl is not None)
    )
    if max_steps:
        if data is not None:  # prepare_datasets: min(its count, max_steps), for SFT
            return _Run(max_steps, data if rl is not None else min(data, max_steps))
        streaming = rl is None and (cfg.get("streaming") or cfg.get("pretraining_dataset"))
        return _Run(max_steps, max_steps if streaming else _UNKNOWN)
    counted = total if data is None else data
    return _Run(counted, counted)


def _count_for(counted: Steps | _Unknown, what: str) -> int:
    if isinstance(counted, _Unknown):
        raise ValueError(
            f"{FN}(): {what} is taken of min(axolotl's count of the data's steps, max_steps): "
            f"{LENGTH}"
        )
    if isinstance(counted, Quantity):
        raise ValueError(f"{FN}(): {what} needs the run's length: {LENGTH}")
    return counted


def _warmup(cfg: Mapping[str, Any], run: _Run) -> Steps:
    """The warm-up steps HF's ``get_warmup_steps`` gives for the ``warmup_steps`` axolotl
    passes (``_configure_warmup_and_logging``)."""
    steps_option, ratio_option = cfg.get("warmup_steps"), cfg.get("warmup_ratio")
    if steps_option and ratio_option:
        raise ValueError(f"{FN}(): warmup_steps and warmup_ratio are mutually exclusive")
    warm: float = 0
    share = 0.0
    if steps_option is not None:
        warm = READ.count(FN, "warmup_steps", steps_option)
    elif ratio_option is not None:
        ratio = READ.number(FN, "warmup_ratio", ratio_option)
        if run.counted is None:
            share = ratio
        else:
            count = _count_for(run.counted, "warmup_ratio")
            product = check.in_float_range(
                FN, f"warmup_ratio {ratio!r} * the run's {count} steps", ratio * count
            )
            warm = max(int(product), 0)
    elif run.counted is None:
        share = 0.03
    else:
        warm = min(int(0.03 * _count_for(run.counted, "the default warm-up (3%)")), 100)
    if share > 0.0 and warm == 0:
        warm = share
    if warm == 1:
        warm = 2
    return hfa.warmup_steps(warm, 0.0, run.steps)


def _ramp_to(main: Schedule, warm: Steps) -> Schedule:
    """axolotl's warm-up ``t / max(1, W)`` before ``main``."""
    if _known(warm) and not warm:
        return main
    return sequence(linear(0.0, 1.0, warm), main, at=[warm])


def _span(steps: Steps) -> Steps:
    return max(1, steps) if _known(steps) else steps


def _quadratic(warm: Steps, steps: Steps) -> Schedule:
    """``get_cosine_schedule_with_quadratic_warmup``: ``(t / W) ** 2``, then HF's cosine."""
    decay = cosine(_span(steps - warm), periodic=True)
    if _known(warm) and not warm:
        return decay
    return sequence((elapsed() / warm) ** 2, decay, at=[warm])


def _min_lr(warm: Steps, steps: Steps, low: float) -> Schedule:
    """``get_cosine_schedule_with_min_lr``: a half cosine to ``low``, going on past the end."""
    return _ramp_to(cosine(_span(steps - warm), end=low, periodic=True), warm)


def _decay_constant(warm: Steps, steps: Steps, low: float, share: float) -> Schedule:
    """``get_cosine_schedule_with_warmup_decay_constant``: the half cosine ends at ``low`` at
    step ``int(steps * share)``, which holds after."""
    end = math.floor(steps * share)
    if _known(end, warm) and end <= warm:
        # The decay is over before it starts: its value at int(steps * share), in axolotl's
        # operations (num_cycles 0.5).
        progress = float(end - warm) / float(max(1, end - warm))
        wave = (1 - low) * 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))
        return _ramp_to(constant(max(0, wave) + low), warm)
    return _ramp_to(cosine(end - warm, end=low), warm)


def _rex(peak: float, warm: Steps, steps: Steps, ratio: float | None) -> Schedule:
    """``RexLR``, whose constructor steps it once: update ``t`` has its ``last_step = t + 1``."""
    low = 0 if ratio is None else peak * ratio
    if _known(warm, steps) and warm > steps:
        raise ValueError(
            f"{FN}(): rex: num_warmup_steps ({warm}) must be less than or equal to total_steps "
            f"({steps})"
        )
    floor = low / peak
    remaining = steps - warm
    z = (remaining - (elapsed() + 1.0)) / remaining
    pieces: list[Schedule] = []
    at: list[Steps] = []
    if not _known(warm) or warm:
        pieces.append((peak * (elapsed() + 1.0)) / warm)
        at.append(warm)
    if not _known(warm, steps) or steps - 1 > warm:
        pieces.append(peak * (floor + (1.0 - floor) * (z / (0.1 + 0.9 * z))))
        at.append(steps - 1)
    pieces.append(constant(float(low)))
    return sequence(*pieces, at=at) if at else pieces[0]


def _one_cycle(peak: float, warm: Steps, steps: Steps, kwargs: dict[str, Any]) -> Schedule:
    """torch's ``OneCycleLR(max_lr=lr, total_steps=steps, pct_start=warm / steps,
    anneal_strategy='cos', **lr_scheduler_kwargs)``; its momentum is not returned."""
    if not _known(warm, steps):
        raise ValueError(f"{FN}(): one_cycle's pct_start is the warm-up's share: {LENGTH}")
    for name in ("max_lr", "total_steps"):
        if name in kwargs:
            raise ValueError(f"{FN}(): one_cycle's {name} is axolotl's, not lr_scheduler_kwargs'")
    given = opt.options(FN, "one_cycle (torch's OneCycleLR)", kwargs, _ONE_CYCLE)
    given = {**given, "pct_start": kwargs.get("pct_start", warm / steps)}
    return one_cycle(
        steps,
        pct_start=given["pct_start"],
        div=given["div_factor"],
        final_div=given["final_div_factor"],
        anneal=given["anneal_strategy"],
        three_phase=given["three_phase"],
        peak=peak,
    )


def _kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``lr_scheduler_kwargs``, for the schedulers that take them (axolotl's own ignore them)."""
    given = cfg.get("lr_scheduler_kwargs") or {}
    if not isinstance(given, Mapping):  # its config model takes a mapping only
        raise TypeError(f"{FN}(): lr_scheduler_kwargs must be a mapping, got {given!r}")
    return hfa.scheduler_kwargs(FN, given, READ)


def _peak(cfg: Mapping[str, Any], lr: float | None) -> float:
    if lr is not None:
        return opt.number(FN, "axolotl", "lr", lr, above=0)
    if cfg.get("learning_rate") is None:
        raise ValueError(f"{FN}(): the config has no learning_rate (axolotl needs one)")
    return READ.number(FN, "learning_rate", cfg["learning_rate"], above=0)


def from_axolotl(
    config: Mapping[str, Any], *, steps_per_epoch: int | None = None, lr: float | None = None
) -> Schedule:
    """The learning rate axolotl's trainer sets at each optimizer update of this config's run;
    ``lr`` overrides its ``learning_rate``."""
    cfg = _config(config)
    if cfg.get("jagged_restart_steps"):
        raise ValueError(
            f"{FN}(): jagged_restart_steps {cfg['jagged_restart_steps']!r} (ReLoRA's jagged "
            "restarts) is not read here"
        )
    name = cfg.get("lr_scheduler") or "cosine"
    if name in _REFUSED:
        raise ValueError(f"{FN}(): lr_scheduler {name!r}: {_REFUSED[name]}")
    name = opt.pick(FN, "axolotl lr_scheduler", name, SCHEDULERS)
    peak = _peak(cfg, lr)
    run = _run(cfg, steps_per_epoch)
    warm = _warmup(cfg, run)
    steps = run.steps
    low = _option(cfg, "cosine_min_lr_ratio", at_least=0, at_most=1)
    share = _option(cfg, "cosine_constant_lr_ratio", at_least=0, at_most=1)
    quadratic = cfg.get("lr_quadratic_warmup")
    quadratic = quadratic is not None and READ.flag(FN, "lr_quadratic_warmup", quadratic)
    if name == "one_cycle":
        return _one_cycle(peak, warm, steps, _kwargs(cfg))
    if name == "rex":  # the trainer's lr_scheduler_type is 'cosine': its min-lr ratio applies
        return _rex(peak, warm, steps, low)
    if name == "cosine" and quadratic:
        return peak * _quadratic(warm, steps)
    if name == "cosine" and low and share:
        return peak * _decay_constant(warm, steps, low, share)
    if name == "cosine" and low:
        return peak * _min_lr(warm, steps, low)
    try:
        schedule = from_hf(name, warm, steps, learning_rate=peak, **_kwargs(cfg))
    except NeedsLength as error:
        raise NeedsLength(f"{FN}(): {str(error).partition(': ')[2]}: {LENGTH}") from None
    except (TypeError, ValueError) as error:
        raise renamed(FN, error) from None
    return schedule if name == "reduce_lr_on_plateau" else peak * schedule


def run_length(config: Mapping[str, Any], *, steps_per_epoch: int | None = None) -> int | None:
    """The optimizer steps of the config's run (its ``max_steps``, or axolotl's count for
    ``steps_per_epoch``); ``None`` where neither is known."""
    steps = _run(_config(config), steps_per_epoch).steps
    return steps if isinstance(steps, int) else None
