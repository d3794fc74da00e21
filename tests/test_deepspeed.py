"""from_deepspeed against DeepSpeed 0.19.8's own schedulers (``deepspeed.runtime.lr_schedules``)
on a torch Adam, built from the same params and stepped after every iteration as DeepSpeed's
engine steps them, on a grid of every type and option (defaults included).

Tolerance: where schedalg computes DeepSpeed's value by another float expression (``u / W`` for
``(u / W) * delta``, a sum for ``1 + t / total - cycle``, a squared ``inverse_sqrt`` for
``1 / (1 + r d)``), each side is within a few ulps of the exact value: 1e-12 relative plus 8 ulps
of the largest value (where a value falls to 0 relative differences of correct roundings are not
small). The log warm-up and the stairs are DeepSpeed's own numbers and match exactly."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

pytest.importorskip("deepspeed.runtime.lr_schedules")
import torch
from deepspeed.runtime import lr_schedules

import schedalg as sa
from schedalg.deepspeed import from_deepspeed

logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
EPS = np.finfo(float).eps
LR = 3e-4


def deepspeed_curves(kind: str, params: dict, steps: int) -> dict[str, np.ndarray]:
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    sched = getattr(lr_schedules, kind)(opt, **params)
    lr, mom = [], []
    for _ in range(steps):
        lr.append(opt.param_groups[0]["lr"])
        mom.append(opt.param_groups[0]["betas"][0])
        sched.step()
    out = {"lr": np.array(lr, dtype=float)}
    if kind == "OneCycle" and params.get("cycle_momentum", True):
        out["momentum"] = np.array(mom, dtype=float)
    return out


def agree(ours: np.ndarray, theirs: np.ndarray, exact: bool = False) -> None:
    if exact:
        np.testing.assert_array_equal(ours, theirs)
        return
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    bad = np.flatnonzero(np.abs(ours - theirs) > 1e-12 * np.abs(theirs) + 8 * EPS * scale)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


def check(kind: str, params: dict, steps: int) -> None:
    theirs = deepspeed_curves(kind, params, steps)
    ours = from_deepspeed({"type": kind, "params": params}, lr=LR)
    assert sorted(ours) == sorted(theirs)
    for name, expr in ours.items():
        agree(expr.curve(steps), theirs[name])
        agree(np.array([expr(t) for t in range(steps)]), theirs[name])
        assert sa.from_dict(sa.to_dict(expr)) == expr
        if len(repr(expr)) <= 20_000:  # parse's limit on text; a long log warm-up is data only
            assert sa.parse(repr(expr)) == expr


WARMUPS = [
    {},
    {"warmup_type": "linear"},
    {"warmup_num_steps": 1},
    {"warmup_num_steps": 2, "warmup_type": "linear"},
    {"warmup_num_steps": 37},
    {"warmup_num_steps": 37, "warmup_type": "linear"},
]
LIMITS = [{}, {"warmup_min_lr": 1e-5, "warmup_max_lr": 2e-3}]


@pytest.mark.parametrize(("warm", "limits"), itertools.product(WARMUPS, LIMITS))
def test_warmup_lr(warm: dict, limits: dict) -> None:
    check("WarmupLR", {**warm, **limits}, 1100 if not warm else 60)


@pytest.mark.parametrize(
    ("warm", "limits", "total"), itertools.product(WARMUPS, LIMITS, [30, 37, 38, 200, 1500])
)
def test_warmup_decay_lr(warm: dict, limits: dict, total: int) -> None:
    params = {**warm, **limits, "total_num_steps": total}
    check("WarmupDecayLR", params, max(total, warm.get("warmup_num_steps", 1000)) + 30)


RATIOS = [{}, {"warmup_min_ratio": 0.1, "cos_min_ratio": 0.02}, {"cos_min_ratio": -0.1}]


@pytest.mark.parametrize(
    ("warm", "ratios", "total"), itertools.product(WARMUPS, RATIOS, [30, 37, 38, 200, 1500])
)
def test_warmup_cosine_lr(warm: dict, ratios: dict, total: int) -> None:
    params = {**warm, **ratios, "total_num_steps": total}
    check("WarmupCosineLR", params, max(total, warm.get("warmup_num_steps", 1000)) + 30)


CYCLES = [
    {"cycle_first_step_size": 10},
    {"cycle_first_step_size": 10, "cycle_second_step_size": 0},
    {"cycle_first_step_size": 7, "cycle_second_step_size": 23},
    {"cycle_first_step_size": 12, "cycle_first_stair_count": 5},
    {
        "cycle_first_step_size": 12,
        "cycle_second_step_size": 7,
        "cycle_first_stair_count": 3,
        "cycle_second_stair_count": 4,
    },
    {"cycle_first_step_size": 6, "cycle_second_step_size": 9, "cycle_second_stair_count": 20},
]
DECAYS = [
    {},
    {"decay_step_size": 5},
    {"decay_step_size": 5, "decay_lr_rate": 0.1},
    {"decay_step_size": 3, "decay_lr_rate": 0.25, "decay_mom_rate": 0.01},
]
MOMENTA = [{}, {"cycle_momentum": False}, {"cycle_min_mom": 0.85, "cycle_max_mom": 0.95}]


@pytest.mark.parametrize(("cycle", "decay", "mom"), itertools.product(CYCLES, DECAYS, MOMENTA))
def test_one_cycle(cycle: dict, decay: dict, mom: dict) -> None:
    params = {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, **cycle, **decay, **mom}
    check("OneCycle", params, 80)


def test_one_cycle_defaults() -> None:
    check("OneCycle", {"cycle_min_lr": 0.0, "cycle_max_lr": 0.01}, 4100)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lr_range_test_step_size": 10},
        {"lr_range_test_step_size": 10, "lr_range_test_staircase": True},
        {
            "lr_range_test_min_lr": 0.01,
            "lr_range_test_step_size": 7,
            "lr_range_test_step_rate": 3.5,
        },
        {
            "lr_range_test_step_size": 7,
            "lr_range_test_step_rate": 0.5,
            "lr_range_test_staircase": True,
        },
        {"lr_range_test_step_rate": 0.0},
    ],
)
def test_lr_range_test(params: dict) -> None:
    check("LRRangeTest", params, 4500 if "lr_range_test_step_size" not in params else 100)


def test_log_warmup_and_stairs_are_exact() -> None:
    for kind, params in [
        ("WarmupLR", {"warmup_num_steps": 50, "warmup_max_lr": 0.01}),
        (
            "OneCycle",
            {
                "cycle_min_lr": 0.01,
                "cycle_max_lr": 0.1,
                "cycle_first_step_size": 9,
                "cycle_first_stair_count": 4,
                "cycle_momentum": False,
            },
        ),
    ]:
        theirs = deepspeed_curves(kind, params, 18)
        agree(from_deepspeed({"type": kind, "params": params})["lr"].curve(18), theirs["lr"], True)


def test_whole_config_and_optimizer_lr() -> None:
    config = {
        "train_batch_size": 32,
        "optimizer": {"type": "AdamW", "params": {"lr": 0.002}},
        "scheduler": {
            "type": "WarmupCosineLR",
            "params": {"total_num_steps": 50, "warmup_num_steps": 5},
        },
    }
    got = from_deepspeed(config)["lr"]
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.002)
    sched = lr_schedules.WarmupCosineLR(opt, total_num_steps=50, warmup_num_steps=5)
    theirs = []
    for _ in range(60):
        theirs.append(opt.param_groups[0]["lr"])
        sched.step()
    agree(got.curve(60), np.array(theirs))
    # WarmupLR without warmup_max_lr warms up to the optimizer's lr.
    config["scheduler"] = {"type": "WarmupLR", "params": {"warmup_num_steps": 5}}
    assert from_deepspeed(config)["lr"](10) == 0.002


PER_GROUP = [
    ("WarmupLR", {"warmup_min_lr": [0.0, 1e-5, 2e-5], "warmup_max_lr": [1e-3, 2e-3, 3e-3]}),
    ("WarmupLR", {"warmup_min_lr": 1e-5, "warmup_num_steps": 20, "warmup_type": "linear"}),
    (
        "WarmupDecayLR",
        {"warmup_max_lr": [1e-3, 5e-4, 2e-3], "total_num_steps": 50, "warmup_num_steps": 9},
    ),
    ("WarmupCosineLR", {"total_num_steps": 40, "warmup_num_steps": 5}),
    (
        "OneCycle",
        {
            "cycle_min_lr": [1e-4, 2e-4, 3e-4],
            "cycle_max_lr": 1e-2,
            "cycle_first_step_size": 10,
            "cycle_min_mom": [0.8, 0.85, 0.7],
            "cycle_max_mom": [0.9, 0.95, 0.99],
            "decay_step_size": 3,
            "decay_lr_rate": 0.1,
            "decay_mom_rate": 0.05,
        },
    ),
    ("LRRangeTest", {"lr_range_test_min_lr": [1e-4, 1e-3, 1e-2], "lr_range_test_step_size": 7}),
]


@pytest.mark.parametrize(("kind", "params"), PER_GROUP)
def test_per_group_lists(kind: str, params: dict) -> None:
    """DeepSpeed's per-group lists (and an optimizer with a different lr per group), on a real
    three-group optimizer: each group's schedule and the Scheduler adapter on a fresh one."""
    from schedalg.torch import Scheduler

    lrs = [LR, 1e-3, 5e-5]

    def optimizer() -> torch.optim.Optimizer:
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
        return torch.optim.Adam(groups, lr=LR)

    opt, fresh = optimizer(), optimizer()
    sched = getattr(lr_schedules, kind)(opt, **params)
    ours = from_deepspeed({"type": kind, "params": params}, lr=lrs)
    adapter = Scheduler(fresh, absolute=True, **ours)
    for t in range(60):
        for i, (group, mine) in enumerate(zip(opt.param_groups, fresh.param_groups)):
            values = {"lr": group["lr"], "momentum": group["betas"][0]}
            assert sorted(ours) in (["lr"], ["lr", "momentum"])
            for key, schedules in ours.items():
                assert isinstance(schedules, list) and len(schedules) == 3
                agree(np.array([schedules[i](t)]), np.array([values[key]]))
                got = mine["lr"] if key == "lr" else mine["betas"][0]
                agree(np.array([got]), np.array([values[key]]))
        sched.step()
        fresh.step()
        adapter.step()


@pytest.mark.parametrize(
    ("config", "error", "text"),
    [
        ({"type": "WarmupLr", "params": {}}, ValueError, "'WarmupLR'"),
        ({"type": "WarmupLR", "params": {"warmup_num_step": 5}}, ValueError, "'warmup_num_steps'"),
        (
            {"type": "WarmupLR", "params": {"warmup_type": "lin", "warmup_max_lr": 0.1}},
            ValueError,
            "'linear'",
        ),
        ({"type": "WarmupLR", "parms": {}}, ValueError, "'params'"),
        ({"type": "WarmupLR", "params": {}}, TypeError, "warmup_max_lr"),
        ({"type": "WarmupCosineLR", "params": {"total_num_steps": 9}}, TypeError, "lr="),
        ({"type": "WarmupDecayLR", "params": {}}, TypeError, "'total_num_steps'"),
        ({"type": "OneCycle", "params": {"cycle_min_lr": 0.1}}, TypeError, "'cycle_max_lr'"),
        (
            {"type": "WarmupLR", "params": {"warmup_num_steps": [3, 4], "warmup_max_lr": 1.0}},
            ValueError,
            "per parameter group only for warmup_min_lr, warmup_max_lr",
        ),
        (
            {"type": "OneCycle", "params": {"cycle_min_lr": [0.1, 0.2], "cycle_max_lr": [1.0]}},
            ValueError,
            "'cycle_min_lr': 2, 'cycle_max_lr': 1",
        ),
        (
            {
                "type": "OneCycle",
                "params": {
                    "cycle_min_lr": 0.1,
                    "cycle_max_lr": 1.0,
                    "decay_step_size": 2,
                    "decay_lr_rate": -0.5,
                },
            },
            ValueError,
            "decay_lr_rate",
        ),
        (
            {"type": "LRRangeTest", "params": {"lr_range_test_step_size": 0}},
            ValueError,
            "lr_range_test_step_size",
        ),
    ],
)
def test_errors_name_deepspeed_options(config: dict, error: type, text: str) -> None:
    with pytest.raises(error, match="from_deepspeed") as info:
        from_deepspeed(config)
    assert text in str(info.value)


def test_the_comparison_can_fail() -> None:
    theirs = deepspeed_curves("WarmupLR", {"warmup_num_steps": 10, "warmup_type": "linear"}, 30)
    ours = from_deepspeed(
        {"type": "WarmupLR", "params": {"warmup_num_steps": 10, "warmup_max_lr": LR}}
    )["lr"]
    with pytest.raises(AssertionError):  # log warm-up where DeepSpeed warms up linearly
        agree(ours.curve(30), theirs["lr"])
