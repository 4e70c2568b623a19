"""A real module's split BTF (Debian's btrfs.ko of 6.1.0-57-cloud-amd64) read against its vmlinux, as pahole."""

from __future__ import annotations

import os
import shutil
import subprocess

import pahole_oracle
import pytest
from realbuilds import CACHE, VERSIONS, vmlinux

from layoutcalc import api
from layoutcalc.cli import main

pytestmark = [pytest.mark.realbuild,
              pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")]

PACKAGE = f"linux-image-6.1.0-57-cloud-amd64-unsigned={VERSIONS['57']}"
MODULE = "lib/modules/6.1.0-57-cloud-amd64/kernel/fs/btrfs/btrfs.ko"


def module_ko() -> str:
    """btrfs.ko from Debian's image package, pinned to 6.1.192-3, cached beside the vmlinux builds."""
    target = CACHE / "modules" / MODULE
    if target.exists():
        return str(target)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip("apt-get/dpkg-deb not available")
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    name, version = PACKAGE.split("=")
    found = sorted(debs.glob(f"{name}_{version}_*.deb"))
    if not found:
        if subprocess.run(["apt-get", "download", PACKAGE], cwd=debs, capture_output=True).returncode:
            pytest.skip(f"cannot fetch {PACKAGE}")
        found = sorted(debs.glob(f"{name}_{version}_*.deb"))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as out:
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(found[-1])], stdout=subprocess.PIPE)
        extract = subprocess.run(["tar", "-xO", f"./{MODULE}"], stdin=tar.stdout, stdout=out)
        tar.wait()
    if extract.returncode or tar.returncode:
        partial.unlink(missing_ok=True)
        pytest.skip(f"cannot extract {MODULE}")
    partial.rename(target)
    if os.environ.get("LAYOUTCALC_KEEP_DEBS") != "1":
        found[-1].unlink()
    return str(target)


def test_btrfs_ko_against_its_vmlinux_equals_pahole_btf_base():
    """Measured: --sizes 7839 of 7839 lines; btrfs_inode, btrfs_fs_info, btrfs_root, extent_buffer and the base's
    task_struct listings equal; --contains btrfs_root equal."""
    from click.testing import CliRunner
    ko, base = module_ko(), vmlinux("57-cloud-amd64")
    pahole = [pahole_oracle.PAHOLE, "-F", "btf", "--btf_base", base]
    runner = CliRunner()
    sizes = runner.invoke(main, ["sizes", "-i", ko, "--btf-base", base])
    assert sizes.exit_code == 0
    assert sizes.output == subprocess.run([*pahole, "--sizes", ko], check=True, capture_output=True,
                                          text=True).stdout
    names = ["btrfs_inode", "btrfs_fs_info", "btrfs_root", "extent_buffer", "task_struct"]
    theirs = pahole_oracle.split_listing(subprocess.run([*pahole, "-C", ",".join(names), ko], check=True,
                                                        capture_output=True, text=True).stdout)
    build = api.load_named(ko, names, btf_base=base)
    assert build.provenance.btf_base == base
    assert {name: api.show_text(build, [name]) for name in names} == theirs
    contains = runner.invoke(main, ["show", "--contains", "btrfs_root", "-i", ko, "--btf-base", base])
    assert contains.output == subprocess.run([*pahole, "--contains=btrfs_root", ko], check=True,
                                             capture_output=True, text=True).stdout
