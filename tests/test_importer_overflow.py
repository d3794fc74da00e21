"""Numbers past the float range in a config: refused by name, never an OverflowError.

JSON and YAML read a 400-digit integer as an int, which ``float()`` refuses, and a float such as
``1e308`` overflows once multiplied (``num_train_epochs * steps_per_epoch``). For each importer,
every numeric option of one real sample config (tests/data) takes each such value in turn: the
call succeeds (and its schedules evaluate), or raises a ValueError (a TypeError for a wrong
type) whose message names the entry point and the option.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from schedalg.importers.axolotl import from_axolotl
from schedalg.importers.detectron2 import from_detectron2
from schedalg.importers.hf import from_training_arguments
from schedalg.importers.litgpt import from_litgpt
from schedalg.importers.llamafactory import from_llamafactory
from schedalg.importers.torchtune import from_torchtune
from schedalg.importers.ultralytics import from_ultralytics, from_yolov5

DATA = Path(__file__).parent / "data"
HUGE = 10**400
VALUES = (HUGE, -HUGE, 1e308, -1e308, math.inf, math.nan)
STEPS = (0, 1, 7, 1000)

Keys = tuple[str | int, ...]


def _from_lightning_cli(config: dict[str, Any]) -> Any:
    pytest.importorskip("torch")
    from schedalg.importers.lightning_cli import from_lightning_cli

    return from_lightning_cli(config, steps_per_epoch=7)


# (entry point, sample config under tests/data, the call)
IMPORTERS: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
    (
        "from_training_arguments",
        "hf_recipes/open-r1/Qwen2.5-1.5B-Instruct__grpo__config_demo_code.yaml",
        lambda c: from_training_arguments(c, steps_per_epoch=7),
    ),
    (
        "from_training_arguments",
        "hf_recipes/alignment-handbook/zephyr-7b-beta__sft__config_full.yaml",
        lambda c: from_training_arguments(c, steps_per_epoch=7),
    ),
    (
        "from_axolotl",
        "axolotl/orpheus__finetune.yml",
        lambda c: from_axolotl(c, steps_per_epoch=10),
    ),
    (
        "from_llamafactory",
        "llamafactory/train_lora__qwen3_lora_dpo.yaml",
        lambda c: from_llamafactory(c, steps_per_epoch=7),
    ),
    (
        "from_lightning_cli",
        "lightning_cli/torch-uncertainty/cifar10_resnet18_batched.yaml",
        _from_lightning_cli,
    ),
    (
        "from_torchtune",
        "torchtune/llama3_2/1B_lora_single_device.yaml",
        lambda c: from_torchtune(c, steps_per_epoch=7),
    ),
    (
        "from_litgpt",
        "litgpt/finetune/llama-2-7b/lora.yaml",
        lambda c: from_litgpt(c, steps_per_epoch=9),
    ),
    (
        "from_litgpt",
        "litgpt/pretrain/tinyllama.yaml",
        lambda c: from_litgpt(c, devices=8),
    ),
    ("from_detectron2", "detectron2/configs/Base-RCNN-FPN.yaml", from_detectron2),
    (
        "from_ultralytics",
        "ultralytics/default.yaml",
        lambda c: from_ultralytics({**c, "optimizer": "SGD"}, steps_per_epoch=7),
    ),
    (
        "from_yolov5",
        "ultralytics/hyp.scratch-low.yaml",
        lambda c: from_yolov5(c, steps_per_epoch=7, epochs=5),
    ),
]


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _is_number(value: Any) -> bool:
    """A number, or text a source reads as one (PyYAML leaves ``2e-5`` a string)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _numbers(node: Any, path: Keys = ()) -> Iterator[Keys]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, (*path, i))
    elif _is_number(node):
        yield path


def _replaced(node: Any, path: Keys, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, head: _replaced(node[head], rest, value)}
    copy = list(node)
    copy[head] = _replaced(node[head], rest, value)  # type: ignore[index]
    return copy


def _option(path: Keys) -> str:
    """The option's name: the last key (a list's, for one of its items)."""
    return str([key for key in path if isinstance(key, str)][-1])


def _schedules(found: Any) -> Iterator[Any]:
    if isinstance(found, dict):
        for value in found.values():
            yield from _schedules(value)
    elif isinstance(found, list):
        for value in found:
            yield from _schedules(value)
    else:
        yield found


CASES = [
    pytest.param(fn, name, path, id=f"{fn}-{Path(name).stem}-{'.'.join(map(str, path))}")
    for fn, name, _ in IMPORTERS
    for path in _numbers(_load(name))
]
CALLS = {(fn, name): call for fn, name, call in IMPORTERS}


def test_every_sample_config_reads_as_it_is() -> None:
    for fn, name, call in IMPORTERS:
        for schedule in _schedules(call(_load(name))):
            assert math.isfinite(schedule(0)), (fn, name)


@pytest.mark.parametrize(("fn", "name", "path"), CASES)
def test_a_number_past_the_float_range_is_read_or_refused_by_name(
    fn: str, name: str, path: Keys
) -> None:
    config, call, option = _load(name), CALLS[fn, name], _option(path)
    for value in VALUES:
        try:
            found = call(_replaced(config, path, value))
        except (ValueError, TypeError) as error:
            message = str(error)
            assert f"{fn}()" in message and option in message, (value, message)
            continue
        # Read: the schedules it gives evaluate (a value an option does not use is ignored).
        for schedule in _schedules(found):
            for t in STEPS:
                schedule(t)


@pytest.mark.parametrize(
    ("option", "args", "steps_per_epoch"),
    [
        ("max_steps", {"max_steps": HUGE}, None),
        ("num_train_epochs", {"num_train_epochs": 1e308}, 10),
    ],
)
def test_the_reported_reproductions_are_refused_by_name(
    option: str, args: dict[str, Any], steps_per_epoch: int | None
) -> None:
    config = {"learning_rate": 1e-4, "lr_scheduler_type": "linear", **args}
    with pytest.raises(ValueError, match=rf"^from_training_arguments\(\): .*{option}"):
        from_training_arguments(config, steps_per_epoch=steps_per_epoch)


def test_a_one_cycle_run_of_epochs_past_the_float_range_is_refused_by_name() -> None:
    """No sample config has a OneCycleLR: its check of the run's epochs divides the steps."""
    config = {
        "trainer": {"max_epochs": HUGE},
        "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": 1.0}},
        "lr_scheduler": {
            "class_path": "OneCycleLR",
            "init_args": {"max_lr": 1.0, "total_steps": 9},
        },
    }
    with pytest.raises(ValueError, match=r"^from_lightning_cli\(\): OneCycleLR total_steps=9"):
        _from_lightning_cli(config)
