"""Run the fuzz campaign: ``python3 -m tests.fuzz.run --cases 10000 --seed 1`` (from the repository root).

Each case is one mutated input and one command that reads it, run in a
forked child (layoutcalc is imported once, in the parent) with an address
space limit of 2 GiB and a wall-clock limit of 5 s.  Outcomes:

- ``ok``: exit 0;
- ``clean error``: exit 1 (or click's usage exit 2) with exactly one line ``Error: ...`` on stderr;
- ``traceback``: an uncaught exception, or the boundary's "internal error" line (a bug either way);
- ``hang``: over 5 s of CPU time, or still running after 60 s of wall-clock time (killed; a run
  killed by the wall clock having used under 5 s of CPU is run again alone, once, and that counts);
- ``memory``: MemoryError, or a peak resident size over 1 GiB;
- ``multi-line error``: a failure that is not exactly one line.

The summary gives counts per input kind and outcome; every case that is not
ok or clean error is saved under ``--keep`` (default ``fuzz-failures/``)
with the command to reproduce it.  ``--kinds`` restricts the input kinds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Iterator
from typing import NamedTuple, Optional

from .corpus import Seed, build_seeds
from .mutators import MUTATORS, mutate

TIME_LIMIT = 5.0          # CPU seconds: a shared, loaded machine must not turn slow runs into "hangs"
WALL_LIMIT = 60.0         # a run blocked without using CPU (a FIFO) is killed here; starved runs on a
                          # shared machine (load 16 on 2 cores) can take 20 s of wall time for 1.5 s of CPU
MEMORY_LIMIT = 2 << 30
MEMORY_REPORT = 1 << 30
OUTCOMES = ("ok", "clean error", "traceback", "hang", "memory", "multi-line error")
EXTENSIONS = {"dwarf": ".o", "compressed": ".o", "btf_elf": ".o", "btf_raw": ".btf", "snapshot": ".json",
              "scenario": ".toml", "patch": ".patch", "budget": ".toml", "baseline": ".json"}
STRUCTS = ["task_struct", "signal_struct", "pid", "upid", "thread_struct", "fpu", "hlist_node"]


class Case(NamedTuple):
    index: int
    kind: str
    mutator: str
    args: list[str]
    input_path: str


class Outcome(NamedTuple):
    case: Case
    outcome: str
    seconds: float
    max_rss: int
    stderr: str


def commands_for(kind: str, path: str, snapshot: str, out_dir: str, rng: random.Random,
                 gate: Optional[tuple[str, str]] = None) -> list[str]:
    """A command line that makes layoutcalc read ``path`` as ``kind``.

    ``gate`` is (an object the baseline was made from, that baseline), for the CI gate's commands.
    """
    if kind in ("dwarf", "compressed", "btf_elf", "btf_raw", "snapshot"):
        return rng.choice([
            ["show", rng.choice(STRUCTS), "-i", path],
            ["show", "task_struct", "pid", "--format", "json", "-i", path],
            ["sizes", "-i", path],
            ["snapshot", path, "-o", os.path.join(out_dir, "out.json")],
            ["whatif", "-i", path, "--scenario", rng.choice(["flat", "hierarchical"])],
            ["whatif", "-i", path, "--scenario", "flat", "--arch", rng.choice(["i386", "aarch64", "s390x"])],
            ["slab", "-i", path, "--scenario", rng.choice(["flat", "none"])],
            ["report", "-i", path, "--format", rng.choice(["text", "json"])],
        ] + ([["baseline", path, "-o", os.path.join(out_dir, "out.baseline.json")],
              ["check", path, "--baseline", gate[1], "--format", rng.choice(["text", "json", "junit"])],
              ["diff", gate[0], path]] if gate else []))
    if kind == "scenario":
        return rng.choice([["whatif", "-i", snapshot, "--scenario", path],
                           ["report", "-i", snapshot, "--scenario", path],
                           ["slab", "-i", snapshot, "--scenario", path]])
    if kind == "baseline" and gate:
        return ["check", gate[0], "--baseline", path, "--format", rng.choice(["text", "json", "github"])]
    if kind == "budget" and gate:
        return ["check", gate[0], "--baseline", gate[1], "--budget", path,
                "--format", rng.choice(["text", "markdown", "junit"])]
    if kind == "patch":
        return ["whatif", "-i", snapshot, "--patch", path] + rng.choice(
            [[], ["--define", "CONFIG_PID_NS_FLAT=y"], ["--placement", "best-fit"]])
    raise ValueError(kind)


def classify(status: int, stderr: str, timed_out: bool, max_rss: int) -> str:
    if timed_out:
        return "hang"
    if "MemoryError" in stderr or max_rss > MEMORY_REPORT:
        return "memory"
    if "Traceback (most recent call last)" in stderr or "internal error" in stderr or status not in (0, 1, 2, 3):
        return "traceback"
    if status == 0 or status == 3:  # 3: 'check' found a regression, as it should say
        return "ok"
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    if status == 2 and lines and lines[-1].startswith("Error:"):
        return "clean error"  # click usage error: its usage lines, then one Error line
    if len(lines) == 1 and lines[0].startswith("Error: "):
        return "clean error"
    return "multi-line error"


def _child(args: list[str], out_fd: int) -> None:
    """In the forked child: limits, then the CLI exactly as a user runs it."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (int(TIME_LIMIT) + 2, int(TIME_LIMIT) + 3))
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(out_fd, 2)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        from layoutcalc.cli import main
        try:
            main(args=args, prog_name="layoutcalc", standalone_mode=True)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    except BaseException:  # noqa: B036 - anything escaping the CLI is a traceback outcome
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(70)


class _Running:
    """A forked case in flight: its pipe (stderr), start time and what it has written so far."""

    def __init__(self, case: Case) -> None:
        self.case = case
        read_fd, write_fd = os.pipe()
        self.start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(case.args, write_fd)
        os.close(write_fd)
        self.pid, self.fd = pid, read_fd
        self.chunks: list[bytes] = []

    def read(self) -> bool:
        """Take what the child wrote; False at end of file."""
        chunk = os.read(self.fd, 65536)
        if chunk and sum(map(len, self.chunks)) < 1 << 20:
            self.chunks.append(chunk)
        return bool(chunk)

    def finish(self, timed_out: bool) -> Outcome:
        if timed_out:
            os.kill(self.pid, signal.SIGKILL)
        _, status, usage = os.wait4(self.pid, 0)
        os.close(self.fd)
        seconds = usage.ru_utime + usage.ru_stime
        stderr = b"".join(self.chunks).decode("utf-8", "replace")
        max_rss = usage.ru_maxrss * 1024
        outcome = classify(os.waitstatus_to_exitcode(status), stderr, timed_out or seconds > TIME_LIMIT, max_rss)
        return Outcome(self.case, outcome, seconds, max_rss, stderr)


def run_cases(cases: Iterator[Case], jobs: int = 1) -> Iterator[Outcome]:
    """Run ``cases`` with up to ``jobs`` children at a time; yield each outcome as it ends."""
    running: dict[int, _Running] = {}
    pending = iter(cases)
    exhausted = False
    while running or not exhausted:
        while not exhausted and len(running) < jobs:
            case = next(pending, None)
            if case is None:
                exhausted = True
            else:
                child = _Running(case)
                running[child.fd] = child
        if not running:
            break
        now = time.monotonic()
        wait = max(0.0, min(r.start + WALL_LIMIT - now for r in running.values()))
        ready, _, _ = select.select(list(running), [], [], wait)
        for fd in ready:
            if not running[fd].read():
                yield running.pop(fd).finish(timed_out=False)
        for fd, child in list(running.items()):
            if time.monotonic() - child.start > WALL_LIMIT:
                yield running.pop(fd).finish(timed_out=True)


def run_case(case: Case) -> Outcome:
    """Run one case alone (for reproducing a saved failure)."""
    return next(run_cases(iter([case])))


def make_cases(seeds: list[Seed], count: int, seed: int, work: Path, kinds: Optional[list[str]] = None):
    """Yield ``count`` cases, kinds in turn, each from its own RNG (case i is reproducible alone)."""
    by_kind: dict[str, list[Seed]] = collections.defaultdict(list)
    for s in seeds:
        by_kind[s.kind].append(s)
    snapshot = work / "base.snapshot.json"
    snapshot.write_bytes(next(s for s in seeds if s.kind == "snapshot").data)
    gate = None
    if by_kind.get("baseline"):
        gate_object, gate_baseline = work / "gate.o", work / "gate.baseline.json"
        gate_object.write_bytes(by_kind["dwarf"][0].data)
        gate_baseline.write_bytes(by_kind["baseline"][0].data)
        gate = (str(gate_object), str(gate_baseline))
    order = [k for k in MUTATORS if k in by_kind and (not kinds or k in kinds)]
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        kind = order[index % len(order)]
        base = rng.choice(by_kind[kind])
        data, mutator = mutate(kind, base.data, rng)
        case_dir = work / f"case{index}"  # its own directory: a slow case must not see its input replaced
        case_dir.mkdir(exist_ok=True)
        path = case_dir / f"input{EXTENSIONS[kind]}"
        path.write_bytes(data)
        args = commands_for(kind, str(path), str(snapshot), str(case_dir), rng, gate)
        yield Case(index, kind, f"{base.label}/{mutator}", args, str(path))


def preload() -> None:
    """Import every module a command may import lazily, once, before forking: children start warm.

    (pycparser builds its parser tables at import; paying that per case would dominate the run.)
    """
    import importlib
    import pkgutil

    import layoutcalc
    for module in pkgutil.walk_packages(layoutcalc.__path__, "layoutcalc."):
        if module.name.rsplit(".", 1)[-1] in ("frames", "plots", "notebook", "__main__"):
            continue  # pandas and matplotlib: only --plot and notebooks import them
        try:
            importlib.import_module(module.name)
        except ImportError:
            pass
    import elftools.dwarf.dwarfinfo  # noqa: F401
    import elftools.elf.elffile  # noqa: F401


def campaign(cases: int, seed: int, kinds: Optional[list[str]] = None, keep: Optional[Path] = None,
             progress: bool = False, jobs: int = 2) -> list[Outcome]:
    """Build the seeds, run ``cases`` cases, save the failures under ``keep``; return every outcome."""
    with tempfile.TemporaryDirectory(prefix="layoutcalc-fuzz-") as temp:
        work = Path(temp)
        # the scan caches (name index, sizes, catalogues) of mutated linked files go with the campaign
        previous_cache = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        try:
            return _campaign(work, cases, seed, kinds, keep, progress, jobs)
        finally:
            if previous_cache is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = previous_cache


def _campaign(work: Path, cases: int, seed: int, kinds: Optional[list[str]], keep: Optional[Path],
              progress: bool, jobs: int) -> list[Outcome]:
    results: list[Outcome] = []
    seeds = build_seeds(work)
    preload()
    started = time.monotonic()
    starved: list[Case] = []
    for outcome in run_cases(make_cases(seeds, cases, seed, work, kinds), min(max(jobs, 1), 4)):
        if outcome.outcome == "hang" and outcome.seconds < TIME_LIMIT:
            starved.append(_set_aside(outcome.case, work))
            shutil.rmtree(Path(outcome.case.input_path).parent, ignore_errors=True)
            continue
        results.append(outcome)
        if outcome.outcome not in ("ok", "clean error") and keep is not None:
            _save(outcome, keep)
        shutil.rmtree(Path(outcome.case.input_path).parent, ignore_errors=True)
        if progress and len(results) % 250 == 0:
            print(f"  {len(results)} cases, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    # killed by the wall clock with little CPU used: starved by other load, or blocked? Alone, we know.
    for case in starved:
        outcome = run_case(case)
        results.append(outcome)
        if outcome.outcome not in ("ok", "clean error") and keep is not None:
            _save(outcome, keep)
    return results


def _set_aside(case: Case, work: Path) -> Case:
    """A copy of ``case`` whose input survives the directories being reused, to run again alone."""
    aside = work / "again"
    aside.mkdir(exist_ok=True)
    path = aside / f"{case.index}{EXTENSIONS[case.kind]}"
    path.write_bytes(Path(case.input_path).read_bytes())
    args = [str(path) if arg == case.input_path else arg for arg in case.args]
    return case._replace(args=args, input_path=str(path))


def _save(outcome: Outcome, keep: Path) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    case = outcome.case
    name = f"{case.index:05d}-{case.kind}-{outcome.outcome.replace(' ', '-')}"
    data = Path(case.input_path).read_bytes()
    (keep / (name + EXTENSIONS[case.kind])).write_bytes(data)
    (keep / (name + ".txt")).write_text(json.dumps({
        "mutator": case.mutator, "args": case.args, "seconds": round(outcome.seconds, 2),
        "max_rss_mb": outcome.max_rss >> 20, "stderr": outcome.stderr[-4000:]}, indent=1) + "\n")


def summary(results: list[Outcome]) -> str:
    """Counts per input kind and outcome, as a markdown table, plus the slowest and largest runs."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in results:
        counts[r.case.kind][r.outcome] += 1
    lines = ["| input kind | " + " | ".join(OUTCOMES) + " | total |", "|---" * (len(OUTCOMES) + 2) + "|"]
    total: collections.Counter[str] = collections.Counter()
    for kind in sorted(counts):
        total.update(counts[kind])
        lines.append(f"| {kind} | " + " | ".join(str(counts[kind][o]) for o in OUTCOMES)
                     + f" | {sum(counts[kind].values())} |")
    lines.append("| **all** | " + " | ".join(str(total[o]) for o in OUTCOMES) + f" | {sum(total.values())} |")
    commands = collections.Counter(r.case.args[0] for r in results)
    lines.append("")
    lines.append("commands: " + ", ".join(f"{c} {n}" for c, n in sorted(commands.items())))
    if results:
        slowest = max(results, key=lambda r: r.seconds)
        largest = max(results, key=lambda r: r.max_rss)
        lines.append(f"slowest run: {slowest.seconds:.2f} s of CPU (case {slowest.case.index}, {slowest.case.kind}, "
                     f"{slowest.case.args[0]}); peak memory: {largest.max_rss >> 20} MiB "
                     f"(case {largest.case.index})")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (1-4; default 2)")
    parser.add_argument("--kinds", help="comma-separated input kinds (default: all): " + ", ".join(MUTATORS))
    parser.add_argument("--keep", type=Path, default=Path("fuzz-failures"),
                        help="where failing inputs are saved (default: fuzz-failures/)")
    options = parser.parse_args(argv)
    kinds = options.kinds.split(",") if options.kinds else None
    started = time.monotonic()
    results = campaign(options.cases, options.seed, kinds, options.keep, progress=True, jobs=options.jobs)
    print(summary(results))
    print(f"\n{len(results)} cases in {time.monotonic() - started:.0f} s, seed {options.seed}")
    bad = [r for r in results if r.outcome not in ("ok", "clean error")]
    results.sort(key=lambda r: r.case.index)
    for r in bad[:30]:
        print(f"case {r.case.index} {r.case.kind} {r.case.mutator} {r.outcome}: {' '.join(r.case.args[:2])} "
              f"{r.stderr.strip().splitlines()[-1:] if r.stderr.strip() else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
