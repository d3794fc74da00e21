"""``schedalg.timm.from_timm`` against the real timm schedulers (timm 1.0.31).

timm's scheduler modules are loaded by ``tests/timm_loader.py`` without timm's package root:
``import timm`` imports its models and torchvision, whose PyPI build for torch 2.13 cannot load
beside the CPU torch (timm is installed without it); ``timm.scheduler`` needs torch only, and
the code that runs is timm's own. The tests are skipped where timm is not installed.

Every case drives timm as its ``train.py`` does (the constructor's lr at ``t = 0``, then
``step(t)`` or ``step_update(t)``) and compares each param group's lr at every step with the
expression: within ``1e-12`` relative, or ``4 eps * lr`` absolute. The absolute part is the
rounding of timm's own cosine argument (``pi * t / T`` carries ``ulp(pi)``): near a cosine's
end both sides carry an absolute error of about ``eps * lr``, which is large relative to a
value close to 0.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from schedalg import from_dict, parse, to_dict
from schedalg.curves.metric import bind, plateaus
from schedalg.timm import CLASSES, SCHEDS, from_timm
from schedalg.torch import Scheduler
from tests.timm_loader import timm_scheduler

EPS = 2.220446049250313e-16
ts = timm_scheduler()
pytestmark = pytest.mark.skipif(ts is None, reason="timm is not installed")


def _optimizer(lrs: tuple[float, ...] = (0.1,), scales: tuple[float | None, ...] = ()) -> Any:
    groups = []
    for i, lr in enumerate(lrs):
        group: dict[str, Any] = {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr}
        if i < len(scales) and scales[i] is not None:
            group["lr_scale"] = scales[i]
        groups.append(group)
    return torch.optim.SGD(groups)


def _drive(scheduler: Any, optimizer: Any, steps: int, per_update: bool) -> list[list[float]]:
    """The lrs train.py runs with: the constructor's at 0, then step(t) / step_update(t)."""
    seen = [[float(g["lr"]) for g in optimizer.param_groups]]
    for t in range(1, steps):
        (scheduler.step_update if per_update else scheduler.step)(t)
        seen.append([float(g["lr"]) for g in optimizer.param_groups])
    return seen


def _assert_close(expected: list[float], schedule: Any, scale: float) -> None:
    ours = schedule.curve(0, len(expected))
    for t, (want, got) in enumerate(zip(expected, ours)):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=4 * EPS * scale), (t, want, got)
    for t in range(0, len(expected), 7):  # the one-step path too
        assert math.isclose(schedule(t), expected[t], rel_tol=1e-12, abs_tol=4 * EPS * scale)


def _groups(result: Any, count: int) -> tuple[Any, ...]:
    return result if isinstance(result, tuple) else (result,) * count


# -- the classes, every option -------------------------------------------------------------------

C, T, P = "CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"
CLASS_CASES: list[tuple[str, dict[str, Any], int]] = [
    (C, {"t_initial": 40}, 60),
    (C, {"t_initial": 40, "lr_min": 1e-3, "warmup_t": 5, "warmup_lr_init": 1e-4}, 60),
    (C, {"t_initial": 40, "warmup_t": 5, "warmup_prefix": True, "lr_min": 2e-3}, 60),
    (C, {"t_initial": 40, "k_decay": 2.0}, 60),
    (C, {"t_initial": 40, "k_decay": 0.5, "lr_min": 1e-4, "warmup_t": 3}, 60),
    (C, {"t_initial": 15, "cycle_limit": 3}, 60),
    (C, {"t_initial": 15, "cycle_limit": 4, "cycle_decay": 0.5, "lr_min": 1e-3}, 70),
    (C, {"t_initial": 15, "cycle_limit": 3, "cycle_decay": 0.5, "k_decay": 1.5}, 60),
    (C, {"t_initial": 15, "cycle_limit": 3, "cycle_decay": 0.0, "lr_min": 1e-3}, 60),
    (C, {"t_initial": 5, "cycle_mul": 2.0, "cycle_limit": 4, "cycle_decay": 0.5}, 90),
    (C, {"t_initial": 1, "cycle_mul": 3.0, "cycle_limit": 7, "lr_min": 1e-3}, 1200),
    (C, {"t_initial": 7, "cycle_mul": 1.5, "cycle_limit": 5, "k_decay": 1.5, "lr_min": 1e-3}, 120),
    (C, {"t_initial": 20.0, "cycle_limit": 0}, 30),
    (C, {"t_initial": 40, "noise_range_t": (10, 30), "noise_seed": 3}, 60),
    (C, {"t_initial": 40, "noise_range_t": 0, "noise_pct": 0.3, "noise_std": 0.5}, 60),
    (C, {"t_initial": 40, "noise_range_t": [5.5, 20.2], "warmup_t": 8}, 60),
    (T, {"t_initial": 40}, 60),
    (T, {"t_initial": 40, "lb": -3.0, "ub": 5.0, "lr_min": 1e-3, "warmup_t": 5}, 60),
    (T, {"t_initial": 20, "warmup_t": 5, "warmup_prefix": True, "cycle_limit": 3}, 80),
    (T, {"t_initial": 10, "cycle_mul": 2.0, "cycle_limit": 3, "cycle_decay": 0.7}, 80),
    (T, {"t_initial": 9, "cycle_mul": 1.3, "cycle_limit": 4, "noise_range_t": 3}, 60),
    (P, {"t_initial": 40}, 60),
    (P, {"t_initial": 40, "power": 2.0, "k_decay": 2.0, "lr_min": 1e-3, "warmup_t": 3}, 60),
    (P, {"t_initial": 15, "cycle_limit": 3, "cycle_decay": 0.7, "power": 1.0}, 60),
    (
        P,
        {"t_initial": 6, "cycle_mul": 1.5, "cycle_limit": 4, "warmup_prefix": True, "warmup_t": 2},
        60,
    ),
    ("StepLRScheduler", {"decay_t": 7, "decay_rate": 0.5}, 60),
    ("StepLRScheduler", {"decay_t": 7.0, "decay_rate": 0.5, "warmup_t": 3}, 60),
    (
        "StepLRScheduler",
        {"decay_t": 7, "decay_rate": 0.5, "warmup_t": 3, "warmup_prefix": False},
        60,
    ),
    ("StepLRScheduler", {"decay_t": 3}, 20),
    ("StepLRScheduler", {"decay_t": 2.4, "decay_rate": 0.97, "warmup_t": 2}, 60),
    ("StepLRScheduler", {"decay_t": 0.1, "decay_rate": 0.9}, 30),
    ("MultiStepLRScheduler", {"decay_t": [10, 20, 30], "decay_rate": 0.5}, 60),
    ("MultiStepLRScheduler", {"decay_t": [1, 10, 20.5], "decay_rate": 0.5}, 60),
    ("MultiStepLRScheduler", {"decay_t": [0, 10], "decay_rate": 0.3, "warmup_t": 4}, 60),
    (
        "MultiStepLRScheduler",
        {
            "decay_t": [5, 5, 9],
            "decay_rate": 0.5,
            "warmup_t": 4,
            "warmup_prefix": False,
            "warmup_lr_init": 0.01,
        },
        60,
    ),
]
W = "WSDLRScheduler"
for _fn in ("linear", "1-sqrt", "cosine", "power", "exp"):
    CLASS_CASES.append((W, {"t_initial": 40, "decay_t": 15, "decay_fn": _fn}, 60))
CLASS_CASES += [
    (
        W,
        {
            "t_initial": 40,
            "decay_t": 15,
            "decay_fn": "power",
            "decay_power": 1.7,
            "lr_min": 1e-3,
            "warmup_t": 5,
            "warmup_lr_init": 1e-4,
        },
        60,
    ),
    (W, {"t_initial": 40, "decay_t": 15, "decay_fn": "exp", "decay_ratio": 0.3}, 60),
    (W, {"t_initial": 40, "decay_t": 40, "stable_fn": "rsqrt", "stable_timescale": 4}, 60),
    (W, {"t_initial": 40, "decay_t": 15, "stable_fn": "rsqrt", "warmup_t": 5}, 60),
    (
        W,
        {
            "t_initial": 40,
            "decay_t": 15,
            "stable_fn": "power",
            "stable_power": 1.3,
            "stable_timescale": 3.5,
            "lr_min": 0.02,
            "decay_fn": "power",
            "decay_power": 0.3,
        },
        60,
    ),
    (W, {"t_initial": 30, "decay_t": 10, "noise_range_t": (5, 35), "noise_seed": 11}, 50),
]


@pytest.mark.parametrize("per_update", [False, True])
@pytest.mark.parametrize(("kind", "options", "steps"), CLASS_CASES)
def test_classes(kind: str, options: dict[str, Any], steps: int, per_update: bool) -> None:
    optimizer = _optimizer((0.1, 0.3), (None, 0.25))
    scheduler = getattr(ts, kind)(optimizer, t_in_epochs=not per_update, **options)
    expected = _drive(scheduler, optimizer, steps, per_update)
    converted = _groups(from_timm(scheduler), 2)
    for g, (schedule, scale) in enumerate(zip(converted, (0.1, 0.3 * 0.25))):
        _assert_close([row[g] for row in expected], schedule, scale)
    # The class's own arguments give the first group's expression.
    assert from_timm(kind, lr=0.1, t_in_epochs=not per_update, **options) == converted[0]


def test_every_class_and_option_is_covered() -> None:
    """Each class's own options in its cases; the shared ones (warm-up, noise) in some case."""
    assert set(CLASSES) == {k for k, _, _ in CLASS_CASES} | {"PlateauLRScheduler"}
    shared = {"warmup_t", "warmup_lr_init", "warmup_prefix", "t_in_epochs", "noise_range_t"}
    shared |= {"noise_pct", "noise_std", "noise_seed"}
    everywhere = {name for _, o, _ in CLASS_CASES for name in o} | {"t_in_epochs"}
    assert shared <= everywhere
    for kind, defaults in CLASSES.items():
        if kind != "PlateauLRScheduler":
            used = {name for k, o, _ in CLASS_CASES if k == kind for name in o}
            assert set(defaults) - shared <= used, (kind, set(defaults) - shared - used)


def test_class_defaults_are_timm_s() -> None:
    import inspect

    for kind, defaults in CLASSES.items():
        signature = inspect.signature(getattr(ts, kind).__init__).parameters
        timm_defaults = {
            name: (... if p.default is inspect.Parameter.empty else p.default)
            for name, p in signature.items()
            if name not in ("self", "optimizer", "initialize")
        }
        assert timm_defaults == defaults, kind


# -- create_scheduler_v2 -------------------------------------------------------------------------

V2_CASES: list[dict[str, Any]] = [
    {},
    {"num_epochs": 40, "warmup_epochs": 5},
    {"num_epochs": 40, "warmup_epochs": 5, "warmup_prefix": True, "min_lr": 1e-4},
    {"num_epochs": 20, "cycle_limit": 3, "cycle_mul": 2.0, "cycle_decay": 0.5, "noise": 0.5},
    {"num_epochs": 40, "k_decay": 1.7, "noise": [0.2, 0.6], "noise_pct": 0.2, "noise_seed": 9},
    {"num_epochs": 40, "noise": [0.25], "noise_std": 0.3},
    {"sched": "tanh", "num_epochs": 40, "warmup_epochs": 3, "warmup_lr": 1e-3},
    {"sched": "poly", "num_epochs": 40, "decay_rate": 2.0, "k_decay": 1.5, "min_lr": 1e-4},
    {"sched": "step", "num_epochs": 40, "decay_epochs": 7, "warmup_epochs": 2},
    {"sched": "step", "num_epochs": 200},
    {"sched": "step", "decay_epochs": 2.4, "decay_rate": 0.97, "warmup_epochs": 3},
    {"sched": "constant", "num_epochs": 40, "warmup_epochs": 3},
    {"sched": "multistep", "decay_milestones": [10, 30], "warmup_epochs": 3, "decay_rate": 0.5},
    {"sched": "multistep", "num_epochs": 100},
    {"sched": "wsd", "num_epochs": 40, "warmup_epochs": 5},
    {"sched": "wsd", "num_epochs": 40, "decay_fn": "cosine", "decay_epochs": 0.3, "min_lr": 1e-3},
    {
        "sched": "wsd",
        "num_epochs": 40,
        "decay_epochs": 12,
        "warmup_prefix": True,
        "warmup_epochs": 2,
    },
    {"sched": "rsqrt", "num_epochs": 40, "warmup_epochs": 5, "decay_epochs": 10},
    {"sched": "rsqrt", "num_epochs": 40, "stable_timescale": 3, "decay_fn": "power"},
]


@pytest.mark.parametrize("updates", [None, 4])
@pytest.mark.parametrize("options", V2_CASES)
def test_create_scheduler_v2(options: dict[str, Any], updates: int | None) -> None:
    per_update = updates is not None
    kwargs = {**options, "step_on_epochs": not per_update, "updates_per_epoch": updates or 0}
    optimizer = _optimizer((0.1, 0.1), (None, 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scheduler, _ = ts.create_scheduler_v2(optimizer, **kwargs)
    steps = min(
        4 * 60 if per_update else 60, 1 + (options.get("num_epochs", 300) + 10) * (updates or 1)
    )
    expected = _drive(scheduler, optimizer, steps, per_update)
    ours = from_timm(lr=0.1, **kwargs)
    _assert_close([row[0] for row in expected], ours, 0.1)
    assert _groups(from_timm(scheduler), 2)[0] == ours


def test_every_sched_name_is_covered() -> None:
    import inspect

    names = {o.get("sched", "cosine") for o in V2_CASES}
    assert names | {"plateau"} == set(SCHEDS)
    parameters = inspect.signature(ts.create_scheduler_v2).parameters
    from schedalg.importers.timm import _V2

    assert {k: p.default for k, p in parameters.items() if k != "optimizer"} == _V2


def test_sched_none_leaves_the_lr() -> None:
    assert from_timm("none", lr=0.1)(1000) == 0.1


def test_epoch_schedule_read_per_update() -> None:
    optimizer = _optimizer()
    scheduler = ts.CosineLRScheduler(optimizer, t_initial=10, warmup_t=2)
    epochs = _drive(scheduler, optimizer, 12, per_update=False)
    ours = from_timm(scheduler, updates_per_epoch=5)
    per_update = [epochs[t // 5][0] for t in range(60)]
    _assert_close(per_update, ours, 0.1)


# -- plateau ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"patience_t": 2},
        {
            "patience_t": 1,
            "decay_rate": 0.5,
            "lr_min": 0.02,
            "mode": "min",
            "warmup_t": 5,
            "warmup_lr_init": 1e-3,
        },
        {"patience_t": 1, "cooldown_t": 2, "threshold": 0.05, "noise_range_t": 4, "warmup_t": 3},
        {"patience_t": 0, "noise_range_t": [2, 9], "noise_type": "uniform", "noise_seed": 4},
    ],
)
def test_plateau(options: dict[str, Any]) -> None:
    """Metrics count from epoch warmup_t + 1 on, as timm's step feeds them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        optimizer = _optimizer((0.1, 0.2), (None, 0.3))
        scheduler = ts.PlateauLRScheduler(optimizer, **options)
    converted = _groups(from_timm(scheduler), 2)
    nodes = [plateaus(s)[0] for s in converted]
    states = [p.initial() for p in nodes]
    rng = random.Random(1)
    warm = options.get("warmup_t", 0)
    for t in range(40):
        if t:
            metric = rng.choice([1.0, 0.9, 1.1, 0.5, 2.0])
            scheduler.step(t, metric)
            if t > warm:
                states = [p.update(s, metric) for p, s in zip(nodes, states)]
        for g in range(2):
            got = bind(converted[g], [states[g]])(t)
            want = optimizer.param_groups[g]["lr"]
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300), (t, g, got, want)


def test_plateau_from_v2() -> None:
    s = from_timm("plateau", lr=0.1, patience_epochs=3, warmup_epochs=2, plateau_mode="min")
    (node,) = plateaus(s)
    assert (node.patience, node.mode, node.start) == (3, "min", 0.1)
    with pytest.raises(ValueError, match="step_on_epochs=True"):
        from_timm("plateau", lr=0.1, step_on_epochs=False, updates_per_epoch=3)


# -- the expressions are ordinary ones -----------------------------------------------------------


def test_readable_and_serialisable() -> None:
    s = from_timm("cosine", lr=0.1, num_epochs=300, warmup_epochs=5)
    assert repr(s) == (
        "absolute(sequence(linear(1e-05, 0.1, 5), shift(0.1 * cosine(300), 5), at=[5]))"
    )
    for options in V2_CASES:
        s = from_timm(lr=0.1, **options)
        assert parse(repr(s)) == s
        assert from_dict(to_dict(s)) == s


def test_torch_tensors_and_the_adapter() -> None:
    optimizer = _optimizer((0.1,))
    scheduler = ts.CosineLRScheduler(optimizer, t_initial=30, k_decay=1.5, warmup_t=3)
    expected = [row[0] for row in _drive(scheduler, optimizer, 40, per_update=False)]
    ours = from_timm(scheduler)
    values = ours(torch.arange(40, dtype=torch.float64))
    assert np.allclose(values.numpy(), expected, rtol=1e-12, atol=4 * EPS * 0.1)
    fresh = _optimizer((0.1,))
    adapter = Scheduler(fresh, lr=ours)
    for t in range(40):
        assert math.isclose(fresh.param_groups[0]["lr"], expected[t], rel_tol=1e-12, abs_tol=4e-17)
        fresh.step()
        adapter.step()


# -- refusals and messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: from_timm("cosin", lr=0.1), ValueError, "did you mean 'cosine'"),
        (lambda: from_timm(lr=0.1, num_epoch=3), ValueError, "did you mean 'num_epochs'"),
        (lambda: from_timm("CosineLRScheduler", lr=0.1, t_inital=3), ValueError, "'t_initial'"),
        (lambda: from_timm("CosineLRScheduler", lr=0.1), TypeError, "needs the option 't_initial'"),
        (lambda: from_timm("cosine"), TypeError, "lr"),
        (lambda: from_timm(lr=0.1, num_epochs=10.5), ValueError, "num_epochs"),
        (lambda: from_timm(lr=0.1, step_on_epochs=False), ValueError, "updates_per_epoch"),
        (lambda: from_timm("step", lr=0.1, decay_rate=0.0), ValueError, "decay_rate"),
        (lambda: from_timm(lr=0.1, cycle_mul=0.5), ValueError, "cycle_mul must be >= 1"),
        (lambda: from_timm(lr=0.1, noise=0.1, noise_pct=0.0), ValueError, "noise_pct"),
        (lambda: from_timm("wsd", lr=0.1, decay_epochs=400), ValueError, "decay_epochs"),
        (lambda: from_timm("wsd", lr=0.1, decay_fn="sqrt"), ValueError, "did you mean '1-sqrt'"),
        (lambda: from_timm("multistep", lr=0.1, decay_milestones=[20, 10]), ValueError, "sorted"),
        (lambda: from_timm("cosine", lr=0.1, sched="tanh"), TypeError, "sched given twice"),
        (lambda: from_timm(object()), TypeError, "expected a timm scheduler"),
    ],
)
def test_errors_name_timm_s_options(call: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        call()


def test_an_overriding_subclass_is_refused() -> None:
    class Mine(ts.CosineLRScheduler):
        def _get_lr(self, t: int) -> list[float]:
            return [0.5]

    with pytest.raises(TypeError, match=r"overrides CosineLRScheduler\._get_lr"):
        from_timm(Mine(_optimizer(), t_initial=10))


def test_a_callable_decay_fn_is_a_python_function() -> None:
    optimizer = _optimizer()
    scheduler = ts.WSDLRScheduler(
        optimizer, t_initial=30, decay_t=10, decay_fn=lambda f: (1 - f) ** 3 + 0.01
    )
    expected = [row[0] for row in _drive(scheduler, optimizer, 45, per_update=False)]
    _assert_close(expected, from_timm(scheduler), 0.1)


def test_under_jax_jit() -> None:
    """float32 under jit: within a few float32 ulps of the lr (the float64 curve's scale)."""
    jax = pytest.importorskip("jax")
    f32 = float(np.finfo(np.float32).eps)
    for options in V2_CASES[:9]:
        if "noise" in options:  # torch's generator cannot be traced
            continue
        s = from_timm(lr=0.1, **options)
        values = np.asarray(jax.jit(lambda t, s=s: s(t))(jax.numpy.arange(80.0)))
        assert np.allclose(values, s.curve(0, 80), rtol=8 * f32, atol=8 * f32 * 0.1), options
