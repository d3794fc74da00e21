"""Schedules inside ``torch.compile``: ``base * s(step)`` from a step tensor with
``fullgraph=True`` (compilations counted over 50 steps, values against ``s(i)``), and the
compiled-training recipe (tensor lr and betas stepped by the adapter) counted for recompiles."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from benchmarks.timing import verdict

STEPS = 50


def _expressions() -> dict[str, Any]:
    import schedalg as sa

    return {
        "warm-up+cosine": sa.warmup(sa.cosine(40), 10),
        "3-piece sequence": sa.sequence(
            sa.linear(0.1, 1.0, 10), sa.cosine(30), sa.constant(0.01), at=[10, 40]
        ),
        "multistep": sa.multistep((10, 20, 35), 0.5),
        "one_cycle": sa.one_cycle(STEPS),
    }


def _ulps(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.max(np.abs(a.view(np.int64) - b.view(np.int64))))


def _in_graph(row: Any, label: str, schedule: Any) -> Any:
    import torch
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=True)
    def value(step: Any) -> Any:
        return 0.1 * schedule(step)

    try:
        got = np.array([float(value(torch.tensor(t))) for t in range(STEPS)])
    except Exception as error:  # a failure to compile is the measurement
        return row(
            "#2 in-graph", f"{label}: fullgraph", f"fails: {type(error).__name__}", "", "", "MISSED"
        )
    want = np.array([0.1 * schedule(t) for t in range(STEPS)])
    ulps = _ulps(got, want)
    ok = counter.frame_count == 1
    return row(
        "#2 in-graph",
        f"{label}: compilations over {STEPS} steps; max ulps vs s(i)",
        f"{counter.frame_count} graph(s)",
        f"{ulps} ulp ({int(np.sum(got != want))} steps differ)",
        "1 graph, bit-equal",
        verdict(ok and ulps == 0) if ok else "MISSED",
    )


def _recipe(tensors: bool) -> int:
    """Compilations of a compiled Adam step over 20 steps with the adapter stepping outside."""
    import torch
    from torch._dynamo.testing import CompileCounter

    import schedalg as sa
    from schedalg.torch import Scheduler

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    if tensors:
        betas: Any = (torch.tensor(0.9), torch.tensor(0.999))
        optimizer = torch.optim.Adam(model.parameters(), lr=torch.tensor(1e-2), betas=betas)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = Scheduler(
        optimizer, lr=sa.warmup(sa.cosine(20), 5), momentum=sa.one_cycle_momentum(25)
    )
    torch._dynamo.reset()
    counter = CompileCounter()
    step = torch.compile(optimizer.step, backend=counter)
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    for _ in range(20):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        step()
        scheduler.step()
    return int(counter.frame_count)


def rows(row: Any) -> list[Any]:
    out = [_in_graph(row, label, s) for label, s in _expressions().items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tensor, floats = _recipe(True), _recipe(False)
    out.append(
        row(
            "#2 in-graph",
            "compiled Adam step, tensor lr + tensor betas: recompiles over 20 steps",
            f"{tensor - 1} recompiles",
            "",
            "0",
            verdict(tensor == 1),
        )
    )
    out.append(
        row(
            "#2 in-graph",
            "the same, float lr + float betas (torch's usual)",
            f"{floats - 1} recompiles",
        )
    )
    return out
