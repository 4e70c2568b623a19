"""Every kind of patch edit, fast: a small header compiled by gcc before and after the patch (``diff -up``).

The prediction on the unpatched object must equal gcc's patched layout member for member (name, type,
offset, size, bits, through anonymous aggregates).  The slow corpus is tests/test_patch_corpus_612.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from layoutcalc import api
from layoutcalc.analysis.verify import compare_layouts
from layoutcalc.errors import ScenarioError

PRELUDE = """typedef unsigned char u8; typedef unsigned int u32; typedef unsigned long long u64;
#define __aligned(x) __attribute__((aligned(x)))
#define __packed __attribute__((packed))
#define __struct_group(TAG, NAME, ATTRS, MEMBERS...) \\
	union { struct { MEMBERS } ATTRS; struct TAG { MEMBERS } ATTRS NAME; } ATTRS
#define struct_group(NAME, MEMBERS...) __struct_group(/* no tag */, NAME, /* no attrs */, MEMBERS)
#define struct_group_tagged(TAG, NAME, MEMBERS...) __struct_group(TAG, NAME, /* no attrs */, MEMBERS)
#define DECLARE_FLEX_ARRAY(TYPE, NAME) struct { struct { } __empty_ ## NAME; TYPE NAME[]; }
enum kinds { KIND_A, KIND_B, KIND_C, NR_KINDS };
"""

BEFORE = """
#define NR_SLOTS 3

struct demo {
	u32 count;
	u8 flag;
	void *ptr;
	union {
		u64 big;
		struct {
			u32 lo;
			u32 hi;
		};
	};
	unsigned int a:3;
	unsigned int b:5;
	u64 slots[NR_SLOTS];
	u32 per_kind[NR_KINDS];
	u8 tail;
	char data[] __aligned(8);
};
"""

CASES = {
    "remove": ("\tu8 flag;\n", ""),
    "retype": ("\tu8 flag;\n", "\tu64 flag;\n"),
    "rename": ("\tu8 flag;\n", "\tu8 flags;\n"),
    "replace-with-union": ("\tvoid *ptr;\n", "\tunion {\n\t\tvoid *ptr;\n\t\tu64 word;\n\t};\n"),
    "two-levels-deep": ("\t\t\tu32 hi;\n", "\t\t\tu32 hi;\n\t\t\tu64 extra;\n"),
    "new-first-of-new-struct": ("\tu8 flag;\n", "\tstruct {\n\t\tu64 stamp;\n\t\tu8 flag;\n\t};\n"),
    "struct-group": ("\tu32 count;\n\tu8 flag;\n", "\tstruct_group(hdr,\n\t\tu32 count;\n\t\tu8 flag;\n\t);\n"),
    "struct-group-tagged": ("\tu32 count;\n\tu8 flag;\n",
                            "\tstruct_group_tagged(demo_hdr, hdr,\n\t\tu32 count;\n\t\tu8 flag;\n\t);\n"),
    "define-change-context": ("\tunsigned int b:5;\n\tu64 slots[NR_SLOTS];\n",
                              "\tunsigned int b:5;\n\tunsigned int c:1;\n\tu64 slots[NR_SLOTS];\n"),
    "enum-bound": ("\tu8 tail;\n", "\tu8 tail;\n\tu64 more[NR_KINDS];\n"),
    "bitfield": ("\tunsigned int b:5;\n", "\tunsigned int b:5;\n\tunsigned int c:30;\n"),
    "aligned": ("\tu8 tail;\n", "\tu8 tail __aligned(16);\n"),
    "packed-struct": ("\tu8 tail;\n", "\tu8 tail;\n\tstruct {\n\t\tu8 k;\n\t\tu32 v;\n\t} __packed pk;\n"),
    "flex-array-macro": ("\tchar data[] __aligned(8);\n", "\tDECLARE_FLEX_ARRAY(char, data) __aligned(8);\n"),
    "u8-before-aligned-flex": ("\tu8 tail;\n", "\tu8 tail;\n\tu8 tail2;\n"),
    "move": ("\tu8 flag;\n\tvoid *ptr;\n", "\tvoid *ptr;\n\tu8 flag;\n"),
    "inline-enum-bitfield": ("\tu8 tail;\n", "\tu8 tail;\n\tenum { ST_A, ST_B = 7, ST_C } state:8;\n"
                             "\tenum { NEG = -1, POS } sign;\n"),
    "aligned-existing-union": ("\t\t\tu32 hi;\n\t\t};\n\t};\n", "\t\t\tu32 hi;\n\t\t};\n\t} __aligned(32);\n"),
    "new-type-used": ("#define NR_SLOTS 3\n\nstruct demo {\n\tu32 count;\n",
                      "#define NR_SLOTS 3\n\nstruct extra {\n\tu32 a;\n\tu64 b;\n};\n\nstruct demo {\n"
                      "\tu32 count;\n\tstruct extra ex;\n"),
    "before-first-context": ("\tunsigned int a:3;\n", "\tu8 early;\n\tunsigned int a:3;\n"),
    "wrap-in-new-union": ("\tu8 flag;\n\tvoid *ptr;\n", "\tunion {\n\t\tu8 flag;\n\t\tvoid *ptr;\n\t};\n"),
}


def _object(tmp: Path, name: str, header: str) -> str:
    (tmp / f"{name}.h").write_text(header)
    (tmp / f"{name}.c").write_text(PRELUDE + f'#include "{name}.h"\nstruct demo *p;\n')
    subprocess.run(["gcc", "-g", "-c", "-o", str(tmp / f"{name}.o"), str(tmp / f"{name}.c")], check=True)
    return str(tmp / f"{name}.o")


@pytest.mark.parametrize("case", sorted(CASES))
def test_patch_edit_equals_gcc(tmp_path: Path, case: str) -> None:
    old, new = CASES[case]
    assert BEFORE.count(old) == 1
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "demo.h").write_text(BEFORE)
    (tmp_path / "b" / "demo.h").write_text(BEFORE.replace(old, new))
    diff = subprocess.run(["diff", "-up", "a/demo.h", "b/demo.h"], cwd=tmp_path, capture_output=True,
                          text=True).stdout
    patch = tmp_path / "p.patch"
    patch.write_text(diff)
    before = _object(tmp_path, "before", BEFORE)
    after = _object(tmp_path, "after", BEFORE.replace(old, new))
    (item,) = api.whatif_run(before, patch=str(patch)).results
    truth = api.load(after, structs=["demo"]).get_struct("demo")
    check = compare_layouts(item.result.after, truth)
    assert item.result.exact
    assert check.equal, check.mismatches[:3]


def test_unplaceable_addition_is_refused(tmp_path: Path) -> None:
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -20,3 +20,4 @@ struct demo {\n+\tu32 first;\n"
                     " \tu8 nosuch;\n")
    before = _object(tmp_path, "before", BEFORE)
    with pytest.raises(ScenarioError, match=r"p.patch:4: cannot tell where in the struct .u32"):
        api.whatif_run(before, patch=str(patch))


def test_define_change_whose_use_the_patch_does_not_show_is_refused(tmp_path: Path) -> None:
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -1,3 +1,3 @@\n \n-#define NR_SLOTS 3\n+#define NR_SLOTS 5\n \n")
    before = _object(tmp_path, "before", BEFORE)
    with pytest.raises(ScenarioError, match=r"#define NR_SLOTS changes from 3 to 5"):
        api.whatif_run(before, patch=str(patch))
    # with a member added in the same patch, but the array's line out of the hunk: refused, not guessed
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -1,5 +1,6 @@\n \n-#define NR_SLOTS 3\n+#define NR_SLOTS 5\n"
                     " \n struct demo {\n \tu32 count;\n+\tu32 count2;\n")
    with pytest.raises(ScenarioError, match=r"struct demo has array member\(s\) of that length \(slots, per_kind\)"):
        api.whatif_run(before, patch=str(patch))


# --- the two confidently wrong answers of issue 17 ------------------------------------------------------------

SKB = """typedef unsigned char u8; typedef struct { int refs; } refcount_t;
#define __aligned(x) __attribute__((aligned(x)))
struct skb_ext {
	refcount_t refcnt;
	u8 offset[3]; /* in chunks of 8 bytes */
	u8 chunks;		/* same */
	char data[] __aligned(8);
};
struct skb_ext *p;
"""


def _size_by_gcc(tmp: Path, source: str, struct: str) -> int:
    (tmp / "truth.c").write_text(source)
    subprocess.run(["gcc", "-g", "-c", "-o", str(tmp / "truth.o"), str(tmp / "truth.c")], check=True)
    return api.load(str(tmp / "truth.o"), structs=[struct]).get_struct(struct).size_bytes


@pytest.mark.skipif(subprocess.run(["which", "pahole"], capture_output=True).returncode != 0, reason="no pahole")
def test_btf_flexible_array_alignment_from_the_context_line_or_bounds(tmp_path: Path) -> None:
    (tmp_path / "skb.c").write_text(SKB)
    obj = tmp_path / "skb.o"
    subprocess.run(["gcc", "-g", "-c", "-o", str(obj), str(tmp_path / "skb.c")], check=True)
    subprocess.run(["pahole", "-J", str(obj)], check=True, capture_output=True)
    btf = tmp_path / "skb_btf.o"
    subprocess.run(["objcopy", "--remove-section=.debug_*", str(obj), str(btf)], check=True)
    chunks = "\tu8 chunks;\t\t/* same */\n"
    truth = _size_by_gcc(tmp_path, SKB.replace(chunks, chunks + "\tu8 flags;\n"), "skb_ext")
    assert truth == 16
    stated = tmp_path / "stated.patch"  # the context line shows __aligned(8)
    stated.write_text("--- a/skb.h\n+++ b/skb.h\n@@ -3,6 +3,7 @@ struct skb_ext {\n \trefcount_t refcnt;\n"
                      " \tu8 offset[3]; /* in chunks of 8 bytes */\n \tu8 chunks;\t\t/* same */\n+\tu8 flags;\n"
                      " \tchar data[] __aligned(8);\n };\n")
    (item,) = api.whatif_run(str(btf), patch=str(stated)).results
    assert item.result.exact and item.result.size_after == truth
    unstated = tmp_path / "unstated.patch"  # the hunk does not reach the array: bounds, not a guess
    unstated.write_text("--- a/skb.h\n+++ b/skb.h\n@@ -3,3 +3,4 @@ struct skb_ext {\n \trefcount_t refcnt;\n"
                        "+\tu8 flags;\n \tu8 offset[3]; /* in chunks of 8 bytes */\n \tu8 chunks;\t\t/* same */\n")
    run = api.whatif_run(str(btf), patch=str(unstated))
    (item,) = run.results
    assert not item.result.exact
    assert item.result.size_after_min <= truth <= item.result.size_after_max
    assert any("between 12 and 16" in line for line in run.warnings)


def test_declaration_only_member_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "other.h").write_text("struct big { long a; long b; };\n")
    demo = '#include "other.h"\nstruct demo {\n\tint x;\n\tstruct big b;\n};\nstruct demo *p;\n'
    (tmp_path / "demo.c").write_text(demo)
    obj = tmp_path / "demo.o"
    subprocess.run(["gcc", "-g", "-femit-struct-debug-baseonly", "-c", "-o", str(obj), str(tmp_path / "demo.c")],
                   cwd=tmp_path, check=True)
    assert api.load(str(obj), structs=["demo"]).get_struct("demo").members[1].type.strip().is_declaration
    truth = _size_by_gcc(tmp_path, demo.replace("\tstruct big b;\n", "\tstruct big b;\n\tint after;\n")
                         .replace('#include "other.h"', "struct big { long a; long b; };"), "demo")
    assert truth == 32
    after = tmp_path / "after.patch"
    after.write_text("--- a/demo.c\n+++ b/demo.c\n@@ -2,4 +2,5 @@\n struct demo {\n \tint x;\n \tstruct big b;\n"
                     "+\tint after;\n };\n")
    (item,) = api.whatif_run(str(obj), patch=str(after)).results  # was 12, claimed exact
    assert item.result.size_after_min <= truth <= item.result.size_after_max
    assert item.result.size_after == truth and not item.result.exact
    moved = tmp_path / "moved.patch"
    moved.write_text("--- a/demo.c\n+++ b/demo.c\n@@ -2,4 +2,5 @@\n struct demo {\n \tint x;\n+\tlong y;\n"
                     " \tstruct big b;\n };\n")
    moved_truth = _size_by_gcc(tmp_path, demo.replace("\tint x;\n", "\tint x;\n\tlong y;\n")
                               .replace('#include "other.h"', "struct big { long a; long b; };"), "demo")
    (item,) = api.whatif_run(str(obj), patch=str(moved)).results  # b moves: its alignment is bounded by offsets
    assert item.result.size_after_min <= moved_truth <= item.result.size_after_max


@pytest.mark.parametrize(("hunk", "old", "new"), [
    # an addition the hunk shows before its first member of the build: it goes before that member
    ("@@ -16,2 +16,3 @@ struct demo {\n+\tu8 early;\n \tunsigned int a:3;\n \tunsigned int b:5;\n",
     "\tunsigned int a:3;\n", "\tu8 early;\n\tunsigned int a:3;\n"),
    # context members inside a union the patch adds (as git diff writes a wrapper): they move into it
    ("@@ -3,4 +3,6 @@ struct demo {\n \tu32 count;\n+\tunion {\n \tu8 flag;\n \tvoid *ptr;\n+\t};\n",
     "\tu8 flag;\n\tvoid *ptr;\n", "\tunion {\n\tu8 flag;\n\tvoid *ptr;\n\t};\n"),
])
def test_handwritten_hunks_equal_gcc(tmp_path: Path, hunk: str, old: str, new: str) -> None:
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n" + hunk)
    before = _object(tmp_path, "before", BEFORE)
    after = _object(tmp_path, "after", BEFORE.replace(old, new))
    (item,) = api.whatif_run(before, patch=str(patch)).results
    check = compare_layouts(item.result.after, api.load(after, structs=["demo"]).get_struct("demo"))
    assert item.result.exact and check.equal, check.mismatches[:3]


def test_json_warnings_exact_bounds_and_strict(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from layoutcalc.cli import main
    before = _object(tmp_path, "before", BEFORE)
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -3,3 +3,6 @@ struct demo {\n \tu32 count;\n+#ifdef CONFIG_DEMO_X\n"
                     "+\tu64 x;\n+#endif\n \tu8 flag;\n")
    result = CliRunner().invoke(main, ["whatif", "-i", before, "--patch", str(patch), "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (entry,) = payload["structs"]  # touched, left unchanged by the config: still listed
    assert entry["size_after"] == entry["size_before"] and entry["exact"] is True
    assert any("CONFIG_DEMO_X is not defined" in line for line in payload["warnings"])
    assert any("struct demo is listed unchanged" in line for line in payload["warnings"])
    strict = CliRunner().invoke(main, ["whatif", "-i", before, "--patch", str(patch), "--strict"])
    assert strict.exit_code == 1 and "--strict: 2 warning(s)" in strict.output
    defined = CliRunner().invoke(main, ["whatif", "-i", before, "--patch", str(patch), "--strict", "--format", "json",
                                        "--define", "CONFIG_DEMO_X=y"])
    assert defined.exit_code == 0, defined.output
    assert json.loads(defined.stdout)["warnings"] == []


def test_same_name_in_two_nested_structs_is_found_where_the_hunk_is(tmp_path: Path) -> None:
    inner = "\tstruct {\n\t\tint a;\n\t\tint b;\n"
    header = f"struct demo {{\n{inner}\t}} x;\n{inner}\t}} y;\n}};\n"
    changed = header.replace("\t} x;\n\tstruct {\n\t\tint a;\n", "\t} x;\n\tstruct {\n\t\tint a;\n\t\tlong c;\n")
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -6,3 +6,4 @@ struct demo {\n \tstruct {\n \t\tint a;\n"
                     "+\t\tlong c;\n \t\tint b;\n")
    before = _object(tmp_path, "before", header)
    with pytest.raises(ScenarioError, match=r"p.patch:6: cannot tell where in the struct 'long c;' goes"):
        api.whatif_run(before, patch=str(patch))  # the hunk shows neither x nor y: refused, not guessed
    # with the context diff -up gives (the closing "} x;" before it), y's a is the one
    after = _object(tmp_path, "after", changed)
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -3,6 +3,7 @@ struct demo {\n \t\tint b;\n \t} x;\n"
                     " \tstruct {\n \t\tint a;\n+\t\tlong c;\n \t\tint b;\n \t} y;\n")
    (item,) = api.whatif_run(before, patch=str(patch)).results
    check = compare_layouts(item.result.after, api.load(after, structs=["demo"]).get_struct("demo"))
    assert item.result.exact and check.equal, check.mismatches[:3]


def test_adding_a_member_the_struct_has_is_refused(tmp_path: Path) -> None:
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -3,2 +3,3 @@ struct demo {\n \tu32 count;\n+\tvoid *ptr;\n"
                     " \tu8 flag;\n")
    before = _object(tmp_path, "before", BEFORE)
    with pytest.raises(ScenarioError, match=r"p.patch:5: struct demo already has a member 'ptr'"):
        api.whatif_run(before, patch=str(patch))


def test_bound_learned_from_a_later_removed_line(tmp_path: Path) -> None:
    """A moved array: the added line comes first, the removed one (whose length the build shows) later."""
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -3,2 +3,3 @@ struct demo {\n \tu32 count;\n"
                     "+\tu64 moved[NR_SLOTS];\n \tu8 flag;\n@@ -17,3 +18,2 @@ struct demo {\n \tunsigned int b:5;\n"
                     "-\tu64 slots[NR_SLOTS];\n \tu32 per_kind[NR_KINDS];\n")
    before = _object(tmp_path, "before", BEFORE)
    after = _object(tmp_path, "after", BEFORE.replace("\tu64 slots[NR_SLOTS];\n", "").replace(
        "\tu32 count;\n", "\tu32 count;\n\tu64 moved[NR_SLOTS];\n"))
    (item,) = api.whatif_run(before, patch=str(patch)).results
    check = compare_layouts(item.result.after, api.load(after, structs=["demo"]).get_struct("demo"))
    assert item.result.exact and check.equal, check.mismatches[:3]


def test_wrapper_union_placed_where_its_first_member_was(tmp_path: Path) -> None:
    """A new union opened before any member of the build the hunk shows (its neighbour configured out)
    goes where the first member it takes in was."""
    patch = tmp_path / "p.patch"
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -4,3 +4,6 @@ struct demo {\n \tu8 nosuch_configured_out;\n"
                     "+\tunion {\n \tvoid *ptr;\n+\tu64 word;\n+\t};\n")
    before = _object(tmp_path, "before", BEFORE)
    after = _object(tmp_path, "after", BEFORE.replace("\tvoid *ptr;\n", "\tunion {\n\tvoid *ptr;\n\tu64 word;\n\t};\n"))
    (item,) = api.whatif_run(before, patch=str(patch)).results
    check = compare_layouts(item.result.after, api.load(after, structs=["demo"]).get_struct("demo"))
    assert item.result.exact and check.equal, check.mismatches[:3]
    patch.write_text("--- a/demo.h\n+++ b/demo.h\n@@ -4,2 +4,3 @@ struct demo {\n \tu8 nosuch;\n+\tunion {\n"
                     " \tvoid *ptr;\n")
    with pytest.raises(ScenarioError, match=r"a hunk ends inside the new union"):
        api.whatif_run(before, patch=str(patch))
