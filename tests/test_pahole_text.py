"""``show`` and ``sizes`` text is pahole's: compiled fixtures listed by both, compared character for character."""

from __future__ import annotations

import os
import random
import subprocess

import pahole_oracle
import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main

pytestmark = pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")

# Each construct pahole lays out its own way: bitfields with a forced :0 boundary,
# nested anonymous members with and without names, pointers to functions, to
# const pointers and to an anonymous struct, __aligned__ members, multi-dimension,
# zero-length and flexible arrays, enums defined inline (signed, packed, bitfield),
# an inferred __packed__ struct, unions, typedefs of an anonymous struct and of a
# function pointer.
SOURCE = """\
typedef struct { int counter; } atomic_t;
typedef unsigned char u8;
typedef int (*handler_t)(void *, int);
struct node { struct node *next; };
struct flags {
	unsigned int a:1, b:1, c:1;
	unsigned int :0;
	unsigned int d:1;
	char tail;
	long x;
	unsigned short y:3;
	enum { RED, GREEN, BLUE_LONG_NAME } color;
	enum { NEG = -2, POS = 1 } sign:4;
	enum __attribute__((packed)) { SMALL = 200 } tiny;
};
struct inner { long l; char c; };
struct outer {
	char c;
	struct inner in;
	union {
		struct { struct node *p, *q; };
		struct { u8 kind; u8 pad[3]; } headers;
		long raw;
	};
	int i __attribute__((aligned(64)));
	void (*destructor)(struct outer *, const char *, ...);
	const char *const *names;
	const atomic_t *counter;
	handler_t handler;
	struct { int a; } *anon_ptr;
	volatile int v;
	int matrix[2][3];
	u8 zero[0];
	struct node nodes[];
};
struct __attribute__((packed)) wire { char c; int i; short s; };
struct holder { char c; struct wire w; };
union u { int i; char c[5]; struct inner in; };
struct outer o; struct flags f; struct holder h; union u uu; atomic_t at; handler_t hh;
"""
NAMES = ["outer", "flags", "holder", "wire", "u", "atomic_t", "handler_t"]


# gcc only: clang also nests the anonymous types as child DIEs of the struct, which pahole 1.24
# prints a second time after the member (layoutcalc does not model type DIEs nested in a struct).
@pytest.mark.parametrize("target", ["gcc-m64", "gcc-m32"])
def test_show_text_equals_pahole_on_compiled_fixture(tmp_path, target):
    obj = str(compile_c(SOURCE, tmp_path, "fixture", target, ("-gdwarf-5",)))
    theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "-C", ",".join(NAMES), obj], check=True,
                            capture_output=True, text=True).stdout
    build = api.load_named(obj, NAMES)
    ours = pahole_oracle.split_listing(api.show_text(build, NAMES))
    expected = pahole_oracle.split_listing(theirs)
    assert sorted(expected) == sorted(NAMES)
    for name in NAMES:
        assert ours[name] == expected[name], name


@pytest.mark.parametrize("target", ["gcc-m64", "gcc-m32"])
def test_show_text_equals_pahole_btf_on_compiled_fixture(tmp_path, target):
    """The same fixture converted to BTF by pahole -J (DWARF stripped): the BTF reader's text is pahole -F btf's.

    Pins the pointer to an anonymous struct (``anon_ptr``), which pahole prints with its members; the BTF
    reader used to stop at the pointer and print an empty ``struct {}``, the one difference from
    ``pahole -F btf`` over all 9,730 structs of the running kernel's BTF.
    """
    obj = str(compile_c(SOURCE, tmp_path, "fixture", target, ("-gdwarf-5",)))
    subprocess.run([pahole_oracle.PAHOLE, "-J", obj], check=True, capture_output=True)
    subprocess.run(["objcopy", "--strip-debug", obj], check=True, capture_output=True)
    theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "-C", ",".join(NAMES), obj], check=True,
                            capture_output=True, text=True).stdout
    build = api.load_named(obj, NAMES)
    assert build.provenance.format == "btf"
    ours = pahole_oracle.split_listing(api.show_text(build, NAMES))
    expected = pahole_oracle.split_listing(theirs)
    assert sorted(expected) == sorted(NAMES)
    for name in NAMES:
        assert ours[name] == expected[name], name
    assert "\tstruct {\n\t\tint        a;                    /*     0     4 */\n\t} * anon_ptr;" in ours["outer"]


def test_cli_show_prints_each_item_like_pahole(tmp_path):
    obj = str(compile_c(SOURCE, tmp_path, "fixture", "gcc-m64", ("-gdwarf-5",)))
    for name in ("outer", "atomic_t", "handler_t"):
        theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "-C", name, obj], check=True,
                                capture_output=True, text=True).stdout
        result = CliRunner().invoke(main, ["show", name, "-i", obj])
        assert result.exit_code == 0, result.output
        assert result.output == theirs


def test_unknown_name_suggests_the_closest(tmp_path):
    obj = str(compile_c(SOURCE, tmp_path, "fixture", "gcc-m64", ("-gdwarf-5",)))
    result = CliRunner().invoke(main, ["show", "outr", "-i", obj])
    assert result.exit_code == 1
    assert result.output == f"Error: {obj}: no struct named 'outr'; closest: outer\n"


def test_json_show_of_a_typedef_gives_its_struct(tmp_path):
    obj = str(compile_c(SOURCE, tmp_path, "fixture", "gcc-m64", ("-gdwarf-5",)))
    build = api.load_named(obj, ["atomic_t"])
    ((struct, stats),) = api.show(build, ["atomic_t"]).layouts
    assert struct.name is None and [m.name for m in struct.members] == ["counter"] and stats.size == 4


LIVE_BTF = "/sys/kernel/btf/vmlinux"


@pytest.mark.live
@pytest.mark.skipif(not os.path.exists(LIVE_BTF), reason="no /sys/kernel/btf/vmlinux on this machine")
def test_show_text_equals_pahole_btf_on_the_running_kernel():
    """300 names drawn with a fixed seed from ``pahole -F btf --sizes``: at least 99% equal.

    On BTF the __aligned__ attributes are the ones pahole's BTF loader infers.
    Measured 1499 of 1500 on Linux 6.18 (the one: ``mac_addr``, where a typedef
    of the same name comes first and pahole -C prints the typedef).  Over every
    struct of that BTF (benchmarks/check_show_text.py): 9730 of 9730.
    """
    sizes = subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "--sizes", LIVE_BTF], check=True,
                           capture_output=True, text=True).stdout
    sample = random.Random(9).sample(sorted({line.split("\t")[0] for line in sizes.splitlines()}), 300)
    theirs = pahole_oracle.pahole_listing(LIVE_BTF, sample, "btf")
    build = api.load_named(LIVE_BTF, sample)
    differ = [name for name in sample if api.show_text(build, [name]) != theirs.get(name)]
    assert (300 - len(differ)) * 100 >= 99 * 300, differ


def test_sizes_lists_every_same_name_definition_as_pahole(tmp_path):
    """Two units defining ``struct foo`` differently (and ``struct same`` alike): pahole's rows, in its order."""
    first = compile_c("struct foo { int a; char b; }; struct same { long x; }; union u { int i; };\n"
                      "struct foo fa; struct same sa; union u ua;\n", tmp_path, "a", "gcc-m64")
    second = compile_c("struct foo { long a; char b; int c; }; struct same { long x; }; union u { int i; };\n"
                       "struct foo fb; struct same sb; union u ub;\n", tmp_path, "b", "gcc-m64")
    both = tmp_path / "both.o"
    subprocess.run(["ld", "-r", str(first), str(second), "-o", str(both)], check=True)
    theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "--sizes", str(both)], check=True,
                            capture_output=True, text=True).stdout
    result = CliRunner().invoke(main, ["sizes", "-i", str(both)])
    assert result.exit_code == 0, result.output
    assert result.output == theirs == "foo\t8\t0\nsame\t8\t0\nu\t4\t0\nfoo\t16\t1\n"


@pytest.mark.parametrize("first, second", [("union", "struct"), ("struct", "union")])
def test_a_name_that_is_both_a_struct_and_a_union_shows_the_first_defined(tmp_path, first, second):
    """amd64's `union irte` (AMD IOMMU) and `struct irte` (Intel): pahole -C shows the one defined first,
    whether the build was read whole (notebooks, the full-build check) or for that name alone (`show`)."""
    body = {"union": "union irte { unsigned int val; char c[3]; };", "struct": "struct irte { long lo, hi; };"}
    one = compile_c(f"{body[first]}\n{first} irte a;\n", tmp_path, "one", "gcc-m64")
    two = compile_c(f"{body[second]}\n{second} irte b;\n", tmp_path, "two", "gcc-m64")
    both = tmp_path / "both.o"
    subprocess.run(["ld", "-r", str(one), str(two), "-o", str(both)], check=True)
    theirs = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "-C", "irte", str(both)], check=True,
                            capture_output=True, text=True).stdout
    assert theirs.startswith(f"{first} irte {{")
    whole = api.load(str(both))
    assert set(whole.structs) == set(whole.unions) == {"irte"}
    assert api.show_text(whole, ["irte"]) == api.show_text(api.load_named(str(both), ["irte"]), ["irte"]) == theirs
