"""Presentation of struct sizes across builds: a table, JSON, CSV and a plot (matplotlib, imported lazily)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..analysis.history import HistoryRow

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _cell(size: Optional[int], previous: Optional[int]) -> str:
    if size is None:
        return "-"
    if previous is None or previous == size:
        return str(size)
    return f"{size} ({size - previous:+d})"


def history_text(rows: Sequence[HistoryRow], names: Sequence[str]) -> str:
    """One line per build, one column per struct; a change from the previous build shows its delta."""
    table = [["build", *names]]
    previous: dict[str, Optional[int]] = {}
    for row in rows:
        table.append([row.build, *(_cell(row.sizes[n], previous.get(n)) for n in names)])
        previous = row.sizes
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in table]
    return "\n".join(lines) + "\n"


def history_payload(rows: Sequence[HistoryRow], names: Sequence[str]) -> dict[str, Any]:
    """``history --format json``."""
    return {"structs": list(names),
            "builds": [{"build": row.build, "source": row.source, "sizes": row.sizes} for row in rows]}


def history_rows(rows: Sequence[HistoryRow], names: Sequence[str]) -> list[dict[str, Any]]:
    """Flat rows (build plus one column per struct) for CSV."""
    return [{"build": row.build, **{n: "" if row.sizes[n] is None else row.sizes[n] for n in names}}
            for row in rows]


def _release_and_flavour(build: str) -> tuple[str, str]:
    """``("6.1.0-47", "cloud-amd64")`` for Debian's ``6.1.0-47-cloud-amd64``; else the name and ""."""
    match = re.match(r"^(\d+\.\d+\.\d+-\d+)-(.+)$", build)
    return (match.group(1), match.group(2)) if match else (build, "")


def history_figure(rows: Sequence[HistoryRow], names: Sequence[str]) -> "Figure":
    """One panel per struct (their sizes differ by orders of magnitude), releases along the x axis.

    Builds named like Debian's (``6.1.0-47-rt-amd64``) are drawn as one line per
    flavour (cloud-amd64, amd64, rt-amd64...), so that a line follows one
    configuration from release to release.
    """
    from matplotlib.figure import Figure
    releases = list(dict.fromkeys(_release_and_flavour(row.build)[0] for row in rows))
    flavours = list(dict.fromkeys(_release_and_flavour(row.build)[1] for row in rows))
    figure = Figure(figsize=(max(6.0, 1.4 * len(releases) + 2), 2.2 * len(names) + 0.8), layout="constrained")
    axes_list = figure.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    styles = [("o", "-", 10), ("s", "--", 7), ("^", ":", 5), ("D", "-.", 4)]
    for axes, name in zip(axes_list, names):
        labelled: set[tuple[int, int]] = set()
        for index, flavour in enumerate(flavours):
            points = [(releases.index(release), size) for row in rows
                      for release, kind in [_release_and_flavour(row.build)]
                      for size in [row.sizes[name]] if kind == flavour and size is not None]
            # Equal sizes overlap: shrinking markers and different dashes keep every flavour visible.
            marker, line, size_pt = styles[index % len(styles)]
            axes.plot([p for p, _ in points], [s for _, s in points], marker=marker, linestyle=line,
                      markersize=size_pt, label=flavour or None)
            for point in points:
                if point not in labelled:
                    labelled.add(point)
                    axes.annotate(str(point[1]), point, textcoords="offset points", xytext=(0, 7),
                                  ha="center", fontsize=7)
        axes.set_ylabel(f"{name}\n(bytes)")
        axes.margins(x=0.15, y=0.3)
        axes.grid(True, alpha=0.3)
    if any(flavours):
        axes_list[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes_list[-1].set_xticks(list(range(len(releases))), releases, fontsize=8)
    figure.suptitle("struct sizes across builds")
    return figure
