"""pahole's layout statistics: holes, bit holes, padding, paddings, forced alignments.

The definitions follow dwarves' ``class__find_holes`` and the summary block of
``__class__fprintf`` (pahole 1.24) so that our numbers can be compared with
pahole's one for one:

* a member's *hole* is the byte gap before the next member (the gap before the
  first member is the struct's pre-hole); *bit holes* are unused bits inside
  a bitfield's storage unit;
* *padding* is the struct's size minus the end of the last member;
* *paddings* counts members whose type is directly a struct (not through a
  typedef) that has tail padding, and sums that padding;
* *forced alignments* counts members with an alignment attribute (as the debug
  info records it, or as pahole infers it from BTF: ``MemberFacts.pahole_forced``)
  and *forced holes* those of them preceded by a hole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from ..model import ArrayType, Member, StructType

DEFAULT_CACHELINE = 64


def cachelines(size_bytes: int, cacheline_size: int = DEFAULT_CACHELINE) -> int:
    """pahole's ``cachelines``: how many cache lines ``size_bytes`` spans."""
    return -(-size_bytes // cacheline_size)


class MemberGaps(NamedTuple):
    """The hole and bit hole that follow one member (pahole's pos->hole/bit_hole).

    A named tuple, not a frozen dataclass: a whole vmlinux makes over 100,000.
    """

    hole: int
    bit_hole: int


@dataclass
class LayoutStats:
    """pahole's summary block for one struct, plus the per-member gaps."""

    name: str
    size: int
    alignment: int
    cachelines: int
    members: int
    sum_members: int
    holes: int
    sum_holes: int
    bit_holes: int
    sum_bit_holes: int
    sum_bitfield_members: int
    padding: int
    bit_padding: int
    paddings: int
    sum_paddings: int
    forced_alignments: int
    forced_holes: int
    sum_forced_holes: int
    last_cacheline: int
    pre_hole: int = 0
    pre_bit_hole: int = 0
    gaps: list[MemberGaps] = field(default_factory=list)

    STAT_KEYS = (
        "name", "size", "alignment", "cachelines", "members", "sum_members", "holes",
        "sum_holes", "bit_holes", "sum_bit_holes", "padding", "bit_padding", "paddings",
        "sum_paddings", "forced_alignments", "forced_holes", "sum_forced_holes", "last_cacheline",
    )

    def as_dict(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in self.STAT_KEYS}

    def invariant_holds(self) -> bool:
        """pahole's check: size in bits = members + holes + padding, all in bits."""
        return self.size * 8 == (self.sum_members * 8 + self.sum_bitfield_members + self.sum_holes * 8
                                 + self.sum_bit_holes + self.padding * 8 + self.bit_padding)


@dataclass
class _HoleScan:
    gaps: list[MemberGaps]
    pre_hole: int
    pre_bit_hole: int
    nr_holes: int
    nr_bit_holes: int
    padding: int
    bit_padding: int


def member_byte_size(member: Member) -> int:
    """pahole's member byte_size: the type's size; 0 for a flexible array."""
    member_type = member.type.strip()
    if isinstance(member_type, ArrayType) and member_type.count is None:
        return 0
    return member.type.size_bytes


def _scan_holes(struct: StructType) -> _HoleScan:
    """dwarves' class__find_holes, member by member."""
    size_bits = struct.size_bytes * 8
    cur_bitfield_end, cur_bitfield_size = size_bits, 0
    last_seen_bit = 0
    in_bitfield = False
    holes: list[tuple[int, int]] = []
    for member in struct.members:
        byte_size = member_byte_size(member)
        bit_start = member.bit_offset
        bit_end = bit_start + (member.bit_size if member.bit_size is not None else byte_size * 8)
        bit_holes = byte_holes = 0
        if in_bitfield:
            bitfield_end = min(bit_start, cur_bitfield_end)
            bit_holes = bitfield_end - last_seen_bit
            last_seen_bit = bitfield_end
        if member.bit_size is not None:
            aligned_start = member.offset_bytes * 8
            if last_seen_bit < aligned_start <= bit_start:
                byte_holes = member.offset_bytes - last_seen_bit // 8
                last_seen_bit = aligned_start
            bit_holes += bit_start - last_seen_bit
        else:
            byte_holes = bit_start // 8 - last_seen_bit // 8
        last_seen_bit = bit_end
        if member.bit_size is not None:
            in_bitfield = True
            unit_bits = byte_size * 8
            if bit_end > cur_bitfield_end or unit_bits > cur_bitfield_size:
                cur_bitfield_size = unit_bits
                cur_bitfield_end = member.offset_bytes * 8 + cur_bitfield_size
                if bit_end > cur_bitfield_end:
                    cur_bitfield_end += cur_bitfield_size
        else:
            in_bitfield = False
            cur_bitfield_size = 0
            cur_bitfield_end = bit_end
        holes.append((byte_holes, bit_holes))
    bit_padding = 0
    if in_bitfield:
        bitfield_end = min(size_bits, cur_bitfield_end)
        bit_padding = bitfield_end - last_seen_bit
        last_seen_bit = bitfield_end
    # holes[i] is the gap *before* member i; pahole stores it on member i-1.
    gaps = [MemberGaps._make(hole) for hole in holes[1:]]
    if holes:
        gaps.append(MemberGaps(0, 0))
    pre_hole, pre_bit_hole = holes[0] if holes else (0, 0)
    return _HoleScan(
        gaps=gaps, pre_hole=pre_hole, pre_bit_hole=pre_bit_hole,
        nr_holes=sum(1 for h in holes if h[0]), nr_bit_holes=sum(1 for h in holes if h[1]),
        padding=struct.size_bytes - last_seen_bit // 8, bit_padding=bit_padding,
    )


def struct_padding(struct: StructType) -> int:
    """Tail padding of a struct as pahole computes it (0 for unions)."""
    if struct.is_union:
        return 0
    return _scan_holes(struct).padding


def layout_stats(struct: StructType, alignment: int, cacheline_size: int = DEFAULT_CACHELINE,
                 forced: Optional[Sequence[Optional[int]]] = None) -> LayoutStats:
    """The pahole summary block for ``struct``.

    ``alignment`` and ``forced`` (each member's alignment attribute; default: as
    recorded) come from :mod:`layoutcalc.analysis.facts`.
    """
    if struct.is_union:
        scan = _HoleScan([MemberGaps(0, 0)] * len(struct.members), 0, 0, 0, 0, 0, 0)
    else:
        scan = _scan_holes(struct)
    sum_bytes = sum(member_byte_size(m) for m in struct.members if m.bit_size is None)
    sum_bits = sum(m.bit_size or 0 for m in struct.members)
    sum_holes = scan.pre_hole + sum(g.hole for g in scan.gaps)
    sum_bit_holes = scan.pre_bit_hole + sum(g.bit_hole for g in scan.gaps)
    paddings, sum_paddings = _nested_paddings(struct)
    if forced is None:
        forced = [m.alignment_attr for m in struct.members]
    nr_forced, forced_holes, sum_forced_holes = _forced_alignments(forced, scan)
    size = struct.size_bytes
    return LayoutStats(
        name=struct.name or "", size=size, alignment=alignment,
        cachelines=cachelines(size, cacheline_size),
        members=len(struct.members), sum_members=sum_bytes,
        holes=scan.nr_holes, sum_holes=sum_holes,
        bit_holes=scan.nr_bit_holes, sum_bit_holes=sum_bit_holes,
        sum_bitfield_members=sum_bits,
        padding=scan.padding, bit_padding=scan.bit_padding,
        paddings=paddings, sum_paddings=sum_paddings,
        forced_alignments=nr_forced, forced_holes=forced_holes, sum_forced_holes=sum_forced_holes,
        last_cacheline=size % cacheline_size,
        pre_hole=scan.pre_hole, pre_bit_hole=scan.pre_bit_hole, gaps=scan.gaps,
    )


def _nested_paddings(struct: StructType) -> tuple[int, int]:
    count = total = 0
    for member in struct.members:
        if isinstance(member.type, StructType) and not member.type.is_union:
            padding = struct_padding(member.type)
            if padding > 0:
                count += 1
                total += padding
    return count, total


def _forced_alignments(forced: Sequence[Optional[int]], scan: _HoleScan) -> tuple[int, int, int]:
    count = holes = total = 0
    for index, alignment in enumerate(forced):
        if not alignment:
            continue
        count += 1
        hole = scan.gaps[index - 1].hole if index else scan.pre_hole
        if hole:
            holes += 1
            total += hole
    return count, holes, total


def struct_holes(struct: StructType) -> tuple[int, list[MemberGaps], int]:
    """``(pre_hole, gaps, padding)`` of ``struct`` without the rest of :func:`layout_stats` (unions: no holes)."""
    if struct.is_union:
        return 0, [MemberGaps(0, 0)] * len(struct.members), 0
    scan = _scan_holes(struct)
    return scan.pre_hole, scan.gaps, scan.padding
