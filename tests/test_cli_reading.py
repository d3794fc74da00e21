"""How the command line reads files beside their format: the suffixes it takes, a file that
looks like a format but lacks its telltale, a ``.config`` file, and the importers' Python hints
read as the options that give the same (``pass steps_per_epoch=N`` -> ``--steps-per-epoch``)."""

from __future__ import annotations

import json

import pytest

from schedalg.cli import main
from schedalg.cli.reading import command_line_message


def call(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_an_unknown_suffix_lists_the_ones_read(tmp_path, capsys):
    path = tmp_path / "schedule.toml"
    path.write_text("lr = 0.1\n")
    status, out, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    for suffix in (".json", ".yaml", ".yml", ".config", ".sh", ".py"):
        assert suffix in err
    assert "got .toml" in err


def test_a_config_suffix_is_read_as_json(tmp_path, capsys):
    path = tmp_path / "ds.config"
    config = {
        "optimizer": {"type": "Adam", "params": {"lr": 0.1}},
        "scheduler": {"type": "WarmupLR", "params": {"warmup_num_steps": 4}},
    }
    path.write_text(json.dumps(config))
    status, out, err = call(capsys, "export", str(path), "--steps", "3", "-f", "json")
    assert status == 0, err
    assert json.loads(out)["curves"][0]["label"] == "ds.config: lr"


def test_a_config_suffix_is_read_as_yaml_when_not_json(tmp_path, capsys):
    pytest.importorskip("yaml")
    path = tmp_path / "ds.config"
    path.write_text("scheduler:\n  type: WarmupLR\n  params: {warmup_num_steps: 4}\n")
    status, _, err = call(capsys, "export", str(path), "--steps", "3", "--base", "lr=0.1")
    assert status == 0, err


def test_a_file_that_looks_like_a_format_is_told_what_it_lacks(tmp_path, capsys):
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"train_batch_size": 8, "optimizer": {"type": "Adam"}}))
    status, _, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "'optimizer', 'train_batch_size'" in err or "'train_batch_size', 'optimizer'" in err
    assert "DeepSpeed" in err and "a `scheduler` block with a `type`" in err
    assert "--format-hint deepspeed" in err


def test_a_file_like_no_format_names_every_format(tmp_path, capsys):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"batch": 8}))
    status, _, err = call(capsys, "describe", str(path), "--steps", "10")
    assert status == 2 and "tried" in err and "Keras" in err


def test_steps_per_epoch_is_the_epoch_length(tmp_path, capsys):
    status, out, err = call(
        capsys, "export", "linear(1.0, 0.0, 4)", "--steps", "6", "--steps-per-epoch", "2"
    )
    assert status == 0, err
    assert out.splitlines()[1:] == ["0,1.0", "1,1.0", "2,0.75", "3,0.75", "4,0.5", "5,0.5"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "from_x(): the run is 3 epochs long: pass steps_per_epoch=N (updates per epoch)",
            "from_x(): the run is 3 epochs long: give --steps-per-epoch N (updates per epoch)",
        ),
        ("--lr is ${LR}: pass variables={'LR': ...}", "--lr is ${LR}: give --set LR=..."),
        (
            "from_x(): no lr in the file: pass lr=...",
            "from_x(): no lr in the file: give --base lr=<value>",
        ),
        (
            "outside the tree (pass config_root=DIR to read it)",
            "outside the tree (give --config-root DIR to read it)",
        ),
        ("nothing to change", "nothing to change"),
    ],
)
def test_python_hints_read_as_command_line_options(message, expected):
    assert command_line_message(message) == expected


def test_a_set_value_for_a_placeholder_must_be_a_whole_number(capsys):
    status, _, err = call(
        capsys, "describe", "cosine(total)", "--steps", "10", "--set", "total=2.5"
    )
    assert status == 2 and "--set total must be a whole number" in err


def test_hf_arguments_without_a_scheduler_type_read_as_hf_s_linear(tmp_path, capsys):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"learning_rate": 0.5, "max_steps": 4, "num_train_epochs": 3}))
    status, out, err = call(capsys, "export", str(path))
    assert status == 0, err
    assert out.splitlines()[1:] == ["0,0.5", "1,0.375", "2,0.25", "3,0.125"]


def test_a_run_in_epochs_is_bound_by_the_steps_per_epoch_or_total(tmp_path, capsys):
    pytest.importorskip("yaml")
    path = tmp_path / "recipe.yaml"
    path.write_text("learning_rate: 2e-5\nnum_train_epochs: 2\nlr_scheduler_type: linear\n")
    status, _, err = call(capsys, "describe", str(path))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "--set total=N" in err and "--steps-per-epoch N" in err
    by_epoch = call(capsys, "export", str(path), "--steps-per-epoch", "2")
    by_total = call(capsys, "export", str(path), "--set", "total=4")
    assert by_epoch[0] == by_total[0] == 0, (by_epoch[2], by_total[2])
    assert by_epoch[1] == by_total[1]
    # 2e-5 (a string to YAML 1.1) is the float HF's parser makes of it; HF's linear lambda.
    expected = [f"{t},{2e-5 * ((4 - t) / 4)!r}" for t in range(4)]
    assert by_epoch[1].splitlines()[1:] == expected


def test_a_launch_script_takes_its_shell_variables_from_set(tmp_path, capsys):
    path = tmp_path / "train.sh"
    path.write_text(
        "#!/bin/bash\n"
        'torchrun pretrain_gpt.py --lr "$LR" --min-lr 0.0 --lr-decay-style linear \\\n'
        "    --train-iters 4 --lr-decay-iters 4 --global-batch-size 8\n"
    )
    status, _, err = call(capsys, "export", str(path))
    assert status == 2 and "--set LR=" in err and len(err.strip().splitlines()) == 1
    status, out, err = call(capsys, "export", str(path), "--set", "LR=0.5")
    assert status == 0, err
    lr = [row.split(",")[1] for row in out.splitlines()[1:]]
    assert lr == ["0.5", "0.375", "0.25", "0.125"]


def test_an_export_that_cannot_be_evaluated_writes_nothing(capsys):
    # The clock passes the floats at step 1: refused before the CSV header is written.
    status, out, err = call(capsys, "export", "warp(cosine(1), elapsed() / 5e-324)", "--steps", "3")
    assert status == 2 and out == "" and "cannot evaluate the schedule" in err


def test_hf_s_plateau_is_the_lr_itself_not_a_multiplier(tmp_path, capsys):
    path = tmp_path / "args.json"
    config = {"lr_scheduler_type": "reduce_lr_on_plateau", "learning_rate": 0.1, "max_steps": 9}
    path.write_text(json.dumps(config))
    status, out, err = call(capsys, "describe", str(path))
    assert status == 0, err
    assert out.splitlines()[1] == "plateau(start=0.1)"
