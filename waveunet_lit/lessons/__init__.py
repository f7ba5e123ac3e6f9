"""Helpers the notebooks share: toy signals, figures and sounds. One module per notebook topic.

The notebooks import these (and the rest of the package); they never redefine them.
"""

from .sound import listen

__all__ = ["listen"]
