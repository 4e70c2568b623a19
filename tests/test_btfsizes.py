"""``sizes`` takes a row from ``.BTF`` only where DWARF has one definition of the name and BTF one match.

A program is linked from C compiled at test time and given a ``.BTF`` by
``pahole -J``; ``pahole -F dwarf --sizes`` is the oracle.  The fixture holds
what BTF must not answer for: a name whose only top-level definition shares
it with a function's local struct of the same size but other holes (BTF
holds both), a name defined twice, and an empty struct member.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pahole_oracle
import pytest
from cc import have

from layoutcalc import api
from layoutcalc.readers.btf import BtfTypes
from layoutcalc.readers.dwarf import DwarfFile, btfsizes, typeindex

pytestmark = pytest.mark.skipif(not (have("gcc") and pahole_oracle.PAHOLE), reason="needs gcc and pahole")

UNIT_A = r"""
struct pair { char c; int i; };                       /* 1 hole: from BTF */
struct twice { char c; long l; };                     /* defined again in unit_b, other holes */
int first(void) { struct twin { char c; long l; } t = { 1, 2 }; return t.c + (int)t.l; }   /* 16 bytes, 1 hole */
struct pair g_pair; struct twice g_twice_a;
"""

UNIT_B = r"""
struct twin { long l; char c; };                      /* 16 bytes, 0 holes: DWARF's only top-level twin */
struct empty { };
struct twice { long l; char c; };                     /* not on unit_a's line: the index tells sites by line */
struct holds_empty { char c; struct empty e; long l; };
struct solo { char c; long l; short s; };
struct twin g_twin; struct twice g_twice_b; struct holds_empty g_he; struct solo g_solo;
int first(void);
int main(void) { return first(); }
"""


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    sources = []
    for name, text in (("unit_a", UNIT_A), ("unit_b", UNIT_B)):
        (tmp_path / f"{name}.c").write_text(text)
        sources.append(str(tmp_path / f"{name}.c"))
    linked = tmp_path / "prog"
    subprocess.run(["gcc", "-O0", "-g", "-Wl,--build-id", *sources, "-o", str(linked)], check=True)
    subprocess.run([pahole_oracle.PAHOLE or "pahole", "-J", str(linked)], check=True, capture_output=True)
    return linked


def pahole_rows(path: Path, loader: str) -> list[tuple[str, int, int]]:
    text = subprocess.run([pahole_oracle.PAHOLE or "pahole", "-F", loader, "--sizes", str(path)], check=True,
                          capture_output=True, text=True).stdout
    return [(name, int(size), int(holes)) for name, size, holes in (line.split("\t") for line in text.splitlines())]


def btf_row_names(path: Path) -> set[str]:
    with DwarfFile(str(path)) as dwarf_file:
        section = dwarf_file.elf.get_section_by_name(".BTF")
        index = typeindex.get_index(str(path), dwarf_file.cache_key())
        candidates = btfsizes.BtfCandidates(section.data, str(path), dwarf_file.address_size)
        candidates.add(index.sites)
        return {name for _table, name in candidates.rows(index)}


def test_btf_rows_only_where_dwarf_and_btf_have_one_definition(program: Path) -> None:
    dwarf = pahole_rows(program, "dwarf")
    # What makes the fixture bite: BTF alone would list the local twin (1 hole) and holes of its own choosing.
    assert ("twin", 16, 1) in pahole_rows(program, "btf") and ("twin", 16, 1) not in dwarf
    assert [row for row in dwarf if row[0] in ("twin", "twice")] == [("twice", 16, 1), ("twin", 16, 0),
                                                                     ("twice", 16, 0)]
    assert btf_row_names(program) == {"pair", "solo", "empty"}  # twin: two in BTF; twice: two sites; holds_empty
    assert list(api.sizes_of(str(program), every_definition=True).rows) == dwarf


def test_a_btf_size_that_disagrees_with_dwarf_leaves_the_row_to_dwarf(program: Path, tmp_path: Path) -> None:
    """BTF edited so that struct solo claims 32 bytes: the row is DWARF's 24, as pahole -F dwarf says."""
    with DwarfFile(str(program)) as dwarf_file:
        section = dwarf_file.elf.get_section_by_name(".BTF")
        file_offset = section["sh_offset"]
        types = BtfTypes(section.data(), str(program))
    [solo] = [i for i in range(1, types.num_types) if types.record(i)[1] == 4 and types.name_of(i) == "solo"]
    data = bytearray(program.read_bytes())
    data[file_offset + types.offsets[solo] + 8:file_offset + types.offsets[solo] + 12] = struct.pack("<I", 32)
    edited = tmp_path / "prog-edited"
    edited.write_bytes(bytes(data))
    assert ("solo", 32, 1) in pahole_rows(edited, "btf")  # the edit took
    assert btf_row_names(edited) == {"pair", "empty"}
    assert list(api.sizes_of(str(edited), every_definition=True).rows) == pahole_rows(edited, "dwarf")
    assert ("solo", 24, 1) in pahole_rows(edited, "dwarf")
