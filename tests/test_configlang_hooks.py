"""Schedules in hooks: mmyolo's YOLOv5ParamSchedulerHook. mmyolo is not installable next to
this project's pins, so the reference is the hook's code transcribed (its before_train_iter and
after_train_epoch, on a fake runner of one parameter group), run epoch by epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from schedalg.cli import main
from schedalg.importers.mmengine.hooks import from_hook


def hook_values(kw: dict, length: int, epochs: int, lr: float, momentum: float):
    """mmyolo's YOLOv5ParamSchedulerHook, transcribed: the lr and momentum of group 0."""
    factor, total = kw.get("lr_factor", 0.01), kw.get("max_epochs", 300)
    if kw.get("scheduler_type", "linear") == "linear":
        fn = lambda x: (1 - x / total) * (1.0 - factor) + factor  # noqa: E731
    else:
        fn = lambda x: ((1 - math.cos(x * math.pi / total)) / 2) * (factor - 1) + 1  # noqa: E731
    warmup_total = max(round(kw.get("warmup_epochs", 3) * length), kw.get("warmup_mim_iter", 1000))
    group = {"lr": lr, "momentum": momentum}
    warmup_end, lrs, moms = False, [], []
    for epoch in range(epochs):
        for batch in range(length):
            it = epoch * length + batch
            if it <= warmup_total:  # before_train_iter
                xp = [0, warmup_total]
                group["lr"] = np.interp(it, xp, [0.0, lr * fn(epoch)])
                group["momentum"] = np.interp(it, xp, [kw.get("warmup_momentum", 0.8), momentum])
            else:
                warmup_end = True
            lrs.append(float(group["lr"]))
            moms.append(float(group["momentum"]))
        if warmup_end:  # after_train_epoch
            group["lr"] = lr * fn(epoch)
    return np.array(lrs), np.array(moms)


@pytest.mark.parametrize(
    ("kw", "length", "epochs"),
    [
        (dict(scheduler_type="linear", lr_factor=0.01, max_epochs=30), 37, 30),
        (dict(scheduler_type="cosine", lr_factor=0.1, max_epochs=20, warmup_mim_iter=10), 7, 20),
        (dict(lr_factor=0.02, max_epochs=10, warmup_epochs=2, warmup_mim_iter=20), 10, 12),
        (dict(scheduler_type="cosine", max_epochs=8, warmup_epochs=3, warmup_mim_iter=29), 10, 8),
    ],
)
def test_yolov5_hook(kw, length, epochs):
    lr, momentum = hook_values(kw, length, epochs, 0.01, 0.937)
    hook = {"type": "YOLOv5ParamSchedulerHook", **kw}
    ours = from_hook(hook, epoch_length=length, base={"lr": 0.01, "momentum": 0.937})
    got = ours["lr"].curve(length * epochs)
    if kw.get("scheduler_type", "linear") == "linear":
        np.testing.assert_array_equal(got, lr)  # the same operations: bit for bit
    else:  # 1 - cosine(T) rounds apart from (1 - cos(x)) / 2 by an ulp or two
        np.testing.assert_allclose(got, lr, rtol=4 * 2.0**-52, atol=0)
    np.testing.assert_array_equal(ours["momentum"].curve(length * epochs), momentum)


def test_hooks_refused_or_checked():
    with pytest.raises(ValueError, match="lives in the hook 'PPYOLOEParamSchedulerHook'"):
        from_hook({"type": "PPYOLOEParamSchedulerHook"}, epoch_length=5, base={"lr": 0.1})
    with pytest.raises(ValueError, match="needs the optimizer's lr"):
        from_hook({"type": "YOLOv5ParamSchedulerHook"}, epoch_length=5, base={})
    with pytest.raises(TypeError, match="unexpected argument"):
        from_hook({"type": "YOLOv5ParamSchedulerHook", "lr_fator": 1}, epoch_length=5, base={})
    with pytest.raises(ValueError, match="'linear' or 'cosine'"):
        from_hook(
            {"type": "YOLOv5ParamSchedulerHook", "scheduler_type": "step"},
            epoch_length=5,
            base={"lr": 0.1},
        )


def test_cli_plots_a_yolov5_config(tmp_path, capsys):
    config = tmp_path / "yolov5_s.py"
    config.write_text(
        "max_epochs = 4\nbase_lr = 0.01\nparam_scheduler = None\n"
        "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=base_lr,"
        " momentum=0.937, weight_decay=0.0005, nesterov=True))\n"
        "default_hooks = dict(param_scheduler=dict(type='YOLOv5ParamSchedulerHook',"
        " scheduler_type='linear', lr_factor=0.01, max_epochs=max_epochs, warmup_mim_iter=10))\n"
        "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)\n"
    )
    assert main(["export", str(config), "--epoch-length", "9", "-f", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("yolov5_s.py: lr,yolov5_s.py: momentum")
    values = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    lr, momentum = hook_values(dict(max_epochs=4, warmup_mim_iter=10), 9, 4, 0.01, 0.937)
    np.testing.assert_array_equal(values[:, 0], lr)
    np.testing.assert_array_equal(values[:, 1], momentum)
    config.write_text(config.read_text().replace("YOLOv5", "PPYOLOE"))
    assert main(["plot", str(config), "--epoch-length", "9"]) == 2
    assert "the schedule lives in the hook default_hooks.param_scheduler" in capsys.readouterr().err
