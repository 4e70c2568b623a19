"""``show --contains`` and ``show --pointers-to`` against ``pahole --contains`` and ``--find_pointers_to`` (1.24)."""

from __future__ import annotations

import subprocess

import pahole_oracle
import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.cli import main

pytestmark = pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")

SOURCE = """\
struct list_head { struct list_head *next, *prev; };
typedef struct list_head list_t;
struct a { int x; struct list_head node; struct list_head *head; };
struct b { struct a one; struct list_head second; const struct list_head *cp; list_t typed; };
struct c { struct b inner; struct a *pa; };
union u { struct list_head l; long raw; };
struct d { char c; struct { struct list_head hidden; } anon; struct list_head *p1, *p2; };
struct e { struct c deep; };
struct a va; struct b vb; struct c vc; union u vu; struct d vd; struct e ve;
"""
QUERIES = [("--contains", "--contains", "list_head"), ("--contains", "--contains", "a"),
           ("--pointers-to", "--find_pointers_to", "list_head"), ("--pointers-to", "--find_pointers_to", "a")]


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("ours,theirs,name", QUERIES)
@pytest.mark.parametrize("fmt", ["dwarf", "btf"])
def test_compiled_fixture_equals_pahole(tmp_path, ours, theirs, name, fmt):
    """Direct members only, exact type (no typedef, no const), once per struct: as pahole prints them."""
    obj = str(compile_c(SOURCE, tmp_path, "rel", "gcc-m64", ("-gdwarf-5",)))
    if fmt == "btf":
        subprocess.run([pahole_oracle.PAHOLE, "-J", obj], check=True, capture_output=True)
        subprocess.run(["objcopy", "--strip-debug", obj], check=True, capture_output=True)
    expected = subprocess.run([pahole_oracle.PAHOLE, "-F", fmt, f"{theirs}={name}", obj], check=True,
                              capture_output=True, text=True).stdout
    assert expected  # every query of the fixture has an answer
    assert _run(["show", ours, name, "-i", obj]) == expected


def test_values_and_the_transitive_set(tmp_path):
    obj = str(compile_c(SOURCE, tmp_path, "rel", "gcc-m64", ("-gdwarf-5",)))
    assert _run(["show", "--contains", "list_head", "-i", obj]) == "a\nb\nu\n"
    assert _run(["show", "--contains", "list_head", "--recursive", "-i", obj]) == "a\nb\nu\n  c\n    e\n"
    pointers = "list_head: next\nlist_head: prev\na: head\nd: p1\nd: p2\n"
    assert _run(["show", "--pointers-to", "list_head", "-i", obj]) == pointers
    recursive = _run(["show", "--pointers-to", "list_head", "--recursive", "-i", obj])
    assert "c: pa (to a)\n" in recursive
    refused = CliRunner().invoke(main, ["show", "--contains", "no_such_type", "-i", obj])
    assert refused.exit_code == 1 and "no type named 'no_such_type'" in refused.output


@pytest.mark.realbuild
@pytest.mark.parametrize("ours,theirs,name", [("--contains", "--contains", "inode"),
                                              ("--contains", "--contains", "list_head"),
                                              ("--pointers-to", "--find_pointers_to", "signal_struct"),
                                              ("--pointers-to", "--find_pointers_to", "sock")])
def test_612_cloud_amd64_equals_pahole(ours, theirs, name):
    """The acceptance queries: measured equal, 0, 76, 1 and 16 lines (pahole 11-39 s; layoutcalc 0.3-0.4 s)."""
    from realbuilds import vmlinux
    path = vmlinux("6.12-cloud-amd64")
    expected = subprocess.run(["flock", "/tmp/heavy.lock", pahole_oracle.PAHOLE, "-F", "dwarf",
                               f"{theirs}={name}", path], check=True, capture_output=True, text=True).stdout
    assert _run(["show", ours, name, "-i", path]) == expected


def test_all_units_looks_past_the_first_unit_pahole_stops_at(tmp_path):
    """Two units (ld -r): the first defines list_head and embeds it nowhere; pahole prints nothing, --all-units
    finds the second unit's container (and its pointer)."""
    first = compile_c("struct list_head { struct list_head *next, *prev; };\nstruct list_head lh;\n", tmp_path,
                      "first", "gcc-m64", ("-gdwarf-5",))
    second = compile_c("struct list_head { struct list_head *next, *prev; };\n"
                       "struct holder { int x; struct list_head node; struct list_head *p; };\nstruct holder h;\n",
                       tmp_path, "second", "gcc-m64", ("-gdwarf-5",))
    linked = str(tmp_path / "linked.o")
    subprocess.run(["ld", "-r", str(first), str(second), "-o", linked], check=True, capture_output=True)
    theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "--contains=list_head", linked], check=True,
                            capture_output=True, text=True).stdout
    assert theirs == "" == _run(["show", "--contains", "list_head", "-i", linked])
    assert _run(["show", "--contains", "list_head", "--all-units", "-i", linked]) == "holder\n"
    assert _run(["show", "--pointers-to", "list_head", "--all-units", "-i", linked]) == \
        "list_head: next\nlist_head: prev\nholder: p\n"


@pytest.mark.skipif(not __import__("os").path.exists("/sys/kernel/btf/vmlinux"), reason="no live BTF")
@pytest.mark.parametrize("ours,theirs,name", [("--contains", "--contains", "list_head"),
                                              ("--contains", "--contains", "inode"),
                                              ("--pointers-to", "--find_pointers_to", "task_struct"),
                                              ("--pointers-to", "--find_pointers_to", "sock")])
def test_live_btf_equals_pahole(ours, theirs, name):
    """The running kernel's BTF (-i live): measured equal, 927, 16, 118 and 63 lines; a name defined twice
    (struct workspace, elf_thread_core_info) is printed once per distinct definition, as pahole does."""
    expected = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", f"{theirs}={name}", "/sys/kernel/btf/vmlinux"],
                              check=True, capture_output=True, text=True).stdout
    assert expected
    assert _run(["show", ours, name, "-i", "live"]) == expected
