"""``layoutcalc diff``: member-level reasons against the compiler's own layout, deduplication, formats."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.features.diff import size_class
from layoutcalc.cli import main


@pytest.fixture(scope="module")
def payload(pair):
    result = CliRunner().invoke(main, ["diff", str(pair.old), str(pair.new), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _change(payload, name):
    return next(c for c in payload["changes"] if c["name"] == name)


def _members(change, kind):
    return {m["name"]: m for m in change["members"] if m["change"] == kind}


def test_sizes_and_summary_equal_the_compiler(pair, payload):
    old, new = pair.old_layout, pair.new_layout
    deltas = {c["name"]: c["delta"] for c in payload["changes"]}
    assert deltas == {"widget": new["widget"].size - old["widget"].size, "fresh": new["fresh"].size,
                      "doomed": -old["doomed"].size, "shrinker": new["shrinker"].size - old["shrinker"].size,
                      "big": new["big"].size - old["big"].size, "bits": 0}
    summary = payload["summary"]
    grown = [d for n, d in deltas.items() if d > 0 and n != "fresh"]
    assert (summary["added"], summary["removed"], summary["grown"], summary["shrunk"]) == (1, 1, len(grown), 1)
    assert summary["up"] == sum(d for d in deltas.values() if d > 0)
    assert summary["down"] == sum(d for d in deltas.values() if d < 0)
    assert summary["before"] == sum(layout.size for layout in old.values())
    assert summary["after"] == sum(layout.size for layout in new.values())


def test_widget_reasons_equal_the_compiler(pair, payload):
    old, new = pair.old_layout["widget"], pair.new_layout["widget"]
    change = _change(payload, "widget")
    assert (change["old_size"], change["new_size"]) == (old.size, new.size)
    added = _members(change, "added")
    assert set(added) == {"prio", "u", "ul", "(union: u)"}
    for name in ("prio", "u", "ul"):
        assert (added[name]["new"]["offset"], added[name]["new"]["size"]) == new.members[name]
    resized = _members(change, "resized")
    assert set(resized) == {"id"}
    assert (resized["id"]["old"]["size"], resized["id"]["new"]["size"]) == (old.members["id"][1],
                                                                           new.members["id"][1])
    moved = _members(change, "moved")
    assert set(moved) == {name for name in old.members if name in new.members
                          and old.members[name][1] == new.members[name][1]
                          and old.members[name][0] != new.members[name][0]} == {"flag", "count", "level"}
    for name in moved:
        assert moved[name]["old"]["offset"] == old.members[name][0]
        assert moved[name]["new"]["offset"] == new.members[name][0]
    # The hole after 'flag' (before 'count') is now mostly filled by 'prio'.
    old_hole = old.members["count"][0] - sum(old.members["flag"])
    new_hole = new.members["prio"][0] - sum(new.members["flag"])
    holes = {h["after"]: (h["old_size"], h["new_size"]) for h in change["holes"]}
    assert holes["flag"] == (old_hole, new_hole) == (3, 1)
    assert change["size_class"] == {"old": size_class(old.size), "new": size_class(new.size)}
    assert change["cachelines"] == {"old": 1, "new": 1}


def test_removed_member_and_cacheline_crossing(pair, payload):
    old, new = pair.old_layout, pair.new_layout
    shrinker = _change(payload, "shrinker")
    assert list(_members(shrinker, "removed")) == ["b"]
    assert _members(shrinker, "removed")["b"]["old"]["offset"] == old["shrinker"].members["b"][0]
    assert _members(shrinker, "moved")["c"]["new"]["offset"] == new["shrinker"].members["c"][0]
    big = _change(payload, "big")
    assert big["cachelines"] == {"old": -(-old["big"].size // 64), "new": -(-new["big"].size // 64)}
    assert big["cachelines"]["old"] != big["cachelines"]["new"]
    assert big["size_class"] == {"old": "kmalloc-128", "new": "kmalloc-192"}


def test_same_size_bitfield_change_is_reported(payload):
    bits = _change(payload, "bits")
    assert bits["status"] == "changed"
    assert _members(bits, "resized")["b"]["old"]["bit_size"] == 5
    assert _members(bits, "resized")["b"]["new"]["bit_size"] == 7


def test_text_has_bloat_o_meter_summary_and_reasons(pair, payload):
    result = CliRunner().invoke(main, ["diff", str(pair.old), str(pair.new)])
    assert result.exit_code == 0
    s = payload["summary"]
    lines = result.output.splitlines()
    assert lines[0] == (f"add/remove: 1/1 grow/shrink: {s['grown']}/1 up/down: {s['up']}/{s['down']} "
                        f"({s['up'] + s['down']})")
    # bloat-o-meter's block: the table in delta-descending order (ties by name descending), Total last.
    assert lines[1].split() == ["struct", "old", "new", "delta"]
    total = next(i for i, line in enumerate(lines) if line.startswith("Total: "))
    assert lines[total] == (f"Total: Before={s['before']}, After={s['after']}, "
                            f"chg {100 * (s['after'] - s['before']) / s['before']:+.2f}%")
    rows = [line.split() for line in lines[2:total]]
    expected = sorted(((c["new_size"] or 0) - (c["old_size"] or 0), c["name"]) for c in payload["changes"]
                      if c["delta"] or c["old_size"] is None or c["new_size"] is None)[::-1]
    assert [(int(row[3]), row[0]) for row in rows] == expected
    assert ["doomed", str(pair.old_layout["doomed"].size), "-", f"-{pair.old_layout['doomed'].size}"] in rows
    new = pair.new_layout["widget"]
    prio_offset, prio_size = new.members["prio"]
    assert f"  added    short int prio;  /* {prio_offset} {prio_size} */" in lines
    assert "  hole     after flag: 3 -> 1 bytes (shrank)" in lines


def test_markdown_is_a_pr_comment(pair, payload):
    result = CliRunner().invoke(main, ["diff", str(pair.old), str(pair.new), "--format", "markdown"])
    widget = _change(payload, "widget")
    assert f"| `widget` | {widget['old_size']} | {widget['new_size']} | +{widget['delta']} |  |" in result.output
    assert "<details><summary><code>widget</code>" in result.output


def test_struct_patterns_limit_the_diff(pair):
    result = api.diff(str(pair.old), str(pair.new), ["wid*", "big"])
    assert sorted(c.label for c in result.changes) == ["big", "widget"]
    assert result.summary.before == pair.old_layout["widget"].size + pair.old_layout["big"].size


DUP_A = "struct local { int a; };\nstruct shared { int s; long t; };\nstruct local la; struct shared sa;\n"
DUP_B = "struct local { long a; long b; };\nstruct shared { int s; long t; };\nstruct local lb; struct shared sb;\n"


@pytest.fixture(scope="module")
def duplicated(tmp_path_factory):
    """One relocatable object of two compile units: ``local`` differs between them, ``shared`` does not."""
    directory = tmp_path_factory.mktemp("dup")
    a = compile_c(DUP_A, directory, "dup_a")
    b = compile_c(DUP_B, directory, "dup_b")
    linked = directory / "dup.o"
    subprocess.run(["ld", "-r", str(a), str(b), "-o", str(linked)], check=True)
    return linked


def test_same_name_same_layout_counts_once_and_differing_definitions_are_kept(duplicated):
    found = api.catalogue(str(duplicated))
    assert [layout.size for layout in found.layouts["shared"]] == [16]
    assert sorted(layout.size for layout in found.layouts["local"]) == [4, 16]
    assert found.total_size == 16 + 4 + 16


def test_differing_definitions_are_said_so(duplicated, tmp_path):
    single = compile_c("struct local { long a; long b; long c; };\nstruct shared { int s; long t; };\n"
                       "struct local l; struct shared s;\n", tmp_path, "single")
    result = api.diff(str(duplicated), str(single))
    assert result.duplicates == (("local", 2, 1),)
    changes = {(c.status, c.old_size, c.new_size) for c in result.changes}
    # The 16-byte definition pairs with the 24-byte one (they share members a and b); the other vanishes.
    assert changes == {("grown", 16, 24), ("removed", 4, 0)}
    assert all("2 different definitions before and 1 after" in c.note for c in result.changes)


@pytest.mark.skipif(shutil.which("pahole") is None, reason="pahole (dwarves) not installed")
def test_btf_and_dwarf_give_the_same_diff(pair, tmp_path):
    """pahole -J writes the object's DWARF as BTF: the fast path must say exactly what DWARF says."""
    copies = []
    for path in (pair.old, pair.new):
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        subprocess.run(["pahole", "-J", str(copy)], check=True, capture_output=True)
        copies.append(str(copy))
    from layoutcalc.render.diff import diff_payload
    via_btf = diff_payload(api.diff(*copies, source="btf"))
    via_dwarf = diff_payload(api.diff(*copies, source="dwarf"))
    assert via_btf["old"]["source"] == "btf" and via_dwarf["old"]["source"] == "dwarf"
    for side in ("old", "new"):
        via_btf.pop(side), via_dwarf.pop(side)
    assert via_btf == via_dwarf
    # The same BTF as a raw blob (what /sys/kernel/btf/vmlinux is) says the same again.
    blobs = []
    for copy in copies:
        blob = f"{copy}.btf"
        subprocess.run(["objcopy", "--dump-section", f".BTF={blob}", copy], check=True, capture_output=True)
        blobs.append(blob)
    via_blob = diff_payload(api.diff(*blobs))
    assert via_blob.pop("old")["source"] == "btf"
    via_blob.pop("new")
    assert via_blob == via_dwarf


def test_snapshot_input(pair, tmp_path):
    snap = tmp_path / "old.snapshot.json"
    result = CliRunner().invoke(main, ["snapshot", str(pair.old), "-o", str(snap), "--struct", "widget"])
    assert result.exit_code == 0, result.output
    from_snapshot = api.diff(str(snap), str(pair.new), ["widget"])
    from_object = api.diff(str(pair.old), str(pair.new), ["widget"])
    assert from_snapshot.old.source == "snapshot"
    assert from_snapshot.changes == from_object.changes


def test_size_classes():
    assert [size_class(s) for s in (1, 8, 9, 96, 97, 192, 193, 1024, 1025, 8192, 8193, 16385)] == [
        "kmalloc-8", "kmalloc-8", "kmalloc-16", "kmalloc-96", "kmalloc-128", "kmalloc-192", "kmalloc-256",
        "kmalloc-1k", "kmalloc-2k", "kmalloc-8k", "page order 2", "page order 3"]


def test_unreadable_input_is_one_line(tmp_path, pair):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an elf")
    result = CliRunner().invoke(main, ["diff", str(pair.old), str(junk)])
    assert result.exit_code == 1
    assert result.output == f"Error: {junk}: not an ELF file, a BTF blob or a layoutcalc snapshot\n"


SAMPLE = ["device", "eventpoll", "genl_multicast_group"]


def _pahole_sizes(path):
    listing = subprocess.run(["pahole", "-F", "btf", "--sizes", path], check=True, capture_output=True,
                             text=True).stdout
    sizes = {}
    for line in listing.splitlines():
        name, size, _holes = line.split("\t")
        sizes.setdefault(name, int(size))
    return sizes


@pytest.mark.realbuild
def test_real_pair_against_pahole():
    """Debian amd64 cloud 6.1.0-47 -> 6.1.0-50 (read from .BTF) against pahole: a sample on DWARF, all sizes on BTF."""
    import re

    import pahole_oracle
    from realbuilds import vmlinux
    if not pahole_oracle.PAHOLE:
        pytest.skip("pahole (dwarves) not installed")
    old, new = vmlinux("47-cloud-amd64"), vmlinux("50-cloud-amd64")
    result = api.diff(old, new)
    assert result.old.source == result.new.source == "btf"
    changes = {c.label: c for c in result.changes}
    for path, side in ((old, "old"), (new, "new")):
        # pahole 1.24 -C with a list silently misses some names; these three it finds.
        listing = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "-C", ",".join(SAMPLE), path],
                                 check=True, capture_output=True, text=True).stdout
        blocks = pahole_oracle.split_structs(listing)
        for name in SAMPLE:
            theirs = pahole_oracle.parse_summary(blocks[name])
            ours = getattr(changes[name], side)
            assert (ours.size, ours.cachelines(64), ours.sum_holes, ours.padding) == (
                theirs["size"], theirs["cachelines"], theirs["sum_holes"], theirs["padding"]), (name, side)
        if side == "new":
            flags = re.search(r"flags\[1\];\s+/\*\s+(\d+)\s+(\d+) \*/", blocks["device"])
            added = [m for m in changes["device"].members if m.change == "added"]
            assert [(m.name, m.new.offset, m.new.size) for m in added] == [
                ("flags", int(flags.group(1)), int(flags.group(2)))]
        sizes = _pahole_sizes(path)
        checked = [c for c in result.changes if getattr(c, side) is not None and not c.note
                   and c.label in sizes]
        assert len(checked) > 70
        assert [(c.label, getattr(c, side).size) for c in checked] == [(c.label, sizes[c.label]) for c in checked]
    device = changes["device"]
    assert (device.old_size, device.new_size) == (736, 744)
    # pahole -C device on 6.1.0-57: "can_match:1; /* 732: 4 1 */ XXX 3 bits hole ... XXX 3 bytes hole".
    assert [(h.after, h.old_size, h.new_size, h.unit) for h in device.holes] == [("can_match", 0, 3, "bytes"),
                                                                                 ("can_match", 0, 3, "bits")]
    # A struct embedding a struct device (and changing nothing else) grew by its 8 bytes less the holes and
    # padding that absorbed them.
    embedding = [c for c in result.changes if [(m.change, (m.new or m.old).type_name) for m in c.members
                                               if m.change != "moved"] == [("resized", "struct device")]]
    assert len(embedding) > 30
    for change in embedding:
        slack_before = change.old.sum_holes + change.old.padding
        slack_after = change.new.sum_holes + change.new.padding
        assert change.delta == 8 - (slack_before - slack_after), change.label
    assert {c.label for c in embedding if c.delta < 8} >= {"net_device", "pci_host_bridge"}


NOTE_H = "struct note { sig_t value; int grid[3][4]; char tail[0]; };\n"


@pytest.mark.skipif(shutil.which("pahole") is None, reason="pahole (dwarves) not installed")
def test_btf_and_dwarf_catalogues_are_equal(tmp_path):
    """A header compiled twice with a type renamed (binfmt_elf.c/compat_binfmt_elf.c do this), 2-D and [0] arrays."""
    (tmp_path / "note.h").write_text(NOTE_H)
    native = compile_c('typedef int sig_t;\n#include "note.h"\nstruct note native;\n', tmp_path, "native",
                       extra=(f"-I{tmp_path}",))
    compat = compile_c('typedef unsigned int compat_sig_t;\n#define sig_t compat_sig_t\n#include "note.h"\n'
                       'struct note compat;\n', tmp_path, "compat", extra=(f"-I{tmp_path}",))
    linked = tmp_path / "notes.o"
    subprocess.run(["ld", "-r", str(native), str(compat), "-o", str(linked)], check=True)
    via_dwarf = api.catalogue(str(linked), source="dwarf")
    assert sorted(m.type_name for layout in via_dwarf.layouts["note"] for m in layout.members
                  if m.name == "value") == ["compat_sig_t", "sig_t"]
    subprocess.run(["pahole", "-J", str(linked)], check=True, capture_output=True)
    via_btf = api.catalogue(str(linked), source="btf")
    assert set(via_btf.layouts["note"]) == set(via_dwarf.layouts["note"])
    assert {m.type_name for layout in via_btf.layouts["note"] for m in layout.members} >= {"int [12]", "char []"}


@pytest.mark.skipif(shutil.which("gcc") is None, reason="source mode needs gcc")
def test_kernel_source_trees(tmp_path, monkeypatch):
    """Two source trees (tests/fixtures/kernel-tree, and a copy with a member added to struct pid)."""
    from pathlib import Path
    monkeypatch.setenv("LAYOUTCALC_CACHE", str(tmp_path / "cache"))
    tree = Path(__file__).parent / "fixtures" / "kernel-tree"
    changed = tmp_path / "kernel-tree"
    shutil.copytree(tree, changed)
    header = changed / "include" / "linux" / "pid.h"
    header.write_text(header.read_text().replace("\tint nr;\n", "\tint nr;\n\tint level;\n"))
    result = api.diff(str(tree), str(changed), ["pid"])
    [change] = result.changes
    # x86_64: count and nr fill bytes 0-7, so 'level' takes 8-11 and the 8-aligned pid_chain moves 8 -> 16.
    assert (change.label, change.delta) == ("pid", 8)
    added = [(m.name, m.new.offset, m.new.size) for m in change.members if m.change == "added"]
    assert added == [("level", 8, 4)]
    pid_chain = next(m for m in change.members if m.name == "pid_chain")
    assert (pid_chain.change, pid_chain.old.offset, pid_chain.new.offset) == ("moved", 8, 16)
    assert result.old.name == "kernel-tree"


def test_a_pattern_matching_nothing_is_an_error(pair):
    result = CliRunner().invoke(main, ["diff", str(pair.old), str(pair.new), "--struct", "widgte"])
    assert result.exit_code == 1
    assert result.output == f"Error: {pair.old} or {pair.new}: no struct or union matches 'widgte'\n"


def test_dwarf_walk_reports_progress_per_input(pair, monkeypatch):
    """--debug-info dwarf on a terminal: each input's walk gets its own progress callback (a context
    manager's callback, not the context manager itself, which failed as 'corrupt DWARF')."""
    import contextlib

    from layoutcalc import cli
    calls: list[tuple[str, int, int]] = []

    @contextlib.contextmanager
    def recording_bar(path):
        yield lambda done, total: calls.append((path, done, total))
    monkeypatch.setattr(cli, "_progress_bar", recording_bar)
    old, new = str(pair.old), str(pair.new)
    result = CliRunner().invoke(main, ["diff", old, new, "--debug-info", "dwarf"])
    assert result.exit_code == 0, result.output
    assert {path for path, _, _ in calls} == {old, new}
    assert all(done <= total for _, done, total in calls)
