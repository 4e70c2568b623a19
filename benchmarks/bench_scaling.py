"""Scaling of show, whatif and slab in the member count of one struct (issue 13).

Builds ``struct task_struct`` with 1k, 5k and 20k members (ints, chars, longs,
bitfields, arrays, pointers, nested structs: holes and bit holes included),
compiles it with gcc, snapshots it, and times each command through the API on
the snapshot.  The figure that matters is the time per member relative to the
1k run measured in the same run: about 1.0 for a linear algorithm, about
20 at 20k for a quadratic one.

    python3 benchmarks/bench_scaling.py [--sizes 1000,5000,20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layoutcalc import api  # noqa: E402

MEMBER_KINDS = ["int i{n};", "char c{n};", "long l{n};", "unsigned b{n}:3;", "unsigned d{n}:13;",
                "short s{n}[3];", "void *p{n};", "struct hlist_node h{n};", "unsigned char u{n};"]

PRELUDE = """
typedef int pid_t;
typedef struct { int counter; } atomic_t;
struct hlist_node { struct hlist_node *next, **pprev; };
struct hlist_head { struct hlist_node *first; };
struct pid_namespace;
struct pid { atomic_t count; unsigned int level; struct hlist_head tasks[4]; struct hlist_node pid_chain; };
struct signal_struct { atomic_t count; int nr_threads; struct pid *tty_old_pgrp; int leader; };
"""


def source(members: int) -> str:
    body = ["\tvolatile long state;", "\tpid_t pid;", "\tpid_t tgid;"]
    body += ["\t" + MEMBER_KINDS[n % len(MEMBER_KINDS)].format(n=n) for n in range(members - len(body))]
    return (PRELUDE + "struct task_struct {\n" + "\n".join(body) + "\n};\n"
            "struct task_struct t; struct pid p; struct signal_struct s;\n")


def build(members: int, out: Path) -> Path:
    c_file = out / f"t{members}.c"
    obj = out / f"t{members}.o"
    c_file.write_text(source(members))
    subprocess.run(["gcc", "-c", "-O0", "-gdwarf-4", str(c_file), "-o", str(obj)], check=True)
    snapshot = out / f"t{members}.snapshot.json"
    api.snapshot(str(obj), str(snapshot), ("task_struct", "signal_struct", "pid", "hlist_node"))
    return snapshot


def timed(label: str, call, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def measure(snapshot: Path, repeat: int) -> dict[str, float]:
    path = str(snapshot)
    return {
        "show": timed("show", lambda: api.show(api.load(path), ["task_struct"]), repeat),
        "whatif": timed("whatif", lambda: api.whatif(path, "flat"), repeat),
        "slab": timed("slab", lambda: api.slab([path], scenario="flat"), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    with tempfile.TemporaryDirectory() as temp:
        results = {n: measure(build(n, Path(temp)), options.repeat) for n in sizes}
    base = sizes[0]
    print(f"{'members':>8} {'command':>7} {'seconds':>8} {'us/member':>10} {'per-member vs ' + str(base):>18}")
    for n in sizes:
        for command, seconds in results[n].items():
            per_member = seconds / n
            ratio = per_member / (results[base][command] / base)
            print(f"{n:>8} {command:>7} {seconds:>8.3f} {per_member * 1e6:>10.1f} {ratio:>18.2f}")


if __name__ == "__main__":
    main()
