"""Absolute values and multipliers: the schedule says which (schedalg.algebra.units), the adapter
applies it or refuses; for every torch scheduler class, the adapter driven by from_torch's
schedules alone (no ``absolute=`` argument) starts where real torch does."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

import schedalg as sa
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import momentum_of, optimizer, tol

Make = Callable[[torch.optim.Optimizer], Any]

MAKERS: dict[type, Make] = {
    L.LambdaLR: lambda o: L.LambdaLR(o, lambda k: 1.0 / (1.0 + k)),
    L.MultiplicativeLR: lambda o: L.MultiplicativeLR(o, lambda k: 0.9),
    L.StepLR: lambda o: L.StepLR(o, 2, 0.5),
    L.MultiStepLR: lambda o: L.MultiStepLR(o, [1, 3], 0.1),
    L.ConstantLR: lambda o: L.ConstantLR(o, 0.25, 3),
    L.LinearLR: lambda o: L.LinearLR(o, 0.1, 1.0, 4),
    L.ExponentialLR: lambda o: L.ExponentialLR(o, 0.8),
    L.PolynomialLR: lambda o: L.PolynomialLR(o, 6, 2.0),
    L.CosineAnnealingLR: lambda o: L.CosineAnnealingLR(o, 5, 1e-4),
    L.CosineAnnealingWarmRestarts: lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2),
    L.CyclicLR: lambda o: L.CyclicLR(o, 0.01, 0.5, 3),
    L.OneCycleLR: lambda o: L.OneCycleLR(o, 0.5, total_steps=20),
    L.ReduceLROnPlateau: lambda o: L.ReduceLROnPlateau(o, patience=0),
    L.SequentialLR: lambda o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, 1.0, 2), L.ExponentialLR(o, 0.9)], [2]
    ),
    L.ChainedScheduler: lambda o: L.ChainedScheduler(
        [L.ExponentialLR(o, 0.9), L.StepLR(o, 2, 0.5)]
    ),
    SWALR: lambda o: SWALR(o, 0.05, anneal_epochs=3),
}


def test_every_converted_class_is_covered():
    from schedalg.importers.torch.classes import CLASSES

    assert set(MAKERS) == set(CLASSES)


def _values(o: torch.optim.Optimizer, momentum: bool) -> list[tuple[float, ...]]:
    return [
        (float(g["lr"]), momentum_of(g)) if momentum else (float(g["lr"]),) for g in o.param_groups
    ]


@settings(max_examples=8, deadline=None)
@given(
    st.sampled_from(sorted(MAKERS, key=lambda c: c.__name__)),
    st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3),
    st.sampled_from(["sgd", "adam"]),
)
def test_the_adapter_starts_where_torch_does(cls, lrs, kind):
    kw = {"momentum": 0.9} if kind == "sgd" else {"betas": (0.9, 0.99)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = optimizer(lrs, kind, **kw)
        scheduler = MAKERS[cls](theirs)
        converted = from_torch(scheduler)
        ours = optimizer(lrs, kind, **kw)
        # The schedules alone: what is absolute is marked in the expression itself.
        adapter = Scheduler(ours, lr=converted.lr, momentum=converted.momentum)
        cycled = converted.momentum is not None
        for t in range(4):
            for want, got in zip(_values(theirs, cycled), _values(ours, cycled)):
                for a, b in zip(want, got):
                    assert math.isclose(b, a, **tol(t)), (cls.__name__, t, want, got, converted)
            theirs.step()
            if cls is L.ReduceLROnPlateau:
                scheduler.step(1.0)
                adapter.step(1.0)
            else:
                scheduler.step()
                adapter.step()


def test_the_readme_one_cycle_sets_torch_momenta():
    o = optimizer([0.1], momentum=0.9)
    Scheduler(o, lr=sa.one_cycle(100), momentum=sa.one_cycle_momentum(100))
    reference = optimizer([0.1], momentum=0.9)
    L.OneCycleLR(reference, 0.1, total_steps=100)
    assert o.param_groups[0]["momentum"] == reference.param_groups[0]["momentum"] == 0.95
    assert o.param_groups[0]["lr"] == reference.param_groups[0]["lr"]


def test_a_multiplier_of_zero_is_refused():
    with pytest.raises(ValueError, match=r"momentum=cosine\(10\) is a multiplier, but "):
        Scheduler(optimizer([0.1]), momentum=sa.cosine(10))
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['weight_decay'\] is 0"):
        Scheduler(optimizer([0.1], momentum=0.9), weight_decay=sa.cosine(10))
    # A base given, or absolute values, are fine.
    o = optimizer([0.1])
    Scheduler(o, momentum=sa.cosine(10), base={"momentum": 0.9})
    assert o.param_groups[0]["momentum"] == 0.9
    o = optimizer([0.1])
    Scheduler(o, momentum=sa.absolute(0.9 * sa.cosine(10)))
    assert o.param_groups[0]["momentum"] == 0.9


def test_absolute_false_refuses_a_schedule_marked_absolute():
    with pytest.raises(ValueError, match="gives absolute values, not multipliers"):
        Scheduler(
            optimizer([0.1], momentum=0.9), momentum=sa.one_cycle_momentum(10), absolute=False
        )


def test_a_number_times_a_schedule_stays_a_multiplier():
    o = optimizer([0.5])
    Scheduler(o, lr=3e-4 * sa.cosine(100))
    assert o.param_groups[0]["lr"] == 0.5 * 3e-4
    o = optimizer([0.5])
    Scheduler(o, lr=sa.absolute(3e-4 * sa.cosine(100)))
    assert o.param_groups[0]["lr"] == 3e-4
    o = optimizer([0.5])
    Scheduler(o, lr=3e-4 * sa.cosine(100), absolute={"lr"})
    assert o.param_groups[0]["lr"] == 3e-4


def test_the_mark_propagates_and_normalises():
    m = sa.one_cycle_momentum(100)
    assert sa.is_absolute(m) and sa.is_absolute(0.5 * m + 0.1)
    assert sa.is_absolute(sa.sequence(m, sa.constant(0.9), at=[100]))
    assert not sa.is_absolute(sa.warmup(sa.cosine(90), 10) * 3e-4)
    assert sa.absolute(m) == m and sa.absolute(sa.absolute(sa.cosine(5))) == sa.absolute(
        sa.cosine(5)
    )
    s = sa.absolute(3e-4 * sa.cosine(100))
    assert sa.parse(repr(s)) == s and sa.from_dict(sa.to_dict(s)) == s
    assert sa.fingerprint(s) != sa.fingerprint(s.schedule)
    t = np.arange(200.0)
    assert np.array_equal(s.curve(200), s.schedule.curve(200))
    assert np.array_equal(s(t), s.schedule(t))
    assert torch.equal(s(torch.arange(200.0)), s.schedule(torch.arange(200.0)))


def test_from_torch_marks_what_it_builds_from_absolute_numbers():
    o = optimizer([0.1], momentum=0.9)
    converted = from_torch(L.OneCycleLR(o, 0.1, total_steps=50))
    assert sa.is_absolute(converted.lr) and sa.is_absolute(converted.momentum)
    o = optimizer([0.1])
    assert not sa.is_absolute(from_torch(L.StepLR(o, 3)).lr)


def test_an_absolute_mmengine_config_is_marked():
    from schedalg.mmengine import from_config

    cfg = [dict(type="CosineAnnealingLR", T_max=10, by_epoch=False, end=10)]
    assert sa.is_absolute(from_config(cfg, absolute=True, base={"lr": 0.1})["lr"])
    assert not sa.is_absolute(from_config(cfg)["lr"])
