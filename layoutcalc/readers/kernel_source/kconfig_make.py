"""Short configs resolved by the tree's own Kconfig: ``make ARCH=... O=DIR NAME_defconfig`` / ``olddefconfig``.

A ``configs/*_defconfig`` of a tree since 2.6.24 lists only what differs from the Kconfig defaults, and a
hand-written config may be as short; the kernel's own ``scripts/kconfig`` (built by ``make`` with the host
compiler, bison and flex) writes the full ``.config`` kbuild would use.  The result is cached under
``$LAYOUTCALC_CACHE/source/kconfig/``, keyed by the tree, the release and the short config's text.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from ...cachedir import source_cache_root
from ...errors import InputError
from .tree import ArchSpec, KernelTree


def is_minimal(path: Path) -> bool:
    """A config kconfig did not write in full: no ``# Automatically generated ...`` header (every kconfig
    since 2.6 writes one; ``savedefconfig``, ``configs/*_defconfig`` and hand-written ones have none)."""
    return "Automatically generated" not in path.read_text(encoding="utf-8", errors="replace")[:400]


def resolve_config(tree: KernelTree, arch: ArchSpec, short: Path, defconfig_target: Optional[str] = None) -> Path:
    """The full ``.config`` the tree's Kconfig makes of ``short`` (``defconfig_target``: run that make target,
    e.g. ``x86_64_defconfig``, instead of ``olddefconfig`` on a copy of ``short``)."""
    key = hashlib.sha256("\0".join((str(tree.root), tree.release, arch.kbuild_arch, defconfig_target or "",
                                    short.read_text(encoding="utf-8", errors="replace"))).encode()).hexdigest()[:16]
    out = source_cache_root() / "kconfig" / key
    config = out / ".config"
    if config.is_file():
        return config
    if not (tree.root / "Kconfig").is_file() or not (tree.root / "scripts" / "kconfig").is_dir():
        raise InputError(f"{short}: a minimal config, which needs Kconfig resolution, and {tree.root} has no "
                         "Kconfig files to resolve it with; give a full config with --config "
                         "(e.g. one written by make olddefconfig)")
    if shutil.which("make") is None:
        raise InputError(f"{short}: resolving a minimal config runs the tree's make olddefconfig, and make is not "
                         "installed")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if defconfig_target is None:
        shutil.copyfile(short, partial / ".config")
    target = defconfig_target or "olddefconfig"
    result = subprocess.run(["make", "-s", "-C", str(tree.root), f"ARCH={arch.kbuild_arch}", f"O={partial}",
                             target], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not (partial / ".config").is_file():
        shutil.rmtree(partial, ignore_errors=True)
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        first = next((line for line in lines if "rror" in line), lines[0] if lines else "no message")
        raise InputError(f"{short}: make {target} in {tree.root} failed: {first.strip()[:200]}")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return config
