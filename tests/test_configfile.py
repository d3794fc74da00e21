"""Config files are read as literals, never executed."""

from __future__ import annotations

import json
import re

import pytest

from schedalg.mmengine import from_config, loop_arguments, read_config, read_settings

GOOD = """
# a typical MMEngine config, trimmed
import os  # imports and other statements are ignored, never run
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
"""


def test_reads_a_typical_config(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(GOOD)
    settings = read_settings(path)
    assert settings["param_scheduler"][1] == dict(
        type="MultiStepLR", begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1
    )
    assert settings["train_cfg"]["max_epochs"] == 12
    assert loop_arguments(settings["train_cfg"]) == {"max_epochs": 12}
    exprs = from_config(
        read_config(path), epoch_length=1000, **loop_arguments(settings["train_cfg"])
    )
    assert exprs["lr"](0) == pytest.approx(0.001)


def test_literal_forms(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(
        "param_scheduler = {'type': 'StepLR', 'step_size': 2, 'gamma': -(-0.5), 'x': (1, None),"
        " 'y': True}\n"
    )
    # '-(-0.5)' is a sign on a sign: refused, only a sign on a number is a literal
    with pytest.raises(ValueError, match="line 1"):
        read_config(path)
    path.write_text("param_scheduler = {'type': 'StepLR', 'step_size': 2, 'gamma': -0.5}\n")
    assert read_config(path) == [{"type": "StepLR", "step_size": 2, "gamma": -0.5}]


def test_json(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps([dict(type="LinearLR", by_epoch=False, end=5)]))
    assert read_config(path) == [dict(type="LinearLR", by_epoch=False, end=5)]
    path.write_text(json.dumps({"param_scheduler": dict(type="LinearLR"), "train_cfg": {}}))
    assert read_settings(path) == {
        "param_scheduler": [dict(type="LinearLR")],
        "train_cfg": {},
        "base": {},
    }
    optimizer = dict(type="AdamW", lr=0.001, betas=[0.9, 0.999], weight_decay=0.05)
    path.write_text(json.dumps({"param_scheduler": [], "optim_wrapper": dict(optimizer=optimizer)}))
    assert read_settings(path)["base"] == {"lr": 0.001, "momentum": 0.9, "weight_decay": 0.05}
    path.write_text('{"param_scheduler": {"type": "LinearLR", "end": NaN}}')
    with pytest.raises(ValueError, match="NaN"):
        read_config(path)


MALICIOUS = [
    ("__import__('os').system('touch {marker}')", "call __import__"),
    ("dict(type=__import__('os').system('touch {marker}'))", "call __import__"),
    ("[dict(type='LinearLR', end=open('{marker}', 'w').write('x'))]", "call open"),
    ("dict(type='LinearLR').update(end=3)", "call dict\\(type='LinearLR'\\).update"),
    ("dict(type=os.path)", "attribute access"),
    ("dict(type='LinearLR', end=max_epochs)", "the name 'max_epochs'"),
    ("dict(type='LinearLR', end=(lambda: 3)())", "call"),
    ("dict(type='LinearLR', end=lambda: 3)", "a lambda"),
    ("[dict(type='LinearLR', end=i) for i in range(3)]", "a comprehension"),
    ("dict(type=f'{{1}}LR')", "an f-string"),
    ("dict(type='LinearLR', end=10**10**10)", "arithmetic"),
    ("dict(type='LinearLR', end=2*6)", "arithmetic"),
    ("dict(type='LinearLR', **{{'end': 3}})", "\\*\\* unpacking"),
    ("dict(type='LinearLR', end=1e999)", "non-finite"),
    ("dict(type='LinearLR', end=[1][0])", "a subscript"),
    ("{{1, 2}}", "a set"),
    ("dict(type=b'LinearLR')", "bytes"),
]


@pytest.mark.parametrize(("value", "match"), MALICIOUS)
def test_anything_but_literals_is_refused_and_nothing_runs(tmp_path, value, match):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.py"
    path.write_text("x = 1\n\nparam_scheduler = " + value.format(marker=marker) + "\n")
    with pytest.raises(ValueError, match=match) as info:
        read_config(path)
    assert str(path) in str(info.value) and "line 3" in str(info.value)
    assert not marker.exists()


def test_syntax_errors_huge_numbers_and_other_files_are_clear(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("param_scheduler = [\n")
    with pytest.raises(ValueError, match="parsed"):
        read_config(path)
    path.write_text("param_scheduler = dict(end=" + "9" * 5000 + ")\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_config(path)
    path.write_text("train_cfg = dict(max_epochs=3)\n")
    with pytest.raises(ValueError, match="no param_scheduler"):
        read_config(path)
    other = tmp_path / "cfg.yaml"
    other.write_text("x")
    with pytest.raises(ValueError, match=r"\.py or \.json"):
        read_config(other)
    path.write_text("param_scheduler = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_config(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("param_scheduler += [dict(type='StepLR', step_size=2)]\n", 2),
        ("param_scheduler[0]['end'] = 5\n", 2),
        ("param_scheduler.append(dict(type='StepLR', step_size=2))\n", 2),
        ("param_scheduler: list = []\nparam_scheduler[0] = 1\n", 3),
        ("del param_scheduler\n", 2),
        ("train_cfg['max_epochs'] = 3\n", 2),
        ("train_cfg.update(max_epochs=3)\n", 2),
        ("a, param_scheduler = 1, 2\n", 2),
    ],
)
def test_later_changes_to_the_read_names_are_refused(tmp_path, text, line):
    path = tmp_path / "cfg.py"
    path.write_text("param_scheduler = [dict(type='LinearLR', end=4)]\n" + text)
    with pytest.raises(ValueError, match=rf"cfg.py: line {line}: this statement changes"):
        read_settings(path)


@pytest.mark.parametrize(
    "text",
    [
        "_base_ = ['./base.py']\nparam_scheduler = dict(milestones=[16, 22])\n",
        "_base_ = './base.py'\nparam_scheduler = [dict(type='LinearLR', end=4)]\n",
    ],
)
def test_base_inheritance_is_not_followed_and_says_so(tmp_path, text):
    path = tmp_path / "child.py"
    path.write_text(text)
    with pytest.raises(ValueError, match="_base_ inheritance is not followed"):
        read_settings(path)
