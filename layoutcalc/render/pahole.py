"""pahole's text listing of a struct, union or typedef, character for character.

A port of the printing half of dwarves 1.24 (``dwarves_fprintf.c``:
``__class__fprintf``, ``union__fprintf``, ``class_member__fprintf``,
``type__fprintf``, ``array_type__fprintf``, ``ftype__fprintf``,
``__tag__name``, ``typedef__fprintf``) and of the two bits of state it keeps
while printing (``class__infer_packed_attributes`` and the cacheline counter),
with pahole's defaults (``pahole -F dwarf -C NAME``: type column 26, name
column 23, or 21 for a union printed on its own).

Holes, bit holes and padding come from :func:`layoutcalc.analysis.layout.layout_stats`,
which ports ``class__find_holes``.  Everything else is computed here while
printing, exactly where pahole computes it, so the summary block is pahole's
even where pahole's own bookkeeping is odd.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

from ..analysis.layout import LayoutStats, layout_stats, member_byte_size
from ..analysis.layout import cachelines as count_cachelines
from ..model import (
    ANCESTOR,
    DECLARATION_ONLY,
    ArrayType,
    BaseType,
    EnumType,
    FunctionType,
    Member,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)

TYPE_SPACING = 26
NAME_SPACING = 23
UNION_NAME_SPACING = 21
EXPANDED_NAME_SPACING = 55  # tag__fprintf's name column under --expand_types
_NAME_BUFFER = 127  # pahole formats type names into 128-byte buffers
_PACKED = " __attribute__((__packed__))"

# (the struct's own __aligned__, each member's __aligned__) as pahole shows them
Alignments = Callable[[StructType], tuple[Optional[int], Sequence[Optional[int]]]]


def recorded_alignments(struct: StructType) -> tuple[Optional[int], Sequence[Optional[int]]]:
    """The attributes DWARF records (DW_AT_alignment): what ``pahole -F dwarf`` shows."""
    return struct.alignment_attr, [m.alignment_attr for m in struct.members]


@dataclass(frozen=True)
class _Conf:
    """pahole's ``struct conf_fprintf``, the fields the listing uses."""

    indent: int = 0
    type_spacing: int = TYPE_SPACING
    name_spacing: int = NAME_SPACING
    prefix: Optional[str] = None
    suffix: Optional[str] = None
    emit_stats: bool = True
    suppress_offset_comment: bool = False
    rel_offset: bool = False
    base_offset: int = 0
    union_member: bool = False
    first_member: bool = False
    last_member: bool = False
    cacheline: Optional[list[int]] = None  # pahole's cachelinep: shared with nested printers


@dataclass
class _Printer:
    """One listing: the build's pointer size and pahole's per-type memos."""

    address_size: int
    cacheline_size: int
    alignments: Alignments = recorded_alignments
    has_alignment_info: bool = True  # DWARF: pahole prints its "Force padding" block
    expand_types: bool = False  # pahole -E: every member type printed in full, typedefs named in a comment
    hex_fmt: bool = False  # pahole --hex: offsets, sizes and enumerator values in hexadecimal
    holes: dict[int, LayoutStats] = field(default_factory=dict)
    packed: dict[int, bool] = field(default_factory=dict)
    natural: dict[int, int] = field(default_factory=dict)
    pinned: list[Type] = field(default_factory=list)  # keeps memo keys' objects alive

    # -- dwarves.c: holes, natural alignment, inferred __packed__ ---------------------------

    def scan(self, struct: StructType) -> LayoutStats:
        """class__find_holes, memoised per struct object."""
        key = id(struct)
        if key not in self.holes:
            self.pinned.append(struct)
            self.holes[key] = layout_stats(struct, 1, self.cacheline_size)
        return self.holes[key]

    def natural_alignment(self, t: Optional[Type]) -> int:
        """tag__natural_alignment of an already stripped type."""
        result = 1
        if isinstance(t, PointerType):
            result = self.address_size
        elif isinstance(t, (BaseType, EnumType)):
            result = t.size_bytes
        elif isinstance(t, StructType):
            key = id(t)
            if key not in self.natural:
                self.pinned.append(t)
                self.natural[key] = max([self.natural_alignment(_strip(m.type)) for m in t.members] or [0])
            result = self.natural[key]
        elif isinstance(t, ArrayType):
            result = self.natural_alignment(_strip(t.element))
        return result or 1

    def mark_packed(self, struct: StructType, packed: bool) -> bool:
        self.pinned.append(struct)
        self.packed[id(struct)] = packed
        return packed

    def infer_packed(self, struct: StructType) -> bool:
        """class__infer_packed_attributes (structs only; the first answer sticks)."""
        if struct.is_union:
            return False
        if id(struct) in self.packed:
            return self.packed[id(struct)]
        scan = self.scan(struct)
        if scan.padding or scan.holes:
            for member in struct.members:
                inner = _strip(member.type)
                if isinstance(inner, StructType) and not inner.is_union \
                        and member.offset_bytes % self.natural_alignment(inner):
                    self.mark_packed(inner, True)
            return self.mark_packed(struct, False)
        widest = 1
        for member in struct.members:
            natural = self.natural_alignment(_strip(member.type))
            if natural == 1:
                continue
            widest = max(widest, natural)
            if member.offset_bytes % natural:
                return self.mark_packed(struct, True)
        return self.mark_packed(struct, (widest != 1 and struct.alignment_attr == 1)
                                or struct.size_bytes % widest != 0)

    def infer_union_packed(self, union: StructType) -> None:
        """union__infer_packed_attributes: structs whose alignment does not divide the union's size."""
        if id(union) in self.packed:
            return
        for member in union.members:
            inner = _strip(member.type)
            if isinstance(inner, StructType) and not inner.is_union \
                    and union.size_bytes % self.natural_alignment(inner):
                self.mark_packed(inner, True)
        self.mark_packed(union, False)

    # -- dwarves_fprintf.c: names -------------------------------------------------------------

    def tag_name(self, t: Optional[Type], limit: int = _NAME_BUFFER) -> str:
        """__tag__name into a buffer of ``limit`` characters."""
        return self._tag_name(t)[:limit]

    def _tag_name(self, t: Optional[Type]) -> str:
        if t is None or isinstance(t, VoidType):
            return "void"
        if isinstance(t, BaseType):
            return t.name
        if isinstance(t, PointerType):
            return self.pointer_name(t)
        if isinstance(t, QualifiedType):
            inner = self.tag_name(t.target)
            if t.qualifier == "restrict":
                return f"{inner} restrict "
            prefix = f"{t.qualifier} " if t.qualifier in ("const", "volatile") else ""
            return f"{prefix}{inner} "
        if isinstance(t, ArrayType):
            return self._tag_name(t.element)
        if isinstance(t, FunctionType):
            return self.ftype(t, None, inlined=False, is_pointer=False, type_spacing=0, conf=_Conf())
        if isinstance(t, StructType):
            return f"{t.kind} {t.name or ''}"
        if isinstance(t, EnumType):
            return f"enum {t.name or ''}"
        if isinstance(t, TypedefType):
            return t.name
        return ""

    def pointer_name(self, pointer: PointerType) -> str:
        """tag__ptr_name: ``struct task_struct *``, ``const char  *``, ``char * const *``."""
        target: Type = pointer.target
        if isinstance(target, VoidType):
            return "void *"
        const_pointer = ""
        if isinstance(target, QualifiedType) and target.qualifier == "const" \
                and isinstance(target.target, PointerType):
            const_pointer = "const "
            target = target.target
        return f"{self._tag_name(target)[:1023]} {const_pointer}*"

    # -- dwarves_fprintf.c: declarations ------------------------------------------------------

    def ftype(self, ftype: FunctionType, name: Optional[str], inlined: bool, is_pointer: bool,
              type_spacing: int, conf: _Conf) -> str:
        """ftype__fprintf with is_prototype set: ``void       (*destructor)(struct sk_buff *)``."""
        return_type = self.tag_name(ftype.return_type)
        text = f"{'inline ' if inlined else ''}{_left(return_type, type_spacing)} " \
               f"({'*' if is_pointer else ''}{name or ''})"
        return text + self.parameters(ftype, conf)

    def parameters(self, ftype: FunctionType, conf: _Conf) -> str:
        """ftype__fprintf_parms (DWARF subroutine types carry no parameter names)."""
        parts = []
        for param in ftype.params:
            if isinstance(param, PointerType) and isinstance(param.target, FunctionType):
                parts.append(self.ftype(param.target, None, False, True, 0, conf))
            elif isinstance(param, FunctionType):
                parts.append("inline " + self.tag_name(param.return_type) + " " + self.parameters(param, conf))
            else:
                parts.append(self.tag_name(param))
        if not parts:
            return "(void)"
        return "(" + ", ".join(parts) + (", ...)" if ftype.variadic else ")")

    def type_text(self, t: Type, name: Optional[str], conf: _Conf) -> str:
        """type__fprintf (``--expand_types`` when the printer expands; no ``--expand_pointers``)."""
        tconf = conf
        out = ""
        if self.expand_types and isinstance(t, TypedefType):
            names = []
            while isinstance(t, TypedefType):
                names.append(t.name)
                t = t.target
            out = f"/* typedef {' -> '.join(names)} */ "
        if _is_aggregate(t):
            tconf = replace(conf, prefix=None, suffix=name, emit_stats=False)
        while True:
            if isinstance(t, PointerType) and not isinstance(t.target, VoidType):
                target = t.target
                if isinstance(target, FunctionType):
                    return out + self.ftype(target, name, False, True, tconf.type_spacing, tconf)
                if _is_aggregate(target) and getattr(target, "name", None) is None:
                    name = f"* {name}"
                    t = target
                    tconf = replace(tconf, rel_offset=True, type_spacing=tconf.type_spacing - 8,
                                    prefix=None, suffix=name, emit_stats=False)
                    continue
            if isinstance(t, FunctionType):
                return out + self.ftype(t, name, False, False, tconf.type_spacing, tconf)
            if isinstance(t, QualifiedType) and t.qualifier == "const":
                out += "const "
                tconf = replace(tconf, type_spacing=tconf.type_spacing - 6)
                if not isinstance(t.target, VoidType):
                    t = t.target
                    continue
            elif isinstance(t, ArrayType):
                return out + self.array_text(t, name, tconf)
            elif isinstance(t, StructType):
                if t.name is not None and not self.expand_types:
                    width = tconf.type_spacing - len(t.kind) - 1
                    return out + f"{t.kind} {_left(t.name, width)} {name or ''}"
                tconf = replace(tconf, type_spacing=tconf.type_spacing - 8)
                if t.is_union:
                    return out + self.union_text(t, tconf)
                return out + self.class_text(t, tconf)
            elif isinstance(t, EnumType):
                if t.name is not None:
                    return out + f"enum {_left(t.name, tconf.type_spacing - 5)} {name or ''}"
                return out + self.anonymous_enum(t, tconf)
            return out + f"{_left(self.tag_name(t), tconf.type_spacing)} {'(null)' if name is None else name}"

    def anonymous_enum(self, enum: EnumType, conf: _Conf) -> str:
        """enumeration__fprintf of an enum defined inline: its enumerators in a column."""
        if not enum.enumerators:
            return "enum"
        indent = min(conf.indent, 16)
        width = max(len(name) for name, _ in enum.enumerators)
        text = "enum {\n"
        for name, raw in enum.enumerators:
            value = raw % (1 << 64)  # libdw reads the constant as a 64-bit unsigned
            if enum.encoding == "signed" and value >= 1 << 63:
                value -= 1 << 64
            shown = _hex(raw % (1 << 64)) if self.hex_fmt else str(value)
            text += "\t" * indent + f"\t{name:<{width}} = {shown},\n"
        text += "\t" * indent + "}"
        if enum.size_bytes != 4:
            text += _PACKED
        return text + (f" {conf.suffix}" if conf.suffix else "")

    def array_text(self, array: ArrayType, name: Optional[str], conf: _Conf) -> str:
        """array_type__fprintf: ``[]`` only for a trailing flexible member of a struct."""
        counts: list[int] = []
        element: Type = array
        while isinstance(element, ArrayType):
            counts.append(element.count or 0)
            element = element.element
        if counts[0] == 0 and isinstance(element, QualifiedType) and element.qualifier == "const":
            element = element.target
        text = self.type_text(element, name, conf)
        single_member = conf.last_member and conf.first_member
        for count in counts:
            if count or not conf.last_member or single_member or conf.union_member:
                text += f"[{count}]"
            else:
                text += "[]"
        return text

    # -- dwarves_fprintf.c: members, structs, unions -------------------------------------------

    def cacheline_boundary(self, conf: _Conf, offset: int) -> str:
        assert conf.cacheline is not None
        line = offset // self.cacheline_size
        if line <= conf.cacheline[0]:
            return ""
        conf.cacheline[0] = line
        into = offset % self.cacheline_size
        start = offset - into
        if into == 0:
            text = f"/* --- cacheline {line} boundary ({start} bytes) --- */\n"
        else:
            text = (f"/* --- cacheline {line} boundary ({start} bytes) was {into} "
                    f"byte{'s' if into > 1 else ''} ago --- */\n")
        return text + _tabs(conf.indent)

    def member_text(self, member: Member, union_member: bool, conf: _Conf, alignment: Optional[int]) -> str:
        """class_member__fprintf: declaration, then the offset/size comment in its column."""
        t = member.type
        size = member_byte_size(member)
        offset = member.offset_bytes
        sconf = conf
        if not conf.rel_offset:
            offset += conf.base_offset
            if not union_member:
                sconf = replace(conf, base_offset=offset)
        boundary = self.cacheline_boundary(conf, offset)
        if member.name == ANCESTOR:  # a C++ base class: pahole comments it out
            text = "/* " + self.type_text(t, None, sconf) + f"{member.name};"
            pad = sconf.type_spacing + sconf.name_spacing - len(text) - 3
            return boundary + text + " */" + " " * max(pad, 1) + self.offset_comment(offset, None, size)
        if _is_aggregate(t):
            text = self.type_text(t, None, sconf)
            if member.name:
                if getattr(t, "name", None) is None:
                    text += " "
                text += member.name
        else:
            text = self.type_text(t, member.name, sconf)
        if member.bit_size is not None:
            text += f":{member.bit_size}"
        aligned = ""
        if alignment:
            aligned = f" __attribute__((__aligned__({alignment})))"
            text += aligned
        text += ";"
        if sconf.suppress_offset_comment:
            return boundary + text
        where = self.offset_comment(offset, member.bitfield_offset if member.bit_size is not None else None, size)
        if _is_aggregate(t) and getattr(t, "name", None) is None:
            used = len(aligned) + (len(member.name) if member.name else -1)
            if isinstance(t, StructType) and not t.is_union and self.packed.get(id(t), False):
                used += len(_PACKED)  # sizeof("__attribute__((__packed__))")
            pad = abs(sconf.type_spacing + sconf.name_spacing - used - 3)  # printf("%*s", width, " ")
        else:
            pad = sconf.type_spacing + sconf.name_spacing - len(text)
        return boundary + text + " " * max(pad, 1) + where

    def offset_comment(self, offset: int, bitfield_offset: Optional[int], size: int) -> str:
        """``/* offset size */`` or ``/* offset:bit size */``, in printf's ``%5u`` or, with --hex, ``%#5x``."""
        if not self.hex_fmt:
            if bitfield_offset is not None:
                return f"/* {offset:5d}:{bitfield_offset:2d} {size:2d} */"
            return f"/* {offset:5d} {size:5d} */"
        if bitfield_offset is not None:
            return f"/* {_hex(offset):>5}:{_hex(bitfield_offset):>2} {_hex(size):>2} */"
        return f"/* {_hex(offset):>5} {_hex(size):>5} */"

    def union_text(self, union: StructType, conf: _Conf) -> str:
        """union__fprintf: every member starts at the union's cacheline again."""
        indent = min(conf.indent, 16)
        out = f"{conf.prefix} " if conf.prefix is not None else ""
        out += f"union{' ' + union.name if union.name else ''} {{\n"
        uconf = replace(conf, indent=indent + 1, union_member=True,
                        cacheline=conf.cacheline if conf.cacheline is not None else [0])
        self.infer_union_packed(union)
        assert uconf.cacheline is not None
        initial = uconf.cacheline[0]
        _, aligned = self.alignments(union)
        for member, alignment in zip(union.members, aligned):
            out += _tabs(uconf.indent) + self.member_text(member, True, uconf, alignment) + "\n"
            uconf.cacheline[0] = initial
        return out + "\t" * indent + "}" + (f" {conf.suffix}" if conf.suffix else "")

    def class_text(self, struct: StructType, conf: _Conf) -> str:
        """__class__fprintf: members with hole comments, then (top level) the summary block."""
        out: list[str] = []
        indent = min(conf.indent, 16)
        cconf = replace(conf, indent=indent + 1,
                        cacheline=conf.cacheline if conf.cacheline is not None else [0])
        tabs = _tabs(cconf.indent)
        head = f"{conf.prefix} " if conf.prefix is not None else ""
        bases = [m.type.c_name().split(" ", 1)[-1] for m in struct.members if m.name == ANCESTOR]
        ancestry = " :" + ",".join(f" {name}" for name in bases) if bases else ""
        out.append(f"{head}struct{' ' + struct.name if struct.name else ''}{ancestry} {{\n")
        self.infer_packed(struct)
        scan = self.scan(struct)
        newline = False
        sum_holes = sum_bit_holes = sum_bytes = sum_bits = 0
        paddings = sum_paddings = forced = forced_holes = sum_forced_holes = 0
        if scan.pre_bit_hole:
            out.append("\n")
            newline = True
            out.append(f"{tabs}/* XXX {_plural(scan.pre_bit_hole, 'bit')} hole, try to pack */\n")
            sum_bit_holes += scan.pre_bit_hole
        if scan.pre_hole:
            if not newline:
                out.append("\n")
                newline = True
            out.append(f"{tabs}/* XXX {_plural(scan.pre_hole, 'byte')} hole, try to pack */\n")
            sum_holes += scan.pre_hole
        last: Optional[int] = None
        last_size = 0
        members = struct.members
        struct_alignment, aligned = self.alignments(struct)
        for index, pos in enumerate(members):
            pos_offset = pos.offset_bytes
            if aligned[index]:
                hole = scan.gaps[last].hole if last is not None else scan.pre_hole
                if hole:
                    forced_holes += 1
                    sum_forced_holes += hole
                forced += 1
            if last is not None and last_size != 0:
                prev = members[last]
                prev_gap = scan.gaps[last]
                if prev_gap.bit_hole and pos.bit_size is not None:
                    width = prev_gap.bit_hole
                    if prev.offset_bytes != pos_offset:
                        out.append(f"\n{tabs}/* Force alignment to the next boundary: */\n")
                        width = 0
                    out.append(tabs + self.type_text(pos.type, "", cconf) + f":{width};\n")
                if pos_offset < prev.offset_bytes or (pos_offset == prev.offset_bytes and prev.bit_size is None
                                                      and pos.bit_size is not None):
                    if not newline:
                        out.append("\n")
                        newline = True
                    out.append(f"{tabs}/* Bitfield combined with previous fields */\n")
                elif 0 < pos_offset - prev.offset_bytes < last_size:
                    if not newline:
                        out.append("\n")
                        newline = True
                    out.append(f"{tabs}/* Bitfield combined with next fields */\n")
            if newline:
                out.append("\n")
                newline = False
            mconf = replace(cconf, last_member=index == len(members) - 1, first_member=last is None)
            size = member_byte_size(pos)
            out.append(tabs + self.member_text(pos, False, mconf, aligned[index]))
            declared = _declaration_only(pos.type)
            if declared is not None:
                if not newline:
                    out.append("\n")
                    newline = True
                out.append(f"\n{tabs}/* XXX {declared.c_name()} is a declaration only here: "
                           f"{_plural(size, 'byte')} up to the next member */")
            elif isinstance(pos.type, StructType) and not pos.type.is_union:
                self.infer_packed(pos.type)
                padding = self.scan(pos.type).padding
                if padding > 0:
                    paddings += 1
                    sum_paddings += padding
                    if not newline:
                        out.append("\n")
                        newline = True
                    out.append(f"\n{tabs}/* XXX last struct has {_plural(padding, 'byte')} of padding */")
            gap = scan.gaps[index]
            if gap.bit_hole:
                if not newline:
                    out.append("\n")
                    newline = True
                out.append(f"\n{tabs}/* XXX {_plural(gap.bit_hole, 'bit')} hole, try to pack */")
                sum_bit_holes += gap.bit_hole
            if gap.hole > 0:
                if not newline:
                    out.append("\n")
                    newline = True
                out.append(f"\n{tabs}/* XXX {_plural(gap.hole, 'byte')} hole, try to pack */")
                sum_holes += gap.hole
            out.append("\n")
            if pos.bit_size is not None:
                sum_bits += pos.bit_size
            else:
                sum_bytes += size
            if last is None or last_size == 0 or members[last].offset_bytes != pos_offset:
                last_size = size
            elif members[last].bit_size is None and pos.bit_size is not None:
                last_size = size
            last = index
        if scan.padding and not struct_alignment and self.has_alignment_info and last is not None:
            out.extend(self.force_padding(members[last].type, scan.padding, cconf, tabs))
        packed = self.packed.get(id(struct), False)
        if cconf.emit_stats:
            out.extend(self.summary(struct, scan, cconf, tabs, sums=(sum_bytes, sum_bits, sum_holes, sum_bit_holes),
                                    paddings=(paddings, sum_paddings), forced=(forced, forced_holes, sum_forced_holes)))
        out.append("\t" * indent + "}")
        if packed:
            out.append(_PACKED)
        if cconf.suffix:
            out.append(f" {cconf.suffix}")
        if struct_alignment and not packed:
            out.append(f" __attribute__((__aligned__({struct_alignment})))")
        return "".join(out)

    def force_padding(self, last_type: Type, padding: int, conf: _Conf, tabs: str) -> list[str]:
        """pahole's ``/* Force padding: */`` block (DWARF carries alignment, so it is enabled)."""
        size = last_type.size_bytes
        if not (size and size & (size - 1) == 0 and padding > self.address_size):
            return []
        lines = [f"\n{tabs}/* Force padding: */\n"]
        for _ in range(0, padding, size):
            lines.append(tabs + self.type_text(last_type, "", conf) + f":{size * 8};\n")
        return lines

    def summary(self, struct: StructType, scan: LayoutStats, conf: _Conf, tabs: str, sums: tuple[int, int, int, int],
                paddings: tuple[int, int], forced: tuple[int, int, int]) -> list[str]:
        """type__fprintf_stats and the rest of the summary block."""
        sum_bytes, sum_bits, sum_holes, sum_bit_holes = sums
        size = struct.size_bytes
        cachelines = count_cachelines(size, self.cacheline_size)
        out = [f"\n{tabs}/* size: {size}, cachelines: {cachelines}, members: {len(struct.members)} */\n"]
        if sum_holes > 0 or sum_bit_holes > 0:
            if sum_bytes > 0:
                text = f"{tabs}/* sum members: {sum_bytes}"
                if sum_holes > 0:
                    text += f", holes: {scan.holes}, sum holes: {sum_holes}"
                out.append(text + " */\n")
            if sum_bits > 0:
                text = f"{tabs}/* sum bitfield members: {sum_bits} bits"
                if sum_bit_holes > 0:
                    text += f", bit holes: {scan.bit_holes}, sum bit holes: {sum_bit_holes} bits"
                else:
                    text += f" ({sum_bits // 8} bytes)"
                out.append(text + " */\n")
        if scan.padding > 0:
            out.append(f"{tabs}/* padding: {scan.padding} */\n")
        if paddings[0] > 0:
            out.append(f"{tabs}/* paddings: {paddings[0]}, sum paddings: {paddings[1]} */\n")
        if scan.bit_padding > 0:
            out.append(f"{tabs}/* bit_padding: {scan.bit_padding} bits */\n")
        if forced[0]:
            text = f"{tabs}/* forced alignments: {forced[0]}"
            if forced[1]:
                text += f", forced holes: {forced[1]}, sum forced holes: {forced[2]}"
            out.append(text + " */\n")
        last_cacheline = (conf.base_offset + size) % self.cacheline_size
        if last_cacheline:
            out.append(f"{tabs}/* last cacheline: {last_cacheline} bytes */\n")
        diff = size * 8 - (sum_bytes * 8 + sum_bits + sum_holes * 8 + sum_bit_holes
                           + scan.padding * 8 + scan.bit_padding)
        if diff and struct.members:
            out.append(f"\n{tabs}/* BRAIN FART ALERT! {size} bytes != {sum_bytes} (member bytes) + {sum_bits} "
                       f"(member bits) + {sum_holes} (byte holes) + {sum_bit_holes} (bit holes), "
                       f"diff = {diff} bits */\n")
        return out

    def typedef_text(self, typedef: TypedefType, conf: _Conf) -> str:
        """typedef__fprintf: ``typedef struct spinlock spinlock_t`` or the anonymous struct in full."""
        target = typedef.target
        if isinstance(target, VoidType):
            return f"typedef void {typedef.name}"
        if isinstance(target, ArrayType):
            return "typedef " + self.array_text(target, typedef.name, conf)
        if isinstance(target, PointerType) and isinstance(target.target, FunctionType):
            return "typedef " + self.ftype(target.target, typedef.name, False, True, 0, conf)
        if isinstance(target, FunctionType):
            return "typedef " + self.ftype(target, typedef.name, False, False, 0, conf)
        if isinstance(target, StructType):
            if target.name is not None:
                return f"typedef {target.kind} {target.name} {typedef.name}"
            tconf = replace(conf, suffix=typedef.name)
            body = self.union_text(target, tconf) if target.is_union else self.class_text(target, tconf)
            return "typedef " + body
        if isinstance(target, EnumType):
            if target.name is not None:
                return f"typedef enum {target.name} {typedef.name}"
            return "typedef " + self.anonymous_enum(target, replace(conf, suffix=typedef.name))
        return f"typedef {self.tag_name(target, 511)} {typedef.name}"


def _pointer_size(item: Type) -> int:
    """The size of the first pointer found in ``item``'s members (8 when it has none)."""
    from ..typegraph import reachable
    return next((t.size_bytes for t in reachable([item]) if isinstance(t, PointerType)), 8)


def _declaration_only(t: Type) -> Optional[StructType]:
    """The struct a member's type only declares (directly, through typedefs, qualifiers or as an array's
    element), sized by the reader from the next member's offset; None for any other type."""
    while isinstance(t, (TypedefType, QualifiedType, ArrayType)):
        t = t.element if isinstance(t, ArrayType) else t.target
    return t if isinstance(t, StructType) and t.is_declaration and DECLARATION_ONLY in t.origin else None


def _strip(t: Type) -> Optional[Type]:
    """tag__strip_typedefs_and_modifiers (None for void)."""
    stripped = t.strip()
    return None if isinstance(stripped, VoidType) else stripped


def _left(text: str, width: int) -> str:
    """printf's ``%-*s``: a negative width also means left-justified."""
    return text.ljust(abs(width))


def _is_aggregate(t: Type) -> bool:
    return isinstance(t, (StructType, EnumType))


def _tabs(count: int) -> str:
    """printf's ``%.*s`` of pahole's 16-tab string: deeper levels stay at 16 tabs."""
    return "\t" * min(count, 16)


def _hex(value: int) -> str:
    """printf's ``%#x``: ``0x1f``, but plain ``0`` for zero."""
    return f"{value:#x}" if value else "0"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def pahole_text(item: Type, address_size: Optional[int] = None, cacheline_size: int = 64,
                alignments: Optional[Alignments] = None, *, expand_types: bool = False,
                hex_fmt: bool = False) -> str:
    """What ``pahole -F dwarf -C NAME`` prints for a struct, union or typedef, newline included.

    ``address_size`` is the build's pointer size (default: that of the first
    pointer ``item`` contains, else 8).  ``alignments`` gives the ``__aligned__``
    attributes to show when they are not the recorded ones: for BTF, what
    ``pahole -F btf`` infers (that loader has no alignment info, so pahole
    prints no "Force padding" block either).  ``expand_types`` and ``hex_fmt`` are
    pahole's ``-E`` and ``--hex``.
    """
    printer = _Printer(address_size or _pointer_size(item), cacheline_size,
                       alignments or recorded_alignments, has_alignment_info=alignments is None,
                       expand_types=expand_types, hex_fmt=hex_fmt)
    top = _Conf(name_spacing=EXPANDED_NAME_SPACING) if expand_types else _Conf()
    if isinstance(item, TypedefType):
        body = printer.typedef_text(item, top)
    elif isinstance(item, StructType) and item.is_union:
        body = printer.union_text(item, top if expand_types else _Conf(name_spacing=UNION_NAME_SPACING))
    elif isinstance(item, StructType):
        body = printer.class_text(item, top)
    else:
        raise TypeError(f"pahole prints structs, unions and typedefs, not {item!r}")
    return body + ";\n"
