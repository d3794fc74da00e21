"""timm's schedulers (``create_scheduler_v2`` options and scheduler classes) as expressions.

A face: the names below are defined in ``schedalg.importers.timm``.
"""

from schedalg.importers.timm import CLASSES as CLASSES
from schedalg.importers.timm import SCHEDS as SCHEDS
from schedalg.importers.timm import from_timm as from_timm

__all__ = [
    "CLASSES",
    "SCHEDS",
    "from_timm",
]
