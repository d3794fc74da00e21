"""Differential fuzzing of ``from_timm`` against the real timm schedulers (issue 23, class 10).

Random options of timm's cycle classes (``CosineLRScheduler``, ``TanhLRScheduler``,
``PolyLRScheduler``: ``t_initial``, ``warmup_t``, ``warmup_lr_init``, ``warmup_prefix``,
``cycle_mul`` below, at and above 1, ``cycle_decay``, ``cycle_limit``, ``k_decay``, ``lr_min``,
``t_in_epochs``, ``lb``/``ub``, ``power``; noise off) and random ``create_scheduler_v2`` calls of
every ``sched`` but plateau, per epoch and per update. Each is built by timm (loaded by
``tests/timm_loader.py``: timm's own code) on an optimizer of two param groups, one with an
``lr_scale``, and driven as timm's ``train.py`` drives it: the constructor's lr at ``t = 0``, then
``step(t)`` (``t_in_epochs``) or ``step_update(t)``. Every group's lr at every step of the run,
and at the steps around each later cycle start (timm's ``_get_lr`` is stateless: ``step(t)`` at
any ``t`` is the trainer's value there), must equal ``from_timm``'s expression (each single
step, the array path, and the NumPy curve of the run) within ``1e-12`` relative or
``4 eps * lr`` absolute, the rule of ``tests/test_timm.py``.

A refusal is accepted only where timm itself fails: ``cycle_mul < 1`` (timm's cycle index takes
the logarithm of a number <= 0 from the step the message names on) and a fractional
``k_decay`` where timm's float cycle index puts a step before its cycle's start (a negative
cycle clock to a fractional power: ``math.cos`` raises, the poly lr is complex); the test then
checks that timm does fail at the step the message names. The examples are fixed
(``derandomize``): the ``ci`` and ``dev`` profiles run ``SCALE`` times their ``max_examples``,
``HYPOTHESIS_PROFILE=thorough`` about 33 times more.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

from schedalg.timm import from_timm
from tests.timm_loader import timm_scheduler

ts = timm_scheduler()
pytestmark = pytest.mark.skipif(ts is None, reason="timm is not installed")

EPS = 2.220446049250313e-16
SCALE = 5  # examples per test: this many times the profile's max_examples
LR, SCALED = 0.1, (0.3, 0.25)  # group 0's lr; group 1's lr and lr_scale
MAX_STEPS = 1500  # steps driven one by one; later cycle starts are checked around the start
CYCLES = ("CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler")
# Why from_timm may refuse what timm builds: timm fails there itself (checked below).
REFUSALS = ("cycle_mul must be >= 1", "timm fails at that step")


def _optimizer() -> torch.optim.Optimizer:
    groups = [
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": LR},
        {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": SCALED[0], "lr_scale": SCALED[1]},
    ]
    return torch.optim.SGD(groups)


def _scales() -> tuple[float, float]:
    return LR, SCALED[0] * SCALED[1]


growing = st.one_of(
    st.just(1.0),
    st.sampled_from([1.05, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0]),
    st.floats(1.0, 3.0),
)
# now and then below 1: refused, timm fails once the shrinking cycles end
cycle_mul = st.sampled_from([False] * 9 + [True]).flatmap(
    lambda shrink: st.sampled_from([0.5, 0.9]) if shrink else growing
)
k_decay = st.sampled_from([1.0, 1.0, 0.5, 1.5, 2.0, 3.0])


@st.composite
def class_options(draw: Any) -> tuple[str, dict[str, Any]]:
    """One cycle class and its options, around the edges (a cycle of 1 step, warm-up 0, a
    warm-up as long as the cycle, cycle_limit 0)."""
    kind = draw(st.sampled_from(CYCLES))
    o: dict[str, Any] = {
        "t_initial": draw(st.one_of(st.integers(1, 12), st.integers(13, 300))),
        "cycle_mul": draw(cycle_mul),
        "cycle_decay": draw(st.sampled_from([1.0, 0.5, 0.1, 0.0]) | st.floats(0.0, 1.0)),
        "cycle_limit": draw(st.sampled_from([1, 2, 3, 4, 5, 6, 0])),
        "lr_min": draw(st.sampled_from([0.0, 1e-5, 1e-3, 0.2])),
        "warmup_t": draw(st.sampled_from([0, 0, 1, 3, 10, 25])),
        "warmup_lr_init": draw(st.sampled_from([0.0, 1e-4, 0.05])),
        "warmup_prefix": draw(st.booleans()),
        "t_in_epochs": draw(st.booleans()),
    }
    if kind != "TanhLRScheduler":
        o["k_decay"] = draw(k_decay)
    if kind == "PolyLRScheduler":
        o["power"] = draw(st.sampled_from([0.5, 1.0, 2.0, 0.3]))
    if kind == "TanhLRScheduler":
        lb = draw(st.sampled_from([-7.0, -3.0, 0.0]))
        o.update(lb=lb, ub=lb + draw(st.sampled_from([10.0, 2.0, 5.5])))
    return kind, o


def _drive(scheduler: Any, optimizer: Any, per_update: bool, t: int) -> list[float]:
    if t:
        (scheduler.step_update if per_update else scheduler.step)(t)
    return [float(g["lr"]) for g in optimizer.param_groups]


def _later_starts(o: dict[str, Any], first: int) -> list[int]:
    """Steps around each cycle start past the steps driven one by one (on timm's clock)."""
    mul, length = o.get("cycle_mul", 1.0), o["t_initial"]
    shift = o["warmup_t"] if o.get("warmup_prefix") else 0
    steps: set[int] = set()
    for i in range(1, o.get("cycle_limit", 1) + 1):
        start = length * i if mul == 1 else (1 - mul**i) / (1 - mul) * length
        if start > 2**40:
            break
        steps |= {shift + math.floor(start) + d for d in (-1, 0, 1, 2)}
    return sorted(s for s in steps if s >= first)


def _horizon(o: dict[str, Any]) -> int:
    mul, length, limit = o.get("cycle_mul", 1.0), o["t_initial"], max(1, o.get("cycle_limit", 1))
    span = length * limit if mul == 1 else (mul**limit - 1) / (mul - 1) * length
    return int(min(MAX_STEPS, o["warmup_t"] + span + 12))


def _assert_close(schedule: Any, steps: list[int], expected: list[float], scale: float) -> None:
    """The one-step path and the array path at every step, the NumPy curve where steps are
    consecutive (the run driven one by one)."""
    array = schedule(np.array(steps, dtype=np.float64))
    driven = [t for i, t in enumerate(steps) if t == i]
    curve = schedule.curve(0, len(driven))
    for i, (t, want) in enumerate(zip(steps, expected)):
        ours = [schedule(t), float(array[i])] + ([float(curve[t])] if i < len(driven) else [])
        for got in ours:
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=4 * EPS * scale), (t, want, got)


def _check_refusal(message: str, make: Any, o: dict[str, Any]) -> None:
    """The message names a step timm cannot compute: timm fails there."""
    note(message)
    assert "\n" not in message and any(reason in message for reason in REFUSALS), message
    found = re.search(r"puts step (\d+)|end at step (\d+)", message)
    assert found, message
    step = int(found.group(1) or found.group(2))
    prefix = o["warmup_t"] if o.get("warmup_prefix") else 0
    step = max(step + prefix, o["warmup_t"])
    with pytest.raises((TypeError, ValueError)):
        optimizer = _optimizer()
        scheduler = make(optimizer)
        lrs = _drive(scheduler, optimizer, not o.get("t_in_epochs", True), step)
        if any(isinstance(v, complex) for v in lrs):
            raise TypeError(f"timm's lr at step {step} is complex: {lrs}")


def check(make: Any, convert: Any, o: dict[str, Any], per_update: bool) -> bool:
    """timm's scheduler from ``make(optimizer)`` against ``convert(scheduler)``: False where
    ``from_timm`` refused (timm failing there, checked)."""
    try:
        optimizer = _optimizer()
        scheduler = make(optimizer)
    except (AssertionError, TypeError, ValueError) as error:  # timm's asserts, its logarithm
        note(f"timm: {error!r}")
        event("timm refuses the options")
        with pytest.raises((TypeError, ValueError)):
            convert(None)
        return False
    try:
        converted = convert(scheduler)
    except ValueError as error:
        _check_refusal(str(error), make, o)
        event(f"refused: {next(r for r in REFUSALS if r in str(error))}")
        return False
    groups = converted if isinstance(converted, tuple) else (converted, converted)
    steps = list(range(_horizon(o)))
    steps += _later_starts(o, len(steps))
    seen = [_drive(scheduler, optimizer, per_update, t) for t in steps]
    for g, scale in enumerate(_scales()):
        _assert_close(groups[g], steps, [row[g] for row in seen], scale)
    event("read exactly")
    return True


@settings(max_examples=SCALE * settings().max_examples, derandomize=True)
@given(class_options())
# issue 23, class 10: timm's float cycle index starts cycle 2 at step 55, 1e-14 before its start
@example(("CosineLRScheduler", {"t_initial": 25, "cycle_mul": 1.2, "cycle_limit": 5}))
@example(("PolyLRScheduler", {"t_initial": 25, "cycle_mul": 1.2, "cycle_limit": 3, "power": 2.0}))
@example(("TanhLRScheduler", {"t_initial": 100, "cycle_mul": 1.1, "cycle_limit": 5}))
# the same step to a fractional k_decay: timm raises there (refused, naming the step) ...
@example(
    ("CosineLRScheduler", {"t_initial": 25, "cycle_mul": 1.2, "cycle_limit": 5, "k_decay": 1.5})
)
# ... unless a warm-up without the prefix covers it: timm never computes that step, and runs
@example(
    (
        "CosineLRScheduler",
        {"t_initial": 25, "cycle_mul": 1.2, "cycle_limit": 5, "k_decay": 1.5, "warmup_t": 60},
    )
)
# cycle_mul < 1: refused, timm fails from step 200 on
@example(("CosineLRScheduler", {"t_initial": 100, "cycle_mul": 0.5, "cycle_limit": 3}))
def test_random_cycle_schedulers_match_real_timm(case: tuple[str, dict[str, Any]]) -> None:
    kind, o = case
    o = {"warmup_t": 0, **o}
    note(f"{kind}({o})")
    per_update = not o.get("t_in_epochs", True)

    def convert(scheduler: Any) -> Any:
        if scheduler is None:
            return from_timm(kind, lr=LR, **o)
        converted = from_timm(scheduler)
        assert from_timm(kind, lr=LR, **o) == (
            converted[0] if isinstance(converted, tuple) else converted
        )
        return converted

    check(lambda opt: getattr(ts, kind)(opt, **o), convert, o, per_update)


@st.composite
def v2_options(draw: Any) -> dict[str, Any]:
    """``create_scheduler_v2``'s arguments: every sched but plateau (metric-driven: its own
    tests), per epoch or per update."""
    sched = draw(st.sampled_from(["cosine", "tanh", "poly", "step", "multistep", "constant"]))
    o: dict[str, Any] = {
        "sched": sched,
        "num_epochs": draw(st.integers(1, 60)),
        "warmup_epochs": draw(st.sampled_from([0, 0, 1, 3, 10])),
        "warmup_lr": draw(st.sampled_from([1e-5, 0.0, 0.02])),
        "warmup_prefix": draw(st.booleans()),
        "min_lr": draw(st.sampled_from([0.0, 1e-5, 1e-3])),
        "step_on_epochs": draw(st.booleans()),
    }
    if sched in ("cosine", "tanh", "poly"):
        o["cycle_mul"] = draw(growing)
        o["cycle_decay"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
        o["cycle_limit"] = draw(st.integers(1, 4))
        o["k_decay"] = draw(k_decay) if sched != "tanh" else 1.0
    if sched in ("poly", "step", "multistep"):
        o["decay_rate"] = draw(st.sampled_from([0.1, 0.5, 2.0]))
    if sched == "step":
        o["decay_epochs"] = draw(st.sampled_from([1, 2, 7, 2.5, 30]))
    if sched == "multistep":
        o["decay_milestones"] = sorted(draw(st.lists(st.integers(0, 60), min_size=1, max_size=3)))
    if not o["step_on_epochs"]:
        o["updates_per_epoch"] = draw(st.integers(1, 40))
    return o


@settings(max_examples=SCALE * settings().max_examples, derandomize=True)
@given(v2_options())
# issue 23, class 10: v2 cosine per update with cycle_mul 1.1 (refused on today's main)
@example(
    {
        "sched": "cosine",
        "num_epochs": 50,
        "cycle_mul": 1.1,
        "cycle_limit": 4,
        "step_on_epochs": False,
        "updates_per_epoch": 2,
    }
)
def test_random_create_scheduler_v2_calls_match_real_timm(o: dict[str, Any]) -> None:
    note(f"create_scheduler_v2({o})")
    per_update = not o["step_on_epochs"]
    clock = {
        "warmup_t": o.get("warmup_epochs", 0) * (o.get("updates_per_epoch", 1) or 1),
        "warmup_prefix": o.get("warmup_prefix", False),
        "t_initial": o["num_epochs"] * (o.get("updates_per_epoch", 1) if per_update else 1),
        "cycle_mul": o.get("cycle_mul", 1.0),
        "cycle_limit": o.get("cycle_limit", 1),
        "t_in_epochs": not per_update,
    }

    def convert(scheduler: Any) -> Any:
        if scheduler is None:
            return from_timm(lr=LR, **o)
        assert type(scheduler).__name__ != "PlateauLRScheduler"
        converted = from_timm(scheduler)
        assert from_timm(lr=LR, **o) == (
            converted[0] if isinstance(converted, tuple) else converted
        )
        return converted

    check(lambda opt: ts.create_scheduler_v2(opt, **o)[0], convert, clock, per_update)
