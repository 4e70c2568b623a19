"""A kernel source tree: its release, include layout and where structs are defined.

Two include layouts exist.  Up to 2.6.23 each architecture's headers live in
``include/asm-ARCH`` and the build links ``include/asm`` to them; from
2.6.24 (x86 merged) to today they live in ``arch/SRCARCH/include``, with
``uapi`` halves since 3.7.  The layout is read from the tree, never assumed
from a version number.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple, Optional

from ...errors import InputError
from ...safe_read import MAX_SOURCE_FILE_BYTES, check_regular_file, read_bytes

# Tree files source mode reads itself (the cache-creation calls); the compiler reads the headers.
SOURCES_READ = ("kernel/fork.c", "kernel/pid.c")


class ArchSpec(NamedTuple):
    """How one ABI is named in a kernel tree and how the host compiles for it."""

    kbuild_arch: str  # make ARCH= (old trees) / the name of the defconfig
    srcarch: str  # arch/SRCARCH in trees with arch/*/include
    old_asm: str  # include/asm-XXX in old trees
    compiler: tuple[str, ...]  # argv prefix: gcc -mNN or clang --target
    config_64bit: Optional[bool]  # CONFIG_64BIT this ABI needs (None: the arch has one width)


ARCHES: dict[str, ArchSpec] = {
    "x86_64": ArchSpec("x86_64", "x86", "asm-x86_64", ("gcc", "-m64"), True),
    "i386": ArchSpec("i386", "x86", "asm-i386", ("gcc", "-m32"), False),
    "aarch64": ArchSpec("arm64", "arm64", "asm-arm64", ("clang", "--target=aarch64-linux-gnu"), None),
    "arm": ArchSpec("arm", "arm", "asm-arm", ("clang", "--target=arm-linux-gnueabihf"), None),
    "ppc64le": ArchSpec("powerpc", "powerpc", "asm-powerpc", ("clang", "--target=powerpc64le-linux-gnu"), True),
    "s390x": ArchSpec("s390", "s390", "asm-s390", ("clang", "--target=s390x-linux-gnu"), True),
    "riscv64": ArchSpec("riscv", "riscv", "asm-riscv", ("clang", "--target=riscv64-linux-gnu"), True),
}


class KernelTree(NamedTuple):
    """What source mode needs to know about a tree."""

    root: Path
    release: str  # "2.6.22.19" from the top Makefile
    version: tuple[int, int, int]
    old_layout: bool  # include/asm-ARCH (2.6.23 and before) rather than arch/*/include

    def asm_dirs(self, arch: ArchSpec) -> list[Path]:
        """The architecture's header directories, in the order the kernel's Makefile lists them."""
        if self.old_layout:
            dirs = [self.root / "include" / arch.old_asm]
            if arch.kbuild_arch == "i386":
                dirs.append(self.root / "include" / "asm-i386" / "mach-default")
            return dirs
        base = self.root / "arch" / arch.srcarch / "include"
        return [base, base / "uapi"]


_MAKEFILE_VAR = re.compile(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)\s*$", re.M)


def open_tree(path: str) -> KernelTree:
    """The kernel tree at ``path`` (raises InputError when it is not one)."""
    root = Path(path).resolve()
    makefile = root / "Makefile"
    if not makefile.exists():
        raise InputError(f"{path}: is a directory, but not a kernel source tree (no readable Makefile)")
    text = read_bytes(str(makefile), "Makefile", MAX_SOURCE_FILE_BYTES).decode("utf-8", errors="replace")[:4096]
    values = dict(_MAKEFILE_VAR.findall(text))
    if not all(values.get(key, "").isdigit() for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL")):
        raise InputError(f"{makefile}: no VERSION/PATCHLEVEL/SUBLEVEL, not a kernel source tree")
    version = (int(values["VERSION"]), int(values["PATCHLEVEL"]), int(values["SUBLEVEL"]))
    release = ".".join(map(str, version)) + values.get("EXTRAVERSION", "")
    if not (root / "include" / "linux").is_dir():
        raise InputError(f"{path}: no include/linux directory, not a kernel source tree")
    old_layout = not (root / "arch" / "x86" / "include").is_dir() and any(
        (root / "include").glob("asm-*"))
    return KernelTree(root, release, version, old_layout)


def fingerprint(tree: KernelTree, arch: ArchSpec) -> str:
    """A hash of every header the tree offers for ``arch`` (path, size, modification time), and the Makefile.

    Cheap enough to take on every run (a stat per file); any edit to a header
    changes it.  The sources whose cache-creation calls source mode reads
    (``kernel/fork.c``, ``kernel/pid.c``) count by content.  Every header must be
    a regular file of at most MAX_SOURCE_FILE_BYTES: the compiler would block on
    a FIFO and read ``/dev/zero`` without end.
    """
    digest = hashlib.sha256(tree.release.encode())
    for relative in SOURCES_READ:
        if (tree.root / relative).exists():
            digest.update(relative.encode() + b"\0" + read_bytes(str(tree.root / relative), "kernel source file",
                                                                  MAX_SOURCE_FILE_BYTES) + b"\0")
    roots = [tree.root / "include", *tree.asm_dirs(arch)]
    if not tree.old_layout:
        roots.append(tree.root / "arch" / arch.srcarch / "Kconfig")
    for base in roots:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                try:
                    info = os.stat(full)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SOURCE_FILE_BYTES:
                    check_regular_file(full)
                    raise InputError(f"{full}: {info.st_size} bytes is too large for a kernel header "
                                     f"(limit {MAX_SOURCE_FILE_BYTES} bytes)")
                digest.update(f"{full}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _definition_pattern(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"^\s*(?:struct|union)\s+" + re.escape(name.encode()) + rb"\s*\{", re.M)


def find_headers(tree: KernelTree, arch: ArchSpec, names: list[str]) -> dict[str, str]:
    """For each struct name, the ``#include`` path of a header that defines it.

    ``include/linux`` is searched first, then the other generic directories,
    then the architecture's; names defined nowhere are left out.
    """
    bases = [tree.root / "include", *tree.asm_dirs(arch)]
    patterns = {name: _definition_pattern(name) for name in names}
    found: dict[str, str] = {}
    for base in bases:
        candidates = sorted(base.glob("linux/*.h")) + sorted(
            p for p in base.rglob("*.h") if p.parent != base / "linux" and _searchable(tree, base, p))
        for header in candidates:
            if len(found) == len(names):
                return found
            try:
                data = header.read_bytes()
            except OSError:
                continue
            for name, pattern in patterns.items():
                if name not in found and pattern.search(data):
                    found[name] = _include_name(tree, arch, base, header)
    return found


def _searchable(tree: KernelTree, base: Path, header: Path) -> bool:
    """Skip other architectures' ``include/asm-*`` (old trees) and kbuild's ``include/config``."""
    if base != tree.root / "include":
        return True
    top = header.relative_to(base).parts[0]
    return top != "config" and not (top.startswith("asm-") and top != "asm-generic")


def _include_name(tree: KernelTree, arch: ArchSpec, base: Path, header: Path) -> str:
    relative = header.relative_to(base).as_posix()
    if tree.old_layout and base != tree.root / "include":
        return f"asm/{relative}" if base.name == arch.old_asm else relative
    return relative


_CACHE_LINE_SIZE = re.compile(rb"^\s*#\s*define\s+cache_line_size\(\)\s+(.+?)\s*$", re.M)


def cache_line_size_definition(tree: KernelTree, arch: ArchSpec) -> Optional[str]:
    """How the tree defines ``cache_line_size()`` (SLAB's ``SLAB_HWCACHE_ALIGN`` unit) for ``arch``.

    The architecture's definition wins over ``include/linux/cache.h``'s
    default (``L1_CACHE_BYTES``); 2.6.22 x86 reads it from the boot CPU at run
    time (``boot_cpu_data.x86_cache_alignment``).
    """
    headers = [p for base in tree.asm_dirs(arch) for p in sorted(base.glob("*.h"))]
    headers.append(tree.root / "include" / "linux" / "cache.h")
    for header in headers:
        try:
            match = _CACHE_LINE_SIZE.search(header.read_bytes())
        except OSError:
            continue
        if match:
            return match.group(1).decode(errors="replace")
    return None


def tree_arch(name: str) -> ArchSpec:
    """The :class:`ArchSpec` of an ABI name (raises InputError for one source mode cannot compile)."""
    try:
        return ARCHES[name]
    except KeyError:
        raise InputError(f"source mode cannot compile for '{name}' (one of {', '.join(ARCHES)})") from None
