#!/usr/bin/env python3
"""Wall time and peak memory of `layoutcalc diff` against `codiff -s` on the same pair of builds, in one run.

Usage: benchmarks/bench_diff.py [OLD NEW] [--runs N] [--no-codiff] [--debug-info auto,dwarf]
Defaults to Debian's amd64 cloud vmlinux 6.1.0-47 -> 6.1.0-50 in ~/.cache/layoutcalc/vmlinux.
Each tool runs under /usr/bin/time -v (peak RSS) and nice; codiff runs once
(about 95 s and 6 GB), layoutcalc --runs times per debug info source, each
with an empty cache (the median is reported; a warm run, reading the cached
catalogues, is shown beside it): ``auto`` reads the builds' .BTF, ``dwarf`` their DWARF
(as for builds without .BTF, such as Debian's 32-bit kernels).
Prints both tools' figures and the ratios codiff / layoutcalc.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, Optional

CACHE = Path.home() / ".cache/layoutcalc/vmlinux"
DEFAULT_OLD = CACHE / "vmlinux-6.1.0-47-cloud-amd64"
DEFAULT_NEW = CACHE / "vmlinux-6.1.0-50-cloud-amd64"


class Measure(NamedTuple):
    wall_s: float
    peak_rss_mib: float
    output_lines: int
    exit_code: int


def measure(command: list[str], env: Optional[dict[str, str]] = None) -> Measure:
    """Run ``command`` under nice and /usr/bin/time -v; its wall time, peak RSS and output size."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", "nice", *command], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    if match is None:
        raise SystemExit(f"no peak RSS from /usr/bin/time for {command[0]}: {result.stderr[-300:]}")
    return Measure(wall, int(match.group(1)) / 1024, len(result.stdout.splitlines()), result.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", nargs="?", default=str(DEFAULT_OLD))
    parser.add_argument("new", nargs="?", default=str(DEFAULT_NEW))
    parser.add_argument("--runs", type=int, default=3, help="runs of layoutcalc (codiff runs once)")
    parser.add_argument("--no-codiff", action="store_true", help="measure layoutcalc only")
    parser.add_argument("--debug-info", default="auto",
                        help="comma-separated sources for layoutcalc: auto (.BTF when present), btf, dwarf")
    args = parser.parse_args()
    for path in (args.old, args.new):
        if not Path(path).exists():
            print(f"no build at {path}; fetch one (see tests/realbuilds.py)", file=sys.stderr)
            return 1
    if not Path("/usr/bin/time").exists():
        print("needs /usr/bin/time (Debian package 'time') for peak memory", file=sys.stderr)
        return 1
    ours: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for source in args.debug_info.split(","):
        command = [sys.executable, "-m", "layoutcalc", "diff", "--debug-info", source, args.old, args.new]
        runs = []
        for _ in range(args.runs):  # cold: an empty cache each time (a second diff of a build is read from it)
            with tempfile.TemporaryDirectory(prefix="bench-diff-cache-") as cache:
                runs.append(measure(command, {**os.environ, "XDG_CACHE_HOME": cache}))
                warm = measure(command, {**os.environ, "XDG_CACHE_HOME": cache})
        ours[source] = statistics.median(m.wall_s for m in runs)
        peaks[source] = max(m.peak_rss_mib for m in runs)
        print(f"layoutcalc diff --debug-info {source}: cold median {ours[source]:.2f} s wall over {args.runs} runs, "
              f"peak RSS {peaks[source]:.0f} MiB, {runs[0].output_lines} lines, exit {runs[0].exit_code}; "
              f"warm (cached catalogues) {warm.wall_s:.2f} s")
    if args.no_codiff:
        return 0
    if shutil.which("codiff") is None:
        print("codiff (dwarves) not installed: no comparison", file=sys.stderr)
        return 1
    theirs = measure(["codiff", "-s", args.old, args.new])
    print(f"codiff -s:       {theirs.wall_s:.2f} s wall, peak RSS {theirs.peak_rss_mib:.0f} MiB, "
          f"{theirs.output_lines} lines, exit {theirs.exit_code}")
    for source, wall in ours.items():
        print(f"ratios (codiff / layoutcalc --debug-info {source}): {theirs.wall_s / wall:.1f}x faster, "
              f"{theirs.peak_rss_mib / peaks[source]:.1f}x less memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
