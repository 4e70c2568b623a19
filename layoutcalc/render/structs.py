"""Presentation of layouts: the JSON/CSV shapes of the CLI and ``pahole --sizes`` text.

Pure functions from model/analysis objects to strings or plain dicts.  The
text listing of a struct is pahole's own, in :mod:`layoutcalc.render.pahole`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from ..analysis.layout import LayoutStats, member_byte_size
from ..model import Member, StructType

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


def struct_text(struct: StructType, stats: Optional[LayoutStats] = None, cacheline_size: int = 64,
                address_size: Optional[int] = None) -> str:
    """pahole's listing of ``struct`` (:func:`layoutcalc.render.pahole.pahole_text`).

    The listing computes its summary while printing, as pahole does, so
    ``stats`` is not needed; it is accepted for callers that hold it anyway.
    """
    from .pahole import pahole_text
    return pahole_text(struct, address_size, cacheline_size)


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
