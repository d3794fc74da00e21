"""core: what every node is made of.

- ``node``: the node protocol (``param``, ``Child``/``Clock``/``Event``, the registry that gives a
  class its public name for repr, parse, JSON, fingerprint and listing) and ``NodeType``;
- ``validators``: the parameter checks, imperative (``integer(fn, name, value)``) and declarative
  (``an_integer()``), each naming the function, the parameter and the value;
- ``printing``: the generic repr that reads back as written, and infix arithmetic.

Imports: the standard library alone (nothing else of schedalg, not NumPy).
"""
