"""integrations: schedules driving training loops.

- ``torch``: ``Scheduler``, the adapter over any ``param_groups`` key of a torch optimizer;
- ``jax``: ``to_optax``; ``keras``: ``to_keras`` (``keras_schedule``, the Keras class, imports
  Keras);
- ``lightning``, ``hf_trainer``: trainer callbacks driving the torch adapter (clock, metrics, the
  run's length).

Imports: every layer below; never ``schedalg.cli``.
"""
