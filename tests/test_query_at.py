"""``show STRUCT --at OFFSET``: gcc's own offsetof/sizeof and pahole -E's absolute offsets are the oracles."""

from __future__ import annotations

import json
import re
import subprocess

import pahole_oracle
import pytest
from cc import compile_c, layout_probe, symbol_words
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.analysis.query import member_at
from layoutcalc.cli import main

SOURCE = """\
struct leaf { char a; long b; };
struct mid {
	int x;
	struct leaf l[3];
	union { int u; char uc[6]; };
	unsigned int f1:3, f2:5;
	short tail;
	long last;
	char end;
};
"""
# (path as C names it, path as --at prints it): gcc's offsetof gives where each starts.
PATHS = ["x", "l[0].a", "l[0].b", "l[2].a", "l[2].b", "u", "uc[5]", "tail", "last", "end"]


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("at")
    obj = compile_c(SOURCE + layout_probe("mid", PATHS) + "struct leaf one_leaf;\n", tmp, "at", "gcc-m64",
                    ("-gdwarf-5",))
    words = symbol_words(obj, "probe_mid")
    return str(obj), words[0], dict(zip(PATHS, words[2:]))


def test_each_member_start_gives_its_path(probed):
    obj, size, offsets = probed
    struct = api.load_named(obj, ["mid"]).get_struct("mid")
    assert struct.size_bytes == size
    for path, offset in offsets.items():
        found = member_at(struct, offset)
        paths = [loc.path for loc in found.locations]
        assert path in paths, (path, offset, paths)
        assert all(loc.kind == "member" for loc in found.locations)


def test_holes_padding_unions_and_bitfields(probed):
    obj, size, offsets = probed
    struct = api.load_named(obj, ["mid"]).get_struct("mid")
    inner_hole = member_at(struct, offsets["l[0].a"] + 1).locations
    assert [(loc.kind, loc.path, loc.offset, loc.size) for loc in inner_hole] == \
        [("hole", "l[0]", offsets["l[0].a"] + 1, 7)]
    union = member_at(struct, offsets["u"]).locations
    assert sorted(loc.path for loc in union) == ["u", "uc[0]"]
    union_tail = member_at(struct, offsets["uc[5]"]).locations
    assert [loc.path for loc in union_tail] == ["uc[5]"]
    union_padding = member_at(struct, offsets["uc[5]"] + 1).locations
    assert [(loc.kind, loc.offset, loc.size) for loc in union_padding] == [("padding", offsets["uc[5]"] + 1, 2)]
    bits = member_at(struct, offsets["tail"] - 2).locations  # the byte holding f1 and f2
    assert sorted((loc.path, loc.bit_size) for loc in bits) == [("f1", 3), ("f2", 5)]
    tail_padding = member_at(struct, size - 1).locations
    assert [(loc.kind, loc.offset) for loc in tail_padding] == [("padding", offsets["end"] + 1)]
    top_hole = member_at(struct, offsets["tail"] + 2).locations
    hole = offsets["last"] - offsets["tail"] - 2
    assert [(loc.kind, loc.offset, loc.size) for loc in top_hole] == [("hole", offsets["tail"] + 2, hole)]


def test_text_and_json_agree_and_a_byte_past_the_end_is_refused(probed):
    obj, size, offsets = probed
    runner = CliRunner()
    text = runner.invoke(main, ["show", "mid", "-i", obj, "--at", hex(offsets["l[2].b"] + 3)])
    data = runner.invoke(main, ["show", "mid", "-i", obj, "--at", str(offsets["l[2].b"] + 3), "--format", "json"])
    assert text.exit_code == 0 and data.exit_code == 0
    answer = json.loads(data.output)["at"][0]
    [loc] = answer["locations"]
    assert (loc["path"], loc["offset"], loc["size"]) == ("l[2].b", offsets["l[2].b"], 8)
    assert f"l[2].b (long int): offset {offsets['l[2].b']}, size 8" in text.output
    assert answer["top_level"]["path"] == "l"
    refused = runner.invoke(main, ["show", "mid", "-i", obj, "--at", str(size)])
    assert refused.exit_code == 1 and refused.output.count("\n") == 1 and "outside" in refused.output


@pytest.mark.realbuild
@pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")
def test_task_struct_leaves_equal_pahole_expand():
    """Every leaf line of pahole -E's task_struct (absolute offset and size): --at names it, top member too."""
    from realbuilds import vmlinux
    path = vmlinux("57-cloud-amd64")
    text = subprocess.run(["flock", "/tmp/heavy.lock", pahole_oracle.PAHOLE, "-F", "dwarf", "-E", "-C",
                           "task_struct", path], check=True, capture_output=True, text=True).stdout
    struct = api.load_named(path, ["task_struct"]).get_struct("task_struct")
    leaves = re.findall(r"^\t+[^\t/}{][^;{]*?[ *](\w+)(?:\[\d*\])*(?::\d+)?(?: __attribute__\S+)?;\s+"
                        r"/\*\s+(\d+)(:\s*\d+)?\s+(\d+) \*/$", text, re.M)
    assert len(leaves) > 300
    checked = 0
    for name, offset, bits, size in leaves:
        if int(size) == 0 or bits:  # a bitfield's offset is its storage unit's, not its first byte
            continue
        found = member_at(struct, int(offset))
        assert any(loc.path.split(".")[-1].split("[")[0] == name for loc in found.locations), \
            (name, offset, found.locations)
        checked += 1
    assert checked > 300
    at = int(re.search(r" vruntime;\s+/\*\s+(\d+)\s+8 \*/", text).group(1))  # pahole's absolute offset
    vruntime = member_at(struct, at + 7)
    assert [loc.path for loc in vruntime.locations] == ["se.vruntime"]
    assert vruntime.locations[0].offset == at and vruntime.top is not None and vruntime.top.path == "se"


@pytest.mark.skipif(not pahole_oracle.PAHOLE or not __import__("os").path.exists("/sys/kernel/btf/vmlinux"),
                    reason="needs pahole and the live BTF")
def test_every_leaf_of_pahole_expand_on_the_live_btf_is_named():
    """pahole -F btf -E prints each leaf member with its absolute offset: --at at that byte names it.
    Measured on 1500 structs drawn with seed 3: all leaf lines named."""
    import random

    from test_pahole_text_expand import _items
    listing = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "-E", "/sys/kernel/btf/vmlinux"], check=True,
                             capture_output=True, text=True).stdout
    items: dict[str, list[str]] = {}
    for name, text in _items(listing):
        items.setdefault(name, []).append(text)
    sample = random.Random(3).sample(sorted(n for n, texts in items.items() if len(texts) == 1), 1500)
    build = api.load_named("/sys/kernel/btf/vmlinux", sample)
    leaf = re.compile(r"^\t+[^\t/}{][^;{]*?[ *](\w+)(?:\[\d*\])*(?::\d+)?(?: __attribute__\S+)?;\s+"
                      r"/\*\s+(\d+)(:\s*\d+)?\s+(\d+) \*/$", re.M)
    checked, missed = 0, []
    for name in sample:
        struct = build.get_struct(name)
        if re.search(r"^\t+\} (\* |\w+\[\d*\]; /\*\s+\d+\s+0 \*/)", items[name][0], re.M):
            continue  # members pahole prints that are no bytes of the struct: a pointee's, a [0] array's elements
        for member, offset, bits, size in leaf.findall(items[name][0]):
            if bits or int(size) == 0 or int(offset) >= struct.size_bytes:
                continue
            checked += 1
            paths = [loc.path.split(".")[-1].split("[")[0] for loc in member_at(struct, int(offset)).locations]
            if member not in paths:
                missed.append((name, member, offset))
    assert checked > 5000 and not missed, missed[:5]
