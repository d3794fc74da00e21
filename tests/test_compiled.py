"""Schedules inside ``torch.compile(fullgraph=True)`` from a step tensor: one compilation for all
steps, the values of eager evaluation; and the compiled-training recipe (tensor lr, tensor betas,
the adapter stepping outside the graph) with zero recompilations. Counted with dynamo's
compile-counting backend, which runs the captured graph with eager torch operations."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample
from torch._dynamo.testing import CompileCounter

import schedalg as sa
from schedalg.algebra.tree import nodes
from schedalg.core.node import registered
from schedalg.curves.metric import bind
from schedalg.engine import backends
from schedalg.torch import Scheduler
from tests.strategies import library, node_strategy, primitives

# Nodes left out of the table: their values come from Python code run per step, from metrics or
# from a table scanned in NumPy, and they say so when traced
# (test_opaque_python_nodes_say_so_under_compile). A bound plateau is a constant, and is traced.
OPAQUE = {
    "from_fn": "calls a Python function at every step",
    "cumulative": "multiplies a Python function's values, step after step",
    "noise": "draws from torch.Generator once per step",
    "plateau": "driven by reported metrics, not by the step",
    "affine_steps": "a scan, kept as a table in NumPy",
}

STEPS = 64
# Rows chosen by hand, in expressions whose phases change within the first STEPS steps: the
# modes and combinations a row drawn from a declaration would not pick (triangular2, three
# phases, overlays, nested clocks). compiled_table() adds a row for any other node.
CHOSEN = [
    sa.warmup(sa.cosine(40), 10),
    sa.warmup(sa.cosine_restarts(5, mult=2), 4),
    sa.warmup(sa.exponential(0.9), 8, start=0.01, shape="exponential", overlay=True),
    sa.sequence(sa.linear(0.1, 1.0, 10), sa.cosine(30, end=0.1), sa.constant(0.01), at=[10, 40]),
    sa.multistep([10, 20, 20, 45], 0.5) * sa.step_decay(7, 0.9),
    sa.one_cycle(50, three_phase=True) + sa.one_cycle_momentum(60, anneal="linear"),
    sa.cyclic(0.1, 1.0, 6, 4, mode="triangular2") - sa.cyclic(0.0, 0.5, 5, mode="exp_range"),
    sa.polynomial(30, power=2.0, end=0.1) / (sa.inverse_sqrt(10) + 1),
    sa.cosine_restarts(9) ** sa.constant(1.5),
    sa.clip(sa.cosine(20), 5, 30) * sa.per_epoch(sa.exponential(0.8), 7),
    sa.per_epoch(sa.linear(1.0, 0.0, 10), 5, smooth=True),
    sa.stretch(sa.cosine(20, periodic=True), 2.5) + sa.shift(sa.linear(1.0, 0.0, 80), 20),
    sa.repeat(sa.linear(1.0, 0.2, 9), 9, decay=0.7),
    sa.warp(sa.cosine(100), sa.elapsed() ** 2 / 40),
    sa.minimum(sa.cosine(50), 0.7) + sa.maximum(sa.linear(0.0, 1.0, 40), 0.2),
    sa.warmup_stable_decay(10, 20, 20, end=0.05, decay_shape="1-sqrt"),
    sa.piecewise([(0, 1.0), (10, 0.5), (30, 0.1)], interpolation="cosine"),
    sa.absolute(sa.cosine(40)),
    bind(sa.cosine(30) * sa.plateau(), [sa.plateau().initial()]),
    sa.warmup(sa.piecewise([(0, 1.0), (20, 0.0)], interpolation="step"), 6, shape="cosine"),
    sa.in_tokens(sa.cosine(1000), 16 * sa.batch_ramp(2, 2, 40, 8)),
    sa.rounded(sa.linear(8, 64, 40), multiple_of=8) / 64 * sa.cosine(60),
]


def _nodes(schedule: sa.Schedule) -> set[str]:
    return {type(n).__name__ for n in nodes(schedule)}


def _curve(schedule: sa.Schedule, name: str) -> np.ndarray | None:
    """The first STEPS values of an expression that holds the node, or None (the node is not
    in it, a step is refused, or a value is not finite)."""
    if name not in _nodes(schedule):
        return None
    try:
        values = schedule.curve(STEPS)
    except (TypeError, ValueError):
        return None
    return values if np.isfinite(values).all() else None


# Derived rows are the same on every run: derandomized, with no example database.
FIND = settings(
    database=None, derandomize=True, max_examples=500, suppress_health_check=list(HealthCheck)
)


def derived_row(name: str, cls: type) -> sa.Schedule:
    """The simplest expression of the node drawn from its declaration (tests/strategies.py)
    that takes three values or more in [-2, 2] within STEPS steps; failing that, one that
    takes three values or more, or any one (a node that never changes so fast); divided by its
    peak when above 2, as the tolerance against the scalar path is counted in ulps of 2."""
    strategy = node_strategy(cls, primitives())
    assert strategy is not None, (
        f"{name}: no strategy draws its required parameters: describe their validators "
        "(schedalg.core.validators.described) or give the node a row in CHOSEN"
    )

    def changes(values: np.ndarray) -> bool:
        return len(set(values.tolist())) >= 3

    wanted: list[Callable[[np.ndarray], bool]] = [
        lambda v: changes(v) and np.abs(v).max() <= 2.0,
        changes,
        lambda v: True,
    ]
    for condition in wanted:
        try:
            found = functools.partial(_holds, name=name, test=condition)
            row = find(strategy, found, settings=FIND)
        except NoSuchExample:
            continue
        peak = float(np.abs(row.curve(STEPS)).max())
        return row if peak <= 2.0 else row * (1.0 / peak)
    raise AssertionError(f"{name}: no expression drawn from its declaration can be evaluated")


def _holds(schedule: sa.Schedule, name: str, test: Callable[[np.ndarray], bool]) -> bool:
    values = _curve(schedule, name)
    return values is not None and test(values)


def compiled_table() -> list[sa.Schedule]:
    """The rows the compiled step evaluates: CHOSEN, then a derived row for every registered
    library node that is not OPAQUE and that no chosen row holds (a new node), in name order, so
    a new primitive joins the one compiled graph with no edit here."""
    covered = set().union(*(_nodes(s) for s in CHOSEN))
    new = [(n, c) for n, c in library().items() if n not in OPAQUE and n not in covered]
    return CHOSEN + [derived_row(name, cls) for name, cls in new]


EXPRESSIONS = compiled_table()


def test_the_expressions_cover_every_node_that_is_not_opaque_python():
    covered = set().union(*(_nodes(s) for s in EXPRESSIONS))
    library = {name for name, cls in registered().items() if cls.__module__.startswith("schedalg.")}
    assert covered == library - OPAQUE.keys()


def in_torch(schedule: sa.Schedule, t: int) -> torch.Tensor:
    """``schedule`` at step ``t`` in torch's own operations, eagerly."""
    return backends.evaluate_foreign(schedule._array, torch.tensor(t))


def _compiled(schedule: sa.Schedule, base: float) -> tuple[object, CompileCounter]:
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=True)
    def value(step: torch.Tensor) -> torch.Tensor:
        return base * schedule(step)

    return value, counter


def test_one_compilation_for_every_step_and_the_eager_values():
    compiles_once_to_the_eager_values(EXPRESSIONS)


def compiles_once_to_the_eager_values(expressions: list[sa.Schedule]) -> None:
    """The rows in one graph, compiled once for every step, give the eager values."""
    torch._dynamo.reset()
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=True)
    def values(step: torch.Tensor) -> torch.Tensor:
        return torch.stack([0.1 * s(step) for s in expressions])

    compiled = np.array([values(torch.tensor(t)).numpy() for t in range(STEPS)]).T
    assert counter.frame_count == 1
    for schedule, got in zip(expressions, compiled):
        # The graph is the where-based formula in torch's own operations: the values of eager
        # evaluation in torch's operations (a CUDA tensor's path; eager CPU tensors are
        # evaluated in NumPy), bit for bit. Against the scalar path (libm), torch's cos may
        # differ by an ulp of the cosine's amplitude (values here are at most 2: 4 ulps of 1.0,
        # x 0.1).
        eager = np.array([float(0.1 * in_torch(schedule, t)) for t in range(STEPS)])
        np.testing.assert_array_equal(got, eager, err_msg=repr(schedule))
        scalar = np.array([0.1 * schedule(t) for t in range(STEPS)])
        np.testing.assert_allclose(
            got, scalar, rtol=0, atol=0.1 * 8 * 2.0**-52, err_msg=repr(schedule)
        )


def test_nodes_without_transcendental_functions_are_bit_equal_to_the_scalar_path():
    s = sa.sequence(
        sa.warmup(sa.multistep([5, 9], 0.1), 3), sa.linear(1.0, 0.0, 20), at=[12]
    ) * sa.per_epoch(sa.step_decay(2, 0.5), 4)
    torch._dynamo.reset()
    value, counter = _compiled(s, 0.1)
    assert [float(value(torch.tensor(t))) for t in range(40)] == [0.1 * s(t) for t in range(40)]
    assert counter.frame_count == 1


@pytest.mark.parametrize(
    "schedule",
    [
        sa.batch_ramp(2, 2, 40, 8),
        sa.rounded(sa.linear(8, 64, 40), multiple_of=8, rounding="nearest"),
        sa.consumed(16 * sa.batch_ramp(2, 2, 40, 8)),
    ],
    ids=repr,
)
def test_integer_nodes_alone_give_int64_in_one_compilation(schedule):
    torch._dynamo.reset()
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=True)
    def value(step: torch.Tensor) -> torch.Tensor:
        return schedule(step)

    got = [value(torch.tensor(t)) for t in range(STEPS)]
    assert {g.dtype for g in got} == {torch.int64}
    assert [int(g) for g in got] == [int(schedule(torch.tensor(t))) for t in range(STEPS)]
    assert [int(g) for g in got] == [schedule(t) for t in range(STEPS)]
    assert counter.frame_count == 1


def test_invalid_steps_give_nan_in_the_graph_as_under_jax_jit():
    torch._dynamo.reset()
    value, _ = _compiled(sa.cosine(10), 1.0)
    assert math.isnan(float(value(torch.tensor(-1))))
    assert math.isnan(float(value(torch.tensor(math.inf, dtype=torch.float64))))
    with pytest.raises(ValueError, match="non-negative"):
        sa.cosine(10)(torch.tensor(-1))  # eager evaluation still raises


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (sa.from_fn(lambda t: 0.5 if t < 3 else 0.1), "from_fn"),
        (sa.cumulative(lambda k: 0.9), "cumulative"),
        (sa.plateau(), "driven by metrics"),
        (
            sa.affine_steps(
                sa.constant(0.5), targets=[sa.constant(0.0)], every=[2], begins=[0], ends=[3]
            ),
            "affine_steps",
        ),
        (sa.consumed(sa.rounded(100 * sa.cosine(50) + 10)), "torch.compile cannot trace"),
    ],
)
def test_opaque_python_nodes_say_so_under_compile(schedule, words):
    torch._dynamo.reset()
    value, _ = _compiled(schedule, 1.0)
    with pytest.raises(Exception, match=words):
        value(torch.tensor(3))


def test_a_vectorized_from_fn_is_traced():
    torch._dynamo.reset()
    s = sa.from_fn(lambda t: 0.5 ** (t / 10), vectorized=True)
    value, counter = _compiled(s, 1.0)
    assert [float(value(torch.tensor(t))) for t in range(5)] == [s(t) for t in range(5)]
    assert counter.frame_count == 1


def test_the_compiled_training_recipe_never_recompiles():
    """A compiled Adam step with a tensor lr and tensor betas: the adapter updates them in place
    between steps, so the compiled step is captured once (a float lr or float betas[0] would be
    a guard on a Python number, recompiled when it changes)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=torch.tensor(1e-2), betas=(torch.tensor(0.9), torch.tensor(0.999))
    )
    scheduler = Scheduler(
        optimizer, lr=sa.warmup(sa.cosine(20), 5), momentum=sa.one_cycle_momentum(25)
    )
    lr, beta = optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["betas"][0]
    base = float(torch.tensor(1e-2))  # the float32 lr the schedule multiplies
    counter = CompileCounter()
    torch._dynamo.reset()

    @torch.compile(backend=counter, fullgraph=False)
    def optimizer_step() -> None:
        optimizer.step()

    x, y = torch.randn(8, 4), torch.randn(8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(1, 25):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer_step()
            scheduler.step()
            assert optimizer.param_groups[0]["lr"] is lr
            assert optimizer.param_groups[0]["betas"][0] is beta
            expected = torch.tensor(base * sa.warmup(sa.cosine(20), 5)(t))
            assert float(lr) == float(expected)
    assert counter.frame_count == 1


def test_the_same_under_jax_jit():
    jax = pytest.importorskip("jax")
    traces = []

    def values(step):
        traces.append(step)
        return jax.numpy.stack([0.1 * s(step) for s in EXPRESSIONS])

    with jax.enable_x64(True):
        jitted = jax.jit(values)
        got = np.array([np.asarray(jitted(jax.numpy.asarray(t))) for t in range(STEPS)]).T
    assert len(traces) == 1
    for schedule, row in zip(EXPRESSIONS, got):
        scalar = np.array([0.1 * schedule(t) for t in range(STEPS)])
        # XLA's cos is libm's here, but XLA may fuse or reassociate: a few ulps of the amplitude.
        np.testing.assert_allclose(
            row, scalar, rtol=0, atol=0.1 * 8 * 2.0**-52, err_msg=repr(schedule)
        )
