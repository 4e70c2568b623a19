"""Placements of added fields, checked against gcc: best-fit uses bit holes first; reorganize repacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from cc import compile_c, have, layout_probe, set_bits, symbol_words

from layoutcalc import api
from layoutcalc.analysis.whatif import FieldSpec, add_fields

BEFORE = "struct s { char a; long b; unsigned int f1:3; unsigned int f2:2; char c; long d; };\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("gcc"):
        pytest.skip("gcc not installed")
    out = tmp_path_factory.mktemp("placement")
    compile_c(BEFORE + "struct s instance;\nint an_int;\n", out, "before")
    return out


def test_best_fit_puts_a_bitfield_into_a_bit_hole_before_a_byte_hole(built: Path) -> None:
    build = api.load(str(built / "before.o"), structs=["s"], types=["unsigned int"])
    abi = api.abi_of(build)
    flag = FieldSpec("flag", build.base_types["unsigned int"], bit_size=1)
    result = add_fields(build.get_struct("s"), [flag], abi, "best-fit")
    names = [m.name for m in result.after.members]
    assert names.index("flag") == names.index("f2") + 1  # not into the 7-byte hole after 'a'
    assert result.size_after == result.size_before
    # The compiler puts the same declaration order at the same bits.
    after = BEFORE.replace("unsigned int f2:2;", "unsigned int f2:2; unsigned int flag:1;")
    obj = compile_c(after + layout_probe("s", ["a", "b", "c", "d"], ["flag"]), built, "after")
    words = symbol_words(obj, "probe_s")
    assert words[0] == result.size_after
    assert set_bits(obj, "bits_s_flag") == [result.added[0].bit_offset]


def test_reorganize_placement_repacks_with_the_new_fields(built: Path) -> None:
    build = api.load(str(built / "before.o"), structs=["s"], types=["int"])
    abi = api.abi_of(build)
    extra = FieldSpec("e", build.base_types["int"], after="a")
    appended = add_fields(build.get_struct("s"), [extra], abi, "append")
    repacked = add_fields(build.get_struct("s"), [extra], abi, "reorganize")
    assert repacked.size_after < appended.size_after
    order = [m.name for m in repacked.after.members]
    declarations = {"a": "char a;", "b": "long b;", "f1": "unsigned int f1:3;", "f2": "unsigned int f2:2;",
                    "c": "char c;", "d": "long d;", "e": "int e;"}
    source = f"struct s {{ {' '.join(declarations[n] for n in order)} }};\n"
    obj = compile_c(source + layout_probe("s", ["a", "b", "c", "d", "e"]), built, "repacked")
    words = symbol_words(obj, "probe_s")
    offsets = {m.name: m.bit_offset // 8 for m in repacked.after.members}
    assert words[0] == repacked.size_after
    assert words[2:] == [offsets[n] for n in ["a", "b", "c", "d", "e"]]


ZERO_WIDTH = "struct z { unsigned a:1; unsigned b:1;ADDED unsigned :0; unsigned c:1; int d; };\n"


@pytest.mark.parametrize("target", ["gcc-m64", "gcc-m32"])
def test_a_bitfield_added_before_an_unrecorded_zero_width_bitfield_moves_nothing(built: Path, target: str) -> None:
    """DWARF records no member for ``unsigned :0;``; the gap it leaves ends at a unit boundary.

    gcc rounds ``:0`` up to the next ``unsigned`` unit, so a bit added before it moves
    nothing; the 30-bit hole is read as ``:0``, not as a ``:30`` that would move ``c``.
    """
    before = compile_c(ZERO_WIDTH.replace("ADDED", "") + "struct z instance;\n", built, f"zero-{target}",
                       target)
    truth = compile_c(ZERO_WIDTH.replace("ADDED", " unsigned n:1;") + "struct z instance;\n", built,
                      f"zero-after-{target}", target)
    build = api.load(str(before), structs=["z"], types=["unsigned int"])
    compiled = api.load(str(truth), structs=["z"]).get_struct("z")
    added = FieldSpec("n", build.base_types["unsigned int"], after="b", bit_size=1)
    result = add_fields(build.get_struct("z"), [added], api.abi_of(build), "as-patched")
    assert result.exact
    assert [(m.name, m.bit_offset) for m in result.after.members] == \
        [(m.name, m.bit_offset) for m in compiled.members]
    assert result.size_after == compiled.size_bytes
