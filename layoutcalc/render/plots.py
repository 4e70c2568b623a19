"""matplotlib figures of the API's results.  matplotlib is imported only here, lazily.

Each function returns a :class:`matplotlib.figure.Figure` (no pyplot state);
:func:`save_figure` writes one as PNG or SVG without leaving a partial file.

* :func:`cacheline_figure`: a struct's cacheline map, fields off against on;
* :func:`bytes_per_object_figure`: real bytes per object off and on, per struct and build;
* :func:`slab_figure`: one slab per cache and build, objects and leftover, off against on;
* :func:`diff_figure`: what ``layoutcalc diff`` lists, one bar per struct.

Struct sizes across builds (``layoutcalc history --plot``) are drawn by
:func:`layoutcalc.render.history.history_figure`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.layout import cachelines
from ..errors import LayoutcalcError, OutputError
from .layoutmap import ADDED, BIT_HOLE, BIT_PADDING, FLEXIBLE, HOLE, MEMBER, PADDING, Segment, split_rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..features.diff import DiffResult
    from ..features.report import BuildReport
    from ..changes.scenario import ScenarioResult
    from ..slab.view import SlabView

PLOT_FORMATS = ("png", "svg")
# Okabe & Ito's colour-blind-safe palette (blue, orange, bluish green, vermillion, reddish purple, sky blue,
# yellow): no red/green pair that deuteranopes and protanopes confuse.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
# Figures carry their own opaque, soft background and dark ink: readable on a dark notebook theme too
# (a transparent PNG would put black text on a black page).
BACKGROUND, INK = "#f4f4f2", "#1a1a1a"
OFF_COLOUR, ON_COLOUR = PALETTE[0], PALETTE[1]
_FILL = {MEMBER: ("#b3d3ee", "#7fb2dd"), ADDED: (PALETTE[1], PALETTE[1]), HOLE: ("#f6c9a8", "#f6c9a8"),
         BIT_HOLE: ("#e8c6dc", "#e8c6dc"), PADDING: ("#dddddd", "#dddddd"), BIT_PADDING: ("#dddddd", "#dddddd")}
_HATCH = {HOLE: "////", BIT_HOLE: "\\\\\\\\", PADDING: "xxx", BIT_PADDING: "xxx"}
_EDGE = {HOLE: PALETTE[3], BIT_HOLE: PALETTE[4], PADDING: "#7f7f7f", BIT_PADDING: "#7f7f7f"}
FLEXIBLE_COLOUR = "#1f2d3d"


def check_plot_path(path: str) -> str:
    """The format (``png`` or ``svg``) of ``path``, from its suffix; raises for anything else."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in PLOT_FORMATS:
        raise OutputError(f"{path}: a plot is written as .png or .svg, not '{Path(path).suffix or 'no suffix'}'")
    return suffix


def save_figure(figure: "Figure", path: str, dpi: int = 110) -> None:
    """Write ``figure`` to ``path`` (PNG or SVG by suffix) through :mod:`layoutcalc.safe_write`:
    all of it or nothing, checked on read-back."""
    from ..safe_write import write_with
    fmt = check_plot_path(path)
    write_with(path, lambda stream: figure.savefig(stream, format=fmt, dpi=dpi),
               validate=lambda data: _check_image(data, fmt, path))


def _check_image(data: bytes, fmt: str, path: str) -> None:
    looks_right = data.startswith(b"\x89PNG\r\n\x1a\n") if fmt == "png" else b"<svg" in data[:4096]
    if not looks_right:
        raise LayoutcalcError(f"{path}: matplotlib did not produce a {fmt.upper()} image")


def new_figure(width: float, height: float) -> "Figure":
    figure: "Figure" = _figure_class()(figsize=(width, height), layout="constrained")
    figure.set_facecolor(BACKGROUND)
    return figure


def apply_theme(figure: "Figure") -> "Figure":
    """An opaque soft background and dark ink on every axes: readable in light and dark notebooks alike."""
    figure.set_facecolor(BACKGROUND)
    for axes in figure.get_axes():
        axes.set_facecolor("#ffffff")
        for spine in axes.spines.values():
            spine.set_edgecolor("#555555")
        axes.tick_params(colors=INK)
    return figure


def finding_title(text: str, width: int = 110) -> str:
    """A title that states the finding, cut to ``width`` characters so it never runs off the figure."""
    return text if len(text) <= width else text[:width - 1].rstrip(", ") + "…"


@functools.lru_cache(maxsize=None)
def _figure_class() -> Any:
    """matplotlib's Figure, plus ``_repr_png_`` so Jupyter shows it without pyplot or ``%matplotlib``."""
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        """A :class:`matplotlib.figure.Figure` that displays itself as a PNG in IPython."""

        def _repr_png_(self) -> bytes:
            import io
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=96, facecolor=self.get_facecolor())
            return buffer.getvalue()

    return NotebookFigure


def _short_build(name: str) -> str:
    return name.removeprefix("debian-").removeprefix("vmlinux-")


# --- cacheline map ---------------------------------------------------------------------------------------------

def _draw_map(axes: "Axes", segments: Sequence[Segment], rows: int, title: str, line: int = 64
              ) -> list[tuple[float, float, float, str]]:
    """Draw one layout as rows of ``line`` bytes (the build's cacheline); returns (x, width, row, name) of each
    added field's widest piece."""
    labels: dict[str, tuple[float, float, float, str]] = {}
    for row, pieces in enumerate(split_rows(list(segments), line)):
        for segment, first_bit, width in pieces:
            x, w = first_bit / 8, width / 8
            if segment.kind == FLEXIBLE:
                axes.plot([x, x], [row - 0.45, row + 0.45], color=FLEXIBLE_COLOUR, linewidth=2.5)
                axes.text(x + 0.4, row, f"{segment.name}[]", va="center", fontsize=7, color=FLEXIBLE_COLOUR)
                continue
            fill = _FILL[segment.kind][segment.member_index % 2 if segment.kind == MEMBER else 0]
            moved = bool(segment.shift_bytes)
            axes.add_patch(_rectangle(x, row, w, fill, segment.kind, moved))
            if segment.kind == ADDED and w > labels.get(segment.name, (0.0, 0.0))[1]:
                labels[segment.name] = (x, w, row, segment.name)
    axes.set_xlim(0, line)
    axes.set_ylim(rows - 0.5, -0.5)
    axes.set_xticks(range(0, line + 1, line // 8))
    step = max(1, -(-rows // 30))
    axes.set_yticks(range(0, rows, step), [f"CL {r}" for r in range(0, rows, step)], fontsize=8)
    axes.set_xlabel(f"byte within the {line}-byte cacheline", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_title(title, fontsize=9)
    return list(labels.values())


def _rectangle(x: float, row: int, width: float, fill: str, kind: str, moved: bool) -> Any:
    from matplotlib.patches import Rectangle
    edge = _EDGE.get(kind, "#8a5a00" if kind == ADDED else "white")
    patch = Rectangle((x, row - 0.42), width, 0.84, facecolor=fill, edgecolor=edge, linewidth=0.6,
                      hatch=_HATCH.get(kind))
    if moved:
        patch.set_edgecolor("#1f2d3d")
        patch.set_linestyle((0, (2, 1.5)))
        patch.set_linewidth(0.9)
    return patch


def _label_added(axes: "Axes", labels: list[tuple[float, float, float, str]], rows: int, row_inches: float,
                 axes_inches: float, line: int = 64) -> None:
    """Name each added field: inside it where the name fits, else in the right margin.

    Margin names are spread so they never overlap; each leader line leaves its
    field upwards and runs along the gap between rows, so it crosses no member.
    """
    fontsize = 8
    byte_inches = axes_inches / line
    margin = []
    for x, width, row, name in labels:
        text = f"+{name}"
        if row_inches >= 0.15 and len(text) * fontsize * 0.62 / 72 <= width * byte_inches - 0.04:
            axes.text(x + width / 2, row, text, ha="center", va="center", fontsize=fontsize, fontweight="bold",
                      color="#1a1200", clip_on=True)
        else:
            margin.append((x + width / 2, row, text))
    if not margin:
        return
    margin.sort(key=lambda item: item[1])
    gap = 0.2 / row_inches
    placed: list[float] = []
    for _, y, _ in margin:
        placed.append(max(y, placed[-1] + gap) if placed else y)
    overflow = placed[-1] - (rows - 0.5)
    if overflow > 0:
        placed = [p - overflow for p in placed]
    for (x, y, text), label_y in zip(margin, placed):
        # the leader leaves the field upwards and runs along the white gap above its row, crossing no member
        above = y - 0.5
        unit = line / 64
        axes.plot([x, x, line + 0.6 * unit, line + 1.8 * unit], [y - 0.42, above, above, label_y], color="#8a5a00",
                  linewidth=0.8, clip_on=False, solid_joinstyle="round")
        axes.text(line + 2 * unit, label_y, text, fontsize=fontsize, va="center", color="#5c3c00", fontweight="bold")


def _map_legend(figure: "Figure") -> None:
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=_FILL[MEMBER][0], edgecolor="white", label="member"),
               Patch(facecolor=_FILL[ADDED][0], edgecolor="#8a5a00", label="added field"),
               Patch(facecolor=_FILL[MEMBER][0], edgecolor="#1f2d3d", linestyle=(0, (2, 1.5)), label="moved member"),
               Patch(facecolor=_FILL[HOLE][0], edgecolor=_EDGE[HOLE], hatch=_HATCH[HOLE], label="hole"),
               Patch(facecolor=_FILL[BIT_HOLE][0], edgecolor=_EDGE[BIT_HOLE], hatch=_HATCH[BIT_HOLE],
                     label="bit hole"),
               Patch(facecolor=_FILL[PADDING][0], edgecolor=_EDGE[PADDING], hatch=_HATCH[PADDING], label="padding")]
    figure.legend(handles=handles, loc="outside lower center", ncols=6, fontsize=8, frameon=False)


def cacheline_figure(items: Sequence["ScenarioResult"], cacheline_size: int = 64) -> "Figure":
    """Each struct's cacheline map with the fields off (left) and on (right).

    Added fields are amber and named in the right margin, moved members have a
    dashed outline, holes/bit holes/padding are hatched.
    """
    from .. import abi as abi_module
    from ..analysis.layout import layout_stats
    from .layoutmap import layout_segments, member_shifts
    panels = []
    for item in items:
        result = item.result
        before_stats = layout_stats(result.before, abi_module.struct_alignment(result.abi, result.before))
        after_stats = layout_stats(result.after, abi_module.struct_alignment(result.abi, result.after))
        added = {id(m) for m in result.added}
        shifts = member_shifts(result.before, result.after, added)
        before = layout_segments(result.before, before_stats)
        after = layout_segments(result.after, after_stats, added, shifts)
        rows = max(len(split_rows(before, cacheline_size)), len(split_rows(after, cacheline_size)))
        panels.append((item, before, after, rows, len(shifts)))
    # inches per cacheline row: roomy for small structs, a 12-inch panel at most for big ones
    row_inches = [min(0.22, 12.0 / max(panel[3], 1)) for panel in panels]
    heights = [1.25 + max(panel[3], 2) * step for panel, step in zip(panels, row_inches)] or [1.0]
    figure = new_figure(11.5, 0.45 + sum(heights))
    subfigures: list[Any] = (list(figure.subfigures(len(panels), 1, height_ratios=heights, squeeze=False)[:, 0])
                             if panels else [])
    for subfigure, (item, before, after, rows, moved), step in zip(subfigures, panels, row_inches):
        result = item.result
        left, right = subfigure.subplots(1, 2, sharey=True)
        lines_before = cachelines(result.size_before, cacheline_size)
        lines_after = cachelines(result.size_after, cacheline_size)
        _draw_map(left, before, rows, f"before: {result.size_before} bytes, {lines_before} cachelines",
                  cacheline_size)
        labels = _draw_map(right, after, rows, f"after: {result.size_after} bytes ({result.size_delta:+d}), "
                                               f"{lines_after} cachelines", cacheline_size)
        _label_added(right, labels, rows, step, 4.9, cacheline_size)
        names = ", ".join(m.name or "(anonymous)" for m in result.added[:4]) + (" …" if len(result.added) > 4 else "")
        crossing = (f", {lines_before} -> {lines_after} cachelines" if lines_after != lines_before
                    else f", still {lines_after} cacheline{'s' if lines_after != 1 else ''}")
        shifted: dict[int, list[str]] = {}
        for segment in after:
            if segment.shift_bytes and segment.name not in shifted.get(segment.shift_bytes, []):
                shifted.setdefault(segment.shift_bytes, []).append(segment.name)
        moves = "; ".join(f"moved {shift:+d} B: " + ", ".join(found[:5]) + (f" (+{len(found) - 5} more)"
                                                                         if len(found) > 5 else "")
                          for shift, found in shifted.items()) or "nothing moved"
        subfigure.suptitle(finding_title(f"struct {item.struct_name} grows {result.size_delta:+d} bytes"
                                         f"{crossing}: {len(result.added)} added ({names}), {moved} moved "
                                         f"({result.abi.name}, {result.placement})") + "\n" + finding_title(moves),
                           fontsize=10, fontweight="bold")
        subfigure.set_facecolor(BACKGROUND)
    _map_legend(figure)
    return apply_theme(figure)


# --- bytes per object -------------------------------------------------------------------------------------------

def bytes_per_object_figure(reports: Sequence["BuildReport"]) -> "Figure":
    """Real bytes per object (slab bytes / objects per slab), fields off and on, one panel per struct.

    Horizontal bars on a linear axis from zero, one pair per build, with the
    delta written at the end of each pair.
    """
    structs = list(dict.fromkeys(row.struct for report in reports for row in report.rows))
    builds = [report.name for report in reports]
    figure = new_figure(max(4.2 * len(structs), 6.0), 1.4 + 0.55 * len(builds))
    axes_list = figure.subplots(1, max(len(structs), 1), squeeze=False)[0]
    for axes, struct in zip(axes_list, structs):
        ys, off, on, deltas = [], [], [], []
        for position, report in enumerate(reports):
            row = report.row(struct)
            if row is None:
                continue
            ys.append(position)
            off.append(row.off.bytes_per_object)
            on.append(row.on.bytes_per_object)
            deltas.append(row.delta_bytes_per_object)
        axes.barh([y - 0.19 for y in ys], off, height=0.36, color=OFF_COLOUR, label="fields off")
        axes.barh([y + 0.19 for y in ys], on, height=0.36, color=ON_COLOUR, label="fields on")
        top = max(on + off, default=1.0)
        for y, value, delta in zip(ys, on, deltas):
            text = f"{delta:+.0f} B" if delta else "±0 B"
            axes.text(value + top * 0.02, y + 0.19, text, va="center", fontsize=8,
                      fontweight="bold" if delta else "normal", color="#8a3b00" if delta else "#333333")
        axes.set_xlim(0, top * 1.28)
        axes.set_ylim(len(builds) - 0.5, -0.5)
        axes.set_yticks(range(len(builds)), [_short_build(b) for b in builds], fontsize=8)
        axes.tick_params(axis="x", labelsize=8)
        axes.set_title(f"struct {struct}", fontsize=10)
        axes.xaxis.set_major_locator(_integer_locator())
        axes.set_xlabel("bytes per object (slab bytes / objects per slab)", fontsize=8)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
    for axes in axes_list[1:]:
        axes.tick_params(labelleft=False)
    handles, labels = axes_list[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    costs = [(row.delta_bytes_per_object, row.struct) for report in reports for row in report.rows]
    worst = max(costs, default=(0.0, ""))
    finding = (f"the fields cost up to {worst[0]:+.0f} bytes per {worst[1]} object" if worst[0] > 0
               else "the fields cost no bytes per object")
    figure.suptitle(finding_title(f"Bytes per object, fields off and on: {finding}"), fontsize=11)
    return apply_theme(figure)


# --- slab -------------------------------------------------------------------------------------------------------

def _slab_bar(axes: "Axes", y: float, geometry: Any, colour: str, shade: str) -> None:
    from .frames import leftover_bytes
    kib = 1024.0
    stride = geometry.slab_size / kib
    start = 0.0
    if geometry.allocator == "slab" and geometry.mgmt_on_slab and geometry.mgmt_bytes:
        axes.broken_barh([(0, geometry.mgmt_bytes / kib)], (y - 0.35, 0.7), facecolor="#555555")
        start = geometry.mgmt_bytes / kib
    spans = [(start + i * stride, stride) for i in range(geometry.objs_per_slab)]
    axes.broken_barh(spans[0::2], (y - 0.35, 0.7), facecolor=colour, edgecolor="white", linewidth=0.3)
    axes.broken_barh(spans[1::2], (y - 0.35, 0.7), facecolor=shade, edgecolor="white", linewidth=0.3)
    leftover = leftover_bytes(geometry)
    if leftover:
        axes.broken_barh([(geometry.slab_bytes / kib - leftover / kib, leftover / kib)], (y - 0.35, 0.7),
                         facecolor="#eeeeee", edgecolor="#7f7f7f", hatch="xxx", linewidth=0.5)
    axes.text(geometry.slab_bytes / kib, y, f"  {geometry.objs_per_slab} × {geometry.slab_size} B, "
              f"{leftover} B left, order {geometry.order} ({geometry.allocator.upper()})", va="center", fontsize=8)


def slab_figure(views: Sequence["SlabView"]) -> "Figure":
    """One slab of each cache per build, fields off and on: the objects it holds and the bytes left over.

    Objects alternate two shades (off: blue, on: orange), leftover is hatched
    grey, SLAB's on-slab management dark grey; each bar says objects x stride,
    leftover and order, and each ``on`` label the change in real bytes per object.
    """
    from matplotlib.patches import Patch
    caches = list(dict.fromkeys(cache.spec.name for view in views for cache in view.caches))
    figure = new_figure(11.0, 1.2 + sum(0.9 + 0.5 * len(views) * 2 for _ in caches) * 0.75)
    axes_list = figure.subplots(max(len(caches), 1), 1, squeeze=False)[:, 0]
    for axes, cache_name in zip(axes_list, caches):
        labels, y, widest = [], 0, 0
        for view in views:
            cache = next((c for c in view.caches if c.spec.name == cache_name), None)
            if cache is None:
                continue
            effect = next((e for e in cache.effects if e.allocator == view.allocator), None)
            _slab_bar(axes, y, cache.predicted, OFF_COLOUR, "#72a0d0")
            labels.append(f"{_short_build(view.build)} · off")
            widest = max(widest, cache.predicted.slab_bytes)
            y += 1
            if effect is not None:
                _slab_bar(axes, y, effect.on, ON_COLOUR, "#f8ad62")
                delta = effect.delta_bytes_per_object
                labels.append(f"on ({delta:+.0f} B/object)" if delta else "on (±0 B/object)")
                widest = max(widest, effect.on.slab_bytes)
                y += 1
        axes.set_ylim(y - 0.5, -0.5)
        axes.set_yticks(range(len(labels)), labels, fontsize=8)
        axes.set_xlim(0, widest / 1024 * 1.62)
        axes.set_xlabel("bytes in one slab (KiB)", fontsize=8)
        axes.xaxis.set_major_locator(_integer_locator())
        axes.tick_params(axis="x", labelsize=8)
        axes.set_title(f"cache {cache_name}", fontsize=10)
    handles = [Patch(facecolor=OFF_COLOUR, label="object, fields off"),
               Patch(facecolor=ON_COLOUR, label="object, fields on"),
               Patch(facecolor="#eeeeee", edgecolor="#7f7f7f", hatch="xxx", label="leftover"),
               Patch(facecolor="#555555", label="SLAB management")]
    figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    changed = sorted({cache.spec.name for view in views for cache in view.caches for effect in cache.effects
                      if effect.allocator == view.allocator and effect.delta_bytes_per_object})
    finding = (f"{', '.join(changed)} cost more per object with the fields on" if changed
               else "no cache costs more per object")
    figure.suptitle(finding_title(f"One slab per cache and build: {finding}"), fontsize=11)
    return apply_theme(figure)


def _integer_locator() -> Any:
    """Ticks on whole numbers only (bytes, KiB): no 0.5-byte marks."""
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)


# --- diff -------------------------------------------------------------------------------------------------------

_STATUS_COLOUR = {"grown": PALETTE[3], "shrunk": PALETTE[0], "added": PALETTE[1], "removed": "#8c8c8c",
                  "changed": PALETTE[4]}
_STATUS_HATCH = {"grown": "", "shrunk": "", "added": "//", "removed": "xx", "changed": ".."}


def diff_figure(result: "DiffResult", limit: int = 20) -> "Figure":
    """The structs ``layoutcalc diff`` lists, largest change first: one bar per struct, its delta in bytes.

    Colour (vermillion grown, blue shrunk, orange added, grey removed: no
    red/green pair) and hatching say which; each bar carries its delta and
    old -> new size; the title states the finding and "top N of M".
    """
    from matplotlib.patches import Patch
    everything = [c for c in result.changes if c.delta]
    changes = sorted(everything, key=lambda c: (-abs(c.delta), c.label))[:limit]
    figure = new_figure(9.0, 1.9 + 0.36 * max(len(changes), 1))
    axes = figure.subplots()
    deltas = [c.delta for c in changes]
    axes.barh(range(len(changes)), deltas, color=[_STATUS_COLOUR.get(c.status, PALETTE[4]) for c in changes],
              hatch=[_STATUS_HATCH.get(c.status, "") for c in changes], edgecolor="#333333", linewidth=0.4,
              height=0.6)
    span = max((abs(d) for d in deltas), default=1) or 1
    for y, change in enumerate(changes):
        old = str(change.old_size) if change.old else "–"
        new = str(change.new_size) if change.new else "–"
        text = f"{change.delta:+d} B ({old} → {new})"
        axes.text(change.delta + (span * 0.03 if change.delta >= 0 else -span * 0.03), y, text, va="center",
                  ha="left" if change.delta >= 0 else "right", fontsize=8, color=INK)
    axes.set_xlim(-span * (1.9 if min(deltas, default=0) < 0 else 0.05), span * (1.9 if max(deltas, default=0) > 0
                                                                                 else 0.05))
    axes.axvline(0, color="#333333", linewidth=0.8)
    axes.xaxis.set_major_locator(_integer_locator())
    axes.set_yticks(range(len(changes)), [c.label for c in changes], fontsize=8)
    axes.set_ylim(max(len(changes), 1) - 0.5, -0.5)
    if not changes:
        axes.text(0, 0, "no struct changed size", ha="center", va="center", fontsize=9)
    axes.set_xlabel("size change (bytes)", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    summary = result.summary
    top = f"top {len(changes)} of {len(everything)} size changes" if len(everything) > len(changes) else \
        f"all {len(everything)} size changes"
    largest = f"; largest: {changes[0].label} {changes[0].delta:+d} B" if changes else ""
    figure.suptitle(finding_title(f"{result.old.name} → {result.new.name}: {summary.grown} grew, {summary.shrunk} "
                                  f"shrank, net {summary.net:+d} B{largest}", 100) + f"\n{top}", fontsize=9)
    present = list(dict.fromkeys(c.status for c in changes)) or ["grown"]
    figure.legend(handles=[Patch(facecolor=_STATUS_COLOUR.get(s, PALETTE[4]), hatch=_STATUS_HATCH.get(s, ""),
                                 edgecolor="#333333", label=s) for s in present],
                  loc="outside lower center", ncols=max(len(present), 1), fontsize=8, frameon=False)
    return apply_theme(figure)


def figure_bytes(figure: "Figure", fmt: str = "png", dpi: int = 110) -> bytes:
    """``figure`` as PNG or SVG bytes (for a notebook, a web page or a report), with its own background."""
    import io
    if fmt not in PLOT_FORMATS:
        raise OutputError(f"a figure is rendered as png or svg, not '{fmt}'")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi, facecolor=figure.get_facecolor())
    return buffer.getvalue()
