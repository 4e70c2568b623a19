#!/usr/bin/env python3
"""Every speed figure of issue 22 as a ratio against its peer, measured back to back in one run.

Usage: benchmarks/bench_ratios.py [--build VMLINUX] [--old VMLINUX] [--late NAME] [--no-codiff] [--only W,...]

Each line runs the peer, then layoutcalc, on the same input, and prints both
wall times and peak memories (/usr/bin/time -v: the whole process, workers
waited for included) and the ratio ours / peer.  "Cold" runs get an empty
``$XDG_CACHE_HOME``.  Work (``--only``, comma-separated):

- show: ``show LATE`` (default ``pnp_mem``) cold against ``pahole -F dwarf -C LATE``; goal <= 0.5x.
- sizes: ``sizes`` cold against ``pahole -F dwarf --sizes``; goal <= 0.5x.
- reorganize: ``reorganize --all --format json`` cold against ``pahole -F dwarf --reorganize``; goal <= 1x.
- diff: ``diff OLD BUILD`` cold against ``codiff -s OLD BUILD`` (about 6 GB: run it alone); goal: codiff takes
  at least 15x our time and 15x our memory.
- startup: warm ``show task_struct signal_struct pid`` (the bundled snapshot) against
  ``python3 -c "import click"``, medians of 10 alternating runs; goal <= 3x.  ``report`` (bundled data,
  warm): goal <= 0.3 s.

Defaults: BUILD is Debian's amd64 6.1.0-57 cloud vmlinux, OLD the 6.1.0-47 one
(tests/realbuilds.py fetches them into ~/.cache/layoutcalc/vmlinux).  The
machine is shared: the load average is printed, and only ratios measured in
the same run mean anything.  Each tool's output is compared where the two
should agree (show and sizes text).  Wrap the run in ``flock /tmp/heavy.lock``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, Optional

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache/layoutcalc/vmlinux"
WORK = ("show", "sizes", "reorganize", "diff", "startup")


class Measure(NamedTuple):
    wall_s: float
    peak_mib: float
    stdout: str


def measure(command: list[str], cold: bool = True) -> Measure:
    """Run ``command`` under /usr/bin/time -v (with an empty cache directory when ``cold``)."""
    with tempfile.TemporaryDirectory(prefix="bench-ratios-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache} if cold else dict(os.environ)
        start = time.perf_counter()
        result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env,
                                cwd=ROOT, errors="replace")
        wall = time.perf_counter() - start
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"no peak memory for {command[0]}: {result.stderr[-300:]}")
    return Measure(wall, int(found.group(1)) / 1024, result.stdout)


def report(work: str, peer_name: str, peer: Measure, ours: Measure, goal: str, note: str = "") -> None:
    print(f"{work:<11} {peer_name:<28} {peer.wall_s:7.2f} s {peer.peak_mib:7.0f} MiB | layoutcalc "
          f"{ours.wall_s:7.2f} s {ours.peak_mib:6.0f} MiB | time {ours.wall_s / peer.wall_s:5.2f}x, "
          f"memory {ours.peak_mib / peer.peak_mib:5.2f}x  ({goal}){note}", flush=True)


def layoutcalc(*args: str) -> list[str]:
    return [sys.executable, "-m", "layoutcalc", *args]


def bench_show(build: str, late: str) -> None:
    peer = measure(["pahole", "-F", "dwarf", "-C", late, build])
    ours = measure(layoutcalc("show", late, "-i", build))
    same = "text equal" if ours.stdout == peer.stdout else "TEXT DIFFERS"
    report("show", f"pahole -C {late}", peer, ours, "goal <= 0.5x", f"; {same}")


def bench_sizes(build: str) -> None:
    peer = measure(["pahole", "-F", "dwarf", "--sizes", build])
    ours = measure(layoutcalc("sizes", "-i", build))
    same = "text equal" if ours.stdout == peer.stdout else "TEXT DIFFERS"
    report("sizes", "pahole --sizes", peer, ours, "goal <= 0.5x", f"; {same}")


def bench_reorganize(build: str) -> None:
    peer = measure(["pahole", "-F", "dwarf", "--reorganize", build])
    ours = measure(layoutcalc("reorganize", "--all", "--format", "json", "-i", build))
    report("reorganize", "pahole --reorganize", peer, ours, "goal <= 1x")


def bench_diff(old: str, build: str) -> None:
    peer = measure(["codiff", "-s", old, build])
    ours = measure(layoutcalc("diff", old, build))
    print(f"{'diff':<11} codiff -s {peer.wall_s:7.2f} s {peer.peak_mib:7.0f} MiB | layoutcalc {ours.wall_s:7.2f} s "
          f"{ours.peak_mib:6.0f} MiB | {peer.wall_s / ours.wall_s:5.1f}x faster, "
          f"{peer.peak_mib / ours.peak_mib:5.1f}x leaner  (goal >= 15x both)", flush=True)


def _median_wall(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def bench_startup(runs: int = 10) -> None:
    # As installed: bytecode cached (outside the tree), even where the environment sets PYTHONDONTWRITEBYTECODE.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "layoutcalc-bench-pycache")}
    commands = {"click": [sys.executable, "-c", "import click"],
                "show": layoutcalc("show", "task_struct", "signal_struct", "pid"),
                "report": layoutcalc("report")}
    for command in commands.values():  # warm: bytecode, the page cache and layoutcalc's caches
        _median_wall(command, 1, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name] += _median_wall(command, 1, env)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'startup':<11} python3 -c 'import click' {median['click'] * 1000:6.0f} ms | warm show of 3 structs "
          f"{median['show'] * 1000:6.0f} ms: {median['show'] / median['click']:4.2f}x (goal <= 3x); "
          f"report {median['report']:5.3f} s (goal <= 0.3 s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(CACHE / "vmlinux-6.1.0-57-cloud-amd64"))
    parser.add_argument("--old", default=str(CACHE / "vmlinux-6.1.0-47-cloud-amd64"))
    parser.add_argument("--late", default="pnp_mem", help="a struct defined late in the build")
    parser.add_argument("--no-codiff", action="store_true", help="skip the diff line (codiff takes about 6 GB)")
    parser.add_argument("--only", default=",".join(WORK), help=f"comma-separated subset of {', '.join(WORK)}")
    args = parser.parse_args()
    chosen = [w for w in args.only.split(",") if w and not (w == "diff" and args.no_codiff)]
    unknown = set(chosen) - set(WORK)
    if unknown:
        parser.error(f"unknown work {', '.join(sorted(unknown))}")
    missing: Optional[str] = next((p for p in (args.build, args.old) if not Path(p).exists()), None)
    if missing and set(chosen) - {"startup"}:
        print(f"no build at {missing}; fetch it with tests/realbuilds.py", file=sys.stderr)
        return 1
    print(f"load average before: {os.getloadavg()[0]:.2f}; build {Path(args.build).name}", flush=True)
    for work in chosen:
        if work == "show":
            bench_show(args.build, args.late)
        elif work == "sizes":
            bench_sizes(args.build)
        elif work == "reorganize":
            bench_reorganize(args.build)
        elif work == "diff":
            bench_diff(args.old, args.build)
        else:
            bench_startup()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
