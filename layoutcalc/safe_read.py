"""Safe reads: what every input file must be before layoutcalc opens it.

An input is a regular file.  A FIFO would block ``open`` forever, ``/dev/zero``
would be read without bound, and a directory or socket has nothing to read;
all are refused with one line naming the path.  ``-`` means standard input and
is read explicitly, with the same size cap as a file.
"""

from __future__ import annotations

import os
import stat
import sys
import zlib
from typing import BinaryIO

from .errors import InputError, LayoutcalcError

STDIN = "-"
# Caps on text inputs: far above any real scenario, patch or snapshot, far below memory trouble.
MAX_TEXT_BYTES = 64 << 20


def check_regular_file(path: str, error: type[LayoutcalcError] = InputError, what: str = "") -> int:
    """The size of the regular file at ``path``; ``error`` naming the path if it is anything else.

    ``what`` (``"patch"``) makes a missing file "cannot read patch" instead of "cannot open".
    """
    if not path:
        raise error("'': empty file name")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(f"{path}: cannot {'read ' + what if what else 'open'} ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a directory, not an input file")
    if not stat.S_ISREG(info.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a character device" if stat.S_ISCHR(info.st_mode)
                else "a block device" if stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "not a regular file")
        raise error(f"{path}: is {kind}, not a regular file (use '-' to read standard input)")
    return info.st_size


def read_bytes(path: str, what: str, max_bytes: int = MAX_TEXT_BYTES,
               error: type[LayoutcalcError] = InputError) -> bytes:
    """The bytes of the regular file ``path`` (or of standard input for ``-``), at most ``max_bytes``."""
    if path == STDIN:
        data = sys.stdin.buffer.read(max_bytes + 1)
    else:
        size = check_regular_file(path, error, what)
        if size > max_bytes:
            raise error(f"{path}: {size} bytes is too large for a {what} (limit {max_bytes} bytes)")
        try:
            with open(path, "rb") as stream:
                data = stream.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: too large for a {what} (limit {max_bytes} bytes)")
    return data


def read_text(path: str, what: str, max_bytes: int = MAX_TEXT_BYTES,
              error: type[LayoutcalcError] = InputError) -> str:
    """:func:`read_bytes` decoded as UTF-8; a decoding error names the offset."""
    data = read_bytes(path, what, max_bytes, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


# A kernel .config is about 300 KB; 16 MiB is far above any real one, compressed or not.
MAX_CONFIG_BYTES = 16 << 20
# The largest header or source file of a 6.12 tree is under 2 MiB (generated register tables).
MAX_SOURCE_FILE_BYTES = 16 << 20


def gunzip_capped(data: bytes, path: str, max_bytes: int, error: type[LayoutcalcError] = InputError) -> bytes:
    """The gzip stream ``data`` (all members) decompressed, refused as soon as it passes ``max_bytes``.

    The cap is checked while streaming: a 3 MiB file that expands to 3 GiB stops
    at ``max_bytes`` + 1 bytes, it never reaches memory whole.
    """
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        try:
            while pending and not inflater.eof:
                out += inflater.decompress(pending, max_bytes + 1 - len(out))
                pending = inflater.unconsumed_tail
                if len(out) > max_bytes:
                    raise error(f"{path}: expands to more than {max_bytes} bytes (a gzip bomb?)")
        except zlib.error as exc:
            raise error(f"{path}: damaged gzip data ({exc})") from None
        if not inflater.eof:
            raise error(f"{path}: damaged gzip data (the compressed stream ends early)")
        rest = inflater.unused_data
    return bytes(out)


def read_maybe_gzip(path: str, what: str, max_bytes: int = MAX_CONFIG_BYTES,
                    error: type[LayoutcalcError] = InputError) -> bytes:
    """:func:`read_bytes` of a file that may be gzip-compressed (``/proc/config.gz``), both sizes capped."""
    data = read_bytes(path, what, max_bytes, error)
    if data[:2] == b"\x1f\x8b":
        data = gunzip_capped(data, path, max_bytes, error)
    return data


# Standard input spooled for the ELF reader: above the largest Debian vmlinux with DWARF (0.6 GB) with
# room for an allyesconfig one; a pipe from /dev/zero stops here instead of filling $TMPDIR.
MAX_STDIN_BYTES = 2 << 30


def spool_capped(source: BinaryIO, target: BinaryIO, name: str, max_bytes: int,
                 error: type[LayoutcalcError] = InputError) -> None:
    """Copy ``source`` to ``target`` in chunks, refusing once more than ``max_bytes`` have come."""
    copied = 0
    while True:
        chunk = source.read(1 << 20)
        if not chunk:
            return
        copied += len(chunk)
        if copied > max_bytes:
            raise error(f"{name}: more than {max_bytes} bytes on standard input; give the file's path instead")
        target.write(chunk)
