"""The targets of the earlier performance work, kept visible: the curve against stepping torch's
(MMEngine's) schedulers (>= 1000x faster) and against a vectorised cosine (within 2x of
``torch.cos`` over as many steps), with the facts that bound them: ``torch.cos`` at float64 is
vectorised and not libm's cosine, which the exact curve (equal to ``s(t)``, which uses
``math.cos``) must use; ``np.cos`` is that cosine, and is the floor shown beside it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import schedalg as sa
from benchmarks import compare
from benchmarks.timing import interleaved, verdict
from benchmarks.workloads import (
    COSINE,
    EPOCHS,
    FIVE_PIECE_CONFIG,
    WARMUP,
    N,
    curve_call,
    five_piece,
)


def stepped_steps(quick: bool) -> int:
    """torch is stepped over 10**5 steps (2 * 10**4 in the quick run), its time scaled to N."""
    return 2 * 10**4 if quick else 10**5


def _sgd() -> Any:
    import torch

    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def torch_warmup_cosine(n: int) -> list[float]:
    from torch.optim import lr_scheduler as lr

    optimizer = _sgd()
    # LinearLR refuses start_factor=0; 1e-9 has the same cost per step.
    scheduler = lr.SequentialLR(
        optimizer,
        [lr.LinearLR(optimizer, 1e-9, 1.0, WARMUP), lr.CosineAnnealingLR(optimizer, COSINE)],
        milestones=[WARMUP],
    )
    values = []
    for _ in range(n):  # what plotting a torch schedule takes: step it, read the lr
        values.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return values


def mmengine_five_piece(epoch_length: int) -> list[float]:
    """Step MMEngine's schedulers as its ``ParamSchedulerHook`` does: iteration schedulers after
    every iteration, epoch schedulers after each epoch's last iteration."""
    from mmengine.optim import scheduler as ms

    optimizer = _sgd()
    kwargs = [{k: v for k, v in c.items() if k != "type"} for c in FIVE_PIECE_CONFIG]
    built = [getattr(ms, c["type"])(optimizer, **k) for c, k in zip(FIVE_PIECE_CONFIG, kwargs)]
    by_iter = [s for s, c in zip(built, FIVE_PIECE_CONFIG) if c.get("by_epoch") is False]
    by_epoch = [s for s, c in zip(built, FIVE_PIECE_CONFIG) if c.get("by_epoch", True)]
    values = []
    for _ in range(EPOCHS):
        for _ in range(epoch_length):
            values.append(optimizer.param_groups[0]["lr"])
            for scheduler in by_iter:
                scheduler.step()
        for scheduler in by_epoch:
            scheduler.step()
    return values


def stepping_rows(row: Any, schedules: dict[str, sa.Schedule], quick: bool) -> list[Any]:
    """Each curve against stepping the equivalent torch (MMEngine) schedulers, interleaved."""
    n = stepped_steps(quick)
    stepped = {
        "warm-up+cosine": lambda: torch_warmup_cosine(n),
        "5-piece": lambda: mmengine_five_piece(n // EPOCHS),
    }
    out = []
    for label, schedule in schedules.items():
        ours, theirs = interleaved([curve_call(schedule), stepped[label]], 3)
        theirs *= N / n
        out.append(
            row(
                "earlier: vs stepping torch",
                f"{label}: stepping torch schedulers ({n:.0e} steps, x{N // n})",
                _ms(theirs),
                f"{theirs / ours:.0f}x the curve ({_ms(ours).strip()})",
                ">= 1000x",
                verdict(theirs / ours >= 1000),
            )
        )
    return out


def floor_rows(row: Any, schedules: dict[str, sa.Schedule], quick: bool) -> list[Any]:
    """The curves against one vectorised cosine over as many float64 angles (``torch.cos``, the
    earlier floor, and ``np.cos``, libm's, which the exact curve uses), interleaved."""
    import torch

    angles = torch.arange(N, dtype=torch.float64) * (math.pi / N)
    result, array, out = torch.empty_like(angles), angles.numpy(), np.empty(N)
    calls: list[Callable[[], Any]] = [curve_call(s) for s in schedules.values()]
    calls += [lambda: torch.cos(angles, out=result), lambda: np.cos(array, out=out)]
    *curves, sleef, libm = interleaved(calls, 5 if quick else 15)
    group = "earlier: cos floor"
    rows = [
        row(group, "floor: torch.cos over 10**6 float64 (1 thread; vectorised)", _ms(sleef)),
        row(group, "floor: np.cos over 10**6 float64 (libm, what s(t) uses)", _ms(libm)),
    ]
    for label, seconds in zip(schedules, curves):
        ratios = f"{seconds / sleef:.2f}x torch.cos, {seconds / libm:.2f}x np.cos"
        ok = verdict(seconds <= 2 * sleef)
        rows.append(row(group, f"{label}: curve(10**6)", _ms(seconds), ratios, "<= 2x", ok))
    return rows + _cos_facts(row, angles)


def _cos_facts(row: Any, angles: Any) -> list[Any]:
    """How far ``torch.cos`` (float64, CPU) is from libm on the floor's angles, and whether
    ``np.cos`` is libm (``math.cos``) there."""
    import torch

    array = angles.numpy()
    libm = np.cos(array)
    sleef = torch.cos(angles).numpy()
    differ = int(np.sum(sleef != libm))
    worst = int(compare.ulps(sleef, libm).max())
    python = np.fromiter(map(math.cos, array.tolist()), dtype=np.float64, count=N)
    group = "earlier: cos floor"
    return [
        row(
            group,
            "torch.cos vs np.cos on those 10**6 angles",
            f"{differ} differ",
            f"by <= {worst} ulp, rel {compare.max_relative(sleef, libm):.1e}",
        ),
        row(
            group,
            "np.cos vs math.cos on those angles",
            f"{int(np.sum(libm != python))} differ",
            compare.bitwise(libm, python),
        ),
    ]


def check_rows(row: Any, quick: bool) -> list[Any]:
    """The stepped peers compute the same curves: relative differences over the stepped range
    (which has every phase of both)."""
    n = stepped_steps(quick)
    torch_values = np.asarray(torch_warmup_cosine(n))
    # torch's LinearLR refuses start_factor=0, so the stepped run starts its warm-up at 1e-9.
    ours = sa.warmup(sa.cosine(COSINE), WARMUP, start=1e-9).curve(n)
    diff = compare.max_relative(ours, torch_values)
    mm = np.asarray(mmengine_five_piece(n // EPOCHS))
    diff5 = compare.max_relative(five_piece(n // EPOCHS).curve(n), mm)
    return [
        row("check", "warm-up+cosine vs stepping torch, max rel diff", f"{diff:.1e}"),
        row("check", "5-piece vs stepping MMEngine, max rel diff", f"{diff5:.1e}"),
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"
