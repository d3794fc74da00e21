"""LLaMA-Factory's learning-rate schedule, read from its training YAML, as a schedalg expression.

``from_llamafactory(config, *, steps_per_epoch=None, lr=None)`` takes the YAML ``llamafactory-cli
train`` reads (a mapping) and returns the learning rate of optimizer update ``t`` (absolute
values: ``learning_rate``, or ``lr``, times the multiplier). LLaMA-Factory parses the file into
HF's ``TrainingArguments`` (its keys: ``lr_scheduler_type``, ``lr_scheduler_kwargs``,
``warmup_ratio``, ``warmup_steps``, ``num_train_epochs``, ``max_steps``, ``learning_rate``, with
HF's defaults) and its trainers build the scheduler with HF's ``get_scheduler``
(``train/trainer_utils.py``: ``create_custom_scheduler``), so the multiplier is ``from_hf``'s,
with the run's length as HF's Trainer counts it (``schedalg.importers.hf_arguments``), except:

- ``warmup_stable_decay``: LLaMA-Factory fills in ``num_stable_steps = (steps - warmup) // 3``
  and ``num_decay_steps = steps - warmup - num_stable_steps`` where the kwargs lack them.
- ``stage: ppo``: its trainer counts ``num_train_epochs * steps_per_epoch`` PPO steps (no
  rounding: the product must be whole) and passes no ``lr_scheduler_kwargs``.

LLaMA-Factory v1 configs (``model`` instead of ``model_name_or_path``; ``llamafactory.v1``'s
``BaseTrainer``) train at the constant ``learning_rate`` (default 1e-4) unless they name an
``lr_scheduler_config`` plugin (refused: none is built in); their run is ``max_steps`` or
``num_train_epochs * steps_per_epoch``.

Numbers are read as LLaMA-Factory's OmegaConf loader reads the YAML: ``2e-5`` is 2e-05
everywhere in the file (PyYAML leaves it a string). Refused: a Megatron config (its
``*_model_parallel_size`` keys, or ``use_megatron_bridge``), which trains through mcore_adapter or
Megatron Bridge with Megatron's scheduler, not HF's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.horizon import Quantity
from schedalg.importers import hf_arguments as hfa
from schedalg.importers import options as opt
from schedalg.importers.hf import from_run

__all__ = ["STAGES", "from_llamafactory", "run_length"]

FN = "from_llamafactory"
READ = hfa.OMEGACONF
STAGES = ("pt", "sft", "rm", "ppo", "dpo", "kto")
"""``FinetuningArguments.stage``'s values (default ``sft``)."""


# Keys of LLaMA-Factory's Megatron configs (examples/megatron*, trained with Megatron's scheduler).
_MEGATRON = (
    "tensor_model_parallel_size",
    "pipeline_model_parallel_size",
    "expert_model_parallel_size",
    "use_megatron_bridge",
)


def _config(config: Any) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise TypeError(f"{FN}(): config must be a mapping (a LLaMA-Factory YAML), got {config!r}")
    megatron = [key for key in _MEGATRON if config.get(key)]
    if megatron:
        raise ValueError(
            f"{FN}(): {megatron[0]} makes this a Megatron run (mcore_adapter or Megatron Bridge), "
            "scheduled by Megatron's scheduler, not HF's: not read here"
        )
    return config


def _is_v1(cfg: Mapping[str, Any]) -> bool:
    """A ``llamafactory.v1`` config: its model is ``model``, not ``model_name_or_path``."""
    return "model" in cfg and "model_name_or_path" not in cfg


def _v1_steps(cfg: Mapping[str, Any], steps_per_epoch: int | None) -> hfa.Steps:
    """v1's ``BaseTrainer``: ``max_steps`` when positive, else ``num_train_epochs`` (an int,
    default 3) times the batches an epoch."""
    max_steps = cfg.get("max_steps")
    max_steps = 0 if max_steps is None else READ.whole(FN, "max_steps", max_steps)
    epochs = READ.count(FN, "num_train_epochs", cfg.get("num_train_epochs", 3), minimum=1)
    return hfa.training_steps(FN, max_steps or -1, epochs, steps_per_epoch)


def _v1(cfg: Mapping[str, Any], lr: float | None) -> Schedule:
    """v1's ``BaseTrainer._init_lr_scheduler``: ``LambdaLR(lambda x: 1.0)`` without a plugin."""
    plugin = cfg.get("lr_scheduler_config")
    if plugin is not None:
        raise ValueError(
            f"{FN}(): lr_scheduler_config {plugin!r}: LLaMA-Factory v1's scheduler plugins are "
            "not read here"
        )
    if lr is not None:
        return constant(opt.number(FN, "LLaMA-Factory", "lr", lr, above=0))
    return constant(READ.number(FN, "learning_rate", cfg.get("learning_rate", 1e-4), above=0))


def _steps(
    cfg: Mapping[str, Any], run: hfa.TrainingRun, steps_per_epoch: int | None
) -> tuple[str, hfa.Steps]:
    stage = opt.pick(FN, "LLaMA-Factory stage", cfg.get("stage", "sft"), STAGES)
    # The PPO trainer multiplies the epochs by its steps per epoch and rounds nothing.
    return stage, hfa.training_steps(
        FN, run.max_steps, run.epochs, steps_per_epoch, round_up=stage != "ppo"
    )


def _wsd_defaults(run: hfa.TrainingRun, steps: hfa.Steps) -> dict[str, Any]:
    """``create_custom_scheduler``'s defaults for ``warmup_stable_decay``."""
    warm = hfa.warmup_steps(run.warmup_steps, run.warmup_ratio, steps)
    remaining = steps - warm
    stable = remaining // 3 if isinstance(remaining, int) else math.floor(remaining / 3)
    kwargs = dict(run.kwargs)
    kwargs.setdefault("num_stable_steps", stable)
    kwargs.setdefault("num_decay_steps", remaining - stable)
    return kwargs


def from_llamafactory(
    config: Mapping[str, Any], *, steps_per_epoch: int | None = None, lr: float | None = None
) -> Schedule:
    """The learning rate LLaMA-Factory's trainer sets at each optimizer update of this config's
    run; ``lr`` overrides its ``learning_rate``."""
    cfg = _config(config)
    if _is_v1(cfg):
        _v1_steps(cfg, steps_per_epoch)  # its options checked, as v1's parser does
        return _v1(cfg, lr)
    run = hfa.read_training_run(FN, cfg, READ)
    stage, steps = _steps(cfg, run, steps_per_epoch)
    kwargs: dict[str, Any] = run.kwargs
    if stage == "ppo":
        kwargs = {}  # the PPO trainer's get_scheduler call passes none
    elif run.name == "warmup_stable_decay":
        kwargs = _wsd_defaults(run, steps)
    peak = run.learning_rate if lr is None else opt.number(FN, "LLaMA-Factory", "lr", lr, above=0)
    schedule = from_run(FN, run, steps, kwargs, learning_rate=peak)
    return schedule if run.name == "reduce_lr_on_plateau" else peak * schedule


def run_length(config: Mapping[str, Any], *, steps_per_epoch: int | None = None) -> int | None:
    """The optimizer steps of the config's run (``max_steps``, or the epochs times
    ``steps_per_epoch``); ``None`` where neither is known."""
    cfg = _config(config)
    if _is_v1(cfg):
        steps = _v1_steps(cfg, steps_per_epoch)
    else:
        steps = _steps(cfg, hfa.read_training_run(FN, cfg, READ), steps_per_epoch)[1]
    return None if isinstance(steps, Quantity) else int(steps)
