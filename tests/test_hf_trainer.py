"""schedalg.hf_trainer.ScheduleCallback in real HF Trainer runs (tiny torch model, CPU): the lr
the optimizer used at every step, across resumes from a checkpoint (with and without
``scheduler.pt``), a plateau fed by evaluation against the Trainer's own ReduceLROnPlateau, and
the steps a GradScaler skips (accelerate's skip detection)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import schedalg as sa
from schedalg.algebra.horizon import total
from schedalg.torch import Scheduler

transformers = pytest.importorskip("transformers")
from schedalg.hf_trainer import ScheduleCallback  # noqa: E402

STEPS, EVERY = 16, 4  # optimizer steps; an evaluation (and a checkpoint) every 4
S = sa.warmup(sa.cosine(12), 4, start=0.1)
EVAL_LOSSES = [3.0, 1.0, 2.0, 2.5, 0.5]  # the loss of the evaluations after step 4, 8, ...


class Model(torch.nn.Module):
    """A linear layer whose evaluation loss is scripted by the step; ``inf_steps`` feed an inf
    into those steps' batches (GradScaler skips them)."""

    def __init__(self, inf_steps: Any = ()) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(2, 1)
        self.step = 0
        self.inf_steps = inf_steps

    def forward(self, x: Any, labels: Any = None) -> Any:
        if not self.training:
            return {"loss": torch.tensor(EVAL_LOSSES[self.step // EVERY - 1])}
        if self.step in self.inf_steps:
            x = x * float("inf")
        return {"loss": self.layer(x).pow(2).mean()}


class Record(transformers.TrainerCallback):
    """The lr of every optimizer step by global step, and the steps whose optimizer.step ran."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.used: dict[int, float] = {}
        self.ran: list[int] = []

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        self.model.step = state.global_step
        optimizer.optimizer.register_step_post_hook(lambda *a: self.ran.append(state.global_step))

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.used[state.global_step] = optimizer.param_groups[0]["lr"]

    def on_step_end(self, args, state, control, **kwargs):
        self.model.step = state.global_step


def _train(
    out: Path,
    schedule: Any,
    callback: Any = None,
    resume: Any = None,
    scaler: bool = False,
    inf_steps: Any = (),
    steps: int = STEPS,
    **options: Any,
) -> Record:
    model = Model(inf_steps)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = None if schedule is None else Scheduler(optimizer, lr=schedule)
    record = Record(model)
    args = transformers.TrainingArguments(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=1,
        eval_strategy="steps",
        eval_steps=EVERY,
        save_steps=EVERY,
        report_to=[],
        use_cpu=True,
        logging_strategy="no",
        disable_tqdm=True,
        **options,
    )
    data = [{"x": torch.ones(2), "labels": torch.tensor(0.0)} for _ in range(STEPS)]
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data[:1],
        optimizers=(optimizer, scheduler),
        callbacks=[record] + ([callback] if callback else []),
    )
    if scaler:  # accelerate builds its GradScaler only for fp16 on an accelerator
        trainer.accelerator.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train(resume_from_checkpoint=resume)
    return record


def _expected(schedule: Any, steps: range, evaluations: Any) -> dict[int, float]:
    """``0.1 * s(k)`` with the plateau multiplier after the evaluations reported before k."""
    p = sa.plateaus(schedule)[0]
    out = {}
    for k in steps:
        state = p.initial()
        for metric in EVAL_LOSSES[evaluations(k)]:
            state = p.update(state, metric)
        out[k] = 0.1 * sa.bind(schedule, [state])(k)
    return out


def test_lr_is_base_times_schedule_at_the_global_step_across_resumes(tmp_path):
    schedule = S * sa.plateau(factor=0.5, patience=0)
    full = _train(tmp_path / "a", schedule, ScheduleCallback(monitor="eval_loss"))
    assert full.used == _expected(schedule, range(STEPS), lambda k: slice(0, k // EVERY))
    assert full.used[12] == 0.1 * S(12) * 0.5  # 3, 1, then 2: halved

    checkpoint = tmp_path / "a" / "checkpoint-4"  # scheduler.pt holds the reducer state
    resumed = _train(tmp_path / "b", schedule, ScheduleCallback(monitor="loss"), str(checkpoint))
    assert resumed.used == {k: full.used[k] for k in range(4, STEPS)}

    # Without scheduler.pt the Trainer silently loads neither it nor optimizer.pt: the step
    # still comes from state.global_step; only this run's evaluations reach the plateau.
    lost = tmp_path / "lost"
    shutil.copytree(checkpoint, lost)
    (lost / "scheduler.pt").unlink()
    run = _train(tmp_path / "c", schedule, ScheduleCallback(monitor="eval_loss"), str(lost))
    assert run.used == _expected(schedule, range(4, STEPS), lambda k: slice(1, k // EVERY))
    # ...which the adapter's own count does not survive: it restarts the warm-up.
    callback = ScheduleCallback(monitor="eval_loss", clock=False)
    assert _train(tmp_path / "d", schedule, callback, str(lost)).used[4] == 0.1 * S(0)


def test_a_plateau_alone_matches_the_trainers_reduce_lr_on_plateau(tmp_path):
    native = _train(
        tmp_path / "a",
        None,
        lr_scheduler_type="reduce_lr_on_plateau",
        lr_scheduler_kwargs={"factor": 0.5, "patience": 0},
        metric_for_best_model="eval_loss",
        save_strategy="no",
    )
    callback = ScheduleCallback(monitor="eval_loss")
    ours = _train(tmp_path / "b", sa.plateau(factor=0.5, patience=0), callback, save_strategy="no")
    assert ours.used == native.used
    assert sorted(set(native.used.values())) == [0.05, 0.1]  # the reduction happened


def test_steps_gradscaler_skipped_hold_the_schedule(tmp_path):
    skips = (1, 2)
    held = _train(tmp_path / "a", S, ScheduleCallback(), scaler=True, inf_steps=skips)
    assert held.ran == [0, *range(3, STEPS)]  # GradScaler skipped steps 1 and 2...
    assert sorted(held.used) == list(range(STEPS))  # ...which the global step counts
    assert [held.used[k] for k in held.ran] == [0.1 * S(t) for t in range(STEPS - 2)]

    # The count of skipped steps is in scheduler.pt: a resume continues from it.
    checkpoint = str(tmp_path / "a" / "checkpoint-4")
    resumed = _train(tmp_path / "b", S, ScheduleCallback(), checkpoint, scaler=True)
    assert resumed.used == {k: held.used[k] for k in range(4, STEPS)}

    # hold_skipped=False: the schedule follows the global step, skipped steps included.
    counted = _train(
        tmp_path / "c", S, ScheduleCallback(hold_skipped=False), scaler=True, inf_steps=skips
    )
    assert counted.used == {k: 0.1 * S(k) for k in range(STEPS)}


def test_the_horizon_is_bound_from_the_trainer(tmp_path):
    planned = sa.warmup(sa.cosine(total - 4), 4, start=0.1)  # S for a run of 16 steps
    full = _train(tmp_path / "a", planned, ScheduleCallback())
    assert full.used == {k: 0.1 * S(k) for k in range(STEPS)}
    checkpoint = str(tmp_path / "a" / "checkpoint-8")  # loaded once total is bound
    resumed = _train(tmp_path / "b", planned, ScheduleCallback(), checkpoint, save_strategy="no")
    assert resumed.used == {k: full.used[k] for k in range(8, STEPS)}

    # Extend a warm-stable-decay run: the stable phase grows, the 8 steps taken agree.
    wsd = sa.warmup_stable_decay(2, total - 6, 4)
    _train(tmp_path / "c", wsd, ScheduleCallback())
    longer = _train(
        tmp_path / "d", wsd, ScheduleCallback(), str(tmp_path / "c" / "checkpoint-8"), steps=20
    )
    assert longer.used == {k: 0.1 * sa.warmup_stable_decay(2, 14, 4)(k) for k in range(8, 20)}
    assert longer.used[15] == 0.1 != 0.1 * wsd.bind(total=16)(15)


def test_bad_configurations_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"LambdaLR, not a schedalg.torch.Scheduler"):
        _train(tmp_path / "a", None, ScheduleCallback(), save_strategy="no")
    with pytest.raises(ValueError, match=r"monitor='eval_loss'.*no schedule has a plateau"):
        _train(tmp_path / "b", S, ScheduleCallback(monitor="eval_loss"), save_strategy="no")
    callback = ScheduleCallback(monitor="eval_los")
    with pytest.raises(ValueError, match=r"'eval_los'.*did you mean 'eval_loss'"):
        _train(tmp_path / "c", sa.plateau(), callback, save_strategy="no")
    with pytest.raises(TypeError, match=r"ScheduleCallback\(\): monitor must be a metric name"):
        ScheduleCallback(monitor=3)  # type: ignore[arg-type]
