"""How long ``layoutcalc --help`` and a warm ``show`` take, as a ratio to ``python3 -c "import click"``.

A warm ``show`` of the seed's three structs should take at most 3x (issue 22),
``report`` on the bundled data at most 0.3 s.  The goal for ``--help`` (issue
12) is at most 1.3x: pandas, matplotlib and the readers must stay off the
CLI's import path.  The commands run alternately in the same loop, so a busy
machine slows all alike; the medians are compared.

    python3 benchmarks/bench_help.py [--runs N]

It runs the CLI the way the ``layoutcalc`` console script does (import
``layoutcalc.cli``, call ``main``) from the repository it lives in, and also
``python3 -m layoutcalc --help``.  To see what the CLI imports:
``python3 -X importtime -m layoutcalc --help``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "matplotlib", "numpy", "elftools", "pycparser", "tqdm")

COMMANDS = {
    "python3 -c 'import click'": [sys.executable, "-c", "import click"],
    "layoutcalc --help": [sys.executable, "-c",
                          "import sys; sys.argv[0] = 'layoutcalc'; from layoutcalc.cli import main; main()",
                          "--help"],
    "python3 -m layoutcalc --help": [sys.executable, "-m", "layoutcalc", "--help"],
    "show task_struct signal_struct pid": [sys.executable, "-m", "layoutcalc", "show", "task_struct",
                                           "signal_struct", "pid"],
    "report": [sys.executable, "-m", "layoutcalc", "report"],
}


# As installed: bytecode cached (click's is, in site-packages), here under a prefix outside the tree,
# even where the environment sets PYTHONDONTWRITEBYTECODE.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "layoutcalc-bench-pycache")}


def time_once(command: list[str]) -> float:
    """Wall-clock seconds of one run (output discarded; a failure stops the benchmark)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def heavy_imports() -> list[str]:
    """Heavy top-level packages that ``layoutcalc --help`` imports (should be none)."""
    probe = ("import sys; sys.argv = ['layoutcalc', '--help']\n"
             "from layoutcalc.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print(' '.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=ENV)
    return out.stdout.split("\n")[-2].split() if out.stdout.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the page cache and .pyc files
        time_once(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(time_once(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    peer = medians["python3 -c 'import click'"]
    for name, median in medians.items():
        print(f"{name:<30} median {median * 1000:6.1f} ms  ratio {median / peer:4.2f}x")
    heavy = heavy_imports()
    print(f"heavy modules imported by --help: {', '.join(heavy) if heavy else 'none'}")
    ratio = medians["layoutcalc --help"] / peer
    print(f"layoutcalc --help / import click: {ratio:.2f}x (goal: at most 1.30x)")
    show = medians["show task_struct signal_struct pid"] / peer
    print(f"warm show of the seed's 3 structs / import click: {show:.2f}x (goal: at most 3x)")
    print(f"report on the bundled data: {medians['report']:.3f} s (goal: at most 0.3 s)")


if __name__ == "__main__":
    main()
