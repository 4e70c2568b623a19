"""The generated headers of a tree with ``arch/*/include`` (2.6.24 and later), produced without ``make``.

Only what struct definitions need: ``generated/autoconf.h`` from the full
config, the ``asm-generic`` wrappers the architecture's ``Kbuild`` lists,
``bounds.h`` (computed by the compiler from ``kernel/bounds.c``, as kbuild
does), ``timeconst.h`` (``bc`` over ``kernel/time/timeconst.bc``), the
syscall numbers (from the tree's ``syscall_*.tbl``), ``utsrelease.h`` and ``asm-offsets.h``
(the compiler evaluates ``arch/ARCH/kernel/asm-offsets.c`` after ``bounds.h``, as kbuild does:
x86's ``thread_info.h`` includes it since 6.2).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ...errors import InputError
from .config import KernelConfig, autoconf_text
from .tree import ArchSpec, KernelTree

_GENERIC = re.compile(r"^\s*(generic-y|mandatory-y)\s*\+?=\s*(.+)$", re.M)
_MARKER = re.compile(r"->(\w+) [$#]?(-?\d+)")


def write_generated_headers(tree: KernelTree, arch: ArchSpec, config: KernelConfig, build_dir: Path,
                            command: Callable[[], list[str]]) -> None:
    """Fill ``build_dir`` with the generated headers; ``command()`` is the compiler command for bounds.h."""
    generated = build_dir / "include" / "generated"
    generated.mkdir(parents=True, exist_ok=True)
    (generated / "autoconf.h").write_text(autoconf_text(config))
    (generated / "utsrelease.h").write_text(f'#define UTS_RELEASE "{tree.release}"\n')
    (build_dir / "include" / "config").mkdir(exist_ok=True)
    (build_dir / "include" / "config" / "auto.conf").write_text(config.text)
    _write_wrappers(tree, arch, build_dir)
    _write_syscall_numbers(tree, arch, build_dir)
    _write_timeconst(tree, config, generated)
    (generated / "bounds.h").write_text("")
    _write_bounds(tree, build_dir, generated, command())
    _write_asm_offsets(tree, arch, build_dir, generated, command())


def _write_wrappers(tree: KernelTree, arch: ArchSpec, build_dir: Path) -> None:
    """``#include <asm-generic/X.h>`` for each header the arch takes from asm-generic (kbuild's ``asm-generic``)."""
    for uapi in (False, True):
        arch_dir = tree.root / "arch" / arch.srcarch / "include" / ("uapi/asm" if uapi else "asm")
        generic_dir = tree.root / "include" / ("uapi/asm-generic" if uapi else "asm-generic")
        names: set[str] = set()
        for kbuild in (arch_dir / "Kbuild", generic_dir / "Kbuild"):
            if kbuild.is_file():
                text = kbuild.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
                for _kind, value in _GENERIC.findall(text):
                    names.update(word for word in value.split() if word.endswith(".h"))
        out = build_dir / "arch" / arch.srcarch / "include" / "generated" / ("uapi/asm" if uapi else "asm")
        out.mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            if (arch_dir / name).exists() or not (generic_dir / name).exists():
                continue
            (out / name).write_text(f"#include <asm-generic/{name}>\n")


def _write_syscall_numbers(tree: KernelTree, arch: ArchSpec, build_dir: Path) -> None:
    """``asm/unistd_NN.h`` (uapi) from the x86 syscall tables: ``#define __NR_name nr``, as syscallhdr.sh writes."""
    tables = tree.root / "arch" / arch.srcarch / "entry" / "syscalls"
    if not tables.is_dir():
        return
    generated = build_dir / "arch" / arch.srcarch / "include" / "generated"
    for table, abis, header, prefix in (("syscall_64.tbl", ("common", "64"), "uapi/asm/unistd_64.h", ""),
                                        ("syscall_64.tbl", ("common", "x32"), "uapi/asm/unistd_x32.h", ""),
                                        ("syscall_32.tbl", ("i386",), "uapi/asm/unistd_32.h", ""),
                                        ("syscall_64.tbl", ("x32",), "asm/unistd_64_x32.h", "x32_"),
                                        ("syscall_32.tbl", ("i386",), "asm/unistd_32_ia32.h", "ia32_")):
        path = tables / table
        if not path.is_file():
            continue
        lines = []
        for row in path.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = row.split()
            if len(fields) >= 3 and not row.startswith("#") and fields[1] in abis:
                lines.append(f"#define __NR_{prefix}{fields[2]} {fields[0]}")
        (generated / header).parent.mkdir(parents=True, exist_ok=True)
        (generated / header).write_text("\n".join(lines) + "\n")


def _write_timeconst(tree: KernelTree, config: KernelConfig, generated: Path) -> None:
    script = tree.root / "kernel" / "time" / "timeconst.bc"
    hz = config.number("CONFIG_HZ")
    if not script.is_file() or hz is None:
        return
    if shutil.which("bc") is None:
        raise InputError(f"{script}: generating timeconst.h needs bc, which is not installed")
    result = subprocess.run(["bc", "-q", str(script)], input=f"{hz}\n", capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise InputError(f"{script}: bc failed: {result.stderr.strip()[:200]}")
    (generated / "timeconst.h").write_text(result.stdout)


def _write_bounds(tree: KernelTree, build_dir: Path, generated: Path, command: list[str]) -> None:
    """kbuild's ``bounds.h``: compile ``kernel/bounds.c`` to assembly and read its ``->SYM value`` markers."""
    source = tree.root / "kernel" / "bounds.c"
    if not source.is_file():
        return
    asm = build_dir / "bounds.s"
    result = subprocess.run([*command, "-S", "-o", str(asm), str(source)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        first = next((line for line in result.stderr.splitlines() if "error" in line), result.stderr[-200:])
        raise InputError(f"{source}: computing bounds.h failed: {first.strip()}")
    values = _MARKER.findall(asm.read_text())
    (generated / "bounds.h").write_text("".join(f"#define {name} {value}\n" for name, value in values))


def _write_asm_offsets(tree: KernelTree, arch: ArchSpec, build_dir: Path, generated: Path,
                       command: list[str]) -> None:
    """kbuild's ``asm-offsets.h``: compile ``arch/ARCH/kernel/asm-offsets.c`` and read its ``->SYM value`` markers.

    Written empty first (the file itself may include headers that include it); a tree whose
    ``asm-offsets.c`` does not compile from the headers alone keeps the empty file, and a header
    that needs one of its values then fails the main compile with the compiler's own message.
    """
    target = generated / "asm-offsets.h"
    target.write_text("")
    source = tree.root / "arch" / arch.srcarch / "kernel" / "asm-offsets.c"
    if not source.is_file():
        return
    asm = build_dir / "asm-offsets.s"
    result = subprocess.run([*command, "-S", "-o", str(asm), str(source)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        return
    values = _MARKER.findall(asm.read_text())
    target.write_text("".join(f"#define {name} {value}\n" for name, value in values))
