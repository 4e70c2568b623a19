"""Prediction against compiled truth, member by member.

``whatif`` predicts a struct's layout with a patch's fields added; source
mode compiles the patched headers.  :func:`compare_layouts` puts the two
side by side: every member's name, type, offset, size (and bit offset and
size for bitfields), and the struct's size.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from ..model import Member, StructType


class MemberCheck(NamedTuple):
    """One member in the prediction and in the compiled struct (None where it is missing)."""

    name: str
    predicted: Optional[tuple[str, int, int, Optional[int], Optional[int]]]  # type, offset, size, bit off/size
    compiled: Optional[tuple[str, int, int, Optional[int], Optional[int]]]

    @property
    def equal(self) -> bool:
        return self.predicted == self.compiled


class LayoutCheck(NamedTuple):
    """A struct's predicted layout next to the compiled one."""

    struct: str
    size_predicted: int
    size_compiled: int
    members: list[MemberCheck]

    @property
    def equal(self) -> bool:
        return self.size_predicted == self.size_compiled and all(m.equal for m in self.members)

    @property
    def mismatches(self) -> list[MemberCheck]:
        return [m for m in self.members if not m.equal]


def _facts(member: Member) -> tuple[str, int, int, Optional[int], Optional[int]]:
    bit = (member.bit_offset, member.bit_size) if member.is_bitfield else (None, None)
    return member.type.c_name(), member.offset_bytes, member.size_bytes, *bit


def _keyed(struct: StructType) -> dict[str, Member]:
    """Members by name; anonymous unions/structs by their order among the anonymous ones."""
    keyed: dict[str, Member] = {}
    anonymous = 0
    for member in struct.members:
        if not member.name:
            anonymous += 1
        keyed[member.name or f"<anonymous {anonymous}>"] = member
    return keyed


def compare_layouts(predicted: StructType, compiled: StructType) -> LayoutCheck:
    """Member-by-member comparison (anonymous members are matched by their order among anonymous members)."""
    left, right = _keyed(predicted), _keyed(compiled)
    names = list(dict.fromkeys([*right, *left]))
    checks = [MemberCheck(name, _facts(left[name]) if name in left else None,
                          _facts(right[name]) if name in right else None) for name in names]
    return LayoutCheck(compiled.name or predicted.name or "", predicted.size_bytes, compiled.size_bytes, checks)
