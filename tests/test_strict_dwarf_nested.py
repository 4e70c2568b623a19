"""Strict DWARF: a 16-byte alignment known only from a type nested two levels down.

``fixtures/nested_align.c`` is compiled with ``-gdwarf-4 -gstrict-dwarf`` (so
no DW_AT_alignment anywhere) for -m64 and -m32, without and with ``ADDED``.
Adding the fields to the first build must give the second exactly, and say so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cc import compile_c, have

from layoutcalc import api
from layoutcalc.analysis.facts import DebugInfo, Source, debug_info_of
from layoutcalc.analysis.whatif import FieldSpec, add_fields
from layoutcalc.model import ArrayType

FIXTURE = Path(__file__).parent / "fixtures" / "nested_align.c"
FLAGS = ("-gdwarf-4", "-gstrict-dwarf")


@pytest.mark.parametrize("target", ["gcc-m64", "gcc-m32"])
def test_fields_added_before_a_nested_aligned_member_are_predicted_exactly(tmp_path: Path, target: str) -> None:
    if not have("gcc"):
        pytest.skip("gcc is not installed")
    source = FIXTURE.read_text()
    before = api.load(str(compile_c(source, tmp_path, "off", target, FLAGS)), ["outer"], ["int", "char"])
    after = api.load(str(compile_c(source, tmp_path, "on", target, FLAGS, ("-DADDED",))), ["outer"])
    assert debug_info_of(before) is DebugInfo.STRICT_DWARF  # nothing recorded: all of it is inferred
    outer = before.get_struct("outer")
    facts = api.facts_of(before, outer)
    assert [m.source for m in facts.members][2:4] == [Source.NESTED, Source.NESTED]
    assert [m.alignment for m in facts.members][2:4] == [16, 16] and facts.alignment == 16
    compiled = after.get_struct("outer")
    added = [FieldSpec("added", compiled.get_member("added").type, after="b"),
             FieldSpec("more", compiled.get_member("more").type, after="mh")]
    assert isinstance(added[1].type, ArrayType)
    result = add_fields(outer, added, api.abi_of(before), "as-patched", debug_info_of(before))
    assert result.exact and result.undecided == ()
    assert [(m.name, m.bit_offset) for m in result.after.members] == \
        [(m.name, m.bit_offset) for m in compiled.members]
    assert result.size_after == compiled.size_bytes and result.alignment_after == 16
