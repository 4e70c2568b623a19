"""Predictions for the running kernel's caches against /sys/kernel/slab (skipped where there is none)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from layoutcalc.errors import LiveSystemError
from layoutcalc.slab.live import (
    LIVE_BTF,
    SYSFS_SLAB,
    LivePrediction,
    merge_candidates,
    predict_live,
    read_cpus,
    read_kernel_log,
    read_slab_cache,
    read_slabinfo,
    xstate_from_cpuinfo_flags,
    xstate_from_kernel_log,
    xstate_from_usercopy_whitelist,
)

pytestmark = pytest.mark.live

needs_sysfs = pytest.mark.skipif(
    not os.path.isdir(SYSFS_SLAB) or not os.access(os.path.join(SYSFS_SLAB, "pid"), os.R_OK),
    reason=f"{SYSFS_SLAB} absent or unreadable (not SLUB, not root?)")
needs_btf = pytest.mark.skipif(not os.path.exists(LIVE_BTF), reason=f"{LIVE_BTF} absent")


@pytest.fixture(scope="module")
def predictions() -> dict[str, LivePrediction]:
    return {p.spec.name: p for p in predict_live()}


@needs_sysfs
@needs_btf
@pytest.mark.parametrize("cache", ["task_struct", "signal_cache", "pid"])
def test_prediction_matches_sysfs(predictions: dict[str, LivePrediction], cache: str) -> None:
    prediction = predictions[cache]
    actual = read_slab_cache(cache)
    ours = prediction.predicted
    assert (ours.object_size, ours.slab_size, ours.objs_per_slab, ours.order, ours.align) == (
        actual.object_size, actual.slab_size, actual.objs_per_slab, actual.order, actual.align)
    assert prediction.mismatches() == []


@needs_sysfs
@needs_btf
def test_merge_targets(predictions: dict[str, LivePrediction]) -> None:
    for cache in ("task_struct", "signal_cache", "pid"):
        geometry = predictions[cache].predicted
        actual = read_slab_cache(cache)
        predicted_id = geometry.merged_into.unique_id if geometry.merged_into else cache
        assert predicted_id == actual.unique_id, cache
    pid = predictions["pid"].predicted
    actual = read_slab_cache("pid")
    if "cred" in actual.merged_with:  # Linux 6.x x86_64: pid (160 -> 192) shares :A-0000192 with cred
        expected = f"merged into {actual.unique_id} (object_size {actual.object_size}, with cred)"
        assert pid.merge_description("pid") == expected


@needs_sysfs
def test_candidates_are_mergeable_directories() -> None:
    candidates = merge_candidates()
    assert candidates, "a SLUB system always has mergeable caches"
    for candidate in candidates:
        assert candidate.unique_id.startswith(":")
        assert candidate.unique_id.endswith(f"{candidate.size:07d}")
        assert not os.path.islink(os.path.join(SYSFS_SLAB, candidate.unique_id))


@needs_sysfs
def test_slabinfo_agrees_with_sysfs() -> None:
    if not os.access("/proc/slabinfo", os.R_OK):
        pytest.skip("/proc/slabinfo unreadable")
    info = read_slabinfo()
    sysfs = read_slab_cache("task_struct")
    assert (info["task_struct"].slab_size, info["task_struct"].objs_per_slab, info["task_struct"].order) == (
        sysfs.slab_size, sysfs.objs_per_slab, sysfs.order)


def test_xstate_sources_agree() -> None:
    if not os.path.exists("/dev/kmsg") or not os.path.isdir(SYSFS_SLAB):
        pytest.skip("needs /dev/kmsg and /sys/kernel/slab")
    try:
        from_log = xstate_from_kernel_log(read_kernel_log())
    except LiveSystemError as exc:
        pytest.skip(str(exc))
    from_whitelist = xstate_from_usercopy_whitelist()
    if from_log is None or from_whitelist is None:
        pytest.skip("x86/fpu boot messages rotated out of the log, or no task_struct whitelist")
    assert from_log.size == from_whitelist.size


KERNEL_LOG_6_18 = """\
x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'
x86/fpu: Supporting XSAVE feature 0x002: 'SSE registers'
x86/fpu: Supporting XSAVE feature 0x004: 'AVX registers'
x86/fpu: Supporting XSAVE feature 0x020: 'AVX-512 opmask'
x86/fpu: Supporting XSAVE feature 0x040: 'AVX-512 Hi256'
x86/fpu: Supporting XSAVE feature 0x080: 'AVX-512 ZMM_Hi256'
x86/fpu: Supporting XSAVE feature 0x800: 'Control-flow User registers'
x86/fpu: Supporting XSAVE feature 0x1000: 'Control-flow Kernel registers (KVM only)'
x86/fpu: xstate_offset[2]:  576, xstate_sizes[2]:  256
x86/fpu: xstate_offset[5]:  832, xstate_sizes[5]:   64
x86/fpu: xstate_offset[6]:  896, xstate_sizes[6]:  512
x86/fpu: xstate_offset[7]: 1408, xstate_sizes[7]: 1024
x86/fpu: xstate_offset[11]: 2432, xstate_sizes[11]:   16
x86/fpu: xstate_offset[12]: 2448, xstate_sizes[12]:   24
x86/fpu: Enabled xstate features 0x18e7, context size is 2472 bytes, using 'compacted' format.
"""


def test_xstate_from_kernel_log_text() -> None:
    # context size 2472 includes the guest-only CET kernel state (24 bytes); the per-task default
    # buffer stops after CET user: 2432 + 16 = 2448
    info = xstate_from_kernel_log(KERNEL_LOG_6_18.splitlines())
    assert info is not None and info.size == 2448 and info.compacted
    assert info.features == 0x18E7 & ~0x1000
    assert xstate_from_kernel_log(["unrelated line"]) is None


def test_xstate_with_aligned_component_dropped() -> None:
    # Sapphire Rapids-like: PKRU 8 at 2432, TILECFG 64 at 2440, TILEDATA (dynamic, 64-aligned) 8192 at 2496.
    # Default leaves out TILEDATA: 2440 + 64 = 2504.
    lines = ["x86/fpu: xstate_offset[2]:  576, xstate_sizes[2]:  256",
             "x86/fpu: xstate_offset[5]:  832, xstate_sizes[5]:   64",
             "x86/fpu: xstate_offset[6]:  896, xstate_sizes[6]:  512",
             "x86/fpu: xstate_offset[7]: 1408, xstate_sizes[7]: 1024",
             "x86/fpu: xstate_offset[9]: 2432, xstate_sizes[9]:    8",
             "x86/fpu: xstate_offset[17]: 2440, xstate_sizes[17]:   64",
             "x86/fpu: xstate_offset[18]: 2560, xstate_sizes[18]: 8192",
             "x86/fpu: Enabled xstate features 0x602e7, context size is 10752 bytes, "
             "using 'compacted' format."]
    info = xstate_from_kernel_log(lines)
    assert info is not None and info.size == 2504


def test_xstate_from_cpuinfo_flags() -> None:
    # 512 legacy + 64 header + AVX 256 = 832; + AVX-512 (64 + 512 + 1024) = 2432; + PKRU 8 = 2440
    assert xstate_from_cpuinfo_flags(["xsave", "xsaves", "avx"]).size == 832
    assert xstate_from_cpuinfo_flags(["xsave", "xsaves", "avx", "avx512f"]).size == 2432
    assert xstate_from_cpuinfo_flags(["xsave", "xsaves", "avx", "avx512f", "pku"]).size == 2440
    # standard format (no xsaves): PKRU sits at its fixed offset 2688: 2688 + 8 = 2696
    assert xstate_from_cpuinfo_flags(["xsave", "avx", "avx512f", "pku"]).size == 2696
    assert xstate_from_cpuinfo_flags(["sse2"]).size == 512


def test_missing_sysfs_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(LiveSystemError, match=rf"{tmp_path}/nope: not found"):
        read_slab_cache("pid", str(tmp_path / "nope"))
    (tmp_path / "slab" / "pid").mkdir(parents=True)
    with pytest.raises(LiveSystemError, match=rf"{tmp_path}/slab/pid/object_size: not found"):
        read_slab_cache("pid", str(tmp_path / "slab"))
    with pytest.raises(LiveSystemError, match=rf"{tmp_path}/slab/other: no such slab cache"):
        read_slab_cache("other", str(tmp_path / "slab"))


def test_cpus_from_sysfs_lists(tmp_path: Path) -> None:
    (tmp_path / "present").write_text("0-3,8\n")
    (tmp_path / "possible").write_text("0-15\n")
    assert read_cpus(str(tmp_path)) == (5, 16)
