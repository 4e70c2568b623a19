"""``whatif --verify``: the prediction next to the compiled truth, member by member."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..analysis.verify import LayoutCheck, MemberCheck


def _cell(facts: Any) -> str:
    if facts is None:
        return "(missing)"
    type_name, offset, size, bit_offset, bit_size = facts
    bits = f" bit {bit_offset}:{bit_size}" if bit_size is not None else ""
    return f"{type_name} @{offset} +{size}{bits}"


def verify_text(checks: Sequence[LayoutCheck]) -> str:
    """One verdict line per struct, then each member that differs."""
    out = []
    for check in checks:
        same = sum(1 for member in check.members if member.equal)
        verdict = "EQUAL" if check.equal else "DIFFERS"
        out.append(f"struct {check.struct}: predicted {check.size_predicted} bytes, compiled {check.size_compiled}; "
                   f"{same} of {len(check.members)} members equal: {verdict}")
        for member in check.mismatches:
            out.append(f"    {member.name}: predicted {_cell(member.predicted)}, compiled {_cell(member.compiled)}")
    total = sum(1 for check in checks if check.equal)
    out.append(f"{total} of {len(checks)} structs predicted exactly")
    return "\n".join(out) + "\n"


def _member_dict(member: MemberCheck) -> dict[str, Any]:
    def side(facts: Any) -> Any:
        if facts is None:
            return None
        return dict(zip(("type", "offset", "size", "bit_offset", "bit_size"), facts))
    return {"name": member.name, "equal": member.equal, "predicted": side(member.predicted),
            "compiled": side(member.compiled)}


def verify_payload(checks: Sequence[LayoutCheck]) -> dict[str, Any]:
    """The JSON document of ``whatif --verify``."""
    return {"structs": [{"name": c.struct, "equal": c.equal, "size_predicted": c.size_predicted,
                         "size_compiled": c.size_compiled, "members": [_member_dict(m) for m in c.members]}
                        for c in checks]}
