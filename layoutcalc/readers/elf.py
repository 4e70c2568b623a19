"""ELF containers: what an ELF file holds for us, read with pyelftools.

The one place outside the DWARF reader's internals that imports elftools.
:func:`read_elf_info` says which ABI the header names, whether there is
DWARF and returns the ``.BTF`` section's bytes; the readers then pick the
format.  A BTF-only object keeps the machine its header names (an aarch64
``.o`` stays aarch64 whatever machine reads it).  What the BTF reader and
every part of the DWARF reader share lives here too: the checks of section
headers (:func:`check_sections`), what pyelftools raises on damaged input
(:data:`DAMAGED_DWARF`) and the debug sections mapped as bytes for the raw
scan (:func:`map_debug_sections`).
"""

from __future__ import annotations

import io
import mmap
import os
import struct as _struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO, Literal, NamedTuple, Optional

from elftools.common.exceptions import DWARFError, ELFError, ELFParseError
from elftools.construct import ConstructError
from elftools.elf.elffile import ELFFile

from ..abi import abi_name_for_elf
from ..errors import InputError

# What pyelftools raises on damaged or truncated debug sections (programming errors are left alone).
# pyelftools also checks its input with assert statements (address size, string offsets section).
DAMAGED_DWARF = (ELFError, ELFParseError, DWARFError, ConstructError, _struct.error, ValueError, KeyError,
                 IndexError, UnicodeDecodeError, EOFError, AssertionError, RecursionError, OverflowError,
                 zlib.error, TypeError, NotImplementedError)


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
    try:
        elf = ELFFile(stream)
        check_sections(elf, name, file_size)
        header = elf.header
        machine = str(header["e_machine"])
        arch = abi_name_for_elf(machine, elf.elfclass, elf.little_endian)
        has_dwarf = debug_section(elf, ".debug_info") is not None
        section = elf.get_section_by_name(".BTF")
        btf = section.data() if section is not None else None
    except InputError:
        raise
    except Exception as exc:  # elftools raises many kinds on damaged headers
        raise InputError(f"{name}: cannot read ELF headers, truncated or damaged file? "
                         f"({exc.__class__.__name__}: {exc})") from None
    return ElfInfo(arch, machine, has_dwarf, btf, elf.get_section_by_name(".debug_info.dwo") is not None)


def check_sections(elf: ELFFile, path: str, file_size: int) -> None:
    """Refuse section headers whose sizes would make us read or allocate more than the file holds.

    pyelftools allocates ``sh_size`` bytes for a section (zeros for SHT_NOBITS) and
    decompresses up to the compression header's ``ch_size``; a damaged header claiming
    2^62 bytes must be an error, not a MemoryError.
    """
    for index in range(elf.num_sections()):
        header = elf._get_section_header(index)
        size, offset = header["sh_size"], header["sh_offset"]
        if header["sh_type"] == "SHT_NOBITS" or header["sh_type"] == "SHT_NULL":
            if size > file_size and index:
                section = elf.get_section(index)
                if section.name.startswith((".debug", ".BTF")):
                    raise InputError(f"{path}: section {section.name} claims {size} bytes of zeros, more than "
                                     f"the file's {file_size} bytes; damaged section headers")
            continue
        if offset > file_size or size > file_size - offset:
            name = elf.get_section(index).name if index else "0"
            raise InputError(f"{path}: section {name or index} claims {size} bytes at offset {offset}, past the "
                             f"end of the file ({file_size} bytes); truncated or damaged file")
        section = elf.get_section(index)
        if section.compressed and section.data_size > MAX_COMPRESSION_RATIO * max(size, 1):
            raise InputError(f"{path}: compressed section {section.name} claims to expand from {size} to "
                             f"{section.data_size} bytes, more than zlib can; damaged compression header")
    check_compressed_sections(elf, path)


# The largest debug section of a Debian vmlinux is .debug_info at 163 MB (6.1 cloud-amd64); a compressed
# section claiming more than 512 MiB is a bomb (1.8 MB of .debug_str expanding to 1.8 GB was one).
MAX_DECOMPRESSED_SECTION_BYTES = 512 << 20
_ZDEBUG_MAGIC = b"ZLIB"
# A compressed section cannot honestly expand more than zlib's best ratio (about 1032:1).
MAX_COMPRESSION_RATIO = 1100


def debug_section(elf: ELFFile, name: str) -> Any:
    """The section ``name`` (``.debug_info``), or its GNU-compressed twin ``.zdebug_info`` (gcc -gz=zlib-gnu)."""
    section = elf.get_section_by_name(name)
    if section is None and name.startswith(".debug_"):
        section = elf.get_section_by_name(".z" + name[1:])
    return section


def section_bytes(section: Any, path: str) -> bytes:
    """The contents of ``section``, decompressed (SHF_COMPRESSED or ``.zdebug_*``) under the size cap."""
    if not section.name.startswith(".zdebug_"):
        return bytes(section.data())
    raw = section.data()
    if raw[:4] != _ZDEBUG_MAGIC or len(raw) < 12:
        raise InputError(f"{path}: section {section.name} lacks its ZLIB header; damaged file")
    claimed = int.from_bytes(raw[4:12], "big")
    if claimed > MAX_DECOMPRESSED_SECTION_BYTES:
        raise InputError(f"{path}: compressed section {section.name} claims to expand to {claimed} bytes, "
                         f"more than any kernel's ({MAX_DECOMPRESSED_SECTION_BYTES}); damaged or hostile file")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw[12:], claimed + 1)
    except zlib.error as exc:
        raise InputError(f"{path}: compressed section {section.name} is damaged ({exc})") from None
    if len(data) != claimed or not inflater.eof:
        raise InputError(f"{path}: compressed section {section.name} expands to other than the {claimed} bytes "
                         "its header claims; damaged file")
    return data


def check_compressed_sections(elf: ELFFile, path: str) -> None:
    """Refuse any compressed section that would expand past MAX_DECOMPRESSED_SECTION_BYTES (checked while inflating)."""
    for section in elf.iter_sections():
        if section.compressed and section.data_size > MAX_DECOMPRESSED_SECTION_BYTES:
            raise InputError(f"{path}: compressed section {section.name} claims to expand to {section.data_size} "
                             f"bytes, more than any kernel's ({MAX_DECOMPRESSED_SECTION_BYTES}); damaged or "
                             "hostile file")
        if section.name.startswith(".zdebug_"):
            section_bytes(section, path)


def zdebug_dwarf_info(elf: ELFFile, path: str, relocate: bool, sections: dict[str, str]) -> Any:
    """pyelftools' DWARFInfo of a file whose debug sections are ``.zdebug_*`` (gcc -gz=zlib-gnu), as pahole reads it.

    pyelftools applies an object file's ``.rela.zdebug_*`` relocations to the
    compressed bytes; they belong to the decompressed ones, so the sections are
    inflated here (under the cap) and relocated after.  ``sections`` maps
    DWARFInfo's argument names to section names (``debug_info_sec``: ``.debug_info``).
    """
    from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DWARFInfo, DwarfConfig
    from elftools.elf.relocation import RelocationHandler
    handler = RelocationHandler(elf) if relocate else None
    descriptors: dict[str, Optional[DebugSectionDescriptor]] = {}
    for key, name in sections.items():
        section = debug_section(elf, name)
        if section is None:
            descriptors[key] = None
            continue
        stream = io.BytesIO(section_bytes(section, path))
        if handler is not None:
            relocations = handler.find_relocations_for_section(section)
            if relocations is not None:
                handler.apply_section_relocations(stream, relocations)
        size = stream.seek(0, io.SEEK_END)
        descriptors[key] = DebugSectionDescriptor(stream=stream, name=name, global_offset=section["sh_offset"],
                                                  size=size, address=section["sh_addr"])
    config = DwarfConfig(little_endian=elf.little_endian, default_address_size=elf.elfclass // 8,
                         machine_arch=elf.get_machine_arch())
    return DWARFInfo(config=config, **descriptors)


class SiblingLoop(ValueError):
    """A DIE's ``DW_AT_sibling`` points at itself or back: pyelftools would yield the same DIEs forever."""


def iter_children(die: Any) -> Iterator[Any]:
    """``die.iter_children()``, refusing a sibling chain that does not move forward (a loop in damaged DWARF)."""
    last = die.offset
    for child in die.iter_children():
        if child.offset <= last:
            raise SiblingLoop(f"DIE 0x{last:x}: its DW_AT_sibling points at 0x{child.offset:x}, not past itself "
                              "(a loop); damaged DWARF")
        last = child.offset
        yield child


def content_digest(elf: ELFFile, stream: BinaryIO) -> str:
    """A digest of what a scan of the file reads: its section headers and its debug sections' bytes.

    Scan caches are keyed on it with the build-id: an in-place edit that keeps
    the size, modification time and inode (and the build-id) still changes it.
    CRC-32 over the mapped sections: 75 ms for a distribution vmlinux's 170 MB.
    """
    import hashlib
    import mmap
    info = os.fstat(stream.fileno())
    identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    if identity in _DIGESTS:  # one process asks several times for the same file
        return _DIGESTS[identity]
    header = elf.header
    data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(data)
    try:
        table_start = header["e_shoff"]
        table = data[table_start:table_start + header["e_shnum"] * header["e_shentsize"]]
        crc = 0
        for section in elf.iter_sections():
            if section.name.startswith((".debug", ".zdebug", ".BTF")) and section["sh_type"] != "SHT_NOBITS":
                start, size = section["sh_offset"], section["sh_size"]
                crc = zlib.crc32(view[start:start + size], crc)
    finally:
        view.release()
        data.close()
    _DIGESTS[identity] = f"{hashlib.sha1(table).hexdigest()[:12]}-{crc:08x}"
    return _DIGESTS[identity]


_DIGESTS: dict[tuple[int, ...], str] = {}


def btf_digest(path: str) -> Optional[str]:
    """A digest of all that a read of the ELF file's ``.BTF`` section depends on, or None (no ``.BTF``).

    The file's size, its ELF header (the ABI), its section table and the
    ``.BTF`` bytes: a few megabytes where :func:`content_digest` reads every
    debug section.  None too when the headers cannot be read (the read that
    follows says why; nothing is cached).
    """
    import hashlib
    try:
        with open(path, "rb") as stream:
            elf = ELFFile(stream)
            section = elf.get_section_by_name(".BTF")
            if section is None:
                return None
            header = elf.header
            file_size = os.fstat(stream.fileno()).st_size
            digest = hashlib.sha1(file_size.to_bytes(8, "little"))
            for start, size in ((0, header["e_ehsize"]), (header["e_shoff"], header["e_shnum"] * header["e_shentsize"]),
                                (section["sh_offset"], section["sh_size"])):
                stream.seek(min(start, file_size))
                digest.update(stream.read(max(0, min(size, file_size - start))))  # a damaged size reads no further
                digest.update(b"\0")
    except Exception:  # elftools raises many kinds on damaged headers; the read reports them
        return None
    return digest.hexdigest()


_NT_GNU_BUILD_ID = 3


def build_id_of(elf: ELFFile) -> Optional[str]:
    """The GNU build-id (hex), None without one or when the notes are damaged.

    The notes are walked here, every size checked against the section: pyelftools
    reads ``n_descsz`` bytes as the note claims, so a damaged note asked for gigabytes.
    """
    order: Literal["little", "big"] = "little" if elf.little_endian else "big"
    for section in elf.iter_sections():
        if section["sh_type"] != "SHT_NOTE":
            continue
        data = section.data()
        pos = 0
        while pos + 12 <= len(data):
            name_size, desc_size, kind = (int.from_bytes(data[pos + i:pos + i + 4], order) for i in (0, 4, 8))
            name_at = pos + 12
            desc_at = name_at + (name_size + 3) // 4 * 4
            end = desc_at + (desc_size + 3) // 4 * 4
            if desc_at + desc_size > len(data):
                return None
            if kind == _NT_GNU_BUILD_ID and data[name_at:name_at + name_size] == b"GNU\0" and desc_size:
                return bytes(data[desc_at:desc_at + desc_size]).hex()
            pos = end
    return None


SHF_COMPRESSED = 0x800


def map_debug_sections(stream: BinaryIO, path: str, names: tuple[str, ...]) -> tuple[bool, list[Any]]:
    """The byte order and the contents of the named sections (b"" when absent) of the ELF file in ``stream``.

    Sections stored plainly are memoryviews of a read-only memory map (no
    copy: a lookup touches only the pages it reads); compressed ones are
    decompressed bytes.  For :mod:`.dwarf.dwarfscan`.
    """
    elf = ELFFile(stream)
    check_sections(elf, path, os.fstat(stream.fileno()).st_size)
    data = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    found: list[Any] = []
    for name in names:
        section = debug_section(elf, name)
        if section is None:
            found.append(b"")
            continue
        header = section.header
        if header["sh_flags"] & SHF_COMPRESSED or header["sh_type"] == "SHT_NOBITS" or section.name != name:
            found.append(section_bytes(section, path))
        else:
            found.append(memoryview(data)[header["sh_offset"]:header["sh_offset"] + header["sh_size"]])
    return elf.little_endian, found
