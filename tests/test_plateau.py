"""plateau(): ReduceLROnPlateau's decisions as a pure reducer, checked against real torch with
random metric streams; composition with step schedules through the adapter."""

from __future__ import annotations

import io
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as L

import schedalg as sa
from schedalg.curves.metric import bind, bound_plateau, plateau, plateaus
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import optimizer

metric_values = st.one_of(
    st.floats(-10, 10, allow_nan=False),
    st.sampled_from([0.0, 1.0, -1.0, math.nan, 0.5]),
)
streams = st.lists(metric_values, min_size=1, max_size=200)
configs = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "factor": st.floats(0.0, 0.99),
        "patience": st.integers(0, 5),
        "threshold": st.sampled_from([0.0, 1e-4, 0.1, 0.5]),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 4),
        "eps": st.sampled_from([0.0, 1e-8, 1e-3]),
    }
)


@settings(max_examples=40)
@given(configs, st.lists(st.floats(1e-9, 2.0), min_size=1, max_size=3), st.data(), streams)
def test_adapter_makes_torchs_decisions_exactly(config, lrs, data, metrics):
    min_lrs = [data.draw(st.sampled_from([0.0, lr / 3, lr / 100])) for lr in lrs]
    theirs = optimizer(lrs)
    torch_plateau = L.ReduceLROnPlateau(theirs, min_lr=min_lrs, **config)
    converted = from_torch(torch_plateau)
    ours = optimizer(lrs)
    adapter = Scheduler(ours, **converted)
    for metric in metrics:
        theirs.step()
        torch_plateau.step(metric)
        ours.step()
        adapter.step(metric)
        assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]


@settings(max_examples=60)
@given(configs, streams)
def test_pure_reducer_equals_torch_multipliers(config, metrics):
    p = plateau(**config)
    theirs = optimizer([1.0])
    torch_plateau = L.ReduceLROnPlateau(theirs, **config)
    state = p.initial()
    for metric in metrics:
        before = dict(state)
        new = p.update(state, metric)
        assert state == before  # pure: the old state is untouched
        state = new
        torch_plateau.step(metric)
        assert p.value(state) == theirs.param_groups[0]["lr"]
        assert state["num_bad_epochs"] == torch_plateau.num_bad_epochs
        assert state["cooldown_counter"] == torch_plateau.cooldown_counter
        assert state["best"] == torch_plateau.best or (
            math.isnan(state["best"]) and math.isnan(torch_plateau.best)
        )


def test_reference_examples():
    # patience=2, constant metric: reduce on the 4th call; patience=0, cooldown=2: calls 2, 5, 8.
    assert plateau(factor=0.5, patience=2).run([1.0] * 5) == [1, 1, 1, 0.5, 0.5]
    values = plateau(factor=0.5, patience=0, cooldown=2).run([1.0] * 8)
    assert values == [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    # NaN is never an improvement; eps skips tiny updates.
    assert plateau(factor=0.5, patience=0).run([math.nan, math.nan]) == [0.5, 0.25]
    assert plateau(factor=0.5, patience=0, start=1e-8).run([1.0, 1.0]) == [1e-8, 1e-8]


def test_state_is_plain_data():
    state = plateau().update(plateau().initial(), 0.3)
    json.dumps({k: v for k, v in state.items() if k != "best"})
    assert all(isinstance(v, (int, float)) for v in state.values())


def test_unbound_plateau_refuses_to_evaluate():
    s = sa.cosine(100) * plateau(patience=2)
    with pytest.raises(ValueError, match="driven by metrics"):
        s(5)
    with pytest.raises(ValueError, match="driven by metrics"):
        s.curve(10)


def test_bind_replaces_every_plateau_node():
    p1, p2 = plateau(factor=0.5), plateau(factor=0.1, patience=0)
    s = sa.sequence(sa.linear(0.1, 1.0, 10) * p1, sa.cosine(100) * p2, at=[10])
    assert plateaus(s) == [p1, p2]
    bound = bind(s, [{"value": 0.5}, {"value": 0.25}])
    assert plateaus(bound) == []
    assert bound(0) == pytest.approx(0.05)
    assert bound(10) == 0.25
    assert isinstance(bound.pieces[1].factors[1], bound_plateau)
    with pytest.raises(ValueError, match="one state per plateau"):
        bind(s, [{"value": 0.5}])


@settings(max_examples=30)
@given(st.integers(1, 50), st.integers(1, 20), streams)
def test_warmup_then_plateau_and_cosine_times_plateau(warm, every, metrics):
    # Combinations torch refuses. The plateau multiplier must be exactly torch's reducer run on
    # the same metrics (an lr of 1.0 makes its lr the multiplier), applied on top of the step
    # schedule.
    config = {"factor": 0.5, "patience": 1, "cooldown": 1}
    expressions = {
        "warmup": sa.warmup(plateau(**config), warm, start=0.1),
        "cosine": sa.cosine(500) * plateau(**config),
    }
    for name, expression in expressions.items():
        reference_opt = optimizer([1.0])
        reference = L.ReduceLROnPlateau(reference_opt, **config)
        ours = optimizer([0.3])
        adapter = Scheduler(ours, lr=expression)
        step_schedule = (
            sa.warmup(sa.constant(1.0), warm, start=0.1) if name == "warmup" else sa.cosine(500)
        )
        fed = iter(metrics)
        for t in range(len(metrics) * every):
            multiplier = reference_opt.param_groups[0]["lr"]
            want = 0.3 * (step_schedule(t) * multiplier)
            assert math.isclose(ours.param_groups[0]["lr"], want, rel_tol=1e-15, abs_tol=1e-300), (
                name,
                t,
            )
            ours.step()
            if (t + 1) % every == 0:
                metric = next(fed)
                reference.step(metric)
                adapter.observe(metric)
            adapter.step()


def test_adapter_state_dict_keeps_reducer_state():
    o = optimizer([0.1])
    adapter = Scheduler(o, lr=sa.warmup(plateau(factor=0.5, patience=0), 3))
    for metric in [1.0, 2.0, 3.0]:
        o.step()
        adapter.step(metric)
    buffer = io.BytesIO()
    torch.save(adapter.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    o2 = optimizer([0.1])
    resumed = Scheduler(o2, lr=sa.warmup(plateau(factor=0.5, patience=0), 3))
    resumed.load_state_dict(state)
    assert o2.param_groups[0]["lr"] == o.param_groups[0]["lr"] == 0.1 * 0.25
    for metric in [0.5, 0.7]:
        o.step(), adapter.step(metric), o2.step(), resumed.step(metric)
        assert o2.param_groups[0]["lr"] == o.param_groups[0]["lr"]


def test_metric_without_plateau_is_an_error():
    adapter = Scheduler(optimizer([0.1]), lr=sa.cosine(10))
    with pytest.raises(ValueError, match="no schedule has a plateau"):
        adapter.step(0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factor": 1.0}, "factor must be < 1"),
        ({"mode": "up"}, "mode must be one of"),
        ({"threshold_mode": "x"}, "threshold_mode"),
        ({"patience": -1}, "patience"),
        ({"cooldown": 1.5}, "cooldown"),
    ],
)
def test_validation(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        plateau(**kwargs)


def test_from_torch_refuses_a_stepped_plateau():
    o = optimizer([0.1])
    p = L.ReduceLROnPlateau(o)
    p.step(1.0)
    with pytest.raises(ValueError, match="before stepping"):
        from_torch(p)
