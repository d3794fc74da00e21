"""A newcomer's first hour: errors that name public things and suggest the fix, and the command
line's help (``--version``, a bare ``schedalg``, ``list``, ``help NAME``) and papercuts
(``--steps 1e4``, ``export``'s format from ``-o``, several inputs, the log axis label)."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import schedalg as sa
from schedalg.cli import main
from schedalg.core.node import FOREIGN_NAMES, registered
from schedalg.forms.data import ParseError


def call(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("schedalg: error: "), err
    return err


# -- constructor keywords: another library's names -------------------------------------------


@pytest.mark.parametrize(
    "build, foreign, ours",
    [
        (lambda: sa.cosine(10, eta_min=0.1), "eta_min", "end"),
        (lambda: sa.cosine(T_max=10), "T_max", "steps"),
        (lambda: sa.polynomial(10, total_iters=5), "total_iters", "steps"),
        (lambda: sa.cosine_restarts(T_0=10), "T_0", "period"),
        (lambda: sa.cosine_restarts(10, T_mult=2), "T_mult", "mult"),
        (lambda: sa.one_cycle(100, max_lr=0.1), "max_lr", "peak"),
        (lambda: sa.one_cycle(total_steps=100), "total_steps", "total"),
        (lambda: sa.one_cycle(100, div_factor=10.0), "div_factor", "div"),
        (lambda: sa.cyclic(0.1, 1.0, step_size_up=10), "step_size_up", "up"),
        (lambda: sa.plateau(min_lr=0.01), "min_lr", "min_value"),
        (lambda: sa.plateau(eta_min=0.01), "eta_min", "min_value"),
        (lambda: sa.linear(start_factor=0.1, end=1.0, steps=5), "start_factor", "start"),
    ],
)
def test_foreign_keyword_suggests_the_schedalg_name(build, foreign, ours):
    with pytest.raises(TypeError) as caught:
        build()
    message = str(caught.value)
    assert f"unexpected keyword {foreign!r}; did you mean {ours!r}?" in message


def test_parse_reports_the_same_suggestion():
    with pytest.raises(ParseError, match=r"'eta_min'; did you mean 'end'\?"):
        sa.parse("cosine(10, eta_min=0.1)")


def _foreign_parameter_names() -> set[str]:
    """Every keyword the real torch, MMEngine, optax and transformers schedulers take."""
    import torch.optim.lr_scheduler as torch_schedulers

    names: set[str] = set()

    def collect(module: object, wanted: object) -> None:
        for _, value in inspect.getmembers(module, wanted):
            try:
                names.update(inspect.signature(value).parameters)
            except (TypeError, ValueError):
                continue

    collect(torch_schedulers, inspect.isclass)
    for optional in ("optax", "transformers.optimization", "mmengine.optim.scheduler"):
        try:
            module = __import__(optional, fromlist=["_"])
        except ImportError:
            continue
        collect(module, lambda v: inspect.isclass(v) or inspect.isfunction(v))
    return names


def test_every_foreign_name_is_a_real_parameter_of_another_library():
    pytest.importorskip("torch")
    foreign = _foreign_parameter_names()
    unknown = sorted(set(FOREIGN_NAMES) - foreign)
    assert not unknown, f"not a parameter of torch/MMEngine/optax/transformers: {unknown}"


def test_every_foreign_name_points_at_a_real_schedalg_parameter():
    ours = {p for cls in registered().values() for p in inspect.signature(cls).parameters}
    for foreign, candidates in FOREIGN_NAMES.items():
        assert foreign not in ours, foreign
        assert set(candidates) <= ours, (foreign, candidates)


def test_a_spelling_mistake_still_gets_the_nearest_name():
    with pytest.raises(TypeError, match=r"'ned'; did you mean 'end'\?$"):
        sa.cosine(10, ned=0.1)


# -- parse ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_expression_has_its_own_message(text):
    with pytest.raises(ParseError, match=r"^parse\(\): the expression is empty$"):
        sa.parse(text)


def test_an_unknown_name_far_from_any_lists_the_constructors():
    with pytest.raises(ParseError) as caught:
        sa.parse("frobnicate(3)")
    message = str(caught.value)
    assert "not a schedalg constructor" in message
    assert all(name in message for name in ("cosine", "warmup", "sequence", "one_cycle"))


# -- no private class in a message --------------------------------------------------------------

PRIVATE = re.compile(r"(?<![\w.])_[A-Za-z]\w*|schedalg\.\w+(\.\w+)*\._")


def _resume_error() -> str:
    torch = pytest.importorskip("torch")
    from schedalg.torch import Scheduler

    def build(schedule: sa.Schedule) -> Scheduler:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        return Scheduler(opt, lr=schedule)

    saved = build(sa.cosine(40))
    for _ in range(5):  # a checkpoint accepts any schedule that keeps the steps already taken
        saved.step()
    state = saved.state_dict()
    with pytest.raises(ValueError) as caught:
        build(sa.cosine(50)).load_state_dict(state)
    return str(caught.value)


def test_the_resume_error_names_the_current_schedule_as_current():
    message = _resume_error()
    assert "(checkpoint: cosine(40); now: cosine(50))" in message
    assert not PRIVATE.search(message)


@pytest.mark.parametrize(
    "args",
    [
        ["describe", "frobnicate(3)", "--steps", "10"],
        ["describe", "cosine(10, eta_min=0.1)", "--steps", "10"],
        ["describe", "cosine(-1)", "--steps", "10"],
        ["describe", "warmup(cosine(10), 5, shape='cubic')", "--steps", "10"],
        ["help", "frobnicate"],
    ],
)
def test_command_line_errors_show_no_private_name(capsys, args):
    status, _, err = call(capsys, *args)
    assert status == 2
    assert not PRIVATE.search(one_error_line(err).removeprefix("schedalg: error: ")), err


# -- inputs: a directory, an empty input, --steps --------------------------------------------


def test_a_directory_is_its_own_error(capsys, tmp_path):
    status, _, err = call(capsys, "describe", str(tmp_path), "--steps", "10")
    assert status == 2
    assert f"{tmp_path} is a directory" in one_error_line(err)


def test_an_empty_input_is_its_own_error(capsys):
    status, _, err = call(capsys, "describe", "", "--steps", "10")
    assert status == 2
    assert one_error_line(err) == "schedalg: error: the expression is empty\n"


@pytest.mark.parametrize("text", ["1e4", "10_000", "1.0e4", "10000"])
def test_steps_accept_scientific_integers(capsys, text):
    status, out, _ = call(capsys, "export", "cosine(9000)", "--steps", text)
    assert status == 0
    assert len(out.strip().splitlines()) == 1 + 10_000


@pytest.mark.parametrize(
    "text, message",
    [
        ("1.5", "--steps must be a whole number, got '1.5'"),
        ("1e-1", "--steps must be a whole number, got '1e-1'"),
        ("inf", "--steps must be a finite number, got 'inf'"),
        ("nan", "--steps must be a finite number, got 'nan'"),
        ("=-1e3", "--steps must be a positive integer, got '-1e3'"),
        ("ten", "--steps must be a positive integer, got 'ten'"),
    ],
)
def test_steps_refusals_have_their_own_line(capsys, text, message):
    arguments = ["--steps" + text] if text.startswith("=") else ["--steps", text]
    status, _, err = call(capsys, "describe", "cosine(10)", *arguments)
    assert status == 2
    assert message in one_error_line(err)


def test_a_misspelt_config_type_is_reported_before_the_epoch_length(capsys, tmp_path):
    config = tmp_path / "config.py"
    config.write_text(
        "param_scheduler = [dict(type='CosineAnealingLR', T_max=10, by_epoch=True)]\n"
    )
    status, _, err = call(capsys, "describe", str(config), "--steps", "100")
    assert status == 2
    line = one_error_line(err)
    assert "'CosineAnealingLR'; did you mean 'CosineAnnealingLR'?" in line
    assert "--epoch-length" not in line


def test_a_misspelt_config_argument_gets_a_suggestion():
    from schedalg.mmengine import from_config

    config = dict(type="CosineAnnealingLR", T_max=10, eta_mn=0.0, by_epoch=False)
    with pytest.raises(TypeError, match=r"did you mean 'eta_min'\?"):
        from_config([config], max_iters=10)


# -- help ---------------------------------------------------------------------------------------


def test_version(capsys):
    status, out, _ = call(capsys, "--version")
    assert status == 0
    assert out == f"schedalg {sa.__version__}\n"


def test_bare_schedalg_prints_the_short_help_and_succeeds():
    result = subprocess.run(
        [sys.executable, "-m", "schedalg"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: schedalg")
    assert all(command in result.stdout for command in ("plot", "describe", "list", "help"))
    assert result.stderr == ""


def test_list_names_every_constructor_with_a_summary(capsys):
    status, out, _ = call(capsys, "list")
    assert status == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != "`"}
    assert set(rows) == set(registered())
    assert all(len(line.split(None, 1)) == 2 for line in rows.values())
    assert "end + (1 - end) * (1 + cos(pi * t / steps)) / 2" in rows["cosine"]


def test_help_shows_formula_parameters_and_an_example(capsys):
    status, out, _ = call(capsys, "help", "cosine")
    assert status == 0
    assert "end + (1 - end) * (1 + cos(pi * t / steps)) / 2" in out
    assert "steps  (required)" in out and "end  (default 0.0)" in out
    assert ">>> s = cosine(100, end=0.1)" in out  # the docstring's example, run as a doctest


def test_help_suggests_the_nearest_constructor(capsys):
    status, _, err = call(capsys, "help", "cosin")
    assert status == 2
    assert "no constructor named 'cosin'; did you mean 'cosine'?" in one_error_line(err)


# -- export's format, several inputs, the log axis -------------------------------------------


@pytest.mark.parametrize("suffix", ["json", "npy", "csv", "JSON"])
def test_export_picks_the_format_from_the_output_suffix(capsys, tmp_path, suffix):
    path = tmp_path / f"out.{suffix}"
    assert call(capsys, "export", "cosine(7)", "--steps", "8", "-o", str(path))[0] == 0
    expected = sa.cosine(7).curve(8)
    if suffix.lower() == "json":
        assert json.loads(path.read_text())["curves"][0]["values"] == expected.tolist()
    elif suffix == "npy":
        assert np.array_equal(np.load(path), expected)
    else:
        assert path.read_text().startswith("step,cosine(7)\n0,1.0\n")


def test_an_explicit_format_wins_over_the_suffix(capsys, tmp_path):
    path = tmp_path / "out.json"
    assert call(capsys, "export", "cosine(7)", "-n", "3", "-o", str(path), "-f", "csv")[0] == 0
    assert path.read_text().startswith("step,cosine(7)\n")


def test_describe_and_check_take_several_inputs(capsys):
    status, out, _ = call(capsys, "describe", "cosine(10)", "linear(1.0, 0.5, 4)", "-n", "10")
    assert status == 0
    assert out.count("over 10 steps [0, 10)") == 2
    status, out, _ = call(capsys, "check", "cosine(10)", "constant(0.5)", "-n", "10")
    assert out.count("ok: ") + out.count("warning [") >= 2
    assert "cosine(10)" in out and "constant(0.5)" in out


def test_log_plot_labels_the_value_axis(capsys):
    status, out, _ = call(capsys, "plot", "cosine(100, end=0.01)", "-n", "100", "--log")
    assert status == 0
    lines = out.splitlines()
    assert "value (log scale)" in lines[1]
    assert "log" not in lines[-1] and "step" in lines[-1]
