"""``to_keras``: a schedule as a Keras ``LearningRateSchedule``.

``to_keras(schedule, base)`` gives ``base * schedule(step)``, which Keras optimizers accept and
which serialises (its config holds ``schedalg.to_dict(schedule)``). Keras is imported when
``to_keras`` is first called, so ``import schedalg.keras`` (whose ``from_keras`` reads configs)
does not import it.
"""

from __future__ import annotations

from typing import Any

from schedalg.algebra.expression import Schedule

__all__ = ["to_keras"]


def to_keras(schedule: Schedule, base: float = 1.0) -> Any:
    """A Keras ``LearningRateSchedule`` giving ``base * schedule(step)``."""
    from schedalg.integrations.keras_schedule import SchedalgSchedule

    return SchedalgSchedule(schedule, base)
