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

from types import ModuleType as _ModuleType

from schedalg.analysis import check, describe
from schedalg.arithmetic import clamp, maximum, minimum
from schedalg.clocks import consumed, in_samples, in_tokens
from schedalg.combinators import clip, per_epoch, sequence, warmup
from schedalg.cycles import cyclic, one_cycle, one_cycle_momentum
from schedalg.data import fingerprint, from_dict, to_dict
from schedalg.diffing import diff
from schedalg.expression import Schedule, add, chain, constant, divide, power, subtract
from schedalg.functions import cumulative, from_fn
from schedalg.horizon import placeholder, placeholders, total
from schedalg.integers import batch_ramp, rounded
from schedalg.metric import bind, bound_plateau, plateau, plateaus
from schedalg.node import register
from schedalg.perturbation import noise
from schedalg.phases import piecewise, warmup_stable_decay
from schedalg.primitives import (
    cosine,
    cosine_restarts,
    elapsed,
    exponential,
    inverse_sqrt,
    linear,
    multistep,
    polynomial,
    step_decay,
)
from schedalg.recurrence import affine_steps
from schedalg.text import parse
from schedalg.timewarps import repeat, shift, stretch, warp
from schedalg.units import absolute, is_absolute

inf = float("inf")

# Every public name above, for ``from schedalg import *`` (the submodules stay reachable as
# attributes, e.g. ``schedalg.text``).
__all__ = sorted(
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and not isinstance(value, _ModuleType)
)

__version__ = "0.1.0"
