"""``from_torch``: turn a constructed torch scheduler into schedalg expressions.

The conversion of each class is its entry in the table (``schedalg.importers.torch.classes``); this
module
converts every param group, chooses relative or absolute values, checks the result against the
lr the optimizer holds now and collects the momentum curves.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from torch.optim import lr_scheduler as L

from schedalg.algebra.expression import Schedule
from schedalg.algebra.units import absolute as _absolute
from schedalg.importers.torch import classes  # noqa: F401 - importing it registers every class
from schedalg.importers.torch.compose import order_shows_only_in_lr
from schedalg.importers.torch.context import Curve, Place, Refusal, name_of, refuse
from schedalg.importers.torch.state import LR_ABS_TOL, lr_precision, resumed_at, steps_taken
from schedalg.importers.torch.table import LrCheck, TorchClass, entries_in, find, lookup


class TorchSchedules(Mapping[str, Any]):
    """What ``from_torch`` returns: the schedules, ready for ``Scheduler(optimizer, **result)``.

    ``lr`` (and ``momentum`` where torch cycles it) is one ``Schedule`` when every param group
    follows the same expression, else a tuple with one per group. ``absolute`` names the keys
    whose schedules are absolute values rather than multipliers of the group's initial value.
    As a mapping it holds exactly the adapter's keyword arguments.
    """

    def __init__(
        self,
        lr: Schedule | tuple[Schedule, ...],
        momentum: Schedule | tuple[Schedule, ...] | None,
        absolute: tuple[str, ...],
    ) -> None:
        self.lr, self.momentum, self.absolute = lr, momentum, absolute

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = {"lr": self.lr}
        if self.momentum is not None:
            items["momentum"] = self.momentum
        items["absolute"] = self.absolute
        return items

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def group(self, key: str, index: int) -> Schedule:
        """The schedule of ``key`` for param group ``index``."""
        value = self._items()[key]
        return value[index] if isinstance(value, tuple) else value

    def __repr__(self) -> str:
        return f"TorchSchedules({self._items()!r})"


def from_torch(scheduler: Any) -> TorchSchedules:
    """The schedalg expressions that reproduce a constructed torch scheduler's curve.

    ``Scheduler(fresh_optimizer, **from_torch(torch_scheduler))`` — on an optimizer with the
    same initial values (lrs, momentum/betas) — applies the values the torch scheduler applies,
    step for step, within the rounding of torch's own recursions (``result.lr`` is the curve of
    steps ``0, 1, 2, ...`` since construction, whatever the scheduler has stepped since).

    - Multipliers of each group's initial lr where that is exact; absolute values otherwise
      (``OneCycleLR``, ``CyclicLR``, ``CosineAnnealingWarmRestarts`` with ``eta_min``,
      ``ReduceLROnPlateau``), named in ``result.absolute``; closed-form schedulers convert bit
      for bit. ``CyclicLR``/``OneCycleLR`` that cycle momentum give ``result.momentum``
      (``betas[0]`` on Adam-style optimizers).
    - ``CosineAnnealingLR`` keeps oscillating past ``T_max``, as torch does.
    - ``OneCycleLR``: schedalg holds the final value from step ``total_steps - 1`` on; torch
      extrapolates at step ``total_steps`` (a value no optimizer update uses) and raises after.
    - ``ReduceLROnPlateau`` becomes ``plateau(...)`` nodes (absolute, one per group), driven by
      ``Scheduler.step(metric)``; convert it before stepping it.
    - Constructed with ``last_epoch=k`` (resuming): the recursive schedulers (``MultiplicativeLR``
      too), ``LambdaLR``, ``OneCycleLR`` and ``CyclicLR`` convert to their closed form started at
      step ``k + 1`` (``shift``), the recursive ones scaled to the lr the group held at
      construction; ``result.lr`` is still the curve from construction.
    - A ``CyclicLR`` built after another scheduler: its constructor's step computed the lr from
      that scheduler's ``initial_lr``; that value, then the cycle.
    - Tensor lrs (float32, bfloat16) are checked at their own precision.
    - Refused, with the reason: ``ChainedScheduler`` holding schedulers that overwrite the lr
      (LambdaLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SWALR), a CosineAnnealingLR
      with ``eta_min != 0``, or a CosineAnnealingLR whose restart past ``T_max`` forgets
      factors still changing; ``SequentialLR`` holding a nested SequentialLR, a
      ChainedScheduler anywhere but first (torch fails at its milestone), SWALR, or
      momentum-cycling pieces; ``LinearLR``/``PolynomialLR`` with ``total_iters=0`` at a
      milestone (torch divides by zero); non-integer step counts; a scheduler whose current lr
      shows it was built on an lr already changed by another scheduler; a resumed scheduler
      stepped until its lr lost its scale (a cosine at ``eta_min``, a multiplier at 0: the lr it
      was resumed from is gone); ``CosineAnnealingWarmRestarts`` and the composites constructed
      with ``last_epoch != -1`` (and a stepped ``CosineAnnealingWarmRestarts``, which keeps no
      step count to tell the two apart); a subclass that overrides how its torch class computes
      the lr (transformers' ``AdafactorSchedule``: its lr is the optimizer's own). The
      ChainedScheduler checks apply to the pieces of a nested SequentialLR too (there a
      CosineAnnealingLR must not stay active past ``T_max``).
    - Absolute values also where the start is not the lr the optimizer was built with: a tree
      holding ``CyclicLR`` (it writes ``initial_lr``), or ``SWALR`` built after the lr moved.

    The torch behaviour matched is described in ``docs/torch-semantics.md``.
    """
    entry = _entry(scheduler)
    starts = entry.starts(scheduler)
    curves = _curves(scheduler, entry, starts)
    lr, relative = _lr(scheduler, curves)
    _check_now(scheduler, lr, starts, relative)
    momentum = _momentum(scheduler, entry)
    # Marked as well as named, so Scheduler(optimizer, lr=result.lr) applies them as values.
    if not relative:
        lr = [_absolute(s) for s in lr]
    if momentum is not None:
        momentum = [_absolute(m) for m in momentum]
    absolute = () if relative else ("lr",)
    if momentum is not None:
        absolute = (*absolute, "momentum")
    return TorchSchedules(
        _collapse(lr), None if momentum is None else _collapse(momentum), absolute
    )


def _entry(scheduler: Any) -> TorchClass:
    if find(scheduler) is None and not isinstance(scheduler, L.LRScheduler):
        raise TypeError(
            f"from_torch(): scheduler must be a torch.optim.lr_scheduler scheduler, got "
            f"{type(scheduler).__name__}"
        )
    return lookup(scheduler)


def _curves(scheduler: Any, entry: TorchClass, starts: list[float]) -> list[Curve]:
    try:
        return [entry.curve(scheduler, Place(i, start)) for i, start in enumerate(starts)]
    except Refusal:
        raise
    except (ValueError, TypeError) as error:
        # A schedalg constructor refused a value torch accepted.
        raise refuse(name_of(scheduler), f"no schedalg equivalent: {error}") from None


def _lr(scheduler: Any, curves: list[Curve]) -> tuple[list[Schedule], bool]:
    """The lr curves, relative where every group's is and nothing in the tree writes
    ``initial_lr`` itself (it need not be the lr the optimizer was built with, which a
    relative result multiplies); else absolute."""
    relatives = [c.relative for c in curves if c.relative is not None]
    writes_initial_lr = any(e.absolute for e in entries_in(scheduler))
    if len(relatives) == len(curves) and not writes_initial_lr:
        return relatives, True
    return [c.absolute for c in curves], False


def _momentum(scheduler: Any, entry: TorchClass) -> list[Schedule] | None:
    if entry.momentum is None:
        return None
    groups = range(len(scheduler.optimizer.param_groups))
    momenta = [entry.momentum(scheduler, i) for i in groups]
    cycled = [m for m in momenta if m is not None]
    return cycled if len(cycled) == len(momenta) else None


def _collapse(values: list[Schedule]) -> Schedule | tuple[Schedule, ...]:
    return values[0] if all(v == values[0] for v in values) else tuple(values)


def _check_now(scheduler: Any, lr: list[Schedule], starts: list[float], relative: bool) -> None:
    """Now (step ``t`` since construction) the torch lr must be the expression's: else the
    scheduler was built on an lr that another scheduler had already changed (torch's
    constructors compound), or was constructed with ``last_epoch=k`` and stepped since (the lr
    it started from is then taken to be the closed form's). A tensor lr is compared at its own
    precision (float32, bfloat16)."""
    t = lookup(scheduler).clock(scheduler)
    if lookup(scheduler).lr_check is LrCheck.NEVER:
        return
    if t > 0 and any(e.lr_check is LrCheck.AT_START for e in entries_in(scheduler)):
        return
    blind = t > 0 and order_shows_only_in_lr(scheduler)
    for i, group in enumerate(scheduler.optimizer.param_groups):
        expected = float(lr[i](t)) * starts[i] if relative else float(lr[i](t))
        # Loose enough for torch's recursions over many steps, far below any compounding.
        tolerance = lr_precision(group["lr"]) * (1 + t)
        _check_group(scheduler, i, t, expected, tolerance, blind)


def _check_group(
    scheduler: Any, i: int, t: int, expected: float, tolerance: float, blind: bool
) -> None:
    """Group ``i``'s lr now against the curve's ``expected`` value (``_check_now``); ``blind``:
    the tree's construction order shows only in the lr, which an lr of 0 does not show."""
    actual = float(scheduler.optimizer.param_groups[i]["lr"])
    if blind and abs(expected) * tolerance <= LR_ABS_TOL:
        raise refuse(
            name_of(scheduler),
            f"group {i} holds lr={actual!r} at step {t}: whether its nested SequentialLR was "
            "built before the ChainedScheduler's other members (its constructor resets the lr) "
            "shows only in a non-zero lr; convert it before its lr reaches 0",
        )
    if not math.isclose(actual, expected, rel_tol=tolerance, abs_tol=LR_ABS_TOL):
        raise refuse(
            name_of(scheduler),
            f"group {i} holds lr={actual!r} at step {t} where the converted schedule gives "
            f"{expected!r}: it was built on an lr another scheduler had already changed"
            f"{_RESUMED if _resumed(scheduler) else ''}",
        )


_RESUMED = (
    ", or it was constructed with last_epoch != -1 from an lr that is not its closed form's and "
    "stepped before converting (convert it right after constructing it)"
)


def _resumed(scheduler: Any) -> bool:
    return lookup(scheduler).clock is steps_taken and resumed_at(scheduler) > 0
