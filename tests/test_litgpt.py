"""from_litgpt against litgpt's own code (litgpt 0.5.13, installed with --no-deps).

Each shipped config (``tests/data/litgpt/``, unmodified from Lightning-AI/litgpt's
``config_hub``) is parsed by jsonargparse into the real script's ``setup`` signature (what
``litgpt pretrain|finetune --config`` does: the types, the script's defaults), its optimizer
built by litgpt's ``instantiate_torch_optimizer``, and its learning rates taken from litgpt's own
functions on that real torch optimizer:

- finetune: ``litgpt.finetune.<script>.get_lr_scheduler`` (the SequentialLR), stepped after each
  update as the scripts step it, for ``N = min(epochs * steps_per_epoch, max_steps or inf)``
  (``finetune/lora.py`` lines 201-202);
- pretrain: ``fit``'s loop (``pretrain.py`` lines 321-361): ``max_iters`` from ``max_tokens``,
  ``TrainArgs.warmup_iters`` and ``gradient_accumulation_iters``, and ``get_lr`` set before each
  iteration; the lr an update uses is the one set at the iteration it steps on.

The importer reads the same file as the command line does (``yaml.safe_load``: ``4e-4`` is a
string). Tolerance: absolute, ``ULPS`` units of float64 eps of the peak lr (finetune: torch's
recursive cosine, accumulated over the run, against its closed form; pretrain: ``pi * t / D``
against ``pi * (t / D)``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("litgpt")
jsonargparse = pytest.importorskip("jsonargparse")

import litgpt.pretrain  # noqa: E402
from litgpt.args import TrainArgs  # noqa: E402
from litgpt.utils import instantiate_torch_optimizer  # noqa: E402

from schedalg import from_dict, parse, placeholders, to_dict  # noqa: E402
from schedalg.importers import litgpt as importer  # noqa: E402
from schedalg.importers.litgpt import FINETUNE, PRETRAIN, from_litgpt, run_length  # noqa: E402

DATA = Path(__file__).parent / "data" / "litgpt"
EPS = float(np.finfo(np.float64).eps)
ULPS = 16
# litgpt's TrainArgs warns where the warm-up is not shorter than max_steps: such runs are tested.
pytestmark = pytest.mark.filterwarnings("ignore:`--train.lr_warmup_steps` should be less than")
FINETUNE_SCRIPTS = ["lora", "full", "adapter", "adapter_v2", "lora_legacy"]
FINETUNE_CONFIGS = sorted(str(p.relative_to(DATA)) for p in (DATA / "finetune").rglob("*.yaml"))
PRETRAIN_CONFIGS = sorted(str(p.relative_to(DATA)) for p in (DATA / "pretrain").rglob("*.yaml"))


def setup_of(script: str) -> Any:
    name = "litgpt.pretrain" if script == PRETRAIN else f"litgpt.finetune.{script}"
    return importlib.import_module(name).setup


def parsed(name: str, script: str) -> Any:
    """The config as ``litgpt <script> --config name`` parses it (jsonargparse)."""
    parser = jsonargparse.ArgumentParser(exit_on_error=False)
    parser.add_function_arguments(setup_of(script))
    parser.add_argument("--config", action=jsonargparse.ActionConfigFile)
    return parser.parse_args(["--config", str(DATA / name)])


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DATA / name).read_text())
    assert isinstance(data, dict)
    return data


def optimizer_of(cfg: Any) -> Any:
    return instantiate_torch_optimizer(cfg.optimizer, [torch.nn.Parameter(torch.zeros(1))])


def assert_close(ours: np.ndarray, theirs: list[float], peak: float) -> None:
    theirs_ = np.asarray(theirs)
    error = np.abs(ours - theirs_)
    worst = int(np.argmax(error))
    assert np.all(error <= ULPS * EPS * peak), (worst, ours[worst], theirs_[worst], error[worst])


# -- finetune ---------------------------------------------------------------------------------


def finetune_lrs(optimizer: Any, script: str, warmup: int, n: int, extra: int = 5) -> list[float]:
    scheduler = importlib.import_module(f"litgpt.finetune.{script}").get_lr_scheduler(
        optimizer, warmup_steps=warmup, max_steps=n
    )
    lrs = []
    for _ in range(n + extra):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return lrs


def lr_max_steps(train: TrainArgs, steps_per_epoch: int) -> int:
    """finetune/lora.py lines 201-202 (the same in every finetune script)."""
    return int(min(train.epochs * steps_per_epoch, (train.max_steps or float("inf"))))


@pytest.mark.parametrize("name", FINETUNE_CONFIGS)
@pytest.mark.parametrize("per", [1, 9, 60, 700])
def test_every_finetune_config_is_litgpt_s_lr_at_every_step(name: str, per: int) -> None:
    cfg = parsed(name, "lora")
    train = TrainArgs(**vars(cfg.train))
    n = lr_max_steps(train, per)
    config = load(name)
    optimizer = optimizer_of(cfg)
    peak = optimizer.defaults["lr"]
    if n == train.lr_warmup_steps:
        with pytest.raises(ZeroDivisionError):
            finetune_lrs(optimizer, "lora", train.lr_warmup_steps, n)
        with pytest.raises(ValueError, match=r"ends where its warm-up does"):
            from_litgpt(config, steps_per_epoch=per)
        return
    theirs = finetune_lrs(optimizer, "lora", train.lr_warmup_steps, n)
    # Past N inside the warm-up the SequentialLR would meet its (negative) cosine: not compared.
    shown = len(theirs) if n > train.lr_warmup_steps else n
    ours = from_litgpt(config, steps_per_epoch=per).curve(shown)
    assert_close(ours, theirs[:shown], peak)
    assert run_length(config, steps_per_epoch=per) == n


@pytest.mark.parametrize("script", FINETUNE_SCRIPTS)
def test_every_finetune_script_has_the_same_scheduler(script: str) -> None:
    config = load("finetune/llama-3.2-1B/lora.yaml")
    optimizer = optimizer_of(parsed("finetune/llama-3.2-1B/lora.yaml", "lora"))
    theirs = finetune_lrs(optimizer, script, 10, 300)
    assert_close(from_litgpt(config, steps_per_epoch=150).curve(305), theirs, 2e-4)


LR_TEXT = st.sampled_from(["2e-4", "3e-4", "1e-3", "5.0e-4", "0.0002", "1E-2", "0.1"])


@given(
    warmup=st.integers(1, 60),
    epochs=st.integers(1, 4),
    per=st.integers(1, 90),
    max_steps=st.none() | st.just(0) | st.integers(1, 300),
    lr=LR_TEXT,
    script=st.sampled_from(FINETUNE_SCRIPTS),
)
def test_fuzz_finetune(
    warmup: int, epochs: int, per: int, max_steps: int | None, lr: str, script: str
) -> None:
    config = {
        "checkpoint_dir": "checkpoints/x",
        "train": {"lr_warmup_steps": warmup, "epochs": epochs, "max_steps": max_steps},
        "optimizer": {"class_path": "torch.optim.AdamW", "init_args": {"lr": lr}},
    }
    train = TrainArgs(lr_warmup_steps=warmup, epochs=epochs, max_steps=max_steps)
    n = lr_max_steps(train, per)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=float(lr))
    if n == warmup:
        with pytest.raises(ValueError, match=r"ends where its warm-up does"):
            from_litgpt(config, steps_per_epoch=per)
        return
    theirs = finetune_lrs(optimizer, script, warmup, n)
    shown = len(theirs) if n > warmup else n
    assert_close(from_litgpt(config, steps_per_epoch=per).curve(shown), theirs[:shown], float(lr))


def test_finetune_without_steps_per_epoch() -> None:
    config = load("finetune/llama-3.2-1B/lora.yaml")
    schedule = from_litgpt(config)
    assert placeholders(schedule) == ("total",)
    assert run_length(config) is None
    epochs = config["train"]["epochs"]
    assert schedule.bind(total=epochs * 40) == from_litgpt(config, steps_per_epoch=40)
    # With max_steps, that is the run (the data taken to last so long).
    capped = load("finetune/phi-2/full.yaml")
    assert run_length(capped) == 100
    assert from_litgpt(capped) == from_litgpt(capped, steps_per_epoch=10_000)


# -- pretrain ---------------------------------------------------------------------------------


def pretrain_numbers(train: TrainArgs, devices: int, num_nodes: int, seq: int) -> tuple[int, ...]:
    """``fit``'s numbers: ``(A, warmup_iters, max_iters)`` (pretrain.py lines 321-334)."""
    max_iters = train.max_tokens // (devices * num_nodes) // (train.micro_batch_size * seq)
    per_update = train.gradient_accumulation_iters(devices, num_nodes)
    return per_update, train.warmup_iters(devices, num_nodes, max_iters, None), max_iters


def pretrain_lrs(
    train: TrainArgs, devices: int, num_nodes: int, seq: int, optimizer: Any
) -> list[float]:
    """The lr of each update, from fit's loop on a real optimizer (pretrain.py lines 336-361)."""
    per_update, warm, max_iters = pretrain_numbers(train, devices, num_nodes, seq)
    lrs = []
    for iter_num in range(max_iters):
        lr = litgpt.pretrain.get_lr(
            optimizer.defaults["lr"], iter_num, warm, max_iters, train.min_lr
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        if (iter_num + 1) % per_update == 0:
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
    return lrs


def sequence_length(cfg: Any) -> int:
    if cfg.train.max_seq_length:
        return int(cfg.train.max_seq_length)
    if cfg.model_config is not None:
        return int(cfg.model_config.block_size)
    return int(litgpt.Config.from_name(cfg.model_name).block_size)


@pytest.mark.parametrize("name", PRETRAIN_CONFIGS)
@pytest.mark.parametrize("devices", [1, 8])
def test_every_pretrain_config_is_litgpt_s_lr(name: str, devices: int) -> None:
    """Every update of the runs fit's loop can walk here (up to 10**6 iterations); for the
    trillion-token runs, every update of the first 3000 and the last 1000 and 2000 between,
    each at the iteration it steps on (the loop's, checked above on the shorter runs)."""
    cfg = parsed(name, PRETRAIN)
    seq = sequence_length(cfg)
    config = load(name)
    extra = {} if config["train"]["max_seq_length"] else {"max_seq_length": seq}
    train = TrainArgs(**vars(cfg.train))
    try:
        per_update, warm, max_iters = pretrain_numbers(train, devices, cfg.num_nodes, seq)
    except AssertionError:  # litgpt's own: no whole micro-batch per device
        with pytest.raises(ValueError, match=r"litgpt needs global_batch_size // \(devices"):
            from_litgpt(config, devices=devices, **extra)
        return
    schedule = from_litgpt(config, devices=devices, **extra)
    optimizer = optimizer_of(cfg)
    peak = optimizer.defaults["lr"]
    updates = max_iters // per_update
    assert run_length(config, devices=devices, **extra) == updates
    if max_iters <= 10**6:
        theirs = pretrain_lrs(train, devices, cfg.num_nodes, seq, optimizer)
        assert len(theirs) == updates
        assert_close(schedule.curve(updates), theirs, peak)
        return
    steps = sorted(
        {*range(3000), *range(updates - 1000, updates), *range(0, updates, updates // 2000)}
    )
    theirs = [
        litgpt.pretrain.get_lr(peak, per_update * (k + 1) - 1, warm, max_iters, train.min_lr)
        for k in steps
    ]
    ours = np.array([schedule(k) for k in steps])
    assert_close(ours, theirs, peak)


@given(
    devices=st.integers(1, 4),
    num_nodes=st.integers(1, 2),
    micro=st.integers(1, 6),
    accumulation=st.integers(1, 5),
    extra_batch=st.integers(0, 3),
    seq=st.sampled_from([1, 7, 64]),
    iterations=st.integers(1, 300),
    extra_tokens=st.integers(0, 500),
    warmup_steps=st.none() | st.integers(0, 90),
    min_lr=st.sampled_from(["0.0", "6e-5", "4.0e-05", "1e-3"]),
    lr=LR_TEXT,
)
def test_fuzz_pretrain(
    devices: int,
    num_nodes: int,
    micro: int,
    accumulation: int,
    extra_batch: int,
    seq: int,
    iterations: int,
    extra_tokens: int,
    warmup_steps: int | None,
    min_lr: str,
    lr: str,
) -> None:
    world = devices * num_nodes
    batch = (accumulation * micro + extra_batch) * world
    per_update = batch // world // micro  # accumulation, or more with extra_batch
    tokens = iterations * per_update * world * micro * seq + extra_tokens
    config = {
        "model_name": "pythia-14m",
        "devices": devices,
        "num_nodes": num_nodes,
        "train": {
            "global_batch_size": batch,
            "micro_batch_size": micro,
            "lr_warmup_steps": warmup_steps,
            "max_tokens": tokens,
            "max_seq_length": seq,
            "min_lr": min_lr,
        },
        "optimizer": {"class_path": "torch.optim.SGD", "init_args": {"lr": lr}},
    }
    train = TrainArgs(**{**config["train"], "min_lr": float(min_lr)})  # type: ignore[arg-type]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=float(lr))
    theirs = pretrain_lrs(train, devices, num_nodes, seq, optimizer)
    assert_close(from_litgpt(config).curve(len(theirs)), theirs, float(lr))
    assert run_length(config) == len(theirs)


def test_pretrain_reads_the_update_at_its_last_iteration() -> None:
    config = load("pretrain/debug.yaml")
    schedule = from_litgpt(config, devices=1, max_seq_length=512)
    text = repr(schedule)
    assert "warp(" in text and "25.0 * elapsed() + 24.0" in text


# -- the tables against the library -----------------------------------------------------------


@pytest.mark.parametrize("script", [PRETRAIN, *FINETUNE_SCRIPTS])
def test_the_defaults_are_each_script_s(script: str) -> None:
    parameters = inspect.signature(setup_of(script)).parameters
    kind = PRETRAIN if script == PRETRAIN else FINETUNE
    assert importer.TRAIN_DEFAULTS[kind] == dataclasses.asdict(parameters["train"].default)
    for key, value in importer._SCRIPT_DEFAULTS[kind].items():
        assert parameters[key].default == value, key


def test_the_keys_only_one_script_takes() -> None:
    pretrain = set(inspect.signature(setup_of(PRETRAIN)).parameters)
    finetunes = [set(inspect.signature(setup_of(s)).parameters) for s in FINETUNE_SCRIPTS]
    assert set(importer._ONLY[PRETRAIN]) == pretrain - set.union(*finetunes)
    assert set(importer._ONLY[FINETUNE]) == set.intersection(*finetunes) - pretrain


def test_torch_lrs_are_torch_s_defaults() -> None:
    for name, lr in importer.TORCH_LRS.items():
        assert inspect.signature(getattr(torch.optim, name)).parameters["lr"].default == lr
    assert litgpt.Config().block_size == importer._BLOCK_SIZE


def test_an_optimizer_by_name_takes_its_default_lr() -> None:
    for name in ("AdamW", "SGD", "torch.optim.RMSprop"):
        config = {"checkpoint_dir": "x", "train": {"epochs": 1}, "optimizer": name}
        optimizer = instantiate_torch_optimizer(name, [torch.nn.Parameter(torch.zeros(1))])
        assert from_litgpt(config, steps_per_epoch=200)(100) == optimizer.defaults["lr"]
    config = {"checkpoint_dir": "x", "train": {"epochs": 1}, "optimizer": "bitsandbytes.optim.X"}
    with pytest.raises(ValueError, match=r"'bitsandbytes\.optim\.X' is given no lr.*pass lr="):
        from_litgpt(config, steps_per_epoch=200)
    config = {**load("finetune/gemma-2b/qlora.yaml"), "optimizer": "AdamW"}
    with pytest.raises(ValueError, match=r"PagedAdamW \(quantize: bnb\.\*\) is given no lr"):
        from_litgpt(config, steps_per_epoch=200)
    assert from_litgpt(config, steps_per_epoch=200, lr=0.5)(200) == 0.5


@pytest.mark.parametrize("name", FINETUNE_CONFIGS + PRETRAIN_CONFIGS)
def test_numbers_are_jsonargparse_s(name: str) -> None:
    kind = PRETRAIN if name.startswith("pretrain") else FINETUNE
    cfg = parsed(name, PRETRAIN if kind == PRETRAIN else "lora")
    run = importer._Run(load(name), None)
    assert run.script == kind
    assert run.peak(None) == optimizer_of(cfg).defaults["lr"]
    assert importer._float("min_lr", run.train["min_lr"]) == cfg.train.min_lr


# -- detection and refusals -------------------------------------------------------------------


def test_detection_and_script() -> None:
    assert importer._Run({"train": {"max_tokens": 10}}, None).script == PRETRAIN
    assert importer._Run({"train": {"epochs": 1}}, None).script == FINETUNE
    with pytest.raises(ValueError, match=r"cannot tell whether .* \(no key tells\): pass script="):
        from_litgpt({"train": {"max_steps": 3}})
    with pytest.raises(ValueError, match=r"\(it has keys of both\)"):
        from_litgpt({"model_name": "x", "checkpoint_dir": "y"})
    assert importer._Run({"train": {"max_steps": 3}}, FINETUNE).train["epochs"] == 5
    with pytest.raises(ValueError, match=r"unknown script 'fintune'; did you mean 'finetune'\?"):
        from_litgpt({}, script="fintune")


def test_refusals_name_the_option_and_value() -> None:
    config = load("finetune/llama-3.2-1B/lora.yaml")
    config["train"]["lr_warmup_step"] = 3
    with pytest.raises(ValueError, match=r"train has no option 'lr_warmup_step'; did you mean"):
        from_litgpt(config)
    config = load("finetune/llama-3.2-1B/lora.yaml")
    config["train"]["lr_warmup_steps"] = 0
    with pytest.raises(ValueError, match=r"divide by train\.lr_warmup_steps.*got 0"):
        from_litgpt(config)
    config["train"]["lr_warmup_steps"], config["train"]["lr_warmup_fraction"] = None, 0.1
    with pytest.raises(ValueError, match=r"lr_warmup_fraction \(0\.1\) is a fraction of len"):
        from_litgpt(config)
    pretrain = load("pretrain/tinyllama.yaml")
    with pytest.raises(ValueError, match=r"devices is 'auto': pass devices=N"):
        from_litgpt(pretrain)
    with pytest.raises(ValueError, match=r"pass max_seq_length=N"):
        from_litgpt(load("pretrain/debug.yaml"), devices=1)
    with pytest.raises(ValueError, match=r"steps_per_epoch does not apply"):
        from_litgpt(pretrain, devices=1, steps_per_epoch=5)
    with pytest.raises(ValueError, match=r"pretrain script does not take train\.epochs"):
        from_litgpt({**pretrain, "train": {**pretrain["train"], "epochs": 2}}, devices=1)
    with pytest.raises(ValueError, match=r"max_tokens \(10\) is less than one optimizer update"):
        from_litgpt({**pretrain, "train": {**pretrain["train"], "max_tokens": 10}}, devices=1)
    with pytest.raises(ValueError, match=r"steps_per_epoch must be a positive integer, got 0"):
        from_litgpt(load("finetune/llama-3.2-1B/lora.yaml"), steps_per_epoch=0)
    with pytest.raises(TypeError, match=r"train\.min_lr must be a finite number, got 'fast'"):
        from_litgpt({**pretrain, "train": {**pretrain["train"], "min_lr": "fast"}}, devices=1)


def test_a_missing_length_is_refused_by_name() -> None:
    config = load("finetune/llama-3.2-1B/lora.yaml")
    config["train"]["epochs"] = None
    with pytest.raises(ValueError, match=r"from_litgpt\(\): litgpt's finetune scripts need tr"):
        from_litgpt(config, steps_per_epoch=10)
    pretrain = load("pretrain/tinyllama.yaml")
    pretrain["train"]["max_tokens"] = None
    with pytest.raises(ValueError, match=r"litgpt's pretrain script needs train\.max_tokens"):
        from_litgpt(pretrain, devices=1)


def test_a_run_inside_its_warm_up_is_the_warm_up() -> None:
    config = load("finetune/phi-2/full.yaml")  # max_steps 100, lr_warmup_steps 200
    schedule = from_litgpt(config, steps_per_epoch=500)
    assert run_length(config, steps_per_epoch=500) == 100
    assert math.isclose(schedule(50), 2e-4 * 50 / 200, rel_tol=1e-15)


def test_the_expressions_print_and_serialise_as_they_are() -> None:
    schedules = [
        from_litgpt(load("pretrain/debug.yaml"), devices=1, max_seq_length=512),
        from_litgpt(load("finetune/llama-3.2-1B/lora.yaml"), steps_per_epoch=500),
        from_litgpt(load("finetune/llama-3.2-1B/lora.yaml")),
    ]
    for schedule in schedules:
        assert parse(repr(schedule)) == schedule
        assert from_dict(to_dict(schedule)) == schedule
