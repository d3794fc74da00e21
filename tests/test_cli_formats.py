"""The command line on other libraries' schedule files (schedalg.cli.formats): an HF
TrainingArguments JSON, a DeepSpeed config (JSON or YAML), a Keras schedule config; each
exported curve compared with the real library's values, and the errors for a file no format
fits, for one several fit, and for a misspelt --format-hint."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from schedalg.cli import main

EPS = float(np.finfo(float).eps)


def call(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what importing the libraries printed (DeepSpeed's accelerator line)
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def exported(capsys, path: Path, steps: int, *extra: str) -> dict[str, np.ndarray]:
    status, out, err = call(
        capsys, "export", str(path), "--steps", str(steps), "-f", "json", *extra
    )
    assert status == 0, err
    return {c["label"]: np.array(c["values"]) for c in json.loads(out)["curves"]}


def agree(ours: np.ndarray, theirs: np.ndarray, rel: float = 1e-12, ulps: float = 8) -> None:
    scale = float(np.max(np.abs(theirs)))
    bound = rel * np.abs(theirs) + ulps * EPS * scale
    bad = np.flatnonzero(np.abs(ours - theirs) > bound)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


# -- DeepSpeed -----------------------------------------------------------------------------------


def deepspeed_lrs(kind: str, params: dict, lrs: list[float], steps: int) -> list[np.ndarray]:
    from deepspeed.runtime import lr_schedules

    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    opt = torch.optim.Adam(groups)
    scheduler = getattr(lr_schedules, kind)(opt, **params)
    seen: list[list[float]] = [[] for _ in lrs]
    for _ in range(steps):
        for i, group in enumerate(opt.param_groups):
            seen[i].append(float(group["lr"]))
        scheduler.step()
    return [np.array(s) for s in seen]


def test_deepspeed_json_config(tmp_path, capsys):
    pytest.importorskip("deepspeed.runtime.lr_schedules")
    params = {"total_num_steps": 300, "warmup_num_steps": 40, "warmup_type": "linear"}
    config = {
        "train_batch_size": 8,
        "optimizer": {"type": "Adam", "params": {"lr": 2e-3}},
        "scheduler": {"type": "WarmupCosineLR", "params": params},
    }
    path = tmp_path / "ds_config.json"
    path.write_text(json.dumps(config))
    curves = exported(capsys, path, 300)
    assert list(curves) == ["ds_config.json: lr"]
    agree(curves["ds_config.json: lr"], deepspeed_lrs("WarmupCosineLR", params, [2e-3], 300)[0])


def test_deepspeed_yaml_with_per_group_lists(tmp_path, capsys):
    pytest.importorskip("yaml")
    pytest.importorskip("deepspeed.runtime.lr_schedules")
    path = tmp_path / "ds.yaml"
    path.write_text(
        "scheduler:\n"
        "  type: OneCycle\n"
        "  params:\n"
        "    cycle_min_lr: [0.0001, 0.0002]\n"
        "    cycle_max_lr: 0.01\n"
        "    cycle_first_step_size: 20\n"
        "    decay_step_size: 5\n"
        "    decay_lr_rate: 0.1\n"
    )
    params = {
        "cycle_min_lr": [1e-4, 2e-4],
        "cycle_max_lr": 0.01,
        "cycle_first_step_size": 20,
        "decay_step_size": 5,
        "decay_lr_rate": 0.1,
    }
    curves = exported(capsys, path, 80)
    assert sorted(curves) == [
        "ds.yaml: lr (group 0)",
        "ds.yaml: lr (group 1)",
        "ds.yaml: momentum (group 0)",
        "ds.yaml: momentum (group 1)",
    ]
    theirs = deepspeed_lrs("OneCycle", params, [1e-3, 1e-3], 80)
    for i in range(2):
        agree(curves[f"ds.yaml: lr (group {i})"], theirs[i])


# -- Keras ---------------------------------------------------------------------------------------


def test_keras_schedule_config(tmp_path, capsys):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 30, 0.5, staircase=True)
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(keras.optimizers.schedules.serialize(schedule)))
    curves = exported(capsys, path, 200)
    theirs = np.asarray(schedule(np.arange(200)), dtype=float)
    # Keras computes in float32: the bound of tests/test_keras.py.
    agree(curves["schedule.json: lr"], theirs, rel=4e-6, ulps=16 * 2**29)
    status, out, _ = call(capsys, "check", str(path), "--steps", "200")
    assert status == 0 and "no problems found" in out


# -- HF TrainingArguments ------------------------------------------------------------------------


def test_hf_training_arguments_json(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    try:
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path / "out"),
            lr_scheduler_type="cosine_with_restarts",
            lr_scheduler_kwargs={"num_cycles": 2},
            warmup_steps=30,
            max_steps=240,
            learning_rate=3e-4,
            report_to=[],
        )
    except ModuleNotFoundError as error:  # transformers' optional imports broken beside it
        pytest.skip(f"transformers cannot build TrainingArguments here: {error}")
    path = tmp_path / "training_args.json"
    path.write_text(args.to_json_string())
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    scheduler = transformers.get_scheduler(
        "cosine_with_restarts", opt, 30, 240, scheduler_specific_kwargs={"num_cycles": 2}
    )
    theirs = []
    for _ in range(240):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    curves = exported(capsys, path, 240)
    agree(curves["training_args.json: lr"], np.array(theirs))
    status, out, err = call(capsys, "describe", str(path), "--steps", "240")
    assert status == 0 and "training_args.json: lr" in out, err


# -- recognition and its errors ------------------------------------------------------------------


def test_unrecognised_file_names_every_format_tried(tmp_path, capsys):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"batch_size": 8}))
    status, out, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    for name in ("TrainingArguments", "DeepSpeed", "Keras", "to_dict", "MMEngine"):
        assert name in err


def test_ambiguous_file_needs_a_hint(tmp_path, capsys):
    path = tmp_path / "both.json"
    data = {
        "lr_scheduler_type": "constant",
        "max_steps": 10,
        "learning_rate": 0.5,
        "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
    }
    path.write_text(json.dumps(data))
    status, _, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and "hf and keras" in err and "--format-hint" in err
    assert exported(capsys, path, 3, "--format-hint", "hf")["both.json: lr"].tolist() == [0.5] * 3
    keras = exported(capsys, path, 3, "--format-hint", "keras")["both.json: lr"]
    assert keras[0] == 0.1 and math.isclose(keras[2], 0.1 * 0.5**0.2)


def test_misspelt_hint_is_suggested(tmp_path, capsys):
    path = tmp_path / "x.json"
    path.write_text("{}")
    status, _, err = call(
        capsys, "describe", str(path), "--steps", "10", "--format-hint", "deepspeeed"
    )
    assert status == 2 and "did you mean 'deepspeed'?" in err


def test_a_format_s_own_error_names_the_file_and_the_format(tmp_path, capsys):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"scheduler": {"type": "WarmupLr", "params": {}}}))
    status, _, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and "read as deepspeed" in err and "'WarmupLR'" in err


def test_yaml_without_pyyaml_says_what_to_install(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ds.yaml"
    path.write_text("scheduler: {type: WarmupLR}\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    status, _, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and "PyYAML" in err


def test_the_docs_table_of_formats_is_the_one_the_format_table_makes():
    """docs/command-line.md holds ``formats.markdown_table()`` verbatim between its markers: a
    format added to ``FORMATS`` but not to the page, or edited on the page alone, fails here."""
    import re

    from schedalg.cli import formats

    page = Path(__file__).resolve().parent.parent / "docs" / "command-line.md"
    found = re.search(
        r"^<!-- generated by schedalg\.cli\.formats\.markdown_table\(\).*?-->\n(.*?)"
        r"^<!-- end of the generated table -->$",
        page.read_text(encoding="utf-8"),
        re.S | re.M,
    )
    assert found, "docs/command-line.md lost the markers around the table of formats"
    assert found.group(1) == formats.markdown_table(), (
        "paste the output of python -c 'from schedalg.cli.formats import markdown_table; "
        'print(markdown_table(), end="")\' between the markers of docs/command-line.md'
    )
