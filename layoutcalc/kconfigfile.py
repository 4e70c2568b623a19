"""Kernel ``.config`` files: the one reader of a configuration (plain, gzip, ``/proc/config.gz``).

Two layers use a configuration: patches decide ``#if`` blocks with its symbols
(:mod:`layoutcalc.changes.kconfig`) and source mode compiles with it
(:mod:`layoutcalc.readers.kernel_source.config`).  Both read it here, so a file one
accepts the other accepts too, with the same limits (size caps, gzip bombs, special
files: :func:`layoutcalc.safe_read.read_maybe_gzip`) and the same messages.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .errors import InputError, LayoutcalcError
from .safe_read import read_maybe_gzip

_SET = re.compile(r"(CONFIG_\w+)=(.*)")
_UNSET = re.compile(r"#\s*(CONFIG_\w+) is not set")


class ConfigFile(NamedTuple):
    """The lines of a ``.config``: symbols set (values as written: ``y``, ``m``, ``n``, numbers,
    quoted strings), symbols explicitly not set, and the text itself."""

    path: str
    values: dict[str, str]
    unset: tuple[str, ...]
    text: str
    lines: dict[str, int]  # symbol -> the line that sets it, for messages


def read_config_file(path: str, error: type[LayoutcalcError] = InputError) -> ConfigFile:
    """Read and parse the configuration at ``path`` (plain or gzip-compressed); ``error`` is raised on a bad one."""
    data = read_maybe_gzip(path, "kernel config", error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a kernel config (byte 0x{data[exc.start]:02x} at offset "
                    f"{exc.start} is not text)") from None
    return parse_config_text(text, path, error)


def parse_config_text(text: str, path: str, error: type[LayoutcalcError] = InputError) -> ConfigFile:
    """Parse configuration ``text``; ``path`` names it in errors."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    unset: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        not_set = _UNSET.fullmatch(line)
        if not_set:
            unset.append(not_set.group(1))
            continue
        if not line or line.startswith("#"):
            continue
        match = _SET.fullmatch(line)
        if not match:
            raise error(f"{path}:{number}: not a kernel config line: '{line[:60]}'")
        values[match.group(1)] = match.group(2)
        lines[match.group(1)] = number
    if not any(value != "n" for value in values.values()):
        raise error(f"{path}: not a kernel config (no CONFIG_ symbol is set)")
    return ConfigFile(path, values, tuple(unset), text, lines)
