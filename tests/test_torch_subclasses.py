"""Schedulers whose lr is not their torch class's curve: transformers' ``AdafactorSchedule``
(the lr Adafactor computes from its own state) and any subclass overriding how the lr is
computed are refused by ``from_torch``; an optimizer value that is not a number (Adafactor's
``lr=None``) is refused by ``Scheduler``, naming the optimizer, the group and the key."""

from __future__ import annotations

import pytest
import torch
from torch.optim import lr_scheduler as L

import schedalg as sa
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import optimizer


def _adafactor():
    transformers = pytest.importorskip("transformers.optimization")
    model = torch.nn.Linear(2, 1)
    return transformers, transformers.Adafactor(model.parameters(), lr=None, relative_step=True)


def test_adafactor_schedule_is_refused_with_the_reason():
    transformers, opt = _adafactor()
    with pytest.raises(ValueError) as refused:
        from_torch(transformers.get_adafactor_schedule(opt))
    message = str(refused.value)
    assert message.startswith("from_torch(): AdafactorSchedule: ") and "\n" not in message
    assert "overrides get_lr" in message and "a function of the optimizer" in message


def test_an_lr_the_optimizer_computes_is_refused_by_the_adapter():
    _, opt = _adafactor()
    with pytest.raises(ValueError, match=r"Adafactor param_groups\[0\]\['lr'\] is None"):
        Scheduler(opt, lr=sa.cosine(10))


def test_a_group_added_without_a_number_is_refused_by_name():
    opt = optimizer([0.1])
    adapter = Scheduler(opt, lr=sa.exponential(0.5))
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.2})
    opt.param_groups[1]["lr"] = None
    with pytest.raises(ValueError, match=r"SGD param_groups\[1\]\['lr'\] is None"):
        adapter.step()


def test_a_subclass_is_its_torch_class_unless_it_computes_the_lr_its_own_way():
    class Named(L.ExponentialLR):  # only a constructor of its own: ExponentialLR's curve
        def __init__(self, opt):
            super().__init__(opt, gamma=0.9)

    class Own(L.ExponentialLR):
        def get_lr(self):
            return [0.5 for _ in self.optimizer.param_groups]

    assert from_torch(Named(optimizer([1.0]))).lr == sa.exponential(0.9)
    with pytest.raises(ValueError, match="Own: derives from ExponentialLR but overrides get_lr"):
        from_torch(Own(optimizer([1.0]), gamma=0.9))
