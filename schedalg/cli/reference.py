"""``list`` and ``help NAME``: the constructors, read from the registry and their docstrings."""

from __future__ import annotations

import inspect
import re
from typing import Any

from schedalg.cli.parser import UserError
from schedalg.node import nearest, registered

# One example per library constructor, in the syntax ``parse`` and the command line read (the
# Python-function nodes show Python code). `help NAME` prints it when the docstring has none.
EXAMPLES = {
    "constant": "constant(0.5)",
    "chain": "chain(warmup(constant(), 100), multistep([600], 0.1))",
    "add": "add(0.9 * cosine(1000), constant(0.1))",
    "subtract": "subtract(constant(1.0), 0.5 * linear(0.0, 1.0, 1000))",
    "divide": "divide(constant(1.0), linear(1.0, 10.0, 1000))",
    "clip": "clip(cosine(500), 200)",
    "minimum": "minimum(linear(0.0, 2.0, 1000), cosine(1000))",
    "maximum": "maximum(cosine(1000), constant(0.1))",
    "sequence": "sequence(linear(0.1, 1.0, 100), cosine(900), at=[100])",
    "per_epoch": "per_epoch(multistep([8, 11], 0.1), 500)",
    "warmup": "warmup(cosine(9000), 1000, start=0.01)",
    "stretch": "stretch(cosine(100), 10)",
    "repeat": "repeat(cosine(250), 250, decay=0.5)",
    "shift": "shift(cosine(1000), 400)",
    "from_fn": "from_fn(lambda t: 0.95 ** t)  # Python only",
    "cumulative": "cumulative(from_fn(lambda t: 0.99))  # Python only",
    "linear": "linear(1.0, 0.1, 1000)",
    "exponential": "exponential(0.999)",
    "step_decay": "step_decay(300, 0.5)",
    "multistep": "multistep([600, 900], 0.1)",
    "polynomial": "polynomial(1000, power=2.0)",
    "cosine": "cosine(1000, end=0.1)",
    "cosine_restarts": "cosine_restarts(200, mult=2)",
    "inverse_sqrt": "inverse_sqrt(100)",
    "warmup_stable_decay": "warmup_stable_decay(100, 700, 200)",
    "piecewise": "piecewise([(0, 0.0), (100, 1.0), (1000, 0.1)])",
    "cyclic": "cyclic(0.1, 1.0, 200)",
    "one_cycle": "one_cycle(1000)",
    "one_cycle_momentum": "one_cycle_momentum(1000)",
    "plateau": "plateau(factor=0.5, patience=3)",
    "bound_plateau": "bound_plateau(plateau(), 0.5)  # a plateau with its current value",
}


def summary(cls: type) -> str:
    """The first sentence of a constructor's docstring, on one line, without its signature."""
    paragraphs = [" ".join(p.split()) for p in inspect.cleandoc(cls.__doc__ or "").split("\n\n")]
    for paragraph in paragraphs:
        text = _SIGNATURE.sub("", paragraph)
        if text and not text.startswith(">>>"):
            sentence = re.split(r"(?<=\.)\s+(?=[A-Z(])", text, maxsplit=1)[0].replace("``", "")
            return sentence if len(sentence) <= _WIDTH else sentence[: _WIDTH - 3] + "..."
    return ""


# A docstring's leading ``name(parameters)``: or ``name(parameters)``. (the summary skips it).
_SIGNATURE = re.compile(r"^``[A-Za-z_]\w*\(.*?\)``[:.]?\s*")
_WIDTH = 96


def list_constructors(out: Any) -> int:
    names = registered()
    width = max(map(len, names))
    for name in sorted(names):
        out.write(f"{name:<{width}}  {summary(names[name])}\n")
    out.write(
        "\n`schedalg help NAME` shows one constructor's formula, parameters and an example.\n"
    )
    return 0


def explain(name: str, out: Any) -> int:
    names = registered()
    cls = names.get(name)
    if cls is None:
        hint = nearest(name, names) or "; `schedalg list` lists them"
        raise UserError(f"help: no constructor named {name!r}{hint}")
    doc = inspect.cleandoc(cls.__doc__ or "")
    if not doc.startswith(f"``{name}("):
        out.write(f"{name}{inspect.signature(cls)}\n\n")
    out.write(doc.replace("``", "") + "\n\n")
    out.write("Parameters:\n")
    for parameter in inspect.signature(cls).parameters.values():
        out.write(f"  {_parameter(parameter)}\n")
    example = EXAMPLES.get(name)
    if example is not None and ">>>" not in doc:
        out.write(f"\nExample:\n  {example}\n")
    return 0


def _parameter(parameter: inspect.Parameter) -> str:
    if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
        return f"*{parameter.name}  (any number)"
    if parameter.default is inspect.Parameter.empty:
        return f"{parameter.name}  (required)"
    return f"{parameter.name}  (default {parameter.default!r})"
