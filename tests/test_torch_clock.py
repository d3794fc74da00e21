"""The adapter's external clock, holding on steps a real GradScaler skipped, and schedules bound
late (``Scheduler.bind``), without a trainer."""

from __future__ import annotations

import pytest
import torch

import schedalg as sa
from schedalg.algebra.horizon import UnboundError, total
from schedalg.torch import Scheduler

S = sa.warmup(sa.cosine(20), 5, start=0.1)


def _optimizer() -> torch.optim.Optimizer:
    torch.manual_seed(0)
    return torch.optim.SGD(torch.nn.Linear(3, 1).parameters(), lr=0.1)


def _run_with_skips(scheduler_options: dict, skips: tuple[int, ...], steps: int = 8) -> tuple:
    """A real GradScaler loop; the lr each step used and the steps optimizer.step() ran."""
    optimizer = _optimizer()
    model_params = optimizer.param_groups[0]["params"]
    scheduler = Scheduler(optimizer, lr=S, **scheduler_options)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    ran: list[int] = []
    optimizer.register_step_post_hook(lambda *a: ran.append(len(used) - 1))
    used: list[float] = []
    for step in range(steps):
        x = torch.ones(4, 3) * (float("inf") if step in skips else 1.0)
        optimizer.zero_grad()
        loss = (x @ model_params[0].T + model_params[1]).pow(2).mean()
        scaler.scale(loss).backward()
        used.append(optimizer.param_groups[0]["lr"])
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
    return used, ran, scheduler


def test_hold_skipped_does_not_advance_on_steps_gradscaler_skipped():
    used, ran, scheduler = _run_with_skips({"hold_skipped": True}, skips=(0, 3, 4))
    assert ran == [1, 2, 5, 6, 7]
    assert used == [0.1 * S(t) for t in (0, 0, 1, 2, 2, 2, 3, 4)]
    assert scheduler.state_dict()["skipped"] == 3 and scheduler.last_epoch == 5
    # The default advances on them, as torch's schedulers do.
    used, _, scheduler = _run_with_skips({}, skips=(0, 3, 4))
    assert used == [0.1 * S(t) for t in range(8)]
    assert scheduler.state_dict()["skipped"] == 0


def test_the_skipped_count_survives_a_state_dict_round_trip():
    _, _, saved = _run_with_skips({"hold_skipped": True}, skips=(1, 2), steps=4)
    state = saved.state_dict()
    optimizer = _optimizer()
    resumed = Scheduler(optimizer, lr=S, hold_skipped=True)
    resumed.load_state_dict(state)
    assert resumed.last_epoch == 2 and optimizer.param_groups[0]["lr"] == 0.1 * S(2)
    resumed.step()  # with no optimizer.step() since the load: a skip
    assert resumed.last_epoch == 2 and resumed.state_dict()["skipped"] == 3
    optimizer.step()
    resumed.step()
    assert resumed.last_epoch == 3


def test_the_clock_gives_the_step_and_is_read_at_every_step_and_sync():
    optimizer = _optimizer()
    now = {"step": 7}
    scheduler = Scheduler(optimizer, lr=S, clock=lambda: now["step"])
    assert scheduler.last_epoch == 7 and optimizer.param_groups[0]["lr"] == 0.1 * S(7)
    scheduler.step()  # the clock did not move: nor does the schedule
    assert scheduler.last_epoch == 7
    now["step"] = 12
    scheduler.sync()
    assert optimizer.param_groups[0]["lr"] == 0.1 * S(12)
    scheduler.step(epoch=3)  # an explicit step is taken as it is
    assert optimizer.param_groups[0]["lr"] == 0.1 * S(3)
    scheduler.follow(None)  # back to counting step() calls from here
    scheduler.step()
    assert scheduler.last_epoch == 4


def test_bad_clocks_and_optimizers_are_refused_by_name():
    optimizer = _optimizer()
    with pytest.raises(TypeError, match=r"Scheduler\(\): clock must be a function.*got 5"):
        Scheduler(optimizer, lr=S, clock=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"clock=\.\.\.\): the clock's step must be a non-neg"):
        Scheduler(optimizer, lr=S, clock=lambda: -1)
    with pytest.raises(ValueError, match=r"got 2\.5"):
        Scheduler(optimizer, lr=S, clock=lambda: 2.5)  # type: ignore[arg-type, return-value]

    class Groups:  # param groups, but no optimizer whose step() can be seen
        def __init__(self) -> None:
            self.param_groups = [{"lr": 0.1}]

    with pytest.raises(TypeError, match=r"hold_skipped=True needs a torch.optim.Optimizer.*Groups"):
        Scheduler(Groups(), lr=S, hold_skipped=True)


def test_a_schedule_holding_total_is_applied_from_bind():
    schedule = sa.warmup(sa.cosine(total - 5), 5, start=0.1) * sa.plateau(patience=0)
    optimizer = _optimizer()
    scheduler = Scheduler(optimizer, lr=schedule)
    assert scheduler.placeholders == ("total",) and optimizer.param_groups[0]["lr"] == 0.1
    with pytest.raises(UnboundError, match=r"call scheduler.bind\(total=\.\.\.\) first"):
        scheduler.step()
    with pytest.raises(UnboundError, match=r"placeholder\(s\) total"):
        optimizer.step()  # no update with a value the schedule did not give
    with pytest.raises(ValueError, match=r"no schedule holds the placeholder 'totl'.*'total'"):
        scheduler.bind(totl=25)
    with pytest.raises(ValueError, match=r"bind\(total=3\): cosine\(\): steps must be"):
        scheduler.bind(total=3)
    scheduler.bind(total=25)
    assert scheduler.placeholders == () and scheduler.last_epoch == 0
    assert optimizer.param_groups[0]["lr"] == 0.1 * S(0)
    optimizer.step()  # free once bound
    scheduler.observe(1.0)  # the plateau node, visible once bound, takes metrics
    scheduler.observe(2.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * S(0) * 0.1, rel=1e-15)


def test_an_unbound_scheduler_that_is_gone_no_longer_holds_the_optimizer():
    optimizer = _optimizer()
    Scheduler(optimizer, lr=sa.cosine(total))  # dropped at once
    optimizer.step()


def test_a_checkpoint_loaded_before_bind_is_checked_when_bound():
    planned = sa.warmup(sa.cosine(total - 5), 5, start=0.1)
    saved = Scheduler(_optimizer(), lr=planned.bind(total=25))
    for _ in range(9):
        saved.step()
    state = saved.state_dict()

    optimizer = _optimizer()
    resumed = Scheduler(optimizer, lr=planned)
    resumed.load_state_dict(state)  # kept until bound
    resumed.bind(total=25)
    assert resumed.last_epoch == 9 and optimizer.param_groups[0]["lr"] == 0.1 * S(9)

    longer = Scheduler(_optimizer(), lr=planned)
    longer.load_state_dict(state)
    with pytest.raises(ValueError, match=r"rewrites steps the run already took.*at step 6"):
        longer.bind(total=40)
