"""The everyday pahole questions: which member sits at byte N, who embeds a type, who points to it.

``member_at`` answers what a KASAN or oops report asks (an offset into a
struct): the member path, nested members included, or that the byte is a hole
or padding.  ``containers`` and ``pointers_to`` are ``pahole --contains`` and
``pahole --find_pointers_to``: the named structs and unions with a direct
member of that type, or of a pointer to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Optional

from ..errors import LayoutcalcError
from ..model import ArrayType, Member, PointerType, StructType, Type, TypedefType
from .layout import member_byte_size


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


def _is_named(t: Type, name: str) -> bool:
    """Is ``t`` directly the struct/union (or typedef) called ``name``?  pahole compares type ids, not typedefs."""
    if isinstance(t, StructType):
        return t.name == name
    return isinstance(t, TypedefType) and t.name == name


def containers(structs: Iterable[StructType], name: str) -> list[str]:
    """Named structs and unions with a direct member of type ``name`` (``pahole --contains``), first seen first."""
    result: dict[str, None] = {}
    for struct in structs:
        if struct.name and not struct.is_declaration and any(_is_named(m.type, name) for m in struct.members):
            result.setdefault(struct.name)
    return list(result)


def containers_recursive(structs: Sequence[StructType], name: str) -> list[tuple[str, int]]:
    """Every struct that embeds ``name`` by value, directly or through others: (name, depth), breadth first."""
    seen: dict[str, int] = {}
    frontier = [name]
    depth = 1
    while frontier:
        found = []
        for inner in frontier:
            for outer in containers(structs, inner):
                if outer not in seen and outer != name:
                    seen[outer] = depth
                    found.append(outer)
        frontier, depth = found, depth + 1
    return list(seen.items())


def pointers_to(structs: Iterable[StructType], name: str) -> list[tuple[str, str]]:
    """(struct, member) for each direct member that is a pointer to ``name`` (``pahole --find_pointers_to``)."""
    result: list[tuple[str, str]] = []
    done: set[str] = set()
    for struct in structs:
        if not struct.name or struct.is_declaration or struct.name in done:
            continue
        hits = [m.name or "" for m in struct.members
                if isinstance(m.type, PointerType) and _is_named(m.type.target, name)]
        if hits:
            done.add(struct.name)
            result.extend((struct.name, member) for member in hits)
    return result
