"""Differential fuzzing of ``from_keras`` against Keras 3 itself (issue 23, class 10).

Random schedules of every serialisable Keras class (``ExponentialDecay``,
``PiecewiseConstantDecay``, ``PolynomialDecay``, ``InverseTimeDecay``, ``CosineDecay``,
``CosineDecayRestarts``) with every option, fractional lengths included, are built by Keras,
serialised (``keras.optimizers.schedules.serialize``, through JSON) and read by ``from_keras``;
Keras's own ``__call__`` gives the lr at every step of the run, on int32 steps as its optimizer
passes them.

Keras runs in a worker process on its NumPy backend (``KERAS_BACKEND=numpy``; the backend is
fixed per process): its float32 operations as written, with IEEE division. Compiled by XLA (the
JAX backend under ``jit``, or on arrays), Keras divides by a constant ``decay_steps`` as a product
with its float32 reciprocal, and the staircase of ``ExponentialDecay(0.1, 41, 0.5,
staircase=True)`` falls at step 42 instead of 41 (``41 * fl32(1 / 41) < 1``); eagerly, one step
at a time, the JAX backend agrees with the NumPy one. The expressions have the exact quotient.

Keras computes in float32 (its default floatx), the expression in float64: they must agree within
the bound of tests/test_keras.py (``4e-6`` relative plus 16 float32 ulps of the curve's peak)
plus the rounding of Keras's float32 clock ``q = t / length``: half an ulp of ``q``, which a
cosine turns into up to ``pi / 2`` times the peak per unit of ``q`` (and ``rate ** q`` into
``|log rate|`` times the value). Fractional lengths are drawn as ``k / 8``: for those, Keras's
float32 quotient floors where the exact quotient does (for a decimal such as 0.3, float32 puts
``floor(9 / 0.3)`` at 29, float64 at 30: Keras's own float32 artefact,
docs/importers-keras-deepspeed-megatron.md).

A refusal is accepted only where Keras's result depends on something the config does not hold
(a ``PiecewiseConstantDecay`` boundary that float32 and float64 cast to different steps), and
must say so in one line. The examples are fixed (``derandomize``): the ``ci`` and ``dev``
profiles run ``SCALE`` times their ``max_examples`` per test, ``HYPOTHESIS_PROFILE=thorough``
about 33 times more.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
S = keras.optimizers.schedules

import schedalg as sa  # noqa: E402
from schedalg.keras import from_keras  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)
SCALE = 2  # examples per test: this many times the profile's max_examples (Keras compiles each)
MAX_STEPS = 400
# Why from_keras may refuse a schedule Keras runs: Keras's answer depends on its floatx.
REFUSALS = ("depends on keras.config.floatx()",)

length = st.one_of(st.integers(1, 120), st.integers(1, 960).map(lambda k: k / 8))
initial = st.sampled_from([0.1, 1e-3, 2.0])


@st.composite
def schedules(draw: Any) -> tuple[str, dict[str, Any]]:
    """A Keras class and its arguments, around the edges (lengths of 1 step and below, a
    warm-up of a fraction of a step, boundaries below 0, restarts shorter than a step)."""
    kind = draw(
        st.sampled_from(
            [
                "ExponentialDecay",
                "PiecewiseConstantDecay",
                "PolynomialDecay",
                "InverseTimeDecay",
                "CosineDecay",
                "CosineDecayRestarts",
            ]
        )
    )
    if kind == "PiecewiseConstantDecay":
        edge = st.one_of(
            st.integers(-3, 60),
            st.integers(-24, 480).map(lambda k: k / 8),
            st.sampled_from([-0.5, -0.25, -0.999, 4 - 1e-9, 7 + 1e-9]),
        )
        bounds = sorted(draw(st.lists(edge, min_size=1, max_size=4)))
        values = draw(st.lists(st.sampled_from([0.1, 0.05, 1.0, 0.0, 3e-4]), min_size=1))
        values = (values * len(bounds))[: len(bounds) + 1]
        values += [0.5] * (len(bounds) + 1 - len(values))
        return kind, {"boundaries": bounds, "values": values}
    args: dict[str, Any] = {"initial_learning_rate": draw(initial)}
    if kind in ("ExponentialDecay", "InverseTimeDecay"):
        args["decay_steps"] = draw(length)
        rates = [0.5, 0.96, 0.1, 1.0, 0.0] + ([1.5] if kind == "ExponentialDecay" else [2.0])
        args["decay_rate"] = draw(st.sampled_from(rates))
        args["staircase"] = draw(st.booleans())
    elif kind == "PolynomialDecay":
        args["decay_steps"] = draw(length)
        args["end_learning_rate"] = draw(st.sampled_from([1e-4, 0.0, 0.01]))
        args["power"] = draw(st.sampled_from([1.0, 0.5, 2.0, 0.0]))
        args["cycle"] = draw(st.booleans())
    elif kind == "CosineDecay":
        args["decay_steps"] = draw(length)
        args["alpha"] = draw(st.sampled_from([0.0, 0.1]))
        if draw(st.booleans()):
            args["warmup_target"] = draw(st.sampled_from([0.5, 0.01]))
            args["warmup_steps"] = draw(st.one_of(st.integers(0, 30), length))
    else:
        args["first_decay_steps"] = draw(length)
        args["t_mul"] = draw(st.sampled_from([2.0, 1.0, 1.5, 3.0, 1.25]))
        args["m_mul"] = draw(st.sampled_from([1.0, 0.5, 0.9]))
        args["alpha"] = draw(st.sampled_from([0.0, 0.1]))
    return kind, args


def _time_scales(args: dict[str, Any]) -> list[float]:
    names = ("decay_steps", "first_decay_steps", "warmup_steps")
    return [float(args[n]) for n in names if args.get(n)]


def _steps(kind: str, args: dict[str, Any]) -> int:
    if kind == "PiecewiseConstantDecay":
        return int(min(MAX_STEPS, max(args["boundaries"]) + 10))
    return int(min(MAX_STEPS, 4 * sum(_time_scales(args)) + 12))


_WORKER = r"""
import json, sys
import numpy as np
import keras

S = keras.optimizers.schedules
for line in sys.stdin:
    request = json.loads(line)
    try:
        schedule = getattr(S, request["kind"])(**request["args"])
        steps = np.arange(request["steps"], dtype=np.int32)
        try:
            values = np.asarray(schedule(steps), dtype=np.float64).reshape(-1)
            assert values.shape == steps.shape
        except Exception:  # ops.cond takes one step at a time
            values = np.array([float(schedule(t)) for t in steps])
        answer = {"config": S.serialize(schedule), "values": values.tolist()}
    except Exception as error:
        answer = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(answer), flush=True)
"""


@pytest.fixture(scope="module")
def keras_numpy() -> Iterator[Any]:
    """Keras on its NumPy backend in a worker process: ``ask(kind, args, steps)`` gives the
    serialised schedule and its lr at steps 0 .. steps - 1."""
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert worker.stdin is not None and worker.stdout is not None

    def ask(kind: str, args: dict[str, Any], steps: int) -> tuple[dict[str, Any], np.ndarray]:
        request = {"kind": kind, "args": args, "steps": steps}
        worker.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        worker.stdin.flush()  # type: ignore[union-attr]
        answer = json.loads(worker.stdout.readline())  # type: ignore[union-attr]
        assert "error" not in answer, answer["error"]
        return answer["config"], np.array(answer["values"], dtype=np.float64)

    yield ask
    worker.stdin.close()
    worker.wait(timeout=60)


def bound(theirs: np.ndarray, args: dict[str, Any]) -> np.ndarray:
    """tests/test_keras.py's bound plus the float32 rounding of Keras's clock ``t / length``."""
    peak = float(np.max(np.abs(theirs)))
    # the clock Keras divides by its length (a warm-up's t / warmup_steps stays below 1)
    length = args.get("decay_steps", args.get("first_decay_steps", 1.0))
    q = np.arange(theirs.size) / float(length)
    slope = max(math.pi / 2, abs(math.log(args.get("decay_rate") or 1.0)))
    return 4e-6 * np.abs(theirs) + 16 * EPS32 * peak + slope * EPS32 * q * peak


@settings(max_examples=SCALE * settings().max_examples, derandomize=True)
@given(schedules())
# issue 23, class 10: fractional lengths (refused on today's main) ...
@example(("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 12.5, "cycle": False}))
@example(("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 40.5}))
@example(
    (
        "CosineDecay",
        {
            "initial_learning_rate": 0.1,
            "decay_steps": 40,
            "warmup_target": 0.5,
            "warmup_steps": 7.5,
        },
    )
)
@example(("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 2.5}))
@example(
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 2.5, "decay_rate": 0.5, "staircase": True},
    )
)
# ... and a boundary in (-1, 0), which Keras casts to step 0 (values[0] at step 0)
@example(("PiecewiseConstantDecay", {"boundaries": [-0.5, 3.0], "values": [1.0, 0.5, 0.1]}))
def test_random_keras_schedules_match_keras(
    keras_numpy: Any, case: tuple[str, dict[str, Any]]
) -> None:
    kind, args = case
    note(f"{kind}({args})")
    n = _steps(kind, args)
    config, theirs = keras_numpy(kind, args, n)
    try:
        ours = from_keras(json.loads(json.dumps(config)))
    except ValueError as error:
        message = str(error)
        note(message)
        assert "\n" not in message and any(r in message for r in REFUSALS), message
        event("refused: boundary depends on floatx")
        return
    assert from_keras(getattr(S, kind)(**args)) == ours  # the object, on the JAX backend
    assert sa.from_dict(sa.to_dict(ours)) == ours
    limit = bound(theirs, args)
    for got in (ours.curve(n), np.array([ours(t) for t in range(n)])):
        bad = np.flatnonzero(~(np.abs(got - theirs) <= limit))
        assert bad.size == 0, (bad[:5], got[bad[:5]], theirs[bad[:5]])
    event(f"read: {kind}")


def test_the_bound_can_fail(keras_numpy: Any) -> None:
    """A curve one step late misses the bound (the comparison is not vacuous)."""
    args = {"initial_learning_rate": 0.1, "decay_steps": 40.5}
    _, theirs = keras_numpy("CosineDecay", args, 100)
    late = sa.shift(from_keras(S.CosineDecay(**args)), 1).curve(100)
    assert np.any(np.abs(late - theirs) > bound(theirs, args))
