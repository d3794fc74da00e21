"""The training arguments of HF's ``Trainer`` and of the trainers built on it (axolotl,
LLaMA-Factory): numbers read as each of them reads its files, the run's length in optimizer
steps and the warm-up's.

**Length.** ``Trainer.set_initial_training_values`` trains ``max_steps`` optimizer steps when it
is positive, else ``ceil(num_train_epochs * num_update_steps_per_epoch)`` (one float product),
with ``num_update_steps_per_epoch = max(ceil(len(dataloader) / gradient_accumulation_steps),
1)``: the importers take that count as ``steps_per_epoch`` (the Trainer logs it as "Num update
steps per epoch"). Without it the run's length is the placeholder ``total``, bound later with
``schedule.bind(total=N)``. ``get_warmup_steps(N)`` is ``int(warmup_steps)`` for
``warmup_steps >= 1``, else ``ceil(N * warmup_steps)`` (transformers 5 reads a ``warmup_steps``
below 1 as a ratio); older versions' ``warmup_ratio`` is that ratio where ``warmup_steps`` is 0
(both set and different are refused: transformers 4 used ``warmup_steps``, 5.0 to 5.x the
ratio).

**Numbers.** PyYAML reads ``learning_rate: 2e-5`` (no dot) as the string ``'2e-5'``. Each source
reads such a string its own way, and a ``Reader`` says which:

- ``ARGPARSE``, HF's own files: ``HfArgumentParser`` on the command line, and TRL's
  ``TrlParser``, which makes a YAML recipe's values the parser's defaults, apply the field's
  type (``float('2e-5')``, ``int('10')``). ``HfArgumentParser.parse_dict``/``parse_yaml_file``
  keep the string, and ``TrainingArguments`` then fails (``'<' not supported between 'str' and
  'int'``), so the argparse reading is the only one under which such a file trains.
  ``lr_scheduler_kwargs`` given as a JSON string are read by ``TrainingArguments`` itself:
  ``'true'``/``'false'``, digits and one-dot decimals become numbers, anything else (``'1e-5'``)
  stays a string; a mapping's strings are passed on as they are.
- ``OMEGACONF``, LLaMA-Factory: ``OmegaConf.load`` reads ``2e-5``, ``1.0e5`` and ``1e+3`` as
  floats, everywhere in the file; any other string stays a string (HF then fails).
- ``PYDANTIC``, axolotl: its config model (pydantic, lax) reads a float field's string with
  ``float`` and an int field's from digits (``'10'``, ``'10.0'``, not ``'1e3'``).

A string a source would pass on as a string, where a number is needed, is refused by name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schedalg.algebra.horizon import total
from schedalg.core import validators as check

__all__ = [
    "ARGPARSE",
    "OMEGACONF",
    "PYDANTIC",
    "Reader",
    "TrainingRun",
    "read_training_run",
    "scheduler_kwargs",
    "training_steps",
    "warmup_steps",
]

# A step count: an int, or a placeholder quantity (horizon.Quantity) bound later. Typed
# Any as the constructors take both (their signatures say int).
Steps = Any

# The options of HF's schedulers (and torch's OneCycleLR) that take text, not numbers.
TEXT_OPTIONS = ("warmup_type", "decay_type", "mode", "threshold_mode", "anneal_strategy")


def _argparse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _argparse_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


# OmegaConf's YAML loader adds this float resolver to PyYAML's (omegaconf/_yaml.py); PyYAML's
# own needs a dot and a signed exponent, so these are the strings PyYAML leaves unread.
_OMEGACONF_FLOAT = re.compile(
    r"""[-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
    |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?""",
    re.X,
)


def _omegaconf_float(text: str) -> float | None:
    if _OMEGACONF_FLOAT.fullmatch(text) is None:
        return None
    return float(text.replace("_", ""))


_PYDANTIC_INT = re.compile(r"[-+]?[0-9]+(?:_[0-9]+)*(?:\.0*)?")


def _pydantic_int(text: str) -> int | None:
    text = text.strip()
    if _PYDANTIC_INT.fullmatch(text) is None:
        return None
    return int(text.split(".")[0].replace("_", ""))


def _pydantic_float(text: str) -> float | None:
    return _argparse_float(text.strip())


_PYDANTIC_TRUE = ("1", "on", "t", "true", "y", "yes")
_PYDANTIC_FALSE = ("0", "off", "f", "false", "n", "no")


@dataclass(frozen=True)
class Reader:
    """How a source turns the string a YAML file may hold into the number it trains with."""

    source: str  # named in messages: who would read the value as text
    floats: Callable[[str], float | None]
    ints: Callable[[str], int | None]
    nested: bool  # whether strings inside lr_scheduler_kwargs are read too

    def _converted(self, fn: str, name: str, value: object, integral: bool) -> object:
        if not isinstance(value, str):
            return value
        number = self.ints(value) if integral else self.floats(value)
        if number is None:
            kind = "an integer" if integral else "a number"
            raise ValueError(f"{fn}(): {name} must be {kind}, got {value!r} ({self.source})")
        return number

    def number(
        self,
        fn: str,
        name: str,
        value: object,
        *,
        above: float | None = None,
        at_least: float | None = None,
        at_most: float | None = None,
    ) -> float:
        """A float option, from a number or a string the source reads as one."""
        number = self._converted(fn, name, value, integral=False)
        return check.real(fn, name, number, above=above, at_least=at_least, at_most=at_most)

    def whole(self, fn: str, name: str, value: object) -> int:
        """An int option of any sign (``max_steps`` is -1 by default)."""
        number = self._converted(fn, name, value, integral=True)
        number = check.integral(number)
        if not check.is_integer(number):
            raise ValueError(f"{fn}(): {name} must be an integer, got {check.shown(value)}")
        if number >= check.FLOAT_RANGE:  # type: ignore[operator]
            # A positive max_steps is the run's length, which the formulas divide by as a float.
            raise ValueError(
                f"{fn}(): {name} must be an integer below 2**1024, got {check.shown(number)}"
            )
        return int(number)  # type: ignore[call-overload]

    def count(self, fn: str, name: str, value: object, *, minimum: int = 0) -> int:
        """A step count ``>= minimum``."""
        number = self._converted(fn, name, value, integral=True)
        return check.integer(fn, name, number, minimum=minimum, wrong_type=ValueError)

    def flag(self, fn: str, name: str, value: object) -> bool:
        """A bool option (pydantic also reads ``'true'``, ``'yes'``, ``1``...)."""
        if isinstance(value, bool):
            return value
        if self is PYDANTIC:
            text = str(value).strip().lower() if isinstance(value, (str, int)) else None
            if text in _PYDANTIC_TRUE or text in _PYDANTIC_FALSE:
                return text in _PYDANTIC_TRUE
        return check.flag(fn, name, value)

    def nested_value(self, value: Any) -> Any:
        """A value inside ``lr_scheduler_kwargs``, as the source's loader leaves it."""
        if self.nested and isinstance(value, str):
            number = self.floats(value)
            return value if number is None else number
        return value


ARGPARSE = Reader(
    "HF's argument parser refuses it too",
    _argparse_float,
    _argparse_int,
    nested=False,
)
OMEGACONF = Reader(
    "LLaMA-Factory's OmegaConf loader reads it as text", _omegaconf_float, lambda _: None, True
)
PYDANTIC = Reader("axolotl's config model refuses it", _pydantic_float, _pydantic_int, False)


def _json_value(fn: str, key: str, value: Any) -> Any:
    """``TrainingArguments.__post_init__``'s reading of a JSON string's values
    (``_convert_str_dict``): booleans, digits and one-dot decimals; other text stays text."""
    if isinstance(value, dict):
        return {k: _json_value(fn, k, v) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        if value.isdigit():
            return int(value)
        if value.replace(".", "", 1).isdigit():
            return float(value)
    except ValueError:  # a Unicode digit that int() refuses, as HF's own call would
        raise ValueError(f"{fn}(): lr_scheduler_kwargs {key} is not a number: {value!r}") from None
    return value


def scheduler_kwargs(fn: str, value: Any, reader: Reader) -> dict[str, Any]:
    """``lr_scheduler_kwargs``: a mapping (its values as the source's loader leaves them) or a
    JSON object in a string (read as ``TrainingArguments`` reads it); ``None`` is none."""
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.startswith("{"):
            raise ValueError(
                f"{fn}(): lr_scheduler_kwargs must be a mapping or a JSON object, got {value!r}"
            )
        try:
            loaded = json.loads(value)
        except ValueError as error:
            raise ValueError(f"{fn}(): lr_scheduler_kwargs is not JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{fn}(): lr_scheduler_kwargs must be a JSON object, got {value!r}")
        found: dict[str, Any] = {str(k): _json_value(fn, str(k), v) for k, v in loaded.items()}
    elif isinstance(value, Mapping):
        found = {str(k): reader.nested_value(v) for k, v in value.items()}
    else:
        raise TypeError(f"{fn}(): lr_scheduler_kwargs must be a mapping, got {value!r}")
    for key, item in found.items():
        if isinstance(item, str) and key not in TEXT_OPTIONS:
            raise ValueError(
                f"{fn}(): lr_scheduler_kwargs {key} must be a number, got {item!r} (the "
                "scheduler is given the string as it is)"
            )
    return found


@dataclass(frozen=True)
class TrainingRun:
    """The options of HF's ``TrainingArguments`` that set the lr schedule, read."""

    name: str
    learning_rate: float
    max_steps: int
    epochs: float
    warmup_steps: float  # a count >= 1, or below 1 a ratio of the run (transformers 5)
    warmup_ratio: float  # older versions' ratio, used where warmup_steps is 0
    kwargs: dict[str, Any]


def read_training_run(fn: str, args: Mapping[str, Any], reader: Reader) -> TrainingRun:
    """The schedule's options of a ``TrainingArguments`` mapping, with HF's defaults."""
    name = args.get("lr_scheduler_type", "linear")
    name = getattr(name, "value", name)  # a SchedulerType member
    if not isinstance(name, str):
        raise TypeError(f"{fn}(): lr_scheduler_type must be a scheduler name, got {name!r}")
    lr = reader.number(fn, "learning_rate", args.get("learning_rate", 5e-5), above=0)
    max_steps = reader.whole(fn, "max_steps", args.get("max_steps", -1))
    if max_steps == 0:
        raise ValueError(f"{fn}(): max_steps 0 trains no step (-1 trains num_train_epochs)")
    epochs = reader.number(fn, "num_train_epochs", args.get("num_train_epochs", 3.0), at_least=0)
    warmup = reader.number(fn, "warmup_steps", args.get("warmup_steps", 0) or 0, at_least=0)
    ratio = reader.number(
        fn, "warmup_ratio", args.get("warmup_ratio", 0.0) or 0.0, at_least=0, at_most=1
    )
    if warmup and ratio and warmup != ratio:
        # transformers 4 warms up warmup_steps steps, 5.0 to 5.x replace them with the ratio.
        raise ValueError(
            f"{fn}(): give warmup_steps ({warmup!r}) or warmup_ratio ({ratio!r}), not both: "
            "transformers versions disagree on which wins"
        )
    kwargs = scheduler_kwargs(fn, args.get("lr_scheduler_kwargs"), reader)
    return TrainingRun(name, lr, max_steps, epochs, warmup, ratio, kwargs)


def training_steps(
    fn: str, max_steps: int, epochs: float, steps_per_epoch: int | None, *, round_up: bool = True
) -> Steps:
    """The run's optimizer steps: ``max_steps`` when positive, else ``ceil(epochs *
    steps_per_epoch)`` (HF's Trainer; ``round_up=False``: the product must be whole, for the
    trainers that do not round it), else the placeholder ``total``."""
    if max_steps > 0:
        return max_steps
    if steps_per_epoch is None:
        return total
    per_epoch = check.integer(fn, "steps_per_epoch", steps_per_epoch, minimum=1)
    product = check.in_float_range(
        fn,
        f"num_train_epochs {check.shown(epochs)} * steps_per_epoch {per_epoch}",
        epochs * per_epoch,
    )
    if not round_up and not float(product).is_integer():
        raise ValueError(
            f"{fn}(): num_train_epochs {epochs!r} * steps_per_epoch {per_epoch} is "
            f"{product!r}, not a whole number of steps"
        )
    steps = math.ceil(product)
    if steps < 1:
        raise ValueError(f"{fn}(): num_train_epochs {epochs!r} trains no step")
    return steps


def warmup_steps(warmup: float, ratio: float, steps: Steps) -> Steps:
    """``TrainingArguments.get_warmup_steps(steps)``: ``int(warmup)`` for a count, else
    ``ceil(steps * ratio)`` with ``warmup`` (below 1) or, where it is 0, ``warmup_ratio``."""
    if warmup >= 1:
        return int(warmup)
    share = warmup or ratio
    if not share:
        return 0
    found: Steps = math.ceil(steps * share)
    return found
