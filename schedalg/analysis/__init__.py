"""analysis: what a schedule does over a run.

- ``description``: ``describe`` (phases, peak, jumps); ``checks``: ``check`` and its table of
  rules (``RULES``); ``scan``: the streamed pass both read;
- ``diffing``: ``diff``, where two schedules part, streamed in blocks;
- ``plot``: the pictures (terminal text and matplotlib), behind ``Schedule.plot`` and the notebook
  picture; ``envelope``: what a picture keeps of a curve read in pieces;
- ``laws``: loss-curve laws (the multi-power law): predict a schedule's loss, fit on logged runs,
  optimize a schedule.

Imports: ``schedalg.core``, ``.engine``, ``.algebra``, ``.curves``; never ``schedalg.forms``
(the two are siblings).
"""

from schedalg.algebra.rendering import set_renderer as _set_renderer
from schedalg.analysis import plot as _plot

# Schedule.plot and the notebook picture are drawn here; the algebra layer holds only the slot.
_set_renderer(_plot)
