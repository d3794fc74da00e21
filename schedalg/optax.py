"""optax's schedule factories, under their own names, as schedalg expressions.

A face: the names below are defined in ``schedalg.importers.optax``.
"""

from schedalg.importers.optax import constant_schedule as constant_schedule
from schedalg.importers.optax import cosine_decay_schedule as cosine_decay_schedule
from schedalg.importers.optax import cosine_onecycle_schedule as cosine_onecycle_schedule
from schedalg.importers.optax import exponential_decay as exponential_decay
from schedalg.importers.optax import join_schedules as join_schedules
from schedalg.importers.optax import linear_onecycle_schedule as linear_onecycle_schedule
from schedalg.importers.optax import linear_schedule as linear_schedule
from schedalg.importers.optax import piecewise_constant_schedule as piecewise_constant_schedule
from schedalg.importers.optax import (
    piecewise_interpolate_schedule as piecewise_interpolate_schedule,
)
from schedalg.importers.optax import polynomial_schedule as polynomial_schedule
from schedalg.importers.optax import sgdr_schedule as sgdr_schedule
from schedalg.importers.optax import warmup_constant_schedule as warmup_constant_schedule
from schedalg.importers.optax import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from schedalg.importers.optax import (
    warmup_exponential_decay_schedule as warmup_exponential_decay_schedule,
)

__all__ = [
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]
