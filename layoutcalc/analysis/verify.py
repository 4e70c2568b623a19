"""Prediction against compiled truth, member by member.

``whatif`` predicts a struct's layout with a patch's fields added; source
mode compiles the patched headers.  :func:`compare_layouts` puts the two
side by side: every member's name, type, offset, size (and bit offset and
size for bitfields), and the struct's size.
"""

from __future__ import annotations

import dataclasses
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


def _keyed(struct: StructType, prefix: str = "", base_bits: int = 0) -> dict[str, Member]:
    """Members by name, nested anonymous unions/structs included (``<anonymous 2>.member``, offsets from the
    outer struct); anonymous ones are numbered by their order among the anonymous members."""
    keyed: dict[str, Member] = {}
    anonymous = 0
    for member in struct.members:
        if member.bit_size == 0:  # ':0' only aligns what follows; DWARF records no member for it
            continue
        if not member.name:
            anonymous += 1
        name = f"{prefix}{member.name or f'<anonymous {anonymous}>'}"
        keyed[name] = dataclasses.replace(member, bit_offset=member.bit_offset + base_bits)
        inner = member.type.strip()
        if not member.name and isinstance(inner, StructType):
            keyed.update(_keyed(inner, f"{name}.", base_bits + member.bit_offset))
    return keyed


def compare_layouts(predicted: StructType, compiled: StructType) -> LayoutCheck:
    """Member-by-member comparison, through anonymous unions and structs."""
    left, right = _keyed(predicted), _keyed(compiled)
    names = list(dict.fromkeys([*right, *left]))
    checks = [MemberCheck(name, _facts(left[name]) if name in left else None,
                          _facts(right[name]) if name in right else None) for name in names]
    return LayoutCheck(compiled.name or predicted.name or "", predicted.size_bytes, compiled.size_bytes, checks)
