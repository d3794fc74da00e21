"""Megatron-LM's learning-rate arguments as expressions.

A face: the names below are defined in ``schedalg.importers.megatron`` and
``schedalg.importers.megatron_script`` (a launch script, read as text).
"""

from schedalg.importers.megatron import from_megatron as from_megatron
from schedalg.importers.megatron_script import from_launch_script as from_launch_script

__all__ = [
    "from_launch_script",
    "from_megatron",
]
