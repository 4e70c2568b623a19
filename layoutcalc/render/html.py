"""HTML cacheline grids of layouts, for ``_repr_html_`` in notebooks.

One row per cacheline (64 bytes), one grid column per bit, so bitfields and bit
holes show at their true width.  Members alternate two shades, holes and bit
holes are hatched red and purple, padding grey; fields a what-if added are
amber, members it moved carry a dashed outline and a marker.  Every piece is
an element with ``data-kind``/``data-seg``/``data-bit-start``/``data-bit-size``
so tests can read back what was drawn.  The colours are explicit on both light
and dark backgrounds (``prefers-color-scheme`` and JupyterLab's
``data-jp-theme-light``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Optional

from ..analysis.layout import LayoutStats
from ..model import StructType
from .layoutmap import ADDED, BIT_HOLE, FLEXIBLE, HOLE, MEMBER, PADDING, Segment, split_rows

_LIGHT = """--lc-bg:#ffffff;--lc-fg:#1a1a1a;--lc-muted:#555555;--lc-rule:#c8c8c8;
--lc-m1:#bcd4f6;--lc-m2:#93b8ec;--lc-mfg:#0b1f3a;--lc-add:#ffb000;--lc-addfg:#1a1200;--lc-addline:#8a5a00;
--lc-hole1:#d93025;--lc-hole2:#f8cfcb;--lc-bit1:#8e44ad;--lc-bit2:#e6d3f0;--lc-pad1:#8c8c8c;--lc-pad2:#e4e4e4;
--lc-move:#0b1f3a;--lc-flex:#1b7f3b;"""
_DARK = """--lc-bg:#1e1e1e;--lc-fg:#e8e8e8;--lc-muted:#b0b0b0;--lc-rule:#4a4a4a;
--lc-m1:#2f5d95;--lc-m2:#22466f;--lc-mfg:#f2f7ff;--lc-add:#ffb000;--lc-addfg:#1a1200;--lc-addline:#ffe08a;
--lc-hole1:#ff6b5e;--lc-hole2:#5a1f1b;--lc-bit1:#c58af0;--lc-bit2:#3e2453;--lc-pad1:#9a9a9a;--lc-pad2:#3a3a3a;
--lc-move:#ffe08a;--lc-flex:#5fd88a;"""

STYLE = f"""<style>
.lc-map{{{_LIGHT}background:var(--lc-bg);color:var(--lc-fg);font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,
Consolas,monospace;padding:8px 10px;border:1px solid var(--lc-rule);border-radius:4px;display:inline-block;
max-width:100%;overflow-x:auto}}
@media (prefers-color-scheme: dark){{.lc-map{{{_DARK}}}}}
[data-jp-theme-light="false"] .lc-map,body.vscode-dark .lc-map,.lc-map.lc-dark{{{_DARK}}}
[data-jp-theme-light="true"] .lc-map,body.vscode-light .lc-map,.lc-map.lc-light{{{_LIGHT}}}
.lc-title{{font-weight:bold;margin-bottom:2px}}
.lc-sub{{color:var(--lc-muted);margin-bottom:6px}}
.lc-legend{{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0 8px 0}}
.lc-key{{display:inline-flex;align-items:center;gap:5px}}
.lc-sw{{display:inline-block;width:22px;height:12px;border:1px solid var(--lc-rule)}}
.lc-row{{display:flex;align-items:stretch;height:20px;margin-bottom:2px}}
.lc-label{{width:118px;flex:none;color:var(--lc-muted);text-align:right;padding-right:8px;white-space:nowrap;
line-height:20px}}
.lc-grid{{display:grid;grid-template-columns:repeat(512,minmax(0,1fr));width:768px;flex:none;
border-left:1px solid var(--lc-rule);border-right:1px solid var(--lc-rule);
background:repeating-linear-gradient(90deg,transparent 0 95px,var(--lc-rule) 95px 96px)}}
.lc-ruler .lc-grid{{border:none;background:none;color:var(--lc-muted)}}
.lc-ruler .lc-tick{{grid-row:1;white-space:nowrap;overflow:visible}}
.lc-seg{{grid-row:1;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;line-height:18px;padding:0 2px;
box-sizing:border-box;border:1px solid var(--lc-bg);min-width:0}}
.lc-member{{background:var(--lc-m1);color:var(--lc-mfg)}}
.lc-member.lc-alt{{background:var(--lc-m2)}}
.lc-added{{background:var(--lc-add);color:var(--lc-addfg);font-weight:bold;border:2px solid var(--lc-addline)}}
.lc-moved{{outline:2px dashed var(--lc-move);outline-offset:-3px}}
.lc-moved::before{{content:"\\21E2";color:var(--lc-move);font-weight:bold;margin-right:2px}}
.lc-hole{{background:repeating-linear-gradient(45deg,var(--lc-hole1) 0 3px,var(--lc-hole2) 3px 7px)}}
.lc-bit_hole{{background:repeating-linear-gradient(45deg,var(--lc-bit1) 0 2px,var(--lc-bit2) 2px 5px)}}
.lc-padding,.lc-bit_padding{{background:repeating-linear-gradient(45deg,var(--lc-pad1) 0 2px,var(--lc-pad2) 2px 6px)}}
.lc-flexible{{border-left:4px solid var(--lc-flex);color:var(--lc-flex);overflow:visible;padding-left:3px;
font-weight:bold;z-index:1}}
.lc-narrow{{color:var(--lc-muted);font-size:11px;padding-left:126px;margin:0 0 3px 0;white-space:normal;
max-width:768px}}
.lc-elided{{color:var(--lc-muted);font-style:italic;padding-left:126px;margin:2px 0 4px 0}}
.lc-notes{{margin-top:6px}}
.lc-map details{{margin-top:8px}}
</style>"""

_LEGEND = ((MEMBER, "member"), (ADDED, "added field"), ("moved", "moved member"), (HOLE, "hole"),
           (BIT_HOLE, "bit hole"), (PADDING, "padding"), (FLEXIBLE, "flexible array"))
_ROW_BYTES = 64


def _legend() -> str:
    keys = []
    for kind, text in _LEGEND:
        css = "lc-member lc-moved" if kind == "moved" else f"lc-{kind}"
        keys.append(f'<span class="lc-key"><span class="lc-sw lc-seg {css}"></span>{escape(text)}</span>')
    return f'<div class="lc-legend">{"".join(keys)}</div>'


def _grid_style(row_bytes: int) -> str:
    """Inline columns for a row of ``row_bytes`` (the stylesheet's 512 columns are a 64-byte line)."""
    if row_bytes == _ROW_BYTES:
        return ""
    step = 768 * 8 // row_bytes
    return (f' style="grid-template-columns:repeat({8 * row_bytes},minmax(0,1fr));background:repeating-linear-'
            f'gradient(90deg,transparent 0 {step - 1}px,var(--lc-rule) {step - 1}px {step}px)"')


def _ruler(row_bytes: int = _ROW_BYTES) -> str:
    every = max(8, row_bytes // 8)
    ticks = "".join(f'<div class="lc-tick" style="grid-column:{8 * b + 1} / span {8 * every}">{b}</div>'
                    for b in range(0, row_bytes, every))
    return (f'<div class="lc-row lc-ruler"><div class="lc-label">byte</div><div class="lc-grid"'
            f'{_grid_style(row_bytes)}>{ticks}</div></div>')


def _piece(segment: Segment, number: int, first_bit: int, width: int, grid: str) -> str:
    classes = ["lc-seg", f"lc-{segment.kind}"]
    if segment.kind == MEMBER and segment.member_index % 2:
        classes.append("lc-alt")
    if segment.shift_bytes:
        classes.append("lc-moved")
    span = max(width, 1)
    label = "" if segment.is_gap else segment.name
    if segment.kind == ADDED:
        label = "+" + label
    if segment.kind == FLEXIBLE:
        label = segment.name + "[]"
    data = (f'data-grid="{grid}" data-kind="{segment.kind}" data-seg="{number}" data-bit-start="{segment.bit_start}" '
            f'data-bit-size="{segment.bit_size}" data-name="{escape(segment.name)}"'
            + (f' data-shift="{segment.shift_bytes}"' if segment.shift_bytes else ""))
    return (f'<div class="{" ".join(classes)}" style="grid-column:{first_bit + 1} / span {span}" '
            f'title="{escape(segment.describe())}" {data}>{escape(label)}</div>')


def _row_label(row: int, row_bytes: int = _ROW_BYTES) -> str:
    return f"CL {row} · {row * row_bytes}"


# A piece narrower than this many bits cannot show its name: it is listed under its row instead.
NARROW_BITS = 48


def _narrow_line(pieces: Sequence[tuple[Segment, int, int]]) -> str:
    """Names of the row's members too narrow to be read in the grid (1-bit fields, a ``char``), in order."""
    names = []
    for segment, _, width in pieces:
        if segment.is_gap or segment.kind == FLEXIBLE or width >= NARROW_BITS or not segment.name:
            continue
        where = f"{segment.bit_start // 8}" + (f":{segment.bit_start % 8}" if segment.bit_start % 8 else "")
        size = f"{segment.bit_size} bit{'s' if segment.bit_size != 1 else ''}" if segment.bit_size % 8 else \
            f"{segment.bit_size // 8} B"
        names.append(f"{'+' if segment.kind == ADDED else ''}{segment.name} @{where} ({size})")
    if not names:
        return ""
    return f'<div class="lc-narrow">{escape(" · ".join(names))}</div>'


def grid_html(segments: Sequence[Segment], elide: Optional[Sequence[str]] = None, grid: str = "layout",
              row_bytes: int = _ROW_BYTES) -> str:
    """The rows of the grid (``row_bytes`` a row: the build's cacheline), each piece tagged ``data-grid=grid``.

    A run of two or more rows with the same non-empty ``elide`` entry becomes
    one line saying so (``unchanged``, ``members shifted +8 bytes``).  Members
    too narrow to show their name are listed under their row.
    """
    numbers = {id(segment): number for number, segment in enumerate(segments)}
    rows = split_rows(list(segments), row_bytes)
    reasons = list(elide or []) + [""] * (len(rows) - len(elide or []))
    out = [_ruler(row_bytes)]
    row = 0
    while row < len(rows):
        end = row
        while reasons[row] and end < len(rows) and reasons[end] == reasons[row]:
            end += 1
        if end - row > 1:
            out.append(f'<div class="lc-elided">… cachelines {row}–{end - 1} '
                       f'(bytes {row * row_bytes}–{end * row_bytes - 1}): {escape(reasons[row])} …</div>')
            row = end
            continue
        pieces = "".join(_piece(s, numbers[id(s)], first, width, grid) for s, first, width in rows[row])
        out.append(f'<div class="lc-row"><div class="lc-label">{_row_label(row, row_bytes)}</div>'
                   f'<div class="lc-grid"{_grid_style(row_bytes)}>{pieces}</div></div>')
        out.append(_narrow_line(rows[row]))
        row += 1
    return "".join(out)


def whatif_elisions(segments: Sequence[Segment], row_bytes: int = _ROW_BYTES) -> list[str]:
    """Per row of a what-if's new layout: "" to show it, else why it may be elided.

    Rows with an added field, rows where the members' shift changes (the hole
    that absorbed the added bytes), their neighbours and the last row are
    shown; the others say whether their members are unchanged or all shifted alike.
    """
    rows = split_rows(list(segments), row_bytes)
    added = {r for r, row in enumerate(rows) if any(s.kind == ADDED for s, _, _ in row)}
    # where the shift changes (a hole absorbed the added bytes, or the shifting starts): keep those rows too
    previous_shift, previous_row = 0, 0
    for segment in segments:
        if segment.is_gap or segment.kind == ADDED:
            continue
        where = segment.bit_start // (8 * row_bytes)
        if segment.shift_bytes != previous_shift:
            added |= {previous_row, where}
        previous_shift, previous_row = segment.shift_bytes, where
    reasons = []
    for number, row in enumerate(rows):
        if number == len(rows) - 1 or added & {number - 1, number, number + 1}:
            reasons.append("")
            continue
        shifts = {s.shift_bytes for s, _, _ in row if not s.is_gap}
        if len(shifts) > 1:
            reasons.append("")
        else:
            shift = shifts.pop() if shifts else 0
            reasons.append(f"members shifted {shift:+d} bytes" if shift else "unchanged")
    return reasons


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def stats_line(stats: LayoutStats) -> str:
    """pahole's summary in one line."""
    parts = [f"{stats.size} bytes", _plural(stats.cachelines, "cacheline"), _plural(stats.members, "member"),
             f"{_plural(stats.holes, 'hole')} ({stats.sum_holes} bytes)"]
    if stats.bit_holes:
        parts.append(f"{_plural(stats.bit_holes, 'bit hole')} ({stats.sum_bit_holes} bits)")
    parts.append(f"padding {stats.padding}" + (f" + {stats.bit_padding} bits" if stats.bit_padding else ""))
    parts.append(f"alignment {stats.alignment}")
    return ", ".join(parts)


def struct_html(struct: StructType, stats: LayoutStats, segments: Sequence[Segment], subtitle: str = "",
                row_bytes: int = _ROW_BYTES) -> str:
    """A struct layout as a self-contained HTML block (style, title, legend, grid of ``row_bytes`` lines)."""
    title = f"{struct.tag}: {stats_line(stats)}"
    sub = f'<div class="lc-sub">{escape(subtitle)}{escape(f"; {row_bytes}-byte cachelines")}</div>'
    return (f'{STYLE}<div class="lc-map"><div class="lc-title">{escape(title)}</div>{sub}{_legend()}'
            f'{grid_html(segments, row_bytes=row_bytes)}</div>')


def whatif_html(title: str, subtitle: str, after: Sequence[Segment], before: Sequence[Segment],
                notes: Sequence[str], row_bytes: int = _ROW_BYTES) -> str:
    """A what-if as HTML: the new layout with added and moved members marked, the old one folded below.

    Runs of cachelines away from the added fields are elided (:func:`whatif_elisions`).
    """
    note_html = "".join(f"<div>{escape(note)}</div>" for note in notes)
    after_grid = grid_html(after, whatif_elisions(after, row_bytes), "after", row_bytes)
    before_grid = grid_html(before, grid="before", row_bytes=row_bytes)
    return (f'{STYLE}<div class="lc-map"><div class="lc-title">{escape(title)}</div>'
            f'<div class="lc-sub">{escape(subtitle)}</div>{_legend()}{after_grid}'
            f'<div class="lc-notes">{note_html}</div>'
            f'<details><summary>before</summary>{before_grid}</details></div>')

