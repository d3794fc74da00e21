"""Hostile config files against MMEngine's own ``Config.fromfile`` (issue 23, class 6).

The reader runs nothing, so what it cannot follow must be refused, by name, when a key it may
affect is read: ``exec``/``eval``, ``globals()``/``locals()``/``vars()`` (aliased too),
``__builtins__``, ``getattr``/``setattr``, frame and dunder attributes, ``global`` statements in
functions and classes, names bound by ``match``, ``except ... as``, loops and assignment
expressions, attribute assignments MMEngine rejects and ConfigDict attributes that are methods,
not keys. Generated files put one such construct at the top level, in an ``if``, a loop, a
``try`` or a function called later, before or after the key is set, in an old-style file, its
``_base_`` or a ``read_base()`` base. Every file is read by MMEngine too: the reader either
reads exactly what MMEngine reads, or refuses in one line that names the file, the line and the
construct; where MMEngine raises, the reader refuses. Nothing the generated files run touches
the interpreter's state (MMEngine runs them in this process).
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schedalg.mmengine import load_config, read_settings

mmengine_config = pytest.importorskip("mmengine.config")

KEY = "param_scheduler"
SET = "param_scheduler = [dict(type='LinearLR', end=4)]\n"
# Literals only: no name a construct may have rebound (dict may be).
RESET = "param_scheduler = [{'type': 'StepLR', 'step_size': 2}]\n"
NEW = "[dict(type='ConstantLR', factor=0.5)]"
SCALE = 5  # examples: this many times the profile's max_examples

# family -> (constructs, what a refusal names, a regex). A construct is statements (4-space
# indented lines nest); NEW is the value some of them give param_scheduler.
OPAQUE = {
    "exec": (
        [
            f'exec("param_scheduler = {NEW}")',
            'exec("x = 1")',
            f'exec(compile("param_scheduler = {NEW}", "x", "exec"))',
            f'exec("param_scheduler = {NEW}", globals())',
        ],
        "exec",
    ),
    "eval": (
        [f'y = eval("globals().update(param_scheduler={NEW})")', 'y = eval("1 + 1")'],
        "eval",
    ),
    "namespace": (
        [
            f"globals()['param_scheduler'] = {NEW}",
            f"globals().update(param_scheduler={NEW})",
            f"globals().setdefault('param_scheduler', {NEW})",
            f"locals()['param_scheduler'] = {NEW}",
            f"vars()['param_scheduler'] = {NEW}",
            f"g = globals\ng()['param_scheduler'] = {NEW}",
            f"names = vars()\nnames['param_scheduler'] = {NEW}",
            f"__builtins__['exec'](\"param_scheduler = {NEW}\")",
        ],
        r"globals|locals|vars|__builtins__",
    ),
    "reflection": (
        [
            f"def f():\n    pass\ngetattr(f, '__globals__')['param_scheduler'] = {NEW}",
            f"def f():\n    pass\nf.__globals__['param_scheduler'] = {NEW}",
            f"import sys\nsys._getframe().f_globals['param_scheduler'] = {NEW}",
            "class A:\n    pass\nsetattr(A, 'x', 1)",
            "import sys\nlimit = sys.getrecursionlimit()",
        ],
        r"getattr|setattr|__globals__|f_globals|_getframe|getrecursionlimit",
    ),
}
BINDING = {
    "global": (
        [
            f"def f():\n    global param_scheduler\n    param_scheduler = {NEW}\nf()",
            f"def f():\n    global param_scheduler\n    param_scheduler = {NEW}",
            f"def f():\n    def g():\n        global param_scheduler\n"
            f"        param_scheduler = {NEW}\n    g()\nf()",
            f"class A:\n    global param_scheduler\n    param_scheduler = {NEW}",
            "def f():\n    global param_scheduler\n    param_scheduler = 0\n"
            "    del param_scheduler\nf()",
        ],
        "a global statement",
    ),
    "binding": (
        [
            f"match {NEW}:\n    case param_scheduler:\n        pass",
            "try:\n    1 / 0\nexcept ZeroDivisionError as param_scheduler:\n    pass",
            f"[(param_scheduler := {NEW}) for _ in range(1)]",
            f"for param_scheduler in [{NEW}]:\n    pass",
            # sys, not math: whether math makes the file a new-style config depends on where
            # Python is installed (docs/mmengine-configs.md); sys is built in everywhere.
            "try:\n    from sys import maxsize as param_scheduler\nexcept ImportError:\n    pass",
        ],
        r"a match statement|a try statement|a list comprehension|a for loop",
    ),
}
# Placements: the construct as it is, or inside a block MMEngine runs.
WRAPPERS = {
    "top": ("{body}", ""),
    "if": ("if True:\n{body}", "an if statement"),
    "for": ("for _ in range(1):\n{body}", "a for loop"),
    "try": ("try:\n{body}\nexcept Exception:\n    pass", "a try statement"),
    "function": ("def run():\n{body}\nrun()", "a function definition|the call run"),
}


def indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.splitlines())


def mmengine(path: Path) -> dict | Exception:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cfg = mmengine_config.Config.fromfile(str(path), import_custom_modules=False)
        return cfg.to_dict()
    except Exception as error:  # MMEngine refuses the file: the reader must refuse it too
        return error


def assert_read_as_mmengine_or_refused(path: Path, files: list[Path], construct: str) -> str:
    """The reader reads the key as MMEngine does, or refuses naming file, line and construct;
    returns what it did ('read' or 'refused')."""
    theirs = mmengine(path)
    outcomes = []
    for read in (lambda: load_config(path, keys=[KEY]), lambda: read_settings(path)):
        try:
            ours = read()
        except ValueError as error:
            message = str(error)
            assert "\n" not in message, message
            if message.endswith("no param_scheduler in this config"):
                assert not isinstance(theirs, Exception) and KEY not in theirs, theirs
                outcomes.append("read")  # neither has one
                continue
            assert any(f"{f}: line " in message for f in files), message
            assert re.search(construct, message), message
            outcomes.append("refused")
            continue
        assert not isinstance(theirs, Exception), f"MMEngine raises {theirs!r}; read {ours!r}"
        assert repr(ours.get(KEY)) == repr(theirs.get(KEY)), (ours, theirs.get(KEY))
        outcomes.append("read")
    return outcomes[0]


@st.composite
def hostile_trees(draw):
    """(files by name, cfg.py the one read; what a refusal may name, a regex)."""
    families = {**OPAQUE, **BINDING}
    family = draw(st.sampled_from(sorted(families)))
    templates, named = families[family]
    body = draw(st.sampled_from(templates))
    wrapper, wrapper_named = WRAPPERS[draw(st.sampled_from(sorted(WRAPPERS)))]
    if wrapper != "{body}":
        body = wrapper.format(body=indent(body).rstrip("\n"))
    if family in BINDING and wrapper_named:
        named = f"{named}|{wrapper_named}"  # where the names it binds are refused from
    before = SET if draw(st.booleans()) else ""
    after = RESET if draw(st.integers(0, 3)) == 0 else ""
    where = draw(st.sampled_from(["file", "old base", "new base", "new base, by name"]))
    if where == "new base, by name" and not before:
        where = "new base"  # MMEngine cannot import a name the base may not have
    construct = before + "x = 1\n" + body + "\n" + after
    if where == "file":
        files = {"cfg.py": construct}
    elif where == "old base":
        files = {"cfg.py": "_base_ = ['base.py']\nother = 2\n", "base.py": construct}
    else:
        # read_base() imports the base's names: the ones the construct may set, too
        header = "from mmengine.config import read_base\nwith read_base():\n"
        names = "*" if where == "new base" else KEY
        files = {
            "cfg.py": f"{header}    from .base import {names}\nother = 2\n",
            "base.py": construct,
        }
    return files, named


@settings(max_examples=SCALE * settings.default.max_examples, derandomize=True)
@given(hostile_trees())
def test_hostile_files_are_read_as_mmengine_reads_them_or_refused_by_name(tree):
    files, named = tree
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).write_text(text)
        assert_read_as_mmengine_or_refused(root / "cfg.py", [root / n for n in files], named)


# -- what MMEngine raises on, and what reads other than the key --------------------------------

ATTRIBUTES = [
    # a plain dict has no attributes; MMEngine raises AttributeError
    ("x = dict(a=1)\nx.a = 2\n" + SET, {}, "setting the attribute .a of a dict"),
    ("x = dict(a=1)\ndel x.a\n" + SET, {}, "deleting the attribute .a of a dict"),
    ("x = {'a': 1}\ny = x.a\n" + SET, {}, "reading the attribute .a of a dict"),
    # a ConfigDict's own attributes are read-only, and read as its methods, not its keys
    (
        "_base_ = ['base.py']\n_base_.d.update = 3\n" + SET,
        {"base.py": "d = dict(a=1)\n"},
        "setting the attribute .update of a ConfigDict",
    ),
    (
        "_base_ = ['base.py']\nparam_scheduler = [dict(type='LinearLR', end=_base_.d.items)]\n",
        {"base.py": "d = dict(items=3)\n"},
        r"the attribute \.items of a ConfigDict",
    ),
    (
        "from mmengine.config import read_base\nwith read_base():\n    from .base import *\n"
        "d.keys = 1\n" + SET,
        {"base.py": "d = dict(keys=3)\n"},
        "setting the attribute .keys of a ConfigDict",
    ),
    (
        "from mmengine.config import read_base\nwith read_base():\n    from .base import *\n"
        "param_scheduler = [dict(type='LinearLR', end=d.pop)]\n",
        {"base.py": "d = dict(pop=3)\n"},
        r"the attribute \.pop of a ConfigDict",
    ),
]


@pytest.mark.parametrize(("text", "bases", "construct"), ATTRIBUTES)
def test_attributes_as_mmengine_treats_them(tmp_path, text, bases, construct):
    for name, base in bases.items():
        (tmp_path / name).write_text(base)
    path = tmp_path / "cfg.py"
    path.write_text(text)
    files = [path, *(tmp_path / n for n in bases)]
    assert assert_read_as_mmengine_or_refused(path, files, construct) == "refused"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        # issue 23's examples: each edits param_scheduler as MMEngine runs the file
        (SET + f'exec("param_scheduler = {NEW}")\n', r"line 2: the call exec\(\.\.\.\)"),
        (f'exec("param_scheduler = {NEW}")\n', r"line 1: the call exec\(\.\.\.\)"),
        (SET + f"globals()['param_scheduler'] = {NEW}\n", r"line 2: the call globals\("),
        (SET + f"locals()['param_scheduler'] = {NEW}\n", r"line 2: the call locals\("),
        (SET + f"vars()['param_scheduler'] = {NEW}\n", r"line 2: the call vars\("),
        (
            f"def f():\n    global param_scheduler\n    param_scheduler = {NEW}\nf()\n",
            "line 2: a global statement in the function f",
        ),
    ],
)
def test_the_examples_of_the_issue_are_refused_by_name(tmp_path, text, what):
    path = tmp_path / "cfg.py"
    path.write_text(text)
    assert mmengine(path)[KEY] == [dict(type="ConstantLR", factor=0.5)]
    with pytest.raises(ValueError, match=rf"cfg.py: {what}.*param_scheduler needs it"):
        read_settings(path)


def test_what_a_function_keeps_to_itself_is_read(tmp_path):
    """A function's own names, and module-level ``global``, are not the config's changes."""
    path = tmp_path / "cfg.py"
    path.write_text("global param_scheduler\n" + SET + "def f(param_scheduler=1):\n    pass\n")
    assert read_settings(path)[KEY] == mmengine(path)[KEY] == [dict(type="LinearLR", end=4)]


def test_a_construct_that_reaches_every_name_refuses_every_key(tmp_path):
    """After ``exec``/``globals()``, a key set from literals is refused too: the construct may
    have rebound any name, set the key after all, or kept the namespace as a value, which
    MMEngine then fails to copy."""
    path = tmp_path / "cfg.py"
    for text in [
        'exec("x = 1")\n' + RESET,
        "names = vars()\n" + RESET,  # MMEngine: RecursionError
        f"train_cfg = dict(max_epochs=3)\nglobals()['{KEY}'] = {NEW}\n",
    ]:
        path.write_text(text)
        theirs = mmengine(path)
        assert isinstance(theirs, Exception) or theirs[KEY]
        with pytest.raises(
            ValueError, match=r"line \d: the (call|built-in) .*param_scheduler needs"
        ):
            read_settings(path)
        with pytest.raises(ValueError, match=r"\(it may set any name\) is not evaluated \("):
            load_config(path)  # every key


def test_the_reader_knows_mmengines_configdict_attributes():
    from schedalg.importers.mmengine.configscope import CONFIGDICT_ATTRIBUTES

    assert set(dir(mmengine_config.ConfigDict)) == CONFIGDICT_ATTRIBUTES
