"""Token and sample clocks: ``consumed`` against a batch-size ramp run computed step by step with
plain Python ints, ``in_samples`` against Megatron-LM's own scheduler and ramp-up calculator
(megatron-core 0.16.1) stepped as its training loop steps them, and counts beyond int32 on
NumPy, torch int64 tensors and JAX (``jax.jit``, ``to_optax`` in float32).

Token counts are integers below 2**53: every comparison of counts is exact, and a schedule read
on the clock is compared bit for bit with the same schedule evaluated at the counted tokens."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg.curves.clocks import runs_of

SEQ = 4096


def hand_ramp_run(start: int, increment: int, samples: int, final: int, steps: int):
    """Megatron-style ramp-up by hand: the batch size of each step from the samples consumed so
    far (``samples`` divisible by the number of increments, so integer division is Megatron's
    float division), and the tokens seen before each step."""
    increments = (final - start) // increment
    per_increment = samples // increments
    assert per_increment * increments == samples
    consumed, batches, tokens_before = 0, [], []
    for _ in range(steps):
        stage = increments if consumed > samples else consumed // per_increment
        batch = start + stage * increment
        tokens_before.append(consumed * SEQ)
        batches.append(batch)
        consumed += batch
    return batches, tokens_before


RAMP = (32, 32, 15_000, 512)  # 15 increments of 32, one every 1,000 samples


def test_token_clock_of_a_batch_ramp_run_is_the_hand_count():
    batches, tokens = hand_ramp_run(*RAMP, steps=400)
    ramp = sa.batch_ramp(*RAMP)
    clock = sa.consumed(SEQ * ramp)
    assert [ramp(t) for t in range(400)] == batches
    assert [clock(t) for t in range(400)] == tokens
    assert clock.curve(400).tolist() == tokens
    assert clock(np.arange(400)).tolist() == tokens
    lr_in_tokens = sa.warmup(sa.cosine(90_000_000), 10_000_000, start=0.01)
    s = sa.in_tokens(lr_in_tokens, SEQ * ramp)
    assert [s(t) for t in range(400)] == [lr_in_tokens(n) for n in tokens]
    assert s.curve(400).tolist() == [lr_in_tokens(n) for n in tokens]


def test_sample_clock_and_a_piecewise_batch_schedule():
    ramp = sa.batch_ramp(*RAMP)
    batches, tokens = hand_ramp_run(*RAMP, steps=300)
    samples = sa.consumed(ramp, unit="samples")
    assert ramp.curve(300).tolist() == batches
    assert samples.curve(300).tolist() == [n // SEQ for n in tokens]
    staged = sa.sequence(sa.constant(256), sa.constant(512), sa.constant(1024), at=[100, 250])
    expected = np.cumsum([0] + [256] * 100 + [512] * 150 + [1024] * 49).tolist()
    assert sa.consumed(staged).curve(300).tolist() == expected


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
    gaps=st.lists(st.integers(1, 300), min_size=5, max_size=5),
    factor=st.integers(1, 8192),
)
def test_closed_form_and_prefix_sum_agree_with_a_plain_count(sizes, gaps, factor):
    at = np.cumsum(gaps[: len(sizes) - 1]).tolist()
    staged = factor * sa.sequence(*[sa.constant(b) for b in sizes], at=at)
    per_step = [factor * sizes[int(np.searchsorted(at, t, side="right"))] for t in range(1200)]
    expected = [0]
    for amount in per_step[:-1]:
        expected.append(expected[-1] + amount)
    closed = sa.consumed(staged)
    prefix = sa.consumed(sa.rounded(staged))  # the same amounts, summed as a prefix
    assert runs_of(staged) is not None and runs_of(prefix.per_step) is None
    assert closed.curve(1200).tolist() == expected == prefix.curve(1200).tolist()
    assert [closed(t) for t in (0, 1, 599, 1199)] == [expected[t] for t in (0, 1, 599, 1199)]


def test_a_rounded_linear_ramp_is_a_closed_form():
    ramp = sa.rounded(sa.linear(256, 2048, 1000), multiple_of=64)
    steps = [ramp(t) for t in range(3000)]
    expected = np.concatenate([[0], np.cumsum(steps)]).tolist()
    assert runs_of(ramp) is not None
    assert sa.consumed(ramp).curve(3001).tolist() == expected
    assert sa.consumed(ramp)(10**9) == expected[3000] + (10**9 - 3000) * 2048
    stepped = sa.piecewise([(0, 256.0), (100, 512.0), (300, 1024.0)], interpolation="step")
    assert sa.consumed(stepped)(400) == 100 * 256 + 200 * 512 + 100 * 1024


def test_a_schedule_without_runs_is_a_prefix_sum():
    per_step = sa.rounded(90 * sa.cosine(10) + 10)
    assert runs_of(per_step) is None
    values = [per_step(t) for t in range(5000)]
    expected = np.concatenate([[0], np.cumsum(values)]).tolist()
    clock = sa.consumed(per_step)
    assert clock(4999) == expected[4999]
    assert clock.curve(5001).tolist() == expected
    torch = pytest.importorskip("torch")
    assert clock(torch.arange(5001)).tolist() == expected


def test_counts_beyond_int32_and_10_to_the_10_tokens():
    per_step = 4 * 1024 * 1024
    clock = sa.consumed(per_step)
    steps = [0, 2**31 - 1, 2**31 + 5, 3_000_000_000, 10**9 + 7]
    expected = [per_step * t for t in steps]
    assert [clock(t) for t in steps] == expected
    assert clock(np.asarray(steps, dtype=np.int64)).tolist() == expected
    # a NumPy int64 curve over more than 10**10 tokens, exact
    curve = clock.curve(10**6, 10**6 + 1000)
    assert curve.dtype == np.int64 and curve[0] > 10**12
    assert curve.tolist() == [per_step * t for t in range(10**6, 10**6 + 1000)]
    ramp_clock = sa.consumed(SEQ * sa.batch_ramp(*RAMP))
    batches, tokens = hand_ramp_run(*RAMP, steps=200)
    assert batches[-1] == 512  # the ramp is over: one batch size from here on
    late = ramp_clock(np.asarray([10**7, 10**8]))
    assert late.tolist() == [tokens[199] + (t - 199) * SEQ * 512 for t in (10**7, 10**8)]
    assert late[-1] > 10**14


def test_torch_int64_step_tensors():
    torch = pytest.importorskip("torch")
    ramp = sa.batch_ramp(*RAMP)
    s = sa.in_tokens(sa.cosine(10**11), SEQ * ramp)
    steps = np.asarray([0, 5, 400, 2**31 + 3, 5 * 10**9], dtype=np.int64)
    on_torch = s(torch.as_tensor(steps))
    assert on_torch.dtype == torch.float64
    assert on_torch.tolist() == s(steps).tolist() == [s(int(t)) for t in steps]
    counted = sa.consumed(SEQ * ramp)(torch.as_tensor(steps))
    assert counted.dtype == torch.int64
    assert counted.tolist() == sa.consumed(SEQ * ramp)(steps).tolist()


def test_jax_jit_counts_tokens_exactly_and_to_optax_beyond_int32():
    jax = pytest.importorskip("jax")
    pytest.importorskip("optax")
    from schedalg.jax import to_optax

    jnp = jax.numpy
    ramp = sa.batch_ramp(*RAMP)
    small = sa.consumed(4 * ramp)  # below 2**24: exact in float32 too
    assert jax.jit(small)(jnp.arange(300)).tolist() == small.curve(300).tolist()
    s = sa.in_tokens(sa.warmup(sa.cosine(10**10), 10**9), SEQ * ramp)
    optax_schedule = jax.jit(to_optax(s, base=3e-4))
    # 2**31 tokens are seen by step 1,100, the cosine ends near step 4,800
    counts = np.asarray([0, 7, 399, 1_500, 3_000, 2_000_000_000], dtype=np.int32)
    got = np.asarray(optax_schedule(jnp.asarray(counts)))
    assert got.dtype == np.float32
    want = np.asarray([3e-4 * s(int(c)) for c in counts], dtype=np.float32)
    # XLA's float64 cosine may differ from libm's by an ulp, which can move the one rounding
    # to float32 by one float32 ulp.
    assert np.all(np.abs(got - want) <= np.spacing(want)), (got, want)
    assert 0 < float(want[-3]) < 3e-4 and 0 < float(want[-2]) < 3e-4  # past 2**31 tokens
    with pytest.raises(TypeError, match=r"jax\.jit cannot trace"):
        jax.jit(sa.consumed(sa.rounded(90 * sa.cosine(10) + 10)))(jnp.arange(3))
    ramp = sa.rounded(sa.linear(256, 2048, 1000), multiple_of=64)  # held after 1000: runs
    linear_clock = sa.consumed(ramp)
    assert jax.jit(linear_clock)(jnp.arange(1500)).tolist() == linear_clock.curve(1500).tolist()


def test_in_samples_is_megatron_s_scheduler_under_its_ramp_up():
    """Megatron-LM counts lr lengths in samples and steps its scheduler by the running batch
    size; ``from_megatron`` with a batch of 1 gives the lr on the samples clock. Same tolerance
    as ``tests/test_megatron.py``: the closed form's float expression differs from Megatron's
    by a few ulps of the coefficient."""
    pytest.importorskip("megatron.core.num_microbatches_calculator")
    from megatron.core.num_microbatches_calculator import (
        RampupBatchsizeNumMicroBatchesCalculator,
    )
    from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler

    from schedalg.megatron import from_megatron

    logging.getLogger("megatron.core.num_microbatches_calculator").setLevel(logging.WARNING)

    class Optimizer:
        def __init__(self) -> None:
            self.param_groups = [{"params": []}]

    warm, decay = 3_000, 60_000
    opt = Optimizer()
    scheduler = OptimizerParamScheduler(
        opt, init_lr=0.0, max_lr=3e-4, min_lr=3e-5, lr_warmup_steps=warm, lr_decay_steps=decay,
        lr_decay_style="cosine", start_wd=0.1, end_wd=0.1, wd_incr_steps=decay,
        wd_incr_style="constant",
    )  # fmt: skip
    calculator = RampupBatchsizeNumMicroBatchesCalculator(
        512, 1, 1, False, 1, start_global_batch_size=32, batch_size_increment=32,
        ramup_samples=20_000,
    )  # fmt: skip
    consumed, theirs = 0, []
    for _ in range(300):
        calculator.update(consumed, consistency_check=True)
        theirs.append(opt.param_groups[0]["lr"])
        batch = calculator.get_current_running_global_batch_size()
        scheduler.step(increment=batch)
        consumed += batch
    args = {"lr": 3e-4, "min_lr": 3e-5, "lr_decay_style": "cosine", "lr_warmup_iters": warm}
    lr = from_megatron({**args, "lr_decay_iters": decay, "train_iters": decay})["lr"]
    ours = sa.in_samples(lr, sa.batch_ramp(32, 32, 20_000, 512)).curve(300)
    theirs_array = np.asarray(theirs)
    bound = 1e-12 * np.abs(theirs_array) + 8 * np.finfo(float).eps * 3e-4
    assert np.all(np.abs(ours - theirs_array) <= bound)
    assert theirs[-1] == 3e-5 and theirs[150] not in (3e-5, 3e-4)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: sa.consumed(0), r"consumed\(\): per_step .* got 0.0 at step 0"),
        (lambda: sa.consumed(-2048), r"per_step .* got -2048.0 at step 0"),
        (lambda: sa.consumed(2048.5), r"per_step .* got 2048.5"),
        (lambda: sa.in_tokens(sa.cosine(10), 0), r"in_tokens\(\): tokens_per_step .* got 0.0"),
        (
            lambda: sa.in_samples(sa.cosine(10), sa.constant(-1.0)),
            r"in_samples\(\): samples_per_step .* got -1.0",
        ),
        (
            lambda: sa.consumed(sa.sequence(sa.constant(8), sa.constant(0), at=[10])),
            r"got 0.0 at step 10",
        ),
        (
            lambda: sa.consumed(sa.rounded(sa.linear(0, 5, 5), minimum=0))(3),
            r"per_step must be a positive integer .* got 0.0 at step 0",
        ),
        (lambda: sa.consumed(sa.linear(2, 3, 4)).curve(4), r"got 2.25 at step 1"),
        (lambda: sa.consumed(8, unit="tokns"), r"unit .* did you mean 'tokens'"),
        (lambda: sa.consumed("8"), r"consumed\(\): per_step must be a Schedule"),
    ],
)
def test_a_clock_that_does_not_increase_is_refused(build, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build()


def test_check_does_not_take_the_ramp_s_end_for_the_schedule_s():
    ramp = sa.batch_ramp(*RAMP)
    lr = sa.in_tokens(sa.warmup(sa.cosine(9 * 10**8), 10**8, start=0.01), SEQ * ramp)
    assert sa.check(lr, 2000) == []
    assert [m.step for m in sa.consumed(ramp).events()] == [ramp.runs()[0][-1]]


def test_clocks_read_back_and_place_the_ramp_s_end():
    s = sa.in_tokens(sa.cosine(10**10), SEQ * sa.batch_ramp(*RAMP))
    for expression in (s, sa.consumed(64, unit="samples")):
        assert sa.parse(repr(expression)) == expression
        assert sa.from_dict(sa.to_dict(expression)) == expression
    assert repr(sa.in_samples(sa.cosine(10), 8)) == "warp(cosine(10), consumed(8, unit='samples'))"


def test_describe_shows_the_token_clock():
    ramp = sa.batch_ramp(*RAMP)
    s = sa.in_tokens(sa.cosine(100_000_000), SEQ * ramp)
    clock = sa.consumed(SEQ * ramp)
    text = str(sa.describe(s, 400, clock="tokens"))
    assert f"over 400 steps [0, 400) = {clock(400)} tokens:" in text
    end = ramp.runs()[0][-1]  # the step from which the batch is 512
    assert f"tokens [0, {clock(end)})" in text and f"[0, {end})" in text
    assert "steady tokens per step" in text
    assert str(sa.describe(s, 400, clock=clock)) == text
    assert "tokens [" not in str(sa.describe(s, 400))
    with pytest.raises(ValueError, match=r"did you mean 'tokens'"):
        sa.describe(s, 400, clock="tokns")
    with pytest.raises(ValueError, match=r"clock='samples' names no consumed"):
        sa.describe(s, 400, clock="samples")


def test_plot_puts_the_token_clock_on_the_x_axis():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    ramp = sa.batch_ramp(*RAMP)
    s = sa.in_tokens(sa.cosine(100_000_000), SEQ * ramp)
    ax = Figure().add_subplot()
    s.plot(400, ax=ax, x="tokens")
    line = ax.get_lines()[0]
    assert line.get_xdata().tolist() == sa.consumed(SEQ * ramp).curve(400).tolist()
    assert ax.get_xlabel() == "tokens"
    with pytest.raises(ValueError, match="plot\\(\\): clock"):
        s.plot(400, ax=Figure().add_subplot(), x="epochs")


def test_the_torch_adapter_drives_a_token_schedule():
    torch = pytest.importorskip("torch")
    from schedalg.torch import Scheduler

    s = sa.in_tokens(sa.warmup(sa.cosine(90_000_000), 10_000_000), SEQ * sa.batch_ramp(*RAMP))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = Scheduler(optimizer, lr=s)
    seen = []
    for _ in range(200):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == [0.1 * s(t) for t in range(200)]
