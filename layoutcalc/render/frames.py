"""pandas views of the API's results, for notebooks.  pandas is imported only here, lazily.

Column names are snake_case and carry their unit: ``_bytes``, ``_bits``, or a
count (``objs_per_slab``, ``cacheline``, ``order``).  A quantity on two sides
is always spelled ``<quantity>_before[_unit]`` and ``<quantity>_after[_unit]``
(old/new of a diff, off/on of a what-if's fields, alike).  A value that does
not exist (the old size of an added struct, the type of an anonymous member's
name) is ``<NA>``, never 0, "" or None: integer columns are pandas ``Int64``,
text columns ``string``.  Struct and union names are in ``name`` without a
prefix, their kind in ``kind``.

One row per member (:func:`member_frame`), per struct of a build
(:func:`structs_frame`), per what-if struct, per report row, per slab cache,
per diff entry (:func:`diff_frame`, :func:`diff_members_frame`) and per build
of a history (:func:`history_frame`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..abi import Abi
from ..analysis.facts import DebugInfo, Source, struct_facts
from ..analysis.layout import DEFAULT_CACHELINE, LayoutStats, cachelines, member_byte_size
from ..model import QualifiedType, StructType, TypedefType

if TYPE_CHECKING:
    import pandas as pd

    from ..features.diff import DiffResult
    from ..features.report import BuildReport, Claim
    from ..changes.scenario import ScenarioResult
    from ..slab.common import SlabGeometry
    from ..slab.view import SlabView

MEMBER_COLUMNS = (
    "member", "type", "offset_bytes", "size_bytes", "bit_offset", "bit_size", "hole_before_bytes",
    "bit_hole_before_bits", "cacheline", "alignment_bytes", "alignment_source",
)


def alignment_source(abi: Abi, struct: StructType, index: int,
                     debug_info: DebugInfo = DebugInfo.ATTRIBUTES) -> str:
    """Where member ``index``'s alignment comes from (read from :mod:`layoutcalc.analysis.facts`).

    ``attribute`` (an explicit ``__aligned__`` on the member), ``inferred``
    (deduced from the recorded offsets, holes and sizes where the debug info
    has no attribute, here or in a nested type), ``packed`` (the struct is
    packed: 1), ``typedef attribute`` (an aligned typedef), or ``type`` (the
    ABI's rule for the member's type).
    """
    facts = struct_facts(struct, abi, debug_info)
    known = facts.members[index]
    if known.source is Source.RECORDED:
        return "attribute"
    if known.source in (Source.HOLE, Source.SIZE, Source.NESTED):
        return "inferred"
    if facts.packed:
        return "packed"
    declared = struct.members[index].type
    while isinstance(declared, (TypedefType, QualifiedType)):
        if isinstance(declared, TypedefType) and declared.alignment_attr:
            return "typedef attribute"
        declared = declared.target
    return "type"


def member_rows(struct: StructType, stats: LayoutStats, abi: Abi, cacheline_size: int = DEFAULT_CACHELINE,
                debug_info: DebugInfo = DebugInfo.ATTRIBUTES) -> list[dict[str, Any]]:
    """The rows of :func:`member_frame` as plain dicts."""
    rows = []
    for index, member in enumerate(struct.members):
        if index == 0:
            hole, bit_hole = stats.pre_hole, stats.pre_bit_hole
        else:
            previous = stats.gaps[index - 1]
            hole, bit_hole = previous.hole, previous.bit_hole
        rows.append({
            "member": member.name or "",
            "type": member.type.c_name(),
            "offset_bytes": member.offset_bytes,
            "size_bytes": member_byte_size(member),
            "bit_offset": member.bitfield_offset if member.bit_size is not None else None,
            "bit_size": member.bit_size,
            "hole_before_bytes": hole,
            "bit_hole_before_bits": bit_hole,
            "cacheline": member.offset_bytes // cacheline_size,
            "alignment_bytes": struct_facts(struct, abi, debug_info).members[index].alignment,
            "alignment_source": alignment_source(abi, struct, index, debug_info),
        })
    return rows


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], nullable: Iterable[str] = (),
           text: Iterable[str] = ()) -> "pd.DataFrame":
    """A frame of ``rows``; ``nullable`` integer columns become ``Int64`` and ``text`` columns ``string``,
    with "" and None read as <NA>."""
    import pandas as pd
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for column in nullable:
        frame[column] = frame[column].astype("Int64")
    for column in text:
        frame[column] = frame[column].replace("", None).astype("string")
    return frame


def _split_label(label: str) -> tuple[str, str]:
    """(name, kind) of a catalogue label: ``union foo`` -> (foo, union), ``device`` -> (device, struct)."""
    return (label[len("union "):], "union") if label.startswith("union ") else (label, "struct")


def member_frame(struct: StructType, stats: LayoutStats, abi: Abi, cacheline_size: int = DEFAULT_CACHELINE,
                 debug_info: DebugInfo = DebugInfo.ATTRIBUTES) -> "pd.DataFrame":
    """One row per member: offset, size, bit offset/size, the hole before it, cacheline, alignment and source.

    ``bit_offset`` is pahole's: the bit inside the storage unit at
    ``offset_bytes`` (null for an ordinary member).  ``frame.attrs`` holds the
    struct's ``size_bytes``, ``padding_bytes`` and ``bit_padding_bits``, so
    that members + holes + padding add up to the size::

        8 * size_bytes == sum(bit_size or 8 * size_bytes) + 8 * sum(hole_before_bytes)
                          + sum(bit_hole_before_bits) + 8 * padding_bytes + bit_padding_bits
    """
    frame = _frame(member_rows(struct, stats, abi, cacheline_size, debug_info), MEMBER_COLUMNS,
                   ("bit_offset", "bit_size"), ("member",))
    frame.attrs.update({"struct": struct.name or "", "size_bytes": struct.size_bytes,
                        "padding_bytes": stats.padding, "bit_padding_bits": stats.bit_padding,
                        "cacheline_size": cacheline_size})
    return frame


def whatif_member_frame(item: "ScenarioResult", cacheline_size: int = DEFAULT_CACHELINE) -> "pd.DataFrame":
    """:func:`member_frame` of the re-laid-out struct, plus ``added`` and ``moved_bytes`` (0: in place)."""
    from ..abi import struct_alignment
    from ..analysis.layout import layout_stats
    from .layoutmap import member_shifts
    result = item.result
    stats = layout_stats(result.after, struct_alignment(result.abi, result.after), cacheline_size)
    frame = member_frame(result.after, stats, result.abi, cacheline_size)
    added = {id(m) for m in result.added}
    shifts = member_shifts(result.before, result.after, added)
    frame["added"] = [id(m) in added for m in result.after.members]
    frame["moved_bytes"] = [shifts.get(id(m), 0) for m in result.after.members]
    return frame


WHATIF_COLUMNS = (
    "struct", "abi", "placement", "anchor", "added_fields", "moved_members", "size_before_bytes",
    "size_after_bytes", "size_delta_bytes", "alignment_before_bytes", "alignment_after_bytes",
    "cachelines_before", "cachelines_after",
)


def whatif_frame(items: Sequence["ScenarioResult"], cacheline_size: int = DEFAULT_CACHELINE) -> "pd.DataFrame":
    """One row per re-laid-out struct: sizes, alignments and cachelines before and after."""
    from .layoutmap import member_shifts
    rows = []
    for item in items:
        result = item.result
        added = {id(m) for m in result.added}
        rows.append({
            "struct": item.struct_name, "abi": result.abi.name, "placement": result.placement,
            "anchor": item.anchor, "added_fields": len(result.added),
            "moved_members": len(member_shifts(result.before, result.after, added)),
            "size_before_bytes": result.size_before, "size_after_bytes": result.size_after,
            "size_delta_bytes": result.size_delta,
            "alignment_before_bytes": result.alignment_before, "alignment_after_bytes": result.alignment_after,
            "cachelines_before": cachelines(result.size_before, cacheline_size),
            "cachelines_after": cachelines(result.size_after, cacheline_size),
        })
    return _frame(rows, WHATIF_COLUMNS)


REPORT_COLUMNS = (
    "build", "arch", "struct", "cache", "allocator", "anchor", "size_before_bytes", "size_after_bytes",
    "object_before_bytes", "object_after_bytes", "objs_per_slab_before", "objs_per_slab_after", "order_before",
    "order_after", "bytes_per_object_before", "bytes_per_object_after", "delta_bytes_per_object", "processes",
    "cost_bytes", "verdict",
)


def report_frame(reports: Sequence["BuildReport"]) -> "pd.DataFrame":
    """One row per build x struct of ``layoutcalc report``; before/after: the scenario's fields off and on.

    ``object_*_bytes`` is the slab's per-object stride, ``bytes_per_object_*``
    the slab's bytes divided by its objects (what an object really costs),
    ``cost_bytes`` the delta times ``processes``.
    """
    rows = []
    for report in reports:
        for row in report.rows:
            rows.append({
                "build": row.build, "arch": row.arch, "struct": row.struct, "cache": row.cache,
                "allocator": row.allocator, "anchor": row.anchor,
                "size_before_bytes": row.size_off, "size_after_bytes": row.size_on,
                "object_before_bytes": row.off.slab_size, "object_after_bytes": row.on.slab_size,
                "objs_per_slab_before": row.off.objs_per_slab, "objs_per_slab_after": row.on.objs_per_slab,
                "order_before": row.off.order, "order_after": row.on.order,
                "bytes_per_object_before": row.off.bytes_per_object,
                "bytes_per_object_after": row.on.bytes_per_object,
                "delta_bytes_per_object": row.delta_bytes_per_object, "processes": row.processes,
                "cost_bytes": row.delta_bytes_per_object * row.processes, "verdict": row.verdict,
            })
    return _frame(rows, REPORT_COLUMNS, text=("anchor",))


def claims_frame(claims: Sequence["Claim"]) -> "pd.DataFrame":
    """One row per claim of the seed and kernel era: its words, the struct, the verdict, where it holds or fails."""
    rows = [{"era": c.era, "claim": c.text, "struct": c.struct, "verdict": c.verdict,
             "holds_on": ", ".join(c.holds_on), "fails_on": ", ".join(c.fails_on)} for c in claims]
    return _frame(rows, ("era", "claim", "struct", "verdict", "holds_on", "fails_on"))


def leftover_bytes(geometry: "SlabGeometry") -> int:
    """Bytes of a slab that hold no object (SLAB's on-slab management counts as used)."""
    used = geometry.objs_per_slab * geometry.slab_size
    if geometry.allocator == "slab" and geometry.mgmt_on_slab:
        used += geometry.mgmt_bytes
    return geometry.slab_bytes - used


SLAB_COLUMNS = (
    "build", "arch", "allocator", "cache", "struct", "struct_size_bytes", "object_size_bytes", "slab_size_bytes",
    "objs_per_slab", "order", "slab_bytes", "leftover_bytes", "bytes_per_object", "merged_into",
    "struct_size_after_bytes", "slab_size_after_bytes", "objs_per_slab_after", "order_after", "leftover_after_bytes",
    "bytes_per_object_after", "delta_bytes_per_object",
)


def slab_frame(views: Sequence["SlabView"]) -> "pd.DataFrame":
    """One row per build x cache: the predicted geometry and, with a scenario, the geometry with its fields on.

    ``slab_size_bytes`` is the per-object stride, ``slab_bytes`` one slab
    (``page_size << order``); the ``*_after`` columns (the scenario's fields on)
    are <NA> without a scenario.
    """
    rows = []
    for view in views:
        for cache in view.caches:
            g = cache.predicted
            effect = next((e for e in cache.effects if e.allocator == view.allocator), None)
            row: dict[str, Any] = {
                "build": view.build, "arch": view.arch, "allocator": view.allocator, "cache": cache.spec.name,
                "struct": cache.spec.struct_name, "struct_size_bytes": cache.spec.struct_size,
                "object_size_bytes": g.object_size, "slab_size_bytes": g.slab_size,
                "objs_per_slab": g.objs_per_slab, "order": g.order, "slab_bytes": g.slab_bytes,
                "leftover_bytes": leftover_bytes(g), "bytes_per_object": g.bytes_per_object,
                "merged_into": g.merged_into.unique_id if g.merged_into else None,
            }
            if effect is not None:
                on = effect.on
                row.update({"struct_size_after_bytes": cache.spec.struct_size + effect.delta_object_size,
                            "slab_size_after_bytes": on.slab_size, "objs_per_slab_after": on.objs_per_slab,
                            "order_after": on.order, "leftover_after_bytes": leftover_bytes(on),
                            "bytes_per_object_after": on.bytes_per_object,
                            "delta_bytes_per_object": effect.delta_bytes_per_object})
            rows.append(row)
    return _frame(rows, SLAB_COLUMNS, ("struct_size_after_bytes", "slab_size_after_bytes", "objs_per_slab_after",
                                       "order_after", "leftover_after_bytes"), ("merged_into",))


HISTORY_META = ("arch", "release", "version", "flavour", "package")


def history_frame(rows: Sequence[Any]) -> "pd.DataFrame":
    """One row per build of ``layoutcalc history`` (its ``HistoryRow``), in order, with the build's metadata.

    Per struct ``<name>_size_bytes`` and ``<name>_delta_bytes``: the change from
    the previous build of the same series (flavour on arch) that has it; <NA>
    for the first of a series, where the struct is absent, and never across
    architectures.
    """
    names = list(dict.fromkeys(name for row in rows for name in row.sizes))
    last: dict[tuple[Any, str], int] = {}
    records = []
    for row in rows:
        meta = getattr(row, "meta", None)
        series = getattr(row, "series", ("", ""))
        record: dict[str, Any] = {"build": row.build, "source": row.source,
                                  **{key: getattr(meta, key, "") for key in HISTORY_META}}
        for name in names:
            size = row.sizes.get(name)
            key = (series, name)
            record[f"{name}_size_bytes"] = size
            record[f"{name}_delta_bytes"] = size - last[key] if size is not None and key in last else None
            if size is not None:
                last[key] = size
        records.append(record)
    sized = [f"{n}_{what}_bytes" for n in names for what in ("size", "delta")]
    return _frame(records, ["build", "source", *HISTORY_META, *sized], sized, HISTORY_META)


STRUCTS_COLUMNS = (
    "name", "kind", "definition", "definitions", "size_bytes", "cachelines", "members", "holes", "hole_bytes",
    "bit_holes", "bit_hole_bits", "padding_bytes",
)


def structs_frame(catalogue: Any) -> "pd.DataFrame":
    """One row per struct and union definition of a build (a :class:`~layoutcalc.features.diff.Catalogue`).

    ``definition`` numbers the distinct layouts of one name (1 for most),
    ``definitions`` says how many there are; ``members`` counts the direct and
    the anonymous aggregates' members; ``bit_holes`` is <NA> when the input
    did not record them (an older baseline).  ``frame.attrs`` holds the
    build's ``name``, ``arch``, ``source`` and ``cacheline_size``.
    """
    rows = []
    for label, layouts in catalogue.layouts.items():
        name, kind = _split_label(label)
        for number, layout in enumerate(layouts, 1):
            bit_holes = layout.bit_holes
            rows.append({
                "name": name, "kind": kind, "definition": number, "definitions": len(layouts),
                "size_bytes": layout.size, "cachelines": layout.cachelines(catalogue.cacheline_size),
                "members": len(layout.members), "holes": len(layout.holes), "hole_bytes": layout.sum_holes,
                "bit_holes": None if bit_holes is None else len(bit_holes),
                "bit_hole_bits": None if bit_holes is None else sum(h.size for h in bit_holes),
                "padding_bytes": layout.padding,
            })
    frame = _frame(rows, STRUCTS_COLUMNS, ("bit_holes", "bit_hole_bits"), ("name", "kind"))
    frame.attrs.update({"name": catalogue.name, "arch": catalogue.arch, "source": catalogue.source,
                        "cacheline_size": catalogue.cacheline_size})
    return frame


DIFF_COLUMNS = (
    "name", "kind", "status", "size_before_bytes", "size_after_bytes", "delta_bytes", "cachelines_before",
    "cachelines_after", "size_class_before", "size_class_after", "members_added", "members_removed",
    "members_changed", "holes_before_bytes", "holes_after_bytes", "cache", "objs_per_slab_before",
    "objs_per_slab_after", "note",
)


def diff_frame(result: "DiffResult") -> "pd.DataFrame":
    """One row per struct that ``layoutcalc diff`` lists: status, sizes and delta, cachelines, kmalloc
    size class, member changes, bytes in holes before and after, and the slab cache's objects per slab
    when it is a known cache.  The side a struct is missing from is <NA>, not 0."""
    cacheline_size = result.new.cacheline_size
    rows = []
    for change in result.changes:
        kinds = [m.change for m in change.members]
        old_lines, new_lines = change.cachelines(cacheline_size)
        old_class, new_class = change.size_classes()
        name, kind = _split_label(change.label)
        old, new = change.old, change.new
        rows.append({
            "name": name, "kind": kind, "status": change.status,
            "size_before_bytes": old.size if old else None, "size_after_bytes": new.size if new else None,
            "delta_bytes": change.delta,
            "cachelines_before": old_lines if old else None, "cachelines_after": new_lines if new else None,
            "size_class_before": old_class, "size_class_after": new_class,
            "members_added": kinds.count("added"), "members_removed": kinds.count("removed"),
            "members_changed": len(kinds) - kinds.count("added") - kinds.count("removed"),
            "holes_before_bytes": old.sum_holes if old else None,
            "holes_after_bytes": new.sum_holes if new else None,
            "cache": change.slab.old.cache if change.slab else None,
            "objs_per_slab_before": change.slab.old.objs_per_slab if change.slab else None,
            "objs_per_slab_after": change.slab.new.objs_per_slab if change.slab else None,
            "note": change.note,
        })
    return _frame(rows, DIFF_COLUMNS, ("size_before_bytes", "size_after_bytes", "cachelines_before",
                                       "cachelines_after", "holes_before_bytes", "holes_after_bytes",
                                       "objs_per_slab_before", "objs_per_slab_after"),
                  ("name", "kind", "status", "size_class_before", "size_class_after", "cache", "note"))


DIFF_MEMBER_COLUMNS = (
    "name", "kind", "change", "member", "type_before", "type_after", "offset_before_bytes", "offset_after_bytes",
    "bit_offset_before", "bit_offset_after", "size_before_bytes", "size_after_bytes", "bit_size_before",
    "bit_size_after",
)


def diff_members_frame(result: "DiffResult") -> "pd.DataFrame":
    """One row per member change (added, removed, resized, retyped, moved) of every changed struct.

    Offsets are pahole's: a bitfield's ``offset_*_bytes`` is its storage unit's and
    ``bit_offset_*`` the bit inside it (<NA> for an ordinary member).
    """
    rows = []
    for change in result.changes:
        name, kind = _split_label(change.label)
        for member in change.members:
            old, new = member.old, member.new
            rows.append({
                "name": name, "kind": kind, "change": member.change, "member": member.name,
                "type_before": old.type_name if old else None, "type_after": new.type_name if new else None,
                "offset_before_bytes": old.offset if old else None,
                "offset_after_bytes": new.offset if new else None,
                "bit_offset_before": old.bitfield_offset if old and old.bit_size else None,
                "bit_offset_after": new.bitfield_offset if new and new.bit_size else None,
                "size_before_bytes": old.size if old else None, "size_after_bytes": new.size if new else None,
                "bit_size_before": (old.bit_size or None) if old else None,
                "bit_size_after": (new.bit_size or None) if new else None,
            })
    return _frame(rows, DIFF_MEMBER_COLUMNS, DIFF_MEMBER_COLUMNS[6:],
                  ("name", "kind", "change", "member", "type_before", "type_after"))


CHECK_COLUMNS = (
    "name", "kind", "delta_bytes", "size_before_bytes", "size_after_bytes", "rule", "budget_bytes",
    "knock_on_bytes", "allowed", "regression", "reasons", "causes",
)


def check_frame(result: Any) -> "pd.DataFrame":
    """One row per grown struct of ``layoutcalc check`` (a :class:`~layoutcalc.features.budget.CheckResult`).

    ``causes`` names the embedded structs that grew inside it (``device``), ``knock_on_bytes`` the
    part of its growth their ``knock_on`` rules allow; ``reasons`` is "; "-joined, <NA> when none.
    """
    rows = []
    for verdict in result.verdicts:
        change = verdict.change
        name, kind = _split_label(change.label)
        rows.append({
            "name": name, "kind": kind, "delta_bytes": change.delta,
            "size_before_bytes": change.old_size, "size_after_bytes": change.new_size,
            "rule": verdict.rule.pattern, "budget_bytes": verdict.rule.growth, "knock_on_bytes": verdict.knock_on,
            "allowed": verdict.allowed, "regression": verdict.regression,
            "reasons": "; ".join(verdict.reasons), "causes": ", ".join(dict.fromkeys(c.label for c in verdict.causes)),
        })
    return _frame(rows, CHECK_COLUMNS, text=("name", "kind", "rule", "reasons", "causes"))
