"""The seed inputs the mutators start from, built at run time (nothing binary is committed)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from elftools.elf.elffile import ELFFile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEED_SOURCE = HERE / "seed.c"


class Seed(NamedTuple):
    """One seed input: its kind (which mutators apply), a label, and its bytes."""

    kind: str
    label: str
    data: bytes


def _compile(out: Path, name: str, command: list[str]) -> bytes:
    obj = out / f"{name}.o"
    # The same bytes in every checkout: the DWARF names no path of this machine, so a seeded run mutates
    # the same inputs in CI as on a developer's machine.
    subprocess.run([*command, "-c", "-O0", f"-fdebug-prefix-map={SEED_SOURCE.parent}=/fuzz", SEED_SOURCE.name,
                    "-o", str(obj)], check=True, capture_output=True, cwd=SEED_SOURCE.parent)
    return obj.read_bytes()


def _link(out: Path, name: str, command: list[str]) -> bytes:
    """A linked shared object: what the fast scan (name index, raw DIE readers, diff's identity walker) reads."""
    linked = out / f"{name}.so"
    subprocess.run([*command, "-O0", "-shared", "-fPIC", "-nostdlib", "-Wl,--build-id=sha1",
                    f"-fdebug-prefix-map={SEED_SOURCE.parent}=/fuzz", SEED_SOURCE.name, "-o", str(linked)],
                   check=True, capture_output=True, cwd=SEED_SOURCE.parent)
    return linked.read_bytes()


def section_bytes(data: bytes, name: str) -> bytes:
    section = ELFFile(io.BytesIO(data)).get_section_by_name(name)
    if section is None:
        raise KeyError(name)
    return section.data()


def build_seeds(out: Path) -> list[Seed]:
    """Compile the seed objects into ``out`` and derive every other kind from them."""
    from layoutcalc import api

    seeds = [
        Seed("dwarf", "gcc-m64-dwarf4", _compile(out, "m64", ["gcc", "-m64", "-gdwarf-4"])),
        Seed("dwarf", "gcc-m32-dwarf5", _compile(out, "m32", ["gcc", "-m32", "-gdwarf-5"])),
        Seed("compressed", "gcc-m64-gz", _compile(out, "gz", ["gcc", "-m64", "-gdwarf-4", "-gz=zlib"])),
        Seed("dwarf", "gcc-m64-dwarf5-linked", _link(out, "linked", ["gcc", "-m64", "-gdwarf-5"])),
    ]
    if shutil.which("clang"):
        seeds.append(Seed("dwarf", "clang-aarch64-dwarf5",
                          _compile(out, "a64", ["clang", "--target=aarch64-linux-gnu", "-gdwarf-5"])))
    if shutil.which("pahole") and shutil.which("objcopy"):
        btf_obj = out / "btf.o"
        btf_obj.write_bytes(seeds[0].data)
        subprocess.run(["pahole", "-J", str(btf_obj)], check=True, capture_output=True)
        subprocess.run(["objcopy", "--strip-debug", str(btf_obj)], check=True, capture_output=True)
        elf_btf = btf_obj.read_bytes()
        seeds.append(Seed("btf_elf", "pahole-J-stripped", elf_btf))
        seeds.append(Seed("btf_raw", "raw-from-object", section_bytes(elf_btf, ".BTF")))
    snapshot = out / "seed.snapshot.json"
    obj = out / "m64.o"
    api.snapshot(str(obj), str(snapshot), ("task_struct", "signal_struct", "pid", "upid", "fpu", "hlist_node",
                                           "thread_struct"))
    seeds.append(Seed("snapshot", "seed-m64", snapshot.read_bytes()))
    for bundled in api.bundled_snapshots()[:1]:
        seeds.append(Seed("snapshot", bundled.name, bundled.read_bytes()))
    for scenario in sorted((ROOT / "data" / "scenarios").glob("*.toml")):
        seeds.append(Seed("scenario", scenario.name, scenario.read_bytes()))
    seeds.append(Seed("patch", "flat_pid.patch", (ROOT / "tests" / "fixtures" / "flat_pid.patch").read_bytes()))
    if hasattr(api, "baseline"):  # the CI gate's files (layoutcalc baseline / check --budget)
        baseline = out / "seed.baseline.json"
        api.baseline(str(obj), str(baseline))
        seeds.append(Seed("baseline", "seed-m64", baseline.read_bytes()))
        seeds.append(Seed("budget", "sample", BUDGET.encode()))
    return seeds


BUDGET = """allow = ["hlist_*"]

[defaults]
growth = 0
cachelines = true

[struct.task_struct]
growth = 64
size_class = false

[struct."pid*"]
growth = 8
"""
