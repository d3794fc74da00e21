"""Records LLaMA-Factory's learning rates into ``recorded.json`` (run by hand, not by pytest).

LLaMA-Factory needs transformers <= 5.8 (the project has 5.23) and its whole dependency set
(datasets, trl 0.24, peft), so this script runs its source tree at ``COMMIT`` in a scratch
virtual environment that sees the project's packages but its own transformers::

    git clone https://github.com/hiyouga/LLaMA-Factory /tmp/LLaMA-Factory  # at COMMIT
    python3.11 -m venv /tmp/lf-venv
    echo /work/main/.venv/lib/python3.11/site-packages \\
        > /tmp/lf-venv/lib/python3.11/site-packages/main.pth
    /tmp/lf-venv/bin/pip install datasets httpx
    /tmp/lf-venv/bin/pip install --no-deps trl==0.24.0 peft==0.18.1 transformers==5.8.0 \\
        tokenizers==0.22.2 "huggingface-hub>=1.5,<2"
    cd /tmp/LLaMA-Factory && /tmp/lf-venv/bin/python /work/main/tests/data/llamafactory/record.py

(run from LLaMA-Factory's root: the examples name its DeepSpeed configs by relative path). Each
config is read by LLaMA-Factory's own ``read_args`` (OmegaConf, with the command-line override
``use_cpu=true``, which this machine needs) and ``_parse_train_args``; the scheduler is made as
its trainers make it, ``create_custom_scheduler`` then ``Trainer.create_scheduler``, on a real
``Trainer`` whose data loader has ``steps_per_epoch * gradient_accumulation_steps`` batches, and
stepped once per update (the lr of update ``t`` is the optimizer's lr before it). The v1 configs
(``examples/v1``, file names starting ``v1__``) are read by ``llamafactory.v1``'s ``get_args`` and
scheduled by its ``BaseTrainer._init_lr_scheduler`` (on a stand-in holding just ``args`` and
``optimizer``, the two attributes it reads); v1 imports once ``torchdata`` is installed too
(``--no-deps``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ["DISABLE_VERSION_CHECK"] = "1"
COMMIT = "ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30"
ROOT = Path.cwd()
HERE = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))
for package in ("llamafactory", "llamafactory.train"):
    module = types.ModuleType(package)
    module.__path__ = [str(ROOT / "src" / package.replace(".", "/"))]
    sys.modules[package] = module

import torch  # noqa: E402
import transformers  # noqa: E402
from llamafactory.hparams import parser  # noqa: E402
from llamafactory.train import trainer_utils  # noqa: E402
from llamafactory.v1.config.arg_parser import get_args  # noqa: E402
from llamafactory.v1.core.base_trainer import BaseTrainer  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from transformers import Trainer  # noqa: E402


class LlamaFactoryLikeTrainer(Trainer):
    """The scheduler step of LLaMA-Factory's trainers (train/sft/trainer.py and the others)."""

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        trainer_utils.create_custom_scheduler(self.args, num_training_steps, optimizer)
        return super().create_scheduler(num_training_steps, optimizer)


def parse(path: Path) -> Any:
    sys.argv = ["llamafactory-cli", str(path), "use_cpu=true"]
    return parser._parse_train_args(parser.read_args(None))


def run(training_args: Any, steps_per_epoch: int, keep: int = 400) -> dict[str, Any]:
    args = dataclasses.replace(training_args, deepspeed=None, report_to=[])
    trainer = LlamaFactoryLikeTrainer(model=torch.nn.Linear(2, 2), args=args)
    batches = steps_per_epoch * args.gradient_accumulation_steps
    loader = DataLoader(list(range(batches)), batch_size=1)
    steps = trainer.set_initial_training_values(args, loader)[-1]
    trainer.create_optimizer()
    scheduler = trainer.create_scheduler(num_training_steps=steps, optimizer=trainer.optimizer)
    lrs = []
    for t in range(min(steps + 3, keep)):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        if t < steps + 2:
            trainer.optimizer.step()
            scheduler.step()
    return {
        "num_training_steps": steps,
        "warmup_steps": args.get_warmup_steps(steps),
        "lr_scheduler_kwargs": dict(args.lr_scheduler_kwargs or {}),
        "lr": lrs,
    }


def run_v1(path: Path) -> dict[str, Any]:
    sys.argv = ["llamafactory-cli", str(path)]
    training_args = get_args()[2]
    host = types.SimpleNamespace(args=training_args)
    host.optimizer = torch.optim.AdamW(
        torch.nn.Linear(2, 2).parameters(), lr=training_args.learning_rate
    )
    BaseTrainer._init_lr_scheduler(host)  # type: ignore[arg-type]
    lrs = []
    for _ in range(30):
        lrs.append(host.optimizer.param_groups[0]["lr"])
        host.optimizer.step()
        host.lr_scheduler.step()
    return {
        "learning_rate": training_args.learning_rate,
        "max_steps": training_args.max_steps,
        "lr_scheduler_config": training_args.lr_scheduler_config,
        "lr": lrs,
    }


def examples() -> Iterator[dict[str, Any]]:
    for index, path in enumerate(sorted(HERE.glob("*.yaml"))):
        steps_per_epoch = 13 + 7 * index
        entry: dict[str, Any] = {"file": path.name, "steps_per_epoch": steps_per_epoch}
        if path.name.startswith("v1__"):
            entry.update(run_v1(path))
            yield entry
            continue
        try:
            _, _, training_args, finetuning_args, _ = parse(path)
        except Exception as error:  # LLaMA-Factory's own refusal, recorded
            entry["error"] = str(error).splitlines()[0][:200]
            yield entry
            continue
        entry["stage"] = finetuning_args.stage
        entry["learning_rate"] = training_args.learning_rate
        entry.update(run(training_args, steps_per_epoch))
        yield entry


BASE = """model_name_or_path: Qwen/Qwen3-4B-Instruct-2507
stage: sft
do_train: true
finetuning_type: lora
dataset: identity
template: qwen3_nothink
output_dir: /tmp/lf-out
per_device_train_batch_size: 1
"""

# warmup_stable_decay, whose missing num_stable_steps/num_decay_steps LLaMA-Factory fills in.
WSD = [
    ("learning_rate: 2e-5\nnum_train_epochs: 2\nwarmup_ratio: 0.1\n", 31),
    ("learning_rate: 1.0e-4\nnum_train_epochs: 1.5\nwarmup_steps: 5\n", 40),
    ("learning_rate: 3e-4\nmax_steps: 100\nwarmup_ratio: 0.05\n", 7),
    ("learning_rate: 1e-4\nnum_train_epochs: 3\n", 10),
    (
        "learning_rate: 1e-4\nnum_train_epochs: 2\nwarmup_steps: 4\n"
        "lr_scheduler_kwargs:\n  num_decay_steps: 10\n",
        25,
    ),
    (
        "learning_rate: 1e-4\nnum_train_epochs: 2\nwarmup_ratio: 0.1\n"
        "lr_scheduler_kwargs:\n  num_stable_steps: 6\n  min_lr_ratio: 1e-1\n  decay_type: linear\n",
        25,
    ),
    (
        "learning_rate: 1e-4\nnum_train_epochs: 1\ngradient_accumulation_steps: 4\n"
        'lr_scheduler_kwargs: \'{"num_decay_steps": "12", "min_lr_ratio": "0.1"}\'\n',
        30,
    ),
]


def text_runs() -> Iterator[dict[str, Any]]:
    """Configs written here (as YAML text, read by LLaMA-Factory's reader)."""
    cases = [(BASE + "lr_scheduler_type: warmup_stable_decay\n" + body, s) for body, s in WSD]
    cases += [
        (BASE + "learning_rate: 2e-5\nnum_train_epochs: 2.5\nwarmup_ratio: 0.03\n", 33),
        (
            BASE + "learning_rate: 5e-6\nlr_scheduler_type: cosine_with_min_lr\nwarmup_steps: 3\n"
            "lr_scheduler_kwargs:\n  min_lr: 5e-7\n",
            12,
        ),
        (
            BASE + "learning_rate: 1e-4\nlr_scheduler_type: polynomial\nwarmup_ratio: 0.1\n"
            "lr_scheduler_kwargs:\n  power: 2\n  lr_end: 1e-7\n",
            15,
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for index, (text, steps_per_epoch) in enumerate(cases):
            path = Path(folder) / f"case{index}.yaml"
            path.write_text(text)
            _, _, training_args, _, _ = parse(path)
            yield {
                "yaml": text,
                "steps_per_epoch": steps_per_epoch,
                "learning_rate": training_args.learning_rate,
                **run(training_args, steps_per_epoch),
            }


def main() -> None:
    out = {
        "repository": "https://github.com/hiyouga/LLaMA-Factory",
        "commit": COMMIT,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "examples": list(examples()),
        "written": list(text_runs()),
    }
    with open(HERE / "recorded.json", "w") as handle:
        json.dump(out, handle, separators=(",", ":"))
        handle.write("\n")


if __name__ == "__main__":
    main()
