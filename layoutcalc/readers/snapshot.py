"""Snapshot reader: a layoutcalc snapshot JSON file into a Build (see :mod:`layoutcalc.snapshot`)."""

from __future__ import annotations

from ..model import Build
from ..snapshot import read_snapshot_file


def read_snapshot(path: str) -> Build:
    """Read and validate the snapshot at ``path``."""
    return read_snapshot_file(path)
