"""One flat Python function for a whole expression of the hot nodes (``s(t)``'s one step).

``onestep``'s closures call one function per node; this module writes the same operations, in
the same order, as the body of a single function: a ``sequence`` or a ``clip`` becomes an
``if``, a ``shift`` or a ``stretch`` an expression on the step, a held tail or a warm-up's peak a
slot computed on first use and kept. The source is made of the templates below and generated
names only: every number of the expression is bound to a name in the function's globals, never
written into the text, so nothing an expression holds is ever compiled. A node this module has
no template for (or one whose class redefines its one-step path) is called through its own
one-step function, as the closures call it. Templates are keyed by the ``onestep`` closure a
class sets as its ``_scalar_closure`` (``onestep.TEMPLATES``), so a subclass that inherits both
the closure and the one-step path is written the same way.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from schedalg.engine.backends import power

# At most this many nodes are written into one function, and at most this many levels deep
# (Python's parser allows 100 indentation levels); a deeper subtree gets a function of its own.
MAX_NODES = 200
MAX_DEPTH = 24
# A sequence of more pieces than this is called (its closure bisects) rather than written out.
MAX_PIECES = 8

Template = Callable[["Writer", Any, str, str, str, int], bool]


class Writer:
    """The lines of one function's body, the names they use and the lazily computed slots."""

    def __init__(self, template: Callable[[Any], Template | None]) -> None:
        self.template = template
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"cos": math.cos, "pi": math.pi, "bisect": bisect.bisect}
        self.getters: list[Callable[[], Any]] = []
        self.kept: list[Any] = []
        self.nodes = 0
        self.count = 0

    def line(self, pad: str, text: str) -> None:
        self.lines.append(pad + text)

    def new(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def value(self, number: Any) -> str:
        """A name bound to ``number``: no value of the expression is written into the source,
        which is made of the templates and generated names alone."""
        return self.bind(number, "k")

    def bind(self, obj: Any, prefix: str) -> str:
        name = self.new(prefix)
        self.names[name] = obj
        return name

    def step(self, x: str, pad: str) -> str:
        """The step expression ``x`` as a name (assigned once, when it is an expression)."""
        if x.isidentifier():
            return x
        name = self.new("x")
        self.line(pad, f"{name} = {x}")
        return name

    def kept_value(self, pad: str, out: str, getter: Callable[[], Any], known: Any) -> None:
        """``out =`` a number that depends on its node alone, computed by ``getter`` on first
        use (as the closures do) and kept in the function's slot."""
        index = len(self.kept)
        self.kept.append(known)
        self.getters.append(getter)
        self.line(pad, f"{out} = kept[{index}]")
        self.line(pad, f"if {out} is None:")
        self.line(pad, f"    {out} = kept[{index}] = getters[{index}]()")

    def emit(self, node: Any, x: str, out: str, pad: str, depth: int) -> None:
        """Code that assigns ``node``'s value at step ``x`` to ``out``."""
        template = self.template(node) if self.nodes < MAX_NODES and depth < MAX_DEPTH else None
        if template is not None:
            self.nodes += 1
            if template(self, node, x, out, pad, depth + 1):
                return
            self.nodes -= 1
        function = self.bind(node._scalar_function(), "f")
        self.line(pad, f"{out} = {function}({x})")


def function(root: Any, template: Callable[[Any], Template | None]) -> Callable[[Any], Any] | None:
    """The flat one-step function of ``root``, or None when its template declines it or it
    would inline fewer than two nodes (the node's closure is then as fast)."""
    writer, own = Writer(template), template(root)
    # The root is written by its template, or not at all (a call of its own function is what
    # the caller builds instead).
    writer.nodes = 1
    if own is None or not own(writer, root, "t", "result", "    ", 1) or writer.nodes < 2:
        return None
    writer.names.update(kept=writer.kept, getters=writer.getters)
    source = "def step(t):\n" + "\n".join(writer.lines) + "\n    return result\n"
    code = compile(source, f"<one step of {type(root).__name__}>", "exec")
    exec(code, writer.names)
    result: Callable[[Any], Any] = writer.names["step"]
    return result


# -- the templates: each writes its node's closure (``onestep``) as lines ---------------------


def constant(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    w.line(pad, f"{out} = {w.value(node.value)}")
    return True


def _fold(op: str, parts: Callable[[Any], tuple[Any, ...]]) -> Template:
    def template(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
        x = w.step(x, pad) if len(parts(node)) > 1 else x
        names = [w.new("v") for _ in parts(node)]
        for part, name in zip(parts(node), names):
            w.emit(part, x, name, pad, depth)
        w.line(pad, f"{out} = {op.join(names)}")
        return True

    return template


chain = _fold(" * ", lambda node: node.factors)
add = _fold(" + ", lambda node: node.terms)
subtract = _fold(" - ", lambda node: (node.left, node.right))


def linear(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    s, u, steps = w.step(x, pad), w.new("u"), w.value(node.steps)
    w.line(pad, f"{u} = {s} if {s} < {steps} else {w.value(float(node.steps))}")
    start, slope = w.value(node.start), w.value(node.end - node.start)
    w.line(pad, f"{out} = {start} + {slope} * {u} / {steps}")
    return True


def exponential(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    if node.gamma <= 1.0:  # gamma ** t of a step t >= 0 is in [0, 1]: it cannot overflow
        w.line(pad, f"{out} = {w.value(node.gamma)} ** {x}")
    else:  # overflow is inf, as power() and the closure make it
        w.line(pad, f"{out} = {w.bind(power, 'power')}({w.value(node.gamma)}, {x})")
    return True


def multistep(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    # The closure's power(gamma, count), one value per count, computed here once.
    table = tuple(power(node.gamma, k) for k in range(len(node.milestones) + 1))
    milestones = w.bind(node.milestones, "m")
    w.line(pad, f"{out} = {w.bind(table, 'table')}[bisect({milestones}, {x})]")
    return True


def cosine(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    s, steps = w.step(x, pad), w.value(node.steps)
    if not node.periodic:
        u = w.new("u")
        w.line(pad, f"{u} = {steps} if {s} > {steps} else {s}")
        s = u
    end, amplitude = w.value(node.end), w.value(1.0 - node.end)
    w.line(pad, f"{out} = {end} + {amplitude} * (1.0 + cos(pi * {s} / {steps})) / 2")
    return True


def clip(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    s, begin, inner = w.step(x, pad), w.value(node.begin), pad + "    "
    # A node's own step is never negative: with begin = 0 there is nothing before.
    test = "if"
    if node.begin:
        w.line(pad, f"if {s} < {begin}:")
        w.line(inner, f"{out} = 1.0")
        test = "elif"
    if node.end == math.inf:
        if not node.begin:  # nothing to test (public construction simplifies this clip away)
            w.emit(node.schedule, f"({s} - {begin})", out, pad, depth)
            return True
        w.line(pad, "else:")
        w.emit(node.schedule, f"({s} - {begin})", out, inner, depth)
        return True
    w.line(pad, f"{test} {s} < {w.value(node.end)}:")
    w.emit(node.schedule, f"({s} - {begin})", out, inner, depth)
    w.line(pad, "else:")
    w.kept_value(inner, out, node._held, node.__dict__.get("_held_value"))
    return True


def sequence(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    if len(node.pieces) > MAX_PIECES or not node.at:  # one piece: its closure is as fast
        return False
    s, inner, at = w.step(x, pad), pad + "    ", node.at
    for i, piece in enumerate(node.pieces):
        test = f"{'elif' if i else 'if'} {s} < {w.value(at[i])}:" if i < len(at) else "else:"
        w.line(pad, test)
        w.emit(piece, f"({s} - {w.value(at[i - 1])})" if i else s, out, inner, depth)
    return True


def per_epoch(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    op = "/" if node.smooth else "//"
    w.emit(node.schedule, f"({x} {op} {w.value(node.epoch_length)})", out, pad, depth)
    return True


def warmup(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    if node.overlay or node.shape != "linear":
        return False
    s, steps, inner, peak = w.step(x, pad), w.value(node.steps), pad + "    ", w.new("p")
    w.line(pad, f"if {s} < {steps}:")
    w.kept_value(inner, peak, node._peak, node.__dict__.get("_peak_value"))
    start, rise = w.value(node.start), w.value(1.0 - node.start)
    w.line(inner, f"{out} = ({start} + {rise} * {s} / {steps}) * {peak}")
    w.line(pad, "else:")
    w.emit(node.schedule, f"({s} - {steps})", out, inner, depth)
    return True


def stretch(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    w.emit(node.schedule, f"({x} / {w.value(node.factor)})", out, pad, depth)
    return True


def shift(w: Writer, node: Any, x: str, out: str, pad: str, depth: int) -> bool:
    w.emit(node.schedule, f"({x} + {w.value(node.offset)})", out, pad, depth)
    return True
