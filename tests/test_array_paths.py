"""``s(array)`` through the curve and CPU torch tensors through NumPy (``schedalg.engine.steps``).

The fast paths must give the array path's values bit for bit, with its dtype, shape and errors:
every comparison here is against the array path called directly
(``backends.evaluate_numpy(s._array, t)``, ``backends.evaluate_foreign(s._array, t)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedalg as sa
from schedalg.engine import backends, fills
from schedalg.engine import steps as _steps
from tests.strategies import expressions

torch = pytest.importorskip("torch")

KINDS = ("arange", "shuffled", "repeats", "stride 2", "stride 3", "2-D", "0-d", "reversed")
DTYPES = (np.int64, np.int32, np.uint8, np.int16, np.uint16, np.uint64)


def plain(s: sa.Schedule, t: np.ndarray) -> np.ndarray:
    return backends.evaluate_numpy(s._array, t)


def torch_path(s: sa.Schedule, t: Any) -> Any:
    return backends.evaluate_foreign(s._array, t)


def assert_same_bits(got: Any, want: Any) -> None:
    """Equal dtype and shape, NaN where the other has NaN, every other value bit for bit."""
    assert got.dtype == want.dtype and got.shape == want.shape
    got, want = np.asarray(got), np.asarray(want)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint64), want[~nan].view(np.uint64))


def steps_of(kind: str, dtype: Any, start: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.arange(start, start + n)
    arrays = {
        "arange": base,
        "shuffled": rng.permutation(base),
        "repeats": rng.choice(base, size=2 * n),
        "stride 2": base[::2],
        "stride 3": np.arange(start, start + 3 * n, 3),  # too sparse: the array path
        "2-D": np.repeat(base, 2).reshape(-1, 2) if n > 1 else base.reshape(1, 1),
        "0-d": np.array(start),
        "reversed": base[::-1],
    }
    return arrays[kind].astype(dtype)


@st.composite
def step_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(DTYPES))
    kind = draw(st.sampled_from(KINDS))
    top = 80 if dtype == np.uint8 else 1500  # every step fits the dtype, strided too
    start = draw(st.integers(0, top))
    return steps_of(kind, dtype, start, draw(st.integers(1, 80)), draw(st.integers(0, 99)))


@settings(max_examples=60)
@given(expressions(1, 3, serializable=False), step_arrays())
def test_numpy_integer_steps_give_the_array_path_bit_for_bit(s: sa.Schedule, t: np.ndarray) -> None:
    with np.errstate(all="ignore"):
        assert_same_bits(s(t), plain(s, t))


@settings(max_examples=25)
@given(expressions(1, 2, serializable=False), st.integers(0, 3000), st.sampled_from([1, 5, 64]))
def test_long_ranges_across_blocks(s: sa.Schedule, start: int, block: int) -> None:
    t = np.arange(start, start + 700).reshape(7, 100)
    original = backends.BLOCK
    backends.BLOCK = block  # the curve's blocks meet the asked steps at arbitrary offsets
    try:
        with np.errstate(all="ignore"):
            got = s(t)
    finally:
        backends.BLOCK = original
    with np.errstate(all="ignore"):
        assert_same_bits(got, plain(s, t))


@settings(max_examples=30)
@given(
    expressions(1, 2, serializable=False),
    step_arrays(),
    st.sampled_from(["same", "float64", "float32", "float16"]),
)
def test_cpu_tensors_give_the_numpy_values(s: sa.Schedule, t: np.ndarray, dtype: str) -> None:
    steps = t if dtype == "same" else t.astype(dtype)
    tensor = torch.from_numpy(steps)
    python = _steps.runs_python(s)  # then torch's own path: the function is given tensors
    with np.errstate(all="ignore"):
        got = s(tensor)
        want = torch_path(s, tensor) if python else plain(s, steps)
    assert isinstance(got, torch.Tensor) and got.device.type == "cpu"
    assert got.dtype == torch.float64 and got.shape == tensor.shape
    assert_same_bits(got.numpy(), np.asarray(want))
    if not python:
        assert_same_bits(got.numpy(), s(steps))


def test_the_curve_is_used_and_only_over_the_range_asked(monkeypatch: Any) -> None:
    ranges = []
    fill = fills.fill_curve

    def recorded(*args: Any) -> np.ndarray:
        ranges.append(args[1:3])
        return fill(*args)

    monkeypatch.setattr(fills, "fill_curve", recorded)
    s = sa.warmup(sa.cosine(1000), 100)
    s(np.arange(10, 20).reshape(2, 5))
    s(np.array([20, 12, 12, 13, 20, 15]))
    s(torch.arange(40, 50, dtype=torch.int32))
    assert ranges == [(10, 20), (12, 21), (40, 50)]
    s(np.array([0, 5, 10]))  # 11 steps for 3: too sparse, the array path
    s(np.arange(10.0))  # float steps: the array path
    sa.from_fn(lambda t: 0.5 ** (t / 100))(np.arange(10))  # a Python function: the array path
    assert len(ranges) == 3


def test_python_functions_get_the_steps_asked_for_in_their_own_library() -> None:
    seen = []

    def record(t: Any) -> Any:
        seen.append(t)
        return t * 0.5

    s = 2.0 * sa.from_fn(record)
    tensor = torch.arange(3, 6)
    out = s(tensor)
    assert isinstance(seen[-1], torch.Tensor)
    assert seen[-1].tolist() == [3.0, 4.0, 5.0]
    np.testing.assert_array_equal(out.numpy(), [3.0, 4.0, 5.0])
    s(np.array([7, 5, 5, 6]))
    assert isinstance(seen[-1], np.ndarray) and seen[-1].tolist() == [7.0, 5.0, 5.0, 6.0]
    assert _steps.runs_python(sa.cyclic(0.1, 1.0, 10, scale_fn=lambda x: 1 / (1 + x)))
    assert not _steps.runs_python(sa.sequence(sa.cosine(5), sa.linear(1, 0, 5), at=[5]))


def _error(call: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as caught:
        call()
    return type(caught.value), str(caught.value)


NUMPY_BAD = [
    np.array([3, 2, -1, 4]),
    np.arange(-3, 3),
    np.array([5, 2**53 + 1]),
    np.array([1, 2**63 + 5], dtype=np.uint64),
    np.array([True, False]),
    np.array([1 + 1j, 2]),
]


@pytest.mark.parametrize("t", NUMPY_BAD, ids=lambda t: f"{t.dtype}{t.tolist()}")
def test_numpy_refusals_are_unchanged(t: np.ndarray) -> None:
    s = sa.warmup(sa.cosine(100), 10)
    assert _error(lambda: s(t)) == _error(lambda: plain(s, t))


TORCH_BAD = [
    lambda: torch.tensor([3, -1, 4]),
    lambda: torch.arange(-3, 3, dtype=torch.int32),
    lambda: torch.tensor([5, 2**53 + 1]),
    lambda: torch.tensor([1.0, -1.5]),
    lambda: torch.tensor([1.0, float("nan")], dtype=torch.float32),
    lambda: torch.tensor([1.0, float("inf")]),
    lambda: torch.tensor([True, False]),
    lambda: torch.tensor([1 + 1j]),
]


@pytest.mark.parametrize("make", TORCH_BAD)
def test_torch_refusals_are_unchanged(make: Any) -> None:
    s = sa.warmup(sa.cosine(100), 10)
    t = make()
    assert _error(lambda: s(t)) == _error(lambda: torch_path(s, t))


def test_errors_of_nodes_read_the_same() -> None:
    unbounded = sa.affine_steps(
        sa.constant(0.5), targets=[sa.constant(0.0)], every=[1], begins=[0], ends=[sa.inf]
    )
    cases = [
        (sa.cosine(sa.total), np.arange(5)),  # an unbound placeholder
        (sa.plateau() * sa.cosine(10), np.arange(5)),
        (unbounded, np.arange(10**8 - 3, 10**8)),  # the scan's refusal, beyond MAX_UPDATES
    ]
    for s, t in cases:
        assert _error(lambda s=s, t=t: s(t)) == _error(lambda s=s, t=t: plain(s, t))
    np.testing.assert_array_equal(unbounded(np.arange(5, 10)), plain(unbounded, np.arange(5, 10)))


def test_a_step_between_the_asked_ones_that_raises_is_not_evaluated() -> None:
    # Step 9 is the plateau's alone; [8, 10] spans it, but only 8 and 10 are asked for.
    s = sa.sequence(sa.cosine(10), sa.plateau(), sa.cosine(10), at=[9, 10])
    t = np.array([8, 10, 8, 10])
    assert_same_bits(s(t), plain(s, t))
    with pytest.raises(ValueError, match="driven by metrics"):
        s(np.arange(8, 11))


def test_noise_and_integer_nodes() -> None:
    s = sa.noise(sa.cosine(500), begin=20, end=300, seed=3)
    t = np.random.default_rng(0).permutation(400)
    assert_same_bits(s(t), plain(s, t))
    assert_same_bits(s(torch.from_numpy(t)).numpy(), plain(s, t))
    r = sa.rounded(4096 * sa.linear(0.1, 1.0, 1000), multiple_of=64)
    got, want = r(torch.arange(1000)), r(np.arange(1000))
    assert got.dtype == torch.int64 and want.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), want)


def test_tensors_that_keep_torch_s_path() -> None:
    s = sa.warmup(sa.cosine(100), 10)
    steps = torch.arange(20.0, requires_grad=True)
    out = s(steps)
    assert out.requires_grad  # differentiable: torch evaluates it
    out.sum().backward()
    assert steps.grad is not None
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):  # a dispatch mode (make_fx, fake tensors) sees torch's ops
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            calls.append(str(func))
            return func(*args, **(kwargs or {}))

    calls: list[str] = []
    with Recorder():
        s(torch.arange(20))
    assert "aten.cos.default" in calls
    grid = torch.arange(20).reshape(4, 5)  # vmap's wrappers have no NumPy view: torch's path
    ours = _error(lambda: torch.func.vmap(s)(grid))
    assert ours == _error(lambda: torch.func.vmap(lambda t: torch_path(s, t))(grid))
    half = torch.arange(10, dtype=torch.bfloat16)  # no NumPy dtype: torch evaluates it
    np.testing.assert_allclose(s(half).numpy(), s(np.arange(10)), rtol=1e-15)
    empty = s(torch.zeros((0, 3), dtype=torch.int64))
    assert empty.shape == (0, 3) and empty.dtype == torch.float64


@pytest.mark.parametrize(
    "dtype", ["int32", "int16", "uint8", "int64", "uint16", "uint32", "uint64"]
)
def test_integer_tensors_of_every_width_on_torch_s_path(dtype: str) -> None:
    # Comparing an int32 tensor with 2**53 wraps the bound in torch: steps 1, 2, ... were once
    # refused eagerly and NaN under torch.compile. torch has no comparison or reduction for
    # uint16/32/64: their steps are read as int64.
    s = sa.warmup(sa.cosine(100), 10)
    steps = torch.arange(0, 120, 3).to(getattr(torch, dtype))
    want = torch_path(s, torch.arange(0, 120, 3))
    assert_same_bits(torch_path(s, steps).numpy(), want.numpy())
    compiled = torch.compile(lambda t: s(t), backend="eager", fullgraph=True)
    assert_same_bits(compiled(steps).numpy(), want.numpy())


def test_a_uint64_tensor_step_of_2_to_the_63_or_more() -> None:
    s = sa.cosine(100)
    steps = torch.tensor([1, 2**63 + 5], dtype=torch.uint64)
    with pytest.raises(ValueError, match=r"at most 2\*\*53, got 9223372036854775813$"):
        torch_path(s, steps)
    compiled = torch.compile(lambda t: s(t), backend="eager", fullgraph=True)
    values = compiled(steps).numpy()
    assert values[0] == s(1) and np.isnan(values[1])


def test_a_masked_array_is_refused() -> None:
    s = sa.warmup(sa.cosine(100), 10)
    masked = np.ma.array([1, 2, 3], mask=[0, 1, 0])  # a masked step has no value: refused
    with pytest.raises(TypeError, match=r"got a masked array; pass t\.compressed\(\)"):
        s(masked)


def test_a_shift_past_2_to_the_53_gives_the_array_path_whatever_ran_before() -> None:
    # Past 2**53 the array path's float steps round; the curve must not take exact integers
    # there (nor a kept period's copies, which would depend on an earlier curve).
    s = sa.shift(sa.cosine_restarts(7, end=1.563), 5)
    steps = np.arange(2**53 - 2, 2**53 + 1)
    want = plain(s, steps.astype(np.float64))
    fresh = s.curve(2**53 - 2, 2**53 + 1)
    s.curve(0, 100)  # keeps the period
    assert_same_bits(fresh, want)
    assert_same_bits(s.curve(2**53 - 2, 2**53 + 1), want)
    assert_same_bits(s(steps), want)
