"""DIEs into the layout model: the file (:class:`DwarfFile`), the converter and the plain walk.

:class:`DwarfConverter` turns DIEs into model types; it reads pyelftools'
DIEs on the plain path (:func:`read_plain`, which walks the compile units in
order) and the fast path's :class:`~.rawdie.RawDIE` alike.  With
:mod:`..elf` and :mod:`.riscv_relocs`, the only modules that import elftools.  A linked vmlinux
(ET_EXEC/ET_DYN) is read without applying ``.rela.debug_*`` relocations:
applying them in pure Python takes many minutes on a distribution kernel and
changes nothing that a layout needs.  Relocatable objects (ET_REL) must be
relocated, or every reference between DIEs of the second and later compile
units is wrong.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import replace
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Optional

from elftools.dwarf.compileunit import CompileUnit
from elftools.dwarf.die import DIE as DIE  # re-exported for type hints in definitions.py
from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DWARFInfo, DwarfConfig
from elftools.dwarf.enums import ENUM_DW_AT, ENUM_DW_FORM, ENUM_DW_TAG
from elftools.elf.elffile import ELFFile

from ...abi import abi_name_for_elf
from ...errors import InputError
from ...provenance import Provenance
from ...typegraph import MAX_TYPE_DEPTH
from ...model import (
    ANCESTOR,
    DECLARATION_ONLY,
    ArrayType,
    BaseType,
    Build,
    EnumType,
    FunctionType,
    Member,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)
from ..edges import UnitEdges
from ..elf import (DAMAGED_DWARF, SHF_COMPRESSED, build_id_of, check_sections, content_digest, debug_section,
                   iter_children, zdebug_dwarf_info)
from .riscv_relocs import relocated_image

ENCODINGS = {
    0x02: "bool", 0x04: "float", 0x05: "signed", 0x06: "signed_char",
    0x07: "unsigned", 0x08: "unsigned_char", 0x10: "unsigned",
}
_QUALIFIERS = {
    "DW_TAG_const_type": "const", "DW_TAG_volatile_type": "volatile",
    "DW_TAG_restrict_type": "restrict", "DW_TAG_atomic_type": "_Atomic",
}
AGGREGATES = ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type")  # a C++ class is a struct

ProgressCallback = Callable[[int, int], None]

# Names read back empty: a compiler never writes them, a damaged string section does.
MAX_EMPTY_NAMES = 8


def die_name(die: DIE) -> Optional[str]:
    """``die``'s DW_AT_name, None when it has none."""
    return _text(die.attributes.get("DW_AT_name"))


def _text(attr: Any) -> Optional[str]:
    """A string attribute's text (pyelftools gives bytes), None when absent."""
    return None if attr is None else text_of(attr.value)


def text_of(value: Any) -> str:
    """The text of a string attribute's value."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def int_attr(die: DIE, name: str) -> Optional[int]:
    """The integer value of ``die``'s attribute ``name`` (see :func:`int_of`), None when absent."""
    return _int_value(die.attributes.get(name))


def _int_value(attr: Any) -> Optional[int]:
    """An integer attribute's value (a DWARF 2 ``DW_OP_plus_uconst N`` location reads as N), else None."""
    return None if attr is None else int_of(attr.value)


def int_of(value: Any) -> Optional[int]:
    """The integer an attribute's value stands for (see :func:`_int_value`), else None."""
    if isinstance(value, int):
        return value
    if isinstance(value, list):  # DWARF 2 location expression: DW_OP_plus_uconst N
        if len(value) >= 2 and value[0] == 0x23:
            return _uleb(value[1:])
        return None
    return None


_FORM_BITS = {"DW_FORM_data1": 8, "DW_FORM_data2": 16, "DW_FORM_data4": 32, "DW_FORM_data8": 64}


def _signed_attr(die: DIE, name: str) -> int:
    """A constant that DWARF defines as signed but pyelftools returns unsigned for dataN forms.

    clang writes DW_AT_bit_offset -6 (as 0xff..fa) for a packed bitfield that
    starts before its storage unit.
    """
    attr = die.attributes[name]
    value = int(attr.value)
    bits = _FORM_BITS.get(attr.form)
    if bits and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def _uleb(data: list[int]) -> int:
    result, shift = 0, 0
    for byte in data:
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return result


class DwarfConverter:
    """Turns DIEs into model types, memoised by DIE offset."""

    def __init__(self, address_size: int, little_endian: bool, origin: str) -> None:
        self.address_size = address_size
        self.little_endian = little_endian
        self.origin = origin
        self.full: dict[int, Type] = {}
        self.shallow: dict[int, Type] = {}
        self.saw_alignment = False  # any DW_AT_alignment: the producer records forced alignments
        self.empty_names = 0
        self._depth = 0

    def type_of(self, die: DIE, shallow: bool = False) -> Type:
        """The model type referred to by ``die``'s DW_AT_type (void when absent)."""
        if "DW_AT_type" not in die.attributes:
            return VoidType()
        return self.convert(die.get_DIE_from_attribute("DW_AT_type"), shallow)

    def convert(self, die: DIE, shallow: bool = False) -> Type:
        memo = self.shallow if shallow else self.full
        found = memo.get(die.offset) or self.full.get(die.offset)
        if found is not None:
            return found
        self._depth += 1
        try:
            if self._depth > MAX_TYPE_DEPTH:
                raise InputError(f"{self.origin}: DIE 0x{die.offset:x} nests types more than {MAX_TYPE_DEPTH} "
                                 "levels deep or refers to itself; damaged debug info?")
            return self._convert(die, shallow, memo)
        finally:
            self._depth -= 1

    def _convert(self, die: DIE, shallow: bool, memo: dict[int, Type]) -> Type:
        tag = die.tag
        if tag in AGGREGATES:
            if shallow and die_name(die) is not None:  # an anonymous one has no name to stand for it
                result: Type = self._stub(die)
            else:
                return self._aggregate(die)
        elif tag == "DW_TAG_base_type":
            result = BaseType(die_name(die) or "?", int_attr(die, "DW_AT_byte_size") or 0,
                              ENCODINGS.get(int_attr(die, "DW_AT_encoding") or 5, "signed"))
        elif tag == "DW_TAG_pointer_type" or tag in ("DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
            size = int_attr(die, "DW_AT_byte_size") or self.address_size
            pointer = PointerType(VoidType(), size)
            memo[die.offset] = pointer  # break cycles through self-referencing pointers
            pointer.target = self.type_of(die, shallow=True)
            return pointer
        elif tag == "DW_TAG_typedef":
            typedef = TypedefType(die_name(die) or "?", VoidType(), int_attr(die, "DW_AT_alignment"))
            self.saw_alignment = self.saw_alignment or typedef.alignment_attr is not None
            memo[die.offset] = typedef
            typedef.target = self.type_of(die, shallow)
            return typedef
        elif tag in _QUALIFIERS:
            result = QualifiedType(_QUALIFIERS[tag], self.type_of(die, shallow))
        elif tag == "DW_TAG_array_type":
            result = self._array(die, shallow)
        elif tag == "DW_TAG_enumeration_type":
            result = self._enum(die)
        elif tag == "DW_TAG_subroutine_type":
            params = [self.type_of(child, shallow=True) for child in iter_children(die)
                      if child.tag == "DW_TAG_formal_parameter"]
            variadic = any(child.tag == "DW_TAG_unspecified_parameters" for child in iter_children(die))
            result = FunctionType(self.type_of(die, shallow=True), params, variadic)
        elif tag == "DW_TAG_unspecified_type":
            result = VoidType()
        else:
            raise InputError(f"{self.origin}: unsupported type {tag} at DIE 0x{die.offset:x}")
        memo[die.offset] = result
        return result

    def _enum(self, die: DIE) -> EnumType:
        enum = EnumType(die_name(die), int_attr(die, "DW_AT_byte_size") or 0,
                        is_declaration="DW_AT_declaration" in die.attributes)
        if enum.name is None:  # defined inline in a struct: pahole prints its enumerators there
            underlying = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
            if underlying is not None and int_attr(underlying, "DW_AT_encoding") in (0x5, 0x6):
                enum.encoding = "signed"  # DW_ATE_signed, DW_ATE_signed_char
            enum.enumerators = [(die_name(child) or "", int_attr(child, "DW_AT_const_value") or 0)
                                for child in iter_children(die) if child.tag == "DW_TAG_enumerator"]
        return enum

    def _stub(self, die: DIE) -> StructType:
        kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
        # A stub stands for a type whose members are not read; one of a *defined* type keeps its
        # DW_AT_byte_size (0 for an empty struct such as x86's dev_archdata), which is no declaration's gap.
        defined = "" if "DW_AT_declaration" in die.attributes else f"; {STUB_OF_DEFINED}"
        return StructType(kind, die_name(die), int_attr(die, "DW_AT_byte_size") or 0, [],
                          is_declaration=True, origin=f"DIE 0x{die.offset:x}{defined}")

    def _array(self, die: DIE, shallow: bool) -> Type:
        counts: list[Optional[int]] = []
        for child in iter_children(die):
            if child.tag not in ("DW_TAG_subrange_type", "DW_TAG_enumeration_type"):
                continue
            count = int_attr(child, "DW_AT_count")
            if count is None:
                upper = child.attributes.get("DW_AT_upper_bound")
                if upper is not None and isinstance(upper.value, int) and upper.form != "DW_FORM_exprloc":
                    lower = int_attr(child, "DW_AT_lower_bound") or 0
                    count = upper.value - lower + 1
                    if count > 1 << 40:  # [-1] upper bound encoded unsigned: a zero-length array
                        count = 0
            counts.append(count)
        element = self.type_of(die, shallow)
        result: Type = element
        for count in reversed(counts or [None]):
            result = ArrayType(result, count)
        return result

    def _aggregate(self, die: DIE) -> StructType:
        kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
        declaration = "DW_AT_declaration" in die.attributes
        alignment = int_attr(die, "DW_AT_alignment")
        self.saw_alignment = self.saw_alignment or alignment is not None
        aggregate = StructType(kind, die_name(die), int_attr(die, "DW_AT_byte_size") or 0, [],
                               alignment_attr=alignment,
                               is_declaration=declaration, origin=f"DIE 0x{die.offset:x}")
        self.full[die.offset] = aggregate
        if die.has_children:
            aggregate.members = [self._member(child, kind) for child in iter_children(die)
                                 if (child.tag == "DW_TAG_member" and "DW_AT_external" not in child.attributes)
                                 or child.tag == "DW_TAG_inheritance"]
            _size_declared_members(aggregate)
            self._check_bases(aggregate, die)
        return aggregate

    def _check_bases(self, aggregate: StructType, die: DIE) -> None:
        """Refuse a C++ class that puts a member inside a base's tail padding: no C layout says where it goes."""
        for base in (m for m in aggregate.members if m.name == ANCESTOR):
            end = base.offset_bytes + base.type.size_bytes
            inside = next((m for m in aggregate.members if m.name != ANCESTOR
                           and base.offset_bytes <= m.bit_offset // 8 < end), None)
            if inside is not None:
                raise InputError(f"{self.origin}: C++ {aggregate.tag} (DIE 0x{die.offset:x}) places member "
                                 f"'{inside.name}' at byte {inside.bit_offset // 8}, inside its base "
                                 f"{base.type.c_name()} ({base.type.size_bytes} bytes): reused tail padding "
                                 "is not supported")

    def _member(self, die: DIE, kind: str) -> Member:
        if die.tag == "DW_TAG_inheritance":
            return self._base_class(die)
        member_type = self.type_of(die)
        byte_location = int_attr(die, "DW_AT_data_member_location") or 0
        bit_size = int_attr(die, "DW_AT_bit_size")
        bit_offset = byte_location * 8
        if bit_size is not None:
            data_bit_offset = int_attr(die, "DW_AT_data_bit_offset")
            if data_bit_offset is not None:
                bit_offset = data_bit_offset
            elif "DW_AT_bit_offset" in die.attributes:
                storage = int_attr(die, "DW_AT_byte_size") or member_type.size_bytes
                msb_offset = _signed_attr(die, "DW_AT_bit_offset")
                if self.little_endian:
                    bit_offset = byte_location * 8 + storage * 8 - msb_offset - bit_size
                else:
                    bit_offset = byte_location * 8 + msb_offset
        alignment = int_attr(die, "DW_AT_alignment")
        self.saw_alignment = self.saw_alignment or alignment is not None
        return Member(die_name(die), member_type, bit_offset, bit_size, alignment)


    def _base_class(self, die: DIE) -> Member:
        """A C++ base class subobject (DW_TAG_inheritance): a member named ``<ancestor>``, as pahole shows it."""
        location = die.attributes.get("DW_AT_data_member_location")
        if "DW_AT_virtuality" in die.attributes or (location is not None and not isinstance(location.value, int)):
            raise InputError(f"{self.origin}: C++ virtual base class at DIE 0x{die.offset:x}: its offset is "
                             "decided at run time; layouts with virtual inheritance are not supported")
        return Member(ANCESTOR, self.type_of(die), (int_attr(die, "DW_AT_data_member_location") or 0) * 8)


#: marks a stub (a type read without its members) of a type the unit defines
STUB_OF_DEFINED = "stub of a definition"


def _size_declared_members(aggregate: StructType) -> None:
    """A member whose struct type this unit only declares (reduced debug info, -femit-struct-debug-baseonly),
    directly, through a typedef or qualifier, or as an array's element: give it the bytes up to the next member
    (or the end), marked as such, instead of 0 bytes and a false hole."""
    members = aggregate.members
    for index, member in enumerate(members):
        if member.bit_size is not None or aggregate.is_union or member.type.size_bytes \
                or declared_struct(member.type) is None:
            continue
        following = [m.bit_offset // 8 for m in members[index + 1:] if m.bit_offset // 8 > member.offset_bytes]
        end = min(following) if following else aggregate.size_bytes
        if end > member.offset_bytes:
            sized = _with_struct(member.type, end - member.offset_bytes, None)
            if sized is not None:
                member.type = sized


def declared_struct(t: Type) -> Optional[StructType]:
    """The struct a member's type only declares, through typedefs, qualifiers and arrays (None if none)."""
    while isinstance(t, (TypedefType, QualifiedType, ArrayType)):
        t = t.element if isinstance(t, ArrayType) else t.target
    if isinstance(t, StructType) and t.is_declaration and not t.members and STUB_OF_DEFINED not in t.origin:
        return t
    return None


def _with_struct(t: Type, size: int, full: Optional[StructType]) -> Optional[Type]:
    """``t`` rebuilt around ``full``, or around a stub of ``size`` bytes marked DECLARATION_ONLY (None: no fit)."""
    if isinstance(t, TypedefType):
        inner = _with_struct(t.target, size, full)
        return None if inner is None else TypedefType(t.name, inner, t.alignment_attr)
    if isinstance(t, QualifiedType):
        inner = _with_struct(t.target, size, full)
        return None if inner is None else QualifiedType(t.qualifier, inner)
    if isinstance(t, ArrayType):
        if not t.count or size % t.count:
            return None
        inner = _with_struct(t.element, size // t.count, full)
        return None if inner is None else ArrayType(inner, t.count)
    if not isinstance(t, StructType):
        return None
    if full is not None:
        return full if 0 < full.size_bytes <= size else None
    return StructType(t.kind, t.name, size, [], is_declaration=True, origin=f"{t.origin}; {DECLARATION_ONLY}")


class DwarfFile:
    """An open ELF file with DWARF; iterate its compile units' named types."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream: BinaryIO = open(path, "rb")
        try:
            self.elf = ELFFile(self._stream)
            check_sections(self.elf, path, os.fstat(self._stream.fileno()).st_size)
            if not self.elf.has_dwarf_info() or debug_section(self.elf, ".debug_info") is None:
                raise InputError(f"{path}: ELF file has no DWARF debug info (.debug_info); "
                                 "build with -g or use the -dbg package")
            relocate = self.elf.header["e_type"] == "ET_REL"
            if relocate and self.elf.header["e_machine"] == "EM_RISCV":
                self.elf = ELFFile(relocated_image(self._stream))
                relocate = False
            mapped = not relocate and self.elf.stream is self._stream
            self.dwarf: DWARFInfo = (zdebug_dwarf_info(self.elf, path, relocate, _DWARF_SECTIONS)
                                     if self.elf.has_section(".zdebug_info")
                                     else _mapped_dwarf_info(self.elf, self._stream) if mapped
                                     else self.elf.get_dwarf_info(relocate_dwarf_sections=relocate))
        except (*DAMAGED_DWARF, OSError) as exc:
            self.close()
            raise InputError(f"{path}: cannot read ELF/DWARF ({exc}); is the file truncated?") from exc
        except InputError:
            self.close()
            raise

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> DwarfFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address_size(self) -> int:
        return 8 if self.elf.elfclass == 64 else 4

    @property
    def little_endian(self) -> bool:
        return self.elf.little_endian

    def arch(self) -> str:
        name = abi_name_for_elf(self.elf.header["e_machine"], self.elf.elfclass, self.elf.little_endian)
        if name is None:
            raise InputError(f"{self.path}: unsupported machine {self.elf.header['e_machine']}")
        return name

    def empty_build(self) -> Build:
        """A Build named after the file, with its ABI, word size and byte order, and no types yet."""
        return Build(name=os.path.basename(self.path), arch=self.arch(), address_size=self.address_size,
                     byte_order="little" if self.little_endian else "big")

    def num_cus(self) -> int:
        """Number of compile units, counted from the unit headers (cheap)."""
        return sum(1 for _ in self.dwarf.iter_CUs())

    def iter_cus(self) -> Iterator[CompileUnit]:
        try:
            yield from self.dwarf.iter_CUs()
        except DAMAGED_DWARF as exc:
            raise InputError(f"{self.path}: corrupt or truncated DWARF ({exc})") from exc

    def cache_key(self) -> Optional[str]:
        """What whole-file scan results are cached under: the build-id *and* this file's identity.

        The build-id alone is not enough: a damaged or edited copy of a build keeps its build-id,
        and must not be served the good file's results.  None (no caching) without a build-id.
        """
        build_id = self.build_id()
        if build_id is None:
            return None
        info = os.fstat(self._stream.fileno())
        return f"{build_id}-{info.st_size}-{info.st_mtime_ns}-{info.st_ino}-{content_digest(self.elf, self._stream)}"

    def build_id(self) -> Optional[str]:
        """The GNU build-id note, or None when there is none or the notes are damaged (then nothing is cached)."""
        try:
            return build_id_of(self.elf)
        except DAMAGED_DWARF:
            return None


class _Window:
    """A read-only file view of ``size`` bytes at ``start`` of a memory map (what pyelftools reads through)."""

    def __init__(self, data: mmap.mmap, start: int, size: int) -> None:
        self._data, self._start, self._size, self._pos = data, start, size, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._size)[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, count: int = -1) -> bytes:
        end = self._size if count < 0 else min(self._pos + count, self._size)
        begin = self._start + self._pos
        chunk = self._data[begin:self._start + end] if end > self._pos else b""
        self._pos = max(end, self._pos)
        return chunk


def _mapped_dwarf_info(elf: ELFFile, stream: BinaryIO) -> DWARFInfo:
    """pyelftools' DWARFInfo over the file's own pages instead of copies of every debug section.

    ``get_dwarf_info`` copies each section into memory first (about 250 MB
    and 0.4 s on a distribution vmlinux, for a lookup that reads a few
    kilobytes).  Sections stored compressed, or any file pyelftools treats
    specially, take its own path.
    """
    if elf.has_section(".zdebug_info") or elf.has_phantom_bytes() or elf.get_section_by_name(".gnu_debuglink"):
        return elf.get_dwarf_info(relocate_dwarf_sections=False)
    data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    descriptors: dict[str, Optional[DebugSectionDescriptor]] = {}
    for key, name in _DWARF_SECTIONS.items():
        section = elf.get_section_by_name(name)
        if section is None:
            descriptors[key] = None
            continue
        header = section.header
        if header["sh_flags"] & SHF_COMPRESSED or header["sh_type"] == "SHT_NOBITS" \
                or header["sh_offset"] + header["sh_size"] > len(data):
            return elf.get_dwarf_info(relocate_dwarf_sections=False)
        descriptors[key] = DebugSectionDescriptor(
            stream=_Window(data, header["sh_offset"], header["sh_size"]),  # type: ignore[arg-type]
            name=name,
            global_offset=header["sh_offset"], size=header["sh_size"], address=header["sh_addr"])
    config = DwarfConfig(little_endian=elf.little_endian, default_address_size=elf.elfclass // 8,
                         machine_arch=elf.get_machine_arch())
    return DWARFInfo(config=config, **descriptors)


def dwarf_code_names() -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """pyelftools' names of DWARF tags, attributes and forms by code (for the raw decoder of :mod:`.rawdie`)."""
    return tuple({code: name for name, code in table.items() if isinstance(code, int)}  # type: ignore[return-value]
                 for table in (ENUM_DW_TAG, ENUM_DW_AT, ENUM_DW_FORM))


_DWARF_SECTIONS = {
    "debug_info_sec": ".debug_info", "debug_aranges_sec": ".debug_aranges", "debug_abbrev_sec": ".debug_abbrev",
    "debug_frame_sec": ".debug_frame", "eh_frame_sec": ".eh_frame", "debug_str_sec": ".debug_str",
    "debug_loc_sec": ".debug_loc", "debug_ranges_sec": ".debug_ranges", "debug_line_sec": ".debug_line",
    "debug_pubtypes_sec": ".debug_pubtypes", "debug_pubnames_sec": ".debug_pubnames",
    "debug_addr_sec": ".debug_addr", "debug_str_offsets_sec": ".debug_str_offsets",
    "debug_line_str_sec": ".debug_line_str", "debug_loclists_sec": ".debug_loclists",
    "debug_rnglists_sec": ".debug_rnglists", "debug_sup_sec": ".debug_sup",
    "gnu_debugaltlink_sec": ".gnu_debugaltlink", "debug_types_sec": ".debug_types",
}


def _iter_type_dies(cu: CompileUnit) -> Iterator[DIE]:
    """Type DIEs at the top level of a compile unit."""
    top = cu.get_top_DIE()
    yield from iter_children(top)


def read_plain(dwarf_file: DwarfFile, wanted_structs: Optional[set[str]], wanted_types: set[str],
               progress: Optional[ProgressCallback] = None, any_kind: bool = False,
               every_definition: bool = False) -> Build:
    """The plain path of :func:`~layoutcalc.readers.dwarf.read_dwarf`: pyelftools walks the units in file order.

    In each unit it converts the first complete definition of every wanted
    name not found yet (every named struct and union when ``wanted_structs``
    is None) and stops once all are found; with ``every_definition``, every
    distinct definition.  The fast path (:mod:`.fastpath`) is tested equal to it.
    """
    path = dwarf_file.path
    build = dwarf_file.empty_build()
    converter = DwarfConverter(dwarf_file.address_size, dwarf_file.little_endian, path)
    variants: Optional[set[tuple[Any, ...]]] = set() if every_definition else None
    total = dwarf_file.num_cus() if progress else 0
    first_cu: Optional[CompileUnit] = None
    try:
        for index, cu in enumerate(dwarf_file.iter_cus()):
            if first_cu is None and is_c_unit(cu):
                first_cu = cu
            converter.full.clear()
            converter.shallow.clear()
            _scan_cu(cu, converter, build, wanted_structs, wanted_types, variants)
            forget_dies(cu)
            if progress:
                progress(index + 1, total)
            if wanted_structs is not None and _all_found(build, wanted_structs, wanted_types, any_kind):
                break
    except DAMAGED_DWARF as exc:
        raise InputError(f"{path}: corrupt or truncated DWARF ({exc.__class__.__name__}: {exc})") from exc
    if first_cu is None:
        first_cu = next((cu for cu in dwarf_file.iter_cus() if is_c_unit(cu)), None)
    build.provenance = replace(provenance_of(dwarf_file, first_cu), alignment_attributes=converter.saw_alignment)
    if not build.structs and not build.unions:
        check_units(dwarf_file)
    return build


def resolve_declared_members(build: Build, read: Callable[[list[str]], Build]) -> None:
    """Give a member typed by a struct its unit only declares the full definition another unit has, when that
    definition fits the bytes up to the next member (else the sized declaration stays, marked).

    ``read(names)`` reads those structs' definitions from the same file.
    """
    from ...typegraph import reachable
    holders = [*build.structs.values(), *build.unions.values(), *build.variants]
    pending: dict[str, list[Member]] = {}
    for aggregate in reachable(holders):
        if isinstance(aggregate, StructType):
            for member in aggregate.members:
                stub = declared_struct(member.type)
                if stub is not None and stub.name and DECLARATION_ONLY in stub.origin:
                    pending.setdefault(stub.name, []).append(member)
    if not pending:
        return
    found = read(sorted(pending))
    for name, members in pending.items():
        full = found.structs.get(name)
        if full is None or full.is_declaration:
            continue
        for member in members:
            resolved = _with_struct(member.type, member.type.size_bytes, full)
            if resolved is not None:
                member.type = resolved


# DW_AT_language values of the languages whose struct layouts this reader takes as C does.
_C_LANGUAGES = {0x1: "C89", 0x2: "C", 0xc: "C99", 0x1d: "C11", 0x2c: "C17",
                0x4: "C++", 0x1a: "C++03", 0x21: "C++11", 0x2b: "C++14"}
_OTHER_LANGUAGES = {0x1c: "Rust", 0x16: "Go", 0x13: "D", 0x1e: "Swift", 0x20: "Julia", 0x24: "Zig",
                    0xe: "Fortran 95", 0x22: "Fortran 03", 0x23: "Fortran 08", 0x8: "Fortran 77",
                    0xd: "Ada 95", 0x2e: "Ada 2005", 0x2f: "Ada 2012", 0x25: "Kotlin", 0x3: "Ada 83"}


def _namespaced_aggregate(top: DIE) -> Optional[str]:
    """``ns::name`` of the first named struct, class or union inside a namespace of the unit, if any."""
    stack = [(child, die_name(child) or "(anonymous)") for child in top.iter_children()
             if child.tag == "DW_TAG_namespace"]
    while stack:
        namespace, prefix = stack.pop()
        for child in namespace.iter_children():
            if child.tag == "DW_TAG_namespace":
                stack.append((child, f"{prefix}::{die_name(child) or '(anonymous)'}"))
            elif child.tag in AGGREGATES and die_name(child) and "DW_AT_declaration" not in child.attributes:
                return f"{prefix}::{die_name(child)}"
    return None


def check_units(dwarf_file: DwarfFile) -> None:
    """Explain, in one line, why a file with DWARF gave no struct at all: split DWARF, or another language.

    Called when nothing was read, so that no command prints an empty or
    hole-shaped answer for layouts it never saw.  Returns when the units are
    plain C/C++ (a file may simply define no struct).
    """
    try:
        _check_units(dwarf_file)
    except DAMAGED_DWARF:
        return  # damaged units: the reader's own checks say what is wrong, or nothing was there to read


def _check_units(dwarf_file: DwarfFile) -> None:
    path = dwarf_file.path
    others: dict[str, int] = {}
    c_units = 0
    top_level = False
    namespaced: Optional[str] = None
    for cu in dwarf_file.iter_cus():
        top = cu.get_top_DIE()
        dwo = top.attributes.get("DW_AT_dwo_name") or top.attributes.get("DW_AT_GNU_dwo_name")
        if top.tag == "DW_TAG_skeleton_unit" or dwo is not None:
            where = _text(top.attributes.get("DW_AT_comp_dir")) or "."
            name = _text(dwo) if dwo is not None else "its .dwo"
            raise InputError(f"{path}: split DWARF (-gsplit-dwarf): the types are in {name} (under {where}), "
                             "which this reader does not follow; rebuild without -gsplit-dwarf")
        language = int_attr(top, "DW_AT_language")
        if language in _C_LANGUAGES:
            c_units += 1
            top_level = top_level or any(child.tag in AGGREGATES and die_name(child) for child in top.iter_children())
            namespaced = namespaced or _namespaced_aggregate(top)
        elif language in _OTHER_LANGUAGES:
            others[_OTHER_LANGUAGES[language]] = others.get(_OTHER_LANGUAGES[language], 0) + 1
        forget_dies(cu)
    if namespaced is not None and not top_level:
        raise InputError(f"{path}: its structs are C++ types inside namespaces ({namespaced}, ...), which this "
                         "reader does not read; only types at a unit's top level are")
    if others and not c_units:
        names = ", ".join(f"{name} ({count} unit{'s' if count > 1 else ''})" for name, count in others.items())
        raise InputError(f"{path}: language not supported: its DWARF describes {names}; layoutcalc reads the "
                         "struct layouts of C and C++ units only")


def forget_dies(cu: CompileUnit) -> None:
    """Drop the DIEs pyelftools cached for a finished unit.

    pyelftools keeps every parsed DIE of every unit alive; on a whole
    distribution vmlinux that is over 4 GB.  The converted model objects are
    all we keep, so the unit's cache can go (it is rebuilt if asked again).
    """
    if hasattr(cu, "_dielist") and hasattr(cu, "_diemap"):
        cu._dielist = []
        cu._diemap = []


def is_c_unit(cu: CompileUnit) -> bool:
    """Whether ``cu`` came from a compiler (its producer is not the assembler): the unit a provenance describes."""
    producer = cu.get_top_DIE().attributes.get("DW_AT_producer")
    return producer is not None and isinstance(producer.value, bytes) and not producer.value.startswith(b"GNU AS")


def _all_found(build: Build, structs: set[str], types: set[str], any_kind: bool = False) -> bool:
    have = set(build.structs) | set(build.unions)
    have_types = set(build.typedefs) | set(build.base_types) | {f"enum {name}" for name in build.enums}
    if any_kind:
        return all(name in have or name in have_types for name in structs)
    return structs <= have and types <= have_types


def definition_key(die: DIE, name: str) -> tuple[Any, ...]:
    """What pahole compares to tell two same-name definitions apart (its type__compare)."""
    members = tuple((die_name(child), int_attr(child, "DW_AT_data_member_location"),
                     int_attr(child, "DW_AT_data_bit_offset"), int_attr(child, "DW_AT_bit_offset"),
                     int_attr(child, "DW_AT_bit_size"))
                    for child in iter_children(die) if child.tag == "DW_TAG_member")
    return (name, int_attr(die, "DW_AT_byte_size"), members)


def _scan_cu(cu: CompileUnit, converter: DwarfConverter, build: Build,
             wanted_structs: Optional[set[str]], wanted_types: set[str],
             variants: Optional[set[tuple[Any, ...]]] = None) -> None:
    for die in _iter_type_dies(cu):
        tag = die.tag
        name_attr = die.attributes.get("DW_AT_name")
        if name_attr is not None and not name_attr.value:
            converter.empty_names += 1
            if converter.empty_names >= MAX_EMPTY_NAMES:
                raise InputError(f"{converter.origin}: {converter.empty_names} type names read back empty "
                                 f"(last at DIE 0x{die.offset:x}, form {name_attr.form}); the string section "
                                 "(.debug_str) is damaged")
        if tag in AGGREGATES:
            if "DW_AT_declaration" in die.attributes:
                continue
            name = die_name(die)
            if name is None:
                continue
            build.names_seen.add(name)
            table = build.unions if tag == "DW_TAG_union_type" else build.structs
            if variants is not None:
                # Fast path: the same header's definition seen in an earlier unit.
                where = (name, tag, int_attr(die, "DW_AT_byte_size"), int_attr(die, "DW_AT_decl_line"),
                         int_attr(die, "DW_AT_decl_column"))
                if where in variants:
                    continue
                variants.add(where)
                key = definition_key(die, name)
                if key not in variants:
                    variants.add(key)
                    variant = converter.convert(die)
                    assert isinstance(variant, StructType)
                    build.variants.append(variant)
                    table.setdefault(name, variant)
                continue
            if name in table or (wanted_structs is not None and name not in wanted_structs):
                continue
            converted = converter.convert(die)
            assert isinstance(converted, StructType)
            table[name] = converted
        elif tag == "DW_TAG_typedef":
            name = die_name(die)
            if name is not None:
                build.names_seen.add(name)
            if not wanted_types:
                continue
            if name in wanted_types and name not in build.typedefs:
                typedef = converter.convert(die)
                assert isinstance(typedef, TypedefType)
                build.typedefs[name] = typedef
        elif tag == "DW_TAG_enumeration_type" and wanted_types:
            name = die_name(die)
            if name and f"enum {name}" in wanted_types and name not in build.enums \
                    and "DW_AT_declaration" not in die.attributes:
                enum = converter.convert(die)
                assert isinstance(enum, EnumType)
                build.enums[name] = enum
        elif tag == "DW_TAG_base_type":
            name = die_name(die)
            if name and name not in build.base_types:
                base = converter.convert(die)
                assert isinstance(base, BaseType)
                build.base_types[name] = base


def provenance_of(dwarf_file: DwarfFile, cu: Optional[CompileUnit]) -> Provenance:
    """What the file and its first compiled unit ``cu`` say about how the build was made."""
    producer = None
    version = None
    if cu is not None:
        version = cu["version"]
        top = cu.get_top_DIE()
        attr = top.attributes.get("DW_AT_producer")
        if attr is not None:
            producer = attr.value.decode("utf-8", "replace") if isinstance(attr.value, bytes) else str(attr.value)
    return Provenance(
        file=os.path.basename(dwarf_file.path),
        format="dwarf",
        dwarf_version=version,
        producer=producer,
        build_id=dwarf_file.build_id(),
        elf_type=str(dwarf_file.elf.header["e_type"]),
        machine=str(dwarf_file.elf.header["e_machine"]),
        recorded=("file", "format", "dwarf_version", "producer", "build_id", "elf_type", "machine"),  # null too
    )


_PAHOLE_TYPE_TAGS = ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_typedef", "DW_TAG_enumeration_type",
                     "DW_TAG_class_type", "DW_TAG_rvalue_reference_type")


def unit_edges(path: str, name: str, include_declarations: bool) -> Optional[UnitEdges]:
    """The first unit with a type called ``name`` (pahole's cu__find_type_by_name), as :class:`UnitEdges`."""
    with DwarfFile(path) as dwarf_file:
        try:
            for cu in dwarf_file.iter_cus():
                target = next((die.offset for die in _iter_type_dies(cu)
                               if die.tag in _PAHOLE_TYPE_TAGS and die_name(die) == name
                               and (include_declarations or "DW_AT_declaration" not in die.attributes)), None)
                if target is not None:
                    unit = _text(cu.get_top_DIE().attributes.get("DW_AT_name")) or f"unit 0x{cu.cu_offset:x}"
                    return UnitEdges(unit, target, _unit_aggregates(cu))
                forget_dies(cu)
        except DAMAGED_DWARF as exc:
            raise InputError(f"{path}: corrupt or truncated DWARF ({exc.__class__.__name__}: {exc})") from exc
    return None


def _unit_aggregates(cu: CompileUnit) -> list[tuple[str, int, list[tuple[str, int, Optional[int]]], tuple[Any, ...]]]:
    result = []
    for die in _iter_type_dies(cu):
        if die.tag not in AGGREGATES or "DW_AT_declaration" in die.attributes:
            continue
        aggregate_name = die_name(die)
        if aggregate_name is None:
            continue
        members = []
        for child in die.iter_children():
            if child.tag != "DW_TAG_member" or "DW_AT_type" not in child.attributes:
                continue
            member_type = child.get_DIE_from_attribute("DW_AT_type")
            pointee = None
            if member_type.tag == "DW_TAG_pointer_type" and "DW_AT_type" in member_type.attributes:
                pointee = member_type.get_DIE_from_attribute("DW_AT_type").offset
            members.append((die_name(child) or "", member_type.offset, pointee))
        result.append((aggregate_name, die.offset, members, definition_key(die, aggregate_name)))
    return result
