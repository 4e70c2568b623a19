"""Real Debian kernel builds, fetched with apt into a cache outside the repository.

A test that needs one calls :func:`vmlinux` and is skipped, with the reason,
when the package cannot be fetched (no registry, no dpkg, disk full).  Never
committed; see ../shared/real-builds.md for where the figures come from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("LAYOUTCALC_CACHE", Path.home() / ".cache" / "layoutcalc"))

# The Debian version of each kernel ABI the tests use.  Every download names its version
# (``apt-get download PKG=VERSION``), so a registry that carries newer packages still
# hands out the very build (and the very source) a test was written against.
VERSIONS = {"47": "6.1.170-3", "50": "6.1.176-1", "57": "6.1.192-3", "6.12.118": "6.12.118-1~deb12u1"}

# key -> (Debian package pinned to its version, vmlinux inside it)
BUILDS = {
    "amd64": (f"linux-image-6.1.0-47-cloud-amd64-dbg={VERSIONS['47']}", "vmlinux-6.1.0-47-cloud-amd64"),
    "i386": (f"linux-image-6.1.0-50-686-pae-dbg:i386={VERSIONS['50']}", "vmlinux-6.1.0-50-686-pae"),
    "arm64": (f"linux-image-6.1.0-50-cloud-arm64-dbg:arm64={VERSIONS['50']}", "vmlinux-6.1.0-50-cloud-arm64"),
    "armhf": (f"linux-image-6.1.0-50-armmp-dbg:armhf={VERSIONS['50']}", "vmlinux-6.1.0-50-armmp"),
}

# More amd64 builds for diffs and history (not part of the per-ABI parametrisations over BUILDS).
SERIES = {
    f"{abi}-{flavour}": (f"linux-image-6.1.0-{abi}-{flavour}-dbg={VERSIONS[abi]}", f"vmlinux-6.1.0-{abi}-{flavour}")
    for abi in ("47", "50", "57") for flavour in ("cloud-amd64", "amd64", "rt-amd64")
}
SERIES["6.12-cloud-amd64"] = (f"linux-image-6.12.118+deb12-cloud-amd64-dbg={VERSIONS['6.12.118']}",
                              "vmlinux-6.12.118+deb12-cloud-amd64")


def _fetch(package: str, member: str, target: Path) -> None:
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    name = package.split("=")[0].split(":")[0]
    version = package.split("=")[1] if "=" in package else "*"
    # apt-get download writes ':' of an epoch-less version unchanged and '~' as is; '+' too.
    found = sorted(debs.glob(f"{name}_{version}_*.deb"))
    if not found:
        result = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"apt-get download {package} failed: {result.stderr.strip()[-300:]}")
        found = sorted(debs.glob(f"{name}_{version}_*.deb"))
    if not found:
        raise RuntimeError(f"apt-get download {package} left no .deb")
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as out:
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(found[-1])], stdout=subprocess.PIPE)
        extract = subprocess.run(["tar", "-xO", f"./usr/lib/debug/boot/{member}"], stdin=tar.stdout,
                                 stdout=out)
        tar.wait()
    if extract.returncode != 0 or tar.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"extracting {member} from {found[-1].name} failed")
    partial.rename(target)
    if os.environ.get("LAYOUTCALC_KEEP_DEBS") != "1":
        found[-1].unlink()


def vmlinux(key: str) -> str:
    """Path of the cached vmlinux for ``key``; skip the calling test if it cannot be had."""
    package, member = BUILDS[key] if key in BUILDS else SERIES[key]
    target = CACHE / "vmlinux" / member
    if target.exists():
        return str(target)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        pytest.skip(f"cannot fetch {package}: apt-get/dpkg-deb not available")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _fetch(package, member, target)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"cannot fetch real build {package}: {exc}")
    return str(target)
