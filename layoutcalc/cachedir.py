"""Where layoutcalc keeps what it can compute again: the one cache root.

``$LAYOUTCALC_CACHE`` when set (tests point it at a private directory), else
``$XDG_CACHE_HOME/layoutcalc``, else ``~/.cache/layoutcalc``.  The scan cache
(:mod:`layoutcalc.readers.cache`) and source mode's compiled trees and configs
(:mod:`layoutcalc.readers.kernel_source`) live below it.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The directory every layoutcalc cache lives under (not created here)."""
    explicit = os.environ.get("LAYOUTCALC_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "layoutcalc"


def source_cache_root() -> Path:
    """Source mode's part of the cache: compiled snapshots, build directories, resolved configs."""
    return cache_root() / "source"
