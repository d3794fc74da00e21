"""schedalg: a pure-functional algebra of training schedules.

A schedule is an immutable value, a function from the training step to a number. Build one from
primitives and combinators, print it, compare it, evaluate it on one step or a whole curve
(NumPy, JAX, torch), and apply it to any optimizer.

    >>> from schedalg import *
    >>> s = warmup(cosine(900), 100, start=0.001)
    >>> s
    warmup(cosine(900), 100, start=0.001)
    >>> s(100)
    1.0
"""

from schedalg.arithmetic import add, chain, clamp, maximum, minimum
from schedalg.combinators import Repeat as repeat
from schedalg.combinators import Shift as shift
from schedalg.combinators import Stretch as stretch
from schedalg.combinators import Warmup as warmup
from schedalg.combinators import clip, per_epoch, sequence
from schedalg.core import Schedule
from schedalg.describe import check, describe
from schedalg.plateau import Plateau as plateau
from schedalg.primitives import Constant as constant
from schedalg.primitives import Cosine as cosine
from schedalg.primitives import CosineRestarts as cosine_restarts
from schedalg.primitives import Cumulative as cumulative
from schedalg.primitives import Cyclic as cyclic
from schedalg.primitives import Exponential as exponential
from schedalg.primitives import FromFn as from_fn
from schedalg.primitives import InverseSqrt as inverse_sqrt
from schedalg.primitives import Linear as linear
from schedalg.primitives import MultiStep as multistep
from schedalg.primitives import OneCycle as one_cycle
from schedalg.primitives import OneCycleMomentum as one_cycle_momentum
from schedalg.primitives import Piecewise as piecewise
from schedalg.primitives import Polynomial as polynomial
from schedalg.primitives import StepDecay as step_decay
from schedalg.primitives import WarmupStableDecay as warmup_stable_decay
from schedalg.text import fingerprint, from_dict, parse, to_dict

inf = float("inf")

__all__ = [
    "Schedule",
    "add",
    "chain",
    "check",
    "clamp",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "cumulative",
    "cyclic",
    "describe",
    "exponential",
    "fingerprint",
    "from_dict",
    "from_fn",
    "inf",
    "inverse_sqrt",
    "linear",
    "maximum",
    "minimum",
    "multistep",
    "one_cycle",
    "one_cycle_momentum",
    "parse",
    "per_epoch",
    "piecewise",
    "plateau",
    "polynomial",
    "repeat",
    "sequence",
    "shift",
    "step_decay",
    "stretch",
    "to_dict",
    "warmup",
    "warmup_stable_decay",
]

__version__ = "0.1.0"
