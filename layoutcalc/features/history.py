"""Struct sizes across a series of builds, scanned in parallel.

Each build is scanned independently by :func:`struct_sizes`, a plain
top-level function of a path, so the same work runs unchanged in a local
process pool (the default) or on a Dask distributed cluster
(``scheduler="tcp://host:8786"``), for archives of builds that outgrow one
machine.  On a cluster the paths must be readable by the workers (a shared
file system); relative paths are made absolute before they are sent.

Each row carries the build's own metadata (arch from the debug info; kernel
release, Debian package version and flavour from the ``Linux version``
banner the kernel image carries), never guessed from the file name, so that
a series follows one flavour on one architecture whatever the files are
called.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Sequence
from itertools import repeat
from typing import NamedTuple, Optional

from ..errors import LayoutcalcError
from ..provenance import Provenance
from ..workers import run_quietly

DEFAULT_STRUCTS = ("task_struct", "signal_struct", "pid")


class BuildMeta(NamedTuple):
    """What a build says about itself: ``release`` ``6.1.0-47-cloud-amd64``, ``version`` (Debian's)
    ``6.1.170-3``, ``flavour`` ``cloud-amd64``, ``package`` ``linux-image-6.1.0-47-cloud-amd64``;
    "" when the build does not record it (a test object, a raw BTF blob)."""

    arch: str
    release: str = ""
    version: str = ""
    flavour: str = ""
    package: str = ""


class HistoryRow(NamedTuple):
    """One build's sizes: ``sizes[name]`` is None when the build has no such struct."""

    build: str
    sizes: dict[str, Optional[int]]
    source: str
    meta: BuildMeta = BuildMeta("")

    @property
    def series(self) -> tuple[str, str]:
        """The line this build belongs on: its flavour on its architecture."""
        return self.meta.flavour, self.meta.arch


_BANNER = re.compile(rb"Linux version ([^\s]+) \(([^\0\n]*)")
_DEBIAN_VERSION = re.compile(rb"Debian ([0-9][^\s()]*) \(")
_FLAVOUR = re.compile(r"^\d+\.\d+(?:\.\d+)?(?:-\d+|\+deb\d+)?-([a-z][a-z0-9-]*)$")
BANNER_SCAN_LIMIT = 1 << 30  # the banner sits in .rodata, within the first few tens of MB of a vmlinux


def read_banner(path: str) -> tuple[str, str]:
    """(release, Debian version) from the ``Linux version`` banner in the file at ``path``, "" when absent."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size == 0:
                return "", ""
            with mmap.mmap(stream.fileno(), min(size, BANNER_SCAN_LIMIT), access=mmap.ACCESS_READ) as data:
                start = data.find(b"Linux version ")
                if start < 0:
                    return "", ""
                line = data[start:start + 512]
    except (OSError, ValueError):
        return "", ""
    match = _BANNER.match(line)
    if match is None:
        return "", ""
    release = match.group(1).decode("ascii", "replace")
    debian = _DEBIAN_VERSION.search(match.group(2))
    return release, debian.group(1).decode("ascii", "replace") if debian else ""


def build_meta(path: str, arch: str, provenance: Optional[Provenance] = None) -> BuildMeta:
    """The :class:`BuildMeta` of the build at ``path`` (``arch`` from its debug info)."""
    release, version = read_banner(path)
    if not release and provenance is not None:
        release = provenance.release or ""
        version = provenance.version or ""
    flavour = _FLAVOUR.match(release)
    return BuildMeta(arch, release, version or release, flavour.group(1) if flavour else "",
                     f"linux-image-{release}" if release and version else "")


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key of a kernel or Debian version: numbers compared as numbers (6.1.192 < 6.12.118)."""
    return tuple((int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.+~-]", version) if part)


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
    meta = build_meta(path, found.build.arch, found.build.provenance)
    return HistoryRow(build_label(path), {name: sizes.get(name, unions.get(name)) for name in names}, found.source,
                      meta)


def scan_history(paths: Sequence[str], names: Sequence[str] = DEFAULT_STRUCTS, source: str = "auto",
                 scheduler: Optional[str] = None, workers: Optional[int] = None) -> list[HistoryRow]:
    """:func:`struct_sizes` of every build, in input order: a process pool, or the Dask cluster at ``scheduler``."""
    names = tuple(names)
    paths = [os.path.abspath(path) for path in paths]  # a worker's working directory is not ours
    if scheduler is not None:
        rows = _scan_on_dask(scheduler, paths, names, source)
    else:
        count = min(len(paths), workers or os.cpu_count() or 1)
        if count <= 1:
            rows = [struct_sizes(path, names, source) for path in paths]
        else:
            rows = run_quietly(count, struct_sizes, paths, repeat(names), repeat(source))
    require_known(rows, names)
    return rows


def require_known(rows: Sequence[HistoryRow], names: Sequence[str]) -> None:
    """A struct that no build of the series has is a typo: NotFoundError naming it."""
    from ..errors import NotFoundError
    for name in names:
        if rows and all(row.sizes.get(name) is None for row in rows):
            raise NotFoundError(f"no build of the series has a struct or union named '{name}' "
                                f"({', '.join(row.build for row in rows[:3])}{' ...' if len(rows) > 3 else ''})")


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
