"""The DWARF reader: ELF files with debug info (vmlinux, .o, .ko) into the layout model.

Two paths give the same Build.  The plain path (:mod:`.convert`) walks the
compile units with pyelftools and converts DIEs with :class:`~.convert.DwarfConverter`.
The fast path (:mod:`.fastpath`) converts only the DIEs a name index
(:mod:`.typeindex`, or :mod:`.locate` for a cold lookup of a few names)
says the plain walk would convert, decoded straight from the section bytes
(:mod:`.dwarfscan` generates the decoders, :mod:`.rawdie` gives the DIEs
the converter reads); tests hold the two equal.  :mod:`.definitions` reads
every distinct definition both ways.  Which path reads a file is decided
here only, by :func:`fast_or_plain`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Callable, Optional, TypeVar

from ...errors import InputError, NotFoundError
from ...model import Build, StructType
from ...typegraph import GraphChecker, check_type_graph
from ..elf import DAMAGED_DWARF
from . import btfsizes, definitions, fastpath, typeindex
from .convert import DwarfFile, check_units, is_c_unit, provenance_of, read_plain, resolve_declared_members, unit_edges
from .dwarfscan import UnsupportedDwarf

__all__ = ["SCAN_MODES", "DwarfFile", "check_names", "every_definition", "fast_or_plain", "read_dwarf",
           "read_every_for_sizes", "scan_cache_key", "scan_mode", "unit_edges"]

ProgressCallback = Callable[[int, int], None]
SCAN_MODES = ("auto", "plain", "fast")
_Read = TypeVar("_Read")


def scan_mode() -> str:
    """How DWARF is read: ``LAYOUTCALC_SCAN`` = auto (fast path where it applies), plain or fast."""
    mode = os.environ.get("LAYOUTCALC_SCAN", "auto") or "auto"
    if mode not in SCAN_MODES:
        raise InputError(f"LAYOUTCALC_SCAN={mode}: expected one of {', '.join(SCAN_MODES)}")
    return mode


def _fast_path_applies(dwarf_file: DwarfFile) -> bool:
    """Whether the index can serve this file: linked, its sections read as stored."""
    return dwarf_file.elf.header["e_type"] in ("ET_EXEC", "ET_DYN") and dwarf_file.elf.stream is not None


def fast_or_plain(dwarf_file: DwarfFile, fast: Callable[[], _Read], plain: Callable[[], _Read]) -> _Read:
    """``fast()`` where the fast path applies to ``dwarf_file`` and ``LAYOUTCALC_SCAN`` allows it, else ``plain()``.

    The one place that chooses between the two paths, for every read of
    DWARF: the fast path serves linked ELF files (a relocatable object's
    debug sections need relocating, which only pyelftools does).  When the
    fast path meets DWARF it cannot decode (:class:`~.dwarfscan.UnsupportedDwarf`)
    or damage, ``auto`` falls back to ``plain()`` (which reads the file or
    says what is damaged in it); ``fast`` raises instead, so that tests see it.
    """
    mode = scan_mode()
    if mode != "plain" and _fast_path_applies(dwarf_file):
        try:
            return fast()
        except (UnsupportedDwarf, *DAMAGED_DWARF):
            if mode == "fast":
                raise
    return plain()


def read_dwarf(path: str, struct_names: Optional[Iterable[str]] = None,
               type_names: Optional[Iterable[str]] = None,
               progress: Optional[ProgressCallback] = None, any_kind: bool = False,
               every_definition: bool = False, resolve_declarations: bool = True) -> Build:
    """Read a Build from an ELF file's DWARF.

    With ``struct_names``/``type_names`` the scan stops as soon as every named
    struct/union (complete definition) and typedef/base type is found; with
    neither, every named struct and union is read (the first complete
    definition of a name wins, as in pahole).  ``progress(done, total)`` is
    called per compile unit when given.  With ``any_kind`` a name in
    ``struct_names`` is also satisfied by a typedef of that name (name it in
    ``type_names`` too), as pahole's ``-C`` is.  With ``every_definition``
    ``build.variants`` gets every distinct definition of each named struct and
    union (pahole's test: name, size, members' names, bit offsets and bit sizes).
    A member whose struct type its unit only declares takes another unit's
    full definition when it fits (``resolve_declarations``), else stays sized
    up to the next member and marked.

    Linked files are read through the cached name index (:mod:`.fastpath`),
    which gives the same Build without walking every unit.
    """
    wanted_structs = set(struct_names) if struct_names is not None else None
    wanted_types = set(type_names or ())
    with DwarfFile(path) as dwarf_file:
        def fast() -> Build:
            build = dwarf_file.empty_build()
            if every_definition:
                fastpath.read_every_indexed(dwarf_file, build, progress)
            else:
                fastpath.read_indexed(dwarf_file, build, wanted_structs, wanted_types, progress, any_kind)
            check_type_graph(build, path)
            if not build.structs and not build.unions:
                check_units(dwarf_file)
            return build

        def plain() -> Build:
            build = read_plain(dwarf_file, wanted_structs, wanted_types, progress, any_kind, every_definition)
            check_type_graph(build, path)
            return build
        build = fast_or_plain(dwarf_file, fast, plain)
    if resolve_declarations:
        resolve_declared_members(build, lambda names: read_dwarf(path, names, resolve_declarations=False))
    return build


def read_every_for_sizes(path: str, progress: Optional[ProgressCallback] = None) -> Optional[Build]:
    """Every distinct same-name definition of a linked ELF file, members' named types as stubs; None: not here.

    What ``pahole --sizes`` needs (each definition's size and holes, in its
    order) at a fraction of a whole read's cost
    (:func:`.fastpath.read_sizes_indexed`; rows from ``.BTF`` where that is
    safe, :mod:`.btfsizes`).  None where the fast path does not serve the
    file; the caller then reads the file whole.
    """
    try:
        dwarf_file = DwarfFile(path)
    except InputError:
        return None  # no DWARF (a BTF-only object) or damaged: the whole read says which
    with dwarf_file:
        return fast_or_plain(dwarf_file, lambda: btfsizes.read_sizes(dwarf_file, progress), lambda: None)


def every_definition(path: str, wanted: Optional[set[str]] = None,
                     progress: Optional[ProgressCallback] = None) -> tuple[Iterable[StructType], Build]:
    """Every distinct complete named struct/union definition of ``path`` (those named in ``wanted``), and a Build.

    For :func:`layoutcalc.readers.definitions.read_definitions`, which
    describes both.  The plain walk yields the definitions as it goes (a
    one-shot iterator); the fast path (:func:`.definitions.indexed_definitions`)
    gives a list.
    """
    with DwarfFile(path) as dwarf_file:
        def fast() -> tuple[Iterable[StructType], Build]:
            build = dwarf_file.empty_build()
            build.origin = path
            return definitions.indexed_definitions(dwarf_file, build, wanted, progress), build

        def plain() -> tuple[Iterable[StructType], Build]:
            build = dwarf_file.empty_build()
            build.origin = path
            try:
                first = next((cu for cu in dwarf_file.iter_cus() if is_c_unit(cu)), None)
                build.provenance = provenance_of(dwarf_file, first)
            except DAMAGED_DWARF as exc:
                raise InputError(f"{path}: corrupt or truncated DWARF ({exc.__class__.__name__}: {exc})") from None
            return definitions.plain_definitions(path, build, wanted, progress, GraphChecker(path)), build
        return fast_or_plain(dwarf_file, fast, plain)


def scan_cache_key(path: str) -> Optional[str]:
    """The key under which a whole read of ``path`` is cached: its build-id, where the fast path reads the file."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as stream:
            if stream.read(4) != b"\x7fELF":
                return None
        with DwarfFile(path) as dwarf_file:
            return fast_or_plain(dwarf_file, dwarf_file.cache_key, lambda: None)
    except (InputError, OSError):
        return None


def check_names(path: str, names: Iterable[str]) -> None:
    """Raise NotFoundError, with the closest names, for a struct name the file does not define.

    Answers from a cached index, else from the ``.BTF`` section (under a
    second on a distribution vmlinux); without either, says nothing and
    leaves the answer to the full read.
    """
    wanted = [name.split(" ", 1)[1] if name.startswith(("struct ", "union ")) else name for name in names]
    known: Optional[set[str]] = None
    index = typeindex.load_cached(scan_cache_key(path))
    if index is not None:
        known = set(index.aggregate_names()) | set(index.tables["typedefs"])
    else:
        known = typeindex.btf_type_names(path)
    if known is None:
        return
    for name in wanted:
        if name not in known:
            import difflib
            close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise NotFoundError(f"{path}: no struct named '{name}'{hint}")
