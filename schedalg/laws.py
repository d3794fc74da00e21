"""Loss-curve laws: fit one on logged runs, predict the loss of any schedule, choose the schedule
it predicts to end lowest (``pip install 'schedalg[laws]'`` for ``fit`` and ``optimize``).

A face: the names below are defined in ``schedalg.analysis.laws``.
"""

from schedalg.analysis.laws.fitting import Fit as Fit
from schedalg.analysis.laws.fitting import Progress as Progress
from schedalg.analysis.laws.fitting import fit as fit
from schedalg.analysis.laws.fitting import huber as huber
from schedalg.analysis.laws.multipower import MultiPowerLaw as MultiPowerLaw
from schedalg.analysis.laws.optimize import Optimum as Optimum
from schedalg.analysis.laws.optimize import optimize as optimize
from schedalg.analysis.laws.optimize import optimum as optimum
from schedalg.analysis.laws.scores import Score as Score
from schedalg.analysis.laws.scores import score as score

__all__ = [
    "Fit",
    "MultiPowerLaw",
    "Optimum",
    "Progress",
    "fit",
    "huber",
    "optimize",
    "optimum",
    "score",
]
