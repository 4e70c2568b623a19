"""matplotlib figures of the API's results, for notebooks.  matplotlib is imported only here, lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..analysis.report import BuildReport


def bytes_per_object_figure(reports: Sequence["BuildReport"]) -> "Figure":
    """Grouped bars: real bytes per object with the scenario's fields off and on, per build and struct."""
    from matplotlib.figure import Figure
    rows = [(report.name, row) for report in reports for row in report.rows]
    figure = Figure(figsize=(max(6.0, 0.9 * len(rows)), 4.0), layout="constrained")
    axes = figure.subplots()
    positions = range(len(rows))
    off = [row.off.bytes_per_object for _, row in rows]
    on = [row.on.bytes_per_object for _, row in rows]
    axes.bar([p - 0.2 for p in positions], off, width=0.4, label="fields off")
    axes.bar([p + 0.2 for p in positions], on, width=0.4, label="fields on")
    axes.set_xticks(list(positions), [f"{row.struct}\n{name}" for name, row in rows], fontsize=7, rotation=30,
                    ha="right")
    axes.set_yscale("log")
    axes.set_ylabel("bytes per object (slab bytes / objects per slab)")
    axes.legend()
    for position, (_, row) in zip(positions, rows):
        if row.delta_bytes_per_object:
            axes.annotate(f"{row.delta_bytes_per_object:+.0f} B", (position + 0.2, row.on.bytes_per_object),
                          ha="center", va="bottom", fontsize=7)
    return figure
