"""Every constructor fed invalid values: the error is raised at construction, is a ValueError or
TypeError, and names the function, the parameter and the value."""

import math
import re

import numpy as np
import pytest

import schedalg as sa

nan, inf = math.nan, math.inf
S = sa.cosine(10)

# (callable, kwargs or args, the function name, the parameter named in the message)
CASES = [
    (sa.constant, (nan,), "constant", "value"),
    (sa.constant, ("1",), "constant", "value"),
    (sa.constant, (inf,), "constant", "value"),
    (sa.linear, (0, 1, 0), "linear", "steps"),
    (sa.linear, (0, 1, -5), "linear", "steps"),
    (sa.linear, (0, 1, 2.5), "linear", "steps"),
    (sa.linear, (0, 1, True), "linear", "steps"),
    (sa.linear, (nan, 1, 10), "linear", "start"),
    (sa.linear, (0, inf, 10), "linear", "end"),
    (sa.exponential, (0,), "exponential", "gamma"),
    (sa.exponential, (-0.5,), "exponential", "gamma"),
    (sa.exponential, (nan,), "exponential", "gamma"),
    (sa.step_decay, (0, 0.5), "step_decay", "step_size"),
    (sa.step_decay, (2, 0), "step_decay", "gamma"),
    (sa.multistep, ([], 0.5), "multistep", "milestones"),
    (sa.multistep, ([5, 3], 0.5), "multistep", "milestones"),
    (sa.multistep, ([-1, 3], 0.5), "multistep", "milestones"),
    (sa.multistep, ([1.5], 0.5), "multistep", "milestones"),
    (sa.multistep, ("12", 0.5), "multistep", "milestones"),
    (sa.multistep, ([3], -1), "multistep", "gamma"),
    (sa.polynomial, (0,), "polynomial", "steps"),
    (sa.polynomial, (10, -1.0), "polynomial", "power"),
    (sa.polynomial, (10, 1.0, nan), "polynomial", "end"),
    (sa.cosine, (-5,), "cosine", "steps"),
    (sa.cosine, (0,), "cosine", "steps"),
    (sa.cosine, (10, nan), "cosine", "end"),
    (sa.cosine, (10, 0.0, 1), "cosine", "periodic"),
    (sa.cosine_restarts, (0,), "cosine_restarts", "period"),
    (sa.cosine_restarts, (10, 0), "cosine_restarts", "mult"),
    (sa.cosine_restarts, (10, 1.5), "cosine_restarts", "mult"),
    (sa.cosine_restarts, (10, 1, inf), "cosine_restarts", "end"),
    (sa.cyclic, (nan, 1, 2), "cyclic", "low"),
    (sa.cyclic, (0, inf, 2), "cyclic", "high"),
    (sa.cyclic, (0, 1, 0), "cyclic", "up"),
    (sa.cyclic, (0, 1, -2), "cyclic", "up"),
    (sa.cyclic, (0, 1, 2, -1), "cyclic", "down"),
    (sa.cyclic, (0, 1, 2, None, "sawtooth"), "cyclic", "mode"),
    (sa.cyclic, (0, 1, 2, None, "exp_range", 0.0), "cyclic", "gamma"),
    (sa.cyclic, (0, 1, 2, None, "triangular", 1.0, 3), "cyclic", "scale_fn"),
    (sa.cyclic, (0, 1, 2, None, "triangular", 1.0, None, "epochs"), "cyclic", "scale_mode"),
    (sa.one_cycle, (0,), "one_cycle", "total"),
    (sa.one_cycle, (100, 1.5), "one_cycle", "pct_start"),
    (sa.one_cycle, (100, -0.1), "one_cycle", "pct_start"),
    (sa.one_cycle, (100, 0.01), "one_cycle", "pct_start"),  # pct * total == 1: torch divides by 0
    (sa.one_cycle, (100, 0.3, 0), "one_cycle", "div"),
    (sa.one_cycle, (100, 0.3, 25, -1), "one_cycle", "final_div"),
    (sa.one_cycle, (100, 0.3, 25, 1e4, "cosine"), "one_cycle", "anneal"),
    (sa.one_cycle, (100, 0.3, 25, 1e4, "cos", "yes"), "one_cycle", "three_phase"),
    (sa.one_cycle, (100, 0.3, 25, 1e4, "cos", False, nan), "one_cycle", "peak"),
    (sa.one_cycle_momentum, (0,), "one_cycle_momentum", "total"),
    (sa.one_cycle_momentum, (100, 2.0), "one_cycle_momentum", "pct_start"),
    (sa.one_cycle_momentum, (100, 0.3, nan), "one_cycle_momentum", "low"),
    (sa.one_cycle_momentum, (100, 0.3, 0.85, inf), "one_cycle_momentum", "high"),
    (sa.cumulative, (0.9,), "cumulative", "factor"),
    (sa.from_fn, ("t",), "from_fn", "function"),
    (sa.from_fn, (abs, 1), "from_fn", "vectorized"),
    (sa.inverse_sqrt, (0,), "inverse_sqrt", "timescale"),
    (sa.inverse_sqrt, (-3.5,), "inverse_sqrt", "timescale"),
    (sa.warmup_stable_decay, (-1, 10, 10), "warmup_stable_decay", "warmup"),
    (sa.warmup_stable_decay, (1, -10, 10), "warmup_stable_decay", "stable"),
    (sa.warmup_stable_decay, (1, 10, 0), "warmup_stable_decay", "decay"),
    (sa.warmup_stable_decay, (1, 10, 10, nan), "warmup_stable_decay", "end"),
    (sa.warmup_stable_decay, (1, 10, 10, 0, "exp"), "warmup_stable_decay", "warmup_shape"),
    (
        sa.warmup_stable_decay,
        (1, 10, 10, 0, "linear", "step"),
        "warmup_stable_decay",
        "decay_shape",
    ),
    (sa.piecewise, ([],), "piecewise", "points"),
    (sa.piecewise, ([(1, 0.5)],), "piecewise", "points"),
    (sa.piecewise, ([(0, 1.0), (0, 0.5)],), "piecewise", "points"),
    (sa.piecewise, ([(0, 1.0), (5, nan)],), "piecewise", "value"),
    (sa.piecewise, ([(0, 1.0), (5.5, 0.5)],), "piecewise", "step"),
    (sa.piecewise, ([(0, 1.0, 2)],), "piecewise", "points"),
    (sa.piecewise, (5,), "piecewise", "points"),
    (sa.piecewise, ([(0, 1.0)], "cubic"), "piecewise", "interpolation"),
    # combinators
    (sa.sequence, (S, S), "sequence", "at"),  # at missing: TypeError from Python itself is fine
    (lambda: sa.sequence(S, S, at=[]), (), "sequence", "at"),
    (lambda: sa.sequence(S, S, at=[0]), (), "sequence", "at"),
    (lambda: sa.sequence(S, S, S, at=[5, 5]), (), "sequence", "at"),
    (lambda: sa.sequence(S, S, S, at=[6, 5]), (), "sequence", "at"),
    (lambda: sa.sequence(S, S, at=[2.5]), (), "sequence", "at"),
    (lambda: sa.sequence(S, S, at=[1, 2]), (), "sequence", "at"),
    (lambda: sa.sequence(S, 0.5, at=[1]), (), "sequence", "piece 1"),
    (sa.clip, (S, -1), "clip", "begin"),
    (sa.clip, (S, 5, 5), "clip", "end"),
    (sa.clip, (S, 5, 2), "clip", "end"),
    (sa.clip, (S, 5, 7.5), "clip", "end"),
    (sa.clip, (0.5, 5), "clip", "schedule"),
    (lambda: type.__call__(sa.sequence, 5, []), (), "sequence", "pieces"),  # fields, raw
    (sa.per_epoch, (S, 0), "per_epoch", "epoch_length"),
    (sa.per_epoch, (S, 2.5), "per_epoch", "epoch_length"),
    (sa.per_epoch, (S, 10, "yes"), "per_epoch", "smooth"),
    (sa.per_epoch, (lambda t: t, 10), "per_epoch", "schedule"),
    (sa.warmup, (S, 0), "warmup", "steps"),
    (sa.warmup, (S, 10, nan), "warmup", "start"),
    (sa.warmup, (S, 10, 0.0, "exponential"), "warmup", "start"),
    (sa.warmup, (S, 10, 1e-320, "exponential"), "warmup", "start"),  # 1 / start overflows
    (sa.warmup, (S, 10, 0.1, "quadratic"), "warmup", "shape"),
    (sa.warmup, (S, 10, 0.1, "linear", 1), "warmup", "overlay"),
    (sa.stretch, (S, 0), "stretch", "factor"),
    (sa.stretch, (S, -2.0), "stretch", "factor"),
    (sa.repeat, (S, 0), "repeat", "period"),
    (sa.repeat, (S, 10, 0.0), "repeat", "decay"),
    (sa.shift, (S, -1), "shift", "offset"),
    (sa.clamp, (S,), "clamp", "low, high"),
    (sa.clamp, (S, 0.9, 0.1), "clamp", "low"),
    (sa.clamp, (S, nan), "clamp", "low"),
    (sa.minimum, (), "minimum", "schedule"),
    (lambda: S * "2", (), "*", "Schedule"),
    (lambda: S + [1], (), "+", "Schedule"),  # noqa: RUF005 - the slip being tested
]


@pytest.mark.parametrize(("build", "args", "fn", "parameter"), CASES)
def test_invalid_arguments_are_refused_with_a_clear_message(build, args, fn, parameter):
    with pytest.raises((ValueError, TypeError)) as info:
        build(*args)
    message = str(info.value)
    if fn in ("*", "+"):
        assert "unsupported operand" in message and fn in message
        return
    if build is sa.sequence and len(args) == 2:  # Python's own missing-keyword TypeError
        assert "at" in message
        return
    assert message.startswith(f"{fn}(): "), message
    assert parameter in message, message
    assert "got" in message, message


def test_message_shows_the_value():
    with pytest.raises(
        ValueError, match=re.escape("cosine(): steps must be a positive integer, got -5")
    ):
        sa.cosine(-5)
    with pytest.raises(ValueError, match=re.escape("got [5, 5]")):
        sa.sequence(S, S, S, at=[5, 5])


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf, -math.inf])
def test_invalid_scalar_steps_raise(bad):
    with pytest.raises(ValueError, match="step"):
        S(bad)


def test_bool_and_non_numeric_steps_are_type_errors():
    with pytest.raises(TypeError):
        S(True)
    with pytest.raises(TypeError):
        S("3")
    with pytest.raises(TypeError):
        S(np.array([True, False]))
    with pytest.raises(TypeError):
        S(np.array(["1"]))


@pytest.mark.parametrize("bad", [[-1.0], [math.nan], [math.inf], [0.0, -3.0]])
def test_invalid_array_steps_raise_numpy_and_torch(bad):
    with pytest.raises(ValueError, match="step"):
        S(np.array(bad))
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="step"):
        S(torch.tensor(bad))


@pytest.mark.parametrize("args", [(-1,), (5, 2), (1.5,), (0, -3)])
def test_invalid_curve_ranges(args):
    with pytest.raises(ValueError, match="curve"):
        S.curve(*args)


def test_curve_out_must_fit():
    with pytest.raises(ValueError, match="out"):
        S.curve(10, out=np.empty(9))


def test_empty_inputs_are_fine():
    assert S.curve(0).shape == (0,)
    assert S(np.array([], dtype=np.int64)).shape == (0,)


def test_integral_floats_are_step_counts():
    assert sa.cosine(20.0) == sa.cosine(20) and repr(sa.cosine(20.0)) == "cosine(20)"
    assert sa.linear(0, 1, 10.0) == sa.linear(0, 1, 10)
    assert sa.multistep([3.0, 5], 0.5) == sa.multistep([3, 5], 0.5)
    with pytest.raises(TypeError, match=r"cosine\(\): steps must be a positive integer, got 20.5"):
        sa.cosine(20.5)
