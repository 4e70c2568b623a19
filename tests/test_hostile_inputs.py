"""Regression tests for issue 13's classes of hostile input: every one ends in one clean line, fast.

Cycles, depth, library exceptions, special files, damaged .debug_str, values that pass
validation badly.  Each test names the bug class it pins; the fuzz harness (tests/fuzz/)
found or re-found each of them.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cc import compile_c
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile

from layoutcalc import api
from layoutcalc.cli import main
from layoutcalc.errors import LayoutcalcError

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "tests" / "fuzz" / "seed.c").read_text()


def _one_line_error(args, expected, seconds=10.0, stdin=None):
    start = time.monotonic()
    result = CliRunner().invoke(main, args, input=stdin)
    elapsed = time.monotonic() - start
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "internal error" not in lines[0], lines[0]
    assert expected in lines[0], lines[0]
    assert elapsed < seconds, elapsed
    return lines[0]


@pytest.fixture(scope="module")
def seed_objects(tmp_path_factory):
    return build_seed_objects(tmp_path_factory.mktemp("hostile"))


def build_seed_objects(out: Path) -> dict[str, Path]:
    """The fuzz seed compiled (plain and -gz=zlib DWARF 4) and its snapshot, in ``out``."""
    (out / "seed.c").write_text(SEED.replace('"../fixtures/flat_pid.h"', f'"{ROOT}/tests/fixtures/flat_pid.h"'))
    plain = compile_c((out / "seed.c").read_text(), out, "plain", "gcc-m64", ("-gdwarf-4",))
    packed = compile_c((out / "seed.c").read_text(), out, "gz", "gcc-m64", ("-gdwarf-4", "-gz=zlib"))
    snapshot = out / "seed.snapshot.json"
    api.snapshot(str(plain), str(snapshot), ("task_struct", "signal_struct", "pid", "upid", "fpu", "thread_struct",
                                                 "hlist_node"))
    return {"plain": plain, "gz": packed, "snapshot": snapshot, "dir": out}


# ---------------------------------------------------------------- snapshot type graphs

def _snapshot_with(seed_objects, tmp_path, edit):
    data = json.loads(seed_objects["snapshot"].read_text())
    edit(data, data["types"])
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path


def _first_struct_member(data, types):
    index = data["roots"]["structs"]["thread_struct"]
    return types[index]["m"][0]


def _typedef_loop(data, types):
    first = len(types)
    types.extend({"k": "typedef", "n": f"loop{i}", "t": first + (i + 1) % 3} for i in range(3))
    _first_struct_member(data, types)[1] = first


def _pointer_to_itself(data, types):
    types.append({"k": "ptr", "t": len(types), "s": 8})
    _first_struct_member(data, types)[1] = len(types) - 1


def _struct_contains_itself(data, types):
    _first_struct_member(data, types)[1] = data["roots"]["structs"]["thread_struct"]


def _chain(kind):
    def edit(data, types):
        first = len(types)
        for i in range(1000):
            nxt = first + i + 1 if i < 999 else 1
            types.append({"qual": {"k": "qual", "q": "const", "t": nxt}, "array": {"k": "array", "t": nxt, "c": 1},
                          "ptr": {"k": "ptr", "t": nxt, "s": 8}}[kind])
        _first_struct_member(data, types)[1] = first
    return edit


@pytest.mark.parametrize("edit, expected", [
    (_typedef_loop, "contains itself by value"),                 # looped in the old cycle guard
    (_pointer_to_itself, "refers to itself through pointers"),
    (_struct_contains_itself, "struct thread_struct contains itself by value"),
    (_chain("qual"), "nest more than 100 levels deep"),          # RecursionError before
    (_chain("array"), "nest more than 100 levels deep"),
    (_chain("ptr"), "nest more than 100 levels deep"),
], ids=["typedef-loop", "pointer-to-itself", "struct-contains-itself", "1000-qualifiers", "1000-arrays",
        "1000-pointers"])
@pytest.mark.parametrize("command", [["show", "thread_struct"], ["whatif", "--scenario", "flat"]])
def test_snapshot_type_graph_attacks(seed_objects, tmp_path, edit, expected, command):
    path = _snapshot_with(seed_objects, tmp_path, edit)
    line = _one_line_error([*command, "-i", str(path)], expected)
    assert line.startswith(f"Error: {path}: malformed snapshot")


def test_snapshot_empty_fpu_and_string_alignment(seed_objects, tmp_path):
    def empty_fpu(data, types):
        types[data["roots"]["structs"]["fpu"]]["m"] = []
    path = _snapshot_with(seed_objects, tmp_path, empty_fpu)
    result = CliRunner().invoke(main, ["slab", "-i", str(path), "--scenario", "none"])
    assert result.exit_code in (0, 1) and "internal error" not in result.output, result.output
    if result.exit_code == 1:
        assert len(result.output.strip().splitlines()) == 1

    def string_alignment(data, types):
        _first_struct_member(data, types)[4] = "8"
    path = _snapshot_with(seed_objects, tmp_path, string_alignment)
    _one_line_error(["show", "thread_struct", "-i", str(path)], "alignment must be a power of two, not '8'")


# ---------------------------------------------------------------- BTF

def _btf_blob(records: list[bytes], strings: bytes) -> bytes:
    types = b"".join(records)
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)) + types + strings


def _rec(name_off, kind, vlen, size_or_type, extra=b"", kind_flag=0):
    return struct.pack("<III", name_off, (kind_flag << 31) | (kind << 24) | vlen, size_or_type) + extra


STRINGS = b"\0int\0loop\0s\0x\0"   # offsets: int 1, loop 5, s 10, x 12


@pytest.mark.parametrize("records, expected", [
    # [1] int, [2] typedef loop -> 2, [3] struct s { loop x; }: _int_bitfield looped forever
    ([_rec(1, 1, 0, 4, struct.pack("<I", 32)), _rec(5, 8, 0, 2), _rec(10, 4, 1, 4, struct.pack("<III", 12, 2, 0))],
     "loop"),
    # [2] const -> 2 (a qualifier naming itself)
    ([_rec(1, 1, 0, 4, struct.pack("<I", 32)), _rec(0, 10, 0, 2), _rec(10, 4, 1, 4, struct.pack("<III", 12, 2, 0))],
     "loop"),
    # [3] struct s { struct s x; }
    ([_rec(1, 1, 0, 4, struct.pack("<I", 32)), _rec(5, 8, 0, 1), _rec(10, 4, 1, 4, struct.pack("<III", 12, 3, 0))],
     "contains itself by value"),
    # [2] ptr -> 2 inside s
    ([_rec(1, 1, 0, 4, struct.pack("<I", 32)), _rec(0, 2, 0, 2), _rec(10, 4, 1, 8, struct.pack("<III", 12, 2, 0))],
     "refers to itself through pointers"),
], ids=["typedef-names-itself", "const-names-itself", "struct-contains-itself", "pointer-to-itself"])
def test_btf_loops(tmp_path, records, expected):
    path = tmp_path / "loop.btf"
    path.write_bytes(_btf_blob(records, STRINGS))
    _one_line_error(["show", "s", "-i", str(path)], expected, seconds=5)


def test_btf_1000_stacked_qualifiers(tmp_path):
    records = [_rec(1, 1, 0, 4, struct.pack("<I", 32))]
    records += [_rec(0, 10, 0, i + 1) for i in range(1, 1001)]          # [2..1001] const -> previous
    records += [_rec(10, 4, 1, 4, struct.pack("<III", 12, 1001, 0))]   # struct s { const const ... int x; }
    path = tmp_path / "deep.btf"
    path.write_bytes(_btf_blob(records, STRINGS))
    _one_line_error(["show", "s", "-i", str(path)], "levels deep", seconds=5)


# ---------------------------------------------------------------- ELF, DWARF, compression

def _section(data: bytes, name: str):
    elf = ELFFile(io.BytesIO(data))
    index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == name)
    header_at = elf["e_shoff"] + index * elf["e_shentsize"]
    section = elf.get_section(index)
    return header_at, section["sh_offset"], section["sh_size"]


def test_section_size_of_2_62_is_an_error_not_memory(seed_objects, tmp_path):
    data = bytearray(seed_objects["plain"].read_bytes())
    header_at, _, _ = _section(bytes(data), ".debug_info")
    struct.pack_into("<Q", data, header_at + 32, 1 << 62)  # sh_size
    path = tmp_path / "huge.o"
    path.write_bytes(bytes(data))
    _one_line_error(["show", "task_struct", "-i", str(path)], "past the end of the file", seconds=5)


def test_nobits_debug_section_of_2_62_bytes(seed_objects, tmp_path):
    data = bytearray(seed_objects["plain"].read_bytes())
    header_at, _, _ = _section(bytes(data), ".debug_str")
    struct.pack_into("<I", data, header_at + 4, 8)          # SHT_NOBITS
    struct.pack_into("<Q", data, header_at + 32, 1 << 62)
    path = tmp_path / "nobits.o"
    path.write_bytes(bytes(data))
    _one_line_error(["show", "task_struct", "-i", str(path)], "bytes of zeros", seconds=5)


@pytest.mark.parametrize("where, expected", [
    ("stream", "cannot read ELF/DWARF"),       # zlib.error escaped before
    ("ch_size", "more than zlib can"),          # a 2^62-byte promise
])
def test_corrupt_compressed_section(seed_objects, tmp_path, where, expected):
    data = bytearray(seed_objects["gz"].read_bytes())
    _, offset, size = _section(bytes(data), ".debug_info")
    if where == "stream":
        for i in range(offset + 24 + 2, offset + size - 4, 7):
            data[i] ^= 0x55
    else:
        struct.pack_into("<Q", data, offset + 8, 1 << 62)
    path = tmp_path / "bad-gz.o"
    path.write_bytes(bytes(data))
    _one_line_error(["show", "task_struct", "-i", str(path)], expected, seconds=5)


@pytest.mark.parametrize("command", ["show", "baseline", "diff"])
def test_unknown_attribute_forms_in_abbreviations(seed_objects, tmp_path, command):
    """pyelftools raised KeyError('DW_FORM_null') past the boundary of the baseline/diff reader."""
    data = seed_objects["plain"].read_bytes()
    _, offset, size = _section(data, ".debug_abbrev")
    seen = 0
    for form in (0x00, 0x2D, 0x7F, 0x1F, 0x19, 0x21, 0x03):
        damaged = bytearray(data)
        for i in range(offset + 4, offset + size, 11):
            damaged[i] = form
        path = tmp_path / f"form{form:x}.o"
        path.write_bytes(bytes(damaged))
        args = {"show": ["show", "task_struct", "-i", str(path)],
                "baseline": ["baseline", str(path), "-o", str(tmp_path / "b.json")],
                "diff": ["diff", str(seed_objects["plain"]), str(path)]}[command]
        result = CliRunner().invoke(main, args)
        assert result.exit_code in (0, 1) and "internal error" not in result.output, (form, result.output)
        assert len(result.output.strip().splitlines()) == 1 or result.exit_code == 0
        seen += result.exit_code
    assert seen >= 3  # the damage bites


def _pointer_to_itself_in_dwarf(obj: Path, out: Path) -> Path:
    data = bytearray(obj.read_bytes())
    elf = ELFFile(io.BytesIO(bytes(data)))
    info = elf.get_section_by_name(".debug_info")
    for cu in elf.get_dwarf_info(relocate_dwarf_sections=False).iter_CUs():
        for die in cu.iter_DIEs():
            attr = die.attributes.get("DW_AT_type")
            if die.tag == "DW_TAG_pointer_type" and attr is not None and attr.form == "DW_FORM_ref4":
                struct.pack_into("<I", data, info["sh_offset"] + attr.offset, die.offset - cu.cu_offset)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("command", ["show", "baseline", "diff", "sizes"])
def test_dwarf_pointers_to_themselves(seed_objects, tmp_path, command):
    """Every DWARF pointer made to point at itself: RecursionError in 'diff' before."""
    path = _pointer_to_itself_in_dwarf(seed_objects["plain"], tmp_path / "selfptr.o")
    args = {"show": ["show", "task_struct", "-i", str(path)], "sizes": ["sizes", "-i", str(path)],
            "baseline": ["baseline", str(path), "-o", str(tmp_path / "b.json")],
            "diff": ["diff", str(path), str(path)]}[command]
    _one_line_error(args, "refers to itself through pointers", seconds=10)


def test_zeroed_debug_str_fails_fast_and_writes_nothing(seed_objects, tmp_path):
    data = bytearray(seed_objects["plain"].read_bytes())
    _, offset, size = _section(bytes(data), ".debug_str")
    cut = offset + size // 8
    data[cut:offset + size] = bytes(offset + size - cut)
    path = tmp_path / "zeroed.o"
    path.write_bytes(bytes(data))
    out = tmp_path / "out.json"
    line = _one_line_error(["snapshot", str(path), "-o", str(out)], "", seconds=10)
    assert "damaged" in line or "no struct named" in line, line
    assert not out.exists()


def test_snapshot_of_a_negative_bit_offset_is_refused_before_writing(tmp_path):
    from layoutcalc.model import BaseType, Build, Member, StructType
    from layoutcalc.readers.snapshot import write_snapshot
    build = Build(name="neg", arch="x86_64", address_size=8, byte_order="little")
    build.structs["s"] = StructType("struct", "s", 4, [Member("x", BaseType("int", 4), -8, 3)])
    out = tmp_path / "neg.json"
    out.write_text("previous")
    with pytest.raises(LayoutcalcError, match="bit_offset must be a non-negative integer, not -8"):
        write_snapshot(build, str(out))
    assert out.read_text() == "previous"


# ---------------------------------------------------------------- declarations, conditions, patches

def _scenario(tmp_path, fields=("int vnr;",), condition="CONFIG_PID_NS_FLAT"):
    path = tmp_path / "hostile.toml"
    path.write_text("[defines]\nCONFIG_PID_NS_FLAT = true\n\n[[change]]\nstruct = \"pid\"\n"
                    f"after = [\"count\"]\ncondition = {json.dumps(condition)}\nfields = {json.dumps(list(fields))}\n")
    return path


@pytest.mark.parametrize("fields, condition, expected", [
    (["int " + "*" * 1000 + "p;"], "CONFIG_PID_NS_FLAT", "levels of pointers"),
    (["int x" + "[1]" * 1000 + ";"], "CONFIG_PID_NS_FLAT", "more than 64 array dimensions"),
    (["int " + "(" * 1000 + "x" + ")" * 1000 + ";"], "CONFIG_PID_NS_FLAT", "levels deep"),
    ([" ".join(f"t{i}" for i in range(200)) + " x;"], "CONFIG_PID_NS_FLAT", "distinct names"),
    (["int vnr;"], "(" * 1000 + "CONFIG_PID_NS_FLAT" + ")" * 1000, "nests more than 64 levels"),
    (["int vnr;"], "!" * 5000 + "CONFIG_PID_NS_FLAT", "nests more than 64 levels"),
], ids=["1000-stars", "1000-arrays", "1000-parens", "200-names", "1000-parens-condition", "5000-nots"])
def test_scenario_depth(seed_objects, tmp_path, fields, condition, expected):
    path = _scenario(tmp_path, fields, condition)
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(path)], expected, seconds=5)


def test_patch_with_1000_nested_ifdefs(seed_objects, tmp_path):
    patch = (ROOT / "tests" / "fixtures" / "flat_pid.patch").read_text().splitlines()
    at = next(i for i, line in enumerate(patch) if line.startswith("+#ifdef"))
    patch[at:at] = ["+#ifdef CONFIG_A"] * 1000 + ["+\tint deep;"] + ["+#endif"] * 1000
    # keep the hunk well formed (its header counts the 2,001 new lines), so the nesting is what is refused
    header = max(i for i in range(at) if patch[i].startswith("@@"))
    old_range, new_range = patch[header].split()[1:3]
    start, _, count = new_range[1:].partition(",")
    patch[header] = patch[header].replace(new_range, f"+{start},{int(count or 1) + 2001}", 1)
    path = tmp_path / "deep.patch"
    path.write_text("\n".join(patch) + "\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path)],
                    "#if blocks nest more than 64 levels deep", seconds=5)


def test_patch_with_1000_stars(seed_objects, tmp_path):
    patch = (ROOT / "tests" / "fixtures" / "flat_pid.patch").read_text().replace(
        "+\tint vnr;", "+\tint " + "*" * 1000 + "vnr;")
    path = tmp_path / "stars.patch"
    path.write_text(patch)
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path),
                     "--define", "CONFIG_PID_NS_FLAT=y"], "cannot parse declaration", seconds=5)


# ---------------------------------------------------------------- special files

SPECIAL_RUN = """
import sys
from layoutcalc.cli import main
main(args=sys.argv[1:], prog_name="layoutcalc")
"""


def _run_cli(args, timeout=20, stdin=None):
    """In a subprocess: a FIFO that blocks would hang this test, not the suite."""
    return subprocess.run([sys.executable, "-c", SPECIAL_RUN, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


@pytest.mark.parametrize("option", ["-i", "--scenario", "--patch"])
def test_fifo_inputs_are_refused_without_blocking(seed_objects, tmp_path, option):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    args = ["whatif", "-i", str(seed_objects["snapshot"])]
    args = ["whatif", "-i", str(fifo)] if option == "-i" else args + [option, str(fifo)]
    done = _run_cli(args)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"Error: {fifo}: is a FIFO, not a regular file (use '-' to read standard input)"


def test_dev_zero_as_scenario(seed_objects):
    done = _run_cli(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", "/dev/zero"])
    assert done.returncode == 1
    assert done.stderr.strip() == ("Error: /dev/zero: is a character device, not a regular file "
                                   "(use '-' to read standard input)")


def test_dash_reads_standard_input(seed_objects):
    done = _run_cli(["show", "pid", "-i", "-"], stdin=seed_objects["snapshot"].read_text())
    assert done.returncode == 0, done.stderr
    assert "struct pid {" in done.stdout
    bad = _run_cli(["show", "pid", "-i", "-"], stdin="not json at all\n")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: -: not an ELF file"), bad.stderr


@pytest.mark.parametrize("command, expected", [
    (["slab", "--scenario", "none"], "cache pid: an object of 0 bytes cannot come from a slab"),
    (["slab", "--scenario", "flat"], "cache pid: an object of 0 bytes cannot come from a slab"),
    (["report"], "struct pid has none of the anchors")])
def test_zero_sized_cache_struct(seed_objects, tmp_path, command, expected):
    """A damaged struct pid of size 0 divided by zero in the slab model (found by the fuzz run, case 6566)."""
    def empty_pid(data, types):
        entry = types[data["roots"]["structs"]["pid"]]
        entry["s"] = 0
        entry.pop("m", None)  # members in a 0-byte struct are refused earlier, by the layout check
    path = _snapshot_with(seed_objects, tmp_path, empty_pid)
    _one_line_error([*command, "-i", str(path)], expected)


@pytest.mark.parametrize("edit, expected", [
    (lambda data: data["structs"][0]["members"][0].__setitem__(2, float("inf")), "Infinity is not a number"),
    (lambda data: data["structs"][0].__setitem__("size", float("nan")), "NaN is not a number"),
], ids=["infinity-offset", "nan-size"])
def test_baseline_with_non_finite_numbers(seed_objects, tmp_path, edit, expected):
    """int(float('inf')) raised OverflowError past the baseline reader (found by the fuzz run, case 133)."""
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    edit(data)
    baseline.write_text(json.dumps(data, allow_nan=True))
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], expected)


def test_oversized_baseline_is_refused_before_parsing(seed_objects, tmp_path, monkeypatch):
    """A 900 MB mutant baseline took 1.8 GB to parse (fuzz case 3220): files over the cap are refused."""
    from layoutcalc.features import budget
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    monkeypatch.setattr(budget, "MAX_BASELINE_BYTES", baseline.stat().st_size - 1)
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], "too large for a baseline")


def test_baseline_with_more_structs_than_a_kernel_is_refused(seed_objects, tmp_path, monkeypatch):
    """A mutant baseline of 110,000 entries took 6 s of CPU in 'check' (the 10,000-case fuzz run)."""
    from layoutcalc.features import budget
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    count = len(json.loads(baseline.read_text())["structs"])
    monkeypatch.setattr(budget, "MAX_BASELINE_STRUCTS", count - 1)
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)],
                    f"{count} structs, more than any kernel build holds")


def test_damaged_note_section_of_a_linked_file(tmp_path):
    """A linked ELF whose first note claims a 2 GiB name: the build-id lookup (for the scan cache) raised
    ELFParseError past the reader boundary as an internal error; now the file is read without a cache."""
    from elftools.elf.elffile import ELFFile
    source = tmp_path / "prog.c"
    source.write_text("struct s { int a; long b; }; struct s x;\nint main(void) { return 0; }\n")
    exe = tmp_path / "prog"
    subprocess.run(["gcc", "-g", "-Wl,--build-id", str(source), "-o", str(exe)], check=True, capture_output=True)
    data = bytearray(exe.read_bytes())
    with open(exe, "rb") as stream:
        offset = next(s["sh_offset"] for s in ELFFile(stream).iter_sections() if s["sh_type"] == "SHT_NOTE")
    data[offset:offset + 4] = (0x7FFFFFF0).to_bytes(4, "little")
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(data))
    for args in (["show", "s", "-i", str(damaged)], ["sizes", "-i", str(damaged)]):
        result = CliRunner().invoke(main, args)
        assert "internal error" not in result.output, result.output
        assert result.exit_code == 0, result.output
    assert "/* size: 16, cachelines: 1, members: 2 */" in CliRunner().invoke(main, ["show", "s", "-i",
                                                                                  str(damaged)]).output


def test_scenario_larger_than_any_written_by_hand_is_refused(tmp_path):
    """A 12 MB mutant scenario of 75,000 changes took 7 s of CPU (fuzz seed 13, case 1967)."""
    from layoutcalc.changes.scenario import MAX_SCENARIO_BYTES, SCENARIO_DIR
    flat = (SCENARIO_DIR / "flat.toml").read_text()
    change = flat[flat.index("[[change]]"):]
    big = tmp_path / "big.toml"
    big.write_text(flat + change * (MAX_SCENARIO_BYTES // len(change) + 1))
    _one_line_error(["report", "--scenario", str(big)], "too large for a scenario")


def test_scan_cache_is_not_shared_by_a_damaged_copy_of_the_same_build(tmp_path, monkeypatch):
    """The whole-scan cache was keyed by build-id alone, so a damaged copy of a vmlinux (same build-id)
    was served the good file's cached structs and 'snapshot' exited 0 on it."""
    from layoutcalc.readers.dwarf import DwarfFile
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "prog.c"
    source.write_text("struct layoutcalc_probe_struct { int first_member_name; long second_member_name; };\n"
                      "struct layoutcalc_probe_struct x;\nint main(void) { return 0; }\n")
    good = tmp_path / "good"
    subprocess.run(["gcc", "-g", "-Wl,--build-id", str(source), "-o", str(good)], check=True, capture_output=True)
    assert CliRunner().invoke(main, ["show", "layoutcalc_probe_struct", "-i", str(good)]).exit_code == 0  # cached
    data = bytearray(good.read_bytes())
    _, offset, size = _section(bytes(data), ".debug_str")
    data[offset:offset + size] = bytes(size)
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(data))
    with DwarfFile(str(good)) as a, DwarfFile(str(damaged)) as b:
        assert a.build_id() == b.build_id() is not None
        assert a.cache_key() != b.cache_key()
    out = tmp_path / "out.json"
    _one_line_error(["snapshot", str(damaged), "-o", str(out), "--struct", "layoutcalc_probe_struct"], "")
    assert not out.exists()
