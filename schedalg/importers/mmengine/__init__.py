"""MMEngine ``param_scheduler`` configs as schedalg expressions, with MMEngine's exact curves
(the face is ``schedalg.mmengine``).

``from_config(param_scheduler, epoch_length=L, max_epochs=E)`` returns one expression per
scheduled parameter (``'lr'``, ``'momentum'``, ``'weight_decay'``, ...), in iterations: the value
at iteration ``i`` is the value MMEngine's ``ParamSchedulerHook`` has the optimizer use for
iteration ``i`` (each built in config order, its constructor taking its first step at iteration
0; then iteration schedulers stepped after every iteration, epoch schedulers after each epoch's
last iteration, in config order). ``load_config`` / ``read_settings`` / ``read_config`` read a
config file (``_base_`` and ``read_base()`` inheritance included) as data, never running it
(``configfile``, ``configlang``, ``configscope``, ``configtree``, ``configlazy``,
``configvalues``); what it cannot follow is refused by name when a key it may change is read.

How MMEngine computes, and how it is mapped (``docs/mmengine-semantics.md``):

- Every scheduler updates the *current* value of the parameter, so schedulers compose in time
  order. The multiplicative ones (Constant, Linear, Step, MultiStep, Exponential, and
  CosineAnnealing / Poly annealing to 0) compose as a product of their clipped closed forms,
  whatever their overlaps: ``chain(clip(f, begin, end), per_epoch(clip(g, b2, e2), L), ...)``.
- The others are affine in the current value (CosineAnnealing / Poly with an ``eta_min``, Cosine
  run past ``T_max``) or absolute (OneCycle, CosineRestart). One that runs alone while it changes
  the value is a piece of a ``sequence``. Affine updates that interleave with another
  scheduler's changes are the exact scan ``affine_steps`` of every update in MMEngine's order
  (the constructors' at iteration 0, then the hook's; an absolute update is one with ratio 0);
  additive ones (a cosine past its ``T_max``, mmdet's QuadraticWarmup) that interleave are a
  ``ValueError`` saying so.
- ReduceOnPlateau decides from validation metrics: it is ``schedalg.plateau``'s node.

Values are multipliers of the optimizer's original value (``initial_lr``), the adapter's
convention. Configs with absolute numbers in them (``eta_min`` != 0, OneCycle's ``eta_max``)
need that original value, ``base={'lr': 0.1}``, to express them as a multiplier; with
``absolute=True`` every expression is the absolute value instead (``base`` required for all).

The table
---------
Everything about one MMEngine scheduler kind lives in one entry of the table (``kinds``): a subclass
of ``base.Kind`` decorated with ``@entry``. Its class attributes say which arguments it takes
(``defaults``, ``required``), which of them count steps that ``convert_to_iter_based`` multiplies by
the epoch length (``step_counts``, ``step_lists``), the parameter it is limited to (``only_param``),
whether MMEngine registers a ``...Momentum`` for it, and how refusals describe it; its methods give
its checks (``validate``), its form (``multiplicative`` with its ``factor``, or the affine/absolute
``curve``), where it changes the value (``changes_from``, ``last_change``, ``settles``) and the
remedy offered when it overlaps another scheduler. The rest of the package never branches on a kind:
``specs`` turns configs into specs (``Spec``) by reading the entry, and ``timeline`` composes one
parameter's specs by asking it.

Adding an MMEngine type is one entry, in the module of ``kinds/`` that fits it (a new module
also needs its import in ``kinds/__init__.py``); this one, in ``kinds/multiplicative.py``,
makes ``HalvingLR``, ``HalvingMomentum`` and ``HalvingParamScheduler``::

    @entry
    class Halving(Multiplicative):
        name = "Halving"
        defaults = arguments(every=None)
        required = ("every",)
        step_counts = ("every",)

        def validate(self, spec, horizon):
            spec.args["every"] = integral(spec.label, "every", spec.args["every"])
            return spec

        def changes_from(self, spec, t):
            every = spec.args["every"]
            return -(-max(t, 1) // every) * every

        def factor(self, spec):
            return step_decay(spec.args["every"], 0.5)
"""
