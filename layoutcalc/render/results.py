"""Every command's result in every format it has: the registry behind :func:`layoutcalc.render.render`.

One table, keyed by result type (its module under ``layoutcalc.features`` and its name), then
format: each entry returns the exact string the CLI prints on stdout for that command and
``--format``.  The renderers themselves live beside it (pahole, whatif, report, slab, diff...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional, Union

from ..errors import FormatError
from .structs import rows_csv, sizes_text, to_json

if TYPE_CHECKING:
    from ..changes.scenario import ScenarioResult
    from ..features.budget import CheckResult
    from ..features.diff import DiffResult
    from ..features.results import (BaselineResult, CensusResult, HistoryResult, ReorganizeResult, ReportResult,
                                    ShowResult, SizeHuntResult, SizesResult, SlabPredictionsResult, SlabResult,
                                    SnapshotResult, VerifyResult, WhatIfRun)
    from ..model import Build, StructType, TypedefType

Renderer = Callable[..., str]


def pahole_listing(build: "Build", found: Union["StructType", "TypedefType"], cacheline_size: int, *,
                   expand: bool = False, hex_offsets: bool = False) -> str:
    """pahole's listing of one struct, union or typedef of ``build`` (``show``'s text, one name).

    On BTF the ``__aligned__`` attributes are those pahole's BTF loader infers, as ``pahole -F btf``
    shows them (:mod:`layoutcalc.analysis.facts`).
    """
    from .pahole import pahole_text
    alignments = None
    if build.provenance.format == "btf":
        from ..abi import get_abi
        from ..analysis.facts import debug_info_of, struct_facts

        def alignments(struct: "StructType") -> tuple[Optional[int], list[Optional[int]]]:
            facts = struct_facts(struct, get_abi(build.arch), debug_info_of(build))
            return facts.pahole_alignment, [m.pahole_forced for m in facts.members]
    return pahole_text(found, build.address_size, cacheline_size, alignments, expand_types=expand,
                       hex_fmt=hex_offsets)


def _layouts(result: ShowResult) -> tuple[Any, ...]:
    if result.layouts is None:
        raise FormatError("this show result holds no statistics (api.show(..., stats=True) computes them); "
                          "its text is the listing")
    return result.layouts


def _show_text(result: ShowResult, expand: bool = False, hex_offsets: bool = False) -> str:
    return "".join(pahole_listing(result.build, found, result.cacheline_size, expand=expand,
                                  hex_offsets=hex_offsets) for found in result.found)


def _show_json(result: ShowResult) -> str:
    from .structs import struct_dict
    return to_json({"structs": [struct_dict(struct, stats) for struct, stats in _layouts(result)]})


def _show_html(result: ShowResult) -> str:
    from .html import struct_html
    from .layoutmap import layout_segments
    build = result.build
    return "".join(struct_html(struct, stats, layout_segments(struct, stats), f"{build.name} ({build.arch})",
                               result.cacheline_size) for struct, stats in _layouts(result))


def _sizes_rows(result: SizesResult) -> list[dict[str, Any]]:
    return [{"name": name, "size": size, "holes": holes} for name, size, holes in result.rows]


def _hunt_csv(result: SizeHuntResult) -> str:
    columns = ["name", "size", "holes", "sum_holes", "bit_holes", "padding", "members", "waste"]
    return rows_csv([row.as_dict() for row in result.rows],
                    columns + (["repacked", "saved"] if result.chosen.packable else []))


def _hunt_text(result: SizeHuntResult) -> str:
    from ..analysis.query import size_rows_text
    return size_rows_text(result.rows, result.chosen)


def _reorganize_text(result: ReorganizeResult) -> str:
    from .reorganize import reorganize_text
    return reorganize_text(list(result.items))


def _reorganize_json(result: ReorganizeResult) -> str:
    from .reorganize import reorganize_dict, reorganize_json_lines
    if result.every:
        return reorganize_json_lines(list(result.items))
    return to_json({"structs": [reorganize_dict(item, stats) for item, stats in result.items]})


def _report_text(result: ReportResult, markdown: bool = False) -> str:
    from .report import report_text
    return report_text(result.reports, result.claims, result.options, result.scenario, markdown=markdown)


def _report_json(result: ReportResult) -> str:
    from .report import report_payload
    return to_json(report_payload(result.reports, result.claims, result.options, result.scenario))


def _report_csv(result: ReportResult) -> str:
    from .report import report_csv
    return report_csv(result.reports)


def _whatif_text(result: WhatIfRun, full: bool = False) -> str:
    from .whatif import whatif_text
    notes = "".join(f"note: {note}\n" for note in result.notes)
    return notes + whatif_text(result.results, full, result.baselines or None)


def _whatif_json(result: WhatIfRun) -> str:
    from .whatif import whatif_dict
    payload: dict[str, Any] = {"structs": [whatif_dict(item, result.baselines.get(item.struct_name))
                                           for item in result.results]}
    if result.notes:
        payload["notes"] = result.notes
    payload["warnings"] = result.warnings
    return to_json(payload)


def whatif_item_html(item: "ScenarioResult", cacheline_size: int = 64) -> str:
    """One re-laid-out struct as a cacheline grid, the added fields and moved members marked."""
    from ..abi import struct_alignment
    from ..analysis.layout import layout_stats
    from .html import stats_line, whatif_html
    from .layoutmap import layout_segments, member_shifts
    result = item.result
    added = {id(m) for m in result.added}
    shifts = member_shifts(result.before, result.after, added)
    before_stats = layout_stats(result.before, struct_alignment(result.abi, result.before))
    after_stats = layout_stats(result.after, struct_alignment(result.abi, result.after))
    where = f"after '{item.anchor}'" if item.anchor and result.placement == "as-patched" else result.placement
    title = (f"struct {item.struct_name}: {len(result.added)} field(s) {where} ({result.abi.name}): "
             f"{result.size_before} → {result.size_after} bytes ({result.size_delta:+d})")
    notes = ["added: " + ", ".join(f"{m.name} at {m.offset_bytes} ({m.type.c_name()})" for m in result.added),
             f"moved: {len(shifts)} member(s)" + (
                 f", by {', '.join(sorted({f'{s:+d}' for s in shifts.values()}))} bytes" if shifts else "")]
    return whatif_html(title, "after: " + stats_line(after_stats),
                       layout_segments(result.after, after_stats, added, shifts),
                       layout_segments(result.before, before_stats), notes, cacheline_size)


def _whatif_html(result: WhatIfRun, cacheline_size: int = 64) -> str:
    return "".join(whatif_item_html(item, cacheline_size) for item in result.results)


def _verify_text(result: VerifyResult) -> str:
    from .verify import verify_text
    return verify_text(result.checks)


def _verify_json(result: VerifyResult) -> str:
    from .verify import verify_payload
    return to_json(verify_payload(result.checks))


def _slab_text(result: SlabResult) -> str:
    from .slab import slab_text
    return slab_text(result.views)


def _slab_json(result: SlabResult) -> str:
    from .slab import slab_payload
    return to_json(slab_payload(result.views, result.unavailable))


def _census_text(result: CensusResult) -> str:
    from .slab import census_text
    return census_text(result.census)


def _predictions_text(result: SlabPredictionsResult) -> str:
    from .slab import predictions_text
    return predictions_text(result.build, result.rows)


def _diff(fmt: str) -> Renderer:
    def render_one(result: DiffResult) -> str:
        from .diff import render_diff
        return render_diff(result, fmt)
    return render_one


def _check(fmt: str) -> Renderer:
    def render_one(result: CheckResult) -> str:
        from .diff import render_check
        return render_check(result, fmt)
    return render_one


def _baseline_text(result: BaselineResult) -> str:
    found = result.catalogue
    return f"wrote {result.path}: {result.layouts} struct layouts of {found.name} ({found.source})\n"


def _history_text(result: HistoryResult) -> str:
    from .history import history_text
    return history_text(result.rows, result.structs)


def _history_json(result: HistoryResult) -> str:
    from .history import history_payload
    return to_json(history_payload(result.rows, result.structs))


def _history_csv(result: HistoryResult) -> str:
    from .history import HISTORY_COLUMNS, history_rows
    return rows_csv(history_rows(result.rows, result.structs), [*HISTORY_COLUMNS, *result.structs])


def _snapshot_text(result: SnapshotResult) -> str:
    if result.tree is not None:
        how = "from the cache" if result.cached else f"compiled in {result.seconds:.1f} s"
        return f"wrote {result.path}: structs from {result.tree} for {result.arch} ({how})\n"
    return f"wrote {result.path}: {result.structs} structs, arch {result.arch}\n"


# Keyed by the result's module (under layoutcalc.features) and class name, so that rendering one result
# does not import every feature module (a cold 'show' would pay for diff and budget).
RENDERERS: dict[str, dict[str, Renderer]] = {
    "results.ShowResult": {"text": _show_text, "json": _show_json, "html": _show_html},
    "results.MembersAtResult": {
        "text": lambda r: "".join(answer.text() for answer in r.answers),
        "json": lambda r: to_json({"at": [answer.as_dict() for answer in r.answers]})},
    "results.RelationsResult": {
        "text": lambda r: r.relations.text(), "json": lambda r: to_json(r.relations.as_dict())},
    "results.SizesResult": {
        "text": lambda r: sizes_text(r.rows), "json": lambda r: to_json({"structs": _sizes_rows(r)}),
        "csv": lambda r: rows_csv(_sizes_rows(r), ["name", "size", "holes"])},
    "results.SizeHuntResult": {
        "text": _hunt_text, "json": lambda r: to_json({"structs": [row.as_dict() for row in r.rows]}),
        "csv": _hunt_csv},
    "results.ReorganizeResult": {"text": _reorganize_text, "json": _reorganize_json},
    "results.ReportResult": {"text": _report_text, "markdown": lambda r: _report_text(r, markdown=True),
                             "json": _report_json, "csv": _report_csv},
    "results.WhatIfRun": {"text": _whatif_text, "json": _whatif_json, "html": _whatif_html},
    "results.VerifyResult": {"text": _verify_text, "json": _verify_json},
    "results.SlabResult": {"text": _slab_text, "json": _slab_json},
    "results.CensusResult": {"text": _census_text, "json": lambda r: to_json(r.census.as_dict())},
    "results.SlabPredictionsResult": {
        "text": _predictions_text,
        "json": lambda r: to_json({"build": r.build, "caches": [row.as_dict() for row in r.rows]})},
    "diff.DiffResult": {fmt: _diff(fmt) for fmt in ("text", "json", "markdown")},
    "budget.CheckResult": {fmt: _check(fmt) for fmt in ("text", "json", "markdown", "junit", "github")},
    "results.BaselineResult": {"text": _baseline_text},
    "results.HistoryResult": {"text": _history_text, "json": _history_json, "csv": _history_csv},
    "results.SnapshotResult": {"text": _snapshot_text},
}


def _table(result: Any) -> dict[str, Renderer]:
    kind = type(result)
    table = RENDERERS.get(f"{kind.__module__.removeprefix('layoutcalc.features.')}.{kind.__qualname__}")
    if table is None:
        raise FormatError(f"{kind.__name__} is not the result of a layoutcalc command "
                          "(render takes what layoutcalc.api returns)")
    return table


def formats_of(result: Any) -> tuple[str, ...]:
    """The formats ``result`` renders in."""
    return tuple(_table(result))


def render_result(result: Any, fmt: str, **options: Any) -> str:
    """``result`` rendered in ``fmt`` (see :func:`layoutcalc.render.render`)."""
    table = _table(result)
    renderer = table.get(fmt)
    if renderer is None:
        raise FormatError(f"{type(result).__name__} has no '{fmt}' format (it has {', '.join(table)})")
    return renderer(result, **options)
