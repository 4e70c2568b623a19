"""The one place that decides a build's kernel era and slab allocator, from what the build contains.

Evidence, strongest first, never the file name:

* the config facts source mode records (``kernel_config`` in the provenance:
  ``CONFIG_SLAB``/``SLUB``/``SLOB``, ``L1_CACHE_BYTES``, ``PAGE_SIZE``,
  ``NR_CPUS``, the tree's cache creation calls) and the kernel release a
  snapshot or vmlinux records (source tree Makefile, Debian package version,
  the ``Linux version`` banner);
* the structs: a ``struct pid`` with ``pid_chain`` and no ``numbers`` is the
  2.6.22 design (the flat/hierarchical pid namespace work merged in 2.6.24
  moved ``nr``/``pid_chain`` into ``struct upid``); ``struct upid``,
  ``pid.numbers`` or x86 ``struct fpu`` mean 2.6.24 or later.

Without a recorded allocator the era's default is taken: SLAB up to 2.6.22,
SLUB after (SLUB became the default in 2.6.23).
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Mapping
from typing import NamedTuple, Optional

from ..abi import Abi
from ..errors import ScenarioError
from ..model import Build
from ..provenance import KernelConfigFacts, RecordedCache

ALLOCATORS = ("slab", "slub", "slob")
_RELEASE = re.compile(r"^(\d+)\.(\d+)")


class SlabEra(NamedTuple):
    """What the slab model needs to know about a build's kernel, and why it believes it."""

    generation: str  # "2.6.22" (struct pid with pid_chain) or "2.6.24+" (struct upid)
    allocator: str  # "slab", "slub" or "slob"
    slub_order_search: str  # "legacy" (up to 6.6) or "current" (6.7 on)
    cache_line: int  # cache_line_size(): L1_CACHE_BYTES of the config, else the ABI's
    page_size: int
    nr_cpus: Optional[int]  # CONFIG_NR_CPUS when recorded
    release: Optional[tuple[int, int]]
    evidence: str  # one line: what decided the allocator and cache line
    caches: Mapping[str, RecordedCache]  # the tree's creation calls (source mode), by cache name

    @property
    def is_2622(self) -> bool:
        return self.generation == "2.6.22"


def config_facts(build: Build) -> KernelConfigFacts:
    """The ``kernel_config`` facts recorded in the build's provenance (none recorded when it has none)."""
    return build.provenance.kernel_config or KernelConfigFacts()


def recorded_release(build: Build) -> Optional[tuple[int, int]]:
    """(major, minor) of the kernel, from what the input records: never from its file name.

    A vmlinux read from DWARF or BTF records no release; its ``Linux version`` banner
    (``linux_banner`` in .rodata) says it.
    """
    for recorded in (build.provenance.release, build.provenance.version):
        match = _RELEASE.match(recorded or "")
        if match:
            return int(match.group(1)), int(match.group(2))
    banner = kernel_banner(build.origin)
    match = _RELEASE.match(banner or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


_BANNERS: dict[str, Optional[str]] = {}


def kernel_banner(path: str) -> Optional[str]:
    """The release in an ELF kernel image's ``Linux version X.Y.Z-...`` banner, or None."""
    if not path or not os.path.isfile(path):
        return None
    if path not in _BANNERS:
        found = None
        try:
            with open(path, "rb") as stream:
                if stream.read(4) == b"\x7fELF":
                    with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
                        at = data.find(b"Linux version ")
                        if at >= 0:
                            found = data[at + 14:at + 80].split(b" ", 1)[0].decode("ascii", "replace")
        except (OSError, ValueError):
            found = None
        _BANNERS[path] = found
    return _BANNERS[path]


def struct_generation(build: Build) -> str:
    """ "2.6.22" for the struct pid of that release (pid_chain, no numbers), else "2.6.24+"."""
    if build.has_struct("pid"):
        pid = build.get_struct("pid")
        if pid.has_member("numbers"):
            return "2.6.24+"
        if pid.has_member("pid_chain"):
            return "2.6.22"
    return "2.6.24+"


def decide_era(build: Build, abi: Abi, allocator: Optional[str] = None) -> SlabEra:
    """The era and allocator of ``build``; ``allocator`` overrides what the build says (e.g. ``--allocator``)."""
    facts = config_facts(build)
    generation = struct_generation(build)
    recorded = facts.allocator
    if allocator is not None and allocator not in ALLOCATORS:
        raise ScenarioError(f"unknown allocator '{allocator}' ({', '.join(ALLOCATORS)})")
    if allocator is not None:
        chosen, why = allocator, "asked for"
    elif recorded in ALLOCATORS:
        chosen, why = str(recorded), f"CONFIG_{str(recorded).upper()}=y in the build's config"
    else:
        chosen = "slab" if generation == "2.6.22" else "slub"
        why = f"the default allocator of a {generation} kernel (struct pid shows the era)"
    line = facts.l1_cache_bytes
    cache_line = line if line is not None and line > 0 else abi.cacheline_size
    line_why = "L1_CACHE_BYTES of the config" if cache_line == line else "the ABI's usual cache line"
    runtime = facts.cache_line_size
    if cache_line == line and runtime is not None and "L1_CACHE_BYTES" not in runtime:
        line_why += f"; the tree's cache_line_size() is {runtime.strip('()')} at run time"
    page = facts.page_size
    page_size = page if page is not None and page > 0 else abi.page_size
    release = recorded_release(build)
    search = "legacy" if release is not None and release < (6, 7) else "current"
    return SlabEra(generation, chosen, search, cache_line, page_size, facts.nr_cpus,
                   release, f"{chosen.upper()}: {why}; {cache_line}-byte cache lines ({line_why})",
                   facts.caches or {})
