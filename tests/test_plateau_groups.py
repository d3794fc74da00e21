"""Differential fuzzer: ReduceLROnPlateau with param groups added during training and resumes
through a checkpoint, against real torch.

Random metric streams, configs and initial groups; groups added at random steps
(``optimizer.add_param_group``, progressive unfreezing) and a random resume point (optimizer and
adapter state through ``torch.save``/``torch.load(weights_only=True)``, onto an optimizer rebuilt
as it started and grown again, or rebuilt with every group it had). torch's
``ReduceLROnPlateau`` reduces every group the optimizer has when a metric arrives, each from its
own lr (``max(lr * factor, min_lr)``, applied if the change exceeds ``eps``). The adapter must do
the same, driven by ``from_torch``'s conversion (compared bit for bit, as every plateau is) or by
a ``plateau(units="value")`` multiplier (compared with the tolerance rule of
docs/torch-semantics.md §9), through ``step(metric)`` or ``observe(metric)`` then ``step()``.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from torch.optim import lr_scheduler as L

from schedalg import plateau
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import optimizer, tol

metric_values = st.one_of(
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from([0.0, 1.0, -1.0, math.nan, 0.5]),
)
configs = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "factor": st.floats(0.0, 0.99),
        "patience": st.integers(0, 3),
        "threshold": st.sampled_from([0.0, 1e-4, 0.1, 0.5]),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 3),
        "eps": st.sampled_from([0.0, 1e-8, 1e-3]),
    }
)
group_lrs = st.floats(1e-6, 2.0)


@dataclass(frozen=True)
class Run:
    config: dict
    min_lr: float
    lrs: list[float]
    metrics: list[float]
    added: dict[int, list[float]] = field(default_factory=dict)  # step -> lrs of new groups
    resume: int | None = None  # the step before which the run is checkpointed and resumed
    regrow: bool = True  # resume onto the optimizer as it started, the groups added again
    via: str = "step"  # adapter.step(metric), or adapter.observe(metric) then adapter.step()


@st.composite
def runs(draw: st.DrawFn) -> Run:
    metrics = draw(st.lists(metric_values, min_size=1, max_size=30))
    steps = st.integers(0, len(metrics) - 1)
    added: dict[int, list[float]] = {}
    for at, lr in draw(st.lists(st.tuples(steps, group_lrs), max_size=3)):
        added.setdefault(at, []).append(lr)
    return Run(
        config=draw(configs),
        min_lr=draw(st.sampled_from([0.0, 1e-5, 0.01])),
        lrs=draw(st.lists(group_lrs, min_size=1, max_size=3)),
        metrics=metrics,
        added=added,
        resume=draw(st.one_of(st.none(), steps)),
        regrow=draw(st.booleans()),
        via=draw(st.sampled_from(["step", "observe"])),
    )


def _parameter() -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.zeros(2))


def _lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def torch_history(run: Run) -> list[list[float]]:
    """torch's lrs after each metric, uninterrupted."""
    opt = optimizer(run.lrs)
    scheduler = L.ReduceLROnPlateau(opt, min_lr=run.min_lr, **run.config)
    history = []
    for t, metric in enumerate(run.metrics):
        for lr in run.added.get(t, []):
            opt.add_param_group({"params": [_parameter()], "lr": lr})
        opt.step()
        scheduler.step(metric)
        history.append(_lrs(opt))
    return history


def _schedules(run: Run, lrs: list[float], kind: str) -> dict:
    """The adapter's arguments for an optimizer whose groups have ``lrs``."""
    if kind == "from_torch":
        twin = optimizer(lrs)
        return dict(from_torch(L.ReduceLROnPlateau(twin, min_lr=run.min_lr, **run.config)))
    units = {k: v for k, v in run.config.items() if k != "eps"}
    node = plateau(min_value=run.min_lr, eps=run.config["eps"], units="value", **units)
    return {"lr": node}


def _checkpoint(opt: torch.optim.Optimizer, adapter: Scheduler) -> dict:
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "adapter": adapter.state_dict()}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _resumed(run: Run, kind: str, t: int, state: dict) -> tuple[torch.optim.Optimizer, Scheduler]:
    """A fresh optimizer and adapter loaded from ``state`` at step ``t``: built as the run
    started and grown again (``regrow``), or built with every group the run had by then."""
    grown = [lr for at in sorted(run.added) if at < t for lr in run.added[at]]
    if run.regrow:
        opt = optimizer(run.lrs)
        adapter = Scheduler(opt, **_schedules(run, run.lrs, kind))
        for lr in grown:
            opt.add_param_group({"params": [_parameter()], "lr": lr})
    else:
        opt = optimizer(run.lrs + grown)
        adapter = Scheduler(opt, **_schedules(run, run.lrs + grown, kind))
    opt.load_state_dict(state["opt"])
    adapter.load_state_dict(state["adapter"])
    return opt, adapter


# The one refusal a run may meet: a multiplier at 0 cannot continue a new group by ratios.
AT_ZERO = "cannot be continued by the schedule's ratios"


def adapter_history(run: Run, kind: str) -> list[list[float]]:
    """The adapter's lrs after each metric, checkpointed and resumed at ``run.resume``; it stops
    where the adapter refuses a new group (a multiplier at 0: ``AT_ZERO``)."""
    opt = optimizer(run.lrs)
    adapter = Scheduler(opt, **_schedules(run, run.lrs, kind))
    history = []
    for t, metric in enumerate(run.metrics):
        try:
            if t == run.resume:
                opt, adapter = _resumed(run, kind, t, _checkpoint(opt, adapter))
            for lr in run.added.get(t, []):
                opt.add_param_group({"params": [_parameter()], "lr": lr})
            opt.step()
            if run.via == "observe":
                adapter.observe(metric)
                adapter.step()
            else:
                adapter.step(metric)
        except ValueError as error:
            assert kind == "multiplier" and AT_ZERO in str(error), error
            event("refused: a new group where the multiplier is 0")
            return history
        history.append(_lrs(opt))
    return history


def _note(run: Run, want: list[list[float]]) -> None:
    event(f"groups added: {sum(map(len, run.added.values()))}")
    event("resumed" if run.resume is not None else "uninterrupted")
    reductions = sum(a != b for a, b in zip([run.lrs, *want], want) if len(a) == len(b))
    event(f"steps with a reduction: {min(reductions, 3)}{'+' if reductions > 3 else ''}")


@given(runs())
def test_from_torch_plateau_reduces_added_groups_as_torch(run):
    """``from_torch(ReduceLROnPlateau)``: every group's lr equals torch's, bit for bit, new
    groups and resumes included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = torch_history(run)
        got = adapter_history(run, "from_torch")
    _note(run, want)
    assert len(got) == len(want)
    for t, (a, b) in enumerate(zip(got, want)):
        assert a == b, (t, a, b)


@given(runs())
def test_plateau_multiplier_reduces_added_groups_as_torch(run):
    """A ``plateau(units="value")`` multiplier given to every group reduces each group's own lr,
    new groups included, within the tolerance rule (its values are base * multiplier)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = torch_history(run)
        got = adapter_history(run, "multiplier")
    _note(run, want)
    for t, (a, b) in enumerate(zip(got, want)):
        assert len(a) == len(b), (t, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert math.isclose(x, y, **tol(t + 1, None, max(abs(y), 1.0))), (t, i, x, y)


def test_the_issue_examples():
    """A group added just before a metric that reduces gets that reduction (0.15 then 0.075),
    and from_torch's absolute plateau reduces the group's own lr, not group 0's."""
    for kind in ("from_torch", "multiplier"):
        opt = optimizer([1.0])
        config = {"mode": "min", "factor": 0.5, "patience": 0, "threshold": 0.0}
        run = Run({**config, "threshold_mode": "rel", "cooldown": 0, "eps": 1e-8}, 0.0, [1.0], [])
        adapter = Scheduler(opt, **_schedules(run, [1.0], kind))
        seen = []
        for t in range(4):
            if t == 2:
                opt.add_param_group({"params": [_parameter()], "lr": 0.3})
            opt.step()
            adapter.step(1.0)
            seen.append(_lrs(opt))
        assert seen[2:] == [[0.25, 0.15], [0.125, 0.075]], (kind, seen)


def test_a_reducer_over_groups_with_different_lrs_takes_in_new_groups():
    """from_torch gives one plateau per group when the lrs differ (a tuple): still one
    ReduceLROnPlateau, which reduces a group added later from its own lr."""
    theirs, ours = optimizer([1.0, 0.6]), optimizer([1.0, 0.6])
    torch_plateau = L.ReduceLROnPlateau(theirs, factor=0.5, patience=0)
    converted = from_torch(torch_plateau)
    assert isinstance(converted.lr, tuple)
    adapter = Scheduler(ours, **converted)
    for opt in (theirs, ours):
        opt.add_param_group({"params": [_parameter()], "lr": 0.3})
    for _ in range(2):
        theirs.step(), torch_plateau.step(1.0), ours.step(), adapter.step(1.0)
        assert _lrs(ours) == _lrs(theirs)
    assert _lrs(ours) == [0.5, 0.3, 0.15]


def test_a_list_of_different_reducers_leaves_new_groups_alone():
    """Plateaus that differ in more than their start are not one reducer: keys given per group
    leave a new group alone, as documented."""
    opt = optimizer([1.0, 0.6])
    adapter = Scheduler(
        opt,
        lr=[plateau(factor=0.5, patience=0, start=1.0), plateau(factor=0.1, start=0.6)],
        absolute=True,
    )
    opt.add_param_group({"params": [_parameter()], "lr": 0.3})
    opt.step()
    adapter.step(1.0)
    assert _lrs(opt)[2] == 0.3


HALVING = {
    "mode": "min",
    "factor": 0.5,
    "patience": 0,
    "threshold": 0.0,
    "threshold_mode": "rel",
    "cooldown": 0,
    "eps": 1e-8,
}


@pytest.mark.parametrize("regrow", [True, False])
@pytest.mark.parametrize("kind", ["from_torch", "multiplier"])
def test_resume_with_added_groups_restores_their_state(kind, regrow):
    """Resumed after a group was added (onto the optimizer as it started and grown again, or
    rebuilt with every group), the added group keeps its reduced lr and its reducer state."""
    run = Run(HALVING, 0.0, [1.0, 0.7], [1.0] * 6, {1: [0.3]}, resume=4, regrow=regrow)
    want, got = torch_history(run), adapter_history(run, kind)
    assert want[-1] == [1.0 / 32, 0.7 / 32, 0.3 / 32]
    if kind == "from_torch":
        assert got == want
    for t, (a, b) in enumerate(zip(got, want)):
        assert all(math.isclose(x, y, **tol(t + 1)) for x, y in zip(a, b)), (t, a, b)
