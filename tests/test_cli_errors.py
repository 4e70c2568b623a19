"""Bad input: one line naming the file and the problem, exit 1, no traceback."""

from __future__ import annotations

import shutil

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.cli import main

SOURCE = "struct s { char a; long b; };\nstruct s instance;\n"


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad")
    good = compile_c(SOURCE, out, "good", "gcc-m64", ("-gdwarf-4",))
    nodebug = compile_c(SOURCE, out, "nodebug", "gcc-m64", ())
    truncated = out / "truncated.o"
    truncated.write_bytes(good.read_bytes()[:600])
    text = out / "notes.txt"
    text.write_text("not an object file\n")
    empty = out / "empty.o"
    empty.write_bytes(b"")
    return {"good": good, "nodebug": nodebug, "truncated": truncated, "text": text, "empty": empty,
            "dir": out}


def _run(args):
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output, result.exception


@pytest.mark.parametrize("kind, expected", [
    ("text", "not an ELF file, a BTF blob or a layoutcalc snapshot"),
    ("nodebug", "ELF file has no debug info"),
    ("truncated", "truncated or damaged file?"),
    ("empty", "file is empty"),
    ("dir", "is a directory"),
])
def test_bad_input_is_one_line(objects, kind, expected):
    code, output, exc = _run(["show", "s", "-i", str(objects[kind])])
    assert code == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"Error: {objects[kind]}")
    assert expected in lines[0]
    assert "Traceback" not in output
    assert isinstance(exc, SystemExit)


def test_unknown_struct_names_file_and_struct(objects):
    code, output, _ = _run(["show", "nosuch", "-i", str(objects["good"])])
    assert code == 1
    assert output.strip() == f"Error: {objects['good']}: no struct named 'nosuch'"


def test_missing_file(tmp_path):
    code, output, _ = _run(["show", "s", "-i", str(tmp_path / "absent.o")])
    assert code == 1
    assert output.strip() == f"Error: {tmp_path / 'absent.o'}: cannot open (No such file or directory)"


def test_traceback_flag_reraises(objects):
    result = CliRunner().invoke(main, ["--traceback", "show", "s", "-i", str(objects["text"])])
    assert result.exit_code == 1
    assert result.exception is not None and not isinstance(result.exception, SystemExit)


def test_show_json_shape(objects):
    import json
    code, output, _ = _run(["show", "s", "-i", str(objects["good"]), "--format", "json"])
    assert code == 0
    (struct,) = json.loads(output)["structs"]
    assert set(struct) == {"name", "size", "alignment", "cachelines", "members", "sum_members", "holes",
                           "sum_holes", "bit_holes", "sum_bit_holes", "padding", "bit_padding", "paddings",
                           "sum_paddings", "forced_alignments", "forced_holes", "sum_forced_holes",
                           "last_cacheline", "fields"}
    # char at 0, 7-byte hole, long at 8: a wrong reader gets these wrong
    assert (struct["size"], struct["holes"], struct["sum_holes"], struct["alignment"]) == (16, 1, 7, 8)
    assert [(f["name"], f["type"], f["offset"], f["size"]) for f in struct["fields"]] == [
        ("a", "char", 0, 1), ("b", "long int", 8, 8)]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_sizes_lists_structs(objects):
    code, output, _ = _run(["sizes", "-i", str(objects["good"])])
    assert code == 0
    assert "s\t16\t1" in output.splitlines()
