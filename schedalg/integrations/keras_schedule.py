"""The Keras class behind :func:`schedalg.keras.to_keras` (importing this module imports Keras)."""

from __future__ import annotations

from typing import Any

import keras  # type: ignore[import-untyped]

from schedalg.algebra.expression import Schedule
from schedalg.core import validators as check
from schedalg.forms.data import from_dict, to_dict


@keras.saving.register_keras_serializable(package="schedalg", name="SchedalgSchedule")
class SchedalgSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``base * schedule(step)`` as a Keras learning-rate schedule; its config is data:
    ``{"schedule": schedalg.to_dict(schedule), "base": base}``."""

    def __init__(self, schedule: Schedule, base: float = 1.0) -> None:
        super().__init__()
        if not isinstance(schedule, Schedule):
            raise TypeError(f"to_keras(): schedule must be a schedalg Schedule, got {schedule!r}")
        self.schedule = schedule
        self.base = check.real("to_keras", "base", base)

    def __call__(self, step: Any) -> Any:
        value = self.schedule(keras.ops.convert_to_tensor(step))
        return keras.ops.cast(value * self.base, keras.config.floatx())

    def get_config(self) -> dict[str, Any]:
        return {"schedule": to_dict(self.schedule), "base": self.base}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SchedalgSchedule:
        return cls(from_dict(config["schedule"]), config.get("base", 1.0))

    def __repr__(self) -> str:
        return f"to_keras({self.schedule!r}, base={self.base!r})"
