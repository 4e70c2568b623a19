"""Snapshots: round trip against the reader, validation, and the bundled files' provenance."""

from __future__ import annotations

import json

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main

SOURCE = """
typedef int pid_t;
struct hlist_node { struct hlist_node *next, **pprev; };
struct node { struct node *self; pid_t id; struct hlist_node link; unsigned flag:3; char tail[]; };
struct outer { char c; struct node n __attribute__((aligned(32))); union { int i; float f; }; };
struct outer instance;
"""


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    return compile_c(SOURCE, tmp_path_factory.mktemp("snap"), "snap", "gcc-m32", ("-gdwarf-5",))


def _layout(build, name):
    ((struct, stats),) = api.show(build, [name]).layouts
    return struct, stats


def _stats(build, name):
    return _layout(build, name)[1].as_dict()


def test_round_trip_keeps_layout_and_stats(obj, tmp_path):
    out = tmp_path / "s.json"
    result = CliRunner().invoke(main, ["snapshot", str(obj), "-o", str(out), "--struct", "outer",
                                       "--struct", "node", "--package", "fixture", "--package-version", "1"])
    assert result.exit_code == 0, result.output
    original = api.load(str(obj), structs=["outer", "node"])
    restored = api.load(str(out))
    assert restored.arch == "i386" and restored.address_size == 4
    for name in ("outer", "node"):
        assert _stats(restored, name) == _stats(original, name)
        a, b = original.get_struct(name), restored.get_struct(name)
        assert [(m.name, m.type.c_name(), m.bit_offset, m.bit_size, m.alignment_attr) for m in a.members] == \
               [(m.name, m.type.c_name(), m.bit_offset, m.bit_size, m.alignment_attr) for m in b.members]
    data = json.loads(out.read_text())
    assert data["build"]["provenance"]["package"] == "fixture"
    assert data["build"]["provenance"]["dwarf_version"] == 5
    # the self pointer is stored once, by reference, not expanded
    assert len(data["types"]) < 40


@pytest.mark.parametrize("content, message", [
    ('{"schema": "layoutcalc-snapshot", "version": 99}', "snapshot version 99 is not supported"),
    ('{"schema": "other"}', "not a layoutcalc snapshot"),
    ('{"schema": "layoutcalc-snapshot", "version": 1, "build": {}}', "malformed snapshot"),
    ('{"schema": "layoutcalc-snapshot", "version": 1, "build": {"name": "x", "arch": "x86_64", '
     '"address_size": 8, "byte_order": "little"}, "roots": {"structs": {"a": 5}}, "types": []}',
     "type reference 5 out of range"),
    ('{"schema": "layoutcalc-snapshot", "version": 1, "build": {"name": "x", "arch": "x86_64", '
     '"address_size": 8, "byte_order": "little"}, "roots": {"structs": {"a": 0}}, "types": [{"k": "blob"}]}',
     "unknown kind 'blob'"),
    ('{"schema": ', "malformed JSON at line 1"),
])
def test_bad_snapshot_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = CliRunner().invoke(main, ["show", "a", "-i", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: ")
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_snapshot_failure_leaves_no_file(tmp_path, obj):
    out = tmp_path / "never.json"
    result = CliRunner().invoke(main, ["snapshot", str(obj), "-o", str(out), "--struct", "nosuch"])
    assert result.exit_code == 1
    assert "no struct named 'nosuch'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_bundled_snapshots_are_real_builds_with_provenance():
    snapshots = api.bundled_snapshots()
    assert len(snapshots) >= 4
    for path in snapshots:
        assert path.stat().st_size < 1_000_000
        build = api.load(str(path))
        source_mode = build.provenance.format == "kernel-source"  # compiled from a tree: no build-id
        keys = ("release", "kernel_config", "compiler", "flags") if source_mode else ("build_id",)
        for key in ("package", "version", "producer", "dwarf_version", "cacheline_size", *keys):
            assert build.provenance.to_json().get(key), (path.name, key)
        assert build.has_struct("task_struct") and build.has_struct("pid")


def test_bundled_amd64_matches_pahole_figures():
    """pahole 1.24 on the amd64 cloud build gives 9728/1112/96 (shared/real-builds.md)."""
    (path,) = [p for p in api.bundled_snapshots() if "cloud-amd64" in p.name]
    build = api.load(str(path))
    assert [_layout(build, n)[1].size for n in ("task_struct", "signal_struct", "pid")] == [9728, 1112, 96]
    assert _layout(build, "task_struct")[1].sum_holes == 146


_BUILD = ('"build": {"name": "x", "arch": "x86_64", "address_size": 8, "byte_order": "little"}, '
          '"roots": {"structs": {"a": 0}}, ')


@pytest.mark.parametrize("types, message", [
    ('[{"k": "struct", "n": "a", "s": 8, "m": [["self", 0, 0, null, null]]}]', "struct a contains itself by value"),
    ('[{"k": "struct", "n": "a", "s": 8, "m": [["x", 1, -8, null, null]]}, {"k": "base", "n": "int", "s": 4}]',
     "bit_offset must be a non-negative integer, not -8"),
    ('[{"k": "struct", "n": "a", "s": 8, "m": [["x", 1, 0, null, "x"]]}, {"k": "base", "n": "int", "s": 4}]',
     "alignment must be a power of two, not 'x'"),
    ('[{"k": "struct", "n": "a", "s": 8, "a": 3, "m": []}]', "alignment must be a power of two, not 3"),
    ('[{"k": "struct", "n": "a", "s": 8, "m": [["x", 1, 0, null, null]]}, {"k": "array", "t": 0, "c": -2}]',
     "count must be a non-negative integer, not -2"),
])
def test_snapshot_values_are_validated(tmp_path, types, message):
    path = tmp_path / "bad.json"
    path.write_text('{"schema": "layoutcalc-snapshot", "version": 1, ' + _BUILD + '"types": ' + types + "}")
    result = CliRunner().invoke(main, ["show", "a", "-i", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {path}: malformed snapshot")
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_snapshot_unknown_arch_names_the_file(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text('{"schema": "layoutcalc-snapshot", "version": 1, "build": {"name": "x", "arch": "vax", '
                    '"address_size": 4, "byte_order": "little"}, "roots": {}, "types": []}')
    result = CliRunner().invoke(main, ["show", "a", "-i", str(path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}: malformed snapshot: unknown arch 'vax' (known: aarch64, arm, " \
                                    "i386, ppc64le, riscv64, s390x, x86_64)"


POINTERS_SOURCE = "\n".join(
    [f"struct target{i} {{ long a{i}; int b; }};" for i in range(40)]
    + ["struct sched_class { int (*pick)(void); };",
       "typedef struct target0 t0_t;",
       "struct holder {"]
    + [f"  struct target{i} *p{i};" for i in range(40)]
    + ["  const struct sched_class *sched_class;", "  const t0_t *typed;", "  struct holder *self;",
       "  struct target1 by_value;", "};", "struct holder instance;"])


def test_round_trip_keeps_every_pointer_type(tmp_path):
    """Many pointers to distinct structs: each keeps its own target (ids of temporaries were reused)."""
    obj = compile_c(POINTERS_SOURCE, tmp_path, "pointers", "gcc-m64", ("-gdwarf-5",))
    out = tmp_path / "p.json"
    original = api.load(str(obj), structs=["holder"])
    api.snapshot(str(obj), str(out), ["holder"])
    restored = api.load(str(out))
    want = [m.type.c_name() for m in original.get_struct("holder").members]
    assert want[:2] == ["struct target0 *", "struct target1 *"]
    assert want[40:43] == ["const struct sched_class *", "const t0_t *", "struct holder *"]
    assert [m.type.c_name() for m in restored.get_struct("holder").members] == want
