"""The everyday pahole questions: which member sits at byte N, who embeds a type, who points to it.

``member_at`` answers what a KASAN or oops report asks (an offset into a
struct): the member path, nested members included, or that the byte is a hole
or padding.  ``containers`` and ``pointers_to`` are ``pahole --contains`` and
``pahole --find_pointers_to``: the named structs and unions with a direct
member of that type, or of a pointer to it.  ``size_rows`` is ``sizes`` with
pahole's hunting filters (-H, -B, -n, -P) and a sort by waste.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

from ..errors import LayoutcalcError
from ..model import ArrayType, Member, StructType
from .layout import member_byte_size

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..readers.edges import UnitEdges


class Location(NamedTuple):
    """One answer of :func:`member_at`: a member (or a hole, or padding) covering the byte.

    ``path`` is the member as C code names it (``se.vruntime``, ``tasks[2].first``);
    for a hole or padding it is the innermost struct's path ("" for the top level).
    ``offset`` and ``size`` are in bytes from the start of the outermost struct;
    ``bit_offset``/``bit_size`` are set for a bitfield (bits from the start of the struct).
    """

    kind: str  # "member", "hole" or "padding"
    path: str
    offset: int
    size: int
    type_name: str
    bit_offset: Optional[int] = None
    bit_size: Optional[int] = None

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in self._asdict().items() if value is not None}


class MemberAt(NamedTuple):
    """:func:`member_at`: the struct, the byte asked about, and what covers it (one per union alternative)."""

    struct: str
    size: int
    offset: int
    locations: list[Location]
    top: Optional[Location]  # the top-level member holding the byte (None in a top-level hole or padding)

    def as_dict(self) -> dict[str, object]:
        return {"struct": self.struct, "size": self.size, "offset": self.offset,
                "top_level": self.top.as_dict() if self.top else None,
                "locations": [loc.as_dict() for loc in self.locations]}

    def text(self) -> str:
        """The answer in lines: the byte, then each location (one per union alternative)."""
        lines = [f"{self.struct} + {self.offset} ({self.offset:#x}) of {self.size} bytes:"]
        for loc in self.locations:
            lines.append("  " + _describe(loc))
        if self.top is not None and any(loc.path != self.top.path for loc in self.locations):
            lines.append(f"  in top-level member {_describe(self.top)}")
        return "\n".join(lines) + "\n"


def _describe(loc: Location) -> str:
    where = f"offset {loc.offset}, size {loc.size}"
    if loc.bit_size is not None and loc.bit_offset is not None:
        where = f"offset {loc.offset} bit {loc.bit_offset - loc.offset * 8}, {loc.bit_size} bits of {loc.size}"
    if loc.kind == "member":
        return f"{loc.path} ({loc.type_name}): {where}"
    inside = f" in {loc.path} ({loc.type_name})" if loc.path else ""
    return f"{loc.kind}{inside}: {where}"


def member_at(struct: StructType, offset: int) -> MemberAt:
    """What sits at byte ``offset`` of ``struct``: the deepest members covering it, else a hole or padding.

    A union gives one location per alternative that covers the byte; an array
    member gives the element's index.  Raises LayoutcalcError for an offset outside the struct.
    """
    if not 0 <= offset < max(struct.size_bytes, 1) or struct.size_bytes == 0:
        raise LayoutcalcError(f"{struct.tag}: offset {offset} is outside its {struct.size_bytes} bytes")
    top = next((Location("member", m.name or "", m.offset_bytes, member_byte_size(m), m.type.c_name())
                for m in struct.members if _start(m) <= offset < _end(m)), None)
    return MemberAt(struct.name or struct.tag, struct.size_bytes, offset, _locate(struct, offset, 0, ""), top)


def _join(prefix: str, name: Optional[str]) -> str:
    if not name:
        return prefix
    return f"{prefix}.{name}" if prefix else name


def _locate(struct: StructType, offset: int, base: int, prefix: str, depth: int = 0) -> list[Location]:
    """Locations at ``offset`` (relative to ``struct``, which starts at byte ``base`` of the outermost)."""
    found: list[Location] = []
    for member in struct.members:
        if _start(member) <= offset < _end(member):
            found.extend(_descend(member, offset, base, _join(prefix, member.name), depth))
    if found or depth > 64:
        return found
    kind = "padding" if struct.is_union or all(_end(m) <= offset for m in struct.members) else "hole"
    start = max([_end(m) for m in struct.members if _end(m) <= offset] or [0])
    end = min([_start(m) for m in struct.members if _start(m) > offset] or [struct.size_bytes])
    return [Location(kind, prefix, base + start, end - start, struct.c_name())]


def _start(member: Member) -> int:
    return member.bit_offset // 8 if member.bit_size is not None else member.offset_bytes


def _end(member: Member) -> int:
    """The byte after ``member`` (for a bitfield, after its last bit)."""
    if member.bit_size is not None:
        return (member.bit_offset + member.bit_size + 7) // 8
    return member.offset_bytes + member_byte_size(member)


def _descend(member: Member, offset: int, base: int, path: str, depth: int) -> list[Location]:
    """``member`` of a struct at byte ``base`` covers its byte ``offset``: go inside its type while it has members."""
    if member.bit_size is not None:
        return [Location("member", path, base + member.offset_bytes, member.size_bytes, member.type.c_name(),
                         base * 8 + member.bit_offset, member.bit_size)]
    start = base + member.offset_bytes
    offset -= member.offset_bytes
    t, shown, size = member.type.strip(), member.type, member_byte_size(member)
    while isinstance(t, ArrayType) and t.count and t.element.size_bytes > 0:
        step = t.element.size_bytes
        path, start, offset = f"{path}[{offset // step}]", start + offset // step * step, offset % step
        shown, size, t = t.element, step, t.element.strip()
    if isinstance(t, StructType) and t.members:
        return _locate(t, offset, start, path, depth + 1)
    return [Location("member", path, start, size, shown.c_name())]


class Relation(NamedTuple):
    """One line of ``--contains``/``--pointers-to``: the struct, the member (pointers), the depth (--recursive)."""

    struct: str
    member: Optional[str] = None
    depth: int = 0
    via: Optional[str] = None  # --pointers-to --recursive: the container of the type that is pointed to

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in self._asdict().items() if value is not None}


class Relations(NamedTuple):
    """``show --contains NAME`` or ``show --pointers-to NAME``: pahole's lines, from the unit pahole looks in."""

    kind: str  # "contains" or "pointers-to"
    name: str
    unit: Optional[str]  # None: no type of that name anywhere
    lines: list[Relation]

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "unit": self.unit,
                "relations": [line.as_dict() for line in self.lines]}

    def text(self) -> str:
        """pahole's output: ``NAME`` per container (indented two spaces a level), ``NAME: member`` per pointer."""
        out = []
        for line in self.lines:
            if line.member is None:
                out.append("  " * line.depth + line.struct)
            else:
                via = f" (to {line.via})" if line.via else ""
                out.append(f"{line.struct}: {line.member}{via}")
        return "".join(f"{text}\n" for text in out)


def edges_of_structs(structs: "Sequence[StructType]", name: str, unit: str) -> Optional["UnitEdges"]:
    """Every definition of a whole build as one unit (``--all-units``): types compared by kind and name."""
    from ..model import PointerType
    from ..readers.edges import UnitEdges as Edges
    ids: dict[tuple[str, str], int] = {}

    def key(t: object) -> int:
        if isinstance(t, StructType) and t.name:
            return ids.setdefault((t.kind, t.name), len(ids) + 1)
        return 0

    aggregates = []
    for struct in structs:
        if not struct.name or struct.is_declaration:
            continue
        members = [(m.name or "", key(m.type), key(m.type.target) if isinstance(m.type, PointerType) else None)
                   for m in struct.members]
        shape = (struct.name, struct.size_bytes, tuple((m.name, m.bit_offset, m.bit_size) for m in struct.members))
        aggregates.append((struct.name, key(struct), members, shape))
    target = ids.get(("struct", name)) or ids.get(("union", name))
    return Edges(unit, target, aggregates) if target else None


def containers(edges: UnitEdges, recursive: bool = False) -> list[Relation]:
    """pahole's ``--contains``: named structs/unions of the unit with a member of the target type, once per name.

    ``recursive`` adds, level by level, those that embed one of the previous
    level's structs by value (the transitive set; pahole's ``-d`` means
    something else: which of a container's own member types also contain it).
    """
    found: dict[object, tuple[str, int]] = {}  # by shape: pahole prints each distinct definition of a name
    targets = {edges.target}
    depth = 0
    while targets:
        level: set[int] = set()
        for name, offset, members, shape in edges.aggregates:
            if shape not in found and any(type_offset in targets for _, type_offset, _ in members):
                found[shape] = (name, depth)
                level.add(offset)
        if not recursive:
            break
        targets, depth = level, depth + 1
    return [Relation(name, depth=depth) for name, depth in found.values()]


def pointers_to(edges: UnitEdges, recursive: bool = False) -> list[Relation]:
    """pahole's ``--find_pointers_to``: ``struct: member`` for each member pointing to the target type.

    The first struct of a name answers for the name, as in pahole.  ``recursive``
    adds the pointers to every struct that embeds the target, directly or not
    (each line says which).
    """
    targets: dict[int, Optional[str]] = {edges.target: None}
    if recursive:
        names = {relation.struct for relation in containers(edges, recursive=True)}
        for name, offset, _, _ in edges.aggregates:
            if name in names:
                targets.setdefault(offset, name)
    result: list[Relation] = []
    done: set[object] = set()
    for name, _, members, shape in edges.aggregates:
        if shape in done:
            continue
        hits = [(member, targets[pointee]) for member, _, pointee in members if pointee in targets]
        if hits:
            done.add(shape)
            result.extend(Relation(name, member, via=via) for member, via in hits)
    return result


class SizeRow(NamedTuple):
    """One struct of ``sizes``: pahole's --sizes columns and what the hunting filters look at.

    ``waste`` is the bytes of holes plus tail padding; ``repacked``/``saved``
    are set with ``--packable`` (the size :mod:`.reorganize` reaches, and the difference).
    """

    name: str
    size: int
    holes: int
    sum_holes: int
    padding: int
    members: int
    bit_holes: int
    repacked: Optional[int] = None

    @property
    def waste(self) -> int:
        return self.sum_holes + self.padding

    @property
    def saved(self) -> Optional[int]:
        return None if self.repacked is None else self.size - self.repacked

    def as_dict(self) -> dict[str, object]:
        row: dict[str, object] = dict(self._asdict())
        row["waste"] = self.waste
        if self.repacked is None:
            del row["repacked"]
        else:
            row["saved"] = self.saved
        return row


class SizeFilter(NamedTuple):
    """The ``sizes`` filters; zero/None/False leave a row in."""

    min_holes: int = 0
    min_bit_holes: int = 0
    min_padding: int = 0
    min_members: int = 0
    packable: bool = False
    names: Optional[frozenset[str]] = None
    sort: Optional[str] = None  # "waste", "size" or "holes": largest first; None keeps file order

    @property
    def structs_only(self) -> bool:
        """pahole leaves unions out once a hole, padding or packing filter is given."""
        return bool(self.min_holes or self.min_bit_holes or self.min_padding or self.packable)


SORT_KEYS = ("waste", "size", "holes")


def size_rows(structs: "Sequence[StructType]", chosen: SizeFilter,
              repack: "Optional[Callable[[StructType], int]]" = None) -> list[SizeRow]:
    """The rows of ``sizes`` that pass ``chosen``, sorted as it asks (pahole's -H, -B, -P, -n; padlock's waste).

    ``repack`` gives a struct's repacked size; it is needed (and called only
    for structs with a hole or padding) when ``chosen.packable`` is set.
    """
    from .layout import layout_stats
    rows = []
    for struct in structs:
        if chosen.names is not None and struct.name not in chosen.names:
            continue
        if struct.is_union and chosen.structs_only:
            continue
        stats = None if struct.is_union else layout_stats(struct, 1)
        row = SizeRow(struct.name or "", struct.size_bytes, stats.holes if stats else 0,
                      stats.sum_holes if stats else 0, stats.padding if stats else 0, len(struct.members),
                      stats.bit_holes if stats else 0)
        if row.holes < chosen.min_holes or row.bit_holes < chosen.min_bit_holes \
                or row.padding < chosen.min_padding or row.members < chosen.min_members:
            continue
        if chosen.packable:
            if not row.waste or repack is None:
                continue
            row = row._replace(repacked=repack(struct))
            if not row.saved or row.saved <= 0:
                continue
        rows.append(row)
    if chosen.sort is not None:
        field = chosen.sort
        rows.sort(key=lambda r: (-(r.waste if field == "waste" else r.size if field == "size" else r.holes), r.name))
    return rows


def size_rows_text(rows: "Sequence[SizeRow]", chosen: SizeFilter) -> str:
    """pahole's columns, tab separated: ``--sizes`` (name, size, holes); ``-P`` (name, size, repacked, saved)
    with --packable; members (``-n``), padding or waste appended when a filter or the sort asks about them."""
    lines = []
    for row in rows:
        if chosen.packable:
            cells = [row.name, row.size, row.repacked, row.saved]
        else:
            cells = [row.name, row.size, row.holes]
        if chosen.min_members:
            cells.append(row.members)
        if chosen.min_padding:
            cells.append(row.padding)
        if chosen.sort == "waste":
            cells.append(row.waste)
        lines.append("\t".join(str(cell) for cell in cells) + "\n")
    return "".join(lines)
