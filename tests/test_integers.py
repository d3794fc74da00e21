"""Integer-valued schedules: ``batch_ramp`` against megatron-core's own
``RampupBatchsizeNumMicroBatchesCalculator`` (0.16.1) driven as Megatron's training loop drives
it (update with the samples consumed so far, run a batch, add its size), ``rounded`` on its
definition, and the integer types of every evaluation path. Batch sizes are integers: every
comparison is exact."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg.curves.integers import is_integral

pytest.importorskip("megatron.core.num_microbatches_calculator")
from megatron.core.num_microbatches_calculator import RampupBatchsizeNumMicroBatchesCalculator

logging.getLogger("megatron.core.num_microbatches_calculator").setLevel(logging.WARNING)


def megatron_batches(
    start: int, increment: int, samples: int, final: int, unit: int, steps: int
) -> list[int]:
    """The global batch size Megatron-LM runs at each iteration: ``unit`` is micro-batch size
    times data-parallel size; with ``unit > 1`` the batch is decreased to a multiple of it."""
    calculator = RampupBatchsizeNumMicroBatchesCalculator(
        global_batch_size=final,
        micro_batch_size=unit,
        data_parallel_size=1,
        decrease_batch_size_if_needed=unit > 1,
        rank=1,
        start_global_batch_size=start,
        batch_size_increment=increment,
        ramup_samples=samples,
    )
    consumed, sizes = 0, []
    for _ in range(steps):
        calculator.update(consumed, consistency_check=True)
        size = calculator.get_current_running_global_batch_size()
        sizes.append(size)
        consumed += size
    return sizes


CASES = [
    (32, 32, 3200, 1024, 1),  # GPT-3 style: a ramp over a few stages
    (16, 16, 5000, 256, 1),
    (8, 8, 100, 512, 1),  # more increments than steps per stage: stages are skipped
    (1, 1, 999, 37, 1),
    (96, 32, 10_000, 1024, 64),  # decrease_batch_size_if_needed to a multiple of 64
    (100, 10, 3333, 250, 30),
]


@pytest.mark.parametrize("start, increment, samples, final, unit", CASES)
def test_batch_ramp_is_megatron_s_ramp_up(start, increment, samples, final, unit):
    ramp = sa.batch_ramp(start, increment, samples, final, multiple_of=unit)
    steps = 2 * samples // start + 10
    theirs = megatron_batches(start, increment, samples, final, unit, steps)
    assert [ramp(t) for t in range(steps)] == theirs
    assert ramp.curve(steps).tolist() == theirs
    assert ramp(np.arange(steps)).tolist() == theirs
    assert theirs[-1] == final // unit * unit


@settings(max_examples=40, deadline=None)
@given(
    start=st.integers(1, 64),
    increments=st.integers(1, 40),
    increment=st.integers(1, 48),
    samples=st.integers(1, 20_000),
    unit=st.sampled_from([1, 2, 8]),
)
def test_batch_ramp_matches_megatron_on_random_ramps(start, increments, increment, samples, unit):
    start = max(start, unit)
    final = start + increments * increment
    ramp = sa.batch_ramp(start, increment, samples, final, multiple_of=unit)
    steps = samples // start + 20
    assert ramp.curve(steps).tolist() == megatron_batches(
        start, increment, samples, final, unit, steps
    )


def test_batch_ramp_events_and_a_ramp_without_increments():
    ramp = sa.batch_ramp(32, 32, 320, 128)
    assert [e.step for e in ramp.events()] == [7]
    flat = sa.batch_ramp(64, 32, 1000, 64)
    assert flat(0) == flat(10**9) == 64


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: sa.batch_ramp(-32, 32, 320, 128), r"batch_ramp\(\): start .* got -32"),
        (lambda: sa.batch_ramp(32, 0, 320, 128), r"increment must be a positive integer, got 0"),
        (lambda: sa.batch_ramp(32, 32, 320, 100), r"final - start \(68\) must be a multiple"),
        (lambda: sa.batch_ramp(64, 32, 320, 32), r"final must be at least start=64, got 32"),
        (lambda: sa.batch_ramp(32, 32, 320, 128, multiple_of=64), r"multiple_of .* got 64"),
        (lambda: sa.batch_ramp(32, 32, 320.5, 128), r"samples .* got 320.5"),
        (lambda: sa.batch_ramp(32, 32, 320, 128, multipl_of=8), r"did you mean 'multiple_of'"),
        (lambda: sa.rounded(sa.linear(1, 9, 9), minimum=-8), r"minimum .* got -8"),
        (lambda: sa.rounded(sa.linear(1, 9, 9), multiple_of=8, minimum=12), r"multiple of"),
        (lambda: sa.rounded(sa.linear(1, 9, 9), minimum=8, maximum=4), r"at least minimum=8"),
        (lambda: sa.rounded(sa.linear(1, 9, 9), rounding="dwn"), r"rounding .*did you mean 'down'"),
        (lambda: sa.rounded(sa.linear(1, 9, 9), multiple_of=0), r"multiple_of .* got 0"),
    ],
)
def test_bad_integer_schedules_are_refused_naming_parameter_and_value(build, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build()


# -- rounded ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rounding, mode", [("down", math.floor), ("up", math.ceil)])
@pytest.mark.parametrize("multiple", [1, 8, 64])
def test_rounded_is_the_multiple_below_or_above_clamped(rounding, mode, multiple):
    inner = sa.linear(100.0, 4000.0, 50)
    s = sa.rounded(inner, multiple_of=multiple, maximum=2048, rounding=rounding)
    expected = [min(max(multiple * mode(inner(t) / multiple), multiple), 2048) for t in range(60)]
    assert [s(t) for t in range(60)] == expected
    assert s.curve(60).tolist() == expected
    assert all(type(s(t)) is int for t in range(3))


def test_rounded_nearest_rounds_halves_up():
    s = sa.rounded(sa.linear(0.0, 10.0, 10), multiple_of=4, rounding="nearest", minimum=0)
    assert [s(t) for t in range(11)] == [0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12]
    half = sa.rounded(sa.constant(6.0), multiple_of=4, rounding="nearest")
    assert half(0) == 8


def test_rounded_refuses_values_it_cannot_round():
    s = sa.rounded(sa.constant(1.0) / sa.linear(1.0, 0.0, 4))
    with pytest.raises(ValueError, match="rounded"):
        s(4)
    with pytest.raises(ValueError, match="NaN or infinite"), np.errstate(divide="ignore"):
        s.curve(8)


def test_integer_curves_and_types_on_numpy():
    s = sa.rounded(sa.linear(256, 4096, 100), multiple_of=256)
    assert is_integral(s) and not is_integral(2 * s)
    assert s.curve(5).dtype == np.int64
    assert s(np.arange(5)).dtype == np.int64
    assert s.curve(5, dtype=np.float64).tolist() == [float(v) for v in s.curve(5)]
    out = np.zeros(5, dtype=np.int32)
    assert s.curve(5, out=out) is out and out.tolist() == s.curve(5).tolist()
    assert np.concatenate(list(s.chunks(0, 120, size=50))).tolist() == s.curve(120).tolist()
    assert (2 * s)(10) == 2.0 * s(10)
    with pytest.raises(TypeError, match=r"curve\(\): dtype must be an integer or real"):
        s.curve(5, dtype=complex)


def test_integer_values_on_torch_and_jax():
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    s = sa.batch_ramp(32, 32, 3200, 1024)
    expected = s.curve(40).tolist()
    on_torch = s(torch.arange(40))
    assert on_torch.dtype == torch.int64 and on_torch.tolist() == expected
    assert s(torch.arange(40, dtype=torch.float64)).tolist() == expected
    on_jax = s(jnp.arange(40))
    assert jnp.issubdtype(on_jax.dtype, jnp.integer) and on_jax.tolist() == expected
    assert jax.jit(s)(jnp.arange(40)).tolist() == expected
    r = sa.rounded(sa.linear(100, 1000, 10), multiple_of=64)
    assert jax.jit(r)(jnp.arange(12)).tolist() == r.curve(12).tolist()
    assert r(torch.arange(12)).tolist() == r.curve(12).tolist()


@pytest.mark.parametrize(
    "s",
    [
        sa.rounded(sa.linear(100, 1000, 10), multiple_of=64, maximum=512, rounding="up"),
        sa.batch_ramp(32, 32, 3200, 1024, multiple_of=16),
    ],
)
def test_integer_schedules_read_back(s):
    assert sa.parse(repr(s)) == s
    assert sa.from_dict(sa.to_dict(s)) == s
    assert sa.fingerprint(s) == sa.fingerprint(sa.parse(repr(s)))


def test_describe_shows_an_integer_staircase():
    text = str(sa.describe(sa.batch_ramp(32, 32, 3200, 1024), 300))
    assert "integer staircase, 11 steps" in text
    assert "start  32  at step 0" in text and "end    1024  at step 299" in text
    even = str(sa.describe(sa.rounded(sa.linear(0, 1000, 10), multiple_of=100, minimum=0), 20))
    assert "integer staircase, 10 steps of +100" in even


def test_plot_draws_an_integer_schedule_as_a_staircase():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    sa.batch_ramp(32, 32, 3200, 1024).plot(100, ax=ax)
    assert ax.get_lines()[0].get_drawstyle() == "steps-post"
    ax = Figure().add_subplot()
    sa.cosine(100).plot(100, ax=ax)
    assert ax.get_lines()[0].get_drawstyle() == "default"
