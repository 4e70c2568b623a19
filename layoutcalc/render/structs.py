"""Presentation of layouts: pahole-like text and the JSON shapes of the CLI.

Pure functions from model/analysis objects to strings or plain dicts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..analysis.layout import LayoutStats, member_byte_size
from ..model import ArrayType, Member, StructType

_TYPE_WIDTH = 26
_NAME_WIDTH = 21


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def member_dict(member: Member) -> dict[str, Any]:
    """One entry of ``fields`` in ``show --format json``."""
    return {
        "name": member.name,
        "type": member.type.c_name(),
        "offset": member.offset_bytes,
        "size": member_byte_size(member),
        "bit_offset": member.bitfield_offset if member.bit_size is not None else None,
        "bit_size": member.bit_size,
    }


def struct_dict(struct: StructType, stats: LayoutStats) -> dict[str, Any]:
    """A struct in the shape of ``show --format json``: the stats plus ``fields``."""
    result = stats.as_dict()
    result["name"] = struct.name
    result["fields"] = [member_dict(m) for m in struct.members]
    return result


def to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2) + "\n"


def _declaration(member: Member) -> str:
    name = member.name or ""
    text = member.type.declare(name) if name else member.type.c_name()
    if member.bit_size is not None:
        text += f":{member.bit_size}"
    return text + ";"


def _split_declaration(member: Member) -> tuple[str, str]:
    """(type part, declarator part) as pahole aligns them: ``struct hlist_head`` / ``tasks[4];``."""
    element = member.type
    while isinstance(element, ArrayType):
        element = element.element
    type_text = element.c_name()
    decl = _declaration(member)
    if member.name and decl.startswith(type_text + " ") and "(" not in decl:
        return type_text, decl[len(type_text) + 1:]
    return decl, ""


def _member_line(member: Member, indent: str, base: int) -> str:
    type_text, declarator = _split_declaration(member)
    if member.alignment_attr:
        declarator = declarator[:-1] + f" __attribute__((__aligned__({member.alignment_attr})));"
    left = f"{type_text:<{_TYPE_WIDTH}} {declarator:<{_NAME_WIDTH}}"
    offset = base + member.offset_bytes
    size = member_byte_size(member)
    if member.bit_size is not None:
        where = f"/* {offset:5d}:{member.bitfield_offset:2d} {size:4d} */"
    else:
        where = f"/* {offset:5d} {size:5d} */"
    return f"{indent}{left} {where}"


def _is_inline_aggregate(member: Member) -> bool:
    return isinstance(member.type, StructType) and member.type.name is None and member.bit_size is None


def _render_members(struct: StructType, stats: Optional[LayoutStats], indent: str, base: int,
                    cacheline: int, state: dict[str, int], lines: list[str]) -> None:
    from ..analysis.layout import layout_stats  # local: only nested anonymous aggregates need it
    if stats is not None and stats.pre_hole:
        lines.append(f"\n{indent}/* XXX {_plural(stats.pre_hole, 'byte')} hole, try to pack */\n")
    for index, member in enumerate(struct.members):
        offset = base + member.offset_bytes
        line_no = offset // cacheline
        if line_no > state["cacheline"]:
            state["cacheline"] = line_no
            into = offset % cacheline
            start = offset - into
            extra = f" was {into} bytes ago" if into else ""
            lines.append(f"{indent}/* --- cacheline {line_no} boundary ({start} bytes){extra} --- */")
        if _is_inline_aggregate(member):
            nested = member.type
            assert isinstance(nested, StructType)
            lines.append(f"{indent}{nested.kind} {{")
            nested_stats = None if nested.is_union else layout_stats(nested, 1, cacheline)
            _render_members(nested, nested_stats, indent + "\t", offset, cacheline, state, lines)
            end = f"/* {offset:5d} {member_byte_size(member):5d} */"
            lines.append(f"{indent}}}{' ' * (_TYPE_WIDTH + _NAME_WIDTH - 1)}{end}")
        else:
            lines.append(_member_line(member, indent, base))
        if stats is None:
            continue
        gap = stats.gaps[index]
        if gap.bit_hole:
            lines.append(f"\n{indent}/* XXX {_plural(gap.bit_hole, 'bit')} hole, try to pack */\n")
        if gap.hole:
            lines.append(f"\n{indent}/* XXX {_plural(gap.hole, 'byte')} hole, try to pack */\n")


def struct_text(struct: StructType, stats: LayoutStats, cacheline: int = 64) -> str:
    """A pahole-style listing of one struct with its summary block."""
    lines = [f"{struct.kind} {struct.name or ''} {{".replace("  ", " ")]
    _render_members(struct, stats, "\t", 0, cacheline, {"cacheline": 0}, lines)
    lines.append("")
    lines.extend(summary_lines(stats))
    lines.append("};")
    return "\n".join(lines) + "\n"


def summary_lines(stats: LayoutStats) -> list[str]:
    """The summary block, printed under the same conditions as pahole's."""
    out = [f"\t/* size: {stats.size}, cachelines: {stats.cachelines}, members: {stats.members} */"]
    if stats.sum_holes > 0 or stats.sum_bit_holes > 0:
        if stats.sum_members > 0:
            text = f"\t/* sum members: {stats.sum_members}"
            if stats.sum_holes > 0:
                text += f", holes: {stats.holes}, sum holes: {stats.sum_holes}"
            out.append(text + " */")
        if stats.sum_bitfield_members > 0:
            text = f"\t/* sum bitfield members: {stats.sum_bitfield_members} bits"
            if stats.sum_bit_holes > 0:
                text += f", bit holes: {stats.bit_holes}, sum bit holes: {stats.sum_bit_holes} bits"
            else:
                text += f" ({stats.sum_bitfield_members // 8} bytes)"
            out.append(text + " */")
    if stats.padding > 0:
        out.append(f"\t/* padding: {stats.padding} */")
    if stats.paddings > 0:
        out.append(f"\t/* paddings: {stats.paddings}, sum paddings: {stats.sum_paddings} */")
    if stats.bit_padding > 0:
        out.append(f"\t/* bit_padding: {stats.bit_padding} bits */")
    if stats.forced_alignments > 0:
        text = f"\t/* forced alignments: {stats.forced_alignments}"
        if stats.forced_holes:
            text += f", forced holes: {stats.forced_holes}, sum forced holes: {stats.sum_forced_holes}"
        out.append(text + " */")
    if stats.last_cacheline:
        out.append(f"\t/* last cacheline: {stats.last_cacheline} bytes */")
    return out


def sizes_text(rows: Iterable[tuple[str, int, int]]) -> str:
    """``pahole --sizes``: name, size and number of holes, tab separated."""
    return "".join(f"{name}\t{size}\t{holes}\n" for name, size, holes in rows)


def rows_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()
