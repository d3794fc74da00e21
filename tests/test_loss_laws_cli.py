"""``schedalg fit``, ``predict`` and ``optimize`` end to end on the shipped CSVs, and their errors:
one line naming the option or file and the value, exit status 2, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import schedalg as sa
from schedalg.cli import main
from tests import multipowerlaw as mpl

pytest.importorskip("scipy", reason="schedalg fit and optimize need scipy (the laws extra)")

from schedalg.laws import MultiPowerLaw


def run_argument(model: str, name: str) -> str:
    return f"{mpl.csv_path(model, name)}={mpl.expression(name)}"


@pytest.fixture
def law_file(tmp_path):
    path = tmp_path / "law.json"
    path.write_text(MultiPowerLaw(**mpl.published("25")["law"]).to_json(), encoding="utf-8")
    return str(path)


def test_fit_prints_the_law_as_json_and_shows_progress(capsys, tmp_path):
    runs = [run_argument("25", name) for name in mpl.TRAIN]
    assert main(["fit", *runs, "--starts", "1"]) == 0
    captured = capsys.readouterr()
    law = MultiPowerLaw.from_json(captured.out)
    assert "fitting: grid" in captured.err and "fitting: search 1/1" in captured.err
    assert "fitting: done" in captured.err and "PredE" in captured.err
    assert "Traceback" not in captured.err
    output = tmp_path / "fitted.json"
    assert main(["fit", *runs, "--starts", "1", "-o", str(output)]) == 0
    assert MultiPowerLaw.from_json(output.read_text(encoding="utf-8")) == law
    assert capsys.readouterr().out == ""


def test_predict_ranks_the_candidates_by_final_loss(capsys, law_file):
    cosine = mpl.expression("cosine_24000")
    wsd = mpl.expression("wsd_20000_24000")
    assert main(["predict", law_file, cosine, wsd, "--steps", "24000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "rank  loss at step 23999  schedule"
    assert lines[1].split(maxsplit=2)[2] == wsd  # WSD ends lower than cosine under the law
    assert lines[2].split(maxsplit=2)[2] == cosine
    law = MultiPowerLaw(**mpl.published("25")["law"])
    assert float(lines[1].split()[1]) == pytest.approx(law.predict(sa.parse(wsd), [23999])[0])


def test_predict_draws_the_curves_with_the_logged_points(capsys, law_file, tmp_path):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "predicted.png"
    run = run_argument("25", "wsdcon_3")
    arguments = ["predict", law_file, run, mpl.expression("wsdcon_18"), "--steps", "14145"]
    assert main([*arguments, "-o", str(picture)]) == 0
    captured = capsys.readouterr()
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture}" in captured.err
    assert "wsdcon_3.csv: sequence(" in captured.out


def test_optimize_prints_an_expression_that_reads_back(capsys, law_file):
    arguments = ["optimize", law_file, "--steps", "6000", "--peak", "3e-4", "--warmup", "500"]
    assert main(arguments) == 0
    captured = capsys.readouterr()
    schedule = sa.parse(captured.out.strip())
    assert schedule.curve(6000)[499] == 3e-4
    assert "predicted loss at step 5999" in captured.err
    assert main([*arguments, "--free"]) == 0
    assert "piecewise(" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["predict", "missing.json", "cosine(10)", "--steps", "10"], "no such file: missing.json"),
        (["predict", "LAW", "cosine(10)", "--steps", "0"], "--steps must be a positive integer"),
        (["predict", "LAW", "cosine(10)", "--steps", "1"], "--steps must be at least 2"),
        (["predict", "LAW", "cosine(", "--steps", "10"], "invalid syntax: '(' was never closed"),
        (
            ["predict", "LAW", "cosine(10) - 0.5", "--steps", "30"],
            "MultiPowerLaw.predict(): lr must be finite and >= 0 at every step, got",
        ),
        (
            ["optimize", "LAW", "--steps", "100", "--peak", "-1", "--warmup", "10"],
            "--peak must be a finite number > 0, got '-1'",
        ),
        (
            ["optimize", "LAW", "--steps", "100", "--peak", "1e-3", "--warmup", "99"],
            "--warmup must be at least 2 and --steps at least --warmup + 2, got --warmup 99",
        ),
        (
            [
                "optimize",
                "LAW",
                "--steps",
                "100",
                "--peak",
                "1e-3",
                "--warmup",
                "9",
                "--minimum",
                "1",
            ],
            "--minimum must be at most --peak (0.001), got 1.0",
        ),
        (["fit", "runs.csv=cosine(10)"], "no such file: runs.csv"),
        (["fit", "cosine(10)"], "a run is RUN.csv=EXPR (its lr schedule), got 'cosine(10)'"),
        (["fit", "x.csv="], "a run is RUN.csv=EXPR (its lr schedule), got 'x.csv='"),
    ],
)
def test_errors_are_one_line_with_status_2(capsys, law_file, arguments, message):
    arguments = [law_file if a == "LAW" else a for a in arguments]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("schedalg: error: ") and err.count("\n") == 1, err
    assert message in err


def _csv(tmp_path, text: str) -> str:
    path = tmp_path / "run.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "step,lr,loss\n1,0.1,4.0\n2,0.2,3.9\n",
            "run.csv: the lr column and 0.1 * constant(1.0) differ first at step 2: 0.2 in the "
            "file, 0.1 from the expression",
        ),
        ("step,loss\n1,4.0\n1,3.9\n", "run.csv, line 3: step must be increasing integers >= 1"),
        ("step,loss\n1,4.0\n2,-3.9\n", "run.csv, line 3: loss must be > 0, got -3.9"),
        ("step,loss\n1,4.0\n2,abc\n", "run.csv, line 3: loss must be a number, got 'abc'"),
        ("when,value\n1,4.0\n", "a run's CSV has a header with the columns step,loss (and lr)"),
    ],
)
def test_a_bad_run_file_is_refused_by_name(capsys, tmp_path, text, message):
    path = _csv(tmp_path, text)
    assert main(["fit", f"{path}=0.1 * constant(1.0)"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_the_lr_column_is_checked_to_1e_12_relative(capsys, tmp_path):
    path = _csv(tmp_path, "step,lr,loss\n1,0.1000000000000001,4.0\n2,0.1,3.9\n3,0.1,3.8\n")
    law = tmp_path / "law.json"
    law.write_text(MultiPowerLaw(**mpl.published("25")["law"]).to_json(), encoding="utf-8")
    assert main(["predict", str(law), f"{path}=0.1 * constant(1.0)", "--steps", "4"]) == 0
    capsys.readouterr()


def test_a_bad_law_file_is_refused_by_name(capsys, tmp_path):
    path = tmp_path / "law.json"
    path.write_text(json.dumps({"schedalg": 1, "law": {"type": "multi-power"}}), encoding="utf-8")
    assert main(["optimize", str(path), "--steps", "100", "--peak", "1e-3", "--warmup", "9"]) == 2
    err = capsys.readouterr().err
    assert f"{path}: MultiPowerLaw.from_dict(): law must have exactly the parameters" in err
    path.write_text("{", encoding="utf-8")
    assert main(["optimize", str(path), "--steps", "100", "--peak", "1e-3", "--warmup", "9"]) == 2
    assert "MultiPowerLaw.from_json(): not JSON" in capsys.readouterr().err


def test_the_commands_are_in_the_help(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("fit", "predict", "optimize"):
        assert f"    {name} " in out


def test_the_readme_commands_run_as_typed(tmp_path):
    """The README's block, as a newcomer pastes it in a checkout (its install line left out)."""
    pytest.importorskip("matplotlib")
    readme = (mpl.DATA.parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Choose a schedule by its predicted loss", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = "\n".join(line for line in block.splitlines() if not line.startswith("pip "))
    (tmp_path / "tests").symlink_to(mpl.DATA.parents[1], target_is_directory=True)
    script = f'schedalg() {{ "{sys.executable}" -m schedalg "$@"; }}\nset -e\n{commands}\n'
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    law = MultiPowerLaw.from_json((tmp_path / "law.json").read_text(encoding="utf-8"))
    ranking = [line.split(None, 2) for line in done.stdout.splitlines() if line[:4].strip()]
    ranked = [row[2] for row in ranking if row[0].isdigit()]
    assert len(ranked) == 2 and "linear(3e-4, 3e-5, 4000)" in ranked[0]  # the WSD run first
    assert (tmp_path / "ranked.png").stat().st_size > 10_000
    optimized = sa.parse(done.stdout.strip().splitlines()[-1])
    assert law.predict(optimized, [23999])[0] < law.predict(sa.parse(ranked[0]), [23999])[0]
