"""LightningCLI configs (``python main.py fit --config config.yaml``) as schedalg expressions.

``from_lightning_cli(config, steps_per_epoch=None, lr=None)`` takes the YAML that LightningCLI
reads (or writes with ``--print_config``), as a dict, and returns ``{"lr": ...}`` (and
``"momentum"`` where OneCycleLR or CyclicLR cycle it): the optimizer's values at optimizer step
``t``. ``run_length(config, steps_per_epoch=None)`` gives the run's optimizer steps.

What LightningCLI does with the file (lightning 2.6's ``lightning/pytorch/cli.py``):

- The top-level ``optimizer`` and ``lr_scheduler`` (``class_path`` and ``init_args``, or a bare
  class name such as ``StepLR``) are built on the model's parameters by
  ``LightningCLI.configure_optimizers``, which returns ``[optimizer], [scheduler]``: Lightning's
  default ``interval="epoch"``, ``frequency=1``. So the scheduler steps once per epoch, at the
  end of the epoch, after its last optimizer step: the lr of optimizer step ``t`` is the torch
  scheduler's lr after ``t // steps_per_epoch`` steps, ``per_epoch(curve, steps_per_epoch)``.
  The curve is the torch class's own, built on a stand-in optimizer and converted by
  ``from_torch`` (``schedalg.importers.torch.kwargs``).
- ``ReduceLROnPlateau`` (the bare name, or ``lightning.pytorch.cli.ReduceLROnPlateau``) is
  Lightning's subclass with a ``monitor``: Lightning steps it at the end of each training epoch
  with ``trainer.callback_metrics[monitor]``. It becomes a ``plateau`` node starting at the
  optimizer's lr (absolute values), labelled ``lr (monitor: <name>)``: feed it that metric once
  per epoch. torch's own ``torch.optim.lr_scheduler.ReduceLROnPlateau`` has no monitor, and
  Lightning refuses it.
- Without a top-level ``optimizer`` LightningCLI keeps the model's own
  ``configure_optimizers`` and ignores ``lr_scheduler``; an ``optimizer``/``lr_scheduler`` given
  among the model's ``init_args`` is the model's argument, stepped however the model's code says:
  neither is read (refused, saying so).
- The run ends at ``trainer.max_steps`` optimizer steps or ``trainer.max_epochs`` epochs,
  whichever comes first; with neither, Lightning runs 1000 epochs; ``max_epochs: -1`` with no
  ``max_steps`` runs without end.

Values are read as jsonargparse reads them for the torch signatures: a YAML ``1e-3`` (a string
to PyYAML) is a float where the option is a float, ``"2"`` an int where it is an int, and a
float where an int is required is refused. ``steps_per_epoch`` is the optimizer updates per
epoch: the batches of an epoch (after ``limit_train_batches``) divided by
``accumulate_grad_batches``, rounded up.

Refused, saying why: scheduler classes outside ``torch.optim`` (their code is not read),
``LambdaLR``/``MultiplicativeLR`` (functions), ``SequentialLR``/``ChainedScheduler`` (LightningCLI
cannot build their nested schedulers), a ``OneCycleLR`` the run steps past ``total_steps`` (torch
extrapolates, then raises), ``fast_dev_run``, and a ``StochasticWeightAveraging`` callback (it
swaps the scheduler for SWALR mid-run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from schedalg.algebra.combinators import per_epoch
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.units import absolute
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.importers import options as opt

_FN = "from_lightning_cli"
_LIGHTNING_PLATEAU = (
    "ReduceLROnPlateau",
    "lightning.pytorch.cli.ReduceLROnPlateau",
    "pytorch_lightning.cli.ReduceLROnPlateau",
)
_BLOCK_KEYS = {"class_path": ..., "init_args": None, "dict_kwargs": None}
# The optimizer options a schedule depends on: its lr, and what CyclicLR/OneCycleLR cycle.
_SCHEDULE_OPTIONS = ("lr", "momentum", "betas")
_DEFAULT_EPOCHS = 1000  # Lightning's max_epochs when neither max_epochs nor max_steps is set
_TRAINER = {"max_epochs": "int | None", "max_steps": "int"}


# -- reading values as jsonargparse types them ------------------------------------------------


def _words(annotation: str) -> set[str]:
    """The type names of an annotation's text, without its Literal values (``'min'``)."""
    return set(re.findall(r"[A-Za-z_]+", re.sub(r"'[^']*'|\"[^\"]*\"", "", annotation)))


def typed(owner: str, name: str, value: Any, annotation: str) -> Any:
    """``value`` as jsonargparse reads it for an option annotated ``annotation`` (text): a
    numeric string is a float for a float option and an integral string an int for an int
    option; a float for an int option, or a bool for a number, is refused."""
    words = _words(annotation)
    if isinstance(value, (list, tuple)) and words & {"list", "tuple", "Iterable", "Sequence"}:
        return [typed(owner, name, item, annotation) for item in value]
    if value is None or not words:
        return value
    if isinstance(value, bool):
        if "bool" in words or not words & {"int", "float"}:
            return value
        raise ValueError(f"{_FN}(): {owner} {name} must be a number, got {value!r}")
    if "float" in words:
        return _float(owner, name, value)
    if "int" in words:
        return _int(owner, name, value)
    if "bool" in words and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _float(owner: str, name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{_FN}(): {owner} {name} must be a float, got {value!r}") from None
    if isinstance(value, int):
        # jsonargparse's float() of one past the range raises OverflowError.
        return float(check.in_float_range(_FN, f"{owner} {name}", value))
    return value


def _int(owner: str, name: str, value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    if isinstance(value, (float, str)):
        raise ValueError(f"{_FN}(): {owner} {name} must be an int (LightningCLI refuses {value!r})")
    return value


# -- the blocks of the file -------------------------------------------------------------------


def _fit(config: Any) -> Mapping[str, Any]:
    """The options of ``fit``: the file itself, or its ``fit`` block (a config given before the
    subcommand, ``main.py --config config.yaml fit``)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{_FN}(): config must be a dict, got {config!r}")
    fit = config.get("fit")
    if not isinstance(fit, Mapping):
        return config
    clash = [key for key in ("trainer", "optimizer", "lr_scheduler") if key in config]
    if clash:
        raise ValueError(
            f"{_FN}(): the config has a fit block and a top-level {clash[0]}: LightningCLI "
            "reads one or the other, depending on where --config is given"
        )
    return fit


def _block(what: str, value: Any) -> tuple[str | None, dict[str, Any]]:
    """``(class_path, init_args)`` of a class block (a mapping, or a bare class name); a mapping
    without ``class_path`` holds the init args of a class fixed in code (``class_path`` None)."""
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{_FN}(): {what} must be a class name or a dict, got {value!r}")
    if "class_path" not in value:
        return None, dict(value)
    block = opt.options(_FN, what, value, _BLOCK_KEYS)
    if not isinstance(block["class_path"], str):
        raise ValueError(f"{_FN}(): {what} class_path must be a string, got {value!r}")
    args: dict[str, Any] = {}
    for key in ("init_args", "dict_kwargs"):
        extra = block[key] or {}
        if not isinstance(extra, Mapping):
            raise ValueError(f"{_FN}(): {what} {key} must be a dict, got {extra!r}")
        args.update(extra)
    return block["class_path"], args


def _class_name(class_path: str, table: Mapping[str, type], modules: tuple[str, ...]) -> str | None:
    """The class's name where ``class_path`` names a class of ``table`` (a bare name, or the
    dotted path of one of ``modules`` or of its own module), else ``None``."""
    module, _, name = class_path.rpartition(".")
    cls = table.get(name)
    if cls is None or module not in ("", cls.__module__, *modules):
        return None
    return name


def _model_scheduler(fit: Mapping[str, Any]) -> str:
    """Where the model's own init args hold an optimizer or scheduler: said in the refusal."""
    model = fit.get("model")
    if not isinstance(model, Mapping):
        return ""
    args = model.get("init_args") if "class_path" in model else model
    named = [k for k in args or {} if "optim" in str(k) or "sched" in str(k)]
    if not named:
        return ""
    prefix = "model.init_args" if "class_path" in model else "model"
    return (
        f" ({', '.join(f'{prefix}.{k}' for k in named)}: the model's own arguments, not read: "
        "the model's configure_optimizers steps them as its code says, which the file does "
        "not show)"
    )


def looks_like(data: Mapping[str, Any]) -> bool:
    """Whether a file's data is a LightningCLI config: an ``optimizer`` or ``lr_scheduler`` with
    a ``class_path``, or a ``trainer`` block beside an ``optimizer``/``lr_scheduler`` (at the top
    or in a ``fit`` block). litgpt's configs, which also give ``optimizer`` a ``class_path``, have
    a ``train`` block; torchtune's, MMEngine's, DeepSpeed's, HF's and Keras's have neither."""
    fit = data.get("fit")
    block: Mapping[str, Any] = fit if isinstance(fit, Mapping) else data
    if "train" in block:
        return False
    classes = [block.get(key) for key in ("optimizer", "lr_scheduler")]
    if any(isinstance(c, Mapping) and "class_path" in c for c in classes):
        return True
    return isinstance(block.get("trainer"), Mapping) and any(c is not None for c in classes)


# -- the optimizer ----------------------------------------------------------------------------


def _optimizer(fit: Mapping[str, Any], lr: float | None) -> tuple[str, dict[str, Any]]:
    """The optimizer to build the scheduler on: the file's own torch.optim class with the
    options a schedule reads, or a stand-in for a class outside torch.optim."""
    from schedalg.importers.torch.kwargs import OPTIMIZERS, options_of

    value = fit.get("optimizer")
    if value is None:
        raise ValueError(
            f"{_FN}(): the config has no top-level optimizer: LightningCLI then keeps the model's "
            f"own configure_optimizers and ignores lr_scheduler{_model_scheduler(fit)}"
        )
    class_path, args = _block("optimizer", value)
    name = None if class_path is None else _class_name(class_path, OPTIMIZERS, ("torch.optim",))
    if class_path is not None and class_path.startswith("torch.optim.") and name is None:
        raise ValueError(f"{_FN}(): {class_path} is not a torch.optim optimizer class")
    if name is None:
        return _stand_in(class_path, args, lr)
    options = options_of(OPTIMIZERS[name])
    args = opt.options(_FN, name, args, {k: o.default for k, o in options.items()})
    given = {k: typed(name, k, v, options[k].annotation) for k, v in args.items()}
    if lr is not None:
        given["lr"] = opt.number(_FN, name, "lr", lr)
    return name, {k: v for k, v in given.items() if k in _SCHEDULE_OPTIONS and v is not ...}


def _stand_in(
    class_path: str | None, args: dict[str, Any], lr: float | None
) -> tuple[str, dict[str, Any]]:
    """An optimizer class outside torch.optim (or one fixed in code): its defaults are unknown,
    so its lr must be in the file (or given); SGD or Adam stands in, holding the momentum or
    betas the file gives (what CyclicLR and OneCycleLR cycle)."""
    what = "the optimizer" if class_path is None else class_path
    if lr is None and "lr" not in args:
        raise ValueError(
            f"{_FN}(): {what} is not a torch.optim class, so its default lr is unknown: "
            "give optimizer init_args lr, or pass lr="
        )
    peak = lr if lr is not None else typed(what, "lr", args["lr"], "float")
    kwargs: dict[str, Any] = {"lr": opt.number(_FN, what, "lr", peak)}
    if "betas" in args:
        kwargs["betas"] = typed(what, "betas", args["betas"], "tuple[float, float]")
        return "Adam", kwargs
    if "momentum" in args:
        kwargs["momentum"] = typed(what, "momentum", args["momentum"], "float")
    return "SGD", kwargs


# -- the scheduler ----------------------------------------------------------------------------


def _scheduler(fit: Mapping[str, Any]) -> tuple[str, dict[str, Any], str | None] | None:
    """``(torch class name, typed options, monitor)`` of the lr_scheduler (``monitor`` for
    Lightning's ReduceLROnPlateau), or ``None`` without one."""
    from schedalg.importers.torch.kwargs import NOT_FROM_KWARGS, SCHEDULERS, options_of

    value = fit.get("lr_scheduler")
    if value is None:
        return None
    class_path, args = _block("lr_scheduler", value)
    if class_path is None:
        raise ValueError(
            f"{_FN}(): lr_scheduler has no class_path (a class fixed in code with "
            "add_lr_scheduler_args): the file does not say which scheduler it is"
        )
    lightning_plateau = class_path in _LIGHTNING_PLATEAU
    modules = ("torch.optim.lr_scheduler",)
    name = "ReduceLROnPlateau" if lightning_plateau else None
    name = name or _class_name(class_path, SCHEDULERS, modules)
    if name == "ReduceLROnPlateau" and not lightning_plateau:
        raise ValueError(
            f"{_FN}(): lr_scheduler {class_path} has no monitor: Lightning refuses it "
            "(configure_optimizers must include a monitor); use ReduceLROnPlateau "
            "(lightning.pytorch.cli.ReduceLROnPlateau) with init_args monitor"
        )
    if name is None:
        _unknown_scheduler(class_path, SCHEDULERS, NOT_FROM_KWARGS)
    assert name is not None
    options = {k: (o.default, o.annotation) for k, o in options_of(SCHEDULERS[name]).items()}
    if lightning_plateau:
        options = {"monitor": (..., "str"), **options}
    defaults = {k: default for k, (default, _) in options.items()}
    given = opt.options(_FN, name, args, defaults)
    typed_args = {k: typed(name, k, given[k], options[k][1]) for k in args}
    monitor = typed_args.pop("monitor", None)
    if lightning_plateau and not isinstance(monitor, str):
        raise ValueError(f"{_FN}(): ReduceLROnPlateau monitor must be a string, got {monitor!r}")
    return name, typed_args, monitor


def _unknown_scheduler(
    class_path: str, table: Mapping[str, type], refused: Mapping[str, str]
) -> None:
    name = class_path.rpartition(".")[2]
    if name in refused and class_path in (name, f"torch.optim.lr_scheduler.{name}"):
        raise ValueError(f"{_FN}(): lr_scheduler {name} cannot be read: {refused[name]}")
    known = ", ".join(sorted(table))
    raise ValueError(
        f"{_FN}(): lr_scheduler {class_path!r} is not a torch scheduler class schedalg reads "
        f"(its code is not read){nearest(name, table)} (known: {known})"
    )


# -- the run ----------------------------------------------------------------------------------


def _trainer(fit: Mapping[str, Any]) -> dict[str, Any]:
    trainer = fit.get("trainer") or {}
    if not isinstance(trainer, Mapping):
        raise ValueError(f"{_FN}(): trainer must be a dict, got {trainer!r}")
    found = {k: typed("trainer", k, trainer.get(k), kind) for k, kind in _TRAINER.items()}
    found["max_steps"] = -1 if found["max_steps"] is None else found["max_steps"]
    for key, value in found.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < -1
        ):
            raise ValueError(f"{_FN}(): trainer {key} must be an int, -1 or more, got {value!r}")
    fast = trainer.get("fast_dev_run", False)
    if fast not in (False, 0, None):
        raise ValueError(
            f"{_FN}(): trainer.fast_dev_run={fast!r} makes a debugging run of a few batches; "
            "read the config without it"
        )
    for callback in _callbacks(trainer.get("callbacks")):
        if callback.rpartition(".")[2] == "StochasticWeightAveraging":
            raise ValueError(
                f"{_FN}(): trainer.callbacks holds {callback}, which replaces the lr_scheduler "
                "with SWALR from its swa_epoch_start: the curve is not the scheduler's"
            )
    return found


def _callbacks(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("class_path"), str):
            names.append(item["class_path"])
    return names


def _steps(trainer: Mapping[str, Any], steps_per_epoch: int | None) -> int | float | None:
    """The run's optimizer steps (``inf``: no end), ``None`` where the epoch length is needed
    and not given."""
    max_epochs, max_steps = trainer["max_epochs"], trainer["max_steps"]
    if max_epochs is None:
        max_epochs = _DEFAULT_EPOCHS if max_steps == -1 else -1
    by_steps = math.inf if max_steps == -1 else max_steps
    # An epoch is one optimizer step or more: max_epochs >= max_steps ends the run at max_steps
    # whatever the epoch length.
    if max_epochs == -1 or max_epochs * (steps_per_epoch or 1) >= by_steps:
        return by_steps
    if steps_per_epoch is None:
        return 0 if max_epochs == 0 else None
    return min(max_epochs * steps_per_epoch, by_steps)


def run_length(config: Mapping[str, Any], *, steps_per_epoch: int | None = None) -> int | None:
    """The run's optimizer steps: ``max_steps`` or ``max_epochs * steps_per_epoch``, whichever
    ends it first (Lightning's 1000 epochs when neither is set); ``None`` where that needs
    ``steps_per_epoch`` and it is not given, or the run has no end."""
    if steps_per_epoch is not None:
        steps_per_epoch = opt.count(_FN, "the run", "steps_per_epoch", steps_per_epoch, minimum=1)
    steps = _steps(_trainer(_fit(config)), steps_per_epoch)
    return None if steps is None or steps == math.inf else int(steps)


def _check_one_cycle(scheduler: Any, trainer: Mapping[str, Any], epoch: int) -> None:
    """Lightning steps OneCycleLR once per epoch: an epoch past ``total_steps`` runs at torch's
    extrapolated lr (schedalg holds the final one), and the step after it raises."""
    steps = _steps(trainer, epoch)
    assert steps is not None
    # Integer division: steps / epoch overflows where max_epochs is past the float range.
    epochs = -(-steps // epoch) if steps != math.inf else math.inf
    if epochs > scheduler.total_steps:
        raise ValueError(
            f"{_FN}(): OneCycleLR total_steps={scheduler.total_steps} counts scheduler steps, "
            f"which Lightning takes once per epoch, and the run has {check.shown(epochs)} "
            "epochs: torch extrapolates past total_steps and then raises (set total_steps to the "
            "epochs, or step it per batch in your own configure_optimizers)"
        )


def from_lightning_cli(
    config: Mapping[str, Any], *, steps_per_epoch: int | None = None, lr: float | None = None
) -> dict[str, Schedule]:
    """``{"lr": ...}`` (and ``"momentum"``) at each optimizer step of the run a LightningCLI
    config describes; ``lr`` overrides the optimizer's ``lr``. A scheduler stepping per epoch
    needs ``steps_per_epoch`` (optimizer updates per epoch); ReduceLROnPlateau gives
    ``{"lr (monitor: NAME)": plateau(...)}``, fed that metric once per epoch."""
    fit = _fit(config)
    trainer = _trainer(fit)
    optimizer, optimizer_kwargs = _optimizer(fit, lr)
    if steps_per_epoch is not None:
        steps_per_epoch = opt.count(_FN, "the run", "steps_per_epoch", steps_per_epoch, minimum=1)
    found = _scheduler(fit)
    if found is None:
        return {"lr": absolute(constant(_lr_of(optimizer, optimizer_kwargs)))}
    name, kwargs, monitor = found
    scheduler, schedules = _convert(name, kwargs, optimizer, optimizer_kwargs)
    if monitor is not None:
        # Stepped with the metric, not the step: the value holds between epochs by itself.
        return {f"lr (monitor: {monitor})": schedules["lr"]}
    if steps_per_epoch is None:
        raise ValueError(
            f"{_FN}(): {name} steps once per epoch (LightningCLI's interval 'epoch'): pass "
            "steps_per_epoch=N (optimizer updates per epoch)"
        )
    if name == "OneCycleLR":
        _check_one_cycle(scheduler, trainer, steps_per_epoch)
    return {key: per_epoch(s, steps_per_epoch) for key, s in schedules.items()}


def _convert(
    name: str, kwargs: dict[str, Any], optimizer: str, optimizer_kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Schedule]]:
    """The torch scheduler built on the optimizer, and its curves per scheduler step: the lr
    (absolute values) and the momentum where it is cycled."""
    from schedalg.importers.torch.context import Refusal
    from schedalg.importers.torch.convert import from_torch
    from schedalg.importers.torch.kwargs import build

    scheduler = build(name, kwargs, optimizer=optimizer, optimizer_kwargs=optimizer_kwargs, fn=_FN)
    try:
        converted = from_torch(scheduler)
    except Refusal as error:
        reason = str(error).removeprefix("from_torch(): ")
        raise ValueError(f"{_FN}(): lr_scheduler {reason}") from None
    lr = converted.group("lr", 0)
    if "lr" not in converted.absolute:
        lr = absolute(float(scheduler.optimizer.param_groups[0]["initial_lr"]) * lr)
    schedules = {"lr": lr}
    if converted.momentum is not None:
        schedules["momentum"] = converted.group("momentum", 0)
    return scheduler, schedules


def _lr_of(optimizer: str, kwargs: Mapping[str, Any]) -> float:
    """The optimizer's lr: the file's, or its class's default."""
    from schedalg.importers.torch.kwargs import OPTIMIZERS, options_of

    lr = kwargs.get("lr", options_of(OPTIMIZERS[optimizer])["lr"].default)
    return opt.number(_FN, optimizer, "lr", lr)
