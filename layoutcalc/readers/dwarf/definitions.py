"""Every distinct struct and union definition of a DWARF file, for :mod:`layoutcalc.readers.definitions`.

The plain path (:func:`plain_definitions`) walks every unit with pyelftools
and converts the first definition of each identity (:func:`_identity`);
the fast path (:func:`indexed_definitions`) computes the same identities
from the section bytes in worker processes (:class:`_IdentityWalker`) and
converts the same DIEs.  :func:`layoutcalc.readers.dwarf.every_definition`
chooses between them; tests hold the two equal.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Optional

from ...errors import InputError
from ...model import Build, StructType
from .decoders import uleb
from .dwarfscan import UnsupportedDwarf

if TYPE_CHECKING:
    from ...typegraph import GraphChecker
    from .convert import DIE, DwarfConverter, DwarfFile
    from .dwarfscan import Sections, Unit
    from .rawdie import IdentityShape, RawDIE
    from .typeindex import RangeJob

ProgressCallback = Callable[[int, int], None]


def plain_definitions(path: str, build: Build, wanted: Optional[set[str]], progress: Optional[ProgressCallback],
                      checker: "GraphChecker") -> Iterator[StructType]:
    """Every distinct definition, walking every unit with pyelftools (yielded as it goes)."""
    from .convert import DwarfFile, DwarfConverter, forget_dies
    from ..elf import iter_children
    with DwarfFile(path) as dwarf_file:
        converter = DwarfConverter(dwarf_file.address_size, dwarf_file.little_endian, path)
        total = dwarf_file.num_cus() if progress else 0
        seen: set[tuple[object, ...]] = set()
        try:
            for index, cu in enumerate(dwarf_file.iter_cus()):
                converter.full.clear()
                converter.shallow.clear()
                for die in iter_children(cu.get_top_DIE()):
                    key = _identity(die, wanted)
                    if key is None or key in seen:
                        continue
                    seen.add(key)
                    struct = converter.convert(die)
                    assert isinstance(struct, StructType)
                    _keep(build, checker, struct)
                    yield struct
                forget_dies(cu)
                if progress:
                    progress(index + 1, total)
        except InputError:
            raise
        except Exception as exc:  # pyelftools raises many kinds on damaged DWARF
            raise InputError(f"{path}: corrupt or truncated DWARF ({exc.__class__.__name__}: {exc})") from exc


def _keep(build: Build, checker: "GraphChecker", struct: StructType) -> None:
    checker.check([struct])
    table = build.unions if struct.is_union else build.structs
    table.setdefault(struct.name or "", struct)


def indexed_definitions(dwarf_file: "DwarfFile", build: Build, wanted: Optional[set[str]],
                        progress: Optional[ProgressCallback]) -> list[StructType]:
    """The plain walk's definitions, from the raw scanner on every core (linked files).

    Workers compute each definition's identity (:func:`_identity`) over
    ranges of units, on DIEs decoded straight from the section bytes; the
    first of each identity, in file order, is converted here while the
    workers go on.  Tests hold the result equal to the plain walk's.
    """
    from ...typegraph import GraphChecker
    from .fastpath import Pick, PickReader
    from .typeindex import map_unit_ranges
    checker = GraphChecker(dwarf_file.path)
    found: list[StructType] = []

    def take(_pick: Pick, die: "RawDIE", converter: "DwarfConverter") -> None:
        struct = converter.convert(die)  # type: ignore[arg-type]
        assert isinstance(struct, StructType)
        _keep(build, checker, struct)
        found.append(struct)
    seen: set[tuple[object, ...]] = set()
    done = 0
    with PickReader(dwarf_file, take) as reader:
        units, parts = map_unit_ranges(dwarf_file.path, _identities_in_range, wanted)
        for count, identities in parts:  # in file order
            picks = []
            for key, site in identities:
                if key not in seen:
                    seen.add(key)
                    picks.append(Pick(*site))
            reader.read(picks)
            done += count
            if progress:
                progress(done, len(units))
    reader.finish(build)
    build.provenance = build.provenance.without("alignment_attributes")  # as the plain walk records it
    build.origin = dwarf_file.path
    return found


def _identities_in_range(job: "RangeJob") -> tuple[int, list[tuple[tuple[object, ...], tuple[int, int, str, str]]]]:
    """Worker: the first DIE of each definition identity within a range of units, in file order."""
    from .. import cache
    from . import dwarfscan
    path, start, units, wanted = job
    found = []
    seen: set[tuple[object, ...]] = set()
    with dwarfscan.Sections(path) as sections, cache.paused_gc():
        factory = dwarfscan.DecoderFactory(sections.little_endian, sections.string_end)
        abbrevs: dict[int, dict[int, dwarfscan.AbbrevSpec]] = {}
        walker = _IdentityWalker(sections, list(dwarfscan.iter_units(sections)))
        for ordinal, unit in enumerate(units, start):
            walker.enter(unit)
            for entry in dwarfscan.scan_unit(sections, unit, factory, abbrevs):
                if entry.tag not in _AGGREGATE_TAGS or entry.declaration:
                    continue
                if wanted is not None and entry.name not in wanted:
                    continue
                key = walker.identity(entry.die_offset)
                if key is not None and key not in seen:
                    seen.add(key)
                    found.append((key, (ordinal, entry.die_offset, _AGGREGATE_TAGS[entry.tag], entry.name)))
    return len(units), found


class _IdentityWalker:
    """:func:`_identity` of aggregate DIEs, read straight from the bytes (no DIE objects).

    It reads what :func:`_identity` reads of a :class:`.rawdie.RawDIE` walk:
    the same attributes, decoded by the same generated value code, under the
    same rules for children, siblings and references; tests hold the two equal.
    """

    def __init__(self, sections: "Sections", units: list["Unit"]) -> None:
        from .rawdie import IdentityReader
        self.sections, self.units = sections, units
        self.reader = IdentityReader(sections)
        self.info = sections.info
        self._starts = [unit.offset for unit in units]
        self._shapes: dict[int, dict[int, "IdentityShape"]] = {}

    def enter(self, unit: "Unit") -> None:
        self.unit = unit
        self.shape = self._unit_shapes(unit)
        self.target_names: dict[int, str] = {}

    def _unit_shapes(self, unit: "Unit") -> dict[int, "IdentityShape"]:
        shapes = self._shapes.get(unit.offset)
        if shapes is None:
            if len(self._shapes) > 64:
                self._shapes.clear()
            shapes = self._shapes[unit.offset] = self.reader.shapes(unit)
        return shapes

    def identity(self, offset: int) -> Optional[tuple[object, ...]]:
        info, unit, shape, target_names = self.info, self.unit, self.shape, self.target_names
        code, pos = uleb(info, offset)
        if not code:
            return None
        decode, tag, children, _absolute_type, _absolute_sibling = shape[code]
        pos, name, _typ, size, line, _loc, _dbo, _bits, declaration, _sib = decode(info, pos)
        if declaration or name is None:
            return None
        members = []
        end, base = unit.end, unit.offset
        while children and pos < end:
            child = pos
            code = info[pos]
            if code < 0x80:
                pos += 1
            else:
                code, pos = uleb(info, pos)
            if not code:
                break
            decode, child_tag, grandchildren, absolute_type, absolute_sibling = shape[code]
            pos, child_name, typ, _size, _line, loc, dbo, bits, _decl, sib = decode(info, pos)
            if child_tag == "DW_TAG_member":
                if typ is None:
                    referenced: object = None
                else:
                    target = typ if absolute_type else base + typ
                    referenced = target_names.get(target)
                    if referenced is None:
                        referenced = self._referenced_name(target, absolute_type)
                members.append((child_name, referenced, loc, dbo, bits))
            if grandchildren:
                if sib is None:
                    pos = self._after_children(pos)
                else:
                    pos = sib + (0 if absolute_sibling else base)
                    if pos <= child:
                        raise UnsupportedDwarf(f"{self.sections.path}: DIE 0x{child:x} has a sibling before itself")
        return (tag, name, size, line, tuple(members))

    def _after_children(self, pos: int) -> int:
        """Where the children list starting at ``pos`` ends (its null entry read)."""
        depth = 1
        while pos < self.unit.end:
            code, pos = uleb(self.info, pos)
            if not code:
                depth -= 1
                if not depth:
                    return pos
                continue
            decode, _tag, children, _absolute_type, _absolute_sibling = self.shape[code]
            pos = decode(self.info, pos)[0]
            if children:
                depth += 1
        return pos

    def _referenced_name(self, target: int, absolute: bool) -> str:
        """:func:`_referenced_name`: the name, or the tag, of the DIE at ``target`` (remembered per unit)."""
        unit, shape = self.unit, self.shape
        if not unit.offset <= target < unit.end:
            if not absolute:
                raise UnsupportedDwarf(f"{self.sections.path}: DIE offset 0x{target:x} is outside unit "
                                       f"0x{unit.offset:x}")
            # DW_FORM_ref_addr into another unit
            position = bisect.bisect_right(self._starts, target) - 1
            if position < 0 or target >= self.units[position].end:
                raise UnsupportedDwarf(f"{self.sections.path}: reference 0x{target:x} is outside every unit")
            shape = self._unit_shapes(self.units[position])
        code, pos = uleb(self.info, target)
        if not code:
            raise UnsupportedDwarf(f"{self.sections.path}: a member refers to 0x{target:x}, which is not a DIE")
        decode, tag, _children, _absolute_type, _absolute_sibling = shape[code]
        name = decode(self.info, pos)[1]
        found: str = name or tag
        if shape is self.shape:
            self.target_names[target] = found
        return found


_AGGREGATE_TAGS = {0x13: "structs", 0x17: "unions"}


def _identity(die: "DIE", wanted: Optional[set[str]]) -> Optional[tuple[object, ...]]:
    """What tells ``die``'s definition from another of the same name (None: not a wanted named definition).

    A header's struct is repeated in every compile unit that includes it; its
    name, size, declaration line, member offsets and the names of the member
    types identify it well enough to skip converting the repeats (the
    conversion, not the parse, is the slow part).  The member type names
    matter: binfmt_elf.c is compiled twice, once with ``siginfo_t`` defined
    as ``compat_siginfo_t``, so ``struct elf_note_info`` has two definitions
    on the same line.
    """
    from .convert import AGGREGATES, int_attr, die_name
    from ..elf import iter_children
    tag = die.tag
    if tag not in AGGREGATES or "DW_AT_declaration" in die.attributes:
        return None
    name = die_name(die)
    if name is None or (wanted is not None and name not in wanted):
        return None
    members = tuple((die_name(child), _referenced_name(child), int_attr(child, "DW_AT_data_member_location"),
                     int_attr(child, "DW_AT_data_bit_offset"), int_attr(child, "DW_AT_bit_size"))
                    for child in iter_children(die) if child.tag == "DW_TAG_member")
    return (tag, name, int_attr(die, "DW_AT_byte_size"), int_attr(die, "DW_AT_decl_line"), members)


def _referenced_name(die: "DIE") -> object:
    """The name (or, unnamed, the tag) of the type DIE that ``die``'s DW_AT_type refers to."""
    from .convert import die_name
    if "DW_AT_type" not in die.attributes:
        return None
    target = die.get_DIE_from_attribute("DW_AT_type")
    return die_name(target) or target.tag
