"""The command line: real processes for what only a process shows (the console script, exit codes,
no traceback, the PNG's pixel size, the stored terminal plot), in-process ``main()`` calls for the
many error paths (each Python start with NumPy costs a few tenths of a second)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import schedalg as sa
from schedalg.cli import main
from schedalg.forms.data import to_dict

DATA = Path(__file__).parent / "data"
EXPR = "warmup(cosine(9000), 1000, start=0.01)"


def run(*args: str, module: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    if module:
        command = [sys.executable, "-m", "schedalg", *args]
    else:
        script = shutil.which("schedalg")
        assert script is not None, "the console script is not installed (pip install -e .)"
        command = [script, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def call(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# -- real processes ------------------------------------------------------------------------------


def test_terminal_plot_matches_stored_output():
    result = run("plot", EXPR, "--steps", "10000")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (DATA / "plot_warmup_cosine.txt").read_text()


def test_overlay_log_plot_through_python_m_matches_stored_output():
    result = run(
        "plot",
        "sequence(linear(0.1, 1.0, 300), cosine(700, end=0.05), at=[300])",
        "0.5 * multistep([400, 800], 0.3) + 0.1",
        "--steps",
        "1000",
        "--size",
        "60x12",
        "--log",
        module=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (DATA / "plot_overlay_log.txt").read_text()


def test_png_has_the_requested_pixel_size(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "schedule.png"
    result = run(
        "plot", EXPR, "0.5 * cosine(10000)", "--steps", "10000", "-o", str(out),
        "--width", "640", "--height", "360", "--log",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert imread(out).shape[:2] == (360, 640)


@pytest.mark.parametrize(
    "args, message",
    [
        (["plot", "__import__('os').system('echo pwned')", "--steps", "10"], "attribute access"),
        (["describe", "cosine(-5)", "--steps", "10"], "cosine(): steps must be a positive"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_no_traceback(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "pwned" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("schedalg: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_matplotlib_is_a_user_error(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from schedalg.cli import main\n"
        f"sys.exit(main(['plot', 'cosine(10)', '--steps', '10', '-o', r'{tmp_path / 'x.png'}']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "needs matplotlib" in result.stderr
    assert not (tmp_path / "x.png").exists()


# -- in process ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["plot", "cosine(10)"], "--steps"),
        (["plot", "cosine(10)", "--steps", "0"], "positive integer"),
        (["plot", "cosine(10)", "--steps", "ten"], "positive integer"),
        (["plot", "cosine(10)", "--steps", "10", "--size", "80by20"], "WIDTHxHEIGHT"),
        (["plot", "cosine(10)", "--steps", "10", "--epoch-length", "-2"], "positive integer"),
        (["plot", "cosine(10", "--steps", "10"], "invalid syntax"),
        (["plot", "lambda: 1", "--steps", "10"], "lambda"),
        (["plot", "from_fn(print)", "--steps", "10"], "Python function"),
        (["plot", "cosine(10) - 2", "--steps", "10", "--log"], "log scale"),
        (["plot", "cosine(10)", "--steps", "10", "--width", "3"], "width must be >= 8"),
        (["plot", "missing.json", "--steps", "10"], "no such file: missing.json"),
        (["describe", "cosine(10)", "--steps", "10", "--bogus"], "unrecognized arguments"),
        (["export", "cosine(10)", "--steps", "10", "-f", "npy"], "give a file with -o"),
        (["export", "cosine(10)", "--steps", "10", "-f", "xml"], "invalid choice"),
        (["export", "cosine(10)", "--steps", "10", "-o", "/no/such/dir/x.csv"], "cannot write"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_in_process(capsys, args, message):
    status, out, err = call(capsys, *args)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("schedalg: error: ")
    assert message in err


def test_bad_files_are_user_errors(capsys, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    status, _, err = call(capsys, "plot", str(broken), "--steps", "10")
    assert status == 2 and "cannot read" in err and err.count("\n") == 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schedalg": 1, "schedule": {"type": "cosine", "steps": -1}}))
    status, _, err = call(capsys, "describe", str(bad), "--steps", "10")
    assert status == 2 and "steps must be a positive integer" in err
    config = tmp_path / "config.py"
    config.write_text("import os\nos.system('echo pwned')\nparam_scheduler = 3\n")
    status, out, err = call(capsys, "plot", str(config), "--steps", "10")
    assert status == 2 and "pwned" not in out + err and err.count("\n") == 1


def test_schedule_json_file_as_input(capsys, tmp_path):
    schedule = sa.warmup(sa.cosine(90), 10)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(to_dict(schedule)))
    status, out, _ = call(capsys, "export", str(path), "--steps", "100", "-f", "json")
    assert status == 0
    data = json.loads(out)
    assert data["curves"][0]["expression"] == repr(schedule)
    assert data["curves"][0]["values"] == schedule.curve(100).tolist()


def test_export_csv_json_npy_are_exact(capsys, tmp_path):
    a, b = sa.cosine(7, end=0.1), sa.one_cycle(9)
    status, out, _ = call(capsys, "export", repr(a), repr(b), "--steps", "12")
    assert status == 0
    rows = out.strip().splitlines()
    assert rows[0] == 'step,"cosine(7, end=0.1)",one_cycle(9)'
    table = np.array([[float(x) for x in row.split(",")] for row in rows[1:]])
    assert table[:, 0].tolist() == list(range(12))
    assert table[:, 1].tolist() == a.curve(12).tolist()  # repr of floats: exact round trip
    assert table[:, 2].tolist() == b.curve(12).tolist()

    status, out, _ = call(capsys, "export", repr(a), "--steps", "12", "-f", "json")
    assert json.loads(out)["curves"][0]["values"] == a.curve(12).tolist()

    path = tmp_path / "curves.npy"
    status, _, _ = call(
        capsys, "export", repr(a), repr(b), "-n", "12", "-f", "npy", "-o", str(path)
    )
    assert status == 0
    assert np.array_equal(np.load(path), np.stack([a.curve(12), b.curve(12)]))


def test_export_json_writes_null_for_non_finite_values(capsys):
    status, out, _ = call(
        capsys, "export", "cosine(4) / (cosine(4) - cosine(4))", "-n", "2", "-f", "json"
    )
    assert status == 0
    assert json.loads(out)["curves"][0]["values"] == [None, None]


def test_epoch_length_reads_an_expression_in_epochs(capsys):
    status, out, _ = call(
        capsys, "export", "multistep([2], 0.1)", "--steps", "8", "--epoch-length", "3"
    )
    assert status == 0
    values = [float(row.split(",")[1]) for row in out.strip().splitlines()[1:]]
    assert values == sa.per_epoch(sa.multistep([2], 0.1), 3).curve(8).tolist()
    assert values[5] == 1.0 and values[6] == pytest.approx(0.1, abs=0)


def test_describe_and_check_output(capsys):
    status, out, _ = call(capsys, "describe", EXPR, "--steps", "10000")
    assert status == 0
    assert "max    1  at step 1000" in out
    assert "[1000, 10000)" in out and "after warm-up" in out

    status, out, _ = call(capsys, "check", EXPR, "--steps", "10000")
    assert status == 0 and out.startswith("ok: ")

    status, out, _ = call(capsys, "check", "warmup(cosine(500, periodic=True), 100)", "-n", "1000")
    assert status == 1
    assert "warning [zero-at-start]" in out and "warning [rises-after-end]" in out


def test_config_input(capsys, tmp_path):
    pytest.importorskip("schedalg.importers.mmengine.configfile")
    config = tmp_path / "schedule.py"
    config.write_text(
        "param_scheduler = [\n"
        "    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),\n"
        "    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11], gamma=0.1),\n"
        "]\n"
    )
    status, _, err = call(capsys, "plot", str(config), "--steps", "6000")
    assert status == 2 and "--epoch-length" in err
    status, out, err = call(
        capsys, "export", str(config), "--steps", "6000", "--epoch-length", "500"
    )
    assert status == 0, err
    rows = out.strip().splitlines()
    assert rows[0] == "step,schedule.py: lr"
    values = np.array([float(r.split(",")[1]) for r in rows[1:]])
    assert values[0] == pytest.approx(0.001)
    assert values[4000] == pytest.approx(0.1) and values[5500] == pytest.approx(0.01)


# -- hostile or odd input: one line, exit 2 ------------------------------------------------------


def test_deeply_nested_json_is_a_user_error(capsys, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    deep_dict = tmp_path / "deep_dict.json"
    deep_dict.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    for path in (deep, deep_dict):
        status, out, err = call(capsys, "describe", str(path), "--steps", "10")
        assert status == 2 and out == ""
        assert err.startswith("schedalg: error:") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "size", [["--size", "100000x100000"], ["--width", "100000"], ["--height", "10001"]]
)
def test_image_size_is_bounded_at_parsing(capsys, tmp_path, size):
    out = tmp_path / "a.png"
    status, _, err = call(capsys, "plot", "cosine(10)", "--steps", "20", "-o", str(out), *size)
    assert status == 2 and "at most 10000" in err and err.count("\n") == 1
    assert not out.exists()


def test_output_directory_is_refused_and_suffix_rule_is_reported(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    for target in (str(tmp_path) + "/", str(tmp_path)):
        status, _, err = call(capsys, "plot", "cosine(10)", "-n", "20", "-o", target)
        assert status == 2 and "not a directory" in err and err.count("\n") == 1
    assert not (tmp_path / ".png").exists()
    status, _, err = call(capsys, "plot", "cosine(10)", "-n", "20", "-o", str(tmp_path / "out"))
    assert status == 0 and (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "out").exists()
    assert err == f"wrote {tmp_path / 'out.png'} (800x450 pixels)\n"


@pytest.mark.parametrize("log", [[], ["--log"]])
def test_nothing_to_draw_is_refused_the_same_way_with_and_without_o(capsys, tmp_path, log):
    pytest.importorskip("matplotlib")
    expr = "cosine(4) / (cosine(4) - cosine(4))" if not log else "-1.0 * cosine(8)"
    status, _, terminal = call(capsys, "plot", expr, "-n", "4", *log)
    out = tmp_path / "a.png"
    status_png, _, image = call(capsys, "plot", expr, "-n", "4", "-o", str(out), *log)
    assert status == status_png == 2 and "nothing to draw" in terminal
    assert image == terminal and not out.exists()


def test_check_and_png_output_carry_no_warnings(tmp_path):
    pytest.importorskip("matplotlib")
    expr = "constant(1e308) * constant(10.0) + cosine(4) / (cosine(4) - cosine(4))"
    result = run("check", expr, "--steps", "5")
    assert result.returncode == 1 and "warning [nan]" in result.stdout
    assert result.stderr == ""
    out = tmp_path / "a.png"
    # A label full of TeX-like dollar signs and a huge log range provoke matplotlib's warnings.
    result = run("plot", "constant(1e-300) + cosine(10)", "-n", "10", "--log", "-o", str(out))
    assert result.returncode == 0
    assert result.stderr == f"wrote {out} (800x450 pixels)\n"


@pytest.mark.parametrize("fmt", ["csv", "json", "npy"])
def test_export_streams_in_pieces(capsys, tmp_path, monkeypatch, fmt):
    import schedalg.cli.exporting as cli

    asked: list[int] = []
    original = sa.Schedule.curve

    def curve(self, start, stop=None, **kwargs):
        asked.append((stop - start) if stop is not None else start)
        return original(self, start, stop, **kwargs)

    monkeypatch.setattr(cli, "_EXPORT_CHUNK", 7)
    monkeypatch.setattr(sa.Schedule, "curve", curve)
    a, b = sa.warmup(sa.cosine(40), 5), sa.constant(2.0) / sa.linear(1.0, 0.0, 30)
    path = tmp_path / f"out.{fmt}"
    assert call(capsys, "export", repr(a), repr(b), "-n", "50", "-f", fmt, "-o", str(path))[0] == 0
    assert asked and max(asked) <= 7
    monkeypatch.setattr(sa.Schedule, "curve", original)
    with np.errstate(divide="ignore"):
        expected = np.stack([a.curve(50), b.curve(50)])
    if fmt == "npy":
        assert np.array_equal(np.load(path), expected)
    elif fmt == "json":
        values = [c["values"] for c in json.loads(path.read_text())["curves"]]
        assert values == [[v if np.isfinite(v) else None for v in row] for row in expected.tolist()]
    else:
        rows = path.read_text().splitlines()[1:]
        table = np.array([[float(x) for x in row.split(",")] for row in rows])
        assert np.array_equal(table[:, 1:].T, expected, equal_nan=True)


def test_config_errors_name_the_file_once(tmp_path, capsys):
    config = tmp_path / "bad_loop.py"
    config.write_text("train_cfg = 5\nparam_scheduler = []\n")
    assert main(["describe", str(config), "--steps", "10"]) == 2
    error = capsys.readouterr().err
    assert error.count(str(config)) == 1, error


def test_config_base_values_from_the_optimizer_and_the_command_line(capsys, tmp_path):
    pytest.importorskip("schedalg.importers.mmengine.configfile")
    config = tmp_path / "poly.py"
    scheduler = (
        "param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=100,"
        " by_epoch=False)]\ntrain_cfg = dict(type='IterBasedTrainLoop', max_iters=100)\n"
    )
    config.write_text(scheduler)
    status, _, err = call(capsys, "export", str(config), "--steps", "100")
    assert status == 2 and "--base lr=<value>" in err and "base={" not in err
    config.write_text(scheduler + "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))\n")
    status, out, err = call(capsys, "export", str(config), "--steps", "100")
    assert status == 0, err
    # the base is known: the export is the lr itself, ending at eta_min
    first, last = (float(line.split(",")[1]) for line in out.strip().splitlines()[1::99])
    assert (first, last) == (0.01, pytest.approx(1e-4, rel=1e-12))
    status, out, err = call(capsys, "export", str(config), "--steps", "100", "--base", "lr=0.02")
    assert status == 0, err
    assert float(out.strip().splitlines()[1].split(",")[1]) == 0.02
    status, _, err = call(capsys, "export", str(config), "--steps", "100", "--base", "lr")
    assert status == 2 and "--base takes NAME=VALUE" in err
