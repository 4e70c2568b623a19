#!/usr/bin/env python3
"""Compare `show` on BTF with `pahole -F btf` on every struct both list.

Usage: benchmarks/measure_btf_vs_pahole.py [BTF ...] [--vmlinux-btf]
  BTF: a raw BTF blob (default /sys/kernel/btf/vmlinux) or an ELF with a .BTF section.
  --vmlinux-btf (alone: instead of the live BTF) extracts the .BTF section of the cached 6.1 amd64 vmlinux
  (objcopy --dump-section) and measures it.

Prints, per input: structs compared, how many agree on every summary statistic,
the percentage, the statistics that differ and the first differing structs,
and the wall time of each tool (ratio ours / pahole).
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pahole_oracle  # noqa: E402

from layoutcalc import api  # noqa: E402

VMLINUX = Path.home() / ".cache/layoutcalc/vmlinux/vmlinux-6.1.0-47-cloud-amd64"


def measure(path: str) -> dict[str, list[str]]:
    """Per struct name: the statistics on which ours differ from pahole's (empty list: equal)."""
    start = time.perf_counter()
    out = subprocess.run(["pahole", "-F", "btf", path], check=True, capture_output=True, text=True).stdout
    pahole_time = time.perf_counter() - start
    blocks = pahole_oracle.split_structs(out)
    start = time.perf_counter()
    build = api.load(path)
    results: dict[str, list[str]] = {}
    for name, block in blocks.items():
        if not build.has_struct(name) or "/* size:" not in block:  # pahole prints no summary for unions
            continue
        stats = api.struct_stats(build, build.get_struct(name))
        results[name] = pahole_oracle.compare(stats.as_dict(), pahole_oracle.parse_summary(block))
    ours_time = time.perf_counter() - start
    equal = sum(1 for problems in results.values() if not problems)
    forced = sum(1 for name in results if "forced alignments" in blocks[name])
    unions = sum(1 for block in blocks.values() if "/* size:" not in block)
    missing = sum(1 for name, block in blocks.items() if "/* size:" in block and not build.has_struct(name))
    print(f"{path}: {len(blocks)} structs printed by pahole, {len(results)} compared, "
          f"{equal} equal on every statistic ({100 * equal / max(len(results), 1):.2f}%)")
    print(f"  ({forced} of them with forced alignments; {unions} unions skipped: pahole prints no summary "
          f"for them; {missing} structs pahole lists and we do not)")
    keys = collections.Counter(p.split(":")[0] for problems in results.values() for p in problems)
    if keys:
        print("  differing statistics:", dict(keys))
    for name, problems in [(n, p) for n, p in results.items() if p][:20]:
        print(f"  {name}: {'; '.join(problems)}")
    print(f"  time: pahole {pahole_time:.2f} s, layoutcalc {ours_time:.2f} s "
          f"(ratio {ours_time / pahole_time:.1f}x)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*")
    parser.add_argument("--vmlinux-btf", action="store_true")
    args = parser.parse_args()
    if not pahole_oracle.PAHOLE:
        print("pahole is not installed", file=sys.stderr)
        return 1
    inputs = list(args.inputs) or ([] if args.vmlinux_btf else ["/sys/kernel/btf/vmlinux"])
    with tempfile.TemporaryDirectory() as tmp:
        if args.vmlinux_btf:
            blob = Path(tmp) / "vmlinux-6.1.0-47-cloud-amd64.btf"
            subprocess.run(["objcopy", "--dump-section", f".BTF={blob}", str(VMLINUX), str(Path(tmp) / "junk")],
                           check=True)
            inputs.append(str(blob))
        for path in inputs:
            measure(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
