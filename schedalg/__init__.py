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

from schedalg.algebra.arithmetic import clamp as clamp
from schedalg.algebra.arithmetic import maximum as maximum
from schedalg.algebra.arithmetic import minimum as minimum
from schedalg.algebra.combinators import clip as clip
from schedalg.algebra.combinators import per_epoch as per_epoch
from schedalg.algebra.combinators import sequence as sequence
from schedalg.algebra.combinators import warmup as warmup
from schedalg.algebra.expression import Schedule as Schedule
from schedalg.algebra.expression import add as add
from schedalg.algebra.expression import chain as chain
from schedalg.algebra.expression import constant as constant
from schedalg.algebra.expression import divide as divide
from schedalg.algebra.expression import power as power
from schedalg.algebra.expression import subtract as subtract
from schedalg.algebra.horizon import placeholder as placeholder
from schedalg.algebra.horizon import placeholders as placeholders
from schedalg.algebra.horizon import total as total
from schedalg.algebra.timewarps import repeat as repeat
from schedalg.algebra.timewarps import shift as shift
from schedalg.algebra.timewarps import stretch as stretch
from schedalg.algebra.timewarps import warp as warp
from schedalg.algebra.units import absolute as absolute
from schedalg.algebra.units import is_absolute as is_absolute
from schedalg.analysis.checks import check as check
from schedalg.analysis.description import describe as describe
from schedalg.analysis.diffing import diff as diff
from schedalg.core.node import register as register
from schedalg.curves.clocks import consumed as consumed
from schedalg.curves.clocks import in_samples as in_samples
from schedalg.curves.clocks import in_tokens as in_tokens
from schedalg.curves.cycles import cyclic as cyclic
from schedalg.curves.cycles import one_cycle as one_cycle
from schedalg.curves.cycles import one_cycle_momentum as one_cycle_momentum
from schedalg.curves.functions import cumulative as cumulative
from schedalg.curves.functions import from_fn as from_fn
from schedalg.curves.integers import batch_ramp as batch_ramp
from schedalg.curves.integers import rounded as rounded
from schedalg.curves.metric import bind as bind
from schedalg.curves.metric import bound_plateau as bound_plateau
from schedalg.curves.metric import plateau as plateau
from schedalg.curves.metric import plateaus as plateaus
from schedalg.curves.perturbation import noise as noise
from schedalg.curves.phases import piecewise as piecewise
from schedalg.curves.phases import warmup_stable_decay as warmup_stable_decay
from schedalg.curves.primitives import cosine as cosine
from schedalg.curves.primitives import cosine_restarts as cosine_restarts
from schedalg.curves.primitives import elapsed as elapsed
from schedalg.curves.primitives import exponential as exponential
from schedalg.curves.primitives import inverse_sqrt as inverse_sqrt
from schedalg.curves.primitives import linear as linear
from schedalg.curves.primitives import multistep as multistep
from schedalg.curves.primitives import polynomial as polynomial
from schedalg.curves.primitives import step_decay as step_decay
from schedalg.curves.recurrence import affine_steps as affine_steps
from schedalg.forms.data import fingerprint as fingerprint
from schedalg.forms.data import from_dict as from_dict
from schedalg.forms.data import to_dict as to_dict
from schedalg.forms.text import parse as parse

inf = float("inf")

__all__ = [
    "Schedule",
    "absolute",
    "add",
    "affine_steps",
    "batch_ramp",
    "bind",
    "bound_plateau",
    "chain",
    "check",
    "clamp",
    "clip",
    "constant",
    "consumed",
    "cosine",
    "cosine_restarts",
    "cumulative",
    "cyclic",
    "describe",
    "diff",
    "divide",
    "elapsed",
    "exponential",
    "fingerprint",
    "from_dict",
    "from_fn",
    "in_samples",
    "in_tokens",
    "inf",
    "inverse_sqrt",
    "is_absolute",
    "linear",
    "maximum",
    "minimum",
    "multistep",
    "noise",
    "one_cycle",
    "one_cycle_momentum",
    "parse",
    "per_epoch",
    "piecewise",
    "placeholder",
    "placeholders",
    "plateau",
    "plateaus",
    "polynomial",
    "power",
    "register",
    "repeat",
    "rounded",
    "sequence",
    "shift",
    "step_decay",
    "stretch",
    "subtract",
    "to_dict",
    "total",
    "warmup",
    "warmup_stable_decay",
    "warp",
]

__version__ = "0.1.0"
