"""Layout facts: each member's alignment, and where it comes from, for a struct under an ABI.

This is the one place that decides alignments.  ``show`` (its statistics),
``whatif``, ``--arch``, ``slab`` and ``report`` all read what
:func:`struct_facts` returns; readers return the debug info as recorded and
nothing here changes a loaded build.

Debug info does not say everything the compiler knew.  DWARF has no
``packed`` flag; gcc and clang emit no member for an unnamed bitfield
(``int :3;``, ``int :0;``); ``-gstrict-dwarf`` and BTF record no alignment
attribute at all.  The recorded offsets and size are the evidence, and each
alignment gets a :class:`Source`:

``RECORDED``  an alignment attribute in the debug info (DW_AT_alignment);
``NATURAL``   the type's own alignment, and nothing suggests more;
``HOLE``      inferred: a hole the type's alignment does not explain;
``SIZE``      inferred: tail padding the members do not explain (on a member:
              it may be the one whose attribute made that padding);
``NESTED``    the alignment of a nested type whose own alignment was inferred
              (from its members, holes and size, at any depth);
``UNKNOWN``   the recorded layout contradicts the rules; taken as recorded.

When the evidence leaves several values possible, ``candidates`` lists them
all (ascending) and ``alignment`` is the likeliest: the largest candidate up
to the cache line size (see :func:`_likeliest_forced` for the measurement).  A struct's size is always a multiple of its
alignment (arrays of it depend on that), so every candidate divides the size.
Where nothing needs an attribute none is assumed: an attribute that leaves no
trace in the layout cannot be seen by anyone.

Facts are immutable (NamedTuples) and cached per struct object (weakly, so a
struct built for a what-if and dropped takes its facts with it), ABI and kind
of debug info.  Structs are not to be changed after their facts are asked for.

For ``show`` on BTF, :attr:`MemberFacts.pahole_forced` is what pahole 1.24's
BTF loader infers (``btf_loader.c: class__infer_alignment``), so that the
forced-alignment statistics equal ``pahole -F btf``; on DWARF it is the
recorded attribute, as pahole reads it.
"""

from __future__ import annotations

import enum
import weakref
from typing import NamedTuple, Optional

from ..abi import Abi, type_alignment
from ..model import (
    ArrayType,
    BaseType,
    Build,
    EnumType,
    Member,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
)
from .layout import LayoutStats, layout_stats
from .placement import Cursor, HiddenGap, Item, find_gap, powers_of_two, round_up


class DebugInfo(str, enum.Enum):
    """What kind of debug info a struct was read from: how much it says about alignment."""

    ATTRIBUTES = "attributes"  # DWARF recording alignment attributes (gcc without -gstrict-dwarf)
    STRICT_DWARF = "strict-dwarf"  # DWARF without DW_AT_alignment (-gstrict-dwarf, older compilers)
    BTF = "btf"  # BTF: no alignments at all

    @property
    def records_alignment(self) -> bool:
        """True when an unexplained hole cannot be an unrecorded ``aligned`` attribute."""
        return self is DebugInfo.ATTRIBUTES


def debug_info_of(build: Build) -> DebugInfo:
    """The kind of debug info ``build`` was read from (its provenance says).

    A retargeted build is laid out afresh with every alignment written down as an attribute.
    A producer (DW_AT_producer) compiled with ``-gstrict-dwarf`` records no alignment attributes.
    """
    provenance = build.provenance
    if provenance.retargeted_from:
        return DebugInfo.ATTRIBUTES
    if provenance.format == "btf":
        return DebugInfo.BTF
    if provenance.alignment_attributes is False:
        return DebugInfo.STRICT_DWARF
    if provenance.producer is not None and "-gstrict-dwarf" in provenance.producer.split():
        return DebugInfo.STRICT_DWARF  # e.g. a kernel-source snapshot written before it kept the flag
    return DebugInfo.ATTRIBUTES


class Source(str, enum.Enum):
    """Where an alignment comes from (see the module docstring)."""

    RECORDED = "recorded"
    NATURAL = "natural"
    HOLE = "hole"
    SIZE = "size"
    NESTED = "nested"
    UNKNOWN = "unknown"


class World(enum.Enum):
    """Which candidate to take for every undecided alignment at once.

    Layout is monotone in alignments, so ``SMALLEST`` and ``LARGEST`` bound
    every other choice.
    """

    SMALLEST = "smallest"
    LIKELIEST = "likeliest"
    LARGEST = "largest"


class MemberFacts(NamedTuple):
    """One member's alignment inside its struct."""

    name: Optional[str]
    alignment: int  # the likeliest alignment the member has in the struct
    candidates: tuple[int, ...]  # every alignment the evidence allows, ascending
    source: Source
    forced: Optional[int]  # the likeliest alignment attribute (recorded or inferred), None if none
    gap: Optional[HiddenGap]  # undescribed padding before the member, in the smallest world
    pahole_forced: Optional[int]  # what pahole shows as __aligned__ (see module docstring)

    @property
    def decided(self) -> bool:
        return len(self.candidates) == 1

    def alignment_in(self, world: World) -> int:
        """The member's alignment in ``world``."""
        return _pick(self.candidates, self.alignment, world)


class StructFacts(NamedTuple):
    """A struct's packing and alignment and those of its members, under one ABI."""

    tag: str
    abi: str
    debug_info: DebugInfo
    packed: bool
    alignment: int  # the likeliest
    candidates: tuple[int, ...]
    source: Source
    members: tuple[MemberFacts, ...]  # by position in ``struct.members``
    consistent: bool  # False: the recorded layout contradicts the rules (see Source.UNKNOWN)
    recorded_alignment: Optional[int]  # the struct's own attribute as recorded
    smallest_alignment: int  # the alignment in the smallest world (hidden gaps raise none on x86)
    pahole_alignment: Optional[int]  # pahole's __aligned__ on the struct itself

    @property
    def decided(self) -> bool:
        """True when the evidence decides every alignment of the struct and its members."""
        return len(self.candidates) == 1 and all(m.decided for m in self.members)

    @property
    def undecided(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """``(member name, candidate alignments)`` for each member the evidence leaves open."""
        return tuple((m.name or f"<anonymous #{index}>", m.candidates)
                     for index, m in enumerate(self.members) if not m.decided)

    def alignment_in(self, world: World) -> int:
        """The struct's alignment in ``world``."""
        if world is World.SMALLEST:
            return self.smallest_alignment
        return _pick(self.candidates, self.alignment, world)


def _pick(candidates: tuple[int, ...], likeliest: int, world: World) -> int:
    if world is World.SMALLEST:
        return candidates[0]
    if world is World.LARGEST:
        return candidates[-1]
    return likeliest


_CACHE: "weakref.WeakKeyDictionary[StructType, dict[tuple[Abi, DebugInfo], StructFacts]]" = \
    weakref.WeakKeyDictionary()


def struct_facts(struct: StructType, abi: Abi, debug_info: DebugInfo = DebugInfo.ATTRIBUTES) -> StructFacts:
    """The layout facts of ``struct`` under ``abi`` (cached; see the module docstring)."""
    per_struct = _CACHE.get(struct)
    if per_struct is None:
        per_struct = {}
        _CACHE[struct] = per_struct
    found = per_struct.get((abi, debug_info))
    if found is None:
        found = _derive(struct, abi, debug_info)
        per_struct[(abi, debug_info)] = found
    return found


def struct_stats(struct: StructType, abi: Abi, debug_info: DebugInfo, cacheline_size: int) -> LayoutStats:
    """pahole's statistics of ``struct``, with the alignments its facts give (the numbers ``show`` prints)."""
    facts = struct_facts(struct, abi, debug_info)
    return layout_stats(struct, facts.alignment, cacheline_size, [m.pahole_forced for m in facts.members])


def innermost_type(t: Type) -> tuple[Type, int]:
    """The type under ``t``'s typedefs, qualifiers and array dimensions, and the largest typedef alignment on the way.

    The readers refuse typedef loops (:mod:`layoutcalc.typegraph`), so the walk ends.
    """
    floor = 1
    while True:
        if isinstance(t, TypedefType):
            if t.alignment_attr and t.alignment_attr > floor:
                floor = t.alignment_attr
            t = t.target
        elif isinstance(t, QualifiedType):
            t = t.target
        elif isinstance(t, ArrayType):
            t = t.element
        else:
            return t, floor


def type_alignment_in(t: Type, abi: Abi, debug_info: DebugInfo, world: World = World.LIKELIEST) -> int:
    """In-struct alignment of ``t`` in ``world``, with the facts of nested structs.

    The largest of the innermost type's alignment and every typedef's attribute
    on the way to it (the readers refuse loops, see :mod:`layoutcalc.typegraph`).
    """
    t, floor = innermost_type(t)
    if isinstance(t, PointerType):
        value = abi.pointer_size
    elif isinstance(t, StructType):
        value = struct_facts(t, abi, debug_info).alignment_in(world)
    else:
        value = type_alignment(abi, t)
    return value if value >= floor else floor


def type_candidates(t: Type, abi: Abi, debug_info: DebugInfo) -> tuple[int, ...]:
    """Every alignment ``t`` may have (one value unless a nested struct's is undecided)."""
    t, floor = innermost_type(t)
    if isinstance(t, StructType):
        values = struct_facts(t, abi, debug_info).candidates
    else:
        values = (type_alignment(abi, t),)
    return tuple(sorted({max(v, floor) for v in values}))


def layout_alignment(struct: StructType, abi: Abi, debug_info: DebugInfo = DebugInfo.ATTRIBUTES) -> int:
    """The (likeliest) alignment the compiler gave ``struct``."""
    return struct_facts(struct, abi, debug_info).alignment


# --------------------------------------------------------------------------- explaining a layout


class _Replay(NamedTuple):
    """The smallest world's explanation of a recorded layout (hidden gaps, no guessed attributes)."""

    packed: bool
    forced: tuple[Optional[int], ...]
    gaps: tuple[Optional[HiddenGap], ...]
    positions: tuple[int, ...]  # the cursor's bit position before each member (before its gap)
    type_aligns: tuple[int, ...]  # each member's type's alignment in the smallest world
    alignment: int
    natural_alignment: int  # before tail padding is explained
    size_alignment: Optional[int]
    end_bits: int
    consistent: bool
    assumptions: int


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
            return t.alignment_attr if isinstance(t, StructType) else None


def member_item(member: Member, forced: Optional[int], abi: Abi, debug_info: DebugInfo,
                world: World = World.SMALLEST) -> Item:
    """``member`` as the placement rules see it in ``world``, with alignment attribute ``forced``."""
    return Item(size_bits=8 * member.type.size_bytes,
                type_align=type_alignment_in(member.type, abi, debug_info, world),
                bit_size=member.bit_size, named=bool(member.name), forced=forced)


def _replay(struct: StructType, abi: Abi, debug_info: DebugInfo, packed: bool, prefer_pad: bool) -> _Replay:
    """Replay ``struct`` under one hypothesis, snapping to the recorded offsets."""
    cursor = Cursor(abi, packed, struct.is_union)
    forced_list: list[Optional[int]] = []
    gaps: list[Optional[HiddenGap]] = []
    positions: list[int] = []
    type_aligns: list[int] = []
    consistent = True
    assumptions = 0
    for member in struct.members:
        forced = member.alignment_attr
        item = member_item(member, forced, abi, debug_info)
        misaligned = bool(forced) and member.bit_offset % (8 * (forced or 1)) != 0
        # clang records a type's alignment attribute on a packed member, where it does not apply
        if packed and forced and (misaligned or forced == _user_alignment(member.type)):
            forced = None
            item = item._replace(forced=None)
        forced_list.append(forced)
        positions.append(cursor.pos)
        type_aligns.append(item.type_align)
        gap = None
        rule = cursor.offset_for(item)
        if rule < member.bit_offset:
            gap = find_gap(cursor, item, member.bit_offset, prefer_pad)
            if gap is None:
                consistent = False
            else:
                # an unnamed bitfield pads at most 64 bits: a longer pad is several of them
                assumptions += max(1, -(-gap.pad_bits // 64))
                cursor.skip(gap)
        elif rule > member.bit_offset:
            consistent = False
        gaps.append(gap)
        cursor.advance(item, member.bit_offset)
    align = max(cursor.align, struct.alignment_attr or 1)
    size_alignment = None
    if cursor.size_bytes(align) < struct.size_bytes:
        candidate = align * 2
        while candidate <= struct.size_bytes and cursor.size_bytes(candidate) != struct.size_bytes:
            candidate *= 2
        if cursor.size_bytes(candidate) == struct.size_bytes:
            size_alignment = align = candidate
    if cursor.size_bytes(align) != struct.size_bytes:
        consistent = False
    return _Replay(packed, tuple(forced_list), tuple(gaps), tuple(positions), tuple(type_aligns), align,
                   max(cursor.align, struct.alignment_attr or 1), size_alignment, cursor.end, consistent, assumptions)


def _explain(struct: StructType, abi: Abi, debug_info: DebugInfo) -> _Replay:
    """The explanation assuming least: fewest hidden gaps, the recorded packing, the smallest alignment."""
    first = _replay(struct, abi, debug_info, struct.is_packed, False)
    if first.consistent and not first.assumptions:
        # No hidden gap: prefer_pad was never asked (the other preference replays the same), and
        # the other packing could at best tie on assumptions, where the recorded packing wins.
        return first
    others = [(False, not struct.is_packed), (True, struct.is_packed), (True, not struct.is_packed)]
    attempts = [first] + [_replay(struct, abi, debug_info, packed, prefer_pad) for prefer_pad, packed in others]
    consistent = [r for r in attempts if r.consistent]
    if not consistent:
        return attempts[0]
    return min(consistent, key=lambda r: (r.assumptions, r.packed != struct.is_packed, r.alignment))


# --------------------------------------------------------------------------- from explanation to facts


def _derive(struct: StructType, abi: Abi, debug_info: DebugInfo) -> StructFacts:
    if struct.is_declaration:
        return StructFacts(struct.tag, abi.name, debug_info, False, 1, (1,), Source.NATURAL, (), True,
                           None, 1, None)
    replay = _explain(struct, abi, debug_info)
    pahole_members, pahole_struct = _pahole_alignments(struct, abi, debug_info)
    guess = not debug_info.records_alignment and replay.consistent
    members = [_member_facts(struct, index, replay, abi, debug_info, guess, pahole_members[index])
               for index in range(len(struct.members))]
    if not guess:
        source = (Source.UNKNOWN if not replay.consistent else Source.RECORDED if struct.alignment_attr
                  else Source.SIZE if replay.size_alignment else Source.NATURAL)
        return StructFacts(struct.tag, abi.name, debug_info, replay.packed, replay.alignment,
                           (replay.alignment,), source, tuple(members), replay.consistent,
                           struct.alignment_attr, replay.alignment, pahole_struct)
    return _guessed_struct(struct, abi, debug_info, replay, members, pahole_struct)


def _member_facts(struct: StructType, index: int, replay: _Replay, abi: Abi, debug_info: DebugInfo,
                  guess: bool, pahole_forced: Optional[int]) -> MemberFacts:
    member = struct.members[index]
    forced, gap = replay.forced[index], replay.gaps[index]
    natural = 1 if replay.packed else replay.type_aligns[index]
    smallest = max(natural, forced or 1)
    source = Source.RECORDED if forced else Source.NATURAL
    if not replay.consistent:
        source = Source.UNKNOWN
    if not guess or member.bit_size is not None:
        return MemberFacts(member.name, smallest, (smallest,), source, forced, gap, pahole_forced)
    size = struct.size_bytes
    position, offset = replay.positions[index], member.bit_offset

    def fits(align: int) -> bool:
        return round_up(position, 8 * align) == offset and (size % align == 0 if size else align == 1)

    types = (1,) if replay.packed else type_candidates(member.type, abi, debug_info)
    if gap is not None and gap.align_bits and not gap.pad_bits:
        ceiling = (offset // 8) & -(offset // 8) if offset else 1
        candidates = [a for a in powers_of_two(natural, ceiling) if fits(a)]
        if candidates:
            return MemberFacts(member.name, _likeliest_forced(candidates, abi), tuple(candidates), Source.HOLE,
                               _likeliest_forced(candidates, abi), gap, pahole_forced)
        return MemberFacts(member.name, smallest, (smallest,), source, forced, gap, pahole_forced)
    if gap is not None and gap.pad_bits:  # an unnamed bitfield, or an attribute the debug info lost
        ceiling = (offset // 8) & -(offset // 8) if offset else 1
        aligned = [a for a in powers_of_two(2 * natural, ceiling) if fits(a)]
        if aligned:
            likeliest = _likeliest_forced(aligned, abi)
            return MemberFacts(member.name, likeliest, (smallest, *aligned), Source.HOLE, likeliest, gap,
                               pahole_forced)
    candidates = [a for a in types if fits(a)] or [smallest]
    nested_type = _strip_to_struct(member.type)
    nested = struct_facts(nested_type, abi, debug_info) if nested_type is not None else None
    if nested is not None and nested.source not in (Source.NATURAL, Source.RECORDED):
        source = Source.NESTED
    likeliest = type_alignment_in(member.type, abi, debug_info, World.LIKELIEST)
    if likeliest not in candidates:
        likeliest = candidates[0]
    return MemberFacts(member.name, likeliest, tuple(candidates), source, forced, gap, pahole_forced)


def _strip_to_struct(t: Type) -> Optional[StructType]:
    while isinstance(t, (TypedefType, QualifiedType, ArrayType)):
        t = t.element if isinstance(t, ArrayType) else t.target
    return t if isinstance(t, StructType) else None


def _likeliest_forced(candidates: list[int], abi: Abi) -> int:
    """The largest candidate up to the cache line size.

    The readers' inference this module replaced used the same rule; measured
    then on the Debian 6.1 amd64 vmlinux with every DW_AT_alignment hidden, it
    recovered the true alignment for 87 of the 91 members where a hole needs
    one, against 69 of 92 for the smallest explanation
    (``____cacheline_aligned`` members whose hole is under 32 bytes are the
    usual loss).  Not re-measured with the size filter added here.
    """
    usual = [a for a in candidates if a <= abi.cacheline_size]
    return usual[-1] if usual else candidates[0]


def _guessed_struct(struct: StructType, abi: Abi, debug_info: DebugInfo, replay: _Replay,
                    members: list[MemberFacts], pahole_struct: Optional[int]) -> StructFacts:
    """The struct's alignment candidates when the debug info records no attributes."""
    size, end = struct.size_bytes, -(-replay.end_bits // 8)
    lowest = replay.alignment
    contributing = [m for m, member in zip(members, struct.members) if member.bit_size is None]
    highest_member = max([replay.natural_alignment] + [m.candidates[-1] for m in contributing])
    likeliest_member = max([lowest if not replay.size_alignment else 1]
                           + [m.alignment for m in contributing] + [struct.alignment_attr or 1])
    ceiling = size & -size if size else lowest
    valid = [a for a in powers_of_two(lowest, max(ceiling, lowest)) if round_up(end, a) == size] or [lowest]
    needs_size = round_up(end, highest_member) < size
    candidates = valid if needs_size else [a for a in valid if a <= highest_member] or [lowest]
    members = [_capped(m, candidates[-1]) for m in members]
    if replay.size_alignment is not None or needs_size:
        members = [_size_carrier(m, member, position, candidates) if member.bit_size is None else m
                   for m, member, position in zip(members, struct.members, replay.positions)]
    at_least = [a for a in candidates if a >= likeliest_member]
    likeliest = at_least[0] if at_least else candidates[-1]
    if needs_size:
        likeliest = max(likeliest, _likeliest_forced(at_least or candidates, abi))
    source = (Source.RECORDED if struct.alignment_attr else Source.SIZE if replay.size_alignment or needs_size
              else Source.HOLE if any(m.source is Source.HOLE for m in members)
              else Source.NESTED if any(m.source is Source.NESTED for m in members) else Source.NATURAL)
    return StructFacts(struct.tag, abi.name, debug_info, replay.packed, likeliest, tuple(candidates), source,
                       tuple(members), True, struct.alignment_attr, lowest, pahole_struct)


def _size_carrier(facts: MemberFacts, member: Member, position: int, struct_candidates: list[int]) -> MemberFacts:
    """``facts`` widened by the alignments that would let this member explain the struct's tail padding.

    Tail padding the members do not explain comes from an attribute on the
    struct or on any member whose offset it leaves in place; the debug info
    cannot say which.
    """
    extra = [a for a in struct_candidates
             if a > facts.candidates[-1] and round_up(position, 8 * a) == member.bit_offset]
    if not extra:
        return facts
    source = Source.SIZE if facts.source is Source.NATURAL else facts.source
    return facts._replace(candidates=facts.candidates + tuple(extra), source=source)


def _capped(member: MemberFacts, ceiling: int) -> MemberFacts:
    """``member`` without candidates the struct's own alignment rules out."""
    kept = tuple(a for a in member.candidates if a <= ceiling) or member.candidates[:1]
    if kept == member.candidates:
        return member
    likeliest = member.alignment if member.alignment in kept else kept[0]
    forced = likeliest if member.source is Source.HOLE else member.forced
    return member._replace(candidates=kept, alignment=likeliest, forced=forced)


# --------------------------------------------------------------------------- pahole's BTF inference


def _pahole_natural(t: Type, abi: Abi, memo: Optional[dict[int, int]] = None) -> int:
    """dwarves' tag__natural_alignment: sizes of base types, pointers, enums; nested maxima (memoised per struct:
    24 structs each holding the next twice were 2^24 visits)."""
    t = t.strip()
    while isinstance(t, ArrayType):
        t = t.element.strip()
    if isinstance(t, PointerType):
        return abi.pointer_size
    if isinstance(t, (BaseType, EnumType)):
        return t.size_bytes or 1
    if isinstance(t, StructType):
        memo = {} if memo is None else memo
        if id(t) not in memo:
            memo[id(t)] = max([1] + [_pahole_natural(m.type, abi, memo) for m in t.members])
        return memo[id(t)]
    return 1


def _pahole_infer(byte_offset: int, natural: int, smallest_offset: int, cacheline: int) -> Optional[int]:
    """btf_loader.c ``class__infer_alignment`` (pahole 1.24), unsigned 32-bit arithmetic included."""
    delta = (byte_offset - smallest_offset) & 0xFFFFFFFF
    alignment = 0
    if delta and byte_offset % 2 == 0:
        # 1 << (32 - clz(delta)); an x86 shift by 32 shifts by 0 (a "negative" delta gives 1)
        alignment = 1 << ((32 - (32 - delta.bit_length())) & 31)
    if alignment <= natural or alignment == 1:
        return None
    if alignment < cacheline and cacheline % alignment == 0 and byte_offset % cacheline == 0:
        return cacheline
    return alignment


def _pahole_alignments(struct: StructType, abi: Abi,
                       debug_info: DebugInfo) -> tuple[list[Optional[int]], Optional[int]]:
    """What pahole shows as ``__aligned__`` on each member and on the struct itself."""
    if debug_info is not DebugInfo.BTF:
        return [m.alignment_attr for m in struct.members], struct.alignment_attr
    found: list[Optional[int]] = []
    smallest_offset = 0
    for member in struct.members:
        size = member.type.size_bytes
        if size == 0:  # pahole skips members of size 0 (flexible arrays) before inferring
            found.append(None)
            continue
        strip = member.type.strip()
        if member.bit_size is not None and isinstance(strip, (BaseType, EnumType)):
            byte_offset = member.bit_offset // (8 * size) * size
        else:
            byte_offset = member.bit_offset // 8
        found.append(_pahole_infer(byte_offset, _pahole_natural(member.type, abi), smallest_offset,
                                   abi.cacheline_size))
        smallest_offset = byte_offset + size
    own = _pahole_infer(struct.size_bytes, _pahole_natural(struct, abi), smallest_offset, abi.cacheline_size)
    return found, own
