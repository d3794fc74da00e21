"""The command line on OpenMMLab-style config trees: plots and exports from the file alone
(inheritance, base values, the run's length), compared with MMEngine's resolution and replay;
bad configs exit 2 with one line naming the file, the line and the construct."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from schedalg.cli import main
from schedalg.cli.inputs import gather

pytest.importorskip("mmengine.config")
from mmengine_oracle import simulate

SCHEDULE_1X = """
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
"""

TREE = {
    "configs/_base_/schedules/schedule_1x.py": SCHEDULE_1X,
    "configs/_base_/default_runtime.py": "default_scope = 'mmdet'\n"
    "default_hooks = dict(param_scheduler=dict(type='ParamSchedulerHook'))\n",
    "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py": "_base_ = [\n"
    "    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'\n]\n",
    "configs/faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py": "_base_ = "
    "'./faster-rcnn_r50_fpn_1x_coco.py'\n"
    "max_epochs = 24\ntrain_cfg = dict(max_epochs=max_epochs)\n"
    "param_scheduler = [\n    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,"
    " end=500),\n    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,"
    " milestones=[16, 22], gamma=0.1)\n]\n",
    "configs/seg/poly_4k.py": "iters = 4 * 1000\noptimizer = dict(type='SGD', lr=0.01,"
    " momentum=0.9, weight_decay=0.0005)\noptim_wrapper = dict(type='OptimWrapper',"
    " optimizer=optimizer)\nparam_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9,"
    " begin=0, end=iters, by_epoch=False)]\ntrain_cfg = dict(type='IterBasedTrainLoop',"
    " max_iters=iters, val_interval=4000)\n",
    "configs/new/_base_/schedule.py": "from mmengine.optim import CosineAnnealingLR, LinearLR\n"
    "from torch.optim import AdamW\nfrom mmengine.runner.loops import EpochBasedTrainLoop\n"
    "optim_wrapper = dict(optimizer=dict(type=AdamW, lr=0.004, betas=(0.9, 0.999),"
    " weight_decay=0.05))\nparam_scheduler = [\n    dict(type=LinearLR, start_factor=1e-3,"
    " by_epoch=True, end=2, convert_to_iter_based=True),\n    dict(type=CosineAnnealingLR,"
    " eta_min=1e-5, by_epoch=True, begin=2, end=10, T_max=8)\n]\n"
    "train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=10)\n",
    "configs/new/vit.py": "from mmengine.config import read_base\nwith read_base():\n"
    "    from ._base_.schedule import *\n"
    "optim_wrapper.update(dict(optimizer=dict(lr=0.002)))\n",
}


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    for name, text in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def export(capsys, *args: str) -> np.ndarray:
    assert main(["export", *args, "-f", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[1:]
    return np.array([float(line.split(",")[1]) for line in lines])


def mmengine_lr(path: str, epoch_length: int) -> list[float]:
    from mmengine.config import Config

    cfg = Config.fromfile(path, import_custom_modules=False).to_dict()
    loop = {k: v for k, v in cfg["train_cfg"].items() if k in ("max_epochs", "max_iters")}
    schedulers = [{**s, "type": str(s["type"]).rsplit(".", 1)[-1]} for s in cfg["param_scheduler"]]
    optimizer = cfg["optim_wrapper"]["optimizer"]
    lr = simulate(schedulers, epoch_length=epoch_length, lr=optimizer["lr"], **loop)["lr"]
    return lr


@pytest.mark.parametrize(
    ("config", "epoch_length"),
    [
        ("configs/faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py", 7),
        ("configs/seg/poly_4k.py", None),
        ("configs/new/vit.py", 7),
    ],
)
def test_exports_the_lr_mmengine_runs_from_the_file(checkout, capsys, config, epoch_length):
    args = [config] + (["--epoch-length", str(epoch_length)] if epoch_length else [])
    ours = export(capsys, *args)  # no --steps: the run's length is the train_cfg's
    theirs = np.array(mmengine_lr(config, epoch_length or 1))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_plot_of_an_mmdetection_config(checkout, capsys):
    out = checkout / "lr.png"
    config = "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"
    assert main(["plot", config, "--epoch-length", "7330", "-o", str(out)]) == 0
    assert out.stat().st_size > 1000
    args = argparse.Namespace(
        inputs=[config], steps=None, epoch_length=7330, base={}, config_root=None
    )
    [(label, schedule)] = gather(args)
    assert (label, args.steps, args.ylabel) == ("faster-rcnn_r50_fpn_1x_coco.py: lr", 87960, "lr")
    assert schedule(0) == pytest.approx(0.02 * 0.001, rel=1e-15)
    # --base overrides the optimizer's value; a multiplier is shown where no base is known
    args.base, args.steps = {"lr": 1.0, "momentum": 0.5}, 100
    assert gather(args)[0][1](499) == 1.0


def test_package_bases_through_the_config_root(checkout, capsys):
    child = checkout / "work" / "mine.py"
    child.parent.mkdir()
    child.write_text("_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n")
    lr = export(capsys, str(child), "-L", "100", "--config-root", str(checkout / "configs"))
    assert lr.shape == (1200,) and lr[1199] == pytest.approx(0.02 * 0.01)


BAD = {
    "run.py": ("param_scheduler = [dict(type='LinearLR', end=int('5'))]\n", "line 1: the call int"),
    "loop.py": (
        "param_scheduler = []\nfor i in range(3):\n"
        "    param_scheduler.append(dict(type='StepLR'))\n",
        "line 2: a for loop",
    ),
    "cycle.py": ("_base_ = ['./cycle2.py']\n", "line 1: a _base_ cycle: cycle.py -> cycle2.py"),
    "missing.py": ("x = 1\n_base_ = './nowhere.py'\n", "line 2: the base './nowhere.py' is not a"),
    "yolo.py": (
        "param_scheduler = None\ndefault_hooks = dict(param_scheduler=dict("
        "type='PPYOLOEParamSchedulerHook', warmup_min_iter=1000, total_epochs=96))\n",
        "the schedule lives in the hook default_hooks.param_scheduler (PPYOLOEParamSchedulerHook)",
    ),
    "yolo_int.py": (
        "max_epochs = 80\nparam_scheduler = None\ndefault_hooks = dict(param_scheduler=dict("
        "type='PPYOLOEParamSchedulerHook', total_epochs=int(max_epochs * 1.2)))\n",
        "line 3: the call int(...) is not evaluated, and default_hooks needs it: param_scheduler "
        "is None, so the schedule lives in a hook there",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_configs_exit_2_with_one_line(tmp_path, capsys, name):
    text, expected = BAD[name]
    (tmp_path / name).write_text(text)
    (tmp_path / "cycle2.py").write_text("_base_ = 'cycle.py'\n")
    assert main(["plot", str(tmp_path / name), "--steps", "10"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and expected in error and str(tmp_path / name) in error


def test_a_real_process_exits_2(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nparam_scheduler = [dict(type='LinearLR', end=[i for i in 'ab'])]\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    command = [sys.executable, "-m", "schedalg", "describe", str(bad), "--steps", "5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert f"{bad}: line 2: a list comprehension is not evaluated" in line


def test_steps_need_a_source(tmp_path, capsys):
    config = tmp_path / "c.py"
    config.write_text("param_scheduler = [dict(type='LinearLR', by_epoch=False, end=5)]\n")
    assert main(["describe", str(config)]) == 2
    assert "has no train_cfg giving the run's length: give --steps" in capsys.readouterr().err
    config.write_text(TREE["configs/_base_/schedules/schedule_1x.py"])
    assert main(["describe", str(config)]) == 2
    assert "give --epoch-length" in capsys.readouterr().err
