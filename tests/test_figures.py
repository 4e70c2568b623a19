"""Every figure of the API, rendered and inspected: no overlapping or clipped text, a legend, no red/green pair,
a title that states the finding, whole-byte ticks, and PNG/SVG bytes from the API."""

from __future__ import annotations

import matplotlib
import pytest
from figure_checks import deltas, layout_problems, red_green_pairs
from growth import build_pair

import layoutcalc

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return build_pair(tmp_path_factory.mktemp("growth"))


def _figures(pair):
    old, new = layoutcalc.load(str(pair.old)), layoutcalc.load(str(pair.new))
    snapshot = layoutcalc.bundled()[0]
    return {
        "diff": old.diff(new).figure(),
        "history": layoutcalc.history([str(pair.old), str(pair.new)], ["widget", "big"]).figure(),
        "whatif": snapshot.whatif("flat").figure(),
        "report": layoutcalc.report([snapshot]).figure(),
        "slab": layoutcalc.slabs([snapshot]).figure(),
    }


@pytest.fixture(scope="module")
def figures(pair):
    return _figures(pair)


@pytest.mark.parametrize("name", ["diff", "history", "whatif", "report", "slab"])
def test_figure_is_readable(figures, name):
    assert layout_problems(figures[name]) == []


@pytest.mark.realbuild
def test_real_diff_and_history_figures_are_readable():
    """Long build names and 160 size changes (47 -> 57): the title must still fit."""
    from realbuilds import vmlinux
    old, new = vmlinux("47-cloud-amd64"), vmlinux("57-cloud-amd64")
    assert layout_problems(layoutcalc.load(old).diff(new).figure()) == []
    arm = vmlinux("arm64")
    assert layout_problems(layoutcalc.history([old, arm, new]).figure()) == []


def test_the_checks_catch_what_they_claim():
    """A figure made badly on purpose fails every check."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(3, 2))
    axes = figure.subplots()
    axes.bar([0, 1], [1, 2], color=["#d62728", "#2ca02c"])  # matplotlib's classic red and green
    axes.text(0.5, 1.0, "a label on top of", fontsize=9)
    axes.text(0.52, 1.0, "another label", fontsize=9)
    figure.text(0.95, 0.5, "past the right edge of the figure")
    problems = layout_problems(figure)
    assert "no legend" in problems
    assert any(p.startswith("overlap: 'a label on top of'") for p in problems)
    assert any(p.startswith("clipped: 'past the right edge") for p in problems)
    assert red_green_pairs(figure) == [("#2ca02c", "#d62728")]
    normal, deutan = deltas((0xD5 / 255, 0x5E / 255, 0), (0, 0x9E / 255, 0x73 / 255))
    assert normal > 20 and deutan > 30  # Okabe-Ito's vermillion and bluish green stay apart
    assert deltas((0xC0 / 255, 0x39 / 255, 0x2B / 255), (0x2E / 255, 0x8B / 255, 0x57 / 255))[1] < 30


def test_titles_state_the_finding_and_top_n_of_m(figures, pair):
    diff_title = figures["diff"].get_suptitle()
    assert "grew" in diff_title and "largest: " in diff_title and "size changes" in diff_title
    history_title = figures["history"].get_suptitle()
    big = pair.new_layout["big"].size - pair.old_layout["big"].size
    assert f"big {big:+d}" in history_title


def test_top_n_of_m():
    from layoutcalc.features.diff import Catalogue, StructLayout, diff_catalogues
    from layoutcalc.render.plots import diff_figure
    old = Catalogue("a", "x86_64", 64, "btf", {f"s{i}": (StructLayout("struct", f"s{i}", 8, (), (), 0),)
                                               for i in range(30)}, {})
    new = old._replace(name="b", layouts={f"s{i}": (StructLayout("struct", f"s{i}", 8 + 8 * (i + 1), (), (), 0),)
                                          for i in range(30)})
    title = diff_figure(diff_catalogues(old, new), limit=20).get_suptitle()
    assert title.endswith("top 20 of 30 size changes")
    assert "largest: s29 +240 B" in title


def test_byte_ticks_are_whole_numbers(figures):
    for name in ("diff", "history", "report"):
        for axes in figures[name].get_axes():
            axis = axes.xaxis if name in ("diff", "report") else axes.yaxis
            ticks = [t for t in axis.get_ticklocs() if axis.get_view_interval()[0] <= t <= axis.get_view_interval()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), (name, ticks)


def test_figures_have_an_opaque_background(figures):
    for figure in figures.values():
        assert matplotlib.colors.to_rgba(figure.get_facecolor())[3] == 1.0


def test_png_and_svg_from_the_api(pair):
    diff = layoutcalc.load(str(pair.old)).diff(layoutcalc.load(str(pair.new)))
    assert diff.png().startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in diff.svg()[:4096]


def test_pngs_are_opaque_so_dark_notebooks_show_dark_ink_on_light(figures):
    """A transparent PNG puts black text on a dark notebook page; ours carry their own background."""
    import io

    from PIL import Image
    for name, figure in figures.items():
        image = Image.open(io.BytesIO(figure._repr_png_())).convert("RGBA")
        assert image.getchannel("A").getextrema() == (255, 255), name
        assert image.getpixel((1, 1))[:3] == (0xF4, 0xF4, 0xF2), name
