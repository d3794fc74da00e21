"""What the table of scheduler kinds is made of: the ``Kind`` interface every entry fills, the
table itself (``KINDS``, ``TYPES``, filled by ``@entry``), the normalised scheduler (``Spec``), the
training loop, and the checks and curve helpers the entries share."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, TypeVar

from schedalg.algebra.combinators import sequence
from schedalg.algebra.expression import Schedule, chain, constant
from schedalg.algebra.timewarps import shift
from schedalg.core import validators as check

FN = "from_config"
INF = int(1e9)  # MMEngine's default ``end``: treated as "never ends" for holds

# The order of hook calls: (iteration, phase, config index); see Spec.key.
Key = tuple[int, int, float]


@dataclass(frozen=True)
class Loop:
    """The training loop ``from_config`` was told about (None: not given)."""

    epoch_length: int | None
    max_epochs: int | None
    max_iters: int | None

    @property
    def iter_based(self) -> bool:
        """IterBasedTrainLoop (``max_iters``) rather than EpochBasedTrainLoop."""
        return self.max_iters is not None

    def default_end(self, by_epoch: bool) -> int | None:
        """The Runner's default ``end``, which is also the last global step the run takes: the
        loop's max_epochs (1 under IterBasedTrainLoop) or max_iters (max_epochs *
        len(train_dataloader) under EpochBasedTrainLoop)."""
        if by_epoch:
            return 1 if self.iter_based else self.max_epochs
        if not self.iter_based and self.max_epochs is not None and self.epoch_length is not None:
            return self.max_epochs * self.epoch_length
        return self.max_iters


@dataclass(frozen=True)
class Spec:
    """One scheduler after MMEngine's Runner defaults and ``build_iter_from_epoch``."""

    index: int
    label: str
    kind: Kind
    param: str
    unit: int  # iterations per own step: 1 (iteration-based) or the epoch length
    begin: int
    end: int
    args: dict[str, Any]
    epoch: bool = False

    def key(self, g: int) -> Key:
        """Order of this scheduler's step ``g`` among all hook calls: (iteration, phase, index).

        Construction (iteration 0) runs in config order; later, at iteration ``i`` the
        iteration schedulers' ``after_train_iter`` of iteration ``i - 1`` comes before the epoch
        schedulers' ``after_train_epoch``.
        """
        position = g * self.unit
        phase = 0 if position == 0 else (2 if self.epoch else 1)
        return (position, phase, self.index)

    @property
    def length(self) -> int:
        """Number of in-window steps (local t runs 0 .. length - 1)."""
        return self.end - self.begin

    def fail(self, message: str, error: type[Exception] = ValueError) -> Exception:
        return error(f"{FN}(): {self.label}: {message}")

    def last_change(self) -> int:
        """The last local step at which the scheduler may change the value."""
        return self.kind.last_change(self)

    def first_change_from(self, t: int) -> int | None:
        """The first local step >= t at which the scheduler changes the value, if any."""
        found = self.kind.changes_from(self, t)
        return found if found is not None and found <= self.last_change() else None

    def next_change(self, after: Key) -> Key | None:
        """The key of the scheduler's first value change strictly after ``after``."""
        position = after[0]
        g = -(-position // self.unit)
        if self.key(g) <= after:
            g += 1
        t = self.first_change_from(max(g - self.begin, 0))
        return None if t is None else self.key(self.begin + t)


class Timeline(Protocol):
    """What an affine or absolute curve needs from the rest of its parameter's schedulers."""

    def absolute(self, spec: Spec, value: float, what: str) -> float:
        """An absolute value of the config (``what`` names it) as a multiplier of the base."""
        ...

    def initial(self, spec: Spec) -> float:
        """The scheduler's ``base_values`` (the param group's initial value) as a multiplier."""
        ...

    def last_built(self, spec: Spec) -> Spec:
        """The last scheduler of ``spec``'s kind on the parameter, in config order."""
        ...


class Kind:
    """One MMEngine scheduler kind: everything ``from_config`` knows about it.

    An entry of the table is a subclass that sets the class attributes and overrides the methods
    its kind needs; the defaults here describe a kind that takes no arguments of its own.
    Local steps ``t`` count the scheduler's own steps from its ``begin``.
    """

    name: ClassVar[str]  # "Linear": registered as LinearLR, LinearMomentum, LinearParamScheduler
    # Its own arguments with MMEngine's defaults, read-only: ``arguments(name=default, ...)``.
    defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    required: ClassVar[tuple[str, ...]] = ()  # arguments without a default
    # Arguments counted in the scheduler's own steps, which convert_to_iter_based multiplies
    # by the epoch length (a None is left as it is): single numbers, and lists of them.
    step_counts: ClassVar[tuple[str, ...]] = ()
    step_lists: ClassVar[tuple[str, ...]] = ()
    not_convertible: ClassVar[str | None] = None  # why convert_to_iter_based is refused
    momentum: ClassVar[bool] = True  # MMEngine registers a ``<name>Momentum``
    only_param: ClassVar[str | None] = None  # the one parameter it may schedule
    # Decides from validation metrics: the whole parameter is its node (``metric_node``).
    metric_driven: ClassVar[bool] = False
    # For refusals of an affine/absolute scheduler that overlaps another one.
    # Its ``curve`` while no other scheduler changes the value in its window is a sequence of
    # absolute values, whatever value it starts from (mmdet's QuadraticWarmup): a scan of the
    # parameter's updates can take them as writes.
    writes_alone: ClassVar[bool] = False
    effect: ClassVar[str] = ""  # how it changes the value, "affinely (cosine towards eta_min)"
    update: ClassVar[str] = "affine update v <- eta_min + (v - eta_min) * r"

    def validate(self, spec: Spec, horizon: int | None) -> Spec:
        """MMEngine's constructor checks, plus the inputs MMEngine crashes on later; may
        normalise ``spec.args`` in place or return a spec with a shorter window.

        ``horizon`` is the last global step the training run takes (None: unknown).
        """
        return spec

    def multiplicative(self, spec: Spec) -> bool:
        """Whether each step multiplies the current value by a factor of its own (the factors
        compose in time order as a product); otherwise the step is affine or absolute."""
        return False

    def factor(self, spec: Spec) -> Schedule | None:
        """A multiplicative scheduler's cumulative factor at local step t (None: always 1)."""
        raise AssertionError(f"{self.name} is not multiplicative")

    def curve(self, spec: Spec, v0: float, timeline: Timeline) -> Schedule:
        """An affine or absolute scheduler's value at local step t, starting from ``v0``."""
        raise AssertionError(f"{self.name} has no affine or absolute form")

    def changes_from(self, spec: Spec, t: int) -> int | None:
        """The first local step >= t at which it changes the value (the window is applied
        by ``Spec.first_change_from``)."""
        raise AssertionError(f"{self.name} does not change the value on the timeline")

    def last_change(self, spec: Spec) -> int:
        """The last local step at which it may change the value."""
        return spec.length - 1

    def settles(self, spec: Spec, last: int) -> bool:
        """Whether its curve (``factor`` or ``curve``) is already constant from local ``last``
        on, so that holding it after the window needs no clip."""
        return False

    def initial_value(self, spec: Spec, timeline: Timeline) -> float | None:
        """The value its constructor writes as the param group's initial value, as a multiplier
        (None: it leaves it)."""
        return None

    def scanned(self, spec: Spec) -> bool:
        """Whether only MMEngine's own update sequence (the scan of ``stepwise``) reproduces its
        values, for lack of a well-conditioned closed form."""
        return False

    def stepwise(self, spec: Spec, timeline: Timeline) -> tuple[Schedule, Schedule] | str:
        """Its update at local step t as ``v <- target(t) + (v - target(t)) * ratio(t)``: the
        pair ``(ratio, target)`` (multipliers), or why it has no such form. A multiplicative
        kind's ratio is its factor's ``F(t) / F(t - 1)`` (``F(0)`` at t = 0)."""
        if not self.multiplicative(spec):
            return f"it changes the value {self.effect}, not by an affine update of it"
        factor = self.factor(spec)
        if factor is None:
            return constant(1.0), constant(0.0)
        return self.ratio(spec, factor), constant(0.0)

    def ratio(self, spec: Spec, factor: Schedule) -> Schedule:
        """A multiplicative kind's factor at one step: ``F(t) / F(t - 1)``, ``F(0)`` at t = 0.
        A kind whose ``F`` underflows (``gamma ** t``) while MMEngine's value does not (other
        factors keep it up) gives MMEngine's own factor instead: ``0 / 0`` is no factor."""
        return step_ratio(factor, factor(0))

    def remedy(self, spec: Spec) -> str:
        """What else makes an overlapping affine scheduler expressible, if anything."""
        return ""

    def metric_node(
        self, spec: Spec, group: list[Spec], base: float | None, loop: Loop
    ) -> Schedule:
        """The whole parameter's expression, for a ``metric_driven`` kind."""
        raise AssertionError(f"{self.name} is not metric-driven")


# -- the table ----------------------------------------------------------------------------------

KINDS: dict[str, Kind] = {}
# MMEngine's registered type name -> (kind, the parameter it schedules; None: ``param_name=``)
TYPES: dict[str, tuple[Kind, str | None]] = {}

K = TypeVar("K", bound=Kind)


def entry(cls: type[K]) -> type[K]:
    """Add the kind ``cls`` to the table under MMEngine's names for it: ``<name>LR``,
    ``<name>ParamScheduler`` and, if ``momentum``, ``<name>Momentum``."""
    kind = cls()
    KINDS[kind.name] = kind
    TYPES[f"{kind.name}LR"] = (kind, "lr")
    TYPES[f"{kind.name}ParamScheduler"] = (kind, None)
    if kind.momentum:
        TYPES[f"{kind.name}Momentum"] = (kind, "momentum")
    return cls


def arguments(**defaults: Any) -> Mapping[str, Any]:
    """A kind's arguments with their defaults, read-only (entries share them)."""
    return MappingProxyType(defaults)


# -- checks the entries share -------------------------------------------------------------------


def integral(label: str, name: str, value: Any) -> int:
    """MMEngine steps are integers; a float that is one is accepted (JSON writes 12.0)."""
    if isinstance(value, bool):
        raise TypeError(
            f"{FN}(): {label}: {name} must be an integer number of steps, got {value!r} (a boolean)"
        )
    if check.is_integer(value):
        return int(value)
    if check.is_real(value) and not math.isfinite(value):
        raise ValueError(
            f"{FN}(): {label}: {name} must be a finite number of steps, got {value!r} "
            f"(a scheduler that never ends leaves end out under no loop, or uses MMEngine's "
            f"end=INF={INF})"
        )
    if check.is_real(value) and float(value).is_integer():
        return int(value)
    raise ValueError(
        f"{FN}(): {label}: {name} must be an integer number of steps here, got {value!r} "
        "(a fractional step never matches an integer step counter, so it is not supported)"
    )


def as_list(label: str, name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{FN}(): {label}: {name} must be a list, got {value!r}")
    return list(value)


def finite(spec: Spec, name: str, *, low: float | None = None, high: float | None = None) -> float:
    """The argument ``name`` of ``spec``, a finite number within [low, high], as a float."""
    value = spec.args[name]
    if not check.is_real(value) or not math.isfinite(value):
        raise spec.fail(f"{name} must be a finite number, got {value!r}", TypeError)
    if (low is not None and value < low) or (high is not None and value > high):
        raise spec.fail(f"{name} must be in [{low}, {high}], got {value!r}")
    return float(value)


# -- curve helpers the entries share ------------------------------------------------------------


def scaled(value: float, curve: Schedule) -> Schedule:
    return curve if value == 1.0 else chain(constant(value), curve)


def anneal(v0: float, eta: float, unit_curve: Callable[[float], Schedule]) -> Schedule:
    """``eta + (v0 - eta) * c(t)`` where ``unit_curve(end)`` is ``end + (1 - end) * c(t)``, and
    ``v0`` itself at ``t = 0``: MMEngine's step 0 of Cosine and Poly returns the value as it is
    (CosineRestart writes ``v0``), with no arithmetic. The closed form's step 0 rounds where
    ``eta / v0`` is large (beyond 2**53, ``1 - eta / v0`` loses the 1 and it gives 0.0)."""
    if v0 != 0:
        curve = scaled(v0, unit_curve(eta / v0))
    else:
        curve = chain(constant(eta), constant(1.0) - unit_curve(0.0))
    if curve(0) != v0:
        curve = sequence(constant(v0), shift(curve, 1), at=[1])
    return curve


def step_ratio(curve: Schedule, first: float) -> Schedule:
    """``first`` at step 0, then ``curve(t) / curve(t - 1)``: one step's factor of ``curve``."""
    return sequence(constant(first), shift(curve, 1) / curve, at=[1])
