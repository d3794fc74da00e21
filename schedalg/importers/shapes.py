"""The decay shapes the importers share, by schedalg's name: each a factor that falls from 1 at
step 0 to 0 at step ``d`` (``p = t / d``) and holds 0 after.

==========  ==========================  ==========================================
name        factor                      expression
==========  ==========================  ==========================================
``linear``  ``1 - p``                   ``linear(1.0, 0.0, d)``
``cosine``  ``(1 + cos(pi p)) / 2``     ``cosine(d)``
``1-sqrt``  ``1 - sqrt(p)``             ``1.0 - (elapsed() / d) ** 0.5``
==========  ==========================  ==========================================

The names are also ``warmup_stable_decay``'s ``decay_shape`` values, and HF's and timm's own
spellings. A source that spells a shape its own way (Megatron-LM's ``minus_sqrt``) has its
names in ``_OWN``: ``spellings(source)`` is the table an importer checks a user's value
against, so its messages list the names the user's library takes.
"""

from __future__ import annotations

from collections.abc import Callable

from schedalg.algebra.expression import Schedule
from schedalg.curves.primitives import cosine, elapsed, linear

__all__ = ["COSINE", "DECAYS", "LINEAR", "ONE_MINUS_SQRT", "spellings"]

LINEAR = "linear"
COSINE = "cosine"
ONE_MINUS_SQRT = "1-sqrt"

DECAYS: dict[str, Callable[[int], Schedule]] = {
    LINEAR: lambda steps: linear(1.0, 0.0, steps),
    COSINE: lambda steps: cosine(steps),
    # ``** 0.5``, not a sqrt node: timm's own operation, so the values are timm's to the bit.
    ONE_MINUS_SQRT: lambda steps: 1.0 - (elapsed() / float(steps)) ** 0.5,
}
"""The factor of each shape over ``steps`` steps, as an expression."""

# A source's names for the shapes where they differ from schedalg's (its name -> ours).
_OWN: dict[str, dict[str, str]] = {"Megatron-LM": {"minus_sqrt": ONE_MINUS_SQRT}}


def spellings(source: str) -> dict[str, str]:
    """The names ``source`` gives the shared shapes, each mapped to schedalg's, in the order of
    ``DECAYS``: ``spellings("Megatron-LM")["minus_sqrt"]`` is ``"1-sqrt"``."""
    own = {ours: theirs for theirs, ours in _OWN.get(source, {}).items()}
    return {own.get(name, name): name for name in DECAYS}
