"""from_lightning_cli against the real LightningCLI and Trainer (lightning 2.6, CPU): each config is
given to ``LightningCLI(Tiny, run=False, args=...)``, ``trainer.fit`` runs a Linear(1, 1) on a
DataLoader of a given length, and a callback records the optimizer's lr (and momentum) at every
optimizer step; the importer's curve must be those values at every step (relative 1e-12), and
``run_length`` the number of steps taken. Real configs from terratorch and torch-uncertainty
(tests/data/lightning_cli/, unmodified) run with their own optimizer, lr_scheduler and run length
on the tiny model."""

from __future__ import annotations

import copy
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from schedalg.curves.metric import bind, plateaus
from schedalg.importers.lightning_cli import from_lightning_cli, looks_like, run_length

pl = pytest.importorskip("lightning.pytorch")
pytest.importorskip("jsonargparse")
from lightning.pytorch.cli import LightningCLI  # noqa: E402

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
DATA = Path(__file__).parent / "data" / "lightning_cli"
REAL = sorted(DATA.glob("*/*.yaml"))
FAST = {
    "accelerator": "cpu",
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "num_sanity_val_steps": 0,
}


class Tiny(pl.LightningModule):
    """A Linear(1, 1) trained on ``batches`` batches per epoch; logs ``metrics[epoch]`` as
    ``monitor`` at the end of each training epoch (what a ReduceLROnPlateau is stepped with)."""

    def __init__(
        self, batches: int = 2, monitor: str = "metric", metrics: list[float] | None = None
    ):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.batches, self.monitor, self.metrics = batches, monitor, metrics or []

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch[0]).pow(2).mean()

    def on_train_epoch_end(self) -> None:
        if self.metrics:
            self.log(self.monitor, self.metrics[self.current_epoch])

    def train_dataloader(self) -> Any:
        data = torch.utils.data.TensorDataset(torch.ones(self.batches, 1))
        return torch.utils.data.DataLoader(data, batch_size=1)

    def configure_optimizers(self) -> Any:
        # What runs when the config has no optimizer: LightningCLI keeps the model's own.
        return torch.optim.SGD(self.parameters(), lr=0.5)


class Recorder(pl.Callback):
    """The optimizer's lr and momentum (``momentum`` or ``betas[0]``) at every optimizer step."""

    def __init__(self) -> None:
        self.lr: list[float] = []
        self.momentum: list[float] = []

    def on_before_optimizer_step(self, trainer: Any, module: Any, optimizer: Any) -> None:
        group = optimizer.param_groups[0]
        self.lr.append(float(group["lr"]))
        self.momentum.append(float(group["betas"][0] if "betas" in group else group["momentum"]))


def lightning(config: dict[str, Any] | Path, **model: Any) -> Recorder:
    """Fit the tiny model as LightningCLI configures it from ``config`` (a dict, or a YAML file
    given with ``--config``) plus the model's init args; the values it stepped with."""
    # A deep copy: jsonargparse rewrites the blocks it is given (it pops dict_kwargs).
    args: Any = ["--config", str(config)] if isinstance(config, Path) else copy.deepcopy(config)
    if model and isinstance(args, list):
        args += ["--model", json.dumps(model)]
    elif model:
        args["model"] = model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cli = LightningCLI(
            Tiny,
            run=False,
            args=args,
            trainer_defaults=FAST,
            save_config_callback=None,
            seed_everything_default=False,
            parser_kwargs={"exit_on_error": False},
        )
        recorder = Recorder()
        cli.trainer.callbacks.append(recorder)
        cli.trainer.fit(cli.model)
    return recorder


def assert_same(ours: Any, theirs: list[float]) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), theirs, rtol=1e-12, atol=0)


def check_run(config: dict[str, Any], steps_per_epoch: int, recorded: Recorder) -> None:
    """The importer's curves equal the recorded values at every step the run took."""
    steps = len(recorded.lr)
    assert run_length(config, steps_per_epoch=steps_per_epoch) == steps
    schedules = from_lightning_cli(config, steps_per_epoch=steps_per_epoch)
    assert_same(schedules["lr"].curve(steps), recorded.lr)
    if "momentum" in schedules:
        assert_same(schedules["momentum"].curve(steps), recorded.momentum)


def base(scheduler: Any, epochs: int = 3, optimizer: Any = None, **trainer: Any) -> dict:
    return {
        "trainer": {"max_epochs": epochs, **trainer},
        "optimizer": optimizer or {"class_path": "torch.optim.SGD", "init_args": {"lr": 1.0}},
        "lr_scheduler": scheduler,
    }


STEP = {"class_path": "StepLR", "init_args": {"step_size": 1, "gamma": 0.5}}


# -- the step where the lr changes, and the run's length --------------------------------------


def test_the_lr_changes_after_each_epoch_s_last_optimizer_step():
    config = base(STEP)
    recorded = lightning(config, batches=3)
    assert recorded.lr == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    check_run(config, 3, recorded)


@pytest.mark.parametrize(
    ("trainer", "steps"),
    [
        ({"max_epochs": 3, "max_steps": 7}, 7),  # max_steps first, mid-epoch
        ({"max_epochs": 2, "max_steps": 100}, 6),  # max_epochs first
        ({"max_epochs": None, "max_steps": 8}, 8),  # max_steps alone
        ({"max_epochs": 0}, 0),
    ],
)
def test_the_run_ends_at_whichever_limit_comes_first(trainer, steps):
    config = {**base(STEP), "trainer": trainer}
    recorded = lightning(config, batches=3)
    assert len(recorded.lr) == steps
    check_run(config, 3, recorded)


def test_gradient_accumulation_counts_optimizer_steps_per_epoch():
    # 5 batches, 2 per update: updates after batches 2, 4 and the last (5): 3 per epoch.
    config = {**base(STEP), "trainer": {"max_epochs": 3, "accumulate_grad_batches": 2}}
    recorded = lightning(config, batches=5)
    assert len(recorded.lr) == 9
    check_run(config, 3, recorded)


def test_run_length_without_the_epoch_length():
    assert run_length({"trainer": {"max_steps": 50}}) == 50
    assert run_length({"trainer": {"max_steps": 50, "max_epochs": 60}}) == 50
    assert run_length({"trainer": {"max_steps": 50, "max_epochs": 10}}) is None
    assert run_length({"trainer": {"max_epochs": 10}}) is None
    assert run_length({"trainer": {}}, steps_per_epoch=2) == 2000  # Lightning's 1000 epochs
    assert run_length({"trainer": {"max_epochs": -1}}, steps_per_epoch=2) is None


# -- the forms LightningCLI reads -------------------------------------------------------------


@pytest.mark.parametrize(
    ("optimizer", "scheduler"),
    [
        ("SGD", {"class_path": "ExponentialLR", "init_args": {"gamma": "5e-1"}}),
        ("torch.optim.Adam", {"class_path": "torch.optim.lr_scheduler.ConstantLR"}),
        ({"class_path": "AdamW", "init_args": {"lr": "2e-3"}}, "torch.optim.lr_scheduler.LinearLR"),
        (
            {"class_path": "SGD", "init_args": {"lr": 0.1}},
            {
                "class_path": "StepLR",
                "init_args": {"step_size": "1"},
                "dict_kwargs": {"gamma": 0.5},
            },
        ),
        ("SGD", {"class_path": "torch.optim.swa_utils.SWALR", "init_args": {"swa_lr": 0.5}}),
    ],
)
def test_short_forms_and_numeric_strings_read_as_lightning_cli_reads_them(optimizer, scheduler):
    config = base(scheduler, optimizer=optimizer)
    check_run(config, 2, lightning(config, batches=2))


def test_a_fit_block_is_read_as_the_file_itself():
    config = base(STEP)
    assert from_lightning_cli({"fit": config}, steps_per_epoch=2) == from_lightning_cli(
        config, steps_per_epoch=2
    )


def test_without_a_scheduler_the_lr_is_the_optimizer_s_needing_no_epoch_length():
    config = {"trainer": {"max_epochs": 2}, "optimizer": {"class_path": "Adam"}}
    recorded = lightning(config, batches=2)
    assert_same(from_lightning_cli(config)["lr"].curve(4), recorded.lr)  # Adam's default lr


def test_lr_overrides_the_optimizer_s():
    ours = from_lightning_cli(base(STEP), steps_per_epoch=2, lr=0.2)["lr"]
    theirs = lightning(base(STEP, optimizer={"class_path": "SGD", "init_args": {"lr": 0.2}}))
    assert_same(ours.curve(6), theirs.lr)


def test_one_cycle_within_total_steps_and_its_momentum():
    scheduler = {"class_path": "OneCycleLR", "init_args": {"max_lr": 0.1, "total_steps": 4}}
    optimizer = {"class_path": "SGD", "init_args": {"lr": 0.1, "momentum": 0.9}}
    config = base(scheduler, epochs=4, optimizer=optimizer)
    check_run(config, 2, lightning(config, batches=2))


def test_one_cycle_stepped_past_total_steps_is_refused_as_lightning_fails():
    scheduler = {"class_path": "OneCycleLR", "init_args": {"max_lr": 0.1, "total_steps": 2}}
    config = base(scheduler, epochs=3)
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        lightning(config, batches=2)
    with pytest.raises(ValueError, match=r"total_steps=2 counts scheduler steps.*3 epochs"):
        from_lightning_cli(config, steps_per_epoch=2)
    # Cut mid-epoch 2 by max_steps: that epoch runs at torch's extrapolated lr (no step raises).
    cut = {**config, "trainer": {"max_epochs": 3, "max_steps": 5}}
    recorded = lightning(cut, batches=2)
    assert recorded.lr[4] != from_lightning_cli(base(scheduler, 2), steps_per_epoch=2)["lr"](4)
    with pytest.raises(ValueError, match="3 epochs"):
        from_lightning_cli(cut, steps_per_epoch=2)


# -- ReduceLROnPlateau ------------------------------------------------------------------------


def expected_plateau(schedule: Any, metrics: list[float], steps: int, per_epoch: int) -> list:
    """The plateau's value at each step, after the metrics of the epochs before it."""
    node = plateaus(schedule)[0]
    values = []
    for t in range(steps):
        state = node.initial()
        for metric in metrics[: t // per_epoch]:
            state = node.update(state, metric)
        values.append(bind(schedule, [state])(t))
    return values


def test_reduce_on_plateau_is_a_plateau_fed_the_monitored_metric_once_per_epoch():
    scheduler = {
        "class_path": "ReduceLROnPlateau",
        "init_args": {"monitor": "train/loss", "factor": 0.5, "patience": 0},
    }
    config = base(scheduler, epochs=5)
    metrics = [3.0, 1.0, 2.0, 2.5, 0.5]
    recorded = lightning(config, batches=2, monitor="train/loss", metrics=metrics)
    schedules = from_lightning_cli(config)  # no epoch length needed
    assert list(schedules) == ["lr (monitor: train/loss)"]
    ours = expected_plateau(schedules["lr (monitor: train/loss)"], metrics, 10, 2)
    assert_same(ours, recorded.lr)
    # Halved after epoch 2's metric (3, 1, 2: no better than 1) and again after epoch 3's.
    assert recorded.lr[5:] == [1.0, 0.5, 0.5, 0.25, 0.25]


def test_torch_s_own_reduce_on_plateau_is_refused_as_lightning_refuses_it():
    scheduler = {"class_path": "torch.optim.lr_scheduler.ReduceLROnPlateau"}
    with pytest.raises(Exception, match="must include a monitor"):
        lightning(base(scheduler), batches=2)
    with pytest.raises(ValueError, match="has no monitor: Lightning refuses it"):
        from_lightning_cli(base(scheduler))


# -- what is refused --------------------------------------------------------------------------


def test_without_an_optimizer_lightning_ignores_the_scheduler_and_so_is_refused():
    config = {"trainer": {"max_epochs": 2}, "lr_scheduler": STEP}
    assert lightning(config, batches=2).lr == [0.5] * 4  # the model's own SGD, no scheduler
    model = {"class_path": "my.Task", "init_args": {"lr_scheduler": STEP}}
    with pytest.raises(ValueError, match=r"no top-level optimizer.*model.init_args.lr_scheduler"):
        from_lightning_cli({**config, "model": model})


def test_a_float_for_an_int_option_is_refused_as_lightning_cli_refuses_it():
    config = base({"class_path": "StepLR", "init_args": {"step_size": 2.0}})
    with pytest.raises(Exception, match="Expected a <class 'int'>"):
        lightning(config, batches=2)
    with pytest.raises(ValueError, match="step_size must be an int"):
        from_lightning_cli(config, steps_per_epoch=2)


def test_nested_schedulers_are_refused_as_lightning_cli_cannot_build_them():
    scheduler = {
        "class_path": "SequentialLR",
        "init_args": {"schedulers": [{"class_path": "ConstantLR"}], "milestones": []},
    }
    with pytest.raises(Exception, match="required: optimizer"):
        lightning(base(scheduler), batches=2)
    with pytest.raises(ValueError, match="SequentialLR cannot be read"):
        from_lightning_cli(base(scheduler), steps_per_epoch=2)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (base(STEP), r"pass steps_per_epoch=N \(optimizer updates per epoch\)"),
        (base({"class_path": "StepLr", "init_args": {}}), "did you mean 'StepLR'"),
        (base({"class_path": "StepLR", "init_args": {"step_sise": 2}}), "did you mean 'step_size'"),
        (base({"class_path": "LambdaLR", "init_args": {"lr_lambda": "math.exp"}}), "function"),
        (base({"class_path": "my.WarmupLR"}), "its code is not read"),
        (base(STEP, optimizer={"class_path": "bnb.optim.AdamW8bit"}), "default lr is unknown"),
        (base(STEP, fast_dev_run=True), "fast_dev_run"),
        (
            base(STEP, callbacks=[{"class_path": "StochasticWeightAveraging"}]),
            "replaces the lr_scheduler with SWALR",
        ),
    ],
)
def test_refusals_say_why(config, message):
    with pytest.raises((ValueError, TypeError), match=message):
        from_lightning_cli(config)


def test_an_optimizer_outside_torch_is_read_by_the_lr_and_momentum_in_the_file():
    # Lightning runs torch's SGD with the same lr and momentum as the stand-in for bnb's class.
    scheduler = {"class_path": "OneCycleLR", "init_args": {"max_lr": 0.1, "total_steps": 3}}
    args = {"lr": "1e-3", "betas": [0.8, 0.99]}
    config = base(scheduler, optimizer={"class_path": "bnb.optim.AdamW8bit", "init_args": args})
    recorded = lightning(base(scheduler, optimizer={"class_path": "Adam", "init_args": args}))
    check_run(config, 2, recorded)
    assert recorded.momentum[0] != 0.8  # OneCycleLR cycled betas[0]


# -- real configs -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", REAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_configs_equal_lightning(path, tmp_path):
    data = yaml.safe_load(path.read_text())
    trainer = {k: data["trainer"][k] for k in ("max_epochs", "max_steps") if k in data["trainer"]}
    config = {"trainer": trainer, **{k: data[k] for k in ("optimizer", "lr_scheduler")}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    plateau = isinstance(config["lr_scheduler"]["init_args"].get("monitor"), str)
    if not plateau:
        check_run(data, 2, lightning(tmp_path / "config.yaml", batches=2))
        return
    monitor = config["lr_scheduler"]["init_args"]["monitor"]
    metrics = [float(m) for m in np.random.default_rng(0).integers(0, 4, trainer["max_epochs"])]
    recorded = lightning(tmp_path / "config.yaml", batches=2, monitor=monitor, metrics=metrics)
    schedule = from_lightning_cli(data)[f"lr (monitor: {monitor})"]
    assert len(recorded.lr) == run_length(data, steps_per_epoch=2)
    assert_same(expected_plateau(schedule, metrics, len(recorded.lr), 2), recorded.lr)


def test_the_real_configs_are_those_expected():
    names = {p.relative_to(DATA).as_posix() for p in REAL}
    assert len(names) == 5 and all((DATA / n.split("/")[0] / "LICENSE").exists() for n in names)


def _data_files() -> list[Path]:
    root = DATA.parent
    found = [p for ext in ("yaml", "yml", "json") for p in root.rglob(f"*.{ext}")]
    return sorted(p for p in found if DATA not in p.parents)


def test_looks_like_lightning_cli_files_and_no_other_format_s():
    for path in REAL:
        assert looks_like(yaml.safe_load(path.read_text())), path
    for path in _data_files():  # the other importers' real files (torchtune, litgpt, ...)
        data = (
            yaml.safe_load(path.read_text())
            if path.suffix != ".json"
            else json.loads(path.read_text())
        )
        assert not (isinstance(data, dict) and looks_like(data)), path
    others = [
        {"lr_scheduler_type": "cosine", "learning_rate": 1e-4},  # HF
        {"optimizer": {"type": "AdamW", "params": {"lr": 1e-4}}, "scheduler": {"type": "WarmupLR"}},
        {"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}},  # Keras
        {"param_scheduler": [{"type": "LinearLR"}], "optim_wrapper": {}},  # MMEngine
        {"optimizer": {"_component_": "torch.optim.AdamW"}, "lr_scheduler": {"_component_": "x"}},
        {"optimizer": {"class_path": "torch.optim.AdamW"}, "train": {"max_steps": 10}},  # litgpt
        {"trainer": {"max_epochs": 3}, "model": {"optim": {"name": "adamw"}}},  # NeMo
    ]
    for data in others:
        assert not looks_like(data), data
    assert looks_like({"fit": {"trainer": {}, "optimizer": "SGD"}})
    assert looks_like({"optimizer": {"lr": 0.1}, "trainer": {"max_epochs": 2}})


# -- the fuzzer -------------------------------------------------------------------------------

GAMMA = st.sampled_from([0.5, 0.9, 0.1, "5e-1", 2])
FACTOR = st.sampled_from([0.25, 0.5, 1.0, "1e-1"])
SCHEDULERS = {
    "StepLR": st.fixed_dictionaries({"step_size": st.integers(1, 3), "gamma": GAMMA}),
    "MultiStepLR": st.fixed_dictionaries(
        {"milestones": st.lists(st.integers(1, 6), min_size=1, max_size=3), "gamma": GAMMA}
    ),
    "ExponentialLR": st.fixed_dictionaries({"gamma": GAMMA}),
    "CosineAnnealingLR": st.fixed_dictionaries(
        {"T_max": st.integers(1, 6)}, optional={"eta_min": st.sampled_from([0.0, "1e-3"])}
    ),
    "LinearLR": st.fixed_dictionaries(
        {"start_factor": FACTOR, "end_factor": FACTOR, "total_iters": st.integers(1, 5)}
    ),
    "ConstantLR": st.fixed_dictionaries({"factor": FACTOR, "total_iters": st.integers(1, 5)}),
    "PolynomialLR": st.fixed_dictionaries(
        {"total_iters": st.integers(1, 6), "power": st.sampled_from([0.5, 1.0, 2.0])}
    ),
    "CosineAnnealingWarmRestarts": st.fixed_dictionaries(
        {"T_0": st.integers(1, 3), "T_mult": st.integers(1, 2)},
        optional={"eta_min": st.sampled_from([0.0, 1e-4])},
    ),
    "OneCycleLR": st.fixed_dictionaries(
        {"max_lr": st.sampled_from([0.1, "1e-2"]), "total_steps": st.integers(6, 9)},
        optional={
            "pct_start": st.sampled_from([0.25, 0.5]),
            "anneal_strategy": st.sampled_from(["cos", "linear"]),
            "three_phase": st.booleans(),
            "cycle_momentum": st.booleans(),
        },
    ),
    "CyclicLR": st.fixed_dictionaries(
        {"base_lr": st.sampled_from([0.01, "1e-3"]), "max_lr": st.sampled_from([0.1, 1.0])},
        optional={
            "step_size_up": st.integers(1, 3),
            "step_size_down": st.integers(1, 3),
            "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]),
            "gamma": st.sampled_from([0.9, "5e-1"]),
            "cycle_momentum": st.booleans(),
        },
    ),
    "SWALR": st.fixed_dictionaries(
        {"swa_lr": st.sampled_from([0.05, 0.5])},
        optional={"anneal_epochs": st.integers(1, 3), "anneal_strategy": st.just("linear")},
    ),
    "ReduceLROnPlateau": st.fixed_dictionaries(
        {"monitor": st.just("metric"), "patience": st.integers(0, 2)},
        optional={
            "factor": st.sampled_from([0.5, "1e-1"]),
            "mode": st.sampled_from(["min", "max"]),
            "cooldown": st.integers(0, 1),
            "threshold_mode": st.sampled_from(["rel", "abs"]),
            "min_lr": st.sampled_from([0.0, "1e-2"]),
        },
    ),
}
OPTIMIZERS = st.sampled_from(
    [
        {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.1, "momentum": 0.9}},
        {"class_path": "SGD", "init_args": {"lr": "3e-2"}},
        {"class_path": "Adam", "init_args": {"lr": 0.05, "betas": [0.9, 0.99]}},
    ]
)


@st.composite
def runs(draw: Any) -> tuple[dict, int, int, list[float]]:
    name = draw(st.sampled_from(sorted(SCHEDULERS)))
    args = draw(SCHEDULERS[name])
    if name == "MultiStepLR":
        args["milestones"] = sorted(set(args["milestones"]))
    epochs, batches = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    accumulate = draw(st.integers(1, 2))
    trainer: dict[str, Any] = {"max_epochs": epochs, "accumulate_grad_batches": accumulate}
    per_epoch = math.ceil(batches / accumulate)
    if draw(st.booleans()):
        trainer["max_steps"] = draw(st.integers(1, epochs * per_epoch + 2))
    config = base({"class_path": name, "init_args": args}, optimizer=draw(OPTIMIZERS))
    config["trainer"] = trainer
    metrics = draw(st.lists(st.integers(0, 4).map(float), min_size=epochs, max_size=epochs))
    return config, batches, per_epoch, metrics


@settings(max_examples=max(4, settings.default.max_examples // 6), deadline=None)
@given(runs())
def test_fuzz_against_lightning_cli_and_trainer(run):
    config, batches, per_epoch, metrics = run
    recorded = lightning(config, batches=batches, monitor="metric", metrics=metrics)
    schedules = from_lightning_cli(config, steps_per_epoch=per_epoch)
    if "lr (monitor: metric)" not in schedules:
        check_run(config, per_epoch, recorded)
        return
    assert run_length(config, steps_per_epoch=per_epoch) == len(recorded.lr)
    plateau = schedules["lr (monitor: metric)"]
    assert_same(expected_plateau(plateau, metrics, len(recorded.lr), per_epoch), recorded.lr)
