"""``Scheduler``: the torch adapter (the face is ``schedalg.torch``).

- ``adapter``: ``Scheduler``, a ``torch.optim.lr_scheduler.LRScheduler`` that sets any
  param-group value from schedules; ``arguments``: reading and checking its arguments;
- ``stepping``: each distinct schedule evaluated once per step; ``timing``: which step applies
  (an external clock, skipped optimizer steps); ``binding``: schedules holding placeholders;
- ``checkpoint``: what ``state_dict`` saves and how a resume is checked.

Importing it imports torch; ``import schedalg`` does not.
"""
