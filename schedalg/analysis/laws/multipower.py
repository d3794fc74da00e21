"""The multi-power law of Luo et al. (2025, arXiv 2503.12811): the loss of a run at step ``t`` as a
function of its whole learning-rate curve.

``L(t) = L0 + A * S1(t) ** -alpha - LD(t)`` with ``S1(t) = eta_1 + ... + eta_t`` and
``LD(t) = B * sum_(k=1..t) (eta_(k-1) - eta_k) * G(eta_k ** -gamma * S_k(t))``,
``S_k(t) = eta_k + ... + eta_t``, ``G(x) = 1 - (C * x + 1) ** -beta``. The sum runs over every
step from 1, the warm-up's included, as the paper's evaluation computes it (and as its published
parameters were fitted and scored); ``warmup=W`` leaves steps ``1 .. W - 1`` out of ``LD``, as the
paper writes the law (``S1 + S_W``, the warm-up's area, with ``LD`` over the steps after it) and
as its repository scores an optimized schedule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from schedalg.analysis.laws import sums
from schedalg.core import validators as check

__all__ = ["FORMAT_VERSION", "MultiPowerLaw"]

FORMAT_VERSION = 1
_NAME = "MultiPowerLaw"
# The largest value C * eta_k ** -gamma is given: a rate of exactly 0 (inf) would make the term
# of a zero span 0 * inf = NaN. Capped, a zero span gives G = 0 and a positive one G = 1.
_SCALE_CAP = 1e300


@dataclass(frozen=True)
class MultiPowerLaw:
    """``MultiPowerLaw(L0, A, alpha, B, C, beta, gamma)``: the loss at step ``t`` is
    ``L0 + A * S1(t) ** -alpha - B * sum_k (eta_(k-1) - eta_k) * (1 - (C * eta_k ** -gamma *
    S_k(t) + 1) ** -beta)`` (the module's docstring has the sums).

    A value: its repr rebuilds it, ``to_dict``/``from_dict`` and ``to_json``/``from_json`` read
    and write it as data. ``L0`` and ``gamma`` are finite numbers, ``A`` and ``B`` finite and
    >= 0, ``alpha``, ``C`` and ``beta`` finite and > 0.

    >>> from schedalg import constant, linear, sequence
    >>> law = MultiPowerLaw(L0=3.0, A=0.5, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.6)
    >>> lr = sequence(linear(0.0, 3e-4, 99), constant(3e-5), at=[1000])
    >>> law.predict(lr, [999, 1999]).round(4).tolist()
    [4.0215, 3.9052]
    """

    L0: float
    A: float
    alpha: float
    B: float
    C: float
    beta: float
    gamma: float

    NAME: ClassVar[str] = "multi-power"
    # Each parameter's bound, as check.real's keyword against 0: at_least (>= 0), above (> 0);
    # None: any finite number.
    _BOUNDS: ClassVar[dict[str, str | None]] = {
        "L0": None,
        "A": "at_least",
        "alpha": "above",
        "B": "at_least",
        "C": "above",
        "beta": "above",
        "gamma": None,
    }

    def __post_init__(self) -> None:
        for name, bound in self._BOUNDS.items():
            limits = {bound: 0.0} if bound else {}
            value = check.real(_NAME, name, getattr(self, name), **limits)  # type: ignore[arg-type]
            object.__setattr__(self, name, value)

    @classmethod
    def parameters(cls) -> tuple[str, ...]:
        """The parameters' names, in order: ``('L0', 'A', 'alpha', 'B', 'C', 'beta', 'gamma')``."""
        return tuple(f.name for f in fields(cls))

    # -- prediction -------------------------------------------------------------------------------

    def predict(self, lr: Any, steps: Iterable[int] | int, *, warmup: int = 0) -> np.ndarray:
        """The predicted loss at ``steps`` (each >= 1) of a run with the absolute learning-rate
        schedule ``lr`` (``3e-4 * warmup(cosine(21840, end=0.1), 2160)``), as float64.

        ``L0 + A * S1(t) ** -alpha - LD(t)``, ``LD`` summing every step ``k`` from
        ``max(warmup, 1)`` to ``t`` (the default, 0, is the paper's evaluation). Costs one term
        per step where the rate changes, per step asked: a held phase costs nothing.
        """
        fn = f"{_NAME}.predict"
        points = sums.steps_of(fn, steps)
        eta = sums.rates(fn, lr, int(points.max()))
        return self.evaluate(sums.run(eta, points, sums.first_step(fn, warmup)))[0]

    def evaluate(
        self, curve: sums.Run, blocks: Iterable[sums.Block] | None = None, jacobian: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The predicted loss at ``curve.steps`` and, with ``jacobian=True``, its derivatives
        with respect to the parameters (one column each, in ``parameters()`` order).
        ``blocks`` are ``curve.blocks()`` when kept (a fit reuses them)."""
        n = curve.steps.size
        drop = np.zeros(n)
        partial = np.zeros((n, 3)) if jacobian else None
        scale = self._scales(curve.after)
        weighted = curve.drops * np.log(np.where(curve.after > 0, curve.after, 1.0))
        work = np.empty((3, sums.CELLS))
        for block in curve.blocks(buffer=work[0]) if blocks is None else blocks:
            self._block(block, scale, curve.drops, weighted, work, drop, partial)
        power = curve.area**-self.alpha
        loss = self.L0 + self.A * power - self.B * drop
        if partial is None:
            return loss, None
        # d/dC, d/dbeta, d/dgamma of G summed: beta * Q / C, g * ln(1 + x), -beta * Q * ln(eta).
        with np.errstate(divide="ignore", invalid="ignore"):
            log_area = np.log(curve.area)
        columns = [
            np.ones(n),
            power,
            -self.A * power * log_area,
            -drop,
            -self.B * self.beta / self.C * partial[:, 0],
            -self.B * partial[:, 1],
            self.B * self.beta * partial[:, 2],
        ]
        return loss, np.stack(columns, axis=1)

    def _scales(self, after: np.ndarray) -> np.ndarray:
        """``C * eta_k ** -gamma`` per rate change, capped (a rate of 0 gives the cap)."""
        with np.errstate(divide="ignore", over="ignore"):
            scale = self.C * np.power(after, -self.gamma)
        return np.minimum(scale, _SCALE_CAP)

    def _block(
        self,
        block: sums.Block,
        scale: np.ndarray,
        drops: np.ndarray,
        weighted: np.ndarray,
        work: np.ndarray,
        drop: np.ndarray,
        partial: np.ndarray | None,
    ) -> None:
        """Adds one block's ``sum_k d_k * G`` into ``drop`` (and the sums of the derivatives into
        ``partial``), with ``x = C * eta_k ** -gamma * S_k(t)`` and ``g = (1 + x) ** -beta``:
        ``G = 1 - g``, ``dG/dC = beta * Q / C``, ``dG/dbeta = g * ln(1 + x)``,
        ``dG/dgamma = -beta * Q * ln(eta_k)`` with ``Q = g * x / (1 + x)``. Work arrays are views
        of ``work`` (no allocation per block)."""
        columns = slice(block.start, block.stop)
        shape = block.spans.shape
        if shape[1] == 0:
            return
        x, log1, g = (w[: shape[0] * shape[1]].reshape(shape) for w in work)
        d = drops[columns]
        np.multiply(block.spans, scale[columns], out=x)
        np.log1p(x, out=log1)
        np.multiply(log1, -self.beta, out=g)
        np.expm1(g, out=g)  # g - 1 = -G
        drop[block.rows] -= _dot(g, d)
        if partial is None:
            return
        g += 1.0
        log1 *= g
        partial[block.rows, 1] += _dot(log1, d)
        # Q = g * x / (1 + x), in place of log1; terms after the row's step have x = 0.
        np.add(x, 1.0, out=log1)
        np.divide(x, log1, out=log1)
        log1 *= g
        partial[block.rows, 0] += _dot(log1, d)
        partial[block.rows, 2] += _dot(log1, weighted[columns])

    # -- data -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``{"schedalg": 1, "law": {"type": "multi-power", "L0": ..., ...}}``: JSON-ready."""
        values = dict(zip(self.parameters(), astuple(self)))
        return {"schedalg": FORMAT_VERSION, "law": {"type": self.NAME, **values}}

    @classmethod
    def from_dict(cls, data: Any) -> MultiPowerLaw:
        """The law ``to_dict`` wrote; anything else raises ``ValueError`` naming what is wrong."""
        fn = f"{_NAME}.from_dict"
        if not isinstance(data, Mapping) or data.get("schedalg") != FORMAT_VERSION:
            raise ValueError(
                f"{fn}(): data must be {{'schedalg': {FORMAT_VERSION}, 'law': {{...}}}}, "
                f"got {data!r}"
            )
        law = data.get("law")
        if not isinstance(law, Mapping) or law.get("type") != cls.NAME:
            raise ValueError(f"{fn}(): law must have 'type': {cls.NAME!r}, got {law!r}")
        names = set(cls.parameters())
        missing, extra = names - set(law), set(law) - names - {"type"}
        if missing or extra:
            raise ValueError(
                f"{fn}(): law must have exactly the parameters {', '.join(cls.parameters())}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        return cls(**{name: law[name] for name in cls.parameters()})

    def to_json(self) -> str:
        """``to_dict`` as JSON text (floats written exactly, with ``repr``)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> MultiPowerLaw:
        """The law ``to_json`` wrote."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{_NAME}.from_json(): not JSON: {error}") from None
        return cls.from_dict(data)

    def vector(self) -> np.ndarray:
        """The parameters as an array, in ``parameters()`` order."""
        return np.array(astuple(self), dtype=float)

    @classmethod
    def from_vector(cls, values: Iterable[float]) -> MultiPowerLaw:
        """The law with these parameter values, in ``parameters()`` order."""
        return cls(*(float(v) for v in values))


def _dot(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` in NumPy's own loop, not BLAS: the same digits whatever the BLAS
    library or its thread count (a fit gives the same law on any machine with the same NumPy)."""
    return np.einsum("ij,j->i", matrix, vector)
