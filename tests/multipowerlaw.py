"""The multi-power-law data shipped in ``tests/data/multipowerlaw`` (README there): each run's
logged steps and losses, its schedule as an expression, the paper's split and the published
numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import schedalg as sa

DATA = Path(__file__).resolve().parent / "data" / "multipowerlaw"
TABLE = json.loads((DATA / "schedules.json").read_text(encoding="utf-8"))
MODELS = ("25", "100")
TRAIN: list[str] = TABLE["train"]
TEST: list[str] = TABLE["test"]
NAMES: list[str] = list(TABLE["schedules"])


def csv_path(model: str, name: str) -> Path:
    return DATA / f"csv_{model}" / f"{name}.csv"


def columns(model: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The run's ``step`` (int64), ``lr`` and ``loss`` columns."""
    table = np.genfromtxt(csv_path(model, name), delimiter=",", names=True)
    return table["step"].astype(np.int64), table["lr"], table["loss"]


def expression(name: str) -> str:
    return TABLE["schedules"][name]


def schedule(name: str) -> sa.Schedule:
    return sa.parse(expression(name))


def runs(model: str, names: list[str]) -> list[tuple[sa.Schedule, np.ndarray, np.ndarray]]:
    """``(lr, steps, losses)`` of each named run, as ``fit`` and ``score`` take them."""
    found = []
    for name in names:
        steps, _, losses = columns(model, name)
        found.append((schedule(name), steps, losses))
    return found


def published(model: str) -> dict:
    return TABLE["published"][model]


def reference_loss(law: dict, rates: np.ndarray, steps: np.ndarray, first: int = 1) -> np.ndarray:
    """The paper's evaluation, written as its repository computes it: for each step ``t`` a plain
    NumPy sum over every step ``k`` from ``first`` (1 by default) to ``t``."""
    out = []
    for t in steps:
        eta = rates[: t + 1]
        area = eta[1:].sum()
        drop = eta[:-1] - eta[1:]
        after = eta[1:]
        span = np.cumsum(after[::-1])[::-1]
        g = 1 - (law["C"] * after ** -law["gamma"] * span + 1) ** -law["beta"]
        keep = np.arange(1, t + 1) >= first
        out.append(
            law["L0"] + law["A"] * area ** -law["alpha"] - law["B"] * np.sum((drop * g)[keep])
        )
    return np.array(out)
