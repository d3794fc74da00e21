"""Reading a torch scheduler's state: the lr each group starts from and the steps it has taken.

``from_torch`` gives the curve from construction (step 0), whatever the scheduler has stepped
since. It reads how many steps that is, and refuses a scheduler whose state shows that its curve
did not start at step 0 (constructed with ``last_epoch != -1``) or whose start is lost.
"""

from __future__ import annotations

from typing import Any

from schedalg.importers.torch.context import refuse

# -- the lr each group starts from -----------------------------------------------------------


def initial_lrs(scheduler: Any) -> list[float]:
    """The lrs the optimizer was built with, as torch's constructors record them."""
    return [float(g.get("initial_lr", g["lr"])) for g in scheduler.optimizer.param_groups]


def current_lrs(scheduler: Any) -> list[float]:
    """The lrs now: where schedulers that start from the current lr start."""
    return [float(g["lr"]) for g in scheduler.optimizer.param_groups]


def initial_lrs_of_its_own(scheduler: Any) -> list[float]:
    """``initial_lrs``, refusing an ``initial_lr`` another scheduler set first (CyclicLR's
    step 0 then starts from it instead of ``base_lr``)."""
    for i, group in enumerate(scheduler.optimizer.param_groups):
        if float(group["initial_lr"]) != _at_precision_of(
            group["initial_lr"], scheduler.base_lrs[i]
        ):
            raise refuse(
                "CyclicLR",
                f"group {i} already had initial_lr={group['initial_lr']!r} from an earlier "
                f"scheduler, so torch's step 0 used it instead of base_lr",
            )
    return initial_lrs(scheduler)


def _at_precision_of(like: Any, value: Any) -> float:
    """``value`` rounded as ``like`` holds it (a float32 tensor lr stores a float32 copy)."""
    dtype = getattr(like, "dtype", None)
    if dtype is None:
        return float(value)
    import torch

    return float(torch.as_tensor(value, dtype=dtype))


def lrs_before_annealing(scheduler: Any) -> list[float]:
    """SWALR anneals from the lr it finds: known only until it is stepped."""
    if scheduler.anneal_epochs and scheduler._step_count != 1:
        raise refuse("SWALR", "convert it before stepping it (its start lr is then known)")
    return current_lrs(scheduler)


# -- the steps taken ---------------------------------------------------------------------------


def steps_since_construction(scheduler: Any) -> int:
    """``last_epoch``, refusing one that does not count the steps since construction."""
    steps = scheduler._step_count - 1
    if steps != scheduler.last_epoch:
        raise refuse(
            type(scheduler).__name__,
            f"last_epoch={scheduler.last_epoch} after {steps} steps: it was constructed with "
            "last_epoch != -1 (or stepped with an epoch), and its recursion from there has no "
            "closed form that from_torch builds",
        )
    return scheduler.last_epoch


def resumed_at(scheduler: Any) -> int:
    """The step its curve started at: ``k + 1`` for a scheduler constructed with
    ``last_epoch=k`` (its constructor's step), 0 for a fresh one."""
    return int(scheduler.last_epoch) - (int(scheduler._step_count) - 1)


def steps_taken(scheduler: Any) -> int:
    """``_step_count - 1``: the steps since construction of a scheduler that may have been
    constructed with ``last_epoch=k`` (its curve then starts at step ``k + 1``)."""
    if resumed_at(scheduler) < 0:
        raise refuse(
            type(scheduler).__name__,
            f"last_epoch={scheduler.last_epoch} after {scheduler._step_count - 1} steps: it was "
            "stepped with an explicit epoch, so its steps since construction are unknown",
        )
    return int(scheduler._step_count) - 1


def steps_counted(scheduler: Any) -> int:
    """``_step_count - 1``: SWALR's own clock."""
    return int(scheduler._step_count) - 1


def restarts_never_stepped(scheduler: Any) -> int:
    """0, refusing a stepped ``CosineAnnealingWarmRestarts``: it keeps no step count, so one
    that was stepped cannot be told from one constructed with ``last_epoch``."""
    if scheduler.last_epoch != 0:
        raise refuse(
            type(scheduler).__name__,
            f"last_epoch={scheduler.last_epoch}: convert it before stepping it and construct it "
            "with last_epoch=-1 (it keeps no step count, so its start cannot be recovered)",
        )
    return 0


def plateau_never_stepped(scheduler: Any) -> int:
    """0, refusing a ``ReduceLROnPlateau`` that has seen a metric (its reducer state would be
    lost)."""
    fresh = (
        scheduler.last_epoch == 0
        and scheduler.num_bad_epochs == 0
        and scheduler.cooldown_counter == 0
        and scheduler.best == scheduler.mode_worse
    )
    if not fresh:
        raise refuse("ReduceLROnPlateau", "convert it before stepping it")
    return 0


def restarts_t_cur(scheduler: Any, steps: int) -> float:
    """``CosineAnnealingWarmRestarts.T_cur`` after ``steps`` steps from a fresh start."""
    t_cur, t_i = 0, scheduler.T_0
    for _ in range(steps):
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * scheduler.T_mult
    return t_cur


def check_restarts_resume(scheduler: Any, steps: int) -> None:
    """Refuse a ``CosineAnnealingWarmRestarts`` in a ``SequentialLR`` whose ``T_cur`` is not
    that of ``steps`` steps from a fresh start: at its milestone it resumes from ``T_cur``
    (only its ``last_epoch`` is reset), which a constructor's ``last_epoch`` leaves non-zero."""
    want = restarts_t_cur(scheduler, steps)
    if scheduler.T_cur != want:
        raise refuse(
            "SequentialLR",
            f"its CosineAnnealingWarmRestarts has T_cur={scheduler.T_cur} where {want} is "
            "expected: it was constructed with last_epoch != -1 or stepped on its own",
        )
