"""The slot for what draws a schedule.

``Schedule.plot`` and the notebook picture draw through whatever fills this slot:
``schedalg.analysis`` fills it with ``schedalg.analysis.plot`` when it is imported (``import
schedalg`` does, and so does importing any module of schedalg, since the package imports it).
The algebra holds the slot so that ``Schedule`` needs no import of a layer above it.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Renderer", "renderer", "set_renderer"]


class Renderer(Protocol):
    """What draws a schedule: ``schedalg.analysis.plot``, which fills the slot when the
    analysis layer is imported (``import schedalg`` does). The algebra holds the slot so that
    ``Schedule.plot`` needs no import of a layer above it."""

    def plot(self, schedule: Any, steps: int, **options: Any) -> Any: ...

    def png(self, schedule: Any) -> bytes | None: ...


_RENDERERS: list[Renderer] = []


def set_renderer(renderer: Renderer) -> None:
    """Make ``renderer`` draw ``Schedule.plot`` and the notebook picture."""
    _RENDERERS[:] = [renderer]


def renderer() -> Renderer:
    if not _RENDERERS:
        raise RuntimeError("Schedule.plot(): no renderer; import schedalg.analysis first")
    return _RENDERERS[0]
