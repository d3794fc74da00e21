"""Branching with a checked prefix: the adapter resumes onto a different schedule that agrees
with the saved one on every step already taken, and refuses one that rewrites them."""

import io

import pytest
import torch

import schedalg as sa
from schedalg import constant, cosine, linear, sequence, total, warmup
from schedalg.torch import Scheduler

WSD = sa.warmup_stable_decay(1000, 8000, 1000)  # HF's warm-stable-decay, 10,000 steps
STABLE = warmup(constant(1.0), 1000)
BRANCH = sequence(STABLE, linear(1.0, 0.0, 1000), at=[6000])  # a cooldown branched at 6,000


def _optimizer(lr=0.1, groups=1):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def _saved(scheduler):
    """The state as a checkpoint file gives it back (``weights_only``)."""
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _run(schedule, steps, **keys):
    scheduler = Scheduler(_optimizer(), lr=schedule, **keys)
    for _ in range(steps):
        scheduler.step()
    return scheduler


def _lrs(scheduler, steps):
    """The lr torch's optimizer holds at each of the next ``steps`` steps."""
    seen = []
    for _ in range(steps):
        seen.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return seen


def test_a_wsd_run_saved_at_5000_follows_a_cooldown_branched_at_6000():
    state = _saved(_run(WSD, 5000))
    assert state["entries"][0]["schedule"] == sa.to_dict(WSD)
    resumed = Scheduler(_optimizer(), lr=BRANCH)
    resumed.load_state_dict(state)
    assert resumed.last_epoch == 5000
    fresh = _run(BRANCH, 5000)  # the branch run from step 0, never interrupted
    after = _lrs(resumed, 2000)
    assert after == _lrs(fresh, 2000)
    assert after == [0.1 * BRANCH(t) for t in range(5000, 7000)]
    # the cooldown starts at 6,000 (the saved run would have held 0.1 until 9,000)
    assert after[1000] == 0.1 and after[1001] < 0.1 == 0.1 * WSD(6001)
    assert resumed.schedules["lr"][0] == BRANCH


def test_a_schedule_that_differs_at_step_1001_is_refused_with_both_values():
    state = _saved(_run(WSD, 5000))
    rewritten = sequence(STABLE, constant(0.5), at=[1001])
    resumed = Scheduler(_optimizer(), lr=rewritten)
    with pytest.raises(ValueError) as caught:
        resumed.load_state_dict(state)
    message = str(caught.value)
    assert "lr of group 0" in message
    assert "at step 1001 the checkpoint's schedule gave 1.0 and the new one gives 0.5" in message
    assert repr(WSD) in message and repr(rewritten) in message and "strict=False" in message
    resumed.load_state_dict(state, strict=False)  # the explicit override still loads
    assert resumed.last_epoch == 5000 and resumed.optimizer.param_groups[0]["lr"] == 0.05


def test_a_changed_horizon_is_caught_the_same_way():
    written = warmup(cosine(total - 1000), 1000)
    state = _saved(_run(written.bind(total=10_000), 5000))
    longer = Scheduler(_optimizer(), lr=written.bind(total=12_000))
    with pytest.raises(ValueError, match=r"at step 1001 the checkpoint's schedule gave"):
        longer.load_state_dict(state)


def test_an_extended_run_resumes_when_the_steps_taken_agree():
    written = sequence(STABLE, linear(1.0, 0.0, 2000), at=[total - 2000])
    state = _saved(_run(written.bind(total=10_000), 5000))
    extended = written.bind(total=20_000)
    resumed = Scheduler(_optimizer(), lr=extended)
    resumed.load_state_dict(state)
    assert _lrs(resumed, 3) == [0.1 * extended(t) for t in range(5000, 5003)]


def test_the_parameter_and_group_are_named():
    opt = _optimizer(groups=2)
    first = Scheduler(opt, lr=WSD, momentum=[None, constant(1.0)])
    for _ in range(300):
        first.step()
    state = _saved(first)
    other = Scheduler(
        _optimizer(groups=2),
        lr=WSD,
        momentum=[None, sequence(constant(1.0), constant(0.9), at=[200])],
    )
    with pytest.raises(
        ValueError, match=r"momentum of group 1: .*at step 200 .* gave 1\.0 .* 0\.9"
    ):
        other.load_state_dict(state)


def test_an_old_checkpoint_keeps_the_fingerprint_check():
    state = _saved(_run(WSD, 5000))
    for entry in state["entries"]:
        del entry["schedule"]  # as saved before schedules were stored
    with pytest.raises(ValueError, match="saved by fingerprint only"):
        Scheduler(_optimizer(), lr=BRANCH).load_state_dict(state)
    same = Scheduler(_optimizer(), lr=WSD)
    same.load_state_dict(state)
    assert same.last_epoch == 5000


def test_a_function_node_is_saved_by_fingerprint_only():
    def halve(t):
        return 0.5

    state = _saved(_run(sa.from_fn(halve), 10))
    assert state["entries"][0]["schedule"] is None
    with pytest.raises(ValueError, match="saved by fingerprint only"):
        Scheduler(_optimizer(), lr=constant(0.5)).load_state_dict(state)


def test_a_changed_plateau_schedule_is_refused():
    state = _saved(_run(cosine(100) * sa.plateau(), 10))
    with pytest.raises(ValueError, match="plateau node's past values depend on the metrics"):
        Scheduler(_optimizer(), lr=cosine(200) * sa.plateau()).load_state_dict(state)


def test_a_long_prefix_is_checked_in_blocks():
    run = Scheduler(_optimizer(), lr=cosine(10**8))
    run.step(epoch=10**7)
    resumed = Scheduler(_optimizer(), lr=sequence(cosine(10**8), constant(0.0), at=[10**7 + 5]))
    resumed.load_state_dict(_saved(run))
    assert resumed.last_epoch == 10**7
    other = Scheduler(_optimizer(), lr=sequence(cosine(10**8), constant(0.0), at=[10**7 - 5]))
    with pytest.raises(ValueError, match=f"at step {10**7 - 5} "):
        other.load_state_dict(_saved(run))
