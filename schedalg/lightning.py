"""A Lightning callback driving ``schedalg.torch.Scheduler`` (imports lightning).

A face: the names below are defined in ``schedalg.integrations.lightning``.
"""

from schedalg.integrations.lightning import ScheduleCallback as ScheduleCallback

__all__ = [
    "ScheduleCallback",
]
