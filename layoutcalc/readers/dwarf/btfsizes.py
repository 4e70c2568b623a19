"""``pahole --sizes`` of a linked file with a ``.BTF`` section: DWARF picks the rows, BTF gives most of them.

pahole lists each distinct same-name definition the DWARF holds, in unit
order.  :func:`.fastpath.read_sizes_indexed` finds those rows with the
index's declaration sites and converts every one from DWARF, which on a
distribution vmlinux costs as much again as the scan.  The kernel's
``.BTF`` (made from that same DWARF by ``pahole -J``) already holds each
struct's size, member offsets and bitfields, and reads in a fraction of a
second.

So the index still decides which rows there are and their order, and a row
is taken from BTF only where nothing can tell the two apart:

- its name has one declaration site in the DWARF, as struct and union
  together (one site is one definition; a struct and a union of one name
  can be one definition to pahole, which only DWARF can tell);
- BTF holds exactly one struct (or union) of that name and kind (a second
  one is another definition, or a function's local struct);
- the index's first definition of the name is that site, and its
  ``DW_AT_byte_size`` equals the BTF size;
- no member's type is a struct of no size and no members (BTF's FWD, which
  DWARF would size up to the next member, or an empty struct).

Every other row is converted from DWARF as before.  BTF is read while the
workers scan.  Tests hold the rows equal to the DWARF-only read and to
``pahole -F dwarf --sizes`` on compiled programs and real builds.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Optional

from ...errors import InputError
from ...model import ArrayType, Build, QualifiedType, StructType, Type, TypedefType
from ...typegraph import GraphChecker, check_type_graph
from ..btf import AGGREGATE_KINDS, KIND_NAMES, BtfConverter, BtfTypes
from . import typeindex
from .convert import DwarfConverter, DwarfFile, definition_key
from .fastpath import Pick, PickReader, ProgressCallback, SizesConverter, read_sizes_indexed
from .rawdie import RawDIE

# (table, name): where a definition goes in a Build, as the index's sites name it
Key = tuple[str, str]


def read_sizes(dwarf_file: DwarfFile, progress: Optional[ProgressCallback] = None) -> Build:
    """:func:`.fastpath.read_sizes_indexed`'s variants and first definitions, rows from ``.BTF`` where safe.

    Without a ``.BTF`` section, that read itself.  The Build holds what
    ``sizes`` reads: ``variants`` in pahole's order and the first definition
    of each name (no ``names_seen`` or base types).  Its types are checked
    (:class:`~layoutcalc.typegraph.GraphChecker`), those from BTF as they are
    converted: a damaged or split ``.BTF`` leaves every row to DWARF.
    """
    section = dwarf_file.elf.get_section_by_name(".BTF")
    if section is None:
        build = read_sizes_indexed(dwarf_file, progress)
        check_type_graph(build, dwarf_file.path)
        return build
    build = dwarf_file.empty_build()
    candidates = BtfCandidates(lambda: section.data(), dwarf_file.path, dwarf_file.address_size)
    index = typeindex.get_index(dwarf_file.path, dwarf_file.cache_key(), progress, on_sites=candidates.add)
    from_btf = candidates.rows(index)
    keys: set[tuple[object, ...]] = set()
    from_dwarf: dict[int, StructType] = {}

    def take(pick: Pick, die: RawDIE, converter: DwarfConverter) -> None:
        key = definition_key(die, pick.name)  # type: ignore[arg-type]
        if key in keys:
            return  # the same definition as an earlier site's
        keys.add(key)
        variant = converter.convert(die)  # type: ignore[arg-type]
        assert isinstance(variant, StructType)
        from_dwarf[pick.die_offset] = variant
    with PickReader(dwarf_file, take, SizesConverter) as reader:
        reader.read([Pick(*site) for site in index.sites if (site[2], site[3]) not in from_btf])
    reader.finish(build)
    candidates.checker.check(from_dwarf.values())
    for _unit, die_offset, table, name in index.sites:
        variant = from_btf[(table, name)] if (table, name) in from_btf else from_dwarf.get(die_offset)
        if variant is not None:  # None: the same definition as an earlier site's
            build.variants.append(variant)
            getattr(build, table).setdefault(name, variant)
    return build


class BtfCandidates:
    """The BTF definition of each site's name that may stand for it, converted and checked as the sites arrive.

    ``data`` gives the ``.BTF`` bytes, read with the first sites (while the
    workers scan on); ``path`` names the file in messages.
    """

    def __init__(self, data: Callable[[], bytes], path: str, pointer_size: int) -> None:
        self.data, self.path, self.pointer_size = data, path, pointer_size
        self.checker = GraphChecker(path)
        self.converter: Optional[_SizesConverter] = None
        self.by_name: dict[Key, list[int]] = {}  # (table, name) -> BTF ids
        self.sites: Counter[str] = Counter()  # sites per name, struct and union together
        self.only_site: dict[str, tuple[str, int]] = {}  # name -> (table, DIE offset) of its first site
        self.converted: dict[Key, StructType] = {}
        self.damaged = False

    def add(self, sites: list[typeindex.Site]) -> None:
        """Take a batch of the index's sites (in file order)."""
        for _unit, die_offset, table, name in sites:
            self.sites[name] += 1
            if self.sites[name] == 1:
                self.only_site[name] = (table, die_offset)
        if self.damaged:
            return
        try:
            if self.converter is None:
                self._open()
            new = [struct for _unit, _offset, table, name in sites if self.sites[name] == 1
                   and (struct := self._convert(table, name)) is not None]
            self.checker.check(new)
        except InputError:  # split BTF (needs a base), or damaged (a loop, an id or string out of range)
            self.damaged = True
            self.converted.clear()

    def _open(self) -> None:
        types = BtfTypes(self.data(), self.path)
        if types.needs_base():
            raise InputError(f"{self.path}: split BTF")
        self.converter = _SizesConverter(types, self.pointer_size)
        self.by_name = _census(types)

    def _convert(self, table: str, name: str) -> Optional[StructType]:
        ids = self.by_name.get((table, name))
        if self.converter is None or ids is None or len(ids) != 1:
            return None
        struct = self.converter.convert(ids[0])
        assert isinstance(struct, StructType)
        if not _members_sized(struct):
            return None
        self.converted[(table, name)] = struct
        return struct

    def rows(self, index: typeindex.TypeIndex) -> dict[Key, StructType]:
        """(table, name) -> the BTF definition, for each row BTF gives (see the module's rules)."""
        rows = {}
        for name, (table, die_offset) in self.only_site.items():
            struct = self.converted.get((table, name))
            entry = index.tables[table].get(name)
            if struct is None or self.sites[name] != 1 or entry is None:
                continue
            if entry[1] == die_offset and entry[2] == struct.size_bytes:
                rows[(table, name)] = struct
        return rows


def _census(types: BtfTypes) -> dict[Key, list[int]]:
    """(table, name) -> the ids of BTF's named structs and unions."""
    found: dict[Key, list[int]] = {}
    for type_id in range(1, types.num_types):
        name_off, kind, _vlen, _flag, _size = types.record(type_id)
        if kind in AGGREGATE_KINDS and name_off:
            table = "unions" if KIND_NAMES[kind] == "UNION" else "structs"
            found.setdefault((table, types.string(name_off, type_id)), []).append(type_id)
    return found


class _SizesConverter(BtfConverter):
    """Members' named struct and union types as stubs (name and size), as :class:`.fastpath.SizesConverter`.

    Every nested conversion names the type that refers to it; only the
    definition asked for converts with ``referrer`` 0.
    """

    def convert(self, type_id: int, referrer: int = 0, shallow: bool = False) -> Type:
        return super().convert(type_id, referrer, shallow or referrer != 0)


def _members_sized(struct: StructType) -> bool:
    """No member (in nested anonymous ones too) has a struct type of no size and no members."""
    for member in struct.members:
        t: Type = member.type
        while isinstance(t, (TypedefType, QualifiedType, ArrayType)):
            t = t.element if isinstance(t, ArrayType) else t.target
        if isinstance(t, StructType):
            if not t.size_bytes and not t.members:
                return False
            if t.name is None and not _members_sized(t):
                return False
    return True
