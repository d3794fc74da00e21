"""The schedule files the command line reads, one entry per format in ``FORMATS``: its name
(what ``--format-hint`` takes), a detector (does this data look like it?), the importer it
calls, and what the help and docs say of it. Everything that lists formats reads this table:
``--format-hint``'s names and help, the inputs' help, the one-line error for a file no format
fits and the table of docs/command-line.md (``markdown_table()``, checked against the page by
tests/test_cli_formats.py). A new importer's files are one entry: docs/adding-an-importer.md.

A ``.json``, ``.yaml``, ``.yml`` or ``.config`` file is read as data (never run), a ``.sh``
launch script as text (never run). ``schedalg.cli.inputs`` reads a schedalg ``to_dict`` file
before any format, and a ``config`` format (MMEngine's) with its config reader, which also reads
``.py`` configs.

Beside the file, a format's importer may take what the user gives on the command line
(``schedalg.cli.reading.Reading``): ``--base`` values, the optimizer steps per epoch
(``--steps-per-epoch``, for a run whose length is in epochs) and ``--set`` values.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.cli import sources
from schedalg.cli.errors import UserError
from schedalg.cli.reading import Reading, command_line_message

Labelled = list[tuple[str, Schedule]]


# How a format calls its importer: (the importer, the file's data, what the user gave).
Call = Callable[[Callable[..., Any], Any, Reading], Any]


def _with_data(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    return read(data)


def _with_epochs(read: Callable[..., Any], data: Any, reading: Reading) -> Any:
    return read(data, steps_per_epoch=reading.steps_per_epoch)


@dataclass(frozen=True)
class Format:
    """One kind of schedule file.

    ``importer`` is ``"module:function"``, imported only when a file is read as this format (the
    command line starts without importing every importer). ``call`` calls it, by default as
    ``importer(data)``; it returns a schedule (the ``lr``) or a mapping from parameter names to
    a schedule, or to a list of them, one per param group. ``length`` (``"module:function"``)
    gives the run's optimizer steps where the file fixes them (``function(data,
    steps_per_epoch=...)`` unless ``length_call`` calls it otherwise; ``None`` where the file
    does not fix them): the default of ``--steps``.
    ``by_path``: the importer (and ``length``) take the file's path instead of its data, for
    files that include others. ``text``: the file is read as text (a launch script), not data.
    ``keys`` are top-level keys a file of this format usually has and ``needs`` what it must
    have to be read as one: a file that has some ``keys`` but no format's telltale is told
    which format it looked like and what it lacks.
    """

    name: str
    title: str  # the file and its telltale key, as the error for a file no format fits says
    description: str  # markdown, one line: how a file is recognised (the docs table)
    importer: str
    curves: str  # markdown, one line: the curves a file gives (the docs table)
    detect: Callable[[Any], bool]
    call: Call = _with_data
    config: bool = False  # read by the config reader of schedalg.cli.inputs, not by call
    length: str | None = None
    length_call: Call = _with_epochs
    by_path: bool = False
    text: bool = False
    keys: tuple[str, ...] = ()
    needs: str = ""
    refines: tuple[str, ...] = ()  # formats whose files this one's are too: this reading wins

    def function(self, name: str | None = None) -> Callable[..., Any]:
        """The importer function (or another ``"module:function"``), imported now."""
        module, _, attribute = (name or self.importer).partition(":")
        found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
        return found

    def load(self, data: Any, reading: Reading) -> tuple[Labelled, int | None]:
        """The labelled schedules of the file's ``data`` and the run's length where known."""
        source = reading.path if self.by_path else data
        schedules = _labelled(self.call(self.function(), source, reading))
        length = None
        if self.length is not None:
            length = self.length_call(self.function(self.length), source, reading)
        return schedules, length


def _labelled(found: Any) -> Labelled:
    if isinstance(found, Schedule):
        return [("lr", found)]
    out: Labelled = []
    for key, value in found.items():
        if isinstance(value, list):
            out.extend((f"{key} (group {i})", schedule) for i, schedule in enumerate(value))
        else:
            out.append((key, value))
    return out


FORMATS: tuple[Format, ...] = (
    Format(
        name="hf",
        title="an HF TrainingArguments JSON (lr_scheduler_type)",
        description="`lr_scheduler_type` (what `TrainingArguments.to_json_string()` writes)",
        importer="schedalg.importers.hf:from_training_arguments",
        curves="`lr`: `learning_rate` (or `--base lr=...`) times the multiplier",
        detect=sources.is_hf,
        call=sources.times_lr,
        length="schedalg.importers.hf:run_length",
        keys=sources.HF_KEYS,
        needs="`lr_scheduler_type` or `learning_rate`",
    ),
    Format(
        name="axolotl",
        title="an axolotl config (base_model, micro_batch_size)",
        description="`base_model` and `micro_batch_size` (an axolotl YAML)",
        importer="schedalg.importers.axolotl:from_axolotl",
        curves="`lr`: `learning_rate` (or `--base lr=...`) on axolotl's schedule",
        detect=lambda data: "base_model" in data and "micro_batch_size" in data,
        call=sources.lr_and_epochs,
        length="schedalg.importers.axolotl:run_length",
        keys=("base_model", "micro_batch_size", "num_epochs", "lr_scheduler", "datasets"),
        needs="`base_model` and `micro_batch_size`",
        refines=("hf",),
    ),
    Format(
        name="llamafactory",
        title="a LLaMA-Factory training config (stage, finetuning_type)",
        description="`stage` and `finetuning_type` (a `llamafactory-cli train` YAML; v1: `model` "
        "and `train_dataset`)",
        importer="schedalg.importers.llamafactory:from_llamafactory",
        curves="`lr`: `learning_rate` (or `--base lr=...`) times HF's multiplier",
        detect=sources.is_llamafactory,
        call=sources.lr_and_epochs,
        length="schedalg.importers.llamafactory:run_length",
        keys=("stage", "finetuning_type", "model_name_or_path", "template", "dataset"),
        needs="`stage` and `finetuning_type`",
        refines=("hf",),
    ),
    Format(
        name="deepspeed",
        title="a DeepSpeed config (a scheduler block)",
        description="a `scheduler` block with a `type` (a whole DeepSpeed config), or just "
        '`{"type", "params"}`',
        importer="schedalg.importers.deepspeed:from_deepspeed",
        curves="`lr` (from the config's optimizer lr, or `--base lr=...`), and `momentum` for "
        "`OneCycle`; `lr (group i)` for per-group lists",
        detect=sources.is_deepspeed,
        call=sources.deepspeed,
        keys=(
            "optimizer",
            "train_batch_size",
            "train_micro_batch_size_per_gpu",
            "gradient_accumulation_steps",
            "zero_optimization",
            "fp16",
            "bf16",
        ),
        needs="a `scheduler` block with a `type`",
    ),
    Format(
        name="keras",
        title="a Keras schedule config (class_name, config)",
        description="`class_name` and a `config` mapping (`keras.optimizers.schedules.serialize`)",
        importer="schedalg.importers.keras:from_keras",
        curves="`lr`",
        detect=lambda data: "class_name" in data and isinstance(data.get("config"), Mapping),
        keys=("class_name", "config", "module", "registered_name"),
        needs="a `class_name` with a `config` mapping",
    ),
    Format(
        name="torchtune",
        title="a torchtune recipe config (lr_scheduler with _component_)",
        description="an `lr_scheduler` block with a `_component_` (`tune run <recipe> --config`)",
        importer="schedalg.importers.torchtune:from_torchtune",
        curves="`lr`: `optimizer.lr` (or `--base lr=...`) on torchtune's curve; the run is "
        "`epochs` times `--steps-per-epoch` (capped by `max_steps_per_epoch`), else `total`",
        detect=lambda data: (
            isinstance(data.get("lr_scheduler"), Mapping) and "_component_" in data["lr_scheduler"]
        ),
        call=sources.lr_and_epochs,
        length="schedalg.importers.torchtune:run_length",
        keys=("lr_scheduler", "optimizer", "epochs", "max_steps_per_epoch"),
        needs="an `lr_scheduler` with a `_component_`",
    ),
    Format(
        name="litgpt",
        title="a litgpt config (train with lr_warmup_steps / max_tokens)",
        description="a `train` block with `lr_warmup_steps`, `lr_warmup_fraction` or "
        "`max_tokens`, or `global_batch_size` and `micro_batch_size` (litgpt's `config_hub`)",
        importer="schedalg.importers.litgpt:from_litgpt",
        curves="`lr`: the optimizer's lr (or `--base lr=...`); finetune: `--steps-per-epoch`; "
        "pretrain: `--set devices=N` for `devices: auto`, `--set max_seq_length=N` for a model "
        "name",
        detect=sources.is_litgpt,
        call=sources.litgpt,
        length="schedalg.importers.litgpt:run_length",
        length_call=sources.litgpt_length,
        keys=("train", "optimizer", "devices", "num_nodes", "model_name", "checkpoint_dir"),
        needs="a `train` block with `lr_warmup_steps`, `max_tokens` or the batch sizes",
    ),
    Format(
        name="lightning-cli",
        title="a LightningCLI config (optimizer/lr_scheduler with class_path)",
        description="an `optimizer` or `lr_scheduler` with a `class_path`, or a `trainer` block "
        "beside them (`main.py fit --config`, `--print_config`)",
        importer="schedalg.importers.lightning_cli:from_lightning_cli",
        curves="`lr` (and `momentum` for OneCycleLR/CyclicLR), stepped per epoch "
        "(`--steps-per-epoch`); `lr (monitor: NAME)` for ReduceLROnPlateau",
        detect=sources.looks_like("schedalg.importers.lightning_cli:looks_like"),
        call=sources.lr_and_epochs,
        length="schedalg.importers.lightning_cli:run_length",
        keys=("trainer", "model", "data", "optimizer", "lr_scheduler", "seed_everything"),
        needs="an `optimizer` or `lr_scheduler` with a `class_path`",
    ),
    Format(
        name="ultralytics",
        title="an ultralytics training config (lr0, lrf)",
        description="`lr0` and `lrf` without `anchor_t` (ultralytics' `cfg/default.yaml`, a "
        "run's `args.yaml`)",
        importer="schedalg.importers.ultralytics:from_ultralytics",
        curves="`lr (group i)` per batch for its param groups, `momentum` for SGD/RMSprop/MuSGD; "
        "needs `--steps-per-epoch` (batches per epoch), and `--set images=N --set classes=N` "
        "for `optimizer: auto`",
        detect=lambda data: "lr0" in data and "lrf" in data and "anchor_t" not in data,
        call=sources.ultralytics,
        length="schedalg.importers.ultralytics:run_length",
        keys=("lr0", "lrf", "warmup_epochs", "epochs", "optimizer", "cos_lr"),
        needs="`lr0` and `lrf`",
    ),
    Format(
        name="yolov5",
        title="a yolov5 hyp file (lr0, lrf, anchor_t)",
        description="`lr0`, `lrf` and `anchor_t` (yolov5's `data/hyps/hyp.*.yaml`)",
        importer="schedalg.importers.ultralytics:from_yolov5",
        curves="`lr (group i)` per batch (biases first), `momentum`; `train.py`'s defaults (100 "
        "epochs, or `--set epochs=N`; SGD, no `--cos-lr`); needs `--steps-per-epoch` (batches per "
        "epoch)",
        detect=lambda data: "lr0" in data and "lrf" in data and "anchor_t" in data,
        call=sources.yolov5_call,
        length="schedalg.importers.ultralytics:yolov5_run_length",
        length_call=sources.yolov5,
        keys=("lr0", "lrf", "anchor_t", "momentum", "warmup_epochs", "box", "cls"),
        needs="`lr0` and `lrf`",
    ),
    Format(
        name="detectron2",
        title="a detectron2 YAML config (SOLVER or _BASE_)",
        description="a `SOLVER` mapping or a `_BASE_` (detectron2's yacs configs; bases read "
        "relative to the file, within its `configs` tree or `--config-root`)",
        importer="schedalg.importers.detectron2:from_detectron2",
        curves="`lr`: `SOLVER.BASE_LR` (or `--base lr=...`) on detectron2's per-iteration curve",
        detect=lambda data: "_BASE_" in data or isinstance(data.get("SOLVER"), Mapping),
        call=sources.detectron2,
        length="schedalg.importers.detectron2:run_length",
        length_call=sources.detectron2_length,
        by_path=True,
        keys=("MODEL", "INPUT", "DATASETS", "DATALOADER", "TEST", "OUTPUT_DIR", "VERSION"),
        needs="a `SOLVER` mapping or a `_BASE_`",
    ),
    Format(
        name="megatron",
        title="a Megatron-LM launch script (a .sh running pretrain_*.py with --train-iters)",
        description="a `.sh` script running `pretrain_*.py`/`train*.py` with `--train-iters` or "
        "`--train-samples` (read as text, never run; `--set NAME=VALUE` gives its variables)",
        importer="schedalg.importers.megatron_script:from_launch_script",
        curves="`lr`, `weight_decay` (and `decoupled_lr`), per iteration",
        detect=lambda text: bool(
            re.search(r"(?:pretrain|train|finetune)\w*\.py\b", text)
            and re.search(r"--train-(?:iters|samples)\b", text)
        ),
        call=sources.launch_script,
        length="schedalg.importers.megatron_script:run_length",
        length_call=sources.launch_script,
        by_path=True,
        text=True,
        needs="a training command (`pretrain_*.py`) with `--train-iters` or `--train-samples`",
    ),
    Format(
        name="mmengine",
        title="an MMEngine config (param_scheduler)",
        description="`param_scheduler`, whatever else the file holds (and any `.py` config)",
        importer="schedalg.importers.mmengine.convert:from_config",
        curves="one per parameter",
        detect=lambda data: "param_scheduler" in data,
        config=True,
        keys=("optim_wrapper", "optimizer", "train_cfg", "default_hooks", "model", "_base_"),
        needs="a `param_scheduler`",
    ),
)
# schedalg's own data, read before any format: named in the error for a file none fits.
TO_DICT = "a schedalg to_dict file (schedalg)"


def hints() -> tuple[str, ...]:
    """The names ``--format-hint`` takes."""
    return tuple(f.name for f in FORMATS)


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def hint_help() -> str:
    """``--format-hint``'s help."""
    return f"read .json/.yaml inputs as {_either(hints())} (default: recognised from their keys)"


def files_help() -> str:
    """The inputs' help on schedule files: the formats read as data alone."""
    names = [f.name for f in FORMATS if not (f.config or f.text)]
    scripts = [f.name for f in FORMATS if f.text]
    return (
        f"a .json/.yaml/.config schedule file of {_either(names)}"
        + (f", a .sh launch script of {_either(scripts)}" if scripts else "")
        + " (see --format-hint)"
    )


def tried() -> str:
    """Every kind of data file, for the error of a file none fits: the formats read as data,
    then schedalg's own, then the configs (the order the message has always had)."""
    titles = [f.title for f in FORMATS if not (f.config or f.text)]
    return "; ".join([*titles, TO_DICT, *(f.title for f in FORMATS if f.config)])


def markdown_table() -> str:
    """The table of formats in docs/command-line.md (the page holds it verbatim)."""
    rows = [
        "| format (`--format-hint`) | recognised by | read with | curves |",
        "|---|---|---|---|",
    ]
    for f in FORMATS:
        read_with = f"`{f.importer.replace(':', '.')}`"
        rows.append(f"| `{f.name}` | {f.description} | {read_with} | {f.curves} |")
    return "\n".join(rows) + "\n"


def by_name(hint: str) -> Format:
    """The format ``--format-hint`` names; an unknown name is a user error with a suggestion."""
    names = hints()
    if hint not in names:
        close = difflib.get_close_matches(hint, names, n=1)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(
            f"--format-hint must be one of {', '.join(names)}, got {hint!r}{suggestion}"
        )
    return FORMATS[names.index(hint)]


def _candidates(path: str, data: Any, hint: str | None) -> list[Format]:
    text = isinstance(data, str)
    if hint is not None:
        chosen = by_name(hint)
        if chosen.text != text and not chosen.config:
            held = "a launch script's text" if chosen.text else "a mapping"
            raise UserError(f"{path}: a {hint} file holds {held}, got {type(data).__name__}")
        if not (chosen.config or text or isinstance(data, Mapping)):
            raise UserError(f"{path}: a {hint} file holds a mapping, got {type(data).__name__}")
        return [chosen]
    if text:
        found = [f for f in FORMATS if f.text and f.detect(data)]
    else:
        found = [f for f in FORMATS if not f.text and isinstance(data, Mapping) and f.detect(data)]
    refined = {name for f in found for name in f.refines}
    return [f for f in found if f.name not in refined]


def _unrecognised(path: str, data: Any) -> str:
    """The error for a file no format fits: the format it looks most like and what it lacks,
    else every format tried."""
    if isinstance(data, str):
        scripts = [f.title for f in FORMATS if f.text]
        return f"{path}: not a launch script I recognise (tried {'; '.join(scripts)})"
    if isinstance(data, Mapping):
        shared = {f.name: [k for k in f.keys if k in data] for f in FORMATS}
        best = max(FORMATS, key=lambda f: len(shared[f.name]))
        if shared[best.name]:
            keys = ", ".join(repr(k) for k in shared[best.name])
            return (
                f"{path}: not a schedule file I recognise: it has {keys} like {best.title}, "
                f"but not {best.needs} (pass --format-hint {best.name} to read it as one)"
            )
    return f"{path}: not a schedule file I recognise (tried {tried()})"


def recognise(
    path: str, data: Any, hint: str | None, reading: Reading
) -> tuple[Labelled, int | None] | None:
    """The schedules of a data file in one of ``FORMATS``, and the run's length where the file
    gives it; ``None`` for a config format (the config reader takes it, whatever other format
    the file also fits). ``hint`` (a format's name) skips the detection; a file no format fits
    is an error naming the format it looks like, or every format tried."""
    chosen = _candidates(path, data, hint)
    if any(f.config for f in chosen):
        return None
    if not chosen:
        raise UserError(_unrecognised(path, data))
    if len(chosen) > 1:
        names = " and ".join(f.name for f in chosen)
        raise UserError(f"{path} reads as {names}: pass --format-hint NAME to choose")
    try:
        schedules, length = chosen[0].load(data, reading)
    except ImportError as error:
        raise UserError(f"cannot read {path} as {chosen[0].name}: {error}") from None
    except (ValueError, TypeError, KeyError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        message = command_line_message(message)
        raise UserError(f"{path} (read as {chosen[0].name}): {message}") from None
    except ArithmeticError as error:
        # A number past the floats (1e308 epochs, an integer of 400 digits) where an importer
        # computes with it: no curve the source could run either.
        raise UserError(
            f"{path} (read as {chosen[0].name}): a value is out of range: {error}"
        ) from None
    except RecursionError:
        raise UserError(f"{path} (read as {chosen[0].name}): nested too deeply to read") from None
    except MemoryError:
        raise UserError(f"{path} (read as {chosen[0].name}): too large to read") from None
    name = os.path.basename(path)
    return [(f"{name}: {label}", schedule) for label, schedule in schedules], length
