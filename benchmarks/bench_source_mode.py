"""Source mode, cold and cached, against reading the same structs from the real build's vmlinux.

    python3 benchmarks/bench_source_mode.py TREE CONFIG VMLINUX [--struct NAME]...

For Debian 6.1: TREE is linux-source-6.1 (6.1.176-1) unpacked, CONFIG its
config.amd64_none_cloud-amd64, VMLINUX vmlinux-6.1.0-50-cloud-amd64 (see
tests/kernel_trees.py and tests/realbuilds.py for where the tests keep them).
Cold runs use a fresh cache directory; cached runs reuse it.  Prints the
seconds and the ratio of each to the vmlinux read, measured in the same run,
and whether every member of every struct is equal.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layoutcalc import api  # noqa: E402
from layoutcalc.analysis.verify import compare_layouts  # noqa: E402

DEFAULT_STRUCTS = ("task_struct", "signal_struct", "pid", "sk_buff", "inode", "mm_struct", "file", "dentry",
                   "super_block", "page", "net_device", "sock", "tcp_sock", "vm_area_struct", "cred",
                   "files_struct", "fs_struct", "sighand_struct", "nsproxy", "pid_namespace", "upid",
                   "address_space", "bio", "block_device", "css_set", "user_struct", "module", "device", "kobject",
                   "hrtimer", "timer_list", "work_struct")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree")
    parser.add_argument("config")
    parser.add_argument("vmlinux")
    parser.add_argument("--struct", action="append", dest="structs")
    args = parser.parse_args()
    structs = tuple(args.structs or DEFAULT_STRUCTS)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["LAYOUTCALC_CACHE"] = cache
        started = time.perf_counter()
        result = api.source_snapshot(args.tree, "x86_64", args.config, structs)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        api.source_snapshot(args.tree, "x86_64", args.config, structs)
        cached = time.perf_counter() - started
        compiled = api.load(str(result.path))
    started = time.perf_counter()
    real = api.load(args.vmlinux, structs=structs)
    peer = time.perf_counter() - started
    checks = [compare_layouts(compiled.get_struct(n), real.get_struct(n)) for n in structs if real.has_struct(n)]
    equal = sum(c.equal for c in checks)
    members = sum(len(c.members) for c in checks)
    print(f"structs equal: {equal} of {len(checks)} ({members} members compared)")
    print(f"vmlinux read (peer): {peer:.2f} s")
    print(f"source mode cold:    {cold:.2f} s  ({cold / peer:.3f}x the vmlinux read)")
    print(f"source mode cached:  {cached:.3f} s  ({cached / peer:.4f}x the vmlinux read)")


if __name__ == "__main__":
    main()
