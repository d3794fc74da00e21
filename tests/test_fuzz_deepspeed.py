"""A differential fuzzer: from_deepspeed against DeepSpeed's own schedulers
(``deepspeed.runtime.lr_schedules``), stepped after every iteration as DeepSpeed's engine steps
them, on random options of every type, edges included (a warm-up of 0, 1 or the whole run, a
run of one step, stairs, decays, momentum on and off). The tolerance is tests/test_deepspeed.py's
(1e-12 relative plus 8 ulps of the largest value). Where from_deepspeed refuses, DeepSpeed must
fail too: a refusal of what DeepSpeed runs fails here."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

pytest.importorskip("deepspeed.runtime.lr_schedules")

from schedalg.deepspeed import from_deepspeed
from tests.test_deepspeed import LR, agree, deepspeed_curves

logging.getLogger("DeepSpeed").setLevel(logging.ERROR)

SCALE = 3  # examples: this many times the profile's max_examples
counts = st.integers(0, 60)
positive_counts = st.integers(1, 60)
lrs = st.floats(1e-6, 1.0)
ratios = st.floats(0.0, 1.0)
warmup_types = st.sampled_from(["log", "linear"])


@st.composite
def warmup_lr(draw: st.DrawFn) -> dict:
    return {
        "warmup_min_lr": draw(st.one_of(st.just(0.0), lrs)),
        "warmup_max_lr": draw(lrs),
        "warmup_num_steps": draw(counts),
        "warmup_type": draw(warmup_types),
    }


@st.composite
def warmup_decay_lr(draw: st.DrawFn) -> dict:
    params = draw(warmup_lr())
    params["total_num_steps"] = draw(st.integers(params["warmup_num_steps"], 120))
    return params


@st.composite
def warmup_cosine_lr(draw: st.DrawFn) -> dict:
    warm = draw(counts)
    return {
        "total_num_steps": draw(st.integers(max(warm, 1), 120)),
        "warmup_min_ratio": draw(ratios),
        "warmup_num_steps": warm,
        "cos_min_ratio": draw(ratios),
        "warmup_type": draw(warmup_types),
    }


@st.composite
def one_cycle(draw: st.DrawFn) -> dict:
    low = draw(lrs)
    params = {
        "cycle_min_lr": low,
        "cycle_max_lr": draw(st.floats(low, 2.0)),
        "decay_lr_rate": draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0))),
        "cycle_first_step_size": draw(positive_counts),
        "cycle_second_step_size": draw(st.one_of(st.none(), positive_counts)),
        "cycle_first_stair_count": draw(st.integers(0, 5)),
        "cycle_second_stair_count": draw(st.one_of(st.none(), st.integers(0, 5))),
        "decay_step_size": draw(st.integers(0, 20)),
        "cycle_momentum": draw(st.booleans()),
    }
    if params["cycle_momentum"]:
        mom = draw(st.floats(0.5, 0.95))
        params.update(
            cycle_min_mom=mom,
            cycle_max_mom=draw(st.floats(mom, 0.99)),
            decay_mom_rate=draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0))),
        )
    return params


@st.composite
def lr_range_test(draw: st.DrawFn) -> dict:
    return {
        "lr_range_test_min_lr": draw(lrs),
        "lr_range_test_step_size": draw(positive_counts),
        "lr_range_test_step_rate": draw(st.floats(0.0, 10.0)),
        "lr_range_test_staircase": draw(st.booleans()),
    }


CASES = st.one_of(
    st.tuples(st.just("WarmupLR"), warmup_lr()),
    st.tuples(st.just("WarmupDecayLR"), warmup_decay_lr()),
    st.tuples(st.just("WarmupCosineLR"), warmup_cosine_lr()),
    st.tuples(st.just("OneCycle"), one_cycle()),
    st.tuples(st.just("LRRangeTest"), lr_range_test()),
)


@given(CASES, st.integers(1, 150))
def test_from_deepspeed_is_deepspeed(case: tuple[str, dict], steps: int) -> None:
    kind, params = case
    event(kind)
    try:
        ours = from_deepspeed({"type": kind, "params": params}, lr=LR)
    except (ValueError, TypeError) as refusal:
        event(f"refused: {str(refusal).split(':')[1][:40]}")
        with pytest.raises(Exception):  # noqa: B017 - DeepSpeed's own failure, whatever it is
            deepspeed_curves(kind, params, steps)
        return
    theirs = deepspeed_curves(kind, params, steps)
    assert sorted(ours) == sorted(theirs)
    for name, expression in ours.items():
        agree(expression.curve(steps), theirs[name])
        agree(np.array([expression(t) for t in range(steps)]), theirs[name])


test_from_deepspeed_is_deepspeed = settings(max_examples=SCALE * settings.default.max_examples)(
    test_from_deepspeed_is_deepspeed
)
