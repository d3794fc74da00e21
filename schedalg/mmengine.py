"""MMEngine ``param_scheduler`` configs as schedalg expressions, with MMEngine's exact curves,
and MMEngine config files read without running them.

A face: each name is imported from the module that defines it.
"""

from schedalg.importers.mmengine.configfile import load_config as load_config
from schedalg.importers.mmengine.configfile import read_config as read_config
from schedalg.importers.mmengine.configfile import read_settings as read_settings
from schedalg.importers.mmengine.convert import from_config as from_config
from schedalg.importers.mmengine.convert import loop_arguments as loop_arguments

__all__ = [
    "from_config",
    "load_config",
    "loop_arguments",
    "read_config",
    "read_settings",
]
