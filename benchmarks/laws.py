"""The loss-curve laws (``schedalg.laws``) against the paper's reference evaluation: for each
logged step ``t`` a plain NumPy sum over every step ``k`` from 1 to ``t``, as the repository
computes it (``reference`` below).

- ``predict`` at the logged points of the 72,000-step runs (547 each), cosine (the rate changes
  at every step) and constant (only in the warm-up), interleaved with the reference loop;
- the law at every logged step of the three 24,000-step training runs of the 25M model (one
  evaluation of a fit's objective), against the reference loop, and ``fit`` on them.

Run alone with ``python -m benchmarks.laws``; ``python -m benchmarks`` includes it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import interleaved, verdict

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "multipowerlaw"
GROUP = "laws"


def _table() -> dict[str, Any]:
    return json.loads((DATA / "schedules.json").read_text(encoding="utf-8"))


def _run(model: str, name: str) -> tuple[Any, np.ndarray, np.ndarray]:
    import schedalg as sa

    table = np.genfromtxt(DATA / f"csv_{model}" / f"{name}.csv", delimiter=",", names=True)
    schedule = sa.parse(_table()["schedules"][name])
    return schedule, table["step"].astype(np.int64), table["loss"]


def reference(law: dict[str, float], rates: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The paper's evaluation: per step, the sums over every step from 1, recomputed."""
    out = np.empty(steps.size)
    for i, t in enumerate(steps):
        eta = rates[: t + 1]
        after = eta[1:]
        span = np.cumsum(after[::-1])[::-1]
        g = 1 - (law["C"] * after ** -law["gamma"] * span + 1) ** -law["beta"]
        drop = np.sum((eta[:-1] - after) * g)
        out[i] = law["L0"] + law["A"] * after.sum() ** -law["alpha"] - law["B"] * drop
    return out


def rows(row: Any, quick: bool) -> list[Any]:
    from schedalg.laws import MultiPowerLaw

    parameters = _table()["published"]["25"]["law"]
    law = MultiPowerLaw(**parameters)
    out = []
    for name in ("cosine_72000", "constant_72000"):
        schedule, steps, _ = _run("25", name)
        rates = schedule.curve(int(steps.max()) + 1)

        def ours_call(s: Any = schedule, t: np.ndarray = steps) -> np.ndarray:
            return law.predict(s, t)

        def reference_call(r: np.ndarray = rates, t: np.ndarray = steps) -> np.ndarray:
            return reference(parameters, r, t)

        ours, theirs = interleaved([ours_call, reference_call], 3 if quick else 7)
        gap = float(np.max(np.abs(ours_call() - reference_call())))
        out += [
            row(
                GROUP,
                f"predict, {steps.size} logged steps of {name}",
                f"{ours * 1e3:9.1f} ms",
                f"{theirs / ours:.1f}x faster than the reference loop ({theirs * 1e3:.0f} ms)",
                "< 1 s",
                verdict(ours < 1.0),
            ),
            row(
                "check", f"laws: predict vs the reference loop, {name}, max abs diff", f"{gap:.1e}"
            ),
        ]
    return out + _fit_rows(row, parameters, quick)


def _fit_rows(row: Any, parameters: dict[str, float], quick: bool) -> list[Any]:
    from schedalg.analysis.laws.fitting import GRID_STRIDE
    from schedalg.laws import MultiPowerLaw, fit

    runs = [_run("25", name) for name in _table()["train"]]
    law = MultiPowerLaw(**parameters)
    curves = [(s.curve(int(t.max()) + 1), t) for s, t, _ in runs]

    def ours() -> None:
        for schedule, steps, _ in runs:
            law.predict(schedule, steps)

    def theirs() -> None:
        for rates, steps in curves:
            reference(parameters, rates, steps)

    one, one_reference = interleaved([ours, theirs], 3 if quick else 7)
    stages: list[str] = []
    start = time.perf_counter()
    found = fit(runs, callback=lambda p: stages.append(p.stage))
    seconds = time.perf_counter() - start
    # The grid's objectives read every GRID_STRIDE-th logged point only.
    grid = stages.count("grid")
    priced = grid / GRID_STRIDE + len(stages) - grid
    return [
        row(
            GROUP,
            "the law at every logged step of the 3 training runs (25M)",
            f"{one * 1e3:9.1f} ms",
            f"{one_reference / one:.1f}x faster than the reference loop "
            f"({one_reference * 1e3:.0f} ms)",
        ),
        row(
            GROUP,
            f"fit on the 3 training runs (25M), default 4 starts, {len(stages)} objectives",
            f"{seconds:9.2f} s",
            f"with the reference loop: ~{priced * one_reference:.0f} s "
            "(the objectives alone, no Jacobian)",
            "seconds",
            verdict(seconds < 60),
        ),
        row("check", "laws: fit objective (Huber on log loss)", f"{found.objective:.6e}"),
    ]


if __name__ == "__main__":
    from benchmarks.suite import Row, report

    print(report(rows(Row, quick=False)))
