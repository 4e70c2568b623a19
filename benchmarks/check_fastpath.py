#!/usr/bin/env python3
"""Check that the fast path equals the plain path on every struct and union of a real build.

Usage: benchmarks/check_fastpath.py [VMLINUX]
Reads the whole file twice (LAYOUTCALC_SCAN=fast, then plain; the plain read
takes minutes on a distribution vmlinux), compares every struct, union and
base type member by member (tests/build_equality.py), and prints the counts.
Exit status 1 when anything differs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from build_equality import describe_type, differences  # noqa: E402

from layoutcalc.readers.dwarf import read_dwarf  # noqa: E402

DEFAULT = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"


def read(path: str, mode: str) -> tuple[object, float]:
    os.environ["LAYOUTCALC_SCAN"] = mode
    start = time.perf_counter()
    build = read_dwarf(path)
    return build, time.perf_counter() - start


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT)
    fast, fast_time = read(path, "fast")
    plain, plain_time = read(path, "plain")
    found = differences(plain, fast)  # type: ignore[arg-type]
    equal = sum(1 for table in ("structs", "unions") for name, struct in getattr(plain, table).items()
                if name in getattr(fast, table)
                and describe_type(struct) == describe_type(getattr(fast, table)[name]))
    total = len(plain.structs) + len(plain.unions)  # type: ignore[attr-defined]
    print(f"{os.path.basename(path)}: {equal}/{total} structs and unions equal (fast {fast_time:.1f} s, "
          f"plain {plain_time:.1f} s); {len(found)} differences")
    for line in found[:20]:
        print("  " + line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
