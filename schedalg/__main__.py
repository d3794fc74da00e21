"""``python -m schedalg``: the same command line as the ``schedalg`` script."""

import sys

from schedalg.cli import main

sys.exit(main())
