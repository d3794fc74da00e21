"""importers: schedules people already have, read into exact expressions (or refused, saying why).

One module or package per source, each built on a table with one entry per foreign type:
``torch`` (``from_torch``), ``mmengine`` (``from_config`` and the config language), ``hf``,
``timm`` (with ``timm_curves``), ``deepspeed``, ``keras`` (``from_keras``), ``megatron``,
``optax``. ``options`` holds the checks they share, in the source's own option names.

Imports: every layer below (core, engine, algebra, curves, analysis, forms) and each other;
never ``schedalg.integrations`` or ``schedalg.cli``.
"""
