"""``Build.structs()``: one frame of every struct and union of a build, sizes from the compiler and pahole."""

from __future__ import annotations

import pandas as pd
import pytest
from cc import compile_c, symbol_words

import layoutcalc

SOURCE = """
struct conn { int fd; char state; long bytes; };
union value { int i; double d; char bytes[12]; };
struct conn a_conn; union value a_value;
unsigned long long probe[] = { sizeof(struct conn), sizeof(union value) };
"""


def test_structs_frame_has_every_struct_and_union(tmp_path):
    obj = compile_c(SOURCE, tmp_path, "o")
    frame = layoutcalc.load(obj).structs().set_index("name")
    conn_size, value_size = symbol_words(obj, "probe")
    assert frame.loc["conn", "size_bytes"] == conn_size and frame.loc["value", "size_bytes"] == value_size
    assert (frame.loc["conn", "kind"], frame.loc["value", "kind"]) == ("struct", "union")
    assert (frame.loc["conn", "holes"], frame.loc["conn", "hole_bytes"]) == (1, 3)  # 3 bytes after 'state'
    assert str(frame["kind"].dtype) == "string" and str(frame["bit_holes"].dtype) == "Int64"
    assert frame.attrs["arch"] == "x86_64"


@pytest.mark.realbuild
def test_real_build_structs_frame():
    from realbuilds import vmlinux
    frame = layoutcalc.load(vmlinux("amd64")).structs()
    task = frame[frame["name"] == "task_struct"].iloc[0]
    # pahole 1.24 -F dwarf on 6.1.0-47 cloud: task_struct 9728 bytes, 21 holes (146 bytes)
    assert (task["size_bytes"], task["holes"], task["hole_bytes"]) == (9728, 21, 146)
    assert len(frame) == 7467 and frame["name"].isna().sum() == 0
    assert (frame["kind"] == "union").sum() > 0 and not frame["name"].str.startswith("union ").any()
    assert frame["bit_holes"].notna().all()
    assert pd.api.types.is_integer_dtype(frame["size_bytes"])
