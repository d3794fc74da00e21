"""A bash script's words, read as text and never run (for ``shell``): its tokens (``tokens``:
words with their quoting kept as parts, operators, array assignments, arithmetic commands),
the values of its variables (known text and ``Opaque`` parts), and its integer arithmetic
(``arithmetic``: read with ``ast`` and walked, never evaluated, with bash's operations).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NAME = re.compile(r"[A-Za-z_]\w*")
ASSIGN = re.compile(r"([A-Za-z_]\w*)(\+?)=")
_STOP = " \t\n;&|()<>"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b"}
_ESCAPES |= {"f": "\f", "v": "\v", "'": "'", '"': '"', "\\": "\\"}
_OPS = ("&&", "||", ";;&", ";;", ";&", "|&", ">>", "<<<", "<<", "&>", ">&", "<&", "<>")


@dataclass(frozen=True)
class Opaque:
    """A value the reader does not know: ``text`` as written, ``why`` (a phrase), the
    variable ``name`` a caller can give, and whether it may ``spread`` over several words."""

    text: str
    why: str
    name: str | None = None
    spread: bool = False


Seg = str | Opaque
Field = tuple[Seg, ...]  # one word: known text and unknown parts


@dataclass(frozen=True)
class Array:
    items: tuple[Field, ...]


Value = Field | Array
Part = tuple[str, str, bool]  # (lit | $ | cmd | math | ansi, text, quoted)
Token = tuple[str, Any, int]  # (w | op | arr | arith, payload, line)


def known(field: Field) -> str | None:
    """The word's text, or None where a part is unknown."""
    return None if any(isinstance(s, Opaque) for s in field) else "".join(map(str, field))


def shown(field: Field) -> str:
    """The word with its unknown parts as written."""
    return "".join(s.text if isinstance(s, Opaque) else s for s in field)


def flat(value: Value) -> Field:
    if not isinstance(value, Array):
        return value
    out: list[Seg] = []
    for k, item in enumerate(value.items):
        out += [" ", *item] if k else item
    return tuple(merged(out))


def merged(segs: list[Seg]) -> list[Seg]:
    out: list[Seg] = []
    for s in segs:
        if out and isinstance(s, str) and isinstance(out[-1], str):
            out[-1] += s
        elif s != "":
            out.append(s)
    return out


class _Lexer:
    """Bash's tokens: words (their quoting kept as parts), operators, array assignments."""

    def __init__(self, text: str) -> None:
        self.s, self.i, self.line = text, 0, 1
        self.heredocs: list[tuple[str, bool]] = []

    def error(self, what: str) -> ValueError:
        return ValueError(f"line {self.line}: {what}")

    def close(self, i: int, opening: str, closing: str) -> int:
        """The index closing the bracket before ``i``, quotes skipped."""
        depth, s = 1, self.s
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 1
            elif c in "'\"":
                i = s.find(c, i + 1) % (len(s) + 1)
            elif c in (opening, closing):
                depth += 1 if c == opening else -1
                if not depth:
                    return i
            i += 1
        raise self.error(f"unclosed {opening!r}")

    def dollar(self, quoted: bool) -> Part | None:
        s, i = self.s, self.i
        if s.startswith("$((", i):
            end = self.close(i + 2, "(", ")")
            if s[end - 1] == ")" and self.close(i + 3, "(", ")") == end - 1:
                self.i = end + 1
                return ("math", s[i + 3 : end - 1], quoted)
        for opening, closing, kind in (("(", ")", "cmd"), ("{", "}", "$")):
            if s.startswith("$" + opening, i):
                end = self.close(i + 2, opening, closing)
                self.i = end + 1
                return (kind, s[i + 2 : end], quoted)
        m = NAME.match(s, i + 1) or re.compile(r"[0-9@*#?$!-]").match(s, i + 1)
        if not m:
            return None
        self.i = m.end()
        return ("$", m.group(), quoted)

    def word(self, stop: str, quoted: bool = False) -> list[Part]:
        parts: list[Part] = []
        s = self.s
        while self.i < len(s) and s[self.i] not in stop:
            c, nxt = s[self.i], s[self.i + 1 : self.i + 2]
            if c == "\\" and (not quoted or nxt in '$`"\\\n'):
                self.i += 2
                self.line += nxt == "\n"
                parts += [] if nxt == "\n" else [("lit", nxt, True)]
            elif c == "'" and not quoted:
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise self.error("unclosed '")
                parts.append(("lit", s[self.i + 1 : end], True))
                self.line += s.count("\n", self.i, end)
                self.i = end + 1
            elif c == '"' and not quoted:
                self.i += 1
                parts += self.word('"', quoted=True) or [("lit", "", True)]
                if self.i >= len(s):
                    raise self.error('unclosed "')
                self.i += 1
            elif c == "`":
                end = s.find("`", self.i + 1) % (len(s) + 1)
                parts.append(("cmd", s[self.i + 1 : end], quoted))
                self.i = end + 1
            elif c == "$" and nxt in ("'", '"') and not quoted:
                self.i += 1  # $"..." is "..." (translated); $'...' decodes its escapes
                if nxt == "'":
                    parts.append(self.ansi_c())
            elif c == "$" and (part := self.dollar(quoted)):
                parts.append(part)
            else:
                self.line += c == "\n"
                parts.append(("lit", c, quoted))
                self.i += 1
        out: list[Part] = []
        for p in parts:  # adjacent literals of one quoting are one part
            if out and p[0] == out[-1][0] == "lit" and p[2] == out[-1][2]:
                out[-1] = ("lit", out[-1][1] + p[1], p[2])
            else:
                out.append(p)
        return out

    def ansi_c(self) -> Part:
        """``$'...'`` at ``'``: its text with bash's escapes (others: not followed)."""
        m = re.compile(r"'((?:[^'\\]|\\.)*)'", re.S).match(self.s, self.i)
        if not m:
            raise self.error("unclosed $'")
        self.i, text = m.end(), m.group(1)
        if re.search(r"\\[^ntr'\"\\abefvE]", text):
            return ("ansi", f"$'{text}'", True)
        return ("lit", re.sub(r"\\(.)", lambda e: _ESCAPES[e.group(1)], text), True)

    def heredoc_bodies(self) -> None:
        s = self.s
        for delimiter, tabs in self.heredocs:
            while self.i < len(s):
                end = s.find("\n", self.i) % (len(s) + 1)
                body, self.i, self.line = s[self.i : end], end + 1, self.line + 1
                if (body.lstrip("\t") if tabs else body) == delimiter:
                    break
        self.heredocs = []

    def tokens(self, in_array: bool = False) -> list[Token]:
        out: list[Token] = []
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t" or s.startswith("\\\n", self.i):
                self.line += c == "\\"
                self.i += 1 if c in " \t" else 2
            elif c == "#":
                self.i = s.find("\n", self.i) % (len(s) + 1)
            elif c == "\n":
                out.append(("op", "\n", self.line))
                self.i, self.line = self.i + 1, self.line + 1
                self.heredoc_bodies()
            elif in_array and c == ")":
                self.i += 1
                return out
            elif s.startswith("((", self.i):
                end = self.close(self.i + 1, "(", ")")
                out.append(("arith", s[self.i + 2 : end - 1], self.line))
                self.i = end + 1
            elif c in ";&|()<>":
                op = next((o for o in _OPS if s.startswith(o, self.i)), c)
                self.i += len(op)
                out.append(("op", op, self.line))
                if op == "<<":
                    tabs = s.startswith("-", self.i)
                    self.i += tabs
                    while s[self.i : self.i + 1] in (" ", "\t"):
                        self.i += 1
                    parts = self.word(_STOP)
                    self.heredocs.append(("".join(p[1] for p in parts), tabs))
                    out.append(("w", parts, self.line))
            else:
                line, parts = self.line, self.word(_STOP)
                text = "".join(p[1] for p in parts)
                bare = all(p[0] == "lit" and not p[2] for p in parts)
                if bare and text.isdigit() and s[self.i : self.i + 1] in ("<", ">"):
                    continue  # a file descriptor, as in 2>&1
                m = ASSIGN.fullmatch(text) if bare else None
                if m and s.startswith("(", self.i):
                    self.i += 1
                    words = [t for t in self.tokens(in_array=True) if t[0] == "w"]
                    out.append(("arr", (m.group(1), bool(m.group(2)), words), line))
                else:
                    out.append(("w", parts, line))
        if in_array:
            raise self.error("unclosed array '('")
        return out


_ARITH: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1),  # C's
    ast.Mod: lambda a, b: a - b * (abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)),
    ast.Pow: lambda a, b: _power(a, b),
}


def _power(a: int, b: int) -> int:
    if b < 0 or (b > 63 and abs(a) > 1):
        raise ValueError("a power bash's 64-bit integers do not hold")
    return int(a**b)


def _arith(node: ast.AST, value: Callable[[str], int]) -> int:
    """Bash's integer arithmetic on the nodes it shares with Python's."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return value(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        if isinstance(node.operand, ast.BinOp) and isinstance(node.operand.op, ast.Pow):
            raise ValueError("bash takes -a**b as (-a)**b")
        inner = _arith(node.operand, value)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        result = _ARITH[type(node.op)](_arith(node.left, value), _arith(node.right, value))
        if abs(result) >= 2**63:
            raise ValueError("beyond bash's 64-bit integers")
        return result
    raise ValueError("not bash's integer arithmetic")


def tokens(text: str) -> list[Token]:
    """The script's tokens (a ``ValueError`` names the line of an unclosed quote or bracket)."""
    return _Lexer(text).tokens()


def arithmetic(source: str, value: Callable[[str], int]) -> int:
    """``$((source))`` with ``value(name)`` for its variables; a ``ValueError`` (or
    ``LookupError`` from ``value``) where bash's result is not certain."""
    if re.search(r"[^\w\s+*/%()-]|\b0\d|\d_|\b0[xXoObB]|\b\d+[A-Za-z_]", source):
        raise ValueError(source)
    try:
        return _arith(ast.parse(source.strip(), mode="eval").body, value)
    except (SyntaxError, ZeroDivisionError, RecursionError) as error:
        raise ValueError(source) from error


def word_parts(text: str, quoted: bool) -> list[Part]:
    """The parts of ``text`` read as one word (an expansion's default), ``quoted`` inside
    double quotes."""
    return [(k, t, q or quoted) for k, t, q in _Lexer(text).word("")]
