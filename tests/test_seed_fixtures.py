"""The seed post's flat model, predicted from the "off" build and checked against the compiler.

``fixtures/flat_pid.h`` mimics the three 2.6.22 structs of Pavel Emelianov's
"[FLAT 1/6]" patch (June 2007), with its fields under ``CONFIG_PID_NS_FLAT``.
Each target and DWARF flavour is compiled twice, without and with that
option.  The flat scenario and the equivalent diff (``fixtures/flat_pid.patch``)
are applied to the "off" build; the prediction must equal the "on" build
member by member: names, bit offsets, bitfield sizes and the struct size.
``-gstrict-dwarf`` drops DW_AT_alignment, so there the 16-byte and
cacheline-aligned members of task_struct only re-align correctly if the reader
inferred their alignment from the holes before them.

``fixtures/hier_pid.c`` is the 2.6.24 (hierarchical) struct pid at namespace
levels 0 and 1, the oracle for the hierarchical scenario.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cc import TARGETS, compile_c, have

from layoutcalc.abi import get_abi
from layoutcalc.analysis.facts import debug_info_of
from layoutcalc.analysis.whatif import add_fields
from layoutcalc.api import load as read_input
from layoutcalc.changes.patch import parse_patch, patch_fields
from layoutcalc.changes.scenario import apply_scenario, load_scenario
from layoutcalc.model import Build, StructType

FIXTURES = Path(__file__).parent / "fixtures"
STRUCTS = ["pid", "signal_struct", "task_struct", "hlist_node"]
CHANGED = ["pid", "signal_struct", "task_struct"]
TYPES = ["pid_t", "int"]

CONFIGS = [
    (target, flags)
    for target in ("gcc-m64", "gcc-m32")
    for flags in (("-gdwarf-4",), ("-gdwarf-4", "-gstrict-dwarf"), ("-gdwarf-5",))
]


def _config_id(config: tuple[str, tuple[str, ...]]) -> str:
    return config[0] + "".join(config[1])


def _read(out: Path, name: str, source: str, target: str, flags: tuple[str, ...],
          defines: tuple[str, ...], structs: list[str]) -> Build:
    extra = ("-I", str(FIXTURES), "-DCONFIG_CC_STACKPROTECTOR", *defines)
    obj = compile_c(source, out, name, target, flags, extra)
    return read_input(str(obj), structs, TYPES)


@pytest.fixture(scope="module", params=CONFIGS, ids=_config_id)
def builds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, Build, Build]:
    """(ABI name, build without CONFIG_PID_NS_FLAT, build with it)."""
    target, flags = request.param
    if not have(TARGETS[target][0][0]):
        pytest.skip(f"{TARGETS[target][0][0]} not installed")
    out = tmp_path_factory.mktemp(_config_id(request.param).replace("-", "_"))
    source = (FIXTURES / "flat_pid.c").read_text()
    off = _read(out, "flat_off", source, target, flags, (), STRUCTS)
    on = _read(out, "flat_on", source, target, flags, ("-DCONFIG_PID_NS_FLAT",), STRUCTS)
    return TARGETS[target][1], off, on


def _shape(struct: StructType) -> list[tuple[str | None, int, int | None]]:
    return [(m.name, m.bit_offset, m.bit_size) for m in struct.members]


def _assert_same_layout(predicted: StructType, compiled: StructType) -> None:
    assert _shape(predicted) == _shape(compiled)
    assert predicted.size_bytes == compiled.size_bytes


def test_fixture_moves_members(builds: tuple[str, Build, Build]) -> None:
    """The fixture is a real test: in every changed struct, members after the new ones move."""
    _, off, on = builds
    for name in CHANGED:
        before = {m.name: m.bit_offset for m in off.get_struct(name).members}
        moved = [m.name for m in on.get_struct(name).members
                 if m.name in before and m.bit_offset != before[m.name]]
        assert moved, name


@pytest.mark.parametrize("struct_name", CHANGED)
def test_flat_scenario_matches_compiler(builds: tuple[str, Build, Build], struct_name: str) -> None:
    abi_name, off, on = builds
    results = apply_scenario(off, load_scenario("flat"), get_abi(abi_name), "as-patched", {})
    (result,) = [r for r in results if r.struct_name == struct_name]
    assert result.anchor_index == 0
    _assert_same_layout(result.result.after, on.get_struct(struct_name))


@pytest.mark.parametrize("struct_name", CHANGED)
def test_flat_patch_matches_compiler(builds: tuple[str, Build, Build], struct_name: str) -> None:
    abi_name, off, on = builds
    abi = get_abi(abi_name)
    additions = parse_patch((FIXTURES / "flat_pid.patch").read_text(), "flat_pid.patch",
                            {"CONFIG_PID_NS_FLAT": True, "CONFIG_CC_STACKPROTECTOR": True})
    (group,) = [g for g in patch_fields(off, additions, abi) if g.struct_name == struct_name]
    predicted = add_fields(off.get_struct(struct_name), group.fields, abi, debug_info=debug_info_of(off)).after
    _assert_same_layout(predicted, on.get_struct(struct_name))


def test_patch_is_the_fixture_diff() -> None:
    """Every hunk's new side is a contiguous run of lines of flat_pid.h."""
    header = (FIXTURES / "flat_pid.h").read_text()
    hunks = (FIXTURES / "flat_pid.patch").read_text().split("\n@@")[1:]
    assert len(hunks) == 3
    for hunk in hunks:
        lines = hunk.split("\n")[1:]
        new_side = "\n".join(line[1:] for line in lines if line[:1] in (" ", "+"))
        assert new_side in header


@pytest.mark.parametrize("target", ["gcc-m64", "gcc-m32"])
def test_hierarchical_scenario_matches_compiler(target: str, tmp_path: Path) -> None:
    if not have("gcc"):
        pytest.skip("gcc not installed")
    flags = ("-gdwarf-4",)
    off = _read(tmp_path, "flat_off", (FIXTURES / "flat_pid.c").read_text(), target, flags, (), STRUCTS)
    oracle = _read(tmp_path, "hier", (FIXTURES / "hier_pid.c").read_text(), target, flags, (),
                   ["pid_level0", "pid_level1"])
    abi = get_abi(TARGETS[target][1])
    for level in (0, 1):
        (result,) = apply_scenario(off, load_scenario("hierarchical"), abi, "as-patched", {}, level=level)
        _assert_same_layout(result.result.after, oracle.get_struct(f"pid_level{level}"))
