"""Source mode against a real build: Debian's linux-source-6.1 (6.1.176-1) with its cloud-amd64 config
must reproduce the DWARF of vmlinux-6.1.0-50-cloud-amd64 (the same 6.1.176-1) for every member.

The registry has no 6.1.0-57 / 6.1.192 (the issue's pair); 6.1.0-50 / 6.1.176-1 is the matching pair here.
Reading 32 structs from the vmlinux takes minutes, so the read is cached as a snapshot next to it.
"""

from __future__ import annotations

import hashlib

import pytest
from kernel_trees import CACHE, linux_61
from realbuilds import vmlinux

from layoutcalc import api
from layoutcalc.analysis.verify import compare_layouts

pytestmark = pytest.mark.realbuild

STRUCTS = ("task_struct", "signal_struct", "pid", "sk_buff", "inode", "mm_struct", "file", "dentry", "super_block",
           "page", "net_device", "sock", "tcp_sock", "vm_area_struct", "cred", "files_struct", "fs_struct",
           "sighand_struct", "nsproxy", "pid_namespace", "upid", "address_space", "bio", "block_device",
           "css_set", "user_struct", "module", "device", "kobject", "hrtimer", "timer_list", "work_struct")


def _real_build():
    path = vmlinux("amd64-50")
    key = hashlib.sha256(" ".join(STRUCTS).encode()).hexdigest()[:12]
    snapshot = CACHE / "snapshots" / f"vmlinux-6.1.0-50-cloud-amd64-{key}.snapshot.json"
    if not snapshot.is_file():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        api.snapshot(path, str(snapshot), STRUCTS)
    return api.load(str(snapshot))


def test_source_mode_reproduces_debian_61_build():
    tree, config = linux_61()
    compiled = api.load(str(api.source_snapshot(tree, "x86_64", config, STRUCTS).path))
    real = _real_build()
    checks = [compare_layouts(compiled.get_struct(name), real.get_struct(name)) for name in STRUCTS]
    assert [c.struct for c in checks if not c.equal] == []
    assert sum(len(c.members) for c in checks) > 1200
    assert compiled.provenance["kernel_config"]["allocator"] == "slub"
    assert compiled.get_struct("task_struct").size_bytes == 9728
