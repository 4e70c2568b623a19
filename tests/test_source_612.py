"""Source mode against a real build: Debian's linux-source-6.12 (6.12.118-1~deb12u1) with its cloud-amd64
config must reproduce the DWARF of vmlinux-6.12.118+deb12-cloud-amd64 member for member.

6.12's ``thread_info.h`` includes ``asm-offsets.h``, which source mode generates from
``arch/x86/kernel/asm-offsets.c`` as kbuild does. Reading the structs from the 1 GB vmlinux takes
minutes, so that read is cached as a snapshot next to it.
"""

from __future__ import annotations

import hashlib

import pytest
from kernel_trees import CACHE, linux_612
from realbuilds import vmlinux

from layoutcalc import api
from layoutcalc.analysis.verify import compare_layouts

pytestmark = pytest.mark.realbuild

STRUCTS = ("task_struct", "signal_struct", "pid", "mm_struct", "sk_buff", "inode", "page", "net_device", "sock",
           "cred", "dentry", "bio")
#: Sizes in the dbg build (pahole -F dwarf on vmlinux-6.12.118+deb12-cloud-amd64).
SIZES = {"task_struct": 9792, "pid": 112}


def real_snapshot_612(structs: tuple[str, ...] = STRUCTS) -> str:
    """The structs of vmlinux-6.12.118+deb12-cloud-amd64, read once and kept as a snapshot in the cache."""
    path = vmlinux("6.12-cloud-amd64")
    key = hashlib.sha256(" ".join(structs).encode()).hexdigest()[:12]
    snapshot = CACHE / "snapshots" / f"vmlinux-6.12.118-cloud-amd64-{key}.snapshot.json"
    if not snapshot.is_file():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        api.snapshot(path, str(snapshot), structs)
    return str(snapshot)


def test_source_mode_reproduces_debian_612_build():
    tree, config = linux_612()
    compiled = api.load(str(api.source_snapshot(tree, "x86_64", config, STRUCTS).path))
    real = api.load(real_snapshot_612())
    checks = [compare_layouts(compiled.get_struct(name), real.get_struct(name)) for name in STRUCTS]
    assert [(c.struct, c.mismatches[:2]) for c in checks if not c.equal] == []
    assert sum(len(c.members) for c in checks) > 500
    for name, size in SIZES.items():
        assert compiled.get_struct(name).size_bytes == size
    assert compiled.provenance["kernel_config"]["allocator"] == "slub"
