"""Records torchtune's learning rates into ``recorded.json`` (run by hand, not by pytest).

torchtune 0.6.1 cannot be imported beside the project's CPU torch without its full dependency
set (``import torchtune`` imports ``torchtune.datasets``, hence HF ``datasets``), so this script
runs in a scratch virtual environment that has them::

    python3.11 -m venv /tmp/ttvenv
    SITE=lib/python3.11/site-packages
    echo /work/main/.venv/$SITE > /tmp/ttvenv/$SITE/zz.pth  # the project's torch, omegaconf
    /tmp/ttvenv/bin/pip install torchtune==0.6.1 torchao==0.11.0
    /tmp/ttvenv/bin/python tests/data/torchtune/record.py

Each shipped config is read with ``OmegaConf.load`` (what ``tune run`` does) and its
``lr_scheduler`` built with torchtune's own ``config.instantiate`` on a torch optimizer at the
config's ``optimizer.lr``, with the ``num_training_steps`` the recipes pass (see ``STEPS``), and
stepped as the recipes step it (``optimizer.step()`` then ``lr_scheduler.step()``); the lr of
update ``t`` is the optimizer's lr before that update. The grid records
``get_cosine_schedule_with_warmup`` itself over its options at lr 1 (the lambda's values).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
import torchao
import torchtune
from omegaconf import OmegaConf
from torchtune import config as tt_config
from torchtune.training.lr_schedulers import get_cosine_schedule_with_warmup

HERE = Path(__file__).parent
COMMIT = "bd2a0fc7c31430972728494fa01aaeeb0ebf1ba1"
CONFIGS = [
    "llama3_2/1B_lora_single_device.yaml",
    "gemma/2B_lora_single_device.yaml",
    "llama3_1/8B_full_dpo.yaml",
    "llama2/7B_lora_dpo_single_device.yaml",
    "qwen2_5/14B_to_7B_KD_lora_single_device.yaml",
    "mistral/7B_full_ppo_low_memory.yaml",
    "v0.2.0/llama2/7B_lora_single_device.yaml",
]
STEPS_PER_EPOCH = [1, 7, 60]
PAST_THE_CAP = 1200  # for the configs with a max_steps_per_epoch (1000)
PAST_THE_END = 3
# The function torchtune.modules held before 0.5 (the same lambda; gone from 0.6.1).
RENAMED = {
    "torchtune.modules.get_cosine_schedule_with_warmup": (
        "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup"
    )
}


def steps(cfg: Any, steps_per_epoch: int) -> int:
    """The recipes' ``num_training_steps``: full_finetune_single_device.py lines 320-348 (and
    the LoRA, DPO, KD recipes alike); ppo_full_finetune_single_device.py lines 255-270, 441."""
    if "ppo_batch_size" in cfg:
        total_steps = cfg.num_steps // cfg.batch_size
        return total_steps * cfg.ppo_epochs * (cfg.batch_size // cfg.ppo_batch_size)
    per = steps_per_epoch
    if cfg.max_steps_per_epoch is not None and cfg.max_steps_per_epoch < per:
        per = cfg.max_steps_per_epoch
    return cfg.epochs * per


def run(scheduler_cfg: Any, lr: float, n: int) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = tt_config.instantiate(scheduler_cfg, optimizer, num_training_steps=n, last_epoch=-1)
    lrs = []
    for _ in range(n + PAST_THE_END):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return lrs


def record_config(name: str) -> dict[str, Any]:
    cfg = OmegaConf.load(HERE / name)
    scheduler_cfg = cfg.lr_scheduler
    component = scheduler_cfg._component_
    if component in RENAMED:
        scheduler_cfg = OmegaConf.merge(scheduler_cfg, {"_component_": RENAMED[component]})
    lr = cfg.optimizer.lr
    out: dict[str, Any] = {"optimizer.lr": lr, "runs": {}}
    pers: list[int | None] = [None] if "ppo_batch_size" in cfg else list(STEPS_PER_EPOCH)
    if cfg.get("max_steps_per_epoch") is not None:
        pers.append(PAST_THE_CAP)
    for per in pers:
        n = steps(cfg, per or 0)
        out["runs"][str(per)] = {"num_training_steps": n, "lr": run(scheduler_cfg, lr, n)}
    return out


def record_grid() -> list[dict[str, Any]]:
    cases = []
    for warmup in (0, 1, 3, 10):
        for total in (1, 2, 5, 10, 37, 120):
            for cycles in (0.5, 1.0, 0.25, 1.5, 3.0, 0.0, -0.5, 7.3):
                optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
                scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total, cycles)
                values = []
                for _ in range(total + warmup + PAST_THE_END):
                    values.append(float(optimizer.param_groups[0]["lr"]))
                    optimizer.step()
                    scheduler.step()
                cases.append(
                    {
                        "num_warmup_steps": warmup,
                        "num_training_steps": total,
                        "num_cycles": cycles,
                        "lr": values,
                    }
                )
    return cases


def main() -> None:
    data = {
        "about": (
            "lr of each optimizer update from torchtune's own lr_scheduler (config.instantiate "
            "of the config's lr_scheduler, stepped as the recipes step it), configs read with "
            "OmegaConf.load; runs keyed by steps_per_epoch (len(dataloader) // "
            "gradient_accumulation_steps before max_steps_per_epoch; 'None' for PPO); grid: "
            "get_cosine_schedule_with_warmup at lr 1. Written by record.py."
        ),
        "torchtune_commit": COMMIT,
        "torchtune": torchtune.__version__,
        "torchao": torchao.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "configs": {name: record_config(name) for name in CONFIGS},
        "grid": record_grid(),
    }
    (HERE / "recorded.json").write_text(json.dumps(data, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
