"""Cost through containment: a struct that grows grows every struct that embeds it by value.

:func:`grow_containers` takes the structs a patch re-laid out (name -> new
layout) and finds, transitively, every struct of the build holding one of
them by value (directly, in an array, or inside an anonymous struct or
union); each container is re-laid out with the grown member inside it by the
what-if engine (:func:`~layoutcalc.analysis.whatif.relayout`), keeping every
other member's known alignment.  Each result says the path from the container
down to the grown struct (``via``: ``ext4_inode_info.vfs_inode``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from ..abi import Abi
from ..analysis.facts import debug_info_of, struct_facts
from ..analysis.relayout import relayout
from ..model import ArrayType, Build, Member, QualifiedType, StructType, Type, TypedefType


@dataclass(frozen=True)
class Grown:
    """A struct before and after, and how the change reached it (``via``: empty for the changed struct)."""

    name: str
    before: StructType
    after: StructType
    via: str

    @property
    def size_off(self) -> int:
        return self.before.size_bytes

    @property
    def size_on(self) -> int:
        return self.after.size_bytes


def _core(t: Type) -> Type:
    while isinstance(t, (TypedefType, QualifiedType)):
        t = t.target
    return t


def _embedded(t: Type) -> Optional[StructType]:
    """The struct a member holds by value (through typedefs, qualifiers and arrays), if any."""
    t = _core(t)
    while isinstance(t, ArrayType):
        t = _core(t.element)
    return t if isinstance(t, StructType) else None


class _Grower:
    def __init__(self, build: Build, abi: Abi, changed: dict[str, StructType]) -> None:
        self.build, self.abi = build, abi
        self.changed = changed
        self.memo: dict[int, Optional[tuple[StructType, str]]] = {}
        self.debug_info = debug_info_of(build)

    def _key(self, struct: StructType) -> Optional[str]:
        return struct.name if struct.name and struct.name in self.changed else None

    def grow(self, struct: StructType, depth: int = 0) -> Optional[tuple[StructType, str]]:
        """The struct re-laid out with its grown members, and the path to the first grown one."""
        key = self._key(struct)
        if key is not None:
            return self.changed[key], ""
        if id(struct) in self.memo:
            return self.memo[id(struct)]
        self.memo[id(struct)] = None  # cycles by value are impossible in C; guard anyway
        if depth > 64:
            return None
        members: list[Member] = []
        via = ""
        facts = None
        for index, member in enumerate(struct.members):
            inner = _embedded(member.type)
            grown = self.grow(inner, depth + 1) if inner is not None else None
            if grown is None:
                members.append(member)
                continue
            if facts is None:
                facts = struct_facts(struct, self.abi, self.debug_info)
            new_type = _replace(member.type, grown[0])
            forced = facts.members[index].forced if index < len(facts.members) else None
            members.append(dataclasses.replace(member, type=new_type,
                                               alignment_attr=member.alignment_attr or forced))
            if not via:
                name = member.name or "(anonymous)"
                via = name + ("." + grown[1] if grown[1] else "")
        if not via:
            return None
        after = relayout(struct, self.abi, members, self.debug_info)
        self.memo[id(struct)] = (after, via)
        return after, via


def _replace(t: Type, new: StructType) -> Type:
    """``t`` with its embedded struct replaced by ``new`` (arrays keep their count)."""
    core = _core(t)
    if isinstance(core, ArrayType):
        return dataclasses.replace(core, element=_replace(core.element, new))
    return new


def grow_containers(build: Build, abi: Abi, changed: dict[str, StructType]) -> list[Grown]:
    """Every named struct of ``build`` that holds a changed struct by value, re-laid out (sorted by name)."""
    grower = _Grower(build, abi, changed)
    out = []
    for name, struct in sorted(build.structs.items()):
        if name in changed:
            continue
        grown = grower.grow(struct)
        if grown is not None:
            out.append(Grown(name, struct, grown[0], f"{name}.{grown[1]}"))
    return out
