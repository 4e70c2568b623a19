"""A kernel ``.config``: reading it, the ``autoconf.h`` it implies, and how the tree creates the seed's caches.

Source mode needs a *full* configuration (every symbol resolved, as ``make
oldconfig`` writes it).  The defconfigs of old trees (``arch/ARCH/defconfig``
up to 2.6.23) are full; the short ``configs/*_defconfig`` of later trees are
not, and are refused with a hint rather than resolved wrongly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, Optional

from ...errors import InputError
from ...numbers import parse_integer_or_none
from ...kconfigfile import read_config_file
from ...safe_read import read_bytes
from .tree import ArchSpec, KernelTree



class KernelConfig(NamedTuple):
    """The symbols of a ``.config`` (``y``, ``m``, numbers and quoted strings as written) and where it came from."""

    path: str
    values: dict[str, str]
    text: str

    def enabled(self, symbol: str) -> bool:
        return self.values.get(symbol) in ("y", "m")

    def number(self, symbol: str) -> Optional[int]:
        value = self.values.get(symbol)
        if value is None:
            return None
        return parse_integer_or_none(value)


def read_config(path: str) -> KernelConfig:
    """Parse the ``.config`` at ``path`` (:mod:`layoutcalc.kconfigfile`); raises InputError for a bad one."""
    config = read_config_file(path)
    return KernelConfig(path, config.values, config.text)


def defconfig_path(tree: KernelTree, arch: ArchSpec) -> Path:
    """The tree's default config for ``arch`` (raises InputError when it has none or it is not a full config)."""
    if tree.old_layout:
        candidates = [tree.root / "arch" / arch.kbuild_arch / "defconfig"]
    else:
        configs = tree.root / "arch" / arch.srcarch / "configs"
        candidates = [configs / f"{arch.kbuild_arch}_defconfig", configs / "defconfig",
                      tree.root / "arch" / arch.srcarch / "defconfig"]
    for candidate in candidates:
        if candidate.is_file():
            from .kconfig_make import is_minimal, resolve_config  # the tree's own make NAME_defconfig
            if is_minimal(candidate):
                target = candidate.name if candidate.parent.name == "configs" else "defconfig"
                return resolve_config(tree, arch, candidate, target)
            return candidate
    raise InputError(f"{tree.root}: no defconfig for {arch.kbuild_arch} "
                     f"(looked for {', '.join(str(c.relative_to(tree.root)) for c in candidates)})")


def check_config(config: KernelConfig, arch: ArchSpec) -> None:
    """Refuse a config written for the other word size of x86 (a 64-bit config compiled -m32, or the reverse)."""
    wide = config.enabled("CONFIG_X86_64") or config.enabled("CONFIG_64BIT")
    if arch.kbuild_arch == "i386" and wide:
        raise InputError(f"{config.path}: a 64-bit config (CONFIG_X86_64/CONFIG_64BIT) cannot be compiled for i386")
    if arch.kbuild_arch == "x86_64" and config.enabled("CONFIG_X86_32") and not wide:
        raise InputError(f"{config.path}: a 32-bit config (CONFIG_X86_32) cannot be compiled for x86_64")


def autoconf_text(config: KernelConfig) -> str:
    """``autoconf.h`` as kconfig writes it: ``y`` -> 1, ``m`` -> ``_MODULE`` 1, values as they are."""
    lines = ["/* autoconf.h written by layoutcalc from " + Path(config.path).name + " */"]
    for symbol, value in config.values.items():
        if value == "y":
            lines.append(f"#define {symbol} 1")
        elif value == "m":
            lines.append(f"#define {symbol}_MODULE 1")
        elif value not in ("n", ""):
            lines.append(f"#define {symbol} {value}")
    return "\n".join(lines) + "\n"


def allocator(config: KernelConfig) -> Optional[str]:
    """The slab allocator the config selects: "slab", "slub" or "slob" (None when it names none)."""
    for symbol, name in (("CONFIG_SLUB", "slub"), ("CONFIG_SLAB", "slab"), ("CONFIG_SLOB", "slob")):
        if config.values.get(symbol) == "y":
            return name
    return None


class CacheCall(NamedTuple):
    """How the tree creates one cache: the call's align argument and SLAB_ flag names, as written."""

    cache: str
    file: str
    align: str
    flags: tuple[str, ...]


# The seed's caches: (cache name, file, how its creation call is recognised).
_CACHE_CALLS = (
    ("task_struct", "kernel/fork.c", re.compile(r'kmem_cache_create(?:_usercopy)?\s*\(\s*"task_struct"')),
    ("signal_cache", "kernel/fork.c", re.compile(r'kmem_cache_create(?:_usercopy)?\s*\(\s*"signal_cache"')),
    ("pid", "kernel/pid.c", re.compile(r'KMEM_CACHE\s*\(\s*pid\s*,|kmem_cache_create\s*\(\s*"pid"')),
)


def _call_arguments(text: str, start: int) -> list[str]:
    """Top-level comma-separated arguments of the call whose ``(`` follows ``start``."""
    open_at = text.index("(", start)
    depth = 0
    args: list[str] = []
    current: list[str] = []
    for char in text[open_at + 1:]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                args.append("".join(current).strip())
                return args
            depth -= 1
        if char == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    return args


def cache_calls(tree: KernelTree) -> list[CacheCall]:
    """The creation calls of ``task_struct``, ``signal_cache`` and ``pid`` found in the tree's sources."""
    calls = []
    for cache, relative, pattern in _CACHE_CALLS:
        if not (tree.root / relative).exists():
            continue
        text = read_bytes(str(tree.root / relative), "kernel source file").decode("utf-8", errors="replace")
        match = pattern.search(text)
        if not match:
            continue
        args = [" ".join(arg.split()) for arg in _call_arguments(text, match.start())]
        if match.group(0).startswith("KMEM_CACHE"):
            align, flag_text = "__alignof__(struct pid)", args[1] if len(args) > 1 else ""
        else:
            align = args[2] if len(args) > 2 else "0"
            flag_text = args[3] if len(args) > 3 else ""
        calls.append(CacheCall(cache, relative, align, tuple(re.findall(r"SLAB_\w+", flag_text))))
    return calls
