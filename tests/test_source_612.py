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
    assert compiled.provenance.kernel_config.allocator == "slub"


def _kconfig_tree_612() -> str:
    """linux-source-6.12 with every Kconfig file (for make savedefconfig/olddefconfig), unpacked once."""
    import shutil
    import subprocess
    tarball = CACHE / "src" / "linux-source-6.12_6.12.118-1~deb12u1" / "usr" / "src" / "linux-source-6.12.tar.xz"
    linux_612()  # fetches the package
    tree = CACHE / "src" / "linux-source-6.12_6.12.118-1~deb12u1-kconfig"
    if not (tree / "Kconfig").is_file():
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        parts = ["*Kconfig*", "scripts/*", "Makefile", "arch/x86/*", "include/*", "kernel/*", "mm/*"]
        result = subprocess.run(["tar", "-xJf", str(tarball), "-C", str(partial), "--strip-components=1",
                                 "--wildcards", *(f"linux-source-6.12/{p}" for p in parts)], capture_output=True,
                                text=True)
        if result.returncode:
            shutil.rmtree(partial, ignore_errors=True)
            pytest.skip(f"unpacking {tarball} failed: {result.stderr.strip()[-200:]}")
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
    return str(tree)


def test_short_config_resolved_by_the_trees_own_kconfig_reproduces_the_build(tmp_path):
    """Debian's cloud config cut down by make savedefconfig (1,400 of 5,300 lines) is expanded again by the
    tree's make olddefconfig; the compiled structs equal the dbg build's."""
    import shutil
    import subprocess
    if shutil.which("make") is None or shutil.which("bison") is None or shutil.which("flex") is None:
        pytest.skip("make, bison and flex build the tree's kconfig")
    tree = _kconfig_tree_612()
    _, config = linux_612()
    out = tmp_path / "o"
    out.mkdir()
    shutil.copyfile(config, out / ".config")
    subprocess.run(["make", "-s", "-C", tree, "ARCH=x86_64", f"O={out}", "savedefconfig"], check=True,
                   capture_output=True)
    short = out / "defconfig"
    assert "Automatically generated" not in short.read_text()[:400]
    assert len(short.read_text().splitlines()) < len(open(config).read().splitlines()) // 2
    compiled = api.load(str(api.source_snapshot(tree, "x86_64", str(short), STRUCTS).path))
    real = api.load(real_snapshot_612())
    checks = [compare_layouts(compiled.get_struct(name), real.get_struct(name)) for name in STRUCTS]
    assert [(c.struct, c.mismatches[:2]) for c in checks if not c.equal] == []
