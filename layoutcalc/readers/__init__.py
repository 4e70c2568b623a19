"""Readers: every input kind into one :class:`~layoutcalc.model.Build`.

:func:`read_input` picks the reader from the file's content, never from its
name: ELF with DWARF, ELF with only a ``.BTF`` section, a raw BTF blob (such
as ``/sys/kernel/btf/vmlinux``) or a layoutcalc snapshot (JSON).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from typing import NamedTuple, Optional

from ..errors import InputError, LayoutcalcError
from ..model import Build
from ..safe_read import MAX_STDIN_BYTES, STDIN, check_regular_file, spool_capped

ELF_MAGIC = b"\x7fELF"
BTF_MAGICS = (b"\x9f\xeb", b"\xeb\x9f")


def sniff(path: str) -> str:
    """The kind of input at ``path``: "elf", "btf" or "snapshot".  Only regular files are inputs."""
    check_regular_file(path)
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an input file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror})") from None
    if not head:
        raise InputError(f"{path}: file is empty")
    if head.startswith(ELF_MAGIC):
        return "elf"
    if head[:2] in BTF_MAGICS:
        return "btf"
    if head.lstrip()[:1] == b"{":
        return "snapshot"
    raise InputError(f"{path}: not an ELF file, a BTF blob or a layoutcalc snapshot")


def read_input(path: str, struct_names: Optional[Iterable[str]] = None,
               type_names: Optional[Iterable[str]] = None, arch: Optional[str] = None,
               progress: Optional[Callable[[int, int], None]] = None, *, any_kind: bool = False,
               every_definition: bool = False, btf_base: Optional[str] = None) -> Build:
    """Read ``path`` (any supported kind) as recorded: no inference, no retargeting.

    ``struct_names``/``type_names`` limit the work to what is named (None: all
    structs).  ``arch`` matters only for a raw BTF blob, which names no
    machine (default: this machine's).  :func:`layoutcalc.api.load` adds what
    the debug info leaves out.  ``-`` reads standard input.  ``any_kind`` and
    ``every_definition`` are passed to the DWARF reader
    (:func:`~layoutcalc.readers.dwarf.read_dwarf`).  ``btf_base`` is the base of
    split BTF (a module's); by default the running kernel's.
    """
    if path == STDIN:
        return _read_stdin(struct_names, type_names, arch, progress, any_kind, every_definition)
    kind = sniff(path)
    structs = list(struct_names) if struct_names is not None else None
    if kind == "elf":
        build = _read_elf(path, structs, type_names, arch, progress, any_kind, every_definition, btf_base)
    elif kind == "btf":
        from .btf import read_btf
        with open(path, "rb") as stream:
            data = stream.read()
        build = read_btf(data, path, structs, arch, type_names, base=btf_base, every_definition=every_definition)
    else:
        from .snapshot import read_snapshot
        build = read_snapshot(path)
    build.origin = path
    return build


def _read_elf(path: str, structs: Optional[list[str]], type_names: Optional[Iterable[str]],
              arch: Optional[str], progress: Optional[Callable[[int, int], None]],
              any_kind: bool = False, every_definition: bool = False, btf_base: Optional[str] = None) -> Build:
    from .elf import read_elf_info
    info = read_elf_info(path)
    if info.has_dwarf:
        from .dwarf import read_dwarf
        return read_dwarf(path, structs, type_names, progress, any_kind, every_definition)
    if info.btf is not None:
        from .btf import read_btf
        return read_btf(info.btf, path, structs, arch, type_names, elf_arch=info.arch, base=btf_base,
                        every_definition=every_definition)
    if info.split_dwarf:
        raise InputError(f"{path}: a split DWARF object (.dwo, from -gsplit-dwarf): not supported; rebuild "
                         "without -gsplit-dwarf, or read a file whose DWARF is linked in")
    raise InputError(f"{path}: ELF file has no debug info (neither .debug_info nor .BTF); "
                     "build with -g or use the -dbg package")


def _read_stdin(struct_names: Optional[Iterable[str]], type_names: Optional[Iterable[str]],
                arch: Optional[str], progress: Optional[Callable[[int, int], None]],
                any_kind: bool = False, every_definition: bool = False) -> Build:
    """Standard input, spooled to a temporary file (the ELF reader seeks), named ``-`` in messages."""
    with tempfile.TemporaryDirectory(prefix="layoutcalc-stdin-") as directory:
        spool = os.path.join(directory, "stdin")
        with open(spool, "wb") as stream:
            spool_capped(sys.stdin.buffer, stream, STDIN, MAX_STDIN_BYTES)
        try:
            build = read_input(spool, struct_names, type_names, arch, progress, any_kind=any_kind,
                               every_definition=every_definition)
        except LayoutcalcError as exc:
            raise exc.__class__(str(exc).replace(spool, STDIN)) from None
    build.origin = STDIN
    return build


class BuildHeader(NamedTuple):
    """What an input says about itself without reading its types: name, ABI, word size, byte order."""

    name: str
    arch: str
    address_size: int
    byte_order: str  # "little" or "big"
    kind: str  # elf, btf or snapshot


def read_header(path: str, arch: Optional[str] = None) -> BuildHeader:
    """The :class:`BuildHeader` of ``path`` from its ELF header, BTF header or snapshot metadata.

    Milliseconds on a whole vmlinux, where a read of its types takes seconds;
    the values equal those of :func:`read_input`'s Build.  ``arch`` is what a
    raw BTF blob is read as (as for :func:`read_input`).
    """
    kind = sniff(path)
    if kind == "elf":
        return _elf_header(path, arch)
    if kind == "btf":
        from ..abi import get_abi
        from .btf import BtfTypes, choose_arch, guess_pointer_size
        with open(path, "rb") as stream:
            btf = BtfTypes(stream.read(), path)
        name, _source = choose_arch(arch, None, guess_pointer_size(btf), btf.header.byte_order)
        return BuildHeader(path, name, get_abi(name).pointer_size, btf.header.byte_order, kind)
    from .snapshot import read_snapshot
    build = read_snapshot(path)
    return BuildHeader(build.name, build.arch, build.address_size, build.byte_order, kind)


def _elf_header(path: str, arch: Optional[str]) -> BuildHeader:
    from ..abi import get_abi
    from .btf import BtfHeader, choose_arch
    from .elf import read_elf_info
    info = read_elf_info(path)
    if info.has_dwarf:
        from .dwarf import DwarfFile
        with DwarfFile(path) as dwarf_file:
            return BuildHeader(os.path.basename(path), dwarf_file.arch(), dwarf_file.address_size,
                               "little" if dwarf_file.little_endian else "big", "elf")
    if info.btf is None:
        raise InputError(f"{path}: ELF file has no debug info (neither .debug_info nor .BTF); "
                         "build with -g or use the -dbg package")
    if arch is None and info.arch is None:  # the BTF reader guesses from the types: read them
        build = read_input(path, struct_names=[], arch=arch)
        return BuildHeader(build.name, build.arch, build.address_size, build.byte_order, "elf")
    name, _source = choose_arch(arch, info.arch, None, BtfHeader(info.btf, path).byte_order)
    return BuildHeader(path, name, get_abi(name).pointer_size, BtfHeader(info.btf, path).byte_order, "elf")
