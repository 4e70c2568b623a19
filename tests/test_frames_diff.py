"""The notebook API's diff: ``Build.diff`` frames and figure, on two objects compiled at test time.

gcc's own ``sizeof``/``offsetof`` are the oracle for every size and offset the frames show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cc import compile_c, have, symbol_words

import layoutcalc

pytest.importorskip("layoutcalc.features.diff", reason="layoutcalc.features.diff (layoutcalc diff) is not here")

OLD = """
struct conn { int fd; char state; long bytes; void *owner; };
struct stats { long rx, tx; };
struct gone { int x; };
"""
NEW = """
struct conn { int fd; char state; char flags; int retries; long bytes; void *owner; long deadline; };
struct stats { long rx, tx; };
struct fresh { char tag; long id; };
"""
PROBES = {"conn": ["fd", "state", "bytes", "owner"], "stats": ["rx", "tx"]}


def _probe(source: str, structs: dict[str, list[str]]) -> str:
    lines = [source]
    for name, members in structs.items():
        fields = ", ".join(f"__builtin_offsetof(struct {name}, {m})" for m in members)
        lines.append(f"struct {name} use_{name};\nunsigned long long probe_{name}[] = {{ sizeof(struct {name}), "
                     f"{fields} }};")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not have("gcc"):
        pytest.skip("gcc is not installed")
    directory = tmp_path_factory.mktemp("diff")
    old = compile_c(_probe(OLD, {**PROBES, "gone": ["x"]}), directory, "old")
    new = compile_c(_probe(NEW, {"conn": PROBES["conn"] + ["flags", "retries", "deadline"], "stats": ["rx", "tx"],
                                 "fresh": ["tag", "id"]}), directory, "new")
    return old, new


def test_diff_frame_sizes_are_the_compilers(pair: tuple[Path, Path]) -> None:
    old, new = pair
    diff = layoutcalc.load(old).diff(new)
    frame = diff.frame().set_index("name")
    conn_old, conn_new = symbol_words(old, "probe_conn")[0], symbol_words(new, "probe_conn")[0]
    assert (frame.loc["conn", "size_before_bytes"], frame.loc["conn", "size_after_bytes"]) == (conn_old, conn_new)
    assert frame.loc["conn", "delta_bytes"] == conn_new - conn_old
    assert frame.loc["conn", "status"] == "grown"
    # flags takes a byte of the 3-byte hole after state; the 4-byte retries leaves 2 before it and 4 after it
    old_at = dict(zip(PROBES["conn"], symbol_words(old, "probe_conn")[1:]))
    new_at = dict(zip(PROBES["conn"] + ["flags", "retries", "deadline"], symbol_words(new, "probe_conn")[1:]))
    old_hole = old_at["bytes"] - old_at["state"] - 1
    new_hole = (new_at["retries"] - new_at["flags"] - 1) + (new_at["bytes"] - new_at["retries"] - 4)
    holes = (frame.loc["conn", "holes_before_bytes"], frame.loc["conn", "holes_after_bytes"])
    assert holes == (old_hole, new_hole) == (3, 6)
    assert frame.loc["fresh", "status"] == "added" and frame.loc["gone", "status"] == "removed"
    assert frame.loc["fresh", "size_after_bytes"] == symbol_words(new, "probe_fresh")[0]
    assert frame.loc["fresh", "size_before_bytes"] is pd.NA and frame.loc["gone", "size_after_bytes"] is pd.NA
    assert frame.loc["conn", "note"] is pd.NA and frame.loc["conn", "kind"] == "struct"
    assert "stats" not in frame.index


def test_diff_members_frame_offsets_are_the_compilers(pair: tuple[Path, Path]) -> None:
    old, new = pair
    members = layoutcalc.load(old).diff(new).members_frame()
    conn = members[members["name"] == "conn"].set_index("member")
    new_offsets = dict(zip(PROBES["conn"] + ["flags", "retries", "deadline"], symbol_words(new, "probe_conn")[1:]))
    old_offsets = dict(zip(PROBES["conn"], symbol_words(old, "probe_conn")[1:]))
    assert set(conn[conn["change"] == "added"].index) == {"flags", "retries", "deadline"}
    for name, row in conn.iterrows():
        assert row["offset_after_bytes"] == new_offsets[name]
        if row["change"] != "added":
            assert row["offset_before_bytes"] == old_offsets[name]


def test_diff_figure_is_readable(pair: tuple[Path, Path]) -> None:
    from test_frames import assert_readable
    old, new = pair
    assert_readable(layoutcalc.load(old).diff(new).figure())


def test_history_frame_sizes_are_each_builds_own() -> None:
    pytest.importorskip("layoutcalc.features.history", reason="layoutcalc history is not here")
    names = ["686-pae", "cloud-amd64"]
    history = layoutcalc.history(names, ["pid", "task_struct"])
    frame = history.frame()
    assert list(frame.columns) == ["build", "source", "arch", "release", "version", "flavour", "package",
                                   "pid_size_bytes", "pid_delta_bytes", "task_struct_size_bytes",
                                   "task_struct_delta_bytes"]
    sizes = [layoutcalc.load(name).struct("pid").stats.size for name in names]
    assert frame["pid_size_bytes"].tolist() == sizes
    assert frame["arch"].tolist() == ["i386", "x86_64"]
    # i386 then x86_64: two series, so no delta from one architecture to the other
    assert frame["pid_delta_bytes"].isna().tolist() == [True, True]
