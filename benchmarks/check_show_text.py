#!/usr/bin/env python3
"""Compare `show`'s text with pahole's for every struct and union of whole builds.

Usage: benchmarks/check_show_text.py [--btf] INPUT...
(INPUT: a vmlinux, an object, or /sys/kernel/btf/vmlinux; default: the amd64 cloud build)

For each input, pahole prints every struct and union once (``pahole -F dwarf|btf INPUT``)
and layoutcalc reads the whole input; each struct's text is compared character for
character.  pahole carries some state from one struct to the next within a compile
unit (inferred ``__packed__``), so a struct that differs is compared again against
``pahole -C NAME`` run on it alone.  Prints the counts and the names that still
differ; exit status 1 if any does.  Seconds per build.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pahole_oracle  # noqa: E402

from layoutcalc import api  # noqa: E402
from layoutcalc.model import Build  # noqa: E402

DEFAULT = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"


def read(path: str, btf: bool) -> Build:
    if not btf:
        return api.load(path)
    from layoutcalc.readers.btf import read_btf
    from layoutcalc.readers.elf import read_elf_info
    data = Path(path).read_bytes()
    if data[:4] == b"\x7fELF":
        section = read_elf_info(path).btf
        if section is None:
            raise SystemExit(f"{path}: no .BTF section")
        data = section
    return api.prepare(read_btf(data, path))


def check(path: str, btf: bool) -> list[str]:
    fmt = "btf" if btf else "dwarf"
    start = time.perf_counter()
    build = read(path, btf)
    names = sorted(set(build.structs) | set(build.unions))
    listing = subprocess.run([pahole_oracle.PAHOLE, "-F", fmt, path], capture_output=True, text=True).stdout
    theirs = pahole_oracle.split_listing(listing)
    missing = [name for name in names if name not in theirs]
    differ = [name for name in names if name in theirs and api.show_text(build, [name]) != theirs[name]]
    alone = pahole_oracle.pahole_listing(path, differ, fmt) if differ else {}
    still = [name for name in differ if api.show_text(build, [name]) != alone.get(name)]
    equal = len(names) - len(missing) - len(still)
    print(f"{Path(path).name} ({fmt}): {equal} of {len(names) - len(missing)} equal to pahole "
          f"({len(differ) - len(still)} only after running pahole on the name alone; {len(missing)} not in "
          f"pahole's listing), {time.perf_counter() - start:.1f} s; differ: {still[:20]}")
    return still


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--btf", action="store_true", help="read the inputs' BTF (pahole -F btf)")
    args = parser.parse_args()
    if not pahole_oracle.PAHOLE:
        print("pahole is not installed (apt-get install dwarves)", file=sys.stderr)
        return 1
    failed = [name for path in args.inputs for name in check(path, args.btf or path.startswith("/sys/"))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
