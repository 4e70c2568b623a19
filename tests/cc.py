"""Compile C at test time and read the compiler's own answers back.

The oracle is the compiler: ``sizeof``/``offsetof``/``_Alignof`` are stored
in a global array of the object file, and the bits of a bitfield are found
by initialising a global with that field set to all ones.  Nothing here
uses layoutcalc's own code, so it works for cross targets we cannot run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Optional

from elftools.elf.elffile import ELFFile

# name -> (compiler command prefix, ABI name)
TARGETS: dict[str, tuple[list[str], str]] = {
    "gcc-m64": (["gcc", "-m64"], "x86_64"),
    "gcc-m32": (["gcc", "-m32"], "i386"),
    "clang-aarch64": (["clang", "--target=aarch64-linux-gnu"], "aarch64"),
    "clang-arm": (["clang", "--target=arm-linux-gnueabihf"], "arm"),
    "clang-ppc64le": (["clang", "--target=powerpc64le-linux-gnu"], "ppc64le"),
    "clang-s390x": (["clang", "--target=s390x-linux-gnu"], "s390x"),
    "clang-riscv64": (["clang", "--target=riscv64-linux-gnu"], "riscv64"),
}


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def compile_c(source: str, out_dir: Path, name: str, target: str = "gcc-m64",
              debug_flags: tuple[str, ...] = ("-gdwarf-4",), extra: tuple[str, ...] = ()) -> Path:
    """Compile ``source`` to ``out_dir/name.o`` for ``target``; raise with the compiler's message."""
    command, _abi = TARGETS[target]
    c_file = out_dir / f"{name}.c"
    obj = out_dir / f"{name}.o"
    c_file.write_text(source)
    result = subprocess.run([*command, "-c", "-O0", *debug_flags, *extra, str(c_file), "-o", str(obj)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"compiler failed for {target}:\n{result.stderr}\n{source}")
    return obj


def symbol_bytes(obj: Path, symbol: str) -> bytes:
    """The initialised bytes of global ``symbol`` in a relocatable object."""
    with open(obj, "rb") as stream:
        elf = ELFFile(stream)
        symtab = elf.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols():
            if sym.name == symbol:
                section = elf.get_section(sym["st_shndx"])
                data = section.data()
                return data[sym["st_value"]: sym["st_value"] + sym["st_size"]]
    raise KeyError(symbol)


def symbol_words(obj: Path, symbol: str) -> list[int]:
    """A global ``unsigned long long`` array as Python ints (respecting byte order)."""
    with open(obj, "rb") as stream:
        little = ELFFile(stream).little_endian
    raw = symbol_bytes(obj, symbol)
    order = "little" if little else "big"
    return [int.from_bytes(raw[i:i + 8], order) for i in range(0, len(raw), 8)]


def set_bits(obj: Path, symbol: str) -> list[int]:
    """Bit positions (DWARF numbering: from the first byte; MSB-first on big-endian) set in ``symbol``."""
    with open(obj, "rb") as stream:
        little = ELFFile(stream).little_endian
    raw = symbol_bytes(obj, symbol)
    bits = []
    for index, byte in enumerate(raw):
        for bit in range(8):
            if byte >> bit & 1:
                bits.append(index * 8 + (bit if little else 7 - bit))
    return sorted(bits)


def layout_probe(struct: str, members: list[str], bitfields: Optional[list[str]] = None) -> str:
    """C that records sizeof/_Alignof/offsetof of ``struct`` and one all-ones global per bitfield."""
    fields = ", ".join(f"__builtin_offsetof(struct {struct}, {m})" for m in members)
    code = [f"struct {struct} probe_instance_{struct};",
            f"unsigned long long probe_{struct}[] = {{ sizeof(struct {struct}), "
            f"_Alignof(struct {struct}){', ' if members else ''}{fields} }};"]
    for field in bitfields or []:
        code.append(f"struct {struct} bits_{struct}_{field} = {{ .{field} = -1 }};")
    return "\n".join(code) + "\n"
