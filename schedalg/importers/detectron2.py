"""detectron2's ``SOLVER`` learning-rate schedule as a schedalg expression.

``from_detectron2(path_or_config, config_root=None, lr=None)`` reads a YAML config as
``get_cfg().merge_from_file(path)`` does and returns the lr of iteration ``t < MAX_ITER`` as
``build_lr_scheduler`` (``detectron2/solver/build.py``) makes it and the ``LRScheduler`` hook
steps it, once after every iteration: ``BASE_LR * m(t / MAX_ITER)``. Reading, as fvcore's
``load_yaml_with_base`` and yacs' ``merge_from_other_cfg`` do:

- ``_BASE_`` (a path or a list, relative to the including file) is read first and the file
  merged into it; a base must lie under ``config_root`` (default: the nearest enclosing folder
  named ``configs``, else the file's own): paths that leave it, URLs, cycles and missing files
  are errors. A mapping without ``_BASE_`` may be passed instead of a path.
- the keys go onto detectron2's defaults as yacs merges them: a string is read with
  ``ast.literal_eval`` (``BASE_LR: 1e-3`` is the YAML string ``'1e-3'``, so 0.001), the type must
  be the default's (a list for a tuple is cast; ``BASE_LR: 1`` is an error), and a key not in
  the defaults is an error with the nearest name. The top level and ``SOLVER`` are checked; the
  other sections are not read (projects add their own keys there, with their own code).
- ``SOLVER.REFERENCE_WORLD_SIZE`` other than 0 is refused (``DefaultTrainer`` then rescales
  ``BASE_LR``, ``MAX_ITER``, ``WARMUP_ITERS`` and ``STEPS`` by the run's GPUs), and a LazyConfig
  (``.py``: Python code, never run) too.

The multiplier ``m`` is fvcore's ``CompositeParamScheduler`` of a warm-up over ``L =
min(WARMUP_ITERS / MAX_ITER, 1)`` (``linear`` from ``WARMUP_FACTOR * s(0)`` to ``s(L)``, or to
``s(0)`` with ``RESCALE_INTERVAL``; ``constant``) and the scheduler ``s``: ``GAMMA ** k`` after
the ``k``-th of ``STEPS`` (those beyond ``MAX_ITER`` dropped with a warning, as detectron2 does),
a cosine from 1 to ``BASE_LR_END / BASE_LR``, or ``NUM_DECAYS`` equal steps of ``GAMMA``. fvcore
compares positions with ``WHERE_EPSILON = 1e-6`` (past a million iterations its boundaries come
early): every boundary is found by fvcore's own float operations at the iterations themselves,
and the cosine is read at fvcore's own position: the values are fvcore's to the bit except a
rising warm-up's ``linear``, a few float64 eps apart (a falling one, which would lose digits to
cancellation, is written in fvcore's own operations). Where fvcore fails (an ``IndexError``, a
division by zero) the config is refused; a failure at the step the hook takes after the last
iteration (``WarmupStepWithFixedGammaLR`` always fails there) is a warning.
"""

from __future__ import annotations

import ast
import bisect
import copy
import itertools
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from schedalg.algebra.arithmetic import maximum
from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, constant
from schedalg.algebra.timewarps import shift, stretch, warp
from schedalg.core import validators as check
from schedalg.core.node import nearest
from schedalg.curves.primitives import cosine, elapsed, linear
from schedalg.importers import options as opt

__all__ = ["SCHEDULERS", "SOLVER_DEFAULTS", "from_detectron2", "load_solver", "run_length"]

_FN = "from_detectron2"
BASE_KEY = "_BASE_"
SCHEDULERS = ("WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR")
METHODS = ("linear", "constant")  # SOLVER.WARMUP_METHOD
WHERE_EPSILON = 1e-6  # fvcore's ParamScheduler.WHERE_EPSILON

# detectron2/config/defaults.py: _C.SOLVER, every key with its default (its type is yacs' check).
# fmt: off
SOLVER_DEFAULTS: dict[str, Any] = {
    "LR_SCHEDULER_NAME": "WarmupMultiStepLR", "MAX_ITER": 40000, "BASE_LR": 0.001,
    "BASE_LR_END": 0.0, "MOMENTUM": 0.9, "NESTEROV": False, "WEIGHT_DECAY": 0.0001,
    "WEIGHT_DECAY_NORM": 0.0, "GAMMA": 0.1, "STEPS": (30000,), "NUM_DECAYS": 3,
    "WARMUP_FACTOR": 1.0 / 1000, "WARMUP_ITERS": 1000, "WARMUP_METHOD": "linear",
    "RESCALE_INTERVAL": False, "CHECKPOINT_PERIOD": 5000, "IMS_PER_BATCH": 16,
    "REFERENCE_WORLD_SIZE": 0, "BIAS_LR_FACTOR": 1.0, "WEIGHT_DECAY_BIAS": None,
    "CLIP_GRADIENTS": {"ENABLED": False, "CLIP_TYPE": "value", "CLIP_VALUE": 1.0, "NORM_TYPE": 2.0},
    "AMP": {"ENABLED": False},
}
# Its top level: the sections (whose keys other than SOLVER's are not read) and the values.
SECTIONS = ("MODEL", "INPUT", "DATASETS", "DATALOADER", "SOLVER", "TEST", "GLOBAL")
TOP_DEFAULTS: dict[str, Any] = {
    "VERSION": 2, **{name: {} for name in SECTIONS}, "OUTPUT_DIR": "./output", "SEED": -1,
    "CUDNN_BENCHMARK": False, "FLOAT32_PRECISION": "", "VIS_PERIOD": 0,
}
# fmt: on
_VALID = (tuple, list, str, int, float, bool, type(None))  # yacs' _VALID_TYPES
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MAX_BYTES = 4 << 20  # a config is a few kilobytes
MAX_FILES = 500  # file reads in one tree (fvcore re-reads a base wherever it is inherited)
MAX_DEPTH = 50  # bases of bases of ...
MAX_NODES = 1_000_000  # keys merged in one tree

Source = str | os.PathLike[str] | Mapping[str, Any]
Root = str | os.PathLike[str] | None


# -- reading the files (fvcore's load_yaml_with_base) ------------------------------------------


class _Tree:
    """One read: the directory the bases must lie in, and the count of files read."""

    def __init__(self, top: str, config_root: Root) -> None:
        here = probe = os.path.dirname(top)
        if config_root is None:  # detectron2's layout, and its projects': a ``configs`` tree
            while os.path.basename(probe) != "configs" and os.path.dirname(probe) != probe:
                probe = os.path.dirname(probe)
            root = probe if os.path.basename(probe) == "configs" else here
        else:
            root = os.path.realpath(os.fspath(config_root))
            if not os.path.isdir(root):
                raise ValueError(f"{_FN}(): config_root {os.fspath(config_root)!r} is no directory")
        self.root = root
        self.files = self.nodes = 0
        if not self.inside(top):
            raise ValueError(f"{_FN}(): {top} is not under config_root {root}")

    def inside(self, path: str) -> bool:
        return os.path.commonpath([self.root, path]) == self.root

    def read(self, path: str, stack: list[str]) -> Any:
        self.files += 1
        if self.files > MAX_FILES or len(stack) > MAX_DEPTH:
            raise ValueError(f"{_FN}(): {path}: more than {MAX_FILES} files or {MAX_DEPTH} levels")
        import yaml  # an optional dependency: only files need it

        try:
            if os.path.getsize(path) > MAX_BYTES:
                raise ValueError(f"{_FN}(): {path} is larger than {MAX_BYTES} bytes; not a config")
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
        except yaml.constructor.ConstructorError as error:
            # detectron2 then retries with yaml.unsafe_load, which runs what the tag names.
            said = f"a YAML tag only yaml.unsafe_load reads ({error.problem})"
            raise ValueError(f"{_FN}(): {path}: {said}; not read") from None
        except yaml.YAMLError as error:
            raise ValueError(f"{_FN}(): {path}: not YAML: {str(error).splitlines()[0]}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{_FN}(): cannot read {path}: {error}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{_FN}(): {path} must hold a mapping, got {type(data).__name__}")
        return data

    def load(self, path: str, stack: list[str]) -> dict[str, Any]:
        """The file merged over its ``_BASE_`` files, as fvcore's ``load_yaml_with_base``."""
        cfg = self.read(path, stack)
        if BASE_KEY not in cfg:
            return cfg
        names = cfg.pop(BASE_KEY)
        base: dict[str, Any] = {}
        for name in names if isinstance(names, list) else [names]:
            found = self.locate(path, name, stack)
            loaded = self.load(found, [*stack, path])
            if isinstance(names, list):
                self.inherit(found, loaded, base)
            else:
                base = loaded
        self.inherit(path, cfg, base)
        return base

    def inherit(self, path: str, a: dict[str, Any], b: dict[str, Any]) -> None:
        """fvcore's ``merge_a_into_b``: ``a``'s values over ``b``'s, nested mappings merged."""
        for key, value in a.items():
            self.nodes += 1  # YAML aliases share mappings: a few lines can name millions
            if self.nodes > MAX_NODES:
                raise ValueError(f"{_FN}(): {path}: more than {MAX_NODES} keys to merge")
            if isinstance(value, dict) and key in b:
                if not isinstance(b[key], dict):
                    raise ValueError(f"{_FN}(): {path}: cannot inherit key {key!r} from base")
                self.inherit(path, value, b[key])
            else:
                b[key] = value

    def locate(self, path: str, name: object, stack: list[str]) -> str:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{_FN}(): {path}: _BASE_ must name files, got {name!r}")
        if _URL.match(name):
            raise ValueError(f"{_FN}(): {path}: the _BASE_ {name!r} is a URL; not fetched")
        found = os.path.realpath(os.path.join(os.path.dirname(path), os.path.expanduser(name)))
        if not self.inside(found):
            raise ValueError(
                f"{_FN}(): {path}: the _BASE_ {name!r} is outside the config tree {self.root} "
                "(pass config_root=DIR to read bases under DIR)"
            )
        if found in stack or found == path:
            chain = " -> ".join(os.path.basename(p) for p in [*stack, path, found])
            raise ValueError(f"{_FN}(): {path}: a _BASE_ cycle: {chain}")
        if not os.path.isfile(found):
            raise ValueError(f"{_FN}(): {path}: the _BASE_ {name!r} is not a file ({found})")
        return found


def _valid(value: Any, key: str, seen: set[int]) -> None:
    """yacs' ``CfgNode(...)``: every value of the loaded tree a mapping or of a valid type (each
    mapping checked once, however many YAML aliases share it)."""
    if isinstance(value, dict):
        if id(value) in seen:
            return
        seen.add(id(value))
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{_FN}(): the key {k!r} of {key or 'the config'} is no string")
            _valid(v, f"{key}.{k}" if key else k, seen)
    elif type(value) not in _VALID:
        raise ValueError(f"{_FN}(): {key} = {value!r}: a {type(value).__name__} yacs does not hold")


# -- merging onto detectron2's defaults (yacs' _merge_a_into_b) --------------------------------


class _Text(dict[Any, Any]):
    """A mapping ``literal_eval`` made from a string: yacs' type check never matches it."""


def _decode(key: str, value: Any) -> Any:
    """yacs' ``_decode_cfg_value``: a string read as a Python literal where it is one."""
    if not isinstance(value, str):
        return value
    try:
        found = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value
    except (TypeError, RecursionError, MemoryError) as error:
        raise ValueError(f"{_FN}(): {key}: yacs cannot decode {value[:80]!r}: {error}") from None
    return _Text(found) if isinstance(found, dict) else found


def _coerce(key: str, value: Any, default: Any) -> Any:
    """yacs' ``_check_and_coerce_cfg_value_type``: the default's type, a list/tuple cast, or
    ``None`` for or from a valid type."""
    want, got = type(default), type(value)
    if got is want:
        return value
    if (value is None and want in _VALID) or (default is None and got in _VALID):
        return value
    if {want, got} == {list, tuple}:
        return want(value)
    name = "a section" if want is dict else f"a {want.__name__}"
    kind = "dict" if isinstance(value, dict) else got.__name__
    shown = "a section" if got is dict else f"{value!r} ({kind})"
    raise ValueError(
        f"{_FN}(): {key} must be {name} (detectron2's default is {default!r}), got {shown}; "
        "yacs refuses a value of another type"
    )


def _merge(loaded: Mapping[str, Any], defaults: dict[str, Any], prefix: str = "") -> None:
    for key, raw in loaded.items():
        full = f"{prefix}{key}"
        value = _decode(full, raw)
        if key not in defaults:
            raise ValueError(
                f"{_FN}(): detectron2's config has no key {full!r}{nearest(key, defaults)} "
                "(yacs: Non-existent config key)"
            )
        value = _coerce(full, value, defaults[key])
        if isinstance(value, dict) and not isinstance(value, _Text):
            if prefix or key == "SOLVER":  # the other sections are the projects' too
                _merge(value, defaults[key], f"{full}.")
        else:
            defaults[key] = value


def _read_file(name: str, config_root: Root) -> dict[str, Any]:
    path = os.path.realpath(name)
    if name.endswith(".py") or path.endswith(".py"):
        raise ValueError(
            f"{_FN}(): {name} is a detectron2 LazyConfig: Python code, which is not run to be "
            "read; only the YAML configs of get_cfg() are read"
        )
    if not os.path.isfile(path):
        raise ValueError(f"{_FN}(): no such config file: {name}")
    return _Tree(path, config_root).load(path, [])


def _foreign(loaded: Mapping[str, Any]) -> None:
    """Refuses a saved LazyConfig and a VERSION detectron2 does not read."""
    lazy = [key for key in ("lr_multiplier", "train", "optimizer") if key in loaded]
    if lazy and not any(key in loaded for key in TOP_DEFAULTS):
        raise ValueError(
            f"{_FN}(): {lazy[0]!r} is a detectron2 LazyConfig's: its objects are built by "
            "instantiate(), which is not run; only the YAML configs of get_cfg() are read"
        )
    version = loaded.get("VERSION", 2)
    if not check.is_integer(version) or not 0 <= version <= 2:
        raise ValueError(f"{_FN}(): VERSION must be 0, 1 or 2, got {version!r}")


def load_solver(source: Source, *, config_root: Root = None) -> dict[str, Any]:
    """detectron2's ``cfg.SOLVER`` after ``get_cfg().merge_from_file(path)`` (or after merging
    a mapping with no ``_BASE_``), as a dict: ``STEPS`` a tuple, ``CLIP_GRADIENTS`` a dict."""
    if isinstance(source, Mapping):
        if BASE_KEY in source:
            raise ValueError(f"{_FN}(): a _BASE_ is found from its file: pass the file's path")
        loaded: Mapping[str, Any] = source
    elif isinstance(source, (str, os.PathLike)):
        loaded = _read_file(os.fspath(source), config_root)
    else:
        raise TypeError(f"{_FN}(): expected a config path or mapping, got {source!r}")
    _valid(dict(loaded), "", set())
    _foreign(loaded)
    top = copy.deepcopy({**TOP_DEFAULTS, "SOLVER": SOLVER_DEFAULTS})
    _merge(loaded, top)
    return dict(top["SOLVER"])


# -- the schedule (detectron2/solver/build.py, lr_scheduler.py; fvcore's param_scheduler) ------


class _Composed:
    """fvcore's schedulers composed as ``build_lr_scheduler`` composes them, in fvcore's float
    operations: used to place every boundary and to compute the warm-up's two ends exactly."""

    def __init__(self, s: dict[str, Any], name: str, base: float) -> None:
        self.name = name
        self.m = m = opt.count(_FN, "SOLVER", "MAX_ITER", s["MAX_ITER"], minimum=1)
        warm = opt.count(_FN, "SOLVER", "WARMUP_ITERS", s["WARMUP_ITERS"])
        self.factor = opt.number(_FN, "SOLVER", "WARMUP_FACTOR", s["WARMUP_FACTOR"])
        self.method = opt.pick(_FN, "SOLVER.WARMUP_METHOD", s["WARMUP_METHOD"], METHODS)
        self.rescale = opt.flag(_FN, "SOLVER", "RESCALE_INTERVAL", s["RESCALE_INTERVAL"])
        self.warm_steps = min(warm, m)
        self.length = min(warm / m, 1.0)  # WarmupParamScheduler's warmup_length
        self.rest = 1.0 - self.length  # CompositeParamScheduler's lengths[-1]
        self.start = (self.length + self.rest) - self.rest  # where its second scheduler starts
        self.values: list[float] = []
        self.milestones: list[float] = []
        if name == "WarmupMultiStepLR":
            self._multistep(s)
        elif name == "WarmupCosineLR":
            end = opt.number(_FN, "SOLVER", "BASE_LR_END", s["BASE_LR_END"])
            self.end = end / base if base else math.nan  # detectron2 divides by zero there
            if not 0.0 <= self.end <= 1.0:
                raise ValueError(
                    f"{_FN}(): WarmupCosineLR needs 0 <= BASE_LR_END / BASE_LR <= 1 (detectron2 "
                    f"asserts it), got {end!r} / {base!r}"
                )
        else:
            gamma = opt.number(_FN, "SOLVER", "GAMMA", s["GAMMA"], above=0)
            decays = opt.count(_FN, "SOLVER", "NUM_DECAYS", s["NUM_DECAYS"], minimum=1)
            self.values = [1.0]
            for _ in range(decays):
                self.values.append(self.values[-1] * gamma)

    def _multistep(self, s: dict[str, Any]) -> None:
        gamma = opt.number(_FN, "SOLVER", "GAMMA", s["GAMMA"])
        self.milestones = kept = _steps(s["STEPS"], self.m)
        self.values = [gamma**k for k in range(len(kept) + 1)]
        bounds = [0, *kept, self.m]  # fvcore's MultiStepParamScheduler checks
        if self.m < len(self.values) or any(a >= b for a, b in itertools.pairwise(bounds)):
            raise ValueError(
                f"{_FN}(): WarmupMultiStepLR: SOLVER.STEPS {kept!r} must rise strictly from "
                f"above 0 to below MAX_ITER = {self.m}, fewer than it (fvcore's check)"
            )

    def in_main(self, t: int) -> bool:
        """CompositeParamScheduler's test: past the warm-up (its ``WHERE_EPSILON`` included)."""
        return t / self.m + WHERE_EPSILON > self.length

    def where(self, t: int) -> float:
        """The position the second scheduler is called at (ZeroDivisionError where fvcore's)."""
        where = t / self.m
        return (where - self.start) / self.rest if self.rescale else where

    def key(self, where: float) -> int:
        if self.name == "WarmupMultiStepLR":
            return bisect.bisect_right(self.milestones, int((where + WHERE_EPSILON) * self.m))
        return int((where + WHERE_EPSILON) * len(self.values))

    def scheduler(self, where: float) -> float:
        if self.name == "WarmupCosineLR":
            return self.end + 0.5 * (1 - self.end) * (1 + math.cos(math.pi * where))
        if self.name == "WarmupMultiStepLR" and where > 1.0:
            raise RuntimeError(f"where in ParamScheduler must be in [0, 1]: got {where}")
        return self.values[self.key(where)]

    def fails(self, t: int) -> str | None:
        """fvcore's error computing the lr of iteration ``t``, or None."""
        try:
            if self.in_main(t):
                self.scheduler(self.where(t))
        except (IndexError, ZeroDivisionError, RuntimeError) as error:
            return f"{type(error).__name__}: {error}"
        return None

    def first(self, lo: int, hi: int, found: Callable[[int], bool]) -> int:
        """The least ``t`` in ``[lo, hi]`` with ``found(t)`` (monotone), or ``hi + 1``."""
        hi += 1
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if found(mid) else (mid + 1, hi)
        return lo


def _steps(steps: Any, m: int) -> list[float]:
    """``STEPS`` up to ``MAX_ITER``: detectron2 drops (and warns of) the later ones."""
    if not isinstance(steps, (tuple, list)) or not all(check.is_real(x) for x in steps):
        raise ValueError(f"{_FN}(): SOLVER.STEPS must be a list of iterations, got {steps!r}")
    kept = [x for x in steps if x <= m]
    if len(kept) != len(steps):
        said = f"{_FN}(): SOLVER.STEPS {list(steps)!r} has values larger than MAX_ITER = {m}"
        warnings.warn(f"{said}; detectron2 ignores them (and warns so)", UserWarning, stacklevel=5)
    return kept


def _pieces(f: _Composed) -> tuple[list[Schedule], list[int]]:
    """The multiplier as pieces of a ``sequence`` and the iterations they start at."""
    try:  # WarmupParamScheduler's constructor
        s0 = f.scheduler(0.0)
        top = s0 if f.rescale else f.scheduler(f.length)
    except (IndexError, ZeroDivisionError, RuntimeError) as error:
        raise ValueError(
            f"{_FN}(): {f.name}: detectron2 fails building the scheduler "
            f"({type(error).__name__}: {error}): the warm-up reaches the end of the run"
        ) from None
    b = f.first(0, f.m, f.in_main)
    _failures(f, b)
    pieces = [_warmup(f, f.factor * s0, top)] if b > 0 else []
    at = [b] if 0 < b < f.m else []
    main, changes = _main(f, b) if b < f.m else ([], [])
    return pieces + main, at + changes


def _failures(f: _Composed, b: int) -> None:
    """Refuses where fvcore fails within the run; warns where it fails at the step the hook
    takes after the last iteration."""
    broken = f.fails(b) if b < f.m else None
    last = f.fails(f.m - 1) if b < f.m else None
    if broken or last:
        bad = b if broken else f.first(b, f.m - 1, lambda t: f.fails(t) is not None)
        raise ValueError(
            f"{_FN}(): {f.name}: detectron2 fails computing the lr of iteration {bad} of "
            f"{f.m} ({broken or last} in fvcore's schedulers)"
        )
    after = f.fails(f.m)
    if after:
        said = f"{_FN}(): {f.name}: detectron2's LRScheduler hook fails ({after}) at the step "
        said += f"it takes after the last iteration ({f.m - 1}); the lrs of the run are these"
        warnings.warn(said, UserWarning, stacklevel=4)


def _warmup(f: _Composed, start: float, top: float) -> Schedule:
    if f.method == "constant":
        return constant(start)
    if 0.0 <= start <= top:  # a few eps from fvcore's line: no cancellation
        return linear(start, top, f.warm_steps)
    w = elapsed() / f.m / f.length  # fvcore's own operations: a falling line loses digits
    return top * w + start * (1.0 - w)


def _main(f: _Composed, b: int) -> tuple[list[Schedule], list[int]]:
    if f.name == "WarmupCosineLR":
        # cosine(1) read at fvcore's own position x: cos(pi * x) with fvcore's roundings. With
        # RESCALE_INTERVAL x may dip below 0 where the epsilon ends the warm-up early: cos is even.
        curve: Schedule = cosine(1, end=f.end)
        x = (elapsed() / f.m - f.start) / f.rest
        return [shift(warp(curve, maximum(x, -x)) if f.rescale else stretch(curve, f.m), b)], []
    pieces: list[Schedule] = []
    at: list[int] = []
    t, key = b, f.key(f.where(b))
    while t < f.m:  # the key only grows: each change is found by bisection
        pieces.append(constant(f.values[key]))
        t = f.first(t + 1, f.m - 1, lambda u, k=key: f.key(f.where(u)) != k)  # type: ignore[misc]
        if t < f.m:
            at.append(t)
            key = f.key(f.where(t))
    return pieces, at


def _settings(source: Source, root: Root, lr: float | None) -> tuple[dict[str, Any], str, float]:
    s = load_solver(source, config_root=root)
    world = s["REFERENCE_WORLD_SIZE"]
    if world != 0:
        raise ValueError(
            f"{_FN}(): SOLVER.REFERENCE_WORLD_SIZE = {world!r}: DefaultTrainer rescales BASE_LR, "
            "MAX_ITER, WARMUP_ITERS and STEPS by the run's number of GPUs over it, which the "
            "config does not hold; set it to 0 to read the config as written"
        )
    name = opt.pick(_FN, "SOLVER.LR_SCHEDULER_NAME", s["LR_SCHEDULER_NAME"], SCHEDULERS)
    base = opt.number(_FN, "SOLVER", "BASE_LR", s["BASE_LR"] if lr is None else lr, at_least=0)
    return s, name, base


def from_detectron2(
    source: Source, *, config_root: Root = None, lr: float | None = None
) -> Schedule:
    """The lr of iteration ``t`` of a detectron2 YAML config (a path; or a mapping without
    ``_BASE_``), as its ``build_lr_scheduler`` and ``LRScheduler`` hook make it; ``lr``
    overrides ``SOLVER.BASE_LR`` (as ``SOLVER.BASE_LR`` given on the command line does, so
    ``WarmupCosineLR``'s end ratio is ``BASE_LR_END / lr``). See the module docstring."""
    s, name, base = _settings(source, config_root, lr)
    pieces, at = _pieces(_Composed(s, name, base))
    return base * sequence(*pieces, at=at)


def run_length(
    source: Source, *, steps_per_epoch: int | None = None, config_root: Root = None
) -> int:
    """``SOLVER.MAX_ITER``: detectron2 counts iterations (``steps_per_epoch`` is not used)."""
    s, _, _ = _settings(source, config_root, None)
    return opt.count(_FN, "SOLVER", "MAX_ITER", s["MAX_ITER"], minimum=1)
