"""The measurements, in one process, grouped by the target they judge: ``#1`` to ``#5`` are the
items of the performance issue (the adapter's step, in-graph evaluation, the command line's
memory, the scalar cost with depth, the curves); ``check`` rows show that compared functions
compute the same values; ``earlier:`` rows are the targets of the earlier performance work.

Every figure is a median of repeated runs, each taken interleaved (sample by sample) with the
figures it is compared with (``benchmarks.timing.interleaved``). The curve workloads are in
``benchmarks.workloads``.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from dataclasses import dataclass

import schedalg as sa
from benchmarks import compiled, curves, earlier, expressions, groups, laws, memory, workloads
from benchmarks.timing import interleaved, verdict


@dataclass
class Row:
    group: str
    name: str
    value: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def run(quick: bool = False) -> list[Row]:
    import warnings

    import torch

    # torch warns when a scheduler steps without optimizer.step(): plotting does exactly that.
    warnings.filterwarnings("ignore", message=".*Detected call of.*")
    torch.set_num_threads(1)

    s = workloads.warmup_cosine()
    # First, before JAX is imported (its threads slow what runs beside them on few cores).
    scalar = expressions.rows(Row, quick)
    old_scalar = _scalar_rows(s, quick)
    adapter = groups.rows(Row, quick)
    in_graph = compiled.rows(Row)
    five = workloads.five_piece(workloads.N // workloads.EPOCHS)
    schedules = {"warm-up+cosine": s, "5-piece": five}
    old = earlier.stepping_rows(Row, schedules, quick) + earlier.floor_rows(Row, schedules, quick)
    checks = earlier.check_rows(Row, quick)
    try:
        import optax  # noqa: F401

        have_optax = True
    except ImportError:
        have_optax = False
    curve, curve_checks = curves.rows(Row, quick, have_optax)
    command_line = memory.rows(Row, quick)
    old += old_scalar + _memory_rows(schedules)
    loss = laws.rows(Row, quick)
    return adapter + in_graph + command_line + scalar + curve + curve_checks + checks + old + loss


def _scalar_rows(s: sa.Schedule, quick: bool) -> list[Row]:
    warm, total = float(workloads.WARMUP), float(workloads.COSINE)
    cos, pi = math.cos, math.pi

    def closure(t: int) -> float:
        if t < warm:
            return t / warm
        return 0.5 * (1.0 + cos(pi * min(t - warm, total) / total))

    steps = list(range(0, workloads.N, 997))  # both branches, ~1000 calls per sample

    def ours() -> None:
        for t in steps:
            s(t)

    def theirs() -> None:
        for t in steps:
            closure(t)

    a, b = (x / len(steps) for x in interleaved([ours, theirs], 7 if quick else 31))
    group = "earlier: scalar s(t)"
    return [
        Row(
            group,
            f"schedalg s(t), {s!r}",
            _us(a),
            f"{a / b:.2f}x the closure",
            "<= 3x",
            verdict(a <= 3 * b),
        ),
        Row(group, "hand-written Python closure", _us(b), "1.0x"),
    ]


def _memory_rows(schedules: dict[str, sa.Schedule]) -> list[Row]:
    rows = []
    for label, schedule in schedules.items():
        gc.collect()
        tracemalloc.start()
        try:
            values = schedule.curve(workloads.N)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        ratio = peak / values.nbytes
        rows.append(
            Row(
                "earlier: peak memory",
                f"curve(10**6) of {label}",
                f"{peak / 2**20:7.2f} MiB",
                f"{ratio:.3f}x the output ({values.nbytes / 2**20:.2f} MiB)",
                "<= 2x",
                verdict(ratio <= 2),
            )
        )
    return rows


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:9.3f} us"


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


def legend() -> str:
    """What each curve workload is (its expression) and what the ratios mean."""
    lines = [
        "Ratios: a peer's time over the row marked 1.0x in its group (> 1x: schedalg is faster).",
        "Curve workloads (10**6 steps):",
    ]
    named = [*workloads.target_workloads(False), *workloads.reuse_workloads()]
    lines += [f"  {w.label}: {w.schedule!r}" for w in named]
    return "\n".join(lines)
