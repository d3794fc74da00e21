"""Replays MMEngine's parameter schedulers the way its Runner and ParamSchedulerHook do.

Real ``mmengine.optim.scheduler`` objects on a plain torch optimizer: built in config order with
the Runner's default ``end`` and ``epoch_length`` (so ``convert_to_iter_based`` goes through
MMEngine's own ``build_iter_from_epoch``), then iteration schedulers stepped after every
iteration and epoch schedulers after each epoch's last iteration (once, after the last
iteration, under ``IterBasedTrainLoop``). Records the values each iteration uses.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any


def simulate(
    configs: list[dict[str, Any]] | dict[str, Any],
    *,
    epoch_length: int,
    max_epochs: int | None = None,
    max_iters: int | None = None,
    optimizer: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    metrics: list[float] | None = None,
    optimizer_steps: bool = True,
    iterations: int | None = None,
) -> dict[str, list[float]]:
    """``metrics[e]`` (if given) is the validation loss after epoch ``e``.

    ``optimizer_steps=False`` leaves out the optimizer's own step between the scheduler steps
    (it changes no scheduled value; a long replay spends most of its time there).
    ``iterations`` stops the replay after that many iterations of the run (None: all of them).
    """
    import mmengine.optim.scheduler  # noqa: F401 - registers the schedulers
    import torch
    from mmengine.registry import PARAM_SCHEDULERS

    parameter = torch.nn.Parameter(torch.zeros(1))
    if optimizer == "sgd":
        opt = torch.optim.SGD([parameter], lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(
            [parameter], lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay
        )
    iter_loop = max_iters is not None
    epochs = 1 if iter_loop else max_epochs
    total = max_iters if iter_loop else max_epochs * epoch_length
    if isinstance(configs, dict):
        configs = [configs]
    schedulers = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cfg in copy.deepcopy(list(configs)):
            cfg.setdefault("end", epochs if cfg.get("by_epoch", True) else total)
            schedulers.append(
                PARAM_SCHEDULERS.build(
                    cfg, default_args=dict(optimizer=opt, epoch_length=epoch_length)
                )
            )
        values: dict[str, list[float]] = {"lr": [], "momentum": [], "weight_decay": []}
        for i in range(total if iterations is None else min(total, iterations)):
            group = opt.param_groups[0]
            values["lr"].append(float(group["lr"]))
            values["momentum"].append(
                float(group["momentum"] if optimizer == "sgd" else group["betas"][0])
            )
            values["weight_decay"].append(float(group["weight_decay"]))
            if optimizer_steps:
                opt.step()
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
            if (i == total - 1) if iter_loop else ((i + 1) % epoch_length == 0):
                for s in schedulers:
                    if s.by_epoch:
                        s.step()
                if metrics is not None:
                    loss = {"loss": metrics[i // epoch_length]}
                    for s in schedulers:
                        if s.by_epoch and getattr(s, "need_val_args", False):
                            s.step(loss)
    return values
