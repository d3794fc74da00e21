"""Hugging Face ``Trainer``: a callback that drives ``schedalg.torch.Scheduler`` from the Trainer.

Pass the adapter as the Trainer's scheduler (``optimizers=(optimizer, scheduler)``) and add
``ScheduleCallback``::

    trainer = Trainer(model, args, optimizers=(optimizer, scheduler),
                      callbacks=[ScheduleCallback(monitor="eval_loss")], ...)

The callback

- binds the placeholder ``total`` (``schedalg.algebra.horizon``) of the schedules to
  ``state.max_steps``, the optimizer steps of the whole run (the checkpoint the Trainer
  restored is checked and loaded then, against the bound schedules);
- makes the adapter's step ``state.global_step`` (``clock=True``): read when training begins
  (after a checkpoint is restored) and after every optimizer update (the Trainer steps the
  scheduler before it advances ``global_step``, and not at all on a step GradScaler skipped),
  so a lost scheduler state (a checkpoint without ``scheduler.pt``, which the Trainer then
  silently skips with the optimizer's) cannot move the curve;
- reports the monitored evaluation metric (``metrics[monitor]``, ``"loss"`` read as
  ``"eval_loss"`` as the Trainer's ``metric_for_best_model`` is) to every plateau node of the
  schedules after each evaluation, before the checkpoint of that step is saved;
- with ``hold_skipped=True`` (the default: the Trainer itself does not step its scheduler when
  accelerate reports ``optimizer_step_was_skipped``), holds the schedule on steps where
  GradScaler skipped ``optimizer.step()``; ``False`` advances it on them, as torch's
  schedulers do.

Importing this module imports ``transformers``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from schedalg.core.node import nearest
from schedalg.curves.metric import plateaus
from schedalg.integrations.torch.adapter import Scheduler
from schedalg.integrations.torch.timing import check_callback_options

__all__ = ["ScheduleCallback"]

_NAME = "ScheduleCallback"


def _adapter(scheduler: Any) -> Scheduler:
    inner = getattr(scheduler, "scheduler", scheduler)  # accelerate's AcceleratedScheduler
    if not isinstance(inner, Scheduler):
        raise ValueError(
            f"{_NAME}: the Trainer's lr scheduler is {type(scheduler).__name__}, not a "
            "schedalg.torch.Scheduler; pass Trainer(..., optimizers=(optimizer, Scheduler(...)))"
        )
    return inner


def _has_plateau(scheduler: Scheduler) -> bool:
    return any(plateaus(s) for by_group in scheduler.schedules.values() for s in by_group.values())


def _metric_key(monitor: str, metrics: Mapping[str, Any]) -> str | None:
    for key in (monitor, f"eval_{monitor}"):
        if key in metrics:
            return key
    return None


class ScheduleCallback(TrainerCallback):
    """``ScheduleCallback(monitor=None, *, clock=True, hold_skipped=True, strict=True)``: drive
    the Trainer's ``schedalg.torch.Scheduler``.

    - ``monitor``: the evaluation metric (``"eval_loss"``, or ``"loss"``) reported to every
      ``plateau`` node after each evaluation; ``None`` reports nothing.
    - ``clock``: the schedule's step is ``state.global_step``; ``False`` keeps the adapter's
      own count of the Trainer's ``step()`` calls.
    - ``hold_skipped``: an optimizer step GradScaler skipped does not advance the schedule.
    - ``strict``: a monitored metric missing from an evaluation is an error (else a warning,
      and no report).
    """

    def __init__(
        self,
        monitor: str | None = None,
        *,
        clock: bool = True,
        hold_skipped: bool = True,
        strict: bool = True,
    ) -> None:
        check_callback_options(
            _NAME, monitor, clock=clock, hold_skipped=hold_skipped, strict=strict
        )
        self.monitor = monitor
        self.clock = clock
        self.hold_skipped = hold_skipped
        self.strict = strict
        self._scheduler: Scheduler | None = None
        self._state: TrainerState | None = None

    def _global_step(self) -> int:
        assert self._state is not None
        return int(self._state.global_step)

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        lr_scheduler: Any = None,
        **kwargs: Any,
    ) -> None:
        # After a checkpoint's trainer state, optimizer and scheduler are restored.
        self._state = state  # the Trainer replaces its state object on a resume: read this one
        scheduler = self._scheduler = _adapter(lr_scheduler)
        if "total" in scheduler.placeholders:
            scheduler.bind(total=int(state.max_steps))  # then loads a checkpoint's state
        if self.monitor is not None and not _has_plateau(scheduler):
            raise ValueError(
                f"{_NAME}(monitor={self.monitor!r}): no schedule has a plateau node, so the "
                "metric would be ignored; drop monitor or add a plateau(...) to the schedule"
            )
        scheduler.follow(self._global_step if self.clock else None, hold_skipped=self.hold_skipped)

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._scheduler is not None:
            self._state = state
            self._scheduler.sync()

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.monitor is None or self._scheduler is None:
            return
        metrics = metrics or {}
        key = _metric_key(self.monitor, metrics)
        if key is None:
            message = (
                f"{_NAME}(monitor={self.monitor!r}): the evaluation has no such metric "
                f"(metrics: {sorted(metrics)}){nearest(self.monitor, metrics)}"
            )
            if self.strict:
                raise ValueError(message)
            warnings.warn(message + "; no metric reported", RuntimeWarning, stacklevel=2)
            return
        self._scheduler.observe(float(metrics[key]))
