"""from_hf and from_training_arguments against transformers' own schedulers.

Both sides are closed forms of the step (HF's ``LambdaLR`` multiplies the lr by its lambda), so
values are compared lambda against expression at every step, in absolute terms on the scale of
the peak multiplier 1: bit for bit where the expression does HF's operations in HF's order, else
within ``ULPS`` units of ``EPS`` (the largest error measured on the grid is 6 for a stretched
cosine, whose argument ``pi * t / (S * f)`` rounds differently from HF's ``pi * c * 2 * t / S``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from schedalg import from_dict, parse, plateau, to_dict  # noqa: E402
from schedalg.hf import BUILDERS, from_hf, from_training_arguments  # noqa: E402

EPS = float(np.finfo(np.float64).eps)
ULPS = 8
LR = 0.01


def hf_scheduler(
    name: str, warmup: int | None, total: int | None, lr: float = LR, **kw: Any
) -> Any:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    return transformers.get_scheduler(
        name,
        optimizer,
        num_warmup_steps=warmup,
        num_training_steps=total,
        scheduler_specific_kwargs=kw,
    )


def hf_multipliers(
    name: str, warmup: int | None, total: int | None, n: int, **kw: Any
) -> np.ndarray:
    scheduler = hf_scheduler(name, warmup, total, **kw)
    return np.array([float(scheduler.lr_lambdas[0](t)) for t in range(n)])


def wave_size(name: str, warmup: int, total: int | None, n: int, **kw: Any) -> Any:
    """1, or for HF's unclamped cosines ``1 + |argument|``: the argument's rounding error grows
    with it (``2 pi c`` per span of training steps, and the cosines run on past the end)."""
    if "cosine" not in name or name == "cosine_with_restarts":
        return 1.0
    span = max(1, (total or 0) - warmup) if name != "warmup_stable_decay" else kw["num_decay_steps"]
    progress = np.maximum(np.arange(n) - warmup, 0) / span
    return 1.0 + 2 * math.pi * kw.get("num_cycles", 0.5) * progress


def assert_matches(
    name: str, warmup: int | None, total: int | None, exact: bool, **kw: Any
) -> None:
    n = (total or 300) + 150
    expected = hf_multipliers(name, warmup, total, n, **kw)
    s = from_hf(name, warmup, total, learning_rate=LR, **kw)
    scalar = np.array([s(t) for t in range(n)])
    atol = 0.0 if exact else ULPS * EPS * wave_size(name, warmup or 0, total, n, **kw)
    for got in (scalar, s(np.arange(n, dtype=np.float64)), s.curve(n)):
        error = np.abs(got - expected)
        worst = int(np.argmax(error - atol))
        assert np.all(error <= atol), (repr(s), worst, got[worst], expected[worst])
    # Readable and serialisable: the repr reads back, the data form round-trips.
    assert parse(repr(s)) == s and from_dict(json.loads(json.dumps(to_dict(s)))) == s


STEPS = [(0, 100), (1, 100), (7, 250), (100, 1000), (30, 31)]

GRID: list[tuple[str, dict[str, Any], bool]] = [
    ("constant", {}, True),
    ("constant_with_warmup", {}, True),
    ("linear", {}, False),
    ("cosine", {}, False),
    ("cosine", {"num_cycles": 1.0}, False),
    ("cosine", {"num_cycles": 1.3}, False),
    ("cosine", {"num_cycles": 0.25}, False),
    ("polynomial", {}, False),
    ("polynomial", {"power": 2.0, "lr_end": 1e-4}, False),
    ("polynomial", {"power": 0.5, "lr_end": 0.0}, False),
    ("inverse_sqrt", {}, True),
    ("inverse_sqrt", {"timescale": 37}, True),
    ("cosine_with_min_lr", {"min_lr_rate": 0.1}, False),
    ("cosine_with_min_lr", {"min_lr": 1e-3}, False),
    ("cosine_with_min_lr", {"min_lr_rate": 0.05, "num_cycles": 1.5}, False),
    ("cosine_with_min_lr", {"min_lr_rate": -0.2}, False),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}, False),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1, "warmup_lr_rate": 0.05}, False),
    ("cosine_warmup_with_min_lr", {"min_lr": 1e-3, "num_cycles": 1.0}, False),
]


@pytest.mark.parametrize(("warmup", "total"), STEPS)
@pytest.mark.parametrize(("name", "kw", "exact"), GRID)
def test_from_hf_equals_the_lambda_at_every_step(
    name: str, kw: dict[str, Any], exact: bool, warmup: int, total: int
) -> None:
    assert_matches(name, warmup, total, exact, **kw)


@pytest.mark.parametrize(
    "name", ["linear", "cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr"]
)
def test_a_warmup_longer_than_the_training(name: str) -> None:
    kw = {"min_lr_rate": 0.1} if "min_lr" in name else {}
    assert_matches(name, 50, 20, False, **kw)


@pytest.mark.parametrize(
    ("warmup", "total", "cycles"), [(0, 100, 1), (10, 310, 3), (5, 105, 4), (2, 10, 2)]
)
def test_cosine_with_restarts(warmup: int, total: int, cycles: int) -> None:
    assert_matches("cosine_with_restarts", warmup, total, False, num_cycles=cycles)


def test_cosine_with_restarts_refuses_a_cycle_length_that_is_not_a_whole_step() -> None:
    with pytest.raises(ValueError, match=r"from_hf\(\): num_cycles must divide .* \(90\)"):
        from_hf("cosine_with_restarts", 10, 100, num_cycles=7)


WSD = [
    {"num_decay_steps": 50},
    {"num_decay_steps": 50, "min_lr_ratio": 0.1, "warmup_type": "cosine"},
    {"num_decay_steps": 50, "warmup_type": "1-sqrt", "decay_type": "1-sqrt"},
    {"num_decay_steps": 1, "decay_type": "linear", "min_lr_ratio": 0.2},
    {"num_decay_steps": 40, "num_stable_steps": 10},
]


@pytest.mark.parametrize("warmup", [0, 10])
@pytest.mark.parametrize("kw", WSD)
def test_warmup_stable_decay(warmup: int, kw: dict[str, Any]) -> None:
    assert_matches("warmup_stable_decay", warmup, 300, True, **kw)


@pytest.mark.parametrize("cycles", [1.0, 0.75, 2.0])
@pytest.mark.parametrize("warmup", [0, 10])
def test_warmup_stable_decay_with_num_cycles(warmup: int, cycles: float) -> None:
    kw = {"num_decay_steps": 60, "num_cycles": cycles, "min_lr_ratio": 0.1}
    assert_matches("warmup_stable_decay", warmup, 300, False, **kw)
    # The decay no longer ends at the minimum, and HF drops to it after the decay anyway.
    s = from_hf("warmup_stable_decay", warmup, 300, **kw)
    assert s(299) != pytest.approx(0.1) and s(300) == 0.1


def test_the_cosine_example_prints_and_matches_bit_for_bit_or_within_an_ulp() -> None:
    s = from_hf("cosine", num_warmup_steps=100, num_training_steps=1000)
    assert repr(s) == "warmup(cosine(900, periodic=True), 100)"
    expected = hf_multipliers("cosine", 100, 1000, 2000)
    error = np.abs(s(np.arange(2000.0)) - expected) / EPS
    # Measured: at most 1 unit of EPS up to num_training_steps, most steps bit-exact; 2 on the
    # way back up after it (HF's cosine is not held), where the argument is larger.
    assert error[:1001].max() <= 1.0 and error.max() <= 2.0
    assert (error == 0).mean() > 0.5


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"factor": 0.5, "patience": 1, "min_lr": 1e-3},
        {"mode": "max", "threshold": 0.1, "cooldown": 2, "threshold_mode": "abs"},
    ],
)
def test_reduce_lr_on_plateau_follows_torch(kw: dict[str, Any]) -> None:
    scheduler = hf_scheduler("reduce_lr_on_plateau", None, None, **kw)
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5] * 3
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(scheduler.optimizer.param_groups[0]["lr"])
    node = from_hf("reduce_lr_on_plateau", learning_rate=LR, **kw)
    assert isinstance(node, plateau) and node.start == LR
    assert node.run(metrics) == lrs


def test_every_scheduler_type_has_an_entry() -> None:
    assert sorted(BUILDERS) == sorted(t.value for t in transformers.SchedulerType)


def test_greedy_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"'greedy' .*no expression"):
        from_hf("greedy")


def test_a_scheduler_type_member_is_accepted() -> None:
    assert from_hf(transformers.SchedulerType.COSINE, 10, 100) == from_hf("cosine", 10, 100)


def test_warmup_ratio_is_the_ceiling_of_the_ratio() -> None:
    assert from_hf("linear", num_training_steps=1000, warmup_ratio=0.0333) == from_hf(
        "linear", 34, 1000
    )
    with pytest.raises(ValueError, match="from_hf\\(\\): give num_warmup_steps or warmup_ratio"):
        from_hf("linear", 3, 1000, warmup_ratio=0.1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: from_hf("cosin", 1, 10),
            ValueError,
            r"from_hf\(\): name must be one of .*did you mean 'cosine'\?",
        ),
        (
            lambda: from_hf("cosine", None, 10),
            ValueError,
            r"from_hf\(\): num_warmup_steps must be given",
        ),
        (
            lambda: from_hf("cosine", 10),
            ValueError,
            r"from_hf\(\): num_training_steps must be given",
        ),
        (
            lambda: from_hf("cosine", -1, 10),
            ValueError,
            r"from_hf\(\): num_warmup_steps must be a non-negative integer, got -1",
        ),
        (lambda: from_hf("cosine", 1.5, 10), TypeError, r"from_hf\(\): num_warmup_steps must be"),
        (
            lambda: from_hf("cosine", 1, 10, num_cycle=2),
            TypeError,
            r"from_hf\(\): unexpected option 'num_cycle'",
        ),
        (
            lambda: from_hf("polynomial", 1, 10),
            ValueError,
            r"from_hf\(\): learning_rate .* polynomial",
        ),
        (
            lambda: from_hf("polynomial", 1, 10, learning_rate=1e-8),
            ValueError,
            r"lr_end \(1e-07\) must be smaller",
        ),
        (lambda: from_hf("cosine_with_min_lr", 1, 10), ValueError, r"one of min_lr or min_lr_rate"),
        (
            lambda: from_hf("cosine_with_min_lr", 1, 10, min_lr=0.1, min_lr_rate=0.1),
            ValueError,
            "only one of",
        ),
        (
            lambda: from_hf("warmup_stable_decay", 1, 10, num_decay_steps=20),
            ValueError,
            r"num_stable_steps must be a non-negative integer, got -11",
        ),
        (
            lambda: from_hf("warmup_stable_decay", 1, 10, num_decay_steps=5, decay_type="cos"),
            ValueError,
            r"decay_type must be one of",
        ),
    ],
)
def test_bad_options_name_the_function_the_option_and_the_value(
    call: Any, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_from_training_arguments_object_dict_and_file(tmp_path: Any) -> None:
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=500,
        warmup_steps=0.1,
        learning_rate=3e-4,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr": 3e-5},
        report_to=[],
    )
    expected = from_hf("cosine_with_min_lr", 50, 500, learning_rate=3e-4, min_lr=3e-5)
    assert from_training_arguments(args) == expected
    data = json.loads(args.to_json_string())
    assert from_training_arguments(data) == expected
    path = tmp_path / "args.json"
    path.write_text(args.to_json_string())
    assert from_training_arguments(str(path)) == expected
    # What the Trainer itself builds from them.
    model = torch.nn.Linear(2, 2)
    trainer = transformers.Trainer(model=model, args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=500)
    lam = trainer.lr_scheduler.lr_lambdas[0]
    got = expected(np.arange(600.0))
    np.testing.assert_allclose(got, [lam(t) for t in range(600)], rtol=0, atol=ULPS * EPS)


def test_from_training_arguments_defaults_and_old_warmup_ratio() -> None:
    assert from_training_arguments({"max_steps": 100}) == from_hf("linear", 0, 100)
    old = {"max_steps": 100, "warmup_ratio": 0.05, "lr_scheduler_type": "cosine"}
    assert from_training_arguments(old) == from_hf("cosine", 5, 100)
    # No max_steps: the run's length is HF's num_train_epochs times the updates per epoch, bound
    # late as total.
    assert from_training_arguments({"max_steps": -1}).bind(total=100) == from_hf("linear", 0, 100)
    with pytest.raises(
        ValueError, match=r"from_training_arguments\(\): max_steps 0 trains no step"
    ):
        from_training_arguments({"max_steps": 0})


# -- HF's own test table (tests/optimization/test_optimization.py): lr 10, 10 steps ----------

PEERS = {
    "constant": ({}, [10.0] * 10),
    "constant_with_warmup": (
        {"num_warmup_steps": 4},
        [0.0, 2.5, 5.0, 7.5, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
    ),
    "linear": ({}, [0.0, 5.0, 10.0, 8.75, 7.5, 6.25, 5.0, 3.75, 2.5, 1.25]),
    "cosine": ({}, [0.0, 5.0, 10.0, 9.61, 8.53, 6.91, 5.0, 3.08, 1.46, 0.38]),
    "cosine_with_restarts": (
        {"num_cycles": 2},
        [0.0, 5.0, 10.0, 8.53, 5.0, 1.46, 10.0, 8.53, 5.0, 1.46],
    ),
    "polynomial": (
        {"power": 2.0, "lr_end": 1e-7},
        [0.0, 5.0, 10.0, 7.656, 5.625, 3.906, 2.5, 1.406, 0.625, 0.156],
    ),
    "inverse_sqrt": ({}, [0.0, 5.0, 10.0, 8.165, 7.071, 6.325, 5.774, 5.345, 5.0, 4.714]),
}


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peers_hf_schedule_table(name: str) -> None:
    kw, table = PEERS[name]
    kw = dict(kw)
    warmup = kw.pop("num_warmup_steps", 2)
    total = None if name in ("constant", "constant_with_warmup", "inverse_sqrt") else 10
    scheduler = hf_scheduler(name, warmup, total, lr=10.0, **kw)
    stepped = []
    for _ in range(10):
        stepped.append(scheduler.get_last_lr()[0])
        scheduler.step()
    s = 10.0 * from_hf(name, warmup, total, learning_rate=10.0, **kw)
    ours = [s(t) for t in range(10)]
    # The table is rounded to 2-3 decimals (HF's own tolerance 1e-2).
    np.testing.assert_allclose(ours, table, rtol=0, atol=1e-2)
    # LambdaLR's lr is base * lambda(t), one product: within an ulp of ours.
    np.testing.assert_allclose(ours, stepped, rtol=2 * EPS, atol=1e-300)
    assert ours[warmup] == 10.0


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("constant", {}),
        ("constant_with_warmup", {}),
        ("linear", {}),
        ("cosine", {"num_cycles": 1.3}),
        ("cosine_with_restarts", {"num_cycles": 3}),
        ("polynomial", {"power": 2.0, "lr_end": 1e-4}),
        ("inverse_sqrt", {}),
        ("cosine_with_min_lr", {"min_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
        ("warmup_stable_decay", {"num_decay_steps": 50, "num_cycles": 1.0}),
    ],
)
def test_from_torch_reads_an_hf_lambda_as_its_schedule(name: str, kw: dict[str, Any]) -> None:
    from schedalg.torch import from_torch

    total = None if name in ("constant_with_warmup", "inverse_sqrt") else 310
    scheduler = hf_scheduler(name, 10 if name != "constant" else None, total, **kw)
    converted = from_torch(scheduler)
    expected = from_hf(name, 10, total, learning_rate=LR, **kw)
    # The multiplier of the optimizer's lr, as for any multiplicative torch scheduler.
    assert converted.lr == expected and converted.absolute == ()


def test_from_torch_keeps_a_restart_between_steps_as_a_function() -> None:
    from schedalg.torch import from_torch

    scheduler = hf_scheduler("cosine_with_restarts", 10, 100, num_cycles=7)
    assert "from_fn" in repr(from_torch(scheduler).lr)
