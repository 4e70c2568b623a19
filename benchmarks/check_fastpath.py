#!/usr/bin/env python3
"""Check that the fast paths equal the plain path on every struct and union of a real build.

Usage: benchmarks/check_fastpath.py [VMLINUX] [--read first|every|diff|located|all]

Each read is done twice, LAYOUTCALC_SCAN=fast then plain (the plain reads
take minutes on a distribution vmlinux: about 1.5 for ``every``, 6 for
``diff``), and compared member by member (tests/build_equality.py):

- first: the first complete definition of each name (``show``, ``report``...);
- every: every distinct same-name definition (``sizes``, as pahole --sizes);
- diff: every definition that diff/baseline/check keep from DWARF (inputs without .BTF);
- located: show's lookup of one name without the index (readers/locate.py) against the lookup
  through it, for every 10th struct name (--step).

Prints the counts and timings; exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from build_equality import describe_build, describe_type, differences  # noqa: E402

from layoutcalc.readers.definitions import read_definitions  # noqa: E402
from layoutcalc.readers.dwarf import read_dwarf  # noqa: E402

DEFAULT = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"


def timed(mode: str, read: Callable[[], Any]) -> tuple[Any, float]:
    os.environ["LAYOUTCALC_SCAN"] = mode
    start = time.perf_counter()
    result = read()
    return result, time.perf_counter() - start


def check_first(path: str) -> list[str]:
    fast, fast_time = timed("fast", lambda: read_dwarf(path))
    plain, plain_time = timed("plain", lambda: read_dwarf(path))
    found = differences(plain, fast)
    equal = sum(1 for table in ("structs", "unions") for name, struct in getattr(plain, table).items()
                if name in getattr(fast, table)
                and describe_type(struct) == describe_type(getattr(fast, table)[name]))
    total = len(plain.structs) + len(plain.unions)
    print(f"first: {equal}/{total} structs and unions equal (fast {fast_time:.1f} s, plain {plain_time:.1f} s)")
    return found


def check_every(path: str) -> list[str]:
    fast, fast_time = timed("fast", lambda: read_dwarf(path, every_definition=True))
    plain, plain_time = timed("plain", lambda: read_dwarf(path, every_definition=True))
    found = differences(plain, fast)
    equal = sum(1 for left, right in zip(plain.variants, fast.variants) if describe_type(left) == describe_type(right))
    print(f"every: {equal}/{len(plain.variants)} definitions equal, in order; fast has {len(fast.variants)} "
          f"(fast {fast_time:.1f} s, plain {plain_time:.1f} s)")
    return found


def check_diff(path: str) -> list[str]:
    def read() -> tuple[list[Any], Any]:
        found = read_definitions(path, source="dwarf")
        return list(found.definitions), found.build
    (fast, fast_build), fast_time = timed("fast", read)
    (plain, plain_build), plain_time = timed("plain", read)
    equal = sum(1 for left, right in zip(plain, fast) if describe_type(left) == describe_type(right))
    print(f"diff: {equal}/{len(plain)} definitions equal, in order; fast has {len(fast)} "
          f"(fast {fast_time:.1f} s, plain {plain_time:.1f} s)")
    problems = [] if equal == len(plain) == len(fast) else ["diff: the definitions differ"]
    if describe_build(plain_build) != describe_build(fast_build):
        problems.append("diff: the builds' first definitions or provenance differ")
    return problems


def check_located(path: str, step: int = 10) -> list[str]:
    """show's lookup without an index (readers/locate.py) against the lookup through the index.

    Every ``step``-th struct name in the order of the unit defining it, one
    name per lookup; base types and names_seen are not compared (a located
    lookup holds the wanted names' only).  Names the search declines for are
    counted, not compared.
    """
    from layoutcalc.readers import dwarf
    from layoutcalc.readers.dwarf import fastpath, typeindex
    os.environ["LAYOUTCALC_SCAN"] = "fast"
    index = typeindex.get_index(path, dwarf.scan_cache_key(path))
    names = [name for name, _entry in sorted(index.tables["structs"].items(), key=lambda item: item[1][:2])][::step]
    problems, declined, equal = [], 0, 0
    cached = typeindex.load_cached
    started = time.perf_counter()
    for name in names:
        indexed = read_dwarf(path, [name], [name], any_kind=True)
        typeindex.load_cached = lambda key: None  # type: ignore[assignment]
        try:
            with dwarf.DwarfFile(path) as dwarf_file:
                if fastpath.located_index(dwarf_file, {name}, {name}, True) is None:
                    declined += 1
                    continue
            located = read_dwarf(path, [name], [name], any_kind=True)
        finally:
            typeindex.load_cached = cached  # type: ignore[assignment]
        found = [line for line in differences(indexed, located) if not line.startswith(("base_types", "names_seen"))]
        problems += [f"located {name}: {line}" for line in found]
        equal += not found
    print(f"located: {equal}/{len(names) - declined} lookups equal ({declined} of {len(names)} declined, "
          f"{time.perf_counter() - started:.1f} s)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vmlinux", nargs="?", default=str(DEFAULT))
    parser.add_argument("--read", choices=("first", "every", "diff", "located", "all"), default="all")
    parser.add_argument("--step", type=int, default=10, help="located: every STEP-th struct name (default 10)")
    args = parser.parse_args()
    print(os.path.basename(args.vmlinux))
    checks = {"first": check_first, "every": check_every, "diff": check_diff,
              "located": lambda path: check_located(path, args.step)}
    found: list[str] = []
    for name, check in checks.items():
        if args.read in (name, "all"):
            found.extend(check(args.vmlinux))
    print(f"{len(found)} differences")
    for line in found[:20]:
        print("  " + line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
