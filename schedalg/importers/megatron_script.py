"""Megatron-LM launch scripts (``.sh``), read as text and never run, into ``from_megatron``.

``from_launch_script(text_or_path, variables=None)`` follows the script (``schedalg.importers.
shell``: its variables, arrays, quoting, ``$((...))``, every branch of its conditionals) to the
arguments of its training command (``torchrun ... pretrain_gpt.py ...``, ``python
pretrain_*.py``, ``train*.py``, ``finetune*.py``), reads those as Megatron-LM's argparse reads
the arguments in ``OPTIONS`` (``--opt v`` and ``--opt=v``, the last one given wins, ``int`` and
``float`` as Python reads them; ``allow_abbrev=False``, so an abbreviation or a near miss of
one of them is refused with the argument meant; other arguments are not read), and returns
``from_megatron`` of them: ``{"lr", "weight_decay"}`` (and ``"decoupled_lr"``), per iteration.

Nothing is guessed. An argument whose value the script leaves to a variable it does not set
(``$1``, ``$LR`` from the environment), to a command substitution ``$(...)``, or to a
conditional (its branches disagreeing) is refused by name where the curves need it::

    from_launch_script(): line 80: --lr is ${LR}, which the script does not set: pass
    variables={'LR': ...}

``variables`` gives such values (``{'LR': 3e-4}``; ``'1'`` for ``$1``, ``'@'`` for the
script's own arguments, as words): the values of variables the script does not set, or sets by
what it cannot follow (a command's output, a conditional's pick); a variable the script sets
plainly keeps the script's value, as when it runs. An unknown word right after another option
is taken as that option's value; ``$@`` or an unset array in the command may hold any argument.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from schedalg.algebra.expression import Schedule
from schedalg.importers.megatron import OTHER_ARGUMENTS, Unresolved, from_megatron
from schedalg.importers.megatron import run_length as _run_length
from schedalg.importers.shell import Run, names_read, runs, source_line
from schedalg.importers.shell_words import Field, Opaque, known, shown

_FN = "from_launch_script"
_OWNER = "Megatron-LM"


def _options(kind: Callable[[str], Any], nargs: int, *names: str) -> dict[str, Any]:
    return {f"--{n}": (n.replace("-", "_"), kind, nargs) for n in names}


# Megatron-LM's argparse options of the arguments from_megatron reads (its parser at
# core_r0.16.0; step-batch-size-schedule is later): option -> (dest, type, nargs), nargs 0 a
# store_true flag.
OPTIONS: dict[str, tuple[str, Callable[[str], Any], int]] = {
    **_options(float, 1, "lr", "min-lr", "lr-warmup-fraction", "lr-warmup-init"),
    **_options(float, 1, "weight-decay", "start-weight-decay", "end-weight-decay"),
    **_options(float, 1, "decoupled-lr", "decoupled-min-lr"),
    **_options(int, 1, "lr-decay-iters", "lr-decay-samples", "lr-warmup-iters"),
    **_options(int, 1, "lr-warmup-samples", "lr-wsd-decay-iters", "lr-wsd-decay-samples"),
    **_options(int, 1, "train-iters", "train-samples", "global-batch-size"),
    **_options(str, 1, "lr-decay-style", "lr-wsd-decay-style", "weight-decay-incr-style"),
    **_options(str, 1, "step-batch-size-schedule"),
    **_options(int, 3, "rampup-batch-size"),
    **_options(str, 0, "decrease-batch-size-if-needed"),
    **_options(str, 0, "override-opt-param-scheduler", "use-checkpoint-opt-param-scheduler"),
}
for _flag in ("--override-opt_param-scheduler", "--use-checkpoint-opt_param-scheduler"):
    OPTIONS[_flag] = OPTIONS[_flag.replace("_", "-")]

# The scripts a training command runs: Megatron-LM's entry points and the examples' train.py.
_SCRIPT = re.compile(r"(?:^|/)(?:pretrain|train|finetune)\w*\.py$")
# Commands that name such a script without running it.
_NOT_RUNNING = {"echo", "printf", "[", "[[", "test", "ls", "cat", "cp", "mv", "rm", "chmod"}
_NOT_RUNNING |= {"touch", "wget", "curl", "git", "sed", "grep", "head", "tail", "tee"}
_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")  # argparse's negative numbers: values
_ABSENT = object()


def _text(source: str | os.PathLike[str]) -> str:
    if isinstance(source, os.PathLike) or ("\n" not in source and os.path.isfile(source)):
        return Path(source).read_text()
    if not isinstance(source, str):
        raise TypeError(f"{_FN}(): expected a launch script's text or path, got {source!r}")
    return source


def _training(words: list[str | None]) -> int | None:
    """The index of the training script among a command's words, None if it runs none."""
    if words and words[0] in _NOT_RUNNING:
        return None
    return next((k for k, w in enumerate(words) if w and _SCRIPT.search(w)), None)


def _is_option(text: str) -> bool:
    return text.startswith("-") and text != "-" and not _NEGATIVE.match(text)


def _unknown(line: int, option: str, word: Field) -> Unresolved:
    part = next(s for s in word if isinstance(s, Opaque))
    hint = f": pass variables={{'{part.name}': ...}}" if part.name else ""
    return Unresolved(f"{_FN}(): line {line}: {option} is {shown(word)}, {part.why}{hint}")


def _near_miss(name: str, line: int) -> None:
    """Megatron's parser takes no abbreviations: a near miss of ours is refused as it would."""
    if len(name) < 3 or name[2:].replace("-", "_") in OTHER_ARGUMENTS:
        return
    meant = [o for o in OPTIONS if o.startswith(name)]
    meant = meant or difflib.get_close_matches(name, OPTIONS, n=1, cutoff=0.85)
    if meant:
        shown_ = " or ".join(sorted(meant)[:4]) + (" or ..." if len(meant) > 4 else "")
        raise ValueError(
            f"{_FN}(): line {line}: {name} is not a {_OWNER} argument (its parser takes no "
            f"abbreviations); did you mean {shown_}?"
        )


def _scan(run: Run) -> dict[str, tuple[Any, str | None]]:
    """Our arguments in the command's words, as Megatron's argparse reads them: destination ->
    (value or ``Unresolved``, the text given)."""
    out: dict[str, tuple[Any, str | None]] = {}
    words, i, after_option = run.argv, 0, False
    while i < len(words):
        word, text = words[i], known(words[i])
        i += 1
        if text is None:
            part = next(s for s in word if isinstance(s, Opaque))
            head = word[0] if isinstance(word[0], str) else ""
            name = head.partition("=")[0]
            if "=" in head and name in OPTIONS:
                out[OPTIONS[name][0]] = (_unknown(run.line, name, word), None)
            elif not (("=" in head and head.startswith("-")) or (after_option and not part.spread)):
                for option, (dest, _, _) in OPTIONS.items():  # it may hold any of them
                    if option.startswith(head or "-"):
                        hint = f": pass variables={{'{part.name}': ...}}" if part.name else ""
                        message = f"{shown(word)} may set {option} ({part.why}){hint}"
                        out[dest] = (Unresolved(f"{_FN}(): line {run.line}: {message}"), None)
            after_option = False
            continue
        if text == "--":
            break
        after_option = _is_option(text)
        if not after_option:
            continue
        name, eq, value = text.partition("=")
        if name not in OPTIONS:
            _near_miss(name, run.line)
            after_option = not eq
            continue
        dest, kind, nargs = OPTIONS[name]
        after_option = False
        if not nargs:
            if eq:
                raise ValueError(f"{_FN}(): line {run.line}: {name} takes no value, got {text!r}")
            out[dest] = (True, text)
            continue
        given: list[Field] = [(value,)] if eq else list(words[i : i + nargs])
        i += 0 if eq else len(given)
        texts = [known(g) for g in given]
        if len(given) < nargs or any(t is not None and _is_option(t) for t in texts):
            raise ValueError(
                f"{_FN}(): line {run.line}: {name} expects {nargs} argument(s) "
                f"({_OWNER}'s argparse stops there), got {' '.join(map(shown, given)) or 'none'}"
            )
        missing = next((g for g, t in zip(given, texts, strict=True) if t is None), None)
        if missing is not None:
            out[dest] = (_unknown(run.line, name, missing), None)
            continue
        read = [_convert(run.line, name, kind, t or "") for t in texts]
        out[dest] = (read[0] if nargs == 1 else read, " ".join(t or "" for t in texts))
    return out


def _convert(line: int, name: str, kind: Callable[[str], Any], text: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ValueError(
            f"{_FN}(): line {line}: {name} {text!r} is not {what} ({_OWNER}'s argparse refuses it)"
        ) from None


def _runs(text: str, variables: Mapping[str, Any] | None) -> list[Run]:
    try:
        found = runs(text, _training, variables or {})
    except ValueError as error:
        raise ValueError(f"{_FN}(): {error}") from None
    if not found:
        named = re.search(r"[\w./-]*(?:pretrain|train|finetune)\w*\.py\b", text)
        where = "" if named is None else f": it names {named.group()}, but runs it in a way "
        raise ValueError(
            f"{_FN}(): found no {_OWNER} training command (a pretrain_*.py, train*.py or "
            "finetune*.py run by torchrun or python)"
            + (f"{where}this reader does not follow (eval, bash -c)" if named else "")
        )
    for a in found:
        for b in found:
            if a.line < b.line and b.world.path[: len(a.world.path)] == a.world.path:
                raise ValueError(
                    f"{_FN}(): the script runs training commands on lines {a.line} and "
                    f"{b.line}: read one at a time"
                )
    return found


def _differ(text: str, option: str, found: list[Run], given: list[tuple[Any, str | None]]) -> str:
    """The message for an argument the branches of a conditional give differently."""
    first = found[0]
    other = next(r for r, g in zip(found, given, strict=True) if g[0] != given[0][0])
    paths = first.world.path, other.world.path
    lines = sorted({a[0] for a, b in zip(*paths, strict=False) if a != b})
    lines = lines or sorted({a[0] for a in paths[0][len(paths[1]) :] + paths[1][len(paths[0]) :]})
    where = " and ".join(f"line {n} (`{source_line(text, n)}`)" for n in lines)
    values = sorted({repr(v) if v is not _ABSENT else "not given" for v, _ in given})
    names = [
        name
        for name, _ in first.world.env
        if all(_plain(r.world.get(name)) == g[1] for r, g in zip(found, given, strict=True))
    ]
    hint = (
        f": pass variables={{'{names[0]}': ...}}" if names else ": set it outside the conditional"
    )
    return (
        f"{_FN}(): line {first.line}: {option} is {' or '.join(values)}, as the conditional at "
        f"{where} picks, which this reader does not evaluate{hint}"
    )


def _plain(value: Any) -> str | None:
    return known(value) if isinstance(value, tuple) else None


def launch_arguments(
    text_or_path: str | os.PathLike[str], *, variables: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Megatron-LM's arguments (``OPTIONS``' destinations) that the script's training command
    gives, as its argparse reads them; a value the reader cannot know is an ``Unresolved``."""
    text = _text(text_or_path)
    found = _runs(text, variables)
    scans = [_scan(run) for run in found]
    options = {dest: option for option, (dest, _, _) in OPTIONS.items()}
    out: dict[str, Any] = {}
    for dest in sorted({d for scan in scans for d in scan}):
        given = [scan.get(dest, (_ABSENT, None)) for scan in scans]
        unresolved = [v for v, _ in given if isinstance(v, Unresolved)]
        if unresolved:
            out[dest] = unresolved[0]
        elif any(v != given[0][0] for v, _ in given):
            out[dest] = Unresolved(_differ(text, options[dest], found, given))
        elif given[0][0] is not _ABSENT:
            out[dest] = given[0][0]
    return out


def from_launch_script(
    text_or_path: str | os.PathLike[str], *, variables: Mapping[str, Any] | None = None
) -> dict[str, Schedule]:
    """``from_megatron`` of the arguments of the script's training command: ``{"lr": ...,
    "weight_decay": ...}`` (and ``"decoupled_lr"``) per iteration. ``text_or_path``: the
    script's text, or its path; ``variables``: values for the variables it does not set."""
    return from_megatron(launch_arguments(text_or_path, variables=variables))


def run_length(
    text_or_path: str | os.PathLike[str],
    *,
    variables: Mapping[str, Any] | None = None,
    steps_per_epoch: int | None = None,
) -> int | None:
    """The run's iterations (``train_iters``, or whole batches of ``train_samples``);
    ``steps_per_epoch`` is not used (Megatron's lengths are not in epochs)."""
    return _run_length(launch_arguments(text_or_path, variables=variables))


def training_argv(
    text_or_path: str | os.PathLike[str], *, variables: Mapping[str, Any] | None = None
) -> list[str]:
    """The words the training command gives its script (unknown parts as written); a
    ``ValueError`` where the script's conditionals give it different words."""
    found = _runs(_text(text_or_path), variables)
    argvs = {tuple(map(shown, run.argv)) for run in found}
    if len(argvs) > 1:
        raise ValueError(f"{_FN}(): the script's conditionals give {len(argvs)} commands")
    return list(argvs.pop())


def variables_read(text_or_path: str | os.PathLike[str]) -> frozenset[str]:
    """The variables the script may read (for ``--set``: which names it takes)."""
    return names_read(_text(text_or_path))


def is_launch_script(text: str) -> bool:
    """Whether ``text`` looks like a Megatron-LM launch script: a training script run with
    Megatron's ``--train-iters`` or ``--train-samples``."""
    return bool(
        re.search(r"(?:pretrain|train|finetune)\w*\.py\b", text)
        and re.search(r"--train-(?:iters|samples)\b", text)
    )
