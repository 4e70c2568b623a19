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

The decoder of each abbreviation is generated once as Python source (fixed
forms fold into one constant step), shared by every unit whose abbreviation
has the same shape.  The results are plain tuples; :mod:`.typeindex` turns
them into the name index and :mod:`.convert` converts the chosen DIEs into
the model with pyelftools.
"""

from __future__ import annotations

import mmap
import struct as _struct
from collections.abc import Iterator
from typing import Callable, NamedTuple, Optional

from ...errors import InputError
from ..elf import DAMAGED_DWARF, map_debug_sections

# Tags the index records (DWARF 5 table 7.3).
TAG_STRUCT, TAG_UNION, TAG_TYPEDEF, TAG_ENUM, TAG_BASE = 0x13, 0x17, 0x16, 0x04, 0x24
INDEXED_TAGS = frozenset((TAG_STRUCT, TAG_UNION, TAG_TYPEDEF, TAG_ENUM, TAG_BASE))
_AT_SIBLING, _AT_NAME, _AT_BYTE_SIZE, _AT_DECLARATION, _AT_ENCODING = 0x01, 0x03, 0x0B, 0x3C, 0x3E
_AT_DECL_COLUMN, _AT_DECL_LINE = 0x39, 0x3B
# Integer attributes the index keeps, by the local they are decoded into.
_INT_TARGETS = {_AT_BYTE_SIZE: "size", _AT_ENCODING: "enc", _AT_DECL_LINE: "line", _AT_DECL_COLUMN: "col"}

# Forms by how they are laid out (DWARF 5 table 7.6 plus the GNU extensions).
_FIXED = {0x0B: 1, 0x11: 1, 0x0C: 1, 0x25: 1, 0x29: 1, 0x05: 2, 0x12: 2, 0x26: 2, 0x2A: 2,
          0x06: 4, 0x13: 4, 0x28: 4, 0x2C: 4, 0x1C: 4, 0x07: 8, 0x14: 8, 0x20: 8, 0x24: 8,
          0x1E: 16, 0x27: 3, 0x2B: 3, 0x19: 0, 0x21: 0}
_OFFSET_SIZED = {0x0E, 0x1F, 0x17, 0x1D, 0x1F20, 0x1F21}  # strp, line_strp, sec_offset, strp_sup, GNU alt
_LEB = {0x0F, 0x0D, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}
_BLOCK_PREFIX = {0x0A: "B", 0x03: "H", 0x04: "I"}  # block1, block2, block4
_ULEB_BLOCK = {0x09, 0x18}  # block, exprloc
_FORM_ADDR, _FORM_STRING, _FORM_REF_ADDR, _FORM_INDIRECT = 0x01, 0x08, 0x10, 0x16
_FORM_STRP, _FORM_LINE_STRP, _FORM_IMPLICIT_CONST = 0x0E, 0x1F, 0x21
_FORM_UDATA, _FORM_SDATA = 0x0F, 0x0D
_REF_FORMS = {0x11: "B", 0x12: "H", 0x13: "I", 0x14: "Q"}  # ref1/2/4/8, unit-relative
_CONST_FORMS = {0x0B: "B", 0x05: "H", 0x06: "I", 0x07: "Q"}  # data1/2/4/8

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


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned LEB128 number at ``pos`` of ``data``, and the position after it."""
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sleb(data: bytes, pos: int) -> tuple[int, int]:
    """The signed LEB128 number at ``pos`` of ``data``, and the position after it."""
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


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
        if form == _FORM_IMPLICIT_CONST:
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
        wanted = tag in INDEXED_TAGS
        lines = ["def decode(data, pos):",
                 " name = None; size = None; enc = 0; decl = False; sib = 0; line = None; col = None"]
        run = _FixedRun(self.endian, lines)  # consecutive fixed-size values: one unpack_from, one step
        for attr, form, const in attrs:
            if form == _FORM_INDIRECT:
                return _indirect_decoder(spec, address_size, offset_size, version, self)
            step = fixed_size(form, address_size, offset_size, version)
            if attr == _AT_SIBLING and form in _REF_FORMS:
                run.read(_REF_FORMS[form], "sib")
                continue
            elif wanted and attr == _AT_NAME and form in (_FORM_STRP, _FORM_LINE_STRP):
                run.read("I" if offset_size == 4 else "Q", "name")
                run.assign("name", f"('{'s' if form == _FORM_STRP else 'l'}', name)")  # the section it points into
                continue
            elif wanted and attr == _AT_NAME and form == _FORM_STRING:
                run.flush()
                lines.append(" end = zend(pos); name = bytes(data[pos:end]); pos = end + 1")
                continue
            elif wanted and attr in _INT_TARGETS and form in _CONST_FORMS:
                run.read(_CONST_FORMS[form], _INT_TARGETS[attr])
                continue
            elif wanted and attr in _INT_TARGETS and form == _FORM_IMPLICIT_CONST:
                run.assign(_INT_TARGETS[attr], str(const))
                continue
            elif wanted and attr in _INT_TARGETS and form in (_FORM_UDATA, _FORM_SDATA):
                run.flush()
                reader = "uleb" if form == _FORM_UDATA else "sleb"
                lines.append(f" {_INT_TARGETS[attr]}, pos = {reader}(data, pos)")
                continue
            elif wanted and attr in _INT_TARGETS:
                raise UnknownForm(form)  # an integer the index cannot read as pyelftools does: read the plain way
            elif wanted and attr == _AT_DECLARATION:
                run.assign("decl", "True")  # present at all, whatever its value, as the plain reader reads it
            elif wanted and attr == _AT_NAME:
                raise UnknownForm(form)  # a name the index cannot resolve: read the plain way
            if step is not None:
                run.skip(step)
                continue
            run.flush()
            lines.extend(" " + line for line in variable_step(form, self.endian))
        run.flush()
        lines.append(" return pos, name, size, enc, decl, sib, line, col")
        namespace: dict[str, object] = {"unpack_from": _struct.unpack_from, "uleb": uleb, "sleb": sleb,
                                        "zend": self._string_end}
        exec("\n".join(lines), namespace)  # noqa: S102 - generated from the fixed tables above
        return namespace["decode"]  # type: ignore[return-value]


class _FixedRun:
    """The fixed-size values between two variable-size ones: read with one ``unpack_from``, stepped over at once.

    A struct DIE's name, size, line, column and sibling cost one call
    instead of five; the scan decodes a million of them on a vmlinux.
    """

    def __init__(self, endian: str, lines: list[str]) -> None:
        self.endian, self.lines = endian, lines
        self.format: list[str] = []
        self.targets: list[str] = []
        self.after: list[str] = []  # statements once the values are read, in attribute order
        self.assigned: set[str] = set()  # variables ``after`` sets: a later value of one must not come first
        self.width = 0

    def read(self, code: str, target: str) -> None:
        if target in self.assigned:
            self.flush()
        self.format.append(code)
        self.targets.append(target)
        self.width += _struct.calcsize(self.endian + code)

    def assign(self, target: str, value: str) -> None:
        self.after.append(f" {target} = {value}")
        self.assigned.add(target)

    def skip(self, size: int) -> None:
        if size:
            self.format.append(f"{size}x")
            self.width += size

    def flush(self) -> None:
        if self.targets:
            names = ", ".join(self.targets) + ("," if len(self.targets) == 1 else "")
            self.lines.append(f" {names} = unpack_from('{self.endian}{''.join(self.format)}', data, pos)")
        self.lines.extend(self.after)
        if self.width:
            self.lines.append(f" pos += {self.width}")
        self.format, self.targets, self.after, self.assigned, self.width = [], [], [], set(), 0


def fixed_size(form: int, address_size: int, offset_size: int, version: int) -> Optional[int]:
    """How many bytes a value of ``form`` takes in a unit of this geometry; None when that varies per value."""
    if form in _FIXED:
        return _FIXED[form]
    if form in _OFFSET_SIZED:
        return offset_size
    if form == _FORM_ADDR:
        return address_size
    if form == _FORM_REF_ADDR:
        return offset_size if version >= 3 else address_size
    return None


def variable_step(form: int, endian: str) -> list[str]:
    """Generated lines that step ``pos`` over a value of a variable-size ``form`` (UnknownForm: not one we know)."""
    if form in _LEB:
        return ["while data[pos] & 0x80: pos += 1", "pos += 1"]
    if form == _FORM_STRING:
        return ["pos = zend(pos) + 1"]
    if form in _ULEB_BLOCK:
        return ["n, pos = uleb(data, pos)", "pos += n"]
    if form in _BLOCK_PREFIX:
        width = {"B": 1, "H": 2, "I": 4}[_BLOCK_PREFIX[form]]
        return [f"pos += {width} + unpack_from('{endian}{_BLOCK_PREFIX[form]}', data, pos)[0]"]
    raise UnknownForm(form)


class UnknownForm(Exception):
    """A form this scanner cannot step over; the caller falls back to the plain reader."""


def _indirect_decoder(spec: AbbrevSpec, address_size: int, offset_size: int, version: int,
                      factory: DecoderFactory) -> Decoder:
    """DW_FORM_indirect is rare: resolve each attribute's form per DIE, then decode as if fixed."""
    tag, children, attrs = spec

    def decode(data: bytes, pos: int) -> Decoded:
        resolved = []
        scan = pos
        for attr, form, const in attrs:
            while form == _FORM_INDIRECT:
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
