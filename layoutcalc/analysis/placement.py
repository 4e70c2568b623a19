"""The compilers' placement rules: where the next member of a struct goes.

A :class:`Cursor` walks a member list the way GCC and Clang lay it out on
Linux: the running bit position, the alignment so far and the end.  Each
member is seen as an :class:`Item` (its size, its type's alignment, its
bitfield width and any alignment attribute).  A :class:`HiddenGap` is padding
that the debug info does not describe (an unnamed bitfield such as
``int :0`` or ``char :3``, which gcc and clang emit no member for).

Bit offsets follow DW_AT_data_bit_offset: counted in the target's bit order
(from the most significant bit on big-endian s390x), so allocation is the
same on every target.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Optional

from ..abi import Abi


class HiddenGap(NamedTuple):
    """Padding the debug info does not describe, in front of one member.

    ``align_bits`` rounds the position up (like ``T :0`` or an unrecorded
    ``aligned``); ``pad_bits`` then skips a fixed number of bits (like ``T :n``).
    """

    align_bits: int = 0
    pad_bits: int = 0


class Item(NamedTuple):
    """One member as the placement rules see it."""

    size_bits: int
    type_align: int
    bit_size: Optional[int]
    named: bool
    forced: Optional[int]


def round_up(value: int, step: int) -> int:
    """``value`` rounded up to a multiple of ``step`` (unchanged for a step of 0 or 1)."""
    return -(-value // step) * step if step > 1 else value


def powers_of_two(low: int, high: int) -> list[int]:
    """The powers of two from ``low`` (itself a power of two) up to ``high``, inclusive."""
    found = []
    value = max(low, 1)
    while value <= high:
        found.append(value)
        value *= 2
    return found


class Cursor:
    """The running state of a layout: next free bit, alignment so far, end."""

    def __init__(self, abi: Abi, packed: bool, is_union: bool) -> None:
        self.abi = abi
        self.packed = packed
        self.is_union = is_union
        self.pos = 0
        self.end = 0
        self.align = 1

    def copy(self) -> "Cursor":
        """An independent cursor in the same state."""
        twin = Cursor(self.abi, self.packed, self.is_union)
        twin.pos, twin.end, twin.align = self.pos, self.end, self.align
        return twin

    def offset_for(self, item: Item) -> int:
        """The bit offset the rules give ``item`` if it came next."""
        if self.is_union:
            return 0
        if item.bit_size is None:
            natural = 1 if self.packed else item.type_align
            return round_up(self.pos, 8 * max(natural, item.forced or 1))
        if item.bit_size == 0:
            return round_up(self.pos, 8 * max(item.type_align, item.forced or 1))
        pos = round_up(self.pos, 8 * item.forced) if item.forced else self.pos
        unit = 8 * item.type_align
        # gcc excess_unit_span / clang: a bitfield may not span more alignment
        # units of its type than the type itself has (packed lifts the rule).
        if not self.packed and pos % unit + item.bit_size > item.size_bits:
            pos = round_up(pos, unit)
        return pos

    def advance(self, item: Item, offset: int) -> None:
        """Record ``item`` as placed at bit ``offset``."""
        width = item.size_bits if item.bit_size is None else item.bit_size
        self.pos = offset + width
        self.end = max(self.end, self.pos)
        self.align = max(self.align, self.alignment_of(item))

    def place_all(self, steps: Iterable[tuple[Optional[HiddenGap], Item]]) -> list[int]:
        """Place each step's member in turn (after skipping its hidden gap, if any); their bit offsets.

        :meth:`skip`, :meth:`offset_for` and :meth:`advance` for each step, with
        the ordinary member (no bitfield, not in a union) worked out inline: it
        goes to the next multiple of its alignment and adds that alignment to the struct's.
        """
        offsets = []
        ordinary = not self.is_union
        packed = self.packed
        for gap, item in steps:
            if gap is not None:
                self.skip(gap)
            if ordinary and item.bit_size is None:
                align = item.forced or 1
                if not packed and item.type_align > align:
                    align = item.type_align
                offset = -(-self.pos // (8 * align)) * 8 * align
                self.pos = offset + item.size_bits
                if self.pos > self.end:
                    self.end = self.pos
                if align > self.align:
                    self.align = align
            else:
                offset = self.offset_for(item)
                self.advance(item, offset)
            offsets.append(offset)
        return offsets

    def alignment_of(self, item: Item) -> int:
        """What ``item`` contributes to the struct's alignment."""
        forced = item.forced or 1
        if item.bit_size is None:
            return max(1 if self.packed else item.type_align, forced)
        if not item.named and not self.abi.unnamed_bitfield_aligns_struct:
            return forced
        if item.bit_size == 0:
            return max(item.type_align, forced)
        return max(1 if self.packed else item.type_align, forced)

    def skip(self, gap: HiddenGap) -> None:
        """Apply a hidden gap (an unnamed bitfield the debug info left out)."""
        if gap.align_bits:
            self.pos = round_up(self.pos, gap.align_bits)
            if self.abi.unnamed_bitfield_aligns_struct:
                self.align = max(self.align, gap.align_bits // 8)
        self.pos += gap.pad_bits
        self.end = max(self.end, self.pos)

    def size_bytes(self, align: int) -> int:
        """The struct's size if it ended here with alignment ``align``."""
        return round_up(-(-self.end // 8), align)


def find_gap(cursor: Cursor, item: Item, offset: int, prefer_pad: bool) -> Optional[HiddenGap]:
    """The hidden gap that makes the rules put ``item`` at bit ``offset``, or None."""
    pad = HiddenGap(pad_bits=offset - cursor.pos)
    if item.bit_size is None:  # ``T :n`` then the member's own alignment: the shortest such pad
        natural = 8 * max(1 if cursor.packed else item.type_align, item.forced or 1)
        shortest = HiddenGap(pad_bits=max(1, offset - cursor.pos - natural + 1))
        trial = cursor.copy()
        trial.skip(shortest)
        if trial.offset_for(item) == offset:
            pad = shortest
    aligns = [HiddenGap(align_bits=8 * step) for step in powers_of_two(1, max(offset // 8, 1))]
    options = [pad] + aligns if item.bit_size or prefer_pad else aligns + [pad]
    unit = 8 * item.type_align
    if item.bit_size and offset % unit == 0:
        # A bitfield at a unit boundary of its own type after a gap: ``T :0`` (gcc and pahole's
        # reading) is far likelier than a ``T :n`` that happens to end there.  The two differ
        # once a bitfield is added in front: ``:0`` absorbs it, a pad moves everything after.
        options.insert(0, HiddenGap(align_bits=unit))
    for gap in options:
        trial = cursor.copy()
        trial.skip(gap)
        if trial.offset_for(item) == offset:
            return gap
    return None
