"""Keras 3 learning-rate schedules: read one (``from_keras``), or drive Keras with a schedule
(``to_keras``, which alone imports Keras).

A face: each name is imported from the module that defines it.
"""

from schedalg.importers.keras import from_keras as from_keras
from schedalg.integrations.keras import to_keras as to_keras

__all__ = [
    "from_keras",
    "to_keras",
]
