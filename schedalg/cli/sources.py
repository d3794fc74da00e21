"""Each format's own detector and call, for the entries of ``schedalg.cli.formats.FORMATS``:
how a file of that source is recognised from its data, and what it passes its importer beside
the data (``--base lr``, ``--steps-per-epoch``, the ``--set`` values it takes)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from schedalg.cli.reading import Reading


def is_deepspeed(data: Mapping[str, Any]) -> bool:
    block = data.get("scheduler")
    if isinstance(block, Mapping):
        return "type" in block
    return set(data) == {"type", "params"} and isinstance(data["params"], Mapping)


# Keys of TrainingArguments that a file holding its learning rate is read by: HF's own JSON
# always has lr_scheduler_type, a hand-written one may leave it to HF's default ('linear').
HF_KEYS = (
    "lr_scheduler_type",
    "learning_rate",
    "num_train_epochs",
    "max_steps",
    "warmup_ratio",
    "warmup_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "output_dir",
)


def is_hf(data: Mapping[str, Any]) -> bool:
    if "lr_scheduler_type" in data:
        return True
    return "learning_rate" in data and any(key in data for key in HF_KEYS[2:])


def times_lr(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # HF's schedule is a multiplier: --base lr wins over the file's learning_rate (HF's default).
    # The importer reads (and checks) learning_rate first, as HF's parser would.
    from schedalg.curves.metric import plateau

    schedule = read(data, steps_per_epoch=reading.steps_per_epoch)
    if isinstance(schedule, plateau):  # reduce_lr_on_plateau: the lr itself, from learning_rate
        return schedule
    return float(reading.base.get("lr", data.get("learning_rate", 5e-5))) * schedule


def lr_from_base(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # Without --base lr the importer reads the lr from the config's optimizer block.
    return read(data, lr=reading.base.get("lr"))


def deepspeed(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # A config written for the HF Trainer leaves "auto" to it: --base lr=..., and
    # --set total_num_steps=N / --set warmup_num_steps=N for the step counts.
    names = ("total_num_steps", "warmup_num_steps")
    auto = {name: reading.settings[name] for name in names if name in reading.settings}
    reading.used.update(auto)
    return read(data, lr=reading.base.get("lr"), auto=auto)


def script_variables(path: Any, reading: Reading) -> dict[str, str]:
    """The ``--set`` values a launch script reads as its shell variables, marked as used."""
    from schedalg.importers.megatron_script import variables_read

    names = variables_read(Path(path)) & set(reading.settings)
    reading.used.update(names)
    return {name: reading.settings[name] for name in names}


def launch_script(read: Callable[..., Any], path: Any, reading: Reading) -> Any:
    # Passed as a path: the reader never takes the script's text for a file name. The same
    # call serves the importer and its run_length, which take the same arguments.
    return read(Path(path), variables=script_variables(path, reading))


def lr_and_epochs(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # A run given in epochs: --steps-per-epoch gives its length, --base lr its peak.
    return read(data, steps_per_epoch=reading.steps_per_epoch, lr=reading.base.get("lr"))


def given_counts(reading: Reading, names: tuple[str, ...]) -> dict[str, int]:
    """The ``--set`` values among ``names`` as whole numbers, marked as used."""
    found = {}
    for name in names:
        if name in reading.settings:
            text = reading.settings[name]
            try:
                found[name] = int(text.replace("_", ""))
            except ValueError:
                raise ValueError(f"--set {name} must be a whole number, got {text!r}") from None
            reading.used.add(name)
    return found


def ultralytics(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # optimizer: auto picks the optimizer from the data set's size: --set images=N,classes=N.
    auto = given_counts(reading, ("images", "classes"))
    return read(
        data,
        steps_per_epoch=reading.steps_per_epoch,
        lr=reading.base.get("lr"),
        auto=auto or None,
    )


def yolov5(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    # A hyp file holds no run length: train.py's --epochs (default 100) is --set epochs=N here.
    return read(data, steps_per_epoch=reading.steps_per_epoch, **given_counts(reading, ("epochs",)))


def yolov5_call(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    return yolov5(lambda d, **kw: read(d, lr=reading.base.get("lr"), **kw), data, reading)


LITGPT_TRAIN_KEYS = ("lr_warmup_steps", "lr_warmup_fraction", "max_tokens")


def is_litgpt(data: Mapping[str, Any]) -> bool:
    train = data.get("train")
    return isinstance(train, Mapping) and (
        any(key in train for key in LITGPT_TRAIN_KEYS)
        or ("global_batch_size" in train and "micro_batch_size" in train)
    )


def litgpt_given(reading: Reading) -> dict[str, Any]:
    # pretrain's devices: auto and a model given by name: --set devices=N --set max_seq_length=N
    given: dict[str, Any] = dict(given_counts(reading, ("devices", "max_seq_length")))
    if "script" in reading.settings:
        given["script"] = reading.settings["script"]
        reading.used.add("script")
    return given


def litgpt(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    given = litgpt_given(reading)
    return read(data, steps_per_epoch=reading.steps_per_epoch, lr=reading.base.get("lr"), **given)


def litgpt_length(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    return read(data, steps_per_epoch=reading.steps_per_epoch, **litgpt_given(reading))


def detectron2(read: Callable[..., Any], path: Any, reading: Reading) -> Any:
    return read(path, lr=reading.base.get("lr"), config_root=reading.config_root)


def detectron2_length(read: Callable[..., Any], path: Any, reading: Reading) -> Any:
    return read(path, config_root=reading.config_root)


def is_llamafactory(data: Mapping[str, Any]) -> bool:
    # v0 training YAMLs name stage and finetuning_type; v1 ones model and train_dataset.
    return ("stage" in data and "finetuning_type" in data) or (
        "model" in data and "train_dataset" in data and "micro_batch_size" in data
    )


def looks_like(function: str) -> Callable[[Any], bool]:
    """A detector that lives in its importer (imported when a file is recognised)."""
    module, _, name = function.partition(":")

    def detect(data: Any) -> bool:
        found: bool = getattr(importlib.import_module(module), name)(data)
        return found

    return detect
