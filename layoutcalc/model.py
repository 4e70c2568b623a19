"""The layout model: pure data, shared by every reader and every analysis.

Readers (DWARF, BTF, snapshot JSON) build these objects; analyses (layout
statistics, what-if, slab) read them.  Nothing here knows where the data came
from.  Sizes are in bytes (``size_bytes``); member positions are kept in bits
(``bit_offset``, from the start of the enclosing aggregate) so that bitfields
need no special case, and byte views are derived properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional, Union

from .errors import NotFoundError
from .provenance import Provenance


class Type:
    """Base of all types.  Subclasses are plain dataclasses compared by identity."""

    size_bytes: int = 0

    def c_name(self) -> str:
        """The type as a C programmer writes it, without a declarator name."""
        return self.declare("")

    def declare(self, name: str) -> str:
        """A C declaration of ``name`` with this type (``char comm[16]``)."""
        raise NotImplementedError

    def strip(self) -> "Type":
        """This type with typedefs and qualifiers removed."""
        return self


def _join(base: str, declarator: str) -> str:
    if not declarator:
        return base
    if declarator.startswith("*"):
        return f"{base} {declarator}" if not base.endswith("*") else base + declarator
    return f"{base} {declarator}"


@dataclass(eq=False)
class VoidType(Type):
    size_bytes: int = 0

    def declare(self, name: str) -> str:
        return _join("void", name)


@dataclass(eq=False)
class BaseType(Type):
    """An arithmetic type.  ``encoding`` is signed, unsigned, float, bool or char."""

    name: str
    size_bytes: int
    encoding: str = "signed"

    def declare(self, name: str) -> str:
        return _join(self.name, name)


@dataclass(eq=False)
class EnumType(Type):
    """``enumerators`` (name, value) are kept for anonymous enums only: pahole lists them inline."""

    name: Optional[str]
    size_bytes: int
    encoding: str = "unsigned"
    is_declaration: bool = False
    enumerators: list[tuple[str, int]] = field(default_factory=list)

    def declare(self, name: str) -> str:
        return _join(f"enum {self.name}" if self.name else "enum", name)


@dataclass(eq=False)
class PointerType(Type):
    target: Type
    size_bytes: int

    def declare(self, name: str) -> str:
        inner = "*" + name
        if isinstance(self.target, (ArrayType, FunctionType)):
            inner = f"({inner})"
        return self.target.declare(inner)


@dataclass(eq=False)
class ArrayType(Type):
    """``count`` is None for a flexible array member (``[]``) or an unknown bound."""

    element: Type
    count: Optional[int]

    @property
    def size_bytes(self) -> int:  # type: ignore[override]
        return (self.count or 0) * self.element.size_bytes

    def declare(self, name: str) -> str:
        bound = "" if self.count is None else str(self.count)
        return self.element.declare(f"{name}[{bound}]")


@dataclass(eq=False)
class TypedefType(Type):
    name: str
    target: Type
    alignment_attr: Optional[int] = None

    @property
    def size_bytes(self) -> int:  # type: ignore[override]
        return self.target.size_bytes

    def declare(self, name: str) -> str:
        return _join(self.name, name)

    def strip(self) -> Type:
        return self.target.strip()


@dataclass(eq=False)
class QualifiedType(Type):
    qualifier: str  # const, volatile, restrict, _Atomic
    target: Type

    @property
    def size_bytes(self) -> int:  # type: ignore[override]
        return self.target.size_bytes

    def declare(self, name: str) -> str:
        if isinstance(self.target, PointerType):
            return self.target.declare(f" {self.qualifier} {name}".rstrip())
        return f"{self.qualifier} {self.target.declare(name)}"

    def strip(self) -> Type:
        return self.target.strip()


@dataclass(eq=False)
class FunctionType(Type):
    return_type: Type
    params: list[Type] = field(default_factory=list)
    variadic: bool = False
    size_bytes: int = 0

    def declare(self, name: str) -> str:
        args = ", ".join(p.c_name() for p in self.params) or "void"
        if self.variadic:
            args += ", ..."
        return self.return_type.declare(f"{name}({args})")


@dataclass(eq=False)
class Member:
    """A direct member of a struct or union.

    ``bit_offset`` counts from the start of the enclosing aggregate;
    ``bit_size`` is set only for bitfields.  ``alignment_attr`` is an explicit
    alignment on the member as the debug info records it (DW_AT_alignment);
    what the layout implies beyond that is in :mod:`layoutcalc.analysis.facts`.
    """

    name: Optional[str]
    type: Type
    bit_offset: int
    bit_size: Optional[int] = None
    alignment_attr: Optional[int] = None

    @property
    def is_bitfield(self) -> bool:
        return self.bit_size is not None

    @property
    def size_bytes(self) -> int:
        """Bytes of the member's type (the storage unit for a bitfield)."""
        return self.type.size_bytes

    @property
    def offset_bytes(self) -> int:
        """pahole's byte offset: for a bitfield, the start of its storage unit."""
        if self.bit_size is None:
            return self.bit_offset // 8
        unit = self.type.size_bytes
        if unit <= 0:
            return self.bit_offset // 8
        return (self.bit_offset // (unit * 8)) * unit

    @property
    def bitfield_offset(self) -> int:
        """Bit position inside the storage unit (0 for ordinary members)."""
        if self.bit_size is None:
            return 0
        return self.bit_offset - self.offset_bytes * 8


@dataclass(eq=False)
class StructType(Type):
    """A struct or union (``kind``).  ``name`` is None for anonymous ones."""

    kind: str
    name: Optional[str]
    size_bytes: int
    members: list[Member] = field(default_factory=list)
    alignment_attr: Optional[int] = None
    is_packed: bool = False
    is_declaration: bool = False
    origin: str = ""  # where it was read from: "DIE 0x1234", "BTF id 42"

    @property
    def is_union(self) -> bool:
        return self.kind == "union"

    @property
    def tag(self) -> str:
        return f"{self.kind} {self.name}" if self.name else f"{self.kind} <anonymous>"

    def declare(self, name: str) -> str:
        return _join(f"{self.kind} {self.name}" if self.name else self.kind, name)

    def get_member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise NotFoundError(f"{self.tag} has no member named '{name}'")

    def has_member(self, name: str) -> bool:
        return any(m.name == name for m in self.members)

    def holds(self, name: str) -> bool:
        """Is ``name`` a member, directly or inside an anonymous struct/union member (as C sees it)?"""
        return self.member_index(name) is not None

    def member_index(self, name: str) -> Optional[int]:
        """Index of the top-level member that is, or (anonymous) contains, the member ``name``.

        Anonymous unions and structs are looked into, so ``__session`` in 2.6.22's
        ``union { pid_t session; pid_t __session; };`` gives the union's index.
        The walk is iterative, so a damaged type graph cannot exhaust the stack.
        """
        for index, member in enumerate(self.members):
            if member.name == name:
                return index
            if member.name:
                continue
            stack = [member.type.strip()]
            seen: set[int] = set()
            while stack:
                inner = stack.pop()
                if not isinstance(inner, StructType) or id(inner) in seen:
                    continue
                seen.add(id(inner))
                for nested in inner.members:
                    if nested.name == name:
                        return index
                    if not nested.name:
                        stack.append(nested.type.strip())
        return None


AnyType = Union[
    VoidType, BaseType, EnumType, PointerType, ArrayType, TypedefType,
    QualifiedType, FunctionType, StructType,
]


@dataclass
class Build:
    """Everything read from one input: its target and its named types.

    ``arch`` is an ABI name known to :mod:`layoutcalc.abi` (x86_64, i386,
    aarch64, arm, ppc64le, s390x, riscv64).  ``provenance`` records where the
    data came from (file, build-id, producer, DWARF version, package...): a frozen
    :class:`~layoutcalc.provenance.Provenance`, replaced, never changed in place.
    """

    name: str
    arch: str
    address_size: int
    byte_order: str  # "little" or "big"
    structs: dict[str, StructType] = field(default_factory=dict)
    unions: dict[str, StructType] = field(default_factory=dict)
    typedefs: dict[str, TypedefType] = field(default_factory=dict)
    base_types: dict[str, BaseType] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    origin: str = ""  # the path it was read from, for messages (not part of a snapshot)
    # Struct, union and typedef names a reader passed over without reading them (for suggestions).
    names_seen: set[str] = field(default_factory=set)
    # With a reader's every_definition: each distinct definition of every named struct and
    # union, same names included, in file order (what pahole --sizes lists).
    variants: list[StructType] = field(default_factory=list)

    def get_struct(self, name: str) -> StructType:
        """The complete definition of ``struct name`` (or ``union name``)."""
        bare = name.split(" ", 1)[1] if name.startswith(("struct ", "union ")) else name
        if not name.startswith("union ") and bare in self.structs:
            return self.structs[bare]
        if bare in self.unions:
            return self.unions[bare]
        raise NotFoundError(f"{self.origin or self.name}: no struct named '{bare}'")

    def has_struct(self, name: str) -> bool:
        try:
            self.get_struct(name)
        except NotFoundError:
            return False
        return True

    def iter_structs(self) -> Iterator[StructType]:
        yield from self.structs.values()


# A C++ base class subobject is a member of this name (pahole's); a member type the unit only declares,
# sized by the DWARF reader from the next member's offset, carries DECLARATION_ONLY in its origin.
ANCESTOR = "<ancestor>"
DECLARATION_ONLY = "declaration only in this unit, sized up to the next member"
