"""What makes a figure unreadable, measured on the drawn figure: overlapping or clipped text, no legend,
and a pair of colours that only red/green vision tells apart.

The colour check simulates deuteranopia with Machado, Oliveira & Fernandes (2009), severity 1.0, on linear
RGB, and compares colours by CIE76 distance in Lab: a pair of a red and a green hue that normal vision
separates (distance > 20) but deuteranopes barely do (distance < 30, mostly lightness) is a red/green pair:
the diff figure's old grown/shrunk pair #c0392b/#2e8b57 is 95 apart in normal vision and 27 for a deuteranope.
"""

from __future__ import annotations

import colorsys
from itertools import combinations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.text import Text

DEUTERANOPIA = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881))


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _lab(rgb_linear: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = (min(max(v, 0.0), 1.0) for v in rgb_linear)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    return sum((p - q) ** 2 for p, q in zip(a, b)) ** 0.5


def deltas(rgb_a: tuple[float, float, float], rgb_b: tuple[float, float, float]) -> tuple[float, float]:
    """(distance in normal vision, distance for a deuteranope) of two sRGB colours."""
    lin_a, lin_b = tuple(_linear(c) for c in rgb_a), tuple(_linear(c) for c in rgb_b)
    sim_a = tuple(sum(m * c for m, c in zip(row, lin_a)) for row in DEUTERANOPIA)
    sim_b = tuple(sum(m * c for m, c in zip(row, lin_b)) for row in DEUTERANOPIA)
    return _distance(_lab(lin_a), _lab(lin_b)), _distance(_lab(sim_a), _lab(sim_b))  # type: ignore[arg-type]


def _hue_family(rgb: tuple[float, float, float]) -> str:
    hue, lightness, saturation = colorsys.rgb_to_hls(*rgb)
    if saturation < 0.25 or lightness > 0.93 or lightness < 0.08:
        return "grey"
    degrees = hue * 360
    if degrees >= 330 or degrees < 30:
        return "red"
    if 70 <= degrees < 170:
        return "green"
    return "other"


def used_colours(figure) -> set[tuple[float, float, float]]:  # type: ignore[no-untyped-def]
    colours = set()
    for artist in figure.findobj():
        for getter in ("get_facecolor", "get_color", "get_edgecolor", "get_markerfacecolor"):
            method = getattr(artist, getter, None)
            if method is None:
                continue
            try:
                value = method()
            except (TypeError, ValueError, AttributeError):
                continue
            values = value if hasattr(value, "__len__") and len(value) and not isinstance(value, str) \
                and hasattr(value[0], "__len__") else [value]
            for item in values:
                try:
                    rgba = to_rgba(item)
                except (ValueError, TypeError):
                    continue
                if rgba[3] > 0.2:
                    colours.add(tuple(round(c, 3) for c in rgba[:3]))
    return colours  # type: ignore[return-value]


def red_green_pairs(figure) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from matplotlib.colors import to_hex
    found = []
    for a, b in combinations(sorted(used_colours(figure)), 2):
        if {_hue_family(a), _hue_family(b)} != {"red", "green"}:
            continue
        normal, deutan = deltas(a, b)
        if normal > 20 and deutan < 30:
            found.append((to_hex(a), to_hex(b)))
    return found


def _hidden_tick_labels(figure) -> set[int]:  # type: ignore[no-untyped-def]
    """Tick labels matplotlib keeps for ticks outside the view: not drawn."""
    hidden = set()
    for axes in figure.get_axes():
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not (low - 1e-9 <= loc <= high + 1e-9):
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


def _visible_texts(figure, renderer):  # type: ignore[no-untyped-def]
    out = []
    hidden = _hidden_tick_labels(figure)
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text().strip() or id(text) in hidden:
            continue
        box = text.get_window_extent(renderer)
        if box.width == 0 or box.height == 0:
            continue
        clip = text.get_clip_box() if text.get_clip_on() else None
        if clip is not None and not clip.overlaps(box):
            continue  # clipped out of view by its axes
        out.append((text, box))
    return out


def layout_problems(figure) -> list[str]:  # type: ignore[no-untyped-def]
    """Overlapping text, text past the figure's edge, a missing legend, a red/green pair: one line each."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    problems = []
    texts = _visible_texts(figure, renderer)
    edge = figure.bbox
    for text, box in texts:
        if box.x0 < edge.x0 - 1 or box.y0 < edge.y0 - 1 or box.x1 > edge.x1 + 1 or box.y1 > edge.y1 + 1:
            problems.append(f"clipped: {text.get_text()!r}")
    for (first, a), (second, b) in combinations(texts, 2):
        shrunk_a = a.expanded(0.98, 0.9)
        if shrunk_a.overlaps(b.expanded(0.98, 0.9)):
            problems.append(f"overlap: {first.get_text()!r} and {second.get_text()!r}")
    if not figure.legends and not any(axes.get_legend() for axes in figure.get_axes()):
        problems.append("no legend")
    problems += [f"red/green pair: {a} and {b}" for a, b in red_green_pairs(figure)]
    return problems
