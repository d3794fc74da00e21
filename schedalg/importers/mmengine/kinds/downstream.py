"""Scheduler types of the OpenMMLab packages built on MMEngine that their configs use.

- mmdet's ``QuadraticWarmupLR`` / ``QuadraticWarmupMomentum`` / ``QuadraticWarmupParamScheduler``
  (YOLOX, ByteTrack, StrongSORT): an additive warmup to the param group's initial value.
- mmpretrain's ``CosineAnnealingWeightDecay`` (SparK): MMEngine's CosineAnnealing on the weight
  decay, its updates MMEngine's own (a param group whose weight decay is 0 stays 0, which a base
  value of 0 cannot express: ``from_config`` refuses ``base={'weight_decay': 0}``).
"""

from __future__ import annotations

from schedalg.algebra.expression import Schedule
from schedalg.algebra.timewarps import shift
from schedalg.curves.primitives import elapsed
from schedalg.importers.mmengine.base import INF, KINDS, TYPES, Kind, Spec, Timeline, entry, scaled
from schedalg.importers.mmengine.kinds import annealing

__all__ = ["QuadraticWarmup"]


@entry
class QuadraticWarmup(Kind):
    """mmdet's quadratic warmup over its ``T = end - begin`` steps, counted from ``begin``: its
    first step writes ``base / T**2``, each later step ``t`` adds ``base * (2 t + 1) / T**2`` to
    the current value (``base``: the param group's initial value). Alone that is
    ``base * (t + 1)**2 / T**2``, which reaches ``base`` at its last step.
    """

    name = "QuadraticWarmup"
    writes_alone = True  # its first step writes base / T**2
    effect = "additively (QuadraticWarmup)"
    update = "additive update v <- v + base * (2 t + 1) / T**2"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        if spec.end >= INF:
            raise spec.fail(
                "end must be less than infinity (MMEngine's INF): QuadraticWarmup needs the "
                f"number of warmup steps, got end={spec.end!r}"
            )
        return spec

    def changes_from(self, spec: Spec, t: int) -> int | None:
        return t  # every step of the window changes the value

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        # MMEngine sums base * (2t + 1) / T**2 step by step; the closed form differs from the
        # sum by its roundings, a few ulps, well within the 1e-12 of docs/mmengine-semantics.md
        # on the warmups configs use (tested up to 5 epochs of 7330 iterations).
        total = spec.length
        return scaled(timeline.initial(spec), shift(elapsed(), 1) ** 2 / (total * total))

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        return (
            "it adds base * (2 t + 1) / T**2 to the value, which is not an update of the "
            "form target + (v - target) * ratio"
        )


# mmpretrain's CosineAnnealingWeightDecay is MMEngine's CosineAnnealingParamScheduler on the
# weight decay (same arguments, same updates).
TYPES["CosineAnnealingWeightDecay"] = (KINDS[annealing.CosineAnnealing.name], "weight_decay")
