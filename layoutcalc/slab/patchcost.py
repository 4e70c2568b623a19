"""What a patch costs in memory: one row per changed struct and per cache that holds it, directly or embedded.

:func:`patch_cost` applies the patch (a scenario) to a build, grows every
container that embeds a changed struct by value (:mod:`.containment`), finds
each grown struct's caches in the catalogue (:mod:`.catalogue`), and sizes
each cache before and after with the build's allocator.  A changed struct
with no cache in the catalogue and no allocation known is one row that says
"how it is allocated is not known" (never a cost of 0).  Other allocations,
given with ``--alloc STRUCT=kmalloc|percpu|static|vmalloc`` or found in the
tree (``kmalloc(sizeof(struct X))`` and friends, ``DEFINE_PER_CPU(struct X,
...)``), cost by the kmalloc size class, count x delta (per-CPU: one per CPU),
or whole pages.  Counts come from ``--count
STRUCT=N`` (or ``CACHE=N``), or from ``/sys/kernel/slab/<cache>/objects``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from ..abi import get_abi
from ..changes.scenario import Scenario, apply_scenario
from ..model import Build, StructType
from .catalogue import Catalogue, catalogue_for_build
from .common import align_up
from .containment import Grown, grow_containers
from .era import decide_era
from .geometry import era_geometry
from .caches import CacheSpec
from .specs import Unsized, entry_struct, is_per_level, spec_for_entry

NOT_KNOWN = "how it is allocated is not known"
ALLOCATIONS = ("slab", "kmalloc", "kvmalloc", "percpu", "static", "vmalloc")


@dataclass(frozen=True)
class CostRow:
    """One struct x cache (or allocation) of a patch's cost; bytes per object None when not known."""

    struct: str
    cache: Optional[str]
    via: str
    size_off: int
    size_on: int
    bytes_per_object_off: Optional[float]
    bytes_per_object_on: Optional[float]
    allocation: str
    count: Optional[int] = None
    count_source: str = ""
    note: str = ""

    @property
    def delta_bytes_per_object(self) -> Optional[float]:
        if self.bytes_per_object_off is None or self.bytes_per_object_on is None:
            return None
        return self.bytes_per_object_on - self.bytes_per_object_off

    @property
    def total_bytes(self) -> Optional[float]:
        delta = self.delta_bytes_per_object
        return None if delta is None or self.count is None else delta * self.count

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: Optional[float]) -> Optional[float]:
            return None if value is None else round(value, 2)
        return {"struct": self.struct, "cache": self.cache, "via": self.via, "size_off": self.size_off,
                "size_on": self.size_on, "bytes_per_object_off": rounded(self.bytes_per_object_off),
                "bytes_per_object_on": rounded(self.bytes_per_object_on),
                "delta_bytes_per_object": rounded(self.delta_bytes_per_object), "allocation": self.allocation,
                "count": self.count, "count_source": self.count_source, "total_bytes": rounded(self.total_bytes),
                "note": self.note}


@dataclass(frozen=True)
class PatchCost:
    """The rows of one build, and the counted total."""

    build: str
    catalogue: str
    rows: list[CostRow]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> float:
        return sum(row.total_bytes or 0 for row in self.rows)

    @property
    def uncounted(self) -> int:
        return sum(1 for row in self.rows if row.total_bytes is None)

    def as_dict(self) -> dict[str, Any]:
        return {"build": self.build, "catalogue": self.catalogue, "rows": [row.as_dict() for row in self.rows],
                "total_bytes": round(self.total_bytes, 2), "total_kib": round(self.total_bytes / 1024, 2),
                "rows_not_counted": self.uncounted, "warnings": self.warnings}


def allocation_cost(kind: str, size_off: int, size_on: int, catalogue: Catalogue,
                    page_size: int = 4096) -> tuple[Optional[float], Optional[float], str]:
    """Bytes per object off and on for an allocation kind other than a named cache."""
    if kind == "kvmalloc":  # kmalloc first; vmalloc when that fails (large sizes under memory pressure)
        off, on, note = allocation_cost("kmalloc", size_off, size_on, catalogue, page_size)
        return off, on, note + " (kvmalloc: vmalloc pages when kmalloc fails)"
    if kind == "kmalloc" and catalogue.kmalloc is not None:
        off, on = catalogue.kmalloc.size_class(size_off), catalogue.kmalloc.size_class(size_on)
        pages = [None if c is not None else page_size << max(0, (size - 1).bit_length() - page_size.bit_length() + 1)
                 for c, size in ((off, size_off), (on, size_on))]
        return (float(off if off is not None else pages[0] or 0), float(on if on is not None else pages[1] or 0),
                f"kmalloc size class {off or 'pages'} -> {on or 'pages'}")
    if kind in ("percpu", "static"):
        return float(size_off), float(size_on), f"{kind}: count x delta, no slab"
    if kind == "vmalloc":
        return (float(align_up(size_off, page_size)), float(align_up(size_on, page_size)),
                "vmalloc: whole pages")
    return None, None, NOT_KNOWN


def read_counts(path: str) -> dict[str, int]:
    """A workload file: one ``NAME N`` or ``NAME=N`` per line (struct or cache name), ``#`` comments."""
    from ..errors import InputError
    from ..safe_read import read_bytes
    counts: dict[str, int] = {}
    text = read_bytes(path, "counts", 1 << 20, error=InputError).decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].replace("=", " ").split()
        if not words:
            continue
        if len(words) != 2 or not words[1].isdigit():
            raise InputError(f"{path}:{number}: expected 'NAME N' (a struct or cache and its object count)")
        counts[words[0]] = int(words[1])
    return counts


def _count(struct: str, cache: Optional[str], counts: Mapping[str, int],
           live_objects: Optional[Mapping[str, int]]) -> tuple[Optional[int], str]:
    if cache is not None and cache in counts:
        return counts[cache], "--count"
    if struct in counts:
        return counts[struct], "--count"
    if live_objects is not None and cache is not None and cache in live_objects:
        return live_objects[cache], "/sys/kernel/slab/objects"
    return None, ""


def patch_cost(build: Build, scenario: Scenario, counts: Optional[Mapping[str, int]] = None,
               allocations: Optional[Mapping[str, str]] = None, cpus: int = 2,
               xstate_size: Optional[int] = 832, live_objects: Optional[Mapping[str, int]] = None,
               catalogue: Optional[Catalogue] = None, placement: str = "as-patched",
               defines: Optional[Mapping[str, bool]] = None) -> PatchCost:
    """Rows of the patch's cost on ``build`` (which should hold every struct: containers are searched in it)."""
    counts = counts or {}
    allocations = allocations or {}
    abi = get_abi(build.arch)
    era = decide_era(build, abi)
    catalogue = catalogue or catalogue_for_build(build)
    results = apply_scenario(build, scenario, abi, placement, dict(defines or {}))
    changed: dict[str, StructType] = {r.struct_name: r.result.after for r in results}
    grown = [Grown(r.struct_name, r.result.before, r.result.after, "") for r in results]
    grown += grow_containers(build, abi, changed)
    by_struct: dict[str, list[Any]] = {}
    for entry in catalogue.entries:
        name = entry_struct(entry)
        if name is not None and catalogue.lookup(entry.name) is entry:
            by_struct.setdefault(name, []).append(entry)
    rows: list[CostRow] = []
    warnings: list[str] = []
    for item in grown:
        caches = by_struct.get(item.name, [])
        for entry in caches:
            # a per-level cache (pid_%u) is shown at namespace level 1: pid_2, the first child namespace's
            spec = spec_for_entry(entry, build, abi, era.cache_line, xstate_size, level=1 if is_per_level(entry) else 0)
            name = spec.name if isinstance(spec, CacheSpec) else entry.name
            count, source = _count(item.name, name, counts, live_objects) if name == entry.name else _count(
                "", name, counts, live_objects)
            if isinstance(spec, Unsized):
                rows.append(CostRow(item.name, name, item.via, item.size_off, item.size_on, None, None,
                                    "slab", count, source, f"not sized: {spec.reason}"))
                continue
            if spec.struct_size != item.size_off:
                warnings.append(f"{entry.name}: sizeof(struct {item.name}) is {item.size_off} in the build, the "
                                f"catalogue's size rule gives {spec.struct_size}")
            off = era_geometry(spec, era, cpus)
            on = era_geometry(spec.with_struct_size(item.size_on), era, cpus)
            rows.append(CostRow(item.name, name, item.via, item.size_off, item.size_on, off.bytes_per_object,
                                on.bytes_per_object, era.allocator, count, source, spec.note))
        kinds: dict[str, str] = {allocations[item.name]: "--alloc"} if item.name in allocations else {
            kind: f"{sites[1]}" + (f" and {sites[0] - 1} more" if sites[0] > 1 else "")
            for kind, sites in catalogue.allocations.get(item.name, {}).items()}
        if not kinds and not caches and not item.via:
            count, source = _count(item.name, None, counts, None)
            rows.append(CostRow(item.name, None, item.via, item.size_off, item.size_on, None, None, "not known",
                                count, source, NOT_KNOWN))
        for kind, where in kinds.items():
            off_b, on_b, note = allocation_cost(kind, item.size_off, item.size_on, catalogue, era.page_size)
            count, source = _count(item.name, None, counts, None)
            if kind == "percpu" and count is None:
                count, source = cpus, "one per CPU"
            rows.append(CostRow(item.name, None, item.via, item.size_off, item.size_on, off_b, on_b, kind,
                                count, source, f"{note}; {where}"))
    return PatchCost(build.name, catalogue.series, rows, warnings)
