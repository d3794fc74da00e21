"""Real OpenMMLab configs: resolved by MMEngine, replayed by MMEngine, compared with schedalg.

The corpus is ``tests/data/openmmlab/configs.tar.xz``: the config files of mmdetection and
mmpretrain that have a ``param_scheduler`` once MMEngine resolves them, with every file their
``_base_`` chains and ``read_base()`` imports reach (see ``tests/data/openmmlab/README.md``).
Each config is

- resolved by MMEngine's own ``Config.fromfile`` (a ``pkg::path`` base or an absolute
  ``read_base()`` import of a package that is not installed is found in the corpus: the corpus
  is the fake package root),
- replayed by MMEngine's real schedulers as its Runner does (``mmengine_oracle.simulate``) at two
  epoch lengths, and compared with ``from_config`` on what MMEngine resolved (route a),
- read from its file by schedalg (``read_settings``) and compared with what MMEngine resolved
  (route b): the same schedulers, loop and base values give the same expression.

``python -m tests.mmengine_coverage [DIR]`` prints the coverage table: files read, exact, refused
by reason, per repository (DIR: an unpacked corpus or a checkout's ``configs`` trees laid out as
the archive is; default: the shipped archive).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import sys
import tarfile
import tempfile
import types
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mmengine_oracle import simulate

from schedalg.mmengine import from_config, loop_arguments, read_settings

ARCHIVE = Path(__file__).resolve().parent / "data" / "openmmlab" / "configs.tar.xz"
RTOL = 1e-12
# The repositories of the corpus: directory in the archive -> the Python package whose
# ``pkg::path`` bases and ``pkg.configs`` imports point into it, and the size of the data set most
# of its configs train on (COCO train2017, ImageNet-1k): with the batch the config's name gives
# (``8xb32``: 8 GPUs of 32), its realistic epoch length (see ``realistic_length``).
REPOSITORIES = {"mmdetection": ("mmdet", 117_266), "mmpretrain": ("mmpretrain", 1_281_167)}
# How many configs schedalg's reader reads from their files exactly as MMEngine resolves them
# (route b); the corpus test keeps it from going down.
READ_FROM_FILES = 1360
# A config MMEngine itself refuses at an epoch length (a window that ends before it begins):
# from_config refuses it too, which is the same behaviour.
BOTH_REFUSE = "MMEngine refuses it too"
SHORT = 7  # the short epoch length every config is also replayed at
# Where replays at the realistic epoch length stop: their first epochs (warmups, the first
# milestones, the first epoch boundaries) at the real scale; the whole run, every milestone and
# the end are replayed at the short epoch length.
MAX_REPLAY = 20_000


@dataclasses.dataclass
class Resolved:
    """What MMEngine resolved from one config file."""

    repository: str
    path: str  # relative to the corpus root
    param_scheduler: list[dict[str, Any]]
    train_cfg: dict[str, Any]
    base: dict[str, float]
    optimizer: str  # the oracle's optimizer: 'sgd' or 'adamw' (betas)

    def key(self) -> str:
        """What from_config and the replay read: configs with one key replay alike."""
        loop = loop_arguments(self.train_cfg)
        return repr((self.param_scheduler, sorted(loop.items()), self.base, self.optimizer))


# -- resolving with MMEngine ------------------------------------------------------------------


@contextlib.contextmanager
def package_roots(root: Path) -> Iterator[None]:
    """MMEngine's config loader finding the corpus's packages as if they were installed, and
    ``cv2`` (which ``mmengine.runner`` imports; mmengine-lite does not install OpenCV) as an
    empty module when it is missing: new-style configs import their loop types from there."""
    from mmengine.config import config as mm_config

    packages = {package: name for name, (package, _) in REPOSITORIES.items()}
    original_get_path = mm_config.Config._get_cfg_path
    original_installed = mm_config.get_installed_path

    def get_cfg_path(cfg_path: str, filename: str) -> tuple[str, str | None]:
        scope, sep, rest = cfg_path.partition("::")
        if sep and scope in packages:
            return str(root / packages[scope] / "configs" / rest), scope
        return original_get_path(cfg_path, filename)

    def installed_path(package: str) -> str:
        if package in packages:
            return str(root / packages[package] / package)
        return original_installed(package)

    stub = "cv2" not in sys.modules and importlib.util.find_spec("cv2") is None
    if stub:
        sys.modules["cv2"] = types.ModuleType("cv2")
    mm_config.Config._get_cfg_path = staticmethod(get_cfg_path)
    mm_config.get_installed_path = installed_path
    try:
        yield
    finally:
        mm_config.Config._get_cfg_path = staticmethod(original_get_path)
        mm_config.get_installed_path = original_installed
        if stub:
            del sys.modules["cv2"]


# The scheduler sources of the downstream packages (shipped in the corpus), loaded under a fake
# package root: each imports only mmengine, torch and its package's registry, which the fake
# package defines as the real one does (a child of MMEngine's, scoped by the package's name).
DOWNSTREAM = {
    "mmdet": "mmdetection/mmdet/engine/schedulers/quadratic_warmup.py",
    "mmpretrain": "mmpretrain/mmpretrain/engine/schedulers/weight_decay_scheduler.py",
}
_REGISTRY = (
    "from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS\n"
    "from mmengine.registry import Registry\n"
    "PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, "
    "scope='{package}')\n"
)


_LOADED: list[bool] = []


def load_downstream(root: Path) -> None:
    """Register the downstream scheduler classes with MMEngine (once per process)."""
    if _LOADED:
        return
    import mmengine.optim.scheduler  # noqa: F401 - registers MMEngine's own schedulers

    fake = Path(tempfile.mkdtemp(prefix="openmmlab-"))
    for package, source in DOWNSTREAM.items():
        schedulers = fake / package / "engine" / "schedulers"
        schedulers.mkdir(parents=True)
        for folder in (fake / package, fake / package / "engine", schedulers):
            (folder / "__init__.py").write_text("")
        (fake / package / "registry.py").write_text(_REGISTRY.format(package=package))
        (schedulers / "real.py").write_text((root / source).read_text())
    sys.path.insert(0, str(fake))
    try:
        for package in DOWNSTREAM:
            importlib.import_module(f"{package}.engine.schedulers.real")
    finally:
        sys.path.remove(str(fake))
        # The classes stay registered; the fake packages must not look installed to others.
        for name in [n for n in sys.modules if n.split(".")[0] in DOWNSTREAM]:
            del sys.modules[name]
    _LOADED.append(True)


def oracle_configs(schedulers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schedulers with a downstream type named by its scope (``mmdet.QuadraticWarmupLR``),
    as the Runner finds it under the config's ``default_scope``."""
    from mmengine.registry import PARAM_SCHEDULERS

    out = []
    for cfg in schedulers:
        name = cfg.get("type")
        if isinstance(name, str) and PARAM_SCHEDULERS.get(name) is None:
            short = name.rsplit(".", 1)[-1]
            for package in DOWNSTREAM:
                if PARAM_SCHEDULERS.get(f"{package}.{short}") is not None:
                    cfg = {**cfg, "type": f"{package}.{short}"}
        out.append(cfg)
    return out


def config_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every experiment config of the corpus (not a ``_base_`` file), by repository."""
    for name in REPOSITORIES:
        for path in sorted((root / name).rglob("*.py")):
            parts = path.relative_to(root).parts
            if "configs" in parts and "_base_" not in parts:
                yield name, path


def resolve(repository: str, path: Path, root: Path) -> Resolved | None:
    """MMEngine's resolution of ``path`` (None: no param_scheduler); raises what MMEngine
    raises."""
    from mmengine import Config

    with warnings.catch_warnings(), package_roots(root):
        warnings.simplefilter("ignore")
        cfg = Config.fromfile(str(path), import_custom_modules=False, format_python_code=False)
        if "param_scheduler" not in cfg:
            return None
        schedulers = _plain(cfg["param_scheduler"])
        train_cfg = _plain(cfg.get("train_cfg") or {})
        # Read without building lazily imported types: a constructor or an optimizer of the
        # downstream package (mmpretrain's LARS) need not be importable for its numbers.
        optimizer = _raw(_raw(cfg.get("optim_wrapper")).get("optimizer"))
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    base, kind = _bases(optimizer)
    rel = str(path.relative_to(root))
    return Resolved(repository, rel, schedulers, train_cfg, base, kind)


def _plain(value: Any) -> Any:
    """ConfigDicts and tuples as plain dicts and lists (class-valued types left as they are)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _raw(value: Any) -> dict[str, Any]:
    """A config dict's own items, lazily imported objects left unbuilt."""
    if not isinstance(value, dict):
        return {}
    return {str(k): dict.__getitem__(value, k) for k in dict.keys(value)}


def _bases(optimizer: dict[str, Any]) -> tuple[dict[str, float], str]:
    """The optimizer's lr, momentum (or ``betas[0]``) and weight decay, and the oracle's
    optimizer for it; values the config does not give are the oracle's defaults."""
    betas = optimizer.get("betas")
    kind = "adamw" if isinstance(betas, (list, tuple)) else "sgd"
    momentum = betas[0] if kind == "adamw" else optimizer.get("momentum")
    found = {"lr": optimizer.get("lr"), "momentum": momentum}
    found["weight_decay"] = optimizer.get("weight_decay")
    defaults = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
    base = {}
    for name, value in found.items():
        good = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        base[name] = float(value) if good else defaults[name]
    return base, kind


# -- the shipped resolution ----------------------------------------------------------------------

MANIFEST = ARCHIVE.with_name("resolved.json")


def _encode(value: Any) -> Any:  # classes as {"class": dotted name}
    if isinstance(value, type):
        return {"class": f"{value.__module__}.{value.__qualname__}"}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"class"}:
        module, _, name = value["class"].rpartition(".")
        return getattr(importlib.import_module(module), name)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def as_record(outcome: Resolved | str | None) -> Any:
    """One config's entry of the shipped resolution (JSON)."""
    if outcome is None or isinstance(outcome, str):
        return outcome
    record = dataclasses.asdict(outcome)
    record["param_scheduler"] = _encode(record["param_scheduler"])
    # The loop's type by its dotted name (as MMEngine also accepts it): importing the class
    # would import mmengine.runner.
    record["train_cfg"] = {
        k: f"{v.__module__}.{v.__qualname__}" if isinstance(v, type) else v
        for k, v in record["train_cfg"].items()
    }
    return record


def from_record(record: Any) -> Resolved | str | None:
    if record is None or isinstance(record, str):
        return record
    fields = dict(record)
    fields["param_scheduler"] = _decode(fields["param_scheduler"])
    return Resolved(**fields)


def resolve_or_error(repository: str, path: Path, root: Path) -> Resolved | str | None:
    """``resolve``, with MMEngine's own failure as ``'Error: message'``."""
    try:
        return resolve(repository, path, root)
    except Exception as error:
        first = (str(error).splitlines() or [""])[0].replace(str(root) + os.sep, "")
        return f"{type(error).__name__}: {first[:160]}"


def load_manifest() -> dict[str, Resolved | str | None]:
    """The shipped resolution: config path -> what MMEngine resolved (None: no
    param_scheduler; a string: MMEngine's own error). The file keeps each distinct resolution
    once: ``{"resolutions": [...], "configs": {path: index}}``."""
    data = json.loads(MANIFEST.read_text())
    out: dict[str, Resolved | str | None] = {}
    for path, index in data["configs"].items():
        record = data["resolutions"][index]
        if isinstance(record, dict):
            record = {**record, "path": path, "repository": path.split("/", 1)[0]}
        out[path] = from_record(record)
    return out


def write_manifest(root: Path) -> None:
    """Resolve every config of ``root`` with MMEngine and write the shipped resolution."""
    resolutions: list[Any] = []
    configs = {}
    for repository, path in config_files(root):
        record = as_record(resolve_or_error(repository, path, root))
        if isinstance(record, dict):
            record = {k: v for k, v in record.items() if k not in ("path", "repository")}
        if record not in resolutions:
            resolutions.append(record)
        configs[str(path.relative_to(root))] = resolutions.index(record)
    text = json.dumps({"resolutions": resolutions, "configs": configs}, indent=0, sort_keys=True)
    MANIFEST.write_text(text + "\n")


# -- comparing ----------------------------------------------------------------------------------


def loops(resolved: Resolved, epoch_length: int) -> dict[str, int] | str:
    """``from_config``'s loop arguments for the config at ``epoch_length``, or why the
    replay is not run (MMEngine's Runner needs a train_cfg)."""
    loop = loop_arguments(resolved.train_cfg)
    if not loop:
        return "no max_epochs or max_iters in train_cfg"
    return {"epoch_length": epoch_length, **loop}


def realistic_length(resolved: Resolved) -> int:
    """``len(train_dataloader)`` of the config on its repository's data set, with the batch of
    its name (``..._8xb32-300e_coco.py``: 256 images an iteration; 16 if the name has none)."""
    found = re.search(r"(\d+)xb(\d+)", resolved.path.rsplit("/", 1)[-1])
    batch = int(found[1]) * int(found[2]) if found else 16
    return -(-REPOSITORIES[resolved.repository][1] // batch)


def compare(resolved: Resolved, loop: dict[str, int], iterations: int | None = None) -> str | None:
    """Route (a): None if from_config on what MMEngine resolved reproduces MMEngine's replay
    within RTOL at every iteration of every parameter (of the first ``iterations``), else what
    differs (or that MMEngine refuses the config too)."""
    try:
        exprs = from_config(resolved.param_scheduler, base=resolved.base, **loop)
    except ValueError as error:
        try:
            _replay(resolved, loop, 1)
        except (ValueError, AssertionError) as theirs:
            return f"{BOTH_REFUSE}: {reason(error)} / MMEngine: {reason(theirs)}"
        raise
    expected = _replay(resolved, loop, iterations)
    for name, values in expected.items():
        want = np.asarray(values)
        if name in exprs:
            got = resolved.base[name] * exprs[name].curve(len(want))
        else:
            got = np.full(len(want), resolved.base[name])
        err = np.abs(got - want) / np.abs(want).clip(min=1e-300)
        if not np.all(err <= RTOL):
            at = int(np.argmax(err > RTOL))
            return f"{name} at iteration {at}: {got[at]!r} != MMEngine's {want[at]!r}"
    return None


def _replay(resolved: Resolved, loop: dict[str, int], iterations: int | None) -> Any:
    return simulate(
        oracle_configs(resolved.param_scheduler),
        optimizer=resolved.optimizer,
        lr=resolved.base["lr"],
        momentum=resolved.base["momentum"],
        weight_decay=resolved.base["weight_decay"],
        optimizer_steps=False,
        iterations=iterations,
        **loop,
    )


def read_back(resolved: Resolved, root: Path, loop: dict[str, int]) -> str | None:
    """Route (b): None if schedalg's reader gives, from the file, the expression that
    MMEngine's resolution gives, else what differs."""
    roots = {package: root / name / "configs" for name, (package, _) in REPOSITORIES.items()}
    settings = read_settings(root / resolved.path, config_root=roots)
    if settings["param_scheduler"] is None:
        return "no param_scheduler read"
    mine = loop_arguments(settings["train_cfg"])
    if mine != loop_arguments(resolved.train_cfg):
        return f"train_cfg read as {mine!r}"
    for name in ("lr", "momentum", "weight_decay"):
        if name in settings["base"] and settings["base"][name] != resolved.base[name]:
            return f"base {name} read as {settings['base'][name]!r}"
    base = {**resolved.base, **settings["base"]}
    theirs = from_config(resolved.param_scheduler, base=resolved.base, **loop)
    ours = from_config(settings["param_scheduler"], base=base, **loop)
    return None if ours == theirs else "a different expression"


def reason(error: Exception) -> str:
    """A refusal's reason for the table: its message without the scheduler's label."""
    text = (str(error).splitlines() or [""])[0]
    if text.startswith("from_config(): param_scheduler[") and "): " in text:
        text = text.split("): ", 1)[1]
    return text[:100]


# -- the coverage table -------------------------------------------------------------------------


@contextlib.contextmanager
def corpus(directory: str | None = None, *, only: Iterable[str] = ()) -> Iterator[Path]:
    """The corpus root: ``directory``, or the shipped archive unpacked in a temporary one
    (``only`` those of its files, if given)."""
    if directory is not None:
        yield Path(directory)
        return
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as archive:
            members = [archive.getmember(name) for name in only] or None
            archive.extractall(tmp, members=members, filter="data")
        yield Path(tmp)


def coverage(
    root: Path, resolutions: Mapping[str, Resolved | str | None]
) -> dict[str, Counter[str]]:
    """Per repository: files, MMEngine's own failures, route (a) and (b) outcomes."""
    table: dict[str, Counter[str]] = {name: Counter() for name in REPOSITORIES}
    replayed: dict[str, str | None] = {}
    for path, resolved in resolutions.items():
        row = table[path.split("/", 1)[0]]
        row["files"] += 1
        if resolved is None:
            row["no param_scheduler"] += 1
        elif isinstance(resolved, str):
            row[f"MMEngine fails: {resolved.split(':', 1)[0]}"] += 1
        else:
            row["with param_scheduler"] += 1
            key = resolved.key()
            if key not in replayed:
                replayed[key] = route_a(resolved)
            outcome = replayed[key]
            row["(a) exact" if outcome is None else f"(a) {outcome}"] += 1
            outcome = route_b(resolved, root)
            row["(b) exact" if outcome is None else f"(b) {outcome}"] += 1
    return table


def route_a(resolved: Resolved) -> str | None:
    """Route (a) at both epoch lengths: None (exact) or the first difference or refusal."""
    for length in (SHORT, realistic_length(resolved)):
        loop = loops(resolved, length)
        if isinstance(loop, str):
            return f"not replayed: {loop}"
        try:
            outcome = compare(resolved, loop)
        except (TypeError, ValueError) as error:
            return f"refused: {reason(error)}"
        if outcome is not None:
            return f"differs at epoch length {length}: {outcome}"
    return None


def route_b(resolved: Resolved, root: Path) -> str | None:
    """Route (b): None (read as MMEngine resolves it) or the difference or refusal."""
    loop = loops(resolved, SHORT)
    if isinstance(loop, str):
        return f"not compared: {loop}"
    try:
        return read_back(resolved, root, loop)
    except (TypeError, ValueError) as error:
        return f"refused: {reason(error)}"


def main(argv: list[str]) -> int:
    """``[--write] [DIR]``: the coverage table of the corpus in DIR, every config resolved by
    MMEngine now (default: the shipped corpus and its shipped resolution); ``--write`` writes
    the shipped resolution from DIR's. Every replay runs the whole training run."""
    write = "--write" in argv
    args = [a for a in argv if a != "--write"]
    with corpus(args[0] if args else None) as root:
        load_downstream(root)
        if write:
            write_manifest(root)
        if args:
            resolutions = {
                str(path.relative_to(root)): resolve_or_error(repository, path, root)
                for repository, path in config_files(root)
            }
        else:
            resolutions = load_manifest()
        table = coverage(root, resolutions)
    for repository, row in table.items():
        print(f"\n{repository}")
        for label, count in sorted(row.items(), key=lambda item: (-item[1], item[0])):
            print(f"  {count:5d}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
