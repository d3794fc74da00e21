"""engine: where a schedule is evaluated.

- ``backends``: the one place that tells array libraries apart (``library(xp)``: NumPy, torch,
  JAX; any other is refused by name), step validation, ``SCALAR`` (the one-step namespace),
  libm's ``pow`` on arrays;
- ``fills``: curves filled block by block (``fill_curve``) and the fills nodes share;
- ``steps``: ``s(array)`` of integer steps read from the curve, CPU torch tensors through NumPy;
- ``blockwise``: the curve fill of elementwise nodes, the operands' own fills folded in place;
- ``periods``: curves that repeat exactly, one period computed once;
- ``threads``: a second thread for the blocks of a long curve (opt-in: ``SCHEDALG_THREADS=2``);
- ``onestep``/``flatstep``: what ``s(t)`` runs, a closure per hot node and the whole expression
  written as one flat function.

Imports: ``schedalg.core``. Schedules reach the engine as arguments (typed by a Protocol), never
by an import of ``schedalg.algebra``.
"""
