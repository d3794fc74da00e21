"""from_llamafactory against LLaMA-Factory's own reading and scheduler, and transformers.

LLaMA-Factory builds its scheduler with transformers' ``get_scheduler`` (after its own defaults
for ``warmup_stable_decay``). It cannot be installed here (it needs transformers <= 5.8), so
tests/data/llamafactory/record.py ran its source tree (the commit in recorded.json) in a
scratch environment with transformers 5.8.0: its ``read_args`` (OmegaConf) and
``_parse_train_args``, ``create_custom_scheduler`` and a real ``Trainer``'s ``create_scheduler``,
stepped once per update. The shipped configs are also compared with the transformers installed
here (5.23, read with the OmegaConf installed here), and OmegaConf's reading of numbers with
``schedalg.importers.hf_arguments.OMEGACONF``. Tolerance: 1e-12 relative to the peak lr.
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

from schedalg import constant
from schedalg.algebra.horizon import bind_held, placeholders
from schedalg.importers import hf_arguments as hfa
from schedalg.importers.hf import from_hf
from schedalg.importers.llamafactory import from_llamafactory, run_length

DATA = Path(__file__).parent / "data" / "llamafactory"
RECORDED = json.loads((DATA / "recorded.json").read_text())
TOL = 1e-12


def assert_close(schedule: Any, lrs: Any) -> None:
    expected = np.asarray(lrs, dtype=np.float64)
    got = schedule.curve(len(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL * np.abs(expected).max())


EXAMPLES = {entry["file"]: entry for entry in RECORDED["examples"]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_equals_llamafactory_s_recorded_lr(name: str) -> None:
    entry = EXAMPLES[name]
    config = yaml.safe_load((DATA / name).read_text())
    if "error" in entry:  # LLaMA-Factory's HF parser refuses its Megatron keys; so do we
        with pytest.raises(ValueError, match=r"from_llamafactory\(\): .* Megatron run"):
            from_llamafactory(config, steps_per_epoch=entry["steps_per_epoch"])
        return
    schedule = from_llamafactory(config, steps_per_epoch=entry["steps_per_epoch"])
    assert_close(schedule, entry["lr"])
    steps = entry["max_steps"] if name.startswith("v1__") else entry["num_training_steps"]
    assert run_length(config, steps_per_epoch=entry["steps_per_epoch"]) == steps


@pytest.mark.parametrize("index", range(len(RECORDED["written"])))
def test_written_configs_equal_llamafactory_s_recorded_lr(index: int) -> None:
    entry = RECORDED["written"][index]
    config = yaml.safe_load(entry["yaml"])
    schedule = from_llamafactory(config, steps_per_epoch=entry["steps_per_epoch"])
    assert_close(schedule, entry["lr"])
    # Without the epoch's length: the same curve once total is bound.
    bound = bind_held(from_llamafactory(config), {"total": entry["num_training_steps"]})
    assert bound == schedule


def test_the_recordings_cover_the_warmup_stable_decay_defaults() -> None:
    filled = [e["lr_scheduler_kwargs"] for e in RECORDED["written"]]
    assert sum("num_stable_steps" in k and "num_decay_steps" in k for k in filled) >= 5
    assert {e["stage"] for e in RECORDED["examples"] if "stage" in e} == {"sft", "dpo", "pt"}


# -- against the transformers installed here ------------------------------------------------------


@pytest.fixture(scope="module")
def trainer(tmp_path_factory: Any) -> Any:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    args = transformers.TrainingArguments(output_dir=str(tmp_path_factory.mktemp("lf")))
    return transformers.Trainer(model=torch.nn.Linear(2, 2), args=args)


def training_arguments(config: dict[str, Any]) -> Any:
    """HF's TrainingArguments from LLaMA-Factory's reading of the file (OmegaConf, then
    ``HfArgumentParser.parse_dict``); 5.23 has no ``warmup_ratio``: 5.0 to 5.8, which
    LLaMA-Factory supports, moved it into ``warmup_steps``."""
    transformers = pytest.importorskip("transformers")
    fields = {f.name for f in dataclasses.fields(transformers.TrainingArguments) if f.init}
    machine = ("bf16", "fp16", "deepspeed", "report_to", "output_dir", "ddp_timeout")
    known = {k: v for k, v in config.items() if k in fields and k not in machine}
    if "warmup_ratio" in config:
        known["warmup_steps"] = config["warmup_ratio"]
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    (args,) = parser.parse_dict({**known, "output_dir": "/tmp/schedalg-lf", "report_to": "none"})
    return args


HF_EXAMPLES = sorted(n for n in EXAMPLES if "error" not in EXAMPLES[n] and "v1__" not in n)


@pytest.mark.parametrize("name", HF_EXAMPLES)
def test_each_example_equals_transformers_here(trainer: Any, name: str) -> None:
    torch = pytest.importorskip("torch")
    omegaconf = pytest.importorskip("omegaconf")
    path = DATA / name
    args = training_arguments(omegaconf.OmegaConf.to_container(omegaconf.OmegaConf.load(path)))
    per_epoch = 23
    loader = torch.utils.data.DataLoader(
        list(range(per_epoch * args.gradient_accumulation_steps)), batch_size=1
    )
    steps = trainer.set_initial_training_values(args, loader)[-1]
    trainer.args, trainer.lr_scheduler = args, None
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=args.learning_rate)
    scheduler = trainer.create_scheduler(num_training_steps=steps, optimizer=optimizer)
    lam = scheduler.lr_lambdas[0]
    expected = [args.learning_rate * lam(t) for t in range(steps + 10)]
    config = yaml.safe_load(path.read_text())
    assert_close(from_llamafactory(config, steps_per_epoch=per_epoch), expected)


# -- numbers as OmegaConf reads them --------------------------------------------------------------

TEXTS = [
    "2e-5", "1.0e-5", "1.0e5", "1e5", "+2e-5", "-3E-4", "1e+3", ".5", ".5e-3", "5.", "1_000.5",
    "1_0e-2", "0x10", "1:30", "abc", "2e-5x", "1e", ".inf", "e5", "1.5e+", "010",
]  # fmt: skip


@pytest.mark.parametrize("text", TEXTS)
def test_a_string_reads_as_omegaconf_reads_it(text: str) -> None:
    omegaconf = pytest.importorskip("omegaconf")
    theirs = omegaconf.OmegaConf.to_container(omegaconf.OmegaConf.create(f"x: {text}"))["x"]
    ours = yaml.safe_load(f"x: {text}")["x"]  # what the importer is given
    if isinstance(ours, str):
        ours = hfa.OMEGACONF.nested_value(ours)
    assert ours == theirs and type(ours) is type(theirs)


def test_the_whole_file_reads_as_omegaconf_reads_it() -> None:
    omegaconf = pytest.importorskip("omegaconf")
    text = (
        "learning_rate: 2e-5\nnum_train_epochs: 2\nlr_scheduler_type: cosine_with_min_lr\n"
        "warmup_ratio: 1e-1\nlr_scheduler_kwargs:\n  min_lr: 2e-6\n"
    )
    loaded = omegaconf.OmegaConf.to_container(omegaconf.OmegaConf.create(text))
    assert loaded["learning_rate"] == 2e-5 and loaded["lr_scheduler_kwargs"]["min_lr"] == 2e-6
    ours = from_llamafactory(yaml.safe_load(text), steps_per_epoch=50)
    assert ours == from_llamafactory(loaded, steps_per_epoch=50)
    assert ours == 2e-5 * from_hf("cosine_with_min_lr", 10, 100, learning_rate=2e-5, min_lr=2e-6)


# -- PPO, the placeholder, refusals ---------------------------------------------------------------


def test_ppo_counts_epochs_times_steps_and_passes_no_kwargs() -> None:
    """The PPO trainer (train/ppo/trainer.py) sets ``num_training_steps = num_train_epochs *
    steps per epoch`` and calls ``get_scheduler`` without ``lr_scheduler_kwargs``; compared
    with transformers' get_scheduler here."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = {
        "stage": "ppo",
        "learning_rate": 1e-5,
        "num_train_epochs": 2.5,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1,
        "lr_scheduler_kwargs": {"num_cycles": 2},
    }
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-5)
    scheduler = transformers.get_scheduler(
        "cosine", optimizer, num_warmup_steps=math.ceil(25 * 0.1), num_training_steps=25
    )
    expected = [1e-5 * scheduler.lr_lambdas[0](t) for t in range(35)]
    assert_close(from_llamafactory(config, steps_per_epoch=10), expected)
    assert run_length(config, steps_per_epoch=10) == 25
    with pytest.raises(ValueError, match=r"2.5 \* steps_per_epoch 3 is 7.5, not a whole number"):
        from_llamafactory(config, steps_per_epoch=3)


def test_without_the_epoch_s_length_the_run_is_total() -> None:
    config = yaml.safe_load((DATA / "train_lora__qwen3_lora_sft.yaml").read_text())
    unbound = from_llamafactory(config)
    assert placeholders(unbound) == ("total",) and run_length(config) is None
    assert unbound.bind(total=90) == from_llamafactory(config, steps_per_epoch=30)


def test_v1_configs_train_at_a_constant_lr_for_their_length() -> None:
    config = yaml.safe_load((DATA / "v1__train_lora__train_lora_sft.yaml").read_text())
    assert from_llamafactory(config) == constant(1e-4)
    epochs = {k: v for k, v in config.items() if k != "max_steps"}
    assert run_length(epochs, steps_per_epoch=7) == 21 and run_length(epochs) is None
    with pytest.raises(ValueError, match=r"lr_scheduler_config \{'name': 'cosine'\}: .* not read"):
        from_llamafactory({**config, "lr_scheduler_config": {"name": "cosine"}})


def test_lr_overrides_the_file_s_learning_rate() -> None:
    config = {"learning_rate": 1e-4, "max_steps": 50, "lr_scheduler_type": "constant"}
    assert from_llamafactory(config, lr=3e-4)(10) == 3e-4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"stage": "sfft"}, r"unknown LLaMA-Factory stage 'sfft'; did you mean 'sft'"),
        ({"learning_rate": "fast"}, r"learning_rate must be a number, got 'fast'"),
        ({"max_steps": "100"}, r"max_steps must be an integer, got '100'"),
        ({"use_megatron_bridge": True}, r"use_megatron_bridge makes this a Megatron run"),
        ({"lr_scheduler_kwargs": {"num_cycles": "x"}}, r"lr_scheduler_kwargs num_cycles must be"),
    ],
)
def test_refusals_name_the_option(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"from_llamafactory\(\): " + message):
        from_llamafactory(config, steps_per_epoch=10)
