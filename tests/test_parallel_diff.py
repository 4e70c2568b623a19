"""A diff reads its two builds at once (the old one in a forked process): the same result as one after the other."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main
from layoutcalc.readers import cache
from layoutcalc.readers.definitions import btf_key
from layoutcalc.render.diff import diff_text

from cc import compile_c

OLD = "struct a { char c; long l; }; struct b { int x; }; struct a ga; struct b gb;\n"
NEW = "struct a { char c; int i; long l; }; struct c { short s; }; struct a ga; struct c gc;\n"
MAIN = "int main(void) { return 0; }\n"

needs_pahole = pytest.mark.skipif(shutil.which("pahole") is None, reason="pahole (dwarves) not installed")


def test_diff_read_in_parallel_equals_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = str(compile_c(OLD, tmp_path, "old"))
    new = str(compile_c(NEW, tmp_path, "new"))
    pending = api._catalogue_aside(old, (), "auto")
    assert pending is not None  # two cores here: the old build is read aside
    assert cache.decode(pending.result()) == api.catalogue(old)
    parallel = api.diff(old, new)
    sequential = api.diff(old, new, progress=lambda path: None)  # watched, and DWARF: one after the other
    assert diff_text(parallel) == diff_text(sequential)
    assert parallel.changes == sequential.changes and parallel.summary == sequential.summary
    assert "added    int i;" in diff_text(parallel) and parallel.summary.added == parallel.summary.removed == 1


def _linked_with_btf(tmp_path: Path, name: str, source: str) -> str:
    """A linked program with a build-id whose DWARF pahole -J also wrote as .BTF (as a vmlinux carries it)."""
    c_file, program = tmp_path / f"{name}.c", tmp_path / name
    c_file.write_text(source + MAIN)
    subprocess.run(["gcc", "-g", "-Wl,--build-id", str(c_file), "-o", str(program)], check=True, capture_output=True)
    subprocess.run(["pahole", "-J", str(program)], check=True, capture_output=True)
    return str(program)


def _section(path: str, name: str) -> tuple[int, int]:
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as stream:
        section = ELFFile(stream).get_section_by_name(name)
        return section["sh_offset"], section["sh_size"]


@needs_pahole
def test_a_watched_diff_reads_a_btf_build_aside_and_caches_both(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI always passes a progress factory; that kept its diffs serial even where no DWARF was walked."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old, new = _linked_with_btf(tmp_path, "old", OLD), _linked_with_btf(tmp_path, "new", NEW)
    dwarf_only = str(compile_c(OLD, tmp_path, "dwarf_only"))
    assert api._catalogue_aside(dwarf_only, (), "auto", watched=True) is None  # its walk shows progress
    assert api._catalogue_aside(old, (), "dwarf", watched=True) is None
    pending = api._catalogue_aside(old, (), "auto", watched=True)
    assert pending is not None
    assert cache.decode(pending.result()).source == "btf"
    cache_dir = tmp_path / "cache" / "layoutcalc" / "catalogue"
    shutil.rmtree(cache_dir)

    cold = CliRunner().invoke(main, ["diff", old, new])
    assert cold.exit_code == 0, cold.output
    # the child stored the old build's catalogue and the parent the new one's, each under its .BTF key
    stored = sorted(entry.name.split("-")[1] for entry in cache_dir.iterdir())
    assert stored == sorted(key.split("-")[1] for key in (btf_key(old), btf_key(new)) if key)
    warm = CliRunner().invoke(main, ["diff", old, new])
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # one core: one build after the other, nothing cached
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-cache"))
    serial = CliRunner().invoke(main, ["diff", old, new])
    assert cold.output == warm.output == serial.output
    assert "added    int i;" in cold.output


@needs_pahole
def test_the_btf_cache_key_follows_the_btf_section_not_the_dwarf(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalogue read from .BTF is keyed on the .BTF and the headers (not on every debug section, which
    took 0.1 s a build to hash): a copy with other DWARF shares it, one with other .BTF bytes does not."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    good = _linked_with_btf(tmp_path, "good", OLD)
    data = Path(good).read_bytes()
    other_dwarf, other_btf = tmp_path / "other_dwarf", tmp_path / "other_btf"
    offset, size = _section(good, ".debug_str")
    other_dwarf.write_bytes(data[:offset] + bytes(size) + data[offset + size:])
    offset, size = _section(good, ".BTF")
    last = offset + size - 2  # inside the string section, the end of the last name ("gb" or "ga")
    other_btf.write_bytes(data[:last] + b"z" + data[last + 1:])
    keys = [btf_key(str(path)) for path in (good, other_dwarf, other_btf)]
    assert keys[0] is not None and keys[0] == keys[1] != keys[2] is not None
    assert btf_key(good, "dwarf") is None and btf_key(str(compile_c(OLD, tmp_path, "object"))) is None
    assert api.catalogue(str(other_dwarf)).layouts == api.catalogue(good).layouts
