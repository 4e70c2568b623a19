"""Every kind of patch edit, fast: a small header compiled by gcc before and after the patch (``diff -up``).

The prediction on the unpatched object must equal gcc's patched layout member for member (name, type,
offset, size, bits, through anonymous aggregates).  The slow corpus is tests/test_patch_corpus_612.py.
"""

from __future__ import annotations

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
                     " \tu8 tail;\n \tchar data[] __aligned(8);\n };\n")
    before = _object(tmp_path, "before", BEFORE)
    with pytest.raises(ScenarioError, match=r"p.patch:4: cannot tell where in struct demo"):
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
