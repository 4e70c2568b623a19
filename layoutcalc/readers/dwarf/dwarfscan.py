"""A fast raw scan of ``.debug_info``: the named types at the top level of each compile unit.

pyelftools builds a Python object per DIE and decodes every attribute, which
is what makes a whole distribution vmlinux take minutes.  This module reads
the sections as bytes and decodes only what an index needs: for each named
struct, union, typedef, enum and base type directly under a compile unit,
its name, byte size, declaration flag and DIE offset.  Everything else is
stepped over: a DIE with children is jumped over with its ``DW_AT_sibling``
(gcc writes one on almost every such DIE), so subprogram bodies and struct
members are never decoded; only where the producer left no sibling are the
children walked, attribute sizes only.

The decoder of each abbreviation is generated once by :mod:`.decoders` from
this module's plan (fixed forms fold into one constant step), shared by
every unit whose abbreviation has the same shape.  The results are plain tuples; :mod:`.typeindex` turns
them into the name index and :mod:`.convert` converts the chosen DIEs into
the model with pyelftools.
"""

from __future__ import annotations

import functools
import mmap
import struct as _struct
from collections.abc import Iterator
from typing import Callable, NamedTuple, Optional

from ...errors import InputError
from ..elf import DAMAGED_DWARF, map_debug_sections
from .decoders import (
    FORM_IMPLICIT_CONST,
    FORM_INDIRECT,
    FORM_LINE_STRP,
    FORM_STRP,
    INLINE_BYTES,
    INT,
    PRESENT,
    REF,
    REF_FORMS,
    SKIP,
    STR_OFFSET,
    DecoderGenerator,
    Field,
    UnknownForm,
    sleb,
    uleb,
)

# Tags the index records (DWARF 5 table 7.3).
TAG_STRUCT, TAG_UNION, TAG_TYPEDEF, TAG_ENUM, TAG_BASE = 0x13, 0x17, 0x16, 0x04, 0x24
INDEXED_TAGS = frozenset((TAG_STRUCT, TAG_UNION, TAG_TYPEDEF, TAG_ENUM, TAG_BASE))
_AT_SIBLING, _AT_NAME, _AT_BYTE_SIZE, _AT_DECLARATION, _AT_ENCODING = 0x01, 0x03, 0x0B, 0x3C, 0x3E
_AT_DECL_COLUMN, _AT_DECL_LINE = 0x39, 0x3B
# Integer attributes the index keeps, by the local they are decoded into.
_INT_TARGETS = {_AT_BYTE_SIZE: "size", _AT_ENCODING: "enc", _AT_DECL_LINE: "line", _AT_DECL_COLUMN: "col"}

# A decoder: (data, pos) -> (next pos, name ref, byte size, encoding, declaration, sibling,
# declaration line, declaration column).  name ref is ("s", offset) into .debug_str,
# ("l", offset) into .debug_line_str, or the bytes; byte size, line and column are None
# when the DIE has no such attribute (as pyelftools reads it), encoding is then 0.
Decoded = tuple[int, object, Optional[int], int, bool, int, Optional[int], Optional[int]]
Decoder = Callable[[bytes, int], Decoded]


class Unit(NamedTuple):
    """One compile unit's header, as positions in ``.debug_info``."""

    offset: int
    end: int
    version: int
    abbrev_offset: int
    address_size: int
    offset_size: int
    first_die: int


class TypeEntry(NamedTuple):
    """A named type DIE at the top level of a unit (what the index stores)."""

    tag: int
    name: str
    die_offset: int
    byte_size: Optional[int]
    encoding: int
    declaration: bool
    decl_line: Optional[int]
    decl_column: Optional[int]

    def where(self) -> tuple[str, int, Optional[int], Optional[int], Optional[int]]:
        """What tells a header's definition repeated in many units from another one of the same name."""
        return (self.name, self.tag, self.byte_size, self.decl_line, self.decl_column)


class Sections:
    """The raw bytes of the debug sections of one ELF file (memory-mapped when stored plainly)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.names: dict[object, str] = {}  # name reference -> text, filled as the scan goes
        self.empty_names = 0
        try:
            with open(path, "rb") as stream:
                self.little_endian, sections = map_debug_sections(
                    stream, path, (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str"))
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
        except DAMAGED_DWARF as exc:
            raise UnsupportedDwarf(f"{path}: cannot read ELF sections ({exc.__class__.__name__}: {exc})") from None
        self.info, self.abbrev = sections[0], sections[1]
        self.str, self.line_str = bytes(sections[2]), bytes(sections[3])  # small, and searched for NULs

    def string_end(self, pos: int) -> int:
        """Where the NUL ending the string at ``pos`` of ``.debug_info`` is (DW_FORM_string)."""
        info = self.info
        end = pos
        while info[end]:
            end += 1
        return end

    def close(self) -> None:
        self.info = self.abbrev = self.str = self.line_str = b""

    def release(self) -> None:
        """Give back the mapped pages read so far (they stay in the page cache; a later read maps them again).

        Touching one byte of a mapped file maps its neighbours too (the
        kernel faults around), so a walk over the 2,000 unit headers of a
        vmlinux would otherwise hold 100 MB it never reads.
        """
        owner = self.info.obj if isinstance(self.info, memoryview) else None
        if isinstance(owner, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            owner.madvise(mmap.MADV_DONTNEED)

    def __enter__(self) -> Sections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def string(self, ref: object) -> str:
        """The text of a name reference returned by a decoder."""
        if isinstance(ref, bytes):
            return ref.decode("utf-8", "replace")
        assert isinstance(ref, tuple)
        kind: str = ref[0]
        offset: int = ref[1]
        data = self.str if kind == "s" else self.line_str
        end = data.find(b"\0", offset)
        if end < 0 or offset >= len(data):
            raise UnsupportedDwarf(f"{self.path}: string offset {offset} is outside its section")
        return data[offset:end].decode("utf-8", "replace")


def iter_units(sections: Sections) -> Iterator[Unit]:
    """The unit headers of ``.debug_info`` in file order (cheap: headers only)."""
    info = sections.info
    endian = "<" if sections.little_endian else ">"
    pos, size = 0, len(info)
    count = 0
    while pos + 11 <= size:
        (length,) = _struct.unpack_from(endian + "I", info, pos)
        offset_size, head = 4, pos + 4
        if length == 0xFFFFFFFF:
            (length,) = _struct.unpack_from(endian + "Q", info, pos + 4)
            offset_size, head = 8, pos + 12
        end = head + length
        if end > size or length < 7:
            raise InputError(f"{sections.path}: compile unit at 0x{pos:x} runs past the end of .debug_info")
        (version,) = _struct.unpack_from(endian + "H", info, head)
        off_fmt = endian + ("I" if offset_size == 4 else "Q")
        if version >= 5:
            unit_type, address_size = info[head + 2], info[head + 3]
            (abbrev_offset,) = _struct.unpack_from(off_fmt, info, head + 4)
            first = head + 4 + offset_size
            if unit_type in (2, 6):  # type unit, split type unit: signature + type offset
                first += 8 + offset_size
            elif unit_type in (4, 5):  # skeleton, split compile: dwo id
                first += 8
        elif 2 <= version <= 4:
            (abbrev_offset,) = _struct.unpack_from(off_fmt, info, head + 2)
            address_size = info[head + 2 + offset_size]
            first = head + 3 + offset_size
        else:
            raise InputError(f"{sections.path}: compile unit at 0x{pos:x} has DWARF version {version}, "
                             "which this reader does not know")
        yield Unit(pos, end, version, abbrev_offset, address_size, offset_size, first)
        pos = end
        count += 1
        if count % 256 == 0:
            sections.release()
    sections.release()


AbbrevSpec = tuple[int, bool, tuple[tuple[int, int, int], ...]]  # tag, has children, (attr, form, const)


# An entry's bytes after its code -> what they parse to.  A kernel's 2,000 abbreviation tables repeat
# about 8,000 entries among 300,000; capped, so that a hostile file cannot grow it without end.
_ENTRY_SPECS: dict[bytes, AbbrevSpec] = {}
_MAX_ENTRY_SPECS = 1 << 16
_WINDOW, _MARGIN = 16384, 256  # bytes of the table copied at a time, and kept ahead of the entry read


def parse_abbrevs(data: bytes, offset: int) -> dict[int, AbbrevSpec]:
    """The abbreviation table at ``offset`` of ``.debug_abbrev``: code -> (tag, children, attributes).

    An entry whose bytes, up to the first two NULs, were parsed before (and
    ended exactly there) is looked up instead of parsed: parsing reads those
    bytes alone, so the same bytes parse the same way.
    """
    table: dict[int, AbbrevSpec] = {}
    pos = offset
    start, window = offset, b""  # a copy of data[start:start + _WINDOW]: bytes can be searched
    while True:
        if pos + _MARGIN > start + len(window):
            start, window = pos, bytes(data[pos:pos + _WINDOW])
        code = data[pos]  # one-byte values are the rule; the loop is the hot spot of a cold scan
        if code < 0x80:
            pos += 1
        else:
            code, pos = uleb(data, pos)
        if code == 0:
            return table
        rel = pos - start
        end = window.find(b"\0\0", rel + 2)  # after the tag and children flag: the end, unless a value has NULs
        spec = _ENTRY_SPECS.get(window[rel:end]) if end >= 0 else None
        if spec is not None:
            table[code] = spec
            pos = start + end + 2
            continue
        spec, after = _parse_entry(data, pos)
        table[code] = spec
        if end >= 0 and after == start + end + 2 and len(_ENTRY_SPECS) < _MAX_ENTRY_SPECS:
            _ENTRY_SPECS[window[rel:end]] = spec
        pos = after


def _parse_entry(data: bytes, pos: int) -> tuple[AbbrevSpec, int]:
    """The abbreviation entry at ``pos`` (after its code), and where the next one starts."""
    tag = data[pos]
    if tag < 0x80:
        pos += 1
    else:
        tag, pos = uleb(data, pos)
    children = data[pos] != 0
    pos += 1
    attrs: list[tuple[int, int, int]] = []
    while True:
        name, form = data[pos], data[pos + 1]
        if name < 0x80 and form < 0x80:
            pos += 2
        else:
            name, pos = uleb(data, pos)
            form, pos = uleb(data, pos)
        if name == 0 and form == 0:
            return (tag, children, tuple(attrs)), pos
        const = 0
        if form == FORM_IMPLICIT_CONST:
            const, pos = sleb(data, pos)
        attrs.append((name, form, const))


class DecoderFactory:
    """Generates and caches one decoder per abbreviation shape and unit geometry."""

    def __init__(self, little_endian: bool, string_end: Callable[[int], int]) -> None:
        self.endian = "<" if little_endian else ">"
        self._string_end = string_end
        self._cache: dict[tuple[object, ...], Decoder] = {}

    def get(self, spec: AbbrevSpec, address_size: int, offset_size: int, version: int) -> Decoder:
        key = (spec, address_size, offset_size, version >= 3)
        decoder = self._cache.get(key)
        if decoder is None:
            decoder = self._cache[key] = self._generate(spec, address_size, offset_size, version)
        return decoder

    def _generate(self, spec: AbbrevSpec, address_size: int, offset_size: int, version: int) -> Decoder:
        tag, _children, attrs = spec
        generator = DecoderGenerator(self.endian, address_size, offset_size, version, batch=True)
        fields: list[Field] = []
        for attr, form, const in attrs:
            if form == FORM_INDIRECT:
                generator.source([], fields, "")  # an unknown form before it still refuses the shape
                return _indirect_decoder(spec, address_size, offset_size, version, self)
            fields.append(_scan_field(attr, form, const, tag in INDEXED_TAGS))
        decoder: Decoder = generator.generate(
            ["def decode(data, pos):",
             " name = None; size = None; enc = 0; decl = False; sib = 0; line = None; col = None"],
            fields, " return pos, name, size, enc, decl, sib, line, col", {"zend": self._string_end})
        return decoder


@functools.lru_cache(maxsize=4096)  # a kernel has a few hundred distinct attributes among 50,000
def _scan_field(attr: int, form: int, const: int, wanted: bool) -> Field:
    """The plan of one attribute for the index: what it keeps of a type DIE (``wanted``), and the sibling."""
    if attr == _AT_SIBLING and form in REF_FORMS:
        return Field(form, const, REF, "sib")
    if wanted and attr == _AT_NAME:  # strp / line_strp: the section it points into; else inline (or UnknownForm)
        if form in (FORM_STRP, FORM_LINE_STRP):
            return Field(form, const, STR_OFFSET, "name", f"('{'s' if form == FORM_STRP else 'l'}', {{}})")
        return Field(form, const, INLINE_BYTES, "name")
    if wanted and attr in _INT_TARGETS:  # an integer the index cannot read as pyelftools does: UnknownForm
        return Field(form, const, INT, _INT_TARGETS[attr])
    if wanted and attr == _AT_DECLARATION:
        return Field(form, const, PRESENT, "decl")
    return Field(form, const, SKIP)


def _indirect_decoder(spec: AbbrevSpec, address_size: int, offset_size: int, version: int,
                      factory: DecoderFactory) -> Decoder:
    """DW_FORM_indirect is rare: resolve each attribute's form per DIE, then decode as if fixed."""
    tag, children, attrs = spec

    def decode(data: bytes, pos: int) -> Decoded:
        resolved = []
        scan = pos
        for attr, form, const in attrs:
            while form == FORM_INDIRECT:
                form, scan = uleb(data, scan)
            resolved.append((attr, form, const))
            step = factory.get((tag, children, ((attr, form, const),)), address_size, offset_size, version)
            scan = step(data, scan)[0]
        return factory.get((tag, children, tuple(resolved)), address_size, offset_size, version)(data, pos)
    return decode


class UnsupportedDwarf(InputError):
    """The fast scanner met something it cannot step over; the plain reader must be used."""


def scan_unit(sections: Sections, unit: Unit, factory: DecoderFactory,
              abbrev_cache: dict[int, dict[int, AbbrevSpec]]) -> list[TypeEntry]:
    """The named type DIEs directly under ``unit``'s top DIE."""
    abbrevs = abbrev_cache.get(unit.abbrev_offset)
    if abbrevs is None:
        abbrevs = abbrev_cache[unit.abbrev_offset] = parse_abbrevs(sections.abbrev, unit.abbrev_offset)
    info = sections.info
    decoders: dict[int, tuple[Decoder, int, bool]] = {}

    def decoder_for(code: int) -> tuple[Decoder, int, bool]:
        spec = abbrevs.get(code)
        if spec is None:
            raise UnsupportedDwarf(f"{sections.path}: DIE in unit 0x{unit.offset:x} uses abbreviation {code}, "
                                   "which its table does not define")
        try:
            made = (factory.get(spec, unit.address_size, unit.offset_size, unit.version), spec[0], spec[1])
        except UnknownForm as exc:
            raise UnsupportedDwarf(f"{sections.path}: unit 0x{unit.offset:x} uses DWARF form 0x{exc.args[0]:x}, "
                                   "which the fast scanner does not know") from None
        decoders[code] = made
        return made

    entries: list[TypeEntry] = []
    end = unit.end
    code, pos = uleb(info, unit.first_die)
    if code == 0:
        return entries
    decode, _tag, children = decoders.get(code) or decoder_for(code)
    pos = decode(info, pos)[0]
    if not children:
        return entries
    names = sections.names
    base = unit.offset
    new_entry = tuple.__new__  # TypeEntry(...) without its generated __new__: a million entries on a vmlinux
    while pos < end:
        die = pos
        code = info[pos]
        if code < 0x80:
            pos += 1
        else:
            code, pos = uleb(info, pos)
        if code == 0:
            break
        decode, tag, children = decoders.get(code) or decoder_for(code)
        pos, name, size, enc, decl, sib, line, col = decode(info, pos)
        if name is not None and tag in INDEXED_TAGS:
            text = names.get(name)
            if text is None:
                text = names[name] = sections.string(name)
            if not text:
                _count_empty_name(sections, die)
            entries.append(new_entry(TypeEntry, (tag, text, die, size, enc, decl, line, col)))
        if children:
            if sib:
                pos = base + sib
                if pos <= die:
                    raise UnsupportedDwarf(f"{sections.path}: DIE 0x{die:x} has a sibling before itself")
            else:
                pos = _skip_children(info, pos, end, decoders, decoder_for)
    return entries


MAX_EMPTY_NAMES = 8  # as the plain reader: more empty type names mean a damaged string section


def _count_empty_name(sections: Sections, die: int) -> None:
    sections.empty_names += 1
    if sections.empty_names >= MAX_EMPTY_NAMES:
        raise UnsupportedDwarf(f"{sections.path}: type names read back empty (last at DIE 0x{die:x}); "
                               "the string section is damaged")


def _skip_children(info: bytes, pos: int, end: int, decoders: dict[int, tuple[Decoder, int, bool]],
                   decoder_for: Callable[[int], tuple[Decoder, int, bool]]) -> int:
    """The position after the children list starting at ``pos`` (for DIEs without a sibling)."""
    depth = 1
    while pos < end:
        code, pos = uleb(info, pos)
        if code == 0:
            depth -= 1
            if depth == 0:
                return pos
            continue
        decode, _tag, children = decoders.get(code) or decoder_for(code)
        pos = decode(info, pos)[0]
        if children:
            depth += 1
    return pos
