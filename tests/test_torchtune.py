"""from_torchtune against torchtune's own learning rates.

torchtune 0.6.1 does not import beside the project's CPU torch without its whole dependency set
(``import torchtune`` imports HF ``datasets``), so ``tests/data/torchtune/record.py`` ran it in a
scratch environment (torchtune 0.6.1, torchao 0.11.0, torch 2.13.0+cpu) and recorded, in
``recorded.json``: for each shipped config (``tests/data/torchtune/``, unmodified from
pytorch/torchtune, see its README) read with ``OmegaConf.load``, the lr of every optimizer update
of torchtune's own ``config.instantiate(cfg.lr_scheduler, optimizer, num_training_steps=N)``
stepped as the recipes step it, for several ``steps_per_epoch``; and a grid of
``get_cosine_schedule_with_warmup`` over its options. Here the files are read as the command line
reads them (``yaml.safe_load``: ``2e-5`` is a string) and compared at every recorded step.

The fuzzer compares with transformers' ``get_cosine_schedule_with_warmup``, whose lambda
torchtune's is (its docstring says so): ``test_transformers_lambda_is_torchtune_s`` checks that
on the whole recorded grid, bit for bit, before the fuzzer relies on it.

Tolerance: absolute, ``ULPS`` units of float64 eps of the peak lr times ``1 + |argument|`` of the
cosine (the expression's ``pi * u / (S * f)`` rounds differently from torchtune's
``pi * c * 2 * u / S``); most steps are bit-exact.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from schedalg import from_dict, parse, placeholders, to_dict
from schedalg.importers.torchtune import COMPONENTS, from_torchtune, run_length

DATA = Path(__file__).parent / "data" / "torchtune"
RECORDED = json.loads((DATA / "recorded.json").read_text())
EPS = float(np.finfo(np.float64).eps)
ULPS = 2
COSINE = "torchtune.training.lr_schedulers.get_cosine_schedule_with_warmup"


def assert_close(ours: np.ndarray, theirs: list[float], peak: float, wave: np.ndarray) -> None:
    theirs_ = np.asarray(theirs)
    error = np.abs(ours - theirs_)
    atol = ULPS * EPS * abs(peak) * wave
    worst = int(np.argmax(error - atol))
    assert np.all(error <= atol), (worst, ours[worst], theirs_[worst], error[worst] / EPS)


def wave_size(n: int, warmup: int, total: int, cycles: float) -> np.ndarray:
    """``1 + |argument|`` of torchtune's cosine at each step (1 in the warm-up)."""
    progress = np.maximum(np.arange(n) - warmup, 0) / max(1, total - warmup)
    return 1.0 + 2 * math.pi * abs(cycles) * progress


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DATA / name).read_text())
    assert isinstance(data, dict)
    return data


CASES = [
    (name, per, run)
    for name, recorded in RECORDED["configs"].items()
    for per, run in recorded["runs"].items()
]


@pytest.mark.parametrize(("name", "per", "run"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_shipped_config_is_torchtune_s_lr_at_every_step(
    name: str, per: str, run: dict[str, Any]
) -> None:
    config = load(name)
    steps_per_epoch = None if per == "None" else int(per)
    schedule = from_torchtune(config, steps_per_epoch=steps_per_epoch)
    theirs = run["lr"]
    warmup = config["lr_scheduler"]["num_warmup_steps"]
    wave = wave_size(len(theirs), warmup, run["num_training_steps"], 0.5)
    peak = RECORDED["configs"][name]["optimizer.lr"]
    assert_close(schedule.curve(len(theirs)), theirs, peak, wave)
    assert run_length(config, steps_per_epoch=steps_per_epoch) == run["num_training_steps"]


def test_the_configs_peak_is_omegaconf_s_reading() -> None:
    omegaconf = pytest.importorskip("omegaconf")
    for name, recorded in RECORDED["configs"].items():
        config = load(name)
        assert recorded["optimizer.lr"] == omegaconf.OmegaConf.load(DATA / name).optimizer.lr
        # The value at the end of the warm-up is the peak itself.
        warmup = config["lr_scheduler"]["num_warmup_steps"]
        run = next(iter(recorded["runs"].values()))
        if run["num_training_steps"] > warmup:
            schedule = from_torchtune(
                config, steps_per_epoch=None if "ppo_epochs" in config else 60
            )
            assert schedule(warmup) == recorded["optimizer.lr"]


GRID = RECORDED["grid"]


def grid_config(case: dict[str, Any], lr: Any = 1.0) -> dict[str, Any]:
    return {
        "epochs": 1,
        "max_steps_per_epoch": None,
        "optimizer": {"_component_": "torch.optim.SGD", "lr": lr},
        "lr_scheduler": {
            "_component_": COSINE,
            "num_warmup_steps": case["num_warmup_steps"],
            "num_cycles": case["num_cycles"],
        },
    }


@pytest.mark.parametrize("case", GRID, ids=lambda c: "W{}-N{}-c{}".format(*list(c.values())[:3]))
def test_the_recorded_grid_at_every_step(case: dict[str, Any]) -> None:
    schedule = from_torchtune(grid_config(case), steps_per_epoch=case["num_training_steps"])
    theirs = case["lr"]
    wave = wave_size(
        len(theirs), case["num_warmup_steps"], case["num_training_steps"], case["num_cycles"]
    )
    assert_close(schedule.curve(len(theirs)), theirs, 1.0, wave)


def test_transformers_lambda_is_torchtune_s() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    for case in GRID:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = transformers.get_cosine_schedule_with_warmup(
            optimizer, case["num_warmup_steps"], case["num_training_steps"], case["num_cycles"]
        )
        lam = scheduler.lr_lambdas[0]
        assert [lam(t) for t in range(len(case["lr"]))] == case["lr"], case


def recipe_steps(epochs: int, cap: int | None, per: int) -> int:
    """recipes/full_finetune_single_device.py (lines 320-348): the recipe's arithmetic."""
    steps_per_epoch = per
    if cap is not None and cap < steps_per_epoch:
        steps_per_epoch = cap
    return epochs * steps_per_epoch


LR_TEXT = st.sampled_from(["2e-5", "3e-4", "1e-3", "5.0e-4", "0.0002", "1E-2"])


@given(
    epochs=st.integers(1, 4),
    cap=st.none() | st.integers(1, 60),
    per=st.integers(1, 80),
    warmup=st.integers(0, 40),
    cycles=st.sampled_from([0.5, 1.0, 0.25, 2.0]) | st.floats(0.05, 4.0),
    lr=LR_TEXT,
)
def test_fuzz_against_the_lambda(
    epochs: int, cap: int | None, per: int, warmup: int, cycles: float, lr: str
) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = {
        "output_dir": "/tmp/x",
        "metric_logger": {"log_dir": "${output_dir}/logs"},
        "epochs": epochs,
        "max_steps_per_epoch": cap,
        "optimizer": {"_component_": "torch.optim.AdamW", "lr": lr},
        "lr_scheduler": {"_component_": COSINE, "num_warmup_steps": warmup, "num_cycles": cycles},
    }
    n = recipe_steps(epochs, cap, per)
    peak = float(lr)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    scheduler = transformers.get_cosine_schedule_with_warmup(optimizer, warmup, n, cycles)
    theirs = []
    for _ in range(n + 5):
        theirs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    ours = from_torchtune(config, steps_per_epoch=per).curve(n + 5)
    assert_close(ours, theirs, peak, wave_size(n + 5, warmup, n, cycles))
    assert run_length(config, steps_per_epoch=per) == n


def test_without_steps_per_epoch_the_run_is_the_placeholder_total() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    schedule = from_torchtune(config)
    assert placeholders(schedule) == ("total",)
    assert run_length(config) is None
    assert schedule.bind(total=150) == from_torchtune(config, steps_per_epoch=150)
    config = {**config, "epochs": 3}
    assert from_torchtune(config).bind(total=3 * 50) == from_torchtune(config, steps_per_epoch=50)


def test_without_steps_per_epoch_a_capped_epoch_is_the_cap() -> None:
    config = load("llama3_1/8B_full_dpo.yaml")
    assert run_length(config) == 1000
    assert from_torchtune(config) == from_torchtune(config, steps_per_epoch=5000)
    # A shorter epoch than the cap: steps_per_epoch wins.
    assert run_length(config, steps_per_epoch=300) == 300


def test_a_config_without_lr_scheduler_keeps_the_lr() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    del config["lr_scheduler"]
    schedule = from_torchtune(config, steps_per_epoch=10)
    assert schedule.curve(5).tolist() == [3e-4] * 5


def test_lr_overrides_the_optimizer_s() -> None:
    config = load("gemma/2B_lora_single_device.yaml")
    config["optimizer"]["lr"] = "${lr}"
    ours = from_torchtune(config, steps_per_epoch=60, lr=1e-4)
    config["optimizer"]["lr"] = 1e-4
    assert ours == from_torchtune(config, steps_per_epoch=60)


def test_every_spelling_of_the_component_is_the_same_function() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    expected = from_torchtune(config, steps_per_epoch=40)
    for component in COMPONENTS:
        config["lr_scheduler"]["_component_"] = component
        assert from_torchtune(config, steps_per_epoch=40) == expected


@pytest.mark.parametrize(
    "text", ["2e-5", "1E+3", "+3e-2", "1_000.5", "3.", ".5", "1e5", "+7.5e-1", "10"]
)
def test_numbers_are_read_as_omegaconf_reads_them(text: str) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    expected = omegaconf.OmegaConf.create(f"lr: {text}").lr
    assert isinstance(expected, (int, float))
    config = {"epochs": 1, "optimizer": {"lr": yaml.safe_load(f"lr: {text}")["lr"]}}
    assert from_torchtune(config, steps_per_epoch=3)(0) == expected


@pytest.mark.parametrize("text", [".5e1", "2e-5x", "1e-5 ", "fast"])
def test_a_string_omegaconf_keeps_a_string_is_refused(text: str) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    assert isinstance(omegaconf.OmegaConf.create({"lr": text}).lr, str)
    with pytest.raises(TypeError, match=r"from_torchtune\(\): optimizer\.lr must be a finite"):
        from_torchtune({"epochs": 1, "optimizer": {"lr": text}}, steps_per_epoch=3)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("optimizer", "lr"), r"optimizer\.lr is an OmegaConf interpolation '\$\{x\}'.*lr="),
        (("epochs",), r"epochs is an OmegaConf interpolation '\$\{x\}'"),
        (("max_steps_per_epoch",), r"max_steps_per_epoch is an OmegaConf interpolation"),
        (
            ("lr_scheduler", "num_warmup_steps"),
            r"lr_scheduler\.num_warmup_steps is an OmegaConf interpolation '\$\{x\}'",
        ),
        (("lr_scheduler", "_component_"), r"lr_scheduler\._component_ is an OmegaConf"),
    ],
)
def test_an_interpolation_in_a_value_read_is_refused_by_name(
    path: tuple[str, ...], message: str
) -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "${x}"
    with pytest.raises(ValueError, match=r"from_torchtune\(\): " + message):
        from_torchtune(config, steps_per_epoch=10)


def test_an_unknown_component_gets_the_nearest_name() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    config["lr_scheduler"]["_component_"] = COSINE.replace("warmup", "warmpu")
    with pytest.raises(
        ValueError,
        match=r"from_torchtune\(\): unknown lr_scheduler\._component_ '.*warmpu'; did you mean "
        r"'torchtune\.training\.lr_schedulers\.get_cosine_schedule_with_warmup'\?",
    ):
        from_torchtune(config, steps_per_epoch=10)
    config["lr_scheduler"]["_component_"] = "torch.optim.lr_scheduler.CosineAnnealingLR"
    with pytest.raises(ValueError, match=r"unknown lr_scheduler\._component_ 'torch\.optim"):
        from_torchtune(config, steps_per_epoch=10)


def test_a_misspelt_option_gets_the_nearest_name() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    config["lr_scheduler"]["num_cycle"] = 1
    with pytest.raises(
        ValueError,
        match=r"get_cosine_schedule_with_warmup has no option 'num_cycle'; did you mean "
        r"'num_cycles'\?",
    ):
        from_torchtune(config, steps_per_epoch=10)


def test_a_missing_length_or_lr_is_refused_by_name() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    del config["epochs"]
    with pytest.raises(ValueError, match=r"from_torchtune\(\): the config has no epochs"):
        from_torchtune(config, steps_per_epoch=10)
    config = load("llama3_2/1B_lora_single_device.yaml")
    del config["optimizer"]["lr"]
    with pytest.raises(ValueError, match=r"from_torchtune\(\): the config has no optimizer\.lr"):
        from_torchtune(config, steps_per_epoch=10)
    config = load("llama3_2/1B_lora_single_device.yaml")
    del config["lr_scheduler"]["num_warmup_steps"]
    with pytest.raises(TypeError, match=r"needs the option 'num_warmup_steps'"):
        from_torchtune(config, steps_per_epoch=10)


def test_ppo_takes_no_steps_per_epoch() -> None:
    config = load("mistral/7B_full_ppo_low_memory.yaml")
    with pytest.raises(ValueError, match=r"the PPO recipe counts its updates.*steps_per_epoch"):
        from_torchtune(config, steps_per_epoch=10)
    config["num_steps"] = 100
    with pytest.raises(ValueError, match=r"needs num_steps >= batch_size"):
        from_torchtune(config)


def test_bad_counts_name_the_option_and_value() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    with pytest.raises(ValueError, match=r"from_torchtune\(\): steps_per_epoch must be a pos"):
        from_torchtune(config, steps_per_epoch=0)
    config["lr_scheduler"]["num_warmup_steps"] = 2.5
    with pytest.raises(ValueError, match=r"lr_scheduler\.num_warmup_steps must be a non-neg.*2\.5"):
        from_torchtune(config, steps_per_epoch=10)


def test_the_expressions_print_and_serialise_as_they_are() -> None:
    config = load("llama3_2/1B_lora_single_device.yaml")
    config["lr_scheduler"]["num_cycles"] = 1.5
    for schedule in (from_torchtune(config, steps_per_epoch=100), from_torchtune(config)):
        assert parse(repr(schedule)) == schedule
        assert from_dict(to_dict(schedule)) == schedule
