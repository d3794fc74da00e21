"""Hugging Face transformers schedules (``get_scheduler`` names, ``TrainingArguments``) as
expressions.

A face: the names below are defined in ``schedalg.importers.hf``.
"""

from schedalg.importers.hf import BUILDERS as BUILDERS
from schedalg.importers.hf import from_hf as from_hf
from schedalg.importers.hf import from_lr_lambda as from_lr_lambda
from schedalg.importers.hf import from_training_arguments as from_training_arguments

__all__ = [
    "BUILDERS",
    "from_hf",
    "from_lr_lambda",
    "from_training_arguments",
]
