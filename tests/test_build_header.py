"""Cheap metadata: a Build's name, ABI, word size and byte order without reading its types.

The oracle is the ELF header as binutils' ``readelf -h`` prints it, and the
compiler target each object was built for.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

import layoutcalc
from layoutcalc.readers import read_header

from cc import TARGETS, compile_c, have

SOURCE = "struct s { char c; long l; }; struct s s;\n"
READELF_MACHINES = {"Advanced Micro Devices X86-64": "x86_64", "Intel 80386": "i386", "AArch64": "aarch64",
                    "ARM": "arm", "PowerPC64": "ppc64le", "IBM S/390": "s390x", "RISC-V": "riscv64"}


def _readelf(path: Path) -> dict[str, str]:
    out = subprocess.run(["readelf", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    fields = dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)
    return {key: value.strip() for key, value in fields.items()}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_header_equals_readelf_and_the_compiler_target(tmp_path: Path, target: str) -> None:
    if not have(TARGETS[target][0][0]) or not have("readelf"):
        pytest.skip(f"{TARGETS[target][0][0]} or readelf missing")
    obj = compile_c(SOURCE, tmp_path, "s", target)
    header = read_header(str(obj))
    elf = _readelf(obj)
    assert header.arch == TARGETS[target][1] == READELF_MACHINES[elf["Machine"]]
    assert header.address_size == (8 if elf["Class"] == "ELF64" else 4)
    assert header.byte_order == ("little" if "little" in elf["Data"] else "big")
    assert header.name == "s.o"
    built = layoutcalc.load(str(obj))
    assert (built.name, built.arch, built.address_size, built.byte_order) == (
        header.name, header.arch, header.address_size, header.byte_order)
    assert built._model is None  # nothing was read but the header


def test_bundled_snapshot_header_names_its_build() -> None:
    build = layoutcalc.load("cloud-arm64")
    assert (build.arch, build.address_size, build.byte_order) == ("aarch64", 8, "little")


def test_build_arch_of_a_whole_vmlinux_reads_only_the_header() -> None:
    from realbuilds import vmlinux
    path = vmlinux("57-cloud-amd64")
    start = time.perf_counter()
    build = layoutcalc.load(path)
    assert (build.arch, build.address_size, build.name) == ("x86_64", 8, "vmlinux-6.1.0-57-cloud-amd64")
    assert time.perf_counter() - start < 3  # a whole read takes 10 s and more
    assert build._model is None
