"""Every named struct and union definition of an input, duplicates included.

:func:`layoutcalc.readers.read_input` keeps the first definition of each name
(as pahole does); comparing two builds needs all of them, because the same
name may be defined differently in two compile units.  This module yields
every complete named definition and leaves deduplication to the caller
(:mod:`layoutcalc.features.diff`).

An ELF file with a ``.BTF`` section (Debian's vmlinux has one) is read from
BTF by default: BTF is already deduplicated across compile units by the
kernel build (pahole -J), records every size, member offset and bitfield,
and is a few megabytes against the gigabytes of DWARF a whole-kernel DWARF
walk decodes.  ``source="dwarf"`` forces the DWARF walk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Optional

from ..errors import InputError
from ..model import Build, StructType
from ..provenance import Provenance
from . import sniff

ProgressCallback = Callable[[int, int], None]
SOURCES = ("auto", "btf", "dwarf")


class Definitions(NamedTuple):
    """What :func:`read_definitions` found: the definitions and a Build of the first of each name.

    ``definitions`` may be a one-shot iterator (the DWARF walk yields as it
    goes, so that a whole kernel is never held at once); ``build`` carries
    the input's arch and provenance and, once ``definitions`` is exhausted,
    the first definition of each name (enough for the slab model);
    ``source`` says which debug info was read ("btf", "dwarf" or "snapshot").
    """

    definitions: Iterable[StructType]
    build: Build
    source: str


def read_definitions(path: str, names: Optional[Iterable[str]] = None, source: str = "auto",
                     progress: Optional[ProgressCallback] = None) -> Definitions:
    """Every complete named struct/union definition of ``path`` (all of them, or those in ``names``)."""
    if source not in SOURCES:
        raise InputError(f"{path}: unknown debug info source '{source}' (one of {', '.join(SOURCES)})")
    wanted = None if names is None else set(names)
    kind = sniff(path)
    if kind == "snapshot":
        from .snapshot import read_snapshot
        build = read_snapshot(path)
        build.origin = path
        found = [s for s in [*build.structs.values(), *build.unions.values()]
                 if wanted is None or s.name in wanted]
        return Definitions(found, build, "snapshot")
    if kind == "btf":
        with open(path, "rb") as stream:
            return _btf_definitions(stream.read(), path, wanted, None)
    if source != "dwarf":
        section = _elf_btf_section(path)
        if section is not None:
            return _btf_definitions(section[0], path, wanted, section[1])
        if source == "btf":
            raise InputError(f"{path}: ELF file has no .BTF section (use the DWARF source)")
    return _dwarf_definitions(path, wanted, progress)


def btf_key(path: str, source: str = "auto") -> Optional[str]:
    """What :func:`read_definitions` of ``path`` depends on when it reads a linked ELF file's ``.BTF``, else None.

    None for a DWARF read (``source`` "dwarf", or no ``.BTF``), for anything
    but a regular, linked ELF file (an object file is read in moments), and
    when the headers cannot be read.
    """
    if source == "dwarf" or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as stream:
            head = stream.read(18)
    except OSError:
        return None
    if len(head) < 18 or head[:4] != b"\x7fELF":
        return None
    if int.from_bytes(head[16:18], "big" if head[5] == 2 else "little") not in _LINKED:
        return None
    from .elf import btf_digest
    digest = btf_digest(path)
    return None if digest is None else f"btf-{digest}"


_LINKED = (2, 3)  # e_type ET_EXEC, ET_DYN


def _elf_btf_section(path: str) -> Optional[tuple[bytes, Optional[str]]]:
    """The ``.BTF`` section of the ELF file at ``path`` and the ABI its header names (None: no .BTF)."""
    from .elf import read_elf_info
    info = read_elf_info(path)
    return None if info.btf is None else (info.btf, info.arch)


def _btf_definitions(data: bytes, path: str, wanted: Optional[set[str]], elf_arch: Optional[str]) -> Definitions:
    from ..abi import get_abi
    from . import btf
    types = btf.BtfTypes(data, path)
    pointer_size = btf.guess_pointer_size(types)
    arch, arch_source = btf.choose_arch(None, elf_arch, pointer_size, types.header.byte_order)
    abi = get_abi(arch)
    build = Build(name=os.path.basename(path), arch=arch, address_size=abi.pointer_size,
                  byte_order=types.header.byte_order, origin=path,
                  provenance=Provenance(file=os.path.basename(path), format="btf", btf_version=types.header.version,
                                        num_types=types.num_types - 1, arch_source=arch_source))
    converter = btf.BtfConverter(types, abi.pointer_size)
    found: list[StructType] = []
    for type_id, record in enumerate(types.records()):
        if record is None or record[1] not in btf.AGGREGATE_KINDS or not record[0]:
            continue
        if wanted is not None and types.string(record[0], type_id) not in wanted:
            continue
        converted = converter.convert(type_id)
        assert isinstance(converted, StructType)
        found.append(converted)
        table = build.unions if converted.is_union else build.structs
        table.setdefault(converted.name or "", converted)
    from ..typegraph import check_types
    check_types(found, path)
    return Definitions(found, build, "btf")


def _dwarf_definitions(path: str, wanted: Optional[set[str]], progress: Optional[ProgressCallback]) -> Definitions:
    from .dwarf import every_definition
    found, build = every_definition(path, wanted, progress)
    return Definitions(found, build, "dwarf")


def iter_names(definitions: Iterable[StructType]) -> Iterator[str]:
    """The distinct names of ``definitions``, in first-seen order."""
    seen: set[str] = set()
    for struct in definitions:
        if struct.name and struct.name not in seen:
            seen.add(struct.name)
            yield struct.name
