"""The notebook API's numbers: member frames, the HTML cacheline grid, the CLI's --plot.

Structs with bitfields, bit holes, holes and a flexible array are compiled at
test time; pahole (its per-member ``XXX ... hole`` comments and summary) is
the oracle for where the holes are, gcc's sizeof for the size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple, Optional

import pandas as pd
import pytest
from cc import compile_c, have, layout_probe, symbol_words
from click.testing import CliRunner

import layoutcalc
from layoutcalc.cli import main
from layoutcalc.render import frames

ROOT = Path(__file__).resolve().parent.parent

SOURCE = """
struct bits {            /* bitfields, a bit hole, a byte hole, bit padding */
    char c;
    unsigned int a:3;
    unsigned int b:9;
    long l;
    unsigned short s:4;
    unsigned short t:7;
};
struct flex {            /* a hole before a flexible array */
    int n;
    char tag;
    long items[];
};
struct mixed {           /* holes of several sizes, an aligned member, tail padding */
    char c;
    void *p;
    int i:5;
    char d;
    short sh;
    char e;
    long long ll __attribute__((aligned(16)));
    char last;
};
""" + "".join(layout_probe(name, []) for name in ("bits", "flex", "mixed"))
STRUCTS = ("bits", "flex", "mixed")

needs_gcc = pytest.mark.skipif(not have("gcc"), reason="gcc is not installed")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("gcc"):
        pytest.skip("gcc is not installed")
    return compile_c(SOURCE, tmp_path_factory.mktemp("frames"), "frames_shapes")


def _pahole_holes(obj: Path, name: str) -> dict[str, tuple[int, int]]:
    """pahole's (bytes, bits) hole after each member, from its ``/* XXX ... hole */`` comments."""
    if not have("pahole"):
        pytest.skip("pahole is not installed")
    out = subprocess.run(["pahole", "-F", "dwarf", "-C", name, str(obj)], capture_output=True, text=True,
                         check=True).stdout
    holes: dict[str, tuple[int, int]] = {}
    last = ""
    for line in out.splitlines():
        member = re.match(r"\s+.*?(\w+)(?:\[\d*\])*(?::\d+)?;\s+/\*", line)
        if member:
            last = member.group(1)
            continue
        hole = re.search(r"XXX (\d+) (byte|bit)s? hole", line)
        if hole:
            size, unit = int(hole.group(1)), hole.group(2)
            bytes_, bits = holes.get(last, (0, 0))
            holes[last] = (bytes_ + size, bits) if unit == "byte" else (bytes_, bits + size)
    return holes


@needs_gcc
@pytest.mark.parametrize("name", STRUCTS)
def test_member_frame_adds_up_to_the_size_and_agrees_with_pahole(shapes: Path, name: str) -> None:
    layout = layoutcalc.load(shapes).struct(name)
    frame = layout.frame()
    sizeof = symbol_words(shapes, f"probe_{name}")[0]
    assert frame.attrs["size_bytes"] == sizeof
    bitfield = frame["bit_size"].notna()
    member_bits = int(frame.loc[bitfield, "bit_size"].sum()) + 8 * int(frame.loc[~bitfield, "size_bytes"].sum())
    total = (member_bits + 8 * int(frame["hole_before_bytes"].sum()) + int(frame["bit_hole_before_bits"].sum())
             + 8 * frame.attrs["padding_bytes"] + frame.attrs["bit_padding_bits"])
    assert total == 8 * sizeof
    pahole = _pahole_holes(shapes, name)
    names = list(frame["member"])
    ours = {names[i - 1]: (int(frame["hole_before_bytes"][i]), int(frame["bit_hole_before_bits"][i]))
            for i in range(1, len(names)) if frame["hole_before_bytes"][i] or frame["bit_hole_before_bits"][i]}
    assert ours == {k: v for k, v in pahole.items() if k in names[:-1]}
    assert (frame["cacheline"] == frame["offset_bytes"] // 64).all()


@needs_gcc
def test_member_frame_columns_on_bitfields_and_flexible_array(shapes: Path) -> None:
    build = layoutcalc.load(shapes)
    bits = build.struct("bits").frame().set_index("member")
    assert list(bits.columns) == list(frames.MEMBER_COLUMNS[1:])
    # a:3 and b:9 share the int at offset 0 with c, so a starts at bit 8 of that unit
    assert (bits.loc["a", "offset_bytes"], bits.loc["a", "bit_offset"], bits.loc["a", "bit_size"]) == (0, 8, 3)
    assert bits.loc["b", "bit_offset"] == 11
    assert bits.loc["l", "hole_before_bytes"] == 4 and bits.loc["l", "bit_hole_before_bits"] == 12
    assert bits.loc["l", "alignment_bytes"] == 8
    flex = build.struct("flex").frame().set_index("member")
    assert flex.loc["items", "size_bytes"] == 0 and flex.loc["items", "offset_bytes"] == 8
    assert flex.loc["items", "hole_before_bytes"] == 3
    mixed = build.struct("mixed").frame().set_index("member")
    assert (mixed.loc["ll", "alignment_bytes"], mixed.loc["ll", "alignment_source"]) == (16, "attribute")
    assert mixed.loc["p", "alignment_source"] == "type"


class _Pieces(HTMLParser):
    """The drawn pieces of one grid (``layout``, or a what-if's ``after``), by segment number:
    kind, bit start, bit size, name."""

    def __init__(self, grid: str) -> None:
        super().__init__()
        self.grid = grid
        self.segments: dict[str, tuple[str, int, int, str]] = {}
        self.moved: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "data-seg" in values and values.get("data-grid") == self.grid:
            self.segments[str(values["data-seg"])] = (str(values["data-kind"]), int(values["data-bit-start"] or 0),
                                                      int(values["data-bit-size"] or 0), str(values["data-name"]))
            if "lc-moved" in (values.get("class") or ""):
                self.moved.add(str(values["data-name"]))


def _pieces(html: str, grid: str = "layout") -> _Pieces:
    parser = _Pieces(grid)
    parser.feed(html)
    return parser


@needs_gcc
@pytest.mark.parametrize("name", STRUCTS)
def test_html_grid_marks_every_hole_and_tiles_the_struct(shapes: Path, name: str) -> None:
    layout = layoutcalc.load(shapes).struct(name)
    frame = layout.frame()
    drawn = _pieces(layout._repr_html_()).segments.values()
    holes = sorted((start // 8, size // 8) for kind, start, size, _ in drawn if kind == "hole")
    offsets, widths = list(frame["offset_bytes"]), list(frame["hole_before_bytes"])
    expected = []
    for index, hole in enumerate(widths):
        if hole:  # a byte hole ends where the next member (or its storage unit) starts
            expected.append((offsets[index] - hole, hole))
    assert holes == sorted(expected)
    assert sum(size for kind, _, size, _ in drawn if kind == "bit_hole") == frame["bit_hole_before_bits"].sum()
    padding = [size for kind, _, size, _ in drawn if kind == "padding"]
    assert sum(padding) == 8 * frame.attrs["padding_bytes"]
    covered = sorted((start, start + size) for _, start, size, _ in drawn if size)
    assert covered[0][0] == 0 and covered[-1][1] == 8 * frame.attrs["size_bytes"]
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:])), "segments must tile the struct"
    if name == "flex":
        assert [n for kind, _, _, n in drawn if kind == "flexible"] == ["items"]


@needs_gcc
def test_whatif_html_marks_every_added_field_and_moved_member(shapes: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "grow.toml"
    scenario.write_text('name = "grow"\ndescription = "test"\n'
                        '[[change]]\nstruct = "flex"\nafter = ["n"]\nfields = ["char x;", "long y;"]\n'
                        '[[change]]\nstruct = "bits"\nafter = []\nfields = ["unsigned int z:5;"]\n')
    whatif = layoutcalc.load(shapes).whatif(scenario=str(scenario))
    flex = whatif["flex"]
    pieces = _pieces(flex._repr_html_(), "after")
    added = {name: (start, size) for kind, start, size, name in pieces.segments.values() if kind == "added"}
    frame = flex.frame().set_index("member")
    assert added == {n: (8 * frame.loc[n, "offset_bytes"], 8 * frame.loc[n, "size_bytes"]) for n in ("x", "y")}
    assert list(frame[frame["added"]].index) == ["x", "y"]
    # tag moved from 4 to 16 (after x at 4 and y at 8); items from 8 to 24
    assert (frame.loc["tag", "moved_bytes"], frame.loc["items", "moved_bytes"]) == (12, 16)
    assert pieces.moved == {"tag", "items"}
    bits = _pieces(whatif["bits"]._repr_html_(), "after")
    assert [n for kind, _, size, n in bits.segments.values() if kind == "added" and size == 5] == ["z"]
    summary = whatif.frame().set_index("struct")
    assert summary.loc["flex", "size_delta_bytes"] == frame.attrs["size_bytes"] - 8


def test_report_frame_is_the_csv_report() -> None:
    result = CliRunner().invoke(main, ["report", "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.strip().splitlines()
    columns = header.split(",")
    frame = layoutcalc.report().frame()
    assert len(frame) == len(lines)
    renamed = {"size_off": "size_before_bytes", "size_on": "size_after_bytes", "object_off": "object_before_bytes",
               "object_on": "object_after_bytes", "objs_per_slab_off": "objs_per_slab_before",
               "objs_per_slab_on": "objs_per_slab_after", "order_off": "order_before", "order_on": "order_after",
               "bytes_per_object_off": "bytes_per_object_before", "bytes_per_object_on": "bytes_per_object_after"}
    for line, (_, row) in zip(lines, frame.iterrows()):
        values = dict(zip(columns, line.split(",")))
        for column, value in values.items():
            ours = row.get(renamed.get(column, column))
            if ours is None or column == "verdict":
                continue
            if ours is pd.NA:
                assert value == "", column
                continue
            if isinstance(ours, float):
                assert round(ours, 2) == float(value), column
            else:
                assert str(ours) == value, column


def test_slab_frame_geometry_adds_up() -> None:
    frame = layoutcalc.slabs().frame()
    assert set(frame["cache"]) == {"task_struct", "signal_cache", "pid"}
    assert (frame["slab_bytes"] == 4096 * 2 ** frame["order"]).all()
    slub = frame[frame["allocator"] == "slub"]
    assert (slub["slab_bytes"] - slub["objs_per_slab"] * slub["slab_size_bytes"] == slub["leftover_bytes"]).all()
    # SLAB (the 2.6.22 builds) keeps struct slab and the bufctls on the slab: less is left over
    slab = frame[frame["allocator"] == "slab"]
    assert len(slab) == 6
    assert (slab["slab_bytes"] - slab["objs_per_slab"] * slab["slab_size_bytes"] > slab["leftover_bytes"]).all()
    assert (abs(frame["bytes_per_object"] - frame["slab_bytes"] / frame["objs_per_slab"]) < 1e-9).all()
    pid = frame[frame["cache"] == "pid"]
    assert (pid["struct_size_after_bytes"] > pid["struct_size_bytes"]).all()


class _HistoryRow(NamedTuple):
    build: str
    sizes: dict[str, Optional[int]]
    source: str = "dwarf"


def test_history_frame_growth() -> None:
    rows = [_HistoryRow("a", {"pid": 64, "task": None}), _HistoryRow("b", {"pid": 96, "task": 100}),
            _HistoryRow("c", {"pid": 96, "task": 104})]
    frame = frames.history_frame(rows)
    assert list(frame.columns) == ["build", "source", "arch", "release", "version", "flavour", "package",
                                   "pid_size_bytes", "pid_delta_bytes", "task_size_bytes", "task_delta_bytes"]
    assert frame["pid_delta_bytes"].tolist()[1:] == [32, 0] and frame["pid_delta_bytes"].isna()[0]
    assert frame["task_delta_bytes"].isna().tolist() == [True, True, False] and frame["task_delta_bytes"][2] == 4


def test_load_names_bundled_snapshots() -> None:
    from layoutcalc.errors import NotFoundError
    assert layoutcalc.load("686-pae").arch == "i386"
    with pytest.raises(NotFoundError, match="names .* bundled snapshots"):
        layoutcalc.load("6.1.0")
    with pytest.raises(NotFoundError, match="no such file"):
        layoutcalc.load("no-such-build")


def _drawn_texts(figure) -> list:  # type: ignore[no-untyped-def]
    """Every text the figure shows: titles, axis and tick labels inside the view, annotations, legends."""
    texts = list(figure.texts) + [t for legend in figure.legends for t in legend.get_texts()]
    for sub in figure.subfigs:
        texts += list(sub.texts)
    for axes in figure.get_axes():
        texts += [axes.title, axes.xaxis.label, axes.yaxis.label, *axes.texts]
        for axis, (low, high) in ((axes.xaxis, sorted(axes.get_xlim())), (axes.yaxis, sorted(axes.get_ylim()))):
            texts += [tick.label1 for tick in axis.get_major_ticks()
                      if low - 1e-9 <= tick.get_loc() <= high + 1e-9 and tick.label1.get_visible()]
        if axes.get_legend():
            texts += axes.get_legend().get_texts()
    from matplotlib.text import Text
    renderer = figure.canvas.get_renderer()
    # Text.get_window_extent: the words only, without an annotation's leader line
    return [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts
            if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("kind", ["report", "slab", "whatif"])
def test_figures_have_no_clipped_or_overlapping_text(kind: str) -> None:
    if kind == "report":
        figure = layoutcalc.report().figure()
    elif kind == "slab":
        figure = layoutcalc.slabs().figure()
    else:
        figure = layoutcalc.load("cloud-amd64").whatif().figure()
    assert_readable(figure)


def assert_readable(figure) -> None:  # type: ignore[no-untyped-def]
    """Every text inside the figure, none overlapping another, and a legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    width, height = figure.bbox.width, figure.bbox.height
    boxes = _drawn_texts(figure)
    assert figure.legends or any(axes.get_legend() for axes in figure.get_axes()), "a legend is drawn"
    for label, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, f"clipped: {label}"
    for i, (label_a, a) in enumerate(boxes):
        for label_b, b in boxes[i + 1:]:
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 1 or overlap_y <= 1, f"text overlaps: {label_a!r} and {label_b!r}"


@pytest.mark.parametrize("command", [["report"], ["slab"], ["whatif"]])
def test_cli_plot_writes_an_image(tmp_path: Path, command: list[str]) -> None:
    for suffix, magic in ((".png", b"\x89PNG"), (".svg", b"<?xml")):
        out = tmp_path / f"figure{suffix}"
        result = CliRunner().invoke(main, [*command, "--plot", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(magic)


def test_cli_plot_refuses_other_formats_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "figure.jpg"
    result = CliRunner().invoke(main, ["report", "--plot", str(out)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: {out}: a plot is written as .png or .svg, not '.jpg'"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_help_imports_nothing_heavy() -> None:
    probe = ("import sys; sys.argv = ['layoutcalc', '--help']\n"
             "from layoutcalc.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "heavy = ('pandas', 'matplotlib', 'numpy', 'elftools', 'pycparser', 'layoutcalc.workbench')\n"
             "print('HEAVY', sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"


def _contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["_LIGHT", "_DARK"])
def test_grid_text_is_readable_in_light_and_dark_themes(theme: str) -> None:
    from layoutcalc.render import html
    palette = dict(re.findall(r"--lc-(\w+):(#[0-9a-f]{6})", getattr(html, theme)))
    text_on = [("fg", "bg"), ("muted", "bg"), ("mfg", "m1"), ("mfg", "m2"), ("addfg", "add"), ("flex", "bg"),
               ("move", "m1"), ("move", "m2")]
    for text, background in text_on:
        assert _contrast(palette[text], palette[background]) >= 4.5, (theme, text, background)
    for line in ("hole1", "bit1", "pad1", "rule"):  # hatching and rules against the page
        assert _contrast(palette[line], palette["bg"]) >= 1.5, (theme, line)
    assert "prefers-color-scheme: dark" in html.STYLE and 'data-jp-theme-light="false"' in html.STYLE
