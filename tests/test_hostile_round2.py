"""Regression tests for issue 23's classes of hostile input (round two): each ends in one clean line, fast.

Classes, as the issue numbers them: 1 huge integers, 2 octal-looking literals,
3 deep nesting, 4 type errors behind the schema, 5 special files and bombs,
6 loops and blow-ups, 7 worker noise, 8 damage accepted as data, 9 stale caches
and a valid input refused.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_hostile_inputs import (ROOT, _first_struct_member, _one_line_error, _run_cli, _snapshot_with,
                                 build_seed_objects)

from layoutcalc.cli import main
from layoutcalc.errors import LayoutcalcError

HUGE = "9" * 4301
TREE = ROOT / "tests" / "fixtures" / "kernel-tree"
PATCH = ROOT / "tests" / "fixtures" / "flat_pid.patch"



@pytest.fixture(scope="module")
def seed_objects(tmp_path_factory):
    return build_seed_objects(tmp_path_factory.mktemp("hostile2"))


# ---------------------------------------------------------------- 1, 2: numbers

@pytest.mark.parametrize("value, expected", [
    (HUGE, "too long for a 64-bit number"),
    ("18446744073709551616", "does not fit in 64 bits"),
    ("08", "8 and 9 are not octal digits"),
    ("-09", "8 and 9 are not octal digits"),
], ids=["4301-digits", "2^64", "08", "-09"])
def test_define_numbers(seed_objects, value, expected):
    line = _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH),
                            "--define", f"CONFIG_X={value}"], expected)
    assert "bad --define 'CONFIG_X=" in line


def test_define_octal_is_c_octal(seed_objects, tmp_path):
    """``0123`` is 83, as gcc's preprocessor reads it: ``#if CONFIG_X == 83`` holds."""
    patch = PATCH.read_text().replace("+#ifdef CONFIG_PID_NS_FLAT\n+\t/*", "+#if CONFIG_X == 83\n+\t/*", 1)
    path = tmp_path / "octal.patch"
    path.write_text(patch)
    args = ["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path), "--format", "json"]
    on = CliRunner().invoke(main, [*args, "--define", "CONFIG_X=0123"])
    off = CliRunner().invoke(main, [*args, "--define", "CONFIG_X=123"])
    assert on.exit_code == 0 and '"vnr"' in on.stdout, on.output
    # 123 is not 83: the block is left out, and struct pid is listed unchanged with the reason.
    assert off.exit_code == 0, off.output
    pid = next(s for s in json.loads(off.stdout)["structs"] if s["name"] == "pid")
    assert pid["size_before"] == pid["size_after"] and not pid.get("added")
    assert "'CONFIG_X == 83' is false" in off.stderr


@pytest.mark.parametrize("value, expected", [
    (HUGE, "too long for a 64-bit number"), ("08", "not octal digits"), ("-09", "not octal digits")],
    ids=["4301-digits", "08", "-09"])
def test_config_numbers(seed_objects, tmp_path, value, expected):
    config = tmp_path / "config"
    config.write_text(f"CONFIG_PID_NS_FLAT=y\nCONFIG_X={value}\n")
    line = _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH),
                            "--config", str(config)], expected)
    assert f"{config}:2: " in line


@pytest.mark.parametrize("operand, expected", [(HUGE, "too long for a 64-bit number"), ("08", "not octal digits"),
                                               ("0x1ffffffffffffffff", "does not fit in 64 bits")],
                         ids=["4301-digits", "08", "2^65-1"])
def test_if_operands(seed_objects, tmp_path, operand, expected):
    patch = PATCH.read_text().replace("+#ifdef CONFIG_PID_NS_FLAT\n+\t/*", f"+#if CONFIG_X == {operand}\n+\t/*", 1)
    path = tmp_path / "if.patch"
    path.write_text(patch)
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path),
                     "--define", "CONFIG_X=1"], expected)


def test_huge_integer_in_snapshot_json(seed_objects, tmp_path):
    text = seed_objects["snapshot"].read_text().replace('"version":1', f'"version":{HUGE}', 1)
    path = tmp_path / "huge.json"
    path.write_text(text)
    _one_line_error(["show", "pid", "-i", str(path)], "digits) is too large")


def test_huge_integer_in_scenario_and_budget(seed_objects, tmp_path):
    scenario = tmp_path / "huge.toml"
    scenario.write_text(f"[[change]]\nstruct = \"pid\"\nafter = [\"count\"]\nalign = {HUGE}\nfields = [\"int x;\"]\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(scenario)],
                    "Exceeds the limit")
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    budget = tmp_path / "budget.toml"
    budget.write_text(f"[defaults]\ngrowth = {HUGE}\n")
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline), "--budget", str(budget)],
                    f"{budget}: malformed TOML")


@pytest.mark.parametrize("size", ["1" + "0" * 400, "1e400", "-4"], ids=["10^400", "1e400", "negative"])
def test_baseline_size_out_of_range(seed_objects, tmp_path, size):
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    data["structs"][0]["size"] = "@SIZE@"
    baseline.write_text(json.dumps(data).replace('"@SIZE@"', size))
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], str(baseline))


# ---------------------------------------------------------------- 3: nesting

DEEP = "[" * 2000 + "]" * 2000


def test_deep_nesting_in_toml_and_json(seed_objects, tmp_path):
    scenario = tmp_path / "deep.toml"
    scenario.write_text(f"x = {DEEP}\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(scenario)],
                    "nested deeper than 64 levels")
    budget = tmp_path / "deep-budget.toml"
    budget.write_text(f"allow = {DEEP}\n")
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline), "--budget", str(budget)],
                    "nested deeper than 64 levels")
    snapshot = tmp_path / "deep.json"
    snapshot.write_text(seed_objects["snapshot"].read_text().replace('"roots":', f'"x":{DEEP},"roots":', 1))
    for command in (["show", "pid", "-i", str(snapshot)], ["diff", str(snapshot), str(seed_objects["snapshot"])],
                    ["history", "--struct", "pid", str(seed_objects["snapshot"]), str(snapshot)]):
        _one_line_error(command, "nested deeper than 64 levels")


# ---------------------------------------------------------------- 4, 8: schemas

def _typedef_alignment(value):
    def edit(data, types):
        types.append({"k": "typedef", "n": "aligned_int", "t": _first_struct_member(data, types)[1], "a": value})
        _first_struct_member(data, types)[1] = len(types) - 1
    return edit


@pytest.mark.parametrize("value", ["8", [8], 3, 0], ids=["string", "list", "three", "zero"])
@pytest.mark.parametrize("command", [["whatif", "--scenario", "flat"], ["slab", "--scenario", "none"],
                                     ["show", "thread_struct"]])
def test_typedef_alignment_must_be_a_power_of_two(seed_objects, tmp_path, value, command):
    path = _snapshot_with(seed_objects, tmp_path, _typedef_alignment(value))
    _one_line_error([*command, "-i", str(path)], f"alignment must be a power of two, not {value!r}")


def test_fpu_without_members_in_slab(seed_objects, tmp_path):
    def empty_fpu(data, types):
        types[data["roots"]["structs"]["fpu"]].pop("m", None)
    path = _snapshot_with(seed_objects, tmp_path, empty_fpu)
    result = CliRunner().invoke(main, ["slab", "-i", str(path), "--scenario", "none"])
    lines = result.output.strip().splitlines()
    assert "internal error" not in result.output, result.output
    assert result.exit_code == 0 or (result.exit_code == 1 and len(lines) == 1), result.output


def _struct(name):
    def get(data, types):
        return types[data["roots"]["structs"][name]]
    return get


@pytest.mark.parametrize("edit, expected", [
    (lambda d, t: _struct("pid")(d, t)["m"][0].__setitem__(2, 5560 * 8), "outside it"),
    (lambda d, t: _struct("pid")(d, t)["m"][0].__setitem__(2, -8), "must be a non-negative integer"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 0), "outside it"),
    (lambda d, t: (t.append({"k": "array", "t": _first_struct_member(d, t)[1], "c": 4 * 10 ** 29}),
                   _first_struct_member(d, t).__setitem__(1, len(t) - 1)), "does not fit in 64 bits"),
    (lambda d, t: (t.append({"k": "array", "t": _first_struct_member(d, t)[1], "c": 4 * 10 ** 18}),
                   _first_struct_member(d, t).__setitem__(1, len(t) - 1)), "outside it"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 10 ** 30), "does not fit in 64 bits"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 1 << 40), "has size 1099511627776"),
], ids=["member-at-byte-5560", "negative-offset", "size-0-with-members", "4e29-elements", "4e18-elements",
        "size-10^30", "size-2^40"])
@pytest.mark.parametrize("command", [["show", "pid"], ["slab", "--scenario", "none"], ["sizes"]])
def test_damage_is_not_data(seed_objects, tmp_path, edit, expected, command):
    path = _snapshot_with(seed_objects, tmp_path, edit)
    _one_line_error([*command, "-i", str(path)], expected)


def test_negative_baseline_offset(seed_objects, tmp_path):
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    data["structs"][0]["members"][0][2] = -96
    baseline.write_text(json.dumps(data))
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], "offset")


# ---------------------------------------------------------------- 5: special files and bombs

@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_config_special_files(seed_objects, tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "fifo")
        os.mkfifo(special)
    result = _run_cli(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH), "--config", special])
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: {special}: is a ")


def test_gzip_config_bomb_stops_while_streaming(seed_objects, tmp_path):
    config = tmp_path / "config.gz"
    with gzip.open(config, "wb", compresslevel=9) as stream:
        stream.write(b"CONFIG_PID_NS_FLAT=y\n")
        for _ in range(64):
            stream.write(b"\0" * (1 << 20))
    result = _run_cli(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH), "--config",
                       str(config)])
    assert result.returncode == 1 and "expands to more than" in result.stderr, result.stderr


def _tree_copy(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, symlinks=True)
    return tree


@pytest.mark.parametrize("victim", ["Makefile", "kernel/fork.c", "include/linux/unused.h", "up.config"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_source_tree_special_files(tmp_path, victim, kind):
    tree = _tree_copy(tmp_path)
    target = tree / victim
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    result = _run_cli(["snapshot", "--kernel-source", str(tree), "--config", str(tree / "up.config"), "-o",
                       str(tmp_path / "out.json")], timeout=60)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "is a FIFO" in result.stderr or "is a character device" in result.stderr, result.stderr
    assert not (tmp_path / "out.json").exists()


def test_standard_input_is_capped(seed_objects, monkeypatch):
    import layoutcalc.readers as readers
    monkeypatch.setattr(readers, "MAX_STDIN_BYTES", 1 << 16)
    data = Path(seed_objects["plain"]).read_bytes() + b"\0" * (1 << 17)
    _one_line_error(["show", "pid", "-i", "-"], "more than 65536 bytes on standard input", stdin=data)


# ---------------------------------------------------------------- 6: loops and blow-ups

SIBLING_C = "struct s { int a; int b; };\nstruct t { struct s x; long y; };\nstruct s v;\nstruct t w;\n"


def _gcc(source: str, out: Path, name: str, flags: tuple[str, ...], linked: bool) -> Path:
    """``source`` compiled by gcc with ``flags``: an object, or a linked executable (``linked``)."""
    (out / f"{name}.c").write_text(source + ("int main(void) { return 0; }\n" if linked else ""))
    target = out / (name if linked else f"{name}.o")
    subprocess.run(["gcc", "-O0", *flags, *([] if linked else ["-c"]), str(out / f"{name}.c"), "-o", str(target)],
                   check=True, capture_output=True)
    return target


def _sibling_pointing_at_itself(obj: Path, out: Path) -> Path:
    """``obj`` with the first DW_AT_sibling of a top-level DIE set to that DIE's own offset."""
    from elftools.elf.elffile import ELFFile
    data = bytearray(obj.read_bytes())
    with open(obj, "rb") as stream:
        elf = ELFFile(stream)
        base = elf.get_section_by_name(".debug_info")["sh_offset"]
        cu = next(elf.get_dwarf_info().iter_CUs())
        die = next(d for d in cu.get_top_DIE().iter_children() if "DW_AT_sibling" in d.attributes)
        attr = die.attributes["DW_AT_sibling"]
        assert attr.form == "DW_FORM_ref4"
        data[base + attr.offset:base + attr.offset + 4] = (die.offset - cu.cu_offset).to_bytes(4, "little")
    out.write_bytes(data)
    return out


@pytest.mark.parametrize("linked", [False, True], ids=["object", "linked"])
def test_sibling_pointing_at_its_own_die(tmp_path, linked):
    """pyelftools followed the DW_AT_sibling back to the same DIE forever (show, sizes, diff, history)."""
    obj = _gcc(SIBLING_C, tmp_path, "sib", ("-gdwarf-4",), linked)
    bad = _sibling_pointing_at_itself(obj, tmp_path / "loop.o")
    for command in (["show", "s", "-i", str(bad)], ["sizes", "-i", str(bad)], ["diff", str(bad), str(obj)],
                    ["history", "--struct", "s", "--workers", "1", str(bad), str(obj)]):
        _one_line_error(command, "sibling", seconds=10)


def _dag_btf(path: Path, depth: int) -> Path:
    """BTF: struct s0 { s1 a; s1 b; } ... s{depth-1} { int a; int b; }: a DAG with 2^depth paths."""
    import struct as pack
    from test_hostile_inputs import _btf_blob, _rec
    strings = b"\0int\0a\0b\0" + b"".join(b"s%d\0" % i for i in range(depth))
    name_offsets = [9 + sum(len(b"s%d\0" % j) for j in range(i)) for i in range(depth)]
    records = [_rec(1, 1, 0, 4, pack.pack("<I", 32))]
    for i in range(depth):
        child, half = (i + 3 if i + 1 < depth else 1), 4 * 2 ** (depth - i - 1)
        records.append(_rec(name_offsets[i], 4, 2, 2 * half,
                            pack.pack("<III", 5, child, 0) + pack.pack("<III", 7, child, half * 8)))
    path.write_bytes(_btf_blob(records, strings))
    return path


@pytest.mark.parametrize("command", [["show", "s0"], ["reorganize", "s0"], ["sizes"]])
def test_btf_dag_of_24_structs_is_linear(tmp_path, command):
    path = _dag_btf(tmp_path / "dag.btf", 24)
    started = time.monotonic()
    result = CliRunner().invoke(main, [*command, "-i", str(path)])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 5
    if command[0] == "show":
        assert "/* size: 67108864, cachelines: 1048576, members: 2 */" in result.output


def test_best_fit_with_200_changes(seed_objects, tmp_path):
    scenario = tmp_path / "many.toml"
    scenario.write_text("\n".join(f'[[change]]\nstruct = "task_struct"\nafter = ["pid"]\nfields = ["char f{i};"]\n'
                                  for i in range(200)))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(scenario),
                                       "--placement", "best-fit"])
    assert time.monotonic() - started < 8
    assert result.exit_code == 0, result.output
    assert "200 added, 0 moved" in result.output and "best fit saves 64 bytes over as-patched" in result.output


def test_hunk_of_200000_context_lines(seed_objects, tmp_path):
    lines = PATCH.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("@@"))
    lines[at] = "@@ -35,200006 +35,200015 @@ struct pid"
    lines[at + 1:at + 1] = [f" \tint filler{k};" for k in range(200_000)]
    path = tmp_path / "context.patch"
    path.write_text("\n".join(lines) + "\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path),
                     "--define", "CONFIG_PID_NS_FLAT=y"], "hunk 1 has 200015 lines, more than 10000", seconds=8)


# ---------------------------------------------------------------- 7: worker noise

HISTORY_SLEEPS = """
import sys, time
import layoutcalc.features.history as history
def struct_sizes(path, *args):
    if path.endswith("gz.o"):
        return None  # this worker goes idle, waiting for work: where SIGTERM gave a traceback
    time.sleep(60)
struct_sizes.__module__ = history.__name__  # pickled by reference to history.struct_sizes, this function
history.struct_sizes = struct_sizes
from layoutcalc.cli import main
main(args=sys.argv[1:], prog_name="layoutcalc")
"""


def test_sigterm_during_history_is_one_line(seed_objects):
    process = subprocess.Popen([sys.executable, "-c", HISTORY_SLEEPS, "history", "--workers", "2",
                                str(seed_objects["plain"]), str(seed_objects["gz"])], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(3)
    os.killpg(process.pid, signal.SIGTERM)
    _out, err = process.communicate(timeout=20)
    assert process.returncode == 143 and err == "Error: terminated\n", err


# ---------------------------------------------------------------- 5, 9: compressed sections, .zdebug

def test_compressed_section_over_the_cap(seed_objects, monkeypatch):
    import layoutcalc.readers.elf as elf
    monkeypatch.setattr(elf, "MAX_DECOMPRESSED_SECTION_BYTES", 1024)
    _one_line_error(["show", "pid", "-i", str(seed_objects["gz"])], "claims to expand to")


@pytest.mark.parametrize("linked", [False, True], ids=["object", "linked"])
def test_zdebug_sections_read_as_pahole_reads_them(seed_objects, tmp_path, linked):
    """gcc -gz=zlib-gnu writes .zdebug_* sections; they were refused as 'no debug info'."""
    obj = _gcc((seed_objects["dir"] / "seed.c").read_text(), tmp_path, "gnu", ("-gdwarf-4", "-gz=zlib-gnu"), linked)
    from elftools.elf.elffile import ELFFile
    with open(obj, "rb") as stream:
        assert ELFFile(stream).get_section_by_name(".zdebug_info") is not None
    for name in ("pid", "task_struct"):
        ours = CliRunner().invoke(main, ["show", name, "-i", str(obj)])
        assert ours.exit_code == 0, ours.output
        pahole = subprocess.run(["pahole", "-C", name, str(obj)], capture_output=True, text=True, check=True)
        assert ours.output.rstrip("\n") == pahole.stdout.rstrip("\n")
    sizes = CliRunner().invoke(main, ["sizes", "-i", str(obj)])
    assert sizes.exit_code == 0 and "task_struct\t" in sizes.output


def test_zdebug_bomb_with_a_lying_header(tmp_path, monkeypatch):
    import layoutcalc.readers.elf as elf
    data = bytearray(b"ZLIB" + (100).to_bytes(8, "big") + zlib.compress(b"\0" * 10_000))

    class Section:
        name = ".zdebug_str"

        def data(self):
            return bytes(data)
    with pytest.raises(LayoutcalcError, match="expands to other than the 100 bytes"):
        elf.section_bytes(Section(), "x.o")
    monkeypatch.setattr(elf, "MAX_DECOMPRESSED_SECTION_BYTES", 50)
    with pytest.raises(LayoutcalcError, match="claims to expand to 100 bytes"):
        elf.section_bytes(Section(), "x.o")


# ---------------------------------------------------------------- 9: caches keyed on content

def test_scan_cache_sees_an_in_place_edit_that_keeps_size_mtime_and_inode(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = "struct layoutcalc_probe_aaaa { int first; long second; };\nstruct layoutcalc_probe_aaaa x;\n"
    build = _gcc(source, tmp_path, "prog", ("-g", "-Wl,--build-id"), linked=True)
    first = CliRunner().invoke(main, ["sizes", "-i", str(build)])
    assert first.exit_code == 0 and "layoutcalc_probe_aaaa\t16" in first.output, first.output
    before = os.stat(build)
    data = build.read_bytes()
    at = data.index(b"layoutcalc_probe_aaaa")
    with open(build, "r+b") as stream:  # same inode, same size
        stream.seek(at)
        stream.write(b"layoutcalc_probe_bbbb")
    os.utime(build, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(build)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    second = CliRunner().invoke(main, ["sizes", "-i", str(build)])
    assert second.exit_code == 0 and "layoutcalc_probe_bbbb\t16" in second.output, second.output
    assert "layoutcalc_probe_aaaa" not in second.output


@pytest.mark.parametrize("source", ["kernel/fork.c", "kernel/pid.c"])
def test_source_cache_keys_on_the_files_whose_cache_calls_it_reads(tmp_path, monkeypatch, source):
    from layoutcalc.readers.kernel_source import SourceRequest, source_snapshot
    monkeypatch.setenv("LAYOUTCALC_CACHE", str(tmp_path / "cache"))
    tree = _tree_copy(tmp_path)
    request = SourceRequest(str(tree), "x86_64", None, ("task_struct", "signal_struct", "pid"))
    assert not source_snapshot(request).cached
    assert source_snapshot(request).cached
    path = tree / source
    before = os.stat(path)
    text = path.read_text()
    edited = text.replace("SLAB_PANIC", "SLAB_PANIC|SLAB_HWCACHE_ALIGN", 1) if source.endswith("pid.c") else \
        text.replace("SLAB_HWCACHE_ALIGN|", "", 1)
    assert edited != text
    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not source_snapshot(request).cached


def _struct_sizes_dropped(obj: Path, out: Path) -> Path:
    """``obj`` with DW_AT_byte_size of every struct abbreviation renamed DW_AT_start_scope (same form)."""
    from elftools.elf.elffile import ELFFile
    data = bytearray(obj.read_bytes())
    with open(obj, "rb") as stream:
        section = ELFFile(stream).get_section_by_name(".debug_abbrev")
        base, raw = section["sh_offset"], section.data()

    def uleb(pos):
        value = shift = 0
        while True:
            byte = raw[pos]
            pos, value, shift = pos + 1, value | (byte & 0x7F) << shift, shift + 7
            if byte < 0x80:
                return value, pos
    pos = 0
    while pos < len(raw):
        code, pos = uleb(pos)
        if code == 0:
            continue
        tag, pos = uleb(pos)
        pos += 1  # DW_CHILDREN
        while True:
            at = pos
            name, pos = uleb(pos)
            form, pos = uleb(pos)
            if form == 0x21:  # DW_FORM_implicit_const
                _, pos = uleb(pos)
            if name == form == 0:
                break
            if tag == 0x13 and name == 0x0B:  # DW_TAG_structure_type, DW_AT_byte_size
                data[base + at] = 0x2C
    out.write_bytes(data)
    return out


@pytest.mark.parametrize("linked", [False, True], ids=["object", "linked"])
def test_struct_die_without_a_size(seed_objects, tmp_path, linked):
    """Printed as 'size: 0' with 24 members, exit 0."""
    obj = _gcc((seed_objects["dir"] / "seed.c").read_text(), tmp_path, "seed", ("-gdwarf-4",), linked)
    bad = _struct_sizes_dropped(obj, tmp_path / "nosize")
    for command in (["show", "task_struct", "-i", str(bad)], ["sizes", "-i", str(bad)], ["diff", str(bad), str(obj)],
                    ["baseline", str(bad), "-o", str(tmp_path / "b.json")]):
        _one_line_error(command, "of 0 bytes has member")
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("records, expected", [
    # struct s { int x; int x; } with the second member at bit 0: overlapping members of a struct
    ("overlap", "overlaps 'x', which ends at bit 32"),
    # struct s { void x; }: BTF type id 0 as a member's type
    ("void", "member 'x' has type void"),
], ids=["overlapping-members", "void-member"])
@pytest.mark.parametrize("command", [["show", "s"], ["sizes"], ["diff"]])
def test_damaged_real_btf_members_are_refused(tmp_path, records, expected, command):
    """fuzz2 campaign (seed 2323, realbtf case 2786): damaged .BTF of Debian 6.12.118 gave 'diff' exit 0 with
    members moved back by 96 bytes, holes of -96 and -32 bytes and members of type void."""
    import struct as pack
    from test_hostile_inputs import STRINGS, _btf_blob, _rec
    int_type = _rec(1, 1, 0, 4, pack.pack("<I", 32))
    body = {"overlap": _rec(10, 4, 2, 8, pack.pack("<III", 12, 1, 0) + pack.pack("<III", 12, 1, 0)),
            "void": _rec(10, 4, 1, 8, pack.pack("<III", 12, 0, 0))}[records]
    path = tmp_path / "damaged.btf"
    path.write_bytes(_btf_blob([int_type, body], STRINGS))
    good = tmp_path / "good.btf"
    good.write_bytes(_btf_blob([int_type, _rec(10, 4, 1, 8, pack.pack("<III", 12, 1, 0))], STRINGS))
    args = [*command, "-i", str(path)] if command[0] != "diff" else ["diff", str(good), str(path)]
    _one_line_error(args, expected)


def test_damaged_build_id_note_asks_for_no_memory(seed_objects, tmp_path):
    """fuzz2 campaign (seed 2323, sections cases 3343, 3511, 3672): a note's n_descsz of 2^31 made pyelftools
    read 2 GiB for the build-id: MemoryError under the campaign's 2 GiB limit, an internal error."""
    import resource

    from layoutcalc.readers.dwarf import DwarfFile
    linked = _gcc((seed_objects["dir"] / "seed.c").read_text(), tmp_path, "seed", ("-g", "-Wl,--build-id"), True)
    data = bytearray(linked.read_bytes())
    from test_hostile_inputs import _section
    _, offset, _size = _section(bytes(data), ".note.gnu.build-id")
    data[offset + 4:offset + 8] = (0x7FFFFFF0).to_bytes(4, "little")
    damaged = tmp_path / "damaged"
    damaged.write_bytes(data)
    with DwarfFile(str(damaged)) as dwarf_file:
        assert dwarf_file.build_id() is None and dwarf_file.cache_key() is None

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    result = subprocess.run([sys.executable, "-m", "layoutcalc", "reorganize", "signal_struct", "-i", str(damaged)],
                            cwd=ROOT, capture_output=True, text=True, preexec_fn=limit, timeout=60)
    assert result.returncode == 0 and "struct signal_struct" in result.stdout, result.stderr


def test_fifo_as_a_diff_input(seed_objects, tmp_path):
    """fuzz2 campaign (seed 2323, special case 3701): 'diff OBJ FIFO' blocked in the cache-key sniff."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["diff", str(seed_objects["plain"]), str(fifo)], ["diff", str(fifo), str(seed_objects["plain"])]):
        result = _run_cli(args, timeout=30)
        assert result.returncode == 1 and result.stderr == f"Error: {fifo}: is a FIFO, not a regular file " \
            "(use '-' to read standard input)\n", result.stderr


def test_member_sized_up_to_the_next_one_may_reach_over_a_bitfield():
    """Debian 6.1.0-50 armmp, struct devlink in a unit that only declares struct lock_class_key: the reader
    sizes lock_key up to refcount (4 bytes), over the bitfield reload_failed in the same byte. The overlap
    check must not refuse the real build for it; a genuine overlap is still refused."""
    from layoutcalc.errors import InputError
    from layoutcalc.model import DECLARATION_ONLY, BaseType, Member, StructType
    from layoutcalc.typegraph import check_layout
    u8, refcount = BaseType("u8", 1, "unsigned"), BaseType("int", 4, "signed")
    declared = StructType("struct", "lock_class_key", 4, [], is_declaration=True, origin=f"DIE 0x1; {DECLARATION_ONLY}")
    devlink = StructType("struct", "devlink", 8, [Member("lock_key", declared, 0), Member("reload_failed", u8, 0, 1),
                                                  Member("refcount", refcount, 32)])
    check_layout(devlink, "armmp")
    devlink.members[0] = Member("lock_key", StructType("struct", "lock_class_key", 4, []), 0)
    with pytest.raises(InputError, match="'reload_failed' at bit 0 overlaps 'lock_key'"):
        check_layout(devlink, "armmp")



def test_fifo_among_the_tree_sources_the_slab_catalogue_scans(tmp_path, monkeypatch):
    """Source mode's slab catalogue reads every .c file of the tree: a FIFO among them blocked 'slab -i TREE'."""
    monkeypatch.setenv("LAYOUTCALC_CACHE", str(tmp_path / "cache"))
    tree = _tree_copy(tmp_path)
    os.mkfifo(tree / "kernel" / "extra.c")
    result = _run_cli(["slab", "-i", str(tree)], timeout=60)
    assert result.returncode == 1 and result.stderr == \
        f"Error: {tree}/kernel/extra.c: is a FIFO, not a regular file (use '-' to read standard input)\n", result.stderr
