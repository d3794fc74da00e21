"""Record ultralytics' per-batch lr and momentum by running its own trainer loop.

Runs ``BaseTrainer._setup_train`` and ``BaseTrainer._do_train`` of the installed ultralytics
(``pip install --no-deps ultralytics==8.4.190`` beside torch, numpy, opencv-python-headless and
torchvision) on a tiny model and a stand-in data loader: the optimizer comes from its
``build_optimizer``, the scheduler from its ``_setup_scheduler``, the warm-up from its loop. Only
the model, the data and the I/O (validation, checkpoints, metrics files) are stand-ins. A callback
on ``on_train_batch_end`` reads every param group's ``lr`` and ``momentum`` at each batch.

Each case gives ``config`` (ultralytics settings, or ``file``: a YAML file of them beside
CASES.json, read with yaml.safe_load), ``images`` (the training set's size: the loader has
``ceil(images / batch)`` batches) and ``classes`` (the data set's ``nc``, read by ``optimizer:
auto``); ``keep`` lists the batches to keep from a long run. The settings the harness adds
(``HARNESS``: no AMP, plots or mosaic closing) set nothing the schedule reads.

Usage: python record_ultralytics.py CASES.json OUT.json
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp())
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny tensors: one thread is fastest

import torch
import ultralytics
import yaml
from torch import nn
from ultralytics.cfg import DEFAULT_CFG_DICT, get_cfg
from ultralytics.engine.trainer import BaseTrainer
from ultralytics.utils import callbacks


class Head(nn.Module):
    """Has ``cv3``, whose parameters MuSGD's build_optimizer puts in its boosted groups."""

    def __init__(self) -> None:
        super().__init__()
        self.cv2 = nn.Conv2d(4, 4, 1)
        self.cv3 = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(self.cv2(x))


class Tiny(nn.Module):
    """Weights with decay, BatchNorm weights and biases: the three groups build_optimizer makes."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), Head())
        self.stride = torch.tensor([32.0])
        self.criterion = None

    def forward(self, batch: dict) -> tuple[torch.Tensor, dict]:
        loss = self.model(batch["img"]).pow(2).mean()
        return loss.reshape(1), {"box": loss.detach()}


class Loader:
    """What the trainer reads of a DataLoader: len() batches of ``batch`` over ``images``."""

    def __init__(self, images: int, batch: int) -> None:
        self.dataset = range(images)
        self.sampler = range(images)
        self.batch_size = batch
        self.drop_last = False
        self.num_workers = 0

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        for _ in range(len(self)):
            yield {"img": torch.ones(2, 3, 2, 2)}

    def reset(self) -> None:
        pass


class Harness(BaseTrainer):
    """BaseTrainer with the model, data and I/O stood in; its training loop is ultralytics'."""

    def __init__(self, overrides: dict, images: int, classes: int | None) -> None:
        self.args = get_cfg(DEFAULT_CFG_DICT, overrides)
        self.device = torch.device("cpu")
        self.accelerator = None
        self.validator = None
        self.metrics = None
        self.plots = {}
        self.save_dir = Path(tempfile.mkdtemp())
        self.wdir = self.save_dir / "weights"
        self.last, self.best = self.wdir / "last.pt", self.wdir / "best.pt"
        self.save_period = self.args.save_period
        self.batch_size = self.args.batch
        self.epochs = self.args.epochs
        self.start_epoch = 0
        self.callbacks = callbacks.get_default_callbacks()
        self.world_size = 0
        self.ddp = False
        self.model = Tiny()
        self.images = images
        self.data = {"train": "train", "val": "val", "names": {0: "a"}}
        if classes is not None:
            self.data["nc"] = classes
        self.ema = None
        self.lf = None
        self.optimizer = None
        self.scheduler = None
        self.best_fitness = None
        self.fitness = None
        self.loss = None
        self.tloss = None
        self.loss_names = ()
        self.csv = self.save_dir / "results.csv"
        self.plot_idx = [0, 1, 2]
        self.nan_recovery_attempts = 0
        self.resume = False
        self.rows: list[dict] = []
        self.add_callback("on_train_batch_end", self.record)

    def record(self, trainer: BaseTrainer) -> None:
        groups = self.optimizer.param_groups
        row = {"lr": [float(g["lr"]) for g in groups]}
        if all("momentum" in g for g in groups):
            row["momentum"] = [float(g["momentum"]) for g in groups]
        self.rows.append(row)

    # -- stand-ins for the model, the data and the I/O ---------------------------------------
    def get_dataloader(self, dataset_path, batch_size=16, rank=0, mode="train"):
        return Loader(self.images, batch_size)

    def get_validator(self):
        class Validator:
            class metrics:
                keys: ClassVar[list[str]] = []

        return Validator()

    def validate(self):
        return {}, 0.0

    def save_model(self):
        return False

    def save_metrics(self, metrics):
        pass

    def final_eval(self):
        pass


HARNESS = {"amp": False, "plots": False, "close_mosaic": 0}


def run(case: dict, here: Path) -> dict:
    config = case.get("config") or yaml.safe_load((here / case["file"]).read_text())
    trainer = Harness({**config, **HARNESS}, case["images"], case.get("classes"))
    torch.set_num_threads(1)
    trainer._do_train()
    nb = len(trainer.train_loader)
    keep = case.get("keep")  # the batches to keep, for a long run; all by default
    rows = trainer.rows if keep is None else [trainer.rows[i] for i in keep]
    out = {
        **case,
        "steps_per_epoch": nb,
        "epochs": trainer.epochs,
        "optimizer_built": type(trainer.optimizer).__name__,
        "param_groups": [g.get("param_group") for g in trainer.optimizer.param_groups],
        "lr": [[r["lr"][j] for r in rows] for j in range(len(rows[0]["lr"]))],
    }
    if "momentum" in rows[0]:
        momenta = [r["momentum"] for r in rows]
        assert all(len(set(m)) == 1 for m in momenta), "momentum differs between groups"
        out["momentum"] = [m[0] for m in momenta]
    assert len(trainer.rows) == nb * trainer.epochs
    return out


def main() -> None:
    cases = json.loads(Path(sys.argv[1]).read_text())
    results = [run(case, Path(sys.argv[1]).parent) for case in cases]
    meta = {"ultralytics": ultralytics.__version__, "torch": torch.__version__}
    Path(sys.argv[2]).write_text(json.dumps({"versions": meta, "cases": results}))


if __name__ == "__main__":
    main()
