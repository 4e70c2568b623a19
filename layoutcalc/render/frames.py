"""pandas views of the API's results, for notebooks.  pandas is imported only here, lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..analysis.layout import LayoutStats, member_byte_size
from ..model import StructType

if TYPE_CHECKING:
    import pandas as pd

    from ..analysis.report import BuildReport


def layout_frame(struct: StructType, stats: LayoutStats) -> "pd.DataFrame":
    """One row per member: offset, size, bit offset/size and the hole that follows it (pahole's columns)."""
    import pandas as pd
    rows: list[dict[str, Any]] = []
    for member, gap in zip(struct.members, stats.gaps):
        rows.append({"member": member.name, "type": member.type.c_name(), "offset": member.offset_bytes,
                     "size": member_byte_size(member), "bit_offset": member.bitfield_offset
                     if member.bit_size is not None else None, "bit_size": member.bit_size,
                     "hole_after": gap.hole, "bit_hole_after": gap.bit_hole})
    return pd.DataFrame(rows)


def report_frame(reports: Sequence["BuildReport"]) -> "pd.DataFrame":
    """The report rows (as ``layoutcalc report --format csv``) as a DataFrame."""
    import pandas as pd
    return pd.DataFrame([row.as_dict() for report in reports for row in report.rows])
