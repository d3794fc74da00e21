"""timm's real scheduler code, loaded without timm's package root.

``import timm`` imports timm's models, and with them torchvision. The torchvision wheel PyPI has
for torch 2.13 (0.28.0) is a CUDA build whose C++ operators cannot load beside the CPU torch
(``RuntimeError: operator torchvision::nms does not exist``), and once installed it breaks
``import lightning`` and transformers' ``Trainer`` too; so timm is installed without it
(``pip install --no-deps``), and ``import timm`` then fails for want of torchvision.
``timm.scheduler`` itself needs only torch: the tests give timm's package an empty root module
(``__path__`` set to the installed package, its ``__init__`` not run) and import
``timm.scheduler`` under it. The code that runs is timm's own, unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def timm_scheduler() -> Any:
    """``timm.scheduler`` (the installed timm's), or ``None`` when timm is not installed."""
    loaded = sys.modules.get("timm.scheduler")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("timm")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    if "timm" not in sys.modules:
        root = types.ModuleType("timm")
        root.__path__ = list(spec.submodule_search_locations)
        root.__file__ = spec.origin
        sys.modules["timm"] = root
    return importlib.import_module("timm.scheduler")


def timm_version() -> str:
    from importlib.metadata import version

    return version("timm")
