"""The adapter's step path: one evaluation per distinct schedule, values keep their types,
``get_last_lr()`` is a snapshot that later steps and in-place edits cannot change."""

from __future__ import annotations

import torch
from torch.optim import lr_scheduler

import schedalg as sa
from schedalg.torch import Scheduler


def _groups(n: int, lr: object = 0.1) -> list[dict[str, object]]:
    return [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for _ in range(n)]


def test_a_shared_schedule_is_evaluated_once_per_step_for_all_groups():
    calls: list[int] = []

    def counted(t: int) -> float:
        calls.append(t)
        return 1.0 / (1 + t)

    s = sa.from_fn(counted)
    o = torch.optim.SGD(_groups(8), lr=0.1, momentum=0.9)
    scheduler = Scheduler(o, lr=s, momentum=sa.constant(0.5))
    assert calls == [0]
    for _ in range(3):
        scheduler.step()
    assert calls == [0, 1, 2, 3]
    assert [g["lr"] for g in o.param_groups] == [0.1 * 0.25] * 8
    assert [g["momentum"] for g in o.param_groups] == [0.45] * 8


def test_each_group_keeps_its_own_base_and_mode():
    s = sa.cosine(10)
    o = torch.optim.SGD(_groups(3), lr=0.1, momentum=0.9, weight_decay=0.01)
    for i, g in enumerate(o.param_groups):
        g["lr"] = 0.1 * 0.5**i
    scheduler = Scheduler(o, lr=s, momentum=sa.absolute(s), weight_decay=[None, s, None])
    scheduler.step()
    assert [g["lr"] for g in o.param_groups] == [0.1 * 0.5**i * s(1) for i in range(3)]
    assert [g["momentum"] for g in o.param_groups] == [s(1)] * 3
    assert [g["weight_decay"] for g in o.param_groups] == [0.01, 0.01 * s(1), 0.01]


def test_tensor_lr_and_tensor_betas_stay_the_same_tensors():
    o = torch.optim.Adam(_groups(2, torch.tensor(0.01)), lr=torch.tensor(0.01))
    for g in o.param_groups:
        g["betas"] = (torch.tensor(0.9), torch.tensor(0.999))
    lrs = [g["lr"] for g in o.param_groups]
    betas = [g["betas"][0] for g in o.param_groups]
    s, m = sa.cosine(10), sa.one_cycle_momentum(10)
    scheduler = Scheduler(o, lr=s, momentum=m)
    for t in range(1, 5):
        scheduler.step()
        assert [g["lr"] for g in o.param_groups] == lrs
        assert [g["betas"][0] for g in o.param_groups] == betas
        assert [float(x) for x in lrs] == [float(torch.tensor(0.01 * s(t)))] * 2
        assert [float(x) for x in betas] == [float(torch.tensor(m(t)))] * 2


def test_get_last_lr_is_a_copy_of_what_was_written_as_torchs_is():
    lr = torch.tensor(0.5, dtype=torch.float32)
    o = torch.optim.SGD(_groups(1, lr), lr=lr)
    ours = Scheduler(o, lr=sa.exponential(0.9))
    theirs_lr = torch.tensor(0.5, dtype=torch.float32)
    o2 = torch.optim.SGD(_groups(1, theirs_lr), lr=theirs_lr)
    theirs = lr_scheduler.ExponentialLR(o2, 0.9)
    for _ in range(3):
        o.step(), o2.step()
        ours.step(), theirs.step()
    snapshot = ours.get_last_lr()[0]
    assert isinstance(snapshot, torch.Tensor) and snapshot is not lr
    assert snapshot.dtype == theirs.get_last_lr()[0].dtype == torch.float32
    assert float(snapshot) == float(lr)
    lr.fill_(7.0)  # editing the group's tensor does not change the snapshot
    assert float(ours.get_last_lr()[0]) == float(snapshot) != 7.0
    snapshot.fill_(3.0)  # nor does editing a returned tensor change the group
    assert float(lr) == 7.0


def test_an_unscheduled_tensor_lr_is_snapshotted_at_each_step():
    lr = torch.tensor(0.2)
    o = torch.optim.SGD(_groups(1, lr), lr=lr, momentum=0.9)
    scheduler = Scheduler(o, momentum=sa.cosine(10))
    scheduler.step()
    lr.fill_(0.3)
    assert float(scheduler.get_last_lr()[0]) == float(torch.tensor(0.2))
    scheduler.step()
    assert float(scheduler.get_last_lr()[0]) == float(torch.tensor(0.3))
