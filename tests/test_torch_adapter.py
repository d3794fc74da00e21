"""The adapter: any param-group key, per-group schedules, relative/absolute, tensors, wrappers,
torch's scheduler attributes, state_dict fingerprints."""

from __future__ import annotations

import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import LRScheduler

import schedalg as sa
from schedalg.torch import Scheduler, fingerprint
from tests.strategies import expressions
from tests.torch_helpers import optimizer


def test_is_a_real_lr_scheduler_with_torchs_attributes():
    o = optimizer([0.1, 0.01])
    s = Scheduler(o, lr=sa.warmup(sa.cosine(90), 10))
    assert isinstance(s, LRScheduler)
    assert s.optimizer is o
    assert (s.last_epoch, s._step_count) == (0, 1)
    assert s.base_lrs == [0.1, 0.01]
    assert s.get_last_lr() == [0.0, 0.0]
    assert [g["initial_lr"] for g in o.param_groups] == [0.1, 0.01]
    o.step()
    s.step()
    assert (s.last_epoch, s._step_count) == (1, 2)
    assert s.get_last_lr() == [0.1 * 0.1, 0.01 * 0.1]
    assert s.get_lr() == s.get_last_lr()


@settings(max_examples=40)
@given(expressions(min_depth=1, max_depth=2), st.floats(1e-4, 1.0), st.integers(1, 300))
def test_applies_base_times_schedule_at_every_step(schedule, base, n):
    o = optimizer([base])
    s = Scheduler(o, lr=schedule)
    scale = 1.0 if sa.is_absolute(schedule) else base  # one_cycle_momentum gives values
    for t in range(n):
        assert o.param_groups[0]["lr"] == scale * schedule(t)
        s.step()


def test_per_group_lists_and_mappings_and_any_key():
    o = optimizer([0.1, 0.2, 0.3], momentum=0.9, weight_decay=1e-2)
    o.param_groups[2]["ema_decay"] = 0.5
    s = Scheduler(
        o,
        lr=[sa.cosine(10), None, sa.constant(2.0)],
        weight_decay={1: sa.linear(1.0, 0.0, 4)},
        ema_decay={2: sa.linear(1.0, 2.0, 4)},
        momentum=sa.constant(0.5),
    )
    for _ in range(5):
        o.step()
        s.step()
    g0, g1, g2 = o.param_groups
    assert g0["lr"] == 0.1 * sa.cosine(10)(5)
    assert g1["lr"] == 0.2  # not scheduled
    assert g2["lr"] == 0.6
    assert g1["weight_decay"] == 0.0 and g0["weight_decay"] == 1e-2
    assert g2["ema_decay"] == 1.0
    assert [g["momentum"] for g in o.param_groups] == [0.45, 0.45, 0.45]


def test_absolute_and_explicit_base():
    o = optimizer([0.1, 0.2])
    s = Scheduler(o, lr=sa.constant(3e-4) * sa.cosine(10), absolute=True)
    assert [g["lr"] for g in o.param_groups] == [3e-4, 3e-4]
    o = optimizer([0.1, 0.2], momentum=0.9)
    s = Scheduler(
        o,
        lr=sa.cosine(10),
        momentum=sa.constant(0.8),
        absolute={"momentum"},
        base={"lr": [1.0, 2.0]},
    )
    assert [g["lr"] for g in o.param_groups] == [1.0, 2.0]
    assert [g["momentum"] for g in o.param_groups] == [0.8, 0.8]
    assert s.base_lrs == [1.0, 2.0]


def test_momentum_is_betas0_for_adam():
    o = optimizer([0.1], "adam", betas=(0.9, 0.999))
    s = Scheduler(o, momentum=sa.linear(1.0, 0.5, 4))
    for _ in range(4):
        o.step()
        s.step()
    assert o.param_groups[0]["betas"] == (0.45, 0.999)


def test_tensor_values_are_updated_in_place():
    lr = torch.tensor(0.01)
    o = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=lr)
    s = Scheduler(o, lr=sa.cosine(10))
    tensor = o.param_groups[0]["lr"]
    for t in range(1, 6):
        o.step()
        s.step()
        assert o.param_groups[0]["lr"] is tensor
        assert float(tensor) == pytest.approx(0.01 * sa.cosine(10)(t), rel=1e-6)
        assert isinstance(s.get_last_lr()[0], torch.Tensor)
        assert s.get_last_lr()[0] is not tensor


def test_any_object_with_param_groups():
    class Wrapper:
        def __init__(self):
            self.param_groups = [{"lr": 1.0, "momentum": 0.9}]

    w = Wrapper()
    s = Scheduler(w, lr=sa.exponential(0.5), momentum=sa.constant(1.0))
    s.step()
    s.step()
    assert w.param_groups[0]["lr"] == 0.25


def test_step_to_an_epoch():
    o = optimizer([1.0])
    s = Scheduler(o, lr=sa.cosine(10))
    s.step(epoch=7)
    assert s.last_epoch == 7 and o.param_groups[0]["lr"] == sa.cosine(10)(7)
    with pytest.raises(ValueError, match="epoch"):
        s.step(epoch=-1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "at least one schedule"),
        ({"lr": 0.1}, TypeError, "lr must be a Schedule"),
        ({"lr": [sa.cosine(3)] * 3}, ValueError, "one schedule"),
        ({"lr": {5: sa.cosine(3)}}, ValueError, "names param group 5"),
        ({"nesterov_thing": sa.cosine(3)}, ValueError, "has no 'nesterov_thing'"),
        ({"lr": sa.cosine(3), "absolute": {"momentum"}}, ValueError, "no schedule"),
        ({"lr": sa.cosine(3), "base": {"lr": float("nan")}}, ValueError, "finite"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        Scheduler(optimizer([0.1, 0.2]), **kwargs)


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="param_groups"):
        Scheduler(object(), lr=sa.cosine(3))


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_dict_is_weights_only_and_fingerprinted():
    o = optimizer([0.1])
    s = Scheduler(o, lr=sa.warmup(sa.cosine(100), 10))
    for _ in range(5):
        s.step()
    state = _roundtrip(s.state_dict())
    assert state["last_epoch"] == 5
    assert state["entries"][0]["fingerprint"] == fingerprint(sa.warmup(sa.cosine(100), 10))
    other = Scheduler(optimizer([0.1]), lr=sa.warmup(sa.cosine(200), 4))
    with pytest.raises(ValueError, match=r"different schedules.*strict=False"):
        other.load_state_dict(state)
    other.load_state_dict(state, strict=False)
    assert other.last_epoch == 5
    assert other.optimizer.param_groups[0]["lr"] == 0.1 * sa.warmup(sa.cosine(200), 4)(5)
    with pytest.raises(ValueError, match="not a schedalg"):
        other.load_state_dict({"last_epoch": 3})


def test_fingerprint_distinguishes_schedules():
    assert fingerprint(sa.cosine(100)) == fingerprint(sa.cosine(100))
    assert fingerprint(sa.cosine(100)) != fingerprint(sa.cosine(101))


def test_a_param_group_added_later_is_scheduled_not_a_silent_constant():
    first = torch.nn.Parameter(torch.zeros(2))
    second = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([first], lr=1.0)
    scheduler = Scheduler(optimizer, lr=sa.cosine(10))
    optimizer.add_param_group({"params": [second], "lr": 0.5})
    scheduler.step()
    # It continues from its own lr by the schedule's ratios: 0.5 * s(1) / s(0).
    assert optimizer.param_groups[1]["lr"] == 0.5 * sa.cosine(10)(1)
    assert optimizer.param_groups[1]["initial_lr"] == 0.5


def test_a_param_group_added_where_the_schedule_is_zero_is_an_error():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0)
    scheduler = Scheduler(optimizer, lr=sa.cosine(2))
    scheduler.step()
    scheduler.step()
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.5})
    with pytest.raises(ValueError, match="param group 1 was added at step 2"):
        scheduler.step()


def test_a_removed_param_group_is_an_error():
    optimizer = torch.optim.SGD(
        [{"params": [torch.nn.Parameter(torch.zeros(2))]} for _ in range(2)], lr=1.0
    )
    scheduler = Scheduler(optimizer, lr=sa.cosine(10))
    optimizer.param_groups.pop()
    with pytest.raises(RuntimeError, match="removing param groups"):
        scheduler.step()
