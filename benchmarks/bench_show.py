#!/usr/bin/env python3
"""Time `layoutcalc show task_struct signal_struct pid` on a real vmlinux against pahole.

Usage: benchmarks/bench_show.py [VMLINUX] [--runs N] [--sizes]
Prints the median wall time of each tool and the ratio (ours / pahole).
With --sizes it also times the whole-build `sizes` scan (one run each).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"


def median_time(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vmlinux", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", action="store_true")
    args = parser.parse_args()
    if not Path(args.vmlinux).exists():
        print(f"no vmlinux at {args.vmlinux}; fetch one (see tests/realbuilds.py)", file=sys.stderr)
        return 1
    layoutcalc = [sys.executable, "-m", "layoutcalc"]
    ours = median_time([*layoutcalc, "show", "task_struct", "signal_struct", "pid", "-i", args.vmlinux], args.runs)
    print(f"layoutcalc show (3 structs): median {ours:.3f} s over {args.runs} runs")
    if shutil.which("pahole"):
        theirs = median_time(["pahole", "-F", "dwarf", "-C", "task_struct,signal_struct,pid", args.vmlinux],
                             args.runs)
        print(f"pahole -C (3 structs):      median {theirs:.3f} s; ratio {ours / theirs:.1f}x")
    if args.sizes:
        ours = median_time([*layoutcalc, "sizes", "-i", args.vmlinux], 1)
        print(f"layoutcalc sizes: {ours:.1f} s")
        if shutil.which("pahole"):
            theirs = median_time(["pahole", "-F", "dwarf", "--sizes", args.vmlinux], 1)
            print(f"pahole --sizes:   {theirs:.1f} s; ratio {ours / theirs:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
