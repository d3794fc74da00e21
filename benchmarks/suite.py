"""The measurements. Every figure is a median of repeated runs within one process.

Curves (10**6 steps):
- ``warmup(cosine(990_000), 10_000)``: a 1% linear warm-up then a cosine to 0;
- a 5-piece MMEngine-style schedule built with the algebra: an iteration warm-up (``LinearLR``
  by iteration) overlapping epoch-based ``MultiStepLR``, then ``CosineAnnealingLR``, ``StepLR``
  and ``PolyLR`` on consecutive epoch intervals (``begin``/``end`` are ``clip``), 100 epochs.

Each is compared with: stepping the equivalent torch (MMEngine) schedulers and collecting the lr
(10**5 steps measured, scaled by 10), optax's jitted schedule (float64 and float32, compiled
before timing), a hand-written NumPy expression, and the floor: one vectorised cosine over as
many steps with torch on one thread.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import schedalg as sa
from benchmarks import compiled, curves, expressions, groups, memory

N = 10**6
WARMUP, COSINE = 10_000, 990_000
EPOCHS = 100


@dataclass
class Row:
    group: str
    name: str
    value: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def median_seconds(fn: Callable[[], Any], repeats: int, number: int = 1) -> float:
    """Median wall time of ``number`` calls, per call; the garbage collector is off while timing."""
    fn()  # warm caches, compile
    samples = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(samples)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:9.3f} us"


# -- the schedules ------------------------------------------------------------------------------


def warmup_cosine() -> sa.Schedule:
    return sa.warmup(sa.cosine(COSINE), WARMUP)


FIVE_PIECE_CONFIG = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=2000),
    dict(type="MultiStepLR", milestones=[30, 45], gamma=0.1, begin=0, end=50),
    dict(type="CosineAnnealingLR", T_max=30, begin=50, end=80),
    dict(type="StepLR", step_size=3, gamma=0.8, begin=80, end=90),
    dict(type="PolyLR", power=2.0, eta_min=0.0, begin=90, end=100),
]


def five_piece(epoch_length: int) -> sa.Schedule:
    """The MMEngine ``param_scheduler`` above as an expression, through ``from_config``:

    ``linear(0.001, 1.0, 1999) * per_epoch(multistep([30, 45], 0.1), L)
    * per_epoch(clip(cosine(30), 50, 80), L) * per_epoch(clip(step_decay(3, 0.8), 80, 90), L)
    * per_epoch(clip(polynomial(9, power=2.0), 90), L)`` (MMEngine's linear and poly ramps last
    ``end - begin - 1`` steps).
    """
    from schedalg.mmengine import from_config

    return from_config(FIVE_PIECE_CONFIG, epoch_length=epoch_length, max_epochs=EPOCHS)["lr"]


# -- stepping torch / MMEngine ------------------------------------------------------------------


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


def _kwargs(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "type"}


def mmengine_five_piece(epoch_length: int) -> list[float]:
    """Step MMEngine's schedulers as its ``ParamSchedulerHook`` does: iteration schedulers after
    every iteration, epoch schedulers after each epoch's last iteration."""
    from mmengine.optim import scheduler as ms

    optimizer = _sgd()
    built = [getattr(ms, c["type"])(optimizer, **_kwargs(c)) for c in FIVE_PIECE_CONFIG]
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


# -- optax ---------------------------------------------------------------------------------------


def optax_warmup_cosine() -> Callable[[Any], Any]:
    import optax

    return optax.warmup_cosine_decay_schedule(0.0, 1.0, WARMUP, WARMUP + COSINE)


def optax_five_piece(epoch_length: int) -> Callable[[Any], Any]:
    """What an optax user writes: optax's schedules on clipped clocks, multiplied."""
    import jax.numpy as jnp
    import optax

    warm = optax.linear_schedule(0.001, 1.0, 1999)
    multistep = optax.piecewise_constant_schedule(1.0, {30: 0.1, 45: 0.1})
    cosine = optax.cosine_decay_schedule(1.0, 30)
    steps = optax.exponential_decay(1.0, 3, 0.8, staircase=True)
    poly = optax.polynomial_schedule(1.0, 0.0, 2.0, 9)

    def schedule(t: Any) -> Any:
        epoch = t // epoch_length
        value = warm(jnp.minimum(t, 1999)) * multistep(jnp.minimum(epoch, 49))
        value = value * jnp.where(epoch < 50, 1.0, cosine(jnp.clip(epoch, 50, 79) - 50))
        value = value * jnp.where(epoch < 80, 1.0, steps(jnp.clip(epoch, 80, 89) - 80))
        return value * jnp.where(epoch < 90, 1.0, poly(jnp.clip(epoch, 90, 99) - 90))

    return schedule


# -- hand-written NumPy -------------------------------------------------------------------------


def numpy_warmup_cosine(n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    local = np.minimum(t - WARMUP, COSINE)
    return np.where(t < WARMUP, t / WARMUP, 0.5 * (1.0 + np.cos(np.pi * local / COSINE)))


def numpy_five_piece(n: int, epoch_length: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    e = t // epoch_length
    value = 0.001 + 0.999 * np.minimum(t, 1999) / 1999
    value *= 0.1 ** ((e >= 30).astype(np.float64) + (e >= 45))
    value *= np.where(e < 50, 1.0, 0.5 * (1 + np.cos(np.pi * (np.clip(e, 50, 79) - 50) / 30)))
    value *= np.where(e < 80, 1.0, 0.8 ** ((np.clip(e, 80, 89) - 80) // 3))
    value *= np.where(e < 90, 1.0, (1 - (np.clip(e, 90, 99) - 90) / 9) ** 2)
    return value


# -- the run --------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _curve_rows(
    label: str,
    schedule: sa.Schedule,
    stepped: Callable[[], list[float]],
    optax_schedule: Callable[[Any], Any] | None,
    numpy_curve: Callable[[], np.ndarray],
    floor: float,
    repeats: int,
    torch_repeats: int,
    stepped_n: int,
) -> list[Row]:
    ours = median_seconds(lambda: schedule.curve(N), repeats)
    rows = [Row(label, "schedalg curve(10**6)", _ms(ours), "1.0x")]

    torch_time = median_seconds(stepped, torch_repeats) * (N / stepped_n)
    rows.append(
        Row(
            label,
            f"stepping torch schedulers ({stepped_n:.0e} steps, x{N // stepped_n})",
            _ms(torch_time),
            f"{torch_time / ours:.0f}x slower",
            ">= 1000x",
            _verdict(torch_time / ours >= 1000),
        )
    )
    if optax_schedule is not None:
        import jax
        import jax.numpy as jnp

        for x64 in (True, False):
            with jax.enable_x64(x64):
                compiled = jax.jit(optax_schedule)
                steps = jnp.arange(N)
                seconds = median_seconds(
                    lambda f=compiled, t=steps: f(t).block_until_ready(), repeats
                )
            name = "optax jit float64" if x64 else "optax jit float32"
            rows.append(
                Row(
                    label,
                    name,
                    _ms(seconds),
                    f"{seconds / ours:.2f}x",
                    "> 1x (float64)" if x64 else "",
                    _verdict(seconds > ours) if x64 else "",
                )
            )
    numpy_time = median_seconds(numpy_curve, repeats)
    rows.append(Row(label, "hand-written NumPy", _ms(numpy_time), f"{numpy_time / ours:.2f}x"))
    rows.append(
        Row(
            label,
            "floor: torch.cos over 10**6 (1 thread)",
            _ms(floor),
            f"curve is {ours / floor:.2f}x",
            "<= 2x",
            _verdict(ours <= 2 * floor),
        )
    )
    return rows


def run(quick: bool = False) -> list[Row]:
    import warnings

    import torch

    # torch warns when a scheduler steps without optimizer.step(): plotting does exactly that.
    warnings.filterwarnings("ignore", message=".*Detected call of.*")

    torch.set_num_threads(1)
    repeats = 5 if quick else 15
    torch_repeats = 1 if quick else 3
    rows: list[Row] = []

    angles = torch.arange(N, dtype=torch.float64) * (math.pi / N)
    result = torch.empty_like(angles)
    floor = median_seconds(lambda: torch.cos(angles, out=result), repeats)

    stepped_n = N // 10
    s = warmup_cosine()
    # First, before JAX is imported (its threads slow what runs beside them on few cores).
    rows += _scalar_rows(s, quick)
    rows += expressions.rows(Row, quick)
    rows += groups.rows(Row, quick)
    rows += compiled.rows(Row)
    try:
        import optax  # noqa: F401

        have_optax = True
    except ImportError:
        have_optax = False

    rows += _curve_rows(
        repr(s),
        s,
        lambda: torch_warmup_cosine(stepped_n),
        optax_warmup_cosine() if have_optax else None,
        lambda: numpy_warmup_cosine(N),
        floor,
        repeats,
        torch_repeats,
        stepped_n,
    )
    five = five_piece(N // EPOCHS)
    rows += _curve_rows(
        "5-piece MMEngine-style",
        five,
        lambda: mmengine_five_piece(stepped_n // EPOCHS),
        optax_five_piece(N // EPOCHS) if have_optax else None,
        lambda: numpy_five_piece(N, N // EPOCHS),
        floor,
        repeats,
        torch_repeats,
        stepped_n,
    )
    # The compared curves are the same curves: relative differences over the stepped range.
    rows += _checks(s, stepped_n)

    rows += _memory_rows(s, five)
    rows += memory.rows(Row, quick)
    rows += curves.rows(Row, quick, {"warm-up+cosine": s, "5-piece": five})
    return rows


def _max_relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest relative difference; where the reference is 0, ours must be exactly 0 too."""
    zero = theirs == 0
    if np.any(ours[zero] != 0):
        return math.inf
    return float(np.max(np.abs(ours[~zero] - theirs[~zero]) / np.abs(theirs[~zero])))


def _checks(s: sa.Schedule, stepped_n: int) -> list[Row]:
    torch_values = np.asarray(torch_warmup_cosine(stepped_n))
    # torch's LinearLR refuses start_factor=0, so the stepped run starts its warm-up at 1e-9.
    ours = sa.warmup(sa.cosine(COSINE), WARMUP, start=1e-9).curve(stepped_n)
    diff = _max_relative(ours, torch_values)
    five = five_piece(stepped_n // EPOCHS)
    mm = np.asarray(mmengine_five_piece(stepped_n // EPOCHS))
    diff5 = _max_relative(five.curve(stepped_n), mm)
    return [
        Row("check", "max rel diff, warm-up+cosine vs torch", f"{diff:.1e}"),
        Row("check", "max rel diff, 5-piece vs MMEngine", f"{diff5:.1e}"),
    ]


def _scalar_rows(s: sa.Schedule, quick: bool) -> list[Row]:
    warm, total = float(WARMUP), float(COSINE)
    cos, pi = math.cos, math.pi

    def closure(t: int) -> float:
        if t < warm:
            return t / warm
        return 0.5 * (1.0 + cos(pi * min(t - warm, total) / total))

    steps = list(range(0, N, 997))  # both branches, ~1000 calls per sample

    def ours() -> None:
        for t in steps:
            s(t)

    def theirs() -> None:
        for t in steps:
            closure(t)

    repeats = 7 if quick else 31
    a = median_seconds(ours, repeats) / len(steps)
    b = median_seconds(theirs, repeats) / len(steps)
    return [
        Row(
            "scalar s(t)",
            "schedalg s(t)",
            _us(a),
            f"{a / b:.2f}x the closure",
            "<= 3x",
            _verdict(a <= 3 * b),
        ),
        Row("scalar s(t)", "hand-written Python closure", _us(b), "1.0x"),
    ]


def _memory_rows(*schedules: sa.Schedule) -> list[Row]:
    rows = []
    for label, schedule in zip(("warm-up+cosine", "5-piece"), schedules):
        gc.collect()
        tracemalloc.start()
        try:
            values = schedule.curve(N)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        ratio = peak / values.nbytes
        rows.append(
            Row(
                "peak memory",
                f"curve(10**6) of {label}",
                f"{peak / 2**20:7.2f} MiB",
                f"{ratio:.3f}x the output ({values.nbytes / 2**20:.2f} MiB)",
                "<= 2x",
                _verdict(ratio <= 2),
            )
        )
    return rows


def report(rows: list[Row]) -> str:
    headers = ("group", "measurement", "median", "ratio", "target", "")
    table = [headers] + [(r.group, r.name, r.value, r.ratio, r.target, r.verdict) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(headers))]
    lines = []
    for i, row in enumerate(table):
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
