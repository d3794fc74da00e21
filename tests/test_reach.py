"""Powers, time warps and timm's noise: their semantics, edge values and backends."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedalg as sa
from schedalg.engine.backends import ieee_power
from schedalg.forms.data import ParseError, from_dict, to_dict
from schedalg.forms.text import parse

torch = pytest.importorskip("torch")

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1e300, -1e300, 1e-300, math.inf]
EXPONENTS = [0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.5, -0.5, 1e10, -1e10, 1.5, 1025.0]


@pytest.mark.parametrize("base", SPECIAL)
@pytest.mark.parametrize("exponent", EXPONENTS)
def test_scalar_power_is_numpy_s(base, exponent):
    with np.errstate(all="ignore"):
        expected = float(np.power(np.float64(base), np.float64(exponent)))
    got = ieee_power(base, exponent)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected, (base, exponent)
    # The sign of a zero result is not compared: NumPy gives -0.0 for -0.0 ** 0.5, libm 0.0.


@given(st.floats(0.01, 10.0), st.floats(-3.0, 3.0), st.integers(0, 500))
def test_power_of_schedules(p, q, t):
    s = sa.cosine(400, end=0.1)
    assert (s**p)(t) == ieee_power(s(t), p)
    assert (p**s)(t) == ieee_power(p, s(t))
    assert (s ** (q * s))(t) == ieee_power(s(t), q * s(t))
    curve = (s**p).curve(501)
    assert abs(curve[t] - (s**p)(t)) <= 2 * np.spacing(abs(curve[t]))  # vectorised pow: 1 ulp


@pytest.mark.parametrize(
    "build, text",
    [
        (lambda c: c**1.5, "cosine(10) ** 1.5"),
        (lambda c: 2.0**c, "2.0 ** cosine(10)"),
        (lambda c: (c**2.0) ** 3.0, "(cosine(10) ** 2.0) ** 3.0"),
        (lambda c: c ** (2.0**c), "cosine(10) ** 2.0 ** cosine(10)"),
        (lambda c: (-2.0) ** c, "(-2.0) ** cosine(10)"),
        (lambda c: -(c**2.0), "-1.0 * cosine(10) ** 2.0"),
        (lambda c: (0.5 * c) ** 2.0, "(0.5 * cosine(10)) ** 2.0"),
        (lambda c: c ** (c + 1.0), "cosine(10) ** (cosine(10) + 1.0)"),
    ],
)
def test_power_prints_with_the_parentheses_python_needs(build, text):
    s = build(sa.cosine(10))
    assert repr(s) == text
    assert eval(text, vars(sa)) == s
    assert parse(text) == s
    assert from_dict(to_dict(s)) == s


def test_power_in_parse_refuses_what_is_not_a_bounded_real():
    with pytest.raises(ParseError, match="digits"):
        parse("10 ** 10 ** 10 * cosine(3)")
    with pytest.raises(ParseError, match="not a real number"):
        parse("(-8.0) ** 0.5 * cosine(3)")


def test_power_on_torch_and_under_jit():
    s = sa.cosine(100) ** 1.5 + 2.0 ** sa.linear(0.0, 1.0, 50)
    steps = np.arange(120)
    np.testing.assert_allclose(s(torch.arange(120)).numpy(), s(steps), rtol=4e-16, atol=0)
    jax = pytest.importorskip("jax")
    with jax.enable_x64(True):
        got = jax.jit(s)(jax.numpy.arange(120))
        np.testing.assert_allclose(np.asarray(got), s(steps), rtol=4e-16, atol=0)


# -- warp ------------------------------------------------------------------------------------


@given(st.integers(0, 2000), st.floats(0.2, 3.0))
def test_warp_reads_a_schedule_on_another_clock(t, k):
    inner = sa.cosine(1000, end=0.05)
    clock = sa.elapsed() ** k / 1000 ** (k - 1)
    s = sa.warp(inner, clock)
    assert s(t) == inner(clock(t))
    assert s.curve(t + 1)[t] == s(np.array([t]))[0]


def test_timm_k_decay_through_a_warp():
    # timm's CosineLRScheduler with k_decay: lr_min + (lr_max - lr_min) / 2 * (1 + cos(pi *
    # t ** k / T ** k)) (timm/scheduler/cosine_lr.py); the warp computes t ** k / T ** (k - 1)
    # and then cosine divides by T: the two round differently by a few ulps of the angle.
    T, k, lr_min = 300, 1.7, 1e-3
    s = sa.warp(sa.cosine(T, end=lr_min), sa.elapsed() ** k / T ** (k - 1))
    for t in range(T):
        expected = lr_min + 0.5 * (1 - lr_min) * (1 + math.cos(math.pi * t**k / T**k))
        assert math.isclose(s(t), expected, rel_tol=1e-12)


def test_warp_refuses_a_clock_outside_the_steps():
    s = sa.warp(sa.cosine(10), sa.elapsed() - 5)
    with pytest.raises(ValueError, match=r"warp\(\): the clock elapsed\(\) - 5.0 at step 1"):
        s(1)
    with pytest.raises(ValueError, match=r"warp\(\): the clock"):
        s.curve(10)
    assert s(7) == sa.cosine(10)(2)
    jax = pytest.importorskip("jax")
    got = np.asarray(jax.jit(s)(jax.numpy.arange(8)))
    assert np.isnan(got[:5]).all() and np.isfinite(got[5:]).all()


def test_warp_places_only_its_clock_s_events():
    s = sa.warmup(sa.warp(sa.cosine(100), sa.stretch(sa.linear(0.0, 200.0, 200), 1)), 10)
    kinds = {(e.step, e.kind) for e in sa.describe(s, 300).boundaries}
    assert (10, "warmup_end") in kinds and (210, "end") in kinds  # the linear clock's end
    assert (110, "end") not in kinds  # the cosine's end sits wherever the clock maps it


# -- noise -------------------------------------------------------------------------------------


def _timm_draw(seed, t, kind, pct, std):
    """timm.scheduler.Scheduler's noise at step t, as timm computes it with torch."""
    g = torch.Generator()
    g.manual_seed(seed + t)
    if kind == "normal":
        while True:
            value = torch.randn(1, generator=g).item() * std
            if abs(value) < pct:
                return value
    return 2 * (torch.rand(1, generator=g).item() - 0.5) * pct


@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize(("pct", "std", "seed"), [(0.67, 1.0, 42), (0.1, 0.5, 7), (0.3, 2.0, 0)])
def test_noise_is_timm_s_draw_per_step(kind, pct, std, seed):
    base = sa.cosine(200, end=0.01)
    s = sa.noise(base, begin=20, end=150, pct=pct, std=std, seed=seed, kind=kind)
    curve = s.curve(200)
    for t in range(200):
        v = base(t)
        expected = v + v * _timm_draw(seed, t, kind, pct, std) if 20 <= t < 150 else v
        assert s(t) == expected
        assert curve[t] == expected
    assert np.array_equal(s(torch.arange(200)).numpy(), curve)


def test_noise_validation_and_text():
    s = sa.noise(sa.cosine(10), begin=3)
    assert parse(repr(s)) == s and from_dict(to_dict(s)) == s
    with pytest.raises(ValueError, match=r"noise\(\): end must be greater than begin=5"):
        sa.noise(sa.cosine(10), begin=5, end=5)
    with pytest.raises(ValueError, match=r"noise\(\): kind must be one of"):
        sa.noise(sa.cosine(10), kind="gauss")
    with pytest.raises(ValueError, match=r"noise\(\): pct must be at least std / 100"):
        sa.noise(sa.cosine(10), pct=1e-4)
    with pytest.raises(TypeError, match="did you mean 'pct'"):
        sa.noise(sa.cosine(10), pcts=0.1)


def test_noise_cannot_be_traced():
    jax = pytest.importorskip("jax")
    s = sa.noise(sa.cosine(10))
    with pytest.raises(TypeError, match="cannot be traced"):
        jax.jit(s)(jax.numpy.arange(3))
    assert np.allclose(np.asarray(s(jax.numpy.arange(3.0))), s.curve(3), rtol=1e-6)
