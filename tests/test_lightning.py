"""schedalg.lightning.ScheduleCallback in real Lightning Trainer runs (tiny model, CPU): the lr the
optimizer used at every step, across a resume from a checkpoint (with and without the
scheduler's state), a plateau fed by validation against Lightning's own ReduceLROnPlateau
stepping, and the steps GradScaler skips."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import schedalg as sa
from schedalg.algebra.horizon import UnboundError, total
from schedalg.torch import Scheduler

pl = pytest.importorskip("lightning.pytorch")
from schedalg.lightning import ScheduleCallback  # noqa: E402

BATCHES = 4  # optimizer steps per epoch
S = sa.warmup(sa.cosine(12), 4, start=0.1)
VAL_LOSSES = [3.0, 1.0, 2.0, 2.5, 0.5]  # the validation loss logged after each epoch


class Model(pl.LightningModule):
    """A linear layer; records the lr of each optimizer step that runs (by global step) and,
    with ``inf_steps``, feeds an inf into the batch of those steps (GradScaler skips them)."""

    def __init__(self, schedule: Any, native_plateau: bool = False, inf_steps: Any = ()) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(2, 1)
        self.schedule, self.native_plateau, self.inf_steps = schedule, native_plateau, inf_steps
        self.used: dict[int, float] = {}
        self.ran: list[int] = []

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x = batch
        if self.global_step in self.inf_steps:
            x = x.clone()
            x[0, 0] = float("inf")
        return self.layer(x).pow(2).mean()

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        self.used[self.global_step] = optimizer.param_groups[0]["lr"]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val_loss", VAL_LOSSES[self.current_epoch])

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        opt.register_step_post_hook(lambda *a: self.ran.append(self.global_step))
        if self.native_plateau:
            sched: Any = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
            config = {"scheduler": sched, "interval": "epoch", "monitor": "val_loss"}
        else:
            config = {"scheduler": Scheduler(opt, lr=self.schedule), "interval": "step"}
        return {"optimizer": opt, "lr_scheduler": config}


def _fit(model: Model, epochs: int, callbacks: list, ckpt: Any = None, **kw: Any) -> Any:
    data = torch.utils.data.DataLoader(torch.ones(BATCHES, 2), batch_size=1)
    val = torch.utils.data.DataLoader(torch.ones(1, 2), batch_size=1)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        enable_checkpointing=any(isinstance(c, pl.callbacks.ModelCheckpoint) for c in callbacks),
        callbacks=callbacks,
        **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, data, val, ckpt_path=ckpt)
    return trainer


def _expected(schedule: Any, steps: range, metrics_before: Any) -> dict[int, float]:
    """``0.1 * s(k)`` with the plateau multiplier after the metrics reported before step k."""
    p = sa.plateaus(schedule)[0]
    out = {}
    for k in steps:
        state = p.initial()
        for metric in metrics_before(k):
            state = p.update(state, metric)
        out[k] = 0.1 * sa.bind(schedule, [state])(k)
    return out


def _checkpoints(tmp_path: Path) -> Any:
    return pl.callbacks.ModelCheckpoint(dirpath=tmp_path, save_top_k=-1, filename="{epoch}")


def test_lr_is_base_times_schedule_at_the_global_step_across_resumes(tmp_path):
    schedule = S * sa.plateau(factor=0.5, patience=0)

    def seen(first_epoch: int) -> Any:  # the validations a run has reported before step k
        return lambda k: VAL_LOSSES[first_epoch : k // BATCHES]

    full = Model(schedule)
    _fit(full, 4, [ScheduleCallback(monitor="val_loss"), _checkpoints(tmp_path)])
    assert full.used == _expected(schedule, range(16), seen(0))
    assert full.used[11] == 0.1 * S(11) and full.used[12] == 0.1 * S(12) * 0.5  # 3, 1, 2: halved

    ckpt = tmp_path / "epoch=0.ckpt"  # saved after step 4, with the reducer state
    resumed = Model(schedule)
    _fit(resumed, 4, [ScheduleCallback(monitor="val_loss")], ckpt=str(ckpt))
    assert resumed.used == {k: full.used[k] for k in range(4, 16)}

    # The scheduler's state lost (a checkpoint without it): the step still comes from the
    # Trainer's global step; only the validations of this run reach the plateau.
    state = torch.load(ckpt, weights_only=False)
    state["lr_schedulers"] = []
    torch.save(state, tmp_path / "lost.ckpt")
    lost = Model(schedule)
    _fit(lost, 4, [ScheduleCallback(monitor="val_loss")], ckpt=str(tmp_path / "lost.ckpt"))
    assert lost.used == _expected(schedule, range(4, 16), seen(1))
    # ...which the adapter's own count does not survive: it restarts the warm-up.
    unclocked = Model(schedule)
    callback = ScheduleCallback(monitor="val_loss", clock=False)
    _fit(unclocked, 2, [callback], ckpt=str(tmp_path / "lost.ckpt"))
    assert unclocked.used[4] == 0.1 * S(0)


def test_a_plateau_alone_matches_lightnings_reduce_lr_on_plateau():
    native = Model(None, native_plateau=True)
    _fit(native, 5, [])
    ours = Model(sa.plateau(factor=0.5, patience=0))
    _fit(ours, 5, [ScheduleCallback(monitor="val_loss")])
    assert ours.used == native.used
    assert sorted(set(native.used.values())) == [0.025, 0.05, 0.1]  # the reductions happened


def _amp() -> Any:
    # A small initial scale: no step overflows but those fed an inf.
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    return pl.plugins.precision.MixedPrecision("16-mixed", "cpu", scaler=scaler)


def test_steps_gradscaler_skipped_hold_the_schedule(tmp_path):
    amp = _amp()
    skips = (1, 2)
    held = Model(S, inf_steps=skips)
    _fit(held, 2, [ScheduleCallback(hold_skipped=True), _checkpoints(tmp_path)], plugins=[amp])
    assert held.ran == [0, 3, 4, 5, 6, 7]  # GradScaler skipped steps 1 and 2...
    assert sorted(held.used) == list(range(8))  # ...which Lightning's global step counts
    assert [held.used[k] for k in held.ran] == [0.1 * S(t) for t in range(6)]
    assert held.used[1] == held.used[2] == 0.1 * S(1)  # the lr the skipped steps would have used

    # The count of skipped steps is in the scheduler's state: a resume continues from it.
    resumed = Model(S)
    amp = _amp()
    _fit(
        resumed, 2, [ScheduleCallback(hold_skipped=True)], tmp_path / "epoch=0.ckpt", plugins=[amp]
    )
    assert resumed.used == {k: held.used[k] for k in range(4, 8)}

    # Without hold_skipped the schedule follows the global step, skipped steps included.
    counted = Model(S, inf_steps=skips)
    amp = _amp()
    _fit(counted, 2, [ScheduleCallback()], plugins=[amp])
    assert counted.used == {k: 0.1 * S(k) for k in range(8)}


def test_the_horizon_is_bound_from_the_trainer(tmp_path):
    planned = sa.warmup(sa.cosine(total - 4), 4, start=0.1)  # 4 epochs of 4 steps: S
    full = Model(planned)
    _fit(full, 4, [ScheduleCallback(), _checkpoints(tmp_path)])
    assert full.used == {k: 0.1 * S(k) for k in range(16)}
    resumed = Model(planned)
    _fit(resumed, 4, [ScheduleCallback()], ckpt=str(tmp_path / "epoch=1.ckpt"))
    assert resumed.used == {k: full.used[k] for k in range(8, 16)}
    # A longer run binds a longer cosine, which rewrites the steps already taken: refused.
    with pytest.raises(ValueError, match=r"rewrites steps the run already took.*at step 5"):
        _fit(Model(planned), 5, [ScheduleCallback()], ckpt=str(tmp_path / "epoch=1.ckpt"))
    with pytest.raises(UnboundError, match=r"scheduler.bind\(total=...\)"):
        _fit(Model(planned), 1, [])  # no callback binds it


def test_bad_configurations_are_refused_by_name():
    class Epochly(Model):
        def configure_optimizers(self) -> Any:
            opt = torch.optim.SGD(self.parameters(), lr=0.1)
            return {"optimizer": opt, "lr_scheduler": Scheduler(opt, lr=S)}  # interval "epoch"

    with pytest.raises(ValueError, match=r"interval='epoch'.*clock=False"):
        _fit(Epochly(S), 1, [ScheduleCallback()])
    with pytest.raises(ValueError, match=r"monitor='val_loss'.*no schedule has a plateau"):
        _fit(Model(S), 1, [ScheduleCallback(monitor="val_loss")])
    with pytest.raises(RuntimeError, match=r"'val_los'.*did you mean 'val_loss'"):
        _fit(Model(sa.plateau()), 1, [ScheduleCallback(monitor="val_los")])
    with pytest.raises(TypeError, match=r"ScheduleCallback\(\): hold_skipped must be True or"):
        ScheduleCallback(hold_skipped="yes")  # type: ignore[arg-type]
