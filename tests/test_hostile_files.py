"""Hostile schedule files for every format the command line reads as data (issue 23, item 3).

Each format of ``schedalg.cli.formats.FORMATS`` has a seed file below that it reads (the newer
formats' seeds are real files from tests/data). Generated files change the seed at one place:
a value replaced by a hostile one (NaN, infinities, an integer of 400 digits, a negative or zero
count, a string, a list, a mapping, a boolean, ``null``), a list nested 50 deep, a key deleted,
a key misspelt, or the whole file wrapped in a list; YAML files also get aliases nested into a
billion-laughs tree and tags that name Python objects. The command line must read each file or
refuse it with one line (exit status 2), and never raise: a traceback is a bug, whatever the
file holds. A new format without a seed here fails ``test_every_data_format_has_a_seed``."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedalg.cli import main
from schedalg.cli.formats import FORMATS

yaml = pytest.importorskip("yaml")

# One file each format reads, as its data; extra command-line options it needs.
SEEDS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "hf": (
        {
            "lr_scheduler_type": "cosine",
            "learning_rate": 3e-4,
            "warmup_ratio": 0.1,
            "max_steps": 40,
            "lr_scheduler_kwargs": {"num_cycles": 0.5},
        },
        (),
    ),
    "deepspeed": (
        {
            "optimizer": {"type": "AdamW", "params": {"lr": 1e-3}},
            "scheduler": {
                "type": "WarmupDecayLR",
                "params": {"warmup_num_steps": 5, "total_num_steps": 40, "warmup_max_lr": 1e-3},
            },
        },
        (),
    ),
    "keras": (
        {
            "class_name": "CosineDecay",
            "config": {"initial_learning_rate": 0.1, "decay_steps": 30, "alpha": 0.1},
        },
        (),
    ),
}

DATA = Path(__file__).resolve().parent / "data"
# The other formats' seeds are real files from their repositories (tests/data/<source>/).
SHIPPED = {
    "axolotl": ("axolotl/llama-2__gptq-lora.yml", ("--steps-per-epoch", "10")),
    "llamafactory": ("llamafactory/train_lora__qwen3_lora_sft.yaml", ("--steps-per-epoch", "10")),
    "torchtune": ("torchtune/llama3_2/1B_lora_single_device.yaml", ("--steps-per-epoch", "10")),
    "litgpt": ("litgpt/finetune/llama-2-7b/lora.yaml", ("--steps-per-epoch", "10")),
    "lightning-cli": (
        "lightning_cli/torch-uncertainty/cifar10_resnet18_batched.yaml",
        ("--steps-per-epoch", "3"),
    ),
    "ultralytics": (
        "ultralytics/default.yaml",
        ("--steps-per-epoch", "5", "--set", "images=100", "--set", "classes=3"),
    ),
    "yolov5": ("ultralytics/hyp.scratch-low.yaml", ("--steps-per-epoch", "5", "--set", "epochs=2")),
}
for _name, (_file, _extra) in SHIPPED.items():
    SEEDS[_name] = (yaml.safe_load((DATA / _file).read_text(encoding="utf-8")), _extra)

HOSTILE_VALUES = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        10**400,
        -(10**400),
        -1,
        0,
        -0.0,
        1e308,
        5e-324,
        "",
        "2e-5",
        "nan",
        "cosine\x00",
        "auto",
        [],
        [1, 2],
        {},
        {"type": "x"},
        True,
        False,
        None,
    ]
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into the nested data."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def hostile_files(draw: st.DrawFn, name: str) -> tuple[Any, str]:
    seed, _ = SEEDS[name]
    data = copy.deepcopy(seed)
    kind = draw(st.sampled_from(["replace", "delete", "misspell", "nest", "wrap"]))
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "replace":
        parent[last] = draw(HOSTILE_VALUES)
    elif kind == "delete" and isinstance(parent, dict):
        del parent[last]
    elif kind == "misspell" and isinstance(parent, dict):
        parent[f"{last}s"] = parent.pop(last)
    elif kind == "nest":
        parent[last] = _nested(50)
    elif kind == "wrap":
        data = [data]
    suffix = draw(st.sampled_from([".json", ".yaml"]))
    return data, suffix


def _one_line_or_read(
    capsys: pytest.CaptureFixture[str], path: str, extra: tuple[str, ...]
) -> None:
    capsys.readouterr()
    status = main(["export", path, "--steps", "12", "-f", "csv", *extra])
    captured = capsys.readouterr()
    if status == 0:
        lines = captured.out.splitlines()
        assert len(lines) == 13, captured.out
        return
    assert status == 2, (status, captured.err)
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert captured.err.startswith("schedalg: error: ")
    assert "Traceback" not in captured.err


def _write(tmp_path: Any, data: Any, suffix: str) -> str:
    path = tmp_path / f"hostile{suffix}"
    if suffix == ".json":
        # JSON's NaN/Infinity and a 400-digit integer: what Python's json module reads.
        path.write_text(json.dumps(data, allow_nan=True))
    else:
        path.write_text(yaml.safe_dump(data))
    return str(path)


def test_every_data_format_has_a_seed():
    data_formats = {f.name for f in FORMATS if not (f.config or f.text or f.by_path)}
    assert data_formats <= set(SEEDS), sorted(data_formats - set(SEEDS))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_each_seed_is_read(name, tmp_path, capsys):
    seed, extra = SEEDS[name]
    path = _write(tmp_path, seed, ".json")
    capsys.readouterr()
    assert main(["export", path, "--steps", "12", *extra]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_hostile_files_are_read_or_refused_in_one_line(name, tmp_path_factory, capsys):
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(hostile_files(name))
    def check(case: tuple[Any, str]) -> None:
        data, suffix = case
        path = _write(tmp_path_factory.mktemp("h"), data, suffix)
        _one_line_or_read(capsys, path, SEEDS[name][1])

    check()


@pytest.mark.parametrize(
    "text",
    [
        # A billion laughs: nine levels of aliases of aliases (safe_load keeps them as shared
        # objects; walking the tree as a tree would take 9**9 visits).
        "a: &a [1,1,1,1,1,1,1,1,1]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
            for i in range(8)
        )
        + "scheduler: {type: WarmupLR, params: {warmup_num_steps: *i}}\n",
        "scheduler: !!python/object/apply:os.system ['echo hacked']\n",
        "lr_scheduler_type: !!python/name:builtins.eval\n",
        "class_name: CosineDecay\nconfig: !!binary aGVsbG8=\n",
        "lr_scheduler_type: cosine\nlr_scheduler_type: linear\nmax_steps: 10\n",
        "[" * 5000,
        "{a: 1",
        "\x00\x01",
    ],
)
def test_hostile_yaml_is_refused_in_one_line(text, tmp_path, capsys):
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    _one_line_or_read(capsys, str(path), ())
