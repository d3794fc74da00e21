"""Value-level cases of PyTorch's own scheduler tests (``test/optim/test_lrscheduler.py``),
rebuilt with real torch on the optimizer those tests use: two param groups, ``lr=0.05`` and a
float32 tensor ``lr=torch.tensor(0.5)``. Each scheduler is converted with ``from_torch`` and
compared step by step with the real scheduler, and the adapter drives a fresh optimizer; where
torch's test states the expected numbers they are checked too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.optim import lr_scheduler as L

import schedalg as sa
from schedalg.curves.metric import bind, plateau
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import tol

FLOAT32 = float(torch.finfo(torch.float32).eps)


def _optimizer(resumed: bool = False) -> torch.optim.Optimizer:
    """torch's test optimizer; ``resumed``: with ``initial_lr`` set, as a resumed run has it."""
    opt = torch.optim.SGD(
        [
            {"params": [torch.nn.Parameter(torch.zeros(2))]},
            {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": torch.tensor(0.5)},
        ],
        lr=0.05,
    )
    if resumed:
        for group in opt.param_groups:
            lr = group["lr"]
            group["initial_lr"] = lr.clone() if isinstance(lr, torch.Tensor) else lr
    return opt


def _close(want: float, got: float, t: int, group: int) -> bool:
    """docs/torch-semantics.md §9 for the float group; float32 precision for the tensor group."""
    if group == 1:
        return math.isclose(got, want, rel_tol=8 * FLOAT32 * (1 + t), abs_tol=1e-30)
    return math.isclose(got, want, **tol(t))


def _run(make: Callable[[torch.optim.Optimizer], Any], steps: int, resumed: bool = False) -> Any:
    """Step torch's scheduler beside the adapter on a fresh optimizer; return torch's lrs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = _optimizer(resumed)
        scheduler = make(theirs)
        converted = from_torch(scheduler)
        ours = _optimizer()
        adapter = Scheduler(ours, **converted)
        starts = [0.05, 0.5]
        seen: list[list[float]] = [[], []]
        for t in range(steps):
            for i in range(2):
                want = float(theirs.param_groups[i]["lr"])
                got = float(ours.param_groups[i]["lr"])
                curve = float(converted.group("lr", i)(t))
                if "lr" not in converted.absolute:
                    curve *= starts[i]
                assert _close(want, got, t, i), (i, t, want, got, converted)
                assert _close(want, curve, t, i), (i, t, want, curve, converted)
                seen[i].append(want)
            theirs.step()
            scheduler.step()
            ours.step()
            adapter.step()
    return seen


def _targets(single: list[float]) -> list[list[float]]:
    """torch's tests expect the second group (lr 0.5) at ten times the first."""
    return [single, [x * 10 for x in single]]


def _check_targets(seen: list[list[float]], targets: list[list[float]]) -> None:
    for i, (values, expected) in enumerate(zip(seen, targets)):
        for t, (value, target) in enumerate(zip(values, expected)):
            assert _close(target, value, t, i), (i, t, target, value)


# Cases named as in torch's test file, with the numbers it states.
TARGETED: dict[str, tuple[Callable[[Any], Any], list[float]]] = {
    "step_lr": (
        lambda o: L.StepLR(o, gamma=0.1, step_size=3),
        [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005] * 3,
    ),
    "multi_step_lr": (
        lambda o: L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
        [0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 3,
    ),
    "constantlr": (
        lambda o: L.ConstantLR(o, factor=1.0 / 2, total_iters=5),
        [0.025] * 5 + [0.05] * 5,
    ),
    "linearlr": (
        lambda o: L.LinearLR(o, start_factor=1.0 / 4, end_factor=3.0 / 5, total_iters=4),
        [0.05 * (0.25 + i * (0.6 - 0.25) / 4) for i in range(4)] + [0.05 * 0.6] * 6,
    ),
    "exp_lr": (
        lambda o: L.ExponentialLR(o, gamma=0.9),
        [0.05 * 0.9**x for x in range(10)],
    ),
    "cos_anneal_lr": (
        lambda o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.0),
        [0.05 * (1 + math.cos(math.pi * x / 10)) / 2 for x in range(10)],
    ),
    "poly_lr": (
        lambda o: L.PolynomialLR(o, power=0.9, total_iters=4),
        [0.05 * (1 - x / 4) ** 0.9 for x in range(4)] + [0.0] * 6,
    ),
    "lambda_lr": (
        lambda o: L.LambdaLR(o, lr_lambda=lambda x: 0.95**x),
        [0.05 * 0.95**x for x in range(10)],
    ),
    "sequentiallr1": (
        lambda o: L.SequentialLR(
            o, [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)], [3]
        ),
        [0.005] * 2 + [0.05] + [0.05 * 0.9**x for x in range(7)],
    ),
    "chained_lr1": (
        lambda o: L.ChainedScheduler([L.StepLR(o, gamma=0.1, step_size=3)]),
        [0.05] * 3 + [0.005] * 3 + [0.0005] * 3 + [0.00005] * 3,
    ),
    "chained_lr3": (
        lambda o: L.ChainedScheduler(
            [L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]), L.ExponentialLR(o, gamma=0.9)]
        ),
        [0.05 * 0.9**x for x in range(2)]
        + [0.005 * 0.9**x for x in range(2, 5)]
        + [0.0005 * 0.9**x for x in range(5, 9)]
        + [0.00005 * 0.9**x for x in range(9, 12)],
    ),
    "chained_lr2": (
        lambda o: L.ChainedScheduler([L.LinearLR(o, start_factor=0.4, total_iters=3)]),
        [0.02, 0.03, 0.04] + [0.05] * 9,
    ),
    "chained_lr3_milestones": (
        lambda o: L.ChainedScheduler(
            [
                L.LinearLR(o, start_factor=0.4, total_iters=3),
                L.MultiStepLR(o, milestones=[4, 8, 10], gamma=0.1),
            ]
        ),
        # torch checks its first 10 (epochs=10); its tail ignores the milestone at 10.
        ([0.02, 0.03, 0.04, 0.05] + [0.005] * 4 + [0.0005] * 3 + [0.00005] * 3)[:10],
    ),
    "chained_lr4": (
        lambda o: L.ChainedScheduler(
            [
                L.ExponentialLR(o, gamma=0.9),
                L.ConstantLR(o, factor=0.2, total_iters=4),
                L.StepLR(o, gamma=0.1, step_size=3),
            ]
        ),
        [0.05 * 0.2 * 0.9**x for x in range(3)]
        + [0.05 * 0.2 * 0.9**3 * 0.1]
        + [0.05 * 0.9**x * 0.1 for x in range(4, 6)]
        + [0.05 * 0.9**x * 0.01 for x in range(6, 9)],
    ),
    "chained_lr5": (
        lambda o: L.ChainedScheduler(
            [L.PolynomialLR(o, power=0.9, total_iters=5), L.ConstantLR(o, factor=0.1)]
        ),
        [0.1 * 0.05 * (1.0 - x / 5) ** 0.9 for x in range(5)] + [0.0] * 5,
    ),
    # torch's "compound" tests step two schedulers in turn: a ChainedScheduler does the same.
    "compound_step_and_exp_lr": (
        lambda o: L.ChainedScheduler(
            [L.StepLR(o, gamma=0.1, step_size=3), L.ExponentialLR(o, gamma=0.9)]
        ),
        [0.05 * 0.1 ** (x // 3) * 0.9**x for x in range(12)],
    ),
    "compound_step_and_constantlr": (
        lambda o: L.ChainedScheduler(
            [L.StepLR(o, gamma=0.1, step_size=3), L.ConstantLR(o, factor=0.4, total_iters=4)]
        ),
        [0.05 * 0.4] * 3 + [0.005 * 0.4] + [0.005] * 2 + [0.0005] * 3 + [0.00005] * 3,
    ),
    "compound_linearlr_and_multistep_lr": (
        lambda o: L.ChainedScheduler(
            [
                L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
                L.LinearLR(o, start_factor=0.4, total_iters=4),
            ]
        ),
        [
            v * (0.4 + i / 4 * 0.6 if i < 4 else 1.0)
            for i, v in enumerate([0.05] * 2 + [0.005] * 3 + [0.0005] * 4 + [0.00005] * 2)
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(TARGETED))
def test_peers_torch_case(name: str) -> None:
    make, single = TARGETED[name]
    seen = _run(make, len(single))
    _check_targets(seen, _targets(single))


# Cases compared with the real scheduler only (torch's test computes the numbers by stepping).
LOCKSTEP: dict[str, Callable[[Any], Any]] = {
    "multiplicative_lr": lambda o: L.MultiplicativeLR(o, lr_lambda=lambda x: 0.95),
    "compound_step_and_multistep_lr": lambda o: L.ChainedScheduler(
        [L.StepLR(o, gamma=0.1, step_size=3), L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9])]
    ),
    "compound_exp_and_linearlr": lambda o: L.ChainedScheduler(
        [L.ExponentialLR(o, gamma=0.9), L.LinearLR(o, start_factor=0.2, total_iters=4)]
    ),
    "sequentiallr2": lambda o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)], [2]
    ),
    "sequentiallr3": lambda o: L.SequentialLR(
        o,
        [
            L.ConstantLR(o, factor=0.1, total_iters=2),
            L.ExponentialLR(o, gamma=0.9),
            L.StepLR(o, gamma=0.1, step_size=3),
        ],
        [2, 5],
    ),
    "cycle_lr_triangular": lambda o: L.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False
    ),
    "warm_restarts": lambda o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2),
    # torch's compound_cosanneal_* tests: eta_min=1e-10 makes the cosine's update affine; the
    # others settle by T_max, so the chain is an affine_steps scan, then the cosine alone.
    "compound_cosanneal_and_multistep_lr": lambda o: L.ChainedScheduler(
        [
            L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10),
            L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
        ]
    ),
    "compound_cosanneal_and_linearlr": lambda o: L.ChainedScheduler(
        [
            L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10),
            L.LinearLR(o, start_factor=0.4, total_iters=4),
        ]
    ),
    "chained_linear_then_cos_eta_min": lambda o: L.ChainedScheduler(
        [
            L.LinearLR(o, start_factor=0.2, total_iters=7),
            L.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
            L.ConstantLR(o, factor=0.5, total_iters=3),
        ]
    ),
    # Resuming (issue: last_epoch): StepLR built with last_epoch=10, as torch's warning tests.
    "step_lr_resumed": lambda o: L.StepLR(o, gamma=0.1, step_size=3, last_epoch=10),
    "linearlr_resumed": lambda o: L.LinearLR(o, start_factor=0.25, total_iters=8, last_epoch=3),
    "exp_lr_resumed": lambda o: L.ExponentialLR(o, gamma=0.9, last_epoch=4),
    "poly_lr_resumed": lambda o: L.PolynomialLR(o, power=0.9, total_iters=9, last_epoch=2),
    "lambda_lr_resumed": lambda o: L.LambdaLR(o, lr_lambda=lambda x: 0.95**x, last_epoch=5),
    # CosineAnnealingLR jumps to its closed form on the constructor's step, then steps by ratios.
    "cos_anneal_resumed": lambda o: L.CosineAnnealingLR(o, T_max=10, last_epoch=4),
    "cos_anneal_eta_min_resumed": lambda o: L.CosineAnnealingLR(
        o, T_max=6, eta_min=0.001, last_epoch=8
    ),
    # A ChainedScheduler opening a SequentialLR: torch's constructor steps it once more.
    "sequential_opening_chain": lambda o: L.SequentialLR(
        o,
        [
            L.ChainedScheduler(
                [L.LinearLR(o, start_factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.9)]
            ),
            L.StepLR(o, gamma=0.5, step_size=2),
        ],
        [5],
    ),
}


# CosineAnnealingLR with eta_min beside a scheduler that keeps changing the lr past T_max
# (ExponentialLR, StepLR, a milestone at T_max): every update runs for ever, an unbounded
# affine_steps scan with the cosine's own recursive step (its additive branch past T_max
# included). Each case is stepped over 3 T + 5 steps, with T its cosine's T_max (the longest
# settling member's steps where that is later), past two of the cosine's restarts.
FOR_EVER: dict[str, tuple[Callable[[Any], Any], int]] = {
    "compound_cosanneal_and_exp_lr": (
        lambda o: L.ChainedScheduler(
            [L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), L.ExponentialLR(o, gamma=0.9)]
        ),
        10,
    ),
    "compound_cosanneal_and_step_lr": (
        lambda o: L.ChainedScheduler(
            [L.CosineAnnealingLR(o, T_max=10, eta_min=1e-10), L.StepLR(o, gamma=0.1, step_size=3)]
        ),
        10,
    ),
    # The milestone moves the lr off eta_min at T_max: the additive step starts from another lr.
    "chained_cos_eta_min_milestone_at_t_max": (
        lambda o: L.ChainedScheduler(
            [L.CosineAnnealingLR(o, T_max=5, eta_min=0.01), L.MultiStepLR(o, [5], gamma=0.5)]
        ),
        5,
    ),
    "chained_exp_then_cos_eta_min": (
        lambda o: L.ChainedScheduler(
            [L.ExponentialLR(o, gamma=0.97), L.CosineAnnealingLR(o, T_max=7, eta_min=0.01)]
        ),
        7,
    ),
    # A LinearLR settling past T_max, before the cosine in the list.
    "chained_long_linear_then_cos_eta_min": (
        lambda o: L.ChainedScheduler(
            [L.LinearLR(o, 0.5, 1, 30), L.CosineAnnealingLR(o, T_max=6, eta_min=0.01)]
        ),
        30,
    ),
    "chained_two_cosines_eta_min": (
        lambda o: L.ChainedScheduler(
            [
                L.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
                L.CosineAnnealingLR(o, T_max=4, eta_min=0.002),
            ]
        ),
        6,
    ),
    "chained_step_every_step_then_cos_t_max_1": (
        lambda o: L.ChainedScheduler(
            [L.StepLR(o, gamma=0.9, step_size=1), L.CosineAnnealingLR(o, T_max=1, eta_min=0.01)]
        ),
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(FOR_EVER))
def test_peers_torch_chain_with_cosine_for_ever(name: str) -> None:
    make, span = FOR_EVER[name]
    seen = _run(make, 3 * span + 5)
    assert len(set(seen[0][2 * span :])) > 1  # still changing past T_max


@pytest.mark.parametrize("name", sorted(LOCKSTEP))
def test_peers_torch_lockstep(name: str) -> None:
    _run(LOCKSTEP[name], 25, resumed=name.endswith("_resumed"))


def test_peers_torch_resumed_is_the_closed_form_part_way() -> None:
    """Built with last_epoch=k on a consistent state, the curve is the closed form from k + 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = _optimizer(True)
        scheduler = L.LambdaLR(opt, lr_lambda=lambda x: 0.5 ** (x // 2), last_epoch=3)
        converted = from_torch(scheduler)
        assert [converted.group("lr", 0)(t) for t in range(3)] == [0.25, 0.25, 0.125]


def test_peers_torch_float32_lr_is_not_refused() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.5))
    converted = from_torch(L.LinearLR(opt, start_factor=0.4, total_iters=4))
    assert converted.lr(0) == 0.4


def test_peers_torch_compounded_float32_lr_is_still_refused() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.5))
    L.ConstantLR(opt, factor=0.5, total_iters=3)
    with pytest.raises(ValueError, match="another scheduler had already changed"):
        from_torch(L.LinearLR(opt, start_factor=0.4, total_iters=4))


REFUSED: dict[str, tuple[Callable[[Any], Any], str]] = {
    # A ChainedScheduler with CosineAnnealingLR(eta_min != 0) opening a SequentialLR: torch's
    # constructor steps the chain once more at last_epoch 0.
    "sequential_opening_chain_cos_eta_min": (
        lambda o: L.SequentialLR(
            o,
            [
                L.ChainedScheduler(
                    [L.CosineAnnealingLR(o, T_max=6, eta_min=1e-3), L.ExponentialLR(o, gamma=0.9)]
                ),
                L.StepLR(o, gamma=0.5, step_size=2),
            ],
            [5],
        ),
        "stepped again at last_epoch 0",
    ),
    # A MultiplicativeLR for ever beside it: its ratio is known only from its closed form,
    # whose quotient underflows to 0 / 0 on a long run.
    "chained_cos_eta_min_and_multiplicative_for_ever": (
        lambda o: L.ChainedScheduler(
            [
                L.CosineAnnealingLR(o, T_max=6, eta_min=1e-3),
                L.MultiplicativeLR(o, lr_lambda=lambda t: 0.95),
            ]
        ),
        "MultiplicativeLR changes the lr forever",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_peers_torch_refused(name: str) -> None:
    make, reason = REFUSED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scheduler = make(_optimizer(name.endswith("_resumed")))
        with pytest.raises(ValueError, match=reason):
            from_torch(scheduler)


# -- param groups added after construction (progressive unfreezing) ----------------------------

CHAINABLE: dict[str, Callable[[Any], Any]] = {
    "step": lambda o: L.StepLR(o, gamma=0.5, step_size=3),
    "multistep": lambda o: L.MultiStepLR(o, gamma=0.1, milestones=[2, 5, 9]),
    "linear": lambda o: L.LinearLR(o, start_factor=0.25, total_iters=6),
    "exponential": lambda o: L.ExponentialLR(o, gamma=0.9),
    "polynomial": lambda o: L.PolynomialLR(o, power=2.0, total_iters=30),
    "cosine": lambda o: L.CosineAnnealingLR(o, T_max=40),
    "chained": lambda o: L.ChainedScheduler(
        [L.ConstantLR(o, factor=0.5, total_iters=4), L.ExponentialLR(o, gamma=0.95)]
    ),
}


@pytest.mark.parametrize("added_at", [0, 1, 4, 7])
@pytest.mark.parametrize("name", sorted(CHAINABLE))
def test_peers_torch_param_group_added_later(name: str, added_at: int) -> None:
    """torch's chainable schedulers step a group added later by their ratios from its own lr;
    the adapter schedules it the same way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = _optimizer()
        scheduler = CHAINABLE[name](theirs)
        ours = _optimizer()
        adapter = Scheduler(ours, **from_torch(scheduler))
        for t in range(20):
            if t == added_at:
                for opt in (theirs, ours):
                    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.3})
            for i, (g1, g2) in enumerate(zip(theirs.param_groups, ours.param_groups)):
                want, got = float(g1["lr"]), float(g2["lr"])
                assert _close(want, got, t, i), (name, i, t, want, got)
            assert len(ours.param_groups) == len(theirs.param_groups)
            theirs.step()
            scheduler.step()
            ours.step()
            adapter.step()


def test_peers_torch_user_guide_examples_run() -> None:
    """Every Python block of docs/torch.md runs as written."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parent.parent / "docs" / "torch.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for block in blocks:
            exec(compile(block, "docs/torch.md", "exec"), {})


# -- ReduceLROnPlateau stepped beside ExponentialLR (torch's compound_reduce_lr_on_plateau) -----

PLATEAU_BESIDE = {
    # eps and min_lr large enough to decide: torch compares them with the real (product) lr.
    "plateau_then_exp": (["plateau", "exp"], {"factor": 0.5, "patience": 0, "eps": 1e-3}),
    "exp_then_plateau": (["exp", "plateau"], {"factor": 0.5, "patience": 1, "eps": 1e-3}),
    "min_lr_then_exp_below_it": (
        ["plateau", "exp"],
        {"factor": 0.1, "patience": 0, "min_lr": 4e-3},
    ),
    "cooldown_and_max_mode": (
        ["exp", "plateau"],
        {"factor": 0.3, "patience": 1, "cooldown": 2, "mode": "max", "eps": 1e-4},
    ),
}


def _plateau_lrs(order: list[str], kw: dict, metrics: list[float], real: bool) -> list[list[float]]:
    """torch's lrs and ours: ``exponential(0.9) * plateau(...)``, the plateau told the real lr
    (``current=``) when ``real``."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    reducer = L.ReduceLROnPlateau(opt, **kw)
    exp = L.ExponentialLR(opt, gamma=0.9)
    mode = {k: kw[k] for k in ("factor", "patience", "cooldown", "mode", "eps") if k in kw}
    node = plateau(**mode, min_value=kw.get("min_lr", 0.0))
    expr = sa.exponential(0.9) * node
    state = node.initial()
    theirs, ours = [], []
    for t, metric in enumerate(metrics):
        theirs.append(float(opt.param_groups[0]["lr"]))
        ours.append(0.05 * bind(expr, [state])(t))
        opt.step()
        for name in order:
            if name == "exp":
                exp.step()
                continue
            reducer.step(metric)
            at = t if order[0] == "plateau" else t + 1
            now = 0.05 * bind(expr, [state])(at)
            state = node.update(state, metric, current=now if real else None)
    return [theirs, ours]


@pytest.mark.parametrize("name", sorted(PLATEAU_BESIDE))
def test_peers_torch_plateau_beside_exponential(name: str) -> None:
    order, kw = PLATEAU_BESIDE[name]
    metrics = [1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85] * 5
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]
    theirs, ours = _plateau_lrs(order, kw, metrics, real=True)
    assert theirs != [theirs[0]] * len(theirs)
    for t, (want, got) in enumerate(zip(theirs, ours)):
        assert _close(want, got, t, 0), (name, t, want, got)


def _adapter_beside_lrs(order: list[str], kw: dict, metrics: list[float]) -> list[list[float]]:
    """torch's ReduceLROnPlateau and ExponentialLR on one optimizer, and the adapter driving
    ``exponential(0.9) * plateau(..., units="value")`` on another: the lr each used per step."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    reducer = L.ReduceLROnPlateau(opt, **kw)
    exp = L.ExponentialLR(opt, gamma=0.9)
    mode = {k: kw[k] for k in ("factor", "patience", "cooldown", "mode", "eps") if k in kw}
    node = plateau(**mode, min_value=kw.get("min_lr", 0.0), units="value")
    ours_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    adapter = Scheduler(ours_opt, lr=sa.exponential(0.9) * node)
    theirs, ours = [], []
    for metric in metrics:
        theirs.append(float(opt.param_groups[0]["lr"]))
        ours.append(float(ours_opt.param_groups[0]["lr"]))
        opt.step()
        ours_opt.step()
        for name in order:
            if name == "exp":
                exp.step()
                adapter.step()
            else:
                reducer.step(metric)
                adapter.observe(metric)
    return [theirs, ours]


@pytest.mark.parametrize("name", sorted(PLATEAU_BESIDE))
def test_peers_torch_plateau_beside_exponential_through_the_adapter(name: str) -> None:
    """The adapter tells a ``units="value"`` plateau the optimizer's real lr, so ``eps`` and
    ``min_lr`` apply as torch applies them, in either stepping order."""
    order, kw = PLATEAU_BESIDE[name]
    metrics = [1.0, 0.9, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85] * 5
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]
    theirs, ours = _adapter_beside_lrs(order, kw, metrics)
    assert theirs != [theirs[0]] * len(theirs)
    for t, (want, got) in enumerate(zip(theirs, ours)):
        assert _close(want, got, t, 0), (name, t, want, got)


def test_peers_torch_plateau_in_its_own_units_would_part_from_torch() -> None:
    """The comparison can fail: without the real lr, eps and min_lr apply to the multiplier."""
    order, kw = PLATEAU_BESIDE["min_lr_then_exp_below_it"]
    theirs, ours = _plateau_lrs(order, kw, [1.0] * 20, real=False)
    assert any(not _close(w, g, t, 0) for t, (w, g) in enumerate(zip(theirs, ours)))
