"""importers: schedules people already have, read into exact expressions (or refused, saying why).

One module or package per source, each built on a table with one entry per foreign type:
``torch`` (``from_torch``), ``mmengine`` (``from_config`` and the config language), ``hf``,
``timm`` (with ``timm_curves``), ``deepspeed``, ``keras`` (``from_keras``), ``megatron``,
``optax``; the trainers' run configs: ``hf`` (``from_training_arguments``), ``axolotl``,
``llamafactory`` (both on ``hf_arguments``), ``torchtune``, ``litgpt``, ``lightning_cli`` (on
``torch.kwargs``), ``detectron2``, ``ultralytics`` (and yolov5), ``megatron_script`` (a launch
script, read with ``shell`` and ``shell_words``). ``options`` holds the checks they share, in
the source's own option names, and ``shapes`` the decay shapes.

Imports: every layer below (core, engine, algebra, curves, analysis, forms) and each other;
never ``schedalg.integrations`` or ``schedalg.cli``.
"""
