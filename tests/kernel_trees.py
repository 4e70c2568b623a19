"""Kernel source trees for source-mode tests, unpacked into a cache outside the repository.

Linux 2.6.22.19 comes from a git mirror of github.com/j0n3lson/linux-2.6.22.19-cs370 at its
import commit 1ee3a188 only (later commits change task_struct). A test that needs it
calls :func:`linux_2622` and is skipped, with the reason, when no mirror is at hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("LAYOUTCALC_CACHE", Path.home() / ".cache" / "layoutcalc"))
COMMIT_2622 = "1ee3a188bad8ab75f7961187a8a9e56ad54720f8"
MIRROR_2622 = os.environ.get("LAYOUTCALC_LINUX_2622_GIT",
                             "/work/.mirror/j0n3lson+linux-2.6.22.19-cs370/repo/.git")


def linux_2622() -> str:
    """Path of the unpacked 2.6.22.19 tree (commit 1ee3a188); skip the calling test if it cannot be had."""
    target = CACHE / "src" / f"linux-2.6.22.19-{COMMIT_2622[:8]}"
    if (target / "Makefile").is_file():
        return str(target)
    if shutil.which("git") is None or not os.path.isdir(MIRROR_2622):
        pytest.skip(f"no git mirror of linux-2.6.22.19 at {MIRROR_2622} (set LAYOUTCALC_LINUX_2622_GIT)")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = subprocess.Popen(["git", "--git-dir", MIRROR_2622, "archive", COMMIT_2622], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout)
    archive.wait()
    if archive.returncode or untar.returncode:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.skip(f"git archive {COMMIT_2622[:8]} from {MIRROR_2622} failed")
    partial.rename(target)
    return str(target)


SOURCE_61 = "linux-source-6.1"
# The source version that matches the 6.1.0-50 builds the source-mode tests compare with.  The
# registry's newest linux-source-6.1 moves on (6.1.192 today), so the version is always named.
VERSION_61 = "6.1.176-1"
_SOURCE_PARTS = ("Makefile", "include", "arch/x86", "kernel", "mm", "scripts")


def _debian_file(package: str, version: str, member: str) -> Path:
    """``member`` (a path inside Debian ``package`` at ``version``), from the cache or fetched; skip if neither.

    Each version unpacks into a directory of its own, so a newer package fetched by an older
    checkout never stands in for the version a test names.
    """
    root = CACHE / "src" / f"{package}_{version}"
    target = root / member
    if target.exists():
        return target
    debs = CACHE / "debs"
    found = sorted(debs.glob(f"{package}_{version}_*.deb"))
    if not found:
        if shutil.which("apt-get") is None:
            pytest.skip(f"{target} missing and apt-get is not available to fetch {package}={version}")
        debs.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=debs, capture_output=True,
                                text=True)
        found = sorted(debs.glob(f"{package}_{version}_*.deb"))
        if result.returncode or not found:
            pytest.skip(f"apt-get download {package}={version} failed: {result.stderr.strip()[-200:]}")
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)  # dpkg-deb -x does not create parents
    result = subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(partial)], capture_output=True, text=True)
    if result.returncode or not (partial / member).exists():
        shutil.rmtree(partial, ignore_errors=True)
        pytest.skip(f"unpacking {found[-1].name} failed: {result.stderr.strip()[-200:]}")
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return target


def linux_61() -> tuple[str, str]:
    """(tree, cloud-amd64 config) of Debian's linux-source-6.1 at VERSION_61, unpacked once into the cache."""
    return _linux_source("6.1", VERSION_61, "config.amd64_none_cloud-amd64")


def linux_612() -> tuple[str, str]:
    """(tree, cloud-amd64 config) of Debian's linux-source-6.12 matching the 6.12.118 dbg build."""
    return _linux_source("6.12", "6.12.118-1~deb12u1", "config.amd64_none_cloud-amd64")


def _linux_source(series: str, version: str, config_name: str) -> tuple[str, str]:
    source = f"linux-source-{series}"
    tarball = _debian_file(source, version, f"usr/src/{source}.tar.xz")
    config_xz = _debian_file(f"linux-config-{series}", version, f"usr/src/linux-config-{series}/{config_name}.xz")
    tree = CACHE / "src" / f"{source}_{version}-headers"
    config = CACHE / "src" / f"{config_name}_{version}"
    if not (tree / "Makefile").is_file():
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        members = [f"{source}/{part}" for part in _SOURCE_PARTS]
        result = subprocess.run(["tar", "-xJf", str(tarball), "-C", str(partial), "--strip-components=1", *members],
                                capture_output=True, text=True)
        if result.returncode:
            shutil.rmtree(partial, ignore_errors=True)
            pytest.skip(f"unpacking {tarball} failed: {result.stderr.strip()[-200:]}")
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
    if not config.is_file():
        result = subprocess.run(["xz", "-dc", str(config_xz)], capture_output=True)
        if result.returncode:
            pytest.skip(f"xz -dc {config_xz} failed")
        config.write_bytes(result.stdout)
    return str(tree), str(config)
