"""forms: a schedule as text and data, read back without ``eval``.

- ``text``: ``parse`` (the repr read back); ``data``: ``to_dict``/``from_dict`` (JSON) and
  ``fingerprint``; ``literals``: the one safe reader of literal ``ast`` nodes, shared with the
  MMEngine config reader.

Imports: ``schedalg.core``, ``.engine``, ``.algebra``, ``.curves``; never ``schedalg.analysis``
(the two are siblings).
"""
