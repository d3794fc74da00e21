"""Differential fuzzing of ``from_config`` against real MMEngine (issue 23, classes 1 and 8).

Random ``param_scheduler`` lists of every type (MMEngine's eleven, mmdet's QuadraticWarmup and
mmpretrain's CosineAnnealingWeightDecay) on mixed clocks: epoch and iteration schedulers on one
parameter, overlapping windows that start together at iteration 0 (where MMEngine's Runner builds
them, each constructor taking its first step in config order), ``convert_to_iter_based``, both
training loops, SGD and AdamW. Every one is replayed by real MMEngine schedulers
(``mmengine_oracle.simulate``) and compared at every iteration with ``base * expr`` (the NumPy
curve and each single step) at ``rtol = 1e-12, atol = 0``, the bound of
docs/mmengine-semantics.md §8 that ``tests/test_mmengine.py`` uses.

A refusal is accepted only where MMEngine refuses too, or where ``from_config`` says why no exact
form exists (the documented refusals in ``REFUSALS``, one line each); a config MMEngine refuses
must be refused. The examples are fixed (``derandomize``): the ``ci`` profile runs a few hundred,
``HYPOTHESIS_PROFILE=thorough`` several thousand.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

pytest.importorskip("torch")
pytest.importorskip("mmengine")

import mmengine_coverage as corpus
from mmengine_oracle import simulate

from schedalg.curves.metric import bind, plateaus
from schedalg.mmengine import from_config

RTOL = 1e-12
BASES = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
# Why from_config may refuse a config MMEngine runs: no exact form (mmengine-semantics.md §5
# and mmengine-semantics.md §7). Anything else must be read exactly.
REFUSALS = (
    "cannot be composed exactly",  # additive updates interleaved with other changes
    "one scheduler of its parameter",  # ReduceOnPlateau sharing its parameter
    "skips some validations",  # ReduceOnPlateau whose window misses a validation
)
SCALE = 5  # examples per test: this many times the profile's max_examples

FACTORS = [1e-20, 0.1, 0.25, 0.5, 1.0]  # 1e-20: an lr far below an eta_min
# Not tiny: a product of closed forms does not underflow where MMEngine's running value does
# (1e-322 against 0.0, below the smallest normal number: noticed, not reproduced).
GAMMAS = [0.1, 0.25, 0.5, 1.0]
MULTIPLICATIVE = ["Constant", "Linear", "Step", "MultiStep", "Exponential"]
ANNEALING = ["CosineAnnealing", "Poly", "CosineRestart"]
ABSOLUTE = ["OneCycle", "QuadraticWarmup", "ReduceOnPlateau"]


@pytest.fixture(scope="module", autouse=True)
def downstream():
    """mmdet's QuadraticWarmup and mmpretrain's CosineAnnealingWeightDecay, registered with
    MMEngine from their released sources (tests/mmengine_coverage.py)."""
    with corpus.corpus(only=corpus.DOWNSTREAM.values()) as root:
        corpus.load_downstream(root)
        yield


def _arguments(draw, kind: str, param: str, length: int) -> dict:
    """The scheduler's own arguments, around the edges of its window of ``length`` steps."""
    eta = st.sampled_from([0.0, 0.1, 0.5, 2.0]) if param != "weight_decay" else st.just(0.0)
    base = BASES[param]
    factor = st.sampled_from(FACTORS)
    if kind == "Constant":
        return dict(factor=draw(factor))
    if kind == "Linear":
        return dict(start_factor=draw(factor), end_factor=draw(factor))
    if kind == "Step":
        return dict(step_size=draw(st.integers(1, 4)), gamma=draw(st.sampled_from(GAMMAS)))
    if kind == "MultiStep":
        milestones = draw(st.lists(st.integers(0, length + 1), min_size=1, max_size=3))
        return dict(milestones=milestones, gamma=draw(st.sampled_from(GAMMAS)))
    if kind == "Exponential":
        return dict(gamma=draw(st.sampled_from([0.05, 0.8, 0.95, 1.0])))
    if kind == "CosineAnnealing":
        args = {}
        if draw(st.booleans()):
            args["T_max"] = draw(st.integers(1, length + 2))
        ratio = draw(eta)
        if draw(st.booleans()):
            args["eta_min_ratio"] = ratio
        else:
            args["eta_min"] = ratio * base
        return args
    if kind == "Poly":
        return dict(power=draw(st.sampled_from([0.5, 1.0, 2.0])), eta_min=draw(eta) * base)
    if kind == "CosineRestart":
        periods = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
        weights = draw(st.lists(factor, min_size=len(periods), max_size=len(periods)))
        key = draw(st.sampled_from(["eta_min", "eta_min_ratio"]))
        ratio = draw(st.sampled_from([0.0, 0.1]))
        return dict(periods=periods, restart_weights=weights, **{key: ratio * base})
    if kind == "OneCycle":
        args = dict(
            eta_max=draw(st.sampled_from([0.02, 0.05])),
            pct_start=draw(st.sampled_from([0.25, 0.5])),
            three_phase=draw(st.booleans()),
            anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        )
        if draw(st.booleans()):
            args["total_steps"] = draw(st.integers(max(length - 2, 1), length + 1))
        return args
    if kind == "ReduceOnPlateau":
        return dict(
            patience=draw(st.integers(0, 2)),
            factor=draw(st.sampled_from([0.1, 0.5])),
            cooldown=draw(st.integers(0, 1)),
        )
    return {}  # QuadraticWarmup


def _type(kind: str, param: str, draw) -> dict:
    if kind == "CosineAnnealing" and param == "weight_decay" and draw(st.booleans()):
        return dict(type="CosineAnnealingWeightDecay")
    suffix = {"lr": "LR", "momentum": "Momentum"}.get(param)
    if suffix is None:
        return dict(type=kind + "ParamScheduler", param_name=param)
    return dict(type=kind + suffix)


@st.composite
def scheduler(draw, param: str, epochs: int, total: int, by_epoch: bool) -> dict:
    kinds = MULTIPLICATIVE + ANNEALING + ABSOLUTE
    kind = draw(st.sampled_from(kinds if param == "lr" else [k for k in kinds if k != "OneCycle"]))
    if kind == "ReduceOnPlateau":
        by_epoch = True
    convert = by_epoch and kind != "ReduceOnPlateau" and draw(st.booleans())
    horizon = epochs if by_epoch else total
    # Half of them start at iteration 0, where every constructor takes its first step.
    begin = 0 if draw(st.booleans()) else draw(st.integers(0, max(horizon - 1, 0)))
    cfg: dict = dict(by_epoch=by_epoch, begin=begin)
    if convert:
        cfg["convert_to_iter_based"] = True
    if kind == "QuadraticWarmup" or draw(st.booleans()):
        cfg["end"] = draw(st.integers(begin + 1, horizon + 2))
    length = cfg.get("end", horizon) - begin
    if length < 1:
        cfg["end"], length = begin + 1, 1
    cfg.update(_type(kind, param, draw))
    cfg.update(_arguments(draw, kind, param, length))
    return cfg


@st.composite
def setups(draw):
    """A loop, an optimizer and 1-4 schedulers, most of them on the lr, on mixed clocks."""
    epoch_length = draw(st.integers(1, 7))
    if draw(st.integers(0, 3)) == 0:
        loop = dict(max_iters=draw(st.integers(1, 40)))
        epochs, total = 1, loop["max_iters"]
    else:
        epochs = draw(st.integers(1, 7))
        loop = dict(max_epochs=epochs)
        total = epochs * epoch_length
    count = draw(st.integers(1, 4))
    params = draw(
        st.lists(st.sampled_from(["lr", "lr", "lr", "momentum", "weight_decay"]), min_size=count)
    )[:count]
    clocks = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    if count > 1 and len(set(clocks)) == 1 and draw(st.booleans()):
        clocks[-1] = not clocks[-1]  # mostly mixed clocks
    configs = [draw(scheduler(p, epochs, total, c)) for p, c in zip(params, clocks)]
    optimizer = draw(st.sampled_from(["sgd", "adamw"]))
    # The loss after each epoch's validation (after the last iteration under the iteration loop).
    count = epochs if "max_epochs" in loop else total // epoch_length + 1
    metrics = draw(st.lists(st.sampled_from([1.0, 0.9, 0.5, 1.2]), min_size=count, max_size=count))
    return configs, dict(epoch_length=epoch_length, **loop), optimizer, metrics


def replay(configs, loop, optimizer, metrics):
    """MMEngine's values, or None where MMEngine refuses the config."""
    try:
        return simulate(
            corpus.oracle_configs(configs),
            optimizer=optimizer,
            metrics=metrics,
            optimizer_steps=False,
            **loop,
        )
    except (ValueError, AssertionError, ZeroDivisionError, KeyError, TypeError):
        return None


def values(expr, n: int, loop: dict, metrics: list[float], *, scalar: bool):
    """``expr``'s values at iterations 0..n-1; a metric-driven one fed ``metrics`` after each
    epoch's validation, as MMEngine's hook does (under the iteration loop its one validation
    comes after the last iteration)."""
    reducers = plateaus(expr)
    if not reducers:
        return expr.curve(n) if not scalar else np.array([expr(i) for i in range(n)])
    (reducer,) = reducers
    state, out = reducer.initial(), []
    for i in range(n):
        if i and i % loop["epoch_length"] == 0 and "max_epochs" in loop:
            state = reducer.update(state, metrics[i // loop["epoch_length"] - 1])
        out.append(bind(expr, [state])(i))
    return np.array(out)


def check(setup, log=note) -> bool:
    """Whether ``from_config`` read the config (then exactly as MMEngine); False: it refused
    it for one of ``REFUSALS``."""
    configs, loop, optimizer, metrics = setup
    log(f"configs={configs!r}\nloop={loop!r} optimizer={optimizer}")
    expected = replay(configs, loop, optimizer, metrics)
    try:
        exprs = from_config(configs, base=BASES, **loop)
    except ValueError as error:
        message = str(error)
        log(message)
        assert "\n" not in message
        assert expected is None or any(reason in message for reason in REFUSALS), message
        return False
    assert expected is not None, "MMEngine refuses this config, from_config reads it"
    n = len(expected["lr"])
    for name, want in expected.items():
        if name not in exprs:
            np.testing.assert_array_equal(want, BASES[name], err_msg=name)
            continue
        for scalar in (False, True):
            got = BASES[name] * values(exprs[name], n, loop, metrics, scalar=scalar)
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=0, err_msg=name)
    return True


@settings(max_examples=SCALE * settings.default.max_examples, derandomize=True)
@given(setups())
def test_random_schedules_on_mixed_clocks_match_real_mmengine(setup):
    assume(check(setup))


@st.composite
def takeovers(draw):
    """Two or three schedulers of the lr, all built at iteration 0 on different clocks: one
    writes absolute values (CosineRestart, OneCycle) or anneals towards an eta_min far above
    the lr the others leave (Poly, CosineAnnealing)."""
    epoch_length = draw(st.integers(2, 7))
    epochs = draw(st.integers(1, 5))
    loop = dict(epoch_length=epoch_length, max_epochs=epochs)
    total = epochs * epoch_length
    count = draw(st.integers(2, 3))
    first = draw(st.booleans())
    more = draw(st.lists(st.booleans(), min_size=count - 2, max_size=count - 2))
    clocks = [first, not first, *more]
    configs = []
    for i, by_epoch in enumerate(clocks):
        cfg = draw(scheduler("lr", epochs, total, by_epoch))
        if i == 0:
            kind = draw(st.sampled_from(["CosineRestart", "OneCycle", "Poly", "CosineAnnealing"]))
            horizon = epochs if by_epoch else total
            cfg = dict(type=kind + "LR", by_epoch=by_epoch, begin=0, end=horizon)
            cfg.update(_arguments(draw, kind, "lr", horizon))
        else:
            cfg["begin"] = 0 if draw(st.booleans()) else cfg["begin"]
        configs.append(cfg)
    order = draw(st.permutations(range(count)))
    configs = [configs[i] for i in order]
    return configs, loop, draw(st.sampled_from(["sgd", "adamw"])), [1.0] * epochs


@settings(max_examples=SCALE * settings.default.max_examples, derandomize=True)
@given(takeovers())
def test_schedulers_built_together_on_different_clocks_match_real_mmengine(setup):
    assume(check(setup))


EPOCHS = dict(epoch_length=7, max_epochs=5)


@pytest.mark.parametrize(
    ("configs", "loop"),
    [
        # issue 23, class 1: MMEngine builds both at iteration 0 in config order
        (
            [
                dict(type="CosineRestartLR", periods=[5], restart_weights=[1], eta_min=0.0, end=5),
                dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
            ],
            EPOCHS,
        ),
        (
            [
                dict(type="ConstantLR", factor=0.5, by_epoch=True, begin=0, end=2),
                dict(
                    type="CosineRestartLR",
                    periods=[4, 6],
                    restart_weights=[1, 0.5],
                    eta_min=1e-3,
                    by_epoch=False,
                    end=30,
                ),
            ],
            EPOCHS,
        ),
        (
            [
                dict(type="OneCycleLR", eta_max=0.05, by_epoch=True, begin=0, end=5),
                dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=0, end=10),
            ],
            EPOCHS,
        ),
        # issue 23, class 8: a late PolyLR towards an eta_min far above the lr
        (
            [
                dict(type="ExponentialLR", gamma=0.02, by_epoch=False, begin=0, end=14),
                dict(type="PolyLR", eta_min=1e-4, by_epoch=False, begin=14, end=20),
            ],
            EPOCHS,
        ),
        # found by the fuzzer: a LinearLR decaying to 0 ends at MMEngine's rounding, not 0
        ([dict(type="LinearLR", start_factor=0.1, end_factor=0.0, by_epoch=False, end=5)], EPOCHS),
        # found by the fuzzer: gamma ** t underflows while MMEngine's lr does not (NaN from
        # iteration 1075, 0 / 0 of the closed form's step)
        (
            [
                dict(type="ExponentialLR", gamma=0.5, by_epoch=False, end=1200),
                dict(type="CosineAnnealingLR", eta_min=1e-4, by_epoch=True, end=6),
            ],
            dict(epoch_length=200, max_epochs=6),
        ),
    ],
)
def test_the_examples_of_the_issue(configs, loop):
    epochs = loop["max_epochs"]
    assert check((configs, loop, "sgd", [1.0] * epochs), log=print)
