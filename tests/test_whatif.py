"""Unit tests of the what-if engine on model objects built in code.

Expected offsets are what gcc -m64/-m32 and clang --target=s390x-linux-gnu
give for the equivalent C declarations (checked with pahole).
"""

from __future__ import annotations

from typing import Optional

import pytest

from layoutcalc.abi import get_abi
from layoutcalc.analysis.facts import layout_alignment
from layoutcalc.analysis.relayout import check_layout_matches, relayout
from layoutcalc.analysis.whatif import FieldSpec, add_fields
from layoutcalc.errors import NotFoundError
from layoutcalc.model import ArrayType, BaseType, Member, StructType, Type

CHAR = BaseType("char", 1)
SHORT = BaseType("short", 2)
INT = BaseType("int", 4)
UINT = BaseType("unsigned int", 4, "unsigned")
LONG = BaseType("long", 8)
LONG_LONG = BaseType("long long", 8)
X86_64 = get_abi("x86_64")


def _struct(size: int, *members: tuple[Optional[str], Type, int], name: str = "s") -> StructType:
    """A struct from (name, type, byte offset) triples."""
    return StructType("struct", name, size, [Member(n, t, 8 * off) for n, t, off in members])


def _offsets(struct: StructType) -> dict[str, int]:
    return {m.name or "<anonymous>": m.bit_offset // 8 for m in struct.members}


@pytest.fixture
def holey() -> StructType:
    """struct s { int a; char b; /* 3-byte hole */ long c; };"""
    return _struct(16, ("a", INT, 0), ("b", CHAR, 4), ("c", LONG, 8))


def test_as_patched_moves_later_members(holey: StructType) -> None:
    result = add_fields(holey, [FieldSpec("x", LONG, after="a")], X86_64)
    assert _offsets(result.after) == {"a": 0, "x": 8, "b": 16, "c": 24}
    assert (result.size_before, result.size_after, result.size_delta) == (16, 32, 16)
    assert _offsets(result.before) == {"a": 0, "b": 4, "c": 8}


def test_best_fit_fills_the_hole_without_moving_anything(holey: StructType) -> None:
    result = add_fields(holey, [FieldSpec("x", SHORT, after="a")], X86_64, placement="best-fit")
    assert _offsets(result.after) == {"a": 0, "b": 4, "x": 6, "c": 8}
    assert result.size_after == 16
    assert [m.bit_offset for m in result.added] == [48]


def test_best_fit_appends_what_fits_nowhere(holey: StructType) -> None:
    result = add_fields(holey, [FieldSpec("x", LONG, after="a")], X86_64, placement="best-fit")
    assert _offsets(result.after) == {"a": 0, "b": 4, "c": 8, "x": 16}
    assert result.size_after == 24


def test_append_and_same_anchor_keep_order(holey: StructType) -> None:
    appended = add_fields(holey, [FieldSpec("x", SHORT), FieldSpec("y", CHAR)], X86_64, placement="append")
    assert _offsets(appended.after) == {"a": 0, "b": 4, "c": 8, "x": 16, "y": 18}
    patched = add_fields(holey, [FieldSpec("x", CHAR, after="a"), FieldSpec("y", CHAR, after="a")], X86_64)
    assert [m.name for m in patched.after.members] == ["a", "x", "y", "b", "c"]


def test_insert_after_member_of_anonymous_union() -> None:
    union = StructType("union", None, 4, [Member("u1", INT, 0), Member("u2", CHAR, 0)])
    struct = _struct(12, ("a", CHAR, 0), (None, union, 4), ("z", CHAR, 8))
    result = add_fields(struct, [FieldSpec("x", SHORT, after="u2")], X86_64)
    assert [m.name for m in result.after.members] == ["a", None, "x", "z"]
    assert _offsets(result.after) == {"a": 0, "<anonymous>": 4, "x": 8, "z": 10}


def test_forced_alignment_moves_to_next_boundary() -> None:
    """struct s { long a; long b __aligned(64); };  size 128."""
    struct = _struct(128, ("a", LONG, 0), ("b", LONG, 64))
    struct.members[1].alignment_attr = 64
    small = add_fields(struct, [FieldSpec("x", LONG, after="a")], X86_64)
    assert _offsets(small.after)["b"] == 64 and small.size_after == 128
    big = add_fields(struct, [FieldSpec("buf", ArrayType(CHAR, 60), after="a")], X86_64)
    assert _offsets(big.after) == {"a": 0, "buf": 8, "b": 128}
    assert (big.size_after, big.alignment_after) == (192, 64)


def test_i386_long_long_is_four_byte_aligned_in_structs() -> None:
    struct = _struct(4, ("a", INT, 0))
    result = add_fields(struct, [FieldSpec("x", LONG_LONG)], get_abi("i386"))
    assert _offsets(result.after) == {"a": 0, "x": 4}
    assert (result.size_after, result.alignment_after) == (12, 4)


def test_s390x_bitfields_count_from_the_most_significant_bit() -> None:
    """struct s { char c; int :3; int b:5; };  clang s390x DWARF: b at DW_AT_bit_offset 11 (MSB first)."""
    struct = StructType("struct", "s", 4, [Member("c", CHAR, 0), Member("b", INT, 11, bit_size=5)])
    s390x = get_abi("s390x")
    assert relayout(struct, s390x, struct.members).members[1].bit_offset == 11
    result = add_fields(struct, [FieldSpec("d", UINT, after="b", bit_size=20)], s390x)
    assert [m.bit_offset for m in result.after.members] == [0, 11, 32]
    assert result.size_after == 8


def test_flexible_array_stays_last() -> None:
    struct = _struct(4, ("n", INT, 0), ("data", ArrayType(CHAR, None), 4))
    for placement in ("as-patched", "best-fit", "append"):
        result = add_fields(struct, [FieldSpec("x", LONG)], X86_64, placement=placement)
        assert [m.name for m in result.after.members] == ["n", "x", "data"]
        assert _offsets(result.after) == {"n": 0, "x": 8, "data": 16}


def test_unknown_anchor_names_struct_and_member(holey: StructType) -> None:
    with pytest.raises(NotFoundError, match=r"struct s has no member named 'nope'"):
        add_fields(holey, [FieldSpec("x", INT, after="nope")], X86_64)


def test_hidden_zero_width_bitfield_is_kept() -> None:
    """struct s { char a; int :0; char b; };  gcc: b at 4, size 5, alignment 1 (no DWARF for ':0')."""
    struct = _struct(5, ("a", CHAR, 0), ("b", CHAR, 4))
    assert check_layout_matches(struct, relayout(struct, X86_64, struct.members)) == []
    assert layout_alignment(struct, X86_64) == 1
    result = add_fields(struct, [FieldSpec("x", SHORT, after="a")], X86_64)
    assert _offsets(result.after) == {"a": 0, "x": 2, "b": 4}


def test_packed_struct_is_recognised_from_its_offsets() -> None:
    """struct __packed s { char a; int b; };  b at 1, size 5."""
    struct = _struct(5, ("a", CHAR, 0), ("b", INT, 1))
    result = add_fields(struct, [FieldSpec("c", INT)], X86_64)
    assert _offsets(result.after) == {"a": 0, "b": 1, "c": 5}
    assert result.after.is_packed and result.size_after == 9


def test_check_layout_matches_reports_each_difference(holey: StructType) -> None:
    moved = relayout(holey, X86_64, [holey.members[0], holey.members[2], holey.members[1]])
    assert check_layout_matches(holey, moved) == [
        "struct s: member b != c", "struct s: member c != b", "struct s: size 16 != 24",
    ]
