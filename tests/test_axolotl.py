"""from_axolotl against axolotl's own scheduler code, recorded.

axolotl cannot be installed beside the project's CPU torch, so tests/data/axolotl/record.py ran
its source tree (the commit in recorded.json) in a scratch environment with this project's
transformers 5.23.0 and torch: its config model, the trainer builder's warm-up and scheduler
methods and ``SchedulerMixin.create_scheduler`` on a real ``Trainer``, stepped once per optimizer
update. Every recorded lr is compared with the expression's (relative 1e-12 of the peak); the
cases that end in transformers' ``get_scheduler`` are also compared with the transformers
installed here, and what axolotl's config model reads from single values with
``schedalg.importers.hf_arguments.PYDANTIC``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from schedalg import plateau
from schedalg.algebra.horizon import placeholders
from schedalg.importers import hf_arguments as hfa
from schedalg.importers.axolotl import SCHEDULERS, from_axolotl, run_length

DATA = Path(__file__).parent / "data" / "axolotl"
RECORDED = json.loads((DATA / "recorded.json").read_text())
TOL = 1e-12


def steps_per_epoch(case: dict[str, Any]) -> int:
    """The optimizer steps an epoch the recorded run had: axolotl's count over the epochs, or
    for GRPO/EBFT HF's ``ceil(batches / accumulation)``."""
    config = case["config"]
    if case["data_steps"] is not None:
        per_epoch = case["data_steps"] / config["num_epochs"]
        assert per_epoch.is_integer()
        return int(per_epoch)
    batches, accumulation = case["dataloader_len"], config["gradient_accumulation_steps"]
    return max(math.ceil(batches / accumulation), 1)


def assert_recorded(schedule: Any, lrs: list[float]) -> None:
    expected = np.array(lrs)
    got = schedule.curve(len(expected))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL * scale)


def case_id(case: dict[str, Any]) -> str:
    config = dict(case["config"])
    config.pop("learning_rate")
    return ",".join(f"{k}={v}" for k, v in config.items()) + f",steps={case['data_steps']}"


@pytest.mark.parametrize("case", RECORDED["cases"], ids=case_id)
def test_from_axolotl_equals_axolotl_s_recorded_lr(case: dict[str, Any]) -> None:
    schedule = from_axolotl(case["config"], steps_per_epoch=steps_per_epoch(case))
    assert_recorded(schedule, case["lr"])
    assert (
        run_length(case["config"], steps_per_epoch=steps_per_epoch(case))
        == (case["num_training_steps"])
    )


def test_the_recorded_grid_reaches_every_branch() -> None:
    cases = RECORDED["cases"]
    assert {c["scheduler"] for c in cases} == {"LambdaLR", "OneCycleLR", "RexLR"}
    warmups = {c["warmup_steps"] for c in cases}
    assert {0, 2, 100, 99} <= warmups  # none, the 1 -> 2 rule, the default's cap
    assert {c["config"].get("rl") for c in cases} == {None, "dpo", "grpo", "ebft"}
    names = {c["config"].get("lr_scheduler", "cosine") for c in cases}
    assert names >= {"one_cycle", "rex", "cosine", "linear", "warmup_stable_decay"}


def hf_path(config: dict[str, Any]) -> bool:
    """Whether axolotl hands this config to transformers' get_scheduler."""
    name = config.get("lr_scheduler") or "cosine"
    own = name == "cosine" and (
        config.get("lr_quadratic_warmup") or config.get("cosine_min_lr_ratio")
    )
    return name not in ("one_cycle", "rex") and not own


HF_CASES = [c for c in RECORDED["cases"] if hf_path(c["config"])][::5]


@pytest.mark.parametrize("case", HF_CASES, ids=case_id)
def test_the_transformers_cases_equal_transformers_here(case: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = case["config"]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config["learning_rate"])
    scheduler = transformers.get_scheduler(
        config.get("lr_scheduler") or "cosine",
        optimizer,
        num_warmup_steps=case["warmup_steps"],
        num_training_steps=case["num_training_steps"],
        scheduler_specific_kwargs=dict(config.get("lr_scheduler_kwargs") or {}),
    )
    lam = scheduler.lr_lambdas[0]
    here = [config["learning_rate"] * lam(t) for t in range(len(case["lr"]))]
    np.testing.assert_allclose(here, case["lr"], rtol=1e-15, atol=0)
    assert_recorded(from_axolotl(config, steps_per_epoch=steps_per_epoch(case)), here)


def test_one_cycle_equals_torch_s_one_cycle_lr_here() -> None:
    torch = pytest.importorskip("torch")
    config = {"learning_rate": 3e-4, "lr_scheduler": "one_cycle", "warmup_ratio": 0.1}
    config["lr_scheduler_kwargs"] = {"div_factor": 5.0, "three_phase": True}
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    # axolotl: OneCycleLR(max_lr=lr, total_steps=N, pct_start=W / N, anneal_strategy='cos').
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-4, total_steps=90, pct_start=9 / 90, div_factor=5.0, three_phase=True
    )
    lrs = []
    for _ in range(90):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert_recorded(from_axolotl(config, steps_per_epoch=90), lrs)


# -- the shipped examples -------------------------------------------------------------------------

EXAMPLES = {entry["file"]: entry for entry in RECORDED["examples"]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_reads_as_axolotl_reads_it(name: str) -> None:
    entry = EXAMPLES[name]
    config = yaml.safe_load((DATA / name).read_text())
    if "error" in entry:  # axolotl's config model refuses it, and so does from_axolotl
        with pytest.raises(
            ValueError,
            match=r"from_axolotl\(\): warmup_steps must be a non-negative integer, got 0.1",
        ):
            from_axolotl(config, steps_per_epoch=entry["steps_per_epoch"])
        return
    schedule = from_axolotl(config, steps_per_epoch=entry["steps_per_epoch"])
    assert_recorded(schedule, entry["lr"])
    assert (
        run_length(config, steps_per_epoch=entry["steps_per_epoch"])
        == (entry["num_training_steps"])
    )


def test_the_examples_read_2e_5_as_a_number() -> None:
    config = yaml.safe_load((DATA / "orpheus__finetune.yml").read_text())
    assert config["learning_rate"] == "2e-5"  # PyYAML's reading
    assert from_axolotl(config, steps_per_epoch=10)(3) == 2e-5  # after the warm-up: the peak


# -- numbers as axolotl's config model reads them -------------------------------------------------

KINDS = {
    "learning_rate": "number",
    "warmup_ratio": "number",
    "num_epochs": "number",
    "cosine_min_lr_ratio": "number",
    "warmup_steps": "count",
    "max_steps": "count",
    "lr_quadratic_warmup": "flag",
}


@pytest.mark.parametrize(
    "reading", RECORDED["readings"], ids=lambda r: f"{r['option']}={r['value']!r}"
)
def test_values_read_as_axolotl_s_config_model_reads_them(reading: dict[str, Any]) -> None:
    read = getattr(hfa.PYDANTIC, KINDS[reading["option"]])
    if reading["read"] is None:
        with pytest.raises((ValueError, TypeError)):
            read("f", reading["option"], reading["value"])
    else:
        got = read("f", reading["option"], reading["value"])
        assert got == reading["read"] and type(got) is type(reading["read"])


# -- the run's length without steps_per_epoch, and refusals --------------------------------------

BASE = {"learning_rate": 1e-4, "num_epochs": 2, "lr_scheduler": "cosine", "warmup_steps": 10}


def test_without_the_epoch_s_length_the_run_is_total() -> None:
    unbound = from_axolotl(BASE)
    assert placeholders(unbound) == ("total",) and run_length(BASE) is None
    assert unbound.bind(total=120) == from_axolotl(BASE, steps_per_epoch=60)
    rex = {**BASE, "lr_scheduler": "rex", "cosine_min_lr_ratio": 0.1}
    assert from_axolotl(rex).bind(total=120) == from_axolotl(rex, steps_per_epoch=60)


@pytest.mark.parametrize(
    "config",
    [
        {"learning_rate": 1e-4},  # the default warm-up, min(int(0.03 * count), 100)
        {"learning_rate": 1e-4, "warmup_ratio": 0.1},  # int(0.1 * count), and 1 becomes 2
        {**BASE, "lr_scheduler": "one_cycle"},  # pct_start is the warm-up's share
        {"learning_rate": 1e-4, "warmup_ratio": 0.1, "max_steps": 100},  # min(count, max_steps)
    ],
)
def test_what_needs_the_count_asks_for_it(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"from_axolotl\(\): .*pass steps_per_epoch=N"):
        from_axolotl(config)


def test_max_steps_alone_is_enough_with_streaming_or_fixed_warmup() -> None:
    assert run_length({**BASE, "max_steps": 50}) == 50
    streaming = {"learning_rate": 1e-4, "max_steps": 40, "warmup_ratio": 0.1, "streaming": True}
    assert from_axolotl(streaming) == from_axolotl(streaming, steps_per_epoch=1000)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {**BASE, "lr_scheduler": "log_sweep"},
            r"lr_scheduler 'log_sweep': no lr_scheduler value builds",
        ),
        ({**BASE, "lr_scheduler": "cosin"}, r"unknown axolotl lr_scheduler 'cosin'; did you mean"),
        ({**BASE, "jagged_restart_steps": 100}, r"jagged_restart_steps 100 .* not read here"),
        ({**BASE, "warmup_ratio": 0.1}, r"warmup_steps and warmup_ratio are mutually exclusive"),
        ({**BASE, "num_epochs": 1.5}, r"num_epochs 1.5 \* steps_per_epoch 7 is 10.5"),
        ({"num_epochs": 1}, r"the config has no learning_rate"),
        ({**BASE, "lr_scheduler": "rex", "warmup_steps": 30}, r"rex: num_warmup_steps \(30\)"),
        ({**BASE, "cosine_min_lr_ratio": 1.5}, r"cosine_min_lr_ratio must be a finite number"),
        (
            {**BASE, "lr_scheduler": "one_cycle", "lr_scheduler_kwargs": {"pct_strat": 0.2}},
            r"one_cycle \(torch's OneCycleLR\) has no option 'pct_strat'; did you mean 'pct_start'",
        ),
        (
            {**BASE, "lr_scheduler_kwargs": {"num_cycles": "1.5"}},
            r"lr_scheduler_kwargs num_cycles must be a number, got '1.5'",
        ),
    ],
)
def test_refusals_name_the_option(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"from_axolotl\(\): " + message):
        from_axolotl(config, steps_per_epoch=7)


def test_every_scheduler_name_is_read_or_refused() -> None:
    for name in SCHEDULERS:
        config = {**BASE, "lr_scheduler": name, "lr_scheduler_kwargs": {}}
        if name == "warmup_stable_decay":
            config["lr_scheduler_kwargs"] = {"num_decay_steps": 5}
        if "min_lr" in name:
            config["lr_scheduler_kwargs"] = {"min_lr_rate": 0.1}
        if name == "greedy":
            with pytest.raises(ValueError, match="no expression"):
                from_axolotl(config, steps_per_epoch=40)
            continue
        schedule = from_axolotl(config, steps_per_epoch=40)
        if name == "reduce_lr_on_plateau":  # driven by metrics: the lr itself, from the peak
            assert schedule == plateau(start=1e-4)
        else:
            assert schedule(0) >= 0
