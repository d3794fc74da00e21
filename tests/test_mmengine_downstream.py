"""Downstream scheduler types (mmdet's QuadraticWarmup family, mmpretrain's
CosineAnnealingWeightDecay) against the real classes.

mmdet and mmpretrain are not installed: their scheduler modules (shipped in the corpus archive,
as released) are loaded under a fake package root whose registry is the packages' own (a child
of MMEngine's), and replayed by MMEngine as its Runner does.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("mmengine")

import mmengine_coverage as corpus
from mmengine_oracle import simulate

import schedalg as sa
from schedalg.mmengine import from_config

BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}


@pytest.fixture(scope="module", autouse=True)
def downstream():
    with corpus.corpus(only=corpus.DOWNSTREAM.values()) as root:
        corpus.load_downstream(root)
        yield


def assert_matches(configs, **loop):
    expected = simulate(corpus.oracle_configs(configs), optimizer_steps=False, **loop)
    exprs = from_config(configs, base=BASES, **loop)
    n = len(expected["lr"])
    for name, values in expected.items():
        got = BASES[name] * exprs[name].curve(n) if name in exprs else np.full(n, BASES[name])
        steps = range(0, n, max(1, n // 500))  # one step at a time: a sample of them
        got_at = [BASES[name] * exprs[name](i) for i in steps] if name in exprs else got[steps]
        np.testing.assert_allclose(got_at, np.asarray(values)[steps], rtol=1e-12, atol=0)
        np.testing.assert_allclose(got, values, rtol=1e-12, atol=0, err_msg=name)
    return exprs


YOLOX = [
    dict(type="mmdet.QuadraticWarmupLR", by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(
        type="CosineAnnealingLR",
        eta_min=0.01 * 0.05,
        begin=5,
        T_max=15,
        end=15,
        by_epoch=True,
        convert_to_iter_based=True,
    ),
    dict(type="ConstantLR", by_epoch=True, factor=1, begin=15, end=20),
]


@pytest.mark.parametrize("epoch_length", [7, 1833])
def test_yolox_schedule(epoch_length):
    exprs = assert_matches(YOLOX, epoch_length=epoch_length, max_epochs=20)
    warmup = 5 * epoch_length
    assert exprs["lr"](0) == 1 / warmup**2
    assert exprs["lr"](warmup - 1) == 1.0


def test_long_warmup_keeps_its_digits():
    # YOLOX's 5-epoch warmup at COCO's 7330 iterations per epoch: MMEngine's running sum and the
    # closed form (t + 1)**2 / T**2 agree within 1e-12 relative all the way.
    cfg = dict(type="QuadraticWarmupLR", by_epoch=True, end=5, convert_to_iter_based=True)
    assert_matches([cfg], epoch_length=7330, max_epochs=6)


@pytest.mark.parametrize("variant", ["QuadraticWarmupLR", "QuadraticWarmupMomentum", "Param"])
@pytest.mark.parametrize(
    "window",
    [
        dict(by_epoch=False, begin=0, end=30),
        dict(by_epoch=False, begin=4, end=17),  # its first step writes base / T**2
        dict(by_epoch=True, begin=1, end=4),  # counted in epochs
    ],
)
def test_each_variant_and_window(variant, window):
    cfg = dict(type=variant, **window)
    if variant == "Param":
        cfg = dict(cfg, type="QuadraticWarmupParamScheduler", param_name="weight_decay")
    configs = [
        dict(type=cfg["type"].replace("QuadraticWarmup", "Linear"), start_factor=0.5, end=1)
        | ({"param_name": "weight_decay"} if variant == "Param" else {}),
        cfg,
        dict(type="MultiStepLR", milestones=[5, 6], gamma=0.5),
    ]
    assert_matches(configs, epoch_length=6, max_epochs=8)


def test_warmup_alone_reads_as_a_quadratic():
    cfg = dict(type="QuadraticWarmupLR", by_epoch=False, begin=0, end=10)
    exprs = assert_matches([cfg], epoch_length=5, max_epochs=4)
    assert exprs["lr"] == sa.clip(sa.shift(sa.elapsed(), 1) ** 2 / 100, 0, 10)


def test_interleaved_warmup_is_refused_saying_why():
    configs = [
        dict(type="QuadraticWarmupLR", by_epoch=False, begin=0, end=10),
        dict(type="ExponentialLR", gamma=0.9, by_epoch=False, begin=3, end=8),
    ]
    with pytest.raises(ValueError, match=r"QuadraticWarmupLR.*adds base \* \(2 t \+ 1\)"):
        from_config(configs, epoch_length=5, max_epochs=4)


def test_warmup_without_an_end_is_refused_as_mmdet_does():
    from mmengine.registry import PARAM_SCHEDULERS

    with pytest.raises(ValueError, match="must be less than infinity"):
        PARAM_SCHEDULERS.build(
            dict(type="mmdet.QuadraticWarmupLR", end=int(1e9), optimizer=_optimizer())
        )
    with pytest.raises(ValueError, match=r"QuadraticWarmupLR\): end must be less than infinity"):
        from_config(dict(type="QuadraticWarmupLR", end=int(1e9)), epoch_length=5, max_epochs=4)


def _optimizer():
    import torch

    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)


def test_cosine_annealing_weight_decay():
    # SparK's weight decay schedule: a cosine from the optimizer's weight decay up to eta_min.
    configs = [
        dict(type="LinearLR", start_factor=1e-4, by_epoch=True, begin=0, end=2,
             convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", by_epoch=True, begin=2, end=8, convert_to_iter_based=True),
        dict(type="CosineAnnealingWeightDecay", eta_min=0.2, by_epoch=True, begin=0, end=8,
             convert_to_iter_based=True),
    ]  # fmt: skip
    exprs = assert_matches(configs, epoch_length=7, max_epochs=8)
    assert 1e-4 * exprs["weight_decay"](7 * 8 - 1) == pytest.approx(0.2, rel=1e-2)
