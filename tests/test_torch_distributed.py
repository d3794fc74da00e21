"""Two processes under torch.distributed (gloo, 127.0.0.1) train a small DDP model with the
adapter, checkpoint, restart from the checkpoint: every rank applies, at every step, the values
of the single-process curve."""

from __future__ import annotations

import datetime
import json
import math
import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import schedalg as sa
from schedalg.torch import Scheduler

WORLD = 2
FIRST, SECOND = 15, 15
LR, MOMENTUM = 0.1, 0.9


def _schedules():
    return {"lr": sa.warmup(sa.cosine(25), 5, start=0.1), "momentum": sa.linear(1.0, 0.95, 10)}


def _worker(rank: int, port: int, folder: str, phase: int) -> None:
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD,
        timeout=datetime.timedelta(seconds=60),
    )
    try:
        torch.manual_seed(0)
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        sched = Scheduler(opt, **_schedules())
        checkpoint = Path(folder) / "checkpoint.pt"
        if phase == 1:
            steps = range(FIRST)
        else:
            state = torch.load(checkpoint, weights_only=True)
            model.module.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            steps = range(FIRST, FIRST + SECOND)
        applied = []
        for t in steps:
            x = torch.randn(8, 4, generator=torch.Generator().manual_seed(rank * 1000 + t))
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            group = opt.param_groups[0]
            applied.append([t, group["lr"], group["momentum"]])
            opt.step()
            sched.step()
        if phase == 1 and rank == 0:
            torch.save(
                {
                    "model": model.module.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                },
                checkpoint,
            )
        dist.barrier()
        (Path(folder) / f"phase{phase}-rank{rank}.json").write_text(json.dumps(applied))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(folder: str, phase: int, deadline: float = 90.0) -> None:
    context = mp.start_processes(
        _worker,
        args=(_free_port(), folder, phase),
        nprocs=WORLD,
        join=False,
        start_method="spawn",
    )
    stop = time.monotonic() + deadline
    try:
        while not context.join(timeout=1):
            if time.monotonic() > stop:
                pytest.fail(f"distributed phase {phase} did not finish in {deadline} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.terminate()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_every_rank_applies_the_single_process_curve_across_a_restart(tmp_path):
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    _run(str(tmp_path), 1)
    _run(str(tmp_path), 2)
    schedules = _schedules()
    for rank in range(WORLD):
        applied = []
        for phase in (1, 2):
            applied += json.loads((tmp_path / f"phase{phase}-rank{rank}.json").read_text())
        assert [row[0] for row in applied] == list(range(FIRST + SECOND))
        for t, lr, momentum in applied:
            assert lr == LR * schedules["lr"](t), (rank, t)
            assert momentum == MOMENTUM * schedules["momentum"](t), (rank, t)
    assert math.isclose(applied[-1][1], LR * schedules["lr"](FIRST + SECOND - 1))
