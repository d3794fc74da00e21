"""The table: one entry per torch scheduler class, saying everything ``from_torch`` knows about
it (the fields are documented on ``TorchClass``; a field left out keeps the default of a
recursive scheduler that counts its steps in ``last_epoch``). Adding a class is adding one entry
here, naming the functions that convert it.
"""

from __future__ import annotations

from typing import Any

from torch.optim import lr_scheduler as L
from torch.optim.swa_utils import SWALR

from schedalg.importers.torch import compose, overwriting, recursive, state
from schedalg.importers.torch.recursive import relative_to_base
from schedalg.importers.torch.table import GroupMultiplier, LrCheck, TorchClass, register


def _recursive(multiplier: GroupMultiplier, **fields: Any) -> TorchClass:
    """A scheduler whose curve is ``multiplier`` times its base lr, and which chains."""
    return TorchClass(
        curve=relative_to_base(multiplier), multiplier=multiplier, clock=state.steps_taken, **fields
    )


CLASSES: dict[type, TorchClass] = {
    # Recursive: a ratio per step, so they chain.
    L.StepLR: _recursive(recursive.step, settles=recursive.settles_unless_gamma),
    L.MultiStepLR: _recursive(recursive.multi_step, settles=recursive.settles_at_last_milestone),
    L.ConstantLR: _recursive(recursive.constant_factor, settles=recursive.settles_at_total_iters),
    L.LinearLR: _recursive(recursive.linear_factor, settles=recursive.settles_at_total_iters),
    L.ExponentialLR: _recursive(
        recursive.exponential_factor,
        settles=recursive.settles_unless_gamma,
        ratio_at_zero=recursive.gamma_at_zero,
    ),
    L.PolynomialLR: _recursive(
        recursive.polynomial_factor,
        settles=recursive.settles_at_total_iters,
        ratio_at_zero=recursive.polynomial_at_zero,
    ),
    L.MultiplicativeLR: TorchClass(
        curve=recursive.multiplicative_curve,
        multiplier=recursive.multiplicative_factor,
        clock=state.steps_taken,
        continues_at_milestone=True,
        ratio_at_zero=recursive.lambda_at_zero,
    ),
    L.CosineAnnealingLR: TorchClass(
        curve=recursive.cosine_curve,
        multiplier=recursive.cosine_factor,
        clock=state.steps_taken,
        refuse_in_chain=recursive.cosine_in_chain,
        restarts_chain_after=recursive.t_max,
        ratio_at_zero=None,
    ),
    # Overwriting: the lr from scratch on every step, so no multiplier: they cannot be chained.
    L.LambdaLR: TorchClass(curve=overwriting.lambda_curve, clock=state.steps_taken),
    L.CosineAnnealingWarmRestarts: TorchClass(
        curve=overwriting.restarts_curve,
        clock=state.restarts_never_stepped,
        check_in_sequence=state.check_restarts_resume,
    ),
    L.CyclicLR: TorchClass(
        curve=overwriting.cyclic_curve,
        absolute=True,
        clock=state.steps_taken,
        momentum=overwriting.cyclic_momentum,
        refuse_in_sequence=overwriting.refuse_cycled_momentum,
    ),
    L.OneCycleLR: TorchClass(
        curve=overwriting.one_cycle_curve,
        absolute=True,
        clock=state.steps_taken,
        lr_check=LrCheck.AT_START,
        momentum=overwriting.one_cycle_momentum_of,
        refuse_in_sequence=overwriting.refuse_cycled_momentum,
    ),
    SWALR: TorchClass(
        curve=overwriting.swalr_curve,
        starts=state.lrs_before_annealing,
        clock=state.steps_counted,
        lr_check=LrCheck.NEVER,
        refuse_in_sequence=overwriting.refuse_swalr_in_sequence,
        # Stepped once more by a SequentialLR it opens (in a chain), it anneals one step further.
        ratio_at_zero=None,
    ),
    L.ReduceLROnPlateau: TorchClass(
        curve=overwriting.plateau_curve,
        starts=state.current_lrs,
        clock=state.plateau_never_stepped,
        lr_check=LrCheck.NEVER,
    ),
    # Composite: their pieces convert by their own entries.
    L.SequentialLR: TorchClass(
        curve=compose.sequential_curve,
        multiplier=compose.relative_part(compose.sequential_curve),
        clock=compose.sequential_clock,
        refuse_in_sequence=compose.refuse_nested,
        children=compose.nested_schedulers,
        ratio_at_zero=None,
    ),
    L.ChainedScheduler: TorchClass(
        curve=compose.chained_curve,
        multiplier=compose.relative_part(compose.chained_curve),
        clock=compose.chained_clock,
        refuse_in_sequence=compose.refuse_chain_at_milestone,
        children=compose.nested_schedulers,
    ),
}

register(CLASSES)
