"""A struct as consecutive segments of bits: members, holes, bit holes and padding.

The HTML cacheline grid (:mod:`layoutcalc.render.html`) and the cacheline
figure (:mod:`layoutcalc.render.plots`) both draw these.  Holes are pahole's
(:func:`layoutcalc.analysis.layout.layout_stats`): a bit hole is the unused
rest of a bitfield's storage unit, a hole the bytes after it; each is placed
where it lies, between the end of one member and the start of the next.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple, Optional

from ..analysis.layout import LayoutStats, member_byte_size, struct_holes
from ..model import ArrayType, Member, StructType

MEMBER, ADDED, HOLE, BIT_HOLE, PADDING, BIT_PADDING, FLEXIBLE = (
    "member", "added", "hole", "bit_hole", "padding", "bit_padding", "flexible")
GAP_KINDS = (HOLE, BIT_HOLE, PADDING, BIT_PADDING)


class Segment(NamedTuple):
    """``bit_size`` bits from ``bit_start`` of one kind.

    ``name`` is the member's name (or its type for an anonymous one, empty for
    gaps); ``declaration`` its C declaration; ``shift_bytes`` how far a
    what-if moved the member (0: not moved); ``member_index`` the member's position
    (-1 for gaps).  A flexible array member is a segment of 0 bits.
    """

    kind: str
    bit_start: int
    bit_size: int
    name: str = ""
    declaration: str = ""
    shift_bytes: int = 0
    member_index: int = -1

    @property
    def bit_end(self) -> int:
        return self.bit_start + self.bit_size

    @property
    def is_gap(self) -> bool:
        return self.kind in GAP_KINDS

    def describe(self) -> str:
        """One line for a tooltip: what, where, how big."""
        where = f"offset {self.bit_start // 8}" + (f":{self.bit_start % 8}" if self.bit_start % 8 else "")
        size = f"{self.bit_size // 8} bytes" if self.bit_size % 8 == 0 else f"{self.bit_size} bits"
        if self.is_gap:
            return f"{self.kind.replace('_', ' ')}: {size} at {where}"
        text = f"{self.declaration} ({where}, {size})"
        if self.kind == ADDED:
            text = "added: " + text
        if self.shift_bytes:
            text += f", moved {self.shift_bytes:+d} bytes"
        return text


def _declaration(member: Member) -> str:
    text = member.type.declare(member.name) if member.name else member.type.c_name()
    return text + (f":{member.bit_size}" if member.bit_size is not None else "") + ";"


def _is_flexible(member: Member) -> bool:
    member_type = member.type.strip()
    return isinstance(member_type, ArrayType) and member_type.count is None and member.bit_size is None


def member_segment(member: Member, index: int, added: bool = False, shift_bytes: int = 0) -> Segment:
    """The bits ``member`` occupies (a bitfield: its own bits, not its storage unit)."""
    width = member.bit_size if member.bit_size is not None else 8 * member_byte_size(member)
    kind = FLEXIBLE if _is_flexible(member) else ADDED if added else MEMBER
    name = member.name or member.type.c_name()
    return Segment(kind, member.bit_offset, width, name, _declaration(member), shift_bytes, index)


def _gap_segments(start: int, bit_hole: int, hole: int, bits_first: bool) -> list[Segment]:
    """pahole's bit hole and byte hole after bit ``start``, in the order they lie."""
    parts = [(BIT_HOLE, bit_hole), (HOLE, 8 * hole)] if bits_first else [(HOLE, 8 * hole), (BIT_HOLE, bit_hole)]
    out = []
    for kind, width in parts:
        if width > 0:
            out.append(Segment(kind, start, width))
            start += width
    return out


def _anonymous_struct(member: Member) -> Optional[StructType]:
    member_type = member.type.strip()
    if member.name is None and isinstance(member_type, StructType) and member_type.name is None \
            and not member_type.is_union:
        return member_type
    return None


def _union_contents(union: StructType) -> str:
    """``union { pid | numbers }``: what an anonymous union holds, by member name."""
    names = []
    for member in union.members:
        nested = member.type.strip()
        if member.name:
            names.append(member.name)
        elif isinstance(nested, StructType):
            names.append("{" + ", ".join(m.name or "…" for m in nested.members[:3])
                         + (", …" if len(nested.members) > 3 else "") + "}")
    return f"union {{ {' | '.join(names)} }}"


def _expanded(member: Member, index: int, added: Collection[int], shifts: Mapping[int, int]) -> list[Segment]:
    """The segments of one member: an anonymous struct's own members, holes and padding, at their places
    (``mm_struct`` is one anonymous struct); an anonymous union named by what it holds; else the member."""
    inner = _anonymous_struct(member)
    if inner is None:
        segment = member_segment(member, index, id(member) in added, shifts.get(id(member), 0))
        nested = member.type.strip()
        if member.name is None and isinstance(nested, StructType) and nested.is_union and nested.name is None:
            segment = segment._replace(name=_union_contents(nested))
        return [segment]
    base = member.bit_offset
    pre_hole, gaps, padding = struct_holes(inner)
    out = _gap_segments(base, 0, pre_hole, bits_first=False)
    for number, nested_member in enumerate(inner.members):
        pieces = _expanded(nested_member, index + number, added, shifts)
        pieces = [p._replace(bit_start=p.bit_start + base) for p in pieces]
        out += pieces
        if number < len(gaps):
            gap = gaps[number]
            end = base + nested_member.bit_offset + (nested_member.bit_size if nested_member.bit_size is not None
                                                       else 8 * member_byte_size(nested_member))
            out += _gap_segments(end, gap.bit_hole, gap.hole, bits_first=nested_member.bit_size is not None)
    if padding > 0:
        out.append(Segment(PADDING, base + 8 * (inner.size_bytes - padding), 8 * padding))
    return out


def layout_segments(struct: StructType, stats: LayoutStats, added: Collection[int] = (),
                    shifts: Optional[Mapping[int, int]] = None) -> list[Segment]:
    """Every member, hole, bit hole and the padding of ``struct``, by bit position.

    ``added`` holds ``id()`` of members a what-if added; ``shifts`` maps a
    member's ``id()`` to how many bytes it moved.  For a struct the segments
    tile ``8 * size`` bits exactly when pahole's size invariant holds; the
    members of a union all start at 0.  An anonymous struct member is drawn as
    its own members (with its holes and padding), an anonymous union as one
    piece named by the members it holds.
    """
    shifts = shifts or {}
    out: list[Segment] = []
    if not struct.is_union:
        out += _gap_segments(0, stats.pre_bit_hole, stats.pre_hole, bits_first=False)
    end = 0
    for index, member in enumerate(struct.members):
        pieces = _expanded(member, index, added, shifts) if not struct.is_union else \
            [member_segment(member, index, id(member) in added, shifts.get(id(member), 0))]
        out += pieces
        segment = pieces[-1]._replace(bit_start=member.bit_offset, bit_size=member_segment(member, index).bit_size)
        end = max(end, segment.bit_end)
        if struct.is_union or index >= len(stats.gaps):
            continue
        gap = stats.gaps[index]
        out += _gap_segments(segment.bit_end, gap.bit_hole, gap.hole, bits_first=member.bit_size is not None)
    if not struct.is_union and struct.members:
        tail = out[-1].bit_end if out else 0
        if stats.bit_padding:
            out.append(Segment(BIT_PADDING, tail, stats.bit_padding))
        if stats.padding > 0:
            out.append(Segment(PADDING, 8 * (struct.size_bytes - stats.padding), 8 * stats.padding))
    elif struct.is_union and 8 * struct.size_bytes > end:
        out.append(Segment(PADDING, end, 8 * struct.size_bytes - end))
    number = 0
    for position, piece in enumerate(out):  # alternate shades over what is drawn, nested members included
        if not piece.is_gap:
            out[position] = piece._replace(member_index=number)
            number += 1
    return out


def member_shifts(before: StructType, after: StructType, added: Collection[int],
                  bases: tuple[int, int] = (0, 0)) -> dict[int, int]:
    """``id()`` of each member of ``after`` that sits elsewhere in ``before`` -> the shift in bytes.

    Members are matched by name; anonymous ones by their position among the
    members that were not added, and the members of a matched anonymous struct
    in turn (a field added inside ``mm_struct``'s anonymous struct moves the
    members after it, not the struct).  ``bases`` are the bit offsets of
    ``before`` and ``after`` inside their outermost structs.
    """
    by_name = {m.name: m for m in before.members if m.name}
    kept = [m for m in after.members if id(m) not in added]
    shifts = {}
    for position, member in enumerate(kept):
        previous = by_name.get(member.name) if member.name else (
            before.members[position] if position < len(before.members) else None)
        if previous is None:
            continue
        old_bits, new_bits = bases[0] + previous.bit_offset, bases[1] + member.bit_offset
        if old_bits != new_bits:
            shifts[id(member)] = (new_bits - old_bits) // 8
        inner_before, inner_after = _anonymous_struct(previous), _anonymous_struct(member)
        if inner_before is not None and inner_after is not None:
            shifts.update(member_shifts(inner_before, inner_after, added, (old_bits, new_bits)))
    return shifts


def split_rows(segments: list[Segment], row_bytes: int = 64) -> list[list[tuple[Segment, int, int]]]:
    """The segments cut at row boundaries: per row, (segment, first bit in row, bits in row).

    A zero-width segment (flexible array) goes to the row it starts in.
    """
    row_bits = 8 * row_bytes
    last = max((s.bit_end for s in segments), default=0)
    rows: list[list[tuple[Segment, int, int]]] = [[] for _ in range(max(1, -(-last // row_bits)))]
    for segment in segments:
        if segment.bit_size == 0:
            row = segment.bit_start // row_bits
            while len(rows) <= row:
                rows.append([])
            rows[row].append((segment, segment.bit_start % row_bits, 0))
            continue
        start = segment.bit_start
        while start < segment.bit_end:
            row = start // row_bits
            stop = min(segment.bit_end, (row + 1) * row_bits)
            rows[row].append((segment, start - row * row_bits, stop - start))
            start = stop
    return rows
