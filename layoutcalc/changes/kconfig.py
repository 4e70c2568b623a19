"""Kernel configurations as preprocessor symbols: a ``.config``, ``/proc/config.gz``, ``/boot/config-*``.

Every ``CONFIG_X=...`` line becomes what ``include/generated/autoconf.h``
defines for it (see :mod:`layoutcalc.changes.conditions`): ``y`` -> ``CONFIG_X`` = 1,
``m`` -> ``CONFIG_X_MODULE`` = 1, a number -> its value, a string -> 1.
``# CONFIG_X is not set`` and ``=n`` leave the symbol undefined (recorded as
False, so that a configuration overrides a scenario's defaults).
"""

from __future__ import annotations

import os
import re

from ..errors import LiveSystemError, ScenarioError
from ..numbers import parse_integer
from ..safe_read import read_maybe_gzip

LIVE_CONFIGS = ("/proc/config.gz", "/boot/config-{release}")


def read_config(path: str) -> dict[str, int]:
    """The symbols of the kernel configuration file ``path`` (plain or gzip-compressed)."""
    data = read_maybe_gzip(path, "kernel config", error=ScenarioError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a kernel config (byte 0x{data[exc.start]:02x} at offset "
                            f"{exc.start} is not text)") from None
    return parse_config(text, path)


def parse_config(text: str, path: str) -> dict[str, int]:
    """The symbols of configuration ``text``; ``path`` names it in errors."""
    symbols: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        unset = re.fullmatch(r"#\s*(CONFIG_\w+) is not set", line)
        if unset:
            symbols[unset.group(1)] = False
            continue
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"(CONFIG_\w+)=(.*)", line)
        if not match:
            raise ScenarioError(f"{path}:{number}: not a kernel config line: '{line[:60]}'")
        name, value = match.groups()
        if value == "y":
            symbols[name] = True
        elif value == "m":
            symbols[f"{name}_MODULE"] = True
        elif value == "n":
            symbols[name] = False
        elif re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)", value):
            symbols[name] = parse_integer(value, f"{path}:{number}")
        else:
            symbols[name] = True  # a string option: defined
    if not any(symbols.values()):
        raise ScenarioError(f"{path}: not a kernel config (no CONFIG_ symbol is set)")
    return symbols


def live_config() -> tuple[dict[str, int], str]:
    """The running kernel's configuration and where it was read from.

    Tries ``/proc/config.gz`` (CONFIG_IKCONFIG_PROC), then ``/boot/config-$(uname -r)``;
    raises :class:`LiveSystemError` naming both when neither can be read.
    """
    release = os.uname().release
    reasons = []
    for candidate in (path.format(release=release) for path in LIVE_CONFIGS):
        if not os.access(candidate, os.R_OK):
            reasons.append(f"{candidate}: not readable")
            continue
        try:
            return read_config(candidate), candidate
        except ScenarioError as exc:
            reasons.append(str(exc))
    raise LiveSystemError(f"the running kernel's config cannot be read ({'; '.join(reasons)})")
