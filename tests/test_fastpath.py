"""The fast path (name index + raw DIE decoding) gives exactly the plain reader's Build.

Programs of several compile units are compiled and linked at test time; the
plain pyelftools walk (LAYOUTCALC_SCAN=plain) is the reference, and every
struct, union, typedef, base type and enum is compared member by member
(tests/build_equality.py).  LAYOUTCALC_SCAN=fast makes the fast path raise
instead of falling back, so these tests fail if it silently did not run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from build_equality import differences
from cc import have
from realbuilds import vmlinux
from layoutcalc import api
from layoutcalc.cli import main
from layoutcalc.errors import NotFoundError
from layoutcalc.readers import cache, dwarf
from layoutcalc.readers.dwarf import read_dwarf, typeindex

COMMON = r"""
#include <stddef.h>
#ifndef NOTE_T
#define NOTE_T int
#endif
struct note { NOTE_T data; int n; };  /* unit_b: the same line, another member type (as compat_binfmt_elf.c) */
typedef unsigned int u32;
typedef struct { int lo, hi; } pair_t;
struct list { struct list *next, *prev; };
enum colour { RED, GREEN = 7, BLUE };
struct flags { unsigned a:3; unsigned b:9; signed c:5; unsigned long d:40; char e; };
struct with_union { int kind; union { long l; double d; struct { short s1, s2; } s; }; char tail[3]; };
struct aligned { char c; long long x __attribute__((aligned(32))); } __attribute__((aligned(64)));
struct packed { char c; int i; short s; } __attribute__((packed));
struct fam { int n; struct list link; u32 data[]; };
struct callbacks { int (*open)(struct list *, const char *); void (*close)(void); pair_t p; };
struct opaque;
struct uses_opaque { struct opaque *o; enum colour c; volatile int v; const char * const name; };
"""

UNIT_A = COMMON + r"""
struct note g_note_a;
struct only_in_a { int a[4][3]; struct flags f; };
struct differs { int x; };
struct only_in_a g_a; struct differs g_da; struct flags g_f; struct with_union g_w; struct aligned g_al;
struct packed g_p; struct callbacks g_cb; struct uses_opaque g_u; pair_t g_pair; enum colour g_col;
int helper_a(struct fam *f) { int total = 0; for (int i = 0; i < f->n; i++) total += f->data[i]; return total; }
"""

UNIT_B = "#define NOTE_T unsigned int\n#line 1\n" + COMMON + r"""
struct note g_note_b;
struct differs { long x, y; };
struct only_in_b { struct differs d; struct list l; u32 n; };
union number { int i; float f; char bytes[4]; };
struct differs g_db; struct only_in_b g_b; union number g_n;
static int local(union number *n) { struct { int inner; } scratch = { n->i }; return scratch.inner; }
int helper_b(void) { union number n = { 3 }; return local(&n); }
"""

MAIN = COMMON + r"""
struct opaque { int defined_last; };
struct late { struct opaque o; struct callbacks cb[2]; };
struct late g_late; struct opaque g_o;
int helper_a(struct fam *f); int helper_b(void);
int main(void) { return helper_b() + g_late.o.defined_last; }
"""

COMPILERS = [c for c in ("gcc", "clang") if have(c)]
pytestmark = pytest.mark.usefixtures("private_cache")  # each test gets its own cache directory (never the user's)


def link_program(tmp_path: Path, compiler: str, debug: str) -> Path:
    sources = []
    for name, text in (("unit_a", UNIT_A), ("unit_b", UNIT_B), ("main", MAIN)):
        source = tmp_path / f"{name}.c"
        source.write_text(text)
        sources.append(str(source))
    program = tmp_path / f"prog-{compiler}{debug}"
    result = subprocess.run([compiler, "-O1", debug, "-Wl,--build-id", *sources, "-o", str(program)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{compiler} failed:\n{result.stderr}")
    return program


def read(path: Path, mode: str, monkeypatch: pytest.MonkeyPatch, structs: object = None,
         types: object = None, any_kind: bool = False) -> object:
    monkeypatch.setenv("LAYOUTCALC_SCAN", mode)
    return read_dwarf(str(path), structs, types, any_kind=any_kind)  # type: ignore[arg-type]


def fast_supported(compiler: str, debug: str) -> bool:
    # clang's DWARF 5 names types through .debug_str_offsets (DW_FORM_strx*), which the scanner leaves
    # to the plain path
    return not (compiler == "clang" and debug == "-gdwarf-5")


@pytest.mark.parametrize("debug", ["-gdwarf-4", "-gdwarf-5"])
@pytest.mark.parametrize("compiler", COMPILERS)
def test_whole_program_equals_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           compiler: str, debug: str) -> None:
    program = link_program(tmp_path, compiler, debug)
    plain = read(program, "plain", monkeypatch)
    fast = read(program, "fast" if fast_supported(compiler, debug) else "auto", monkeypatch)
    assert differences(plain, fast) == []  # type: ignore[arg-type]
    # what the plain walk takes: the first complete definition in unit order
    assert fast.structs["differs"].size_bytes == 4  # type: ignore[attr-defined]
    assert fast.structs["opaque"].size_bytes == 4  # type: ignore[attr-defined]
    assert "number" in fast.unions  # type: ignore[attr-defined]


@pytest.mark.parametrize("debug", ["-gdwarf-4", "-gdwarf-5"])
@pytest.mark.parametrize("compiler", COMPILERS)
def test_every_definition_equals_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              compiler: str, debug: str) -> None:
    """pahole --sizes' read (every distinct same-name definition) through the index's declaration sites."""
    program = link_program(tmp_path, compiler, debug)
    monkeypatch.setenv("LAYOUTCALC_SCAN", "plain")
    plain = read_dwarf(str(program), every_definition=True)
    monkeypatch.setenv("LAYOUTCALC_SCAN", "fast" if fast_supported(compiler, debug) else "auto")
    fast = read_dwarf(str(program), every_definition=True)
    assert differences(plain, fast) == []
    # both definitions of 'differs' (4 bytes in unit_a, 16 in unit_b), each header struct once
    assert [(t.name, t.size_bytes) for t in fast.variants if t.name == "differs"] == [("differs", 4), ("differs", 16)]
    assert [t.name for t in fast.variants].count("list") == 1
    assert len(fast.variants) == len(plain.variants) > 12


@pytest.mark.parametrize("debug", ["-gdwarf-4", "-gdwarf-5"])
@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("names", [None, {"differs", "note", "number"}])
def test_diff_definitions_equal_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             compiler: str, debug: str, names: object) -> None:
    """diff's DWARF read (every distinct definition) on the raw scanner's workers equals the pyelftools walk."""
    from build_equality import describe_build, describe_type
    from layoutcalc.readers.definitions import read_definitions
    program = link_program(tmp_path, compiler, debug)
    found = {}
    for mode in ("plain", "fast" if fast_supported(compiler, debug) else "auto"):
        monkeypatch.setenv("LAYOUTCALC_SCAN", mode)
        read = read_definitions(str(program), names, source="dwarf")  # type: ignore[arg-type]
        structs = list(read.definitions)
        found[mode] = ([describe_type(t) for t in structs], describe_build(read.build))
        if mode == "plain":
            by_name = [(t.name, t.size_bytes, t.members[0].type.c_name() if t.name == "note" else "")
                       for t in structs if t.name in ("differs", "note")]
    plain, fast = found.values()
    assert fast == plain
    # both layouts of 'differs'; both 'note's: same line and layout, another member type (int, unsigned int)
    assert sorted(by_name) == [("differs", 4, ""), ("differs", 16, ""),
                               ("note", 8, "int"), ("note", 8, "unsigned int")]


@pytest.mark.parametrize("structs, types", [
    (["late"], None),
    (["differs", "number", "flags"], ["u32", "pair_t", "enum colour", "unsigned int"]),
    (["fam", "no_such_struct"], ["int"]),
    ([], ["long int"]),
    (["opaque"], ["no_such_type"]),
])
def test_selected_names_equal_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           structs: list[str], types: list[str]) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-5")
    plain = read(program, "plain", monkeypatch, structs, types)
    fast = read(program, "fast", monkeypatch, structs, types)
    assert differences(plain, fast) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("names", [["pair_t", "late"], ["u32"], ["only_in_b", "colour", "no_such"]])
def test_struct_or_typedef_lookup_equals_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      names: list[str], private_cache: Path) -> None:
    """pahole's -C lookup (show): a name may be a struct, a union or a typedef."""
    program = link_program(tmp_path, "gcc", "-gdwarf-4")
    plain = read(program, "plain", monkeypatch, names, names, any_kind=True)
    fast = read(program, "fast", monkeypatch, names, names, any_kind=True)
    assert lookup_differences(plain, fast) == []  # type: ignore[arg-type]
    assert "pair_t" not in names or "pair_t" in fast.typedefs  # type: ignore[attr-defined]
    # without an index, a -C lookup finds its units by searching for the names (readers/locate.py);
    # a name no unit defines needs every unit read, and the index is built for it
    assert bool(list(private_cache.rglob("*.pickle"))) == ("no_such" in names)
    indexed = read(program, "fast", monkeypatch, names)  # a struct read builds the index...
    assert list(private_cache.rglob("*.pickle"))
    # ...and the lookup through it gives the whole Build of the plain walk, base types included
    assert differences(plain, read(program, "fast", monkeypatch, names, names, any_kind=True)) == []  # type: ignore[arg-type]
    assert indexed is not None


def lookup_differences(plain: object, fast: object) -> list[str]:
    """What differs in what a -C lookup reads: everything but base types and the names seen for suggestions."""
    return [line for line in differences(plain, fast)  # type: ignore[arg-type]
            if not line.startswith(("base_types", "names_seen"))]


def test_index_is_cached_per_build_id_and_a_damaged_entry_is_ignored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_cache: Path) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-5")
    read(program, "fast", monkeypatch, ["late"])
    entries = list((private_cache / "index").iterdir())
    # the SHA-1 build-id, the file's size, mtime and inode, its section-header digest and debug-section CRC
    assert len(entries) == 1 and len(entries[0].stem.split("-")[0]) == 40 and entries[0].stem.count("-") == 5
    entries[0].write_bytes(b"not a pickle")
    assert typeindex.load_cached(entries[0].stem) is None
    plain = read(program, "plain", monkeypatch, ["late"])
    assert differences(plain, read(program, "fast", monkeypatch, ["late"])) == []  # type: ignore[arg-type]
    assert typeindex.load_cached(entries[0].stem) is not None  # rewritten whole


def test_index_made_by_other_code_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-5")
    read(program, "fast", monkeypatch, ["late"])
    build_id = dwarf.scan_cache_key(str(program))
    assert typeindex.load_cached(build_id) is not None
    monkeypatch.setattr(cache, "code_digest", lambda: "someone-else")
    assert typeindex.load_cached(build_id) is None


def test_unknown_name_is_answered_from_the_index_with_close_matches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-5")
    read(program, "fast", monkeypatch, ["late"])
    with pytest.raises(NotFoundError, match=r"no struct named 'only_in_c'; closest: only_in_[ab], only_in_[ab]"):
        api.require_structs(str(program), ["only_in_c"])
    api.require_structs(str(program), ["struct late", "union number", "pair_t"])


def test_sizes_cli_equals_plain_and_is_quiet_off_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-4")
    runner = CliRunner()
    monkeypatch.setenv("LAYOUTCALC_SCAN", "plain")
    plain = runner.invoke(main, ["sizes", "-i", str(program), "--format", "csv"])
    monkeypatch.setenv("LAYOUTCALC_SCAN", "auto")
    cold = runner.invoke(main, ["sizes", "-i", str(program), "--format", "csv"])
    warm = runner.invoke(main, ["sizes", "-i", str(program), "--format", "csv"])
    assert plain.exit_code == cold.exit_code == warm.exit_code == 0
    assert "\nlate," in plain.stdout
    assert plain.stdout == cold.stdout == warm.stdout
    assert cold.stderr == warm.stderr == ""
    bad = runner.invoke(main, ["show", "only_in_c", "-i", str(program)])
    assert bad.exit_code == 1
    assert "no struct named 'only_in_c'; closest: only_in_" in bad.stderr


@pytest.mark.realbuild
@pytest.mark.parametrize("key", ["amd64", "arm64"])
def test_real_build_sample_equals_plain_reader(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample of a Debian vmlinux's structs: every 25th name defined in the first 60 units (where the plain
    walk stops early), with typedefs and base types; the whole build is compared by
    benchmarks/check_fastpath.py (minutes)."""
    path = vmlinux(key)
    monkeypatch.setenv("LAYOUTCALC_SCAN", "fast")
    index = typeindex.get_index(path, dwarf.scan_cache_key(path))
    early = sorted(name for name, entry in index.tables["structs"].items() if entry[0] < 60)
    structs = early[::25] + ["list_head"]
    types = ["atomic_t", "pid_t", "unsigned int", "long int"]
    fast = read(Path(path), "fast", monkeypatch, structs, types)
    plain = read(Path(path), "plain", monkeypatch, structs, types)
    assert len(fast.structs) == len(structs) > 10  # type: ignore[attr-defined]
    assert differences(plain, fast) == []  # type: ignore[arg-type]


@pytest.mark.realbuild
@pytest.mark.parametrize("key", ["amd64", "arm64"])
def test_real_build_btf_names_cover_every_dwarf_struct(key: str) -> None:
    """What makes the .BTF answer to "no such struct" exact: BTF names every struct and union DWARF defines."""
    path = vmlinux(key)
    with pytest.raises(NotFoundError, match=r"no struct named 'task_strukt'; closest: task_struct"):
        dwarf.check_names(path, ["task_strukt"])  # the cache is empty: answered from .BTF
    btf_names = typeindex.btf_type_names(path)
    assert btf_names is not None
    index = typeindex.get_index(path, dwarf.scan_cache_key(path))
    dwarf_names = index.aggregate_names()
    assert len(dwarf_names) > 7000
    assert [name for name in dwarf_names if name not in btf_names] == []


def test_sizes_of_every_definition_lists_both_layouts_and_is_cached(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    program = link_program(tmp_path, "gcc", "-gdwarf-4")
    first = api.sizes_of(str(program)).rows
    every = api.sizes_of(str(program), every_definition=True).rows
    assert [row for row in first if row[0] == "differs"] == [("differs", 4, 0)]
    assert sorted(row for row in every if row[0] == "differs") == [("differs", 4, 0), ("differs", 16, 0)]
    monkeypatch.setattr(api, "load", lambda *args, **kwargs: pytest.fail("a warm call must not read"))
    assert api.sizes_of(str(program), every_definition=True).rows == every
    assert api.sizes_of(str(program)).rows == first


@pytest.mark.realbuild
def test_real_build_dwarf_catalogue_equals_its_btf() -> None:
    """diff's DWARF read of the whole amd64 build (raw scanner on both cores, about 20 s) against the same
    build's .BTF (pahole -J's conversion of that DWARF): every struct and union has the same layouts.
    BTF also holds a few structs DWARF defines only inside functions (pahole -F dwarf --sizes lists none
    of them either); the fast read equals the plain walk on this build (benchmarks/check_fastpath.py)."""
    path = vmlinux("amd64")
    via_btf = api.catalogue(path, source="btf")
    via_dwarf = api.catalogue(path, source="dwarf")
    assert len(via_dwarf.layouts) > 7000
    assert [label for label, layouts in via_dwarf.layouts.items()
            if set(layouts) != set(via_btf.layouts.get(label, ()))] == []
    assert 0 < len(set(via_btf.layouts) - set(via_dwarf.layouts)) < 20
    assert via_dwarf.slab == via_btf.slab


def test_catalogue_is_cached_per_build_and_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """diff/baseline/check read a build once: the second catalogue of the same file, source and patterns comes
    from the cache, equal; other patterns, another source or a changed file are read again."""
    from layoutcalc.readers import definitions
    program = link_program(tmp_path, "gcc", "-gdwarf-4")
    first = api.catalogue(str(program), source="dwarf")
    only = api.catalogue(str(program), ["differs"], source="dwarf")
    assert set(only.layouts) == {"differs"} and len(first.layouts) > 10
    reads = []
    real = definitions.read_definitions

    def counted(*args: object, **kwargs: object) -> object:
        reads.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(definitions, "read_definitions", counted)
    assert api.catalogue(str(program), source="dwarf") == first
    assert api.catalogue(str(program), ["differs"], source="dwarf") == only
    assert reads == []
    api.catalogue(str(program), ["list"], source="dwarf")
    assert len(reads) == 1
    program.write_bytes(program.read_bytes())  # the same bytes, but another file state: read again
    assert api.catalogue(str(program), source="dwarf") == first
    assert len(reads) == 2


@pytest.mark.parametrize("debug", ["-gdwarf-4", "-gdwarf-5"])
@pytest.mark.parametrize("compiler", COMPILERS)
def test_lookup_by_name_search_equals_plain_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   compiler: str, debug: str) -> None:
    """The located -C lookup (no index) on each compiler: the first definition in unit order, as the plain walk."""
    program = link_program(tmp_path, compiler, debug)
    names = ["late", "note", "differs", "number", "pair_t", "enum colour", "u32"]
    plain = read(program, "plain", monkeypatch, names, names, any_kind=True)
    fast = read(program, "auto", monkeypatch, names, names, any_kind=True)
    assert lookup_differences(plain, fast) == []
    assert fast.structs["differs"].size_bytes == 4  # type: ignore[attr-defined]
    assert fast.structs["note"].members[0].type.name == "int"  # type: ignore[attr-defined]


@pytest.mark.realbuild
def test_real_build_cold_show_of_late_structs_equals_pahole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            private_cache: Path) -> None:
    """Structs defined late in a vmlinux, shown cold (no index): the text of pahole -F dwarf -C, byte for byte."""
    from pahole_oracle import pahole_listing
    path = vmlinux("57-cloud-amd64")
    names = ["pnp_mem", "maple_node", "printf_spec", "sched_domain"]  # units 1538, 2129, 2141 and 179 of 2172
    result = CliRunner().invoke(main, ["show", *names, "-i", path])
    assert result.exit_code == 0, result.output
    assert not list(private_cache.rglob("*.pickle"))  # located, no index built
    listing = pahole_listing(path, names)
    assert result.stdout == "".join(listing[name] for name in names)
