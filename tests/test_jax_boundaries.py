"""Step boundaries under ``jax.jit``: a node that divides the step by a length to find a
boundary (``stretch``, ``per_epoch(smooth=True)``, ``cyclic``'s cycle; ``per_epoch`` and
``repeat`` floor-divide) fires at the step NumPy and one step at a time fire, in x64 at every
step up to 2**52 and in float32 up to 2**24 (integer lengths; less for fractional ones), with the
values of ``docs/jax.md``.

XLA rewrites ``t / k`` as ``t * (1 / k)``, which rounds twice: ``49 / 49`` becomes
``0.9999999999999999`` and ``stretch(step_decay(1, 0.5), 49)`` gave 1.0 at step 49. The probes
below sit at, just before and just after random boundaries, far out too, and every path is
compared with the NumPy array path, the NumPy curve and the one-step path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import schedalg as sa  # noqa: E402
from schedalg import Schedule  # noqa: E402

# The precision docs/jax.md states, measured here. x64: the boundary nodes give NumPy's values to
# an ulp or two (XLA contracts a multiply and an add into one fused operation); a step on the
# wrong side of a boundary is off by the whole jump (a factor gamma <= 0.95 here). float32: one
# float32 rounding of each parameter and operation.
RTOL64 = 1e-15
RTOL32 = 4e-6  # gamma rounded to float32, raised to up to 40
TOP64 = 2**52  # x64: every integer step is exact, and so is t / k rounded once
TOP32 = 2**24  # float32: integer steps are exact up to here

gammas = st.floats(0.2, 0.95)  # 0.2 ** 40 stays a normal float32
lengths = st.integers(1, 1000) | st.sampled_from([3, 7, 10, 49, 100, 1_000_003])
# Non-integer lengths: dyadic ones, and others (float32 rounds those: other boundaries).
dyadic = st.sampled_from([2.5, 0.75, 12.5])
factors = lengths | dyadic | st.sampled_from([0.3, 1.1, 3.3])


def around(boundaries: list[float], top: int) -> np.ndarray:
    """The integer steps at, before and after each boundary, within ``[0, top]``."""
    steps = set()
    for b in boundaries:
        for step in (math.floor(b) - 1, math.floor(b), math.ceil(b), math.ceil(b) + 1):
            if 0 <= step <= top:
                steps.add(step)
    return np.array(sorted(steps), dtype=np.float64)


@st.composite
def boundary_cases(draw: st.DrawFn, top: int = TOP64) -> tuple[Schedule, np.ndarray]:
    """A node finding boundaries by dividing the step, and steps around its boundaries (the
    boundaries anywhere up to ``top``)."""
    kind = draw(
        st.sampled_from(["stretch", "stretch decay", "smooth epochs", "epochs", "repeat", "cyclic"])
    )
    gamma = draw(gammas)
    if kind == "cyclic":
        up = draw(lengths | st.sampled_from([2.5, 0.75, 7.25]))
        down = draw(st.none() | lengths)
        mode = draw(st.sampled_from(["triangular", "triangular2"]))
        s: Schedule = sa.cyclic(0.1, 1.0, up, down, mode=mode)
        total = float(up) + float(up if down is None else down)
        cycles = draw(st.lists(st.integers(0, int(top // total)), min_size=1, max_size=4))
        starts = [c * total for c in cycles]
        return s, around([*starts, *(b + float(up) for b in starts)], top)
    k = draw((factors if top > TOP32 else lengths | dyadic) if kind == "stretch" else lengths)
    if top <= TOP32:
        # float32 rounds t / k to 24 bits: for k = p / 2**e the quotient's fractions are
        # multiples of 1 / p, told apart from the next integer below 2**(24 - e) only.
        top //= float(k).as_integer_ratio()[1]
    if kind == "stretch decay":
        # A staircase of a few steps, each as long as it takes to reach far steps.
        size = draw(st.integers(1, max(1, int(top // (k * 40)))))
        s = sa.stretch(sa.step_decay(size, gamma), k)
        return s, around([m * size * k for m in range(1, 41, draw(st.integers(1, 13)))], top)
    milestone = draw(st.integers(1, max(1, int(top // k) - 1)))
    inner = sa.multistep([milestone, milestone + draw(st.integers(1, 3))], gamma)
    s = {
        "stretch": lambda: sa.stretch(inner, k),
        "smooth epochs": lambda: sa.per_epoch(inner, k, smooth=True),
        "epochs": lambda: sa.per_epoch(inner, k),
        "repeat": lambda: sa.repeat(sa.step_decay(max(1, k // 20), gamma), k),
    }[kind]()
    if kind == "repeat":
        return s, around([milestone * k + j for j in range(3)], top)
    return s, around([m * k for m in inner.milestones], top)


def numpy_paths(s: Schedule, steps: np.ndarray) -> np.ndarray:
    """The NumPy array path, after checking it against the curve and the one-step path."""
    values = s(steps)
    for step, value in zip(steps.tolist(), values.tolist()):
        assert s(int(step)) == value, step
        assert s.curve(int(step), int(step) + 1)[0] == value, step
    return values


@given(boundary_cases())
def test_x64_under_jit_fires_every_boundary_at_numpys_step(case: tuple[Schedule, Any]) -> None:
    s, steps = case
    reference = numpy_paths(s, steps)
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(lambda t: s(t))(jnp.asarray(steps)))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference, rtol=RTOL64, atol=0, err_msg=repr(s))


@given(boundary_cases(top=TOP32 - 1))
def test_float32_under_jit_fires_every_boundary_at_numpys_step(case: tuple[Schedule, Any]) -> None:
    s, steps = case
    if isinstance(s, sa.cyclic):
        # Between cycle starts, cyclic's phase t / total carries float32's rounding of
        # t / total, growing with t (docs/jax.md); at a start it is exact.
        steps = steps[np.fmod(steps, s._total) == 0]
    reference = numpy_paths(s, steps)
    got = np.asarray(jax.jit(lambda t: s(t))(jnp.asarray(steps, dtype=jnp.float32)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference, rtol=RTOL32, atol=0, err_msg=repr(s))


@pytest.mark.parametrize(
    "s",
    [
        sa.stretch(sa.step_decay(1, 0.5), 49),
        sa.per_epoch(sa.step_decay(1, 0.5), 49, smooth=True),
        sa.stretch(sa.multistep([1, 3], 0.5), 49),
    ],
    ids=["stretch", "smooth epochs", "stretch multistep"],
)
def test_the_examples_of_the_issue(s: Schedule) -> None:
    with jax.enable_x64(True):
        got = float(jax.jit(lambda t: s(t))(jnp.asarray(49.0)))
    assert got == s(49) == 0.5


def test_cyclic_does_not_drift_over_a_million_steps() -> None:
    # It drifted to 1.7e-10 from the NumPy curve within 10**6 steps, 1.2e-11 within 10**5.
    s = sa.cyclic(0.1, 1.0, 5)
    n = 10**6
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(lambda t: s(t))(jnp.arange(n, dtype=jnp.float64)))
    reference = s.curve(n)
    assert np.max(np.abs(got - reference) / reference) <= RTOL64
    starts = np.arange(0, n, 10)
    assert (got[starts] == 0.1).all()
