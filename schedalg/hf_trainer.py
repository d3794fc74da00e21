"""A Hugging Face Trainer callback driving ``schedalg.torch.Scheduler``.

A face: the names below are defined in ``schedalg.integrations.hf_trainer``.
"""

from schedalg.integrations.hf_trainer import ScheduleCallback as ScheduleCallback

__all__ = [
    "ScheduleCallback",
]
