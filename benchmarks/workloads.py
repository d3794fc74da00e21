"""The curve workloads (10**6 steps) and what a user of each peer writes for the same curve.

- warm-up+cosine: ``warmup(cosine(990_000), 10_000)``, a 1% linear warm-up then a cosine to 0;
- 5-piece: an MMEngine-style schedule built with the algebra: an iteration warm-up (``LinearLR``
  by iteration) overlapping epoch-based ``MultiStepLR``, then ``CosineAnnealingLR``, ``StepLR``
  and ``PolyLR`` on consecutive epoch intervals (``begin``/``end`` are ``clip``), 100 epochs;
- ``one_cycle(10**6)`` (torch's ``OneCycleLR`` defaults) and ``cosine_restarts(1000, mult=2)``;
- depth-5 random: ``random_expression(SEED, depth=5)`` (``benchmarks.expressions``).

Each has its formula in hand-written NumPy (``np.where`` per phase over ``np.arange(n)``) and in
optax (its factories, or, for the random expression, which optax has no factory for, the same
formula in ``jax.numpy``), both compiled by the caller. The period-reuse workloads
(``cosine_restarts(1000)`` and ``repeat(warmup(cosine(900), 100), 1000)``) have NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import schedalg as sa
from benchmarks import expressions, vectorised

N = 10**6
WARMUP, COSINE = 10_000, 990_000
EPOCHS = 100
TOTAL, PERIOD = N, 1_000
SEED = 8  # its depth-5 expression has cosines, multisteps, a sequence and a clip


@dataclass
class Workload:
    label: str
    schedule: sa.Schedule
    numpy: Callable[[], np.ndarray]  # the hand-written NumPy curve over N steps
    optax: Callable[[Any], Any] | None = None  # a function of jnp.arange(N), not yet jitted
    optax_name: str = "optax jit"
    float32: bool = False  # also time the optax function at float32 (no target)


# -- warm-up+cosine -------------------------------------------------------------------------------


def warmup_cosine() -> sa.Schedule:
    return sa.warmup(sa.cosine(COSINE), WARMUP)


def optax_warmup_cosine() -> Callable[[Any], Any]:
    import optax

    return optax.warmup_cosine_decay_schedule(0.0, 1.0, WARMUP, WARMUP + COSINE)


def numpy_warmup_cosine() -> np.ndarray:
    t = np.arange(N, dtype=np.float64)
    local = np.minimum(t - WARMUP, COSINE)
    return np.where(t < WARMUP, t / WARMUP, 0.5 * (1.0 + np.cos(np.pi * local / COSINE)))


# -- the 5-piece MMEngine-style schedule ----------------------------------------------------------

FIVE_PIECE_CONFIG: list[dict[str, Any]] = [
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


def numpy_five_piece(epoch_length: int) -> np.ndarray:
    t = np.arange(N, dtype=np.float64)
    e = t // epoch_length
    value = 0.001 + 0.999 * np.minimum(t, 1999) / 1999
    value *= 0.1 ** ((e >= 30).astype(np.float64) + (e >= 45))
    value *= np.where(e < 50, 1.0, 0.5 * (1 + np.cos(np.pi * (np.clip(e, 50, 79) - 50) / 30)))
    value *= np.where(e < 80, 1.0, 0.8 ** ((np.clip(e, 80, 89) - 80) // 3))
    value *= np.where(e < 90, 1.0, (1 - (np.clip(e, 90, 99) - 90) / 9) ** 2)
    return value


# -- one_cycle and cosine_restarts(mult=2) --------------------------------------------------------


def numpy_one_cycle() -> np.ndarray:
    t = np.arange(N, dtype=np.float64)
    peak, initial = 1.0, 1.0 / 25.0
    final = initial / 1e4
    e1, e2 = float(0.3 * TOTAL) - 1, TOTAL - 1.0
    rise = peak + (initial - peak) / 2.0 * (np.cos(np.pi * (t / e1)) + 1)
    fall = final + (peak - final) / 2.0 * (
        np.cos(np.pi * ((np.minimum(t, e2) - e1) / (e2 - e1))) + 1
    )
    return np.where(t <= e1, rise, fall)


def optax_one_cycle() -> Callable[[Any], Any]:
    """optax's one-cycle factory. Its phases end at ``int(pct_start * n)`` and ``n``, torch's
    (and ``one_cycle``'s) at ``pct_start * total - 1`` and ``total - 1``: ``n = total - 1`` gives
    the same phases (the cosine interpolation is the same formula). It takes one step at a time
    (its phase selection does not broadcast): ``jax.vmap`` maps it over the steps."""
    import jax
    import optax

    schedule = optax.cosine_onecycle_schedule(TOTAL - 1, 1.0, pct_start=0.3, div_factor=25.0)
    return jax.vmap(schedule)


def _restart_cycles() -> list[int]:
    lengths: list[int] = []
    covered = 0
    while covered < N:
        lengths.append(PERIOD * 2 ** len(lengths))
        covered += lengths[-1]
    return lengths  # 10 cycles of 1000 * 2**k steps cover 10**6


def optax_restarts() -> Callable[[Any], Any]:
    """SGDR in optax: ``join_schedules`` of cosine decays with doubling lengths (what
    ``sgdr_schedule`` builds, without its zero-step warm-ups)."""
    import optax

    lengths = _restart_cycles()
    boundaries = np.cumsum(lengths)[:-1].tolist()
    return optax.join_schedules([optax.cosine_decay_schedule(1.0, n) for n in lengths], boundaries)


def numpy_restarts() -> np.ndarray:
    t = np.arange(N, dtype=np.float64)
    k = np.floor(np.log2(t / PERIOD + 1))
    start = PERIOD * (2.0**k - 1)
    return 0.5 * (1 + np.cos(np.pi * (t - start) / (PERIOD * 2.0**k)))


# -- period reuse ---------------------------------------------------------------------------------


def numpy_restarts_mult1() -> np.ndarray:
    t = np.arange(N, dtype=np.float64)
    return (1.0 + np.cos(np.pi * (t % PERIOD) / PERIOD)) / 2


def numpy_repeat() -> np.ndarray:
    u = np.arange(N, dtype=np.float64) % 1000
    cosine = (1.0 + np.cos(np.pi * np.minimum(u - 100, 900) / 900)) / 2
    return np.where(u < 100, u / 100, cosine)


# -- the lists ------------------------------------------------------------------------------------


def curve_call(schedule: sa.Schedule) -> Callable[[], np.ndarray]:
    """``schedule.curve(N)`` as a call without arguments, for ``interleaved``."""
    return lambda: schedule.curve(N)


def depth5() -> sa.Schedule:
    return expressions.random_expression(SEED, depth=5)


def target_workloads(optax: bool) -> list[Workload]:
    """The five workloads of the curve target, each with its peers (optax if installed)."""
    L = N // EPOCHS
    random5 = depth5()
    numpy5, jax5 = vectorised.functions(random5)
    return [
        Workload(
            "warm-up+cosine",
            warmup_cosine(),
            numpy_warmup_cosine,
            optax_warmup_cosine() if optax else None,
            float32=True,
        ),
        Workload(
            "5-piece",
            five_piece(L),
            lambda: numpy_five_piece(L),
            optax_five_piece(L) if optax else None,
            float32=True,
        ),
        Workload(
            "one_cycle", sa.one_cycle(TOTAL), numpy_one_cycle, optax_one_cycle() if optax else None
        ),
        Workload(
            "restarts mult=2",
            sa.cosine_restarts(PERIOD, mult=2),
            numpy_restarts,
            optax_restarts() if optax else None,
        ),
        Workload(
            "depth-5 random",
            random5,
            lambda: numpy5(np.arange(N, dtype=np.float64)),
            jax5 if optax else None,
            "jax.numpy jit (no optax factory)",
        ),
    ]


def reuse_workloads() -> list[Workload]:
    return [
        Workload("restarts mult=1 (reuse)", sa.cosine_restarts(PERIOD), numpy_restarts_mult1),
        Workload(
            "repeat (reuse)",
            sa.repeat(sa.warmup(sa.cosine(900), 100), 1000),
            numpy_repeat,
        ),
    ]
