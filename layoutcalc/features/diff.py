"""Two builds -> which structs grew or shrank, and why, member by member.

A build is first reduced to a :class:`Catalogue`: every named struct and
union as a :class:`StructLayout` (size, flattened members, holes, padding),
deduplicated across compile units (same name and same layout count once;
different layouts under one name are all kept and said so).  Two catalogues
are then compared (:func:`diff_catalogues`) in bloat-o-meter's vocabulary:
added, removed, grown, shrunk, up, down, net.  For each changed struct the
reason is spelled out: members added, removed, resized, retyped or moved,
holes consumed or opened, cachelines and the allocation size class before
and after, and for the caches the slab model knows (task_struct,
signal_cache, pid) the slab geometry before and after.

Anonymous struct/union members are flattened into their enclosing struct (C
makes their member names unique there), so a member added inside an
anonymous union is reported by its own name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Optional

from ..abi import get_abi
from ..model import Build, Member, StructType, Type
from ..analysis.layout import DEFAULT_CACHELINE, MemberGaps, cachelines, member_byte_size, struct_holes

# mm/slab_common.c kmalloc_info[] (KMALLOC_MIN_SIZE 8; the 96 and 192 caches exist when it is <= 32/64).
KMALLOC_SIZES = (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)
# x86 task_struct size depends on the CPU's XSAVE area; the project's default (AVX2).
DEFAULT_XSTATE_SIZE = 832


class MemberLayout(NamedTuple):
    """One member, flattened: ``bit_offset`` from the outermost struct's start; ``bit_size`` 0 unless a bitfield."""

    name: str
    type_name: str
    bit_offset: int
    size: int
    bit_size: int = 0

    @property
    def offset(self) -> int:
        """pahole's byte offset: for a bitfield, that of its storage unit (``size`` bytes, aligned)."""
        if self.bit_size and self.size > 0:
            return (self.bit_offset // (self.size * 8)) * self.size
        return self.bit_offset // 8

    @property
    def bitfield_offset(self) -> int:
        """pahole's bit position inside the storage unit (``32:16`` is offset 32, bit 16); 0 unless a bitfield."""
        return self.bit_offset - self.offset * 8 if self.bit_size else 0


class Hole(NamedTuple):
    """A byte hole after top-level member ``after`` ("" for a hole before the first member)."""

    after: str
    offset: int
    size: int


class StructLayout(NamedTuple):
    """What a diff, a baseline and a budget need of one struct or union definition."""

    kind: str
    name: str
    size: int
    members: tuple[MemberLayout, ...]
    holes: tuple[Hole, ...]
    padding: int
    # Bit holes (``size`` and ``offset`` in bits) after a bitfield; None when not recorded (an older baseline).
    bit_holes: Optional[tuple[Hole, ...]] = None

    @property
    def label(self) -> str:
        """``device`` for a struct, ``union foo`` for a union."""
        return self.name if self.kind == "struct" else f"{self.kind} {self.name}"

    def cachelines(self, cacheline_size: int = DEFAULT_CACHELINE) -> int:
        return cachelines(self.size, cacheline_size)

    @property
    def sum_holes(self) -> int:
        return sum(hole.size for hole in self.holes)


class SlabFigures(NamedTuple):
    """A known slab cache of a build, as :mod:`layoutcalc.slab.geometry` predicts it under its era's allocator."""

    cache: str
    struct_name: str
    object_size: int
    slab_size: int
    objs_per_slab: int
    order: int


class Catalogue(NamedTuple):
    """A build reduced to its struct layouts: label -> the distinct definitions of that name.

    ``patterns`` are the globs it was limited to (empty: every struct).
    """

    name: str
    arch: str
    cacheline_size: int
    source: str
    layouts: dict[str, tuple[StructLayout, ...]]
    slab: dict[str, SlabFigures]
    patterns: tuple[str, ...] = ()

    @property
    def total_size(self) -> int:
        return sum(layout.size for layouts in self.layouts.values() for layout in layouts)


# --------------------------------------------------------------------------- catalogue


def _anonymous_label(struct: StructType) -> str:
    """``(union: pid)``: an anonymous member named by the first named member inside it."""
    for member in struct.members:
        if member.name:
            return f"({struct.kind}: {member.name})"
        if isinstance(member.type, StructType) and member.type.name is None:
            return f"({struct.kind}: {_anonymous_label(member.type)[1:-1]})"
    return f"({struct.kind})"


_ARRAY_BOUNDS = re.compile(r"((?:\[\d*\])+)$")


def canonical_type_name(name: str) -> str:
    """One spelling per array type, whichever debug info it came from.

    BTF (as pahole 1.24 encodes it) flattens ``int [3][24]`` to ``int [72]``
    and records a zero-length array ``char [0]`` as ``char []``; DWARF keeps
    both as written.  Both are read here as the BTF spelling, so that a
    baseline from DWARF compares cleanly with a build read from BTF.
    """
    match = _ARRAY_BOUNDS.search(name)
    if match is None:
        return name
    bounds = re.findall(r"\[(\d*)\]", match.group(1))
    if not all(bounds):
        return name
    count = 1
    for bound in bounds:
        count *= int(bound)
    return f"{name[:match.start()]}[{count or ''}]"


# What _flatten and _bit_holes need of a member's type, by the type's id: its canonical name, pahole's byte
# size, the anonymous struct or union it is (through typedefs: pahole prints it inline) or None, and the type
# itself, which the table keeps alive so that its id stays its own.  One table per catalogue.
_TypeFacts = dict[int, tuple[str, int, Optional[StructType], Type]]


def _type_facts(member: Member, facts: _TypeFacts) -> tuple[str, int, Optional[StructType], Type]:
    found = facts.get(id(member.type))
    if found is None:
        stripped = member.type.strip()
        inline = stripped if isinstance(stripped, StructType) and stripped.name is None else None
        found = facts[id(member.type)] = (canonical_type_name(member.type.c_name()), member_byte_size(member),
                                          inline, member.type)
    return found


def _flatten(struct: StructType, base_bits: int, out: list[MemberLayout],
             facts: Optional[_TypeFacts] = None) -> list[str]:
    """Append ``struct``'s members to ``out`` (anonymous aggregates expanded); return the top-level labels.

    An unnamed bitfield is labelled by the named member before it (``(unnamed bitfield after flags)``,
    numbered when there are several), not by its offset, so that moving it is not a removal and an addition.
    ``facts`` remembers each member type's name and size (see :data:`_TypeFacts`).
    """
    if facts is None:
        facts = {}
    labels: list[str] = []
    previous = ""
    for member in struct.members:
        bit_offset = base_bits + member.bit_offset
        type_name, size, inline, _type = _type_facts(member, facts)
        if member.name is None and inline is member.type:  # an anonymous struct or union, not through a typedef
            label = _anonymous_label(inline)
            out.append(MemberLayout(label, inline.kind, bit_offset, size))
            _flatten(inline, bit_offset, out, facts)
        else:
            label = member.name or _unnamed_label(previous, labels)
            previous = member.name or previous
            out.append(MemberLayout(label, type_name, bit_offset, size, member.bit_size or 0))
        labels.append(label)
    return labels


def _unnamed_label(previous: str, taken: Sequence[str]) -> str:
    base = f"(unnamed bitfield after {previous})" if previous else "(unnamed bitfield)"
    label, count = base, 1
    while label in taken:
        count += 1
        label = f"{base[:-1]} #{count})"
    return label


def struct_layout(struct: StructType, facts: Optional[_TypeFacts] = None) -> StructLayout:
    """The :class:`StructLayout` of one definition (holes and padding as pahole counts them).

    ``facts``: a table shared by the definitions of one build (see :data:`_TypeFacts`).
    """
    if facts is None:
        facts = {}
    members: list[MemberLayout] = []
    labels = _flatten(struct, 0, members, facts)
    pre_hole, gaps, padding = struct_holes(struct)
    holes = []
    if pre_hole:
        holes.append(Hole("", 0, pre_hole))
    for member, label, gap in zip(struct.members, labels, gaps):
        if gap.hole:
            end = member.offset_bytes + _type_facts(member, facts)[1]
            holes.append(Hole(label, end, gap.hole))
    return StructLayout(struct.kind, struct.name or "", struct.size_bytes, tuple(members), tuple(holes), padding,
                        tuple(_bit_holes(struct, 0, labels, facts, gaps)))


def _bit_holes(struct: StructType, base_bits: int, labels: Sequence[str], facts: _TypeFacts,
               gaps: Optional[Sequence[MemberGaps]] = None) -> list[Hole]:
    """pahole's bit holes of ``struct`` and of the anonymous structs inside it (which pahole prints inline)."""
    found = []
    if not struct.is_union:
        for member, label, gap in zip(struct.members, labels, gaps if gaps is not None else struct_holes(struct)[1]):
            if gap.bit_hole:
                found.append(Hole(label, base_bits + member.bit_offset + (member.bit_size or 0), gap.bit_hole))
    for member in struct.members:
        nested = _type_facts(member, facts)[2]
        if nested is not None:  # an inline type: pahole prints it in place
            inner = _flatten(nested, 0, [], facts)
            if member.name:
                inner = [f"{member.name}.{label}" for label in inner]
            found += _bit_holes(nested, base_bits + member.bit_offset, inner, facts)
    return found


def matches(label: str, patterns: Sequence[str]) -> bool:
    """Whether ``label`` (``device``, ``union foo``) matches one of the shell-style ``patterns``."""
    bare = label.split(" ", 1)[1] if label.startswith("union ") else label
    return not patterns or any(fnmatch.fnmatchcase(bare, p) or fnmatch.fnmatchcase(label, p) for p in patterns)


def catalogue(name: str, definitions: Iterable[StructType], build: Build,
              patterns: Sequence[str] = (), source: str = "",
              xstate_size: Optional[int] = DEFAULT_XSTATE_SIZE) -> Catalogue:
    """Deduplicate ``definitions`` into a :class:`Catalogue` (those matching ``patterns``, or all).

    ``build`` gives the arch and, once ``definitions`` is consumed, the first
    definition of each name for the slab model.
    """
    found: dict[str, dict[StructLayout, None]] = {}
    facts: _TypeFacts = {}
    for struct in definitions:
        if struct.name is None or struct.is_declaration:
            continue
        layout = struct_layout(struct, facts)
        if not matches(layout.label, patterns):
            continue
        found.setdefault(layout.label, {})[layout] = None
    cacheline = get_abi(build.arch).cacheline_size
    layouts = {label: tuple(variants) for label, variants in sorted(found.items())}
    return Catalogue(name, build.arch, cacheline, source, layouts, slab_figures(build, xstate_size), tuple(patterns))


def slab_figures(build: Build, xstate_size: Optional[int] = DEFAULT_XSTATE_SIZE) -> dict[str, SlabFigures]:
    """The slab geometry of task_struct, signal_cache and pid in ``build`` under its era (those it can model)."""
    from ..errors import LayoutcalcError
    from ..slab.specs import cache_specs_for_build
    from ..slab.era import decide_era
    from ..slab.geometry import era_geometry
    abi = get_abi(build.arch)
    try:
        era = decide_era(build, abi)
        specs = cache_specs_for_build(build, abi, xstate_size, era=era)
        figures = {}
        for spec in specs:
            geometry = era_geometry(spec, era)
            figures[spec.struct_name] = SlabFigures(spec.name, spec.struct_name, spec.object_size,
                                                    geometry.slab_size, geometry.objs_per_slab, geometry.order)
    except LayoutcalcError:
        return {}
    return figures


def size_class(size: int, page_size: int = 4096) -> str:
    """The kmalloc cache an object of ``size`` bytes comes from (``kmalloc-96``), or its page order."""
    for limit in KMALLOC_SIZES:
        if size <= limit:
            return f"kmalloc-{limit}" if limit < 1024 else f"kmalloc-{limit // 1024}k"
    order = max(0, (size - 1) // page_size).bit_length()
    return f"page order {order}"


# --------------------------------------------------------------------------- diff


class MemberChange(NamedTuple):
    """``change`` is added, removed, resized, retyped or moved."""

    change: str
    name: str
    old: Optional[MemberLayout]
    new: Optional[MemberLayout]


class HoleChange(NamedTuple):
    """The hole after ``after`` went from ``old_size`` to ``new_size`` bytes (0: no hole); bits for a bit hole."""

    after: str
    old_size: int
    new_size: int
    unit: str = "bytes"

    @property
    def consumed(self) -> bool:
        return self.new_size < self.old_size


class SlabChange(NamedTuple):
    """A known cache's geometry before and after."""

    old: SlabFigures
    new: SlabFigures

    @property
    def crossed(self) -> bool:
        """Whether the cache's memory cost per object changed class: other objects per slab or slab order.

        A larger object that still packs as many per slab of the same order costs nothing more.
        """
        return (self.old.objs_per_slab, self.old.order) != (self.new.objs_per_slab, self.new.order)


class StructChange(NamedTuple):
    """One struct that was added, removed, grew, shrank or changed at the same size.

    ``note`` explains a pairing among several definitions of the same name.
    """

    label: str
    status: str
    old: Optional[StructLayout]
    new: Optional[StructLayout]
    members: tuple[MemberChange, ...] = ()
    holes: tuple[HoleChange, ...] = ()
    slab: Optional[SlabChange] = None
    note: str = ""

    @property
    def old_size(self) -> int:
        return self.old.size if self.old else 0

    @property
    def new_size(self) -> int:
        return self.new.size if self.new else 0

    @property
    def delta(self) -> int:
        return self.new_size - self.old_size

    def cachelines(self, cacheline_size: int) -> tuple[int, int]:
        return (self.old.cachelines(cacheline_size) if self.old else 0,
                self.new.cachelines(cacheline_size) if self.new else 0)

    def size_classes(self) -> tuple[str, str]:
        return (size_class(self.old_size) if self.old else "", size_class(self.new_size) if self.new else "")


class DiffSummary(NamedTuple):
    """bloat-o-meter's summary: ``add/remove: a/r grow/shrink: g/s up/down: u/-d (net)`` and the totals."""

    added: int
    removed: int
    grown: int
    shrunk: int
    up: int
    down: int
    before: int
    after: int

    @property
    def net(self) -> int:
        return self.up + self.down

    @property
    def change_percent(self) -> float:
        return 100.0 * (self.after - self.before) / self.before if self.before else 0.0


class DiffResult(NamedTuple):
    """Everything :func:`diff_catalogues` found; ``duplicates`` lists names defined more than once."""

    old: Catalogue
    new: Catalogue
    changes: tuple[StructChange, ...]
    summary: DiffSummary
    duplicates: tuple[tuple[str, int, int], ...]
    warnings: tuple[str, ...] = ()  # one result per command: what the CLI prints as 'warning: ...' (none yet)


def diff_layouts(old: StructLayout, new: StructLayout) -> tuple[tuple[MemberChange, ...], tuple[HoleChange, ...]]:
    """Member and hole changes from ``old`` to ``new`` (members matched by name, anonymous ones by content)."""
    new = _relabel_anonymous(old, new)
    before = {m.name: m for m in old.members}
    after = {m.name: m for m in new.members}
    changes = []
    for member in old.members:
        if member.name not in after:
            changes.append(MemberChange("removed", member.name, member, None))
    for member in new.members:
        previous = before.get(member.name)
        if previous is None:
            changes.append(MemberChange("added", member.name, None, member))
        elif (previous.size, previous.bit_size) != (member.size, member.bit_size):
            changes.append(MemberChange("resized", member.name, previous, member))
        elif previous.type_name != member.type_name:
            changes.append(MemberChange("retyped", member.name, previous, member))
        elif previous.bit_offset != member.bit_offset:
            changes.append(MemberChange("moved", member.name, previous, member))
    old_holes = {h.after: h.size for h in old.holes}
    new_holes = {h.after: h.size for h in new.holes}
    holes = [HoleChange(after, old_holes.get(after, 0), new_holes.get(after, 0))
             for after in dict.fromkeys([*old_holes, *new_holes])
             if old_holes.get(after, 0) != new_holes.get(after, 0)]
    if old.bit_holes is not None and new.bit_holes is not None:
        old_bits = {h.after: h.size for h in old.bit_holes}
        new_bits = {h.after: h.size for h in new.bit_holes}
        holes += [HoleChange(after, old_bits.get(after, 0), new_bits.get(after, 0), "bits")
                  for after in dict.fromkeys([*old_bits, *new_bits])
                  if old_bits.get(after, 0) != new_bits.get(after, 0)]
    return tuple(changes), tuple(holes)


def _contents(layout: StructLayout, index: int) -> set[str]:
    """The named members inside the anonymous aggregate at ``layout.members[index]``."""
    outer = layout.members[index]
    end = outer.bit_offset + outer.size * 8
    inside = set()
    for member in layout.members[index + 1:]:
        if member.bit_offset >= end or (member.bit_offset == end and outer.size):
            break
        if not member.name.startswith("("):
            inside.add(member.name)
    return inside


def _relabel_anonymous(old: StructLayout, new: StructLayout) -> StructLayout:
    """``new`` with each anonymous member that has no namesake in ``old`` renamed after the old one it most
    resembles (shared member names), so that adding a first member to an anonymous union is a change inside
    it, not a removal and an addition of the union."""
    old_names = {m.name for m in old.members}
    new_names = {m.name for m in new.members}
    lost = [i for i, m in enumerate(old.members) if m.name.startswith("(") and m.name not in new_names]
    fresh = [i for i, m in enumerate(new.members) if m.name.startswith("(") and m.name not in old_names]
    if not lost or not fresh:
        return new
    renames: dict[str, str] = {}
    for j in fresh:
        inside = _contents(new, j)
        best = max(lost, key=lambda i: len(_contents(old, i) & inside), default=None)
        if best is not None and _contents(old, best) & inside and old.members[best].name not in renames.values():
            renames[new.members[j].name] = old.members[best].name
    if not renames:
        return new
    members = tuple(m._replace(name=renames.get(m.name, m.name)) for m in new.members)
    return new._replace(members=members,
                        holes=tuple(h._replace(after=renames.get(h.after, h.after)) for h in new.holes),
                        bit_holes=None if new.bit_holes is None else tuple(
                            h._replace(after=renames.get(h.after, h.after)) for h in new.bit_holes))


def _similarity(a: StructLayout, b: StructLayout) -> tuple[int, int]:
    names_a, names_b = {m.name for m in a.members}, {m.name for m in b.members}
    return len(names_a & names_b), -abs(a.size - b.size)


def _pair_variants(old: Sequence[StructLayout],
                   new: Sequence[StructLayout]) -> list[tuple[Optional[StructLayout], Optional[StructLayout]]]:
    """Pair the definitions of one name: identical ones first, then the most alike (shared member names)."""
    remaining_old = [layout for layout in old if layout not in new]
    remaining_new = [layout for layout in new if layout not in old]
    candidates = sorted(((a, b) for a in remaining_old for b in remaining_new),
                        key=lambda pair: _similarity(*pair), reverse=True)
    pairs: list[tuple[Optional[StructLayout], Optional[StructLayout]]] = []
    for a, b in candidates:
        if a in remaining_old and b in remaining_new:
            remaining_old.remove(a)
            remaining_new.remove(b)
            pairs.append((a, b))
    pairs.extend((layout, None) for layout in remaining_old)
    pairs.extend((None, layout) for layout in remaining_new)
    return pairs


def _change(label: str, old: Optional[StructLayout], new: Optional[StructLayout],
            slab: Optional[SlabChange], note: str) -> Optional[StructChange]:
    if old is None or new is None:
        return StructChange(label, "added" if old is None else "removed", old, new, note=note)
    members, holes = diff_layouts(old, new)
    if new.size == old.size and not members and not holes and new.padding == old.padding:
        return None
    status = "grown" if new.size > old.size else "shrunk" if new.size < old.size else "changed"
    return StructChange(label, status, old, new, members, holes, slab, note)


def _bare(label: str) -> str:
    return label.split(" ", 1)[1] if label.startswith("union ") else label


def _flips(old: Catalogue, new: Catalogue) -> dict[str, str]:
    """Names that were a struct on one side and a union on the other: old label -> new label."""
    gone = [label for label in old.layouts if label not in new.layouts]
    came = {_bare(label): label for label in new.layouts if label not in old.layouts}
    return {label: came[_bare(label)] for label in gone
            if _bare(label) in came and came[_bare(label)] != label}


def diff_catalogues(old: Catalogue, new: Catalogue) -> DiffResult:
    """Compare two catalogues: every struct added, removed, grown, shrunk or changed, with reasons.

    A name that turned from a struct into a union (or back) is one change,
    reported under its new label.  Changes come in bloat-o-meter's order:
    delta descending, ties by name descending.
    """
    changes: list[StructChange] = []
    duplicates = []
    flips = _flips(old, new)
    flipped_to = {new_label: old_label for old_label, new_label in flips.items()}
    for label in sorted((set(old.layouts) | set(new.layouts)) - set(flips)):
        before = old.layouts.get(flipped_to.get(label, label), ())
        after = new.layouts.get(label, ())
        if len(before) > 1 or len(after) > 1:
            duplicates.append((label, len(before), len(after)))
        if before == after:  # the same definitions on both sides (most names): no pair differs
            continue
        pairs = _pair_variants(before, after)
        for old_layout, new_layout in pairs:
            note = ""
            if len(before) > 1 or len(after) > 1:
                note = (f"{label} has {len(before)} different definitions before and {len(after)} after; "
                        "this pairs the most alike")
            if label in flipped_to:
                note = f"was a {'union' if flipped_to[label].startswith('union ') else 'struct'}, now a " \
                       f"{'union' if label.startswith('union ') else 'struct'}" + (f"; {note}" if note else "")
            slab = None
            if old_layout and new_layout and label in old.slab and label in new.slab:
                slab = SlabChange(old.slab[label], new.slab[label])
            change = _change(label, old_layout, new_layout, slab, note)
            if change is not None:
                changes.append(change)
    changes.sort(key=lambda c: (c.delta, c.label), reverse=True)
    return DiffResult(old, new, tuple(changes), summarize(changes, old, new), tuple(duplicates))


class SizeRow(NamedTuple):
    """One row of bloat-o-meter's table: a name, its old and new size (None: absent), the delta."""

    label: str
    old: Optional[int]
    new: Optional[int]

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)


def size_rows(changes: Iterable[StructChange], old: Catalogue, new: Catalogue) -> list[SizeRow]:
    """bloat-o-meter's table: one row per name whose size changed, in its order (delta, then name, descending).

    Like bloat-o-meter with same-named symbols, a name with several
    definitions is one row whose sizes are the sums of its distinct
    definitions on each side.
    """
    rows = []
    flipped_to = {new_label: old_label for old_label, new_label in _flips(old, new).items()}
    for label in dict.fromkeys(change.label for change in changes):
        before = old.layouts.get(flipped_to.get(label, label), ())
        after = new.layouts.get(label, ())
        row = SizeRow(label, sum(x.size for x in before) if before else None,
                      sum(x.size for x in after) if after else None)
        if row.delta or row.old is None or row.new is None:
            rows.append(row)
    rows.sort(key=lambda row: (row.delta, row.label), reverse=True)
    return rows


def summarize(changes: Iterable[StructChange], old: Catalogue, new: Catalogue) -> DiffSummary:
    """The bloat-o-meter counts, one per name (as :func:`size_rows`), and the two catalogues' total sizes."""
    counts = {"added": 0, "removed": 0, "grown": 0, "shrunk": 0}
    up = down = 0
    for row in size_rows(changes, old, new):
        status = "added" if row.old is None else "removed" if row.new is None else \
            "grown" if row.delta > 0 else "shrunk"
        counts[status] += 1
        if row.delta > 0:
            up += row.delta
        else:
            down += row.delta
    return DiffSummary(counts["added"], counts["removed"], counts["grown"], counts["shrunk"], up, down,
                       old.total_size, new.total_size)


def filter_catalogue(catalogue_: Catalogue, keep: Callable[[str], bool]) -> Catalogue:
    """``catalogue_`` with only the labels ``keep`` accepts."""
    return catalogue_._replace(layouts={k: v for k, v in catalogue_.layouts.items() if keep(k)})


# --------------------------------------------------------------------------- comparability

# More than half of the old side's names missing (and at least this many) means another program, not a change.
MIN_MISSING_TO_REFUSE = 10
LIKE_FOR_LIKE_SOURCES = ("btf", "dwarf")


def format_mismatch(old: Catalogue, new: Catalogue) -> bool:
    """Whether one side was read from BTF and the other from DWARF (which name different sets of types)."""
    return old.source != new.source and {old.source, new.source} <= set(LIKE_FOR_LIKE_SOURCES)


def refusal(old: Catalogue, new: Catalogue) -> Optional[str]:
    """Why ``old`` and ``new`` cannot be compared struct by struct (one line), or None when they can.

    Different architectures give different layouts for the same source; BTF
    and DWARF list different sets of types (BTF keeps structs declared inside
    functions, DWARF spells arrays differently); and a build that lacks most
    of the other side's structs is another program, whose "removals" would
    be noise that passes a gate.
    """
    if old.arch and new.arch and old.arch != new.arch:
        return (f"{new.name} is {new.arch} but {old.name} is {old.arch}: layouts of different architectures "
                "are not comparable")
    missing = sum(1 for label in old.layouts if label not in new.layouts)
    if missing >= MIN_MISSING_TO_REFUSE and 2 * missing > len(old.layouts):
        return (f"{new.name} lacks {missing} of the {len(old.layouts)} structs of {old.name}: not a build of the "
                "same program (limit both sides with --struct to compare a few structs)")
    if format_mismatch(old, new):
        return (f"{old.name} was read from {old.source.upper()} but {new.name} from {new.source.upper()}: "
                f"no like-for-like comparison (use --debug-info {old.source} on both sides, or a baseline "
                f"taken from {new.source.upper()})")
    return None
