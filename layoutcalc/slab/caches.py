"""How the kernel creates the seed's caches (``task_struct``, ``signal_cache``, ``pid``) in each era.

:func:`cache_specs_for_build` turns a build and its :class:`~layoutcalc.slab.era.SlabEra`
into :class:`CacheSpec` values (the arguments of ``kmem_cache_create`` that
matter).  Where the build records the tree's own creation calls (source mode:
``kernel_config.caches`` in the provenance), their align and flags are used;
otherwise the era's calls as written in ``kernel/fork.c`` and ``kernel/pid.c``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..abi import Abi
from ..analysis.facts import debug_info_of, struct_facts
from ..errors import ScenarioError
from ..model import ArrayType, Build, StructType

if TYPE_CHECKING:
    from .era import SlabEra

#: Structs :func:`cache_specs_for_build` may need; ask the reader for these.
SLAB_STRUCTS = ("task_struct", "signal_struct", "pid", "upid", "fpu", "thread_struct")

#: ``fpu_kernel_cfg.default_size`` for common x86 feature sets (XSAVES compacted format):
#: legacy area 512 + XSAVE header 64, then AVX 256, AVX-512 opmask 64 + ZMM_Hi256 512 + Hi16_ZMM 1024.
XSTATE_PRESETS = {"sse": 576, "avx": 832, "avx512": 2432}


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
    no_merge: bool = False  # SLAB_NO_MERGE, or another never-merge flag the fields above do not name
    dma: bool = False  # SLAB_CACHE_DMA

    def with_struct_size(self, struct_size: int) -> "CacheSpec":
        """This cache if ``sizeof(struct_name)`` were ``struct_size`` (object size shifts by the same)."""
        delta = struct_size - self.struct_size
        return dataclasses.replace(self, struct_size=struct_size, object_size=self.object_size + delta)


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


def _call(era: "SlabEra", cache: str) -> tuple[Optional[str], Optional[list[str]]]:
    """The tree's own (align text, effective SLAB_ flags) for ``cache``, when the build records them."""
    call = era.caches.get(cache)
    if not call:
        return None, None
    flags = call.get("flags")
    return str(call.get("align", "")), [str(flag) for flag in flags] if isinstance(flags, list) else None


def cache_specs_for_build(build: Build, abi: Abi, xstate_size: Optional[int] = None, pid_level: int = 0,
                          account: Optional[bool] = None, era: Optional["SlabEra"] = None) -> list[CacheSpec]:
    """Specs of ``task_struct``, ``signal_cache`` and ``pid`` as the build's kernel creates them.

    2.6.22 (``era.is_2622``): ``task_struct`` aligned to ``ARCH_MIN_TASKALIGN``
    (16 on x86, else the cache line), ``signal_cache`` with
    ``SLAB_HWCACHE_ALIGN``, ``KMEM_CACHE(pid)`` at ``__alignof__``.  2.6.24 and
    later: ``SLAB_HWCACHE_ALIGN`` pid caches per namespace level, task_struct
    aligned to the cache line, usercopy whitelist.  The tree's own calls (align
    and flags, recorded by source mode) override these.  ``account``
    (SLAB_ACCOUNT) defaults to the recorded flags, else "2.6.24+ and
    CONFIG_MEMCG" (memcg members in task_struct).  ``xstate_size`` is needed
    for x86 kernels with ``struct fpu`` (see :func:`task_struct_object_size`).
    Only structs present in the build are covered.
    """
    if era is None:
        from .era import decide_era
        era = decide_era(build, abi)
    modern = not era.is_2622
    word = abi.pointer_size
    line = era.cache_line
    x86 = abi.name in ("x86_64", "i386")
    facts = era_facts(build)
    min_taskalign = facts.get("arch_min_taskalign")

    def accounted(flags: Optional[list[str]]) -> bool:
        if account is not None:
            return account
        if flags is not None:
            return "SLAB_ACCOUNT" in flags
        return modern and _memcg_accounting(build)

    specs: list[CacheSpec] = []
    if build.has_struct("task_struct"):
        size = build.get_struct("task_struct").size_bytes
        _align_text, flags = _call(era, "task_struct")
        if modern:
            object_size, note = task_struct_object_size(build, xstate_size)
            align = max(line, int(min_taskalign) if isinstance(min_taskalign, int) else (16 if x86 else 0))
            specs.append(CacheSpec("task_struct", "task_struct", size, object_size, align, False,
                                   accounted(flags), usercopy=True, word=word,
                                   note=f"{note}; align max(L1_CACHE_BYTES, ARCH_MIN_TASKALIGN)"))
        else:
            align = int(min_taskalign) if isinstance(min_taskalign, int) else (16 if x86 else line)
            specs.append(CacheSpec("task_struct", "task_struct", size, size, align, False, accounted(flags),
                                   word=word, note=f"sizeof(struct task_struct); align ARCH_MIN_TASKALIGN {align}"))
    if build.has_struct("signal_struct"):
        size = build.get_struct("signal_struct").size_bytes
        _align_text, flags = _call(era, "signal_cache")
        hwcache = flags is None or "SLAB_HWCACHE_ALIGN" in flags
        specs.append(CacheSpec("signal_cache", "signal_struct", size, size, 0, hwcache, accounted(flags), word=word,
                               note="sizeof(struct signal_struct)" + (", SLAB_HWCACHE_ALIGN" if hwcache else "")))
    if build.has_struct("pid"):
        pid = build.get_struct("pid")
        _align_text, flags = _call(era, "pid")
        object_size, note = pid_object_size(build, pid_level if modern else 0)
        name = "pid" if pid_level == 0 or not modern else f"pid_{pid_level + 1}"
        natural = struct_facts(pid, abi, debug_info_of(build)).alignment
        if modern:
            hwcache = flags is None or "SLAB_HWCACHE_ALIGN" in flags
            specs.append(CacheSpec(name, "pid", pid.size_bytes, object_size, natural if pid_level == 0 else 0,
                                   hwcache, accounted(flags), word=word,
                                   note=note + (", SLAB_HWCACHE_ALIGN" if hwcache else "")))
        else:
            hwcache = flags is not None and "SLAB_HWCACHE_ALIGN" in flags
            specs.append(CacheSpec(name, "pid", pid.size_bytes, object_size, natural, hwcache, accounted(flags),
                                   word=word, note="KMEM_CACHE(pid): sizeof, __alignof__(struct pid)"))
    return specs


def era_facts(build: Build) -> dict[str, object]:
    """The build's recorded config facts (see :mod:`layoutcalc.slab.era`)."""
    from .era import config_facts
    return dict(config_facts(build))
