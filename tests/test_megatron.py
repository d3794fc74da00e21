"""from_megatron against Megatron-LM's own OptimizerParamScheduler (megatron-core 0.16.1), built
from the arguments as Megatron's training loop builds it (lengths in samples, stepped by the
global batch size after every iteration), on a grid of every decay style, WSD decay style,
warm-up form and weight-decay style.

Tolerance: Megatron computes ``min + coeff * (max - min)``; schedalg computes the same ``coeff``
by another float expression (``pi * u / L`` for ``pi * (u / L)``, ``cos(pi r)`` for
``-cos(pi (1 - r))``), each within a few ulps of 1, so the values agree to 1e-12 relative plus
8 ulps of the largest value (where ``coeff`` is near 0 the relative difference of two correct
roundings is not small)."""

from __future__ import annotations

import argparse
import itertools
import math

import numpy as np
import pytest

pytest.importorskip("megatron.core.optimizer_param_scheduler")
from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler

import schedalg as sa
from schedalg.megatron import from_megatron

EPS = np.finfo(float).eps


class _Optimizer:
    def __init__(self) -> None:
        self.param_groups = [{"params": []}]


def megatron_curves(a: dict, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """lr and weight decay for each iteration, as ``megatron/training`` drives the scheduler."""
    g = a.get("global_batch_size", 4)
    decay_iters = a.get("lr_decay_iters") or a["train_iters"]
    decay = decay_iters * g
    if a.get("lr_warmup_fraction") is not None:
        warm = a["lr_warmup_fraction"] * decay
    else:
        warm = a.get("lr_warmup_iters", 0) * g
    wsd = a.get("lr_wsd_decay_iters")
    style = a.get("weight_decay_incr_style", "constant")
    start = a.get("start_weight_decay", a.get("weight_decay", 0.01))
    end = a.get("end_weight_decay", a.get("weight_decay", 0.01))
    opt = _Optimizer()
    sched = OptimizerParamScheduler(
        opt,
        init_lr=a.get("lr_warmup_init", 0.0),
        max_lr=a["lr"],
        min_lr=a.get("min_lr", 0.0),
        lr_warmup_steps=warm,
        lr_decay_steps=decay,
        lr_decay_style=a.get("lr_decay_style", "linear"),
        start_wd=start,
        end_wd=end,
        wd_incr_steps=a["train_iters"] * g,
        wd_incr_style=style,
        wsd_decay_steps=None if wsd is None else wsd * g,
        lr_wsd_decay_style=a.get("lr_wsd_decay_style", "exponential"),
    )
    lr, wd = [], []
    for _ in range(iterations):
        lr.append(opt.param_groups[0]["lr"])
        wd.append(opt.param_groups[0]["weight_decay"])
        sched.step(increment=g)
    return np.array(lr), np.array(wd)


def agree(ours: np.ndarray, theirs: np.ndarray) -> None:
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    bound = 1e-12 * np.abs(theirs) + 8 * EPS * scale
    bad = np.flatnonzero(np.abs(ours - theirs) > bound)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


STYLES = ["constant", "linear", "cosine", "inverse-square-root"]
WSD = ["linear", "cosine", "exponential", "minus_sqrt"]
WARMUPS = [{}, {"lr_warmup_iters": 1}, {"lr_warmup_iters": 15}, {"lr_warmup_fraction": 0.2}]
LRS = [
    {"lr": 3e-4},
    {"lr": 1.0, "min_lr": 0.1},
    {"lr": 2e-3, "min_lr": 2e-4, "lr_warmup_init": 1e-4},
]
WDS = [
    {},
    {"weight_decay": 0.1},
    {"weight_decay_incr_style": "linear", "start_weight_decay": 0.0, "end_weight_decay": 0.1},
    {"weight_decay_incr_style": "cosine", "start_weight_decay": 0.01, "end_weight_decay": 0.05},
]


def grid() -> list[dict]:
    cases = []
    decay_forms = [{"lr_decay_style": s} for s in STYLES] + [{}]
    decay_forms += [
        {"lr_decay_style": "WSD", "lr_wsd_decay_style": w, "lr_wsd_decay_iters": n}
        for w in WSD
        for n in (10, 60, 70, 90)  # 70, 90: the anneal starts inside the warm-up (or before 0)
    ]
    decay_forms += [{"lr_decay_style": "WSD", "lr_wsd_decay_iters": 25}]  # the default style
    for form, warm, lr, wd in itertools.product(decay_forms, WARMUPS, LRS, WDS[:2]):
        case = {"train_iters": 100, "lr_decay_iters": 75, **form, **warm, **lr, **wd}
        if not warm and form.get("lr_decay_style") == "inverse-square-root":
            case["global_batch_size"] = 1
            cases.append({**case, "global_batch_size": 16})
        cases.append(case)
    for form, wd in itertools.product(decay_forms[:4], WDS):
        cases.append({"train_iters": 80, "global_batch_size": 32, **form, **LRS[1], **wd})
    return cases


@pytest.mark.parametrize("a", grid(), ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
def test_matches_megatron(a: dict) -> None:
    lr, wd = megatron_curves(a, a["train_iters"] + 40)
    got = from_megatron(a)
    t = np.arange(len(lr))
    agree(got["lr"].curve(len(lr)), lr)
    agree(np.array([got["lr"](int(i)) for i in t]), lr)
    agree(got["weight_decay"].curve(len(wd)), wd)
    assert sa.from_dict(sa.to_dict(got["lr"])) == got["lr"]
    assert sa.parse(repr(got["weight_decay"])) == got["weight_decay"]


def megatron_sample_curves(a: dict, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """lr and weight decay per iteration in sample-based training, as ``megatron/training``
    builds the scheduler there (lengths in samples: lr_decay_samples defaults to train_samples,
    the warm-up is lr_warmup_samples or lr_warmup_fraction of the decay, WSD's anneal
    lr_wsd_decay_samples, weight decay over train_samples) and steps it by the global batch."""
    g = a["global_batch_size"]
    decay = a.get("lr_decay_samples") or a["train_samples"]
    if a.get("lr_warmup_fraction") is not None:
        warm = a["lr_warmup_fraction"] * decay
    else:
        warm = a.get("lr_warmup_samples", 0)
    opt = _Optimizer()
    sched = OptimizerParamScheduler(
        opt,
        init_lr=a.get("lr_warmup_init", 0.0),
        max_lr=a["lr"],
        min_lr=a.get("min_lr", 0.0),
        lr_warmup_steps=warm,
        lr_decay_steps=decay,
        lr_decay_style=a.get("lr_decay_style", "linear"),
        start_wd=a.get("start_weight_decay", a.get("weight_decay", 0.01)),
        end_wd=a.get("end_weight_decay", a.get("weight_decay", 0.01)),
        wd_incr_steps=a["train_samples"],
        wd_incr_style=a.get("weight_decay_incr_style", "constant"),
        wsd_decay_steps=a.get("lr_wsd_decay_samples"),
        lr_wsd_decay_style=a.get("lr_wsd_decay_style", "exponential"),
    )
    lr, wd = [], []
    for _ in range(iterations):
        lr.append(opt.param_groups[0]["lr"])
        wd.append(opt.param_groups[0]["weight_decay"])
        sched.step(increment=g)
    return np.array(lr), np.array(wd)


SAMPLE_CASES = [
    # lengths that are not multiples of the batch: the switches fall inside an iteration
    {"lr_decay_style": "cosine", "lr_warmup_samples": 1000, "lr_decay_samples": 20_000},
    {"lr_decay_style": "linear", "lr_warmup_fraction": 0.05, "min_lr": 1e-5},
    {"lr_decay_style": "inverse-square-root"},
    {"lr_decay_style": "inverse-square-root", "lr_warmup_samples": 777},
    {"lr_decay_style": "constant", "lr_warmup_samples": 300, "lr_warmup_init": 1e-5},
    {
        "lr_decay_style": "WSD",
        "lr_wsd_decay_style": "minus_sqrt",
        "lr_wsd_decay_samples": 5000,
        "lr_warmup_samples": 500,
    },
    {"lr_decay_style": "WSD", "lr_wsd_decay_samples": 3333},
    {
        "weight_decay_incr_style": "cosine",
        "start_weight_decay": 0.01,
        "end_weight_decay": 0.1,
        "lr_warmup_samples": 64,
    },
]


@pytest.mark.parametrize("batch", [1, 96])
@pytest.mark.parametrize(
    "case", SAMPLE_CASES, ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items())
)
def test_sample_based_training_matches_megatron(case: dict, batch: int) -> None:
    a = {"lr": 3e-4, "train_samples": 24_000, "global_batch_size": batch, **case}
    steps = 24_000 // batch + 30 if batch > 1 else 400
    lr, wd = megatron_sample_curves(a, steps)
    got = from_megatron(a)
    agree(got["lr"].curve(steps), lr)
    agree(np.array([got["lr"](t) for t in range(0, steps, 7)]), lr[::7])
    agree(got["weight_decay"].curve(steps), wd)
    assert sa.parse(repr(got["lr"])) == got["lr"]
    assert sa.from_dict(sa.to_dict(got["weight_decay"])) == got["weight_decay"]


def test_sample_based_reads_as_the_curve_in_samples() -> None:
    got = from_megatron(
        {"lr": 1.0, "train_samples": 1000, "global_batch_size": 8, "lr_decay_style": "cosine"}
    )
    assert got["lr"] == sa.warp(sa.cosine(1000), 8 * sa.elapsed())


def test_defaults_and_namespace() -> None:
    # lr_decay_iters defaults to train_iters, the decay style to linear, weight decay to 0.01.
    ns = argparse.Namespace(lr=1e-3, train_iters=50, seed=1234, micro_batch_size=2)
    got = from_megatron(ns)
    assert got["lr"] == 1e-3 * sa.linear(1.0, 0.0, 50)
    assert got["weight_decay"] == sa.constant(0.01)
    lr, wd = megatron_curves({"lr": 1e-3, "train_iters": 50}, 60)
    agree(got["lr"].curve(60), lr)
    agree(got["weight_decay"].curve(60), wd)
    assert from_megatron({"lr-decay-style": "cosine", "lr": 1.0, "train_iters": 9})[
        "lr"
    ] == sa.cosine(9)


@pytest.mark.parametrize(
    ("args", "error", "text"),
    [
        ({"lr": 1.0, "train_iters": 9, "lr_decay_styl": "cosine"}, ValueError, "'lr_decay_style'"),
        ({"lr": 1.0, "train_iters": 9, "lr_decay_style": "cosin"}, ValueError, "'cosine'"),
        ({"lr": 1.0, "train_iters": 9, "lr_decay_style": "WSD"}, TypeError, "lr_wsd_decay_iters"),
        (
            {
                "lr": 1.0,
                "train_iters": 9,
                "lr_decay_style": "WSD",
                "lr_wsd_decay_iters": 3,
                "lr_wsd_decay_style": "exponentail",
            },
            ValueError,
            "'exponential'",
        ),
        ({"lr": 1.0, "train_iters": 9, "min_lr": 2.0}, ValueError, "min_lr"),
        ({"lr": 1.0, "train_iters": 9, "lr_warmup_iters": 9}, ValueError, "lr_decay_iters (9)"),
        ({"lr": 1.0, "train_iters": 9, "lr_warmup_fraction": 1.0}, ValueError, "below 1"),
        ({"lr": 1.0, "train_samples": 900}, TypeError, "global_batch_size"),
        (
            {"lr": 1.0, "train_samples": 900, "global_batch_size": 8, "lr_warmup_iters": 5},
            ValueError,
            "takes lr_warmup_samples, not lr_warmup_iters",
        ),
        (
            {"lr": 1.0, "train_iters": 90, "lr_decay_samples": 500},
            ValueError,
            "takes lr_decay_iters, not lr_decay_samples",
        ),
        (
            {
                "lr": 1.0,
                "train_samples": 900,
                "global_batch_size": 8,
                "rampup_batch_size": [8, 8, 80],
            },
            ValueError,
            "rampup_batch_size",
        ),
        (
            {"lr": 1.0, "train_samples": 900, "global_batch_size": 8, "lr_warmup_samples": 900},
            ValueError,
            "lr_decay_samples (900)",
        ),
        (
            {"lr": 1.0, "train_samples": 900, "global_batch_size": 8, "lr_decay_style": "WSD"},
            TypeError,
            "lr_wsd_decay_samples",
        ),
        ({"lr": 1.0}, TypeError, "train_iters"),
        ({"train_iters": 9}, TypeError, "'lr'"),
        (
            {"lr": 1.0, "train_iters": 9, "lr_decay_style": "inverse-square-root"},
            TypeError,
            "global_batch_size",
        ),
        (
            {"lr": 1.0, "train_iters": 9, "weight_decay_incr_style": "linear"},
            TypeError,
            "start_weight_decay",
        ),
        ({"lr": 1.0, "train_iters": 9, "start_weight_decay": 0.1}, ValueError, "constant"),
    ],
)
def test_errors_name_megatron_arguments(args: dict, error: type, text: str) -> None:
    with pytest.raises(error, match="from_megatron") as info:
        from_megatron(args)
    assert text in str(info.value)


def test_sanity_of_the_comparison() -> None:
    # The comparison can fail: a schedule one step off is caught.
    a = {"lr": 1.0, "train_iters": 50, "lr_decay_style": "cosine", "lr_warmup_iters": 5}
    lr, _ = megatron_curves(a, 60)
    late = sa.shift(from_megatron(a)["lr"], 1)
    with pytest.raises(AssertionError):
        agree(late.curve(60), lr)
    assert math.isclose(lr[5], 1.0)
