"""Megatron-LM's learning-rate arguments as expressions.

A face: the names below are defined in ``schedalg.importers.megatron``.
"""

from schedalg.importers.megatron import from_megatron as from_megatron

__all__ = [
    "from_megatron",
]
