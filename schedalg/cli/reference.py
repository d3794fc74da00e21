"""``list`` and ``help NAME``: the constructors, read from the registry and their docstrings."""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any

from schedalg.cli.errors import UserError
from schedalg.core.node import nearest, registered


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


def list_arguments(sub: argparse.ArgumentParser) -> None:
    """``list`` takes no arguments."""


def list_constructors(args: argparse.Namespace, out: Any) -> int:
    names = registered()
    width = max(map(len, names))
    for name in sorted(names):
        out.write(f"{name:<{width}}  {summary(names[name])}\n")
    out.write(
        "\n`schedalg help NAME` shows one constructor's formula, parameters and an example.\n"
    )
    return 0


def explain_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", metavar="NAME", help="a constructor, e.g. cosine")


def explain(args: argparse.Namespace, out: Any) -> int:
    name = args.name
    names = registered()
    cls = names.get(name)
    if cls is None:
        hint = nearest(name, names) or "; `schedalg list` lists them"
        raise UserError(f"help: no constructor named {name!r}{hint}")
    doc = inspect.cleandoc(cls.__doc__ or "")
    if not doc.startswith(f"``{name}("):
        out.write(f"{name}{inspect.signature(cls)}\n\n")
    # The docstring leads with the formula and ends with an example (tests/test_doctests.py).
    out.write(doc.replace("``", "") + "\n\n")
    out.write("Parameters:\n")
    for parameter in inspect.signature(cls).parameters.values():
        out.write(f"  {_parameter(parameter)}\n")
    return 0


def _parameter(parameter: inspect.Parameter) -> str:
    if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
        return f"*{parameter.name}  (any number)"
    if parameter.default is inspect.Parameter.empty:
        return f"{parameter.name}  (required)"
    return f"{parameter.name}  (default {parameter.default!r})"
