"""`show` on BTF equals `pahole -F btf` on every summary statistic, forced alignments included.

pahole 1.24 infers forced alignments from BTF (``btf_loader.c:
class__infer_alignment``); :mod:`layoutcalc.analysis.facts` reproduces that
rule for the statistics.  Checked on every struct of the running kernel's BTF
and on a compiled object whose attributes pahole -J turned into BTF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pahole_oracle
import pytest

from layoutcalc import api

LIVE_BTF = "/sys/kernel/btf/vmlinux"
needs_pahole = pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")
needs_live_btf = pytest.mark.skipif(not os.access(LIVE_BTF, os.R_OK), reason=f"{LIVE_BTF} not readable")


def _disagreements(path: str) -> tuple[int, dict[str, list[str]], int]:
    """(structs compared, {name: differing statistics}, structs with forced alignments)."""
    out = subprocess.run([pahole_oracle.PAHOLE or "pahole", "-F", "btf", path], check=True, capture_output=True,
                         text=True).stdout
    blocks = {name: block for name, block in pahole_oracle.split_structs(out).items() if "/* size:" in block}
    build = api.load(path)
    differing = {}
    for name, block in blocks.items():
        stats = api.struct_stats(build, build.get_struct(name))
        problems = pahole_oracle.compare(stats.as_dict(), pahole_oracle.parse_summary(block))
        if problems:
            differing[name] = problems
    return len(blocks), differing, sum(1 for block in blocks.values() if "forced alignments" in block)


@needs_pahole
@needs_live_btf
def test_every_struct_of_the_running_kernel_equals_pahole() -> None:
    compared, differing, forced = _disagreements(LIVE_BTF)
    assert compared > 1000 and forced > 10
    assert differing == {}


SOURCE = """
struct s { long m0, m1; long m2 __attribute__((aligned(32))); short m3 __attribute__((aligned(16))); int m4; };
struct line { int a; char b __attribute__((aligned(64))); };
struct bits { char c; int b1:3; int b2:5; long l __attribute__((aligned(16))); };
union u { char c; struct line l; };
struct s v1; struct line v2; struct bits v3; union u v4;
"""


@needs_pahole
@pytest.mark.skipif(not shutil.which("gcc"), reason="gcc not installed")
def test_compiled_object_btf_equals_pahole(tmp_path: Path) -> None:
    source = tmp_path / "aligned.c"
    source.write_text(SOURCE)
    obj = tmp_path / "aligned.o"
    subprocess.run(["gcc", "-c", "-g", str(source), "-o", str(obj)], check=True)
    subprocess.run([pahole_oracle.PAHOLE or "pahole", "-J", str(obj)], check=True, capture_output=True)
    blob = tmp_path / "aligned.btf"
    subprocess.run(["objcopy", "--dump-section", f".BTF={blob}", str(obj), str(tmp_path / "unused.o")], check=True)
    compared, differing, forced = _disagreements(str(blob))
    assert (compared, forced) == (3, 3) and differing == {}
