"""Safe writes: the one way layoutcalc puts a file on disk.

Every file the tool writes (snapshots, baselines, plots, caches, reports
written to a path) goes through :func:`write_text`, :func:`write_bytes` or
:func:`write_with`.  They guarantee:

- **atomic replacement**: the data goes to a temporary file in the target's
  own directory, is flushed and ``fsync``-ed, checked, and only then renamed
  over the target (``os.replace``); an error, ^C or SIGTERM at any point
  leaves the previous file intact and no temporary file behind;
- **only regular files are replaced**: a FIFO, a device (``/dev/null``, even
  as root), a socket or a directory at the target is refused, never swapped
  for a regular file; a symlink to a regular file is followed and its target
  replaced;
- **validation on read-back**: the optional ``validate`` callback gets the
  bytes read back from the temporary file and raises (any
  :class:`~layoutcalc.errors.LayoutcalcError`) if they are not what the
  reader of that format accepts; the target is then left untouched;
- **clean errors**: ``-o ""``, ``-o DIR``, a missing directory, no permission
  and a full disk are all :class:`~layoutcalc.errors.OutputError` with one
  line ``FILE: what is wrong``.

Usage::

    from layoutcalc.safe_write import write_text
    write_text(path, text, validate=lambda data: parse(data, path))

    # for libraries that write to a stream (matplotlib, pandas):
    write_with(path, lambda stream: figure.savefig(stream, format="png"))
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO, Optional

from .errors import OutputError

Validator = Callable[[bytes], object]

TEMP_PREFIX = ".layoutcalc-tmp-"


def write_text(path: str, text: str, validate: Optional[Validator] = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see the module docstring."""
    write_bytes(path, text.encode("utf-8"), validate)


def write_bytes(path: str, data: bytes, validate: Optional[Validator] = None) -> None:
    """Write ``data`` to ``path`` atomically; see the module docstring."""
    write_with(path, lambda stream: stream.write(data), validate)


def write_with(path: str, writer: Callable[[BinaryIO], object], validate: Optional[Validator] = None) -> None:
    """Let ``writer`` fill a binary stream that atomically becomes ``path``; see the module docstring."""
    target = check_target(path)
    directory = os.path.dirname(target) or "."
    try:
        handle, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            writer(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, _file_mode(target))
        if validate is not None:
            with open(temp, "rb") as stream:
                validate(stream.read())
        os.replace(temp, target)
    except OSError as exc:
        _remove(temp)
        raise _os_error(path, exc) from None
    except BaseException:
        _remove(temp)
        raise
    _sync_directory(directory)


def check_target(path: str) -> str:
    """The file that writing ``path`` would replace, or OutputError if it must not be written.

    Useful to fail before a long computation whose result would go nowhere.
    """
    if not path:
        raise OutputError("'': empty output file name")
    if path.endswith(os.sep):
        raise OutputError(f"{path}: is a directory, not a file name")
    target = os.path.realpath(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _os_error(path, exc) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{path}: is a directory, not a file name")
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path}: is a {_kind(info.st_mode)}, not a regular file; refusing to replace it")
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: directory {os.path.dirname(path) or '.'} does not exist")
    return target


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _file_mode(target: str) -> int:
    """Keep an existing file's permissions; a new file gets 0666 less the umask, as open() would."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _os_error(path: str, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOSPC:
        return OutputError(f"{path}: cannot write: no space left on device (the previous file, if any, is intact)")
    if exc.errno == errno.EDQUOT:
        return OutputError(f"{path}: cannot write: disk quota exceeded (the previous file, if any, is intact)")
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


def _remove(temp: str) -> None:
    try:
        os.unlink(temp)
    except OSError:
        pass


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; some file systems cannot fsync a directory, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
