"""Record yolov5's per-batch lr and momentum by running the lines of its own ``train()``.

yolov5's ``train()`` (train.py) is one function that builds a model, data and loggers around
its optimizer and schedule, so this script runs the statements of that function that set the
learning rate and momentum, taken from train.py's own syntax tree as they are, in their order:
the optimizer (``smart_optimizer`` of its utils/torch_utils.py), ``lf`` (its ``one_cycle`` for
``--cos-lr``, else its linear lambda), torch's ``LambdaLR``, ``nb``, ``nw``,
``scheduler.last_epoch``, and of the epoch loop ``pbar``, the batch loop's ``ni`` and warm-up
block, and ``scheduler.step()``. Every other statement (model, data, forward, backward, logging,
validation) is left out: none of them reads or writes a param group's lr or momentum except the
optimizer step, which leaves both alone. Each pattern below must match exactly one statement, so
a change of train.py fails here instead of recording something else. A call appended to the batch
loop's body reads every param group's ``lr`` and ``momentum`` after its warm-up block.

Each case names a hyp ``file`` beside CASES.json (read with yaml.safe_load), ``changes`` to it,
``train.py``'s ``epochs``, ``cos_lr`` and ``optimizer``, and ``steps_per_epoch``, the batches of
the stand-in loader.

Usage (in a yolov5 checkout, ultralytics installed): python record_yolov5.py CASES.json OUT.json
(then add the checkout's commit to the output's "versions" as "yolov5").
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
import types
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch
import ultralytics
import yaml
from torch import nn
from torch.optim import lr_scheduler

# utils.general imports torchvision, whose compiled ops need a CUDA build of torch; none of it
# is used by the functions run here.
sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
sys.path.insert(0, ".")
from utils.general import one_cycle  # noqa: E402
from utils.torch_utils import smart_optimizer  # noqa: E402

TOP = [
    r"nbs = 64$",
    r"accumulate = max\(round\(nbs / batch_size\), 1\)$",
    r"hyp\['weight_decay'\] \*= ",
    r"optimizer = smart_optimizer\(",
    r"if opt\.cos_lr:",
    r"scheduler = lr_scheduler\.LambdaLR\(",
    r"best_fitness, start_epoch = ",
    r"nb = len\(train_loader\)$",
    r"nw = max\(round\(hyp\['warmup_epochs'\] \* nb\), 100\)$",
    r"last_opt_step = -1$",
    r"scheduler\.last_epoch = start_epoch - 1$",
    r"for epoch in range\(start_epoch, epochs\):",
]
EPOCH = [
    r"optimizer\.zero_grad\(\)$",
    r"pbar = enumerate\(train_loader\)$",
    r"for i, \(",
    r"scheduler\.step\(\)$",
]
BATCH = [r"ni = i \+ nb \* epoch$", r"if ni <= nw:"]


def keep(body: list[ast.stmt], patterns: list[str]) -> list[ast.stmt]:
    found = {p: [s for s in body if re.match(p, ast.unparse(s))] for p in patterns}
    for p, hits in found.items():
        assert len(hits) == 1, f"train.py: {len(hits)} statements match {p!r}"
    return [s for s in body if any(re.match(p, ast.unparse(s)) for p in patterns)]


def schedule_lines() -> types.CodeType:
    tree = ast.parse(Path("train.py").read_text())
    train = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train")
    body = keep(train.body, TOP)
    epoch_loop = body[-1]
    assert isinstance(epoch_loop, ast.For)
    epoch_loop.body = keep(epoch_loop.body, EPOCH)
    batch_loop = next(s for s in epoch_loop.body if isinstance(s, ast.For))
    batch_loop.body = keep(batch_loop.body, BATCH)
    batch_loop.body.append(ast.parse("record(optimizer)").body[0])
    module = ast.Module(body=body, type_ignores=[])
    return compile(ast.fix_missing_locations(module), "train.py (its schedule lines)", "exec")


class Tiny(nn.Module):
    """Weights with decay, BatchNorm weights and biases: smart_optimizer's three groups."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)


def run(code: types.CodeType, case: dict, here: Path) -> dict:
    rows: list[dict] = []

    def record(optimizer: torch.optim.Optimizer) -> None:
        groups = optimizer.param_groups
        row = {"lr": [float(g["lr"]) for g in groups]}
        if all("momentum" in g for g in groups):
            row["momentum"] = [float(g["momentum"]) for g in groups]
        rows.append(row)

    nb = case["steps_per_epoch"]
    names = {
        "hyp": {**yaml.safe_load((here / case["file"]).read_text()), **case.get("changes", {})},
        "opt": Namespace(cos_lr=case["cos_lr"], optimizer=case["optimizer"]),
        "epochs": case["epochs"],
        "batch_size": 16,
        "model": Tiny(),
        "train_loader": [(None, None, None, None)] * nb,
        "smart_optimizer": smart_optimizer,
        "one_cycle": one_cycle,
        "lr_scheduler": lr_scheduler,
        "np": np,
        "math": math,
        "record": record,
    }
    exec(code, names)  # train.py's own statements, compiled from its syntax tree above
    keep_rows = case.get("keep")
    rows = rows if keep_rows is None else [rows[i] for i in keep_rows]
    out = {**case, "lr": [[r["lr"][j] for r in rows] for j in range(len(rows[0]["lr"]))]}
    if "momentum" in rows[0]:
        assert all(len(set(r["momentum"])) == 1 for r in rows), "momentum differs between groups"
        out["momentum"] = [r["momentum"][0] for r in rows]
    return out


def main() -> None:
    code = schedule_lines()
    cases = json.loads(Path(sys.argv[1]).read_text())
    results = [run(code, case, Path(sys.argv[1]).parent) for case in cases]
    meta = {"ultralytics": ultralytics.__version__, "torch": torch.__version__}
    Path(sys.argv[2]).write_text(json.dumps({"versions": meta, "cases": results}))


if __name__ == "__main__":
    main()
