"""Regression tests for issue 23's classes of hostile input (round two): each ends in one clean line, fast.

Classes, as the issue numbers them: 1 huge integers, 2 octal-looking literals,
3 deep nesting, 4 type errors behind the schema, 5 special files and bombs,
6 loops and blow-ups, 7 worker noise, 8 damage accepted as data, 9 stale caches
and a valid input refused.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_hostile_inputs import (ROOT, _first_struct_member, _one_line_error, _run_cli, _snapshot_with,
                                 build_seed_objects)

from layoutcalc.cli import main

HUGE = "9" * 4301
TREE = ROOT / "tests" / "fixtures" / "kernel-tree"
PATCH = ROOT / "tests" / "fixtures" / "flat_pid.patch"



@pytest.fixture(scope="module")
def seed_objects(tmp_path_factory):
    return build_seed_objects(tmp_path_factory.mktemp("hostile2"))


# ---------------------------------------------------------------- 1, 2: numbers

@pytest.mark.parametrize("value, expected", [
    (HUGE, "too long for a 64-bit number"),
    ("18446744073709551616", "does not fit in 64 bits"),
    ("08", "8 and 9 are not octal digits"),
    ("-09", "8 and 9 are not octal digits"),
], ids=["4301-digits", "2^64", "08", "-09"])
def test_define_numbers(seed_objects, value, expected):
    line = _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH),
                            "--define", f"CONFIG_X={value}"], expected)
    assert "bad --define 'CONFIG_X=" in line


def test_define_octal_is_c_octal(seed_objects, tmp_path):
    """``0123`` is 83, as gcc's preprocessor reads it: ``#if CONFIG_X == 83`` holds."""
    patch = PATCH.read_text().replace("+#ifdef CONFIG_PID_NS_FLAT\n+\t/*", "+#if CONFIG_X == 83\n+\t/*", 1)
    path = tmp_path / "octal.patch"
    path.write_text(patch)
    args = ["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path), "--format", "json"]
    on = CliRunner().invoke(main, [*args, "--define", "CONFIG_X=0123"])
    off = CliRunner().invoke(main, [*args, "--define", "CONFIG_X=123"])
    assert on.exit_code == 0 and '"vnr"' in on.output, on.output
    assert off.exit_code == 1 and "adds no struct members" in off.output, off.output


@pytest.mark.parametrize("value, expected", [
    (HUGE, "too long for a 64-bit number"), ("08", "not octal digits"), ("-09", "not octal digits")],
    ids=["4301-digits", "08", "-09"])
def test_config_numbers(seed_objects, tmp_path, value, expected):
    config = tmp_path / "config"
    config.write_text(f"CONFIG_PID_NS_FLAT=y\nCONFIG_X={value}\n")
    line = _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH),
                            "--config", str(config)], expected)
    assert f"{config}:2: " in line


@pytest.mark.parametrize("operand, expected", [(HUGE, "too long for a 64-bit number"), ("08", "not octal digits"),
                                               ("0x1ffffffffffffffff", "does not fit in 64 bits")],
                         ids=["4301-digits", "08", "2^65-1"])
def test_if_operands(seed_objects, tmp_path, operand, expected):
    patch = PATCH.read_text().replace("+#ifdef CONFIG_PID_NS_FLAT\n+\t/*", f"+#if CONFIG_X == {operand}\n+\t/*", 1)
    path = tmp_path / "if.patch"
    path.write_text(patch)
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(path),
                     "--define", "CONFIG_X=1"], expected)


def test_huge_integer_in_snapshot_json(seed_objects, tmp_path):
    text = seed_objects["snapshot"].read_text().replace('"version":1', f'"version":{HUGE}', 1)
    path = tmp_path / "huge.json"
    path.write_text(text)
    _one_line_error(["show", "pid", "-i", str(path)], "digits) is too large")


def test_huge_integer_in_scenario_and_budget(seed_objects, tmp_path):
    scenario = tmp_path / "huge.toml"
    scenario.write_text(f"[[change]]\nstruct = \"pid\"\nafter = [\"count\"]\nalign = {HUGE}\nfields = [\"int x;\"]\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(scenario)],
                    "Exceeds the limit")
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    budget = tmp_path / "budget.toml"
    budget.write_text(f"[defaults]\ngrowth = {HUGE}\n")
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline), "--budget", str(budget)],
                    f"{budget}: malformed TOML")


@pytest.mark.parametrize("size", ["1" + "0" * 400, "1e400", "-4"], ids=["10^400", "1e400", "negative"])
def test_baseline_size_out_of_range(seed_objects, tmp_path, size):
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    data["structs"][0]["size"] = "@SIZE@"
    baseline.write_text(json.dumps(data).replace('"@SIZE@"', size))
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], str(baseline))


# ---------------------------------------------------------------- 3: nesting

DEEP = "[" * 2000 + "]" * 2000


def test_deep_nesting_in_toml_and_json(seed_objects, tmp_path):
    scenario = tmp_path / "deep.toml"
    scenario.write_text(f"x = {DEEP}\n")
    _one_line_error(["whatif", "-i", str(seed_objects["snapshot"]), "--scenario", str(scenario)],
                    "nested deeper than 64 levels")
    budget = tmp_path / "deep-budget.toml"
    budget.write_text(f"allow = {DEEP}\n")
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline), "--budget", str(budget)],
                    "nested deeper than 64 levels")
    snapshot = tmp_path / "deep.json"
    snapshot.write_text(seed_objects["snapshot"].read_text().replace('"roots":', f'"x":{DEEP},"roots":', 1))
    for command in (["show", "pid", "-i", str(snapshot)], ["diff", str(snapshot), str(seed_objects["snapshot"])],
                    ["history", "--struct", "pid", str(seed_objects["snapshot"]), str(snapshot)]):
        _one_line_error(command, "nested deeper than 64 levels")


# ---------------------------------------------------------------- 4, 8: schemas

def _typedef_alignment(value):
    def edit(data, types):
        types.append({"k": "typedef", "n": "aligned_int", "t": _first_struct_member(data, types)[1], "a": value})
        _first_struct_member(data, types)[1] = len(types) - 1
    return edit


@pytest.mark.parametrize("value", ["8", [8], 3, 0], ids=["string", "list", "three", "zero"])
@pytest.mark.parametrize("command", [["whatif", "--scenario", "flat"], ["slab", "--scenario", "none"],
                                     ["show", "thread_struct"]])
def test_typedef_alignment_must_be_a_power_of_two(seed_objects, tmp_path, value, command):
    path = _snapshot_with(seed_objects, tmp_path, _typedef_alignment(value))
    _one_line_error([*command, "-i", str(path)], f"alignment must be a power of two, not {value!r}")


def test_fpu_without_members_in_slab(seed_objects, tmp_path):
    def empty_fpu(data, types):
        types[data["roots"]["structs"]["fpu"]].pop("m", None)
    path = _snapshot_with(seed_objects, tmp_path, empty_fpu)
    result = CliRunner().invoke(main, ["slab", "-i", str(path), "--scenario", "none"])
    lines = result.output.strip().splitlines()
    assert "internal error" not in result.output, result.output
    assert result.exit_code == 0 or (result.exit_code == 1 and len(lines) == 1), result.output


def _struct(name):
    def get(data, types):
        return types[data["roots"]["structs"][name]]
    return get


@pytest.mark.parametrize("edit, expected", [
    (lambda d, t: _struct("pid")(d, t)["m"][0].__setitem__(2, 5560 * 8), "outside it"),
    (lambda d, t: _struct("pid")(d, t)["m"][0].__setitem__(2, -8), "must be a non-negative integer"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 0), "outside it"),
    (lambda d, t: (t.append({"k": "array", "t": _first_struct_member(d, t)[1], "c": 4 * 10 ** 29}),
                   _first_struct_member(d, t).__setitem__(1, len(t) - 1)), "does not fit in 64 bits"),
    (lambda d, t: (t.append({"k": "array", "t": _first_struct_member(d, t)[1], "c": 4 * 10 ** 18}),
                   _first_struct_member(d, t).__setitem__(1, len(t) - 1)), "outside it"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 10 ** 30), "does not fit in 64 bits"),
    (lambda d, t: _struct("pid")(d, t).__setitem__("s", 1 << 40), "has size 1099511627776"),
], ids=["member-at-byte-5560", "negative-offset", "size-0-with-members", "4e29-elements", "4e18-elements",
        "size-10^30", "size-2^40"])
@pytest.mark.parametrize("command", [["show", "pid"], ["slab", "--scenario", "none"], ["sizes"]])
def test_damage_is_not_data(seed_objects, tmp_path, edit, expected, command):
    path = _snapshot_with(seed_objects, tmp_path, edit)
    _one_line_error([*command, "-i", str(path)], expected)


def test_negative_baseline_offset(seed_objects, tmp_path):
    baseline = tmp_path / "b.json"
    assert CliRunner().invoke(main, ["baseline", str(seed_objects["plain"]), "-o", str(baseline)]).exit_code == 0
    data = json.loads(baseline.read_text())
    data["structs"][0]["members"][0][2] = -96
    baseline.write_text(json.dumps(data))
    _one_line_error(["check", str(seed_objects["plain"]), "--baseline", str(baseline)], "offset")


# ---------------------------------------------------------------- 5: special files and bombs

@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_config_special_files(seed_objects, tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "fifo")
        os.mkfifo(special)
    result = _run_cli(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH), "--config", special])
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"Error: {special}: is a ")


def test_gzip_config_bomb_stops_while_streaming(seed_objects, tmp_path):
    config = tmp_path / "config.gz"
    with gzip.open(config, "wb", compresslevel=9) as stream:
        stream.write(b"CONFIG_PID_NS_FLAT=y\n")
        for _ in range(64):
            stream.write(b"\0" * (1 << 20))
    result = _run_cli(["whatif", "-i", str(seed_objects["snapshot"]), "--patch", str(PATCH), "--config",
                       str(config)])
    assert result.returncode == 1 and "expands to more than" in result.stderr, result.stderr


def _tree_copy(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, symlinks=True)
    return tree


@pytest.mark.parametrize("victim", ["Makefile", "kernel/fork.c", "include/linux/unused.h", "up.config"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_source_tree_special_files(tmp_path, victim, kind):
    tree = _tree_copy(tmp_path)
    target = tree / victim
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    result = _run_cli(["snapshot", "--kernel-source", str(tree), "--config", str(tree / "up.config"), "-o",
                       str(tmp_path / "out.json")], timeout=60)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "is a FIFO" in result.stderr or "is a character device" in result.stderr, result.stderr
    assert not (tmp_path / "out.json").exists()


def test_standard_input_is_capped(seed_objects, monkeypatch):
    import layoutcalc.readers as readers
    monkeypatch.setattr(readers, "MAX_STDIN_BYTES", 1 << 16)
    data = Path(seed_objects["plain"]).read_bytes() + b"\0" * (1 << 17)
    _one_line_error(["show", "pid", "-i", "-"], "more than 65536 bytes on standard input", stdin=data)
