"""Presentation of struct sizes across builds: a table, JSON, CSV and a plot (matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..features.history import HistoryRow, version_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _cell(size: Optional[int], previous: Optional[int]) -> str:
    if size is None:
        return "-"
    if previous is None or previous == size:
        return str(size)
    return f"{size} ({size - previous:+d})"


def history_text(rows: Sequence[HistoryRow], names: Sequence[str]) -> str:
    """One line per build (arch and version from the build), one column per struct.

    A change shows its delta from the previous build of the same series
    (flavour and arch): never from a build of another architecture.
    """
    table = [["build", "arch", "version", *names]]
    previous: dict[tuple[str, str], dict[str, Optional[int]]] = {}
    for row in rows:
        before = previous.get(row.series, {})
        table.append([row.build, row.meta.arch or "-", row.meta.version or "-",
                      *(_cell(row.sizes[n], before.get(n)) for n in names)])
        previous[row.series] = row.sizes
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def history_payload(rows: Sequence[HistoryRow], names: Sequence[str]) -> dict[str, Any]:
    """``history --format json``: each build with its metadata."""
    return {"structs": list(names),
            "builds": [{"build": row.build, "source": row.source, **row.meta._asdict(), "sizes": row.sizes}
                       for row in rows]}


HISTORY_COLUMNS = ("build", "arch", "release", "version", "flavour", "package")


def history_rows(rows: Sequence[HistoryRow], names: Sequence[str]) -> list[dict[str, Any]]:
    """Flat rows (build, its metadata, one column per struct; empty when absent) for CSV."""
    return [{"build": row.build, **row.meta._asdict(), **{n: "" if row.sizes[n] is None else row.sizes[n]
                                                          for n in names}}
            for row in rows]


def _series_label(series: tuple[str, str]) -> str:
    flavour, arch = series
    return f"{flavour} ({arch})" if flavour else arch or "builds"


def history_figure(rows: Sequence[HistoryRow], names: Sequence[str]) -> "Figure":
    """One panel per struct, one line per series (flavour on arch), builds along x in version order.

    The y axis spans at least a tenth of the largest size (an 8-byte change
    does not fill the panel), with whole-byte ticks; a size is written only
    where it changes along its line.
    """
    from matplotlib.ticker import MaxNLocator

    from .plots import PALETTE, apply_theme, finding_title, new_figure
    # builds that record their version in version order; those that do not (a test object) in input order
    order = {name: index for index, name in enumerate(dict.fromkeys(row.meta.version or row.build for row in rows))}
    recorded = {row.meta.version for row in rows if row.meta.version}
    versions = sorted(order, key=lambda v: (0, version_key(v), 0) if v in recorded else (1, (), order[v]))
    series = list(dict.fromkeys(row.series for row in rows))
    figure = new_figure(max(6.0, 1.4 * len(versions) + 3), 2.2 * len(names) + 1.0)
    axes_list = figure.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    markers = ["o", "s", "^", "D", "v", "P"]
    changes = []
    for axes, name in zip(axes_list, names):
        sizes = [size for row in rows for size in [row.sizes[name]] if size is not None]
        for index, key in enumerate(series):
            points = sorted((versions.index(row.meta.version or row.build), size) for row in rows
                            if row.series == key for size in [row.sizes[name]] if size is not None)
            axes.plot([p for p, _ in points], [v for _, v in points], marker=markers[index % len(markers)],
                      color=PALETTE[index % len(PALETTE)], label=_series_label(key),
                      markersize=6, linewidth=1.5)
            last: Optional[int] = None
            for point in points:
                if point[1] != last:
                    axes.annotate(str(point[1]), point, textcoords="offset points", xytext=(0, 6 + 8 * index),
                                  ha="center", fontsize=7, color=PALETTE[index % len(PALETTE)])
                    if last is not None:
                        changes.append(f"{name} {point[1] - last:+d}")
                last = point[1]
        if sizes:
            low, high = min(sizes), max(sizes)
            span = max(high - low, high // 10, 8)
            middle = (low + high) / 2
            axes.set_ylim(max(0.0, middle - span * 0.75), middle + span * 0.75)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        axes.set_ylabel(f"{name}\n(bytes)")
        axes.set_xlim(-0.5, len(versions) - 0.5)
        axes.grid(True, alpha=0.3)
    axes_list[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="series")
    axes_list[-1].set_xticks(list(range(len(versions))), versions, fontsize=8, rotation=20, ha="right")
    axes_list[-1].set_xlabel("version")
    finding = ", ".join(dict.fromkeys(changes)) if changes else "no size changed"
    figure.suptitle(finding_title(f"Struct sizes across builds: {finding}"))
    apply_theme(figure)
    return figure
