"""What-if re-layout: add fields to a struct and lay it out again as GCC/Clang would.

The member offsets read from debug info are the truth; what they leave
unsaid (packing, unnamed bitfields, alignment attributes that ``-gstrict-dwarf``
and BTF do not record) comes from :mod:`layoutcalc.analysis.facts`, the one
source of alignments.  With those facts the unchanged member list reproduces
every offset and the size; added members are then placed by the plain rules
(:mod:`layoutcalc.analysis.placement`).

Where the evidence leaves an alignment undecided, the struct is laid out
three times: with every undecided alignment at its smallest candidate (holes
read as hidden padding), its likeliest and its largest.  Layout is monotone
in alignments, so the smallest and largest results bound the possibilities
(a hole read as ``T :n`` padding rather than an alignment is the exception,
hence bounds taken over all three):
:attr:`WhatIfResult.size_after_min` and :attr:`WhatIfResult.size_after_max`.
When they agree the answer is exact (:attr:`WhatIfResult.exact`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from ..abi import Abi
from ..errors import NotFoundError
from ..model import ArrayType, Member, StructType, Type
from .facts import DebugInfo, StructFacts, World, layout_alignment, struct_facts
from .relayout import check_layout_matches, relayout_with_facts

__all__ = ["PLACEMENTS", "FieldSpec", "WhatIfResult", "add_fields", "layout_alignment"]

PLACEMENTS = ("as-patched", "best-fit", "append", "reorganize")


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
    """A struct before and after adding fields, laid out under ``abi``.

    ``after`` is the likeliest layout.  When the debug info leaves some
    alignment undecided, ``size_after_min``/``size_after_max`` bound the size
    and ``undecided`` names each undecided member of the struct with its
    candidate alignments (``alignment_candidates``: the struct's own);
    ``exact`` says whether the bounds agree.
    """

    before: StructType
    after: StructType
    added: list[Member]
    placement: str
    abi: Abi
    debug_info: DebugInfo = DebugInfo.ATTRIBUTES
    alignment_after: int = 0
    size_after_min: int = 0
    size_after_max: int = 0
    alignment_after_min: int = 0
    alignment_after_max: int = 0
    undecided: tuple[tuple[str, tuple[int, ...]], ...] = field(default_factory=tuple)
    alignment_candidates: tuple[int, ...] = field(default_factory=tuple)  # of the struct before

    def __post_init__(self) -> None:
        if not self.alignment_after:
            self.alignment_after = layout_alignment(self.after, self.abi)
        self.size_after_min = self.size_after_min or self.after.size_bytes
        self.size_after_max = self.size_after_max or self.after.size_bytes
        self.alignment_after_min = self.alignment_after_min or self.alignment_after
        self.alignment_after_max = self.alignment_after_max or self.alignment_after

    @property
    def size_before(self) -> int:
        return self.before.size_bytes

    @property
    def size_after(self) -> int:
        """The likeliest size after; exact when :attr:`exact`."""
        return self.after.size_bytes

    @property
    def size_delta(self) -> int:
        return self.after.size_bytes - self.before.size_bytes

    @property
    def exact(self) -> bool:
        """True when every alignment the debug info leaves open gives the same size and alignment."""
        return (self.size_after_min == self.size_after_max
                and self.alignment_after_min == self.alignment_after_max)

    @property
    def alignment_before(self) -> int:
        return layout_alignment(self.before, self.abi, self.debug_info)


def add_fields(
    struct: StructType, fields: list[FieldSpec], abi: Abi, placement: str = "as-patched",
    debug_info: DebugInfo = DebugInfo.ATTRIBUTES,
) -> WhatIfResult:
    """Add ``fields`` to ``struct`` and re-lay it out under ``abi``.

    ``placement`` is "as-patched" (after each field's anchor; later members
    move), "best-fit" (into a hole that moves no existing member, else at
    the end), "append" (at the end) or "reorganize" (appended, then every
    member repacked as :func:`layoutcalc.analysis.reorganize.reorganize` does).
    "At the end" is before a flexible array member.  ``debug_info`` says what the struct was read from (see
    :func:`layoutcalc.analysis.facts.debug_info_of`).  Raises NotFoundError
    for an anchor that names no member.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not '{placement}'")
    new = [_member_for(spec) for spec in fields]
    facts = struct_facts(struct, abi, debug_info)
    if placement == "best-fit":
        order = _best_fit(facts, struct, new, abi)
    elif placement == "append":
        order = _appended(struct.members, new)
    elif placement == "reorganize":
        order = _reorganized(facts, struct, _appended(struct.members, new), abi)
    else:
        order = _as_patched(struct, fields, new)
    after, align = relayout_with_facts(facts, struct, order, abi, World.LIKELIEST)
    position = {id(m): index for index, m in enumerate(order)}
    added = [after.members[position[id(m)]] for m in new]
    # A hole read as padding (``T :n``) rather than as an alignment is not smaller in every
    # layout after the change, so the bounds are taken over all three worlds.
    worlds = [(after.size_bytes, align)] + [
        (laid.size_bytes, laid_align) for laid, laid_align in
        (relayout_with_facts(facts, struct, order, abi, world) for world in (World.SMALLEST, World.LARGEST))]
    sizes, alignments = [w[0] for w in worlds], [w[1] for w in worlds]
    return WhatIfResult(before=struct, after=after, added=added, placement=placement, abi=abi,
                        debug_info=debug_info, alignment_after=align,
                        size_after_min=min(sizes), size_after_max=max(sizes),
                        alignment_after_min=min(alignments), alignment_after_max=max(alignments),
                        undecided=facts.undecided, alignment_candidates=facts.candidates)



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
        inner = member.type.strip()
        if member.name == name or (not member.name and isinstance(inner, StructType) and inner.holds(name)):
            return member
    raise NotFoundError(f"{struct.tag} has no member named '{name}' to insert after")


def _best_fit(facts: StructFacts, struct: StructType, new: list[Member], abi: Abi) -> list[Member]:
    """Each new member in the first hole that moves nothing (in the likeliest layout); the rest appended."""
    order = list(struct.members)
    for member in new:
        order = _first_fit(facts, struct, order, member, abi)
    return order


def _roomy(current: StructType, indexes: list[int], bits: int) -> list[int]:
    """The ``indexes`` whose gap in ``current`` (before member i, or the tail padding) could hold ``bits``.

    Only there can a member go without moving another, so best fit tries a
    re-layout per hole instead of per position (200 changes took 25 s).
    """
    members = current.members
    if current.is_union:
        return indexes

    def gap(index: int) -> int:
        start = members[index].bit_offset if index < len(members) else 8 * current.size_bytes
        before = members[index - 1] if index else None
        end = 0 if before is None else before.bit_offset + (before.bit_size or 8 * before.size_bytes)
        return start - end
    return [index for index in indexes if gap(index) >= bits]


def _reorganized(facts: StructFacts, struct: StructType, order: list[Member], abi: Abi) -> list[Member]:
    """``order`` repacked for the smallest size (the appended struct, as ``reorganize`` would)."""
    from .reorganize import repacked_order
    appended, _ = relayout_with_facts(facts, struct, order, abi, World.LIKELIEST)
    return [order[i] for i in repacked_order(appended, abi)]


def _first_fit(facts: StructFacts, struct: StructType, order: list[Member], member: Member,
               abi: Abi) -> list[Member]:
    current, _ = relayout_with_facts(facts, struct, order, abi, World.LIKELIEST)
    tail = _tail_index(order)
    indexes = list(range(tail + 1))
    if member.bit_size:  # an existing bit hole first: right after a bitfield
        after_bitfield = [i for i in indexes if i and order[i - 1].bit_size]
        indexes = after_bitfield + [i for i in indexes if i not in set(after_bitfield)]
    for index in _roomy(current, indexes, member.bit_size or 8 * member.size_bytes):
        trial_order = order[:index] + [member] + order[index:]
        trial, _ = relayout_with_facts(facts, struct, trial_order, abi, World.LIKELIEST)
        kept = dataclasses.replace(trial, members=trial.members[:index] + trial.members[index + 1:])
        if trial.size_bytes == current.size_bytes and not check_layout_matches(current, kept):
            return trial_order
    return _appended(order, [member])
