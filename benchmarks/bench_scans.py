#!/usr/bin/env python3
"""Time layoutcalc's scans of a real vmlinux against pahole, measured back to back in one run.

Usage: benchmarks/bench_scans.py [VMLINUX] [--late NAME] [--runs N] [--skip-whole]

Each line times the peer, then ours, then prints the ratio (ours / peer):

- whole: every struct's size and holes, DWARF only.  Peer: ``pahole -F dwarf
  -j2 --sizes``; ours: ``layoutcalc sizes``, cold (an empty cache directory)
  and warm (the cache that cold run left).  Wall time and the peak resident
  memory of the whole process tree (workers included) are printed.
  Goals: cold <= 1.5x pahole's wall and <= 1 GiB; warm <= 0.5 s plus
  interpreter start.
- show: one struct defined late in the file (default ``maple_node``, in the
  last 2% of the amd64 build's units).  Peer: ``pahole -F dwarf -C NAME``;
  ours: ``layoutcalc show NAME``, cold and warm.  Goals: cold <= 1x pahole,
  warm <= 0.3 s plus interpreter start.
- unknown: a mistyped name, cold.  Goal: <= 1 s when the file has ``.BTF``.

"Interpreter start" is measured as ``python3 -c 'import layoutcalc.cli'``.
The machine is shared: the load average is printed before and after, and
figures should be read as ratios measured under that load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

DEFAULT = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"
ROOT = Path(__file__).resolve().parent.parent


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (kB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(command: list[str], env: Optional[dict[str, str]] = None, check: bool = True) -> tuple[float, int]:
    """Wall seconds and peak resident memory (MiB, process tree sampled every 20 ms) of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(process.pid))
            time.sleep(0.02)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if check and process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {err.decode()[-500:]}")
    return wall, peak // 1024


def median_wall(command: list[str], runs: int, env: Optional[dict[str, str]] = None, check: bool = True) -> float:
    return statistics.median(run(command, env, check)[0] for _ in range(runs))


def _has_btf(path: str) -> bool:
    sys.path.insert(0, str(ROOT))
    from layoutcalc.readers.elf import read_elf_info
    return read_elf_info(path).btf is not None


def load_average() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vmlinux", nargs="?", default=str(DEFAULT))
    parser.add_argument("--late", default="maple_node", help="a struct defined late in the file")
    parser.add_argument("--runs", type=int, default=5, help="runs of each warm measurement (median)")
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole-file scans (minutes)")
    args = parser.parse_args()
    path = args.vmlinux
    if not Path(path).exists():
        print(f"no vmlinux at {path}; fetch one (see tests/realbuilds.py)", file=sys.stderr)
        return 1
    if not shutil.which("pahole"):
        print("pahole is not installed; the ratios need it (apt-get install dwarves)", file=sys.stderr)
        return 1
    cache = tempfile.mkdtemp(prefix="bench-scans-cache-")
    env = {**os.environ, "XDG_CACHE_HOME": cache, "PYTHONPATH": str(ROOT)}
    ours = [sys.executable, "-m", "layoutcalc"]
    print(f"{os.path.basename(path)}; before: {load_average()}")
    start_up = median_wall([sys.executable, "-c", "import layoutcalc.cli"], args.runs, env)
    print(f"interpreter start + imports: {start_up:.2f} s")
    try:
        if not args.skip_whole:
            peer_wall, peer_mem = run(["pahole", "-F", "dwarf", "-j2", "--sizes", path])
            cold_wall, cold_mem = run([*ours, "sizes", "-i", path], env)
            print(f"whole cold: pahole -j2 --sizes {peer_wall:.1f} s {peer_mem} MiB; layoutcalc sizes "
                  f"{cold_wall:.1f} s {cold_mem} MiB; ratio wall {cold_wall / peer_wall:.2f}x "
                  f"(goal <= 1.5x), memory {cold_mem / max(peer_mem, 1):.2f}x (goal <= 1024 MiB)")
            warm = median_wall([*ours, "sizes", "-i", path], args.runs, env)
            print(f"whole warm: layoutcalc sizes {warm:.2f} s = start + {warm - start_up:.2f} s "
                  f"(goal <= start + 0.5 s); {peer_wall / warm:.0f}x faster than pahole")
            shutil.rmtree(cache, ignore_errors=True)
        peer = run(["pahole", "-F", "dwarf", "-C", args.late, path])[0]
        cold = run([*ours, "show", args.late, "-i", path], env)[0]
        print(f"show {args.late} cold: pahole -C {peer:.1f} s; layoutcalc show {cold:.1f} s; "
              f"ratio {cold / peer:.2f}x (goal <= 1x)")
        warm = median_wall([*ours, "show", args.late, "-i", path], args.runs, env)
        print(f"show {args.late} warm: {warm:.2f} s = start + {warm - start_up:.2f} s (goal <= start + 0.3 s); "
              f"ratio {warm / peer:.3f}x pahole")
        typo = args.late[:-1] + "x"
        walls = []
        for _ in range(args.runs):  # cold every time: an empty cache, so no index answers
            shutil.rmtree(cache, ignore_errors=True)
            walls.append(run([*ours, "show", typo, "-i", path], env, check=False)[0])
        source = "answered from .BTF" if _has_btf(path) else "no .BTF: answered by building the index"
        print(f"unknown name '{typo}' (cold, {source}): {statistics.median(walls):.2f} s "
              "(goal <= 1 s when the file has .BTF)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
