"""The whatif and slab commands end to end: shapes, anchors, invariants, bad input, live vs static."""

from __future__ import annotations

import json

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.datafiles import data_dir
from layoutcalc import api
from layoutcalc.analysis.layout import layout_stats
from layoutcalc.cli import main


def _run(args):
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("snapshot", [p.name for p in api.bundled_snapshots() if p.name.startswith("debian-")])
def test_default_scenario_on_real_builds_names_anchors_and_keeps_invariant(snapshot):
    path = str(data_dir() / snapshot)
    code, output = _run(["whatif", "-i", path, "--format", "json"])
    assert code == 0, output
    structs = {s["name"]: s for s in json.loads(output)["structs"]}
    assert set(structs) == {"pid", "signal_struct", "task_struct"}
    # 6.1 has no pid_chain (moved to upid in 2.6.24, later gone) nor __session: fallbacks are named
    assert (structs["pid"]["anchor"], structs["pid"]["anchor_fallback"]) == ("level", 1)
    assert (structs["signal_struct"]["anchor"], structs["signal_struct"]["anchor_fallback"]) == ("tty_old_pgrp", 1)
    assert (structs["task_struct"]["anchor"], structs["task_struct"]["anchor_fallback"]) == ("tgid", 0)
    for struct in structs.values():
        layout = struct["layout"]
        bits = (layout["sum_members"] * 8 + layout["sum_holes"] * 8 + layout["padding"] * 8
                + layout["sum_bit_holes"] + layout["bit_padding"])
        bitfields = sum(f["bit_size"] or 0 for f in layout["fields"])
        assert layout["size"] * 8 == bits + bitfields, struct["name"]
        # amd64 and arm64 share the 64-bit 6.1 layout: pid +32 (12 bytes of fields and an 8-aligned
        # pointer after 'level' push lock and all later members), signal_struct +8, task_struct +0
        # (the cacheline-aligned 'thread' member absorbs the shift).
        expected = {"pid": 32, "signal_struct": 8, "task_struct": 0} if "64" in snapshot else \
            {"pid": 16, "signal_struct": 8, "task_struct": 0}
        assert struct["size_delta"] == expected[struct["name"]], struct["name"]
        names = [f["name"] for f in layout["fields"]]
        anchor_at = names.index(struct["anchor"])
        assert names[anchor_at + 1: anchor_at + 1 + len(struct["added"])] == [a["name"] for a in struct["added"]]


def test_whatif_keys(tmp_path):
    code, output = _run(["whatif", "--format", "json"])
    assert code == 0
    entry = json.loads(output)["structs"][0]
    assert {"name", "anchor", "placement", "size_before", "size_after", "size_delta", "alignment_before",
            "alignment_after", "added", "layout"} <= set(entry)
    assert set(entry["added"][0]) == {"name", "type", "offset", "size", "after", "bit_offset", "bit_size"}


def test_best_fit_never_larger_than_as_patched():
    sizes = {}
    for placement in ("as-patched", "best-fit", "append"):
        code, output = _run(["whatif", "--placement", placement, "--format", "json"])
        assert code == 0
        sizes[placement] = {s["name"]: s["size_after"] for s in json.loads(output)["structs"]}
    for name, size in sizes["best-fit"].items():
        assert size <= sizes["as-patched"][name]
    # pid on amd64 6.1 has a 4-byte hole after lock: best fit puts vnr there, so it saves 8 bytes
    assert sizes["best-fit"]["pid"] < sizes["as-patched"]["pid"]


def test_arch_override_relays_out_under_i386_rules(tmp_path):
    source = "struct s { int a; long long b; };\nstruct s x;\n"
    obj = compile_c(source, tmp_path, "ll", "gcc-m32", ("-gdwarf-4",))
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\ndescription = "x"\n[[change]]\nstruct = "s"\nafter = ["a"]\n'
                        'fields = ["char c;"]\n')
    code, output = _run(["whatif", "-i", str(obj), "--scenario", str(scenario), "--format", "json"])
    assert code == 0, output
    (entry,) = json.loads(output)["structs"]
    # i386: long long is 4-byte aligned inside structs, so b moves from 4 to 8 and the size is 16
    assert entry["size_before"] == 12 and entry["size_after"] == 16
    code, output = _run(["whatif", "-i", str(obj), "--scenario", str(scenario), "--arch", "arm", "--format", "json"])
    (entry,) = json.loads(output)["structs"]
    # ARM EABI aligns long long to 8: b at 8 already, c fits in the hole
    assert entry["size_after"] == 16 and entry["alignment_after"] == 8


@pytest.mark.parametrize("content, message", [
    ('name = "x"\ndescription = "y"\n[[change]]\nstruct = "nosuch"\nafter = ["a"]\nfields = ["int z;"]\n',
     ":3: "),
    ('name = "x"\ndescription = "y"\n[[change]]\nstruct = "pid"\nafter = ["nowhere"]\nfields = ["int z;"]\n',
     "none of the anchors nowhere"),
    ('name = "x"\ndescription = "y"\n[[change]]\nstruct = "pid"\nafter = ["level"]\nfields = ["int z z;"]\n',
     ":6: "),
    ('name = "x"\ndescription = "y"\n[[change]]\nstruct = "pid"\nafter = ["level"]\nfields = ["foo_t z;"]\n',
     "unknown type 'foo_t'"),
    ('name = "x"\n[[change]\n', "scenario.toml"),
])
def test_bad_scenario_is_one_line_with_file_and_line(tmp_path, content, message):
    path = tmp_path / "scenario.toml"
    path.write_text(content)
    code, output = _run(["whatif", "--scenario", str(path)])
    assert code == 1
    assert output.startswith(f"Error: {path}")
    assert message in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_bad_patch_is_one_line(tmp_path):
    patch = tmp_path / "bad.patch"
    patch.write_text("--- a/include/linux/pid.h\n+++ b/include/linux/pid.h\n@@ -1,3 +1,4 @@ struct pid {\n"
                     " \tunsigned int level;\n+\tint %%% vnr;\n \tspinlock_t lock;\n")
    code, output = _run(["whatif", "--patch", str(patch)])
    assert code == 1
    assert output.startswith(f"Error: {patch}:5: ")
    not_a_patch = tmp_path / "prose.patch"
    not_a_patch.write_text("hello\n")
    code, output = _run(["whatif", "--patch", str(not_a_patch)])
    assert code == 1 and "no unified diff hunks" in output


def test_patch_without_define_says_which_symbol(tmp_path):
    patch = tmp_path / "flat.patch"
    patch.write_text("--- a/include/linux/pid.h\n+++ b/include/linux/pid.h\n@@ -1,3 +1,6 @@ struct pid {\n"
                     " \tunsigned int level;\n+#ifdef CONFIG_PID_NS_FLAT\n+\tint vnr;\n+#endif\n"
                     " \tspinlock_t lock;\n")
    code, output = _run(["whatif", "--patch", str(patch)])
    # issue 17: listed unchanged with the reason, not an error
    assert code == 0 and "--define CONFIG_PID_NS_FLAT=y" in output and "listed unchanged" in output
    code, output = _run(["whatif", "--patch", str(patch), "--define", "CONFIG_PID_NS_FLAT=y", "--format", "json"])
    assert code == 0, output
    (entry,) = json.loads(output)["structs"]
    assert entry["anchor"] == "level" and [a["name"] for a in entry["added"]] == ["vnr"]
    # as-patched, vnr goes right after 'level' and pushes lock into the 4-byte hole: no growth
    assert entry["size_after"] == entry["size_before"]
    stats = layout_stats(api.load(str(api.bundled_snapshots()[0])).get_struct("pid"), 8)
    assert stats.holes == 1 and stats.sum_holes == 4


def test_slab_static_json_shape():
    code, output = _run(["slab", "--format", "json"])
    assert code == 0, output
    caches = json.loads(output)["caches"]
    assert {c["cache"] for c in caches} == {"task_struct", "signal_cache", "pid"}
    for cache in caches:
        assert set(cache["predicted"]) >= {"object_size", "slab_size", "objs_per_slab", "order", "align",
                                           "merged_into"}
        assert cache["actual"] is None and cache["match"] is None
        assert {e["allocator"] for e in cache["flat_effect"]} == {"slub", "slab"}


def test_slab_live_without_sysfs_falls_back(monkeypatch):
    from layoutcalc.slab import live
    monkeypatch.setattr(live, "LIVE_BTF", "/nonexistent/btf/vmlinux")
    monkeypatch.setattr(live.read_live_btf, "__defaults__", (None, "/nonexistent/btf/vmlinux", None))
    result = CliRunner().invoke(main, ["slab", "--live"])
    assert result.exit_code == 0
    assert "/nonexistent/btf/vmlinux" in result.stderr and "warning" in result.stderr
    assert "task_struct" in result.stdout and "Traceback" not in result.stdout + result.stderr


RETARGET_SOURCE = """
typedef unsigned long long u64;
struct inner { char c; long l; };
struct s {
    int a;
    long long b;
    void *p;
    struct inner in;
    unsigned flag:3;
    unsigned more:7;
    long double ld;
    double d;
    short tail;
    char data[];
};
struct s x;
"""


@pytest.mark.parametrize("source_target, arch, oracle_target", [
    ("gcc-m64", "i386", "gcc-m32"), ("gcc-m32", "x86_64", "gcc-m64"), ("gcc-m64", "arm", "clang-arm"),
    ("gcc-m32", "aarch64", "clang-aarch64"), ("gcc-m64", "s390x", "clang-s390x"),
])
def test_arch_override_equals_compiling_for_that_arch(tmp_path, source_target, arch, oracle_target):
    """--arch re-lays the same declarations out for another ABI; the other compiler is the oracle."""
    source = compile_c(RETARGET_SOURCE, tmp_path, "src", source_target, ("-gdwarf-4",))
    oracle = compile_c(RETARGET_SOURCE, tmp_path, "oracle", oracle_target, ("-gdwarf-4",))
    predicted = api.load(str(source), structs=["s"], arch=arch).get_struct("s")
    compiled = api.load(str(oracle), structs=["s"]).get_struct("s")
    assert [(m.name, m.bit_offset, m.bit_size) for m in predicted.members] == \
           [(m.name, m.bit_offset, m.bit_size) for m in compiled.members]
    assert predicted.size_bytes == compiled.size_bytes


def test_arch_override_on_real_amd64_pid_matches_real_i386_build():
    """amd64 6.1 struct pid re-laid out for i386 equals Debian's 686-pae build of the same source."""
    snapshots = {p.name: str(p) for p in api.bundled_snapshots()}
    retargeted = api.load(snapshots["debian-6.1.0-47-cloud-amd64.snapshot.json"], arch="i386").get_struct("pid")
    real = api.load(snapshots["debian-6.1.0-50-686-pae.snapshot.json"]).get_struct("pid")
    assert retargeted.size_bytes == real.size_bytes == 52
    assert [(m.name, m.bit_offset) for m in retargeted.members] == [(m.name, m.bit_offset) for m in real.members]


def test_slab_on_input_without_the_modelled_structs(tmp_path):
    obj = compile_c("struct other { int a; };\nstruct other o;\n", tmp_path, "other", "gcc-m64", ("-gdwarf-4",))
    code, output = _run(["slab", "-i", str(obj)])
    assert code == 1
    assert output.strip() == f"Error: {obj}: none of task_struct, signal_struct, pid " \
                             "(the structs whose caches layoutcalc models)"


def test_patch_that_is_not_text_or_missing(tmp_path):
    binary = tmp_path / "bin.patch"
    binary.write_bytes(b"\xff\xfe--- a\n")
    code, output = _run(["whatif", "--patch", str(binary)])
    assert (code, output.strip()) == (1, f"Error: {binary}: not UTF-8 text (byte 0xff at offset 0)")
    code, output = _run(["whatif", "--patch", str(tmp_path / "absent.patch")])
    assert (code, output.strip()) == (1, f"Error: {tmp_path / 'absent.patch'}: cannot read patch "
                                         "(No such file or directory)")
