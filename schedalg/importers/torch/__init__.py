"""``from_torch``: constructed torch schedulers as schedalg expressions (the face is
``schedalg.torch``).

- ``convert``: ``from_torch`` and its result, ``TorchSchedules``.
- ``classes``: the table, one ``TorchClass`` entry per torch scheduler class;
  ``table``: the ``TorchClass`` fields and the lookup.
- ``recursive``, ``overwriting``, ``compose``, ``affine``: the conversions the entries name
  (chainable multipliers; schedulers that overwrite the lr; SequentialLR and ChainedScheduler;
  a ChainedScheduler's affine cosine).
- ``state``: reading the start lrs and the steps taken; ``context``: ``Place`` (which group,
  from which lr, at which position), ``Curve`` and ``Refusal``.

The converter is a table. ``from_torch`` looks up the entry of the scheduler's class (or of the
nearest torch class it derives from) and asks it for each param group's curve; a composite's
conversion looks up the entry of each scheduler nested in it. Nothing outside the table switches
on the torch class: whether a scheduler overwrites the lr (no ``multiplier``: it cannot be
chained), whether its result must be absolute, how its clock is read, where its lr can be
checked, and why it is refused inside a SequentialLR or a ChainedScheduler are fields of its
entry. A torch class is added with one entry in ``classes``::

    L.NewLR: TorchClass(curve=new_curve, multiplier=new_factor, settles=new_settles),

where ``new_curve(scheduler, place) -> Curve`` converts one param group and every other field
keeps its default unless the class differs there. The torch behaviour the conversions match is
described in ``docs/torch-semantics.md``.
"""
