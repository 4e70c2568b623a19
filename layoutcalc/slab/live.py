"""The running kernel: its slab caches, CPUs, xstate size and BTF.

Reads ``/sys/kernel/slab`` (``/proc/slabinfo`` as a fallback),
``/sys/devices/system/cpu``, the kernel log and ``/sys/kernel/btf/vmlinux``.
Every failure to read raises :class:`~layoutcalc.errors.LiveSystemError`
naming the path.

Merged SLUB caches: a mergeable cache's sysfs directory is named by
``create_unique_id`` (``:A-0000192``: flags d/D/a/F/A, then ``s->size``) and
each cache merged into it is a symlink to that directory.  Unmergeable caches
(usercopy region, RCU-typesafe, constructor, debugging) have a directory
under their own name.

The x86 xstate size (``fpu_kernel_cfg.default_size``, added to the
task_struct cache's object size) is not in sysfs.  :func:`read_xstate`
takes it, in order of trust, from the kernel's own boot messages
(``x86/fpu: xstate_offset[i]: ..., xstate_sizes[i]: ...`` and ``Enabled
xstate features 0x..., using 'compacted' format``), leaving out the features
that are not in the default buffer (guest-only "KVM only" states such as
CET_KERNEL, dynamic AMX tile data, independent LBR); else it estimates from
``/proc/cpuinfo`` flags with the Intel SDM component sizes, in the compacted
format when the CPU has ``xsaves``.  The estimate cannot see supervisor
states (CET user state, PASID), which cpuinfo does not list.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Optional

from ..abi import get_abi
from ..errors import LiveSystemError
from ..model import Build
from .caches import SLAB_STRUCTS, CacheSpec
from .specs import cache_specs_for_build
from .common import MergeCandidate, SlabGeometry
from .era import decide_era
from .geometry import geometry

SYSFS_SLAB = "/sys/kernel/slab"
PROC_SLABINFO = "/proc/slabinfo"
SYSFS_CPU = "/sys/devices/system/cpu"
LIVE_BTF = "/sys/kernel/btf/vmlinux"
DEV_KMSG = "/dev/kmsg"
PROC_CPUINFO = "/proc/cpuinfo"
PROC_CMDLINE = "/proc/cmdline"

_INT_ATTRS = ("object_size", "slab_size", "objs_per_slab", "order", "align", "aliases", "usersize")
_BOOL_ATTRS = ("destroy_by_rcu", "hwcache_align", "reclaim_account", "poison")


def _read_raw(path: str, missing_hint: str, permission_hint: str = "") -> bytes:
    """The bytes of a kernel interface file; every failure is a LiveSystemError naming ``path``."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except PermissionError:
        raise LiveSystemError(f"{path}: permission denied{permission_hint}") from None
    except FileNotFoundError:
        raise LiveSystemError(f"{path}: not found ({missing_hint})") from None
    except OSError as exc:
        raise LiveSystemError(f"{path}: cannot read ({exc.strerror})") from None


def _read_text(path: str) -> str:
    return _read_raw(path, "not Linux, or the kernel lacks this interface",
                     " (run as root to read the slab caches)").decode("utf-8", "replace")


class LiveCache(NamedTuple):
    """One cache as the running kernel reports it; None where the source does not say."""

    name: str
    unique_id: str  # the sysfs directory the name resolves to (itself when not merged)
    object_size: Optional[int]
    slab_size: int
    objs_per_slab: int
    order: int
    align: Optional[int]
    aliases: int = 0
    ctor: bool = False
    destroy_by_rcu: bool = False
    hwcache_align: bool = False
    reclaim_account: bool = False
    poison: bool = False
    usersize: int = 0
    merged_with: tuple[str, ...] = ()
    source: str = "sysfs"

    @property
    def is_merged(self) -> bool:
        return self.unique_id != self.name


def _alias_map(root: str) -> dict[str, list[str]]:
    """sysfs directory name -> the cache names that are symlinks to it."""
    try:
        entries = sorted(os.listdir(root))
    except OSError as exc:
        raise LiveSystemError(f"{root}: cannot list ({exc.strerror}); is SLUB sysfs available?") from None
    links: dict[str, list[str]] = {}
    for entry in entries:
        path = os.path.join(root, entry)
        if os.path.islink(path):
            links.setdefault(os.path.basename(os.readlink(path)), []).append(entry)
    return links


def read_slab_cache(name: str, root: str = SYSFS_SLAB) -> LiveCache:
    """``/sys/kernel/slab/<name>``: geometry, flags and what it is merged with."""
    path = os.path.join(root, name)
    if not os.path.exists(path):
        if not os.path.isdir(root):
            raise LiveSystemError(f"{root}: not found (no SLUB sysfs; try /proc/slabinfo)")
        raise LiveSystemError(f"{path}: no such slab cache")
    unique_id = os.path.basename(os.readlink(path)) if os.path.islink(path) else name
    values: dict[str, int] = {}
    for attr in _INT_ATTRS:
        values[attr] = int(_read_text(os.path.join(path, attr)).split()[0])
    flags = {attr: _read_text(os.path.join(path, attr)).strip() == "1" for attr in _BOOL_ATTRS}
    ctor = bool(_read_text(os.path.join(path, "ctor")).strip())
    merged_with: tuple[str, ...] = ()
    if unique_id != name or name.startswith(":"):
        merged_with = tuple(other for other in _alias_map(root).get(unique_id, []) if other != name)
    return LiveCache(name, unique_id, values["object_size"], values["slab_size"], values["objs_per_slab"],
                     values["order"], values["align"], values["aliases"], ctor, flags["destroy_by_rcu"],
                     flags["hwcache_align"], flags["reclaim_account"], flags["poison"], values["usersize"],
                     merged_with)


def read_slabinfo(path: str = PROC_SLABINFO, page_size: int = 4096) -> dict[str, LiveCache]:
    """``/proc/slabinfo`` (version 2.1): slab size, objects per slab and order; no object size or align."""
    caches: dict[str, LiveCache] = {}
    for line in _read_text(path).splitlines():
        if line.startswith(("slabinfo", "#")) or not line.strip():
            continue
        fields = line.split()
        try:
            size, per_slab, pages = int(fields[3]), int(fields[4]), int(fields[5])
        except (IndexError, ValueError):
            raise LiveSystemError(f"{path}: unexpected line {line!r}") from None
        order = pages.bit_length() - 1
        caches[fields[0]] = LiveCache(fields[0], fields[0], None, size, per_slab, order, None, source=path)
    return caches


def read_live_cache(name: str, root: str = SYSFS_SLAB, slabinfo: str = PROC_SLABINFO) -> LiveCache:
    """:func:`read_slab_cache`, or the ``/proc/slabinfo`` line when sysfs is absent."""
    if os.path.isdir(root):
        return read_slab_cache(name, root)
    caches = read_slabinfo(slabinfo)
    if name not in caches:
        raise LiveSystemError(f"{slabinfo}: no slab cache named '{name}' (merged caches are listed "
                              "under the name of the cache they were merged into)")
    return caches[name]


def _parse_unique_id(unique_id: str) -> Optional[tuple[str, int]]:
    match = re.fullmatch(r":(?:([dDaFA]+)-)?(\d+)", unique_id)
    if match is None:
        return None
    return match.group(1) or "", int(match.group(2))


def merge_candidates(root: str = SYSFS_SLAB) -> list[MergeCandidate]:
    """Every mergeable cache on the system (its ``:...`` sysfs directory), newest id last."""
    links = _alias_map(root)
    candidates = []
    for entry in sorted(os.listdir(root)):
        parsed = _parse_unique_id(entry)
        path = os.path.join(root, entry)
        if parsed is None or os.path.islink(path):
            continue
        letters, size = parsed
        object_size = int(_read_text(os.path.join(path, "object_size")))
        align = int(_read_text(os.path.join(path, "align")))
        candidates.append(MergeCandidate(entry, size, align, object_size, "A" in letters, "a" in letters,
                                         "d" in letters, "D" in letters, tuple(links.get(entry, []))))
    return candidates


class LiveCpus(NamedTuple):
    """``present`` drives SLUB's min_objects; ``possible`` is nr_cpu_ids."""

    present: int
    possible: int


def _count_cpu_list(text: str) -> int:
    count = 0
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def read_cpus(root: str = SYSFS_CPU) -> LiveCpus:
    """Present and possible CPU counts (``/sys/devices/system/cpu/{present,possible}``, else os)."""
    counts = []
    for name in ("present", "possible"):
        path = os.path.join(root, name)
        try:
            counts.append(_count_cpu_list(_read_text(path)))
        except LiveSystemError:
            counts.append(os.cpu_count() or 1)
    return LiveCpus(counts[0], counts[1])


def read_cache_line(default: int, root: str = SYSFS_CPU) -> int:
    """The L1 data cache line size (``cpu0/cache/index0/coherency_line_size``), else ``default``."""
    try:
        return int(_read_text(os.path.join(root, "cpu0", "cache", "index0", "coherency_line_size")))
    except (LiveSystemError, ValueError):
        return default


class BootParams(NamedTuple):
    """Slab-related kernel command line parameters (0 / False when absent)."""

    min_objects: int = 0
    max_order: int = 3
    min_order: int = 0
    nomerge: bool = False


def read_boot_params(path: str = PROC_CMDLINE) -> BootParams:
    """``slub_min_objects``/``slab_min_objects``, ``*_max_order``, ``*_min_order``, ``slab_nomerge``."""
    values = {"min_objects": 0, "max_order": 3, "min_order": 0}
    nomerge = False
    for word in _read_text(path).split():
        key, _, value = word.partition("=")
        if key in ("slab_nomerge", "slub_nomerge"):
            nomerge = True
        elif key in ("slab_merge", "slub_merge"):
            nomerge = False
        for field in values:
            if key in (f"slub_{field}", f"slab_{field}") and value.isdigit():
                values[field] = int(value)
    return BootParams(values["min_objects"], values["max_order"], values["min_order"], nomerge)


# --------------------------------------------------------------------------- xstate

#: Intel SDM vol. 1, 13.4: XSAVE state components (bit: (name, size, standard-format offset)).
XSTATE_COMPONENTS = {
    2: ("AVX", 256, 576), 5: ("AVX-512 opmask", 64, 1088), 6: ("AVX-512 ZMM_Hi256", 512, 1152),
    7: ("AVX-512 Hi16_ZMM", 1024, 1664), 9: ("PKRU", 8, 2688), 11: ("CET user", 16, 0),
    17: ("AMX TILECFG", 64, 2752),
}
#: Not in the default (per-task) buffer: LBR is independent, AMX tile data is dynamic.
_NOT_DEFAULT = (1 << 15) | (1 << 18)
_LEGACY_AND_HEADER = 512 + 64


class XstateInfo(NamedTuple):
    """``fpu_kernel_cfg.default_size`` and where it came from."""

    size: int
    source: str
    features: int  # XSAVE feature bitmap the size covers
    compacted: bool


def xstate_from_kernel_log(lines: Iterable[str]) -> Optional[XstateInfo]:
    """The default xstate size from the ``x86/fpu:`` boot messages, or None if they are not there."""
    offsets: dict[int, tuple[int, int]] = {}
    guest_only = 0
    enabled: Optional[tuple[int, bool]] = None
    for line in lines:
        if "x86/fpu:" not in line:
            continue
        match = re.search(r"xstate_offset\[(\d+)\]:\s*(\d+), xstate_sizes\[(\d+)\]:\s*(\d+)", line)
        if match:
            offsets[int(match.group(1))] = (int(match.group(2)), int(match.group(4)))
        match = re.search(r"Supporting XSAVE feature (0x[0-9a-f]+):.*KVM only", line)
        if match:
            guest_only |= int(match.group(1), 16)
        match = re.search(r"Enabled xstate features (0x[0-9a-f]+), context size is \d+ bytes, "
                          r"using '(\w+)' format", line)
        if match:
            enabled = int(match.group(1), 16), match.group(2) == "compacted"
    if enabled is None:
        return None
    mask, compacted = enabled
    features = mask & ~guest_only & ~_NOT_DEFAULT
    return XstateInfo(_xstate_size(features, offsets, compacted), "kernel log (x86/fpu boot messages)",
                      features, compacted)


def _xstate_size(features: int, layout: dict[int, tuple[int, int]], compacted: bool) -> int:
    """XSAVE buffer size for ``features``; ``layout``: bit -> (offset, size) as the kernel laid it out."""
    if not compacted:
        ends = [offset + size for bit, (offset, size) in layout.items() if features >> bit & 1]
        return max([_LEGACY_AND_HEADER, *ends])
    offset, previous_end = _LEGACY_AND_HEADER, _LEGACY_AND_HEADER
    for bit in sorted(layout):
        where, size = layout[bit]
        aligned = where > previous_end and where % 64 == 0  # the component is 64-byte aligned
        previous_end = where + size
        if features >> bit & 1:
            offset = (offset + 63) // 64 * 64 if aligned else offset
            offset += size
    return offset


_CPUINFO_FEATURES = {"avx": (2,), "avx512f": (5, 6, 7), "pku": (9,), "user_shstk": (11,), "amx_tile": (17,)}


def xstate_from_cpuinfo_flags(flags: Sequence[str]) -> XstateInfo:
    """Estimate the default xstate size from ``/proc/cpuinfo`` flags (supervisor states are invisible)."""
    present = set(flags)
    if "xsave" not in present:
        return XstateInfo(512, "estimate from /proc/cpuinfo flags (no xsave: fxsave area)", 0b11, False)
    features = 0b11
    for flag, bits in _CPUINFO_FEATURES.items():
        if flag in present:
            for bit in bits:
                features |= 1 << bit
    compacted = "xsaves" in present
    layout = {bit: (offset, size) for bit, (_name, size, offset) in XSTATE_COMPONENTS.items()}
    if compacted:  # CPUID would give the alignment bits; none of these components needs one
        size = _LEGACY_AND_HEADER + sum(component[1] for bit, component in XSTATE_COMPONENTS.items()
                                        if features >> bit & 1)
    else:
        size = _xstate_size(features & ~(1 << 11), layout, False)
    return XstateInfo(size, "estimate from /proc/cpuinfo flags (supervisor states such as CET are not "
                            "listed there)", features, compacted)


def read_kernel_log(path: str = DEV_KMSG) -> list[str]:
    """The kernel log records still in the ring buffer (non-blocking read of ``/dev/kmsg``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise LiveSystemError(f"{path}: cannot open ({exc.strerror})") from None
    lines = []
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                if exc.errno == errno.EPIPE:  # overwritten while reading: skip on
                    continue
                raise LiveSystemError(f"{path}: cannot read ({exc.strerror})") from None
            if not record:
                break
            lines.append(record.decode("utf-8", "replace").split(";", 1)[-1].split("\n", 1)[0])
    finally:
        os.close(fd)
    return lines


def xstate_from_usercopy_whitelist(root: str = SYSFS_SLAB) -> Optional[XstateInfo]:
    """``/sys/kernel/slab/task_struct/usersize``: on x86 the task_struct usercopy whitelist is the FPU
    register area, ``fpu_kernel_cfg.default_size`` bytes (``arch_thread_struct_whitelist``).

    A separate attribute from ``object_size``, so using it is not circular.
    """
    path = os.path.join(root, "task_struct", "usersize")
    try:
        size = int(_read_text(path).split()[0])
    except (LiveSystemError, ValueError, IndexError):
        return None
    if size < _LEGACY_AND_HEADER and size != 512:
        return None
    return XstateInfo(size, f"{path} (FPU register usercopy whitelist)", 0, size != 512)


def read_xstate(kmsg: str = DEV_KMSG, cpuinfo: str = PROC_CPUINFO, root: str = SYSFS_SLAB) -> XstateInfo:
    """The running x86 kernel's default xstate size.

    From the kernel log if its boot messages are still there, else from the
    task_struct usercopy whitelist in sysfs, else estimated from cpuinfo flags.
    """
    try:
        info = xstate_from_kernel_log(read_kernel_log(kmsg))
    except LiveSystemError:
        info = None
    info = info or xstate_from_usercopy_whitelist(root)
    if info is not None:
        return info
    for line in _read_text(cpuinfo).splitlines():
        if line.startswith("flags"):
            return xstate_from_cpuinfo_flags(line.split(":", 1)[1].split())
    raise LiveSystemError(f"{cpuinfo}: no 'flags' line to estimate the xstate size from")


# --------------------------------------------------------------------------- BTF and prediction


def read_live_btf(struct_names: Optional[list[str]] = None, path: str = LIVE_BTF,
                  type_names: Optional[Iterable[str]] = None) -> Build:
    """The running kernel's BTF as a Build (for the host's architecture)."""
    from ..readers.btf import read_btf

    data = _read_bytes(path)
    build = read_btf(data, path, struct_names, type_names=type_names)
    build.provenance = dataclasses.replace(build.provenance, release=os.uname().release)
    return build


def _read_bytes(path: str) -> bytes:
    return _read_raw(path, "kernel built without CONFIG_DEBUG_INFO_BTF?")


class LivePrediction(NamedTuple):
    """Our prediction for one cache next to what the running kernel reports."""

    spec: CacheSpec
    predicted: SlabGeometry
    actual: LiveCache

    def mismatches(self) -> list[str]:
        """``field: predicted != actual`` for every figure that differs (empty when all agree)."""
        ours, theirs = self.predicted, self.actual
        pairs: list[tuple[str, object, object]] = [
            ("object_size", ours.object_size, theirs.object_size),
            ("slab_size", ours.slab_size, theirs.slab_size),
            ("objs_per_slab", ours.objs_per_slab, theirs.objs_per_slab),
            ("order", ours.order, theirs.order),
            ("align", ours.align, theirs.align)]
        predicted_id = ours.merged_into.unique_id if ours.merged_into else self.spec.name
        pairs.append(("merged into", predicted_id, theirs.unique_id))
        return [f"{name}: {mine} != {real}" for name, mine, real in pairs
                if real is not None and mine != real]


class LiveMachine(NamedTuple):
    """What the running machine contributes to the slab model, read in one place."""

    cpus: LiveCpus
    cache_line: int
    xstate_size: Optional[int]  # x86 only, and only when the build has a ``struct fpu``
    boot: "BootParams"

    @property
    def nr_cpus(self) -> int:
        """The CPU count SLUB sizes its slabs for: present CPUs, or nr_cpu_ids on a 1-CPU boot."""
        return self.cpus.present if self.cpus.present > 1 else self.cpus.possible


def read_machine(build: Build, xstate: Optional[XstateInfo] = None) -> LiveMachine:
    """CPUs, cache line, xstate size and slub_* boot parameters of this machine, for ``build``'s ABI."""
    abi = get_abi(build.arch)
    xstate_size = None
    if abi.name in ("x86_64", "i386") and build.has_struct("fpu"):
        xstate_size = (xstate or read_xstate()).size
    return LiveMachine(read_cpus(), read_cache_line(abi.cacheline_size), xstate_size, read_boot_params())


def predict_live(build: Optional[Build] = None, xstate: Optional[XstateInfo] = None,
                 root: str = SYSFS_SLAB) -> list[LivePrediction]:
    """Predict task_struct, signal_cache and pid on this machine and read what sysfs says."""
    if build is None:
        build = read_live_btf(list(SLAB_STRUCTS))
    abi = get_abi(build.arch)
    machine = read_machine(build, xstate)
    params = machine.boot
    candidates = merge_candidates(root) if os.path.isdir(root) else []
    results = []
    era = decide_era(build, abi, "slub")
    for spec in cache_specs_for_build(build, abi, machine.xstate_size, era=era):
        predicted = geometry(spec, "slub", machine.nr_cpus, abi.page_size, machine.cache_line, candidates,
                             min_objects=params.min_objects, max_order=params.max_order,
                             min_order=params.min_order, slab_nomerge=params.nomerge,
                             variant=era.slub_order_search)
        results.append(LivePrediction(spec, predicted, read_live_cache(spec.name, root)))
    return results
