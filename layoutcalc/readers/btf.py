"""BTF reader: a raw BTF blob (``/sys/kernel/btf/vmlinux``) or an ELF ``.BTF`` section into the model.

BTF (``Documentation/bpf/btf.rst``) is a header, a type section and a string
section.  Type ids start at 1 (0 is void) and are implicit: the n-th record
is id n.  Every record is ``name_off, info, size_or_type`` (12 bytes)
followed by kind-specific data whose length depends on the kind and ``vlen``;
a first pass finds where each record starts, a second converts only the
types that are needed, memoised by id (pointers break cycles).

BTF carries no alignment and no pointer size.  The pointer size comes from
``arch`` when given, otherwise from ``long`` (as wide as a pointer on every
Linux ABI); the alignments are inferred from the layout by
:mod:`layoutcalc.analysis.facts`.
"""

from __future__ import annotations

import os
import platform
import struct as _struct
from collections.abc import Iterable
from typing import Optional

from ..abi import get_abi
from ..errors import InputError
from ..provenance import Provenance
from ..typegraph import MAX_TYPE_DEPTH, check_type_graph
from ..model import (
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
from .edges import UnitEdges

BTF_MAGIC = 0xEB9F
HEADER_MIN_LEN = 24

# Kinds (include/uapi/linux/btf.h).
KIND_NAMES = {
    1: "INT", 2: "PTR", 3: "ARRAY", 4: "STRUCT", 5: "UNION", 6: "ENUM", 7: "FWD",
    8: "TYPEDEF", 9: "VOLATILE", 10: "CONST", 11: "RESTRICT", 12: "FUNC",
    13: "FUNC_PROTO", 14: "VAR", 15: "DATASEC", 16: "FLOAT", 17: "DECL_TAG",
    18: "TYPE_TAG", 19: "ENUM64",
}
_INT, _PTR, _ARRAY, _STRUCT, _UNION, _ENUM, _FWD, _TYPEDEF = 1, 2, 3, 4, 5, 6, 7, 8
_VOLATILE, _CONST, _RESTRICT, _FUNC, _FUNC_PROTO, _VAR, _DATASEC = 9, 10, 11, 12, 13, 14, 15
_FLOAT, _DECL_TAG, _TYPE_TAG, _ENUM64 = 16, 17, 18, 19
AGGREGATE_KINDS = frozenset((_STRUCT, _UNION))  # the kinds of struct and union records

_INT_SIGNED, _INT_CHAR, _INT_BOOL = 1, 2, 4
_QUALIFIERS = {_VOLATILE: "volatile", _CONST: "const", _RESTRICT: "restrict"}


def _extra_len(kind: int, vlen: int) -> int:
    """Bytes of kind-specific data after the 12-byte common record."""
    if kind in (_INT, _VAR, _DECL_TAG):
        return 4
    if kind == _ARRAY:
        return 12
    if kind in (_STRUCT, _UNION, _DATASEC, _ENUM64):
        return 12 * vlen
    if kind in (_ENUM, _FUNC_PROTO):
        return 8 * vlen
    return 0


# _extra_len as two tables by kind (fixed bytes, bytes per vlen item), for the loop over every record.
_FIXED_LEN = [_extra_len(kind, 0) if kind in KIND_NAMES else -1 for kind in range(32)]
_ITEM_LEN = [_extra_len(kind, 1) - _FIXED_LEN[kind] if kind in KIND_NAMES else 0 for kind in range(32)]


class BtfHeader:
    """The BTF header: byte order, and where the type and string sections are (absolute offsets)."""

    def __init__(self, data: bytes, name: str) -> None:
        if len(data) < HEADER_MIN_LEN:
            raise InputError(f"{name}: BTF data is {len(data)} bytes, shorter than a BTF header "
                             f"({HEADER_MIN_LEN} bytes)")
        if data[:2] == b"\x9f\xeb":
            self.endian = "<"
        elif data[:2] == b"\xeb\x9f":
            self.endian = ">"
        else:
            raise InputError(f"{name}: not BTF (magic {data[:2].hex()}, "
                             "expected 0xeb9f in either byte order)")
        self.byte_order = "little" if self.endian == "<" else "big"
        _magic, self.version, self.flags, hdr_len, type_off, type_len, str_off, str_len = _struct.unpack_from(
            self.endian + "HBBIIIII", data, 0)
        if self.version != 1:
            raise InputError(f"{name}: unsupported BTF version {self.version} (only version 1 is known)")
        if hdr_len < HEADER_MIN_LEN or hdr_len > len(data):
            raise InputError(f"{name}: BTF header length {hdr_len} is impossible "
                             f"for {len(data)} bytes of data")
        self.type_start = hdr_len + type_off
        self.type_end = self.type_start + type_len
        self.str_start = hdr_len + str_off
        self.str_end = self.str_start + str_len
        for label, end in (("type", self.type_end), ("string", self.str_end)):
            if end > len(data):
                raise InputError(f"{name}: BTF {label} section ends at byte {end}, past the end of the "
                                 f"data ({len(data)} bytes); the file is truncated")


LIVE_BTF = "/sys/kernel/btf/vmlinux"


def read_btf_blob(path: str) -> bytes:
    """The BTF of ``path``: a raw blob, or the ``.BTF`` section of an ELF file."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(4)
            if data != b"\x7fELF":
                return data + stream.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read BTF ({exc.strerror})") from None
    from .elf import read_elf_info  # a vmlinux: only its .BTF section is read
    btf = read_elf_info(path).btf
    if btf is None:
        raise InputError(f"{path}: ELF file has no .BTF section to use as the BTF base")
    return btf


class BtfTypes:
    """Raw access to a BTF blob: record offsets by id, names, kinds; checks bounds as it goes."""

    def __init__(self, data: bytes, name: str, base: Optional["BtfTypes"] = None) -> None:
        self.data = data
        self.name = name
        self.header = BtfHeader(data, name)
        self.endian = self.header.endian
        self._u32 = _struct.Struct(self.endian + "I")
        self._rec = _struct.Struct(self.endian + "III")
        # Split BTF (a module's, read against vmlinux): ids and string offsets continue the base's.
        self.base = base
        self.first_id = base.num_types if base is not None else 1
        self.str_base = base.str_size if base is not None else 0
        if base is not None and base.endian != self.endian:
            raise InputError(f"{name}: split BTF is {self.header.byte_order}-endian but its base "
                             f"{base.name} is {base.header.byte_order}-endian")
        self.offsets: list[int] = [0] * self.first_id  # index = type id; id 0 (void) and base ids: no record here
        # record(type_id) of each id, decoded once; void and base ids: None
        self._records: list[Optional[tuple[int, int, int, bool, int]]] = [None] * self.first_id
        self._strings: dict[int, str] = {}  # string offset -> text, so that a name is decoded (and stored) once
        self._words: dict[int, _struct.Struct] = {}  # count -> Struct of that many u32 words
        self._index_records()

    @property
    def str_size(self) -> int:
        """Bytes of strings up to the end of this blob's own (base strings included)."""
        return self.str_base + int(self.header.str_end - self.header.str_start)

    @classmethod
    def split_ok(cls, data: bytes, name: str, base: Optional[str] = None, from_elf: bool = False) -> "BtfTypes":
        """``data`` read on its own, else against a base when it is split BTF (a module's).

        The base is the file ``base`` (raw BTF or an ELF with ``.BTF``); for a
        module (an ELF's ``.BTF``, ``from_elf``) or ``/sys/kernel/btf/MODULE`` it
        defaults to the running kernel's ``/sys/kernel/btf/vmlinux``, as the
        kernel and ``bpftool`` read them.  Any other blob must name its base.
        """
        own = cls(data, name)
        if not own.needs_base():
            return own
        if base is None:
            if not (from_elf or os.path.dirname(name) == os.path.dirname(LIVE_BTF)):
                raise InputError(f"{name}: split BTF (a module's): its type ids and names continue a base "
                                 "BTF; name it with --btf-base (e.g. the vmlinux it was built with)")
            if not os.path.exists(LIVE_BTF):
                raise InputError(f"{name}: split BTF (a module's): its type ids and names continue a base "
                                 f"BTF; name it with --btf-base (this machine has no {LIVE_BTF})")
            base = LIVE_BTF
        return cls(data, name, cls(read_btf_blob(base), base))

    def needs_base(self) -> bool:
        """Split BTF: its strings do not start with the empty string every base BTF starts with (libbpf's
        check), or it has no strings of its own yet names its types."""
        header = self.header
        if header.str_end > header.str_start:
            return bool(self.data[header.str_start] != 0)
        return any(self._rec.unpack_from(self.data, self.offsets[i])[0]
                   for i in range(self.first_id, len(self.offsets)))

    def _index_records(self) -> None:
        pos, end = self.header.type_start, self.header.type_end
        unpack, data, fixed_len, item_len = self._rec.unpack_from, self.data, _FIXED_LEN, _ITEM_LEN
        offsets, records = self.offsets, self._records
        add_offset, add_record = offsets.append, records.append
        while pos < end:
            if pos + 12 > end:
                raise InputError(f"{self.name}: BTF type id {len(offsets)} runs past the end of the type section")
            name_off, info, size = unpack(data, pos)
            kind = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            fixed = fixed_len[kind]
            if fixed < 0:
                raise InputError(f"{self.name}: BTF type id {len(offsets)} has unknown kind {kind} "
                                 f"(at byte {pos}); garbled data or a newer BTF than this reader knows")
            following = pos + 12 + fixed + item_len[kind] * vlen
            if following > end:
                raise InputError(f"{self.name}: BTF type id {len(offsets)} ({KIND_NAMES[kind]}) runs past "
                                 "the end of the type section")
            add_offset(pos)
            add_record((name_off, kind, vlen, info >= 0x80000000, size))
            pos = following

    @property
    def num_types(self) -> int:
        """Number of type ids including void (id 0)."""
        return len(self.offsets)

    def record(self, type_id: int) -> tuple[int, int, int, bool, int]:
        """``(name_off, kind, vlen, kind_flag, size_or_type)`` of ``type_id``."""
        records = self._records
        if not 0 < type_id < len(records):
            self.check_id(type_id, type_id)  # raises
        found = records[type_id]
        if found is None:  # an id of a split BTF's base
            assert self.base is not None
            return self.base.record(type_id)
        return found

    def records(self) -> list[Optional[tuple[int, int, int, bool, int]]]:
        """:meth:`record` of every id, indexed by id (None for void and a split BTF's base ids)."""
        return self._records

    def check_id(self, type_id: int, referrer: int) -> None:
        if not 0 < type_id < len(self.offsets):
            raise InputError(f"{self.name}: BTF type id {referrer} refers to type id {type_id}, but there "
                             f"are only {len(self.offsets) - 1} types")

    def u32s(self, type_id: int, count: int, index: int = 0) -> tuple[int, ...]:
        """``count`` u32 words of ``type_id``'s kind-specific data, from word ``index``."""
        if self.base is not None and 0 < type_id < self.first_id:
            return self.base.u32s(type_id, count, index)
        start = self.offsets[type_id] + 12 + 4 * index
        words = self._words.get(count)
        if words is None:
            words = self._words[count] = _struct.Struct(f"{self.endian}{count}I")
        return words.unpack_from(self.data, start)

    def string(self, offset: int, type_id: int) -> str:
        """The NUL-terminated string at ``offset`` of the string section (the base's first, for split BTF)."""
        found = self._strings.get(offset)
        if found is not None:
            return found
        own = offset
        if self.base is not None:
            if 0 <= offset < self.str_base:
                return self.base.string(offset, type_id)
            own -= self.str_base
        start = self.header.str_start + own
        if own < 0 or start >= self.header.str_end:
            raise InputError(f"{self.name}: BTF type id {type_id} has name offset {own}, outside the "
                             f"string section ({self.header.str_end - self.header.str_start} bytes)")
        stop = self.data.find(b"\0", start, self.header.str_end)
        if stop < 0:
            raise InputError(f"{self.name}: BTF string at offset {own} (type id {type_id}) is not "
                             "NUL-terminated before the end of the string section")
        found = self._strings[offset] = self.data[start:stop].decode("utf-8", "replace")
        return found

    def name_of(self, type_id: int) -> str:
        return self.string(self.record(type_id)[0], type_id)

    def kind_of(self, type_id: int) -> int:
        return self.record(type_id)[1]


class BtfConverter:
    """BTF records into model types, memoised by type id."""

    def __init__(self, btf: BtfTypes, pointer_size: int) -> None:
        self.btf = btf
        self.pointer_size = pointer_size
        self.full: dict[int, Type] = {}
        self.shallow: dict[int, Type] = {}
        self._bitfields: dict[int, tuple[Optional[int], int]] = {}  # member type id -> _int_bitfield
        self._depth = 0

    def convert(self, type_id: int, referrer: int = 0, shallow: bool = False) -> Type:
        """The model type of ``type_id``.

        ``shallow`` (behind pointers) turns structs and unions into member-less
        stubs, so that converting one struct does not pull in the whole kernel.
        """
        if type_id == 0:
            return VoidType()
        found = self.full.get(type_id) or (self.shallow.get(type_id) if shallow else None)
        if found is not None:
            return found
        self.btf.check_id(type_id, referrer or type_id)
        self._depth += 1
        if self._depth > MAX_TYPE_DEPTH:  # by-value nesting is shallow; only a loop or damage gets here
            raise InputError(f"{self.btf.name}: BTF type id {type_id} is part of a reference loop "
                             f"or nests types more than {MAX_TYPE_DEPTH} levels deep")
        try:
            return self._convert(type_id, shallow)
        finally:
            self._depth -= 1

    def _enumerators(self, type_id: int, kind: int, vlen: int) -> list[tuple[str, int]]:
        """(name, value) of an anonymous enum, which pahole lists where it is used.

        Values are kept as stored (unsigned), as pahole 1.24's BTF loader reads them.
        """
        words = 3 if kind == _ENUM64 else 2
        raw = self.btf.u32s(type_id, words * vlen)
        result = []
        for index in range(vlen):
            name_off, low = raw[words * index], raw[words * index + 1]
            value = low | raw[words * index + 2] << 32 if kind == _ENUM64 else low
            result.append((self.btf.string(name_off, type_id) if name_off else "", value))
        return result

    def _convert(self, type_id: int, shallow: bool) -> Type:
        btf = self.btf
        name_off, kind, vlen, kind_flag, size = btf.record(type_id)
        name = btf.string(name_off, type_id) if name_off else ""
        memo = self.shallow if shallow else self.full
        result: Type
        if kind == _INT:
            result = BaseType(name, size, _int_encoding(btf.u32s(type_id, 1)[0], name, size))
        elif kind == _FLOAT:
            result = BaseType(name, size, "float")
        elif kind == _PTR:
            pointer = PointerType(VoidType(), self.pointer_size)
            memo[type_id] = pointer
            pointer.target = self.convert(size, type_id, shallow=True)
            return pointer
        elif kind == _ARRAY:
            element, _index_type, nelems = btf.u32s(type_id, 3)
            result = ArrayType(self.convert(element, type_id, shallow), nelems or None)
        elif kind in (_STRUCT, _UNION) and shallow and name:  # an anonymous one has no name to stand for it
            result = StructType("union" if kind == _UNION else "struct", name or None, size,
                                is_declaration=True, origin=f"BTF id {type_id}")
        elif kind in (_STRUCT, _UNION):
            return self._aggregate(type_id, name, kind, vlen, kind_flag, size)
        elif kind in (_ENUM, _ENUM64):
            result = EnumType(name or None, size, "signed" if kind_flag else "unsigned",
                              is_declaration=vlen == 0,
                              enumerators=[] if name else self._enumerators(type_id, kind, vlen))
        elif kind == _FWD:
            result = StructType("union" if kind_flag else "struct", name or None, 0,
                                is_declaration=True, origin=f"BTF id {type_id}")
        elif kind == _TYPEDEF:
            typedef = TypedefType(name, VoidType())
            memo[type_id] = typedef
            typedef.target = self.convert(size, type_id, shallow)
            return typedef
        elif kind in _QUALIFIERS:
            result = QualifiedType(_QUALIFIERS[kind], self.convert(size, type_id, shallow))
        elif kind == _TYPE_TAG:  # __user, __rcu, __percpu: annotations, not types
            result = self.convert(size, type_id, shallow)
        elif kind == _FUNC_PROTO:
            result = self._function(type_id, vlen, size)
        elif kind == _FUNC:
            result = self.convert(size, type_id, shallow=True)
        else:  # VAR, DATASEC, DECL_TAG describe objects and attributes, not layouts
            result = VoidType()
        memo[type_id] = result
        return result

    def _function(self, type_id: int, vlen: int, return_id: int) -> FunctionType:
        words = self.btf.u32s(type_id, 2 * vlen) if vlen else ()
        params: list[Type] = []
        variadic = False
        for index in range(vlen):
            name_off, param_type = words[2 * index], words[2 * index + 1]
            if param_type == 0 and name_off == 0 and index == vlen - 1:
                variadic = True
            else:
                params.append(self.convert(param_type, type_id, shallow=True))
        return FunctionType(self.convert(return_id, type_id, shallow=True), params, variadic)

    def _aggregate(self, type_id: int, name: str, kind: int, vlen: int, kind_flag: bool,
                   size: int) -> StructType:
        aggregate = StructType("union" if kind == _UNION else "struct", name or None, size,
                               origin=f"BTF id {type_id}")
        self.full[type_id] = aggregate
        if not vlen:
            return aggregate
        words = self.btf.u32s(type_id, 3 * vlen)
        string, convert, members, bitfields = self.btf.string, self.convert, aggregate.members, self._bitfields
        for index in range(0, 3 * vlen, 3):
            name_off, member_type, offset = words[index], words[index + 1], words[index + 2]
            member_name = string(name_off, type_id) if name_off else None
            mtype = convert(member_type, type_id)
            bit_size: Optional[int] = None
            if kind_flag:
                bit_size = (offset >> 24) or None
                offset &= 0xFFFFFF
            else:
                bitfield = bitfields.get(member_type)
                if bitfield is None:
                    bitfield = bitfields[member_type] = self._int_bitfield(member_type)
                bit_size, extra = bitfield
                offset += extra
            members.append(Member(member_name, mtype, offset, bit_size))
        return aggregate

    def _int_bitfield(self, type_id: int) -> tuple[Optional[int], int]:
        """Without kind_flag a bitfield is a member of an INT type narrower than its size."""
        for _step in range(MAX_TYPE_DEPTH):
            if not type_id:
                break
            _name_off, kind, _vlen, _flag, size = self.btf.record(type_id)
            if kind in (_TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _TYPE_TAG):
                type_id = size
                continue
            if kind != _INT:
                return None, 0
            encoding = self.btf.u32s(type_id, 1)[0]
            bits, bit_offset = encoding & 0xFF, (encoding >> 16) & 0xFF
            if bits != size * 8 or bit_offset:
                return bits, bit_offset
            return None, 0
        else:
            raise InputError(f"{self.btf.name}: BTF type id {type_id} is part of a typedef or qualifier loop "
                             f"(or a chain over {MAX_TYPE_DEPTH} long)")
        return None, 0


def _int_encoding(word: int, name: str, size: int) -> str:
    flags = (word >> 24) & 0x0F
    if "float" in name or "double" in name:  # pahole without --btf_gen_floats encodes floats as INT
        return "float"
    if flags & _INT_BOOL or name == "_Bool":
        return "bool"
    if size == 1 and (flags & _INT_CHAR or "char" in name):
        return "signed_char" if flags & _INT_SIGNED else "unsigned_char"
    return "signed" if flags & _INT_SIGNED else "unsigned"


_LONG_NAMES = ("long int", "long unsigned int", "long", "unsigned long")


def guess_pointer_size(btf: BtfTypes) -> Optional[int]:
    """The size of ``long`` in ``btf`` (as wide as a pointer on every Linux ABI), None when it has no ``long``."""
    for type_id in range(1, btf.num_types):
        _name_off, kind, _vlen, _flag, size = btf.record(type_id)
        if kind == _INT and btf.name_of(type_id) in _LONG_NAMES:
            return size
    return None


def choose_arch(arch: Optional[str], elf_arch: Optional[str], pointer_size: Optional[int],
                byte_order: str) -> tuple[str, str]:
    """The ABI name and how it was chosen: ``arch`` if given, else the ELF header's, else this machine's when
    ``pointer_size`` and ``byte_order`` fit it, else a guess from them."""
    if arch is not None:
        return get_abi(arch).name, "given"
    if elf_arch is not None:
        return elf_arch, "ELF header"
    try:
        host = get_abi(platform.machine()).name
    except Exception:  # an unknown host says nothing about the file
        host = None
    if host is not None:
        abi = get_abi(host)
        if (pointer_size in (None, abi.pointer_size)) and abi.byte_order == byte_order:
            return host, "host machine"
    guesses = {(8, "little"): "x86_64", (4, "little"): "i386", (8, "big"): "s390x"}
    return guesses.get((pointer_size or 8, byte_order), "x86_64"), "guessed from pointer size and byte order"


def read_btf(data: bytes, name: str, struct_names: Optional[list[str]] = None,
             arch: Optional[str] = None, type_names: Optional[Iterable[str]] = None,
             elf_arch: Optional[str] = None, base: Optional[str] = None, every_definition: bool = False) -> Build:
    """Read a :class:`Build` from raw BTF or from an ELF image carrying a ``.BTF`` section.

    ``name`` is used in messages and as the build's name.  With
    ``struct_names`` only those structs/unions are converted (with whatever
    they reference); otherwise every named struct and union is.  The first
    complete definition of a name wins.  Missing requested names are listed
    in ``provenance.missing_structs``; asking the build for them raises
    :class:`~layoutcalc.errors.NotFoundError`.  ``elf_arch`` is the ABI the
    ELF header around the BTF names (:mod:`layoutcalc.readers.elf`); ``arch`` overrides it.
    ``every_definition`` fills ``build.variants`` with each distinct definition of a name
    (pahole's test: name, size, members' names and offsets), as ``pahole --sizes`` lists them.
    """
    if data[:4] == b"\x7fELF":
        from .elf import elf_info_from_bytes
        info = elf_info_from_bytes(data, name)
        if info.btf is None:
            raise InputError(f"{name}: ELF file has no .BTF section")
        data, elf_arch = info.btf, info.arch
    btf = BtfTypes.split_ok(data, name, base, from_elf=elf_arch is not None)
    pointer_size = guess_pointer_size(btf)
    arch_name, arch_source = choose_arch(arch, elf_arch, pointer_size, btf.header.byte_order)
    abi = get_abi(arch_name)
    build = Build(name=name, arch=arch_name, address_size=abi.pointer_size, byte_order=btf.header.byte_order)
    converter = BtfConverter(btf, abi.pointer_size)
    wanted = None if struct_names is None else {n.split(" ", 1)[-1] for n in struct_names}
    wanted_types = set(type_names or ())
    shapes: set[tuple[object, ...]] = set()
    for type_id in range(1, btf.num_types):
        name_off, kind, _vlen, _flag, _size = btf.record(type_id)
        if kind in (_STRUCT, _UNION) and name_off:
            type_name = btf.string(name_off, type_id)
            table = build.unions if kind == _UNION else build.structs
            if every_definition and wanted is None:
                members = btf.u32s(type_id, 3 * _vlen) if _vlen else ()
                shape = (type_name, _size, tuple((btf.string(members[i], type_id), members[i + 2])
                                                 for i in range(0, len(members), 3)))
                if shape not in shapes:
                    shapes.add(shape)
                    variant = converter.convert(type_id)
                    assert isinstance(variant, StructType)
                    build.variants.append(variant)
                    table.setdefault(type_name, variant)
                continue
            if type_name in table or (wanted is not None and type_name not in wanted):
                continue
            converted = converter.convert(type_id)
            assert isinstance(converted, StructType)
            table[type_name] = converted
        elif kind in (_INT, _FLOAT) and name_off:
            type_name = btf.string(name_off, type_id)
            base_type = converter.convert(type_id)
            if type_name not in build.base_types and isinstance(base_type, BaseType):
                build.base_types[type_name] = base_type
        elif kind in (_TYPEDEF, _ENUM, _ENUM64) and name_off:
            type_name = btf.string(name_off, type_id)
            if wanted is None or type_name in wanted_types or f"enum {type_name}" in wanted_types:
                _add_named(build, type_name, converter.convert(type_id))
    missing = sorted(wanted - set(build.structs) - set(build.unions)) if wanted is not None else []
    build.provenance = Provenance(
        file=name, format="btf", btf_version=btf.header.version,
        num_types=btf.num_types - 1, arch_source=arch_source,
        pointer_size_source="long" if pointer_size else "ABI default",
        btf_base=btf.base.name if btf.base is not None else None,
        missing_structs=tuple(missing) if missing else None,
    )
    check_type_graph(build, name)
    return build


def _add_named(build: Build, type_name: str, converted: Type) -> None:
    if isinstance(converted, TypedefType):
        build.typedefs.setdefault(type_name, converted)
    elif isinstance(converted, EnumType):
        build.enums.setdefault(type_name, converted)




def btf_edges(data: bytes, name: str, type_name: str, include_declarations: bool,
              base: Optional[str] = None, from_elf: bool = False) -> Optional[UnitEdges]:
    """pahole's ``--contains``/``--find_pointers_to`` view of a BTF blob: one unit, ids for DIE offsets."""
    if data[:4] == b"\x7fELF":
        from_elf = True
        from .elf import elf_info_from_bytes
        info = elf_info_from_bytes(data, name)
        if info.btf is None:
            raise InputError(f"{name}: ELF file has no .BTF section")
        data = info.btf
    btf = BtfTypes.split_ok(data, name, base, from_elf)
    kinds = {_STRUCT, _UNION, _TYPEDEF, _ENUM, _ENUM64} | ({_FWD} if include_declarations else set())
    target = next((i for i in range(1, btf.num_types) if btf.record(i)[1] in kinds and btf.record(i)[0]
                   and btf.name_of(i) == type_name), None)
    if target is None:
        return None
    aggregates = []
    for type_id in range(1, btf.num_types):
        name_off, kind, vlen, _flag, _size = btf.record(type_id)
        if kind not in (_STRUCT, _UNION) or not name_off:
            continue
        members = []
        shape: list[tuple[str, int]] = []
        for index in range(vlen):
            member_name, member_type, offset = btf.u32s(type_id, 3, 3 * index)
            pointee = None
            if member_type and btf.record(member_type)[1] == _PTR:
                pointee = btf.record(member_type)[4]
            members.append((btf.string(member_name, type_id), member_type, pointee))
            shape.append((members[-1][0], offset))
        name = btf.string(name_off, type_id)
        aggregates.append((name, type_id, members, (name, _size, tuple(shape))))
    return UnitEdges(name, target, aggregates)
