"""from_launch_script against bash and Megatron-LM.

- Real launch scripts of Megatron-LM (``tests/data/megatron``, branch core_r0.16.0, unmodified):
  the words bash itself gives each training command and the values Megatron-LM's own parser
  reads from them are recorded in ``parsed.json`` (README.md there says how); the reader must
  give the same words and values, and its curves must be megatron-core's own
  ``OptimizerParamScheduler`` (installed) built from the *recorded* values as Megatron's
  ``get_optimizer_param_scheduler`` builds it and stepped as its training loop steps it (by
  the batch, through ``RampupBatchsizeNumMicroBatchesCalculator`` for a ramp).
- A hypothesis fuzzer writes launch scripts (argument order, quoting, continuations,
  variables, arrays, defaults, ``--opt=value``) and compares the reader's words with bash's
  (run on the generated script with a stub ``torchrun``) and its values with Python's argparse
  built from the recorded specs of Megatron's options (``allow_abbrev=False``).
- A fuzzer over fractional warm-ups (``lr_warmup_fraction`` ending inside an iteration) against
  the real scheduler: bit for bit where the warm-up ends between two steps.

Tolerance elsewhere: as tests/test_megatron.py (1e-12 relative plus 8 ulps of the peak)."""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("megatron.core.optimizer_param_scheduler")
from megatron.core.num_microbatches_calculator import RampupBatchsizeNumMicroBatchesCalculator
from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler

from schedalg.importers.megatron import Unresolved, from_megatron
from schedalg.importers.megatron_script import (
    OPTIONS,
    from_launch_script,
    is_launch_script,
    launch_arguments,
    run_length,
    training_argv,
    variables_read,
)
from schedalg.importers.shell import runs
from schedalg.importers.shell_words import shown

DATA = Path(__file__).parent / "data" / "megatron"
RECORD = json.loads((DATA / "parsed.json").read_text())
SCRIPTS = sorted(RECORD["scripts"])
EPS = np.finfo(float).eps
BASH = shutil.which("bash")
# What the recorded bash run gave the scripts, and the picks of their conditionals it took.
SETTLED = {"mamba_train.sh": {"GLOBAL_BATCH_SIZE": 32}, "pretrain_mistral_clip.sh": {"BZ": 256}}


def variables(name: str) -> dict[str, str]:
    case = RECORD["scripts"][name]
    given = {str(k): v for k, v in enumerate(case["positional"], 1)}
    return {**given, **case["env"], "PWD": case["cwd"], "SOURCE": case["cwd"]}


class _Optimizer:
    def __init__(self, groups: list[dict]) -> None:
        self.param_groups = groups


def megatron(a: dict, steps: int, every: int = 60_000) -> dict[str, np.ndarray]:
    """lr, weight decay (and the decoupled lr) per iteration, as ``megatron/training`` builds
    and steps the scheduler from the arguments ``a``: every iteration up to ``every``, then
    every 97th (the scheduler read at its sample count there)."""
    g = a["global_batch_size"]
    if a["train_iters"]:
        decay = (a["lr_decay_iters"] or a["train_iters"]) * g
        wd_steps, wsd = a["train_iters"] * g, a["lr_wsd_decay_iters"]
        wsd = None if wsd is None else wsd * g
        warm = a["lr_warmup_iters"] * g
    else:
        decay, wd_steps = a["lr_decay_samples"] or a["train_samples"], a["train_samples"]
        wsd, warm = a["lr_wsd_decay_samples"], a["lr_warmup_samples"]
    if a["lr_warmup_fraction"] is not None:
        warm = a["lr_warmup_fraction"] * decay
    style = a["weight_decay_incr_style"]
    start, end = a["start_weight_decay"], a["end_weight_decay"]
    if style == "constant":
        start = end = a["weight_decay"]
    groups = [{"params": []}]
    if a["decoupled_lr"] is not None:
        override = {"max_lr": a["decoupled_lr"]}
        if a["decoupled_min_lr"] is not None:
            override["min_lr"] = a["decoupled_min_lr"]
        groups.append({"params": [], **override})
    opt = _Optimizer(groups)
    sched = OptimizerParamScheduler(
        opt,
        init_lr=a["lr_warmup_init"],
        max_lr=a["lr"],
        min_lr=a["min_lr"],
        lr_warmup_steps=warm,
        lr_decay_steps=decay,
        lr_decay_style=a["lr_decay_style"],
        start_wd=start,
        end_wd=end,
        wd_incr_steps=wd_steps,
        wd_incr_style=style,
        use_checkpoint_opt_param_scheduler=a["use_checkpoint_opt_param_scheduler"],
        override_opt_param_scheduler=a["override_opt_param_scheduler"],
        wsd_decay_steps=wsd,
        lr_wsd_decay_style=a["lr_wsd_decay_style"],
    )
    ramp = a["rampup_batch_size"]
    calc = (
        None if ramp is None else RampupBatchsizeNumMicroBatchesCalculator(g, 1, 1, False, 0, *ramp)
    )
    out: dict[str, list[float]] = {"lr": [], "weight_decay": [], "decoupled_lr": [], "t": []}
    consumed = 0
    for t in range(steps):
        if calc is not None:
            calc.update(consumed, True)
        if t < every or t % 97 == 0:
            sched.num_steps = consumed
            for group in opt.param_groups:
                group["lr"] = sched.get_lr(group)
            out["t"].append(t)
            out["lr"].append(opt.param_groups[0]["lr"])
            out["weight_decay"].append(sched.get_wd())
            out["decoupled_lr"].append(opt.param_groups[-1]["lr"])
        consumed += g if calc is None else calc.get_current_global_batch_size()
    return {k: np.array(v) for k, v in out.items()}


def agree(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    if not theirs.size:
        return
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    bad = np.flatnonzero(np.abs(ours - theirs) > 1e-12 * np.abs(theirs) + 8 * EPS * scale)
    assert bad.size == 0, (bad[:5], ours[bad[:5]], theirs[bad[:5]])


# -- the shipped scripts ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SCRIPTS)
def test_bash_s_words_are_among_the_reader_s(name: str) -> None:
    """Each branch of the script's conditionals is followed: bash's run is one of them."""
    from schedalg.importers.megatron_script import _training

    found = runs((DATA / name).read_text(), _training, variables(name))
    assert RECORD["scripts"][name]["argv"] in [list(map(shown, r.argv)) for r in found]


@pytest.mark.parametrize("name", SCRIPTS)
def test_arguments_are_megatron_s_parser_s(name: str) -> None:
    got = launch_arguments(DATA / name, variables={**variables(name), **SETTLED.get(name, {})})
    assert not [v for v in got.values() if isinstance(v, Unresolved)]
    assert {**RECORD["defaults"], **got} == RECORD["scripts"][name]["parsed"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_curves_are_megatron_s(name: str) -> None:
    parsed = RECORD["scripts"][name]["parsed"]
    steps = run_length(DATA / name, variables=SETTLED.get(name)) + 30
    theirs = megatron(parsed, steps)
    ours = from_launch_script(DATA / name, variables=SETTLED.get(name))
    assert sorted(ours) == sorted(
        ["lr", "weight_decay"] + ["decoupled_lr"] * ("decoupled_lr" in ours)
    )
    assert ("decoupled_lr" in ours) == (parsed["decoupled_lr"] is not None)
    first = int(np.searchsorted(theirs["t"], 60_000))
    for key, curve in ours.items():
        agree(curve.curve(min(steps, 60_000)), theirs[key][:first])
        agree(np.array([curve(int(t)) for t in theirs["t"][first:]]), theirs[key][first:])


def test_conditional_picks_are_named_and_settled() -> None:
    with pytest.raises(ValueError, match="from_launch_script") as info:
        from_launch_script(DATA / "mamba_train.sh")
    message = str(info.value)
    assert "--global-batch-size is 32 or 8" in message and "line 7" in message
    assert "pass variables={'GLOBAL_BATCH_SIZE': ...}" in message
    with pytest.raises(ValueError, match=r"line 36 \(`if \[\[ \$DEBUG -eq 1 \]\]; then`\)"):
        from_launch_script(DATA / "pretrain_mistral_clip.sh")
    # The positional paths are never needed: the scripts read without them.
    assert launch_arguments(DATA / "train_bert_340m_distributed.sh")["lr"] == 1e-4


def test_run_lengths() -> None:
    assert run_length(DATA / "train_gpt3_175b_distributed.sh") == 500_000
    assert run_length(DATA / "train_llama3_8b_h100_fp8.sh") == 1953125000 // 128
    assert run_length(DATA / "mamba_train.sh", variables={"GLOBAL_BATCH_SIZE": 8}) == 73242188 // 8
    assert is_launch_script((DATA / "train_t5_220m_distributed.sh").read_text())
    assert not is_launch_script('{"scheduler": {"type": "WarmupLR"}}')
    assert {"1", "GPUS_PER_NODE", "NUM_NODES"} <= variables_read(
        DATA / "train_gpt3_175b_distributed.sh"
    )


def test_options_are_megatron_s() -> None:
    """OPTIONS is the recorded parser's table for the arguments from_megatron reads."""
    spec = RECORD["options"]
    kinds = {"int": int, "float": float, "str": str, None: str}
    assert {o for o in OPTIONS if o != "--step-batch-size-schedule"} == set(spec)
    for option, s in spec.items():
        dest, kind, nargs = OPTIONS[option]
        assert dest == s["dest"]
        assert nargs == (0 if s["action"] == "_StoreTrueAction" else s["nargs"] or 1)
        assert nargs == 0 or kind is kinds[s["type"]]


def test_no_real_argument_is_a_near_miss() -> None:
    """Megatron's other arguments (0.16 and the repository's head) are not taken for
    misspellings of ours, as launch-script words or as from_megatron keys."""
    others = [o for o in RECORD["all_option_strings"].split() if o not in OPTIONS]
    words = " ".join(f"{o} 1" for o in others if o.startswith("--"))
    got = launch_arguments(f"torchrun pretrain_gpt.py --train-iters 10 {words} --lr 2")
    assert got == {"train_iters": 10, "lr": 2.0}
    dests = {**dict.fromkeys(RECORD["all_dests"].split()), **RECORD["defaults"]}
    assert sorted(from_megatron({**dests, "lr": 1.0, "train_iters": 9})) == ["lr", "weight_decay"]


# -- the reader on written scripts -----------------------------------------------------------

SCRIPT = """#!/bin/bash
# a comment, and a continued line
export BASE=${BASE:-3e-4}   # defaults to 3e-4
N=$(( 2 * (3 + 5) ))
ARGS=( --train-iters $((N * 100)) \\
       --lr $BASE )
ARGS+=("--lr-decay-style" 'cosine')
OTHER="--min-lr 1e-5 --lr-warmup-iters 10"
cat <<EOF > notes.txt
--lr 99 is not read from a here-document
EOF
torchrun --nproc_per_node 8 pretrain_gpt.py "${ARGS[@]}" $OTHER --save "$1" 2>&1 | tee log
"""


def test_a_written_script() -> None:
    assert launch_arguments(SCRIPT, variables={"1": "/ckpt"}) == {
        "train_iters": 1600,
        "lr": 3e-4,
        "lr_decay_style": "cosine",
        "min_lr": 1e-5,
        "lr_warmup_iters": 10,
    }
    assert launch_arguments(SCRIPT, variables={"BASE": "1e-3"})["lr"] == 1e-3
    assert training_argv(SCRIPT)[-2:] == ["--save", "${1}"]
    got = from_launch_script(SCRIPT)["lr"]
    theirs = megatron(
        {**RECORD["defaults"], **launch_arguments(SCRIPT), "global_batch_size": 1}, 1700
    )
    agree(got.curve(1700), theirs["lr"])


@pytest.mark.parametrize(
    ("script", "variables", "text"),
    [
        (
            "torchrun pretrain_gpt.py --train-iters 9 --lr $LR",
            None,
            "line 1: --lr is ${LR}, which the script does not set: pass variables={'LR': ...}",
        ),
        (
            "LR=$(python -c 'print(1e-4)')\ntorchrun pretrain_gpt.py --train-iters 9 --lr $LR",
            None,
            "--lr is $(python -c 'print(1e-4)'), a command substitution, which this reader does "
            "not run: pass variables={'LR': ...}",
        ),
        (
            "torchrun pretrain_gpt.py --lr 1 --train-iters $((STEPS * 2))",
            None,
            "--train-iters is $((STEPS * 2)), arithmetic on $STEPS, which the script does not "
            "set: pass variables={'STEPS': ...}",
        ),
        (
            'torchrun pretrain_gpt.py --train-iters 9 --lr 1 "$@"',
            None,
            "${@} may set --use-checkpoint-opt_param-scheduler (the arguments the script is run "
            "with): pass variables={'@': ...}",
        ),
        (
            "python pretrain_gpt.py --train-iters 9 --lr 1 --lr-warmup-iter 3",
            None,
            "--lr-warmup-iter is not a Megatron-LM argument (its parser takes no abbreviations);"
            " did you mean --lr-warmup-iters?",
        ),
        ("python pretrain_gpt.py --lr 1 --train-iters 1e6", None, "--train-iters '1e6' is not"),
        ("python pretrain_gpt.py --lr 1 --train-iters", None, "expects 1 argument(s)"),
        ("python pretrain_gpt.py --lr 1 --train-iters -1e3", None, "expects 1 argument(s)"),
        ("python pretrain_gpt.py --lr 1 --override-opt_param-scheduler=1", None, "no value"),
        (
            "python pretrain_gpt.py --lr 1 --train-iters 9\npython pretrain_gpt.py --lr 2",
            None,
            "training commands on lines 1 and 2",
        ),
        ("for s in 1 2; do python pretrain_gpt.py --lr $s; done", None, "in a loop"),
        ("python tools/preprocess_data.py --input x", None, "found no Megatron-LM training"),
        ("A='unclosed\npython pretrain_gpt.py", None, "unclosed '"),
        (
            "source env.sh\npython pretrain_gpt.py --train-iters 9 --lr $LR",
            None,
            "(it may come from `source` on line 1): pass variables={'LR': ...}",
        ),
        (
            '[ -n "$BIG" ] && LR=1 || LR=2\npython pretrain_gpt.py --train-iters 9 --lr $LR',
            None,
            "--lr is 1.0 or 2.0, as the conditional at line 1",
        ),
        (
            "python pretrain_gpt.py --train-iters 9 --lr 1 --use-checkpoint-opt_param-scheduler",
            None,
            "use_checkpoint_opt_param_scheduler (True) takes the scheduler's settings",
        ),
    ],
)
def test_refusals_name_the_argument(script: str, variables: dict | None, text: str) -> None:
    with pytest.raises(ValueError, match="from_") as info:
        from_launch_script(script, variables=variables)
    assert text in str(info.value)


def test_what_settles_a_refusal() -> None:
    script = '[ -n "$BIG" ] && LR=1 || LR=2\npython pretrain_gpt.py --train-iters 9 --lr $LR'
    assert launch_arguments(script, variables={"LR": 3})["lr"] == 3.0
    assert launch_arguments(
        "X=1\nX=${X:-5}\npython pretrain_gpt.py --lr $X", variables={"X": 7}
    ) == {"lr": 1.0}  # the script sets X plainly: its own value wins, as when it runs
    script = 'torchrun pretrain_gpt.py --train-iters 9 --lr 1 "$@"'
    assert launch_arguments(script, variables={"@": "--lr 2 --min-lr 0.5"}) == {
        "train_iters": 9, "lr": 2.0, "min_lr": 0.5}  # fmt: skip
    assert launch_arguments(script, variables={"@": ""}) == {"train_iters": 9, "lr": 1.0}
    # an unknown word after another option is its value; arguments the curves do not need may
    # stay unknown
    got = launch_arguments("python pretrain_gpt.py --save $CKPT --lr 1 --train-iters 9")
    assert got == {"lr": 1.0, "train_iters": 9}
    script = "python pretrain_gpt.py --lr 1 --train-iters 9 --lr-wsd-decay-iters $W"
    assert from_launch_script(script)["lr"] == from_megatron({"lr": 1.0, "train_iters": 9})["lr"]


# -- fuzzers --------------------------------------------------------------------------------

VALUES = {
    "--lr": st.floats(1e-6, 1.0).map(repr),
    "--min-lr": st.sampled_from(["0", "1e-6", ".5e-6", "1.0e-7"]),
    "--train-iters": st.integers(1, 10**6).map(str),
    "--lr-decay-style": st.sampled_from(["linear", "cosine", "WSD"]),
    "--lr-warmup-fraction": st.sampled_from([".01", "0.001", "0.3"]),
    "--global-batch-size": st.integers(1, 4096).map(str),
    "--rampup-batch-size": st.just("16 16 5859375"),
    "--override-opt_param-scheduler": st.just(""),
    "--seq-length": st.just("2048"),  # other arguments, which the reader skips
    "--fp16": st.just(""),
    "--data-path": st.just("/data/a b"),
}


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A launch script and the words its training command gets, written in many ways."""
    options = draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=8))
    lines, words = ["#!/bin/bash", "# generated"], []
    array: list[str] = []
    for k, option in enumerate(options):
        value = draw(VALUES[option])
        values = value.split() if option != "--data-path" else [value]
        ways = ["plain", "quoted", "var", "default", "array", "eq", "string", "nested", "export"]
        way = draw(st.sampled_from(ways + ["arith"] * values[0].isdigit() if values else ways))
        if option == "--data-path":
            way = draw(st.sampled_from(["quoted", "var"]))
        elif len(values) != 1:
            way = "plain"
        name = f"V{k}"
        if way == "plain":
            array.append(" ".join([option, *values]))
        elif way == "quoted":
            array.append(f"{option} " + " ".join(shlex.quote(v) for v in values))
        elif way == "var":
            lines.append(f"{name}={shlex.quote(values[0])}")
            array.append(f'{option} "${{{name}}}"')
        elif way == "default":
            array.append(f"{option} ${{UNSET_{k}:-{values[0]}}}")
        elif way == "array":
            lines.append(f"A{k}=(\n  {option}   # the option\n  {shlex.quote(values[0])}\n)")
            array.append(f'"${{A{k}[@]}}"')
        elif way == "eq":
            array.append(f"{option}={shlex.quote(values[0])}")
        elif way == "arith":
            lines.append(f"N{k}={values[0]}")
            array.append(f"{option} $(( (N{k} * 3 + $N{k}) / 4 ))")
        elif way == "nested":
            lines.append(f"N{k}={shlex.quote(values[0])}")
            array.append(f'{option} "${{UNSET_{k}:-${{N{k}}}}}"')
        elif way == "export":
            lines.append(f"export  E{k}={shlex.quote(values[0])}  # exported")
            array.append(f"{option} $E{k}")
        else:
            lines.append(f'S{k}="{option} {values[0]}"')
            array.append(f"$S{k}")
        words += [option, *values] if way != "eq" else [f"{option}={values[0]}"]
    continued = " \\\n    ".join(array)
    lines.append(f"torchrun --nproc_per_node 8 pretrain_gpt.py \\\n    {continued}")
    return "\n".join(lines) + "\n", [w for w in words if w != ""]


def bash(script: str, tmp: Path) -> list[str]:
    stub = tmp / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "torchrun").write_text(
        f"#!{BASH}\n{sys.executable} -c 'import json,sys; print(json.dumps(sys.argv[1:]))' \"$@\"\n"
    )
    (stub / "torchrun").chmod(0o755)
    env = {"PATH": f"{stub}{os.pathsep}/usr/bin:/bin"}
    out = subprocess.run([BASH, "-c", script], env=env, capture_output=True, text=True, check=True)
    argv = json.loads(out.stdout)
    return argv[argv.index("pretrain_gpt.py") + 1 :]


def argparse_reading(argv: list[str]) -> dict:
    """Python's argparse with the recorded specs of Megatron's options, allow_abbrev=False."""
    parser = argparse.ArgumentParser(allow_abbrev=False)
    kinds = {"int": int, "float": float, "str": str, None: None}
    for option, s in RECORD["options"].items():
        if s["action"] == "_StoreTrueAction":
            parser.add_argument(
                option, dest=s["dest"], action="store_true", default=argparse.SUPPRESS
            )
        else:
            parser.add_argument(option, dest=s["dest"], type=kinds[s["type"]], nargs=s["nargs"],
                                default=argparse.SUPPRESS)  # fmt: skip
    return vars(parser.parse_known_args(argv)[0])


@pytest.mark.skipif(BASH is None, reason="needs bash")
@given(case=scripts())
def test_fuzzed_scripts_read_as_bash_and_argparse_read_them(
    case: tuple[str, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    script, words = case
    assert training_argv(script) == words
    assert bash(script, tmp_path_factory.mktemp("bash")) == words
    assert launch_arguments(script) == argparse_reading(words)


@given(
    st.sampled_from(sorted(o for o in OPTIONS if OPTIONS[o][2])),
    st.data(),
)
def test_fuzzed_abbreviations_are_refused(option: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(3, len(option) - 1))
    word = option[:cut]
    script = f"python pretrain_gpt.py --train-iters 9 {word} 5"
    if word in OPTIONS:
        return
    with pytest.raises(ValueError, match=r"takes no abbreviations\); did you mean") as info:
        launch_arguments(script)
    assert option in str(info.value) or str(info.value).endswith("or ...?")


def anneal(after: float, long: bool) -> int:
    """A WSD anneal within the decay left after the warm-up (``after``), or a longer one, which
    Megatron starts inside the warm-up."""
    return int(after) + 3 if long else max(1, int(after / 2))


@given(
    fraction=st.one_of(st.sampled_from([0.01, 0.001, 0.3, 1 / 3]), st.floats(1e-4, 0.9)),
    train=st.integers(3, 400),
    decay=st.one_of(st.none(), st.integers(3, 400)),
    batch=st.sampled_from([None, 1, 3, 16, 96, 1536]),
    style=st.sampled_from(["linear", "cosine", "constant", "inverse-square-root", "WSD"]),
    wsd=st.sampled_from(["linear", "cosine", "exponential", "minus_sqrt"]),
    floor=st.sampled_from([None, "1e-5"]),
    init=st.sampled_from([None, "1e-6"]),
    samples=st.booleans(),
    long_anneal=st.booleans(),
)
def test_fuzzed_fractional_warmups_are_megatron_s(
    fraction: float, train: int, decay: int | None, batch: int | None, style: str, wsd: str,
    floor: str | None, init: str | None, samples: bool, long_anneal: bool,
) -> None:  # fmt: skip
    """Iteration-based (the warm-up is ``fraction * lr_decay_iters * batch`` samples) or
    sample-based training (``train`` iterations of the batch: lengths in samples)."""
    g = batch or 1
    if samples:
        batch, decay = g, None if decay is None else decay * g
        lines = f"--lr 3e-4 --train-samples {train * g} --lr-warmup-fraction {fraction!r} "
        lines += "" if decay is None else f"--lr-decay-samples {decay} "
        length = decay or train * g
        warm = fraction * length
        after = length - warm  # the decay after the warm-up, in the unit of the options
        lines += f"--lr-wsd-decay-samples {anneal(after, long_anneal)} "
    else:
        lines = f"--lr 3e-4 --train-iters {train} --lr-warmup-fraction {fraction!r} "
        lines += "" if decay is None else f"--lr-decay-iters {decay} "
        length = decay or train
        warm = fraction * (length * g)
        after = length - warm / g
        lines += f"--lr-wsd-decay-iters {anneal(after, long_anneal)} "
    lines += f"--lr-decay-style {style} --lr-wsd-decay-style {wsd} "
    lines += "" if batch is None else f"--global-batch-size {batch} "
    lines += "" if floor is None else f"--min-lr {floor} "
    lines += "" if init is None else f"--lr-warmup-init {init} "
    script = f"torchrun pretrain_gpt.py {lines}"
    a = {**RECORD["defaults"], **launch_arguments(script), "global_batch_size": g}
    theirs = megatron(a, train + 5)
    got = from_launch_script(script)["lr"]
    ours, single = got.curve(train + 5), np.array([got(t) for t in range(train + 5)])
    if not warm.is_integer():  # the warm-up ends inside an iteration: Megatron's own bits
        # One step at a time in Python's operations (1 - sqrt(r) is 1 - r ** 0.5: an ulp off
        # at times); arrays in NumPy's, whose cos and pow may round differently from libm's.
        if not (style == "WSD" and wsd == "minus_sqrt"):
            np.testing.assert_array_equal(single, theirs["lr"])
        if style in ("linear", "constant"):
            np.testing.assert_array_equal(ours, theirs["lr"])
    agree(ours, theirs["lr"])
    agree(single, theirs["lr"])


# -- the ramp of the batch size ----------------------------------------------------------------


@given(
    batch=st.sampled_from([32, 96, 1536]),
    start=st.sampled_from([1, 8, 16]),
    ramp=st.integers(1, 5000),
    samples=st.one_of(st.none(), st.integers(1000, 30000)),
    data=st.data(),
)
def test_fuzzed_ramps_are_megatron_s(
    batch: int, start: int, ramp: int, samples: int | None, data: st.DataObject
) -> None:
    step = data.draw(
        st.sampled_from([d for d in range(1, batch - start + 1) if (batch - start) % d == 0])
    )
    length = (
        f"--train-samples {samples} --lr-warmup-samples 300"
        if samples
        else "--train-iters 400 --lr-warmup-fraction 0.013"
    )
    script = (
        f"torchrun pretrain_gpt.py --lr 1e-3 --min-lr 1e-5 --lr-decay-style cosine {length} "
        f"--global-batch-size {batch} --rampup-batch-size {start} {step} {ramp} "
        "--weight-decay-incr-style linear --start-weight-decay 0 --end-weight-decay 0.1"
    )
    a = {**RECORD["defaults"], **launch_arguments(script)}
    iterations = run_length(script)
    if samples:  # Megatron's update_train_iters, with the real calculator
        calc = RampupBatchsizeNumMicroBatchesCalculator(batch, 1, 1, False, 0, start, step, ramp)
        count = consumed = 0
        while consumed <= ramp and consumed <= samples:
            calc.update(consumed, False)
            consumed += calc.get_current_global_batch_size()
            count += 1
        count += (samples - consumed) // batch if samples > consumed else 0
        assert iterations == count
    theirs = megatron(a, iterations + 5)
    ours = from_launch_script(script)
    for key in ("lr", "weight_decay"):
        agree(ours[key].curve(iterations + 5), theirs[key])


def test_a_ramp_needs_whole_increments() -> None:
    script = "python pretrain_gpt.py --lr 1 --train-iters 9 --global-batch-size 10 "
    script += "--rampup-batch-size 4 4 100"
    with pytest.raises(ValueError, match="whole number of increments"):
        from_launch_script(script)
    with pytest.raises(ValueError, match="ramp-up samples must be"):
        from_launch_script(script.replace("4 4 100", "4 3 0"))
    assert math.isfinite(from_launch_script(script.replace("4 4", "4 3"))["lr"](5))


def test_the_brief_s_warm_up_of_3_point_2_iterations() -> None:
    """``--lr-warmup-fraction 0.01`` of 320 iterations: Megatron warms up while ``n <= 3.2``
    and divides by 3.2; neither 3 nor 4 whole iterations give its values."""
    script = "torchrun pretrain_gpt.py --lr 3e-4 --train-iters 320 --lr-warmup-fraction 0.01"
    got = from_launch_script(script)["lr"]
    theirs = megatron(
        {**RECORD["defaults"], **launch_arguments(script), "global_batch_size": 1}, 330
    )
    np.testing.assert_array_equal([got(t) for t in range(330)], theirs["lr"])
    assert [got(t) for t in range(1, 4)] == [3e-4 * t / 3.2 for t in range(1, 4)]
    for whole in (3, 4):
        rounded = from_megatron({"lr": 3e-4, "train_iters": 320, "lr_warmup_iters": whole})["lr"]
        with pytest.raises(AssertionError):
            agree(rounded.curve(330), theirs["lr"])


def test_the_comparison_can_fail() -> None:
    name = "train_gpt3_175b_distributed.sh"
    theirs = megatron(RECORD["scripts"][name]["parsed"], 20_000)
    late = from_launch_script(DATA / name)["lr"]
    with pytest.raises(AssertionError):
        agree(np.array([late(t + 1) for t in range(20_000)]), theirs["lr"])
