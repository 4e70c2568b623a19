"""Layout facts on model objects built in code: sources, candidates, bounds, caching.

The expected layouts are gcc's (x86_64) for the C declarations quoted in each test.
"""

from __future__ import annotations

import gc
import weakref
from typing import Optional

from layoutcalc.abi import get_abi
from layoutcalc.analysis.facts import DebugInfo, Source, World, struct_facts
from layoutcalc.analysis.whatif import FieldSpec, add_fields
from layoutcalc.model import BaseType, Member, StructType, Type

SHORT = BaseType("short int", 2)
INT = BaseType("int", 4)
LONG = BaseType("long int", 8)
X86_64 = get_abi("x86_64")


def _struct(size: int, *members: tuple[Optional[str], Type, int], name: str = "s",
            aligned: Optional[dict[str, int]] = None) -> StructType:
    aligned = aligned or {}
    return StructType("struct", name, size, [Member(n, t, 8 * off, alignment_attr=aligned.get(n or ""))
                                              for n, t, off in members])


def _issue_example(aligned: Optional[dict[str, int]] = None) -> StructType:
    """struct s { long m0, m1; long m2 __aligned(32); short m3 __aligned(16); int m4; };  (gcc: 64 bytes)"""
    return _struct(64, ("m0", LONG, 0), ("m1", LONG, 8), ("m2", LONG, 32), ("m3", SHORT, 48), ("m4", INT, 52),
                   aligned=aligned)


def test_recorded_attributes_decide_everything() -> None:
    facts = struct_facts(_issue_example({"m2": 32, "m3": 16}), X86_64, DebugInfo.ATTRIBUTES)
    assert facts.decided and facts.alignment == 32
    assert [m.source for m in facts.members][2:4] == [Source.RECORDED, Source.RECORDED]


def test_holes_reveal_member_alignments_without_attributes() -> None:
    facts = struct_facts(_issue_example(), X86_64, DebugInfo.BTF)
    m2, m3 = facts.members[2], facts.members[3]
    assert (m2.source, m2.candidates, m3.source, m3.candidates) == (Source.HOLE, (32,), Source.HOLE, (16,))
    # size 64, members end at 56: 16 (if the holes are unnamed bitfields) or 32 (if they are attributes)
    assert facts.candidates == (16, 32) and facts.alignment == 32 and not facts.decided


def test_whatif_bounds_contain_gcc_and_likeliest_is_gcc() -> None:
    """Two longs appended: gcc says 96 bytes."""
    result = add_fields(_issue_example(), [FieldSpec("a1", LONG), FieldSpec("a2", LONG)], X86_64, "append",
                        DebugInfo.BTF)
    assert (result.size_after_min, result.size_after, result.size_after_max) == (80, 96, 96)
    assert not result.exact and result.alignment_candidates == (16, 32)


def test_whatif_is_exact_when_the_evidence_decides() -> None:
    result = add_fields(_issue_example({"m2": 32, "m3": 16}), [FieldSpec("a1", LONG), FieldSpec("a2", LONG)],
                        X86_64, "append", DebugInfo.ATTRIBUTES)
    assert result.exact and result.size_after == 96 and result.undecided == ()


def test_nested_alignment_two_levels_down() -> None:
    """struct c { char x; long y __aligned(16); };  struct b { struct c c; };  struct a { int i; struct b b; };"""
    char = BaseType("char", 1)
    inner = _struct(32, ("x", char, 0), ("y", LONG, 16), name="c")
    middle = _struct(32, ("c", inner, 0), name="b")
    outer = _struct(48, ("i", INT, 0), ("b", middle, 16), name="a")
    facts = struct_facts(outer, X86_64, DebugInfo.STRICT_DWARF)
    assert facts.members[1].alignment == 16 and facts.members[1].source is Source.NESTED
    assert facts.alignment == 16
    result = add_fields(outer, [FieldSpec("j", INT, after="i")], X86_64, "as-patched", DebugInfo.STRICT_DWARF)
    assert result.exact and [m.bit_offset // 8 for m in result.after.members] == [0, 4, 16]
    result = add_fields(outer, [FieldSpec("j", LONG, after="i"), FieldSpec("k", LONG, after="j")], X86_64,
                        "as-patched", DebugInfo.STRICT_DWARF)
    assert result.exact and result.after.members[3].bit_offset // 8 == 32 and result.size_after == 64


def test_facts_are_cached_per_struct_object_and_released_with_it() -> None:
    struct = _issue_example()
    assert struct_facts(struct, X86_64, DebugInfo.BTF) is struct_facts(struct, X86_64, DebugInfo.BTF)
    twin = _issue_example()
    assert struct_facts(twin, X86_64, DebugInfo.BTF) is not struct_facts(struct, X86_64, DebugInfo.BTF)
    alive = weakref.ref(twin)
    del twin
    gc.collect()
    assert alive() is None, "the cache keeps a dropped struct alive"


def test_worlds_order_alignments() -> None:
    facts = struct_facts(_issue_example(), X86_64, DebugInfo.BTF)
    assert [facts.alignment_in(w) for w in World] == [16, 32, 32]
