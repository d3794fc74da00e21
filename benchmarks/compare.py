"""How far two curves of the same formula are apart: in ulps (the hand-written NumPy, which
should be the curve bit for bit) or relatively (the peers, which compute it their own way)."""

from __future__ import annotations

import math

import numpy as np


def max_relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest relative difference; where the reference is 0, ours must be exactly 0 too."""
    zero = theirs == 0
    if np.any(ours[zero] != 0):
        return math.inf
    return float(np.max(np.abs(ours[~zero] - theirs[~zero]) / np.abs(theirs[~zero])))


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place of float64 values of the same sign (0 and -0 apart
    by one, which no curve here has)."""
    return np.abs(a.view(np.int64) - b.view(np.int64))


def bitwise(theirs: np.ndarray, ours: np.ndarray) -> str:
    """``bit-equal``, or how many values differ and by how many ulps at most."""
    differ = int(np.sum(theirs != ours))
    if differ == 0:
        return "bit-equal"
    if np.any(np.sign(theirs) != np.sign(ours)) or not np.all(np.isfinite(theirs)):
        return f"{differ} steps differ (in sign or finiteness)"
    return f"{differ} steps differ, by <= {int(ulps(theirs, ours).max())} ulp"


def relative(theirs: np.ndarray, ours: np.ndarray) -> str:
    """The largest relative difference where ours is not 0, and the steps where ours is 0 and
    theirs is not (optax's polynomial ends at 4e-38, not 0)."""
    zero = ours == 0
    if np.all(zero):
        return "ours all 0"
    worst = float(np.max(np.abs(theirs[~zero] - ours[~zero]) / np.abs(ours[~zero])))
    off = int(np.sum(theirs[zero] != 0))
    if worst == 0 and off == 0:
        return "bit-equal"
    text = f"{worst:.1e}"
    if off:
        text += f"; {off} steps 0 in ours are up to {float(np.max(np.abs(theirs[zero]))):.1e}"
    return text
