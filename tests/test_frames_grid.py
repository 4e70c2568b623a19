"""Cacheline grids: anonymous members' contents, the build's cacheline size, legible narrow members,
and what-if rows that must not be folded away.  gcc's offsetof/sizeof are the oracle."""

from __future__ import annotations

import pytest
from cc import compile_c, symbol_words
from test_frames import _pieces

import layoutcalc

SOURCE = """
struct outer {
    int a;
    struct { char b; long c; };           /* 7-byte hole after b, inside the anonymous struct */
    union { int u; long v; };
    unsigned int f1:1, f2:1;
    int tail;
};
struct outer an_outer;
unsigned long long probe[] = { sizeof(struct outer), __builtin_offsetof(struct outer, b),
                               __builtin_offsetof(struct outer, c), __builtin_offsetof(struct outer, u),
                               __builtin_offsetof(struct outer, tail) };
"""


@pytest.fixture(scope="module")
def outer(tmp_path_factory):
    obj = compile_c(SOURCE, tmp_path_factory.mktemp("grid"), "outer")
    return obj, layoutcalc.load(obj).struct("outer")


def test_anonymous_struct_is_drawn_member_by_member(outer):
    obj, layout = outer
    size, off_b, off_c, off_u, off_tail = symbol_words(obj, "probe")
    drawn = list(_pieces(layout._repr_html_()).segments.values())
    named = {name: (start // 8, bits // 8) for kind, start, bits, name in drawn if kind == "member" and bits % 8 == 0}
    assert named["b"] == (off_b, 1) and named["c"] == (off_c, 8) and named["tail"][0] == off_tail
    assert named["union { u | v }"] == (off_u, 8)
    assert ("hole", 8 * (off_b + 1), 8 * (off_c - off_b - 1)) in [(k, s, n) for k, s, n, _ in drawn]
    covered = sorted((start, start + bits) for _, start, bits, _ in drawn if bits)
    assert covered[0][0] == 0 and covered[-1][1] == 8 * size
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:])), "segments must tile the struct"


def test_one_bit_fields_are_listed_under_their_row(outer):
    _, layout = outer
    html = layout._repr_html_()
    narrow = html.split('class="lc-narrow">', 1)[1].split("</div>", 1)[0]
    assert "f1 @" in narrow and "(1 bit)" in narrow and "f2 @" in narrow


def test_grid_rows_follow_the_builds_recorded_cacheline():
    old = layoutcalc.load("linux-2.6.22.19-x86_64").struct("task_struct")
    assert old.cacheline_size == 128
    html = old._repr_html_()
    assert "CL 1 · 128" in html and "128-byte cachelines" in html
    new = layoutcalc.load("6.1.0-47-cloud-amd64").struct("pid")
    assert new.cacheline_size == 64 and "CL 1 · 64" in new._repr_html_()


def test_whatif_keeps_the_rows_where_the_shift_ends():
    from layoutcalc.render.html import whatif_elisions
    from layoutcalc.render.layoutmap import ADDED, HOLE, MEMBER, Segment
    line = 512
    segments = [Segment(MEMBER, 0, 64, "a", member_index=0), Segment(ADDED, 64, 64, "new"),
                *[Segment(MEMBER, line * r + 128 * (r == 0), 64, f"m{r}", shift_bytes=8, member_index=r)
                  for r in range(1, 6)],
                Segment(HOLE, line * 6, 64), Segment(MEMBER, line * 6 + 64, 64, "late", member_index=9),
                *[Segment(MEMBER, line * r, 64, f"n{r}", member_index=r) for r in range(7, 12)]]
    reasons = whatif_elisions(segments)
    assert reasons[6] == "" and reasons[5] == ""   # members stop shifting in row 6: the absorbing hole
    assert reasons[3] == "members shifted +8 bytes" and reasons[9] == "unchanged"


@pytest.mark.realbuild
def test_real_mm_struct_grid_shows_its_anonymous_struct():
    from realbuilds import vmlinux
    layout = layoutcalc.load(vmlinux("amd64")).struct("mm_struct")
    names = {name for kind, _, _, name in _pieces(layout._repr_html_()).segments.values() if kind == "member"}
    assert {"mm_mt", "pgd", "mm_users", "mmap_lock", "start_code", "env_end"} <= names


def test_fields_added_inside_an_anonymous_struct_mark_the_members_they_move():
    """A what-if that adds to mm_struct's anonymous struct: the members after it moved (no 'unchanged' row)."""
    from layoutcalc.analysis.layout import struct_holes
    from layoutcalc.model import BaseType, Member, StructType
    from layoutcalc.render.layoutmap import ADDED, layout_segments, member_shifts
    long_ = BaseType("long", 8)

    def build(extra):
        members = [Member("a", long_, 0)] + ([extra] if extra else [])
        members += [Member(f"m{i}", long_, 64 * (i + 1 + bool(extra))) for i in range(20)]
        inner = StructType("struct", None, 8 * len(members), members)
        return StructType("struct", "mm", inner.size_bytes, [Member(None, inner, 0)])
    added = Member("fresh", long_, 64)
    before, after = build(None), build(added)
    shifts = member_shifts(before, after, {id(added)})
    moved = {m.name: shifts[id(m)] for m in after.members[0].type.members if id(m) in shifts}
    assert moved == {f"m{i}": 8 for i in range(20)}

    class Stats:  # what layout_segments reads of LayoutStats for a struct without holes
        pre_hole = pre_bit_hole = padding = bit_padding = 0
        gaps = [struct_holes(after)[1][0]]
    segments = layout_segments(after, Stats(), {id(added)}, shifts)  # type: ignore[arg-type]
    assert [s.name for s in segments if s.kind == ADDED] == ["fresh"]
    assert {s.name: s.shift_bytes for s in segments if s.name.startswith("m")} == {f"m{i}": 8 for i in range(20)}


def test_whatif_on_a_128_byte_cacheline_build():
    from figure_checks import layout_problems
    whatif = layoutcalc.load("linux-2.6.22.19-x86_64").whatif("flat")
    assert whatif.cacheline_size == 128 and "CL 1 · 128" in whatif["task_struct"]._repr_html_()
    figure = whatif.figure()
    assert figure.get_axes()[0].get_xlabel() == "byte within the 128-byte cacheline"
    assert layout_problems(figure) == []
    assert whatif["pid"].png().startswith(b"\x89PNG")
