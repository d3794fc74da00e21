"""The curve target (10**6 steps): on every workload (``benchmarks.workloads``) the curve
against optax-jit float64 and hand-written NumPy, interleaved; ``s(torch.arange(n))`` against the
NumPy curve; the period-reuse workloads against hand-written NumPy. Every peer is first checked
to compute the same curve (``check`` rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import compare, workloads
from benchmarks.timing import interleaved, verdict
from benchmarks.workloads import N, Workload


def _jitted(function: Callable[[Any], Any], x64: bool) -> tuple[Callable[[], Any], np.ndarray]:
    """The compiled ``function`` of ``jnp.arange(N)`` (float64 or float32 arithmetic) as a
    call that waits for its result, and its values."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(x64):
        compiled = jax.jit(function)
        steps = jnp.arange(N)
        values = np.asarray(compiled(steps))  # compiles

    def call() -> Any:
        with jax.enable_x64(x64):
            return compiled(steps).block_until_ready()

    return call, values


def _group(label: str) -> str:
    return f"#5 curve: {label}"


def _peer_rows(row: Any, workload: Workload, quick: bool) -> tuple[list[Any], list[Any]]:
    """The workload's curve against its peers, interleaved: the rows and the check rows."""
    schedule, group = workload.schedule, _group(workload.label)
    curve = schedule.curve(N)
    peers: list[tuple[str, Callable[[], Any], str]] = []  # name, call, target
    hand = compare.bitwise(workload.numpy(), curve)
    checks = [
        row("check", f"{workload.label}: curve vs s(t) every 499 steps", _scalar(workload)),
        row("check", f"{workload.label}: hand-written NumPy vs curve", hand),
    ]
    if workload.optax is not None:
        call, values = _jitted(workload.optax, True)
        peers.append((f"{workload.optax_name} float64", call, "> 1x"))
        name = f"{workload.label}: {workload.optax_name} float64 vs curve, max rel diff"
        checks.append(row("check", name, compare.relative(values, curve)))
        if workload.float32:
            call32, _ = _jitted(workload.optax, False)
            peers.append((f"{workload.optax_name} float32", call32, ""))
    peers.append(("hand-written NumPy", workload.numpy, "> 1x"))
    times = interleaved(
        [lambda: schedule.curve(N), *(call for _, call, _ in peers)], 5 if quick else 15
    )
    ours = times[0]
    out = [row(group, "schedalg curve(10**6)", _ms(ours), "1.0x")]
    for (name, _, target), seconds in zip(peers, times[1:]):
        ok = verdict(seconds > ours) if target else ""
        out.append(row(group, name, _ms(seconds), f"{seconds / ours:.2f}x", target, ok))
    return out, checks


def _scalar(workload: Workload) -> str:
    steps = range(0, N, 499)
    scalar = np.array([workload.schedule(t) for t in steps])
    return compare.bitwise(workload.schedule.curve(N)[::499], scalar)


def _torch_rows(row: Any, workload: Workload, quick: bool) -> tuple[Any, Any]:
    """``s(torch.arange(N))`` against the curve, interleaved, and how far apart their values are
    (torch's float64 cos is not libm's)."""
    import torch

    steps, schedule = torch.arange(N), workload.schedule
    got = compare.relative(schedule(steps).numpy(), schedule.curve(N))
    check = row("check", f"{workload.label}: s(torch.arange) vs curve, max rel diff", got)
    curve, tensor = interleaved(
        [lambda: schedule.curve(N), lambda: schedule(steps)], 3 if quick else 7
    )
    ratio = tensor / curve
    timed = row(
        _group(workload.label),
        "s(torch.arange(10**6)) (1 thread)",
        _ms(tensor),
        f"{ratio:.2f}x the NumPy curve",
        "<= 1.5x",
        verdict(ratio <= 1.5),
    )
    return timed, check


def rows(row: Any, quick: bool, optax: bool) -> tuple[list[Any], list[Any]]:
    """The curve rows and their check rows."""
    out: list[Any] = []
    checks: list[Any] = []
    for workload in workloads.target_workloads(optax):
        timed, checked = _peer_rows(row, workload, quick)
        tensor, same = _torch_rows(row, workload, quick)
        out += [*timed, tensor]
        checks += [*checked, same]
    for workload in workloads.reuse_workloads():
        timed, checked = _peer_rows(row, workload, quick)
        out += timed
        checks += checked
    return out, checks


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"
