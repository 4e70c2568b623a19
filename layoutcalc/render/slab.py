"""Presentation of slab views: a table per build, predicted against actual, and the scenario's effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..slab.common import SlabGeometry
from ..slab.view import CacheView, SlabView

if TYPE_CHECKING:
    from ..slab.census import Census, Predicted
    from ..slab.patchcost import PatchCost

_KEYS = ("object_size", "slab_size", "objs_per_slab", "order", "align")


def _geometry_dict(g: SlabGeometry, name: str) -> dict[str, Any]:
    return {"object_size": g.object_size, "slab_size": g.slab_size, "objs_per_slab": g.objs_per_slab,
            "order": g.order, "align": g.align, "bytes_per_object": round(g.bytes_per_object, 2),
            "merged_into": g.merged_into.unique_id if g.merged_into else None}


def _actual_dict(actual: Any) -> Optional[dict[str, Any]]:
    if actual is None:
        return None
    return {"object_size": actual.object_size, "slab_size": actual.slab_size,
            "objs_per_slab": actual.objs_per_slab, "order": actual.order, "align": actual.align,
            "merged_into": actual.unique_id if actual.is_merged else None}


def _effect_dict(cache: CacheView) -> list[dict[str, Any]]:
    return [{"allocator": e.allocator,
             "object_size_off": e.off.own_object_size, "object_size_on": e.on.own_object_size,
             "slab_size_off": e.off.slab_size, "slab_size_on": e.on.slab_size,
             "objs_per_slab_off": e.off.objs_per_slab, "objs_per_slab_on": e.on.objs_per_slab,
             "bytes_per_object_off": round(e.off.bytes_per_object, 2),
             "bytes_per_object_on": round(e.on.bytes_per_object, 2),
             "delta_bytes_per_object": round(e.delta_bytes_per_object, 2)} for e in cache.effects]


def slab_payload(views: Sequence[SlabView], warning: str = "") -> dict[str, Any]:
    """The JSON of ``layoutcalc slab``: ``{"caches": [...]}`` (one entry per build x cache)."""
    caches = []
    for view in views:
        for cache in view.caches:
            caches.append({"build": view.build, "cache": cache.spec.name, "struct": cache.spec.struct_name,
                           "predicted": _geometry_dict(cache.predicted, cache.spec.name),
                           "actual": _actual_dict(cache.actual), "match": cache.match,
                           "mismatches": list(cache.mismatches), "how": cache.spec.note,
                           "flat_effect": _effect_dict(cache)})
    payload: dict[str, Any] = {"caches": caches}
    if any(view.costs is not None for view in views):
        payload["costs"] = [view.costs.as_dict() for view in views if view.costs is not None]
    if warning:
        payload["warning"] = warning
    return payload


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _merge_text(cache: CacheView, live: bool) -> str:
    g = cache.predicted
    if g.merged_into is None:
        return "own cache" if live else "merging not predicted (needs the other caches: --live)"
    return f"merged into {g.merged_into.describe(exclude=cache.spec.name)}"


def slab_text(views: Sequence[SlabView], warning: str = "") -> str:
    out = []
    if warning:
        out += [f"warning: {warning}; showing the static prediction instead", ""]
    for view in views:
        xstate = f", x86 xstate {view.xstate_size} B" if view.xstate_size else ""
        out.append(f"{view.build} ({view.arch}; {view.allocator.upper()}, {view.cpus} CPUs, "
                   f"{view.page_size}-byte pages, cache line {view.cache_line}{xstate})")
        live = any(c.actual is not None for c in view.caches)
        header = f"  {'cache':<14}{'':9}{'object':>8}{'slab_size':>11}{'objs/slab':>11}{'order':>7}{'align':>7}" \
                 f"{'B/object':>10}"
        out.append(header)
        for cache in view.caches:
            g = cache.predicted
            label = "predicted" if live else ""
            out.append(f"  {cache.spec.name:<14}{label:<9}{g.object_size:>8}{g.slab_size:>11}{g.objs_per_slab:>11}"
                       f"{g.order:>7}{g.align:>7}{_fmt(g.bytes_per_object):>10}  {_merge_text(cache, live)}")
            if cache.actual is not None:
                a = cache.actual
                verdict = "match" if cache.match else "MISMATCH: " + "; ".join(cache.mismatches)
                where = f"link to {a.unique_id}" if a.is_merged else "own directory"
                out.append(f"  {'':<14}{'sysfs':<9}{a.object_size or '-':>8}{a.slab_size:>11}{a.objs_per_slab:>11}"
                           f"{a.order:>7}{a.align or '-':>7}{'':>10}  {where}: {verdict}")
            out.append(f"  {'':<14}{cache.spec.note}")
        merged = [c for c in view.caches if c.predicted.merged_into is not None]
        if merged:
            out.append("")
            out.append("  Merging: SLUB lets a new cache share an existing one when neither has a constructor,")
            out.append("  usercopy region or no-merge flag, the accounting flags match, and the existing object")
            out.append("  is at least as large and less than a word larger after alignment. sysfs then shows the")
            out.append("  cache's name as a link to the shared ':A-<size>' directory, whose object_size is the")
            out.append("  largest of the merged caches.")
        effects = [c for c in view.caches if c.effects]
        if effects:
            out.append("")
            out.append("  Effect of the added fields (off -> on):")
            for cache in effects:
                for e in cache.effects:
                    out.append(f"    {cache.spec.name:<14}{e.allocator.upper():<5} object {e.off.own_object_size}"
                               f"->{e.on.own_object_size}, slab_size {e.off.slab_size}->{e.on.slab_size}, "
                               f"objs/slab {e.off.objs_per_slab}->{e.on.objs_per_slab}, bytes/object "
                               f"{_fmt(e.off.bytes_per_object)}->{_fmt(e.on.bytes_per_object)} "
                               f"({e.delta_bytes_per_object:+.1f})")
        if view.costs is not None:
            out.append("")
            out.extend(costs_lines(view.costs))
        out.append("")
    return "\n".join(out)


def census_text(census: "Census") -> str:
    """``slab --live --all``: one line per cache, predicted against /sys/kernel/slab, then the tally."""
    summary = census.summary()
    lines = [f"running kernel {census.release}: {summary['caches']} caches, catalogue Linux {census.series}, "
             f"{census.machine.nr_cpus} CPUs",
             f"{'cache':<28} {'struct':<24} {'object':>7} {'slab':>6} {'objs':>5} {'ord':>3}  predicted"]
    for row in census.rows:
        m = row.measured
        if row.predicted is None:
            verdict = f"not predicted: {row.reason}"
        elif row.exact:
            verdict = "exact"
        else:
            verdict = "differs: " + ", ".join(row.mismatches())
        struct = row.struct or ("(kmalloc)" if row.kind == "kmalloc" else "-")
        lines.append(f"{row.name:<28} {struct:<24} {m.object_size:>7} {m.slab_size:>6} {m.objs_per_slab:>5} "
                     f"{m.order:>3}  {verdict}")
    lines.append(f"attributed to a struct: {summary['attributed']}, exact: {summary['exact']} "
                 f"({summary['exact_fraction']:.1%}; {summary['merged_with_others']} merged with an existing cache, "
                 f"whose figures come from sysfs as in find_mergeable; predicted from the struct alone: "
                 f"{summary['exact_without_candidates']} exact); merged where sysfs says: {summary['merge_right']}; "
                 f"kmalloc: {summary['kmalloc']}; not attributed: {summary['not_attributed']}")
    return "\n".join(lines) + "\n"


def _size(value: float) -> str:
    """Bytes as B, KiB or MiB."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def costs_lines(costs: "PatchCost") -> list[str]:
    """The patch's rows: struct, cache, via, sizes and bytes per object off -> on, count and total."""
    out = [f"  Cost per cache (catalogue Linux {costs.catalogue}; 'via': the member path that embeds the change)",
           f"    {'struct':<22}{'cache':<24}{'size':>11}{'B/object':>18}{'count':>10}{'total':>12}  via"]
    for row in costs.rows:
        size = f"{row.size_off}->{row.size_on}"
        if row.bytes_per_object_off is None or row.bytes_per_object_on is None:
            per = "not known"
        else:
            per = f"{_fmt(row.bytes_per_object_off)}->{_fmt(row.bytes_per_object_on)}"
        count = f"{row.count:,}" if row.count is not None else "-"
        total = _size(row.total_bytes) if row.total_bytes is not None else "-"
        cache = row.cache or f"({row.allocation})"
        tail = row.via or ""
        if row.bytes_per_object_on is None or row.cache is None:
            tail = (tail + "  " if tail else "") + row.note
        out.append(f"    {row.struct:<22}{cache:<24}{size:>11}{per:>18}{count:>10}{total:>12}  {tail}")
    out.append(f"    counted total: {_size(costs.total_bytes)}"
               + (f"; {costs.uncounted} rows not counted (give --count STRUCT=N or CACHE=N, or --live)"
                  if costs.uncounted else ""))
    out.extend(f"    warning: {warning}" for warning in costs.warnings)
    return out


def predictions_text(build: str, rows: Sequence["Predicted"]) -> str:
    """``slab --all -i BUILD``: every cache of the build's catalogue, predicted (merging not predicted)."""
    lines = [f"{build}: {len(rows)} caches of its catalogue whose struct it has (merging not predicted)",
             f"{'cache':<28} {'struct':<24} {'object':>7} {'slab':>6} {'objs':>5} {'ord':>3} {'B/object':>9}  how"]
    for row in rows:
        g = row.geometry
        if g is None:
            lines.append(f"{row.name:<28} {row.struct or '-':<24} not predicted: {row.reason}")
            continue
        lines.append(f"{row.name:<28} {row.struct or '-':<24} {g.object_size:>7} {g.slab_size:>6} "
                     f"{g.objs_per_slab:>5} {g.order:>3} {_fmt(g.bytes_per_object):>9}  "
                     f"{row.spec.note if row.spec else ''}")
    return "\n".join(lines) + "\n"
