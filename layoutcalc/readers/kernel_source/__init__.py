"""Source mode: struct layouts from a kernel source tree and a config, without building the kernel.

:func:`source_snapshot` compiles a small translation unit that includes the
headers defining the asked structs (host gcc ``-m32``/``-m64``, or clang
``--target`` for other ABIs) with ``-g -c``, reads the object's DWARF with
the ordinary reader, records the config facts the slab model needs
(``kernel_config`` in the provenance) and writes a snapshot.  Results are
cached under ``~/.cache/layoutcalc/source/`` by tree (a hash of its
headers), config, arch, compiler, flags and structs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Optional

from ...errors import InputError
from ...model import Build
from ...provenance import KernelConfigFacts, Provenance, RecordedCache
from .compile import (
    compile_unit,
    compiler_identity,
    environment_cache_root,
    prepare_build_dir,
    remove_dir,
    slab_flag_names,
    temporary_dir,
    translation_unit,
)
from .config import allocator, cache_calls, check_config, defconfig_path, read_config
from .tree import KernelTree, cache_line_size_definition, fingerprint, find_headers, open_tree, tree_arch

#: Bumped whenever what a cached snapshot holds changes, so that older cache entries are not reused.
CACHE_FORMAT = "4"

#: The default DWARF flavour of source mode (what kernels of both eras built with).
DEFAULT_DEBUG_FLAGS = ("-g", "-gdwarf-4")

#: The provenance keys source mode writes, in order (a key not found is written as null).
SOURCE_MODE_KEYS = ("format", "producer", "tree", "release", "config", "arch", "compiler", "flags", "dwarf_version",
                    "alignment_attributes", "structs_not_in_tree", "cacheline_size", "kernel_config")


class SourceRequest(NamedTuple):
    """What to compile: a tree, an ABI, a full config (None: the tree's defconfig) and the structs."""

    tree: str
    arch: str = "x86_64"
    config: Optional[str] = None
    structs: tuple[str, ...] = ()
    debug_flags: tuple[str, ...] = DEFAULT_DEBUG_FLAGS
    defines: tuple[str, ...] = ()  # extra -D symbols, e.g. CONFIG_PID_NS_FLAT (the "on" build)
    overlay: Optional[str] = None  # a directory of patched headers that shadow the tree's
    types: tuple[str, ...] = ("pid_t", "int", "unsigned int", "long int", "long unsigned int")


class SourceResult(NamedTuple):
    """The snapshot written (or found in the cache), and how long it took."""

    path: Path
    cached: bool
    seconds: float


def cache_key(request: SourceRequest, tree: KernelTree, config_text: str, compiler: str) -> str:
    """Hash of everything the layout depends on."""
    arch = tree_arch(request.arch)
    parts = [CACHE_FORMAT, fingerprint(tree, arch), config_text, request.arch, compiler, " ".join(request.debug_flags),
             " ".join(request.defines), " ".join(sorted(request.structs)),
             " ".join(request.types), _overlay_digest(request.overlay)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def _overlay_digest(overlay: Optional[str]) -> str:
    if overlay is None:
        return ""
    digest = hashlib.sha256()
    for path in sorted(Path(overlay).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(overlay)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def source_snapshot(request: SourceRequest, out: Optional[str] = None,
                    cache_root: Optional[Path] = None) -> SourceResult:
    """Compile ``request`` (or take it from the cache) into a snapshot; copy it to ``out`` if given."""
    from ..snapshot import write_snapshot
    started = time.perf_counter()
    tree = open_tree(request.tree)
    arch = tree_arch(request.arch)
    config_path = request.config or str(defconfig_path(tree, arch))
    if request.config and not tree.old_layout and (tree.root / "Kconfig").is_file():
        from .kconfig_make import is_minimal, resolve_config
        if is_minimal(Path(request.config)):  # a short config: the tree's own make olddefconfig
            config_path = str(resolve_config(tree, arch, Path(request.config)))
    config = read_config(config_path)
    check_config(config, arch)
    compiler = compiler_identity(arch)
    root = cache_root or environment_cache_root()
    cached = root / f"{cache_key(request, tree, config.text, compiler)}.snapshot.json"
    hit = cached.is_file()
    if not hit:
        build = _compile_build(request, tree, config_path, compiler, root)
        write_snapshot(build, str(cached))
    if out is not None:
        _copy_atomically(cached, Path(out))
    return SourceResult(Path(out) if out else cached, hit, time.perf_counter() - started)


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy the cached snapshot to ``target`` through :mod:`layoutcalc.safe_write` (checked on read-back)."""
    from ...safe_write import write_bytes
    from ..snapshot import validate_snapshot_bytes
    write_bytes(str(target), source.read_bytes(), validate=lambda data: validate_snapshot_bytes(data, str(target)))


def _compile_build(request: SourceRequest, tree: KernelTree, config_path: str, compiler: str,
                   root: Path) -> Build:
    from ..dwarf import read_dwarf
    arch = tree_arch(request.arch)
    config = read_config(config_path)
    structs = list(dict.fromkeys(request.structs))
    headers = find_headers(tree, arch, structs)
    missing = [name for name in structs if name not in headers]
    if not headers:
        raise InputError(f"{tree.root}: no header defines struct {', '.join(missing)}")
    calls = cache_calls(tree)
    cflags = (*request.debug_flags, *(f"-D{define}" for define in request.defines))
    work = temporary_dir(root / "work", "tu-")
    try:
        prepare_build_dir(tree, arch, config, work, cflags)
        source = translation_unit(headers, structs, slab_flag_names(calls))
        unit = compile_unit(tree, arch, work, source, cflags,
                            Path(request.overlay) if request.overlay else None)
        build = read_dwarf(str(unit.object_path), list(headers), request.types)
    finally:
        remove_dir(work)
    build.name = f"linux-{tree.release}-{arch.kbuild_arch}"
    read = build.provenance
    build.provenance = Provenance(
        format="kernel-source", producer=read.producer, tree=str(tree.root), release=tree.release,
        config=os.path.abspath(config_path), arch=request.arch, compiler=compiler,
        flags=tuple(flag for flag in unit.command if flag.startswith(("-m", "-f", "-std", "-g", "-D", "--target"))
                    and not flag.startswith(("-D__KERNEL__", "-DKBUILD_"))),
        dwarf_version=read.dwarf_version,
        alignment_attributes=read.alignment_attributes,
        structs_not_in_tree=tuple(missing),
        cacheline_size=unit.facts.get("L1_CACHE_BYTES"),
        kernel_config=dataclasses.replace(_config_facts(config, unit.facts, calls),
                                          cache_line_size=cache_line_size_definition(tree, arch)),
        recorded=SOURCE_MODE_KEYS,
    )
    return build


def _config_facts(config: "KernelConfig", facts: dict[str, int], calls: Sequence["CacheCall"]) -> KernelConfigFacts:
    """What the slab model reads: allocator, cache line, page size, CPUs, task alignment, cache flags."""
    caches = {}
    for call in calls:
        flags = tuple(flag for flag in call.flags if facts.get(flag, 1) != 0)
        caches[call.cache] = RecordedCache(file=call.file, align=call.align, flags=flags,
                                           flags_as_written=tuple(call.flags))
    return KernelConfigFacts(
        allocator=allocator(config),
        l1_cache_bytes=facts.get("L1_CACHE_BYTES"),
        l1_cache_shift=facts.get("L1_CACHE_SHIFT"),
        page_size=facts.get("PAGE_SIZE"),
        nr_cpus=facts.get("NR_CPUS") or config.number("CONFIG_NR_CPUS"),
        arch_min_taskalign=facts.get("ARCH_MIN_TASKALIGN"),
        arch_slab_minalign=facts.get("ARCH_SLAB_MINALIGN"),
        caches=caches,
        recorded=KernelConfigFacts.field_keys(),  # every key, null too
    )


from .config import CacheCall, KernelConfig  # noqa: E402  (names for the annotations above)

__all__ = ["SourceRequest", "SourceResult", "source_snapshot", "DEFAULT_DEBUG_FLAGS", "CacheCall",
           "KernelConfig"]
