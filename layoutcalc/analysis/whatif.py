"""What-if re-layout: add fields to a struct and lay it out again as GCC/Clang would.

The member offsets read from debug info are the truth.  Debug info does not
say everything the compiler knew, though: DWARF has no ``packed`` flag, gcc and
clang emit no member for an unnamed bitfield (``int :3;``, ``int :0;``), BTF has
no alignment attributes, and clang reports a type's alignment on members of a
packed struct where it does not apply.  Before re-laying a struct out we
therefore *explain* its recorded layout under the ABI rules:

* the struct is packed if the offsets or the size need it;
* a recorded member alignment that the offsets contradict is dropped;
* a gap the rules do not account for becomes a hidden gap attached to the
  member that follows it.  Before a bitfield (a bit hole) it is a fixed number
  of bits, acting like the unnamed bitfield ``T :n`` that made it; before any
  other member it rounds the position up to the smallest power of two that
  reproduces the offset, acting like ``T :0`` or an unrecorded ``aligned``.
  On ARM and AArch64 unnamed bitfields raise the struct's alignment, so there
  an alignment gap does too;
* a size larger than the rules give is an alignment the struct does not
  record: the smallest power of two that reproduces the size.

With those facts the unchanged member list reproduces every offset and the
size; added members are then placed by the plain rules.  Bit offsets follow
DW_AT_data_bit_offset: counted in the target's bit order (from the most
significant bit on big-endian s390x), so allocation is the same on every
target.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from ..abi import Abi, type_alignment
from ..errors import NotFoundError
from ..model import ArrayType, Member, QualifiedType, StructType, Type, TypedefType

PLACEMENTS = ("as-patched", "best-fit", "append")


@dataclass(frozen=True)
class FieldSpec:
    """A member to add: its type (already resolved) and where it goes."""

    name: str
    type: Type
    after: Optional[str] = None
    bit_size: Optional[int] = None
    alignment_attr: Optional[int] = None


@dataclass
class WhatIfResult:
    """A struct before and after adding fields, laid out under ``abi``."""

    before: StructType
    after: StructType
    added: list[Member]
    placement: str
    abi: Abi

    @property
    def size_before(self) -> int:
        return self.before.size_bytes

    @property
    def size_after(self) -> int:
        return self.after.size_bytes

    @property
    def size_delta(self) -> int:
        return self.after.size_bytes - self.before.size_bytes

    @property
    def alignment_before(self) -> int:
        return layout_alignment(self.before, self.abi)

    @property
    def alignment_after(self) -> int:
        return layout_alignment(self.after, self.abi)


@dataclass(frozen=True)
class _Gap:
    """Padding the debug info does not describe, in front of one member."""

    align_bits: int = 0
    pad_bits: int = 0


@dataclass
class _Facts:
    """What a struct's recorded layout says beyond its recorded attributes."""

    packed: bool
    alignment: int
    struct_alignment: Optional[int] = None
    size_alignment: Optional[int] = None
    gaps: dict[int, _Gap] = field(default_factory=dict)
    forced: dict[int, Optional[int]] = field(default_factory=dict)
    consistent: bool = True
    assumptions: int = 0  # hidden gaps plus readers' inferred alignments relied upon


@dataclass(frozen=True)
class _Hypothesis:
    """What to believe about a recorded struct while explaining its layout."""

    packed: bool
    drop_inferred: bool = False  # a reader's inferred alignment may be an unnamed bitfield
    prefer_pad: bool = False  # a byte gap may be ``T :n`` rather than ``T :0``


@dataclass(frozen=True)
class _Item:
    """One member as the placement rules see it."""

    size_bits: int
    type_align: int
    bit_size: Optional[int]
    named: bool
    forced: Optional[int]


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step if step > 1 else value


class _Cursor:
    """The running state of a layout: next free bit, alignment so far, end."""

    def __init__(self, abi: Abi, packed: bool, is_union: bool) -> None:
        self.abi = abi
        self.packed = packed
        self.is_union = is_union
        self.pos = 0
        self.end = 0
        self.align = 1

    def offset_for(self, item: _Item) -> int:
        """The bit offset the rules give ``item`` if it came next."""
        if self.is_union:
            return 0
        if item.bit_size is None:
            natural = 1 if self.packed else item.type_align
            return _round_up(self.pos, 8 * max(natural, item.forced or 1))
        if item.bit_size == 0:
            return _round_up(self.pos, 8 * max(item.type_align, item.forced or 1))
        pos = _round_up(self.pos, 8 * item.forced) if item.forced else self.pos
        unit = 8 * item.type_align
        # gcc excess_unit_span / clang: a bitfield may not span more alignment
        # units of its type than the type itself has (packed lifts the rule).
        if not self.packed and pos % unit + item.bit_size > item.size_bits:
            pos = _round_up(pos, unit)
        return pos

    def advance(self, item: _Item, offset: int) -> None:
        """Record ``item`` as placed at bit ``offset``."""
        width = item.size_bits if item.bit_size is None else item.bit_size
        self.pos = offset + width
        self.end = max(self.end, self.pos)
        self.align = max(self.align, self._alignment_of(item))

    def _alignment_of(self, item: _Item) -> int:
        forced = item.forced or 1
        if item.bit_size is None:
            return max(1 if self.packed else item.type_align, forced)
        if not item.named and not self.abi.unnamed_bitfield_aligns_struct:
            return forced
        if item.bit_size == 0:
            return max(item.type_align, forced)
        return max(1 if self.packed else item.type_align, forced)

    def skip(self, gap: _Gap) -> None:
        """Apply a hidden gap (an unnamed bitfield the debug info left out)."""
        if gap.align_bits:
            self.pos = _round_up(self.pos, gap.align_bits)
            if self.abi.unnamed_bitfield_aligns_struct:
                self.align = max(self.align, gap.align_bits // 8)
        self.pos += gap.pad_bits
        self.end = max(self.end, self.pos)

    def size_bytes(self, align: int) -> int:
        return _round_up(-(-self.end // 8), align)


def _power_of_two_at_least(value: int) -> int:
    return 1 << max(value - 1, 0).bit_length()


class _Explainer:
    """Explains recorded layouts under one ABI, caching nested types."""

    def __init__(self, abi: Abi) -> None:
        self.abi = abi
        self._facts: dict[int, tuple[StructType, _Facts]] = {}

    def facts(self, struct: StructType) -> _Facts:
        cached = self._facts.get(id(struct))
        if cached is None:
            cached = (struct, self._explain(struct))
            self._facts[id(struct)] = cached
        return cached[1]

    def type_align(self, t: Type) -> int:
        """In-struct alignment of ``t``, using explained alignment for structs."""
        if isinstance(t, TypedefType):
            return max(self.type_align(t.target), t.alignment_attr or 1)
        if isinstance(t, QualifiedType):
            return self.type_align(t.target)
        if isinstance(t, ArrayType):
            return self.type_align(t.element)
        if isinstance(t, StructType):
            return self.facts(t).alignment
        return type_alignment(self.abi, t)

    def item(self, member: Member, forced: Optional[int]) -> _Item:
        """``member`` as the rules see it, with alignment attribute ``forced``."""
        return _Item(
            size_bits=8 * member.type.size_bytes,
            type_align=self.type_align(member.type),
            bit_size=member.bit_size,
            named=bool(member.name),
            forced=forced,
        )

    def _explain(self, struct: StructType) -> _Facts:
        attempts = [self._attempt(struct, hypothesis) for hypothesis in _hypotheses(struct)]
        consistent = [facts for facts in attempts if facts.consistent]
        # The explanation assuming least wins: fewest hidden gaps and inferred alignments, the
        # recorded packing, the smallest alignment, then the likelier hypothesis.
        def cost(facts: _Facts) -> tuple[int, bool, int]:
            return facts.assumptions, facts.packed != struct.is_packed, facts.alignment

        return min(consistent, key=cost) if consistent else attempts[0]

    def _attempt(self, struct: StructType, hypothesis: _Hypothesis) -> _Facts:
        """Replay ``struct`` under one hypothesis, snapping to the recorded offsets."""
        packed = hypothesis.packed
        facts = _Facts(packed=packed, alignment=1)
        facts.struct_alignment = struct.alignment_attr
        if not hypothesis.drop_inferred:
            facts.struct_alignment = struct.forced_alignment
            facts.assumptions = sum(1 for m in struct.members if m.inferred_alignment and not m.alignment_attr)
            facts.assumptions += 1 if struct.inferred_alignment and not struct.alignment_attr else 0
        cursor = _Cursor(self.abi, packed, struct.is_union)
        for member in struct.members:
            forced = member.alignment_attr if hypothesis.drop_inferred else member.forced_alignment
            item = self.item(member, forced)
            misaligned = bool(forced) and member.bit_offset % (8 * (forced or 1)) != 0
            # clang records a type's alignment attribute on a packed member, where it does not apply
            type_derived = forced == _user_alignment(member.type)
            if packed and forced and (misaligned or type_derived):
                forced = None
                item = self.item(member, forced)
            facts.forced[id(member)] = forced
            rule = cursor.offset_for(item)
            if rule < member.bit_offset:
                gap = _find_gap(cursor, item, member.bit_offset, hypothesis.prefer_pad)
                if gap is None:
                    facts.consistent = False
                else:
                    facts.gaps[id(member)] = gap
                    facts.assumptions += 1
                    cursor.skip(gap)
            elif rule > member.bit_offset:
                facts.consistent = False
            cursor.advance(item, member.bit_offset)
        self._fit_size(struct, cursor, facts)
        return facts

    def _fit_size(self, struct: StructType, cursor: _Cursor, facts: _Facts) -> None:
        align = max(cursor.align, facts.struct_alignment or 1)
        size = cursor.size_bytes(align)
        if size < struct.size_bytes:
            candidate = _power_of_two_at_least(align + 1)
            while candidate <= struct.size_bytes and cursor.size_bytes(candidate) != struct.size_bytes:
                candidate *= 2
            if cursor.size_bytes(candidate) == struct.size_bytes:
                facts.size_alignment = align = candidate
                size = struct.size_bytes
        facts.alignment = align
        if size != struct.size_bytes:
            facts.consistent = False


def _hypotheses(struct: StructType) -> list[_Hypothesis]:
    """Explanations to try, most likely first: what was recorded, then less and less of it."""
    packed = [_Hypothesis(True)]
    unpacked = [_Hypothesis(False)]
    ordered = packed + unpacked if struct.is_packed else unpacked + packed
    ordered += [dataclasses.replace(h, drop_inferred=True) for h in ordered]
    return ordered + [dataclasses.replace(h, prefer_pad=True) for h in ordered]


def _user_alignment(t: Type) -> Optional[int]:
    """The alignment attribute a member inherits from its type (typedef or struct), if any."""
    while True:
        if isinstance(t, TypedefType) and t.alignment_attr:
            return t.alignment_attr
        if isinstance(t, (TypedefType, QualifiedType)):
            t = t.target
        elif isinstance(t, ArrayType):
            t = t.element
        else:
            return t.forced_alignment if isinstance(t, StructType) else None


def _find_gap(cursor: _Cursor, item: _Item, offset: int, prefer_pad: bool) -> Optional[_Gap]:
    """The hidden gap that makes the rules put ``item`` at bit ``offset``."""
    pad = _Gap(pad_bits=offset - cursor.pos)
    aligns = []
    step = 8
    while step <= max(offset, 8):
        aligns.append(_Gap(align_bits=step))
        step *= 2
    options = [pad] + aligns if item.bit_size or prefer_pad else aligns + [pad]
    for gap in options:
        trial = copy.copy(cursor)
        trial.skip(gap)
        if trial.offset_for(item) == offset:
            return gap
    return None


def layout_alignment(struct: StructType, abi: Abi) -> int:
    """The alignment the compiler gave ``struct``: its attributes plus what its layout shows."""
    return _Explainer(abi).facts(struct).alignment


def relayout(struct: StructType, abi: Abi, members: list[Member]) -> StructType:
    """Lay ``members`` out (ignoring their offsets) as ``struct`` would be under ``abi``.

    Members of ``struct`` itself (the same objects) keep the hidden gaps and
    dropped alignments found when explaining its recorded layout, so
    ``relayout(s, abi, s.members)`` reproduces ``s``.  Returns a new struct.
    """
    return _relayout(_Explainer(abi), struct, members)


def _relayout(explainer: _Explainer, struct: StructType, members: list[Member]) -> StructType:
    facts = explainer.facts(struct)
    cursor = _Cursor(explainer.abi, facts.packed, struct.is_union)
    placed = []
    for member in members:
        gap = facts.gaps.get(id(member))
        if gap is not None:
            cursor.skip(gap)
        item = explainer.item(member, facts.forced.get(id(member), member.forced_alignment))
        offset = cursor.offset_for(item)
        cursor.advance(item, offset)
        placed.append(dataclasses.replace(member, bit_offset=offset))
    align = max(cursor.align, facts.struct_alignment or 1, facts.size_alignment or 1)
    return dataclasses.replace(
        struct,
        members=placed,
        size_bytes=cursor.size_bytes(align),
        is_packed=facts.packed,
        inferred_alignment=struct.inferred_alignment or facts.size_alignment,
    )


def check_layout_matches(original: StructType, recomputed: StructType) -> list[str]:
    """Differences between two layouts of the same members: one line each, empty if equal."""
    problems = []
    if len(original.members) != len(recomputed.members):
        problems.append(f"{original.tag}: {len(original.members)} members != {len(recomputed.members)}")
    for old, new in zip(original.members, recomputed.members):
        label = old.name or "<anonymous>"
        if old.name != new.name:
            problems.append(f"{original.tag}: member {label} != {new.name or '<anonymous>'}")
        elif (old.bit_offset, old.bit_size) != (new.bit_offset, new.bit_size):
            problems.append(
                f"{original.tag}.{label}: bit offset {old.bit_offset} (bits {old.bit_size}) "
                f"!= {new.bit_offset} (bits {new.bit_size})"
            )
    if original.size_bytes != recomputed.size_bytes:
        problems.append(f"{original.tag}: size {original.size_bytes} != {recomputed.size_bytes}")
    return problems


def add_fields(
    struct: StructType, fields: list[FieldSpec], abi: Abi, placement: str = "as-patched"
) -> WhatIfResult:
    """Add ``fields`` to ``struct`` and re-lay it out under ``abi``.

    ``placement`` is "as-patched" (after each field's anchor; later members
    move), "best-fit" (into a hole that moves no existing member, else at
    the end) or "append" (at the end).  "At the end" is before a flexible
    array member.  Raises NotFoundError for an anchor that names no member.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not '{placement}'")
    new = [_member_for(spec) for spec in fields]
    shared = _shared_explainer.get()
    explainer = shared if shared is not None and shared.abi is abi else _Explainer(abi)
    if placement == "best-fit":
        after, added = _best_fit(explainer, struct, new)
    else:
        order = _appended(struct.members, new) if placement == "append" else _as_patched(struct, fields, new)
        after = _relayout(explainer, struct, order)
        position = {id(m): index for index, m in enumerate(order)}
        added = [after.members[position[id(m)]] for m in new]
    return WhatIfResult(before=struct, after=after, added=added, placement=placement, abi=abi)


_shared_explainer: contextvars.ContextVar[Optional[_Explainer]] = contextvars.ContextVar("explainer", default=None)


@contextlib.contextmanager
def shared_explanations(abi: Abi) -> Iterator[None]:
    """Within the block, :func:`add_fields` under ``abi`` explains each struct once, not once per call.

    For many changes to the same structs (a scenario's ``[[change]]`` tables): the cost
    per change becomes the re-layout alone, linear in the struct's members.  The structs
    must not change inside the block.
    """
    token = _shared_explainer.set(_Explainer(abi))
    try:
        yield
    finally:
        _shared_explainer.reset(token)


def _member_for(spec: FieldSpec) -> Member:
    return Member(
        name=spec.name, type=spec.type, bit_offset=0, bit_size=spec.bit_size,
        alignment_attr=spec.alignment_attr,
    )


def _is_flexible(member: Member) -> bool:
    t = member.type.strip()
    return isinstance(t, ArrayType) and not t.count and member.bit_size is None


def _tail_index(members: list[Member]) -> int:
    """Where "the end" is: before a trailing flexible array member."""
    return len(members) - 1 if members and _is_flexible(members[-1]) else len(members)


def _appended(members: list[Member], new: list[Member]) -> list[Member]:
    tail = _tail_index(members)
    return members[:tail] + new + members[tail:]


def _as_patched(struct: StructType, fields: list[FieldSpec], new: list[Member]) -> list[Member]:
    order = list(struct.members)
    last_after: dict[str, Member] = {}
    for spec, member in zip(fields, new):
        if spec.after is None:
            order.insert(_tail_index(order), member)
            continue
        previous = last_after.get(spec.after) or _anchor(struct, order, spec.after)
        order.insert(order.index(previous) + 1, member)
        last_after[spec.after] = member
    return order


def _anchor(struct: StructType, order: list[Member], name: str) -> Member:
    """The top-level member called ``name`` or holding it in an anonymous struct/union."""
    for member in order:
        if member.name == name or (not member.name and _holds(member.type, name)):
            return member
    raise NotFoundError(f"{struct.tag} has no member named '{name}' to insert after")


def _holds(t: Type, name: str) -> bool:
    t = t.strip()
    if not isinstance(t, StructType):
        return False
    return any(m.name == name or (not m.name and _holds(m.type, name)) for m in t.members)


def _best_fit(
    explainer: _Explainer, struct: StructType, new: list[Member]
) -> tuple[StructType, list[Member]]:
    """Place each new member in the first hole that moves nothing; append the rest."""
    current = struct
    added_at: list[int] = []
    for member in new:
        order, index = _first_fit(explainer, current, member)
        current = _relayout(explainer, current, order)
        added_at = [i + (i >= index) for i in added_at] + [index]
    return current, [current.members[i] for i in added_at]


def _first_fit(explainer: _Explainer, struct: StructType, member: Member) -> tuple[list[Member], int]:
    tail = _tail_index(struct.members)
    for index in range(tail + 1):
        order = struct.members[:index] + [member] + struct.members[index:]
        trial = _relayout(explainer, struct, order)
        kept = dataclasses.replace(trial, members=trial.members[:index] + trial.members[index + 1:])
        if trial.size_bytes == struct.size_bytes and not check_layout_matches(struct, kept):
            return order, index
    order = _appended(struct.members, [member])
    return order, order.index(member)
