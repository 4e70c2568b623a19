"""Compile the headers that define the asked structs, and read the layout back from the object's DWARF.

The translation unit includes each defining header and declares one
pointer per struct, so the compiler emits the complete definitions; a
function of ``asm`` markers (kbuild's ``asm-offsets`` trick) makes the
compiler print the facts the slab model needs (``PAGE_SIZE``,
``L1_CACHE_BYTES``, ``ARCH_MIN_TASKALIGN``, ``NR_CPUS``, the SLAB_ flags)
into the assembly, which is then assembled with the markers commented out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple, Optional

from ...cachedir import source_cache_root
from ...errors import InputError
from .config import CacheCall, KernelConfig, autoconf_text
from .generated import write_generated_headers
from .tree import ArchSpec, KernelTree

#: Numeric facts asked of the compiler (each only if the macro exists in the tree).
FACT_MACROS = ("PAGE_SIZE", "PAGE_SHIFT", "L1_CACHE_BYTES", "L1_CACHE_SHIFT", "ARCH_MIN_TASKALIGN",
               "NR_CPUS", "ARCH_SLAB_MINALIGN", "ARCH_KMALLOC_MINALIGN")

#: Flags that make old gcc-era headers compile with gcc 12 (the kernel's own Makefile passes the first three).
OLD_TREE_FLAGS = ("-std=gnu89", "-fgnu89-inline", "-fno-strict-aliasing", "-fno-common")
#: Every type the headers declare reaches the DWARF, so that typedefs a patch names (u64...) can be found.
ALL_TYPES_FLAG = "-fno-eliminate-unused-debug-types"
#: ``-O2`` as kbuild: from 6.2 on, inline asm of always-inline helpers (``WARN_ON`` in ``rwsem.h``) has
#: ``"i"`` constraints that only optimisation can satisfy ("impossible constraint in 'asm'" at -O0).
NEW_TREE_FLAGS = ("-std=gnu11", "-O2", "-fno-strict-aliasing", "-fno-common", "-fshort-wchar",
                  '-DKBUILD_MODNAME="layoutcalc"', '-DKBUILD_BASENAME="layoutcalc"')

_MARKER = re.compile(r"^->(\w+) [$#]?(-?\d+)", re.M)


class CompiledUnit(NamedTuple):
    """The object file and what the compiler said about the tree's macros."""

    object_path: Path
    facts: dict[str, int]
    command: list[str]


def compiler_identity(arch: ArchSpec) -> str:
    """First line of ``CC --version``: part of the cache key and of the provenance."""
    tool = arch.compiler[0]
    if shutil.which(tool) is None:
        raise InputError(f"source mode for {arch.kbuild_arch} needs {tool}, which is not installed")
    result = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return (result.stdout.splitlines() or [tool])[0].strip()


def _compiler_include(arch: ArchSpec) -> str:
    result = subprocess.run([*arch.compiler, "-print-file-name=include"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip()


def translation_unit(headers: dict[str, str], structs: list[str], slab_flags: list[str]) -> str:
    """C source: the defining headers, one pointer per struct, and the fact markers."""
    # Generic headers first: many architecture headers are not self-contained (they use u32 & co.)
    ordered = sorted(set(headers.values()), key=lambda header: (not header.startswith("linux/"), header))
    lines = [f"#include <{header}>" for header in ordered]
    if slab_flags:
        lines.append("#include <linux/slab.h>")
    for index, name in enumerate(structs):
        if name in headers:
            lines.append(f"struct {name} *__layoutcalc_{index};")
    lines.append('#define LAYOUTCALC_FACT(sym, val) asm volatile("\\n->" #sym " %0 " : : "i" (val))')
    lines.append("void __layoutcalc_facts(void);")
    lines.append("void __layoutcalc_facts(void)\n{")
    for macro in (*FACT_MACROS, *slab_flags):
        lines += [f"#ifdef {macro}", f"\tLAYOUTCALC_FACT({macro}, {macro});", "#endif"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def include_args(tree: KernelTree, arch: ArchSpec, build_dir: Path, overlay: Optional[Path]) -> list[str]:
    """``-I``/``-include`` options in the order the kernel's Makefile gives them."""
    args: list[str] = []
    if overlay is not None:
        args += ["-I", str(overlay / "include")]
        if not tree.old_layout:
            args += ["-I", str(overlay / "arch" / arch.srcarch / "include")]
    if tree.old_layout:
        args += ["-I", str(build_dir / "include"), "-I", str(tree.root / "include")]
        for extra in tree.asm_dirs(arch)[1:]:
            args += ["-I", str(extra)]
        return args + ["-include", str(build_dir / "include" / "linux" / "autoconf.h")]
    arch_inc = tree.root / "arch" / arch.srcarch / "include"
    gen_arch = build_dir / "arch" / arch.srcarch / "include" / "generated"
    args += ["-I", str(arch_inc), "-I", str(gen_arch), "-I", str(tree.root / "include"),
             "-I", str(build_dir / "include"), "-I", str(arch_inc / "uapi"), "-I", str(gen_arch / "uapi"),
             "-I", str(tree.root / "include" / "uapi"), "-I", str(build_dir / "include" / "generated" / "uapi")]
    for forced in ("linux/compiler-version.h", "linux/kconfig.h", "linux/compiler_types.h"):
        if (tree.root / "include" / forced).is_file():
            args += ["-include", str(tree.root / "include" / forced)]
    return args


def base_command(tree: KernelTree, arch: ArchSpec, build_dir: Path, overlay: Optional[Path],
                 cflags: tuple[str, ...]) -> list[str]:
    """The compiler command without input/output: target, includes, kernel defines, era flags, ``cflags``."""
    era_flags = OLD_TREE_FLAGS if tree.old_layout else NEW_TREE_FLAGS
    return [*arch.compiler, "-nostdinc", "-isystem", _compiler_include(arch), "-D__KERNEL__",
            *include_args(tree, arch, build_dir, overlay), *era_flags, "-w", ALL_TYPES_FLAG, *cflags]


def prepare_build_dir(tree: KernelTree, arch: ArchSpec, config: KernelConfig, build_dir: Path,
                      cflags: tuple[str, ...]) -> None:
    """Write the headers a build would generate: autoconf.h, version.h, the ``asm`` link of old trees..."""
    build_dir.mkdir(parents=True, exist_ok=True)
    autoconf = autoconf_text(config)
    if tree.old_layout:
        linux = build_dir / "include" / "linux"
        linux.mkdir(parents=True, exist_ok=True)
        (linux / "autoconf.h").write_text(autoconf)
        major, minor, patch = tree.version
        (linux / "version.h").write_text(
            f"#define LINUX_VERSION_CODE {(major << 16) + (minor << 8) + patch}\n"
            "#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + (c))\n")
        (linux / "utsrelease.h").write_text(f'#define UTS_RELEASE "{tree.release}"\n')
        link = build_dir / "include" / "asm"
        if not link.is_symlink():
            link.symlink_to(tree.asm_dirs(arch)[0])
        return
    write_generated_headers(tree, arch, config, build_dir,
                            lambda: base_command(tree, arch, build_dir, None, cflags))


def compile_unit(tree: KernelTree, arch: ArchSpec, build_dir: Path, source: str, cflags: tuple[str, ...],
                 overlay: Optional[Path] = None, name: str = "layoutcalc_tu") -> CompiledUnit:
    """Compile ``source`` to an object with DWARF; raises InputError with the compiler's first error."""
    c_file = build_dir / f"{name}.c"
    asm_file = build_dir / f"{name}.s"
    obj = build_dir / f"{name}.o"
    c_file.write_text(source)
    command = [*base_command(tree, arch, build_dir, overlay, cflags), "-S", "-o", str(asm_file), str(c_file)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InputError(f"{tree.root}: compiling the struct headers for {arch.kbuild_arch} failed: "
                         f"{_first_error(result.stderr)}")
    text = asm_file.read_text()
    facts = {match.group(1): int(match.group(2)) for match in _MARKER.finditer(text)}
    asm_file.write_text(re.sub(r"^->", "# ->", text, flags=re.M))
    assemble = [*arch.compiler, *[flag for flag in cflags if flag.startswith("-g")], "-c", "-o", str(obj),
                str(asm_file)]
    result = subprocess.run(assemble, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InputError(f"{asm_file}: assembling failed: {_first_error(result.stderr)}")
    return CompiledUnit(obj, facts, command)


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "error" in line:
            return line.strip()
    return (stderr.strip().splitlines() or ["no message"])[-1]


def slab_flag_names(calls: list[CacheCall]) -> list[str]:
    """Every distinct SLAB_ flag the cache calls name (their values come from the compiler)."""
    return sorted({flag for call in calls for flag in call.flags})


def temporary_dir(parent: Path, prefix: str) -> Path:
    """A fresh directory under ``parent`` (created)."""
    parent.mkdir(parents=True, exist_ok=True)
    import tempfile
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def environment_cache_root() -> Path:
    """Source mode's cache directory (:func:`layoutcalc.cachedir.source_cache_root`)."""
    return source_cache_root()
