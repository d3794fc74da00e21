"""algebra: the ``Schedule`` type and the combinators that build expressions from schedules.

- ``expression``: ``Schedule`` (evaluation, operators, ``clip``, ``bind``, ``plot``) and the
  nodes its operators build: ``constant chain add subtract divide power``;
- ``combinators``: ``clip sequence per_epoch warmup``; ``timewarps``: ``stretch repeat warp
  shift`` (they move a child's clock); ``arithmetic``: ``minimum maximum clamp``;
- ``tree``: the one generic walk (placements on the global clock, events, nodes, rebuild);
- ``units``: ``absolute``, the marker of absolute values; ``horizon``: placeholders bound late
  (``total``, ``placeholder(name)``).

Imports: ``schedalg.core``, ``schedalg.engine``.
"""
