"""steadyseg: video people segmentation that does not flicker."""

from . import compat

__version__ = "0.1.0"

compat.apply()
