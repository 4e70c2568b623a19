"""The same source on another ABI: re-lay-out a build's structs for a different target.

``--arch`` asks what a struct would look like if the same declarations were
compiled for another target.  The recorded offsets belong to the build's own
ABI, so they cannot be explained under the new one; instead every type is
rebuilt from its declarations: pointers and ``long`` take the target's word
size, ``long double`` its size, and each struct is laid out afresh under the
target's rules, keeping what the source said beyond offsets (member order,
bitfield widths, packing, and each alignment attribute, recorded or inferred:
the likeliest value :mod:`layoutcalc.analysis.facts` gives).  Hidden gaps
(unnamed bitfields, which DWARF does not record) are not carried over.

Debug info records an alignment attribute's value, not its expression.  A
struct aligned to exactly the source's word size is taken to say
``__aligned(sizeof(void *))`` (``struct callback_head``) and follows the
target's word; typedef attributes (``aligned_u64``) keep their value.  With
that rule the amd64 build's ``struct pid`` retargeted to i386 is 52 bytes,
as in Debian's i386 build.
"""

from __future__ import annotations

import dataclasses

from ..abi import Abi, get_abi
from ..model import (
    ArrayType,
    BaseType,
    Build,
    EnumType,
    FunctionType,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
)
from .facts import DebugInfo, Source, debug_info_of, struct_facts
from .whatif import FieldSpec, add_fields

_WORD_SIZED = {"long int", "long unsigned int", "long", "unsigned long", "long signed int",
               "unsigned long int", "signed long", "signed long int"}


class _Retargeter:
    def __init__(self, source_word: int, source_abi: Abi, debug_info: DebugInfo, abi: Abi) -> None:
        self.source_word = source_word
        self.source_abi = source_abi
        self.debug_info = debug_info
        self.abi = abi
        self.done: dict[int, Type] = {}

    def word_scaled(self, align: "int | None") -> "int | None":
        """An alignment equal to the source's word size becomes the target's."""
        if align == self.source_word and self.source_word != self.abi.pointer_size:
            return self.abi.pointer_size
        return align

    def member_alignment(self, member_type: Type, align: "int | None") -> "int | None":
        """A member inherits its struct type's word-sized attribute: scale it with the type's."""
        inner = member_type.strip()
        while isinstance(inner, ArrayType):
            inner = inner.element.strip()
        if isinstance(inner, StructType) and inner.alignment_attr == align:
            return self.word_scaled(align)
        return align

    def convert(self, t: Type) -> Type:
        key = id(t)
        if key in self.done:
            return self.done[key]
        result = self._convert(t)
        self.done[key] = result
        return result

    def _convert(self, t: Type) -> Type:
        if isinstance(t, BaseType):
            return self._base(t)
        if isinstance(t, PointerType):
            pointer = PointerType(t.target, self.abi.pointer_size)
            self.done[id(t)] = pointer
            pointer.target = self.convert(t.target) if not isinstance(t.target, StructType) else t.target
            return pointer
        if isinstance(t, ArrayType):
            return ArrayType(self.convert(t.element), t.count)
        if isinstance(t, TypedefType):
            typedef = TypedefType(t.name, t.target, t.alignment_attr)
            self.done[id(t)] = typedef
            typedef.target = self.convert(t.target)
            return typedef
        if isinstance(t, QualifiedType):
            return QualifiedType(t.qualifier, self.convert(t.target))
        if isinstance(t, StructType) and not t.is_declaration:
            return self._struct(t)
        if isinstance(t, (EnumType, FunctionType)):
            return t
        return t

    def _base(self, t: BaseType) -> BaseType:
        if t.name in _WORD_SIZED:
            return BaseType(t.name, self.abi.pointer_size, t.encoding)
        if t.name == "long double":
            return BaseType(t.name, self.abi.long_double_size, t.encoding)
        return t

    def _struct(self, struct: StructType) -> StructType:
        facts = struct_facts(struct, self.source_abi, self.debug_info)
        inferred = facts.alignment if facts.source is Source.SIZE else None
        struct_align = self.word_scaled(struct.alignment_attr) or inferred
        empty = StructType(struct.kind, struct.name, 0, [], alignment_attr=struct_align,
                           is_packed=facts.packed, origin=struct.origin)
        specs = [FieldSpec(m.name or "", self.convert(m.type), None, m.bit_size,
                           self.member_alignment(m.type, m.alignment_attr) or _inferred(known.forced, known.source))
                 for m, known in zip(struct.members, facts.members)]
        laid_out = add_fields(empty, specs, self.abi, "append").after
        for member, spec in zip(laid_out.members, struct.members):
            member.name = spec.name  # anonymous members stay anonymous
        return dataclasses.replace(laid_out, alignment_attr=struct_align, is_packed=facts.packed)


def _inferred(forced: "int | None", source: Source) -> "int | None":
    return forced if source is Source.HOLE else None


def retarget(build: Build, abi: Abi) -> Build:
    """``build`` as the same declarations would be laid out for ``abi``."""
    if build.arch == abi.name:
        return build
    converter = _Retargeter(build.address_size, get_abi(build.arch), debug_info_of(build), abi)

    def table(source: dict[str, Type]) -> dict[str, Type]:
        return {name: converter.convert(t) for name, t in source.items()}

    return dataclasses.replace(
        build, arch=abi.name, address_size=abi.pointer_size, byte_order=abi.byte_order,
        structs=table(build.structs), unions=table(build.unions),  # type: ignore[arg-type]
        typedefs=table(build.typedefs), base_types=table(build.base_types),  # type: ignore[arg-type]
        provenance=dataclasses.replace(build.provenance, retargeted_from=build.arch, alignment_attributes=True),
    )
