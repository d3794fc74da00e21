"""A bash script read as text, never run: the words a command of it is given, every way the
script can run (for the launch-script importers, ``megatron_script``).

``runs(text, matches, variables)`` follows the script: line continuations, comments, quoting,
assignments (``X=v``, ``export``/``declare``/``local``, arrays ``A=( ... )``, ``+=``),
expansions (``$X``, ``${X}``, ``${X:-d}``/``-``/``:=``/``:+``/``:?``, ``${#X}``, ``${A[@]}``,
``$@``) with bash's word splitting, and integer arithmetic ``$((...))`` of known values (read
with ``ast`` and walked, never evaluated). Each branch of ``if``/``case``/``&&``/``||`` and a
function body (which may or may not be called) is followed as its own ``World``; a variable a
loop, ``read``, ``source`` or ``eval`` changes is unknown after it. It returns a ``Run`` for each
world in which a command with a word that ``matches`` runs: the words after that word.

What is not known stays as written in an ``Opaque`` part (an unset variable, ``$(...)``, an
expansion it does not evaluate), with why and the variable a caller can give. ``variables``
are the values of variables the script does not set, or sets by what it cannot follow (a
command's output, a conditional's pick); a variable the script sets plainly keeps its value.
Not followed: globs and brace expansion (words stay as written), ``case`` fall-through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from schedalg.importers.shell_words import (
    ASSIGN,
    NAME,
    Array,
    Field,
    Opaque,
    Seg,
    Token,
    Value,
    arithmetic,
    flat,
    known,
    merged,
    tokens,
    word_parts,
)

_REDIRECTS = ("<", ">", ">>", "<<", "<<<", "&>", ">&", "<&", "<>")
_COMPOUND = {"if": "branch", "case": "case", "for": "loop", "select": "loop", "while": "loop"}
_COMPOUND |= {"until": "loop", "{": "group", "function": "function"}
MAX_WORLDS = 64
Matcher = Callable[[list[str | None]], int | None]


@dataclass(frozen=True)
class World:
    """One way the script can run: its variables, and the branches it took ``(line, k)``
    (``k = -1``: none of the branches)."""

    env: tuple[tuple[str, Value], ...] = ()
    path: tuple[tuple[int, int], ...] = ()
    note: str = ""  # why a variable the script does not set may still be set
    status: bool | None = None  # whether the last command succeeded, None: not known

    def get(self, name: str) -> Value | None:
        return dict(self.env).get(name)

    def set(self, values: Mapping[str, Value | None]) -> World:
        env = {**dict(self.env), **values}
        return replace(self, env=tuple((k, v) for k, v in env.items() if v is not None))


@dataclass(frozen=True)
class Run:
    """A run of the matched command: its line, the words after the matched one, its world."""

    line: int
    argv: tuple[Field, ...]
    world: World


class _Reader:
    def __init__(self, text: str, matches: Matcher, given: Mapping[str, str]) -> None:
        self.toks = tokens(text)
        self.k, self.loops, self.matches, self.given = 0, 0, matches, dict(given)
        self.found: list[Run] = []

    # -- expansions ------------------------------------------------------------------------

    def lookup(self, w: World, name: str) -> Value | None:
        value = w.get(name)
        if value is None and name in self.given:
            text = self.given[name]
            return (
                Array(tuple((x,) for x in text.split())) if name in "@*" else (text,) * bool(text)
            )
        return value

    def param(self, w: World, spec: str, quoted: bool) -> tuple[Value, World]:
        """``${spec}``: its value, and the world (``${X:=d}`` assigns)."""
        m = re.fullmatch(r"(#?)([A-Za-z_]\w*|\d+|[@*#?$!-])(?:\[([^\]]*)\])?(.*)", spec, re.S)
        shown_ = f"${{{spec}}}"
        if not m or m.group(2) in ("#", "?", "$", "!", "-", "0"):
            return (Opaque(shown_, "a value of the running shell"),), w
        count, name, index, rest = m.groups()
        value = self.lookup(w, name)
        index = name if name in "@*" else index
        if isinstance(value, Array) and index not in ("@", "*"):
            at = 0 if index is None else int(index) if index.isdigit() else -1
            value = value.items[at] if 0 <= at < len(value.items) else None
        elif value is not None and not isinstance(value, Array) and index in ("@", "*"):
            value = Array((value,))
        if value is not None and known(flat(value)) is None:
            return value, w  # as unknown as the variable, whatever the expansion
        if rest:
            op = re.match(r":?[-=+?]", rest)
            if not op:
                return (Opaque(shown_, "an expansion this reader does not evaluate", name),), w
            unset = value is None or (":" in op[0] and not flat(value))
            arg, kind = word_parts(rest[op.end() :], quoted), op[0][-1]
            if kind == "+":
                return (() if unset else self.expand(w, arg, split=False)[0][0]), w
            if not unset:
                return value or (), w
            if kind == "?":
                return (Opaque(shown_, "which the script requires and does not set", name),), w
            default = self.expand(w, arg, split=False)[0][0]
            return default, (w.set({name: default}) if kind == "=" else w)
        if value is None:
            if name in "@*":
                return (Opaque(shown_, "the arguments the script is run with", name, True),), w
            why = "which the script does not set" + w.note
            return (Opaque(shown_, why, name, index in ("@", "*")),), w
        if count:
            size = len(value.items) if isinstance(value, Array) else len(known(value) or "")
            return (str(size),), w
        return value, w

    def arith(self, w: World, text: str) -> Seg:
        shown_ = f"$(({text}))"
        source = re.sub(r"\$\{?([A-Za-z_]\w*)\}?", r"\1", text)

        def value(name: str) -> int:
            found = self.lookup(w, name)
            plain = known(found) if found is not None and not isinstance(found, Array) else None
            if plain is None or not re.fullmatch(r"\s*-?(0|[1-9]\d*)\s*", plain):
                raise LookupError(name)
            return int(plain)

        try:
            return str(arithmetic(source, value))
        except LookupError as missing:
            name = str(missing.args[0])
            why = "which the script does not set" if self.lookup(w, name) is None else "no integer"
            return Opaque(shown_, f"arithmetic on ${name}, {why}", name)
        except ValueError:
            return Opaque(shown_, "arithmetic this reader does not evaluate")

    def expand(self, w: World, parts: Any, split: bool = True) -> tuple[tuple[Field, ...], World]:
        """The words of ``parts`` (one word without ``split``), after bash's word splitting."""
        fields: list[list[Seg]] = [[]]
        kept = [not split]  # a word stays, even empty, once quoted or given content

        def add(seg: Seg, quoted: bool) -> None:
            if quoted or not split or isinstance(seg, Opaque):
                fields[-1].append(seg)
                kept[-1] = True
                return
            for k, piece in enumerate(re.split(r"[ \t\n]+", seg)):
                if k and kept[-1]:
                    fields.append([])
                    kept.append(False)
                fields[-1] += [piece] if piece else []
                kept[-1] |= bool(piece)

        for kind, text, quoted in parts:
            if kind == "lit":
                kept[-1] |= quoted
                add(text, quoted)
                continue
            if kind in ("cmd", "ansi"):
                why = "a command substitution, which this reader does not run"
                why = why if kind == "cmd" else "ANSI-C quoting with escapes it does not decode"
                value: Value = (Opaque(f"$({text})" if kind == "cmd" else text, why),)
            elif kind == "math":
                value = (self.arith(w, text),)
            else:
                value, w = self.param(w, text, quoted)
            star = text == "*" or text.endswith("[*]")
            if isinstance(value, Array) and (not split or (quoted and star)):
                value = flat(value)
            # "${A[@]}": a word per item (none for no item), each kept even when empty
            for k, item in enumerate(value.items if isinstance(value, Array) else (value,)):
                if k and quoted:
                    fields.append([])
                    kept.append(True)
                elif k:
                    add(" ", False)
                kept[-1] |= quoted
                for seg in item:
                    add(seg, quoted)
        return tuple(tuple(merged(f)) for f, keep in zip(fields, kept, strict=True) if keep), w

    # -- commands --------------------------------------------------------------------------

    def peek(self, k: int = 0) -> Token | None:
        return self.toks[self.k + k] if self.k + k < len(self.toks) else None

    def keyword(self) -> str | None:
        t = self.peek()
        if t and t[0] == "w" and all(p[0] == "lit" and not p[2] for p in t[1]):
            return "".join(p[1] for p in t[1])
        return None

    def op(self, *ops: str) -> str | None:
        t = self.peek()
        return t[1] if t and t[0] == "op" and t[1] in ops else None

    def assign(self, w: World, name: str, append: bool, value: Value) -> World:
        if known(flat(value)) is None:
            if name in self.given:  # the caller's value stands for what the script computes
                return w.set({name: (self.given[name],)})
            value = _naming(value, name)
        old = w.get(name)
        if (append and isinstance(old, Array)) or (append and isinstance(value, Array)):
            before = () if old is None else old.items if isinstance(old, Array) else (old,)
            value = Array(before + (value.items if isinstance(value, Array) else (value,)))
        elif append and old is not None:
            value = tuple(merged([*old, *value]))  # type: ignore[misc]
        return w.set({name: value})

    def unknown(self, worlds: list[World], names: set[str], why: str) -> list[World]:
        values = {n: (self.given[n],) if n in self.given else (Opaque(f"${{{n}}}", why, n),)
                  for n in names if n}  # fmt: skip
        return [w.set(values) for w in worlds]

    def assignments(self, w: World, tokens: list[Token]) -> World:
        for t in tokens:
            if t[0] == "arr":
                name, append, words = t[1]
                items: tuple[Field, ...] = ()
                for word in words:
                    more, w = self.expand(w, word[1])
                    items += more
                w = self.assign(w, name, append, Array(items))
                continue
            m = ASSIGN.match(t[1][0][1])
            assert m is not None
            parts = [("lit", t[1][0][1][m.end() :], False), *t[1][1:]]
            value, w = self.expand(w, parts, split=False)
            w = self.assign(w, m.group(1), bool(m.group(2)), value[0])
        return w

    def simple(self, w: World, words: list[Token], line: int) -> list[World]:
        k = 0
        while k < len(words) and _assignment(words[k]):
            k += 1
        fields: tuple[Field, ...] = ()
        for t in words[k:]:
            if t[0] == "w":
                more, w = self.expand(w, t[1])
                fields += more
        if not fields:
            return [replace(self.assignments(w, words[:k]), status=True)]
        command, args = known(fields[0]) or "", [known(f) or "" for f in fields[1:]]
        w = replace(w, status={"true": True, ":": True, "false": False}.get(command))
        if command in ("export", "declare", "typeset", "local", "readonly"):
            w = self.assignments(w, [t for t in words[k + 1 :] if _assignment(t)])
            return [replace(w, status=True)]
        if command == "unset":
            return [replace(w.set(dict.fromkeys(args)), status=True)]
        if command in ("source", ".", "eval"):
            why = f"which `{command}` on line {line} may set (this reader does not follow it)"
            w = replace(w, note=f" (it may come from `{command}` on line {line})")
            return self.unknown([w], {n for n, _ in w.env}, why)
        if command in ("read", "mapfile", "readarray", "getopts", "let", "printf", "shift"):
            names = {m.group() for a in args if (m := NAME.match(a))}
            names |= {str(n) for n in range(1, 10)} | {"@", "*"} if command == "shift" else set()
            return self.unknown([w], names, f"which `{command}` on line {line} sets")
        if command == "set" and args[:1] == ["--"]:
            values = {str(n): f for n, f in enumerate(fields[2:], 1)}
            return [w.set({**values, "@": Array(fields[2:]), "*": Array(fields[2:])})]
        if command == "exit":
            return []
        at = self.matches([known(f) for f in fields])
        if at is not None:
            if self.loops:
                raise ValueError(f"line {line}: the command runs in a loop")
            self.found.append(Run(line, fields[at + 1 :], w))
        return [w]

    def command(self, worlds: list[World]) -> list[World]:
        t, word = self.peek(), self.keyword()
        assert t is not None
        line = t[2]
        if word in _COMPOUND:
            self.k += 1
            worlds = getattr(self, _COMPOUND[word])(worlds, line, word)
        elif t[0] == "arith":
            self.k += 1
            names = re.findall(r"([A-Za-z_]\w*)\s*(?:[-+*/%]?=(?!=)|\+\+|--)", t[1])
            names += re.findall(r"(?:\+\+|--)\s*([A-Za-z_]\w*)", t[1])
            worlds = self.unknown(worlds, set(names), f"which arithmetic on line {line} sets")
        elif self.op("("):
            self.k += 1
            self.nested(worlds, {")"})  # a subshell: its variables do not come back
        elif t[0] == "w" and (self.peek(1) or ("",))[:2] == ("op", "("):
            self.k += 3  # name ( ) body: a function, which may or may not be called
            worlds = self.function(worlds, line, "")
        else:
            words: list[Token] = []
            while (t := self.peek()) and (t[0] != "op" or t[1] in _REDIRECTS):
                self.k += 1 + (t[0] == "op")  # a redirection's target goes with it
                words += [t] if t[0] != "op" else []
            return self.merge([v for w in worlds for v in self.simple(w, words, line)])
        while self.op(*_REDIRECTS):
            self.k += 2
        return self.merge([replace(w, status=None) for w in worlds])

    def nested(self, worlds: list[World], ends: set[str]) -> tuple[list[World], str | None]:
        """Commands until one of ``ends`` (a reserved word or an operator), returned."""
        while (t := self.peek()) is not None:
            end = self.keyword() if t[0] == "w" else t[1] if t[0] == "op" else None
            if end in ends:
                self.k += 1
                return worlds, end
            if self.op("\n", ";", "&"):
                self.k += 1
                continue
            if t[0] == "op" and t[1] not in ("(", *_REDIRECTS):
                raise ValueError(f"line {t[2]}: unexpected {t[1]!r}")
            worlds = self.command(worlds)
            while (joint := self.op("&&", "||", "|", "|&")) is not None:
                self.k += 1
                while self.op("\n"):
                    self.k += 1
                if joint in ("|", "|&"):  # in a subshell: its variables do not come back
                    self.command(worlds)
                    worlds = [replace(w, status=None) for w in worlds]
                    continue
                ok = joint == "&&"  # the next command runs where the list so far succeeded
                ran = self.command([w for w in worlds if w.status is not (not ok)])
                skipped = [replace(w, status=not ok) for w in worlds if w.status is not ok]
                worlds = self.merge(self.tag(ran, t[2], 0) + self.tag(skipped, t[2], -1))
        return worlds, None

    def fork(self, before: list[World], after: list[World], line: int) -> list[World]:
        """The worlds where a command ran (``after``) and where it did not (``before``)."""
        worlds = self.tag(after, line, 0) + self.tag(before, line, -1)
        return self.merge([replace(w, status=None) for w in worlds])

    @staticmethod
    def tag(worlds: list[World], line: int, k: int) -> list[World]:
        return [replace(w, path=(*w.path, (line, k))) for w in worlds]

    def merge(self, worlds: list[World]) -> list[World]:
        for name, text in self.given.items():  # the caller's value settles a pick
            if len({w.get(name) for w in worlds}) > 1:
                worlds = [w.set({name: (text,)}) for w in worlds]
        unique = list({(w.env, w.note, w.status): w for w in reversed(worlds)}.values())[::-1]
        if len(unique) > MAX_WORLDS:
            raise ValueError("the script has too many conditional branches to follow")
        return unique

    def group(self, worlds: list[World], line: int, word: str) -> list[World]:
        return self.nested(worlds, {"}"})[0]

    def function(self, worlds: list[World], line: int, word: str) -> list[World]:
        if word:  # function name [()]
            self.k += 1
            self.k += 2 * bool(self.op("("))
        while self.op("\n"):
            self.k += 1
        return self.fork(worlds, self.command(worlds), line)

    def branch(self, worlds: list[World], line: int, word: str) -> list[World]:
        out: list[World] = []
        end: str | None = "elif"
        while end == "elif":
            worlds, _ = self.nested(worlds, {"then"})
            body, end = self.nested(self.tag(worlds, line, len(out)), {"elif", "else", "fi"})
            out += body
        rest = self.nested(self.tag(worlds, line, -1), {"fi"})[0] if end == "else" else None
        return self.merge(out + (self.tag(worlds, line, -1) if rest is None else rest))

    def case(self, worlds: list[World], line: int, word: str) -> list[World]:
        self.k += 2  # the subject and ``in``
        out: list[World] = []
        exhaustive, k = False, 0
        while self.peek() is not None:
            while self.op("\n", "("):
                self.k += 1
            if self.keyword() == "esac":
                self.k += 1
                break
            while not self.op(")") and self.peek():
                exhaustive |= self.keyword() == "*"
                self.k += 1
            self.k += 1
            body, end = self.nested(self.tag(worlds, line, k), {";;", ";&", ";;&", "esac"})
            if end in (";&", ";;&"):
                raise ValueError(f"line {line}: a case falling through ({end})")
            out, k = out + body, k + 1
            if end == "esac":
                break
        return self.merge(out + ([] if exhaustive else self.tag(worlds, line, -1)))

    def loop(self, worlds: list[World], line: int, word: str) -> list[World]:
        names: set[str] = set()
        inside = worlds
        if word in ("for", "select"):
            names.add(self.keyword() or "")
            while self.keyword() != "do" and self.peek():
                self.k += 1
            self.k += 1
        else:
            inside, _ = self.nested(worlds, {"do"})
        why = f"which the loop on line {line} sets"
        self.loops += 1
        body, _ = self.nested(self.unknown(inside, names, why), {"done"})
        self.loops -= 1
        names |= {n for w in body for n, v in w.env if all(u.get(n) != v for u in worlds)}
        return self.merge(self.unknown(worlds, names, why))


def _naming(value: Value, name: str) -> Value:
    """Unknown parts with no variable to give take the one they are assigned to."""

    def one(f: Field) -> Field:
        return tuple(replace(s, name=name) if isinstance(s, Opaque) and not s.name else s
                     for s in f)  # fmt: skip

    return Array(tuple(map(one, value.items))) if isinstance(value, Array) else one(value)


def _assignment(t: Token) -> bool:
    if t[0] == "arr":
        return True
    first = t[1][0] if t[0] == "w" and t[1] else ("", "", True)
    return first[0] == "lit" and not first[2] and bool(ASSIGN.match(first[1]))


def runs(text: str, matches: Matcher, variables: Mapping[str, Any]) -> list[Run]:
    """Every run of a command for which ``matches`` (given its words' text, None where unknown)
    gives the index of a word (the script it runs), in every way the script can run;
    ``variables``: values for variables the script does not set."""
    reader = _Reader(text, matches, {str(k): str(v) for k, v in variables.items()})
    reader.nested([World()], set())
    return reader.found


def source_line(text: str, line: int) -> str:
    """Line ``line`` of ``text``, stripped (for messages)."""
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def names_read(text: str) -> frozenset[str]:
    """The variables the script may read: every ``$NAME`` and ``${NAME...}`` in it, and the
    names inside ``$((...))``."""
    names = set(re.findall(r"\$\{?#?([A-Za-z_]\w*|\d|[@*])", text))
    for inner in re.findall(r"\$\(\((.*?)\)\)", text, re.S):
        names |= set(NAME.findall(inner))
    return frozenset(names)
