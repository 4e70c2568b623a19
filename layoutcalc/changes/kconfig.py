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
from ..kconfigfile import ConfigFile, parse_config_text, read_config_file

LIVE_CONFIGS = ("/proc/config.gz", "/boot/config-{release}")


def read_config(path: str) -> dict[str, int]:
    """The symbols of the kernel configuration file ``path`` (plain or gzip-compressed)."""
    return config_symbols(read_config_file(path, ScenarioError))


def parse_config(text: str, path: str) -> dict[str, int]:
    """The symbols of configuration ``text``; ``path`` names it in errors."""
    return config_symbols(parse_config_text(text, path, ScenarioError))


def config_symbols(config: ConfigFile) -> dict[str, int]:
    """What ``autoconf.h`` defines for ``config``: y -> 1, m -> CONFIG_X_MODULE, numbers, strings -> 1."""
    symbols: dict[str, int] = {name: False for name in config.unset}
    for name, value in config.values.items():
        if value == "y":
            symbols[name] = True
        elif value == "m":
            symbols[f"{name}_MODULE"] = True
        elif value == "n":
            symbols[name] = False
        elif re.fullmatch(r"-?(0[xX][0-9a-fA-F]+|\d+)", value):
            symbols[name] = parse_integer(value, f"{config.path}:{config.lines[name]}")
        else:
            symbols[name] = True  # a string option: defined
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
