"""Safe writes: atomic, only over regular files, validated on read-back, clean errors, intact on a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.cli import main
from layoutcalc.errors import LayoutcalcError, OutputError
from layoutcalc.safe_write import TEMP_PREFIX, write_text

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "struct task_struct { int a; char b; long c; };\nstruct task_struct t;\n"


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_replaces_a_regular_file_keeping_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    target.chmod(0o600)
    write_text(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == []


def test_follows_a_symlink_to_a_regular_file(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text(str(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_failed_validation_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def reject(data: bytes) -> None:
        assert data == b"new"
        raise OutputError("rejected on read-back")
    with pytest.raises(OutputError, match="rejected"):
        write_text(str(target), "new", validate=reject)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("make, expected", [
    (lambda d: os.mkfifo(d / "fifo"), "is a FIFO, not a regular file"),
    (lambda d: (d / "dir").mkdir(), "is a directory"),
])
def test_refuses_non_regular_targets(tmp_path, make, expected):
    make(tmp_path)
    name = next(p for p in tmp_path.iterdir())
    with pytest.raises(OutputError, match=expected):
        write_text(str(name), "x")
    assert not name.is_file()


def test_refuses_dev_null_even_as_root():
    before = os.stat("/dev/null")
    with pytest.raises(OutputError, match="/dev/null: is a character device, not a regular file"):
        write_text("/dev/null", "x")
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


@pytest.mark.parametrize("name, expected", [
    ("", "empty output file name"),
    ("nodir/out.json", "does not exist"),
])
def test_bad_names(tmp_path, monkeypatch, name, expected):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=expected):
        write_text(name, "x")


@pytest.fixture(scope="module")
def obj(tmp_path_factory):
    return compile_c(SOURCE, tmp_path_factory.mktemp("sw"), "sw")


@pytest.mark.parametrize("kind", ["fifo", "chardev", "dir", "empty"])
def test_snapshot_o_onto_special_targets_is_one_line(obj, tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    elif kind == "chardev":
        target = Path("/dev/null")
    elif kind == "dir":
        target = tmp_path
    else:
        target = Path("")
    result = CliRunner().invoke(main, ["snapshot", str(obj), "-o", str(target) if kind != "empty" else "",
                                       "--struct", "task_struct"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    if kind == "fifo":
        assert target.is_fifo()
    if kind == "chardev":
        assert target.is_char_device()


def _tmpfs(tmp_path: Path) -> Path:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return mount


def test_full_disk_is_a_clean_error_and_keeps_the_old_file(tmp_path):
    mount = _tmpfs(tmp_path)
    try:
        target = mount / "out.json"
        target.write_text("old")
        with pytest.raises(OutputError, match="no space left on device"):
            write_text(str(target), "x" * 200_000)
        assert target.read_text() == "old"
        assert _leftovers(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_snapshot_onto_a_full_disk_via_cli(obj, tmp_path):
    mount = _tmpfs(tmp_path)
    try:
        with pytest.raises(OSError):   # fill the disk to the last block
            (mount / "filler").write_bytes(b"\0" * (128 * 1024))
        result = CliRunner().invoke(main, ["snapshot", str(obj), "-o", str(mount / "s.json"),
                                           "--struct", "task_struct"])
        assert result.exit_code == 1
        assert result.output.strip() == f"Error: {mount / 's.json'}: cannot write: no space left on device " \
                                        "(the previous file, if any, is intact)"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


SLOW_WRITER = """
import sys, time
from layoutcalc.safe_write import write_with
def writer(stream):
    stream.write(b"partial")
    stream.flush()
    print("writing", flush=True)
    time.sleep(30)
from layoutcalc import cli
import signal
signal.signal(signal.SIGTERM, cli._on_sigterm)
write_with(sys.argv[1], writer)
"""


def test_sigterm_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    assert len(_leftovers(tmp_path)) == 1   # the temporary file exists while writing
    child.send_signal(signal.SIGTERM)
    child.wait(10)
    assert target.read_text() == "previous"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["snapshot", "baseline"])
def test_killing_a_writer_at_any_moment_keeps_a_valid_file(obj, tmp_path, command):
    """SIGTERM or SIGKILL at any moment of 'snapshot' or 'baseline': the previous file or the new one, whole."""
    target = tmp_path / "out.json"

    def args(tag: str) -> list[str]:
        if command == "snapshot":
            return ["snapshot", str(obj), "-o", str(target), "--struct", "task_struct", "--package", tag]
        return ["baseline", str(obj), "-o", str(target)]
    result = CliRunner().invoke(main, args("first"))
    assert result.exit_code == 0, result.output
    previous = target.read_bytes()
    for delay in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0):
        child = subprocess.Popen([sys.executable, "-m", "layoutcalc", *args(f"p{delay}")], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL if delay > 0.5 else signal.SIGTERM)
        child.wait(30)
        data = target.read_bytes()
        assert data == previous or json.loads(data), (command, delay)  # whole: it parses
        json.loads(data)
        previous = data
    assert not any(p.suffix == ".json" and p.name != "out.json" for p in tmp_path.iterdir())


def test_errors_escape_newlines_in_user_text(obj):
    result = CliRunner().invoke(main, ["show", "evil\nError: fake second line", "-i", str(obj)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {obj}: no struct named 'evil\\nError: fake second line'"


def test_internal_bugs_are_one_line_unless_traceback(obj, monkeypatch):
    from layoutcalc import api

    def broken(*args, **kwargs):
        raise KeyError("bug")
    monkeypatch.setattr(api, "load", broken)
    result = CliRunner().invoke(main, ["show", "s", "-i", str(obj)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: internal error, please report it (KeyError: 'bug')")
    assert len(result.output.strip().splitlines()) == 1
    traced = CliRunner().invoke(main, ["--traceback", "show", "s", "-i", str(obj)])
    assert isinstance(traced.exception, KeyError)


def test_child_fraction_nan_is_refused():
    result = CliRunner().invoke(main, ["report", "--child-fraction", "nan"])
    assert result.exit_code == 2
    assert "'nan' is not a finite number" in result.output


def test_layoutcalc_error_base_is_what_output_errors_are():
    assert issubclass(OutputError, LayoutcalcError)
