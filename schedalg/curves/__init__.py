"""curves: the schedules themselves, one node class each.

- ``primitives``: ``elapsed linear exponential step_decay multistep polynomial cosine
  cosine_restarts inverse_sqrt``; ``phases``: ``warmup_stable_decay piecewise``;
- ``cycles``: ``cyclic one_cycle one_cycle_momentum``;
- ``functions``: ``from_fn cumulative`` (Python functions); ``perturbation``: ``noise``;
- ``recurrence``: ``affine_steps`` (interleaved stateful updates as an exact scan);
- ``integers``: ``rounded batch_ramp``; ``clocks``: ``consumed in_tokens in_samples``;
- ``metric``: ``plateau`` (ReduceLROnPlateau as a pure reducer), ``bind``, ``plateaus``.

A new primitive is one class here (and its tests): the registry makes it parse, print, serialise,
list and join the property tests. Imports: ``schedalg.core``, ``.engine``, ``.algebra``.
"""
