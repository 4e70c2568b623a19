"""The DWARF reader: ELF files with debug info (vmlinux, .o, .ko) into the layout model.

:mod:`.convert` opens the file (:class:`DwarfFile`), converts DIEs into
model types and walks compile units with pyelftools (the plain path);
:mod:`.dwarfscan`, :mod:`.rawdie`, :mod:`.typeindex`, :mod:`.locate` and
:mod:`.fastpath` are the fast path, which decodes DIEs straight from the
section bytes and is tested equal to the plain one.
"""

from .convert import DwarfFile, read_dwarf

__all__ = ["DwarfFile", "read_dwarf"]
