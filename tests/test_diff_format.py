"""``diff`` written as pahole and bloat-o-meter write it: bitfields, moved members, bit holes, order, names."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cc import compile_c

from layoutcalc import api
from layoutcalc.features.diff import Catalogue, StructLayout, diff_catalogues
from layoutcalc.render.diff import diff_text

OLD = """
struct flip { int a; long b; };
struct anon { int head; union { int first; long wide; }; long tail; };
struct flip f; struct anon an;
"""
NEW = """
union flip { int a; long b; };
struct anon { int head; union { short zeroth; int first; long wide; }; long tail; };
union flip f; struct anon an;
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("fmt")
    return api.diff(str(compile_c(OLD, root, "old")), str(compile_c(NEW, root, "new")))


def test_struct_to_union_is_one_change(result):
    flip = [c for c in result.changes if c.label in ("flip", "union flip")]
    assert [(c.label, c.status, c.old_size, c.new_size) for c in flip] == [("union flip", "shrunk", 16, 8)]
    assert flip[0].note == "was a struct, now a union"
    assert (result.summary.added, result.summary.removed, result.summary.shrunk) == (0, 0, 1)


def test_anonymous_union_keeps_its_name_when_a_first_member_is_added(result):
    anon = next(c for c in result.changes if c.label == "anon")
    assert [(m.change, m.name) for m in anon.members] == [("added", "zeroth")]


def test_unnamed_bitfield_is_named_by_its_neighbour_and_moves():
    """gcc leaves unnamed bitfields out of DWARF; BTF and snapshots keep them (built here in code)."""
    from layoutcalc.features.diff import diff_layouts, struct_layout
    from layoutcalc.model import BaseType, Member, StructType
    uint, sint = BaseType("unsigned int", 4, "unsigned"), BaseType("int", 4)

    def padbits(shift):
        members = [Member("x0", sint, 0)] if shift else []
        members += [Member("a", uint, shift, 3), Member(None, uint, shift + 3, 2), Member("b", uint, shift + 5, 4),
                    Member(None, uint, shift + 9, 1), Member("x", sint, shift + 32)]
        return struct_layout(StructType("struct", "padbits", 8 + shift // 8, members))
    old, new = padbits(0), padbits(32)
    assert [m.name for m in old.members] == ["a", "(unnamed bitfield after a)", "b", "(unnamed bitfield after b)",
                                             "x"]
    members, _ = diff_layouts(old, new)
    assert [(m.change, m.name) for m in members] == [
        ("added", "x0"), ("moved", "a"), ("moved", "(unnamed bitfield after a)"), ("moved", "b"),
        ("moved", "(unnamed bitfield after b)"), ("moved", "x")]


def _layout(name, size):
    return StructLayout("struct", name, size, (), (), 0)


def test_several_definitions_of_a_name_are_one_row_summed_as_bloat_o_meter_does():
    old = Catalogue("old", "x86_64", 64, "btf", {"elf_note_info": (_layout("elf_note_info", 40),
                                                                    _layout("elf_note_info", 56)),
                                                  "other": (_layout("other", 8),)}, {})
    new = Catalogue("new", "x86_64", 64, "btf", {"elf_note_info": (_layout("elf_note_info", 40),
                                                                    _layout("elf_note_info", 64)),
                                                  "other": (_layout("other", 8),)}, {})
    result = diff_catalogues(old, new)
    lines = diff_text(result).splitlines()
    assert lines[0] == "add/remove: 0/0 grow/shrink: 1/0 up/down: 8/0 (8)"
    assert lines[2].split() == ["elf_note_info", "96", "104", "+8"]
    assert lines[3] == "Total: Before=104, After=112, chg +7.69%"


@pytest.mark.realbuild
def test_real_47_to_57_as_pahole_writes_it():
    from realbuilds import vmlinux
    old, new = vmlinux("47-cloud-amd64"), vmlinux("57-cloud-amd64")
    lines = diff_text(api.diff(old, new)).splitlines()
    assert "  added    unsigned int per_func_slot:1;  /* 32:16 4 */" in lines
    assert "  bit hole after per_func_slot: 0 -> 15 bits (opened)" in lines
    assert ("  retyped  reset: int (*)(struct cxl_decoder *) -> void (*)(struct cxl_decoder *)  "
            "/* 800 8 -> 808 8 */") in lines
    total = next(i for i, line in enumerate(lines) if line.startswith("Total: "))
    deltas = [int(line.split()[-1]) for line in lines[2:total]]
    assert deltas == sorted(deltas, reverse=True) and len(deltas) == 14 + 3 + 128 + 15
    if shutil.which("pahole"):
        slot = subprocess.run(["pahole", "-F", "btf", "-C", "pci_slot", new], capture_output=True, text=True).stdout
        assert "per_func_slot:1;      /*    32:16  4 */" in slot and "XXX 15 bits hole" in slot
        for path, offset in ((old, 800), (new, 808)):
            cxl = subprocess.run(["pahole", "-F", "btf", "-C", "cxl_decoder", path], capture_output=True,
                                 text=True).stdout
            assert f"(*reset)(struct cxl_decoder *); /*   {offset}     8 */" in cxl


def _pahole_bit_holes(text: str) -> dict[str, list[list[int]]]:
    import re
    blocks: dict[str, list[list[int]]] = {}
    for match in re.finditer(r"^(struct|union) (\w+) \{\n(.*?)^\};", text, re.S | re.M):
        kind, name, body = match.groups()
        label = name if kind == "struct" else f"union {name}"
        blocks.setdefault(label, []).append(sorted(int(x) for x in re.findall(r"XXX (\d+) bits? hole", body)))
    return blocks


@pytest.mark.realbuild
@pytest.mark.skipif(shutil.which("pahole") is None, reason="pahole (dwarves) not installed")
def test_real_bit_holes_equal_paholes():
    """Every single-definition struct of 6.1.0-57: our bit holes (nested inline types included) are pahole's."""
    from realbuilds import vmlinux
    path = vmlinux("57-cloud-amd64")
    dump = subprocess.run(["pahole", "-F", "btf", path], capture_output=True, text=True).stdout
    pahole = _pahole_bit_holes(dump)
    found = api.catalogue(path)
    checked = with_bit_holes = 0
    for label, layouts in found.layouts.items():
        if len(layouts) != 1 or len(pahole.get(label, [])) != 1:
            continue
        ours = sorted(h.size for h in layouts[0].bit_holes or ())
        theirs = pahole[label][0]
        if ours != theirs:  # the dump's blocks can run together; ask pahole for this struct alone
            alone = subprocess.run(["pahole", "-F", "btf", "-C", label.split(" ")[-1], path], capture_output=True,
                                   text=True).stdout
            theirs = _pahole_bit_holes(alone).get(label, [[]])[0]
        assert ours == theirs, label
        checked += 1
        with_bit_holes += bool(ours)
    assert checked > 7000 and with_bit_holes > 90


def test_diff_output_writes_more_formats(tmp_path):
    import json

    from click.testing import CliRunner

    from layoutcalc.cli import main
    old, new = compile_c(OLD, tmp_path, "old"), compile_c(NEW, tmp_path, "new")
    target = tmp_path / "diff.json"
    result = CliRunner().invoke(main, ["diff", str(old), str(new), "--output", f"json={target}"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("add/remove: 0/0 grow/shrink: 0/1 up/down: 0/-8 (-8)\n")
    assert json.loads(target.read_text())["summary"]["shrunk"] == 1
