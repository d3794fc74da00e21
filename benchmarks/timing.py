"""Timing side by side: the compared functions run interleaved, sample after sample, so a load
change on a shared machine hits both; the figure is each one's median."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def interleaved(
    functions: Sequence[Callable[[], Any]], repeats: int, number: int = 1
) -> list[float]:
    """Median seconds per call of each function; sample ``i`` of every function is taken before
    sample ``i + 1`` of any (the garbage collector is off while timing)."""
    for function in functions:
        function()  # warm caches, compile
    samples: list[list[float]] = [[] for _ in functions]
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for function, times in zip(functions, samples):
                start = time.perf_counter()
                for _ in range(number):
                    function()
                times.append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return [statistics.median(times) for times in samples]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
