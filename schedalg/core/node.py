"""The node protocol: how a schedule node declares itself, once.

A node is a class deriving from :class:`schedalg.Schedule`. Its class statement is its whole
declaration::

    class cosine(Schedule):
        \"\"\"``end + (1 - end) * (1 + cos(pi * t / steps)) / 2``, held after ``steps``.\"\"\"

        steps: int = param(an_integer(minimum=1))
        end: float = param(a_number(), default=0.0)

        def _formula(self, t, xp):                       # the curve, for floats and arrays
            t = xp.where(t < self.steps, t, float(self.steps))
            return self.end + (1.0 - self.end) * (1.0 + xp.cos(math.pi * t / self.steps)) / 2

        def events(self):                                # steps worth marking, on its own clock
            yield Event(self.steps, "end", "cosine ends")

- **Name.** The class name is the public constructor (``cosine(100)``), the ``repr``
  (``cosine(100)``), the ``"type"`` in ``to_dict`` data, what ``parse`` accepts and what a
  fingerprint hashes. Nodes of the library register themselves; a node defined elsewhere joins
  serialisation with :func:`register`.
- **Parameters** are dataclass fields declared with :func:`param`: a validator (see
  ``schedalg.core.validators``), a default, whether ``repr`` writes it positionally, and
  ``variadic``
  for the one field that takes ``*args`` (``sequence(*pieces, at)``). The node is a frozen
  dataclass; construction binds the arguments against the public signature, so every error reads
  as ``cosine() missing 1 required argument: 'steps'`` and a misspelt keyword gets the nearest
  real one suggested. ``_check`` holds checks across parameters, ``_simplify`` the smart
  constructor's normal form (``shift(s, 0)`` is ``s``).
- **Children** are the Schedule-valued fields, each on the same clock as the node unless the node
  says otherwise in :meth:`children` with a :class:`Clock` (``sequence`` runs piece ``i`` from
  ``at[i - 1]``, ``per_epoch`` on a clock ``epoch_length`` times slower).
- **Events** (:class:`Event`) are phase boundaries, milestones and decay ends on the node's own
  clock; ``describe`` and ``check`` map them onto the global clock through the children's clocks.

Every tree walk of the library (describe, check, plateau binding, text, repr) goes through
these declarations (``schedalg.algebra.tree``), so a node defined by a user gets all of them.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda cls: cls


Validator = Callable[[str, str, Any], Any]
METADATA_KEY = "schedalg"


@dataclass(frozen=True)
class Param:
    """What :func:`param` records about a field."""

    validator: Validator | None
    positional: bool | None  # None: positional exactly when the field has no default
    variadic: bool


def param(
    validator: Validator | None = None,
    *,
    default: Any = dataclasses.MISSING,
    positional: bool | None = None,
    variadic: bool = False,
) -> Any:
    """Declare a node parameter: ``steps: int = param(an_integer(minimum=1))``.

    ``validator(function_name, parameter_name, value)`` returns the normalised value or raises
    with both names and the value in the message. ``variadic`` makes the field the constructor's
    ``*args`` (a tuple); the fields after it are keyword-only.
    """
    return dataclasses.field(
        default=default,
        metadata={METADATA_KEY: Param(validator, positional, variadic)},
    )


def declared(field: dataclasses.Field[Any]) -> Param:
    return field.metadata.get(METADATA_KEY) or Param(None, None, False)


def parameters(cls_or_node: Any) -> list[dataclasses.Field[Any]]:
    """The constructor parameters of a node class or node, in declaration order."""
    return [f for f in dataclasses.fields(cls_or_node) if f.init]


def shown_positionally(field: dataclasses.Field[Any]) -> bool:
    positional = declared(field).positional
    return field.default is dataclasses.MISSING if positional is None else positional


# -- clocks, children and events -------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """How a child's steps sit on its parent's: parent step ``scale * u + offset`` for the
    child's step ``u``, the child active for ``u`` in ``[lo, hi)``; with ``period``, the child
    restarts every ``period`` parent steps (a copy per cycle). ``placed=False`` says the child's
    steps are no affine function of the parent's (a warped clock): its events are not placed."""

    scale: float = 1.0
    offset: float = 0.0
    lo: float = 0.0
    hi: float = math.inf
    period: float | None = None
    placed: bool = True

    def to_parent(self, local: float) -> float:
        return self.scale * local + self.offset


IDENTITY = Clock()


@dataclass(frozen=True)
class Child:
    """One child of a node: the field (and index, for a tuple field) it sits in, and its clock."""

    field: str
    index: int | None
    node: Any
    clock: Clock = IDENTITY


@dataclass(frozen=True)
class Event:
    """A step a node marks on its own clock: ``kind`` is ``boundary``, ``warmup_end``,
    ``milestone`` or ``end`` (where a decaying curve stops changing)."""

    step: float
    kind: str
    label: str


# -- the registry ------------------------------------------------------------------------------

_REGISTRY: dict[str, type] = {}
_NAMES: dict[type, str] = {}


def register(cls: type, name: str | None = None) -> type:
    """Let ``to_dict``/``from_dict``/``fingerprint``/``parse`` handle the node class ``cls`` under
    ``name`` (default: the class name). The library's own nodes are registered by their
    declaration; usable as a decorator for nodes defined elsewhere."""
    if not (isinstance(cls, NodeType) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"register(): cls must be a Schedule node class, got {cls!r}")
    key = cls.__name__ if name is None else name
    if not isinstance(key, str) or not key.isidentifier():
        raise TypeError(f"register(): name must be an identifier, got {key!r}")
    known = _REGISTRY.get(key)
    if known is not None and known is not cls:
        raise ValueError(f"register(): name {key!r} is already used by {known.__qualname__}")
    _REGISTRY[key] = cls
    _NAMES[cls] = key
    return cls


def lookup(name: str) -> type | None:
    return _REGISTRY.get(name)


def name_of(cls: type) -> str | None:
    """The name ``cls`` is registered under, if it is."""
    return _NAMES.get(cls)


def registered() -> dict[str, type]:
    """Every registered node class by its name."""
    return dict(_REGISTRY)


# The keyword names other libraries use for a parameter schedalg names differently (torch,
# MMEngine, optax, Hugging Face): a misspelt keyword is first looked up here, then matched by
# spelling. Each foreign name lists the schedalg names it can mean, in order of preference; the
# first one the constructor has is suggested.
FOREIGN_NAMES: dict[str, tuple[str, ...]] = {
    "eta_min": ("end", "min_value"),
    "eta_min_ratio": ("end",),
    "min_lr": ("min_value", "end"),
    "alpha": ("end",),
    "end_value": ("end",),
    "end_factor": ("end",),
    "init_value": ("start",),
    "start_factor": ("start",),
    "T_max": ("steps", "total"),
    "T_0": ("period",),
    "T_mult": ("mult",),
    "total_iters": ("steps", "total"),
    "total_steps": ("total", "steps"),
    "decay_steps": ("steps", "decay"),
    "transition_steps": ("steps", "step_size"),
    "num_training_steps": ("steps", "total"),
    "warmup_steps": ("steps", "warmup"),
    "num_warmup_steps": ("steps", "warmup"),
    "decay_rate": ("gamma",),
    "max_lr": ("peak", "high"),
    "peak_value": ("peak", "high"),
    "base_lr": ("low",),
    "base_momentum": ("low",),
    "max_momentum": ("high",),
    "step_size_up": ("up",),
    "step_size_down": ("down",),
    "div_factor": ("div",),
    "final_div_factor": ("final_div",),
    "anneal_strategy": ("anneal",),
    "lr_lambda": ("function",),
}


def foreign(name: str, options: Any) -> str:
    """``"; did you mean 'end'? (eta_min is another library's name for it)"`` when ``name`` is
    a well-known foreign name of one of ``options``, or ``""``."""
    choices = list(options)
    for candidate in FOREIGN_NAMES.get(name, ()):
        if candidate in choices:
            return f"; did you mean {candidate!r}? ({name} is another library's name for it)"
    return ""


def nearest(name: str, options: Any) -> str:
    """``"; did you mean 'end'?"`` for a misspelt ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- declaration and construction --------------------------------------------------------------


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(param,))
class NodeType(type):
    """The metaclass of schedule nodes: makes each class a frozen dataclass, gives it its public
    signature, registers library nodes, and builds instances through that signature."""

    __signature__: inspect.Signature

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> NodeType:
        cls = super().__new__(mcs, name, bases, namespace)
        if not any(isinstance(base, NodeType) for base in bases):
            return cls  # Schedule itself: the protocol, no fields
        dataclasses.dataclass(frozen=True, repr=False, eq=True)(cast(Any, cls))
        cls.__signature__ = _public_signature(cls)
        if not name.startswith("_") and cls.__module__.startswith("schedalg."):
            register(cls)
        return cls

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        fields = _bind(cls, args, kwargs)
        return cls._from_fields(fields)  # type: ignore[attr-defined]


def _public_signature(cls: type) -> inspect.Signature:
    result, keyword_only = [], False
    for field in parameters(cls):
        if declared(field).variadic:
            result.append(inspect.Parameter(field.name, inspect.Parameter.VAR_POSITIONAL))
            keyword_only = True
            continue
        kind = (
            inspect.Parameter.KEYWORD_ONLY
            if keyword_only
            else inspect.Parameter.POSITIONAL_OR_KEYWORD
        )
        default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        result.append(inspect.Parameter(field.name, kind, default=default))
    return inspect.Signature(result)


def _bind(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The field values of a call, or a TypeError worded as the public constructor's."""
    fn = cls.__name__
    signature: inspect.Signature = cls.__signature__  # type: ignore[attr-defined]
    named = [
        p.name for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_POSITIONAL
    ]
    for key in kwargs:
        if key not in named:
            hint = foreign(key, named) or nearest(key, named)
            raise TypeError(f"{fn}() got an unexpected keyword {key!r}{hint}")
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{fn}() {_reword(str(error), signature)}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _reword(message: str, signature: inspect.Signature) -> str:
    if message.startswith("missing a required argument: "):
        missing = [
            p.name
            for p in signature.parameters.values()
            if p.default is inspect.Parameter.empty and p.kind != inspect.Parameter.VAR_POSITIONAL
        ]
        name = message.split(": ", 1)[1].strip("'")
        if name in missing:
            return f"missing 1 required argument: {name!r}"
    if message == "too many positional arguments":
        accepted = sum(
            p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD for p in signature.parameters.values()
        )
        return f"takes at most {accepted} positional argument{'s' * (accepted != 1)}"
    return message


def distinct_nodes(root: Any) -> list[Any]:
    """Every node of an expression once, the root first: a subtree shared by several parents
    (``x = sequence(x, x)``) is visited once, not once per path to it."""
    seen, found, pending = set(), [], [root]
    while pending:
        node = pending.pop()
        if id(node) not in seen:
            seen.add(id(node))
            found.append(node)
            pending.extend(child.node for child in node.children())
    return found


def holds_function(node: Any) -> bool:
    """Whether a node holds a Python function given by the user (a callable parameter that is
    not a schedule: ``from_fn``'s, ``cyclic``'s ``scale_fn``), code it runs as it evaluates."""
    for field in parameters(node):
        value = getattr(node, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if callable(item) and not isinstance(type(item), NodeType):
                return True
    return False
