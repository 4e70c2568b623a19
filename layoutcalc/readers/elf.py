"""ELF containers: what an ELF file holds for us, read with pyelftools.

The one place outside the DWARF reader's internals that imports elftools.
:func:`read_elf_info` says which ABI the header names, whether there is
DWARF and returns the ``.BTF`` section's bytes; the readers then pick the
format.  A BTF-only object keeps the machine its header names (an aarch64
``.o`` stays aarch64 whatever machine reads it).
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, NamedTuple, Optional

from elftools.elf.elffile import ELFFile

from ..abi import abi_name_for_elf
from ..errors import InputError


class ElfInfo(NamedTuple):
    """What an ELF file offers the readers."""

    arch: Optional[str]  # the ABI its header names (None: a machine we do not model)
    machine: str  # e_machine, e.g. EM_AARCH64
    has_dwarf: bool
    btf: Optional[bytes]  # the .BTF section, if any
    split_dwarf: bool = False  # a .dwo: its DWARF is in .debug_info.dwo


def read_elf_info(path: str) -> ElfInfo:
    """The ELF file at ``path``: its machine, whether it has DWARF, its ``.BTF`` section."""
    try:
        with open(path, "rb") as stream:
            return _info(stream, path, os.fstat(stream.fileno()).st_size)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


def elf_info_from_bytes(data: bytes, name: str) -> ElfInfo:
    """:func:`read_elf_info` of an ELF image held in memory (``name`` for messages)."""
    return _info(io.BytesIO(data), name, len(data))


def _info(stream: BinaryIO, name: str, file_size: int) -> ElfInfo:
    from .dwarf import check_sections
    try:
        elf = ELFFile(stream)
        check_sections(elf, name, file_size)
        header = elf.header
        machine = str(header["e_machine"])
        arch = abi_name_for_elf(machine, elf.elfclass, elf.little_endian)
        has_dwarf = elf.get_section_by_name(".debug_info") is not None
        section = elf.get_section_by_name(".BTF")
        btf = section.data() if section is not None else None
    except InputError:
        raise
    except Exception as exc:  # elftools raises many kinds on damaged headers
        raise InputError(f"{name}: cannot read ELF headers, truncated or damaged file? "
                         f"({exc.__class__.__name__}: {exc})") from None
    return ElfInfo(arch, machine, has_dwarf, btf, elf.get_section_by_name(".debug_info.dwo") is not None)
