"""Resume: torch.save at a random step, torch.load(weights_only=True) into a fresh model,
optimizer and adapter, continue: the values equal an uninterrupted run's, bit for bit."""

from __future__ import annotations

import io

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg import plateau
from schedalg.torch import Scheduler
from tests.strategies import expressions


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(3, 1)


def _build(kind: str, schedule: sa.Schedule):
    model = _model()
    if kind == "adam":
        opt = torch.optim.Adam(
            [{"params": [model.weight], "lr": 0.01}, {"params": [model.bias], "lr": 0.002}],
            betas=(0.9, 0.99),
            weight_decay=1e-2,  # a multiplier of 0 is refused
        )
    else:
        opt = torch.optim.SGD(
            [{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.05}],
            momentum=0.9,
            weight_decay=1e-4,
        )
    sched = Scheduler(
        opt,
        lr=[schedule, sa.warmup(schedule, 3) * plateau(factor=0.5, patience=1)],
        momentum=sa.linear(1.0, 0.9, 20),
        weight_decay={0: sa.cosine(30)},
    )
    return model, opt, sched


def _train_step(model, opt, sched, t):
    x = torch.full((4, 3), float(t % 5))
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    metric = max(0.5, 1.0 - 0.05 * t)  # improves, then plateaus: reductions from t = 12
    sched.step(metric)


def _snapshot(opt):
    return [
        (g["lr"], g.get("momentum"), g.get("betas"), g["weight_decay"]) for g in opt.param_groups
    ]


@settings(max_examples=20)
@given(expressions(min_depth=1, max_depth=2), st.sampled_from(["sgd", "adam"]), st.data())
def test_resume_equals_uninterrupted(schedule, kind, data):
    total = data.draw(st.integers(2, 60))
    cut = data.draw(st.integers(0, total - 1))
    model, opt, sched = _build(kind, schedule)
    reference = []
    checkpoint = None
    for t in range(total):
        if t == cut:
            buffer = io.BytesIO()
            torch.save(
                {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
                buffer,
            )
            checkpoint = buffer.getvalue()
        reference.append(_snapshot(opt))
        _train_step(model, opt, sched, t)
    reference.append(_snapshot(opt))

    state = torch.load(io.BytesIO(checkpoint), weights_only=True)
    model, opt, sched = _build(kind, schedule)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    resumed = []
    for t in range(cut, total):
        resumed.append(_snapshot(opt))
        _train_step(model, opt, sched, t)
    resumed.append(_snapshot(opt))
    assert resumed == reference[cut:]


def test_load_before_optimizer_state_also_resumes():
    # Order does not matter: the adapter re-applies the values of the restored step.
    model, opt, sched = _build("sgd", sa.cosine(40))
    for t in range(7):
        _train_step(model, opt, sched, t)
    state = {"opt": opt.state_dict(), "sched": sched.state_dict()}
    expected = _snapshot(opt)
    _, opt2, sched2 = _build("sgd", sa.cosine(40))
    sched2.load_state_dict(state["sched"])
    assert _snapshot(opt2) == expected
    opt2.load_state_dict(state["opt"])
    assert _snapshot(opt2) == expected
