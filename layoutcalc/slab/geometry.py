"""Slab allocator geometry: what one object of a kernel cache really costs.

Two allocators are modelled, without any debugging option:

* **SLUB** (the only allocator since 6.8; default since 2.6.23):
  ``mm/slab_common.c: calculate_alignment``, ``mm/slub.c: calculate_sizes``,
  ``calculate_order``/``calc_slab_order`` and ``find_mergeable``.  Two order
  searches exist: the current one (6.8 and later, used by 6.18) and the
  legacy one (up to 6.7, used by 6.1); they agree on most sizes.
* **SLAB** as in 2.6.22 (``mm/slab.c: kmem_cache_create``,
  ``calculate_slab_order``, ``cache_estimate``), with its on/off-slab
  management (``struct slab`` + one ``kmem_bufctl_t`` per object).

:func:`cache_specs_for_build` says how the kernel creates ``task_struct``,
``signal_cache`` and ``pid`` for the era that the debug info shows, and
:func:`geometry` turns a :class:`CacheSpec` into a :class:`SlabGeometry`
(the figures ``/sys/kernel/slab/<cache>/`` shows).  Sizes are in bytes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Optional

from ..abi import Abi
from ..analysis.facts import debug_info_of, struct_facts
from ..errors import ScenarioError
from ..model import ArrayType, Build, StructType

SLUB_MAX_ORDER = 3  # PAGE_ALLOC_COSTLY_ORDER
MAX_OBJS_PER_PAGE = 32767
MAX_PAGE_ORDER = 10
SLAB_KMALLOC_MAX_ORDER = 10  # 2.6.22 SLAB: KMALLOC_SHIFT_HIGH (22) - PAGE_SHIFT (12)

#: Structs :func:`cache_specs_for_build` may need; ask the reader for these.
SLAB_STRUCTS = ("task_struct", "signal_struct", "pid", "upid", "fpu", "thread_struct")

#: ``fpu_kernel_cfg.default_size`` for common x86 feature sets (XSAVES compacted format):
#: legacy area 512 + XSAVE header 64, then AVX 256, AVX-512 opmask 64 + ZMM_Hi256 512 + Hi16_ZMM 1024.
XSTATE_PRESETS = {"sse": 576, "avx": 832, "avx512": 2432}


def _align(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def fls(value: int) -> int:
    """The kernel's ``fls``: 1-based position of the most significant set bit (0 for 0)."""
    return value.bit_length()


def get_order(size: int, page_size: int = 4096) -> int:
    """The kernel's ``get_order``: smallest order whose ``page_size << order`` holds ``size``."""
    order = 0
    while (page_size << order) < size:
        order += 1
    return order


# --------------------------------------------------------------------------- SLUB


def calculate_alignment(flags_hwcache: bool, align: int, size: int, cache_line: int = 64,
                        arch_slab_minalign: int = 8, word: int = 8) -> int:
    """``mm/slab_common.c: calculate_alignment``.

    With ``SLAB_HWCACHE_ALIGN`` the cache line is halved while the object fits
    in half of it; the caller's ``align`` and ``ARCH_SLAB_MINALIGN`` (default
    ``__alignof__(unsigned long long)``, 8) are lower bounds; the result is a
    multiple of the word size.
    """
    if flags_hwcache:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, arch_slab_minalign)
    return _align(align, word)


class SlubSizes(NamedTuple):
    """``calculate_sizes``: ``size`` is ``s->size`` (sysfs ``slab_size``), ``offset`` the free pointer's."""

    size: int
    offset: int
    freeptr_outside: bool


def calculate_sizes(object_size: int, align: int, word: int = 8, freeptr_outside: bool = False,
                    freeptr_offset: Optional[int] = None) -> SlubSizes:
    """``mm/slub.c: calculate_sizes`` without debugging.

    The object is rounded up to a word.  The free pointer is stored near the
    middle of the object (``ALIGN_DOWN(object_size / 2, word)``, since 5.7)
    unless the object may not be overwritten on free: caches that are
    ``SLAB_TYPESAFE_BY_RCU`` (without a ``freeptr_offset``, 6.12+), poisoned
    or have a constructor get it appended after the object (one more word).
    Then the size is rounded up to the alignment.
    """
    size = _align(object_size, word)
    if freeptr_outside:
        offset = size
        size += word
    elif freeptr_offset is not None:
        offset = freeptr_offset
    else:
        offset = (object_size // 2) // word * word
    return SlubSizes(_align(size, align), offset, freeptr_outside)


def order_objects(order: int, size: int, page_size: int = 4096) -> int:
    """Objects of ``size`` bytes in a slab of ``order``."""
    return (page_size << order) // size


def slub_min_objects(cpus: int, nr_cpu_ids: Optional[int] = None) -> int:
    """Default ``slub_min_objects``: 4 * (fls(nr_cpus) + 1), with nr_cpu_ids when one CPU is present."""
    nr_cpus = cpus
    if nr_cpus <= 1:
        nr_cpus = nr_cpu_ids if nr_cpu_ids is not None else cpus
    return 4 * (fls(nr_cpus) + 1)


def _calc_slab_order(size: int, min_order: int, max_order: int, fraction: int, page_size: int) -> int:
    order = min_order
    while order <= max_order:
        slab_bytes = page_size << order
        if slab_bytes % size <= slab_bytes // fraction:
            break
        order += 1
    return order


def calculate_order(size: int, cpus: int = 2, page_size: int = 4096, min_objects: int = 0,
                    max_order: int = SLUB_MAX_ORDER, min_order: int = 0,
                    nr_cpu_ids: Optional[int] = None, variant: str = "current") -> int:
    """``mm/slub.c: calculate_order`` for a slab object of ``size`` (``s->size``) bytes.

    ``min_objects`` is the ``slub_min_objects`` boot parameter (0: derived
    from ``cpus``, the number of present CPUs).  ``variant`` "current" is the
    search of 6.8 and later: from the order holding min_objects up to
    ``max_order``, accept the first whose leftover is at most 1/16, 1/8, 1/4,
    1/2 of the slab; else the order of one object.  "legacy" (up to 6.7)
    tries 1/16, 1/8, 1/4 and lowers min_objects one by one before accepting
    any waste.
    """
    if variant not in ("current", "legacy"):
        raise ScenarioError(f"unknown SLUB order variant '{variant}' (current or legacy)")
    wanted = min_objects or slub_min_objects(cpus, nr_cpu_ids)
    max_objects = max(order_objects(max_order, size, page_size), 1)
    wanted = min(wanted, max_objects)
    if variant == "legacy":
        return _legacy_calculate_order(size, wanted, page_size, max_order, min_order)
    start = max(min_order, get_order(wanted * size, page_size))
    if order_objects(start, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1
    for fraction in (16, 8, 4, 2):
        order = _calc_slab_order(size, start, max_order, fraction, page_size)
        if order <= max_order:
            return order
    return get_order(size, page_size)


_RELEASE = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:[.-]|$)")


def kernel_release(build: Build) -> Optional[tuple[int, int]]:
    """(major, minor) of the kernel a build comes from, if its name or provenance says."""
    for text in (build.name, str(build.provenance.get("file", "")), str(build.provenance.get("release", ""))):
        match = _RELEASE.search(text)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def slub_order_variant(build: Build) -> str:
    """Which ``calculate_order`` the build's kernel uses: "legacy" before 6.7, "current" from 6.7.

    The 1/2-waste search ("mm/slub: attempt to find layouts up to 1/2 waste in
    calculate_order()", Sept 2023) entered with 6.7.  Nothing in the structs
    we read tells the two apart, so the release in the file name decides;
    unknown releases get the current search.
    """
    release = kernel_release(build)
    return "legacy" if release is not None and release < (6, 7) else "current"


def _legacy_calculate_order(size: int, min_objects: int, page_size: int, max_order: int,
                            min_order: int) -> int:
    def legacy_calc(objects: int, top: int, fraction: int) -> int:
        if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
            return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1
        start = max(min_order, get_order(objects * size, page_size))
        return _calc_slab_order(size, start, top, fraction, page_size)

    while min_objects > 1:
        for fraction in (16, 8, 4):
            order = legacy_calc(min_objects, max_order, fraction)
            if order <= max_order:
                return order
        min_objects -= 1
    order = legacy_calc(1, max_order, 1)
    if order <= max_order:
        return order
    return legacy_calc(1, MAX_PAGE_ORDER, 1)


# --------------------------------------------------------------------------- merging


class MergeCandidate(NamedTuple):
    """An existing mergeable SLUB cache (a ``/sys/kernel/slab/:A-0000192``-style directory)."""

    unique_id: str
    size: int  # s->size, sysfs slab_size
    align: int
    object_size: int  # the largest object_size of the caches merged into it
    account: bool = False
    reclaim_account: bool = False
    dma: bool = False
    dma32: bool = False
    names: tuple[str, ...] = ()

    def describe(self, exclude: str = "") -> str:
        """``:A-0000192 (object_size 184, with cred)``."""
        others = [name for name in self.names if name != exclude]
        with_part = f", with {', '.join(others)}" if others else ""
        return f"{self.unique_id} (object_size {self.object_size}{with_part})"


def create_unique_id(size: int, account: bool = False, reclaim_account: bool = False,
                     dma: bool = False, dma32: bool = False, consistency_checks: bool = False) -> str:
    """``mm/slub.c: create_unique_id``: ``:`` + flag letters (d D a F A) + ``-`` if any + ``%07u`` of size."""
    letters = "".join(letter for letter, on in (("d", dma), ("D", dma32), ("a", reclaim_account),
                                               ("F", consistency_checks), ("A", account)) if on)
    return f":{letters}{'-' if letters else ''}{size:07d}"


def find_mergeable(spec: "CacheSpec", candidates: Sequence[MergeCandidate], cache_line: int = 64,
                   arch_slab_minalign: int = 8, slab_nomerge: bool = False) -> Optional[MergeCandidate]:
    """``mm/slab_common.c: find_mergeable``: the existing cache ``spec`` would be merged into, if any.

    Never merged: a constructor, a usercopy region (``kmem_cache_create_usercopy``
    with hardened usercopy), ``SLAB_TYPESAFE_BY_RCU`` or poisoning.  Otherwise
    the candidate's ``s->size`` must be at least ours (after word rounding and
    alignment) and less than a word larger, a multiple of our alignment, and
    the accounting/DMA flags must match.  Candidates are scanned newest first,
    like the kernel's reverse walk of ``slab_caches``; a candidate that holds
    only ``spec.name`` itself is skipped.
    """
    if slab_nomerge or spec.ctor or spec.usercopy or spec.typesafe_by_rcu or spec.poison:
        return None
    word = spec.word
    size = _align(spec.object_size, word)
    align = calculate_alignment(spec.hwcache_align, spec.align, size, cache_line, arch_slab_minalign, word)
    size = _align(size, align)
    for candidate in reversed(candidates):
        if candidate.names and all(name == spec.name for name in candidate.names):
            continue
        if size > candidate.size:
            continue
        if (candidate.account, candidate.reclaim_account, candidate.dma, candidate.dma32) != (
                spec.account, spec.reclaim_account, False, False):
            continue
        if candidate.size % align:
            continue
        if candidate.size - size >= word:
            continue
        return candidate
    return None


# --------------------------------------------------------------------------- SLAB (2.6.22)


def slab_struct_size(word: int) -> int:
    """sizeof(struct slab) in 2.6.22 (list_head, colouroff, s_mem, inuse, free, nodeid): 48 or 28 bytes."""
    return _align(4 * word + 4 + 4 + 2, word)


def slab_cache_estimate(order: int, size: int, align: int, off_slab: bool, word: int = 8,
                        page_size: int = 4096, bufctl: int = 4) -> tuple[int, int]:
    """2.6.22 ``cache_estimate``: ``(objects, left_over)`` for a slab of ``order``.

    On-slab, the slab holds ``struct slab`` and one ``kmem_bufctl_t`` per
    object, aligned to ``align``, then the objects.
    """
    slab_bytes = page_size << order
    if off_slab:
        count = slab_bytes // size
        return count, slab_bytes - count * size
    head = slab_struct_size(word)
    count = (slab_bytes - head) // (size + bufctl)
    if _align(head + count * bufctl, align) + count * size > slab_bytes:
        count -= 1
    mgmt = _align(head + count * bufctl, align)
    return count, slab_bytes - count * size - mgmt


def slab_calculate_slab_order(size: int, align: int, off_slab: bool, word: int = 8, page_size: int = 4096,
                              break_order: int = 1, reclaim_account: bool = False,
                              bufctl: int = 4) -> tuple[int, int, int]:
    """2.6.22 ``calculate_slab_order``: ``(order, objects, left_over)``.

    Grow the order until the leftover is at most 1/8 of the slab, stopping at
    ``slab_break_gfp_order`` (1 on machines with more than 32 MB, else 0) or at
    the first order for ``SLAB_RECLAIM_ACCOUNT`` caches.
    """
    best = (0, 0, 0)
    for order in range(SLAB_KMALLOC_MAX_ORDER + 1):
        count, left_over = slab_cache_estimate(order, size, align, off_slab, word, page_size, bufctl)
        if not count:
            continue
        if off_slab and count > (size - slab_struct_size(word)) // bufctl:
            break
        best = (order, count, left_over)
        if reclaim_account or order >= break_order or left_over * 8 <= (page_size << order):
            break
    return best


# --------------------------------------------------------------------------- cache specs


@dataclass(frozen=True)
class CacheSpec:
    """How the kernel creates a cache: the arguments of ``kmem_cache_create`` that matter.

    ``object_size`` is the size passed to the kernel; ``struct_size`` is
    ``sizeof`` of ``struct_name`` in the build (they differ for
    ``task_struct`` on x86 and for ``pid``); ``note`` says how one came from
    the other.
    """

    name: str
    struct_name: str
    struct_size: int
    object_size: int
    align: int = 0
    hwcache_align: bool = False
    account: bool = False
    reclaim_account: bool = False
    ctor: bool = False
    typesafe_by_rcu: bool = False
    poison: bool = False
    usercopy: bool = False
    word: int = 8
    note: str = ""

    def with_struct_size(self, struct_size: int) -> "CacheSpec":
        """This cache if ``sizeof(struct_name)`` were ``struct_size`` (object size shifts by the same)."""
        delta = struct_size - self.struct_size
        return dataclasses.replace(self, struct_size=struct_size, object_size=self.object_size + delta)


def _is_modern(build: Build) -> bool:
    """2.6.24 or later: struct upid / ``pid.numbers`` (per-namespace pid caches), or x86 ``struct fpu`` (4.2+).

    A ``struct pid`` with ``pid_chain`` and no ``numbers`` is 2.6.22-era.
    """
    if build.has_struct("pid"):
        pid = build.get_struct("pid")
        if pid.has_member("numbers"):
            return True
        if pid.has_member("pid_chain"):
            return False
    return build.has_struct("upid") or build.has_struct("fpu")


def _memcg_accounting(build: Build) -> bool:
    """SLAB_ACCOUNT is non-zero only with CONFIG_MEMCG; task_struct then has memcg members."""
    if not build.has_struct("task_struct"):
        return True
    return any(member.name and ("memcg" in member.name or member.name == "objcg")
               for member in build.get_struct("task_struct").members)


def fpu_register_placeholder(build: Build) -> int:
    """sizeof the static FPU register area that the x86 task_struct cache replaces by the xstate size.

    ``struct fpu`` ends in ``struct fpstate __fpstate`` whose last member is
    ``union fpregs_state regs`` (5.16+), or directly in ``union fpregs_state
    state`` (4.x to 5.15).
    """
    fpu = build.get_struct("fpu")
    last = fpu.members[-1].type.strip()
    if isinstance(last, StructType) and last.has_member("regs"):
        return last.get_member("regs").type.size_bytes
    return last.size_bytes


def _fpu_inside_task(build: Build) -> bool:
    if not build.has_struct("thread_struct"):
        task = build.get_struct("task_struct")
        if not task.has_member("thread"):
            return False
        thread = task.get_member("thread").type.strip()
        return isinstance(thread, StructType) and thread.has_member("fpu")
    return build.get_struct("thread_struct").has_member("fpu")


def task_struct_object_size(build: Build, xstate_size: Optional[int]) -> tuple[int, str]:
    """``arch_task_struct_size`` and how it was derived (``arch/x86/kernel/fpu/init.c``).

    Up to 6.14 ``struct fpu`` is the last member of ``thread_struct``:
    ``sizeof(task_struct) - sizeof(placeholder) + xstate``.  From 6.15 it
    follows the task_struct in the same allocation:
    ``sizeof(task_struct) + sizeof(struct fpu) - sizeof(placeholder) + xstate``.
    Other architectures and pre-``struct fpu`` x86 kernels use ``sizeof``.
    """
    task = build.get_struct("task_struct")
    if build.arch not in ("x86_64", "i386") or not build.has_struct("fpu"):
        return task.size_bytes, "sizeof(struct task_struct)"
    if xstate_size is None:
        raise ScenarioError("task_struct on x86 is sized by the CPU's xstate (XSAVE) area: give the xstate "
                            f"size (e.g. {XSTATE_PRESETS['avx']} for AVX, {XSTATE_PRESETS['avx512']} for "
                            "AVX-512, or read it from the running machine)")
    placeholder = fpu_register_placeholder(build)
    if _fpu_inside_task(build):
        return (task.size_bytes - placeholder + xstate_size,
                f"sizeof(task_struct) {task.size_bytes} - fpregs placeholder {placeholder} "
                f"+ xstate {xstate_size}")
    fpu_size = build.get_struct("fpu").size_bytes
    return (task.size_bytes + fpu_size - placeholder + xstate_size,
            f"sizeof(task_struct) {task.size_bytes} + sizeof(struct fpu) {fpu_size} - fpregs placeholder "
            f"{placeholder} + xstate {xstate_size}")


def pid_object_size(build: Build, level: int = 0) -> tuple[int, str]:
    """Object size of the pid cache of namespace ``level`` (0: the "pid" cache).

    ``numbers[]`` (flexible, 6.x): ``struct_size(pid, numbers, level + 1)``;
    ``numbers[1]`` (2.6.24 to 6.1-era): ``sizeof(pid) + level * sizeof(upid)``;
    no ``numbers`` (2.6.22): ``sizeof(pid)``.
    """
    pid = build.get_struct("pid")
    if not pid.has_member("numbers"):
        return pid.size_bytes, "sizeof(struct pid)"
    numbers = pid.get_member("numbers").type.strip()
    upid_size = numbers.element.size_bytes if isinstance(numbers, ArrayType) else build.get_struct(
        "upid").size_bytes
    declared = numbers.count if isinstance(numbers, ArrayType) else None
    if declared:
        extra = (level + 1 - declared) * upid_size
        return pid.size_bytes + extra, f"sizeof(struct pid) {pid.size_bytes} + {level} * sizeof(upid)"
    return (pid.size_bytes + (level + 1) * upid_size,
            f"sizeof(struct pid) {pid.size_bytes} + {level + 1} * sizeof(struct upid) {upid_size}")


def cache_specs_for_build(build: Build, abi: Abi, xstate_size: Optional[int] = None, pid_level: int = 0,
                          account: Optional[bool] = None) -> list[CacheSpec]:
    """Specs of ``task_struct``, ``signal_cache`` and ``pid`` as the build's kernel creates them.

    The era is read from the structs: a ``struct upid``/``pid.numbers`` means
    2.6.24 or later (``SLAB_HWCACHE_ALIGN`` pid caches per namespace level,
    task_struct aligned to the cache line, usercopy whitelist); without it the
    2.6.22 calls are used.  ``account`` (SLAB_ACCOUNT) defaults to "modern
    and CONFIG_MEMCG" (memcg members in task_struct).  ``xstate_size`` is
    needed for x86 kernels with ``struct fpu`` (see :func:`task_struct_object_size`).
    Only structs present in the build are covered.
    """
    modern = _is_modern(build)
    accounted = (modern and _memcg_accounting(build)) if account is None else account
    word = abi.pointer_size
    line = abi.cacheline_size
    specs: list[CacheSpec] = []
    if build.has_struct("task_struct"):
        size = build.get_struct("task_struct").size_bytes
        x86 = abi.name in ("x86_64", "i386")
        if modern:
            object_size, note = task_struct_object_size(build, xstate_size)
            align = max(line, 16 if x86 else 0)
            specs.append(CacheSpec("task_struct", "task_struct", size, object_size, align, False, accounted,
                                   usercopy=True, word=word,
                                   note=f"{note}; align max(L1_CACHE_BYTES, ARCH_MIN_TASKALIGN)"))
        else:
            specs.append(CacheSpec("task_struct", "task_struct", size, size, 16 if x86 else line,
                                   word=word, note="sizeof(struct task_struct); align ARCH_MIN_TASKALIGN"))
    if build.has_struct("signal_struct"):
        size = build.get_struct("signal_struct").size_bytes
        specs.append(CacheSpec("signal_cache", "signal_struct", size, size, 0, True, accounted, word=word,
                               note="sizeof(struct signal_struct), SLAB_HWCACHE_ALIGN"))
    if build.has_struct("pid"):
        pid = build.get_struct("pid")
        object_size, note = pid_object_size(build, pid_level if modern else 0)
        name = "pid" if pid_level == 0 or not modern else f"pid_{pid_level + 1}"
        natural = struct_facts(pid, abi, debug_info_of(build)).alignment
        if modern:
            specs.append(CacheSpec(name, "pid", pid.size_bytes, object_size, natural if pid_level == 0 else 0,
                                   True, accounted, word=word, note=f"{note}, SLAB_HWCACHE_ALIGN"))
        else:
            specs.append(CacheSpec(name, "pid", pid.size_bytes, object_size, natural, word=word,
                                   note="KMEM_CACHE(pid): sizeof, __alignof__(struct pid)"))
    return specs


# --------------------------------------------------------------------------- geometry


class SlabGeometry(NamedTuple):
    """One cache's figures, named as in ``/sys/kernel/slab/<cache>/``.

    ``object_size`` is what sysfs shows: for a merged SLUB cache, the largest
    object of the caches sharing it (``own_object_size`` is this cache's).
    ``slab_size`` is the per-object stride (SLUB ``s->size``, SLAB
    ``buffer_size``); ``bytes_per_object`` = slab bytes / objects per slab.
    SLAB only: ``mgmt_bytes`` is struct slab + bufctls, on the slab or (when
    ``mgmt_on_slab`` is False) in a separate kmalloc object not counted here.
    """

    allocator: str
    object_size: int
    slab_size: int
    objs_per_slab: int
    order: int
    align: int
    bytes_per_object: float
    merged_into: Optional[MergeCandidate] = None
    own_object_size: int = 0
    slab_bytes: int = 0
    free_pointer_offset: Optional[int] = None
    mgmt_bytes: int = 0
    mgmt_on_slab: bool = True

    def merge_description(self, name: str = "") -> str:
        """``merged into :A-0000192 (object_size 184, with cred)`` or ``not merged``."""
        if self.merged_into is None:
            return "not merged"
        return f"merged into {self.merged_into.describe(exclude=name)}"


def slub_geometry(spec: CacheSpec, cpus: int = 2, page_size: int = 4096, cache_line: int = 64,
                  candidates: Optional[Sequence[MergeCandidate]] = None, min_objects: int = 0,
                  max_order: int = SLUB_MAX_ORDER, min_order: int = 0, arch_slab_minalign: int = 8,
                  variant: str = "current", slab_nomerge: bool = False) -> SlabGeometry:
    """SLUB geometry of ``spec``; with ``candidates`` (existing caches) merging is predicted too."""
    word = spec.word
    size = _align(spec.object_size, word)
    align = calculate_alignment(spec.hwcache_align, spec.align, size, cache_line, arch_slab_minalign, word)
    outside = spec.typesafe_by_rcu or spec.poison or spec.ctor
    sizes = calculate_sizes(spec.object_size, align, word, outside)
    target = None
    if candidates:
        target = find_mergeable(spec, candidates, cache_line, arch_slab_minalign, slab_nomerge)
    slab_size, object_size = sizes.size, spec.object_size
    if target is not None:
        slab_size, align, object_size = target.size, target.align, max(target.object_size, spec.object_size)
    order = calculate_order(slab_size, cpus, page_size, min_objects, max_order, min_order, variant=variant)
    objects = order_objects(order, slab_size, page_size)
    slab_bytes = page_size << order
    return SlabGeometry("slub", object_size, slab_size, objects, order, align, slab_bytes / objects,
                        target, spec.object_size, slab_bytes, sizes.offset)


def slab_geometry(spec: CacheSpec, page_size: int = 4096, cache_line: int = 64, break_order: int = 1,
                  arch_slab_minalign: int = 0) -> SlabGeometry:
    """SLAB (2.6.22) geometry of ``spec``: ``kmem_cache_create`` without debugging."""
    word = spec.word
    size = _align(spec.object_size, word)
    if spec.hwcache_align:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
    else:
        ralign = word
    align = max(ralign, arch_slab_minalign, spec.align)
    off_slab = size >= page_size >> 3
    size = _align(size, align)
    order, objects, left_over = slab_calculate_slab_order(size, align, off_slab, word, page_size,
                                                          break_order, spec.reclaim_account)
    if not objects:
        raise ScenarioError(f"{spec.name}: SLAB cannot place a {size}-byte object in any slab order")
    mgmt = _align(objects * 4 + slab_struct_size(word), align)
    if off_slab and left_over >= mgmt:  # room left over: move the management back on the slab
        off_slab = False
    if off_slab:
        mgmt = objects * 4 + slab_struct_size(word)
    slab_bytes = page_size << order
    return SlabGeometry("slab", spec.object_size, size, objects, order, align, slab_bytes / objects, None,
                        spec.object_size, slab_bytes, None, mgmt, not off_slab)


def geometry(spec: CacheSpec, allocator: str = "slub", cpus: int = 2, page_size: int = 4096,
             cache_line: int = 64, candidates: Optional[Sequence[MergeCandidate]] = None,
             **options: object) -> SlabGeometry:
    """Geometry of ``spec`` under ``allocator`` ("slub" or "slab").

    ``options`` go to :func:`slub_geometry` (min_objects, max_order,
    min_order, arch_slab_minalign, variant, slab_nomerge) or
    :func:`slab_geometry` (break_order, arch_slab_minalign).
    """
    if allocator == "slub":
        return slub_geometry(spec, cpus, page_size, cache_line, candidates, **options)  # type: ignore[arg-type]
    if allocator == "slab":
        return slab_geometry(spec, page_size, cache_line, **options)  # type: ignore[arg-type]
    raise ScenarioError(f"unknown allocator '{allocator}' (slub or slab)")


class SlabEffect(NamedTuple):
    """A cache before (``off``) and after (``on``) a struct changes size, under one allocator."""

    allocator: str
    off: SlabGeometry
    on: SlabGeometry

    @property
    def delta_object_size(self) -> int:
        return self.on.own_object_size - self.off.own_object_size

    @property
    def delta_slab_size(self) -> int:
        return self.on.slab_size - self.off.slab_size

    @property
    def delta_objs_per_slab(self) -> int:
        return self.on.objs_per_slab - self.off.objs_per_slab

    @property
    def delta_bytes_per_object(self) -> float:
        """Real memory per object, the figure that matters for a fleet."""
        return self.on.bytes_per_object - self.off.bytes_per_object

    @property
    def order_changed(self) -> bool:
        return self.on.order != self.off.order


def slab_effect(spec: CacheSpec, struct_size_on: int, struct_size_off: Optional[int] = None,
                allocators: Sequence[str] = ("slub", "slab"), cpus: int = 2, page_size: int = 4096,
                cache_line: int = 64,
                candidates: Optional[Sequence[MergeCandidate]] = None,
                variant: str = "current") -> list[SlabEffect]:
    """The flat-model effect of ``sizeof(spec.struct_name)`` going from off to on, per allocator.

    ``struct_size_off`` defaults to the spec's own struct size.  Merge
    candidates apply to SLUB only (SLAB never merges).
    """
    off_spec = spec if struct_size_off is None else spec.with_struct_size(struct_size_off)
    on_spec = spec.with_struct_size(struct_size_on)
    effects = []
    for allocator in allocators:
        pool = candidates if allocator == "slub" else None
        options = {"variant": variant} if allocator == "slub" else {}
        effects.append(SlabEffect(allocator,
                                  geometry(off_spec, allocator, cpus, page_size, cache_line, pool, **options),
                                  geometry(on_spec, allocator, cpus, page_size, cache_line, pool, **options)))
    return effects
