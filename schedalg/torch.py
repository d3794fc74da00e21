"""schedalg for PyTorch: the optimizer adapter (``Scheduler``) and the converter from torch
schedulers (``from_torch``). Importing it imports torch; ``import schedalg`` does not.

A face: each name is imported from the module that defines it.
"""

from schedalg.curves.metric import bind as bind
from schedalg.curves.metric import plateau as plateau
from schedalg.curves.metric import plateaus as plateaus
from schedalg.forms.data import fingerprint as fingerprint
from schedalg.importers.torch.convert import TorchSchedules as TorchSchedules
from schedalg.importers.torch.convert import from_torch as from_torch
from schedalg.integrations.torch.adapter import Scheduler as Scheduler

Plateau = plateau  # the name torch users look for (ReduceLROnPlateau)

__all__ = [
    "Plateau",
    "Scheduler",
    "TorchSchedules",
    "bind",
    "fingerprint",
    "from_torch",
    "plateau",
    "plateaus",
]
