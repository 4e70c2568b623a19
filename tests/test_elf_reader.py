"""ELF containers: a BTF-only object keeps the machine its header names; elftools stays in readers/.

The objects are compiled at test time (clang for the cross targets), turned
into BTF by pahole -J and stripped of their DWARF, as a BTF-only object is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cc import compile_c, have, symbol_bytes

from layoutcalc import api
from layoutcalc.readers.elf import read_elf_info

PAHOLE = shutil.which("pahole")
OBJCOPY = shutil.which("llvm-objcopy")  # knows every target; binutils' objcopy only the host's
SOURCE = """
struct probe { char c; long l; void *p; short s; };
struct probe probe_var;
unsigned long probe_sizes[] = { sizeof(struct probe), __builtin_offsetof(struct probe, l),
                                __builtin_offsetof(struct probe, s) };
"""
PACKAGE = Path(__file__).resolve().parent.parent / "layoutcalc"


def _btf_only(tmp_path: Path, target: str) -> Path:
    if PAHOLE is None or OBJCOPY is None:
        pytest.skip("pahole (dwarves) and llvm-objcopy are needed to make a BTF-only object")
    if not have("clang"):
        pytest.skip("clang is not installed")
    obj = compile_c(SOURCE, tmp_path, target.replace("-", "_"), target, debug_flags=("-g",))
    subprocess.run([PAHOLE, "-J", str(obj)], check=True, capture_output=True)
    subprocess.run([OBJCOPY, "--strip-debug", str(obj)], check=True)
    return obj


@pytest.mark.parametrize(("target", "abi", "word"), [("clang-aarch64", "aarch64", 8), ("clang-arm", "arm", 4),
                                                      ("clang-s390x", "s390x", 8)])
def test_btf_only_object_keeps_its_machine(tmp_path: Path, target: str, abi: str, word: int) -> None:
    obj = _btf_only(tmp_path, target)
    info = read_elf_info(str(obj))
    assert (info.arch, info.has_dwarf, info.btf is not None) == (abi, False, True)
    build = api.load(str(obj), structs=["probe"])
    assert (build.arch, build.address_size, build.provenance.format) == (abi, word, "btf")
    order = "big" if abi == "s390x" else "little"
    raw = symbol_bytes(obj, "probe_sizes")
    size, offset_l, offset_s = (int.from_bytes(raw[i:i + word], order) for i in range(0, 3 * word, word))
    probe = build.get_struct("probe")
    assert (probe.size_bytes, probe.get_member("l").offset_bytes, probe.get_member("s").offset_bytes) == \
        (size, offset_l, offset_s)
    assert api.facts_of(build, probe).alignment == word


def test_object_without_debug_info_is_one_clear_error(tmp_path: Path) -> None:
    if not have("gcc"):
        pytest.skip("gcc is not installed")
    obj = compile_c(SOURCE, tmp_path, "nodebug", "gcc-m64", debug_flags=())
    with pytest.raises(Exception, match=r"nodebug\.o: ELF file has no debug info"):
        api.load(str(obj))


def test_only_the_elf_container_and_the_dwarf_reader_import_elftools() -> None:
    importers = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                       if re.search(r"^\s*(from|import) elftools", path.read_text(), re.M))
    # the ELF container, and the DWARF reader's internals (its DIE walkers and relocations)
    dwarf_internals = {"readers/dwarf/convert.py", "readers/dwarf/riscv_relocs.py"}
    assert "readers/elf.py" in importers and set(importers) <= dwarf_internals | {"readers/elf.py"}, importers
