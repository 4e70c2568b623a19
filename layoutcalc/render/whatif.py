"""Presentation of what-if results: before/after side by side, and the JSON of ``layoutcalc whatif``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from ..analysis.layout import cachelines, layout_stats, member_byte_size
from ..analysis.whatif import WhatIfResult
from ..changes.fields import placed_fields
from ..changes.scenario import ScenarioResult
from ..model import Member, StructType
from .structs import struct_dict

_COLUMN = 52


def whatif_dict(item: ScenarioResult, as_patched_size: Optional[int] = None, cacheline: int = 64) -> dict[str, Any]:
    """One entry of ``whatif --format json``; ``as_patched_size`` adds what best-fit saves over as-patched."""
    result = item.result
    after = result.after
    stats = layout_stats(after, result.alignment_after, cacheline)
    return {
        "name": item.struct_name,
        "anchor": item.anchor,
        "anchor_fallback": item.anchor_index,
        "placement": result.placement,
        "abi": result.abi.name,
        "size_before": result.size_before,
        "size_after": result.size_after,
        "size_after_min": result.size_after_min,
        "size_after_max": result.size_after_max,
        "exact": result.exact,
        "undecided": [{"name": name, "candidates": list(candidates)} for name, candidates in result.undecided],
        "alignment_candidates": list(result.alignment_candidates or (result.alignment_before,)),
        "size_delta": result.size_delta,
        "alignment_before": result.alignment_before,
        "alignment_after": result.alignment_after,
        "added": [{"name": m.name, "type": m.type.c_name(), "offset": m.offset_bytes, "size": member_byte_size(m),
                   "after": placed.follows, "bit_offset": placed.bit_offset, "bit_size": m.bit_size}
                  for m, placed in zip(result.added, placed_fields(result))],
        "removed": list(item.removed),
        "layout": struct_dict(after, stats),
        **({} if as_patched_size is None else {"saved_vs_as_patched": as_patched_size - result.size_after}),
    }


def _placement_lines(item: ScenarioResult) -> list[str]:
    """One line per added field: the member it follows and its final offset."""
    lines = []
    for placed in placed_fields(item.result):
        where = f"offset {placed.offset_bytes}"
        if placed.bit_size is not None:
            where += f" bit {placed.bit_offset - placed.offset_bytes * 8}, {placed.bit_size} bit(s)"
        else:
            where += f", {placed.size_bytes} byte(s)"
        follows = f"after '{placed.follows}'" if placed.follows else "first"
        name = placed.name or "(unnamed bitfield)"
        lines.append(f"    + {name} ({placed.type_name}) {follows}, {where}")
    return lines


def _where_added(item: ScenarioResult) -> str:
    result = item.result
    if result.placement == "best-fit":
        return "into existing holes where they fit, else at the end"
    if result.placement == "append" or not item.anchor:
        return "appended"
    added = {m.name for m in result.added if m.name}
    starts = [p.follows for p in placed_fields(result) if p.follows not in added]
    if len(set(starts)) > 1:
        return "at " + ", ".join(f"'{name}'" for name in dict.fromkeys(s or "" for s in starts))
    where = f"after '{item.anchor}'"
    if item.anchor_index:
        where += f" (fallback anchor {item.anchor_index}: the preferred ones are absent)"
    return where


def _cell(member: Optional[Member]) -> str:
    if member is None:
        return ""
    decl = member.type.declare(member.name) if member.name else member.type.c_name()
    if member.bit_size is not None:
        decl += f":{member.bit_size}"
        where = f"{member.offset_bytes:5d}:{member.bitfield_offset:<2d}{member_byte_size(member):4d}"
    else:
        where = f"{member.offset_bytes:5d} {member_byte_size(member):5d}"
    room = _COLUMN - len(where) - 2
    if len(decl) + 1 > room:
        decl = decl[: room - 2] + "…"
    return f"{decl + ';':<{room}}  {where}"


def _pairs(before: StructType, after: StructType, added: Sequence[Member]) -> list[tuple[str, str, str]]:
    """(marker, before cell, after cell) rows, matching members by name."""
    added_ids = {id(m) for m in added}
    old = {m.name: m for m in before.members if m.name}
    rows = []
    anon_before = [m for m in before.members if not m.name]
    anon_after = [m for m in after.members if not m.name and id(m) not in added_ids]
    by_order = dict(zip(map(id, anon_after), anon_before)) if len(anon_before) == len(anon_after) else {}
    for member in after.members:
        if id(member) in added_ids:
            rows.append(("+", "", _cell(member)))
            continue
        previous = old.get(member.name) if member.name else by_order.get(id(member))
        if previous is None and not member.name:  # anonymous aggregate: same position in the list
            index = after.members.index(member) - sum(1 for m in after.members[: after.members.index(member)]
                                                     if id(m) in added_ids)
            previous = before.members[index] if index < len(before.members) else None
        moved = previous is not None and previous.bit_offset != member.bit_offset
        delta = (member.bit_offset - previous.bit_offset) // 8 if moved and previous is not None else 0
        rows.append((f"{delta:+d}" if moved else "", _cell(previous), _cell(member)))
    kept = {m.name for m in after.members if m.name}
    for member in before.members:
        if member.name and member.name not in kept:
            rows.append(("-", _cell(member), ""))
    return rows


def _collapse(rows: list[tuple[str, str, str]], full: bool) -> list[tuple[str, str, str]]:
    """Long runs of members with the same shift shrink to their ends (unless ``full``)."""
    if full:
        return rows
    out: list[tuple[str, str, str]] = []
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end][0] == rows[start][0]:
            end += 1
        run = rows[start:end]
        if len(run) > 6 and run[0][0] not in ("+", "-"):
            shift = f"shifted {run[0][0]}" if run[0][0] else "unchanged"
            out += run[:2] + [("", f"... {len(run) - 4} more members, {shift} ...", "")] + run[-2:]
        else:
            out += run
        start = end
    return out


def _bounds_line(result: WhatIfResult) -> str:
    """The one line saying the debug info cannot decide the size, and why."""
    open_ = [f"{name} {'/'.join(map(str, candidates))}" for name, candidates in result.undecided]
    if len(result.alignment_candidates) > 1:
        open_.append(f"the struct's own {'/'.join(map(str, result.alignment_candidates))}")
    shown = open_[:6] + ([f"{len(open_) - 6} more (see --format json)"] if len(open_) > 6 else [])
    why = f"; undecided alignments: {', '.join(shown)}" if open_ else ""
    return (f"not exact: the debug info records no alignments, size after is {result.size_after_min}"
            f"..{result.size_after_max} (likeliest {result.size_after}){why}")


def whatif_text(items: Sequence[ScenarioResult], full: bool = False,
                as_patched: Optional[Mapping[str, int]] = None) -> str:
    """Before and after, side by side, with added members marked + and moved ones with their shift.

    Long runs of unchanged (or equally shifted) members are elided unless ``full``.
    """
    out = []
    for item in items:
        result = item.result
        what = f"{len(result.added)} field(s) {_where_added(item)}" if result.added or not item.removed else \
            f"{len(item.removed)} member(s) removed"
        if result.added and item.removed:
            what += f", {len(item.removed)} removed"
        out.append(f"struct {item.struct_name}: {what}, {result.placement}, {result.abi.name}")
        out.append(f"  size {result.size_before} -> {result.size_after} ({result.size_delta:+d}), "
                   f"alignment {result.alignment_before} -> {result.alignment_after}, "
                   f"cachelines {cachelines(result.size_before)} -> {cachelines(result.size_after)}")
        if not result.exact:
            out.append(f"  {_bounds_line(result)}")
        out.extend(_placement_lines(item))
        out.append(f"  {'':4} {'before':<{_COLUMN}} | after")
        rows = _pairs(result.before, result.after, result.added)
        for marker, left, right in _collapse(rows, full):
            out.append(f"  {marker:>4} {left:<{_COLUMN}} | {right}".rstrip())
        moved = sum(1 for marker, _, _ in rows if marker not in ("", "+", "-"))
        summary = f"  {len(result.added)} added, {moved} moved; the struct " + (
            "grows" if result.size_delta > 0 else "does not grow")
        if as_patched and item.struct_name in as_patched:
            summary += (f"; {result.placement.replace('-', ' ')} saves "
                        f"{as_patched[item.struct_name] - result.size_after} bytes over as-patched")
        out.append(summary + "\n")
    return "\n".join(out)
