"""readers.dwarf.fast_or_plain: the one choice between the fast DWARF path and the plain one.

A linked program takes the fast path unless ``LAYOUTCALC_SCAN=plain``; a
relocatable object always takes the plain one (its sections need relocating);
where the fast path cannot read a file, ``auto`` falls back to the plain one
and ``fast`` raises.  The callers (sizes, the scan cache key) follow it.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from cc import have
from layoutcalc.errors import InputError
from layoutcalc.readers.dwarf import DwarfFile, fast_or_plain, read_every_for_sizes, scan_cache_key
from layoutcalc.readers.dwarf.dwarfscan import UnsupportedDwarf

SOURCE = "struct pair { char c; long l; };\nstruct pair g_pair;\nint main(void) { return sizeof(g_pair); }\n"

pytestmark = pytest.mark.skipif(not have("gcc"), reason="gcc is not installed")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def _compile(tmp_path: Path, linked: bool) -> Path:
    source = tmp_path / "pair.c"
    source.write_text(SOURCE)
    out = tmp_path / ("pair" if linked else "pair.o")
    flags = ["-Wl,--build-id"] if linked else ["-c"]
    subprocess.run(["gcc", "-g", "-O0", *flags, str(source), "-o", str(out)], check=True, capture_output=True)
    return out


def _choice(path: Path, fast: object = lambda: "fast") -> object:
    with DwarfFile(str(path)) as dwarf_file:
        return fast_or_plain(dwarf_file, fast, lambda: "plain")  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "expected"), [("auto", "fast"), ("", "fast"), ("fast", "fast"), ("plain", "plain")])
def test_a_linked_program_takes_the_path_its_mode_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         mode: str, expected: str) -> None:
    monkeypatch.setenv("LAYOUTCALC_SCAN", mode)
    assert _choice(_compile(tmp_path, linked=True)) == expected


@pytest.mark.parametrize("mode", ["auto", "fast", "plain"])
def test_a_relocatable_object_takes_the_plain_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   mode: str) -> None:
    monkeypatch.setenv("LAYOUTCALC_SCAN", mode)
    assert _choice(_compile(tmp_path, linked=False)) == "plain"


@pytest.mark.parametrize("failure", [UnsupportedDwarf("prog: uses DWARF form 0x99"), struct.error("unpack")])
def test_where_the_fast_path_cannot_read_auto_falls_back_and_fast_raises(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    program = _compile(tmp_path, linked=True)

    def fast() -> str:
        raise failure
    monkeypatch.setenv("LAYOUTCALC_SCAN", "auto")
    assert _choice(program, fast) == "plain"
    monkeypatch.setenv("LAYOUTCALC_SCAN", "fast")
    with pytest.raises(type(failure)):
        _choice(program, fast)


def test_an_unknown_mode_is_refused_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYOUTCALC_SCAN", "quick")
    with pytest.raises(InputError, match=r"^LAYOUTCALC_SCAN=quick: expected one of auto, plain, fast$"):
        _choice(_compile(tmp_path, linked=True))


def test_sizes_and_the_scan_cache_follow_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program, relocatable = _compile(tmp_path, linked=True), _compile(tmp_path, linked=False)
    with DwarfFile(str(program)) as dwarf_file:
        build_id = dwarf_file.build_id()
    assert build_id
    monkeypatch.setenv("LAYOUTCALC_SCAN", "auto")
    key = scan_cache_key(str(program))
    assert key is not None and key.startswith(build_id + "-")
    sizes = read_every_for_sizes(str(program))
    compiled_size = subprocess.run([str(program)]).returncode  # the program returns sizeof(struct pair)
    assert sizes is not None and sizes.structs["pair"].size_bytes == compiled_size
    assert scan_cache_key(str(relocatable)) is None and read_every_for_sizes(str(relocatable)) is None
    monkeypatch.setenv("LAYOUTCALC_SCAN", "plain")
    assert scan_cache_key(str(program)) is None and read_every_for_sizes(str(program)) is None
