"""from_ultralytics and from_yolov5 against the values the trainers themselves set.

Neither source installs beside the CPU torch here, so ``tests/data/ultralytics/recorded.json``
holds what their own code set at every batch (its README.md says how): ultralytics 8.4.190's
``BaseTrainer._setup_train`` and ``_do_train`` (``build_optimizer``, ``_setup_scheduler``, the
warm-up of its loop), and the schedule statements of yolov5's ``train()`` at commit 5081342,
compiled from its train.py. Each recorded case is compared at every recorded batch, on the
array path (``curve``) and the one-step path (``s(t)``): the grid of cases (every optimizer
family, cosine and linear, warm-ups capped, rounded half to even, absent, longer than the run,
``optimizer: auto`` on both of its branches, the shipped real files) is the differential fuzzer.

Bound: the expressions compute the trainers' values in schedalg's operations, so a value is
within 2 float64 eps of its group's peak (``max(lr0, warmup_bias_lr)``; for the momentum, the
larger of its two ends) of the trainer's, and within a relative 1e-12.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from schedalg import absolute, is_absolute, linear, per_epoch, sequence, shift, warmup
from schedalg.importers.ultralytics import (
    ULTRALYTICS_DEFAULTS,
    from_ultralytics,
    from_yolov5,
    run_length,
    yolov5_run_length,
)

DATA = Path(__file__).parent / "data" / "ultralytics"
RECORDED = json.loads((DATA / "recorded.json").read_text())
EPS = float(np.finfo(np.float64).eps)
ULTRALYTICS = RECORDED["ultralytics"]["cases"]
YOLOV5 = RECORDED["yolov5"]["cases"]


def _load(name):
    return yaml.safe_load((DATA / name).read_text())


def _steps(case):
    return case.get("keep", range(case["steps_per_epoch"] * case["epochs"]))


def _close(schedule, steps, theirs, peak):
    """Both evaluation paths agree with the trainer's values within the module's bound."""
    theirs = np.asarray(theirs)
    curve = schedule.curve(max(steps) + 1)[list(steps)]
    one_step = np.array([schedule(t) for t in steps])
    for ours in (curve, one_step):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
        assert np.max(np.abs(ours - theirs)) <= 2 * EPS * peak


def _compare(found, case, starts):
    """``found`` (the importer's) against a recorded ``case``; ``starts`` are the groups'
    warm-up starts (the bias group's ``warmup_bias_lr``)."""
    steps = list(_steps(case))
    assert len(found["lr"]) == len(case["lr"]) == len(starts)
    for schedule, theirs, start in zip(found["lr"], case["lr"], starts):
        assert is_absolute(schedule)
        _close(schedule, steps, theirs, max(max(theirs), abs(start)))
    assert ("momentum" in found) == ("momentum" in case)
    if "momentum" in case:
        assert is_absolute(found["momentum"])
        _close(found["momentum"], steps, case["momentum"], max(case["momentum"]))


def _ultralytics_config(case):
    return case["config"] if "config" in case else _load(case["file"])


def _auto(case):
    given = {"images": case["images"], "classes": case.get("classes")}
    return {k: v for k, v in given.items() if v is not None}


@pytest.mark.parametrize("case", ULTRALYTICS, ids=[c["name"] for c in ULTRALYTICS])
def test_ultralytics_is_its_trainer_batch_by_batch(case):
    config = _ultralytics_config(case)
    nb = case["steps_per_epoch"]
    found = from_ultralytics(config, steps_per_epoch=nb, auto=_auto(case))
    merged = {**ULTRALYTICS_DEFAULTS, **config}
    # optimizer 'auto' starts the bias warm-up at 0 (build_optimizer sets warmup_bias_lr = 0.0).
    start = 0.0 if merged["optimizer"] == "auto" else merged["warmup_bias_lr"]
    starts = [start if group == "bias" else 0.0 for group in case["param_groups"]]
    _compare(found, case, starts)
    assert run_length(config, steps_per_epoch=nb) == case["epochs"] * nb


@pytest.mark.parametrize("case", YOLOV5, ids=[c["name"] for c in YOLOV5])
def test_yolov5_is_its_train_py_batch_by_batch(case):
    hyp = {**_load(case["file"]), **case.get("changes", {})}
    options = {k: case[k] for k in ("epochs", "cos_lr", "optimizer")}
    found = from_yolov5(hyp, steps_per_epoch=case["steps_per_epoch"], **options)
    _compare(found, case, [hyp["warmup_bias_lr"], 0.0, 0.0])
    length = yolov5_run_length(hyp, steps_per_epoch=case["steps_per_epoch"], epochs=case["epochs"])
    assert length == case["epochs"] * case["steps_per_epoch"]


def test_every_case_was_recorded_and_with_what():
    """The recording holds every case of the grids, from the versions named in the README."""
    for source, cases in (("ultralytics", ULTRALYTICS), ("yolov5", YOLOV5)):
        given = json.loads((DATA / f"cases_{source}.json").read_text())
        assert [c["name"] for c in cases] == [c["name"] for c in given]
    assert RECORDED["ultralytics"]["versions"]["ultralytics"] == "8.4.190"
    assert RECORDED["yolov5"]["versions"]["yolov5"].startswith("5081342")


def test_the_grid_covers_each_branch_of_the_trainers():
    """Every optimizer family and both of auto's choices, no warm-up and a warm-up cut short,
    each schedule shape: a grid that lost a branch would compare nothing there."""
    built = {c["optimizer_built"] for c in ULTRALYTICS}
    assert built == {"SGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop", "MuSGD"}
    autos = {c["optimizer_built"] for c in ULTRALYTICS if c.get("classes")}
    assert autos == {"AdamW", "MuSGD"}
    assert {c["config"].get("cos_lr", False) for c in ULTRALYTICS if "config" in c} == {True, False}
    assert any(len(set(c["momentum"])) == 1 for c in ULTRALYTICS if "momentum" in c)
    assert {c["optimizer"] for c in YOLOV5} == {"SGD", "Adam", "AdamW", "RMSProp"}


# -- what the expressions are ---------------------------------------------------------------------


def test_an_sgd_run_reads_as_its_warm_up_and_its_epochs():
    found = from_ultralytics({"optimizer": "SGD", "epochs": 100}, steps_per_epoch=50)
    lr = 0.01 * per_epoch(linear(1.0, 0.01, 100), 50)
    ramp = warmup(lr, 150, overlay=True)
    assert found["lr"] == [
        absolute(ramp),
        absolute(ramp),
        absolute(ramp + 0.1 * linear(1.0, 0.0, 150)),
    ]
    assert found["momentum"] == absolute(linear(0.8, 0.937, 150))


def test_yolov5_runs_each_epoch_after_the_warm_up_at_the_epoch_before():
    hyp = _load("hyp.scratch-low.yaml")
    found = from_yolov5(hyp, steps_per_epoch=40, epochs=5)
    lr = 0.01 * per_epoch(linear(1.0, 0.01, 5), 40)
    ramp = warmup(lr, 120, overlay=True)
    assert found["lr"][1] == absolute(sequence(ramp, shift(lr, 120), at=[160]))
    assert found["lr"][1](160) == found["lr"][1](159) == lr(120)  # epoch 4 at lf(3)


def test_the_step_is_the_batch():
    """The warm-up ends at batch ``round(warmup_epochs * nb)``, whatever the optimizer steps."""
    found = from_ultralytics({"optimizer": "SGD", "batch": 4}, steps_per_epoch=10)
    assert found["momentum"](29) < 0.937 == found["momentum"](30)


# -- what is asked for, and what is refused -------------------------------------------------------


def test_the_batches_per_epoch_are_asked_for():
    with pytest.raises(ValueError, match=r"100 epochs .*pass steps_per_epoch=N \(batches per"):
        from_ultralytics({"optimizer": "SGD"})
    with pytest.raises(ValueError, match=r"pass steps_per_epoch=N"):
        from_yolov5(_load("hyp.scratch-low.yaml"))
    assert run_length({"epochs": 3}) is None
    assert yolov5_run_length({}, steps_per_epoch=7) == 700


def test_auto_asks_for_what_it_reads_of_the_data_set():
    config = _load("default.yaml")
    with pytest.raises(ValueError, match=r"pass auto=\{'images': \.\.\.\} \(the training images"):
        from_ultralytics(config, steps_per_epoch=10)
    # Few iterations: AdamW, whose lr0 needs the class count; many: MuSGD, which does not.
    with pytest.raises(ValueError, match=r"pass auto=\{'classes': \.\.\.\}"):
        from_ultralytics(config, steps_per_epoch=10, auto={"images": 160})
    musgd = from_ultralytics(config, steps_per_epoch=10, auto={"images": 6401})
    assert len(musgd["lr"]) == 8
    with pytest.raises(ValueError, match=r"auto has no key 'image'; did you mean 'images'"):
        from_ultralytics(config, steps_per_epoch=10, auto={"image": 160})
    with pytest.raises(ValueError, match=r"AutoBatch"):
        from_ultralytics({**config, "batch": -1}, steps_per_epoch=10, auto={"images": 160})
    with pytest.raises(ValueError, match=r"sets lr0 itself"):
        from_ultralytics(config, steps_per_epoch=10, lr=0.01, auto={"images": 6401})


def test_auto_adamw_lr0_is_build_optimizers():
    found = from_ultralytics({"epochs": 2}, steps_per_epoch=3, auto={"images": 48, "classes": 7})
    assert found["lr"][0](3) == pytest.approx(round(0.01 / 11, 6) * (1 - 1 / 2 * 0.99), rel=1e-12)
    assert "momentum" not in found


def test_settings_are_checked_as_ultralytics_checks_them():
    with pytest.raises(ValueError, match=r"unknown config optimizer 'SDG'; did you mean 'SGD'"):
        from_ultralytics({"optimizer": "SDG"}, steps_per_epoch=5)
    with pytest.raises(TypeError, match=r"config lr0 must be a finite number.*'1e-3'"):
        from_ultralytics({"optimizer": "SGD", "lr0": "1e-3"}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"config lrf must be a finite number >= 0 and <= 1"):
        from_ultralytics({"optimizer": "SGD", "lrf": 1.5}, steps_per_epoch=5)
    with pytest.raises(TypeError, match=r"cos_lr must be True or False"):
        from_ultralytics({"optimizer": "SGD", "cos_lr": "yes"}, steps_per_epoch=5)
    with pytest.raises(TypeError, match=r"lr0 must not be None"):
        from_ultralytics({"optimizer": "SGD", "lr0": None}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"config time 2 trains for that many hours"):
        from_ultralytics({"optimizer": "SGD", "time": 2}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"momentum 0 with SGD"):
        from_ultralytics({"optimizer": "SGD", "momentum": 0.0}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"AdamW's beta1, which must be below 1"):
        from_ultralytics({"optimizer": "AdamW", "momentum": 1.0}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"config epochs must be a positive integer"):
        from_ultralytics({"optimizer": "SGD", "epochs": 2.5}, steps_per_epoch=5)
    # An integral float is the integer (ultralytics' check_cfg: 'epochs=1e2').
    assert run_length({"epochs": 4.0}, steps_per_epoch=5) == 20


def test_lr_replaces_lr0():
    found = from_ultralytics({"optimizer": "SGD", "epochs": 3}, steps_per_epoch=4, lr=0.5)
    assert found["lr"][0](8) == pytest.approx(0.5 * (1 - 2 / 3 * 0.99), rel=1e-12)
    hyp = _load("hyp.scratch-low.yaml")
    at_warm_up_end = from_yolov5(hyp, steps_per_epoch=200, lr=0.5)["lr"][1](600)
    assert at_warm_up_end == pytest.approx(0.5 * ((1 - 3 / 100) * 0.99 + 0.01), rel=1e-12)


def test_yolov5_hyp_and_options_are_checked():
    hyp = _load("hyp.scratch-low.yaml")
    missing = {k: v for k, v in hyp.items() if k != "lrf"}
    with pytest.raises(ValueError, match=r"hyp has no 'lrf'.*train.py reads it"):
        from_yolov5({**missing, "lr_f": 0.01}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgd'; did you mean 'SGD'"):
        from_yolov5(hyp, steps_per_epoch=5, optimizer="sgd")
    with pytest.raises(TypeError, match=r"hyp lr0 must be a finite number"):
        from_yolov5({**hyp, "lr0": "0.01"}, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"lr0 -0.01 is negative"):
        from_yolov5({**hyp, "lr0": -0.01}, steps_per_epoch=5)


def test_without_a_warm_up_the_momentum_is_the_optimizers():
    found = from_ultralytics({"optimizer": "SGD", "warmup_epochs": 0}, steps_per_epoch=5)
    assert found["momentum"](0) == 0.937
    auto = from_ultralytics(
        {"warmup_epochs": 0, "epochs": 2}, steps_per_epoch=5001, auto={"images": 320064}
    )
    assert auto["momentum"](0) == 0.9  # build_optimizer's for auto; the warm-up would end at 0.937
    assert math.isclose(auto["lr"][0](0), 0.03, rel_tol=1e-15)  # MuSGD's head groups: 3 * lr0
