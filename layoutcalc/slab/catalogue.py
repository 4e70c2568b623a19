"""The catalogue of slab caches: which cache holds which struct, as the kernel tree creates them.

:func:`scan_tree` reads a kernel source tree and finds every cache creation
call: ``KMEM_CACHE(struct, flags)``, ``KMEM_CACHE_USERCOPY(struct, flags,
field)``, ``kmem_cache_create("name", size, align|&args, flags[, ctor])``,
``kmem_cache_create_usercopy(...)`` and ``__kmem_cache_create_args``.  For
each it records the cache name, the struct its size is ``sizeof`` of (when it
is), the size expression otherwise, the align and ``SLAB_*`` flags as
written, whether a constructor or a usercopy region is given, and the file
and line.  It also records the kmalloc size classes the tree's allocator has.

Shipped tables (``tables/linux-<series>.json``, made by ``python -m
layoutcalc.slab.catalogue TREE SERIES``) cover 2.6.22, 6.1 and 6.12;
:func:`catalogue_for_build` picks the tree's own (source mode) or the shipped
series nearest below the build's release.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Optional

from ..errors import NotFoundError
from ..safe_read import MAX_SOURCE_FILE_BYTES, check_regular_file

CATALOGUE_FORMAT = 1
SERIES = ("2.6.22", "6.1", "6.12")

_CALL = re.compile(r"\b(KMEM_CACHE_USERCOPY|KMEM_CACHE|kmem_cache_create_usercopy|kmem_cache_create|"
                   r"__kmem_cache_create_args|__kmem_cache_create)\s*\(")
_SIZEOF = re.compile(r"^sizeof\s*\(\s*(?:(struct|union)\s+)?([A-Za-z_]\w*)\s*\)$")
_FLAG = re.compile(r"\bSLAB_[A-Z0-9_]+\b")
_STRING = re.compile(r'^"([^"]*)"$')
# Other allocations of a struct by its sizeof: kmalloc family (size class), kvmalloc/vmalloc (pages), per-CPU.
_ALLOC = re.compile(r"\b(kmalloc|kzalloc|kcalloc|kmalloc_array|kzalloc_node|kmalloc_node|kcalloc_node|"
                    r"kvmalloc|kvzalloc|kvcalloc|vmalloc|vzalloc)\s*\(\s*(?:[^,()]+,\s*)?"
                    r"sizeof\s*\(\s*struct\s+(\w+)\s*\)\s*[,)]")
_PERCPU = re.compile(r"\bDEFINE_PER_CPU(?:_SHARED_ALIGNED|_ALIGNED|_PAGE_ALIGNED|_READ_MOSTLY)?\s*\(\s*"
                     r"struct\s+(\w+)\s*,")  # by value: "struct X *" is a per-CPU pointer
_KIND = {"kvmalloc": "kvmalloc", "kvzalloc": "kvmalloc", "kvcalloc": "kvmalloc", "vmalloc": "vmalloc",
         "vzalloc": "vmalloc"}
# Directories whose caches the x86 catalogue leaves out: other architectures' code.
_SKIP_TOP = ("Documentation", "tools", "samples", "scripts", "usr", ".git")
# KUnit and self tests create caches and allocate structs no running kernel does.
_TEST_DIRS = ("tests", "kunit", "selftests")
_TEST_FILE = re.compile(r"[-_](test|tests|kunit)\.c$|^test_")


@dataclass(frozen=True)
class CacheEntry:
    """One cache creation call as written in the tree.

    ``struct`` is set when the size is ``sizeof(struct X)`` (or of a
    typedef, ``struct`` then names the typedef and ``typedef`` is True);
    ``size`` is the size expression as written.  ``align`` and ``flags`` are
    as written (flags: the ``SLAB_*`` names in the flags argument; ``None``
    when the argument names no flag but is a variable).
    """

    name: str
    struct: Optional[str]
    size: str
    align: str
    flags: Optional[tuple[str, ...]]
    ctor: bool
    usercopy: bool
    file: str
    line: int
    freeptr_offset: bool = False
    typedef: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "struct": self.struct, "size": self.size, "align": self.align,
                               "flags": list(self.flags) if self.flags is not None else None,
                               "ctor": self.ctor, "usercopy": self.usercopy, "file": self.file, "line": self.line}
        if self.freeptr_offset:
            out["freeptr_offset"] = True
        if self.typedef:
            out["typedef"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CacheEntry":
        flags = data.get("flags")
        return cls(str(data["name"]), data.get("struct"), str(data.get("size", "")), str(data.get("align", "")),
                   tuple(flags) if isinstance(flags, list) else None, bool(data.get("ctor")),
                   bool(data.get("usercopy")), str(data.get("file", "")), int(data.get("line", 0)),
                   bool(data.get("freeptr_offset")), bool(data.get("typedef")))


@dataclass(frozen=True)
class Kmalloc:
    """The kmalloc caches of a tree: size classes and families (``kmalloc-``, ``kmalloc-cg-``, ...)."""

    sizes: tuple[int, ...]
    families: tuple[str, ...]
    min_size: int
    max_cache_size: int
    note: str = ""

    def size_class(self, size: int) -> Optional[int]:
        """The smallest class holding ``size`` bytes, None above ``max_cache_size`` (page allocator)."""
        if size > self.max_cache_size:
            return None
        for candidate in self.sizes:
            if candidate >= size and candidate >= self.min_size:
                return candidate
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"sizes": list(self.sizes), "families": list(self.families), "min_size": self.min_size,
                "max_cache_size": self.max_cache_size, "note": self.note}


@dataclass(frozen=True)
class Catalogue:
    """Every cache creation call of one kernel tree, by cache name, with provenance."""

    series: str
    provenance: Mapping[str, Any]
    entries: tuple[CacheEntry, ...]
    kmalloc: Optional[Kmalloc]
    by_name: dict[str, list[CacheEntry]] = field(default_factory=dict, compare=False)
    # struct -> {kind: [number of sites, first "file:line"]}: kmalloc, kvmalloc, vmalloc or percpu
    allocations: Mapping[str, Mapping[str, list[Any]]] = field(default_factory=dict)

    def allocation_of(self, struct: str) -> Optional[tuple[str, str]]:
        """(kind, where) when every site the tree allocates ``struct`` at is of one kind, else None."""
        sites = self.allocations.get(struct)
        if not sites or len(sites) != 1:
            return None
        kind, (count, first) = next(iter(sites.items()))
        return kind, f"{first}" + (f" and {count - 1} more sites" if count > 1 else "")

    def __post_init__(self) -> None:
        for entry in self.entries:
            self.by_name.setdefault(entry.name, []).append(entry)

    def lookup(self, name: str) -> Optional[CacheEntry]:
        """The one call that creates ``name``; None when unknown or when calls disagree on the struct."""
        entries = self.by_name.get(name, [])
        structs = {(entry.struct, entry.size) for entry in entries}
        return entries[0] if len(structs) == 1 else None

    def lookup_name(self, name: str) -> tuple[Optional[CacheEntry], int]:
        """:meth:`lookup`, or the printed-name entry ``name`` fits (``pid_2`` -> ``pid_%u``) and its number."""
        entry = self.lookup(name)
        if entry is not None or name in self.by_name:
            return entry, 0
        for pattern in self.by_name:
            if pattern.count("%") == 1 and "%u" in pattern:
                match = re.fullmatch(re.escape(pattern).replace("%u", r"(\d+)"), name)
                if match:
                    return self.lookup(pattern), int(match.group(1))
        return None, 0

    def caches_of(self, struct: str) -> list[CacheEntry]:
        """Caches whose object is ``sizeof(struct)``."""
        return [entry for entry in self.entries if entry.struct == struct and self.lookup(entry.name) is entry]

    def as_dict(self) -> dict[str, Any]:
        return {"format": CATALOGUE_FORMAT, "series": self.series, "provenance": dict(self.provenance),
                "kmalloc": self.kmalloc.as_dict() if self.kmalloc else None,
                "allocations": {name: dict(kinds) for name, kinds in sorted(self.allocations.items())},
                "caches": [entry.as_dict() for entry in self.entries]}


# --------------------------------------------------------------------------- parsing C


def _strip_comments(text: str) -> str:
    """Comments blanked out (newlines kept, so line numbers stay right)."""
    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)


def _arguments(text: str, start: int) -> Optional[list[str]]:
    """Top-level comma-separated arguments of the call whose '(' is at ``start``."""
    depth, args, current = 0, [], []
    i = start
    in_string = False
    while i < len(text):
        char = text[i]
        if in_string:
            current.append(char)
            if char == "\\":
                current.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            current.append(char)
        elif char in "([{":
            depth += 1
            if depth > 1:
                current.append(char)
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(current))
                return [" ".join(arg.split()) for arg in args]
            current.append(char)
        elif char == "," and depth == 1:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
        if i - start > 4000:
            return None
    return None


def _flags(text: str) -> Optional[tuple[str, ...]]:
    names = tuple(dict.fromkeys(_FLAG.findall(text)))
    if names or text.strip() in ("0", "0UL", "0U"):
        return names
    return None


def _args_block(align: str, before: str) -> str:
    """The initializer of ``struct kmem_cache_args NAME = {...}`` when ``align`` is ``&NAME`` (6.12)."""
    ident = re.fullmatch(r"&\s*([A-Za-z_]\w*)", align)
    if ident is None:
        return align
    blocks = re.findall(r"\b" + ident.group(1) + r"\s*=\s*\{([^}]*)\}", before)
    return "&{" + blocks[-1] + "}" if blocks else align


def _printed_name(arg: str, before: str) -> Optional[re.Match[str]]:
    """A name built by ``snprintf(name, size, "pid_%u", ...)`` just before: the format ("pid_%u")."""
    if not re.fullmatch(r"[A-Za-z_]\w*", arg):
        return None
    found = re.findall(r"snprintf\s*\(\s*" + arg + r"\s*,[^,]*,\s*(\"[^\"]*\")", before)
    return _STRING.match(found[-1]) if found else None


def _assigned(arg: str, before: str) -> str:
    """The expression last assigned to a local variable used as the size (``len = struct_size(...)``)."""
    if not re.fullmatch(r"[A-Za-z_]\w*", arg):
        return arg
    found = re.findall(r"\b" + arg + r"\s*=\s*([^;=][^;]*);", before[-600:])
    return " ".join(found[-1].split()) if found else arg


def _entry(kind: str, args: list[str], file: str, line: int, before: str = "") -> Optional[CacheEntry]:
    if kind in ("KMEM_CACHE", "KMEM_CACHE_USERCOPY"):
        if len(args) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", args[0]):
            return None
        return CacheEntry(args[0], args[0], f"sizeof(struct {args[0]})", f"__alignof__(struct {args[0]})",
                          _flags(args[1]), False, kind == "KMEM_CACHE_USERCOPY", file, line)
    if len(args) < 4:
        return None
    name = _STRING.match(args[0]) or _printed_name(args[0], before)
    if name is None:
        return None
    size = _assigned(args[1], before)
    struct, typedef = None, False
    match = _SIZEOF.match(size)
    if match:
        struct, typedef = match.group(2), match.group(1) is None
    align, flags_arg = _assigned(args[2], before), args[3]
    ctor, usercopy, freeptr = False, False, False
    if align.startswith("&"):  # 6.12's kmem_cache_args
        align = _args_block(align, before)
        usercopy = "usersize" in align
        ctor = bool(re.search(r"\.ctor\s*=\s*(?!NULL)\w", align))
        freeptr = "freeptr_offset" in align or "use_freeptr_offset" in align
        found = re.search(r"\.align\s*=\s*([^,}]+)", align)
        align = found.group(1).strip() if found else "0"
    elif kind == "kmem_cache_create_usercopy" or kind == "__kmem_cache_create" and len(args) >= 7:
        usercopy = len(args) >= 7 and args[5].strip() not in ("0",)
        ctor = len(args) >= 7 and args[6].strip() not in ("NULL", "0")
    elif kind == "kmem_cache_create":
        ctor = len(args) >= 5 and args[4].strip() not in ("NULL", "0")
        if len(args) >= 6:  # 2.6.22: (name, size, align, flags, ctor, dtor)
            ctor = ctor or args[5].strip() not in ("NULL", "0")
    return CacheEntry(name.group(1), struct, size, align, _flags(flags_arg), ctor, usercopy, file, line,
                      freeptr, typedef)


def scan_source(text: str, file: str) -> Iterator[CacheEntry]:
    """Cache creation calls in one C file."""
    if "KMEM_CACHE" not in text and "kmem_cache_create" not in text:
        return
    clean = _strip_comments(text)
    for match in _CALL.finditer(clean):
        before = clean[max(0, match.start() - 80):match.start()]
        if re.search(r"#\s*define\s+\w*\s*(\([^)]*\))?\s*$", before):
            continue  # a macro's definition, not a call
        args = _arguments(clean, match.end() - 1)
        if args is None:
            continue
        entry = _entry(match.group(1), args, file, clean.count("\n", 0, match.start()) + 1,
                       clean[max(0, match.start() - 3000):match.start()])
        if entry is not None:
            yield entry


def scan_allocations(text: str, file: str, into: dict[str, dict[str, list[Any]]]) -> None:
    """Count ``kmalloc(sizeof(struct X))``-style and ``DEFINE_PER_CPU(struct X, ...)`` sites of one C file."""
    if "sizeof" not in text and "DEFINE_PER_CPU" not in text:
        return
    clean = _strip_comments(text)
    found = [(m.start(), _KIND.get(m.group(1), "kmalloc"), m.group(2)) for m in _ALLOC.finditer(clean)]
    found += [(m.start(), "percpu", m.group(1)) for m in _PERCPU.finditer(clean)]
    for start, kind, struct in sorted(found):
        site = into.setdefault(struct, {}).setdefault(kind, [0, f"{file}:{clean.count(chr(10), 0, start) + 1}"])
        site[0] += 1


def _walk(tree: str, arch: str) -> Iterator[str]:
    for root, dirs, files in os.walk(tree):
        rel = os.path.relpath(root, tree)
        parts = rel.split(os.sep)
        if parts[0] in _SKIP_TOP or (parts[0] == "arch" and len(parts) > 1 and parts[1] != arch):
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if d not in _TEST_DIRS)
        for name in sorted(files):
            if name.endswith(".c") and not _TEST_FILE.search(name):
                yield os.path.join(root, name)


def kmalloc_of_tree(tree: str) -> Optional[Kmalloc]:
    """The kmalloc size classes and families of the tree (x86 figures: KMALLOC_MIN_SIZE 8, 4 KiB pages)."""
    sizes_h = os.path.join(tree, "include", "linux", "kmalloc_sizes.h")
    if os.path.isfile(sizes_h):  # 2.6.22 SLAB: CACHE(N) lines; 96/192 exist below 64/128-byte cache lines
        with open(sizes_h, encoding="utf-8", errors="replace") as stream:
            text = stream.read()
        # CACHE(N) under "#if L1_CACHE_BYTES < ..." exists only with short cache lines: left out (x86's
        # generic 2.6.22 config has 128-byte lines); PAGE_SIZE == 4096 holds on x86
        sizes = [int(n) for condition, n in re.findall(r"(?:#if ([^\n]*)\n\s*)?CACHE\((\d+)\)", text)
                 if not condition or "PAGE_SIZE" in condition]
        return Kmalloc(tuple(n for n in sizes if n <= 131072), ("size-", "size-(DMA)"), 32, 131072,
                       "include/linux/kmalloc_sizes.h: size-32 ... size-131072; size-96 needs L1_CACHE_BYTES < 64, "
                       "size-192 L1_CACHE_BYTES < 128 (x86 generic config: 128-byte lines, neither exists)")
    common = os.path.join(tree, "mm", "slab_common.c")
    if not os.path.isfile(common):
        return None
    with open(common, encoding="utf-8", errors="replace") as stream:
        text = stream.read()
    families = ["kmalloc-"]
    for macro, family in (("KMALLOC_CGROUP_NAME", "kmalloc-cg-"), ("KMALLOC_RCL_NAME", "kmalloc-rcl-"),
                          ("KMALLOC_DMA_NAME", "dma-kmalloc-"), ("KMALLOC_RANDOM_NAME", "kmalloc-rnd-NN-")):
        if macro in text:
            families.append(family)
    # KMALLOC_MIN_SIZE is 8 on x86 (ARCH_KMALLOC_MINALIGN = __alignof__(unsigned long long)); 96 exists when
    # KMALLOC_MIN_SIZE <= 32, 192 when <= 64 (setup_kmalloc_cache_index_table); two pages is the largest cache
    sizes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192]
    return Kmalloc(tuple(sizes), tuple(families), 8, 8192,
                   "mm/slab_common.c kmalloc_info[]; x86: KMALLOC_MIN_SIZE 8 so 96 and 192 exist; "
                   "KMALLOC_MAX_CACHE_SIZE = 2 pages, above it the page allocator (power-of-two pages)")


def scan_tree(tree: str, series: str = "", arch: str = "x86", provenance: Optional[Mapping[str, Any]] = None
              ) -> Catalogue:
    """The catalogue of ``tree`` (a kernel source directory), for ``arch``'s code only."""
    if not os.path.isfile(os.path.join(tree, "Makefile")):
        raise NotFoundError(f"{tree}: not a kernel source tree (no Makefile)")
    entries: list[CacheEntry] = []
    allocations: dict[str, dict[str, list[Any]]] = {}
    for path in _walk(tree, arch):
        if os.path.exists(path):  # a FIFO would block, /dev/zero never end (safe_read refuses them in one line)
            check_regular_file(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as stream:
                text = stream.read(MAX_SOURCE_FILE_BYTES)
        except OSError:
            continue
        entries.extend(scan_source(text, os.path.relpath(path, tree)))
        scan_allocations(text, os.path.relpath(path, tree), allocations)
    info = dict(provenance or {})
    info.setdefault("tree", os.path.basename(os.path.abspath(tree)))
    info.setdefault("release", _tree_release(tree))
    info.setdefault("generated_by", f"python -m layoutcalc.slab.catalogue TREE {series or 'SERIES'}")
    return Catalogue(series or ".".join(str(info["release"]).split(".")[:2]), info, tuple(entries),
                     kmalloc_of_tree(tree), allocations=allocations)


def _tree_release(tree: str) -> str:
    with open(os.path.join(tree, "Makefile"), encoding="utf-8", errors="replace") as stream:
        head = stream.read(2000)
    values = {key: value.strip() for key, value in re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\S*)",
                                                               head, re.M)}
    return ".".join(values[key] for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL") if values.get(key))


# --------------------------------------------------------------------------- shipped tables


def load_catalogue(data: Mapping[str, Any]) -> Catalogue:
    kmalloc = data.get("kmalloc")
    km = None
    if isinstance(kmalloc, Mapping):
        km = Kmalloc(tuple(kmalloc["sizes"]), tuple(kmalloc["families"]), int(kmalloc["min_size"]),
                     int(kmalloc["max_cache_size"]), str(kmalloc.get("note", "")))
    allocations = data.get("allocations")
    return Catalogue(str(data["series"]), dict(data.get("provenance", {})),
                     tuple(CacheEntry.from_dict(entry) for entry in data["caches"]), km,
                     allocations=allocations if isinstance(allocations, Mapping) else {})


_SHIPPED: dict[str, Catalogue] = {}
_TREES: dict[str, Catalogue] = {}


def shipped(series: str) -> Catalogue:
    """The catalogue shipped for ``series`` ("2.6.22", "6.1" or "6.12")."""
    if series not in SERIES:
        raise NotFoundError(f"no slab cache catalogue for Linux {series} (shipped: {', '.join(SERIES)})")
    if series not in _SHIPPED:
        text = resources.files("layoutcalc.slab").joinpath("tables", f"linux-{series}.json").read_text()
        _SHIPPED[series] = load_catalogue(json.loads(text))
    return _SHIPPED[series]


def series_for(release: Optional[tuple[int, int]]) -> str:
    """The shipped series for a kernel (major, minor): the newest at or below it (6.12 for 6.18)."""
    if release is None:
        return SERIES[-1]
    best = SERIES[0]
    for series in SERIES:
        parts = tuple(int(p) for p in series.split(".")[:2])
        if parts <= release:
            best = series
    return best


def catalogue_for_build(build: Any) -> Catalogue:
    """The build's tree's own catalogue (source mode), else the shipped series for its release."""
    from .era import recorded_release
    tree = build.provenance.tree
    if isinstance(tree, str) and os.path.isfile(os.path.join(tree, "Makefile")):
        if tree not in _TREES:
            _TREES[tree] = scan_tree(tree)
        return _TREES[tree]
    return shipped(series_for(recorded_release(build)))


def catalogue_for_era(build: Any, era: Any) -> Catalogue:
    """:func:`catalogue_for_build`, except that a build whose structs show 2.6.22 takes that table."""
    tree = build.provenance.tree
    if era.is_2622 and not (isinstance(tree, str) and os.path.isfile(os.path.join(tree, "Makefile"))):
        return shipped("2.6.22")
    return catalogue_for_build(build)


def compact_json(data: Mapping[str, Any]) -> str:
    """The table as JSON with one cache and one struct's allocations per line (diffs stay readable)."""
    def dump(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))
    head = {key: value for key, value in data.items() if key not in ("allocations", "caches")}
    lines = [dump(head)[:-1] + ',"allocations":{']
    allocations = list(data.get("allocations", {}).items())
    lines += [f"{dump(name)}:{dump(kinds)}" + ("," if i < len(allocations) - 1 else "")
              for i, (name, kinds) in enumerate(allocations)]
    lines.append('},"caches":[')
    caches = data.get("caches", [])
    lines += [dump(entry) + ("," if i < len(caches) - 1 else "") for i, entry in enumerate(caches)]
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    """``python -m layoutcalc.slab.catalogue TREE SERIES [SOURCE-PACKAGE]``: write the JSON table to stdout."""
    if len(argv) < 2:
        sys.stderr.write("usage: python -m layoutcalc.slab.catalogue TREE SERIES [SOURCE]\n")
        return 2
    provenance = {"source": argv[2]} if len(argv) > 2 else {}
    catalogue = scan_tree(argv[0], argv[1], provenance=provenance)
    sys.stdout.write(compact_json(catalogue.as_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
