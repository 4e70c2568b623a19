"""Presentation of ``layoutcalc reorganize``: pahole's ``--reorganize`` text and a JSON shape."""

from __future__ import annotations

from typing import Any

from ..analysis.layout import LayoutStats
from ..analysis.reorganize import Reorganized
from .structs import struct_dict, struct_text


def _saved(item: Reorganized) -> str:
    """pahole's closing remark: ``/* saved 8 bytes! */``, ``/* saved 64 bytes and 1 cacheline! */``."""
    lines = item.cachelines_before - item.cachelines_after
    text = f"saved {item.saved_bytes} byte{'' if item.saved_bytes == 1 else 's'}"
    if lines > 0:
        text += f" and {lines} cacheline{'' if lines == 1 else 's'}"
    return f"   /* {text}! */"


def reorganize_text(items: list[tuple[Reorganized, LayoutStats]]) -> str:
    """Each repacked struct as pahole lists it, with what was saved and which members moved."""
    out = []
    for item, stats in items:
        text = struct_text(item.after, stats, item.cacheline_size).rstrip("\n")
        if item.saved_bytes > 0:
            text += _saved(item)
        if item.moved:
            text += f"\n/* moved {len(item.moved)}: {', '.join(item.moved)} */"
        out.append(text + "\n")
    return "\n".join(out)


def reorganize_dict(item: Reorganized, stats: LayoutStats) -> dict[str, Any]:
    """One entry of ``reorganize --format json``: sizes and cachelines before/after, the new layout."""
    return {
        "name": item.before.name,
        "size_before": item.size_before,
        "size_after": item.size_after,
        "cachelines_before": item.cachelines_before,
        "cachelines_after": item.cachelines_after,
        "moved": item.moved,
        "layout": struct_dict(item.after, stats),
    }


def reorganize_json_lines(items: list[tuple[Reorganized, LayoutStats]]) -> str:
    """``reorganize --all --format json``: the shape of :func:`reorganize_dict`, one struct per line.

    Thousands of structs: compact JSON (which the C encoder writes) instead
    of the indented form of the other commands, four times faster.
    """
    import json
    entries = ",\n".join(json.dumps(reorganize_dict(item, stats)) for item, stats in items)
    return '{"structs": [\n' + entries + "\n]}\n"
