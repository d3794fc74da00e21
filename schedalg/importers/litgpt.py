"""litgpt's config hub YAMLs (``litgpt pretrain|finetune_* --config file``) as schedalg expressions.

``from_litgpt(config, steps_per_epoch=None, lr=None)`` returns the learning rate of each
optimizer update, absolute values. litgpt's two kinds of script schedule it differently
(litgpt 0.5.13), and which one reads the file is detected (or given as ``script=``):

- ``pretrain`` (``litgpt/pretrain.py``) sets the lr itself before every *micro-batch iteration*
  ``it``: ``get_lr(lr, it, warmup_iters, max_iters, min_lr)``, ``lr * it / W`` for ``it < W``,
  then ``min_lr + (lr - min_lr) * (1 + cos(pi (it - W) / (M - W))) / 2``, ``min_lr`` past ``M``.
  ``M = max_tokens // world // (micro_batch_size * max_seq_length)`` iterations,
  ``W = min(M, lr_warmup_steps * A)`` with ``A = global_batch_size // world // micro_batch_size``
  iterations per update, and update ``k`` steps at iteration ``A (k + 1) - 1``: the expression
  reads the curve there (``warp``). So it needs the world size, ``devices * num_nodes`` (the
  config hub's ``devices: auto`` needs ``devices=N``), and the sequence length
  (``train.max_seq_length``, else ``model_config.block_size``; a ``model_name`` alone needs
  ``max_seq_length=N``, the model's block size). ``train.max_steps`` and ``max_time`` do not stop
  pretraining in 0.5.13 (``max_steps`` only warns) and are ignored; ``lr_warmup_fraction`` is a
  fraction of ``len(train_dataloader)``, which no file gives: refused.
- ``finetune`` (``litgpt/finetune/{lora,full,adapter,adapter_v2,lora_legacy}.py``) steps
  ``SequentialLR([LambdaLR(step / W), CosineAnnealingLR(T_max=N - W)], milestones=[W])`` after
  every update, ``W = train.lr_warmup_steps``: ``lr * t / W``, then torch's cosine from ``lr`` to 0
  over ``N - W`` updates (periodic past its end, as torch's is), with
  ``N = min(epochs * steps_per_epoch, max_steps)``. ``steps_per_epoch`` is litgpt's own
  ``len(train_dataloader) // gradient_accumulation_iters``. Without it, ``max_steps`` (if set) is
  taken as ``N`` (the data lasting that long), else ``N`` is the placeholder ``total``.

Detection: a key only one script's ``setup`` accepts (``model_name``, ``model_config``,
``initial_checkpoint_dir``, ``tokenizer_dir``: pretrain; ``checkpoint_dir``, ``access_token``:
finetune), else the one length each script requires (``train.max_tokens``: pretrain,
``train.epochs``: finetune). Settings the file leaves out take that script's defaults. Numbers
are read as jsonargparse reads them for a float field: ``4e-4`` (a string to PyYAML) is 0.0004.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schedalg.algebra.combinators import sequence, warmup
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.horizon import Quantity, total
from schedalg.algebra.timewarps import warp
from schedalg.algebra.units import absolute
from schedalg.core import validators as check
from schedalg.curves.primitives import cosine, elapsed, linear
from schedalg.importers import options as opt

__all__ = ["PRETRAIN", "FINETUNE", "TORCH_LRS", "TRAIN_DEFAULTS", "from_litgpt", "run_length"]

_FN = "from_litgpt"
PRETRAIN = "pretrain"
FINETUNE = "finetune"

_TRAIN_COMMON = {
    "save_interval": 1000,
    "log_interval": 1,
    "lr_warmup_fraction": None,
    "max_steps": None,
    "max_time": None,
    "max_seq_length": None,
}
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    PRETRAIN: {
        **_TRAIN_COMMON,
        "global_batch_size": 512,
        "micro_batch_size": 4,
        "lr_warmup_steps": 2000,
        "epochs": None,
        "max_tokens": 3_000_000_000_000,
        "tie_embeddings": False,
        "max_norm": 1.0,
        "min_lr": 4e-5,
    },
    FINETUNE: {
        **_TRAIN_COMMON,
        "global_batch_size": 16,
        "micro_batch_size": 1,
        "lr_warmup_steps": 100,
        "epochs": 5,
        "max_tokens": None,
        "tie_embeddings": None,
        "max_norm": None,
        "min_lr": 6e-5,
    },
}
"""The ``train`` (``TrainArgs``) each script's ``setup`` defaults to, litgpt 0.5.13."""

_SCRIPT_DEFAULTS: dict[str, dict[str, Any]] = {
    PRETRAIN: {"devices": "auto", "num_nodes": 1, "optimizer": "AdamW"},
    FINETUNE: {"devices": 1, "num_nodes": 1, "optimizer": "AdamW"},
}
# The keys of a config that only one script's setup() accepts.
_ONLY = {
    PRETRAIN: ("model_name", "model_config", "initial_checkpoint_dir", "tokenizer_dir"),
    FINETUNE: ("checkpoint_dir", "access_token"),
}
_BLOCK_SIZE = 4096  # litgpt.Config's default block_size

TORCH_LRS: dict[str, float] = {
    "Adafactor": 0.01,
    "Adadelta": 1.0,
    "Adagrad": 0.01,
    "Adam": 0.001,
    "Adamax": 0.002,
    "AdamW": 0.001,
    "ASGD": 0.01,
    "LBFGS": 1.0,
    "Muon": 0.001,
    "NAdam": 0.002,
    "RAdam": 0.001,
    "RMSprop": 0.01,
    "Rprop": 0.01,
    "SGD": 0.001,
    "SparseAdam": 0.001,
}
"""The default lr of each ``torch.optim`` class (torch 2.13): an ``optimizer`` given by name."""

# What jsonargparse takes as a float field's value (``4e-4``, ``1_0.5``, ``.5``), not inf/nan.
_FLOAT_TEXT = re.compile(r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?")


def _float(name: str, value: Any, *, at_least: float | None = None) -> float:
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
        value = float(value.replace("_", ""))
    return check.real(_FN, name, value, at_least=at_least)


def _count(name: str, value: Any, minimum: int = 1) -> int:
    return check.integer(_FN, name, value, minimum=minimum, wrong_type=ValueError)


def _script(config: Mapping[str, Any], script: str | None) -> str:
    if script is not None:
        return opt.pick(_FN, "script", script, (PRETRAIN, FINETUNE))
    found = {name for name, keys in _ONLY.items() if any(key in config for key in keys)}
    if not found:
        train: Any = config.get("train")
        train = train if isinstance(train, Mapping) else {}
        if train.get("max_tokens") is not None:
            found.add(PRETRAIN)
        if train.get("epochs") is not None:
            found.add(FINETUNE)
    if len(found) == 1:
        return found.pop()
    why = "it has keys of both" if found else "no key tells"
    raise ValueError(
        f"{_FN}(): cannot tell whether litgpt's pretrain or finetune script reads this config "
        f"({why}): pass script='pretrain' or script='finetune'"
    )


class _Run:
    """A config read for one script: its ``train`` with the script's defaults, and the rest."""

    def __init__(self, config: Any, script: str | None) -> None:
        if not isinstance(config, Mapping):
            raise TypeError(f"{_FN}(): config must be a litgpt config (a mapping), got {config!r}")
        self.script = _script(config, script)
        given = config.get("train") or {}
        self.train = opt.options(_FN, "train", given, TRAIN_DEFAULTS[self.script])
        self.config = {**_SCRIPT_DEFAULTS[self.script], **config}
        fraction = self.train["lr_warmup_fraction"]
        if fraction and self.train["lr_warmup_steps"]:
            raise ValueError(
                f"{_FN}(): litgpt takes only one of train.lr_warmup_fraction and "
                f"train.lr_warmup_steps, got {fraction!r} and {self.train['lr_warmup_steps']!r}"
            )
        if fraction:
            raise ValueError(
                f"{_FN}(): train.lr_warmup_fraction ({fraction!r}) is a fraction of "
                f"len(train_dataloader), which the config does not give"
                + (" (and the finetune scripts refuse it)" if self.script == FINETUNE else "")
                + ": give train.lr_warmup_steps"
            )
        refused = "epochs" if self.script == PRETRAIN else "max_tokens"
        if self.train[refused] is not None:
            raise ValueError(
                f"{_FN}(): litgpt's {self.script} script does not take train.{refused} (got "
                f"{self.train[refused]!r})"
            )

    def peak(self, lr: float | None) -> float:
        if lr is not None:
            return _float("lr", lr, at_least=0)
        optimizer = self.config["optimizer"]
        args: Mapping[str, Any]
        if isinstance(optimizer, str):
            path, args = (optimizer if "." in optimizer else f"torch.optim.{optimizer}"), {}
        elif isinstance(optimizer, Mapping) and isinstance(optimizer.get("class_path"), str):
            path, args = optimizer["class_path"], optimizer.get("init_args") or {}
        else:
            raise TypeError(
                f"{_FN}(): optimizer must be a class name or a mapping with class_path, got "
                f"{optimizer!r}"
            )
        if "lr" in args:
            return _float("optimizer.init_args.lr", args["lr"], at_least=0)
        module, _, name = path.rpartition(".")
        quantize = self.config.get("quantize")
        bnb = self.script == FINETUNE and isinstance(quantize, str) and quantize.startswith("bnb.")
        if module == "torch.optim" and name in TORCH_LRS and not bnb:
            return TORCH_LRS[name]
        owner = "bitsandbytes' PagedAdamW (quantize: bnb.*)" if bnb else repr(path)
        raise ValueError(
            f"{_FN}(): the optimizer {owner} is given no lr and its default is not known here: "
            "pass lr=..."
        )

    # -- pretrain ----------------------------------------------------------------------------

    def accumulation(self, devices: int | None) -> tuple[int, int]:
        """The world size and the iterations per update (``gradient_accumulation_iters``)."""
        value = self.config["devices"] if devices is None else devices
        if not check.is_integer(value) or value < 1:
            raise ValueError(
                f"{_FN}(): devices is {value!r}: pass devices=N (the devices per node; litgpt's "
                "pretrain divides global_batch_size and max_tokens by devices * num_nodes)"
            )
        world = int(value) * _count("num_nodes", self.config["num_nodes"])
        batch = _count("train.global_batch_size", self.train["global_batch_size"]) // world
        micro = _count("train.micro_batch_size", self.train["micro_batch_size"])
        if batch // micro < 1:
            raise ValueError(
                f"{_FN}(): litgpt needs global_batch_size // (devices * num_nodes) // "
                f"micro_batch_size >= 1, got {self.train['global_batch_size']} // {world} // "
                f"{micro}"
            )
        return world, batch // micro

    def sequence_length(self, given: int | None) -> int:
        if given is not None:
            return _count("max_seq_length", given)
        if self.train["max_seq_length"]:
            return _count("train.max_seq_length", self.train["max_seq_length"])
        model = self.config.get("model_config")
        if isinstance(model, Mapping):
            return _count("model_config.block_size", model.get("block_size", _BLOCK_SIZE))
        raise ValueError(
            f"{_FN}(): train.max_seq_length is not set and the model's block_size is not in the "
            f"config (model_name {self.config.get('model_name')!r}): pass max_seq_length=N"
        )

    def iterations(self, devices: int | None, seq: int | None) -> tuple[int, int, int]:
        """``(A, W, M)``: iterations per update, of warm-up, and in all."""
        world, per_update = self.accumulation(devices)
        micro = self.train["micro_batch_size"]
        if self.train["max_tokens"] is None:
            raise ValueError(f"{_FN}(): litgpt's pretrain script needs train.max_tokens")
        tokens = _count("train.max_tokens", self.train["max_tokens"])
        most = tokens // world // (micro * self.sequence_length(seq))
        if most // per_update < 1:
            raise ValueError(
                f"{_FN}(): train.max_tokens ({tokens}) is less than one optimizer update: "
                f"{check.shown(per_update)} iterations (global_batch_size // (devices * "
                f"num_nodes) // micro_batch_size) of {micro} x "
                f"{check.shown(self.sequence_length(seq))} tokens (micro_batch_size x "
                f"max_seq_length) on {world} devices"
            )
        steps = self.train["lr_warmup_steps"]
        warm = min(most, _count("train.lr_warmup_steps", steps) * per_update) if steps else 0
        return per_update, warm, most

    def pretrain(self, lr: float, devices: int | None, seq: int | None) -> Schedule:
        per_update, warm, most = self.iterations(devices, seq)
        low = _float("train.min_lr", self.train["min_lr"])
        if most > warm:
            shape = cosine(most - warm)
            decay = low + (lr - low) * shape if low else lr * shape
        else:
            decay = constant(low)
        curve = sequence(linear(0.0, lr, warm), decay, at=[warm]) if warm else decay
        if per_update == 1:
            return curve
        return warp(curve, per_update * elapsed() + (per_update - 1))

    # -- finetune ----------------------------------------------------------------------------

    def finetune_steps(self, steps_per_epoch: int | None) -> Any:
        """``N``: a count, or ``total`` (a quantity, typed Any as the constructors take it)."""
        epochs = self.train["epochs"]
        if epochs is None:
            raise ValueError(f"{_FN}(): litgpt's finetune scripts need train.epochs")
        epochs = _count("train.epochs", epochs)
        cap = self.train["max_steps"]
        cap = _count("train.max_steps", cap) if cap else None  # litgpt: `max_steps or inf`
        if steps_per_epoch is None:
            return total if cap is None else cap
        per = check.integer(_FN, "steps_per_epoch", steps_per_epoch, minimum=1)
        if cap is not None:
            return min(epochs * per, cap)
        # Each count is below 2**1024, their product need not be.
        what = f"train.epochs {check.shown(epochs)} * steps_per_epoch {check.shown(per)}"
        return check.in_float_range(_FN, what, epochs * per)

    def finetune(self, lr: float, steps_per_epoch: int | None) -> Schedule:
        w = self.train["lr_warmup_steps"]
        if not w:
            raise ValueError(
                f"{_FN}(): litgpt's finetune scripts divide by train.lr_warmup_steps "
                f"(LambdaLR(lambda step: step / warmup_steps)): it must be at least 1, got {w!r}"
            )
        w = _count("train.lr_warmup_steps", w)
        n = self.finetune_steps(steps_per_epoch)
        if isinstance(n, Quantity):
            return lr * warmup(cosine(n - w, periodic=True), w)
        if n == w:
            raise ValueError(
                f"{_FN}(): the run ({n} updates) ends where its warm-up does: litgpt's "
                "CosineAnnealingLR(T_max=0) divides by zero at the milestone"
            )
        if n < w:
            # The run ends inside the warm-up: the SequentialLR never reaches its cosine.
            return lr * linear(0.0, 1.0, w)
        return lr * warmup(cosine(n - w, periodic=True), w)


def run_length(
    config: Mapping[str, Any],
    *,
    steps_per_epoch: int | None = None,
    script: str | None = None,
    devices: int | None = None,
    max_seq_length: int | None = None,
) -> int | None:
    """The run's optimizer updates where known: pretrain's ``max_iters // A``; finetune's
    ``N`` (the scheduler's length; litgpt runs ``epochs * len(train_dataloader) // A`` updates,
    a few more when the accumulation does not divide an epoch), None where it is ``total``."""
    run = _Run(config, script)
    if run.script == PRETRAIN:
        per_update, _, most = run.iterations(devices, max_seq_length)
        return most // per_update
    steps = run.finetune_steps(steps_per_epoch)
    return steps if isinstance(steps, int) else None


def from_litgpt(
    config: Mapping[str, Any],
    *,
    steps_per_epoch: int | None = None,
    lr: float | None = None,
    script: str | None = None,
    devices: int | None = None,
    max_seq_length: int | None = None,
) -> Schedule:
    """The learning rate of each optimizer update of litgpt's ``script`` (``"pretrain"`` or
    ``"finetune"``; detected when not given) run on ``config``.

    ``steps_per_epoch`` (finetune) is ``len(train_dataloader) // gradient_accumulation_iters``;
    ``lr`` overrides the optimizer's; ``devices`` (pretrain) the config's ``devices``, needed
    where it is ``auto``; ``max_seq_length`` (pretrain) the sequence length, needed where the
    config names a model without ``train.max_seq_length`` (and overriding it where given).
    """
    run = _Run(config, script)
    peak = run.peak(lr)
    if run.script == PRETRAIN:
        if steps_per_epoch is not None:
            raise ValueError(
                f"{_FN}(): litgpt's pretrain script runs for train.max_tokens, not epochs: "
                f"steps_per_epoch does not apply (got {steps_per_epoch!r})"
            )
        return absolute(run.pretrain(peak, devices, max_seq_length))
    for name, value in (("devices", devices), ("max_seq_length", max_seq_length)):
        if value is not None:
            raise ValueError(
                f"{_FN}(): {name} does not change a finetune script's schedule (got {value!r})"
            )
    return absolute(run.finetune(peak, steps_per_epoch))
