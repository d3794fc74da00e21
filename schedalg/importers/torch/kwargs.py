"""torch schedulers given as a class name and keyword arguments, as config files give them.

A config file names a scheduler class and its options (LightningCLI's ``class_path`` and
``init_args``) instead of holding a constructed scheduler. ``build`` constructs that scheduler on
a fresh optimizer holding one parameter, so torch itself checks the options and computes what its
constructor computes (``total_steps`` from ``epochs * steps_per_epoch``, CyclicLR's momentum
check); ``from_torch`` then converts it through its class's entry of the table
(``schedalg.importers.torch.classes``), so no formula is written twice.

``SCHEDULERS`` names the classes that can be built from data alone: the table's classes less
those whose options are code or other schedulers, each refused with the reason in
``NOT_FROM_KWARGS``. ``OPTIMIZERS`` names ``torch.optim``'s optimizer classes. ``options_of``
gives a class's options with their defaults and type annotations (as text), for readers that
check a file's options by name and read its values as the file's own parser types them.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim.optimizer import Optimizer

from schedalg.core.validators import shown
from schedalg.importers.torch.classes import CLASSES
from schedalg.importers.torch.convert import TorchSchedules, from_torch

NOT_FROM_KWARGS: dict[str, str] = {
    "LambdaLR": "its lr_lambda is a function (code, which schedalg does not import or run)",
    "MultiplicativeLR": "its lr_lambda is a function (code, which schedalg does not import or run)",
    "SequentialLR": "its schedulers are scheduler objects built on the optimizer, not options",
    "ChainedScheduler": "its schedulers are scheduler objects built on the optimizer, not options",
}

SCHEDULERS: dict[str, type] = {
    cls.__name__: cls for cls in CLASSES if cls.__name__ not in NOT_FROM_KWARGS
}


def _optimizers() -> dict[str, type]:
    found = {}
    for name in torch.optim.__all__:
        cls = getattr(torch.optim, name, None)
        if isinstance(cls, type) and issubclass(cls, Optimizer) and cls is not Optimizer:
            found[name] = cls
    return found


OPTIMIZERS: dict[str, type] = _optimizers()


@dataclass(frozen=True)
class Option:
    """One constructor option: its default (``...`` when required) and its annotation as text
    (``"float | list[float]"``; ``""`` when unannotated)."""

    default: Any
    annotation: str


def options_of(cls: type) -> dict[str, Option]:
    """The constructor options of a scheduler or optimizer class, past its first parameter (the
    optimizer, or the parameters), without ``*args``/``**kwargs``."""
    parameters = list(inspect.signature(cls).parameters.values())[1:]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        p.name: Option(
            ... if p.default is inspect.Parameter.empty else p.default, _text(p.annotation)
        )
        for p in parameters
        if p.kind in named
    }


def _text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or repr(annotation)


def build(
    scheduler: str,
    kwargs: Mapping[str, Any],
    *,
    optimizer: str = "SGD",
    optimizer_kwargs: Mapping[str, Any] | None = None,
    fn: str = "from_kwargs",
) -> Any:
    """The torch scheduler ``SCHEDULERS[scheduler](optimizer, **kwargs)``, constructed on a fresh
    ``OPTIMIZERS[optimizer]([parameter], **optimizer_kwargs)`` holding one parameter. What torch
    refuses is a ValueError naming ``fn``, the class and torch's reason."""
    if scheduler not in SCHEDULERS:
        why = NOT_FROM_KWARGS.get(scheduler, "not a torch scheduler class from_torch converts")
        raise ValueError(f"{fn}(): {scheduler}: {why}")
    parameter = torch.nn.Parameter(torch.zeros(1, 1))  # 2-D: Muon takes only matrices
    try:
        built = OPTIMIZERS[optimizer]([parameter], **(optimizer_kwargs or {}))
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        # torch's reason may not name the option ("Invalid learning rate"): the call does.
        call = _call(optimizer, optimizer_kwargs or {})
        raise ValueError(f"{fn}(): torch refuses the optimizer {call}: {error}") from None
    try:
        return SCHEDULERS[scheduler](built, **kwargs)
    except (TypeError, ValueError, KeyError, RuntimeError, ZeroDivisionError, OverflowError) as e:
        # KeyError: torch's "param 'initial_lr' is not specified" for last_epoch != -1.
        raise ValueError(f"{fn}(): torch refuses {_call(scheduler, kwargs)}: {e}") from None


def _call(name: str, kwargs: Mapping[str, Any]) -> str:
    return f"{name}({', '.join(f'{key}={shown(value)}' for key, value in kwargs.items())})"


def from_kwargs(
    scheduler: str,
    kwargs: Mapping[str, Any],
    *,
    optimizer: str = "SGD",
    optimizer_kwargs: Mapping[str, Any] | None = None,
) -> TorchSchedules:
    """``from_torch`` of the scheduler ``build`` constructs: its curve per scheduler step, a
    multiplier of the optimizer's lr where that is exact (``result.absolute`` says which)."""
    return from_torch(
        build(scheduler, kwargs, optimizer=optimizer, optimizer_kwargs=optimizer_kwargs)
    )
