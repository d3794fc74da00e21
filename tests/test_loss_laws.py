"""schedalg.laws on the multi-power-law paper's data: the schedules as expressions, the published
table reproduced, fits, optimized schedules, and the errors of bad input.

The fits and optimizations are computed once per module (fixtures): the module takes seconds.
"""

from __future__ import annotations

import doctest
import importlib
import json
import math

import numpy as np
import pytest

import schedalg as sa
from schedalg.algebra.tree import nodes
from schedalg.analysis.laws import sums
from tests import multipowerlaw as mpl

pytest.importorskip("scipy", reason="schedalg.laws' fit and optimize need scipy (the laws extra)")

from schedalg.laws import MultiPowerLaw, fit, huber, optimum, score

# Runs whose expression equals the logged lr column bit for bit; the others are within 8 ulp.
EXACT = {"constant_24000", "constant_72000", "wsdcon_3", "wsdcon_9", "wsdcon_18"}


def law_of(model: str) -> MultiPowerLaw:
    return MultiPowerLaw(**mpl.published(model)["law"])


@pytest.fixture(scope="module")
def fits():
    """Each model's fit on its three training runs (2 starts: every start reaches the same
    optimum on these runs, 4 give the same law)."""
    return {m: fit(mpl.runs(m, mpl.TRAIN), starts=2) for m in mpl.MODELS}


@pytest.fixture(scope="module")
def optima():
    """Free and compact optima under each published law, scored as the repository scores its
    optimized schedule (the warm-up left out of the loss-drop sum)."""
    found = {}
    for m in mpl.MODELS:
        free = optimum(
            law_of(m), steps=24000, peak=3e-4, warmup=2160, free=True, count_warmup=False
        )
        found[m] = (free, free.started)  # the free search starts from the compact optimum
    return found


# -- the data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", mpl.MODELS)
@pytest.mark.parametrize("name", mpl.NAMES)
def test_the_schedules_are_the_logged_learning_rates(model, name):
    steps, lrs, _ = mpl.columns(model, name)
    values = mpl.schedule(name).curve(int(steps.max()) + 1)[steps]
    if name in EXACT:
        assert np.array_equal(values, lrs)
    else:
        assert np.all(np.abs(values - lrs) <= 8 * np.spacing(lrs))
        assert not np.array_equal(values, lrs)  # the claim in the data's README stays true


def test_the_warm_up_is_numpys_linspace():
    warm = mpl.schedule("cosine_24000").curve(2161)
    assert np.allclose(warm[:2160], np.linspace(0, 3e-4, 2160), rtol=1e-15, atol=0)
    assert warm[2159] == 3e-4 and abs(warm[2160] - 3e-4) <= np.spacing(3e-4)  # 3e-5 + 2.7e-4


# -- predict --------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", mpl.MODELS)
def test_the_published_law_reproduces_the_published_table(model):
    table = mpl.published(model)["test"]
    found = score(law_of(model), mpl.runs(model, mpl.TEST))
    assert round(found.R2, 4) == table["R2"]
    for name in ("MAE", "RMSE", "PredE", "WorstE"):
        assert round(getattr(found, name), 5) == table[name], name


@pytest.mark.parametrize("name", ["cosine_24000", "wsdcon_3", "wsd_20000_24000"])
def test_predict_is_the_papers_sum_over_every_step(name):
    law = mpl.published("25")["law"]
    steps, _, _ = mpl.columns("25", name)
    steps = steps[::7]
    rates = mpl.schedule(name).curve(int(steps.max()) + 1)
    expected = mpl.reference_loss(law, rates, steps)
    assert np.allclose(MultiPowerLaw(**law).predict(mpl.schedule(name), steps), expected, 0, 1e-12)


def test_warmup_leaves_the_warm_up_out_of_the_loss_drop_sum():
    law = mpl.published("25")["law"]
    rates = mpl.schedule("cosine_24000").curve(24001)
    expected = mpl.reference_loss(law, rates, np.array([24000]), first=2160)
    found = MultiPowerLaw(**law).predict(mpl.schedule("cosine_24000"), [24000], warmup=2160)
    assert found[0] == pytest.approx(expected[0], abs=1e-12)
    assert round(found[0], 5) == mpl.published("25")["cosine_final"]


def test_a_held_phase_costs_nothing():
    """Only steps where the rate changes make terms: the 72,000-step constant run has the
    warm-up's 2,159, however long it runs."""
    steps, _, _ = mpl.columns("25", "constant_72000")
    curve = sums.run(mpl.schedule("constant_72000").curve(int(steps.max()) + 1), steps)
    assert curve.changes.size == 2159
    assert sum(b.spans.size for b in curve.blocks()) <= steps.size * 2159


def test_steps_in_any_order_and_blocks_of_any_size_give_the_same_values():
    law, lr = law_of("25"), mpl.schedule("cosine_24000")
    steps = np.array([23000, 5, 2160, 17, 12000, 1])
    expected = law.predict(lr, np.sort(steps))
    assert np.array_equal(law.predict(lr, steps), expected[np.argsort(np.argsort(steps))])
    curve = sums.run(lr.curve(23001), steps)
    small = law.evaluate(curve, list(curve.blocks(cells=1000)))[0]
    assert np.allclose(small, law.predict(lr, steps), rtol=0, atol=1e-13)


def test_a_rate_of_zero_is_a_finished_drop_not_a_nan():
    law = law_of("25")
    zero = 3e-4 * sa.cosine(1000)  # 0 from step 1000 on
    tiny = 3e-4 * sa.cosine(1000, end=1e-300 / 3e-4)
    steps = [999, 1000, 1001, 1500]
    found = law.predict(zero, steps)
    assert np.all(np.isfinite(found))
    assert np.allclose(found, law.predict(tiny, steps), rtol=1e-12)


def test_the_jacobian_is_the_derivative():
    law, lr = law_of("100"), mpl.schedule("wsdcon_9")
    steps = np.array([3000, 9000, 14000])
    curve = sums.run(lr.curve(14001), steps)
    _, jacobian = law.evaluate(curve, jacobian=True)
    for i, name in enumerate(MultiPowerLaw.parameters()):
        h = 1e-6 * abs(getattr(law, name))
        up = MultiPowerLaw(**{**law.__dict__, name: getattr(law, name) + h})
        down = MultiPowerLaw(**{**law.__dict__, name: getattr(law, name) - h})
        numeric = (up.evaluate(curve)[0] - down.evaluate(curve)[0]) / (2 * h)
        assert np.allclose(jacobian[:, i], numeric, rtol=1e-5, atol=1e-9), name


# -- the law as a value ---------------------------------------------------------------------------


def test_the_law_is_a_value_its_repr_and_json_rebuild():
    law = law_of("25")
    assert eval(repr(law), {"MultiPowerLaw": MultiPowerLaw}) == law  # our own repr, in a test
    assert MultiPowerLaw.from_json(law.to_json()) == law
    assert json.loads(law.to_json())["law"]["type"] == "multi-power"
    assert MultiPowerLaw.from_dict(law.to_dict()) == law
    assert len({law, MultiPowerLaw.from_json(law.to_json())}) == 1
    with pytest.raises(AttributeError):
        law.L0 = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"alpha": -0.5}, "MultiPowerLaw(): alpha must be a finite number > 0, got -0.5"),
        ({"B": -1.0}, "MultiPowerLaw(): B must be a finite number >= 0, got -1.0"),
        ({"L0": math.nan}, "MultiPowerLaw(): L0 must be a finite number, got nan"),
        ({"C": "2"}, "MultiPowerLaw(): C must be a finite number > 0, got '2'"),
    ],
)
def test_a_bad_parameter_is_refused_at_construction(change, message):
    with pytest.raises((TypeError, ValueError)) as error:
        MultiPowerLaw(**{**mpl.published("25")["law"], **change})
    assert str(error.value) == message


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"law": {}}, "data must be {'schedalg': 1"),
        ({"schedalg": 1, "law": {"type": "annealing"}}, "law must have 'type': 'multi-power'"),
        ({"schedalg": 1, "law": {"type": "multi-power", "L0": 1.0}}, "missing ['A', 'B', 'C'"),
    ],
)
def test_bad_law_data_is_refused_by_name(data, fragment):
    with pytest.raises(ValueError, match=r"MultiPowerLaw\.from_dict") as error:
        MultiPowerLaw.from_dict(data)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    "lr, steps, error, message",
    [
        (sa.cosine(10), [0], ValueError, "steps must be >= 1 (the law starts after step 0), got 0"),
        (sa.cosine(10), [1.5], TypeError, "steps must be integers, got [1.5]"),
        (0.1, [5], TypeError, "lr must be a schedule of absolute learning rates"),
        (sa.cosine(10) - 0.5, [20], ValueError, "lr must be finite and >= 0 at every step, got"),
    ],
)
def test_predict_names_the_bad_argument(lr, steps, error, message):
    with pytest.raises(error, match=r"MultiPowerLaw\.predict") as raised:
        law_of("25").predict(lr, steps)
    assert message in str(raised.value)


# -- fit ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", mpl.MODELS)
def test_fit_finds_a_lower_optimum_of_the_papers_objective(fits, model):
    found = fits[model]
    train = mpl.runs(model, mpl.TRAIN)
    published = np.concatenate(
        [np.log(law_of(model).predict(lr, s)) - np.log(y) for lr, s, y in train]
    )
    assert found.objective < 0.5 * huber(published)
    assert found.objective == pytest.approx(huber(np.concatenate(found.residuals)), rel=1e-12)
    assert max(found.start_objectives) <= found.objective * (1 + 1e-6)  # every start agrees


# PredE on the six test runs of the lower optimum, measured: 0.00137 (25M) and 0.00165 (100M),
# above the published 0.00110 and 0.00142 (docs/laws.md, "Fitting"). Pinned so that a change to
# the fit that loses accuracy fails here.
FITTED_PRED_E = {"25": 0.00140, "100": 0.00168}


@pytest.mark.parametrize("model", mpl.MODELS)
def test_the_fit_predicts_the_test_runs(fits, model):
    found = score(fits[model].law, mpl.runs(model, mpl.TEST))
    assert found.PredE <= FITTED_PRED_E[model]
    assert found.R2 > 0.997
    train = score(fits[model].law, mpl.runs(model, mpl.TRAIN))
    assert train.PredE < score(law_of(model), mpl.runs(model, mpl.TRAIN)).PredE


# Inside the training runs: fitted on their steps below 12,000, the optimum's PredE on the steps
# from 12,000 on, and the published law's there (fitted on all of them). docs/laws.md, "Fitting".
HALVES = {"25": (0.00138, 0.00115), "100": (0.00031, 0.00174)}


@pytest.mark.parametrize("model", mpl.MODELS)
def test_the_training_runs_alone_do_not_prefer_the_published_law(model):
    train = mpl.runs(model, mpl.TRAIN)
    first = [(lr, s[s < 12000], y[s < 12000]) for lr, s, y in train]
    second = [(lr, s[s >= 12000], y[s >= 12000]) for lr, s, y in train]
    fitted = score(fit(first, starts=2).law, second).PredE
    published = score(law_of(model), second).PredE
    assert (round(fitted, 5), round(published, 5)) == HALVES[model]


def test_two_runs_without_a_drop_misrank_a_wsd_cooldown():
    """README: fitted on the cosine and constant runs alone, the law ranks the cosine run above
    the WSD run (linear cooldown) that ends 0.8% lower; with wsdcon_9 (a drop) it ranks them
    right."""
    names = ("cosine_24000", "wsdld_20000_24000")
    logged = [mpl.columns("25", name)[2][-1] for name in names]
    assert logged[1] < logged[0] * (1 - 0.008)
    for runs, right in ((["cosine_24000", "constant_24000"], False), (mpl.TRAIN, True)):
        law = fit(mpl.runs("25", runs), starts=1).law
        final = [law.predict(mpl.schedule(name), [23999])[0] for name in names]
        assert bool(final[1] < final[0]) is right


def test_fit_is_deterministic_and_recovers_a_law_from_its_own_curves():
    law = MultiPowerLaw(L0=3.0, A=0.5, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.6)
    schedules = [
        sa.sequence(sa.linear(0.0, 3e-4, 99), 3e-4 * sa.cosine(2900, end=0.1), at=[100]),
        sa.sequence(sa.linear(0.0, 3e-4, 99), sa.constant(3e-4), sa.constant(6e-5), at=[100, 1500]),
    ]
    steps = np.arange(100, 3000, 40)
    runs = [(s, steps, law.predict(s, steps)) for s in schedules]
    progress = []
    first = fit(runs, starts=2, callback=progress.append)
    again = fit(runs, starts=2)
    assert first.law == again.law and first.objective == again.objective
    assert {p.stage for p in progress} == {"grid", "start", "done"}
    assert progress[-1].objective == first.objective
    other = 3e-4 * sa.warmup(sa.polynomial(2900, power=2.0, end=0.05), 100)
    assert np.allclose(first.law.predict(other, steps), law.predict(other, steps), rtol=2e-4)


@pytest.mark.parametrize(
    "runs, kwargs, message",
    [
        ([], {}, "fit(): runs must be a non-empty list of (lr, steps, losses)"),
        ([(sa.cosine(10), [1, 2], [3.0])], {}, "fit(): runs[0] has 2 steps and 1 losses"),
        ([(sa.cosine(10), [1], [-3.0])], {}, "fit(): runs[0] losses must be finite and > 0"),
        ([(sa.cosine(10), [1], [3.0])], {"law": "power"}, "fit(): law must be one of"),
        ([(sa.cosine(10), [1], [3.0])], {"starts": 0}, "fit(): starts must be a positive"),
    ],
)
def test_fit_names_the_bad_argument(runs, kwargs, message):
    with pytest.raises(ValueError) as error:
        fit(runs, **kwargs)
    assert message in str(error.value)


# -- optimize -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", mpl.MODELS)
def test_the_free_optimum_ends_at_or_below_the_repositorys(optima, model):
    free, compact = optima[model]
    assert free.loss <= mpl.published(model)["optimized_final"]
    assert free.loss <= compact.loss
    rates = free.schedule.curve(24000)
    assert np.all(np.diff(rates[2160:]) <= 0) and rates[2160] <= 3e-4 and rates[-1] >= 0
    assert "piecewise(" in repr(free.schedule)
    assert sa.parse(repr(free.schedule)) == free.schedule
    scored = law_of(model).predict(free.schedule, [23999], warmup=2160)[0]
    assert scored == free.loss


@pytest.mark.parametrize("model", mpl.MODELS)
def test_the_compact_optimum_is_within_5e_4_of_the_free_one(optima, model):
    free, compact = optima[model]
    assert compact.loss - free.loss <= 5e-4
    assert len(list(nodes(compact.schedule))) <= 20
    assert sa.parse(repr(compact.schedule)) == compact.schedule
    cosine = mpl.published(model)["cosine_final"]
    assert compact.loss < cosine - 0.05


def test_optimize_keeps_the_warm_up_and_the_minimum():
    from schedalg.laws import optimize

    s = optimize(law_of("25"), steps=6000, peak=1e-3, warmup=500, minimum=1e-4)
    rates = s.curve(6000)
    assert np.allclose(rates[:500], np.linspace(0, 1e-3, 500), rtol=1e-15, atol=0)
    assert rates.min(initial=1.0, where=np.arange(6000) >= 500) >= 1e-4 * (1 - 1e-12)
    held = optimize(law_of("25"), steps=6000, peak=1e-3, warmup=500, minimum=1e-3, free=True)
    assert np.all(held.curve(6000)[499:] == 1e-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"peak": 0.0}, "optimize(): peak must be a finite number > 0, got 0.0"),
        ({"warmup": 1}, "optimize(): warmup must be an integer >= 2, got 1"),
        ({"steps": 100}, "optimize(): steps must be an integer >= 502, got 100"),
        ({"minimum": 1.0}, "optimize(): minimum must be a finite number >= 0 and <= 0.001"),
    ],
)
def test_optimize_names_the_bad_argument(kwargs, message):
    settings = {"steps": 6000, "peak": 1e-3, "warmup": 500, **kwargs}
    with pytest.raises(ValueError) as error:
        optimum(law_of("25"), **settings)
    assert message in str(error.value)


# -- the modules' examples ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multipower", "fitting", "scores"])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"schedalg.analysis.laws.{name}")
    result = doctest.testmod(module, verbose=False, report=True)
    assert result.failed == 0 and result.attempted > 0


def test_importing_schedalg_does_not_import_scipy():
    import subprocess
    import sys

    code = "import sys, schedalg, schedalg.laws, schedalg.cli; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
