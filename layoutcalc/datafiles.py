"""Where the bundled data lives: the one owner of that decision.

The repository keeps the snapshots and scenarios in its top-level ``data/``; the package
reaches them as its resource ``layoutcalc/data`` (a link to ``../data`` in a checkout, the
files themselves in an installed wheel).  Every reader of bundled data asks :func:`data_dir`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    """The directory of the bundled snapshots and scenarios, installed or in a checkout."""
    return Path(str(files("layoutcalc"))) / "data"


def scenario_dir() -> Path:
    """The bundled scenario files (``flat.toml``, ``hierarchical.toml``)."""
    return data_dir() / "scenarios"
