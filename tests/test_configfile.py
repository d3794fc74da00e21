"""Config files are read as data, never executed: what is refused, with file, line and construct;
the caps on hostile input; the settings a schedule needs (base values, loop, hooks)."""

from __future__ import annotations

import json
import re

import pytest

from schedalg.mmengine import from_config, load_config, loop_arguments, read_config, read_settings

GOOD = """
# a typical MMEngine config, trimmed
import math  # imports are not run: the name is left out, as MMEngine leaves modules out
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.001, betas=(0.9, 0.999),
                                    weight_decay=0.05))
"""


def test_reads_a_typical_config(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(GOOD)
    settings = read_settings(path)
    assert settings["param_scheduler"][1] == dict(
        type="MultiStepLR", begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1
    )
    assert settings["base"] == {"lr": 0.001, "momentum": 0.9, "weight_decay": 0.05}
    assert settings["hook"] is None
    assert loop_arguments(settings["train_cfg"]) == {"max_epochs": 12}
    exprs = from_config(read_config(path), epoch_length=1000, max_epochs=12)
    assert exprs["lr"](0) == pytest.approx(0.001)
    assert "math" not in load_config(path)


def test_old_style_optimizer_and_json(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(
        "optimizer = dict(type='SGD', lr=0.01, momentum=0.9)\n"
        "param_scheduler = dict(type='StepLR', step_size=2, gamma=-0.5)\n"
    )
    assert read_settings(path)["base"] == {"lr": 0.01, "momentum": 0.9}
    assert read_config(path) == [{"type": "StepLR", "step_size": 2, "gamma": -0.5}]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps([dict(type="LinearLR", by_epoch=False, end=5)]))
    assert read_config(path) == [dict(type="LinearLR", by_epoch=False, end=5)]
    path.write_text(json.dumps({"param_scheduler": dict(type="LinearLR"), "train_cfg": {}}))
    assert read_settings(path) == {
        "param_scheduler": [dict(type="LinearLR")],
        "train_cfg": {},
        "base": {},
        "hook": None,
    }
    path.write_text('{"param_scheduler": {"type": "LinearLR", "end": NaN}}')
    with pytest.raises(ValueError, match="NaN"):
        read_config(path)


REFUSED = [
    ("__import__('os').system('touch {marker}')", r"the call __import__\('os'\).system"),
    ("dict(type=__import__('os').system('touch {marker}'))", "the call __import__"),
    ("[dict(type='LinearLR', end=open('{marker}', 'w').write('x'))]", "the call open"),
    ("dict(type='LinearLR', end=max(3, 4))", r"the call max\(...\)"),
    ("dict(type='LinearLR', end=(lambda: 3)())", "the call lambda: 3"),
    ("dict(type='LinearLR', end=lambda: 3)", "a lambda"),
    ("[dict(type='LinearLR', end=i) for i in range(3)]", "a list comprehension"),
    ("dict(type=f'{{1}}LR')", "an f-string"),
    ("dict(type='LinearLR', end=3 if x else 4)", "a conditional expression"),
    ("dict(type='LinearLR', end=x > 1)", "a comparison"),
    ("dict(type='LinearLR', end=10**10**10)", "more than 30 digits"),
    ("dict(type='LinearLR', end=" + "9" * 40 + ")", "more than 30 digits"),
    ("dict(type='LinearLR', end=len('ab'))", "the call len"),
    ("dict(type='LinearLR', end=1e999)", "non-finite"),
    ("dict(type='LinearLR', end=[0] * 10**9)", "more than 1000000 items"),
    ("dict(type='LinearLR', end='%d' % 3)", "string formatting"),
    ("dict(type='LinearLR', end=x.real)", "the attribute .real of a int"),
    ("dict(type=b'LinearLR')", "a bytes constant"),
    ("{{1, 2}}", "a set"),
    # sys is built into every Python: MMEngine reads this file as an old-style config (it executes
    # it) in a virtual environment too, where math, found outside sys.executable's tree, would
    # make it a lazy-import config instead.
    ("dict(type=sys.maxsize)", "the imported name 'sys'"),
]


@pytest.mark.parametrize(("value", "match"), REFUSED)
def test_what_needs_running_is_refused_and_nothing_runs(tmp_path, value, match):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.py"
    path.write_text("import sys\nx = 1\nparam_scheduler = " + value.format(marker=marker) + "\n")
    with pytest.raises(ValueError, match=match) as info:
        read_config(path)
    line = 1 if "sys." in value else 3  # an imported name is refused where it is imported
    assert f"{path}: line {line}: " in str(info.value)
    assert "param_scheduler needs it" in str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("statement", "line", "what"),
    [
        ("for i in range(2):\n    param_scheduler.append(dict(type='StepLR'))\n", 4, "a for loop"),
        ("if x:\n    param_scheduler = []\n", 4, "an if statement"),
        ("def f():\n    pass\nparam_scheduler = f\n", 4, "a function definition"),
        ("param_scheduler[0].update(end=int('4'))\n", 4, r"the call int\(...\)"),
        ("alias = param_scheduler[0]\nfoo(alias)\n", 5, r"the call foo\(...\)"),
        ("param_scheduler.sort()\n", 4, r"the call param_scheduler.sort\(...\)"),
        ("print(train_cfg)\n", 4, r"the call print\(...\)"),
    ],
)
def test_statements_not_run_refuse_what_they_may_change(tmp_path, statement, line, what):
    path = tmp_path / "cfg.py"
    path.write_text(
        "x = 1\ntrain_cfg = dict(max_epochs=2)\nparam_scheduler = [dict(type='LinearLR', end=4)]\n"
        + statement
    )
    with pytest.raises(ValueError, match=rf"cfg.py: line {line}: {what} is not evaluated"):
        read_settings(path)


def test_what_is_not_needed_may_need_running(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(
        "import math\nsizes = [2 ** i for i in range(4)]\n"
        "pipeline = [dict(size=s) for s in sizes]\n"
        "optim_wrapper = dict(optimizer=dict(lr=math.sqrt(2)))\n"
        "param_scheduler = [dict(type='ConstantLR', factor=0.5, end=4)]\n"
        "param_scheduler.append(dict(type='LinearLR', begin=2, end=4))\n"
    )
    settings = read_settings(path)
    assert len(settings["param_scheduler"]) == 2 and settings["base"] == {}
    with pytest.raises(ValueError, match="line 2: a list comprehension"):
        load_config(path)  # every key wanted
    assert load_config(path, keys=["param_scheduler", "nothing"])["param_scheduler"][0]["end"] == 4


def test_errors_mmengine_raises_too(tmp_path):
    path = tmp_path / "cfg.py"
    for text, match in [
        ("param_scheduler = dict(type='LinearLR', end=undefined)\n", "name 'undefined' is not"),
        ("a = dict(b=1)\nparam_scheduler = a['c']\n", "line 2: KeyError"),
        ("param_scheduler = [1][3]\n", "IndexError"),
        ("param_scheduler = 1 / 0\n", "ZeroDivisionError"),
        ("param_scheduler = 'a' - 1\n", "unsupported operand"),
        ("a = dict(b=1)\nparam_scheduler = a.b\n", "the attribute .b of a dict"),
        ("with open('x') as f:\n    pass\n", "a with statement other than"),
        ("param_scheduler = [\n", "parsed"),
        ("text = 1\nparam_scheduler = []\n", "'text' is reserved"),
        ("train_cfg = dict(max_epochs=3)\n", "no param_scheduler"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=match) as info:
            read_config(path)
        assert str(path) in str(info.value)


def test_bases_missing_cyclic_or_mixed(tmp_path):
    child, other = tmp_path / "child.py", tmp_path / "other.py"
    child.write_text("x = 1\n_base_ = ['./missing.py']\nparam_scheduler = []\n")
    with pytest.raises(
        ValueError, match=r"child.py: line 2: the base './missing.py' is not a file"
    ):
        read_config(child)
    child.write_text("_base_ = 'other.py'\n")
    other.write_text("_base_ = ['child.py']\n")
    with pytest.raises(
        ValueError, match=r"line 1: a _base_ cycle: child.py -> other.py -> child.py"
    ):
        read_config(child)
    other.write_text("from mmengine.config import read_base\nwith read_base():\n    pass\n")
    with pytest.raises(ValueError, match="mix the two styles"):
        read_config(child)
    child.write_text("_base_ = [x]\n")
    with pytest.raises(ValueError, match="_base_ must be a path or a list of paths"):
        read_config(child)
    child.write_text("_base_ = 'mmnotapackage::a/b.py'\n")
    with pytest.raises(
        ValueError, match="'mmnotapackage', which is not installed; give config_root"
    ):
        read_config(child)
    child.write_text("with read_base():\n    from .missing import *\n")
    with pytest.raises(ValueError, match=r"child.py: line 2: the base .missing is not a file"):
        read_config(child)


def test_hostile_files(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("param_scheduler = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_config(path)
    path.write_text("x = 1\n" * 800_000)
    with pytest.raises(ValueError, match="larger than"):
        read_config(path)
    # a diamond of bases, each read wherever it is inherited as MMEngine does: capped
    for i in range(18):
        (tmp_path / f"b{i}.py").write_text(f"_base_ = ['b{i + 1}.py', 'c{i + 1}.py']\n")
        (tmp_path / f"c{i}.py").write_text(f"_base_ = ['b{i + 1}.py']\n")
    (tmp_path / "b18.py").write_text("\n")
    (tmp_path / "c18.py").write_text("\n")
    with pytest.raises(ValueError, match="reads more than 2000 files"):
        read_config(tmp_path / "b0.py")
    other = tmp_path / "cfg.yaml"
    other.write_text("x")
    with pytest.raises(ValueError, match=r"\.py or \.json"):
        read_config(other)


def test_schedule_in_a_hook(tmp_path):
    path = tmp_path / "yolo.py"
    path.write_text(
        "param_scheduler = None\n"
        "default_hooks = dict(param_scheduler=dict(type='YOLOv5ParamSchedulerHook',"
        " scheduler_type='linear', lr_factor=0.01, max_epochs=300))\n"
    )
    settings = read_settings(path)
    assert settings["param_scheduler"] is None
    assert settings["hook"]["type"] == "YOLOv5ParamSchedulerHook"
    with pytest.raises(ValueError, match="in a hook"):
        read_config(path)


def test_type_names_as_mmengine_accepts_them(tmp_path):
    path = tmp_path / "new.py"
    path.write_text(
        "from mmengine.optim.scheduler.lr_scheduler import LinearLR\n"
        "from mmengine.runner.loops import IterBasedTrainLoop\n"
        "param_scheduler = [dict(type=LinearLR, by_epoch=False, end=4, _scope_='mmdet'),\n"
        "                   dict(type='mmengine.ConstantLR', factor=0.5, by_epoch=False)]\n"
        "train_cfg = dict(type=IterBasedTrainLoop, max_iters=8)\n"
    )
    settings = read_settings(path)
    assert settings["param_scheduler"][0]["type"] == (
        "mmengine.optim.scheduler.lr_scheduler.LinearLR"
    )
    loop = loop_arguments(settings["train_cfg"])
    assert loop == {"max_iters": 8}
    lr = from_config(settings["param_scheduler"], **loop)["lr"]
    assert repr(lr) == repr(
        from_config(
            [
                dict(type="LinearLR", by_epoch=False, end=4),
                dict(type="ConstantLR", factor=0.5, by_epoch=False),
            ],
            max_iters=8,
        )["lr"]
    )
    # torch's own LinearLR is another class (total_iters, no begin/end): not MMEngine's
    with pytest.raises(ValueError, match=r"got 'torch\.optim\.lr_scheduler\.LinearLR'"):
        from_config([dict(type="torch.optim.lr_scheduler.LinearLR")], max_iters=8)
    with pytest.raises(ValueError, match="did you mean 'IterBasedTrainLoop'"):
        loop_arguments(dict(type="mmengine.runner.IterBasedTrainLop", max_iters=3))
