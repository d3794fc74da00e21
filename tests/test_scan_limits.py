"""Every node that scans (one Python step per step or update, kept in a table) either gives the
value a plain Python loop gives, bit for bit, or refuses with the limit named: never unbounded
work. The nodes: ``cumulative`` (products of its factor), ``consumed`` kept as a prefix sum,
``affine_steps`` (updates). One limit for all, ``schedalg.curves.recurrence.MAX_SCAN``; the
property tests lower it to a few hundred so that both sides of it are cheap to reach, and ask
for steps in random order, one at a time and as arrays, so that every way a table grows is
compared with the loop.
"""

from __future__ import annotations

import contextlib
import math
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedalg import Schedule, affine_steps, constant, consumed, cosine, cumulative, linear, rounded
from schedalg.curves import recurrence

LIMIT = recurrence.MAX_SCAN


@contextlib.contextmanager
def lowered(limit: int, piece: int | None = None) -> Iterator[None]:
    """``MAX_SCAN`` lowered to ``limit`` (and the affine scan's pieces to ``piece`` updates)."""
    saved = recurrence.MAX_SCAN, recurrence._PIECE
    recurrence.MAX_SCAN = limit
    recurrence._PIECE = saved[1] if piece is None else piece
    try:
        yield
    finally:
        recurrence.MAX_SCAN, recurrence._PIECE = saved


def factor(k: int) -> float:
    """A factor whose products do not repeat: every step's bits matter."""
    return 1.0 - 1.0 / (k + 7.5) if k % 3 else 1.0 + 1.0 / (k + 2.25)


def same(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)


# -- plain Python loops, the reference --------------------------------------------------------


def products(t: float) -> float:
    value = 1.0
    for k in range(1, math.floor(t) + 1):
        value = value * float(factor(k))
    return value


PER_STEP = rounded(5 * cosine(7, periodic=True) + 6)  # no runs: a prefix sum


def total(t: float) -> float:
    return float(sum(int(PER_STEP(k)) for k in range(math.floor(t))))


def affine_reference(s: affine_steps, t: float) -> float:
    """The value after every update fired at a step ``<= floor(t)``, in the scan's order."""
    fired = []
    for i, (n, b, z) in enumerate(zip(s.every, s.begins, s.ends)):
        g = b
        while g < z and g * n <= math.floor(t):
            fired.append((g * n, i, float(g - b)))
            g += 1
    v = s.start
    for _step, i, u in sorted(fired):
        e, r = s.targets[i](u), s.ratios[i](u)
        v = e + (v - e) * r + (s.offsets[i](u) if s.offsets else 0.0)
    return v


def affine_count(s: affine_steps, t: float) -> int:
    step = math.floor(t)
    return sum(max(0, min(z, step // n + 1) - b) for n, b, z in zip(s.every, s.begins, s.ends))


# -- random scans and requests ------------------------------------------------------------------

ratio_schedules = st.one_of(
    st.floats(0.5, 1.0).map(constant),
    st.builds(linear, st.floats(0.5, 1.0), st.floats(0.5, 1.0), st.integers(1, 40)),
)


@st.composite
def affine_scans(draw: st.DrawFn) -> affine_steps:
    k = draw(st.integers(1, 3))
    every = draw(st.lists(st.integers(1, 5), min_size=k, max_size=k))
    begins = draw(st.lists(st.integers(0, 10), min_size=k, max_size=k))
    ends = [
        draw(st.just(math.inf) | st.integers(b + 1, b + 60)) if i else math.inf
        for i, b in enumerate(begins)
    ]
    ratios = draw(st.lists(ratio_schedules, min_size=k, max_size=k))
    targets = draw(st.lists(st.floats(0.0, 0.1).map(constant), min_size=k, max_size=k))
    offsets = draw(
        st.just([]) | st.lists(st.floats(-0.01, 0.01).map(constant), min_size=k, max_size=k)
    )
    return affine_steps(
        *ratios, targets=targets, every=every, begins=begins, ends=ends, offsets=offsets
    )


# A request: one step (an int or a real), or an array of steps.
requests = st.lists(
    st.integers(0, 900)
    | st.floats(0.0, 900.0)
    | st.lists(st.integers(0, 900), min_size=1, max_size=5).map(np.array),
    min_size=1,
    max_size=5,
)


def check_requests(
    schedule: Schedule,
    asked: list[Any],
    reference: Callable[[float], float],
    needed: Callable[[float], int],
    limit: int,
    name: str,
) -> None:
    """Each request gives the loop's values, or — exactly when its largest step needs more than
    ``limit`` steps of the scan — a one-line refusal naming the node, the step and the limit."""
    for request in asked:
        steps = np.atleast_1d(np.asarray(request, dtype=np.float64))
        largest = float(steps.max())
        if needed(largest) > limit:
            with pytest.raises(ValueError) as caught:
                schedule(request)
            message = str(caught.value)
            assert message.startswith(f"{name}(): step ")
            assert f"more than the {limit} a scan runs" in message
            assert "\n" not in message
            continue
        got = np.atleast_1d(np.asarray(schedule(request), dtype=np.float64))
        for step, value in zip(steps.tolist(), got.tolist()):
            assert same(value, reference(step)), (request, step)


@given(requests, st.integers(20, 600))
def test_cumulative_is_the_loop_or_a_refusal(asked: list[Any], limit: int) -> None:
    with lowered(limit):
        check_requests(cumulative(factor), asked, products, math.floor, limit, "cumulative")


@given(requests, st.integers(20, 600))
def test_consumed_prefix_sum_is_the_loop_or_a_refusal(asked: list[Any], limit: int) -> None:
    with lowered(limit):
        check_requests(consumed(PER_STEP), asked, total, math.floor, limit, "consumed")


@given(affine_scans(), requests, st.integers(20, 600), st.integers(1, 40))
def test_affine_steps_is_the_loop_or_a_refusal(
    s: affine_steps, asked: list[Any], limit: int, piece: int
) -> None:
    bounded = sum(z - b for b, z in zip(s.begins, s.ends) if z != math.inf)
    with lowered(limit, piece):  # tables built in many pieces
        if bounded > limit:
            with pytest.raises(ValueError, match=rf"more than the {limit} a scan runs"):
                rebuilt(s)
            return
        fresh = rebuilt(s)
        check_requests(
            fresh,
            asked,
            lambda t: affine_reference(fresh, t),
            lambda t: affine_count(fresh, t),
            limit,
            "affine_steps",
        )


def rebuilt(s: affine_steps) -> affine_steps:
    """The same node built again (checked against the limit in force, with an empty table)."""
    return affine_steps(
        *s.ratios,
        targets=s.targets,
        every=s.every,
        begins=s.begins,
        ends=s.ends,
        offsets=s.offsets,
        start=s.start,
    )


# -- the real limit: refused at once, whatever the step ------------------------------------------


class Counted:
    """A factor that fails the test if called more often than any refused step should cost."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, k: int) -> float:
        self.calls += 1
        if self.calls > 10_000:
            raise AssertionError(f"factor called {self.calls} times for a step beyond the limit")
        return 0.5


@pytest.mark.parametrize("step", [LIMIT + 1, 10**8, 2**40, 2**52])
def test_steps_beyond_the_limit_are_refused_before_any_work(step: int) -> None:
    counted = Counted()
    for schedule, name in [
        (cumulative(counted), "cumulative"),
        (consumed(PER_STEP), "consumed"),
        (
            affine_steps(
                constant(0.5), targets=[constant(0.0)], every=[1], begins=[0], ends=[math.inf]
            ),
            "affine_steps",
        ),
    ]:
        for request in (step, np.array([0.0, float(step)])):
            with pytest.raises(ValueError, match=rf"^{name}\(\): step .* more than the {LIMIT} "):
                schedule(request)
    assert counted.calls == 0


def test_the_limit_is_one_number_in_one_place() -> None:
    assert LIMIT == 50_000_000
    assert recurrence.MAX_UPDATES == LIMIT
    from schedalg.curves import clocks

    assert clocks.MAX_PREFIX == LIMIT


def _peak_bytes(work: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_scan_keeps_a_few_bytes_a_step() -> None:
    # Tables of float64 (8 bytes a step, 16 an update with its step), grown by doubling and
    # scanned in pieces: not lists of Python floats (32 bytes and more a step).
    n = 200_000
    s = cumulative(factor)
    assert _peak_bytes(lambda: s(n)) < 20 * n
    with lowered(LIMIT, 4096):
        a = affine_steps(constant(0.9999), targets=[constant(0.0)], every=[1], begins=[0], ends=[n])
        assert _peak_bytes(lambda: a(n)) < 40 * n
