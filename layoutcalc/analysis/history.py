"""Struct sizes across a series of builds, scanned in parallel.

Each build is scanned independently by :func:`struct_sizes`, a plain
top-level function of a path, so the same work runs unchanged in a local
process pool (the default) or on a Dask distributed cluster
(``scheduler="tcp://host:8786"``), for archives of builds that outgrow one
machine.  On a cluster the paths must be readable by the workers (a shared
file system).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import repeat
from typing import NamedTuple, Optional

from ..errors import LayoutcalcError
from ..workers import run_quietly

DEFAULT_STRUCTS = ("task_struct", "signal_struct", "pid")


class HistoryRow(NamedTuple):
    """One build's sizes: ``sizes[name]`` is None when the build has no such struct."""

    build: str
    sizes: dict[str, Optional[int]]
    source: str


def build_label(path: str) -> str:
    """``6.1.0-47-cloud-amd64`` for ``.../vmlinux-6.1.0-47-cloud-amd64``."""
    return os.path.basename(path).removeprefix("vmlinux-")


def struct_sizes(path: str, names: Sequence[str], source: str = "auto") -> HistoryRow:
    """The sizes of ``names`` (structs, else unions; the first definition of a name) in the build at ``path``."""
    from ..readers.definitions import read_definitions
    found = read_definitions(path, list(names), source)
    sizes: dict[str, int] = {}
    unions: dict[str, int] = {}
    for struct in found.definitions:
        table = unions if struct.is_union else sizes
        table.setdefault(struct.name or "", struct.size_bytes)
    return HistoryRow(build_label(path), {name: sizes.get(name, unions.get(name)) for name in names}, found.source)


def scan_history(paths: Sequence[str], names: Sequence[str] = DEFAULT_STRUCTS, source: str = "auto",
                 scheduler: Optional[str] = None, workers: Optional[int] = None) -> list[HistoryRow]:
    """:func:`struct_sizes` of every build, in input order: a process pool, or the Dask cluster at ``scheduler``."""
    names = tuple(names)
    if scheduler is not None:
        return _scan_on_dask(scheduler, paths, names, source)
    count = min(len(paths), workers or os.cpu_count() or 1)
    if count <= 1:
        return [struct_sizes(path, names, source) for path in paths]
    return run_quietly(count, struct_sizes, paths, repeat(names), repeat(source))


def _scan_on_dask(scheduler: str, paths: Sequence[str], names: tuple[str, ...], source: str) -> list[HistoryRow]:
    try:
        from distributed import Client
    except ImportError:
        raise LayoutcalcError("--scheduler needs dask.distributed: pip install 'layoutcalc[dask]'") from None
    try:
        client = Client(scheduler, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise LayoutcalcError(f"{scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        futures = client.map(struct_sizes, list(paths), names=names, source=source, pure=False)
        rows: list[HistoryRow] = client.gather(futures)  # type: ignore[no-untyped-call]
    finally:
        client.close()  # type: ignore[no-untyped-call]
    return rows
