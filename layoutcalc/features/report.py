"""The verdict: what a scenario's fields cost in slab memory, per build and struct, and the seed's claims.

For each build, the scenario is applied to every struct it changes (what-if),
each struct's cache is sized before and after with the slab model of the
build's era (SLUB for 2.6.23 and later, SLAB before), and the difference in
real bytes per object (slab bytes / objects per slab) decides the verdict:
``absorbed by alignment`` when it is zero, ``+N bytes per object`` otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..abi import Abi, get_abi
from ..changes.scenario import ClaimSpec, Scenario, ScenarioResult, apply_scenario
from ..model import ArrayType, Build, PointerType, StructType, Type
from ..slab.caches import CacheSpec
from ..slab.specs import cache_specs_for_build
from ..slab.common import SlabGeometry
from ..slab.era import SlabEra, decide_era
from ..slab.geometry import geometry

if TYPE_CHECKING:
    from ..slab.patchcost import PatchCost

DEFAULT_PROCESSES = 10_000
DEFAULT_CHILD_FRACTION = 0.1

ROW_COLUMNS = (
    "build", "arch", "struct", "cache", "size_off", "size_on", "object_off", "object_on",
    "objs_per_slab_off", "objs_per_slab_on", "bytes_per_object_off", "bytes_per_object_on",
    "delta_bytes_per_object", "verdict",
)
EXTRA_COLUMNS = ("allocator", "anchor", "order_off", "order_on", "cost_processes")


@dataclass(frozen=True)
class ReportOptions:
    """Parameters of the memory model; defaults describe these machines (2 CPUs, 4 KiB pages)."""

    processes: int = DEFAULT_PROCESSES
    child_fraction: float = DEFAULT_CHILD_FRACTION
    cpus: int = 2
    page_size: int = 4096
    xstate_size: int = 832  # AVX2 machines (x87+SSE 576 + AVX 256): the CPUs these snapshots ran on
    placement: str = "as-patched"
    allocator: Optional[str] = None  # None: the build's era decides
    defines: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One build x struct line of the report."""

    build: str
    arch: str
    struct: str
    cache: str
    allocator: str
    anchor: Optional[str]
    size_off: int
    size_on: int
    off: SlabGeometry
    on: SlabGeometry
    processes: int
    size_on_exact: bool = True  # False: the debug info leaves alignments open; size_on is the upper bound
    size_on_min: Optional[int] = None  # the lower bound then

    @property
    def delta_bytes_per_object(self) -> float:
        return self.on.bytes_per_object - self.off.bytes_per_object

    @property
    def verdict(self) -> str:
        """``absorbed by alignment`` (holes, padding or the slab's object alignment take the fields),
        ``absorbed by slab leftover`` (the object grew, but as many still fit in a slab), or the cost."""
        delta = self.delta_bytes_per_object
        if delta != 0:
            return f"{delta:+.{_decimals(delta)}f} bytes per object"
        if self.on.slab_size == self.off.slab_size:
            return "absorbed by alignment"
        return f"absorbed by slab leftover (object +{self.on.slab_size - self.off.slab_size} B)"

    def as_dict(self) -> dict[str, object]:
        return {
            "build": self.build, "arch": self.arch, "struct": self.struct, "cache": self.cache,
            "size_off": self.size_off, "size_on": self.size_on,
            "object_off": self.off.slab_size, "object_on": self.on.slab_size,
            "objs_per_slab_off": self.off.objs_per_slab, "objs_per_slab_on": self.on.objs_per_slab,
            "bytes_per_object_off": round(self.off.bytes_per_object, 2),
            "bytes_per_object_on": round(self.on.bytes_per_object, 2),
            "delta_bytes_per_object": round(self.delta_bytes_per_object, 2),
            "verdict": self.verdict,
            "allocator": self.allocator, "anchor": self.anchor,
            "order_off": self.off.order, "order_on": self.on.order,
            "cost_processes": round(self.delta_bytes_per_object * self.processes),
            "size_on_exact": self.size_on_exact,
            "size_on_min": self.size_on if self.size_on_min is None else self.size_on_min,
        }


def _decimals(value: float) -> int:
    return 0 if float(value).is_integer() else 1


@dataclass(frozen=True)
class AddedFields:
    """What a scenario adds per process, counted as the seed's objection counts it."""

    integers: int
    pointers: int
    bytes: int


@dataclass(frozen=True)
class Hierarchical:
    """Extra real bytes per process under the hierarchical design, relative to the build as it is.

    ``source`` is "build" when the build already has the design (``struct pid``
    with ``numbers[]``, 2.6.24 and later: level 0 costs nothing extra), or
    "scenario" when it was applied to an older build with the hierarchical scenario.
    """

    level0: float
    level1: float
    source: str

    def cost(self, processes: int, child_fraction: float) -> float:
        return processes * ((1 - child_fraction) * self.level0 + child_fraction * self.level1)


@dataclass(frozen=True)
class BuildReport:
    """The report of one build."""

    name: str
    arch: str
    rows: list[Row]
    added: AddedFields
    hierarchical: Optional["Hierarchical"]  # the merged 2.6.24 design's cost, if it can be told
    era: Optional[SlabEra] = None  # the kernel era and allocator the figures assume
    costs: Optional["PatchCost"] = None  # a patch's rows per struct x cache (containment included)

    def row(self, struct: str) -> Optional[Row]:
        return next((r for r in self.rows if r.struct == struct), None)

    @property
    def flat_bytes_per_process(self) -> float:
        return sum(r.delta_bytes_per_object for r in self.rows)


@dataclass(frozen=True)
class Claim:
    """One of the seed's claims judged on the builds of one kernel era (``era``, e.g. "2.6.22, SLAB")."""

    text: str
    struct: str
    holds_on: list[str]
    fails_on: list[str]
    detail: str
    era: str = ""

    @property
    def verdict(self) -> str:
        if not self.fails_on:
            return "holds"
        if not self.holds_on:
            return "does not hold"
        return "holds on some builds"

    def as_dict(self) -> dict[str, object]:
        return {"claim": self.text, "struct": self.struct, "era": self.era, "verdict": self.verdict,
                "holds_on": self.holds_on, "fails_on": self.fails_on, "detail": self.detail}


def build_report(build: Build, scenario: Scenario, options: ReportOptions) -> BuildReport:
    """Apply ``scenario`` to ``build`` and size every changed struct's cache before and after."""
    abi = get_abi(build.arch)
    results = apply_scenario(build, scenario, abi, options.placement, options.defines)
    era = decide_era(build, abi, options.allocator)
    specs = {spec.struct_name: spec for spec in
             cache_specs_for_build(build, abi, xstate_size=options.xstate_size, era=era)}
    rows = []
    for result in results:
        spec = specs.get(result.struct_name)
        if spec is None:
            continue
        off = _geometry(spec, era, options)
        # where the debug info cannot decide an alignment (BTF), the cost is judged at the upper bound
        what = result.result
        size_on = what.size_after if what.exact else what.size_after_max
        on = _geometry(spec.with_struct_size(size_on), era, options)
        rows.append(Row(build.name, build.arch, result.struct_name, spec.name, era.allocator, result.anchor,
                        what.size_before, size_on, off, on, options.processes, what.exact, what.size_after_min))
    return BuildReport(build.name, build.arch, rows, count_added(results, abi),
                       _hierarchical(build, abi, era, options), era)


def _geometry(spec: CacheSpec, era: SlabEra, options: ReportOptions) -> SlabGeometry:
    """``spec`` under the build's era; the page size is the build's unless the options change it."""
    page_size = era.page_size if options.page_size == ReportOptions.page_size else options.page_size
    extra: dict[str, object] = {"variant": era.slub_order_search} if era.allocator == "slub" else {}
    return geometry(spec, era.allocator, options.cpus, page_size, era.cache_line, None, **extra)


def _hierarchical(build: Build, abi: Abi, era: SlabEra, options: ReportOptions) -> Optional[Hierarchical]:
    """What a process costs under the merged design at namespace levels 0 and 1.

    The design is the bundled ``hierarchical`` scenario: its ``per_level`` change names the struct
    (and array member) that holds one element per namespace level.
    """
    from ..changes.scenario import load_scenario
    design = load_scenario("hierarchical")
    change = next((c for c in design.changes if c.per_level), None)
    if change is None or not build.has_struct(change.struct_name):
        return None
    struct = change.struct_name
    if build.get_struct(struct).has_member(change.per_level or ""):
        per_level = [[s for s in cache_specs_for_build(build, abi, options.xstate_size, level, era=era)
                      if s.struct_name == struct][0] for level in (0, 1)]
        g0, g1 = (_geometry(spec, era, options) for spec in per_level)
        return Hierarchical(0.0, g1.bytes_per_object - g0.bytes_per_object, "build")
    spec = [s for s in cache_specs_for_build(build, abi, options.xstate_size, era=era) if s.struct_name == struct][0]
    base = _geometry(spec, era, options).bytes_per_object
    extra = []
    for level in (0, 1):
        (result,) = [r for r in apply_scenario(build, design, abi, options.placement, {}, level)
                     if r.struct_name == struct]
        # 2.6.24 creates the per-level caches with SLAB_HWCACHE_ALIGN
        merged = dataclasses.replace(spec.with_struct_size(result.result.size_after), hwcache_align=True, align=0)
        extra.append(_geometry(merged, era, options).bytes_per_object - base)
    return Hierarchical(extra[0], extra[1], "scenario")


def _leaves(t: Type) -> tuple[int, int]:
    """(integers, pointers) in a type, counting through structs and arrays."""
    t = t.strip()
    if isinstance(t, PointerType):
        return 0, 1
    if isinstance(t, ArrayType):
        ints, ptrs = _leaves(t.element)
        return ints * (t.count or 0), ptrs * (t.count or 0)
    if isinstance(t, StructType):
        totals = [_leaves(m.type) for m in t.members]
        return sum(i for i, _ in totals), sum(p for _, p in totals)
    return 1, 0


def count_added(results: Sequence[ScenarioResult], abi: Abi) -> AddedFields:
    """Integers, pointers and bytes the scenario adds to one process's objects."""
    integers = pointers = size = 0
    for result in results:
        for member in result.result.added:
            ints, ptrs = _leaves(member.type)
            integers += ints
            pointers += ptrs
            size += member.type.size_bytes
    return AddedFields(integers, pointers, size)


def era_label(report: BuildReport) -> str:
    """ "2.6.22, SLAB" or "2.6.24+, SLUB": the era and allocator a build's figures assume."""
    if report.era is None:
        return ""
    return f"{report.era.generation}, {report.era.allocator.upper()}"


def by_era(reports: Sequence[BuildReport]) -> list[BuildReport]:
    """The reports with the seed's own era (2.6.22) first, the input order kept within an era."""
    return sorted(reports, key=lambda report: 0 if report.era is not None and report.era.is_2622 else 1)


def judge_claims(reports: Sequence[BuildReport], specs: Sequence[ClaimSpec] = ()) -> list[Claim]:
    """Each claim a scenario records ([[claim]]) per kernel era (2.6.22 first): where it holds, by how much not."""
    eras = list(dict.fromkeys(era_label(report) for report in by_era(reports)))
    return [claim for era in eras
            for claim in _judge([r for r in reports if era_label(r) == era], era, specs)]


def _judge(reports: Sequence[BuildReport], era: str, specs: Sequence[ClaimSpec]) -> list[Claim]:
    claims = []
    for spec in specs:
        text, struct = spec.text, spec.struct
        holds: list[str] = []
        fails: list[str] = []
        details: list[str] = []
        for report in reports:
            row = report.row(struct)
            if row is None:
                continue
            if spec.holds_when == "sole-cost":
                others_free = all(r.delta_bytes_per_object == 0 for r in report.rows if r.struct != struct)
                ok = row.delta_bytes_per_object > 0 and others_free
            else:
                ok = row.delta_bytes_per_object == 0
            (holds if ok else fails).append(report.name)
            details.append(f"{report.name}: sizeof {row.size_off}->{row.size_on}, "
                           f"{row.delta_bytes_per_object:+.1f} B/object")
        claims.append(Claim(text, struct, holds, fails, "; ".join(details), era))
    return claims
