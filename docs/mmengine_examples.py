"""The documented examples of MMEngine's scheduler guide, as configs and as pure expressions.

Shared by ``tests/test_mmengine_examples.py`` (each checked against real MMEngine) and
``docs/make_plots.py`` (their plots). Each entry: name, title, the config, the loop, the base
values, and the pure schedalg expression (a multiplier per parameter) it must equal.
"""

from __future__ import annotations

import schedalg as sa

L = 100  # iterations per epoch in the examples

EXAMPLES = [
    dict(
        name="multistep_by_epoch",
        title="MultiStepLR by epoch, milestones [8, 11]",
        config=[dict(type="MultiStepLR", by_epoch=True, milestones=[8, 11], gamma=0.1)],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"lr": sa.per_epoch(sa.multistep([8, 11], 0.1), L)},
    ),
    dict(
        name="multistep_by_iter",
        title="MultiStepLR by iteration, milestones [600, 800]",
        config=[
            dict(type="MultiStepLR", by_epoch=False, milestones=[600, 800], gamma=0.1, begin=0)
        ],
        loop=dict(epoch_length=L, max_iters=1000),
        expected={"lr": sa.multistep([600, 800], 0.1)},
    ),
    dict(
        name="multistep_convert",
        title="MultiStepLR [8, 11] epochs, convert_to_iter_based (build_iter_from_epoch)",
        config=[
            dict(
                type="MultiStepLR",
                by_epoch=True,
                milestones=[8, 11],
                gamma=0.1,
                convert_to_iter_based=True,
            )
        ],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"lr": sa.multistep([800, 1100], 0.1)},
    ),
    dict(
        name="cosine_by_epoch",
        title="CosineAnnealingLR by epoch, T_max=12",
        config=[dict(type="CosineAnnealingLR", by_epoch=True, T_max=12)],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"lr": sa.per_epoch(sa.clip(sa.cosine(12), 0, 12), L)},
    ),
    dict(
        name="cosine_convert",
        title="CosineAnnealingLR T_max=12 epochs, convert_to_iter_based",
        config=[
            dict(type="CosineAnnealingLR", by_epoch=True, T_max=12, convert_to_iter_based=True)
        ],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"lr": sa.clip(sa.cosine(1200), 0, 1200)},
    ),
    dict(
        name="warmup50_multistep",
        title="linear warm-up 50 iterations + MultiStepLR [8, 11] by epoch",
        config=[
            dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=50),
            dict(type="MultiStepLR", by_epoch=True, milestones=[8, 11], gamma=0.1),
        ],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"lr": sa.linear(0.001, 1.0, 49) * sa.per_epoch(sa.multistep([8, 11], 0.1), L)},
    ),
    dict(
        name="warmup100_cosine",
        title="linear warm-up 100 iterations + CosineAnnealingLR on [100, 900)",
        config=[
            dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=100),
            dict(type="CosineAnnealingLR", T_max=800, by_epoch=False, begin=100, end=900),
        ],
        loop=dict(epoch_length=L, max_epochs=10),
        expected={"lr": sa.linear(0.001, 1.0, 99) * sa.clip(sa.cosine(800), 100, 900)},
    ),
    dict(
        name="momentum",
        title="lr and momentum: CosineAnnealingLR + CosineAnnealingMomentum by epoch",
        config=[
            dict(type="CosineAnnealingLR", by_epoch=True, T_max=12),
            dict(type="CosineAnnealingMomentum", by_epoch=True, T_max=12),
        ],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={
            "lr": sa.per_epoch(sa.clip(sa.cosine(12), 0, 12), L),
            "momentum": sa.per_epoch(sa.clip(sa.cosine(12), 0, 12), L),
        },
    ),
    dict(
        name="weight_decay",
        title="weight_decay via LinearParamScheduler by epoch",
        config=[
            dict(
                type="LinearParamScheduler",
                param_name="weight_decay",
                start_factor=1.0,
                end_factor=0.1,
                by_epoch=True,
                begin=0,
                end=12,
            )
        ],
        loop=dict(epoch_length=L, max_epochs=12),
        expected={"weight_decay": sa.per_epoch(sa.linear(1.0, 0.1, 11), L)},
    ),
]

# GradualWarmupScheduler (ildoonet/pytorch-gradual-warmup-lr) with multiplier m: the lr rises
# geometrically from base to m * base over the warm-up, then a cosine takes it to eta_min.
# As a multiplier of the *peak* lr (base * m): start 1/m, exponential warm-up of 5 epochs,
# cosine over the remaining 95 epochs down to 1e-3 of the peak, updated every iteration.
GRADUAL_WARMUP = sa.warmup(sa.cosine(95 * L, end=1e-3), 5 * L, start=1 / 8, shape="exponential")
