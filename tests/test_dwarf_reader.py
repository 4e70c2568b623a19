"""The DWARF reader against the compiler's own sizeof/offsetof/_Alignof and bit patterns."""

from __future__ import annotations

from pathlib import Path

import pytest
from cc import TARGETS, compile_c, have, layout_probe, set_bits, symbol_words

from layoutcalc import api
from layoutcalc.model import StructType

FIXTURE = (Path(__file__).parent / "fixtures" / "shapes.c").read_text()

# struct -> (members to offsetof, bitfields to probe)
PROBES = {
    "bits": (["tag", "tail"], ["ready", "mode", "level", "small", "wide"]),
    "packed_inner": (["c", "i", "s"], []),
    "with_packed": (["before", "inner", "after"], []),
    "anon": (["kind", "session", "__session", "leader", "a", "b", "frozen"], []),
    "nested_aligned": (["flag", "a16", "after_a16", "line", "mid", "last"], []),
    "flex": (["count", "node", "data"], []),
    "fnptrs": (["handler", "callbacks", "d", "ld"], []),
    "cacheline_thing": (["counter", "name"], []),
}

CONFIGS = [
    ("gcc-m64", ("-gdwarf-4",)), ("gcc-m64", ("-gdwarf-4", "-gstrict-dwarf")), ("gcc-m64", ("-gdwarf-5",)),
    ("gcc-m32", ("-gdwarf-4",)), ("gcc-m32", ("-gdwarf-4", "-gstrict-dwarf")), ("gcc-m32", ("-gdwarf-5",)),
    ("clang-aarch64", ("-gdwarf-4",)), ("clang-arm", ("-gdwarf-4",)), ("clang-arm", ("-gdwarf-5",)),
    ("clang-s390x", ("-gdwarf-4",)), ("clang-ppc64le", ("-gdwarf-5",)), ("clang-riscv64", ("-gdwarf-5",)),
    ("gcc-m64", ("-gdwarf-5", "-gz=zlib")), ("gcc-m32", ("-gdwarf-4", "-gz=zlib")),
]


def _source() -> str:
    return FIXTURE + "".join(layout_probe(name, members, bits) for name, (members, bits) in PROBES.items())


def _member_offset(struct: StructType, path: str) -> int:
    """Byte offset of a member, looking through anonymous aggregates."""
    for member in struct.members:
        if member.name == path:
            return member.bit_offset // 8
        if member.name is None and isinstance(member.type, StructType):
            try:
                return member.bit_offset // 8 + _member_offset(member.type, path)
            except KeyError:
                continue
    raise KeyError(path)


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: f"{c[0]}{''.join(c[1])}")
def compiled(request, tmp_path_factory):
    target, flags = request.param
    if not have(TARGETS[target][0][0]):
        pytest.skip(f"{TARGETS[target][0][0]} not installed")
    out = tmp_path_factory.mktemp(target)
    return target, compile_c(_source(), out, "shapes", target, flags)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_size_alignment_and_offsets_match_compiler(compiled, name):
    target, obj = compiled
    build = api.load(str(obj), structs=[name])
    assert build.arch == TARGETS[target][1]
    struct = build.get_struct(name)
    words = symbol_words(obj, f"probe_{name}")
    members, _bits = PROBES[name]
    assert struct.size_bytes == words[0]
    assert api.facts_of(build, struct).alignment == words[1], "alignment"
    for member, expected in zip(members, words[2:]):
        assert _member_offset(struct, member) == expected, member


def test_bitfield_positions_match_compiler(compiled):
    _target, obj = compiled
    struct = api.load(str(obj), structs=["bits"]).get_struct("bits")
    for field in PROBES["bits"][1]:
        member = struct.get_member(field)
        ours = list(range(member.bit_offset, member.bit_offset + member.bit_size))
        assert ours == set_bits(obj, f"bits_bits_{field}"), field


def test_typedef_chain_and_c_names(compiled):
    _target, obj = compiled
    struct = api.load(str(obj), structs=["anon", "fnptrs", "flex"])
    anon = struct.get_struct("anon")
    assert anon.get_member("frozen").type.c_name() == "cpid_t"
    assert anon.get_member("frozen").type.strip().size_bytes == 4
    fn = struct.get_struct("fnptrs")
    assert fn.get_member("handler").type.declare("handler") == "int (*handler)(int, void *)"
    assert fn.get_member("callbacks").type.declare("callbacks") == "void (*callbacks[2])(void)"
    flex = struct.get_struct("flex")
    assert flex.get_member("data").type.declare("data") == "char data[]"
    assert flex.get_member("data").type.size_bytes == 0


def test_stats_match_pahole_on_object(compiled):
    import pahole_oracle
    if not pahole_oracle.PAHOLE:
        pytest.skip("pahole (dwarves) not installed")
    target, obj = compiled
    if not target.startswith("gcc"):
        pytest.skip("pahole 1.24 reads clang's cross objects with relocations it does not apply")
    names = sorted(PROBES)
    theirs = pahole_oracle.pahole_structs(str(obj), names)
    build = api.load(str(obj), structs=names)
    for struct, stats in api.show(build, names).layouts:
        assert pahole_oracle.compare(stats.as_dict(), theirs[struct.name]) == [], struct.name
