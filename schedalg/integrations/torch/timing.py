"""Which step the adapter applies: an external clock, and holding on skipped optimizer steps.

By default ``Scheduler``'s step is its own count of ``step()`` calls. Two options change that:

- ``clock``: a function returning the trainer's step (Lightning's ``trainer.global_step``, HF's
  ``state.global_step``). The adapter reads it at every ``step()`` and ``sync()``, so its step is
  the trainer's whatever happened to the adapter's own state (a checkpoint without it, a
  scheduler rebuilt mid-run, a trainer that steps it twice).
- ``hold_skipped``: an optimizer step that did not run does not advance the schedule.
  ``GradScaler.step(optimizer)`` calls ``optimizer.step()`` only when the gradients are finite
  and skips it otherwise; torch's schedulers advance anyway (they only warn when
  ``optimizer.step()`` was not called before the first ``scheduler.step()``), while
  accelerate's ``AcceleratedScheduler`` does not step when ``optimizer.step_was_skipped`` (it
  patches ``optimizer.step`` to see whether the scaler called it). The adapter detects a
  skip the same way, from whether ``optimizer.step()`` ran: it registers a step post-hook on
  the torch optimizer (``Optimizer.register_step_post_hook``), which runs after every
  ``optimizer.step()`` that happens. The trainer's steps in which it did not run are counted
  as skipped, and the schedule's step is the trainer's step less the steps skipped so far
  (kept in the adapter's ``state_dict``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from schedalg.core import validators as check

Clock = Callable[[], Any]


def _step_number(where: str, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{where} must be a non-negative integer, got {value!r}")
    return int(value)


def torch_optimizer(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer inside wrappers (accelerate's, Lightning's hold it as ``.optimizer``
    or ``._optimizer``): the object whose ``step()`` GradScaler calls or skips."""
    seen = 0
    while not isinstance(optimizer, torch.optim.Optimizer) or not hasattr(
        optimizer, "_optimizer_step_post_hooks"
    ):
        inner = getattr(optimizer, "optimizer", getattr(optimizer, "_optimizer", None))
        seen += 1
        if inner is None or seen > 8:
            raise TypeError(
                "Scheduler(): hold_skipped=True needs a torch.optim.Optimizer (to see whether "
                f"optimizer.step() ran), got {type(optimizer).__name__}"
            )
        optimizer = inner
    return optimizer


class Timing:
    """The trainer's step (``ticks``) and the steps skipped; the schedule's step is
    ``ticks - skipped``.

    ``skipped`` is counted from a base (set by ``rebase``): the trainer's steps since the base
    in which ``optimizer.step()`` did not run, ``ticks - base_ticks - ran`` (never negative: an
    adapter stepped once per epoch sees many optimizer steps per tick), plus the steps skipped
    before the base. The count does not depend on the order in which a trainer calls
    ``step()`` and advances its own step (HF steps the scheduler before ``global_step += 1``).
    """

    def __init__(self, optimizer: Any, clock: Clock | None, hold_skipped: bool) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(
                f"Scheduler(): clock must be a function returning the step, got {clock!r}"
            )
        self.clock = clock
        self.hold_skipped = bool(hold_skipped)
        self.ticks = 0
        self.skipped = 0
        self._base_ticks = 0
        self._base_skipped = 0
        self._ran = 0
        self._hook = None
        if self.hold_skipped:
            self._hook = torch_optimizer(optimizer).register_step_post_hook(self._count)

    def _count(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self._ran += 1

    def close(self) -> None:
        """Remove the optimizer hook (the adapter is given another timing)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def read_clock(self) -> int:
        assert self.clock is not None
        return _step_number("Scheduler(clock=...): the clock's step", self.clock())

    def rebase(self, ticks: int, skipped: int) -> int:
        """Count from here: the trainer is at ``ticks`` with ``skipped`` steps skipped so far."""
        self.ticks, self.skipped = ticks, skipped
        self._base_ticks, self._base_skipped, self._ran = ticks, skipped, 0
        return self._schedule_step()

    def start(self, last_epoch: int) -> int:
        """The step to apply at construction or after ``follow``: the clock's, else
        ``last_epoch`` (the skips counted so far are kept)."""
        ticks = self.read_clock() if self.clock is not None else last_epoch + self.skipped
        return self.rebase(ticks, self.skipped)

    def advance(self, epoch: int | None) -> int:
        """The schedule's step for a ``step()`` call (``epoch``: an explicit step, taken as
        the schedule's step itself)."""
        if epoch is not None:
            return self.rebase(
                _step_number("Scheduler.step(): epoch", epoch) + self.skipped, self.skipped
            )
        return self.now(self.read_clock() if self.clock is not None else self.ticks + 1)

    def sync(self) -> int:
        """The schedule's step now: the clock read again (without a clock, the current one)."""
        return self.now(self.read_clock() if self.clock is not None else self.ticks)

    def now(self, ticks: int) -> int:
        """The schedule's step with the trainer at ``ticks``."""
        self.ticks = ticks
        if self.hold_skipped:
            missed = max(0, ticks - self._base_ticks - self._ran)
            self.skipped = self._base_skipped + missed
        return self._schedule_step()

    def _schedule_step(self) -> int:
        step = self.ticks - self.skipped
        if step < 0:
            raise ValueError(
                f"Scheduler: the trainer's step {self.ticks} is below the {self.skipped} steps "
                "skipped before it (the clock went back past a checkpoint's count of skipped "
                "steps); rebuild the Scheduler or load a matching state_dict"
            )
        return step


def check_callback_options(fn: str, monitor: Any, **flags: Any) -> None:
    """The trainer callbacks' shared arguments: a metric name (or None) and True/False flags."""
    if monitor is not None and not isinstance(monitor, str):
        raise TypeError(f"{fn}(): monitor must be a metric name, got {monitor!r}")
    for name, value in flags.items():
        check.flag(fn, name, value)
