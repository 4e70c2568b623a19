"""The slab cache catalogue: creation calls parsed from C, the shipped tables, and the live census."""

from __future__ import annotations

import os

import pytest

from layoutcalc.slab.catalogue import scan_source, series_for, shipped

C_SOURCE = r'''
static struct kmem_cache *a, *b, *c, *d, *e;
#define MY_CACHE(x) kmem_cache_create(#x, sizeof(x), 0, 0, NULL)
void __init f(void)
{
	struct kmem_cache_args args = {
		.use_freeptr_offset = true,
		.freeptr_offset = offsetof(struct file, f_freeptr),
	};
	/* kmem_cache_create("commented", sizeof(struct nope), 0, 0, NULL); */
	a = KMEM_CACHE(pid, SLAB_HWCACHE_ALIGN | SLAB_PANIC | SLAB_ACCOUNT);
	b = kmem_cache_create_usercopy("ext4_inode_cache", sizeof(struct ext4_inode_info), 0,
				(SLAB_RECLAIM_ACCOUNT|SLAB_ACCOUNT), offsetof(struct ext4_inode_info, i_data),
				sizeof_field(struct ext4_inode_info, i_data), init_once);
	c = kmem_cache_create("filp", sizeof(struct file), &args,
				SLAB_HWCACHE_ALIGN | SLAB_PANIC | SLAB_ACCOUNT | SLAB_TYPESAFE_BY_RCU);
	d = kmem_cache_create("names_cache", PATH_MAX, 0, SLAB_HWCACHE_ALIGN|SLAB_PANIC, NULL);
	e = kmem_cache_create("bio_t", sizeof(bio_t), 0, flags, NULL);
}
'''


def test_scan_source_reads_each_kind_of_call() -> None:
    entries = {entry.name: entry for entry in scan_source(C_SOURCE, "x.c")}
    assert sorted(entries) == ["bio_t", "ext4_inode_cache", "filp", "names_cache", "pid"]
    pid = entries["pid"]
    assert (pid.struct, pid.align, pid.flags, pid.line) == (
        "pid", "__alignof__(struct pid)", ("SLAB_HWCACHE_ALIGN", "SLAB_PANIC", "SLAB_ACCOUNT"), 11)
    ext4 = entries["ext4_inode_cache"]
    assert (ext4.struct, ext4.ctor, ext4.usercopy, ext4.flags) == (
        "ext4_inode_info", True, True, ("SLAB_RECLAIM_ACCOUNT", "SLAB_ACCOUNT"))
    filp = entries["filp"]
    assert (filp.struct, filp.align, filp.freeptr_offset, filp.ctor) == ("file", "0", True, False)
    assert entries["names_cache"].struct is None and entries["names_cache"].size == "PATH_MAX"
    assert entries["bio_t"].typedef and entries["bio_t"].flags is None


@pytest.mark.parametrize("series,name,struct,file", [
    ("6.12", "ext4_inode_cache", "ext4_inode_info", "fs/ext4/super.c"),
    ("6.12", "sock_inode_cache", "socket_alloc", "net/socket.c"),
    ("6.12", "skbuff_fclone_cache", "sk_buff_fclones", "net/core/skbuff.c"),
    ("6.1", "proc_inode_cache", "proc_inode", "fs/proc/inode.c"),
    ("6.1", "dentry", "dentry", "fs/dcache.c"),
    ("2.6.22", "pid", "pid", "kernel/pid.c"),
    ("2.6.22", "signal_cache", "signal_struct", "kernel/fork.c"),
])
def test_shipped_tables_name_the_struct_each_cache_holds(series: str, name: str, struct: str, file: str) -> None:
    entry = shipped(series).lookup(name)
    assert entry is not None and entry.struct == struct and entry.file == file


def test_shipped_kmalloc_classes() -> None:
    km = shipped("6.12").kmalloc
    assert km is not None
    assert [km.size_class(n) for n in (1, 8, 9, 65, 97, 129, 193, 8192, 8193)] == [
        8, 8, 16, 96, 128, 192, 256, 8192, None]
    assert "kmalloc-cg-" in km.families and "kmalloc-rcl-" in km.families
    old = shipped("2.6.22").kmalloc
    # size-96 and size-192 need L1_CACHE_BYTES < 64 / < 128: not on x86's 128-byte generic config
    assert old is not None and old.sizes[:4] == (32, 64, 128, 256) and old.size_class(65) == 128


def test_series_for_release() -> None:
    assert [series_for(r) for r in ((6, 18), (6, 12), (6, 6), (6, 1), (2, 6))] == ["6.12", "6.12", "6.1", "6.1",
                                                                                   "2.6.22"]


@pytest.mark.skipif(not os.path.isdir("/sys/kernel/slab") or not os.path.exists("/sys/kernel/btf/vmlinux"),
                    reason="needs the running kernel's /sys/kernel/slab and BTF")
def test_live_census_matches_sysfs() -> None:
    from layoutcalc.slab.census import live_census
    census = live_census()
    summary = census.summary()
    assert summary["attributed"] >= 100
    assert summary["exact"] >= 0.95 * summary["attributed"]
    # without the machine's merge candidates: slab_size, objs_per_slab and order from the struct alone
    assert summary["exact_without_candidates"] >= 0.95 * summary["attributed"]
    rows = {row.name: row for row in census.rows}
    dentry = rows["dentry"]
    assert dentry.struct == "dentry" and dentry.exact
    assert rows["kmalloc-96"].exact


def test_the_seeds_claims_are_data_in_the_flat_scenario(tmp_path) -> None:
    from layoutcalc.changes.scenario import load_scenario
    from layoutcalc.errors import ScenarioError
    claims = load_scenario("flat").claims
    assert [(c.struct, c.holds_when) for c in claims] == [
        ("task_struct", "absorbed"), ("signal_struct", "absorbed"), ("pid", "sole-cost")]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[change]]\nstruct = "pid"\nafter = []\nfields = ["int x;"]\n\n'
                   '[[claim]]\ntext = "free"\nstruct = "pid"\nholds_when = "maybe"\n')
    with pytest.raises(ScenarioError, match=r"bad.toml:6: holds_when 'maybe' is not one of absorbed, sole-cost"):
        load_scenario(str(bad))


def test_a_scenario_claim_is_judged_by_its_rule(tmp_path) -> None:
    from layoutcalc import api
    from layoutcalc.features.report import ReportOptions
    own = tmp_path / "own.toml"
    own.write_text('[[change]]\nstruct = "signal_struct"\nafter = []\nfields = ["char blob[4000];"]\n\n'
                   '[[claim]]\ntext = "signal_struct is free"\nstruct = "signal_struct"\nholds_when = "absorbed"\n')
    claims = api.report([], str(own), ReportOptions()).claims
    assert [c.text for c in claims] == ["signal_struct is free"] * len({c.era for c in claims})
    assert all(c.verdict == "does not hold" for c in claims)


# docs/memory.md works these out by hand from mm/slub.c (2 CPUs: min_objects 12, 64-byte cache lines):
# (object_size, slab_size, objs_per_slab, order)
HAND_WORKED = {
    "50-cloud-amd64": {"inode_cache": (632, 640, 12, 1), "dentry": (192, 192, 21, 0),
                       "skbuff_head_cache": (232, 256, 16, 0)},
    "6.12-cloud-amd64": {"inode_cache": (624, 632, 25, 2), "dentry": (192, 192, 21, 0),
                         "skbuff_head_cache": (232, 256, 16, 0)},
}


@pytest.mark.realbuild
@pytest.mark.parametrize("key", sorted(HAND_WORKED))
def test_hand_worked_caches_of_docs_memory_md(key: str) -> None:
    from realbuilds import vmlinux

    from layoutcalc import api
    from layoutcalc.slab.census import static_census
    build = api.load(vmlinux(key),
                     structs=["inode", "dentry", "sk_buff", "task_struct"])
    rows = {row.name: row for row in static_census(build)}
    for cache, figures in HAND_WORKED[key].items():
        g = rows[cache].geometry
        assert g is not None and (g.object_size, g.slab_size, g.objs_per_slab, g.order) == figures, cache


def test_scan_allocations_counts_sites_by_kind() -> None:
    from layoutcalc.slab.catalogue import scan_allocations
    text = ("DEFINE_PER_CPU_SHARED_ALIGNED(struct rq, runqueues);\n"
            "static DEFINE_PER_CPU(struct task_struct *, idle_threads);\n"
            "p = kzalloc(sizeof(struct foo), GFP_KERNEL);\n"
            "q = kcalloc(n, sizeof(struct foo), GFP_KERNEL);\n"
            "/* kmalloc(sizeof(struct commented), GFP_KERNEL) */\n"
            "t = kvmalloc(sizeof(struct table), GFP_KERNEL);\n"
            "r = kmalloc(sizeof(struct foo *), GFP_KERNEL);\n")
    sites: dict = {}
    scan_allocations(text, "x.c", sites)
    assert sites == {"rq": {"percpu": [1, "x.c:1"]}, "foo": {"kmalloc": [2, "x.c:3"]},
                     "table": {"kvmalloc": [1, "x.c:6"]}}
    assert shipped("6.12").allocations["rq"] == {"percpu": [1, "kernel/sched/core.c:120"]}


def test_source_mode_scans_the_tree_and_reproduces_the_shipped_table() -> None:
    from kernel_trees import linux_2622

    from layoutcalc.model import Build
    from layoutcalc.provenance import Provenance
    from layoutcalc.slab.catalogue import catalogue_for_build
    tree = linux_2622()
    build = Build("src", "x86_64", 8, "little", provenance=Provenance(tree=tree, release="2.6.22.19"))
    scanned = catalogue_for_build(build)
    assert scanned.entries == shipped("2.6.22").entries
    assert scanned.allocations == shipped("2.6.22").allocations
    assert scanned.lookup("signal_cache").line == 1443  # type: ignore[union-attr]
