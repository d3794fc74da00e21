"""DeepSpeed ``scheduler`` blocks as expressions.

A face: the names below are defined in ``schedalg.importers.deepspeed``.
"""

from schedalg.importers.deepspeed import from_deepspeed as from_deepspeed

__all__ = [
    "from_deepspeed",
]
