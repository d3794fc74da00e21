"""schedalg for PyTorch: the optimizer adapter and the converter from torch schedulers.

    from schedalg import cosine, warmup
    from schedalg.torch import Scheduler, from_torch

    scheduler = Scheduler(optimizer, lr=warmup(cosine(9_000), 1_000))
    ...
    optimizer.step()
    scheduler.step()

Importing this module imports torch; ``import schedalg`` does not.
"""

from schedalg.plateau import Plateau, bind, plateau, plateaus
from schedalg.torch.adapter import Scheduler, fingerprint
from schedalg.torch.convert import TorchSchedules, from_torch

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
