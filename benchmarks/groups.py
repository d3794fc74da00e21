"""The adapter's ``step()`` with many param groups (layer-wise lr decay), against torch's own
schedulers stepping the same optimizer, interleaved in one run."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from benchmarks.timing import interleaved, verdict

WARMUP, COSINE, TOTAL = 1_000, 99_000, 100_000


def _groups(n: int, tensor: bool) -> list[dict[str, Any]]:
    import torch

    def lr(i: int) -> Any:
        value = 0.1 * 0.9**i  # layer-wise decay: one base per group
        return torch.tensor(value) if tensor else value

    return [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr(i)} for i in range(n)]


def _adam(n: int) -> Any:
    import torch

    optimizer = torch.optim.Adam(_groups(n, True), lr=torch.tensor(0.1))
    for group in optimizer.param_groups:
        group["betas"] = (torch.tensor(0.9), torch.tensor(0.999))
    return optimizer


def _sgd(n: int) -> Any:
    import torch

    return torch.optim.SGD(_groups(n, False), lr=0.1, momentum=0.9, weight_decay=1e-4)


def _ours_lr(n: int) -> Callable[[], None]:
    import schedalg as sa
    from schedalg.torch import Scheduler

    return Scheduler(_sgd(n), lr=sa.warmup(sa.cosine(COSINE), WARMUP)).step


def _torch_lr(n: int) -> Callable[[], None]:
    from torch.optim import lr_scheduler as lr

    o = _sgd(n)
    pieces = [lr.LinearLR(o, 1e-9, 1.0, WARMUP), lr.CosineAnnealingLR(o, COSINE)]
    return lr.SequentialLR(o, pieces, milestones=[WARMUP]).step


def _ours_three(optimizer: Any, weight_decay: bool) -> Callable[[], None]:
    import schedalg as sa
    from schedalg.torch import Scheduler

    keys: dict[str, Any] = {"lr": sa.one_cycle(TOTAL), "momentum": sa.one_cycle_momentum(TOTAL)}
    if weight_decay:
        keys["weight_decay"] = sa.cosine(TOTAL, end=0.1)
    return Scheduler(optimizer, **keys).step


def _torch_one_cycle(optimizer: Any) -> Callable[[], None]:
    from torch.optim import lr_scheduler as lr

    n = len(optimizer.param_groups)
    return lr.OneCycleLR(optimizer, max_lr=[0.1] * n, total_steps=TOTAL).step


def rows(row: Any, quick: bool) -> list[Any]:
    repeats = 5 if quick else 15
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scheduler.step() before optimizer.step()
        for n, target in ((1, None), (64, 0.35), (256, None)):
            number = max(20, (1_000 if quick else 4_000) // n)
            a, b = interleaved([_ours_lr(n), _torch_lr(n)], repeats, number)
            out.append(_pair(row, f"lr, {n} group{'s' * (n > 1)}", a, b, "SequentialLR", target))
        number = 10 if quick else 40
        a, b = interleaved(
            [_ours_three(_sgd(256), True), _torch_one_cycle(_sgd(256))], repeats, number
        )
        out.append(
            _pair(
                row, "SGD lr+momentum+weight decay, 256 groups", a, b, "OneCycleLR lr+momentum", 0.5
            )
        )
        a, b = interleaved(
            [_ours_three(_adam(256), False), _torch_one_cycle(_adam(256))], repeats, number
        )
        out.append(
            _pair(row, "Adam tensor lr+betas, lr+momentum, 256 groups", a, b, "OneCycleLR", 1.0)
        )
    return [r for pair in out for r in pair]


def _pair(
    row: Any, label: str, ours: float, theirs: float, peer: str, target: float | None
) -> list[Any]:
    ratio = ours / theirs
    return [
        row(
            "#1 adapter step()",
            f"schedalg Scheduler.step(), {label}",
            f"{ours * 1e6:9.3f} us",
            f"{ratio:.2f}x torch's",
            "" if target is None else f"<= {target}x",
            "" if target is None else verdict(ratio <= target),
        ),
        row(
            "#1 adapter step()", f"torch {peer}.step(), {label}", f"{theirs * 1e6:9.3f} us", "1.0x"
        ),
    ]
