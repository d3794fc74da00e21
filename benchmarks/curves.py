"""More curve workloads (10**6 steps): ``one_cycle`` and ``cosine_restarts(mult=2)`` against the
same formulas in hand-written NumPy, and every workload's curve from torch
(``s(torch.arange(n))``) against its NumPy curve, interleaved."""

from __future__ import annotations

from typing import Any

import numpy as np

import schedalg as sa
from benchmarks.timing import interleaved, verdict

N = 10**6
TOTAL, PERIOD = N, 1_000


def numpy_one_cycle(n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    peak, initial = 1.0, 1.0 / 25.0
    final = initial / 1e4
    e1, e2 = float(0.3 * TOTAL) - 1, TOTAL - 1.0
    rise = peak + (initial - peak) / 2.0 * (np.cos(np.pi * (t / e1)) + 1)
    fall = final + (peak - final) / 2.0 * (
        np.cos(np.pi * ((np.minimum(t, e2) - e1) / (e2 - e1))) + 1
    )
    return np.where(t <= e1, rise, fall)


def numpy_restarts(n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    k = np.floor(np.log2(t / PERIOD + 1))
    start = PERIOD * (2.0**k - 1)
    return 0.5 * (1 + np.cos(np.pi * (t - start) / (PERIOD * 2.0**k)))


def workloads() -> dict[str, tuple[sa.Schedule, Any]]:
    return {
        "one_cycle(10**6)": (sa.one_cycle(TOTAL), numpy_one_cycle),
        "cosine_restarts(1000, mult=2)": (sa.cosine_restarts(PERIOD, mult=2), numpy_restarts),
    }


def rows(row: Any, quick: bool, others: dict[str, sa.Schedule]) -> list[Any]:
    import torch

    repeats = 5 if quick else 11
    out = []
    for label, (schedule, hand) in workloads().items():
        ours, theirs = interleaved([lambda s=schedule: s.curve(N), lambda h=hand: h(N)], repeats)
        out.append(row(label, "schedalg curve(10**6)", f"{ours * 1e3:9.2f} ms", "1.0x"))
        out.append(
            row(
                label,
                "hand-written NumPy",
                f"{theirs * 1e3:9.2f} ms",
                f"{theirs / ours:.2f}x",
                "> 1x",
                verdict(theirs > ours),
            )
        )
    steps = torch.arange(N)
    everything = {**others, **{k: v[0] for k, v in workloads().items()}}
    for label, schedule in everything.items():
        curve, tensor = interleaved(
            [lambda s=schedule: s.curve(N), lambda s=schedule: s(steps)], max(3, repeats // 2)
        )
        ratio = tensor / curve
        out.append(
            row(
                label,
                "s(torch.arange(10**6)) (1 thread)",
                f"{tensor * 1e3:9.2f} ms",
                f"{ratio:.2f}x the NumPy curve",
                "<= 1.5x",
                verdict(ratio <= 1.5),
            )
        )
    return out
