"""Shared helpers for the torch tests: optimizers, the tolerance of docs/torch-semantics.md §9,
lockstep comparison."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from schedalg.torch import Scheduler, from_torch

EPS = 2.220446049250313e-16


def tol(t: int, t_max: float | None = None, base: float = 1.0) -> dict[str, float]:
    """The comparison rule of docs/torch-semantics.md §9 (checked on ~1e6 comparisons)."""
    rel = 1e-12 + 4 * EPS * t
    if t_max is not None and t > t_max:
        rel += 8 * EPS * t_max**2
    # An lr that a recursion cancels to about 0 (an eta_min cosine chain) keeps the error it
    # drifted by relative to the values it was computed from, of the size of base.
    return {"rel_tol": rel, "abs_tol": 1e-300 + (1e-15 + 4 * EPS * t) * base}


def optimizer(lrs: list[float], kind: str = "sgd", **kw: Any) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in lrs]
    if kind == "adam":
        return torch.optim.Adam(groups, **kw)
    return torch.optim.SGD(groups, **kw)


def momentum_of(group: dict[str, Any]) -> float:
    return float(group["betas"][0]) if "betas" in group else float(group["momentum"])


def lockstep(
    make: Callable[[torch.optim.Optimizer], Any],
    lrs: list[float],
    steps: int,
    *,
    exact: bool = False,
    t_max: float | None = None,
    kind: str = "sgd",
    **kw: Any,
) -> Any:
    """Step a torch scheduler as training does (optimizer.step, then scheduler.step) next to the
    adapter driven by from_torch's result on a fresh optimizer, and compare, at every step, the
    torch lr with (a) the adapter's and (b) the expression's curve (and momentum where cycled).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = optimizer(lrs, kind, **kw)
        scheduler = make(theirs)
        converted = from_torch(scheduler)
        ours = optimizer(lrs, kind, **kw)
        adapter = Scheduler(ours, **converted)
        keys = ["lr"] + (["momentum"] if converted.momentum is not None else [])
        curves = {}
        for key in keys:
            for i, lr in enumerate(lrs):
                curve = converted.group(key, i).curve(steps)
                if key not in converted.absolute:
                    base = lr if key == "lr" else momentum_of(ours.param_groups[i])
                    curve = base * curve
                curves[key, i] = curve
        for t in range(steps):
            for key in keys:
                for i, (g1, g2) in enumerate(zip(theirs.param_groups, ours.param_groups)):
                    read = (lambda g: float(g["lr"])) if key == "lr" else momentum_of
                    want, got, curve = read(g1), read(g2), float(curves[key, i][t])
                    if exact:
                        assert got == want, (key, i, t, want, got, converted)
                        # Vectorised pow/cos may differ from Python's by an ulp (docs/design.md §1).
                        assert math.isclose(curve, want, rel_tol=4 * EPS, abs_tol=1e-300), (
                            key,
                            i,
                            t,
                            want,
                            curve,
                            converted,
                        )
                    else:
                        rule = tol(t, t_max, max(abs(lrs[i]), 1.0))
                        assert math.isclose(got, want, **rule), (key, i, t, want, got, converted)
                        assert math.isclose(curve, want, **rule), (key, i, t, want, curve)
            theirs.step()
            scheduler.step()
            ours.step()
            adapter.step()
    return converted


def stepped_lrs(scheduler: Any, optimizer: torch.optim.Optimizer, steps: int) -> np.ndarray:
    values = []
    for _ in range(steps):
        values.append([float(g["lr"]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return np.array(values)
