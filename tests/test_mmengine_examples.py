"""The documented examples of MMEngine's scheduler guide, against real MMEngine.

For each: ``from_config`` equals the pure expression written in the README (structurally), and
``base * expression(i)`` equals real MMEngine's value at every iteration (relative 1e-12).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("mmengine")

from mmengine_oracle import simulate

from schedalg.mmengine import from_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
from mmengine_examples import EXAMPLES, GRADUAL_WARMUP, L

BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["name"])
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_documented_example(example, optimizer):
    exprs = from_config(example["config"], **example["loop"])
    assert exprs == example["expected"]
    want = simulate(example["config"], optimizer=optimizer, **example["loop"])
    n = len(want["lr"])
    for name, values in want.items():
        expr = example["expected"].get(name)
        got = np.full(n, BASES[name]) if expr is None else BASES[name] * expr.curve(n)
        np.testing.assert_allclose(got, values, rtol=1e-12, atol=0, err_msg=name)


def test_gradual_warmup_pattern():
    curve = GRADUAL_WARMUP.curve(100 * L)
    assert curve[0] == pytest.approx(1 / 8)
    assert curve[5 * L] == pytest.approx(1.0)
    assert np.all(np.diff(curve[: 5 * L + 1]) > 0)
    assert curve[-1] == pytest.approx(1e-3, rel=1e-3)
    # Each warm-up step multiplies the lr by the same factor: 8 ** (1 / 500).
    ratios = curve[1 : 5 * L] / curve[: 5 * L - 1]
    np.testing.assert_allclose(ratios, 8 ** (1 / (5 * L)), rtol=1e-12)
