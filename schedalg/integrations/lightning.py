"""PyTorch Lightning: a callback that drives ``schedalg.torch.Scheduler`` from the Trainer.

Return the adapter from ``configure_optimizers`` with ``"interval": "step"`` as usual and add
``ScheduleCallback`` to the Trainer::

    trainer = lightning.Trainer(callbacks=[ScheduleCallback(monitor="val_loss")], ...)

The callback finds every ``Scheduler`` among the Trainer's lr schedulers and

- binds the placeholder ``total`` (``schedalg.algebra.horizon``) of its schedules to
  ``trainer.estimated_stepping_batches``, the optimizer steps of the whole run;
- makes its step ``trainer.global_step`` (``clock=True``): the optimizer steps the Trainer has
  taken, restored from its checkpoints with the loops, so a scheduler state that is lost or
  stale cannot move the curve;
- reports the monitored metric (``trainer.callback_metrics[monitor]``) to every plateau node
  of its schedules when a validation run ends (not during the sanity check), before
  ``ModelCheckpoint`` saves (Lightning runs checkpoint callbacks last);
- with ``hold_skipped=True``, holds the schedule on steps where GradScaler skipped
  ``optimizer.step()`` (Lightning's own scheduler stepping advances on them).

Importing this module imports Lightning (``lightning.pytorch``).
"""

from __future__ import annotations

import warnings

from lightning.pytorch import Callback, LightningModule, Trainer

from schedalg.core.node import nearest
from schedalg.curves.metric import plateaus
from schedalg.integrations.torch.adapter import Scheduler
from schedalg.integrations.torch.timing import check_callback_options

__all__ = ["ScheduleCallback"]

_NAME = "ScheduleCallback"


def _adapters(trainer: Trainer, clock: bool) -> list[Scheduler]:
    """The Trainer's ``Scheduler``s, checking that each is stepped once per optimizer step
    when its step is to follow ``trainer.global_step``."""
    found = []
    for config in trainer.lr_scheduler_configs:
        if not isinstance(config.scheduler, Scheduler):
            continue
        if clock and (config.interval != "step" or config.frequency != 1):
            raise ValueError(
                f"{_NAME}(clock=True) makes the schedule's step trainer.global_step (optimizer "
                f"steps), but the Scheduler is stepped with interval={config.interval!r}, "
                f"frequency={config.frequency!r}; return it with "
                '{"interval": "step", "frequency": 1}, or pass clock=False'
            )
        found.append(config.scheduler)
    if not found:
        kinds = [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs]
        raise ValueError(
            f"{_NAME}: the Trainer has no schedalg.torch.Scheduler among its lr schedulers "
            f"(found {kinds}); return one from configure_optimizers"
        )
    return found


def _run_length(trainer: Trainer) -> int:
    steps = trainer.estimated_stepping_batches
    if not isinstance(steps, int) or steps <= 0:
        raise ValueError(
            f"{_NAME}: a schedule holds the placeholder total, but the Trainer's run length is "
            f"unknown (estimated_stepping_batches={steps!r}); set max_steps or max_epochs"
        )
    return steps


def _has_plateau(scheduler: Scheduler) -> bool:
    return any(plateaus(s) for by_group in scheduler.schedules.values() for s in by_group.values())


class ScheduleCallback(Callback):
    """``ScheduleCallback(monitor=None, *, clock=True, hold_skipped=False, strict=True)``: drive
    the Trainer's ``schedalg.torch.Scheduler``\\ s.

    - ``monitor``: the logged metric (``self.log("val_loss", ...)``) reported to every
      ``plateau`` node after each validation run; ``None`` reports nothing.
    - ``clock``: the schedule's step is ``trainer.global_step`` (the Scheduler must be stepped
      every optimizer step: ``"interval": "step"``); ``False`` keeps the adapter's own count.
    - ``hold_skipped``: an optimizer step GradScaler skipped does not advance the schedule.
    - ``strict``: a monitored metric that was not logged is an error (else a warning, and no
      report), as in Lightning's ``EarlyStopping``.
    """

    def __init__(
        self,
        monitor: str | None = None,
        *,
        clock: bool = True,
        hold_skipped: bool = False,
        strict: bool = True,
    ) -> None:
        check_callback_options(
            _NAME, monitor, clock=clock, hold_skipped=hold_skipped, strict=strict
        )
        self.monitor = monitor
        self.clock = clock
        self.hold_skipped = hold_skipped
        self.strict = strict
        self._schedulers: list[Scheduler] = []

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # After configure_optimizers, before a checkpoint's state is restored.
        self._schedulers = _adapters(trainer, self.clock)
        for scheduler in self._schedulers:
            if "total" in scheduler.placeholders:
                scheduler.bind(total=_run_length(trainer))
        if self.monitor is not None and not any(map(_has_plateau, self._schedulers)):
            raise ValueError(
                f"{_NAME}(monitor={self.monitor!r}): no schedule has a plateau node, so the "
                "metric would be ignored; drop monitor or add a plateau(...) to the schedule"
            )

        def global_step() -> int:
            return int(trainer.global_step)

        for scheduler in self._schedulers:
            scheduler.follow(global_step if self.clock else None, hold_skipped=self.hold_skipped)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # After the checkpoint (loops, optimizers, schedulers) is restored.
        for scheduler in self._schedulers:
            scheduler.sync()

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.monitor is None or trainer.sanity_checking or not self._schedulers:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            logged = sorted(trainer.callback_metrics)
            message = (
                f"{_NAME}(monitor={self.monitor!r}): the metric was not logged in validation "
                f"(logged: {logged}){nearest(self.monitor, logged)}"
            )
            if self.strict:
                raise RuntimeError(message)
            warnings.warn(message + "; no metric reported", RuntimeWarning, stacklevel=2)
            return
        metric = float(value)
        for scheduler in self._schedulers:
            if _has_plateau(scheduler):
                scheduler.observe(metric)
