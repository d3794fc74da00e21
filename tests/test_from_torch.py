"""from_torch against real torch 2.13: every scheduler class, nesting, several groups, Adam
betas, tensor lr; the torch scheduler stepped as in training, compared at every step with the
adapter and with the expression's curve (tolerance: docs/torch-semantics.md §9)."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

import schedalg as sa
from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import lockstep, optimizer, tol

lrs = st.lists(st.floats(1e-4, 2.0), min_size=1, max_size=3)
factor = st.floats(0.05, 1.0)
gamma = st.floats(0.9, 1.0)
steps = st.integers(1, 3000)

fast = settings(max_examples=12)


def f_half(k: int) -> float:
    return 0.999 if k % 3 else 0.995


def g_lambda(t: int) -> float:
    return 1.0 / (1.0 + 0.01 * t)


# -- one class at a time ------------------------------------------------------------------------


@fast
@given(lrs, st.sampled_from([f_half, g_lambda]), steps)
def test_lambda_lr_exact(lrs, f, n):
    lockstep(lambda o: L.LambdaLR(o, f), lrs, n, exact=True)


@fast
@given(lrs, steps)
def test_multiplicative_lr(lrs, n):
    lockstep(lambda o: L.MultiplicativeLR(o, f_half), lrs, n)


@fast
@given(lrs, st.integers(1, 500), gamma, steps)
def test_step_lr(lrs, size, g, n):
    lockstep(lambda o: L.StepLR(o, size, g), lrs, n)


@fast
@given(lrs, st.lists(st.integers(0, 2000), min_size=0, max_size=5), st.floats(0.1, 1.0), steps)
@example([0.1], [], 0.5, 10)  # no milestones: torch runs it as a constant lr
def test_multistep_lr(lrs, milestones, g, n):
    lockstep(lambda o: L.MultiStepLR(o, milestones, g), lrs, n)


@fast
@given(lrs, factor, st.integers(0, 1000), steps)
def test_constant_lr(lrs, f, total, n):
    lockstep(lambda o: L.ConstantLR(o, f, total), lrs, n)


@fast
@given(lrs, st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.integers(0, 2000), steps)
def test_linear_lr(lrs, start, end, total, n):
    lockstep(lambda o: L.LinearLR(o, start, end, total), lrs, n)


@fast
@given(lrs, gamma, steps)
def test_exponential_lr(lrs, g, n):
    lockstep(lambda o: L.ExponentialLR(o, g), lrs, n)


@fast
@given(lrs, st.integers(0, 2000), st.floats(0.0, 3.0), steps)
def test_polynomial_lr(lrs, total, power, n):
    lockstep(lambda o: L.PolynomialLR(o, total, power), lrs, n)


@fast
@given(lrs, st.integers(1, 1000), st.floats(0.0, 0.9), steps)
def test_cosine_annealing_lr_oscillates_past_t_max(lrs, t_max, eta_fraction, n):
    eta = eta_fraction * min(lrs)
    lockstep(lambda o: L.CosineAnnealingLR(o, t_max, eta), lrs, n, t_max=t_max)


@fast
@given(lrs, st.integers(1, 50), st.integers(1, 3), st.floats(0.0, 0.5), steps)
def test_cosine_warm_restarts_exact(lrs, t0, mult, eta_fraction, n):
    eta = 0.0 if eta_fraction < 0.1 else eta_fraction * min(lrs)
    lockstep(lambda o: L.CosineAnnealingWarmRestarts(o, t0, mult, eta), lrs, n, exact=True)


@fast
@given(
    st.lists(st.tuples(st.floats(1e-4, 0.1), st.floats(0.1, 2.0)), min_size=1, max_size=3),
    st.integers(1, 300),
    st.one_of(st.none(), st.integers(0, 300)),
    st.sampled_from(["triangular", "triangular2", "exp_range"]),
    st.floats(0.99, 1.0),
    st.sampled_from(["sgd", "adam"]),
    steps,
)
def test_cyclic_lr_exact_with_momentum(pairs, up, down, mode, g, kind, n):
    low, high = [p[0] for p in pairs], [p[1] for p in pairs]
    kw = {"momentum": 0.9} if kind == "sgd" else {"betas": (0.9, 0.99)}
    converted = lockstep(
        lambda o: L.CyclicLR(o, low, high, up, down, mode, g),
        low,
        n,
        exact=True,
        kind=kind,
        **kw,
    )
    assert converted.momentum is not None


@fast
@given(
    st.lists(st.floats(0.01, 2.0), min_size=1, max_size=3),
    st.integers(5, 3000),
    st.floats(0.05, 0.95),
    st.sampled_from(["cos", "linear"]),
    st.booleans(),
    st.floats(2.0, 100.0),
    st.floats(10.0, 1e4),
    st.sampled_from(["sgd", "adam"]),
)
def test_one_cycle_lr_exact_with_momentum(peaks, total, pct, anneal, three, div, fdiv, kind):
    if float(pct * total) - 1 == 0 or (
        three and float(2 * pct * total) - 2 == float(pct * total) - 1
    ):
        pct = 0.3
    kw = {"momentum": 0.9} if kind == "sgd" else {"betas": (0.95, 0.99)}
    lockstep(
        lambda o: L.OneCycleLR(
            o,
            peaks,
            total_steps=total,
            pct_start=pct,
            anneal_strategy=anneal,
            three_phase=three,
            div_factor=div,
            final_div_factor=fdiv,
        ),
        peaks,
        total,  # up to total - 1: torch extrapolates at total, then raises
        exact=True,
        kind=kind,
        **kw,
    )


@fast
@given(
    st.lists(st.floats(0.05, 2.0), min_size=1, max_size=3),
    st.floats(0.001, 0.5),
    st.integers(0, 50),
    st.sampled_from(["cos", "linear"]),
    st.integers(1, 200),
)
def test_swalr(lrs, swa, anneal, strategy, n):
    lockstep(lambda o: SWALR(o, swa, anneal, strategy), lrs, n)


# -- nesting ------------------------------------------------------------------------------------


# Multiplicative schedulers: at home both in a SequentialLR and in a ChainedScheduler.
MULTIPLIERS = [
    lambda o: L.LinearLR(o, 0.25, 1.0, 7),
    lambda o: L.ConstantLR(o, 0.5, 5),
    lambda o: L.ExponentialLR(o, 0.97),
    lambda o: L.StepLR(o, 4, 0.7),
    lambda o: L.MultiStepLR(o, [3, 9], 0.5),
    lambda o: L.PolynomialLR(o, 12, 2.0),
]

leaf_makers = st.sampled_from(
    [
        *MULTIPLIERS,
        lambda o: L.CosineAnnealingLR(o, 6),
        lambda o: L.CosineAnnealingLR(o, 9, 0.01),
        lambda o: L.LambdaLR(o, g_lambda),
        lambda o: L.MultiplicativeLR(o, f_half),
        lambda o: L.CosineAnnealingWarmRestarts(o, 5, 2),
        lambda o: L.CyclicLR(o, 0.01, 0.3, 3, cycle_momentum=False),
        lambda o: L.OneCycleLR(o, 0.5, total_steps=400, cycle_momentum=False),
    ]
)


@settings(max_examples=25)
@given(
    lrs,
    st.lists(leaf_makers, min_size=1, max_size=4),
    st.lists(st.integers(0, 60), min_size=3, max_size=3),
    st.integers(1, 300),
)
def test_sequential_lr(lrs, makers, gaps, n):
    milestones = sorted(gaps)[: len(makers) - 1]

    def make(o):
        return L.SequentialLR(o, [m(o) for m in makers], milestones)

    lockstep(make, lrs, min(n, 300), t_max=9)


chainable = st.sampled_from(
    [
        *MULTIPLIERS,
        lambda o: L.MultiplicativeLR(o, f_half),
        lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 4), L.ExponentialLR(o, 0.9)], [3]),
        lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.3, 4), L.ExponentialLR(o, 0.99)]),
    ]
)


@settings(max_examples=25)
@given(lrs, st.lists(chainable, min_size=1, max_size=4), st.integers(1, 200))
def test_chained_scheduler_nested(lrs, makers, n):
    def make(o):
        # A SequentialLR's constructor resets the lr to initial_lr, wiping the constructor
        # steps of schedulers built before it: build those first (from_torch refuses the other
        # order, tested below).
        nested = [i for i, m in enumerate(makers) if "SequentialLR" in m.__code__.co_names]
        built = {i: makers[i](o) for i in nested}
        built.update({i: m(o) for i, m in enumerate(makers) if i not in built})
        return L.ChainedScheduler([built[i] for i in range(len(makers))])

    if sum("SequentialLR" in m.__code__.co_names for m in makers) > 1:
        # The second SequentialLR's constructor wipes the first one's step 0: refused.
        with pytest.raises(ValueError, match="already changed"):
            lockstep(make, lrs, n)
    else:
        lockstep(make, lrs, n)


# A CosineAnnealingLR with eta_min in a chain: an affine update, scanned by affine_steps.
SETTLING = [
    lambda o, k: L.LinearLR(o, 0.3, 1.0, k),
    lambda o, k: L.ConstantLR(o, 0.5, k),
    lambda o, k: L.MultiStepLR(o, [max(1, k // 2), k], 0.5),
    lambda o, k: L.PolynomialLR(o, k + 3, 1.5),
    lambda o, k: L.StepLR(o, 3, gamma=1.0),
]


@settings(max_examples=20)
@given(
    lrs,
    st.integers(2, 40),
    st.floats(0.0, 1.0),
    st.floats(0.01, 0.9),
    st.lists(st.tuples(st.sampled_from(SETTLING), st.booleans()), min_size=1, max_size=3),
    st.integers(1, 250),
)
def test_chained_cosine_with_eta_min(lrs, t_max, settle, eta_fraction, makers, n):
    """Members before the cosine settle by T_max, those after it by T_max - 1: past T_max the
    cosine runs alone; a PolynomialLR that settles later makes the scan unbounded."""
    eta = eta_fraction * min(lrs)

    def make(o):
        before = [m(o, settles(True)) for m, first in makers if first]
        cos = L.CosineAnnealingLR(o, t_max, eta)
        after = [m(o, settles(False)) for m, first in makers if not first]
        return L.ChainedScheduler([*before, cos, *after])

    def settles(first: bool) -> int:
        return max(1, int(settle * (t_max if first else t_max - 1)))

    # A PolynomialLR(total_iters=k + 3) may change the lr past the limit: then every update
    # runs for ever (an unbounded scan, the cosine's recursive step included), also exact.
    lockstep(make, lrs, n, t_max=t_max)


@fast
@given(lrs, st.integers(1, 30), st.floats(0.0, 0.9), st.integers(0, 100), st.integers(1, 150))
def test_cosine_annealing_lr_resumed(lrs, t_max, eta_fraction, last_epoch, n):
    """Constructed with last_epoch (initial_lr set, as a resumed run has it): torch keeps the lr
    it finds and steps on by the ratios; refused only where its cosine is at eta_min."""
    eta = eta_fraction * min(lrs)

    def make(o):
        for group in o.param_groups:
            group["initial_lr"] = group["lr"]
        return L.CosineAnnealingLR(o, t_max, eta, last_epoch=last_epoch)

    if (last_epoch + 1) % (2 * t_max) == t_max:
        with pytest.raises(ValueError, match="at eta_min there"):
            lockstep(make, lrs, n)
    else:
        lockstep(make, lrs, n, t_max=t_max + last_epoch)


def test_chained_with_sequential_built_last_is_refused():
    o = optimizer([1.0])
    first = L.LinearLR(o, 0.25, 1.0, 7)
    nested = L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 4), L.ExponentialLR(o, 0.9)], [3])
    with pytest.raises(ValueError, match="already changed"):
        from_torch(L.ChainedScheduler([first, nested]))


@fast
@given(lrs, st.integers(2, 40), st.integers(1, 40), st.floats(0.05, 1.0), st.integers(1, 400))
def test_chained_warmup_then_cosine_past_t_max(lrs, t_max, warm, start, n):
    warm = min(warm, t_max)
    lockstep(
        lambda o: L.ChainedScheduler(
            [L.LinearLR(o, start, 1.0, warm), L.CosineAnnealingLR(o, t_max)]
        ),
        lrs,
        n,
        t_max=t_max,
    )


def test_examples_from_the_reference_notes():
    # [ConstantLR(.1, 20), Exp(.9)] chained, lr=.05: 0.005 ... 0.000675426 (t=19), 0.00607883
    conv = lockstep(
        lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.1, 20), L.ExponentialLR(o, 0.9)]),
        [0.05],
        40,
    )
    assert math.isclose(0.05 * conv.lr(20), 0.00607883, rel_tol=1e-6)
    # MultiplicativeLR after a SequentialLR milestone starts from the previous phase's lr.
    conv = lockstep(
        lambda o: L.SequentialLR(
            o, [L.ExponentialLR(o, 0.5), L.MultiplicativeLR(o, lambda k: 0.9)], [3]
        ),
        [1.0],
        10,
    )
    assert [round(conv.lr(t), 6) for t in range(6)] == [1, 0.5, 0.25, 0.225, 0.2025, 0.18225]
    # CosineAnnealingLR keeps oscillating past T_max.
    conv = from_torch(L.CosineAnnealingLR(optimizer([1.0]), 4))
    assert conv.lr == sa.cosine(4, periodic=True)
    assert conv.absolute == ()


def test_tensor_lr_and_adam():
    def make(o):
        return L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.CosineAnnealingLR(o, 50)], [5])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.optim.Adam(
            [torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(0.01, dtype=torch.float64)
        )
        scheduler = make(theirs)
        ours = torch.optim.Adam(
            [torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(0.01, dtype=torch.float64)
        )
        lr_tensor = ours.param_groups[0]["lr"]
        adapter = Scheduler(ours, **from_torch(scheduler))
        for t in range(80):
            want = float(theirs.param_groups[0]["lr"])
            assert ours.param_groups[0]["lr"] is lr_tensor  # updated in place
            assert math.isclose(float(lr_tensor), want, rel_tol=1e-12 + 1e-15 * t, abs_tol=1e-18)
            theirs.step(), scheduler.step(), ours.step(), adapter.step()


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda o: L.ChainedScheduler([L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, 6)]),
            "restarts the product",
        ),
        (
            lambda o: L.ChainedScheduler([L.ExponentialLR(o, 0.5), L.LambdaLR(o, g_lambda)]),
            "overwrites",
        ),
        (
            lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.LinearLR(o, 0.5, 1, 0)], [3]),
            "divide by zero",
        ),
        (
            lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.PolynomialLR(o, 0)], [3]),
            "divide by zero",
        ),
        (
            lambda o: L.SequentialLR(
                o, [L.ExponentialLR(o, 0.5), L.SequentialLR(o, [L.ExponentialLR(o, 0.5)], [])], [3]
            ),
            "NotImplementedError",
        ),
        (
            lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.CyclicLR(o, 0.1, 1.0)], [3]),
            "momentum",
        ),
        (lambda o: L.StepLR(o, 2.5), "step_size"),
        (lambda o: L.CosineAnnealingLR(o, 2.5), "T_max"),
        (lambda o: L.ConstantLR(o, 0.0, 3), "divide by zero"),
    ],
)
def test_refusals_say_why(make, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=message):
            from_torch(make(optimizer([1.0], momentum=0.9)))


def test_linear_total_iters_zero_is_reproduced_where_torch_runs():
    # Standalone, stepping keeps start_factor forever; at a milestone ConstantLR(total_iters=0)
    # starts from base (closed form) while standalone it keeps the factor.
    lockstep(lambda o: L.LinearLR(o, 0.3, 1.0, 0), [1.0], 20)
    lockstep(lambda o: L.ConstantLR(o, 0.3, 0), [1.0], 20)
    lockstep(
        lambda o: L.SequentialLR(o, [L.ExponentialLR(o, 0.5), L.ConstantLR(o, 0.3, 0)], [3]),
        [1.0],
        20,
    )


def test_built_on_a_changed_lr_is_refused():
    o = optimizer([1.0])
    L.ConstantLR(o, 0.5, 10)
    with pytest.raises(ValueError, match="already changed"):
        from_torch(L.LinearLR(o, 0.5, 1.0, 10))


def test_not_a_scheduler():
    with pytest.raises(TypeError, match="from_torch"):
        from_torch(object())


def test_every_torch_scheduler_class_has_one_entry():
    from schedalg.importers.torch.classes import CLASSES

    public = {
        c
        for name, c in vars(L).items()
        if isinstance(c, type) and issubclass(c, L.LRScheduler) and not name.startswith("_")
    }
    assert set(CLASSES) == (public - {L.LRScheduler}) | {SWALR}


def test_a_scheduler_class_without_an_entry_is_refused():
    class Custom(L.LRScheduler):
        def get_lr(self):
            return [g["lr"] for g in self.optimizer.param_groups]

    with pytest.raises(ValueError, match="Custom: not a torch scheduler class"):
        from_torch(Custom(optimizer([1.0])))


@pytest.mark.parametrize("eta", [0.0, 0.001])
def test_cosine_opening_a_sequential_whose_initial_lr_one_cycle_overwrote(eta):
    # The recursion starts from OneCycleLR's max_lr / div_factor, but the step past T_max adds
    # a term built from the cosine's own base_lr, which carries on from there.
    def make(o):
        cos = L.CosineAnnealingLR(o, 6, eta)
        one_cycle = L.OneCycleLR(o, 0.5, total_steps=400, cycle_momentum=False)
        return L.SequentialLR(o, [cos, one_cycle], [20])

    lockstep(make, [1.0, 0.3], 40, t_max=6)


# -- reviewer's reproducers: each was a silently different curve ---------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (  # past T_max the nested cosine restarts from base_lr
            lambda o: L.ChainedScheduler(
                [
                    L.ExponentialLR(o, 0.5),
                    L.SequentialLR(o, [L.CosineAnnealingLR(o, 4), L.StepLR(o, 1, 0.9)], [6]),
                ]
            ),
            "past T_max",
        ),
        (
            lambda o: L.ChainedScheduler(
                [
                    L.ExponentialLR(o, 0.9),
                    L.SequentialLR(o, [L.ConstantLR(o, 0.5, 2), L.LambdaLR(o, g_lambda)], [3]),
                ]
            ),
            "LambdaLR .inside a nested SequentialLR. overwrites",
        ),
        (
            lambda o: L.ChainedScheduler(
                [
                    L.ExponentialLR(o, 0.9),
                    L.SequentialLR(
                        o, [L.ConstantLR(o, 0.5, 2), L.CosineAnnealingLR(o, 10, 0.1)], [3]
                    ),
                ]
            ),
            "eta_min",
        ),
        (
            lambda o: L.ChainedScheduler(
                [
                    L.ExponentialLR(o, 0.9),
                    L.SequentialLR(
                        o, [L.ConstantLR(o, 0.5, 2), L.CosineAnnealingWarmRestarts(o, 5)], [3]
                    ),
                ]
            ),
            "overwrites",
        ),
    ],
)
def test_chained_checks_the_pieces_of_a_nested_sequential(make, message):
    with pytest.raises(ValueError, match=message):
        from_torch(make(optimizer([1.0])))


@pytest.mark.parametrize("milestone", [3, 5])
def test_chained_nested_sequential_cosine_within_t_max_is_reproduced(milestone):
    # Active only up to its step T_max, the nested cosine is a pure multiplier.
    lockstep(
        lambda o: L.ChainedScheduler(
            [
                L.ExponentialLR(o, 0.5),
                L.SequentialLR(o, [L.CosineAnnealingLR(o, 4), L.StepLR(o, 1, 0.9)], [milestone]),
            ]
        ),
        [1.0, 0.3],
        20,
    )


def test_cyclic_opening_a_sequential_gives_absolute_values():
    # CyclicLR's constructor sets lr = base_lr before initial_lr is recorded, so the curve is
    # not relative to the lr the optimizer was built with.
    def make(o):
        cyclic = L.CyclicLR(o, 0.01, 0.1, 2, cycle_momentum=False)
        return L.SequentialLR(o, [cyclic, L.ExponentialLR(o, 0.5)], [0])

    conv = lockstep(make, [1.0], 10)
    assert conv.absolute == ("lr",)
    lockstep(
        lambda o: L.SequentialLR(
            o, [L.CyclicLR(o, 0.01, 0.1, 2, cycle_momentum=False), L.ExponentialLR(o, 0.5)], [4]
        ),
        [1.0],
        12,
    )


def _resumed(o, make):
    for g in o.param_groups:
        g["initial_lr"] = g["lr"]
    return make(o)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda o: L.CosineAnnealingLR(o, 10, last_epoch=9), "last_epoch=9: its cosine is at"),
        (lambda o: L.CosineAnnealingWarmRestarts(o, 5, last_epoch=4), "last_epoch"),
        (
            lambda o: L.ChainedScheduler(
                [L.ConstantLR(o, 0.5, 3), L.CosineAnnealingLR(o, 10, last_epoch=4)]
            ),
            "last_epoch",
        ),
        (
            lambda o: L.SequentialLR(
                o, [L.ExponentialLR(o, 0.9, last_epoch=4), L.StepLR(o, 2, 0.5)], [3]
            ),
            "disagree",
        ),
    ],
)
def test_constructed_with_last_epoch_is_refused(make, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=message):
            from_torch(_resumed(optimizer([1.0]), make))


def test_stepped_after_being_built_on_a_changed_lr_is_refused():
    o = optimizer([1.0])
    L.LinearLR(o, 0.5, 1.0, 4)
    s = L.CosineAnnealingLR(o, 10)
    o.step(), s.step()
    with pytest.raises(ValueError, match="already changed"):
        from_torch(s)


@pytest.mark.parametrize(
    ("make", "n"),
    [
        (lambda o: L.CosineAnnealingLR(o, 10), 15),
        (lambda o: L.CosineAnnealingLR(o, 10, 0.05), 25),
        (lambda o: L.StepLR(o, 3, 0.5), 7),
        (lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.3, 4), L.ExponentialLR(o, 0.99)]), 6),
        (
            lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 4), L.ExponentialLR(o, 0.9)], [3]),
            8,
        ),
        (
            lambda o: L.ChainedScheduler(
                [
                    L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 4), L.ExponentialLR(o, 0.9)], [3]),
                    L.StepLR(o, 2, 0.5),
                ]
            ),
            7,
        ),
        (lambda o: L.OneCycleLR(o, 0.5, total_steps=10, cycle_momentum=False), 10),
    ],
)
def test_converting_a_stepped_scheduler_still_works(make, n):
    # result.lr is the curve from construction, whatever the scheduler has stepped since.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = optimizer([0.7], momentum=0.9)
        s = make(theirs)
        want = [float(theirs.param_groups[0]["lr"])]
        for _ in range(n):
            theirs.step(), s.step()
            want.append(float(theirs.param_groups[0]["lr"]))
        conv = from_torch(s)
        ours = optimizer([0.7], momentum=0.9)
        adapter = Scheduler(ours, **conv)
        for t in range(min(n, 9)):
            assert math.isclose(float(ours.param_groups[0]["lr"]), want[t], **tol(t, 10, 0.7))
            ours.step(), adapter.step()


def test_swalr_built_after_the_lr_moved_gives_absolute_values():
    o = optimizer([1.0], momentum=0.9)
    cosine = L.CosineAnnealingLR(o, 10)
    for _ in range(5):
        o.step(), cosine.step()
    swa = SWALR(o, swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear")
    conv = from_torch(swa)
    assert conv.absolute == ("lr",)
    ours = optimizer([1.0], momentum=0.9)
    adapter = Scheduler(ours, **conv)
    for t in range(6):
        want, got = float(o.param_groups[0]["lr"]), float(ours.param_groups[0]["lr"])
        assert math.isclose(got, want, rel_tol=1e-15, abs_tol=1e-300), (t, want, got)
        o.step(), swa.step(), ours.step(), adapter.step()


def test_sequential_with_warm_restarts_constructed_with_last_epoch_is_refused():
    # At its milestone it resumes from T_cur, which last_epoch=2 left at 3.
    o = optimizer([1.0])
    o.param_groups[0]["initial_lr"] = 1.0
    seq = L.SequentialLR(
        o, [L.ExponentialLR(o, 0.9), L.CosineAnnealingWarmRestarts(o, 5, last_epoch=2)], [3]
    )
    with pytest.raises(ValueError, match="T_cur"):
        from_torch(seq)


def test_sequential_with_warm_restarts_converts_after_stepping():
    def make(o):
        return L.SequentialLR(
            o, [L.ExponentialLR(o, 0.9), L.CosineAnnealingWarmRestarts(o, 3, 2)], [2]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = optimizer([1.0])
        seq = make(theirs)
        want = [float(theirs.param_groups[0]["lr"])]
        for _ in range(20):
            theirs.step(), seq.step()
            want.append(float(theirs.param_groups[0]["lr"]))
        conv = from_torch(seq)
        got = [1.0 * conv.lr(t) for t in range(21)]
        assert all(math.isclose(a, b, rel_tol=1e-15, abs_tol=1e-300) for a, b in zip(got, want))


# -- constructed with last_epoch=k (resuming), and a ChainedScheduler opening a SequentialLR --

RESUMABLE = [
    lambda o, k: L.LinearLR(o, 0.25, 1.0, 7, last_epoch=k),
    lambda o, k: L.ConstantLR(o, 0.5, 5, last_epoch=k),
    lambda o, k: L.ExponentialLR(o, 0.97, last_epoch=k),
    lambda o, k: L.StepLR(o, 4, 0.7, last_epoch=k),
    lambda o, k: L.MultiStepLR(o, [3, 9], 0.5, last_epoch=k),
    lambda o, k: L.PolynomialLR(o, 40, 2.0, last_epoch=k),
    lambda o, k: L.LambdaLR(o, g_lambda, last_epoch=k),
]


@settings(max_examples=25)
@given(lrs, st.sampled_from(RESUMABLE), st.integers(0, 30), st.floats(0.2, 1.0), steps)
def test_constructed_with_last_epoch_continues_part_way(lrs, maker, k, moved, n):
    """Built with last_epoch=k on a group whose lr moved (a resumed run's optimizer state):
    the curve continues torch's."""

    def make(o):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
            g["lr"] = g["lr"] * moved
        return maker(o, k)

    lockstep(make, lrs, min(n, 300))


@settings(max_examples=25)
@given(
    lrs,
    st.lists(
        st.sampled_from([*MULTIPLIERS, lambda o: L.MultiplicativeLR(o, f_half)]),
        min_size=1,
        max_size=3,
    ),
    st.integers(0, 40),
    st.integers(1, 120),
)
def test_chained_opening_a_sequential(lrs, makers, milestone, n):
    """torch's SequentialLR constructor steps an opening ChainedScheduler once more."""

    def make(o):
        chain = L.ChainedScheduler([m(o) for m in makers])
        return L.SequentialLR(o, [chain, L.StepLR(o, 3, 0.5)], [milestone])

    lockstep(make, lrs, n)


def test_chained_cosine_opening_a_sequential_is_refused_with_the_reason():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        o = optimizer([1.0])
        chain = L.ChainedScheduler([L.CosineAnnealingLR(o, 5), L.ExponentialLR(o, 0.9)])
        s = L.SequentialLR(o, [chain, L.StepLR(o, 3, 0.5)], [4])
        with pytest.raises(ValueError, match="stepped again at last_epoch 0"):
            from_torch(s)
