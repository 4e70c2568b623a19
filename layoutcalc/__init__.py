"""layoutcalc: the memory cost of C struct layouts, from real kernel debug info."""

__version__ = "0.1.0"
