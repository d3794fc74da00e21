"""affine_steps: the exact scan of interleaved affine updates, against real MMEngine and torch."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from mmengine_oracle import simulate

import schedalg as sa
from schedalg.mmengine import from_config

RTOL = 1e-12
BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}


def _example() -> sa.affine_steps:
    return sa.affine_steps(
        sa.constant(0.5),
        sa.sequence(sa.constant(1.0), sa.shift(sa.cosine(10), 1) / sa.cosine(10), at=[1]),
        targets=[sa.constant(0.0), sa.constant(0.1)],
        every=[1, 3],
        begins=[0, 0],
        ends=[4, 5],
    )


def test_scan_by_hand():
    s = _example()
    # Steps 0..3: halved each step; steps 0, 3, 6, 9, 12: the cosine update towards 0.1.
    v, want = 1.0, []
    for t in range(16):
        if t < 4:
            v = 0.0 + (v - 0.0) * 0.5
        if t % 3 == 0 and t // 3 < 5:
            u = t // 3
            r = 1.0 if u == 0 else sa.cosine(10)(u) / sa.cosine(10)(u - 1)
            v = 0.1 + (v - 0.1) * r
        want.append(v)
    assert [s(t) for t in range(16)] == want
    assert s.curve(16).tolist() == want
    assert s(2.5) == want[2]
    assert s(10**6) == want[-1]
    assert s.last_step == 12


def test_backends_agree():
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    s = _example()
    want = s.curve(20)
    np.testing.assert_array_equal(s(np.arange(20.0)), want)
    np.testing.assert_array_equal(s(torch.arange(20)).numpy(), want)
    jitted = np.asarray(jax.jit(s)(jax.numpy.arange(20)))
    np.testing.assert_allclose(jitted, want, rtol=1e-6 if jitted.dtype == np.float32 else 0)


def test_text_data_and_equality():
    s = _example()
    s(7)  # fills the cache, which must not change equality or the hash
    fresh = _example()
    assert s == fresh and hash(s) == hash(fresh)
    assert sa.parse(repr(s)) == s
    assert sa.from_dict(sa.to_dict(s)) == s
    assert sa.fingerprint(s) == sa.fingerprint(fresh)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(targets=[], every=[1], begins=[0], ends=[2]), "targets must have one entry"),
        (dict(targets=[sa.constant(0)], every=[0], begins=[0], ends=[2]), r"every\[0\]"),
        (dict(targets=[sa.constant(0)], every=[1], begins=[3], ends=[3]), r"ends\[0\] must be"),
        (dict(targets=[sa.constant(0)], every=[1], begins=[0], ends=[10**9]), "more than"),
        (dict(targets=[1.0], every=[1], begins=[0], ends=[2]), "target 0 must be a Schedule"),
    ],
)
def test_bad_input_names_function_and_parameter(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=r"affine_steps\(\).*" + match):
        sa.affine_steps(sa.constant(0.5), **kwargs)


def test_misspelt_keyword_is_suggested():
    with pytest.raises(TypeError, match="targets"):
        sa.affine_steps(
            sa.constant(0.5), target=[sa.constant(0.0)], every=[1], begins=[0], ends=[2]
        )


# -- MMEngine: interleaved affine updates, replayed by the real schedulers ----------------------

INTERLEAVED = [
    # detection-3D / pose style: an iteration warm-up under an epoch cosine with eta_min
    [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=1000),
        dict(type="CosineAnnealingLR", T_max=40, eta_min=1e-5, by_epoch=True, begin=0, end=40),
    ],
    # eta_min_ratio, and a MultiStep by epoch under an iteration cosine
    [
        dict(type="CosineAnnealingLR", eta_min_ratio=0.01, by_epoch=False, begin=0, end=3000),
        dict(type="MultiStepLR", milestones=[3, 7], gamma=0.5, by_epoch=True),
    ],
    # Poly towards eta_min under an epoch Linear warm-up and an Exponential
    [
        dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5),
        dict(type="PolyLR", eta_min=1e-4, power=0.9, by_epoch=False, begin=3, end=2500),
        dict(type="ExponentialLR", gamma=0.99, by_epoch=True, begin=2, end=9),
    ],
    # momentum, converted to iterations
    [
        dict(type="LinearMomentum", start_factor=0.5, by_epoch=False, begin=0, end=30),
        dict(
            type="CosineAnnealingMomentum", T_max=8, eta_min=0.85, end=8, convert_to_iter_based=True
        ),
    ],
]


@pytest.mark.parametrize("configs", INTERLEAVED)
@pytest.mark.parametrize("epoch_length", [7, 333])
def test_interleaved_configs_match_mmengine(configs, epoch_length):
    max_epochs = 40 if epoch_length == 7 else 10
    n = max_epochs * epoch_length
    expected = simulate(configs, epoch_length=epoch_length, max_epochs=max_epochs)
    exprs = from_config(configs, epoch_length=epoch_length, max_epochs=max_epochs, base=BASES)
    assert any("affine_steps(" in repr(e) for e in exprs.values())
    for name, expr in exprs.items():
        want = np.array(expected[name])
        np.testing.assert_allclose(BASES[name] * expr.curve(n), want, rtol=RTOL, atol=0)
        scalar = np.array([BASES[name] * expr(i) for i in range(n)])
        np.testing.assert_allclose(scalar, want, rtol=RTOL, atol=0)


def test_readable_expression_kept_where_updates_do_not_interleave():
    configs = [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=20),
        dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=False, begin=20, end=100),
    ]
    expr = from_config(configs, max_iters=100, epoch_length=10, base=BASES)["lr"]
    assert "affine_steps" not in repr(expr)


@pytest.mark.parametrize(
    ("configs", "loop"),
    [
        (
            [
                dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=45),
                dict(type="CosineRestartLR", periods=[2, 3], restart_weights=[1, 0.5], eta_min=0),
            ],
            dict(epoch_length=20, max_epochs=5),
        ),
        (
            [
                dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=45),
                dict(
                    type="CosineRestartLR",
                    periods=[30, 40],
                    restart_weights=[1, 0.5],
                    eta_min=1e-4,
                    by_epoch=False,
                    begin=5,
                ),
            ],
            dict(epoch_length=20, max_epochs=5),
        ),
        (
            [
                dict(type="OneCycleLR", eta_max=0.1, by_epoch=False, begin=0, end=60),
                dict(type="MultiStepLR", milestones=[1, 2], gamma=0.5),
            ],
            dict(epoch_length=20, max_epochs=5),
        ),
        (
            [
                dict(type="MultiStepLR", milestones=[1, 2], gamma=0.5),
                dict(type="OneCycleLR", eta_max=0.1, by_epoch=True, end=4, total_steps=4),
                dict(type="ExponentialLR", gamma=0.97, by_epoch=False, begin=10, end=70),
            ],
            dict(epoch_length=20, max_epochs=5),
        ),
    ],
)
def test_interleaved_absolute_updates_are_the_exact_scan(configs, loop):
    # OneCycle writes every value and CosineRestart each period's first one (ratio 0, the value
    # as target); CosineRestart's other steps are its cosine ratio towards eta_min.
    expected = np.array(simulate(configs, **loop)["lr"])
    expr = from_config(configs, base=BASES, **loop)["lr"]
    assert repr(expr).startswith("affine_steps(")
    np.testing.assert_allclose(BASES["lr"] * expr.curve(len(expected)), expected, rtol=1e-12)


# -- the same node for torch's ChainedScheduler -------------------------------------------------


def test_torch_chained_scheduler_with_eta_min():
    torch = pytest.importorskip("torch")
    L = torch.optim.lr_scheduler
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    chained = L.ChainedScheduler(
        [L.LinearLR(opt, start_factor=0.2, total_iters=30), L.CosineAnnealingLR(opt, 50, 1e-3)]
    )
    got = []
    for _ in range(51):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        chained.step()
    linear = sa.linear(0.2, 1.0, 30)
    c = sa.cosine(50)
    expr = sa.affine_steps(
        sa.sequence(sa.constant(0.2), sa.shift(linear, 1) / linear, at=[1]),
        sa.sequence(sa.constant(1.0), sa.shift(c, 1) / c, at=[1]),
        targets=[sa.constant(0.0), sa.constant(1e-3 / 0.1)],
        every=[1, 1],
        begins=[0, 0],
        ends=[31, 51],
    )
    np.testing.assert_allclose(0.1 * expr.curve(51), got, rtol=RTOL, atol=0)


# -- polynomial without cancellation near its end -----------------------------------------------


def test_polynomial_is_correctly_rounded_near_its_end():
    steps = 160_000
    s = sa.polynomial(steps)
    for t in range(steps - 200, steps + 1):
        assert s(t) == float(Fraction(steps - t, steps))
    curve = s.curve(steps - 200, steps + 1)
    assert curve.tolist() == [
        float(Fraction(steps - t, steps)) for t in range(steps - 200, steps + 1)
    ]


def test_mmseg_poly_with_eta_min_matches_mmengine():
    configs = [dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=20_000, by_epoch=False)]
    expected = np.array(simulate(configs, epoch_length=20_000, max_iters=20_000)["lr"])
    expr = from_config(configs, epoch_length=20_000, max_iters=20_000, base=BASES)["lr"]
    np.testing.assert_allclose(BASES["lr"] * expr.curve(20_000), expected, rtol=RTOL, atol=0)
    assert math.isclose(expected[-1], BASES["lr"] * expr(19_999), rel_tol=RTOL)


# -- a fractional T_max, as MMEngine runs it ----------------------------------------------------

FRACTIONAL = [
    [dict(type="CosineAnnealingLR", T_max=4.5, eta_min=1e-4, convert_to_iter_based=True)],
    [dict(type="CosineAnnealingLR", T_max=4.5, convert_to_iter_based=True)],
    [dict(type="CosineAnnealingMomentum", T_max=2.5, eta_min=0.8, by_epoch=True)],
    [
        dict(type="LinearLR", start_factor=0.01, by_epoch=False, end=30),
        dict(type="CosineAnnealingLR", T_max=4.5, eta_min=1e-4, convert_to_iter_based=True),
    ],
]


@pytest.mark.parametrize("configs", FRACTIONAL)
@pytest.mark.parametrize("epoch_length", [7, 333])
def test_fractional_t_max_matches_mmengine(configs, epoch_length):
    n = 10 * epoch_length
    expected = simulate(configs, epoch_length=epoch_length, max_epochs=10)
    exprs = from_config(configs, epoch_length=epoch_length, max_epochs=10, base=BASES)
    for name, expr in exprs.items():
        want = np.array(expected[name])
        np.testing.assert_allclose(BASES[name] * expr.curve(n), want, rtol=RTOL, atol=0)


# -- type names as MMEngine's registry accepts them ---------------------------------------------


def test_dotted_class_and_scoped_type_names():
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    from schedalg.mmengine import loop_arguments

    plain = [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=20),
        dict(type="CosineAnnealingLR", T_max=5, by_epoch=True, begin=0, end=5),
    ]
    variants = [
        [dict(c, type=t) for c, t in zip(plain, (LinearLR, CosineAnnealingLR))],
        [
            dict(plain[0], type="mmengine.optim.scheduler.lr_scheduler.LinearLR"),
            dict(plain[1], type="mmengine.CosineAnnealingLR", _scope_="mmdet"),
        ],
    ]
    want = from_config(plain, epoch_length=10, max_epochs=5)
    for configs in variants:
        assert from_config(configs, epoch_length=10, max_epochs=5) == want
        assert_replay = simulate(configs, epoch_length=10, max_epochs=5)["lr"]
        np.testing.assert_allclose(
            BASES["lr"] * want["lr"].curve(50), assert_replay, rtol=RTOL, atol=0
        )
    loop = dict(type="mmengine.runner.loops.IterBasedTrainLoop", max_iters=100)
    assert loop_arguments(loop) == {"max_iters": 100}


def test_the_user_guide_s_examples_run_as_written():
    import re
    from pathlib import Path

    guide = (Path(__file__).parent.parent / "docs" / "mmengine.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 3
    for block in blocks:
        exec(block, {})  # our own doc, not input


# -- unbounded windows: a table grown lazily up to the largest step asked for ------------------


def _unbounded() -> sa.affine_steps:
    """Halving at 0, 2, 4; then for ever a step towards 0.1 by 0.999, plus 1e-4 every third."""
    return sa.affine_steps(
        sa.constant(0.5),
        sa.constant(0.999),
        sa.constant(1.0),
        targets=[sa.constant(0.0), sa.constant(0.1), sa.constant(0.0)],
        every=[2, 1, 3],
        begins=[0, 3, 1],
        ends=[3, sa.inf, sa.inf],
        offsets=[sa.constant(0.0), sa.constant(0.0), sa.constant(1e-4)],
    )


def _by_hand(n: int) -> list[float]:
    v, out = 1.0, []
    for t in range(n):
        if t % 2 == 0 and t // 2 < 3:
            v = 0.0 + (v - 0.0) * 0.5 + 0.0
        if t >= 3:
            v = 0.1 + (v - 0.1) * 0.999 + 0.0
        if t % 3 == 0 and t >= 3:
            v = v + 1e-4  # the additive update: e = 0, r = 1 are exact
        out.append(v)
    return out


def test_unbounded_scan_by_hand_and_grown_lazily():
    n = 5000
    want = _by_hand(n)
    grown = _unbounded()
    assert [grown(t) for t in (0, 7, 1500)] == [want[0], want[7], want[1500]]
    assert grown._table[2] < n - 1  # the table holds a prefix only, so far
    assert [grown(t) for t in range(n)] == want  # grown again past the first horizon
    assert grown(n - 1.5) == want[n - 2]
    at_once = _unbounded()
    assert at_once.curve(n).tolist() == want  # one scan to n - 1: the same values, bit for bit
    size = min(at_once._table[1].size, grown._table[1].size)
    assert np.array_equal(at_once._table[1][:size], grown._table[1][:size])
    assert grown.last_step == math.inf and list(grown.events()) == []


def test_unbounded_backends_and_jit():
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    s, want = _unbounded(), np.array(_by_hand(3000))
    np.testing.assert_array_equal(s(np.arange(3000.0)), want)
    np.testing.assert_array_equal(_unbounded()(torch.arange(3000.0, dtype=torch.float64)), want)
    concrete = np.asarray(_unbounded()(jax.numpy.arange(3000)))
    np.testing.assert_allclose(concrete, want, rtol=1e-6 if concrete.dtype == np.float32 else 0)
    with pytest.raises(ValueError, match=r"affine_steps\(\).*unbounded.*jax\.jit.*concrete"):
        jax.jit(_unbounded())(jax.numpy.arange(10))


def test_unbounded_step_past_the_limit_is_refused_at_evaluation():
    s = _unbounded()
    with pytest.raises(ValueError, match=r"affine_steps\(\): step 100000000 needs .* 50000000"):
        s(10**8)
    with pytest.raises(ValueError, match=r"affine_steps\(\): step 100000000"):
        s(np.array([1.0, 1e8]))
    assert s(10) == _by_hand(11)[10]  # refused, not clamped: smaller steps still evaluate


def test_unbounded_text_data_describe():
    s = _unbounded()
    assert "ends=[3, inf, inf]" in repr(s) and "offsets=" in repr(s)
    assert sa.parse(repr(s)) == s and sa.from_dict(sa.to_dict(s)) == s
    assert "offsets" not in repr(_example())  # empty offsets: the default, not written
    assert "phases" in str(sa.describe(s, 50))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(ends=[2.5]), r"ends\[0\]"),
        (dict(ends=[-math.inf]), r"ends\[0\]"),
        (dict(offsets=[sa.constant(0), sa.constant(0)]), "offsets must be empty or have one"),
        (dict(offsets=[0.0]), "offset 0 must be a Schedule"),
    ],
)
def test_bad_unbounded_input(kwargs, match):
    args = dict(targets=[sa.constant(0)], every=[1], begins=[0], ends=[math.inf]) | kwargs
    with pytest.raises((TypeError, ValueError), match=r"affine_steps\(\).*" + match):
        sa.affine_steps(sa.constant(0.5), **args)


def test_torch_chain_with_exponential_is_an_unbounded_scan():
    """torch's recursive cosine towards eta_min, its additive step past T_max included, chained
    with an ExponentialLR for ever: the from_torch scan over 3 T_max + 5 steps."""
    torch = pytest.importorskip("torch")
    from schedalg.torch import from_torch

    L = torch.optim.lr_scheduler
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    chained = L.ChainedScheduler(
        [L.CosineAnnealingLR(opt, 40, 1e-3), L.ExponentialLR(opt, gamma=0.999)]
    )
    expr = from_torch(chained).lr
    assert "ends=[inf, inf]" in repr(expr)
    got = []
    for _ in range(3 * 40 + 5):
        got.append(opt.param_groups[0]["lr"])
        opt.step()
        chained.step()
    np.testing.assert_allclose(0.1 * expr.curve(len(got)), got, rtol=RTOL, atol=0)
