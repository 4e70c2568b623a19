"""layoutcalc: the memory cost of C struct layouts, from real kernel debug info.

In a notebook or script::

    import layoutcalc
    build = layoutcalc.load("vmlinux")      # or a snapshot, or a bundled snapshot's name
    build.struct("pid")                     # a cacheline grid in Jupyter
    build.whatif().frame()

The names below are imported on first use (:mod:`layoutcalc.workbench`), so
``import layoutcalc`` and ``layoutcalc --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# (no "slab": that name is the layoutcalc.slab package; the several-builds slab view is "slabs")
_WORKBENCH = ("load", "report", "slabs", "history", "bundled", "Build", "StructLayout", "WhatIf", "WhatIfLayout",
              "Report", "Slab", "Diff", "History", "Check")
__all__ = ["__version__", *_WORKBENCH]


def __getattr__(name: str) -> Any:
    if name in _WORKBENCH:
        from . import workbench
        return getattr(workbench, name)
    raise AttributeError(f"module 'layoutcalc' has no attribute '{name}'")


def __dir__() -> list[str]:
    """What ``dir(layoutcalc)`` and tab completion offer: the notebook face, loaded or not."""
    return sorted(set(globals()) | set(__all__))
