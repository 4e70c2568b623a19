"""Cost through containment: a patch that grows struct inode grows every struct embedding it.

Oracle: gcc 12's compile of the patched linux-source-6.12 tree with the cloud-amd64 config
(tests/fixtures/inode-grow8-612.gcc.json, made by compiling a probe with Kbuild's own flags).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from layoutcalc import api
from layoutcalc.abi import get_abi
from layoutcalc.model import Build, Member, StructType
from layoutcalc.slab.containment import grow_containers
from layoutcalc.slab.patchcost import NOT_KNOWN, patch_cost

HERE = Path(__file__).parent
GCC = json.loads((HERE / "fixtures" / "inode-grow8-612.gcc.json").read_text())
PATCH = str(HERE / "fixtures" / "inode-grow8-612.patch")


def test_containment_relays_out_each_container_with_the_grown_member() -> None:
    from layoutcalc.model import BaseType
    long_t, char_t = BaseType("long", 8), BaseType("char", 1)
    inner = StructType("struct", "inner", 16, [Member("a", long_t, 0), Member("b", long_t, 64)])
    # outer: char c; struct inner i; char d;  -> 32 bytes; after inner grows to 24: 40 (gcc agrees)
    outer = StructType("struct", "outer", 32, [Member("c", char_t, 0), Member("i", inner, 64),
                                               Member("d", char_t, 192)])
    wrapper = StructType("struct", "wrapper", 40, [Member("o", outer, 0), Member("x", long_t, 256)])
    build = Build("t", "x86_64", 8, "little", {"inner": inner, "outer": outer, "wrapper": wrapper})
    grown_inner = StructType("struct", "inner", 24, [Member("a", long_t, 0), Member("b", long_t, 64),
                                                     Member("n", long_t, 128)])
    out = {g.name: g for g in grow_containers(build, get_abi("x86_64"), {"inner": grown_inner})}
    assert (out["outer"].size_on, out["outer"].via) == (40, "outer.i")
    assert (out["wrapper"].size_on, out["wrapper"].via) == (48, "wrapper.o.i")
    assert [m.bit_offset // 8 for m in out["wrapper"].after.members] == [0, 40]


def _612_btf() -> Build:
    from realbuilds import vmlinux

    from layoutcalc.readers.btf import read_btf
    path = vmlinux("6.12-cloud-amd64")
    with open(path, "rb") as stream:
        return read_btf(stream.read(), path)


def _612_dwarf() -> Build:
    from realbuilds import vmlinux
    return api.load(vmlinux("6.12-cloud-amd64"))  # every struct (about 13 s, then cached)


@pytest.mark.realbuild
@pytest.mark.parametrize("read", [_612_btf, _612_dwarf], ids=["btf", "dwarf"])
def test_inode_growth_on_612_matches_gcc_of_the_patched_tree(read: Callable[[], Build]) -> None:
    build = read()
    scenario, warnings = api.patch_scenario(PATCH)
    assert warnings == []
    cost = patch_cost(build, scenario)
    rows = {row.struct: row for row in cost.rows}
    for struct in ("inode", "ext4_inode_info", "proc_inode", "shmem_inode_info", "socket_alloc"):
        assert rows[struct].size_on == GCC["sizeof"][struct], struct
    assert rows["socket_alloc"].size_off == rows["socket_alloc"].size_on  # absorbed by its 64-byte alignment
    assert rows["ext4_inode_info"].cache == "ext4_inode_cache"
    assert rows["ext4_inode_info"].via == "ext4_inode_info.vfs_inode"
    assert rows["inode"].cache == "inode_cache" and rows["inode"].via == ""
    # ext4: 1160 -> 1168 B; with the free pointer after the object (ctor) 1168 -> 1176 B per slot:
    # order 2 with 14 (16384 % 1168 = 32 <= 1024) -> order 3 with 27 (16384 % 1176 = 1096 > 1024)
    assert rows["ext4_inode_info"].bytes_per_object_on == pytest.approx(32768 / 27)


def test_a_struct_without_a_cache_is_said_not_known() -> None:
    build = api.load(str(api.bundled_snapshots()[0]))
    from layoutcalc.changes.scenario import load_scenario
    scenario = load_scenario("flat")
    cost = patch_cost(build, scenario)
    assert {row.struct for row in cost.rows} >= {"pid", "signal_struct", "task_struct"}
    counted = patch_cost(build, scenario, counts={"signal_cache": 1000})
    signal = next(row for row in counted.rows if row.cache == "signal_cache")
    assert signal.count == 1000 and signal.total_bytes == signal.delta_bytes_per_object * 1000
    unknown = patch_cost(build, scenario, catalogue=_empty_catalogue())
    assert all(row.note == NOT_KNOWN and row.bytes_per_object_on is None for row in unknown.rows)


def _empty_catalogue() -> object:
    from layoutcalc.slab.catalogue import Catalogue
    return Catalogue("none", {}, (), None)


LIVE = os.path.isdir("/sys/kernel/slab") and os.path.exists("/sys/kernel/btf/vmlinux")


@pytest.mark.skipif(not LIVE, reason="needs the running kernel's /sys/kernel/slab and BTF")
def test_report_patch_rows_name_every_cache_of_the_grown_struct() -> None:
    from click.testing import CliRunner

    from layoutcalc.cli import main
    result = CliRunner().invoke(main, ["report", "-i", "/sys/kernel/btf/vmlinux", "--patch", PATCH,
                                       "--count", "inode_cache=1000", "--format", "json"])
    assert result.exit_code == 0, result.output
    costs = json.loads(result.stdout)["costs"][0]
    rows = {row["cache"]: row for row in costs["rows"]}
    assert rows["inode_cache"]["via"] == "" and rows["inode_cache"]["count"] == 1000
    assert rows["inode_cache"]["size_on"] - rows["inode_cache"]["size_off"] == 8
    assert rows["ext4_inode_cache"]["via"] == "ext4_inode_info.vfs_inode"
    assert rows["sock_inode_cache"]["size_on"] == rows["sock_inode_cache"]["size_off"]  # 64-byte aligned
    assert costs["total_bytes"] == pytest.approx(rows["inode_cache"]["delta_bytes_per_object"] * 1000, abs=5)


@pytest.mark.parametrize("args,message", [
    (["--count", "inode"], "--count inode: expected NAME=VALUE"),
    (["--count", "inode=many"], "--count inode=many: the count must be a whole number"),
    (["--alloc", "inode=heap"], "--alloc inode=heap: the kind is one of kmalloc, percpu, static, vmalloc"),
])
def test_cost_options_refuse_bad_values(args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from layoutcalc.cli import main
    result = CliRunner().invoke(main, ["slab", "--patch", PATCH, *args])
    assert result.exit_code == 2 and message in result.output


def test_allocation_costs_by_kind() -> None:
    from layoutcalc.slab.catalogue import shipped
    from layoutcalc.slab.patchcost import allocation_cost
    catalogue = shipped("6.12")
    assert allocation_cost("kmalloc", 90, 98, catalogue)[:2] == (96.0, 128.0)
    assert allocation_cost("kmalloc", 8000, 8200, catalogue)[:2] == (8192.0, 16384.0)
    assert allocation_cost("percpu", 100, 108, catalogue)[:2] == (100.0, 108.0)
    assert allocation_cost("vmalloc", 4000, 4100, catalogue)[:2] == (4096.0, 8192.0)
    assert allocation_cost("", 1, 2, catalogue) == (None, None, NOT_KNOWN)


def test_per_cpu_and_kmalloc_rows_from_the_catalogues_allocation_sites() -> None:
    from layoutcalc.changes.scenario import parse_scenario
    from layoutcalc.model import BaseType
    from layoutcalc.slab.catalogue import Catalogue, shipped
    long_t = BaseType("long", 8)
    rq = StructType("struct", "rq", 88, [Member("a", long_t, 0), Member("b", BaseType("char", 1), 640)])
    foo = StructType("struct", "foo", 96, [Member("a", long_t, 0), Member("b", BaseType("char", 1), 704)])
    build = Build("t", "x86_64", 8, "little", {"rq": rq, "foo": foo}, base_types={"long": long_t})
    catalogue = Catalogue("test", {}, (), shipped("6.12").kmalloc,
                          allocations={"rq": {"percpu": [1, "kernel/sched/core.c:120"]},
                                       "foo": {"kmalloc": [2, "x.c:3"]}})
    scenario = parse_scenario('[[change]]\nstruct = "rq"\nafter = []\nfields = ["long x;"]\n\n'
                              '[[change]]\nstruct = "foo"\nafter = []\nfields = ["long y;"]\n', "t.toml")
    rows = {row.struct: row for row in patch_cost(build, scenario, cpus=4, catalogue=catalogue).rows}
    # rq: 88 -> 96 bytes, one per CPU: 4 x 8
    assert (rows["rq"].allocation, rows["rq"].count, rows["rq"].total_bytes) == ("percpu", 4, 32)
    # foo: 96 -> 104 bytes: kmalloc-96 -> kmalloc-128
    assert (rows["foo"].bytes_per_object_off, rows["foo"].bytes_per_object_on) == (96.0, 128.0)
    assert "x.c:3 and 1 more" in rows["foo"].note


def test_count_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from layoutcalc.cli import main
    from layoutcalc.slab.patchcost import read_counts
    work = tmp_path / "workload.txt"
    work.write_text("# a build server\ninode_cache 250000\nsk_buff=4096\n")
    assert read_counts(str(work)) == {"inode_cache": 250000, "sk_buff": 4096}
    bad = tmp_path / "bad.txt"
    bad.write_text("inode_cache lots\n")
    result = CliRunner().invoke(main, ["slab", "--patch", PATCH, "--count", f"@{bad}"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {bad}:1: expected 'NAME N' (a struct or cache and its object count)"
