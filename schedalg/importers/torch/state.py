"""Reading a torch scheduler's state: the lr each group starts from and the steps it has taken.

``from_torch`` gives the curve from construction (step 0), whatever the scheduler has stepped
since. It reads how many steps that is and where the curve started: a scheduler constructed with
``last_epoch=k`` (resumed) started at step ``k + 1``, which ``_step_count`` tells apart from
steps taken since. It refuses a state whose start cannot be read: a
``CosineAnnealingWarmRestarts`` (it keeps no step count), a plateau that has seen metrics, and a
resumed recursive scheduler stepped until its lr no longer shows the lr it was resumed from.
"""

from __future__ import annotations

from typing import Any

from schedalg.importers.torch.context import Place, Position, refuse

# -- the lr each group starts from -----------------------------------------------------------


def initial_lrs(scheduler: Any) -> list[float]:
    """The lrs the optimizer was built with, as torch's constructors record them."""
    return [float(g.get("initial_lr", g["lr"])) for g in scheduler.optimizer.param_groups]


def current_lrs(scheduler: Any) -> list[float]:
    """The lrs now: where schedulers that start from the current lr start."""
    return [float(g["lr"]) for g in scheduler.optimizer.param_groups]


def foreign_initial_lr(scheduler: Any, group: int) -> float | None:
    """CyclicLR's constructor step computes the lr from the group's ``initial_lr`` (its own
    ``base_lr`` replaces it only afterwards): that ``initial_lr`` where an earlier scheduler set
    it to another value than ``base_lr`` (compared at the lr's precision), else ``None``."""
    initial = scheduler.optimizer.param_groups[group]["initial_lr"]
    if float(initial) == _at_precision_of(initial, scheduler.base_lrs[group]):
        return None
    return float(initial)


def _at_precision_of(like: Any, value: Any) -> float:
    """``value`` rounded as ``like`` holds it (a float32 tensor lr stores a float32 copy)."""
    dtype = getattr(like, "dtype", None)
    if dtype is None:
        return float(value)
    import torch

    return float(torch.as_tensor(value, dtype=dtype))


def lr_precision(lr: Any) -> float:
    """The relative tolerance of one step when the lr now is compared with a converted curve:
    1e-12 for a float lr (float64 recursions), a few units of the last place for a
    lower-precision tensor lr."""
    dtype = getattr(lr, "dtype", None)
    if dtype is None or not dtype.is_floating_point:
        return 1e-12
    import torch

    return max(1e-12, 4 * float(torch.finfo(dtype).eps))


# Below this the comparison of the lr now with a curve is absolute: it tells no scale apart.
LR_ABS_TOL = 1e-300


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


def resumed_here(scheduler: Any, place: Place) -> int:
    """``resumed_at`` for a scheduler converted on its own; 0 inside a composite, whose clock
    refuses pieces constructed with ``last_epoch``."""
    return resumed_at(scheduler) if place.position is Position.ALONE else 0


# The part of the lr now that the lr a scheduler was resumed from decides must be at least this
# fraction of it, for the comparison of the lr now with the curve to confirm that start.
_SHOWN = 2.0**-10


def check_start_shown(scheduler: Any, group: int, shown: float, now: float) -> None:
    """Refuse a scheduler constructed with ``last_epoch=k`` and stepped since whose lr now no
    longer shows the lr it was resumed from.

    Once stepped, the lr its constructor found is gone from the optimizer: ``from_torch`` takes
    it to be the closed form's and confirms it with the lr now (``convert._check_now``). That
    confirms it only where the lr now depends on it: ``shown`` is the part of the lr ``now``
    that the start decides (the derivative of the lr now with respect to the start, times the
    start). Where the curve has lost its scale — a cosine that reached ``eta_min``, a
    multiplier at 0, an lr far below the comparison's absolute floor — any start passes, and the
    steps before are unknown.
    """
    steps = steps_taken(scheduler)
    tolerance = lr_precision(scheduler.optimizer.param_groups[group]["lr"]) * (1 + steps)
    if abs(shown) >= _SHOWN * max(abs(now), LR_ABS_TOL / tolerance):
        return
    raise refuse(
        type(scheduler).__name__,
        f"group {group}: constructed with last_epoch={resumed_at(scheduler) - 1} and stepped "
        f"{steps} times since, its lr {now!r} no longer shows the lr it was resumed from (its "
        "curve has lost its scale: reached eta_min, or 0), so the steps before are unknown; "
        "convert it right after constructing it",
    )


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
    that was stepped cannot be told from one constructed with ``last_epoch`` (torch's own
    ``test_lr_scheduler_checkpoint`` rebuilds one with ``last_epoch=0`` whose ``state_dict()``
    equals the stepped one's), and the two curves since construction are one step apart."""
    if scheduler.last_epoch != 0:
        raise refuse(
            type(scheduler).__name__,
            f"last_epoch={scheduler.last_epoch}: it keeps no step count, so a fresh one after "
            f"{scheduler.last_epoch} steps and one rebuilt with last_epoch="
            f"{scheduler.last_epoch - 1} cannot be told apart, and their curves since "
            "construction differ; "
            "convert it before stepping it, or convert a fresh one built with the same "
            "arguments (the run's curve from step 0)",
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
    if scheduler.T_mult == 1:
        return steps % scheduler.T_0
    start, length = 0, scheduler.T_0
    while steps >= start + length:  # the cycles grow geometrically: O(log steps)
        start, length = start + length, length * scheduler.T_mult
    return steps - start


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
