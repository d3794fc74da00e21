"""Semantic segmentation's long PolyLR schedules (160k and 320k iterations, mmseg's
``schedule_160k.py`` / ``schedule_320k.py`` and SegFormer's warmup before one) against MMEngine:
``polynomial`` is ``((T - t) / T) ** power``, with no cancellation near the end, so every
iteration, the last ones included, is within 1e-12 relative of MMEngine's recursion."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("mmengine")

from mmengine_oracle import simulate

from schedalg.mmengine import from_config

BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}


@pytest.mark.parametrize(("iters", "warmup"), [(160_000, 1500), (320_000, 0)])
def test_long_poly_schedules_match_mmengine_to_the_end(iters, warmup):
    poly = dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=warmup, end=iters, by_epoch=False)
    configs = [poly]
    if warmup:
        configs.insert(0, dict(type="LinearLR", start_factor=1e-6, by_epoch=False, end=warmup))
    loop = dict(epoch_length=iters, max_iters=iters)
    expected = np.array(simulate(configs, optimizer_steps=False, **loop)["lr"])
    expr = from_config(configs, base=BASES, **loop)["lr"]
    assert "affine_steps" not in repr(expr)
    got = BASES["lr"] * expr.curve(iters)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    tail = [BASES["lr"] * expr(t) for t in range(iters - 50, iters)]
    np.testing.assert_allclose(tail, expected[-50:], rtol=1e-12, atol=0)
