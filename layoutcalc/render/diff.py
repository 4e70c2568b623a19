"""Presentation of diffs and checks: text (bloat-o-meter and pahole vocabulary), JSON, Markdown, JUnit, GitHub.

Pure functions from :mod:`layoutcalc.features.diff` / :mod:`~layoutcalc.features.budget`
results to strings or plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

from ..features.budget import CheckResult, Verdict
from ..features.diff import DiffResult, DiffSummary, MemberChange, MemberLayout, StructChange, size_rows

_MOVED_SHOWN = 6


def summary_lines(summary: DiffSummary) -> list[str]:
    """bloat-o-meter's two summary lines."""
    return [f"add/remove: {summary.added}/{summary.removed} grow/shrink: {summary.grown}/{summary.shrunk} "
            f"up/down: {summary.up}/{summary.down} ({summary.net})",
            f"Total: Before={summary.before}, After={summary.after}, chg {summary.change_percent:+.2f}%"]


def _where(member: MemberLayout) -> str:
    """pahole's ``offset size`` comment body; ``offset:bit size`` for a bitfield (``32:16 4``)."""
    if member.bit_size:
        return f"{member.offset}:{member.bitfield_offset} {member.size}"
    return f"{member.offset} {member.size}"


def _wheres(old: MemberLayout, new: MemberLayout) -> str:
    """Both places of a member that moved, the new one alone otherwise."""
    return _where(new) if _where(old) == _where(new) else f"{_where(old)} -> {_where(new)}"


def _declaration(member: MemberLayout) -> str:
    """``long unsigned int flags[1]`` from the type ``long unsigned int [1]`` and the name."""
    if " [" in member.type_name and "(" not in member.type_name:
        base, bounds = member.type_name.split(" [", 1)
        return f"{base} {member.name}[{bounds}"
    text = f"{member.type_name} {member.name}"
    return text + (f":{member.bit_size}" if member.bit_size else "")


def _member_line(change: MemberChange) -> str:
    old, new = change.old, change.new
    if change.change == "added" and new:
        return f"added    {_declaration(new)};  /* {_where(new)} */"
    if change.change == "removed" and old:
        return f"removed  {_declaration(old)};  /* was {_where(old)} */"
    assert old and new
    if change.change == "resized" and old.size == new.size:
        return (f"resized  {new.name} ({new.type_name}): {old.bit_size} -> {new.bit_size} bits  "
                f"/* {_wheres(old, new)} */")
    if change.change == "resized":
        types = old.type_name if old.type_name == new.type_name else f"{old.type_name} -> {new.type_name}"
        return f"resized  {new.name} ({types}): {old.size} -> {new.size} bytes  /* {_where(old)} -> {_where(new)} */"
    if change.change == "retyped":
        return f"retyped  {new.name}: {old.type_name} -> {new.type_name}  /* {_wheres(old, new)} */"
    return f"moved    {new.name}  /* {_where(old)} -> {_where(new)} */"


def _moved_lines(moves: Sequence[MemberChange]) -> list[str]:
    """Members that only moved, grouped by how far (an insertion moves everything after it)."""
    by_delta: dict[int, list[str]] = {}
    for move in moves:
        assert move.old and move.new
        by_delta.setdefault(move.new.bit_offset - move.old.bit_offset, []).append(move.name)
    lines = []
    for delta, names in by_delta.items():
        shown = ", ".join(names[:_MOVED_SHOWN]) + (f" (+{len(names) - _MOVED_SHOWN} more)"
                                                   if len(names) > _MOVED_SHOWN else "")
        distance = f"{delta // 8:+d} bytes" if delta % 8 == 0 else f"{delta:+d} bits"
        lines.append(f"moved    {len(names)} member{'s' if len(names) != 1 else ''} by {distance}: {shown}")
    return lines


def reason_lines(change: StructChange, cacheline_size: int) -> list[str]:
    """Why ``change`` happened, one reason a line (for text, Markdown and annotations)."""
    lines = []
    if change.old and change.new:
        old_lines, new_lines = change.cachelines(cacheline_size)
        old_class, new_class = change.size_classes()
        lines.append(f"cachelines {old_lines} -> {new_lines}"
                     + (" (crossed)" if old_lines != new_lines else "")
                     + f"; size class {old_class}" + (f" -> {new_class} (crossed)" if new_class != old_class
                                                      else " (unchanged)"))
    if change.slab is not None:
        old, new = change.slab.old, change.slab.new
        lines.append(f"slab {old.cache}: object {old.object_size} -> {new.object_size}, "
                     f"{old.objs_per_slab} -> {new.objs_per_slab} objects per slab of order "
                     f"{old.order} -> {new.order}" + (" (crossed)" if change.slab.crossed else ""))
    moves = [m for m in change.members if m.change == "moved"]
    lines.extend(_member_line(m) for m in change.members if m.change != "moved")
    lines.extend(_moved_lines(moves))
    for hole in change.holes:
        where = f"after {hole.after}" if hole.after else "before the first member"
        verb = "consumed" if hole.new_size == 0 else "opened" if hole.old_size == 0 else \
            "shrank" if hole.consumed else "grew"
        kind = "bit hole" if hole.unit == "bits" else "hole    "
        lines.append(f"{kind} {where}: {hole.old_size} -> {hole.new_size} {hole.unit} ({verb})")
    if change.old and change.new and change.old.padding != change.new.padding:
        lines.append(f"padding  {change.old.padding} -> {change.new.padding} bytes")
    if change.note:
        lines.append(f"note     {change.note}")
    return lines


def _table(result: DiffResult) -> list[str]:
    """bloat-o-meter's table: one row per name, delta descending (see :func:`size_rows`)."""
    rows = [(r.label, "-" if r.old is None else str(r.old), "-" if r.new is None else str(r.new), f"{r.delta:+d}")
            for r in size_rows(result.changes, result.old, result.new)]
    width = max([len("struct")] + [len(r[0]) for r in rows])
    lines = [f"{'struct':<{width}} {'old':>7} {'new':>7} {'delta':>7}"]
    lines.extend(f"{name:<{width}} {old:>7} {new:>7} {delta:>7}" for name, old, new, delta in rows)
    return lines


def _duplicates_line(result: DiffResult) -> list[str]:
    if not result.duplicates:
        return []
    names = ", ".join(label for label, _, _ in result.duplicates[:5])
    more = f" and {len(result.duplicates) - 5} more" if len(result.duplicates) > 5 else ""
    return [f"{len(result.duplicates)} names have several different definitions (counted once per distinct "
            f"layout): {names}{more}"]


def diff_text(result: DiffResult) -> str:
    """bloat-o-meter's block (summary, table, ``Total`` last), then the reasons per changed struct."""
    summary, total = summary_lines(result.summary)
    lines = [summary] + _table(result) + [total] + _duplicates_line(result)
    for change in result.changes:
        if change.status not in ("grown", "shrunk", "changed"):
            continue
        title = f"{change.label}: {change.old_size} -> {change.new_size} ({change.delta:+d} bytes)" \
            if change.delta else f"{change.label}: {change.new_size} bytes, layout changed"
        lines += ["", title] + [f"  {line}" for line in reason_lines(change, result.new.cacheline_size)]
    return "\n".join(lines) + "\n"


def _member_dict(member: Optional[MemberLayout]) -> Optional[dict[str, Any]]:
    if member is None:
        return None
    return {"type": member.type_name, "offset": member.offset, "bit_offset": member.bit_offset,
            "size": member.size, "bit_size": member.bit_size or None}


def change_dict(change: StructChange, cacheline_size: int) -> dict[str, Any]:
    """One change as JSON: sizes, cachelines, size classes, slab, members and holes."""
    old_lines, new_lines = change.cachelines(cacheline_size)
    old_class, new_class = change.size_classes()
    return {
        "name": change.label, "status": change.status, "old_size": change.old.size if change.old else None,
        "new_size": change.new.size if change.new else None, "delta": change.delta,
        "cachelines": {"old": old_lines, "new": new_lines}, "size_class": {"old": old_class, "new": new_class},
        "slab": None if change.slab is None else {"old": change.slab.old._asdict(), "new": change.slab.new._asdict(),
                                                  "crossed": change.slab.crossed},
        "members": [{"change": m.change, "name": m.name, "old": _member_dict(m.old), "new": _member_dict(m.new)}
                    for m in change.members],
        "holes": [{"after": h.after, "old_size": h.old_size, "new_size": h.new_size, "unit": h.unit}
                  for h in change.holes],
        "padding": {"old": change.old.padding if change.old else None,
                    "new": change.new.padding if change.new else None},
        "note": change.note or None,
    }


def diff_payload(result: DiffResult) -> dict[str, Any]:
    """``diff --format json``."""
    summary = result.summary
    return {
        "old": {"build": result.old.name, "arch": result.old.arch, "source": result.old.source},
        "new": {"build": result.new.name, "arch": result.new.arch, "source": result.new.source},
        "summary": {**summary._asdict(), "net": summary.net, "change_percent": round(summary.change_percent, 4)},
        "duplicates": [{"name": label, "old_definitions": old, "new_definitions": new}
                       for label, old, new in result.duplicates],
        "changes": [change_dict(c, result.new.cacheline_size) for c in result.changes],
    }


def to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


# A pull-request comment on GitHub holds at most this many characters.
MARKDOWN_LIMIT = 65_536
GITHUB_ERRORS = 10  # GitHub shows at most 10 error annotations of a step


def _verdict_mark(verdict: Optional[Verdict]) -> str:
    if verdict is None:
        return ""
    mark = (":x: " + "; ".join(verdict.reasons) if verdict.regression else
            "allowed" if verdict.allowed and verdict.reasons else "within budget")
    if verdict.causes and not verdict.regression and verdict.knock_on:
        mark += " (knock-on: " + ", ".join(dict.fromkeys(c.label for c in verdict.causes)) + ")"
    return mark


def _markdown_order(result: DiffResult, verdicts: dict[str, Verdict]) -> list[StructChange]:
    """Regressions first (largest first), then the other changes in bloat-o-meter's order."""
    def regression(change: StructChange) -> bool:
        verdict = verdicts.get(change.label)
        return verdict is not None and verdict.regression and verdict.change is change
    changes = [c for c in result.changes if c.delta or c.status in ("added", "removed", "grown", "shrunk")]
    return [c for c in changes if regression(c)] + [c for c in changes if not regression(c)]


def _details(change: StructChange, cacheline_size: int) -> list[str]:
    return ["", f"<details><summary><code>{_md_cell(change.label)}</code> {change.old_size} → "
                f"{change.new_size} ({change.delta:+d})</summary>", "", "```",
            *reason_lines(change, cacheline_size), "```", "", "</details>"]


def diff_markdown(result: DiffResult, verdicts: Optional[dict[str, Verdict]] = None, title: str = "",
                  limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment of at most ``limit`` characters: summary, a table, the reasons folded per struct.

    Regressions come first; what does not fit is counted in a closing "and N more" line.
    """
    verdicts = verdicts or {}
    head = [f"### {title or 'Struct layout changes'}", "", "`" + summary_lines(result.summary)[0] + "`  ",
            "`" + summary_lines(result.summary)[1] + "`", ""]
    ordered = _markdown_order(result, verdicts)
    if not ordered:
        return "\n".join(head + ["No struct changed size."]) + "\n"
    table = ["| struct | old | new | delta | verdict |", "|---|--:|--:|--:|---|"]
    rows = [f"| `{_md_cell(c.label)}` | {c.old_size if c.old else '-'} | {c.new_size if c.new else '-'} | "
            f"{c.delta:+d} | {_md_cell(_verdict_mark(verdicts.get(c.label)))} |" for c in ordered]
    details = [_details(c, result.new.cacheline_size) if c.status in ("grown", "shrunk") else [] for c in ordered]
    reserve = 200  # the closing "and N more" line
    used = sum(len(line) + 1 for line in head + table) + reserve
    shown_rows = shown_details = 0
    for row in rows:  # the table first: every row that fits
        if used + len(row) + 1 > limit:
            break
        used += len(row) + 1
        shown_rows += 1
    for block in details[:shown_rows]:
        size = sum(len(line) + 1 for line in block)
        if used + size > limit:
            break
        used += size
        shown_details += 1
    lines = head + table + rows[:shown_rows]
    for block in details[:shown_details]:
        lines += block
    if shown_rows < len(rows):
        lines += ["", f"… and {len(rows) - shown_rows} more changed structs (not shown: the comment holds "
                      f"{limit} characters; see the JSON output)"]
    elif shown_details < sum(1 for block in details if block):
        hidden = sum(1 for block in details[shown_details:] if block)
        lines += ["", f"… and the reasons of {hidden} more structs (see the text or JSON output)"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- check


def check_text(result: CheckResult) -> str:
    """The diff text, then one line per regression and the verdict."""
    lines = [diff_text(result.diff).rstrip("\n"), ""]
    for verdict in result.verdicts:
        if verdict.regression:
            lines.append(f"REGRESSION {verdict.change.label}: {'; '.join(verdict.reasons)}")
        elif verdict.reasons:
            lines.append(f"allowed    {verdict.change.label}: {'; '.join(verdict.reasons)}")
    count = len(result.regressions)
    lines.append(f"{count} regression{'s' if count != 1 else ''} in {len(result.verdicts)} grown struct"
                 f"{'s' if len(result.verdicts) != 1 else ''}" + (f" (budget {result.budget.path})"
                                                                   if result.budget.path else " (no budget: any "
                                                                   "growth is a regression)"))
    return "\n".join(lines) + "\n"


def check_payload(result: CheckResult) -> dict[str, Any]:
    """``check --format json``: the diff plus a verdict per grown struct."""
    payload = diff_payload(result.diff)
    payload["budget"] = result.budget.path or None
    payload["regressions"] = len(result.regressions)
    payload["verdicts"] = [{"name": v.change.label, "delta": v.change.delta, "budget": v.rule.growth,
                            "rule": v.rule.pattern, "allowed": v.allowed, "regression": v.regression,
                            "reasons": list(v.reasons), "knock_on": v.knock_on,
                            "causes": [{"name": c.label, "member": c.member, "bytes": c.bytes} for c in v.causes]}
                           for v in result.verdicts]
    return payload


def check_markdown(result: CheckResult) -> str:
    count = len(result.regressions)
    title = f"layoutcalc check: {count} regression{'s' if count != 1 else ''}" if count else \
        "layoutcalc check: within budget"
    return diff_markdown(result.diff, {v.change.label: v for v in result.verdicts}, title)


def check_junit(result: CheckResult) -> str:
    """JUnit XML: one test case per struct that grew, failed when it is a regression."""
    from xml.sax.saxutils import escape, quoteattr  # here: it imports urllib.request (15 ms every diff paid)
    cases = []
    for verdict in result.verdicts:
        change = verdict.change
        name = quoteattr(change.label)
        body = ""
        if verdict.regression:
            message = quoteattr("; ".join(verdict.reasons))
            details = escape("\n".join(reason_lines(change, result.diff.new.cacheline_size)))
            body = f"\n      <failure message={message} type=\"struct-growth\">{details}</failure>\n    "
        cases.append(f"    <testcase classname=\"layoutcalc.struct\" name={name} time=\"0\">{body}</testcase>")
    if not cases:  # tests="0" reads as a broken run to Jenkins: say what was checked
        name = quoteattr(f"no struct grew ({len(result.diff.old.layouts)} compared)")
        cases.append(f"    <testcase classname=\"layoutcalc.check\" name={name} time=\"0\"></testcase>")
    suite = (f"  <testsuite name=\"layoutcalc check\" tests=\"{len(cases)}\" "
             f"failures=\"{len(result.regressions)}\" errors=\"0\" skipped=\"0\">")
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>", suite, *cases, "  </testsuite>",
                      "</testsuites>"]) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def check_github(result: CheckResult, limit: int = GITHUB_ERRORS) -> str:
    """GitHub workflow commands: ``::error`` for the first ``limit`` regressions (largest first), one ``::notice``.

    GitHub shows at most 10 error annotations per step; the notice counts
    every regression and growth, so none goes unmentioned.
    """
    lines = []
    cacheline = result.diff.new.cacheline_size
    regressions = sorted(result.regressions, key=lambda v: (-v.change.delta, v.change.label))
    for verdict in regressions[:limit]:
        change = verdict.change
        title = _escape_property(f"{change.label} grew {change.delta} bytes ({change.old_size} -> {change.new_size})")
        message = _escape_data("; ".join(verdict.reasons) + "\n" + "\n".join(reason_lines(change, cacheline)))
        lines.append(f"::error title={title}::{message}")
    count, grown = len(regressions), len(result.verdicts)
    more = ""
    if count > limit:
        names = ", ".join(v.change.label for v in regressions[limit:limit + 20])
        more = f" ({count - limit} more not annotated: {names}{' ...' if count > limit + 20 else ''})"
    summary = (f"{count} regression{'s' if count != 1 else ''} in {grown} grown struct{'s' if grown != 1 else ''}"
               f"{more}; " + "; ".join(summary_lines(result.diff.summary)))
    lines.append(f"::notice title={_escape_property('layoutcalc check')}::{_escape_data(summary)}")
    return "\n".join(lines) + "\n"


DIFF_FORMATS = ("text", "json", "markdown")
CHECK_FORMATS = ("text", "json", "markdown", "junit", "github")


def render_diff(result: DiffResult, fmt: str) -> str:
    """``diff`` in one of :data:`DIFF_FORMATS`."""
    if fmt == "json":
        return to_json(diff_payload(result))
    if fmt == "markdown":
        return diff_markdown(result)
    return diff_text(result)


def render_check(result: CheckResult, fmt: str) -> str:
    """``check`` in one of :data:`CHECK_FORMATS`."""
    renderers = {"json": lambda: to_json(check_payload(result)), "markdown": lambda: check_markdown(result),
                 "junit": lambda: check_junit(result), "github": lambda: check_github(result)}
    return renderers.get(fmt, lambda: check_text(result))()
