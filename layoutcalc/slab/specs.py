"""Any cache of the catalogue as a :class:`~.caches.CacheSpec`: size, align and flags from the table.

:func:`spec_for_entry` evaluates one :class:`~.catalogue.CacheEntry` against a
build: ``sizeof`` from the build's struct, the size rules the kernel uses
(``arch_task_struct_size``, ``struct_size(struct X, member, n)``), the align
expression (numbers, ``__alignof__``, the cache line, ``max``), and the flags
that change the geometry or merging.  What it cannot evaluate it refuses, with
the reason: :class:`Unsized`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Optional, Union

from ..abi import Abi
from ..analysis.facts import debug_info_of, struct_facts
from ..errors import LayoutcalcError, ScenarioError
from ..model import ArrayType, Build, StructType
from .caches import SEED_CACHES, CacheSpec, era_facts, memcg_accounting, task_struct_object_size
from .catalogue import CacheEntry, Catalogue, Kmalloc

if TYPE_CHECKING:
    from .era import SlabEra

#: Size expressions the kernel computes at run time, and the struct and rule behind each.
RUNTIME_SIZES = {"arch_task_struct_size": ("task_struct", "arch_task_struct_size")}
# struct_size_t(struct pid, numbers, 1) (6.12) and struct_size((struct pid *)NULL, numbers, 1) (6.1)
# struct_size_t(struct pid, numbers, level + 1): one element per namespace level (pid_%u caches)
_STRUCT_SIZE = re.compile(r"^struct_size(?:_t)?\s*\(\s*\(?\s*struct\s+(\w+)\s*(?:\*\s*\)\s*NULL\s*)?,\s*(\w+)\s*,"
                          r"\s*(\d+|level \+ 1)\s*\)$")


class Unsized(NamedTuple):
    """A cache the model cannot size from the build, and why."""

    name: str
    struct: Optional[str]
    reason: str


def struct_of(build: Build, name: str, typedef: bool = False) -> Optional[StructType]:
    """The struct (or union) ``name``, or the struct a typedef of that name stands for."""
    if not typedef and build.has_struct(name):
        return build.get_struct(name)
    if name in build.unions:
        return build.unions[name]
    alias = build.typedefs.get(name)
    if alias is not None:
        target = alias.strip()
        if isinstance(target, StructType):
            return target
    if build.has_struct(name):
        return build.get_struct(name)
    return None


def entry_struct(entry: CacheEntry) -> Optional[str]:
    """The struct a cache holds: ``sizeof``'s, a runtime rule's or ``struct_size``'s."""
    if entry.struct:
        return entry.struct
    if entry.size in RUNTIME_SIZES:
        return RUNTIME_SIZES[entry.size][0]
    match = _STRUCT_SIZE.match(entry.size)
    return match.group(1) if match else None


def is_per_level(entry: CacheEntry) -> bool:
    """A cache created once per namespace level (``pid_%u``: ``struct_size(..., level + 1)``)."""
    match = _STRUCT_SIZE.match(entry.size)
    return match is not None and match.group(3) == "level + 1"


def _align(text: str, build: Build, abi: Abi, cache_line: int, min_taskalign: Optional[int] = None) -> Optional[int]:
    text = text.strip()
    if text == "ARCH_MIN_TASKALIGN" and min_taskalign is not None:  # the tree's value (source mode)
        return min_taskalign
    if re.fullmatch(r"\d+", text):
        return int(text)
    if text in ("L1_CACHE_BYTES", "SMP_CACHE_BYTES", "cache_line_size()", "ARCH_KMALLOC_MINALIGN"):
        return cache_line if text != "ARCH_KMALLOC_MINALIGN" else 8
    if text == "ARCH_MIN_TASKALIGN":
        return 16 if abi.name in ("x86_64", "i386") else cache_line
    match = re.fullmatch(r"__alignof__\s*\(\s*(?:struct\s+)?(\w+)\s*\)", text)
    if match:
        struct = struct_of(build, match.group(1))
        return None if struct is None else struct_facts(struct, abi, debug_info_of(build)).alignment
    match = re.fullmatch(r"max(?:_t)?\s*\((?:\s*\w+\s*,)?\s*([^,]+),\s*([^,]+)\)", text)
    if match:
        parts = [_align(part, build, abi, cache_line, min_taskalign) for part in match.groups()]
        return None if None in parts else max(p for p in parts if p is not None)
    return None


def object_size(entry: CacheEntry, build: Build, xstate_size: Optional[int], level: int = 0,
                strict: bool = False) -> Union[tuple[int, int, str], str]:
    """(struct size, object size, how) or the reason it cannot be told (``strict``: raise it instead)."""
    struct_name = entry_struct(entry)
    if struct_name is None:
        return f"size is '{entry.size}', not the size of a struct"
    struct = struct_of(build, struct_name, entry.typedef)
    if struct is None:
        return f"struct {struct_name} is not in the build"
    size = struct.size_bytes
    if entry.size in RUNTIME_SIZES:
        try:
            total, how = task_struct_object_size(build, xstate_size)
        except LayoutcalcError as exc:
            if strict:
                raise
            return str(exc)
        return size, total, how
    match = _STRUCT_SIZE.match(entry.size)
    if match:
        member = match.group(2)
        if not struct.has_member(member):
            return f"struct {struct_name} has no member {member}"
        array = struct.get_member(member).type.strip()
        if not isinstance(array, ArrayType):
            return f"{struct_name}.{member} is not an array"
        wanted = level + 1 if match.group(3) == "level + 1" else int(match.group(3))
        count = wanted - (array.count or 0)
        element = array.element.size_bytes
        return size, size + count * element, f"sizeof(struct {struct_name}) {size} + {count} * {element}"
    return size, size, f"sizeof({'' if entry.typedef else 'struct '}{struct_name})"


def spec_for_entry(entry: CacheEntry, build: Build, abi: Abi, cache_line: int,
                   xstate_size: Optional[int] = None, account_enabled: bool = True, level: int = 0,
                   min_taskalign: Optional[int] = None, strict: bool = False) -> Union[CacheSpec, Unsized]:
    """The creation arguments of ``entry`` evaluated on ``build``, or why they cannot be.

    ``level``: the namespace level of a per-level cache (its name gets ``level + 1``);
    ``min_taskalign``: the tree's ARCH_MIN_TASKALIGN when source mode recorded it;
    ``strict``: raise what makes the size unknowable (the xstate size of an x86 task_struct).
    """
    sized = object_size(entry, build, xstate_size, level, strict)
    if isinstance(sized, str):
        return Unsized(entry.name, entry_struct(entry), sized)
    struct_size, size, how = sized
    align = _align(entry.align, build, abi, cache_line, min_taskalign)
    if align is None:
        return Unsized(entry.name, entry_struct(entry), f"align '{entry.align}' is not known")
    if entry.flags is None:
        return Unsized(entry.name, entry_struct(entry), "flags are a variable")
    flags = set(entry.flags)
    name = entry.name.replace("%u", str(level + 1)) if is_per_level(entry) else entry.name
    return CacheSpec(name, entry_struct(entry) or "", struct_size, size, align,
                     "SLAB_HWCACHE_ALIGN" in flags, account_enabled and "SLAB_ACCOUNT" in flags,
                     bool(flags & {"SLAB_RECLAIM_ACCOUNT", "SLAB_TEMPORARY"}), entry.ctor,
                     "SLAB_TYPESAFE_BY_RCU" in flags and not entry.freeptr_offset, "SLAB_POISON" in flags,
                     entry.usercopy, abi.pointer_size, _note(how, entry),
                     no_merge="SLAB_NO_MERGE" in flags or "SLAB_TYPESAFE_BY_RCU" in flags,
                     dma="SLAB_CACHE_DMA" in flags)


def _note(how: str, entry: CacheEntry) -> str:
    """``sizeof(struct signal_struct), SLAB_HWCACHE_ALIGN; kernel/fork.c:3145``."""
    parts = [how]
    if entry.flags and "SLAB_HWCACHE_ALIGN" in entry.flags:
        parts.append(", SLAB_HWCACHE_ALIGN")
    if entry.align not in ("0", ""):
        parts.append(f"; align {entry.align}")
    return "".join(parts) + (f"; {entry.file}:{entry.line}" if entry.file else "")


def kmalloc_spec(name: str, size: int, word: int = 8) -> CacheSpec:
    """A kmalloc cache of ``size``: aligned to the largest power of two dividing the size (6.x)."""
    natural = size & -size
    return CacheSpec(name, "", size, size, natural, False, "-cg-" in name, "-rcl-" in name, word=word,
                     note="kmalloc size class", no_merge=False)


def kmalloc_class_of(name: str, kmalloc: Optional[Kmalloc]) -> Optional[int]:
    """The size class a ``kmalloc-*`` cache name stands for (``kmalloc-cg-1k`` -> 1024)."""
    match = re.fullmatch(r"(?:dma-)?kmalloc-(?:cg-|rcl-|rnd-\d+-)?(\d+)(k?)", name)
    if match is None or kmalloc is None:
        return None
    size = int(match.group(1)) * (1024 if match.group(2) else 1)
    return size if size in kmalloc.sizes else None


def specs_for_catalogue(catalogue: Catalogue, build: Build, abi: Abi, cache_line: int,
                        xstate_size: Optional[int] = None, account_enabled: bool = True
                        ) -> dict[str, Union[CacheSpec, Unsized]]:
    """Every cache of the catalogue that one call creates, by name."""
    out: dict[str, Union[CacheSpec, Unsized]] = {}
    for name in catalogue.by_name:
        entry = catalogue.lookup(name)
        if entry is None:
            out[name] = Unsized(name, None, "created by calls that disagree on its size")
            continue
        out[name] = spec_for_entry(entry, build, abi, cache_line, xstate_size, account_enabled)
    return out


def _recorded_flags(era: "SlabEra", cache: str) -> Optional[list[str]]:
    """The tree's own effective SLAB_ flags for ``cache``, when source mode recorded them."""
    call = era.caches.get(cache)
    return list(call.flags) if call is not None and call.flags is not None else None


def cache_specs_for_build(build: Build, abi: Abi, xstate_size: Optional[int] = None, pid_level: int = 0,
                          account: Optional[bool] = None, era: Optional["SlabEra"] = None,
                          names: Sequence[str] = SEED_CACHES) -> list[CacheSpec]:
    """Specs of the caches ``names`` (default the seed's three) as the build's kernel creates them.

    Each comes from the catalogue of the build's kernel (:func:`~.catalogue.catalogue_for_era`:
    the tree's own calls in source mode, else the shipped table of its series; 2.6.22 by the
    structs), evaluated on the build by :func:`~.specs.spec_for_entry`.  With ``pid_level``
    > 0, a cache whose struct also has a per-level cache (``pid_%u``) is that one instead.
    Flags source mode recorded override the table's.  ``account`` (SLAB_ACCOUNT) defaults to
    the flags, which count only with CONFIG_MEMCG (memcg members in task_struct) after 2.6.22.
    ``xstate_size`` is needed for x86 kernels with ``struct fpu`` (:func:`task_struct_object_size`).
    Only caches whose struct is in the build are covered.
    """
    from .catalogue import catalogue_for_era
    if era is None:
        from .era import decide_era
        era = decide_era(build, abi)
    catalogue = catalogue_for_era(build, era)
    min_taskalign = era_facts(build).arch_min_taskalign
    specs: list[CacheSpec] = []
    for name in names:
        entry = catalogue.lookup(name)
        struct_name = entry_struct(entry) if entry is not None else None
        if entry is None or struct_name is None or struct_of(build, struct_name, entry.typedef) is None:
            continue
        level = 0
        if pid_level and not era.is_2622:
            per_level = [other for other in catalogue.entries if is_per_level(other)
                         and entry_struct(other) == struct_name]
            if per_level:
                entry, level = per_level[0], pid_level
        recorded = _recorded_flags(era, name)
        if recorded is not None:
            entry = dataclasses.replace(entry, flags=tuple(recorded))
        enabled = True if recorded is not None else (not era.is_2622 and memcg_accounting(build))
        spec = spec_for_entry(entry, build, abi, era.cache_line, xstate_size, enabled, level,
                              min_taskalign, strict=True)
        if not isinstance(spec, CacheSpec):
            # a cache asked for by name whose struct is in the build must be sized, never dropped
            struct = struct_of(build, struct_name, entry.typedef)
            reason = "an object of 0 bytes cannot come from a slab" if struct is not None and \
                struct.size_bytes == 0 else spec.reason
            raise ScenarioError(f"cache {name}: {reason}")
        if level == 0 and spec.name != name:
            spec = dataclasses.replace(spec, name=name)
        if account is not None:
            spec = dataclasses.replace(spec, account=account)
        specs.append(spec)
    return specs
