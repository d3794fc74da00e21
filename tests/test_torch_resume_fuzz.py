"""Differential fuzzer: random torch scheduler trees, resumed or stepped, converted by
``from_torch`` and compared with real torch step for step.

Trees of every torch 2.13 class (SequentialLR and ChainedScheduler nested, several param groups,
SGD momentum or Adam betas) are built fresh, or resumed: constructed with ``last_epoch=k`` on an
optimizer whose lr moved, or after a checkpoint (``torch.save``/``torch.load(weights_only=True)``)
rebuilt with ``last_epoch`` one below the saved step (torch's ``test_lr_scheduler_checkpoint``),
with ``last_epoch`` at the saved step, or with ``load_state_dict``. Some steps are taken before
converting. ``from_torch`` must then give torch's curve since construction (for a state loaded
with ``load_state_dict``: the original's), checked on the expression's ``curve()`` and on the
adapter driving a fresh optimizer, with the tolerance rule of docs/torch-semantics.md §9 — or
refuse in one line naming the scheduler class. ``HYPOTHESIS_PROFILE=thorough`` runs it longer.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import pytest
import torch
from hypothesis import assume, given
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

from schedalg.torch import Scheduler, from_torch
from tests.torch_helpers import momentum_of, optimizer, tol


def lambda_decay(e: int) -> float:
    return 0.97**e


def lambda_staircase(e: int) -> float:
    return 0.5 ** (e // 3)


def factor_constant(e: int) -> float:
    return 0.95


def factor_alternating(e: int) -> float:
    return 0.999 if e % 3 else 0.9


args = st.fixed_dictionaries
fraction, gamma, anneal = (
    st.floats(0.05, 1.0),
    st.floats(0.5, 1.0),
    st.sampled_from(["cos", "linear"]),
)
LEAVES: dict[str, Any] = {
    "StepLR": args({"step_size": st.integers(1, 5), "gamma": gamma}),
    "MultiStepLR": args(
        {"milestones": st.lists(st.integers(0, 15), min_size=1, max_size=3), "gamma": gamma}
    ),
    "ConstantLR": args({"factor": fraction, "total_iters": st.integers(0, 8)}),
    "LinearLR": args(
        {
            "start_factor": fraction,
            "end_factor": st.floats(0.0, 1.0),
            "total_iters": st.integers(0, 8),
        }
    ),
    "ExponentialLR": args({"gamma": gamma}),
    "PolynomialLR": args({"total_iters": st.integers(0, 12), "power": st.floats(0.5, 3.0)}),
    "CosineAnnealingLR": args(
        {"T_max": st.integers(1, 12), "eta_min": st.sampled_from([0.0, 0.0, 1e-3, 0.05])}
    ),
    "LambdaLR": args({"lr_lambda": st.sampled_from([lambda_decay, lambda_staircase])}),
    "MultiplicativeLR": args({"lr_lambda": st.sampled_from([factor_constant, factor_alternating])}),
    "CosineAnnealingWarmRestarts": args(
        {
            "T_0": st.integers(1, 6),
            "T_mult": st.integers(1, 3),
            "eta_min": st.sampled_from([0.0, 1e-3]),
        }
    ),
    "CyclicLR": args(
        {
            "base_lr": st.floats(0.01, 0.5),
            "max_lr": st.floats(0.6, 2.0),
            "step_size_up": st.integers(1, 5),
            "step_size_down": st.one_of(st.none(), st.integers(1, 5)),
            "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]),
            "gamma": st.floats(0.9, 1.0),
            "cycle_momentum": st.booleans(),
        }
    ),
    "OneCycleLR": args(
        {
            "max_lr": st.floats(0.01, 2.0),
            "total_steps": st.integers(5, 60),
            "pct_start": st.floats(0.1, 0.9),
            "anneal_strategy": anneal,
            "three_phase": st.booleans(),
            "cycle_momentum": st.booleans(),
        }
    ),
    "SWALR": args(
        {
            "swa_lr": st.floats(0.01, 1.0),
            "anneal_epochs": st.integers(0, 5),
            "anneal_strategy": anneal,
        }
    ),
}
CLASSES = {name: getattr(L, name, SWALR) for name in LEAVES}


@dataclass(frozen=True)
class Node:
    """A scheduler to build: a leaf class with its arguments, or a composite of nodes."""

    kind: str
    args: Any  # a leaf's keyword arguments; a composite's children (and SequentialLR's milestones)
    resumed: bool = False  # built with the tree's last_epoch (a leaf or a SequentialLR)

    def build(self, opt: torch.optim.Optimizer, last_epoch: int) -> Any:
        own = {"last_epoch": last_epoch} if self.resumed else {}
        if self.kind == "ChainedScheduler":
            return L.ChainedScheduler([child.build(opt, last_epoch) for child in self.args])
        if self.kind == "SequentialLR":
            children, milestones = self.args
            built = [child.build(opt, last_epoch) for child in children]
            return L.SequentialLR(opt, built, milestones, **own)
        return CLASSES[self.kind](opt, **self.args, **own)

    def leaves(self) -> list[Node]:
        if self.kind == "ChainedScheduler":
            return [leaf for child in self.args for leaf in child.leaves()]
        if self.kind == "SequentialLR":
            return [leaf for child in self.args[0] for leaf in child.leaves()]
        return [self]


@st.composite
def leaves(draw: st.DrawFn, resumed: bool = False) -> Node:
    kind = draw(st.sampled_from(sorted(LEAVES)))
    return Node(kind, draw(LEAVES[kind]), resumed)


@st.composite
def trees(draw: st.DrawFn, depth: int = 2) -> Node:
    """A leaf, or a SequentialLR/ChainedScheduler of subtrees; a leaf deep inside may be built
    with ``last_epoch`` too (a composite holding a resumed scheduler)."""
    shape = draw(st.sampled_from(["leaf", "leaf", "SequentialLR", "ChainedScheduler"]))
    if depth == 0 or shape == "leaf":
        return draw(leaves(resumed=depth < 2 and draw(st.integers(0, 7)) == 0))
    children = draw(st.lists(trees(depth - 1), min_size=1, max_size=3))
    if shape == "ChainedScheduler":
        return Node(shape, tuple(children))
    milestones = sorted(
        draw(st.lists(st.integers(0, 20), min_size=len(children) - 1, max_size=len(children) - 1))
    )
    return Node(shape, (tuple(children), milestones))


@dataclass(frozen=True)
class Case:
    tree: Node
    lrs: list[float]
    kind: str  # sgd (momentum 0.9), sgd0 (momentum 0), adam (betas)
    mode: str  # fresh | moved (last_epoch=k, lr moved) | recipe | saved | loaded (checkpoint)
    k: int  # last_epoch (moved), or the steps before the checkpoint
    moved: float
    before: int  # steps taken after (re)construction, before converting
    after: int  # steps taken after converting


MODES = ["fresh", "moved", "recipe", "saved", "loaded"]


@st.composite
def cases(draw: st.DrawFn, tree: Any = None, mode: Any = None) -> Case:
    return Case(
        tree=draw(tree if tree is not None else trees()),
        lrs=draw(st.lists(st.floats(1e-3, 2.0), min_size=1, max_size=3)),
        kind=draw(st.sampled_from(["sgd", "sgd0", "adam"])),
        mode=draw(mode if mode is not None else st.sampled_from(MODES)),
        k=draw(st.integers(0, 30)),
        moved=draw(st.floats(0.2, 1.0)),
        before=draw(st.integers(0, 30)),
        after=draw(st.integers(1, 30)),
    )


def _optimizer(case: Case) -> torch.optim.Optimizer:
    extra = {"sgd": {"momentum": 0.9}, "sgd0": {}, "adam": {"betas": (0.9, 0.99)}}[case.kind]
    return optimizer(case.lrs, "adam" if case.kind == "adam" else "sgd", **extra)


def _top(tree: Node) -> Node:
    """The tree with its top built with ``last_epoch`` (a ChainedScheduler has none: its
    members are)."""
    if tree.kind == "ChainedScheduler":
        return Node(tree.kind, tuple(_top(child) for child in tree.args))
    return Node(tree.kind, tree.args, True)


def _values(opt: torch.optim.Optimizer) -> list[tuple[float, float | None]]:
    keyed = ("momentum" in opt.defaults) or ("betas" in opt.defaults)
    return [(float(g["lr"]), momentum_of(g) if keyed else None) for g in opt.param_groups]


class Run:
    """A torch scheduler stepped as training does, its values recorded from construction."""

    def __init__(self, scheduler: Any, opt: torch.optim.Optimizer) -> None:
        self.scheduler, self.opt = scheduler, opt
        self.one_cycles = [s for s in _all(scheduler) if isinstance(s, L.OneCycleLR)]
        self.history = [_values(opt)]
        self.over = self._past_one_cycle()

    def _past_one_cycle(self) -> bool:
        # torch extrapolates OneCycleLR at total_steps (a value no update uses; schedalg holds
        # the last one) and raises after: the comparison stops there.
        return any(s.last_epoch >= s.total_steps for s in self.one_cycles)

    def step(self, steps: int) -> None:
        for _ in range(steps):
            if self.over:
                return
            self.opt.step()
            try:
                self.scheduler.step()
            except (ValueError, ZeroDivisionError, NotImplementedError):
                self.over = True  # torch fails here
                return
            self.over = self._past_one_cycle()
            if not self.over:
                self.history.append(_values(self.opt))


def _all(scheduler: Any) -> list[Any]:
    return [scheduler, *(s for child in getattr(scheduler, "_schedulers", []) for s in _all(child))]


def _saved(opt: torch.optim.Optimizer, scheduler: Any) -> dict:
    buffer = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def start(case: Case) -> tuple[Run, list]:
    """The scheduler to convert, stepped ``case.before`` times, and the values its converted
    curve must give from step 0 (for a ``load_state_dict`` resume, the original run's first)."""
    opt = _optimizer(case)
    if case.mode in ("fresh", "moved"):
        for group in opt.param_groups if case.mode == "moved" else []:
            group["initial_lr"], group["lr"] = group["lr"], group["lr"] * case.moved
        tree, k = (case.tree, -1) if case.mode == "fresh" else (_top(case.tree), case.k)
        run = Run(tree.build(opt, k), opt)
        run.step(case.before)
        return run, []
    original = Run(case.tree.build(opt, -1), opt)
    original.step(case.k)
    if original.over:  # torch stopped before the checkpoint
        assume(False)
    saved = _saved(opt, original.scheduler)
    opt = _optimizer(case)
    if case.mode == "loaded":  # torch's recipe: build, then load the optimizer, then the scheduler
        scheduler = case.tree.build(opt, -1)
        opt.load_state_dict(saved["opt"])
        scheduler.load_state_dict(saved["scheduler"])
        run, past = Run(scheduler, opt), original.history[:-1]
    else:
        opt.load_state_dict(saved["opt"])
        # At -1 torch would build it afresh on the loaded lr: compounding, not a resume.
        last = max(0, _last_epoch(original.scheduler) - (case.mode == "recipe"))
        run, past = Run(_top(case.tree).build(opt, last), opt), []
    run.step(case.before)
    return run, past


def _last_epoch(scheduler: Any) -> int:
    if isinstance(scheduler, L.ChainedScheduler):
        return max(_last_epoch(s) for s in scheduler._schedulers)
    return int(scheduler.last_epoch)


def _t_max(case: Case) -> float | None:
    """The largest cosine T_max in the tree, plus the last_epoch a resumed cosine began at
    (its curve continues from there)."""
    offset = case.k if case.mode in ("moved", "recipe", "saved") else 0
    leaves = [leaf for leaf in case.tree.leaves() if leaf.kind == "CosineAnnealingLR"]
    return max((leaf.args["T_max"] + offset for leaf in leaves), default=None)


def event(text: str) -> None:
    """Hypothesis's statistics (``--hypothesis-show-statistics``); nothing outside a test."""
    with contextlib.suppress(InvalidArgument):
        _event(text)


def check_refusal(error: ValueError, case: Case) -> None:
    message = str(error)
    assert message.startswith("from_torch(): "), message
    assert "\n" not in message, message
    assert any(name in message for name in [*CLASSES, "SequentialLR", "ChainedScheduler"])
    scheduler, reason = message.split(": ", 2)[1:]
    words = [w for w in reason.split()[:8] if not any(c.isdigit() for c in w)]
    event(f"refused: {scheduler}: {' '.join(words[:5])}")


def compare(case: Case, run: Run, converted: Any, want: list) -> None:
    """The expression's curve and the adapter on a fresh optimizer against torch's values."""
    initial = [float(g.get("initial_lr", g["lr"])) for g in run.opt.param_groups]
    ours = _optimizer(replace(case, lrs=initial))
    adapter = Scheduler(ours, **converted)
    keys = ["lr"] + (["momentum"] if converted.momentum is not None else [])
    curves = {
        (key, i): converted.group(key, i).curve(len(want))
        * (1.0 if key in converted.absolute else initial[i])
        for key in keys
        for i in range(len(initial))
    }
    t_max = _t_max(case)
    for t, values in enumerate(want):
        applied = _values(ours)
        for i, (lr, momentum) in enumerate(values):
            rule = tol(t, t_max, max(abs(initial[i]), 1.0))
            for key, expected in (("lr", lr), ("momentum", momentum)):
                if key not in keys:
                    continue
                got = applied[i][0 if key == "lr" else 1]
                assert math.isclose(got, expected, **rule), (key, i, t, expected, got, converted)
                curve = float(curves[key, i][t])
                assert math.isclose(curve, expected, **rule), (key, i, t, expected, curve)
        ours.step()
        adapter.step()


def convert_and_compare(case: Case) -> str:
    """``refused`` or ``converted``; fails on a curve that is not torch's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            run, past = start(case)
        except (ValueError, KeyError, TypeError, ZeroDivisionError, IndexError):
            assume(False)  # torch refuses this tree or these arguments
            raise AssertionError("unreachable") from None
        try:
            converted = from_torch(run.scheduler)
        except ValueError as error:
            check_refusal(error, case)
            return "refused"
        run.step(case.after)
        event(f"converted ({case.mode})")
        compare(case, run, converted, past + run.history)
        return "converted"


@given(cases())
def test_random_trees_convert_exactly_or_refuse(case):
    convert_and_compare(case)


def _leaf(names: list[str]) -> st.SearchStrategy[Node]:
    return st.sampled_from(names).flatmap(lambda k: LEAVES[k].map(lambda a: Node(k, a)))


RECURSIVE = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR"]


@given(
    cases(
        # Weighted to the curves that lose their scale: a cosine at eta_min, a polynomial at 0.
        tree=_leaf([*RECURSIVE, *["CosineAnnealingLR", "PolynomialLR"] * 3, "MultiplicativeLR"]),
        mode=st.sampled_from(["moved", "recipe", "saved", "loaded"]),
    )
)
def test_resumed_schedulers_stepped_before_converting(case):
    """A scheduler resumed with ``last_epoch`` and stepped until its curve lost its scale (a
    cosine at ``eta_min``, a multiplier at 0) no longer shows the lr it was resumed from: refused,
    never converted from a guess."""
    convert_and_compare(case)


CLOSED = ["OneCycleLR", "CyclicLR", "MultiplicativeLR", "LambdaLR"]


@given(cases(tree=_leaf(CLOSED), mode=st.just("recipe")))
def test_rebuilt_after_a_checkpoint_converts(case):
    """Rebuilt after a checkpoint with ``last_epoch`` one below the saved step, as torch's own
    ``test_lr_scheduler_checkpoint`` does: torch's curve is the fresh one shifted, which these
    classes convert exactly (never refused), stepped or not."""
    case = replace(case, k=max(case.k, 1))  # torch's recipe: last_epoch = saved step - 1 >= 0
    assert convert_and_compare(case) == "converted"


@given(cases(tree=st.just(None), mode=st.just("fresh")), leaves(), LEAVES["CyclicLR"])
def test_cyclic_after_another_scheduler_converts(case, first, cyclic):
    """A CyclicLR built after another scheduler on the same groups: its constructor's step
    computes the lr from that scheduler's ``initial_lr``, every later step from ``base_lr``."""
    both = Node("CyclicLR", cyclic)
    case = Case(both, *list(case.__dict__.values())[1:])
    opt = _optimizer(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            first.build(opt, -1)
            run = Run(both.build(opt, -1), opt)
        except (ValueError, KeyError, ZeroDivisionError):
            assume(False)
        run.step(case.before)
        converted = from_torch(run.scheduler)
        run.step(case.after)
        compare(case, run, converted, run.history)


def test_warm_restarts_rebuilt_after_a_checkpoint_is_refused_with_the_reason():
    """Rebuilt with last_epoch=0 its state is a fresh one's after one step (the same
    state_dict), and the two curves since construction are one step apart: refused."""
    o = optimizer([1.0], momentum=0.9)
    fresh = L.CosineAnnealingWarmRestarts(o, 5)
    o.step(), fresh.step()
    rebuilt_opt = optimizer([1.0], momentum=0.9)
    rebuilt_opt.load_state_dict(o.state_dict())
    rebuilt = L.CosineAnnealingWarmRestarts(rebuilt_opt, 5, last_epoch=0)
    assert rebuilt.state_dict() == fresh.state_dict()
    for scheduler in (fresh, rebuilt):
        try:
            from_torch(scheduler)
        except ValueError as error:
            assert "cannot be told apart" in str(error)
        else:
            raise AssertionError("converted")


def _found(tree: Node, mode: str, k: int, before: int) -> Case:
    return Case(tree, [1.0], "sgd", mode, k, 0.5, before, 5)


def _sequence(*children: Node) -> Node:
    return Node("SequentialLR", (children, [7] * (len(children) - 1)))


def _chain(*children: Node) -> Node:
    return Node("ChainedScheduler", children)


CYCLIC = Node("CyclicLR", {"base_lr": 0.01, "max_lr": 0.6, "step_size_up": 1}, True)
RESTARTS = Node("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 2, "eta_min": 0.0})
TO_ZERO = Node("LinearLR", {"start_factor": 0.1, "end_factor": 0.0, "total_iters": 7})
POLYNOMIAL = Node("PolynomialLR", {"total_iters": 11, "power": 1.1})
SWA = Node("SWALR", {"swa_lr": 1.0, "anneal_epochs": 1, "anneal_strategy": "cos"})


@pytest.mark.parametrize(
    "case",
    [
        # The examples: resumed, stepped until the curve lost its scale, converted.
        _found(Node("CosineAnnealingLR", {"T_max": 8, "eta_min": 0.05}), "moved", 10, 20),
        _found(Node("CosineAnnealingLR", {"T_max": 8, "eta_min": 0.0}), "saved", 10, 20),
        _found(Node("PolynomialLR", {"total_iters": 30, "power": 2.0}), "moved", 23, 10),
        # What the fuzzer found besides: a SequentialLR constructed with last_epoch, once its
        # active piece's clock lines up with its own again; a resumed piece opening it, counted
        # or not (CosineAnnealingWarmRestarts); a SequentialLR built after a chain's other
        # members, converted once the lr is 0; a SWALR in a chain opening a SequentialLR.
        _found(
            _sequence(Node("LambdaLR", {"lr_lambda": lambda_staircase}), RESTARTS), "moved", 5, 24
        ),
        _found(_chain(_sequence(CYCLIC)), "moved", 0, 5),
        _found(_sequence(Node(RESTARTS.kind, {**RESTARTS.args, "T_0": 1}, True)), "moved", 1, 0),
        _found(_chain(TO_ZERO, _sequence(POLYNOMIAL)), "loaded", 23, 3),
        _found(_sequence(_chain(SWA)), "fresh", 0, 1),
    ],
)
def test_what_the_fuzzer_found_is_refused(case):
    assert convert_and_compare(case) == "refused"
