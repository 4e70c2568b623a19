"""How the kernel creates the seed's caches (``task_struct``, ``signal_cache``, ``pid``) in each era.

:func:`~.specs.cache_specs_for_build` turns a build and its :class:`~layoutcalc.slab.era.SlabEra`
into :class:`CacheSpec` values (the arguments of ``kmem_cache_create`` that
matter).  Where the build records the tree's own creation calls (source mode:
``kernel_config.caches`` in the provenance), their align and flags are used;
otherwise the era's calls as written in ``kernel/fork.c`` and ``kernel/pid.c``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..errors import ScenarioError
from ..model import Build, StructType
from ..provenance import KernelConfigFacts

if TYPE_CHECKING:
    pass

#: Structs :func:`~.specs.cache_specs_for_build` may need; ask the reader for these.
SLAB_STRUCTS = ("task_struct", "signal_struct", "pid", "upid", "fpu", "thread_struct")
#: The caches the seed's objection is about: what ``slab`` and ``report`` model by default.
SEED_CACHES = ("task_struct", "signal_cache", "pid")

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


def memcg_accounting(build: Build) -> bool:
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


def era_facts(build: Build) -> KernelConfigFacts:
    """The build's recorded config facts (see :mod:`layoutcalc.slab.era`)."""
    from .era import config_facts
    return config_facts(build)
