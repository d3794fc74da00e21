"""One place tells the array libraries apart (``backends.library``): NumPy, torch and JAX each
take a branch of their own, and an array of any other library is refused by name where it is
evaluated, never run through code written for torch or JAX."""

from __future__ import annotations

import re
import types
import warnings
from typing import Any

import numpy as np
import pytest

import schedalg as sa
from schedalg.curves.integers import to_integers
from schedalg.engine import backends

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
xs = pytest.importorskip("array_api_strict")
compat_numpy = pytest.importorskip("array_api_compat.numpy")
compat_torch = pytest.importorskip("array_api_compat.torch")

N = 64


def _affine(end: float) -> sa.Schedule:
    return sa.affine_steps(
        sa.constant(0.5),
        sa.constant(0.9),
        targets=[sa.constant(0.1), sa.constant(0.0)],
        every=[3, 5],
        begins=[0, 2],
        ends=[12, end],
    )


# Every node that branches on the array library, and a few that do not. The values involve no
# transcendental function on an array (torch's cos is not NumPy's): equal bit for bit on torch.
NODES = {
    "warmup": sa.warmup(sa.linear(1.0, 0.1, 40), 10),
    "rounded": sa.rounded(sa.linear(8, 64, 40), multiple_of=8),
    "batch_ramp": sa.batch_ramp(32, 32, 3200, 1024),
    "consumed, runs": sa.consumed(16 * sa.batch_ramp(2, 2, 40, 8)),
    "consumed, prefix sum": sa.consumed(sa.rounded(90 * sa.linear(1.0, 0.0, 10) + 10)),
    "affine_steps": _affine(40),
    "affine_steps, unbounded": _affine(sa.inf),
    "noise": sa.noise(sa.linear(1.0, 0.5, 100), begin=3, seed=3),
    "from_fn": sa.from_fn(lambda t: 2 * t + 1),
}
INTEGER = {"rounded", "batch_ramp", "consumed, runs", "consumed, prefix sum"}
# Refused under jax.jit (a table or draws built in NumPy from the step's value).
UNTRACEABLE = {"consumed, prefix sum", "affine_steps, unbounded", "noise", "from_fn"}


class CupyLike:
    """An array of a library schedalg has no branch for, found through ``__array_namespace__``
    (as cupy's or dask's arrays are, by array-api-compat)."""

    shape = (3,)
    dtype = "float64"

    def __array_namespace__(self, api_version: str | None = None) -> types.ModuleType:
        return types.ModuleType("cupy")


# -- the library of a namespace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("xp", "name"),
    [
        (backends.SCALAR, "scalar"),
        (np, "numpy"),
        (compat_numpy, "numpy"),
        (torch, "torch"),
        (compat_torch, "torch"),
        (jnp, "jax"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_the_library_of_each_supported_namespace(xp: Any, name: str) -> None:
    assert backends.library(xp) == name


def test_the_library_of_each_supported_array() -> None:
    assert backends.array_library(np.arange(3)) == "numpy"
    assert backends.array_library(torch.arange(3)) == "torch"
    assert backends.array_library(jnp.arange(3)) == "jax"
    seen = []

    def record(t: Any) -> Any:
        seen.append(backends.array_library(t))
        return t

    jax.jit(record)(jnp.arange(3))  # a tracer
    assert seen == ["jax"]


@pytest.mark.parametrize(
    ("xp", "name"),
    [
        (xs, "array_api_strict"),
        (types.ModuleType("array_api_compat.dask.array"), "dask.array"),  # the compat wrapper
        (types.ModuleType("cupy"), "cupy"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_another_namespace_is_refused_by_name(xp: Any, name: str) -> None:
    words = f"schedalg evaluates on NumPy, torch and JAX arrays, got an array of {name}"
    with pytest.raises(TypeError, match=f"^{re.escape(words)}$"):
        backends.library(xp)


# -- refused where it is evaluated -------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda: xs.arange(6), "array_api_strict (Array)"),
        (lambda: xs.asarray([0.0, 1.5, 3.0]), "array_api_strict (Array)"),
        (CupyLike, "cupy (CupyLike)"),
    ],
    ids=["strict int64", "strict float64", "cupy-like"],
)
@pytest.mark.parametrize("node", NODES)
def test_an_array_of_another_library_is_refused_by_name(node: str, make: Any, shown: str) -> None:
    words = (
        f"schedule steps must be a number or a NumPy, torch or JAX array, got an array of {shown}"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(words)}$"):
        NODES[node](make())


@pytest.mark.parametrize(
    "node",
    [
        "batch_ramp",
        "consumed, runs",
        "consumed, prefix sum",
        "affine_steps",
        "affine_steps, unbounded",
        "noise",
    ],
)
def test_a_node_refuses_another_library_rather_than_run_torch_code(node: str) -> None:
    """Past the entry point too: a node's own branches name the library they were handed."""
    steps = xs.asarray([0.0, 1.0, 5.0, 30.0])
    words = "schedalg evaluates on NumPy, torch and JAX arrays, got an array of array_api_strict"
    with pytest.raises(TypeError, match=f"^{re.escape(words)}$"):
        NODES[node]._array(steps, xs)


def test_python_functions_and_integer_results_refuse_another_library() -> None:
    words = "got an array of array_api_strict"
    with pytest.raises(TypeError, match=words):
        sa.from_fn(lambda t: 2 * t, vectorized=False)._array(xs.asarray([1.0, 2.0]), xs)
    with pytest.raises(TypeError, match=words):
        to_integers(xs.asarray([1.0, 2.0]))


# -- the supported libraries give the values they gave -----------------------------------------


def _assert_values(got: Any, node: str, rtol: float = 0.0, atol: float = 0.0) -> None:
    want = NODES[node].curve(N)
    values = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got)
    if node in INTEGER:
        assert np.issubdtype(values.dtype, np.integer), values.dtype
        assert values.tolist() == want.tolist()
    else:
        np.testing.assert_allclose(values, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("node", NODES)
def test_numpy_and_torch_give_the_curve(node: str) -> None:
    s = NODES[node]
    _assert_values(s(np.arange(N)), node)
    _assert_values(s(torch.arange(N)), node)  # a CPU tensor: evaluated as NumPy
    # Steps that need a gradient keep torch's own path: the torch branch of every node.
    own = s(torch.arange(N, dtype=torch.float64, requires_grad=True))
    _assert_values(own, node)


@pytest.mark.parametrize("node", NODES)
def test_jax_gives_the_curve_eagerly_and_under_jit(node: str) -> None:
    s = NODES[node]
    traceable = node not in UNTRACEABLE
    # float32: the tolerance of tests/test_recurrence.py; float64 (x64): of tests/test_jax.py.
    got = s(jnp.arange(N))
    assert got.dtype in (jnp.float32, jnp.int32)
    _assert_values(got, node, rtol=1e-6)
    if traceable:
        _assert_values(jax.jit(lambda t: s(t))(jnp.arange(N)), node, rtol=1e-6)
    with jax.enable_x64(True):
        _assert_values(s(jnp.arange(N)), node, rtol=1e-12, atol=1e-14)
        if traceable:
            _assert_values(jax.jit(lambda t: s(t))(jnp.arange(N)), node, rtol=1e-12, atol=1e-14)


def test_torch_compile_traces_the_library_test_without_a_warning() -> None:
    """array-api-compat keeps its namespace tests under an lru_cache, which dynamo warns of in
    every graph: ``library`` calls the functions beneath it."""
    s = NODES["batch_ramp"] * NODES["warmup"]
    torch._dynamo.reset()
    compiled = torch.compile(lambda t: s(t), fullgraph=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = compiled(torch.arange(N))
    np.testing.assert_array_equal(got.numpy(), s.curve(N))
    assert not [w for w in caught if "lru_cache" in str(w.message)]
