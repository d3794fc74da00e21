"""from_training_arguments with the run's length in epochs, against transformers' own Trainer.

The real ``Trainer`` (transformers, installed here) counts the run
(``set_initial_training_values`` on a data loader of ``steps_per_epoch * accumulation`` batches)
and builds its scheduler (``create_scheduler``); its ``LambdaLR`` multipliers are compared with
``from_training_arguments(..., steps_per_epoch=...)`` at every step. The recipes of
tests/data/hf_recipes are read by transformers' ``HfArgumentParser`` as TRL's ``TrlParser`` reads
a config file (its values are the parser's defaults). Tolerance: 1e-12 on the scale of the peak
multiplier 1 (the cosines differ from HF's by a few units of float64 eps, see test_hf.py).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from schedalg.algebra.horizon import bind_held, placeholders, total  # noqa: E402
from schedalg.importers import hf_arguments as hfa  # noqa: E402
from schedalg.importers.hf import (  # noqa: E402
    BUILDERS,
    from_hf,
    from_training_arguments,
    run_length,
)

RECIPES = sorted((Path(__file__).parent / "data" / "hf_recipes").glob("*/*.yaml"))
TOL = 1e-12
FIELDS = {f.name for f in dataclasses.fields(transformers.TrainingArguments) if f.init}
# Options of the machine the recipe ran on, not of its schedule (bf16 needs a GPU here).
MACHINE = (
    "bf16",
    "fp16",
    "tf32",
    "report_to",
    "output_dir",
    "push_to_hub",
    "hub_strategy",
    "gradient_checkpointing",
    "gradient_checkpointing_kwargs",
)


@pytest.fixture(scope="module")
def trainer(tmp_path_factory: Any) -> Any:
    args = transformers.TrainingArguments(output_dir=str(tmp_path_factory.mktemp("hf")))
    return transformers.Trainer(model=torch.nn.Linear(2, 2), args=args)


def hf_run(trainer: Any, args: Any, steps_per_epoch: int) -> tuple[int, np.ndarray]:
    """The real Trainer's run length and its scheduler's multipliers, for a data loader that
    gives ``steps_per_epoch`` optimizer updates an epoch."""
    batches = steps_per_epoch * args.gradient_accumulation_steps
    loader = torch.utils.data.DataLoader(list(range(batches)), batch_size=1)
    counts = trainer.set_initial_training_values(args, loader)
    assert counts[1] == steps_per_epoch  # num_update_steps_per_epoch
    steps = counts[-1]
    trainer.args, trainer.lr_scheduler = args, None
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=args.learning_rate)
    scheduler = trainer.create_scheduler(num_training_steps=steps, optimizer=optimizer)
    lam = scheduler.lr_lambdas[0]
    return steps, np.array([float(lam(t)) for t in range(steps + 20)])


def trl_reading(config: dict[str, Any]) -> Any:
    """``TrainingArguments`` as TRL's ``TrlParser`` builds them from a recipe: the file's values
    become the argument parser's defaults (argparse applies the field types to strings).
    transformers 5.23 has no ``warmup_ratio``: 5.0 to 5.x moved it into ``warmup_steps``."""
    known = {k: v for k, v in config.items() if k in FIELDS and k not in MACHINE}
    if "warmup_ratio" in config:
        known["warmup_steps"] = config["warmup_ratio"]
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    parser.set_defaults(**known, output_dir="/tmp/schedalg-hf-recipes", report_to="none")
    (args,) = parser.parse_args_into_dataclasses(args=[])
    return args


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_recipe_equals_the_real_trainer(trainer: Any, path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    args = trl_reading(config)
    for per_epoch in (7, 61):
        steps, expected = hf_run(trainer, args, per_epoch)
        schedule = from_training_arguments(config, steps_per_epoch=per_epoch)
        got = schedule.curve(len(expected))
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
        assert run_length(config, steps_per_epoch=per_epoch) == steps
        # Without the epoch's length: the same curve once total is bound.
        # Without the epoch's length: the same curve once total is bound (an inverse_sqrt
        # with a warm-up of 100 steps does not hold it: it does not depend on the length).
        unbound = from_training_arguments(config)
        assert bind_held(unbound, {"total": steps}) == schedule
        if config.get("max_steps", -1) > 0:
            assert placeholders(unbound) == ()
        else:
            assert run_length(config) is None
            fixed = config["lr_scheduler_type"] == "inverse_sqrt" and "warmup_ratio" not in config
            assert placeholders(unbound) == (() if fixed else ("total",))


def test_the_recipes_cover_epochs_max_steps_and_the_warmups() -> None:
    configs = [yaml.safe_load(p.read_text()) for p in RECIPES]
    assert {c["lr_scheduler_type"] for c in configs} >= {
        "cosine",
        "cosine_with_min_lr",
        "inverse_sqrt",
        "linear",
        "constant_with_warmup",
    }
    assert any(c.get("max_steps", -1) > 0 for c in configs)
    assert any("warmup_steps" in c for c in configs) and any("warmup_ratio" in c for c in configs)


# -- numbers as HF reads them ---------------------------------------------------------------------

FLOAT_TEXT = ["2e-5", "1.0e-05", " 3e-4 ", "5E-4", "1_0.5", "abc", "0x10", "inf", "1e400"]
INT_TEXT = ["10", " 7 ", "+3", "1_0", "1e3", "10.0", "x"]


def parsed(**defaults: Any) -> Any:
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    parser.set_defaults(output_dir="/tmp/schedalg-hf", report_to="none", **defaults)
    (args,) = parser.parse_args_into_dataclasses(args=[])
    return args


@pytest.mark.parametrize("text", FLOAT_TEXT)
def test_a_float_string_reads_as_hf_s_parser_reads_it(text: str) -> None:
    try:
        expected = parsed(learning_rate=text).learning_rate
    except SystemExit:  # argparse: invalid float value
        expected = None
    if expected is None or not math.isfinite(expected):
        with pytest.raises(ValueError, match="from_training_arguments\\(\\): learning_rate"):
            from_training_arguments({"learning_rate": text, "max_steps": 10})
        return
    got = hfa.ARGPARSE.number("f", "learning_rate", text)
    assert got == expected
    assert from_training_arguments({"learning_rate": text, "max_steps": 10}) == from_hf(
        "linear", 0, 10, learning_rate=expected
    )


@pytest.mark.parametrize("text", INT_TEXT)
def test_an_int_string_reads_as_hf_s_parser_reads_it(text: str) -> None:
    try:
        expected = parsed(max_steps=text).max_steps
    except SystemExit:  # argparse: invalid int value
        with pytest.raises(ValueError, match="max_steps must be an integer"):
            run_length({"max_steps": text})
        return
    assert run_length({"max_steps": text}) == expected


def test_hf_s_parse_dict_keeps_the_string_and_then_fails() -> None:
    """Why the strings are read as the command line reads them: parse_yaml_file/parse_dict
    keep '2e-5' a string, with which TrainingArguments (or the optimizer) cannot train."""
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    (args,) = parser.parse_dict({"output_dir": "/tmp/schedalg-hf", "learning_rate": "2e-5"})
    assert args.learning_rate == "2e-5"
    with pytest.raises(TypeError):
        parser.parse_dict({"output_dir": "/tmp/schedalg-hf", "warmup_steps": "0.1"})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_lr_rate": "0.1", "num_cycles": "2"},
        {"min_lr": "1e-5"},
        {"num_decay_steps": "20", "decay_type": "linear", "min_lr_ratio": ".5"},
        {"power": "2", "lr_end": 1e-7},
    ],
)
def test_json_scheduler_kwargs_read_as_training_arguments_reads_them(kwargs: Any) -> None:
    text = json.dumps(kwargs)
    expected = transformers.TrainingArguments(
        output_dir="/tmp/schedalg-hf", lr_scheduler_kwargs=text
    ).lr_scheduler_kwargs
    numeric_strings = [k for k, v in expected.items() if isinstance(v, str) and "type" not in k]
    if numeric_strings:  # HF would pass the string to the scheduler function
        with pytest.raises(ValueError, match=f"lr_scheduler_kwargs {numeric_strings[0]}"):
            hfa.scheduler_kwargs("f", text, hfa.ARGPARSE)
    else:
        assert hfa.scheduler_kwargs("f", text, hfa.ARGPARSE) == expected


def test_scheduler_kwargs_in_a_mapping_are_passed_as_they_are() -> None:
    # HF keeps a mapping's strings (the lambda then fails on them): refused by name.
    with pytest.raises(ValueError, match=r"lr_scheduler_kwargs min_lr_rate must be a number"):
        from_training_arguments(
            {
                "lr_scheduler_type": "cosine_with_min_lr",
                "lr_scheduler_kwargs": {"min_lr_rate": "0.1"},
            }
        )


# -- the run's length -----------------------------------------------------------------------------


def test_max_steps_wins_over_the_epochs(trainer: Any) -> None:
    config = {"max_steps": 90, "num_train_epochs": 7, "warmup_steps": 0.1}
    args = transformers.TrainingArguments(output_dir="/tmp/schedalg-hf", **config)
    steps, expected = hf_run(trainer, args, 4)
    assert steps == 90 == run_length(config, steps_per_epoch=4) == run_length(config)
    got = from_training_arguments(config, steps_per_epoch=4).curve(len(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


def test_defaults_are_three_epochs_of_linear() -> None:
    assert run_length({}, steps_per_epoch=10) == 30
    assert from_training_arguments({}, steps_per_epoch=10) == from_hf("linear", 0, 30)
    assert repr(from_training_arguments({"warmup_steps": 0.1})) == (
        "warmup(linear(1.0, 0.0, total - ceil(total * 0.1)), ceil(total * 0.1))"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max_steps": 0}, r"max_steps 0 trains no step"),
        ({"num_train_epochs": 0}, r"num_train_epochs 0.0 trains no step"),
        ({"warmup_steps": 10, "warmup_ratio": 0.1}, r"give warmup_steps \(10.0\) or warmup_ratio"),
        ({"learning_rate": "fast"}, r"learning_rate must be a number, got 'fast'"),
        ({"lr_scheduler_kwargs": "min_lr_rate=0.1"}, r"lr_scheduler_kwargs must be a mapping or a"),
    ],
)
def test_bad_arguments_are_named(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"from_training_arguments\(\): " + message):
        from_training_arguments(config, steps_per_epoch=10)


def test_old_json_with_both_warmups_equal_is_the_ratio() -> None:
    # transformers 5.0 to 5.x write warmup_steps = warmup_ratio when the ratio is given.
    config = {"warmup_steps": 0.1, "warmup_ratio": 0.1, "max_steps": 100}
    assert from_training_arguments(config) == from_hf("linear", 10, 100)


# -- the placeholder: every builder works with it, or says why not --------------------------------

OPTIONS: dict[str, dict[str, Any]] = {
    "polynomial": {"learning_rate": 1.0},
    "cosine_with_min_lr": {"min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1},
    "warmup_stable_decay": {"num_decay_steps": 20},
    "reduce_lr_on_plateau": {"learning_rate": 0.1},
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("ratio", [0.0, 0.07])
def test_every_builder_takes_the_total_placeholder(name: str, ratio: float) -> None:
    kwargs = OPTIONS.get(name, {})
    warmup = math.ceil(total * ratio) if ratio else 0
    if name == "greedy":
        with pytest.raises(ValueError, match="no expression"):
            from_hf(name, warmup, total, **kwargs)
        return
    unbound = from_hf(name, warmup, total, **kwargs)
    for steps in (100, 333):
        expected = from_hf(name, math.ceil(steps * ratio), steps, **kwargs)
        assert bind_held(unbound, {"total": steps}) == expected


def test_restarts_need_the_length_and_say_how_to_give_it() -> None:
    config = {"lr_scheduler_type": "cosine_with_restarts", "lr_scheduler_kwargs": {"num_cycles": 3}}
    with pytest.raises(ValueError, match=r"num_cycles 3 needs .*: pass steps_per_epoch=N"):
        from_training_arguments(config)
    assert from_training_arguments(config, steps_per_epoch=11) == from_hf(
        "cosine_with_restarts", 0, 33, num_cycles=3
    )


# -- a differential fuzzer against the real Trainer's arithmetic and get_scheduler ----------------

SCHEDULERS: list[tuple[str, dict[str, Any]]] = [
    ("linear", {}),
    ("cosine", {}),
    ("cosine", {"num_cycles": 1.25}),
    ("cosine_with_restarts", {}),
    ("polynomial", {"power": 2.0}),
    ("constant", {}),
    ("constant_with_warmup", {}),
    ("inverse_sqrt", {}),
    ("cosine_with_min_lr", {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}),
    ("warmup_stable_decay", {"num_decay_steps": 3, "decay_type": "linear"}),
]


@st.composite
def runs(draw: Any) -> dict[str, Any]:
    name, kwargs = draw(st.sampled_from(SCHEDULERS))
    epochs = draw(
        st.one_of(
            st.integers(1, 4), st.floats(0.05, 4.0, allow_nan=False).map(lambda e: round(e, 3))
        )
    )
    warmup = draw(
        st.one_of(
            st.just(0),
            st.integers(1, 40),
            st.floats(0.0, 0.99).map(lambda r: round(r, 4)),
            st.floats(1.0, 30.0).map(lambda w: round(w, 2)),
        )
    )
    return {
        "lr_scheduler_type": name,
        "lr_scheduler_kwargs": kwargs,
        "num_train_epochs": epochs,
        "warmup_steps": warmup,
        "gradient_accumulation_steps": draw(st.integers(1, 8)),
        "learning_rate": 0.001,
    }


@given(config=runs(), batches=st.integers(1, 120))
def test_fuzz_against_the_real_trainer(trainer: Any, config: dict[str, Any], batches: int) -> None:
    args = transformers.TrainingArguments(output_dir="/tmp/schedalg-hf", report_to=[], **config)
    loader = torch.utils.data.DataLoader(list(range(batches)), batch_size=1)
    _, per_epoch, *_, steps = trainer.set_initial_training_values(args, loader)
    data = json.loads(args.to_json_string())  # what the Trainer writes, read back
    assert run_length(data, steps_per_epoch=per_epoch) == steps
    warmup = args.get_warmup_steps(steps)
    name = config["lr_scheduler_type"]
    # Where HF divides by zero (polynomial) or counts a negative stable phase, schedalg refuses.
    if name == "polynomial" and warmup >= steps:
        with pytest.raises(ValueError, match="greater than num_warmup_steps"):
            from_training_arguments(data, steps_per_epoch=per_epoch)
        return
    if name == "warmup_stable_decay" and steps - warmup - 3 < 0:
        with pytest.raises(ValueError, match="num_stable_steps must be a non-negative integer"):
            from_training_arguments(data, steps_per_epoch=per_epoch)
        return
    counted, expected = hf_run(trainer, args, per_epoch)
    assert counted == steps
    got = from_training_arguments(data, steps_per_epoch=per_epoch).curve(len(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
