"""The name -> compile-unit index of a linked ELF file, built once per build-id and cached.

The index records, for every named struct, union, typedef, enum and base
type, where its first complete definition sits (unit ordinal and DIE
offset): the one the plain reader would take.  A lookup then converts only
those DIEs.  It also lists, in file order, the first struct or union DIE of
each declaration site (name, kind, size, line and column): the only DIEs
a read of every same-name definition (``pahole --sizes``) has to look at.

It is built by :mod:`.dwarfscan` over ranges of compile units in worker
processes (one per core) and stored under
``$XDG_CACHE_HOME/layoutcalc/index/`` (``~/.cache/...`` by default), named by
the build-id (:mod:`.cache`), so that later runs skip the scan entirely.

:func:`btf_type_names` answers "does this name exist" from a ``.BTF``
section in well under a second, before any DWARF is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Callable, NamedTuple, Optional, TypeVar

from ...errors import InputError
from .. import cache
from . import dwarfscan
from .dwarfscan import TAG_BASE, TAG_ENUM, TAG_STRUCT, TAG_TYPEDEF, TAG_UNION

ProgressCallback = Callable[[int, int], None]
_TABLES = {TAG_STRUCT: "structs", TAG_UNION: "unions", TAG_TYPEDEF: "typedefs", TAG_ENUM: "enums",
           TAG_BASE: "base_types"}
# Entry: (unit ordinal, DIE offset, byte size, encoding)
Entry = tuple[int, int, Optional[int], int]
# Site: (unit ordinal, DIE offset, table, name) of the first definition at a declaration site
Site = tuple[int, int, str, str]


class TypeIndex(NamedTuple):
    """Where each name's first complete definition is, by table (structs, unions, typedefs...)."""

    build_id: Optional[str]
    units: list[int]  # unit header offsets, by ordinal
    tables: dict[str, dict[str, Entry]]
    sites: list[Site]  # the first struct/union definition of each declaration site, in file order

    def find(self, table: str, name: str) -> Optional[Entry]:
        return self.tables[table].get(name)

    def aggregate_names(self) -> list[str]:
        """Every struct and union name (for suggestions)."""
        return sorted(set(self.tables["structs"]) | set(self.tables["unions"]))


_LOADED: dict[tuple[object, ...], TypeIndex] = {}  # what this process loaded, by cache file state and code


def load_cached(build_id: Optional[str]) -> Optional[TypeIndex]:
    """The cached index of ``build_id`` made by this code, or None."""
    if not build_id:
        return None
    try:
        info = cache.entry_path("index", build_id).stat()
    except OSError:
        return None
    key = (build_id, info.st_mtime_ns, info.st_size, info.st_ino, cache.code_digest())
    if key not in _LOADED:
        found = cache.load("index", build_id)
        if not isinstance(found, TypeIndex):
            return None
        _LOADED[key] = found
    return _LOADED[key]


# A worker's job: the path, the first unit's ordinal, the units, and the worker's own argument.
RangeJob = tuple[str, int, list[dwarfscan.Unit], Any]
_Result = TypeVar("_Result")


_Where = tuple[str, int, Optional[int], Optional[int], Optional[int]]
_Part = tuple[int, dict[str, dict[str, Entry]], list[tuple[_Where, Site]]]


def _scan_range(args: RangeJob) -> _Part:
    """Worker: the first definitions and sites within ``units`` of ``path`` (numbered from ``start``)."""
    path, start, units, _argument = args
    tables: dict[str, dict[str, Entry]] = {name: {} for name in _TABLES.values()}
    sites: list[tuple[_Where, Site]] = []
    seen_sites: set[_Where] = set()
    with dwarfscan.Sections(path) as sections, cache.paused_gc():
        factory = dwarfscan.DecoderFactory(sections.little_endian, sections.string_end)
        abbrevs: dict[int, dict[int, dwarfscan.AbbrevSpec]] = {}
        for ordinal, unit in enumerate(units, start):
            # the TypeEntry fields unpacked: attribute access costs more than the rest of the loop
            for tag, name, die_offset, byte_size, encoding, declaration, line, column in dwarfscan.scan_unit(
                    sections, unit, factory, abbrevs):
                if declaration and tag != TAG_TYPEDEF:
                    continue
                table_name = _TABLES[tag]
                table = tables[table_name]
                if name not in table:
                    table[name] = (ordinal, die_offset, byte_size, encoding)
                if tag == TAG_STRUCT or tag == TAG_UNION:
                    where = (name, tag, byte_size, line, column)  # TypeEntry.where()
                    if where not in seen_sites:
                        seen_sites.add(where)
                        sites.append((where, (ordinal, die_offset, table_name, name)))
    return len(units), tables, sites


def _chunks(units: list[dwarfscan.Unit], count: int) -> Iterator[tuple[int, int]]:
    """At most ``count`` ranges ``[start, stop)`` of consecutive units of about equal size in bytes."""
    total = sum(unit.end - unit.offset for unit in units) or 1
    start, done, boundary = 0, 0, 1
    for ordinal, unit in enumerate(units):
        done += unit.end - unit.offset
        if done * count >= total * boundary or ordinal + 1 == len(units):
            yield start, ordinal + 1
            start = ordinal + 1
            while done * count >= total * boundary:
                boundary += 1


SitesCallback = Callable[[list[Site]], None]


def build(path: str, build_id: Optional[str], progress: Optional[ProgressCallback] = None,
          workers: Optional[int] = None, on_sites: Optional[SitesCallback] = None) -> TypeIndex:
    """Scan ``path`` (a linked ELF file) into a TypeIndex, using every core when it is large.

    ``on_sites`` is handed each batch of declaration sites as soon as the
    ranges before them are merged (in file order), so that a caller can
    convert them while the workers scan on.  Raises
    :class:`~.dwarfscan.UnsupportedDwarf` when the scanner meets something it
    does not know; the caller then reads the plain way.
    """
    units, parts = map_unit_ranges(path, _scan_range, None, workers)
    tables: dict[str, dict[str, Entry]] = {name: {} for name in _TABLES.values()}
    sites: list[Site] = []
    seen_sites: set[_Where] = set()
    done = 0
    for count, part, part_sites in parts:  # in file order
        for name, table in part.items():
            merged = tables[name]
            for key, value in table.items():
                merged.setdefault(key, value)
        first_new = len(sites)
        for where, site in part_sites:
            if where not in seen_sites:
                seen_sites.add(where)
                sites.append(site)
        if on_sites is not None:
            on_sites(sites[first_new:])
        done += count
        if progress:
            progress(done, len(units))
    return TypeIndex(build_id, [unit.offset for unit in units], tables, sites)


def map_unit_ranges(path: str, worker: Callable[[RangeJob], _Result], argument: Any = None,
                    workers: Optional[int] = None) -> tuple[list[dwarfscan.Unit], Iterator[_Result]]:
    """``path``'s units, and ``worker`` run over ranges of them on every core, its results in file order.

    A large file is cut into four ranges of about equal bytes per worker,
    so that the results of the first ones arrive (and can be used) early.
    """
    with dwarfscan.Sections(path) as sections:
        units = list(dwarfscan.iter_units(sections))
        size = len(sections.info)
    workers = workers or min(os.cpu_count() or 1, 8)
    chunk_count = max(1, min(len(units), 4 * workers if size > 8 << 20 else 1))
    jobs = [(path, start, units[start:stop], argument) for start, stop in _chunks(units, chunk_count)]
    return units, _map(worker, jobs, workers)


def _map(function: Callable[[RangeJob], _Result], items: list[RangeJob], workers: int) -> Iterator[_Result]:
    """``map`` in order, over a process pool when there is more than one item and one core."""
    if workers < 2 or len(items) < 2:
        yield from map(function, items)
        return
    import multiprocessing
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    pool = context.Pool(min(workers, len(items)), initializer=_worker_start)
    try:
        yield from pool.imap(function, items)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _worker_start() -> None:
    """Workers die quietly when the pool ends them (a forked worker inherits the CLI's SIGTERM handler)."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the parent's to handle


def get_index(path: str, build_id: Optional[str], progress: Optional[ProgressCallback] = None,
              on_sites: Optional[SitesCallback] = None) -> TypeIndex:
    """The cached index of ``path``'s build-id, or a new one (then cached); ``on_sites`` as for :func:`build`."""
    cached = load_cached(build_id)
    if cached is not None:
        if on_sites is not None:
            on_sites(cached.sites)
        return cached
    index = build(path, build_id, progress, on_sites=on_sites)
    cache.store("index", build_id, index)
    return index


def btf_type_names(path: str) -> Optional[set[str]]:
    """The struct, union and typedef names of ``path``'s ``.BTF`` section (None when it has none)."""
    from ..btf import BtfTypes
    from ..elf import read_elf_info
    try:
        data = read_elf_info(path).btf
        if data is None:
            return None
        btf = BtfTypes(data, path)
        if btf.needs_base():
            return None  # split BTF (a module's): its names are in its base too
    except InputError:
        return None  # the reader proper reports what is wrong with the file
    names = set()
    for type_id in range(1, btf.num_types):
        name_off, kind, _vlen, _flag, _size = btf.record(type_id)
        if kind in (4, 5, 8) and name_off:
            names.add(btf.string(name_off, type_id))
    return names
