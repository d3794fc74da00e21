"""The table: one entry per MMEngine scheduler kind, each holding everything about its kind.

An entry is a ``Kind`` subclass (the interface is ``schedalg.importers.mmengine.base.Kind``)
decorated
with ``@entry``, which adds it to ``KINDS`` and registers it under MMEngine's type names
``<name>LR``, ``<name>ParamScheduler`` and, if ``momentum``, ``<name>Momentum``. The entries are
grouped by how they change the value, one module per group; importing this package fills the
table (``downstream`` holds the types of the packages built on MMEngine, mmdet's and
mmpretrain's). How MMEngine computes each kind is described in ``docs/mmengine-semantics.md``.
"""

from schedalg.importers.mmengine.base import KINDS, TYPES
from schedalg.importers.mmengine.kinds import (
    annealing,
    downstream,
    multiplicative,
    one_cycle,
    reduce_on_plateau,
)

__all__ = [
    "KINDS",
    "TYPES",
    "annealing",
    "downstream",
    "multiplicative",
    "one_cycle",
    "reduce_on_plateau",
]
