"""Records axolotl's learning rates into ``recorded.json`` (run by hand, not by pytest).

axolotl cannot be installed beside the project's CPU torch (its pinned torch, flash-attn,
bitsandbytes...), so this script runs its source tree at the commit in ``COMMIT`` in a scratch
virtual environment that sees the project's packages (torch, transformers 5.23.0, pydantic)::

    git clone https://github.com/axolotl-ai-cloud/axolotl /tmp/axolotl  # at COMMIT
    python3.11 -m venv /tmp/axo-venv
    echo /work/main/.venv/lib/python3.11/site-packages \\
        > /tmp/axo-venv/lib/python3.11/site-packages/main.pth
    /tmp/axo-venv/bin/pip install addict pillow && /tmp/axo-venv/bin/pip install --no-deps peft
    /tmp/axo-venv/bin/python tests/data/axolotl/record.py /tmp/axolotl

It imports axolotl's own modules without their packages' ``__init__`` (which import the whole
trainer stack): its config model (``AxolotlInputConfig``), the builder's
``_configure_warmup_and_logging`` and ``_configure_scheduler`` (taken from
``core/builders/base.py`` as they are and run on a small host class), ``AxolotlTrainingMixins``
on transformers' ``TrainingArguments``, and ``SchedulerMixin.create_scheduler`` on a real
transformers ``Trainer``, stepped once per optimizer update; the lr of update ``t`` is the
optimizer's lr before it. The run's length is axolotl's ``total_num_steps``, which
``prepare_datasets`` returns as ``min(calculate_total_num_steps(...), max_steps)`` for SFT (the
count itself needs the tokenised data set: here it is ``data_steps``, a number of steps per
epoch times ``num_epochs``); GRPO/EBFT leave it to HF's Trainer (a data loader of
``dataloader_len`` batches). ``readings`` records what axolotl's config model makes of single
values (``learning_rate: '2e-5'``...).
"""

from __future__ import annotations

import ast
import itertools
import json
import sys
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMIT = "067b021c8b87a9e5e380b9173c704cf7340e30f5"
ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/axolotl")
SRC = ROOT / "src"
HERE = Path(__file__).parent
warnings.filterwarnings("ignore")
sys.path.insert(0, str(SRC))
for package in ("core", "core/trainers", "core/trainers/mixins", "core/builders"):
    module = types.ModuleType("axolotl." + package.replace("/", "."))
    module.__path__ = [str(SRC / "axolotl" / package)]
    sys.modules[module.__name__] = module

import torch  # noqa: E402
import transformers  # noqa: E402
import yaml  # noqa: E402
from axolotl.core.trainers.mixins.scheduler import SchedulerMixin  # noqa: E402
from axolotl.core.training_args_base import AxolotlTrainingMixins  # noqa: E402
from axolotl.utils.dict import DictDefault  # noqa: E402
from axolotl.utils.schemas.config import AxolotlInputConfig  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import Trainer, TrainingArguments  # noqa: E402


def _builder_methods() -> type:
    """The builder's two methods, from its file as they are, on a class of their own."""
    path = SRC / "axolotl/core/builders/base.py"
    wanted = {"_configure_warmup_and_logging", "_configure_scheduler"}
    body: list[ast.stmt] = [
        node
        for cls in ast.parse(path.read_text()).body
        if isinstance(cls, ast.ClassDef)
        for node in cls.body
        if isinstance(node, ast.FunctionDef) and node.name in wanted
    ]
    assert {f.name for f in body} == wanted  # type: ignore[attr-defined]
    host = ast.ClassDef(name="Builder", bases=[], keywords=[], body=body, decorator_list=[])
    namespace: dict[str, Any] = {}
    exec(compile(ast.fix_missing_locations(ast.Module([host], [])), str(path), "exec"), namespace)
    return namespace["Builder"]  # type: ignore[no-any-return]


Builder = _builder_methods()


@dataclass
class Args(AxolotlTrainingMixins, TrainingArguments):
    pass


class AxolotlLikeTrainer(SchedulerMixin, Trainer):
    pass


def training_kwargs(cfg: dict[str, Any], total_num_steps: int | None) -> dict[str, Any]:
    builder = Builder()
    builder.cfg = DictDefault(cfg)
    kw: dict[str, Any] = {}
    builder._configure_warmup_and_logging(total_num_steps, kw)
    builder._configure_scheduler(kw)
    # _set_base_training_args: copied when not None, then max_steps and num_train_epochs
    for arg in ["cosine_min_lr_ratio", "cosine_constant_lr_ratio", "learning_rate"]:
        if builder.cfg[arg] is not None:
            kw[arg] = builder.cfg[arg]
    kw["gradient_accumulation_steps"] = builder.cfg.gradient_accumulation_steps or 1
    kw["max_steps"] = builder.cfg.max_steps or total_num_steps or -1
    kw["num_train_epochs"] = builder.cfg.num_epochs
    if builder.cfg.lr_quadratic_warmup is not None:  # the causal builder
        kw["lr_quadratic_warmup"] = builder.cfg.lr_quadratic_warmup
    return kw


def run(
    cfg: dict[str, Any],
    total_num_steps: int | None,
    dataloader_len: int | None = None,
    keep: int | None = None,
) -> dict[str, Any]:
    kw = training_kwargs(cfg, total_num_steps)
    args = Args(output_dir="/tmp/axo-out", report_to=[], save_strategy="no", **kw)
    trainer = AxolotlLikeTrainer(model=torch.nn.Linear(2, 2), args=args)
    if args.max_steps > 0:
        steps = args.max_steps
    else:
        loader = DataLoader(list(range(dataloader_len or 0)), batch_size=1)
        steps = trainer.set_initial_training_values(args, loader)[-1]
    trainer.create_optimizer()
    scheduler = trainer.create_scheduler(num_training_steps=steps, optimizer=trainer.optimizer)
    # OneCycleLR raises past total_steps: its updates are t < steps.
    n = steps if type(scheduler).__name__ == "OneCycleLR" else steps + 3
    n = min(n, keep or n)
    lrs = []
    for t in range(n):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        if t < n - 1:
            scheduler.step()
    return {
        "total_num_steps": total_num_steps,
        "num_training_steps": steps,
        "warmup_steps": args.get_warmup_steps(steps),
        "scheduler": type(scheduler).__name__,
        "lr": lrs,
    }


def counted(cfg: dict[str, Any], data_steps: int | None) -> int | None:
    """``total_num_steps`` as ``prepare_datasets`` returns it (utils/data/sft.py; RL:
    common/datasets.py)."""
    if cfg.get("rl") in ("grpo", "ebft"):
        return None
    if cfg.get("streaming") or cfg.get("pretraining_dataset"):
        return int(cfg["max_steps"])
    if cfg.get("max_steps") and not cfg.get("rl") and data_steps is not None:
        return min(data_steps, cfg["max_steps"])
    return data_steps


SCHEDULERS: list[dict[str, Any]] = [
    {"lr_scheduler": "cosine"},
    {},
    {"lr_scheduler": "linear"},
    {"lr_scheduler": "constant_with_warmup"},
    {"lr_scheduler": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.1}},
    {"lr_scheduler": "cosine", "lr_scheduler_kwargs": {"num_cycles": 1.5}},
    {"lr_scheduler": "polynomial", "lr_scheduler_kwargs": {"power": 2.0, "lr_end": 1e-6}},
    {"lr_scheduler": "inverse_sqrt"},
    {"lr_scheduler": "warmup_stable_decay", "lr_scheduler_kwargs": {"num_decay_steps": 9}},
    {"lr_scheduler": "cosine", "cosine_min_lr_ratio": 0.1},
    {"lr_scheduler": "cosine", "cosine_min_lr_ratio": 1.0, "cosine_constant_lr_ratio": 0},
    {"lr_scheduler": "cosine", "cosine_min_lr_ratio": 0.0},
    {"lr_scheduler": "cosine", "cosine_min_lr_ratio": 0.05, "cosine_constant_lr_ratio": 0.8},
    {"lr_scheduler": "cosine", "cosine_min_lr_ratio": 0.2, "cosine_constant_lr_ratio": 0.05},
    {"lr_scheduler": "cosine", "lr_quadratic_warmup": True},
    {"lr_scheduler": "cosine", "lr_quadratic_warmup": True, "cosine_min_lr_ratio": 0.1},
    {"lr_scheduler": "one_cycle"},
    {
        "lr_scheduler": "one_cycle",
        "lr_scheduler_kwargs": {"pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
    },
    {
        "lr_scheduler": "one_cycle",
        "lr_scheduler_kwargs": {"anneal_strategy": "linear", "three_phase": True},
    },
    {"lr_scheduler": "rex"},
    {"lr_scheduler": "rex", "cosine_min_lr_ratio": 0.1},
    {"lr_scheduler": "linear", "cosine_min_lr_ratio": 0.1},
]
WARMUPS: list[dict[str, Any]] = [
    {},
    {"warmup_steps": 0},
    {"warmup_steps": 1},
    {"warmup_steps": 7},
    {"warmup_ratio": 0.1},
    {"warmup_ratio": 0.02},
]
# (data_steps, num_epochs, max_steps, rl)
RUNS = [
    (60, 2, None, None),
    (33, 1, None, None),
    (140, 4, None, None),
    (30, 3, 12, None),
    (30, 3, 50, None),
    (30, 3, 12, "dpo"),
]


def grid() -> Iterator[tuple[dict[str, Any], int | None, int | None, int | None]]:
    for sched in SCHEDULERS:
        pairs = itertools.chain(
            ((w, RUNS[0]) for w in WARMUPS),
            itertools.product([{}, {"warmup_ratio": 0.1}], RUNS[1:]),
        )
        for warm, (data, epochs, max_steps, rl) in pairs:
            cfg: dict[str, Any] = {"learning_rate": 2e-4, "num_epochs": epochs, **sched, **warm}
            if max_steps is not None:
                cfg["max_steps"] = max_steps
            if rl is not None:
                cfg["rl"] = rl
            yield cfg, data, None, None
    # the default warm-up's cap, min(int(0.03 * count), 100): the first 150 updates
    for data in (3300, 3366, 3400):
        yield {"learning_rate": 3e-5, "num_epochs": 1}, data, None, 150
    # GRPO/EBFT: HF's Trainer counts (a data loader of L batches, accumulation G)
    for rl, warm, (batches, accumulation, epochs) in itertools.product(
        ["grpo", "ebft"],
        [{}, {"warmup_ratio": 0.1}, {"warmup_steps": 1}],
        [(50, 4, 2), (101, 8, 1.5)],
    ):
        cfg = {
            "learning_rate": 1e-6,
            "rl": rl,
            "num_epochs": epochs,
            "gradient_accumulation_steps": accumulation,
            "lr_scheduler": "cosine",
            **warm,
        }
        yield cfg, None, batches, None


# The shipped examples (their paths with / as __) and the steps per epoch each is recorded at.
SHIPPED = {
    "orpheus/finetune.yml": 40,
    "distributed-parallel/llama-3_1-8b-hsdp-tp.yaml": 25,
    "llama-3/3b-qat-fsdp2.yaml": 120,
    "llama-2/gptq-lora.yml": 30,
    "qwen3/reward-model.yaml": 17,
    "mistral/dpo/mistral-dpo-qlora.yml": 11,
    "streaming/pretrain.yaml": None,
    "llama-3/qlora-1b-gdpo.yaml": 50,
    "llama-3/diffusion/sft-1b.yaml": 20,
}


def examples() -> Iterator[dict[str, Any]]:
    for name, per_epoch in SHIPPED.items():
        raw = yaml.safe_load((ROOT / "examples" / name).read_text())
        entry: dict[str, Any] = {"file": name.replace("/", "__"), "steps_per_epoch": per_epoch}
        try:
            cfg = AxolotlInputConfig.model_validate(raw).model_dump()
        except Exception as error:  # axolotl's own refusal, recorded
            entry["error"] = str(error).splitlines()[0]
            yield entry
            continue
        cfg = {k: getattr(v, "value", v) for k, v in cfg.items()}
        data = None if per_epoch is None else int(per_epoch * cfg["num_epochs"])
        batches = None
        if cfg.get("rl") in ("grpo", "ebft") and per_epoch is not None:
            batches = per_epoch * (cfg.get("gradient_accumulation_steps") or 1)
        entry.update(run(cfg, counted(cfg, data), batches, keep=300))
        yield entry


def readings() -> Iterator[dict[str, Any]]:
    base = {
        "base_model": "HuggingFaceTB/SmolLM2-135M",
        "datasets": [{"path": "mhenrichsen/alpaca_2k_test", "type": "alpaca"}],
        "micro_batch_size": 1,
        "gradient_accumulation_steps": 1,
        "learning_rate": 1e-4,
        "sequence_len": 512,
        "output_dir": "/tmp/axo-out",
    }
    probes: dict[str, list[Any]] = {
        "learning_rate": ["2e-5", "1.0e-5", " 3e-4 ", "5e-4", "1_0.5", "abc", "0x10", 0.0002],
        "warmup_steps": ["10", "10.0", " 7 ", "+3", "1_0", "1e3", "0.1", 0.1, 10.0, 12],
        "warmup_ratio": ["0.1", "1e-1", ".05", "x"],
        "num_epochs": ["2", "1.5", "3e0", 2],
        "max_steps": ["100", "100.0", "1e3", 50.0, 50.5],
        "cosine_min_lr_ratio": ["1e-1", "0.05"],
        "lr_quadratic_warmup": ["yes", "true", "True", "on", "1", 1, "no", "off", 0, "maybe"],
    }
    for option, values in probes.items():
        for value in values:
            try:
                model = AxolotlInputConfig.model_validate({**base, option: value})
                yield {"option": option, "value": value, "read": getattr(model, option)}
            except Exception:
                yield {"option": option, "value": value, "read": None}


def main() -> None:
    out: dict[str, Any] = {
        "repository": "https://github.com/axolotl-ai-cloud/axolotl",
        "commit": COMMIT,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "cases": [],
        "examples": list(examples()),
        "readings": list(readings()),
    }
    for cfg, data, batches, keep in grid():
        result = run(cfg, counted(cfg, data), batches, keep=keep)
        out["cases"].append(
            {"config": cfg, "data_steps": data, "dataloader_len": batches, **result}
        )
    with open(HERE / "recorded.json", "w") as handle:
        json.dump(out, handle, separators=(",", ":"))
        handle.write("\n")


if __name__ == "__main__":
    main()
