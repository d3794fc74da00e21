"""from_detectron2 against detectron2's own numbers.

detectron2 cannot be installed beside the CPU torch here, so its ``get_cfg``,
``merge_from_file`` and ``build_lr_scheduler`` (commit 02b5c4e2 of facebookresearch/detectron2,
with fvcore 0.1.5.post20221221 and torch 2.13.0) were run outside the repository and their lr
at every iteration recorded in ``tests/data/detectron2/recorded.json`` (its README says how):
the shipped real configs and a grid of SOLVER settings are compared with those records. fvcore
and yacs are installed: ``composed`` builds detectron2's composition of fvcore's real
schedulers, checked against every recorded grid run, and the fuzzers compare the importer with
it, and the config reading with fvcore's ``CfgNode.merge_from_file`` (yacs' merge).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from schedalg.importers.detectron2 import (
    SOLVER_DEFAULTS,
    TOP_DEFAULTS,
    from_detectron2,
    load_solver,
    run_length,
)

DATA = Path(__file__).parent / "data" / "detectron2"
RECORD = json.loads((DATA / "recorded.json").read_text(encoding="utf-8"))
RTOL = 1e-12
MULTISTEP = "WarmupMultiStepLR"


def _fvcore(module: str) -> Any:
    """fvcore's module (the tests on recorded runs alone need no fvcore)."""
    return pytest.importorskip(f"fvcore.common.{module}", reason="fvcore is a test dependency")


def _read(source: Any, **kw: Any) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schedule = from_detectron2(source, **kw)
    return schedule, [str(w.message) for w in caught]


def _expected(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The recorded iterations and lrs: the whole curve from ``runs``, or the ``points``."""
    m = case["solver"]["MAX_ITER"]
    if not case["complete"]:
        points = np.array(case["points"])
        return points[:, 0].astype(np.int64), points[:, 1]
    lrs = np.empty(m)
    runs = case["runs"]
    for i, (t, value) in enumerate(runs):
        lrs[t : runs[i + 1][0] if i + 1 < len(runs) else m] = value
    return np.arange(m), lrs


def _assert_close(got: np.ndarray, want: np.ndarray, label: Any) -> None:
    bad = np.abs(got - want) > RTOL * np.abs(want)
    if bad.any():
        i = int(np.argmax(bad))
        raise AssertionError(f"{label}: at index {i}: {got[i]!r} != detectron2's {want[i]!r}")


# -- the shipped configs ------------------------------------------------------------------------


@pytest.mark.parametrize("case", RECORD["configs"], ids=lambda c: c["path"])
def test_shipped_config_is_detectron2s_curve(case: dict[str, Any]) -> None:
    root = DATA if case["path"].startswith("projects/") else None
    schedule, caught = _read(DATA / case["path"], config_root=root)
    ts, lrs = _expected(case)
    _assert_close(np.asarray(schedule(ts), dtype=float), lrs, case["path"])
    assert run_length(DATA / case["path"], config_root=root) == case["solver"]["MAX_ITER"]
    assert any("STEPS" in m for m in caught) == case["warned"]


@pytest.mark.parametrize("case", RECORD["configs"], ids=lambda c: c["path"])
def test_shipped_config_merges_as_detectron2(case: dict[str, Any]) -> None:
    root = DATA if case["path"].startswith("projects/") else None
    solver = json.loads(json.dumps(load_solver(DATA / case["path"], config_root=root)))
    # CenterNet2's add_centernet_config adds SOLVER keys these configs leave at its defaults.
    assert solver == {k: v for k, v in case["solver"].items() if k in SOLVER_DEFAULTS}


def test_defaults_are_detectron2s() -> None:
    recorded = RECORD["defaults"]
    assert json.loads(json.dumps(SOLVER_DEFAULTS)) == recorded["SOLVER"]
    kinds = {k: type(v).__name__ for k, v in SOLVER_DEFAULTS.items()}
    kinds.update(CLIP_GRADIENTS="CfgNode", AMP="CfgNode", WEIGHT_DECAY_BIAS="NoneType")
    assert kinds == recorded["SOLVER_types"]
    values = {k: v for k, v in TOP_DEFAULTS.items() if not isinstance(v, dict)}
    assert values == recorded["top_values"]
    sections = {k for k, kind in recorded["top"].items() if kind == "CfgNode"}
    assert {k for k, v in TOP_DEFAULTS.items() if isinstance(v, dict)} == sections


def test_a_readable_expression() -> None:
    schedule = from_detectron2(DATA / "configs/COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml")
    assert repr(schedule) == (
        "0.02 * sequence(linear(0.001, 1.0, 1000), constant(1.0), constant(0.1), "
        "constant(0.010000000000000002), at=[1000, 60000, 80000])"
    )


# -- the grid of recorded settings --------------------------------------------------------------


def _grid_id(case: dict[str, Any]) -> str:
    s = case["solver"]
    return f"{s['LR_SCHEDULER_NAME']}-{s['MAX_ITER']}-{s['WARMUP_ITERS']}-{s['STEPS']}"


@pytest.mark.parametrize("case", RECORD["grid"], ids=_grid_id)
def test_grid_is_detectron2s(case: dict[str, Any]) -> None:
    config = {"SOLVER": case["solver"]}
    if "error" in case:
        with pytest.raises(ValueError, match=r"^from_detectron2\(\): "):
            _read(config)
        return
    schedule, caught = _read(config)
    ts, lrs = _expected(case)
    _assert_close(np.asarray(schedule(ts), dtype=float), lrs, case["solver"])
    assert any("STEPS" in m for m in caught) == case["warned"]
    assert any("after the last iteration" in m for m in caught) == ("error_after_last" in case)


def composed(o: dict[str, Any]) -> Any:
    """``lr(t)``: detectron2's ``build_lr_scheduler`` and ``WarmupParamScheduler`` composition
    of fvcore's real schedulers with ``LRMultiplier``'s ``base_lr * m(t / max_iter)``; it raises
    where they do. ``test_composition_is_detectron2s`` checks it against every recorded run."""
    m, name = o["MAX_ITER"], o["LR_SCHEDULER_NAME"]
    ps = _fvcore("param_scheduler")
    if name == "WarmupMultiStepLR":
        steps = [x for x in o["STEPS"] if x <= m]
        values = [o["GAMMA"] ** k for k in range(len(steps) + 1)]
        sched = ps.MultiStepParamScheduler(values=values, milestones=steps, num_updates=m)
    elif name == "WarmupCosineLR":
        end = o["BASE_LR_END"] / o["BASE_LR"]
        assert 0.0 <= end <= 1.0, end
        sched = ps.CosineParamScheduler(1, end)
    else:
        sched = ps.StepWithFixedGammaParamScheduler(
            base_value=1.0, gamma=o["GAMMA"], num_decays=o["NUM_DECAYS"], num_updates=m
        )
    length, rescale = min(o["WARMUP_ITERS"] / m, 1.0), o["RESCALE_INTERVAL"]
    end = sched(0.0) if rescale else sched(length)
    start = o["WARMUP_FACTOR"] * sched(0.0)
    if o["WARMUP_METHOD"] == "constant":
        warm = ps.ConstantParamScheduler(start)
    else:
        warm = ps.LinearParamScheduler(start, end)
    scaling = ["rescaled", "rescaled" if rescale else "fixed"]
    multiplier = ps.CompositeParamScheduler(
        [warm, sched], interval_scaling=scaling, lengths=[length, 1 - length]
    )
    multiplier(0.0)  # LRMultiplier's constructor steps once
    return lambda t: o["BASE_LR"] * multiplier(t / m)


FAILURES = (ValueError, AssertionError, IndexError, ZeroDivisionError, RuntimeError)


def _composed_lrs(o: dict[str, Any], ts: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """The composition's lrs at ``ts`` (None if it fails before the run's end), and whether it
    fails at the hook's step after the last iteration."""
    try:
        lr = composed(o)
        values = np.array([lr(int(t)) for t in ts])
        lr(o["MAX_ITER"] - 1)
    except FAILURES:
        return None, False
    try:
        lr(o["MAX_ITER"])
    except FAILURES:
        return values, True
    return values, False


@pytest.mark.parametrize("case", RECORD["grid"], ids=_grid_id)
def test_composition_is_detectron2s(case: dict[str, Any]) -> None:
    """The composition the fuzzer trusts gives detectron2's recorded runs, bit for bit."""
    if "error" in case and case["at"] is None:
        with pytest.raises(FAILURES):
            composed(case["solver"])
        return
    if "error" in case:  # fails at an iteration of the run
        assert _composed_lrs(case["solver"], np.array([0]))[0] is None
        return
    ts, want = _expected(case)
    lrs, after = _composed_lrs(case["solver"], ts)
    assert lrs is not None and after == ("error_after_last" in case)
    assert np.array_equal(lrs, want)


# -- the fuzzer against the composition ---------------------------------------------------------


def _windows(o: dict[str, Any]) -> np.ndarray:
    """Iterations around every place fvcore's epsilon can move a boundary, and a few more."""
    m, w = o["MAX_ITER"], min(o["WARMUP_ITERS"], o["MAX_ITER"])
    if m <= 3000:
        return np.arange(m)
    slack = math.ceil(m * 1e-6) + 3
    spots = [0, w, m, *o["STEPS"], *(w + x * (m - w) / m for x in o["STEPS"])]
    n = o["NUM_DECAYS"] + 1
    spots += [k * m / n for k in range(1, n)] + [w + k * (m - w) / n for k in range(1, n)]
    keep = set(range(0, m, m // 300))
    for p in spots:
        keep |= set(range(max(0, int(p) - slack), min(m, int(p) + slack + 1)))
    return np.array(sorted(keep))


@st.composite
def solvers(draw: st.DrawFn) -> dict[str, Any]:
    m = draw(
        st.one_of(
            st.integers(1, 300),
            st.integers(301, 3000),
            st.sampled_from([999_999, 1_000_001, 1_234_567, 2_000_000, 3_000_003]),
        )
    )
    near = st.one_of(st.integers(0, m + 5), st.integers(max(0, m - 5), m + 5))
    steps = draw(st.lists(near, max_size=4).map(lambda s: sorted(set(s)) if s else s))
    if draw(st.booleans()) and steps:
        steps = draw(st.permutations(steps))
    base = draw(st.sampled_from([0.02, 0.001, 1.0, 0.3, 0.0]))
    ratio = draw(st.sampled_from([0.0, 0.01, 0.5, 1.0, 1.5]))
    return {
        "LR_SCHEDULER_NAME": draw(
            st.sampled_from(["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"])
        ),
        "MAX_ITER": m,
        "BASE_LR": base,
        "BASE_LR_END": base * ratio,
        "GAMMA": draw(st.sampled_from([0.1, 0.5, 0.9, 2.0, 1.0 / 3])),
        "STEPS": list(steps),
        "NUM_DECAYS": draw(st.integers(1, 9)),
        "WARMUP_FACTOR": draw(st.sampled_from([0.001, 1.0 / 3, 0.0, 1.0, 1.5])),
        "WARMUP_ITERS": draw(st.one_of(near, st.just(0), st.integers(0, 2 * m + 10))),
        "WARMUP_METHOD": draw(st.sampled_from(["linear", "constant"])),
        "RESCALE_INTERVAL": draw(st.booleans()),
    }


FALLING_WARMUP = {  # a warm-up from 1 down to GAMMA ** 4 over 249997 iterations
    **{k: v for k, v in SOLVER_DEFAULTS.items() if k not in ("CLIP_GRADIENTS", "AMP")},
    "MAX_ITER": 999_999, "BASE_LR": 0.02, "STEPS": [1, 2, 3, 4], "WARMUP_FACTOR": 1.0,
    "WARMUP_ITERS": 249_997,
}  # fmt: skip


@given(solvers())
@example(FALLING_WARMUP)
def test_fuzz_against_fvcore_composed_as_detectron2(o: dict[str, Any]) -> None:
    ts = _windows(o)
    want, after = _composed_lrs(o, ts)
    event("refused" if want is None else "read, failing after the run" if after else "read")
    if want is None:
        with pytest.raises(ValueError, match=r"^from_detectron2\(\): "):
            _read({"SOLVER": o})
        return
    schedule, caught = _read({"SOLVER": o})
    _assert_close(np.asarray(schedule(ts), dtype=float), want, o)
    assert any("after the last iteration" in m for m in caught) == after
    dropped = any(x > o["MAX_ITER"] for x in o["STEPS"])
    assert any("STEPS" in m for m in caught) == (dropped and o["LR_SCHEDULER_NAME"] == MULTISTEP)


def test_lr_overrides_base_lr() -> None:
    path = DATA / "CenterNet2/configs/CenterNet-S4_DLA_8x.yaml"
    solver = {**load_solver(path), "BASE_LR": 0.5}
    assert from_detectron2(path, lr=0.5) == from_detectron2({"SOLVER": solver})


# -- the reading against fvcore's CfgNode (yacs' merge) -----------------------------------------


def _detectron2_defaults() -> Any:
    """detectron2's defaults as a fvcore CfgNode: the recorded SOLVER and top level; the other
    sections take any key (projects add theirs; the importer does not read them)."""
    node = _fvcore("config").CfgNode
    recorded = RECORD["defaults"]
    solver = dict(recorded["SOLVER"])
    solver.update(STEPS=tuple(solver["STEPS"]))
    top = node(dict(recorded["top_values"]))
    for key, kind in recorded["top"].items():
        if kind == "CfgNode":
            top[key] = node(new_allowed=True)
    top.SOLVER = node(solver)
    return top


def _fvcore_solver(path: Path) -> Any:
    cfg = _detectron2_defaults()
    try:
        cfg.merge_from_file(str(path))
    except Exception as error:  # yacs raises KeyError, ValueError, AssertionError, ...
        return error
    return json.loads(json.dumps(cfg.SOLVER))


def _ours(path: Path) -> Any:
    try:
        return json.loads(json.dumps(load_solver(path)))
    except ValueError as error:
        return error


SCALARS = [
    "1e-3", "0.001", "1", "'1'", "'0.5'", "2.0e+5", "1_000", "[1000, 2000]", "(1000, 2000)",
    "'(1000,)'", "true", "True", "null", "'None'", "WarmupCosineLR", "'linear'", ".inf",
    "{ENABLED: true}", "'{1: 2}'", "''", "[]", "0x10", "-1", "{}", "{CLIP_VALUE: '2.5'}",
]  # fmt: skip
# YAML texts that give each default's type, directly or through literal_eval.
FITTING = {
    float: ["0.02", "1e-3", "'2.5e-4'", "0.5", "'1.0 / 3'", "1.5"],
    int: ["1000", "'90000'", "1_000", "0x10", "7"],
    tuple: ["[1000, 2000]", "(1000, 2000)", "'(1000,)'", "[]", "[10, 20.5]"],
    str: ["WarmupCosineLR", "'linear'", "constant", "'WarmupStepWithFixedGammaLR'"],
    bool: ["true", "True", "'False'", "no"],
    type(None): ["null", "0.5", "'None'"],
    dict: ["{ENABLED: true}", "{CLIP_VALUE: '2.5', CLIP_TYPE: norm}", "{}", "{ENABLE: true}"],
}
KEYS = [*SOLVER_DEFAULTS, "BASE_LRR", "STEP", "warmup_iters", "POLY_LR_POWER"]


@st.composite
def entries(draw: st.DrawFn) -> tuple[str, str]:
    key = (
        draw(st.sampled_from(KEYS))
        if draw(st.integers(0, 9)) == 0
        else draw(st.sampled_from(list(SOLVER_DEFAULTS)))
    )
    fitting = FITTING.get(type(SOLVER_DEFAULTS.get(key)), SCALARS)
    return key, draw(st.sampled_from(SCALARS if draw(st.integers(0, 6)) == 0 else fitting))


def _yaml(solver: list[tuple[str, str]], extra: str = "") -> str:
    body = "".join(f"  {key}: {value}\n" for key, value in solver)
    return extra + ("SOLVER:\n" + body if solver else "")


@given(
    st.lists(entries(), max_size=4),
    st.lists(entries(), max_size=4),
    st.sampled_from(["", "", "", "MODEL:\n  MASK_ON: true\n", "SOVLER: 1\n", "VIS_PERIOD: '5'\n"]),
)
def test_fuzz_reading_against_fvcore(
    base: list[tuple[str, str]], child: list[tuple[str, str]], extra: str
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "base.yaml").write_text(_yaml(base, extra), encoding="utf-8")
        text = "_BASE_: base.yaml\n" + _yaml(child)
        Path(folder, "child.yaml").write_text(text, encoding="utf-8")
        theirs, ours = _fvcore_solver(Path(folder, "child.yaml")), _ours(Path(folder, "child.yaml"))
    event("refused" if isinstance(theirs, Exception) else "read")
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert isinstance(theirs, Exception) and isinstance(ours, Exception), (theirs, ours)
        # The same first fault: yacs' exception and message, the importer's words for it.
        said = {
            "Non-existent config key": "has no key",
            "Type mismatch": "yacs refuses a value of another type",
            "Cannot inherit key": "cannot inherit key",
            "not iterable": "must hold a mapping",
        }
        words = [ours_ for theirs_, ours_ in said.items() if theirs_ in str(theirs)]
        assert len(words) == 1 and words[0] in str(ours), (theirs, ours)
    else:
        assert ours == theirs


# -- refusals -----------------------------------------------------------------------------------


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_base_outside_the_tree_is_refused() -> None:
    folder = DATA / "projects/PointRend/configs/InstanceSegmentation"
    path = folder / "pointrend_rcnn_R_50_FPN_1x_coco.yaml"
    with pytest.raises(ValueError, match=r"is outside the config tree .*pass config_root=DIR"):
        from_detectron2(path)
    assert run_length(path, config_root=DATA) == 90000


def test_escapes_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "secret.yaml", "SOLVER:\n  BASE_LR: 0.1\n")
    configs = tmp_path / "configs"
    for base in ("../secret.yaml", str(tmp_path / "secret.yaml"), "sub/../../secret.yaml"):
        path = _write(configs, "a.yaml", f"_BASE_: {json.dumps(base)}\n")
        with pytest.raises(ValueError, match="outside the config tree"):
            from_detectron2(path)
    os.symlink(tmp_path / "secret.yaml", configs / "link.yaml")
    path = _write(configs, "a.yaml", "_BASE_: link.yaml\n")
    with pytest.raises(ValueError, match="outside the config tree"):
        from_detectron2(path)
    path = _write(configs, "a.yaml", "_BASE_: https://example.com/Base-RCNN-FPN.yaml\n")
    with pytest.raises(ValueError, match="is a URL; not fetched"):
        from_detectron2(path)


def test_cycles_and_missing_bases_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "_BASE_: b.yaml\n")
    _write(tmp_path, "b.yaml", "_BASE_: [c.yaml, a.yaml]\n")
    _write(tmp_path, "c.yaml", "SOLVER:\n  MAX_ITER: 10\n")
    with pytest.raises(ValueError, match=r"a _BASE_ cycle: a.yaml -> b.yaml -> a.yaml"):
        from_detectron2(tmp_path / "a.yaml")
    _write(tmp_path, "self.yaml", "_BASE_: self.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        from_detectron2(tmp_path / "self.yaml")
    _write(tmp_path, "lost.yaml", "_BASE_: nowhere.yaml\n")
    with pytest.raises(ValueError, match=r"the _BASE_ 'nowhere.yaml' is not a file"):
        from_detectron2(tmp_path / "lost.yaml")


def test_unknown_keys_get_the_nearest_name() -> None:
    with pytest.raises(ValueError, match=r"no key 'SOLVER.BASE_LRR'; did you mean 'BASE_LR'\?"):
        from_detectron2({"SOLVER": {"BASE_LRR": 0.1}})
    with pytest.raises(ValueError, match=r"no key 'SOVLER'; did you mean 'SOLVER'\?"):
        from_detectron2({"SOVLER": {"BASE_LR": 0.1}})
    with pytest.raises(ValueError, match=r"SOLVER.LR_SCHEDULER_NAME 'WarmupCosinLR'; did you"):
        from_detectron2({"SOLVER": {"LR_SCHEDULER_NAME": "WarmupCosinLR"}})


def test_types_are_yacs() -> None:
    with pytest.raises(ValueError, match=r"SOLVER.BASE_LR must be a float .*got 1 \(int\)"):
        from_detectron2({"SOLVER": {"BASE_LR": 1}})
    assert from_detectron2({"SOLVER": {"BASE_LR": "1e-3"}}) == from_detectron2(
        {"SOLVER": {"BASE_LR": 0.001}}
    )


def test_lazy_configs_are_refused(tmp_path: Path) -> None:
    lazy = _write(tmp_path, "mask_rcnn.py", "from ..common.train import train\n")
    with pytest.raises(ValueError, match=r"mask_rcnn.py is a detectron2 LazyConfig: Python code"):
        from_detectron2(lazy)
    with pytest.raises(ValueError, match=r"'lr_multiplier' is a detectron2 LazyConfig's"):
        from_detectron2({"lr_multiplier": {"_target_": "x"}, "train": {"max_iter": 10}})


def test_other_refusals(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"REFERENCE_WORLD_SIZE = 8: DefaultTrainer rescales"):
        from_detectron2({"SOLVER": {"REFERENCE_WORLD_SIZE": 8}})
    with pytest.raises(ValueError, match=r"a _BASE_ is found from its file: pass the file's path"):
        from_detectron2({"_BASE_": "../Base-RCNN-FPN.yaml"})
    with pytest.raises(ValueError, match=r"VERSION must be 0, 1 or 2"):
        from_detectron2({"VERSION": 3})
    with pytest.raises(ValueError, match=r"known: WarmupCosineLR, WarmupMultiStepLR, Warmup"):
        from_detectron2({"SOLVER": {"LR_SCHEDULER_NAME": "WarmupPolyLR"}})
    unsafe = _write(tmp_path, "unsafe.yaml", "SOLVER:\n  STEPS: !!python/tuple [1, 2]\n")
    with pytest.raises(ValueError, match=r"only yaml.unsafe_load reads"):
        from_detectron2(unsafe)


def test_yaml_aliases_cannot_blow_up(tmp_path: Path) -> None:
    """29 lines naming 9**29 keys through aliases: each mapping is checked once, and merging
    them (a base listed twice) stops at a bound."""
    lines = ["a0: &a0 {x: 1, y: 2}"]
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} {{{', '.join(f'k{j}: *a{i - 1}' for j in range(9))}}}")
    _write(tmp_path, "b.yaml", "MODEL:\n" + "".join(f"  {line}\n" for line in lines))
    assert run_length(tmp_path / "b.yaml") == SOLVER_DEFAULTS["MAX_ITER"]
    _write(tmp_path, "c.yaml", "_BASE_: [b.yaml, b.yaml]\n")
    with pytest.raises(ValueError, match="more than 1000000 keys to merge"):
        from_detectron2(tmp_path / "c.yaml")
