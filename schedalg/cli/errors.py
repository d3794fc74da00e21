"""The command line's one kind of failure: a user error, reported in one line.

Its own module because every other module of ``schedalg.cli`` raises it, the format table and
the argument definitions included, and those two import each other's names in one direction
only (the import contract allows no circle).
"""

from __future__ import annotations

__all__ = ["USAGE_ERROR", "UserError"]

USAGE_ERROR = 2


class UserError(Exception):
    """A problem with what the user typed or pointed at: reported in one line, exit status 2."""
