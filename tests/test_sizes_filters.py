"""``sizes`` filters against pahole 1.24's own: -H (holes), -B (bit holes), -n (members), -P (packable)."""

from __future__ import annotations

import json
import subprocess

import pahole_oracle
import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.cli import main

pytestmark = pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")

SOURCE = """\
struct none { long a; long b; };
struct one_hole { char c; long l; };
struct two_holes { char a; int b; char c; long d; };
struct three_holes { char a; long b; char c; long d; short e; long f; };
struct padded { long l; char c; };
struct bits { unsigned a:3; unsigned :0; unsigned b:2; char c; };
struct wide { int a, b, c, d, e, f; };
union u { char c; long l; };
struct none n1; struct one_hole h1; struct two_holes h2; struct three_holes h3; struct padded p1;
struct bits b1; struct wide w1; union u u1;
"""


def _pahole(obj: str, *flags: str) -> str:
    return subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", *flags, obj], check=True, capture_output=True,
                          text=True).stdout


def _ours(*args: str) -> str:
    result = CliRunner().invoke(main, ["sizes", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    return str(compile_c(SOURCE, tmp_path_factory.mktemp("sizes"), "sizes", "gcc-m64", ("-gdwarf-5",)))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_min_holes_equals_pahole_H(obj, count):
    expected = _pahole(obj, "--sizes", "-H", str(count))
    assert expected
    assert _ours("-i", obj, "--min-holes", str(count)) == expected


def test_min_bit_holes_equals_pahole_B(obj):
    expected = _pahole(obj, "--sizes", "-B", "1")
    assert expected.split("\t")[0] == "bits"
    assert _ours("-i", obj, "--min-bit-holes", "1") == expected


def test_min_members_equals_pahole_n(obj):
    rows = [line.split("\t") for line in _pahole(obj, "-n").splitlines()]
    expected = {name: int(count) for name, count in rows if int(count) >= 3}
    data = json.loads(_ours("-i", obj, "--min-members", "3", "--format", "json"))
    assert {row["name"]: row["members"] for row in data["structs"]} == expected == {
        "three_holes": 6, "two_holes": 4, "wide": 6, "bits": 3}


def test_packable_is_never_worse_than_pahole_P(obj):
    """pahole -P lists name, size, repacked size, saved; ours repacks at least as well and lists the same structs."""
    theirs = {line.split("\t")[0]: [int(x) for x in line.split("\t")[1:]] for line in _pahole(obj, "-P").splitlines()}
    ours = {line.split("\t")[0]: [int(x) for x in line.split("\t")[1:]]
            for line in _ours("-i", obj, "--packable").splitlines()}
    assert set(theirs) == set(ours) == {"two_holes", "three_holes"}
    for name, (size, repacked, saved) in theirs.items():
        assert ours[name][0] == size and ours[name][1] <= repacked and ours[name][2] >= saved
    assert ours["three_holes"] == [48, 32, 16]


def test_padding_sort_and_a_list_of_names(obj, tmp_path):
    padded = _ours("-i", obj, "--min-padding", "4")
    assert padded == "padded\t16\t0\t7\n"  # name, size, holes, padding
    waste = _ours("-i", obj, "--sort", "waste").splitlines()
    # waste = hole bytes + padding: 7+7+6, 3+7, 7, 7 (ties by name)
    assert [line.split("\t")[0] for line in waste[:4]] == ["three_holes", "two_holes", "one_hole", "padded"]
    assert [line.split("\t")[-1] for line in waste[:4]] == ["20", "10", "7", "7"]
    names = tmp_path / "names.txt"
    names.write_text("# mine\nstruct padded\none_hole\n\n")
    assert _ours("-i", obj, "--structs-from", str(names)) == "one_hole\t16\t1\npadded\t16\t0\n"
    shown = CliRunner().invoke(main, ["show", f"file://{names}", "-i", obj])
    assert shown.exit_code == 0
    assert shown.output.startswith("struct padded {")  # in the list's order
    expected = pahole_oracle.split_listing(_pahole(obj, "-C", "one_hole,padded"))
    assert pahole_oracle.split_listing(shown.output) == expected


@pytest.mark.realbuild
def test_57_cloud_amd64_min_holes_and_members_equal_pahole():
    """Measured: --min-holes 2 equals pahole --sizes -H 2 (434 rows); --min-members 5 equals pahole -n (3174)."""
    from realbuilds import vmlinux
    path = vmlinux("57-cloud-amd64")
    locked = ["flock", "/tmp/heavy.lock", pahole_oracle.PAHOLE, "-F", "dwarf"]
    expected = subprocess.run([*locked, "--sizes", "-H", "2", path], check=True, capture_output=True,
                              text=True).stdout
    assert _ours("-i", path, "--min-holes", "2") == expected
    members = subprocess.run([*locked, "-n", path], check=True, capture_output=True, text=True).stdout
    theirs = sorted((line.split("\t")[0], int(line.split("\t")[1])) for line in members.splitlines()
                    if int(line.split("\t")[1]) >= 5)
    data = json.loads(_ours("-i", path, "--min-members", "5", "--format", "json"))
    assert sorted((row["name"], row["members"]) for row in data["structs"]) == theirs


@pytest.mark.skipif(not __import__("os").path.exists("/sys/kernel/btf/vmlinux"), reason="no live BTF")
@pytest.mark.parametrize("ours,theirs", [([], ["--sizes"]), (["--min-holes", "2"], ["--sizes", "-H", "2"]),
                                         (["--min-bit-holes", "1"], ["--sizes", "-B", "1"])])
def test_live_btf_sizes_and_filters_equal_pahole(ours, theirs):
    """Every distinct same-name definition too (struct walk_control twice): measured 9682, 576 and 112 lines."""
    expected = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", *theirs, "/sys/kernel/btf/vmlinux"], check=True,
                              capture_output=True, text=True).stdout
    assert expected
    assert _ours("-i", "live", *ours) == expected


@pytest.mark.skipif(not __import__("os").path.exists("/sys/kernel/btf/vmlinux"), reason="no live BTF")
def test_live_btf_min_padding_equals_paholes_padding_lines():
    """pahole 1.24 has no padding filter: its own ``/* padding: N */`` line of every struct is the oracle
    (measured: 134 structs with 8 bytes or more, all equal)."""
    import re
    listing = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "/sys/kernel/btf/vmlinux"], check=True,
                             capture_output=True, text=True).stdout
    theirs = {}
    for name, body in re.findall(r"^struct (\S+) \{\n(.*?)^\}", listing, re.S | re.M):
        size = int(re.search(r"^\t/\* size: (\d+),", body, re.M).group(1))
        padding = re.search(r"^\t/\* padding: (\d+) \*/$", body, re.M)
        theirs.setdefault((name, size), int(padding.group(1)) if padding else 0)
    data = json.loads(_ours("-i", "live", "--min-padding", "8", "--format", "json"))
    ours = {(row["name"], row["size"]): row["padding"] for row in data["structs"]}
    assert ours == {key: padding for key, padding in theirs.items() if padding >= 8}
    assert len(ours) > 50
