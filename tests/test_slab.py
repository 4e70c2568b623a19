"""SLUB and SLAB geometry, merging and cache specs; every expected figure is worked out by hand below.

Common setting unless a test says otherwise: x86_64 (word 8), 4 KiB pages,
64-byte cache line, SLAB_HWCACHE_ALIGN, no caller alignment,
ARCH_SLAB_MINALIGN 8 (SLUB) / 0 (SLAB 2.6.22), 2 present CPUs, so SLUB's
min_objects = 4 * (fls(2) + 1) = 4 * (2 + 1) = 12, slub_max_order 3.
SLAB: slab_break_gfp_order 1, sizeof(struct slab) 48 (list_head 16 +
colouroff 8 + s_mem 8 + inuse 4 + free 4 + nodeid 2 = 42, rounded to 8),
kmem_bufctl_t 4 bytes, management off-slab when the object is >= 4096/8 = 512.
"""

from __future__ import annotations

import pytest

from layoutcalc.abi import get_abi
from layoutcalc.errors import ScenarioError
from layoutcalc.model import ArrayType, BaseType, Build, Member, PointerType, StructType, VoidType
from layoutcalc.slab.caches import CacheSpec
from layoutcalc.slab.specs import cache_specs_for_build
from layoutcalc.slab.common import MergeCandidate
from layoutcalc.slab.geometry import geometry, slab_effect
from layoutcalc.slab.slab_2622 import slab_struct_size
from layoutcalc.slab.slub import (
    calculate_alignment,
    calculate_order,
    calculate_sizes,
    create_unique_id,
    find_mergeable,
    slub_min_objects,
)

# size -> (s->size, order, objects per slab), SLUB, HWCACHE_ALIGN on 64-byte lines.
# All sizes are > 32, so calculate_alignment never halves the line: align = 64.
SLUB_EXPECTED = {
    36: (64, 0, 64),     # word 40 -> align 64 -> 64; 12*64=768 fits order 0; 4096 % 64 = 0 <= 4096/16
    52: (64, 0, 64),     # word 56 -> 64; same as above
    64: (64, 0, 64),     # 64 -> 64; same as above
    96: (128, 0, 32),    # 96 -> 128; 12*128=1536 -> order 0; 4096 % 128 = 0; 4096/128 = 32
    376: (384, 1, 21),   # 376 -> 384; 12*384=4608 -> order 1; 8192 % 384 = 8192-21*384 = 128 <= 512
    384: (384, 1, 21),   # as 376
    672: (704, 2, 23),   # 672 -> 704; 12*704=8448 -> order 2; 16384 - 23*704 = 16384-16192 = 192 <= 1024
    680: (704, 2, 23),   # as 672
    1144: (1152, 2, 14),  # 1144 -> 1152; 12*1152=13824 -> order 2; 16384 - 14*1152 = 256 <= 1024
    1296: (1344, 2, 12),  # 1296 -> 1344 (21*64); 12*1344=16128 -> order 2; 16384 - 16128 = 256 <= 1024
    1712: (1728, 3, 18),  # 1712 -> 1728 (27*64); 12*1728=20736 -> order 3; max_objects 32768/1728 = 18,
                          # still >= 12; 32768 - 18*1728 = 32768-31104 = 1664 <= 2048
    1728: (1728, 3, 18),  # as 1712
}

# size -> (buffer size, order, objects per slab, management bytes, management on slab), SLAB 2.6.22.
SLAB_EXPECTED = {
    # 36 -> word 40 -> align 64 -> 64; on-slab; order 0: (4096-48)/(64+4) = 59;
    # mgmt ALIGN(48+59*4=284, 64) = 320; 320 + 59*64 = 4096 fits; leftover 0 -> stop at order 0
    36: (64, 0, 59, 320, True),
    52: (64, 0, 59, 320, True),  # as 36
    64: (64, 0, 59, 320, True),  # as 36
    # 96 -> 128; (4096-48)/132 = 30; mgmt ALIGN(48+120, 64) = 192; 192+3840 = 4032; leftover 64, 64*8 <= 4096
    96: (128, 0, 30, 192, True),
    # 376 -> 384 (< 512: on-slab); 4048/388 = 10; mgmt ALIGN(88, 64) = 128; leftover 4096-3840-128 = 128
    376: (384, 0, 10, 128, True),
    384: (384, 0, 10, 128, True),  # as 376
    # 672 >= 512: off-slab; -> 704; order 0: 4096/704 = 5, leftover 576, 576*8 > 4096 -> go on;
    # order 1: 8192/704 = 11, leftover 448, order >= break order 1 -> stop;
    # mgmt ALIGN(11*4+48=92, 64) = 128 <= leftover 448 -> moved back on-slab
    672: (704, 1, 11, 128, True),
    680: (704, 1, 11, 128, True),  # as 672
    # 1144 -> 1152 off-slab; order 0: 3 objects, leftover 640, 5120 > 4096; order 1: 7, leftover 128;
    # mgmt ALIGN(7*4+48=76, 64) = 128 <= 128 -> on-slab
    1144: (1152, 1, 7, 128, True),
    # 1296 -> 1344; order 0: 3 objects (4032), leftover 64, 512 <= 4096 -> stop; mgmt ALIGN(60, 64) = 64 <= 64
    1296: (1344, 0, 3, 64, True),
    # 1712 -> 1728; order 0: 2 objects, leftover 640 (5120 > 4096); order 1: 4 objects (6912), leftover 1280;
    # mgmt ALIGN(4*4+48=64, 64) = 64 -> on-slab
    1712: (1728, 1, 4, 64, True),
    1728: (1728, 1, 4, 64, True),  # as 1712
}


def spec(size: int, **kwargs: object) -> CacheSpec:
    options: dict[str, object] = {"hwcache_align": True}
    options.update(kwargs)
    return CacheSpec("test", "test", size, size, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", sorted(SLUB_EXPECTED))
def test_slub_geometry(size: int) -> None:
    slab_size, order, objects = SLUB_EXPECTED[size]
    found = geometry(spec(size), "slub", cpus=2)
    assert (found.slab_size, found.order, found.objs_per_slab, found.align) == (slab_size, order, objects, 64)
    assert found.object_size == size
    assert found.bytes_per_object == pytest.approx((4096 << order) / objects)


@pytest.mark.parametrize("size", sorted(SLAB_EXPECTED))
def test_slab_geometry(size: int) -> None:
    buffer_size, order, objects, mgmt, on_slab = SLAB_EXPECTED[size]
    found = geometry(spec(size), "slab")
    assert (found.slab_size, found.order, found.objs_per_slab) == (buffer_size, order, objects)
    assert (found.mgmt_bytes, found.mgmt_on_slab) == (mgmt, on_slab)
    assert found.bytes_per_object == pytest.approx((4096 << order) / objects)


def test_slab_32bit_word_no_hwcache() -> None:
    # i386: struct slab = 4 words + 10 = 26 -> 28; 36 bytes, word alignment 4, on-slab:
    # (4096-28)/(36+4) = 101; mgmt ALIGN(28+404, 4) = 432; 432 + 101*36 = 4068 <= 4096; leftover 28
    assert slab_struct_size(4) == 28 and slab_struct_size(8) == 48
    found = geometry(spec(36, hwcache_align=False, word=4), "slab")
    figures = (found.slab_size, found.order, found.objs_per_slab, found.mgmt_bytes, found.align)
    assert figures == (36, 0, 101, 432, 4)


def test_slab_task_struct_2_6_22_alignment() -> None:
    # task_struct 2.6.22: align ARCH_MIN_TASKALIGN 16, no HWCACHE: ralign 8 -> 16.
    # 1776 -> 1776 (111*16), off-slab; order 0: 2 objects, leftover 544, 544*8 > 4096;
    # order 1: 4 objects (7104), leftover 1088; mgmt ALIGN(64, 16) = 64 <= 1088 -> on-slab
    found = geometry(spec(1776, hwcache_align=False, align=16), "slab")
    assert (found.slab_size, found.align, found.order, found.objs_per_slab, found.mgmt_on_slab) == (
        1776, 16, 1, 4, True)


def test_calculate_alignment() -> None:
    assert calculate_alignment(True, 0, 36) == 64    # 36 > 32: the whole line
    assert calculate_alignment(True, 0, 24) == 32    # 24 <= 32 -> 32; 24 > 16 stops
    assert calculate_alignment(True, 0, 8) == 8      # 64 -> 32 -> 16 -> 8 (8 > 4)
    assert calculate_alignment(True, 0, 24, cache_line=128) == 32  # 128 -> 64 -> 32
    assert calculate_alignment(False, 0, 36) == 8    # ARCH_SLAB_MINALIGN
    assert calculate_alignment(False, 4, 10) == 8    # max(4, 8)
    assert calculate_alignment(True, 128, 100) == 128  # the caller's alignment wins
    assert calculate_alignment(False, 12, 100) == 16   # rounded up to a word


def test_calculate_sizes_free_pointer() -> None:
    # inside: ALIGN_DOWN(36 / 2 = 18, 8) = 16; size ALIGN(36, 8) = 40
    assert calculate_sizes(36, 8) == (40, 16, False)
    # ctor / RCU / poison: appended at 40, one more word -> 48
    assert calculate_sizes(36, 8, freeptr_outside=True) == (48, 40, True)
    # appended then aligned: 40 + 8 = 48 -> ALIGN(48, 64) = 64
    assert calculate_sizes(36, 64, freeptr_outside=True).size == 64
    # 64 bytes with RCU: 64 + 8 = 72 -> 128 with line alignment (a whole line lost)
    assert calculate_sizes(64, 64, freeptr_outside=True).size == 128


def test_rcu_cache_geometry_differs() -> None:
    # 64 bytes, RCU-typesafe: s->size 128 (above) -> 32 objects per order-0 slab instead of 64
    found = geometry(spec(64, typesafe_by_rcu=True), "slub")
    assert (found.slab_size, found.objs_per_slab, found.free_pointer_offset) == (128, 32, 64)


def test_min_objects() -> None:
    assert slub_min_objects(2) == 12       # 4 * (fls(2)=2 + 1)
    assert slub_min_objects(4) == 16       # fls(4) = 3
    assert slub_min_objects(64) == 32      # fls(64) = 7
    assert slub_min_objects(1, nr_cpu_ids=8) == 20  # one present CPU: use nr_cpu_ids, fls(8) = 4


def test_order_variants_differ_for_huge_objects() -> None:
    # 12000 bytes: max_objects = 32768/12000 = 2, so min_objects 2; order get_order(24000) = 3,
    # leftover 32768 - 24000 = 8768 > 32768/4.  current (6.8+): fraction 1/2 accepts order 3 (2 objects).
    assert calculate_order(12000, variant="current") == 3
    # legacy (<= 6.7): min_objects drops to 1, then fraction 1 from get_order(12000) = 2 accepts order 2
    # (leftover 16384 - 12000 = 4384 <= 16384).
    assert calculate_order(12000, variant="legacy") == 2
    # both agree where 1/16 already fits: 1152 -> order 2 (see SLUB_EXPECTED)
    assert calculate_order(1152, variant="legacy") == calculate_order(1152) == 2
    # 5888 (task_struct here): 5 objects at order 3, leftover 3328 > 2048 but <= 4096: both give 3
    assert calculate_order(5888, variant="legacy") == calculate_order(5888) == 3
    with pytest.raises(ScenarioError):
        calculate_order(64, variant="nope")


def test_create_unique_id() -> None:
    assert create_unique_id(192, account=True) == ":A-0000192"
    assert create_unique_id(1152, account=True) == ":A-0001152"
    assert create_unique_id(64) == ":0000064"
    assert create_unique_id(128, account=True, reclaim_account=True) == ":aA-0000128"
    assert create_unique_id(96, dma=True) == ":d-0000096"


CRED = MergeCandidate(":A-0000192", 192, 64, 184, account=True, names=("cred", "pid"))


def test_merge_pid_into_cred() -> None:
    pid = CacheSpec("pid", "pid", 144, 160, align=8, hwcache_align=True, account=True)
    # 160 -> align 64 -> 192 == cred's s->size, same SLAB_ACCOUNT: merged
    assert find_mergeable(pid, [CRED]) == CRED
    found = geometry(pid, "slub", candidates=[CRED])
    assert found.merge_description("pid") == "merged into :A-0000192 (object_size 184, with cred)"
    figures = (found.object_size, found.own_object_size, found.slab_size, found.objs_per_slab)
    assert figures == (184, 160, 192, 21)


@pytest.mark.parametrize("change, reason", [
    ({"account": False}, "accounting flags differ"),
    ({"ctor": True}, "a constructor never merges"),
    ({"usercopy": True}, "a usercopy region never merges"),
    ({"typesafe_by_rcu": True}, "RCU-typesafe never merges"),
    ({"object_size": 200}, "200 -> 256 > 192"),
])
def test_no_merge(change: dict[str, object], reason: str) -> None:
    options: dict[str, object] = {"align": 8, "hwcache_align": True, "account": True, "object_size": 160}
    options.update(change)
    pid = CacheSpec("pid", "pid", 144, **options)  # type: ignore[arg-type]
    assert find_mergeable(pid, [CRED]) is None, reason


def test_no_merge_into_cache_a_word_larger() -> None:
    # our 192 vs a 200-byte cache: 200 - 192 = 8 is not < a word
    bigger = MergeCandidate(":A-0000200", 200, 8, 200, account=True, names=("other",))
    spec_192 = CacheSpec("x", "x", 192, 192, account=True)
    assert find_mergeable(spec_192, [bigger]) is None
    # 196 -> word 200 (no HWCACHE: align 8) merges into the 200-byte cache
    assert find_mergeable(CacheSpec("x", "x", 196, 196, account=True), [bigger]) == bigger


def test_no_merge_with_only_itself() -> None:
    alone = MergeCandidate(":A-0000192", 192, 64, 160, account=True, names=("pid",))
    pid = CacheSpec("pid", "pid", 144, 160, align=8, hwcache_align=True, account=True)
    assert find_mergeable(pid, [alone]) is None


def test_slab_effect() -> None:
    # signal_cache 1144 -> 1160: SLUB 1152 -> 1216 (19*64); 12*1216 = 14592 -> order 2;
    # 16384 - 13*1216 = 16384 - 15808 = 576 <= 1024 -> 13 objects: 1260.3 bytes/object, +90.0
    # SLAB: 1216 off-slab; order 0: 3 objects, leftover 448 (3584 <= 4096) -> stop: 4096/3 = 1365.3;
    # before (SLAB_EXPECTED[1144]) 8192/7 = 1170.3
    signal = CacheSpec("signal_cache", "signal_struct", 1144, 1144, 0, True, True)
    slub, slab = slab_effect(signal, 1160)
    assert (slub.on.slab_size, slub.on.order, slub.on.objs_per_slab) == (1216, 2, 13)
    assert slub.delta_bytes_per_object == pytest.approx(16384 / 13 - 16384 / 14)
    assert slub.delta_object_size == 16 and slub.delta_slab_size == 64 and slub.delta_objs_per_slab == -1
    assert (slab.on.order, slab.on.objs_per_slab) == (0, 3) and slab.order_changed
    assert slab.delta_bytes_per_object == pytest.approx(4096 / 3 - 8192 / 7)


# ----------------------------------------------------------------- cache specs from models

LONG = BaseType("long unsigned int", 8, "unsigned")
INT = BaseType("int", 4, "signed")


def _struct(name: str, size: int, members: list[tuple[str, object, int]], kind: str = "struct") -> StructType:
    return StructType(kind, name, size, [Member(n, t, off * 8) for n, t, off in members])  # type: ignore[arg-type]


def _modern_build(fpu_in_thread: bool, flexible: bool) -> Build:
    """A 6.1-like (fpu in thread_struct, numbers[1]) or 6.18-like (fpu after task_struct, numbers[]) model."""
    regs = _struct("fpregs_state", 4096, [("xsave", ArrayType(LONG, 512), 0)], "union")
    fpstate = _struct("fpstate", 4160, [("size", INT, 0), ("regs", regs, 64)])
    fpu = _struct("fpu", 4224, [("last_cpu", INT, 0), ("__fpstate", fpstate, 64)])
    thread_members: list[tuple[str, object, int]] = [("sp", LONG, 0)]
    if fpu_in_thread:
        thread_members.append(("fpu", fpu, 64))
    thread = _struct("thread_struct", 4288 if fpu_in_thread else 152, thread_members)
    task_size = 9024 if fpu_in_thread else 3264
    task = _struct("task_struct", task_size, [("memcg_in_oom", PointerType(VoidType(), 8), 0),
                                              ("thread", thread, task_size - thread.size_bytes)])
    upid = _struct("upid", 16, [("nr", INT, 0), ("ns", PointerType(VoidType(), 8), 8)])
    numbers = ArrayType(upid, None if flexible else 1)
    pid = _struct("pid", 144 if flexible else 112,
                  [("count", INT, 0), ("numbers", numbers, 144 if flexible else 96)])
    signal = _struct("signal_struct", 1144, [("sigcnt", INT, 0)])
    build = Build("model", "x86_64", 8, "little")
    for struct_type in (fpu, fpstate, thread, task, upid, pid, signal):
        build.structs[struct_type.name] = struct_type  # type: ignore[index]
    return build


def test_specs_6_18_style() -> None:
    specs = {s.name: s for s in cache_specs_for_build(_modern_build(False, True), get_abi("x86_64"),
                                                      xstate_size=2448)}
    # fpu after task_struct: 3264 + 4224 - 4096 + 2448 = 5840 (the live 6.18 figure)
    assert specs["task_struct"].object_size == 5840
    assert (specs["task_struct"].align, specs["task_struct"].usercopy) == (64, True)
    # numbers[]: 144 + 1 * 16
    assert specs["pid"].object_size == 160 and specs["pid"].hwcache_align and specs["pid"].account
    assert specs["signal_cache"].object_size == 1144 and specs["signal_cache"].account


def test_specs_6_1_style() -> None:
    build = _modern_build(True, False)
    specs = {s.name: s for s in cache_specs_for_build(build, get_abi("x86_64"), xstate_size=832)}
    # fpu inside thread_struct: 9024 - 4096 + 832 = 5760
    assert specs["task_struct"].object_size == 5760
    # numbers[1]: level 0 is sizeof(struct pid) = 112; level 2 adds two upids: 112 + 32
    assert specs["pid"].object_size == 112
    level2 = cache_specs_for_build(build, get_abi("x86_64"), xstate_size=832, pid_level=2)[2]
    assert (level2.name, level2.object_size) == ("pid_3", 144)


def test_specs_need_xstate_on_x86() -> None:
    with pytest.raises(ScenarioError, match="xstate"):
        cache_specs_for_build(_modern_build(False, True), get_abi("x86_64"))


def test_specs_2_6_22_style() -> None:
    pointer = PointerType(VoidType(), 8)
    hlist = _struct("hlist_node", 16, [("next", pointer, 0), ("pprev", pointer, 8)])
    pid = _struct("pid", 80, [("count", INT, 0), ("nr", INT, 4), ("pid_chain", hlist, 8)])
    task = _struct("task_struct", 1776, [("state", LONG, 0)])
    signal = _struct("signal_struct", 600, [("count", INT, 0)])
    build = Build("2.6.22", "x86_64", 8, "little",
                  structs={"pid": pid, "task_struct": task, "signal_struct": signal})
    specs = {s.name: s for s in cache_specs_for_build(build, get_abi("x86_64"))}
    assert (specs["task_struct"].object_size, specs["task_struct"].align) == (1776, 16)
    assert not specs["task_struct"].account and not specs["task_struct"].hwcache_align
    # KMEM_CACHE(pid, SLAB_PANIC): natural alignment (8: pointers), no HWCACHE
    assert (specs["pid"].object_size, specs["pid"].align, specs["pid"].hwcache_align) == (80, 8, False)
    # SLAB: 80 bytes word-aligned 8: (4096-48)/84 = 48; mgmt ALIGN(48+192, 8) = 240; 240 + 3840 = 4080 fits
    found = geometry(specs["pid"], "slab")
    assert (found.slab_size, found.objs_per_slab, found.order) == (80, 48, 0)
    assert specs["signal_cache"].hwcache_align and not specs["signal_cache"].account
