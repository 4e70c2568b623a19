"""Per-target sizes, alignments and bitfield rules (GCC/Clang on Linux).

Only in-struct alignment matters here: i386 caps 8-byte integers and doubles
at 4 inside structs (gcc ``x86_field_alignment``) although ``__alignof__``
says 8.  ARM EABI and AArch64 let unnamed bitfields raise a struct's
alignment; the others do not.  s390x is big-endian, so bitfields fill a unit
from its most significant bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .errors import NotFoundError
from .model import (
    ArrayType,
    BaseType,
    EnumType,
    FunctionType,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)


@dataclass(frozen=True)
class Abi:
    """What the re-layout needs to know about a target."""

    name: str
    pointer_size: int
    byte_order: str  # little or big
    max_int_field_align: int  # cap on in-struct alignment of integers/doubles
    long_double_size: int
    long_double_align: int
    unnamed_bitfield_aligns_struct: bool
    cacheline_size: int
    page_size: int = 4096

    def scalar_alignment(self, size_bytes: int, encoding: str) -> int:
        """In-struct alignment of an arithmetic type of this size."""
        if size_bytes <= 0:
            return 1
        if encoding == "float" and size_bytes == self.long_double_size and size_bytes not in (4, 8):
            return self.long_double_align
        if encoding == "float" and size_bytes == 16:
            return self.long_double_align
        natural = size_bytes if size_bytes & (size_bytes - 1) == 0 else 1 << (size_bytes.bit_length() - 1)
        return min(natural, self.max_int_field_align)


ABIS: dict[str, Abi] = {
    "x86_64": Abi("x86_64", 8, "little", 16, 16, 16, False, 64),
    "i386": Abi("i386", 4, "little", 4, 12, 4, False, 64),
    "aarch64": Abi("aarch64", 8, "little", 16, 16, 16, True, 64),
    "arm": Abi("arm", 4, "little", 8, 8, 8, True, 64),
    "ppc64le": Abi("ppc64le", 8, "little", 16, 16, 16, False, 128),
    "s390x": Abi("s390x", 8, "big", 16, 16, 8, False, 256),
    "riscv64": Abi("riscv64", 8, "little", 16, 16, 16, False, 64),
}

# e_machine values (ELF) to ABI names; 32/64-bit and byte order disambiguate.
_EM_TO_ABI = {
    "EM_X86_64": "x86_64",
    "EM_386": "i386",
    "EM_AARCH64": "aarch64",
    "EM_ARM": "arm",
    "EM_PPC64": "ppc64le",
    "EM_S390": "s390x",
    "EM_RISCV": "riscv64",
}


def get_abi(name: str) -> Abi:
    """The ABI called ``name`` (also accepts common aliases such as amd64, arm64)."""
    aliases = {"amd64": "x86_64", "x86-64": "x86_64", "x86": "i386", "686": "i386",
               "arm64": "aarch64", "armhf": "arm", "armel": "arm", "ppc64el": "ppc64le"}
    key = aliases.get(name, name)
    if key not in ABIS:
        raise NotFoundError(f"unknown architecture '{name}' (known: {', '.join(sorted(ABIS))})")
    return ABIS[key]


def abi_name_for_elf(machine: str, elfclass: int, little_endian: bool) -> Optional[str]:
    """Map an ELF header's machine/class/endianness to an ABI name, or None."""
    if machine == "EM_X86_64" and elfclass == 32:
        return "i386"  # x32 is not a kernel ABI; treat as unknown-ish 32-bit x86
    if machine == "EM_PPC64" and not little_endian:
        return None  # big-endian ppc64 (ELFv1) is not the ppc64le ABI
    return _EM_TO_ABI.get(machine)


def type_alignment(abi: Abi, t: Type) -> int:
    """In-struct alignment of ``t`` under ``abi`` from recorded attributes only (see analysis.facts)."""
    if isinstance(t, TypedefType):
        inner = type_alignment(abi, t.target)
        return max(inner, t.alignment_attr) if t.alignment_attr else inner
    if isinstance(t, QualifiedType):
        return type_alignment(abi, t.target)
    if isinstance(t, BaseType):
        return abi.scalar_alignment(t.size_bytes, t.encoding)
    if isinstance(t, EnumType):
        return abi.scalar_alignment(t.size_bytes, "signed")
    if isinstance(t, PointerType):
        return abi.pointer_size
    if isinstance(t, ArrayType):
        return type_alignment(abi, t.element)
    if isinstance(t, StructType):
        return struct_alignment(abi, t)
    if isinstance(t, (VoidType, FunctionType)):
        return 1
    return 1


def member_alignment(abi: Abi, struct: StructType, index: int) -> int:
    """Alignment the compiler applies to member ``index`` of ``struct``."""
    member = struct.members[index]
    natural = 1 if struct.is_packed else type_alignment(abi, member.type)
    forced = member.alignment_attr
    return max(natural, forced) if forced else natural


def natural_struct_alignment(abi: Abi, struct: StructType) -> int:
    """Alignment from the members alone, ignoring attributes on the struct itself."""
    align = 1
    for index, member in enumerate(struct.members):
        if member.is_bitfield and not member.name and not abi.unnamed_bitfield_aligns_struct:
            if not member.alignment_attr:
                continue
        if member.is_bitfield and struct.is_packed and not member.alignment_attr:
            continue
        align = max(align, member_alignment(abi, struct, index))
    return align


def struct_alignment(abi: Abi, struct: StructType) -> int:
    """Alignment of a struct/union: its members' and any forced alignment."""
    natural = natural_struct_alignment(abi, struct)
    forced = struct.alignment_attr
    return max(natural, forced) if forced else natural
