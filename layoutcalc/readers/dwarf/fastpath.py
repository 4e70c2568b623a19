"""The fast path of :func:`~layoutcalc.readers.dwarf.read_dwarf`: the name index says which DIEs to convert.

The plain reader walks compile units in order and converts the first
complete definition of each wanted name, stopping once all are found.  This
path gets the same answer from the index (:mod:`.typeindex`): it computes
where the plain walk would have stopped, then converts exactly the DIEs the
walk would have converted, unit by unit, with the same converter.  Tests
hold the two equal on compiled programs and on real kernel builds.

It applies to linked ELF files (a relocatable object's debug sections need
relocating, which only the plain path does); when it applies, and what
happens when it cannot read a file, is decided in one place:
:func:`layoutcalc.readers.dwarf.fast_or_plain`.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from collections.abc import Iterable
from typing import Callable, NamedTuple, Optional

from ...model import BaseType, Build, EnumType, StructType, Type, TypedefType
from ...provenance import Provenance
from .. import cache
from ..elf import DAMAGED_DWARF
from . import dwarfscan, typeindex
from .convert import DIE, ENCODINGS, DwarfConverter, DwarfFile, definition_key, is_c_unit, provenance_of
from .dwarfscan import UnsupportedDwarf
from .rawdie import DieReader, RawDIE

ProgressCallback = Callable[[int, int], None]


class Pick(NamedTuple):
    """One DIE to convert: where it is and which table of the build it goes to."""

    unit: int  # ordinal
    die_offset: int
    table: str  # structs, unions, typedefs, enums
    name: str


def plan(index: typeindex.TypeIndex, structs: Optional[set[str]], types: set[str],
         any_kind: bool = False) -> tuple[list[Pick], int]:
    """The DIEs the plain walk converts for these wanted names, and the last unit it reads.

    The plain walk reads unit after unit until every wanted name is found (all
    units when one never is); in each unit it takes the first complete
    definition of every wanted struct/union name not taken yet, wanted
    typedefs and enums likewise, and every base type.
    """
    tables = index.tables
    last = len(index.units) - 1
    if structs is None:
        limit = last
    else:
        stops: list[int] = []
        for name in structs:
            found = [entry[0] for table in ("structs", "unions") if (entry := tables[table].get(name))]
            if any_kind:  # a typedef (or base type, or "enum X") of that name satisfies it too
                found.extend(entry[0] for entry in _type_entries(tables, name))
            stops.append(min(found) if found else last)
        for name in types if not any_kind else ():
            stops.append(min((entry[0] for entry in _type_entries(tables, name)), default=last))
        limit = max(stops, default=0)
    picks = []
    for table in ("structs", "unions"):
        for name, entry in tables[table].items():
            if entry[0] <= limit and (structs is None or name in structs):
                picks.append(Pick(entry[0], entry[1], table, name))
    for name in types:
        if name in tables["typedefs"] and tables["typedefs"][name][0] <= limit:
            picks.append(Pick(tables["typedefs"][name][0], tables["typedefs"][name][1], "typedefs", name))
        bare = name[5:] if name.startswith("enum ") else None
        if bare is not None and bare in tables["enums"] and tables["enums"][bare][0] <= limit:
            picks.append(Pick(tables["enums"][bare][0], tables["enums"][bare][1], "enums", bare))
    return sorted(picks, key=lambda pick: pick.die_offset), limit


def _type_entries(tables: dict[str, dict[str, typeindex.Entry]], name: str) -> list[typeindex.Entry]:
    found = [tables[table][name] for table in ("typedefs", "base_types") if name in tables[table]]
    if name.startswith("enum ") and name[5:] in tables["enums"]:
        found.append(tables["enums"][name[5:]])
    return found


def read_indexed(dwarf_file: DwarfFile, build: Build, struct_names: Optional[Iterable[str]],
                 type_names: Optional[Iterable[str]], progress: Optional[ProgressCallback],
                 any_kind: bool = False) -> Build:
    """Fill ``build`` through the index (UnsupportedDwarf when the scanner cannot read this file)."""
    structs = set(struct_names) if struct_names is not None else None
    types = set(type_names or ())
    index = located_index(dwarf_file, structs, types, any_kind)
    if index is None:
        index = typeindex.get_index(dwarf_file.path, dwarf_file.cache_key(), progress)
    picks, limit = plan(index, structs, types, any_kind)
    _add_names_and_base_types(index, build, limit)

    def take(pick: Pick, die: RawDIE, converter: DwarfConverter) -> None:
        _add(build, pick, converter.convert(die))  # type: ignore[arg-type]
    with PickReader(dwarf_file, take) as reader:
        reader.read(picks, progress, len(index.units))
    reader.finish(build)
    return build


MAX_LOCATED_NAMES = 16  # more names than this: one index scan beats a byte search per name


def located_index(dwarf_file: DwarfFile, structs: Optional[set[str]], types: set[str],
                  any_kind: bool) -> Optional[typeindex.TypeIndex]:
    """For pahole's ``-C`` lookup of a few names, no index cached: the index's entries for them alone, else None.

    See :mod:`.locate`.  The Build then equals the indexed read in its
    structs, unions, typedefs, enums and provenance, all that ``show``
    reads; its ``base_types`` and ``names_seen`` hold the wanted names only
    (a read for a what-if, which may need any base type, builds the index).
    """
    if not any_kind or not structs or len(structs) > MAX_LOCATED_NAMES or not types <= structs:
        return None
    key = dwarf_file.cache_key()
    if typeindex.load_cached(key) is not None:
        return None
    from .locate import locate
    present = [name for name in (".debug_str_offsets", ".debug_sup", ".gnu_debugaltlink")
               if dwarf_file.elf.get_section_by_name(name) is not None]
    with dwarfscan.Sections(dwarf_file.path) as sections:
        units = list(dwarfscan.iter_units(sections))
        found = locate(sections, units, structs, any_kind, present)
    if found is None:
        return None
    tables, _limit = found
    return typeindex.TypeIndex(None, [unit.offset for unit in units], tables, [])


class SizesConverter(DwarfConverter):
    """The converter with every member's named struct or union type left as a stub (name and size).

    Enough for a definition's size, members and holes (``pahole --sizes``):
    a member's size is its type's ``DW_AT_byte_size`` either way, and the
    nested definitions, which a whole read converts again and again, are
    never decoded.
    """

    def type_of(self, die: DIE, shallow: bool = False) -> Type:
        return super().type_of(die, shallow=True)


def read_every_indexed(dwarf_file: DwarfFile, build: Build, progress: Optional[ProgressCallback],
                       converter: type[DwarfConverter] = DwarfConverter) -> Build:
    """The plain walk's ``every_definition`` read, through the index's declaration sites.

    The plain walk skips a struct whose declaration site (name, kind, size,
    line, column) it has met, and keeps a definition whose members
    (:func:`.convert.definition_key`) differ from every one kept; only the
    first DIE of each site can pass the first test, so only those are read.
    When the index is not cached yet, each batch of sites is read while the
    workers scan the rest of the file.  ``converter``: :class:`SizesConverter`
    for sizes and holes only.
    """
    keys: set[tuple[object, ...]] = set()

    def take(pick: Pick, die: RawDIE, converter: DwarfConverter) -> None:
        key = definition_key(die, pick.name)  # type: ignore[arg-type]
        if key in keys:
            return
        keys.add(key)
        variant = converter.convert(die)  # type: ignore[arg-type]
        assert isinstance(variant, StructType)
        build.variants.append(variant)
        getattr(build, pick.table).setdefault(pick.name, variant)
    with PickReader(dwarf_file, take, converter) as reader:
        index = typeindex.get_index(dwarf_file.path, dwarf_file.cache_key(), progress,
                                    on_sites=lambda sites: reader.read([Pick(*site) for site in sites]))
    reader.finish(build)
    _add_names_and_base_types(index, build, len(index.units) - 1)
    return build


def _add_names_and_base_types(index: typeindex.TypeIndex, build: Build, limit: int) -> None:
    """The names the plain walk passes up to unit ``limit`` (for suggestions), and its base types."""
    for table in ("structs", "unions", "typedefs"):
        build.names_seen.update(name for name, entry in index.tables[table].items() if entry[0] <= limit)
    for name, entry in sorted(index.tables["base_types"].items(), key=lambda item: item[1][1]):
        if entry[0] <= limit:
            build.base_types[name] = BaseType(name or "?", entry[2] or 0, ENCODINGS.get(entry[3] or 5, "signed"))


class PickReader:
    """Hands each picked DIE to ``take`` with the plain walk's converter, unit by unit, in file order.

    ``read`` may be called several times with later and later picks; the
    converter's per-unit memory is cleared whenever the unit changes, as the
    plain walk clears it between units.
    """

    def __init__(self, dwarf_file: DwarfFile, take: Callable[[Pick, RawDIE, DwarfConverter], None],
                 converter: type[DwarfConverter] = DwarfConverter) -> None:
        self.path = dwarf_file.path
        self.dwarf_file = dwarf_file
        self.take = take
        self.converter = converter(dwarf_file.address_size, dwarf_file.little_endian, self.path)
        self.unit = -1
        self.provenance: Optional[Provenance] = None

    def __enter__(self) -> PickReader:
        self._stack = contextlib.ExitStack()
        try:
            self.sections = self._stack.enter_context(dwarfscan.Sections(self.path))
            self._stack.enter_context(cache.paused_gc())
            self.units = list(dwarfscan.iter_units(self.sections))
            self.reader = DieReader(self.sections, self.units)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def read(self, picks: list[Pick], progress: Optional[ProgressCallback] = None, done_units: int = 0) -> None:
        unit_count = len({pick.unit for pick in picks})
        converted_units = 0
        try:
            for position, pick in enumerate(picks):
                if pick.unit != self.unit:
                    if self.unit >= 0:
                        self.reader.forget()
                    self.converter.full.clear()
                    self.converter.shallow.clear()
                    self.unit = pick.unit
                die = self.reader.die_at(pick.die_offset, self.units[pick.unit])
                if die is None:
                    raise UnsupportedDwarf(f"{self.path}: the index names DIE 0x{pick.die_offset:x}, which is empty")
                self.take(pick, die, self.converter)
                last_of_unit = position + 1 == len(picks) or picks[position + 1].unit != pick.unit
                if progress and unit_count > 1 and last_of_unit:
                    converted_units += 1
                    progress(done_units + converted_units, done_units + unit_count)
            if self.provenance is None:
                first_cu = next((cu for cu in (_RawUnit(self.reader, unit) for unit in self.units)
                                 if is_c_unit(cu)), None)  # type: ignore[arg-type]
                self.provenance = provenance_of(self.dwarf_file, first_cu)  # type: ignore[arg-type]
        except DAMAGED_DWARF as exc:
            raise UnsupportedDwarf(f"{self.path}: corrupt or truncated DWARF ({exc.__class__.__name__}: {exc})"
                                   ) from exc

    def finish(self, build: Build) -> None:
        """The provenance the plain walk records (read the first C unit if no pick was read)."""
        if self.provenance is None:
            with self:
                self.read([])
        assert self.provenance is not None
        build.provenance = replace(self.provenance, alignment_attributes=self.converter.saw_alignment)


class _RawUnit:
    """What :func:`.convert.provenance_of` and :func:`.convert.is_c_unit` read of a pyelftools compile unit."""

    def __init__(self, reader: DieReader, unit: dwarfscan.Unit) -> None:
        self._reader, self._unit = reader, unit

    def __getitem__(self, key: str) -> int:
        if key != "version":
            raise KeyError(key)
        return self._unit.version

    def get_top_DIE(self) -> RawDIE:  # noqa: N802 - pyelftools' spelling
        die = self._reader.die_at(self._unit.first_die, self._unit)
        if die is None:
            raise UnsupportedDwarf(f"{self._reader.sections.path}: unit 0x{self._unit.offset:x} has no top DIE")
        return die


def _add(build: Build, pick: Pick, converted: object) -> None:
    if pick.table in ("structs", "unions"):
        assert isinstance(converted, StructType)
        getattr(build, pick.table)[pick.name] = converted
    elif pick.table == "typedefs":
        assert isinstance(converted, TypedefType)
        build.typedefs[pick.name] = converted
    else:
        assert isinstance(converted, EnumType)
        build.enums[pick.name] = converted


def read_sizes_indexed(dwarf_file: DwarfFile, progress: Optional[ProgressCallback] = None) -> Build:
    """Every distinct same-name definition, members' named types as stubs, through the index.

    What ``pahole --sizes`` needs (each definition's size and holes, in its
    order) at a fraction of a whole read's cost (:class:`SizesConverter`).
    """
    build = dwarf_file.empty_build()
    read_every_indexed(dwarf_file, build, progress, SizesConverter)
    return build
