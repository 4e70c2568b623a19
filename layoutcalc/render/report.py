"""Presentation of the report: text for people, markdown for reviews, JSON and CSV for tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..features.report import EXTRA_COLUMNS, ROW_COLUMNS, BuildReport, Claim, ReportOptions, era_label
from .slab import costs_lines
from .structs import rows_csv


def report_payload(reports: Sequence[BuildReport], claims: Sequence[Claim],
                   options: ReportOptions, scenario: str) -> dict[str, Any]:
    """The JSON document of ``layoutcalc report``."""
    payload = {
        "scenario": scenario,
        "assumptions": _assumptions(options),
        "rows": [row.as_dict() for report in reports for row in report.rows],
        "builds": [_build_summary(report, options) for report in reports],
        "claims": [claim.as_dict() for claim in claims],
    }
    if any(report.costs is not None for report in reports):
        payload["costs"] = [report.costs.as_dict() for report in reports if report.costs is not None]
    return payload


def _assumptions(options: ReportOptions) -> dict[str, Any]:
    return {"processes": options.processes, "child_namespace_fraction": options.child_fraction,
            "cpus": options.cpus, "page_size": options.page_size, "x86_xstate_size": options.xstate_size,
            "placement": options.placement}


def _build_summary(report: BuildReport, options: ReportOptions) -> dict[str, Any]:
    flat = report.flat_bytes_per_process
    hier = report.hierarchical
    return {
        "build": report.name, "arch": report.arch,
        "added_integers": report.added.integers, "added_pointers": report.added.pointers,
        "added_bytes": report.added.bytes,
        "flat_bytes_per_process": round(flat, 2),
        "flat_cost_processes": round(flat * options.processes),
        "hierarchical_bytes_level0": None if hier is None else round(hier.level0, 2),
        "hierarchical_bytes_level1": None if hier is None else round(hier.level1, 2),
        "hierarchical_source": None if hier is None else hier.source,
        "hierarchical_cost_processes": None if hier is None
        else round(hier.cost(options.processes, options.child_fraction)),
    }


def report_csv(reports: Sequence[BuildReport]) -> str:
    rows = [row.as_dict() for report in reports for row in report.rows]
    return rows_csv(rows, ROW_COLUMNS + EXTRA_COLUMNS)


def _fmt_bpo(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _table(reports: Sequence[BuildReport], markdown: bool) -> list[str]:
    header = ["build", "struct", "sizeof off→on", "slab object off→on", "objs/slab off→on",
              "bytes/object off→on", "verdict"]
    body = []
    for report in reports:
        for row in report.rows:
            body.append([
                report.name, row.struct, f"{row.size_off}→{'' if row.size_on_exact else '≤'}{row.size_on}",
                f"{row.off.slab_size}→{row.on.slab_size}",
                f"{row.off.objs_per_slab}→{row.on.objs_per_slab}",
                f"{_fmt_bpo(row.off.bytes_per_object)}→{_fmt_bpo(row.on.bytes_per_object)}",
                row.verdict,
            ])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return lines
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    return lines


def _answers(reports: Sequence[BuildReport], claims: Sequence[Claim], markdown: bool) -> list[str]:
    """The plain answer per era, the seed's own (2.6.22, 2007) first: each claim and its cost per build."""
    out = []
    for era in dict.fromkeys(claim.era for claim in claims):
        names = [r.name for r in reports if era_label(r) == era]
        when = "In 2007, on the seed's kernel" if era.startswith("2.6.22") else "On later kernels"
        lines = [f"{when} ({era or 'era unknown'}: {', '.join(names)}):"]
        first = next((r for r in reports if era_label(r) == era and r.era is not None), None)
        if first is not None and first.era is not None:
            lines.append(f"  model: {first.era.evidence}")
        for claim in (c for c in claims if c.era == era):
            costs = []
            for report in reports:
                row = report.row(claim.struct) if era_label(report) == era else None
                if row is not None:
                    costs.append(f"{report.arch} {row.delta_bytes_per_object:+.{_decimals(row)}f}")
            lines.append(f"  \"{claim.text}\": {claim.verdict.upper()} (bytes per object: {', '.join(costs)})")
        out += [("- " if markdown and not line.startswith("  ") else "") + line for line in lines]
        out.append("")
    return out


def _decimals(row: Any) -> int:
    return 0 if float(row.delta_bytes_per_object).is_integer() else 1


def report_text(reports: Sequence[BuildReport], claims: Sequence[Claim], options: ReportOptions,
                scenario: str, markdown: bool = False) -> str:
    """The report for people: per-build table, per-process cost, then the claims."""
    title = f"Memory cost of the '{scenario}' scenario"
    out = [f"# {title}" if markdown else title, ""]
    out.extend(_answers(reports, claims, markdown))
    out.append("Each struct lives in a slab cache; 'bytes/object' is slab bytes divided by objects per slab,")
    out.append("the memory one object really takes. 'absorbed by alignment': the new fields fit into holes,")
    out.append("padding or the slab's object alignment; 'absorbed by slab leftover': the object grew but as")
    out.append("many objects still fit in a slab. Either way they cost nothing.")
    out.append("")
    out.extend(_table(reports, markdown))
    if any(not row.size_on_exact for report in reports for row in report.rows):
        out.append("'≤': the debug info (BTF) records no alignments and they decide the size; the figures "
                   "are at the upper bound.")
    out.append("")
    out.append(("## " if markdown else "") + f"Per process (x {options.processes:,} processes)")
    out.append("")
    for report in reports:
        if report.costs is not None and not report.rows:
            out.append(("- " if markdown else "  ") + f"{report.name}: the fields change none of the structs of "
                       "the per-process model; what they cost is in the rows per cache below")
            continue
        flat = report.flat_bytes_per_process
        line = (f"{report.name}: '{scenario}' adds {report.added.integers} integers and "
                f"{report.added.pointers} pointers ({report.added.bytes} bytes of fields) per process; "
                f"real cost {_fmt_bpo(flat)} B per process, {flat * options.processes / 1024:,.1f} KiB "
                f"for {options.processes:,}")
        hier = report.hierarchical
        if hier is not None:
            basis = "the build already has it" if hier.source == "build" else "hierarchical scenario"
            share = options.child_fraction
            line += (f". Hierarchical design ({basis}): {_fmt_bpo(hier.level0)} B in the initial namespace, "
                     f"{_fmt_bpo(hier.level1)} B one level down; {hier.cost(options.processes, share) / 1024:,.1f}"
                     f" KiB for {options.processes:,} if {share:.0%} live in a child namespace")
        out.append(("- " if markdown else "  ") + line)
    if claims:
        out.append("")
        out.append(("## " if markdown else "") + "The claims (Pavel Emelianov, 19 June 2007)")
        out.append("")
    for index, claim in enumerate(claims):
        if claim.era and (index == 0 or claims[index - 1].era != claim.era):
            out.append(("### " if markdown else "  ") + f"{claim.era}")
        where = ""
        if claim.holds_on and claim.fails_on:
            where = f" (holds on {', '.join(claim.holds_on)}; not on {', '.join(claim.fails_on)})"
        out.append(("- " if markdown else "  ") + f"\"{claim.text}\": {claim.verdict.upper()}{where}")
        out.append(("  " if markdown else "      ") + claim.detail)
    for report in reports:
        if report.costs is not None:
            out.append("")
            out.append(("## " if markdown else "") + f"{report.name}: every cache holding a changed struct")
            out.extend(costs_lines(report.costs))
    out.append("")
    out.append(f"Assumptions: SLUB/SLAB by kernel era and config, {options.cpus} CPUs, {options.page_size}-byte pages, "
               f"x86 xstate {options.xstate_size} B, fields placed {options.placement}; "
               "cache merging with other caches is not modelled here (see 'layoutcalc slab --live').")
    return "\n".join(out) + "\n"
