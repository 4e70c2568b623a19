"""Re-lay-out: members placed as the compiler would, keeping what a struct's facts say of it.

The one layout engine under the what-if (:mod:`.whatif`), repacking (:mod:`.reorganize`),
patch edits and containment: given a struct, its facts (:mod:`.facts`) and a new member
order, it returns the struct the compiler would lay out.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional

from ..abi import Abi
from ..model import Member, StructType
from .facts import DebugInfo, Source, StructFacts, World, member_item, struct_facts
from .placement import Cursor, HiddenGap, Item


def relayout(struct: StructType, abi: Abi, members: list[Member],
             debug_info: DebugInfo = DebugInfo.ATTRIBUTES, world: World = World.LIKELIEST,
             origins: Optional[dict[int, Member]] = None) -> StructType:
    """Lay ``members`` out (ignoring their offsets) as ``struct`` would be under ``abi``.

    Members of ``struct`` itself (the same objects) keep the hidden gaps and
    alignments its facts give them, so ``relayout(s, abi, s.members)``
    reproduces ``s``.  Returns a new struct.
    """
    return relayout_with_facts(struct_facts(struct, abi, debug_info), struct, members, abi, world, origins)[0]


def relayout_with_facts(facts: StructFacts, struct: StructType, members: list[Member], abi: Abi,
              world: World, origins: Optional[dict[int, Member]] = None,
              size_alignment: bool = True) -> tuple[StructType, int]:
    """The new struct and its alignment, in ``world``.

    ``origins`` maps a member (by id) to the member of ``struct`` it stands for (an anonymous
    union re-laid out inside): it keeps that member's hidden gap and forced alignment.
    ``size_alignment`` False: an alignment read from the struct's old size is not kept (a member that
    may have caused it was removed).
    """
    cursor = Cursor(abi, facts.packed, struct.is_union)
    offsets = cursor.place_all(placement_steps(facts, struct, members, abi, world, origins))
    align = final_alignment(facts, struct, cursor, world, size_alignment)
    return laid_out(struct, members, offsets, cursor.size_bytes(align), facts.packed), align


class Step(NamedTuple):
    """How one member is placed: the hidden gap skipped before it (if any), then the member."""

    gap: Optional[HiddenGap]
    item: Item


def placement_steps(facts: StructFacts, struct: StructType, members: list[Member], abi: Abi, world: World,
                    origins: Optional[dict[int, Member]] = None) -> list[Step]:
    """Each of ``members`` as the cursor will place it (what it does not depend on where the member goes).

    Members of ``struct`` itself keep the hidden gap and alignment its facts give them; ``origins``
    as in :func:`relayout_with_facts`.
    """
    position = {id(m): index for index, m in enumerate(struct.members)}
    steps = []
    for member in members:
        origin = (origins or {}).get(id(member), member)
        index = position.get(id(origin))
        if index is None:
            steps.append(Step(None, member_item(member, member.alignment_attr, abi, facts.debug_info, world)))
            continue
        known = facts.members[index]
        guessed_hole = known.source is Source.HOLE
        forced = None if guessed_hole else known.forced
        if member is not origin and member.alignment_attr:  # an alignment the patch's context states
            forced = max(forced or 0, member.alignment_attr)
        item = member_item(member, forced, abi, facts.debug_info, world)
        # a hole read as an attribute replaces the hidden gap; read as a pad (``T :n``) it keeps it
        as_attribute = guessed_hole and world is not World.SMALLEST and known.gap is not None and (
            bool(known.gap.align_bits) or known.alignment_in(world) > known.candidates[0])
        wanted = known.alignment_in(world)
        natural = 1 if facts.packed else item.type_align
        if member.bit_size is None and (as_attribute or not guessed_hole) \
                and wanted > max(natural, item.forced or 1):
            item = item._replace(forced=wanted)
        steps.append(Step(known.gap if known.gap is not None and not as_attribute else None, item))
    return steps


def final_alignment(facts: StructFacts, struct: StructType, cursor: Cursor, world: World,
                    size_alignment: bool = True) -> int:
    """The re-laid-out struct's alignment, once ``cursor`` has placed every member."""
    align = max(cursor.align, struct.alignment_attr or 1)
    if (facts.source is Source.RECORDED and (size_alignment or struct.alignment_attr)) or \
            (facts.source is Source.SIZE and size_alignment):
        align = max(align, facts.alignment_in(world))
    return align


def laid_out(struct: StructType, members: list[Member], offsets: list[int], size_bytes: int,
             packed: bool) -> StructType:
    """A copy of ``struct`` holding ``members`` at ``offsets`` (bits), of ``size_bytes``."""
    placed = [dataclasses.replace(member, bit_offset=offset) for member, offset in zip(members, offsets)]
    return dataclasses.replace(struct, members=placed, size_bytes=size_bytes, is_packed=packed)


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
