"""Source mode against a real build: Debian's linux-source-6.1 (6.1.176-1) with its cloud-amd64 config
must reproduce the DWARF of vmlinux-6.1.0-50-cloud-amd64 (the same 6.1.176-1) for every member.

The registry has no 6.1.0-57 / 6.1.192 (the issue's pair); 6.1.0-50 / 6.1.176-1 is the matching pair here.
Reading 32 structs from the vmlinux takes minutes, so the read is cached as a snapshot next to it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def _real_snapshot() -> str:
    """The 32 structs of vmlinux-6.1.0-50-cloud-amd64, read once and kept as a snapshot in the cache."""
    path = vmlinux("50-cloud-amd64")  # the same 6.1.176-1 as linux-source-6.1
    key = hashlib.sha256(" ".join(STRUCTS).encode()).hexdigest()[:12]
    snapshot = CACHE / "snapshots" / f"vmlinux-6.1.0-50-cloud-amd64-{key}.snapshot.json"
    if not snapshot.is_file():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        api.snapshot(path, str(snapshot), STRUCTS)
    return str(snapshot)


def _real_build():
    return api.load(_real_snapshot())


def test_source_mode_reproduces_debian_61_build():
    tree, config = linux_61()
    compiled = api.load(str(api.source_snapshot(tree, "x86_64", config, STRUCTS).path))
    real = _real_build()
    checks = [compare_layouts(compiled.get_struct(name), real.get_struct(name)) for name in STRUCTS]
    assert [c.struct for c in checks if not c.equal] == []
    assert sum(len(c.members) for c in checks) > 1200
    assert compiled.provenance.kernel_config.allocator == "slub"
    assert compiled.get_struct("task_struct").size_bytes == 9728


PATCHES = sorted(p for p in (Path(__file__).parent / "patches").glob("*.patch") if "2.6.22" not in p.name)
# Android's KABI macros are not in the upstream tree: the patch cannot be compiled there.
NOT_COMPILABLE = {"pid-android-kabi.patch"}
# Symbols the corpus's own patches introduce (absent from the cloud config): switched on both sides.
NEW_SYMBOLS = {"task-is-enabled-module.patch": "CONFIG_TASK_WATCHDOG=y",
               "task-new-option.patch": "CONFIG_TASK_TRACE_STAMP=y"}
# Patches the re-layout is known to predict wrongly (none at present).
KNOWN_MISSES: set[str] = set()


@pytest.mark.parametrize("patch", [p.name for p in PATCHES])
def test_patch_corpus_prediction_on_vmlinux_equals_compiled_truth(request, patch):
    if patch in NOT_COMPILABLE:
        pytest.skip("uses ANDROID_KABI_RESERVE, which the upstream tree does not define")
    if patch in KNOWN_MISSES:
        request.applymarker(pytest.mark.xfail(reason="known re-layout miss (engine)"))
    tree, config = linux_61()
    defines = [NEW_SYMBOLS[patch]] if patch in NEW_SYMBOLS else []
    checks = api.verify_patch(tree, str(Path(__file__).parent / "patches" / patch), "x86_64", config, defines,
                              predict_on=_real_snapshot()).checks
    assert checks
    assert [(c.struct, c.mismatches[:2]) for c in checks if not c.equal] == []
