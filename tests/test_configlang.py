"""The config language against MMEngine's own ``Config.fromfile``: synthetic config trees
(old-style ``_base_`` and new-style ``read_base()``) resolved by both, compared exactly."""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedalg.mmengine import load_config

mmengine_config = pytest.importorskip("mmengine.config")


def write(root: Path, files: dict[str, str]) -> Path:
    """The files of a config tree under ``root``; the first one is the config read."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / next(iter(files))


def mmengine(path: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        cfg = mmengine_config.Config.fromfile(str(path), import_custom_modules=False)
    return cfg.to_dict()


def same(path: Path) -> dict:
    ours, theirs = load_config(path), mmengine(path)
    assert repr(ours) == repr(theirs)  # values, container types and key order
    return ours


SCHEDULE = """
max_epochs = 12
base_lr = 0.02
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', end=max_epochs, milestones=[8, 11], gamma=0.1),
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=base_lr, momentum=0.9,
                     weight_decay=0.0001), clip_grad=None)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
model = dict(type='Net', backbone=dict(depth=50, frozen=(1, 2)), head=dict(loss='ce'))
"""

OLD_STYLE = {
    "merge": {
        "child.py": "_base_ = ['./base.py']\n"
        "optim_wrapper = dict(optimizer=dict(lr=0.01))\n"
        "model = dict(backbone=dict(depth=101))\n"
        "param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, by_epoch=False)]\n",
        "base.py": SCHEDULE,
    },
    "delete_and_lists": {
        "child.py": "_base_ = './base.py'\n"
        "model = dict(head=dict(_delete_=True, type='Other'), neck=dict(_delete_=True, a=1))\n"
        "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=9000)\n",
        "base.py": SCHEDULE,
    },
    "base_variables": {
        "configs/exp/child.py": "_base_ = ['../_base_/schedule.py', '../_base_/model.py']\n"
        "max_epochs = _base_.max_epochs * 2\n"
        "lr = {{_base_.base_lr}}\n"
        "steps = [{{_base_.max_epochs}}, {{ _base_.model.backbone.depth }}]\n"
        "param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=lr,"
        " begin=max_epochs // 2, end=max_epochs)]\n"
        "train_cfg = dict(max_epochs=max_epochs)\n"
        "backbone = _base_.model['backbone'].depth + 1\n",
        "configs/_base_/schedule.py": SCHEDULE,
        # sys, built into every Python: MMEngine takes a config importing math for a new-style
        # (lazy-import) one where math lies outside sys.executable's tree, as in a virtualenv.
        "configs/_base_/model.py": "model_cfg = dict(depth=18)\nmodel_depth = 18\n"
        "import sys\n"
        "name = '{{ fileBasenameNoExtension }}' + '{{fileExtname}}'\n",
    },
    "arithmetic_and_statements": {
        "child.py": "_base_ = 'base.py'\n"
        "a, b = 3, -2.5\n"
        "ops = [a + b, a - b, a * b, a / 2, 7 // a, 7 % a, a ** 2, 2 ** -1, -a, +b, 1 << 4,"
        " 'x' * 3, [0] * 2, (1,) + (2,), 'p' + 'q']\n"
        "items = [1, 2, 3][1:] + [*ops[:2], *(9, 8)]\n"
        "extra = dict(type='X')\nextra['k'] = items[-1]\n"
        "more = {'a': 1, **extra, 'b': dict(**extra, c=2)}\n"
        "numbers = [1, 2]\nnumbers += [3]\nalias = numbers\nnumbers.append(4)\n"
        "t = 3\nt *= 2\nt -= 1\n"
        "gone = 1\ndel gone\n"
        "del more['a']\n"
        "popped = extra.pop('k')\n"
        "got = more.get('zz', 5)\n"
        "copied = extra.copy()\ncopied.update(type='Y', z=None)\n"
        "pairs = dict([('u', 1), ('v', 2)])\n"
        "'''a docstring'''\n"
        "param_scheduler = dict(type='StepLR', step_size=t, gamma=ops[4] / 10)\n",
        "base.py": "unused = True\n",
    },
    "base_mutation": {
        # the child changes its base's ConfigDicts in place: MMEngine's ConfigDict.update
        # merges nested dicts, and the merge then sees the changed base
        "child.py": "_base_ = ['base.py']\n"
        "sched = _base_.param_scheduler\n"
        "sched[1].update(dict(milestones=[6, 9]))\n"
        "_base_.model.update(backbone=dict(depth=34), extra=1)\n"
        "_base_.model.head.loss = 'focal'\n"
        "wrapper = _base_.optim_wrapper\n"
        "wrapper.optimizer.lr *= 0.5\n",
        "base.py": SCHEDULE,
    },
    "json_bases": {
        "child.py": "_base_ = ['base.json']\ntrain_cfg = dict(max_epochs=3)\n",
        "base.json": '{"param_scheduler": [{"type": "ConstantLR", "factor": 0.5}],'
        ' "train_cfg": {"max_epochs": 1, "by_epoch": true}, "w": {{_base_.v}}, "_base_": "v.json"}',
        "v.json": '{"v": [1.5, null]}',
    },
}


@pytest.mark.parametrize("name", sorted(OLD_STYLE))
def test_old_style_trees_resolve_as_mmengine_does(tmp_path, name):
    same(write(tmp_path, OLD_STYLE[name]))


def test_environment_variables_and_deleted_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHEDALG_TEST_EPOCHS", "7")
    path = write(
        tmp_path,
        {
            "c.py": "_base_ = 'b.py'\nn = {{'$SCHEDALG_TEST_EPOCHS:3'}}\n"
            "m = '{{$SCHEDALG_NOT_SET:x}}'\n"
            "new = dict(_delete_=True, a=1)\n",
            "b.py": "k = 1\n",
        },
    )
    assert same(path)["n"] == 7
    assert load_config(path)["new"] == {"_delete_": True, "a": 1}  # kept: nothing to delete


NEW_STYLE = {
    "read_base": {
        "configs/exp/child.py": "from mmengine.config import read_base\n"
        "from mmengine.optim.scheduler.lr_scheduler import CosineAnnealingLR as Cos\n"
        "from torch.optim import AdamW\n"
        "import mmengine.runner.loops as loops\n"
        "import mmengine.optim\n"
        "with read_base():\n"
        "    from .._base_.schedule import *\n"
        "    from .._base_.model import model_cfg as mc, depth\n"
        "optim_wrapper.update(optimizer=dict(type=AdamW, lr=base_lr, betas=(0.9, 0.99)))\n"
        "model.update(dict(backbone=dict(depth=depth)))\n"
        "model.head.loss = mc\n"
        "plain = dict(a=dict(b=1))\nplain.update(a=dict(c=2))\n"
        "param_scheduler.append(dict(type=Cos, T_max=max_epochs, by_epoch=True))\n"
        "param_scheduler[0]['end'] = 100\n"
        "train_cfg = dict(type=loops.IterBasedTrainLoop, max_iters=max_epochs * 1000)\n"
        "other = mmengine.optim.LinearLR\n"
        "merged = dict(x=1)\n",
        "configs/_base_/schedule.py": "from mmengine.optim import LinearLR, MultiStepLR\n"
        + SCHEDULE.replace("'LinearLR'", "LinearLR").replace("'MultiStepLR'", "MultiStepLR"),
        "configs/_base_/model.py": "model_cfg = dict(type='Loss')\ndepth = 34\n",
    },
    "merge_method": {
        "configs/child.py": "with read_base():\n    from ._base_.schedule import *\n"
        "model.merge(dict(backbone=dict(_delete_=True, kind='vit'), head=dict(loss='l1')))\n"
        "optim_wrapper = dict(clip_grad=dict(max_norm=1.0))  # replaces: no merge here\n"
        "del max_epochs\n",
        "configs/_base_/schedule.py": SCHEDULE,
    },
}


@pytest.mark.parametrize("name", sorted(NEW_STYLE))
def test_new_style_trees_resolve_as_mmengine_does(tmp_path, name):
    ours = same(write(tmp_path, NEW_STYLE[name]))
    if name == "read_base":
        # type names imported in the config are their dotted names, as MMEngine writes them
        assert ours["param_scheduler"][-1]["type"] == (
            "mmengine.optim.scheduler.lr_scheduler.CosineAnnealingLR"
        )
        assert ours["optim_wrapper"]["optimizer"]["type"] == "torch.optim.AdamW"


@pytest.fixture
def package_root(tmp_path, monkeypatch):
    """An installed-looking package ``mmdet`` with ``.mim/configs``, found by MMEngine through
    ``find_spec`` (its ``pkg_resources`` lookup is faked to find no distribution)."""
    fake = types.ModuleType("pkg_resources")

    class DistributionNotFound(Exception):
        pass

    def get_distribution(name):
        raise DistributionNotFound(name)

    fake.DistributionNotFound = DistributionNotFound  # type: ignore[attr-defined]
    fake.get_distribution = get_distribution  # type: ignore[attr-defined]
    site = tmp_path / "site"
    files = {"__init__.py": "", ".mim/model-index.yml": "Import: []\n"}
    files[".mim/configs/_base_/schedule.py"] = SCHEDULE
    write(site, {f"mmdet/{name}": text for name, text in files.items()})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(sys.modules, "pkg_resources", fake)
    monkeypatch.setattr("importlib.reload", lambda module: module)
    return site / "mmdet" / ".mim" / "configs"


def test_package_bases_get_their_scope(tmp_path, package_root):
    path = write(
        tmp_path / "work",
        {"c.py": "_base_ = ['mmdet::_base_/schedule.py']\ntrain_cfg = dict(max_epochs=24)\n"},
    )
    ours = same(path)
    assert ours["param_scheduler"][0]["_scope_"] == "mmdet"
    # the same tree found through a config root instead of the installed package
    copy = tmp_path / "checkout" / "configs"
    write(copy, {"_base_/schedule.py": SCHEDULE.replace("0.02", "0.04")})
    for root in (copy, {"mmdet": str(copy)}):
        assert load_config(path, config_root=root)["optim_wrapper"]["optimizer"]["lr"] == 0.04


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.integers(-50, 50).map(str),
        st.floats(-100, 100, allow_nan=False).map(repr),
        st.sampled_from(["a", "b", "lst[0]", "cfg['x']", "_base_.k", "_base_.d.v"]),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%"]), inner)
        return st.one_of(
            binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"), inner.map(lambda e: f"-({e})")
        )

    return st.recursive(leaves, extend, max_leaves=6)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(expression=_expressions())
def test_arithmetic_matches_mmengine(tmp_path_factory, expression):
    root = tmp_path_factory.mktemp("arith")
    path = write(
        root,
        {
            "c.py": f"_base_ = 'b.py'\na = 3\nb = 0.5\nlst = [2, 4]\ncfg = dict(x=7)\n"
            f"value = {expression}\n",
            "b.py": "k = 5\nd = dict(v=-1.25)\n",
        },
    )
    try:
        theirs = mmengine(path)
    except ZeroDivisionError:
        with pytest.raises(ValueError, match="ZeroDivisionError"):
            load_config(path)
        return
    assert repr(load_config(path)["value"]) == repr(theirs["value"])
