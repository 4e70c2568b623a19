"""``reorganize`` against the compiler and against pahole --reorganize.

Each struct is compiled, repacked by layoutcalc, and the repacked member order is
compiled again: gcc's own sizeof/offsetof of the new order must equal what
layoutcalc predicted, the result is never larger than the original or than pahole's
``--reorganize`` of the same object, and bitfield runs and a trailing flexible array
stay intact.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from layoutcalc import api
from layoutcalc.model import StructType

from cc import compile_c, have, layout_probe, symbol_words

# name -> member declarations, in declaration order (each declares one member)
STRUCTS = {
    "holes": ["char c", "long l", "char d", "int i", "short s"],
    "bits": ["char c", "long l", "unsigned int b1:3", "unsigned int b2:7", "char d", "int i",
             "unsigned short b3:2", "long z"],
    "forced": ["char tag", "int a __attribute__((aligned(16)))", "char b", "long c", "short d", "char e"],
    "nested": ["char c", "struct inner { char x; long y; } in", "char d", "int e", "short f"],
    "flex": ["int n", "char c", "long l", "short s", "char data[]"],
    "tight": ["long a", "int b", "int c"],
    "arrays": ["char name[3]", "long v", "short s[3]", "int i", "char z"],
}


def _member_name(declaration: str) -> str:
    declaration = declaration.split(" __attribute__")[0]
    return re.split(r"[\s*]+", declaration.split(":")[0].split("[")[0].strip())[-1]


def _source(name: str, declarations: list[str]) -> str:
    return f"struct {name} {{ {' '.join(d + ';' for d in declarations)} }};\n"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not have("gcc"):
        pytest.skip("gcc not installed")
    out = tmp_path_factory.mktemp("reorganize")
    code = "".join(_source(n, d) for n, d in STRUCTS.items())
    code += "".join(f"struct {n} instance_{n};\n" for n in STRUCTS)
    compile_c(code, out, "before")
    return out


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_repacked_order_compiles_to_the_predicted_layout(objects: Path, name: str) -> None:
    build = api.load(str(objects / "before.o"), structs=[name])
    result = api.reorganize(build, [name]).repacked[0]
    assert result.size_after <= result.size_before
    by_name = {_member_name(d): d for d in STRUCTS[name]}
    new_order = [by_name[m.name] for m in result.after.members]
    if name == "nested":  # the inner struct is defined inside the member that declares it
        new_order = [d.replace("struct inner { char x; long y; } in", "struct inner in") for d in new_order]
        prefix = "struct inner { char x; long y; };\n"
    else:
        prefix = ""
    names = [m.name for m in result.after.members]
    probe = prefix + _source(name, new_order) + layout_probe(name, [n for n, m in zip(names, result.after.members)
                                                                    if m.bit_size is None])
    obj = compile_c(probe, objects, f"after_{name}")
    words = symbol_words(obj, f"probe_{name}")
    assert words[0] == result.size_after
    offsets = [m.bit_offset // 8 for m in result.after.members if m.bit_size is None]
    assert words[2:] == offsets


def test_bitfield_runs_and_flexible_array_stay_together(objects: Path) -> None:
    build = api.load(str(objects / "before.o"), structs=["bits", "flex"])
    bits = api.reorganize(build, ["bits"]).repacked[0].after
    names = [m.name for m in bits.members]
    assert names.index("b2") == names.index("b1") + 1
    flex = api.reorganize(build, ["flex"]).repacked[0].after
    assert flex.members[-1].name == "data"


def test_known_optimum(objects: Path) -> None:
    """`holes` has 16 bytes of members and alignment 8: 16 is the least possible; `tight` has no hole to fill."""
    build = api.load(str(objects / "before.o"), structs=["holes", "tight"])
    holes, tight = api.reorganize(build, ["holes", "tight"]).repacked
    assert (holes.size_before, holes.size_after) == (32, 16)
    assert holes.cachelines_after == 1
    assert tight.size_after == tight.size_before == 16 and tight.moved == []


def _pahole_sizes(obj: Path) -> dict[str, int]:
    text = subprocess.run(["pahole", "-F", "dwarf", "--reorganize", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    sizes, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^struct (\S+) \{$", line)
        if head:
            current = head.group(1)
        found = re.match(r"\t/\* size: (\d+),", line)
        if found and current:
            sizes[current] = int(found.group(1))
            current = None
    return sizes


def test_never_larger_than_pahole_reorganize(objects: Path) -> None:
    if not have("pahole"):
        pytest.skip("pahole (dwarves) not installed")
    theirs = _pahole_sizes(objects / "before.o")
    build = api.load(str(objects / "before.o"), structs=list(STRUCTS))
    for result in api.reorganize(build, list(STRUCTS)).repacked:
        name = result.before.name
        assert name in theirs
        assert result.size_after <= theirs[name], name


def test_cli_text_and_json(objects: Path) -> None:
    import json

    from click.testing import CliRunner

    from layoutcalc.cli import main
    runner = CliRunner()
    text = runner.invoke(main, ["reorganize", "holes", "-i", str(objects / "before.o")])
    assert text.exit_code == 0, text.output
    assert "};   /* saved 16 bytes! */" in text.output
    assert "/* size: 16, cachelines: 1, members: 5 */" in text.output
    data = runner.invoke(main, ["reorganize", "holes", "forced", "--format", "json", "-i", str(objects / "before.o")])
    payload = json.loads(data.output)["structs"]
    assert [s["name"] for s in payload] == ["holes", "forced"]
    assert (payload[0]["size_before"], payload[0]["size_after"]) == (32, 16)
    assert payload[0]["cachelines_before"] == payload[0]["cachelines_after"] == 1
    assert sum(f["size"] for f in payload[0]["layout"]["fields"]) == 16
    missing = runner.invoke(main, ["reorganize", "nosuch", "-i", str(objects / "before.o")])
    assert missing.exit_code == 1 and "nosuch" in missing.output


def test_all_repacks_every_struct_never_larger_than_pahole(objects: Path) -> None:
    """``reorganize --all``: one entry per struct, each at most pahole's --reorganize size, `tight` untouched."""
    import json

    from click.testing import CliRunner

    from layoutcalc.cli import main
    if not have("pahole"):
        pytest.skip("pahole (dwarves) not installed")
    runner = CliRunner()
    result = runner.invoke(main, ["reorganize", "--all", "--format", "json", "-i", str(objects / "before.o")])
    assert result.exit_code == 0, result.output
    payload = {entry["name"]: entry for entry in json.loads(result.output)["structs"]}
    theirs = _pahole_sizes(objects / "before.o")
    assert set(STRUCTS) <= set(payload)  # and struct inner, named inside `nested`
    for name, entry in payload.items():
        assert entry["size_after"] <= theirs[name], name
    assert (payload["holes"]["size_before"], payload["holes"]["size_after"]) == (32, 16)
    assert payload["tight"]["moved"] == [] and payload["tight"]["size_after"] == 16
    assert runner.invoke(main, ["reorganize", "-i", str(objects / "before.o")]).exit_code == 2
    assert runner.invoke(main, ["reorganize", "holes", "--all", "-i", str(objects / "before.o")]).exit_code == 2


def _layout(struct: StructType) -> tuple[object, ...]:
    return (struct.size_bytes, struct.is_packed,
            [(m.name, m.type, m.bit_offset, m.bit_size, m.alignment_attr) for m in struct.members])


@pytest.mark.parametrize("workers", [1, 2])
def test_every_struct_repacked_by_workers_equals_each_repacked_alone(objects: Path, workers: int) -> None:
    """reorganize --all's path (forked workers, layouts rebuilt here) gives what reorganize and show give."""
    from layoutcalc.analysis.facts import debug_info_of
    from layoutcalc.analysis.reorganize import reorganize_every
    build = api.load(str(objects / "before.o"), structs=list(STRUCTS))
    abi = api.abi_of(build)
    structs = [build.structs[name] for name in STRUCTS] * 40  # enough for the workers to be used
    found = reorganize_every(structs, abi, debug_info_of(build), workers=workers)
    assert len(found) == len(structs)
    for struct, (item, stats) in zip(structs, found):
        alone = api.reorganize(build, [struct.name or ""]).repacked[0]
        assert item.before is struct
        assert _layout(item.after) == _layout(alone.after), struct.name
        assert item.moved == alone.moved
        assert stats == api.struct_stats(build, alone.after), struct.name
    moved = {item.before.name: item.moved for item, _ in found}
    assert moved["tight"] == [] and moved["holes"]  # both kinds of result are covered


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_failing_worker_is_reported_not_waited_for(objects: Path, failure: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    from layoutcalc.analysis import reorganize
    from layoutcalc.analysis.facts import debug_info_of
    from layoutcalc.errors import InputError
    build = api.load(str(objects / "before.o"), structs=list(STRUCTS))
    structs = [build.structs[name] for name in STRUCTS] * 40
    parent, repack = os.getpid(), reorganize._repack

    def failing(*args: object, **kwargs: object) -> object:
        if os.getpid() != parent:  # only in the forked child
            if failure == "dies":
                os._exit(3)
            raise InputError("struct holes: damaged")
        time.sleep(0.002)  # the parent is slow, so the child surely takes chunks
        return repack(*args, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(reorganize, "_repack", failing)
    expected = "ended abruptly" if failure == "dies" else "struct holes: damaged"
    with pytest.raises(InputError, match=expected):
        reorganize.reorganize_every(structs, api.abi_of(build), debug_info_of(build), workers=2)
