"""Relocation of RISC-V relocatable objects' debug sections (pyelftools has no recipes for them).

Only what DWARF sections of a ``.o`` use is handled: absolute 32/64-bit
values (``R_RISCV_32``/``R_RISCV_64``) and the ADD/SUB/SET pairs that
encode label differences under linker relaxation.  The patched image is a
copy in memory; the file on disk is never written.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

# type -> (bytes, operation): "abs" S+A, "add" V+S+A, "sub" V-(S+A), "set" S+A
_OPS: dict[int, tuple[int, str]] = {
    1: (4, "abs"), 2: (8, "abs"),
    33: (1, "add"), 34: (2, "add"), 35: (4, "add"), 36: (8, "add"),
    37: (1, "sub"), 38: (2, "sub"), 39: (4, "sub"), 40: (8, "sub"),
    54: (1, "set"), 55: (2, "set"), 56: (4, "set"),
}


def relocated_image(stream: BinaryIO) -> BinaryIO:
    """A copy of a RISC-V ET_REL file with its ``.debug_*`` relocations applied."""
    stream.seek(0)
    image = bytearray(stream.read())
    elf = ELFFile(io.BytesIO(bytes(image)))
    symtab = elf.get_section_by_name(".symtab")
    if not isinstance(symtab, SymbolTableSection):
        return io.BytesIO(bytes(image))
    for section in elf.iter_sections():
        if not isinstance(section, RelocationSection) or not section.is_RELA():
            continue
        target = elf.get_section(section["sh_info"])
        if not target.name.startswith(".debug"):
            continue
        base = target["sh_offset"]
        for reloc in section.iter_relocations():
            op = _OPS.get(reloc["r_info_type"])
            if op is None:
                continue
            width, kind = op
            where = base + reloc["r_offset"]
            value = int.from_bytes(image[where:where + width], "little")
            symbol = symtab.get_symbol(reloc["r_info_sym"])["st_value"] + reloc["r_addend"]
            if kind == "add":
                value += symbol
            elif kind == "sub":
                value -= symbol
            else:
                value = symbol
            image[where:where + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return io.BytesIO(bytes(image))
