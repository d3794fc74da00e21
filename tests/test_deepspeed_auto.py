"""DeepSpeed configs written for the HF Trainer (``"auto"`` values): from_deepspeed with the
values given (``lr=``, ``auto={...}``) against DeepSpeed 0.19.8's own schedulers on the config
as the HF Trainer itself fills it (transformers' ``HfTrainerDeepSpeedConfig``, with real
``TrainingArguments``); and the one-line refusals where a value is missing, which name the
TrainingArguments value and how to give it (and read as the command line's options).

Tolerance: as tests/test_deepspeed.py (1e-12 relative plus 8 ulps of the peak)."""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("deepspeed.runtime.lr_schedules")
pytest.importorskip("transformers.integrations.deepspeed")
import torch
from deepspeed.runtime import lr_schedules
from transformers import TrainingArguments
from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

from schedalg.cli.formats import command_line_message
from schedalg.importers.deepspeed import AUTO_STEPS, HF_AUTO, from_deepspeed

logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
EPS = np.finfo(float).eps
AUTO = {
    "WarmupLR": ["warmup_min_lr", "warmup_max_lr", "warmup_num_steps"],
    "WarmupDecayLR": ["warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "total_num_steps"],
    "WarmupCosineLR": ["warmup_num_steps", "total_num_steps"],
}


def hf_config(
    kind: str, autos: list[str], extra: dict, args: TrainingArguments, steps: int
) -> dict:
    """The config for ``kind`` with ``autos`` as "auto", and the same config as the HF Trainer
    fills it for a run of ``steps`` optimizer steps."""
    config = {
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "optimizer": {"type": "AdamW", "params": {"lr": "auto", "weight_decay": "auto"}},
        "scheduler": {"type": kind, "params": {**dict.fromkeys(autos, "auto"), **extra}},
    }
    filler = HfTrainerDeepSpeedConfig(copy.deepcopy(config))
    filler.trainer_config_process(args)
    filler.trainer_config_finalize(args, None, steps)
    return config, filler.config


def deepspeed_lr(filled: dict, steps: int) -> np.ndarray:
    lr = filled["optimizer"]["params"]["lr"]
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    block = filled["scheduler"]
    sched = getattr(lr_schedules, block["type"])(opt, **block["params"])
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        sched.step()
    return np.array(out)


def agree(ours: np.ndarray, theirs: np.ndarray) -> None:
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    bad = np.flatnonzero(np.abs(ours - theirs) > 1e-12 * np.abs(theirs) + 8 * EPS * scale)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


@given(
    kind=st.sampled_from(sorted(AUTO)),
    data=st.data(),
    lr=st.floats(1e-6, 1e-2),
    warmup=st.one_of(st.integers(0, 60), st.floats(0.0, 0.5)),
    steps=st.integers(5, 200),
    style=st.sampled_from(["log", "linear"]),
)
def test_filled_as_the_hf_trainer_fills_is_deepspeed_s(
    kind: str, data: st.DataObject, lr: float, warmup: float, steps: int, style: str
) -> None:
    autos = data.draw(st.lists(st.sampled_from(AUTO[kind]), unique=True, min_size=1))
    extra = {"warmup_type": style}
    if kind != "WarmupLR" and "total_num_steps" not in autos:
        extra["total_num_steps"] = steps
    args = TrainingArguments(
        output_dir="/tmp/schedalg-hf", learning_rate=lr, warmup_steps=warmup, max_steps=steps,
        report_to=[],
    )  # fmt: skip
    config, filled = hf_config(kind, autos, extra, args, steps)
    theirs = deepspeed_lr(filled, steps + 20)
    given_steps = {n: filled["scheduler"]["params"][n] for n in AUTO_STEPS if n in autos}
    # the HF Trainer's fill, from its own TrainingArguments
    if "warmup_num_steps" in given_steps:
        assert given_steps["warmup_num_steps"] == max(1, args.get_warmup_steps(steps))
    if "total_num_steps" in given_steps:
        assert given_steps["total_num_steps"] == steps
    ours = from_deepspeed(config, lr=lr, auto=given_steps)["lr"]
    agree(ours.curve(steps + 20), theirs)  # type: ignore[union-attr]
    # as the command line gives them: text
    texts = {name: str(value) for name, value in given_steps.items()}
    assert from_deepspeed(config, lr=lr, auto=texts)["lr"] == ours


@pytest.mark.parametrize(
    ("kind", "params", "kwargs", "text", "option"),
    [
        (
            "WarmupDecayLR",
            {"warmup_max_lr": "auto", "total_num_steps": 100},
            {},
            "WarmupDecayLR warmup_max_lr is 'auto', which the HF Trainer fills with its "
            "learning_rate: pass lr=...",
            "give --base lr=<value>",
        ),
        (
            "WarmupDecayLR",
            {"total_num_steps": "auto"},
            {"lr": 1e-3},
            "WarmupDecayLR total_num_steps is 'auto', which the HF Trainer fills with the run's "
            "optimizer steps (max_steps, or num_train_epochs times the optimizer updates per "
            "epoch): pass auto={'total_num_steps': ...}",
            "give --set total_num_steps=...",
        ),
        (
            "WarmupCosineLR",
            {"total_num_steps": 100, "warmup_num_steps": "auto"},
            {"lr": 1e-3},
            "WarmupCosineLR warmup_num_steps is 'auto', which the HF Trainer fills with max(1, "
            "its warm-up steps)",
            "give --set warmup_num_steps=...",
        ),
    ],
)
def test_a_missing_value_is_named_with_how_to_give_it(
    kind: str, params: dict, kwargs: dict, text: str, option: str
) -> None:
    with pytest.raises(TypeError, match="from_deepspeed") as info:
        from_deepspeed({"type": kind, "params": params}, **kwargs)
    message = str(info.value)
    assert text in message and "\n" not in message
    assert option in command_line_message(message)


def test_the_optimizer_s_auto_lr() -> None:
    config = {
        "optimizer": {"type": "AdamW", "params": {"lr": "auto"}},
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 50}},
    }
    with pytest.raises(TypeError, match=r"optimizer's lr, which is 'auto'.*pass lr=\.\.\.$"):
        from_deepspeed(config)
    assert (
        from_deepspeed(config, lr=2e-3)["lr"] == from_deepspeed(config["scheduler"], lr=2e-3)["lr"]
    )
    # warmup_min_lr "auto" is HF's 0, asked of nobody; WarmupDecayLR's own warmup_max_lr stays
    config["scheduler"] = {
        "type": "WarmupDecayLR",
        "params": {"warmup_min_lr": "auto", "total_num_steps": 9},
    }
    plain = {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, "total_num_steps": 9}}
    assert from_deepspeed(config)["lr"] == from_deepspeed(plain)["lr"]


@pytest.mark.parametrize(
    ("config", "kwargs", "text"),
    [
        (
            {"type": "OneCycle", "params": {"cycle_min_lr": 0.1, "cycle_max_lr": "auto"}},
            {},
            "OneCycle cycle_max_lr is 'auto', which the HF Trainer does not fill",
        ),
        (
            {"type": "WarmupDecayLR", "params": {"total_num_steps": 100}},
            {"auto": {"total_num_steps": 100}},
            "auto gives total_num_steps, but WarmupDecayLR total_num_steps is 100, not 'auto'",
        ),
        (
            {"type": "WarmupDecayLR", "params": {"total_num_steps": "auto"}},
            {"auto": {"total_num_step": 100}},
            "did you mean 'total_num_steps'?",
        ),
        (
            {"type": "WarmupDecayLR", "params": {"total_num_steps": "auto"}},
            {"auto": {"total_num_steps": 0}},
            "total_num_steps",
        ),
    ],
)
def test_refusals(config: dict, kwargs: dict, text: str) -> None:
    with pytest.raises(ValueError, match="from_deepspeed") as info:
        from_deepspeed(config, **kwargs)
    assert text in str(info.value)


def test_every_hf_fill_is_named() -> None:
    """HF_AUTO holds the scheduler keys transformers fills: its fill on a config with every
    scheduler key "auto" leaves exactly the others "auto"."""
    keys = [
        "warmup_min_lr",
        "warmup_max_lr",
        "warmup_num_steps",
        "total_num_steps",
        "cos_min_ratio",
    ]
    args = TrainingArguments(output_dir="/tmp/schedalg-hf", max_steps=10, report_to=[])
    _, filled = hf_config("WarmupDecayLR", keys, {}, args, 10)
    left = {k for k, v in filled["scheduler"]["params"].items() if v == "auto"}
    assert left == set(keys) - set(HF_AUTO)


def test_a_log_warm_up_past_the_table_s_length_is_refused_by_name() -> None:
    from schedalg.importers.deepspeed import MAX_LOG_WARMUP

    params = {"warmup_num_steps": MAX_LOG_WARMUP + 1, "warmup_max_lr": 0.1}
    with pytest.raises(ValueError, match=r"WarmupLR warmup_num_steps 1000001: a log warm-up"):
        from_deepspeed({"type": "WarmupLR", "params": params})
