"""The value-level cases of timm's own scheduler tests (``tests/test_scheduler.py`` of
pytorch-image-models), as a table: each case is converted with ``from_timm`` and compared with
the real timm (1.0.31, loaded by ``tests/timm_loader.py``) at every step, and with the numbers
or the relation timm's test asserts. ``pytest -k peers -v`` lists them with their status.

timm's tests read the lr after ``step(t)`` (or ``step_update(t)``); the expressions give, at
``t``, what ``train.py`` runs with: the constructor's lr at ``t = 0`` and ``step(t)``'s after.
The two differ only after an explicit ``step(0)``, which ``train.py`` never calls; the cases
that read it say so. One case is refused, with the reason.

The expected numbers are timm 1.0.31's. The stored version of timm's test file expects
MultiStepLRScheduler's decay at the milestone epoch itself (``step(9)`` still undecayed for a
milestone at 10); timm 1.0.31 applies a milestone ``m`` from ``t = m - 1``, as its code
documents (a convention kept for compatibility), and the table holds timm 1.0.31's values.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from schedalg.timm import from_timm
from tests.timm_loader import timm_scheduler

ts = timm_scheduler()
pytestmark = pytest.mark.skipif(ts is None, reason="timm is not installed")
EPS = 2.220446049250313e-16


@dataclass(frozen=True)
class Case:
    kind: str
    options: dict[str, Any]
    steps: int
    expected: dict[int, float] = field(default_factory=dict)  # t -> the lr timm's test asserts
    relation: str = ""  # the property timm's test asserts, on the whole curve
    per_update: bool = False
    groups: int = 1
    rel: float = 1e-12  # for ``expected``; timm's test's own where the value is not exact


FIVE = {
    "CosineLRScheduler": {"t_initial": 100},
    "StepLRScheduler": {"decay_t": 10},
    "MultiStepLRScheduler": {"decay_t": [10, 20, 30]},
    "PolyLRScheduler": {"t_initial": 100},
    "TanhLRScheduler": {"t_initial": 100},
}
DECAYING = {**FIVE, "StepLRScheduler": {"decay_t": 10, "decay_rate": 0.5}}
DECAYING["MultiStepLRScheduler"] = {"decay_t": [10, 20, 30], "decay_rate": 0.5}
WARM = {"warmup_t": 5, "warmup_lr_init": 0.001}

CASES: dict[str, Case] = {}
for _kind, _options in FIVE.items():
    CASES[f"TestSchedulerBasics.test_scheduler_step[{_kind}]"] = Case(
        _kind, _options, 10, relation="final <= initial"
    )
    CASES[f"TestWarmup.test_warmup_lr_increases[{_kind}]"] = Case(
        _kind, {**_options, **WARM}, 6, {0: 0.001}, relation="increasing in the warm-up"
    )
    CASES[f"TestMultipleParamGroups.test_multiple_param_groups[{_kind}]"] = Case(
        _kind, _options, 20, relation="final <= initial", groups=3
    )
for _kind, _options in DECAYING.items():
    # tanh starts at (1 - tanh(lb)) / 2 = 0.99999917 of the lr: timm's test allows 1e-5.
    CASES[f"TestWarmup.test_warmup_prefix_reaches_target_lr[{_kind}]"] = Case(
        _kind,
        {**_options, **WARM, "warmup_prefix": True},
        6,
        {5: 0.1},
        rel=1e-5 if _kind == "TanhLRScheduler" else 1e-12,
    )
    CASES[f"TestStepUpdate.test_step_update_with_t_in_epochs_false[{_kind}]"] = Case(
        _kind, {**_options, "t_in_epochs": False}, 50, relation="changed by 49", per_update=True
    )
for _kind in ("CosineLRScheduler", "StepLRScheduler", "PolyLRScheduler", "TanhLRScheduler"):
    # timm's test checks that two runs agree; here both agree with timm's draws, step by step.
    CASES[f"TestNoise.test_noise_range[{_kind}]"] = Case(
        _kind,
        {**FIVE[_kind], "noise_range_t": (10, 50), "noise_pct": 0.5, "noise_seed": 42},
        60,
        relation="noisy on [10, 50) only",
    )
_mid = 0.001 + 0.5 * (0.1 - 0.001) * (1 + math.cos(math.pi * 0.5))
CASES.update(
    {
        "TestCosineScheduler.test_cosine_decay": Case(
            "CosineLRScheduler",
            {"t_initial": 100, "lr_min": 0.001},
            101,
            {0: 0.1, 50: _mid, 100: 0.001},
        ),
        "TestCosineScheduler.test_cosine_cycles": Case(
            "CosineLRScheduler",
            {"t_initial": 50, "lr_min": 0.001, "cycle_limit": 2},
            111,
            {t: 0.001 for t in range(100, 110)},
            relation="below half the lr at 49",
        ),
        "TestStepScheduler.test_step_decay": Case(
            "StepLRScheduler", {"decay_t": 10, "decay_rate": 0.5}, 21, {9: 0.1, 10: 0.05, 20: 0.025}
        ),
        "TestMultiStepScheduler.test_multistep_decay_boundary": Case(
            "MultiStepLRScheduler",
            {"decay_t": [10, 20], "decay_rate": 0.5},
            21,
            {8: 0.1, 9: 0.05, 10: 0.05, 18: 0.05, 19: 0.025, 20: 0.025},  # timm 1.0.31's
        ),
        "TestMultiStepScheduler.test_multistep_decay": Case(
            "MultiStepLRScheduler",
            {"decay_t": [10, 20, 30], "decay_rate": 0.5},
            32,
            {8: 0.1, 11: 0.05, 21: 0.025, 31: 0.0125},
        ),
        "TestPolyScheduler.test_poly_decay": Case(
            "PolyLRScheduler",
            {"t_initial": 100, "lr_min": 0.001, "power": 1.0},
            101,
            {0: 0.1, 100: 0.001},
        ),
        "TestTanhScheduler.test_tanh_decay": Case(
            "TanhLRScheduler", {"t_initial": 100, "lr_min": 0.001}, 101, relation="last < first"
        ),
        "TestKDecay.test_cosine_k_decay": Case(
            "CosineLRScheduler", {"t_initial": 100, "k_decay": 2.0}, 100, relation="k changes 50"
        ),
        "TestKDecay.test_poly_k_decay": Case(
            "PolyLRScheduler", {"t_initial": 100, "k_decay": 2.0}, 100, relation="k changes 50"
        ),
    }
)

REFUSED = {
    "TestSchedulerBasics.test_plateau_scheduler_step": (
        "timm's test steps epoch 0, and PlateauLRScheduler without warm-up then sets the lr to "
        "its warm-up formula at epoch 0 <= warmup_t = 0, warmup_lr_init (0.0): ReduceLROnPlateau "
        "goes on reducing 0. The expressions follow train.py, which never steps epoch 0; from "
        "epoch 1 on the case holds (checked)."
    ),
}


def _run(case: Case) -> tuple[list[list[float]], Any]:
    """timm's lrs: the constructor's at 0, then step(t) / step_update(t) for t >= 1."""
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.1} for _ in range(case.groups)
    ]
    optimizer = torch.optim.SGD(groups)
    scheduler = getattr(ts, case.kind)(optimizer, **case.options)
    seen = [[g["lr"] for g in optimizer.param_groups]]
    for t in range(1, case.steps):
        (scheduler.step_update if case.per_update else scheduler.step)(t)
        seen.append([g["lr"] for g in optimizer.param_groups])
    return seen, scheduler


def _relation(case: Case, lrs: list[float], schedule: Any) -> bool:
    if case.relation == "final <= initial":
        return lrs[-1] <= lrs[0]
    if case.relation == "increasing in the warm-up":
        return all(a < b for a, b in itertools.pairwise(lrs[:5]))
    if case.relation == "changed by 49":
        return lrs[49] != lrs[0]
    if case.relation == "noisy on [10, 50) only":
        plain = from_timm(case.kind, lr=0.1, **{**case.options, "noise_range_t": None})
        noisy = [t for t in range(1, 60) if lrs[t] != plain(t)]
        return bool(noisy) and min(noisy) >= 10 and max(noisy) < 50
    if case.relation == "below half the lr at 49":
        return lrs[49] < 0.05
    if case.relation == "last < first":
        return lrs[-1] < lrs[0]
    if case.relation == "k changes 50":
        plain = from_timm(case.kind, lr=0.1, **{**case.options, "k_decay": 1.0})
        return lrs[50] != plain(50)
    return case.relation == ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_peers_timm_case(name: str) -> None:
    case = CASES[name]
    timm_lrs, scheduler = _run(case)
    schedule = from_timm(scheduler)
    ours = [schedule(t) for t in range(case.steps)]
    for t, row in enumerate(timm_lrs):  # the real timm, every step and every group
        for value in row:
            assert math.isclose(ours[t], value, rel_tol=1e-12, abs_tol=4 * EPS * 0.1), (t, value)
    for t, value in case.expected.items():  # the numbers timm's test asserts
        assert math.isclose(ours[t], value, rel_tol=case.rel, abs_tol=1e-300), (t, ours[t], value)
    assert _relation(case, ours, schedule), case.relation


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_peers_timm_refused(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        scheduler = ts.PlateauLRScheduler(optimizer, patience_t=2, decay_rate=0.5)
        schedule = from_timm(scheduler)
        scheduler.step(0, metric=1.0)  # timm's test's first step: the reason holds
        assert optimizer.param_groups[0]["lr"] == 0.0
        fresh = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        train_py = ts.PlateauLRScheduler(fresh, patience_t=2, decay_rate=0.5)
    from schedalg.curves.metric import bind, plateaus

    (node,) = plateaus(schedule)
    state = node.initial()
    for epoch in range(1, 10):  # train.py's protocol: the case holds
        train_py.step(epoch, metric=1.0)
        state = node.update(state, 1.0)
        assert bind(schedule, [state])(epoch) == fresh.param_groups[0]["lr"]


def test_peers_timm_counts() -> None:
    """The table's totals: every value-level case of timm's scheduler tests, held or refused."""
    assert (len(CASES), len(REFUSED)) == (38, 1)
