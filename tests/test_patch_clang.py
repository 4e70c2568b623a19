"""Patches on clang-built objects: the prediction equals what clang lays out (its own DWARF).

Each case is a header with and without a patch's members.  The patch is the
``diff -up`` between the two (function context included, as kernel developers
send it); the "off" object is what we read, the "on" object is the oracle.
clang's DWARF holds the internal base type ``__ARRAY_SIZE_TYPE__`` (8 bytes)
next to ``int``; a patch's ``int`` must never resolve to it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cc import TARGETS, compile_c, have

from layoutcalc import api

pytestmark = pytest.mark.skipif(not have("clang") or not have("diff"), reason="needs clang and diff")

HEADER = """\
typedef int pid_t;
typedef unsigned long long u64;

struct demo {
\tchar\t\t\ttag;
\tint\t\t\tcount;
\tunsigned short\t\tflags;
\tunsigned int\t\ta:3;
\tunsigned int\t\tb:5;
\tlong\t\t\tstamp;
\tchar\t\t\tname[3];
\tpid_t\t\t\towner;
\tunsigned char\t\tlast;
};

struct demo demo_instance;
"""

# (case, [(member to add after, declaration lines)])
CASES = [
    ("int", [("tag", ["int\t\t\tafter_tag;"])]),
    ("long", [("count", ["long\t\t\tafter_count;"])]),
    ("unsigned-short", [("flags", ["unsigned short\t\tafter_flags;"])]),
    ("bitfield-fits", [("b", ["unsigned int\t\tc:4;"])]),
    ("bitfield-new-unit", [("b", ["unsigned int\t\td:30;"])]),
    ("bitfield-zero-width", [("b", ["unsigned int\t\t:0;", "unsigned int\t\te:2;"])]),
    ("all-four", [("tag", ["int\t\t\tx;"]), ("stamp", ["unsigned short\t\ty;", "long\t\t\tz;"]),
                  ("last", ["unsigned char\t\tw:1;"])]),
]
CLANG_TARGETS = ["clang-x86_64", "clang-i386", "clang-aarch64", "clang-arm"]
TARGETS.setdefault("clang-x86_64", (["clang", "--target=x86_64-linux-gnu"], "x86_64"))
TARGETS.setdefault("clang-i386", (["clang", "--target=i386-linux-gnu"], "i386"))


def _patched(additions: list[tuple[str, list[str]]]) -> str:
    lines = HEADER.splitlines()
    for after, declarations in reversed(additions):
        index = next(i for i, line in enumerate(lines) if re.match(rf"^\t.*\b{after}\b[^;]*;$", line))
        lines[index + 1:index + 1] = [f"\t{d}" for d in declarations]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("target", CLANG_TARGETS)
@pytest.mark.parametrize(("case", "additions"), CASES, ids=[c for c, _ in CASES])
def test_clang_patch_prediction_is_exact(tmp_path: Path, target: str, case: str,
                                         additions: list[tuple[str, list[str]]]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "demo.h").write_text(HEADER)
    (tmp_path / "b" / "demo.h").write_text(_patched(additions))
    diff = subprocess.run(["diff", "-up", "a/demo.h", "b/demo.h"], cwd=tmp_path, capture_output=True, text=True)
    assert diff.returncode == 1, diff.stderr
    patch = tmp_path / f"{case}.patch"
    patch.write_text(diff.stdout)
    off = compile_c(HEADER, tmp_path, "off", target)
    on = compile_c(_patched(additions), tmp_path, "on", target)

    (item,) = api.whatif_run(str(off), patch=str(patch)).results
    truth = api.load(str(on), structs=["demo"]).get_struct("demo")
    predicted = [(m.name, m.bit_offset, m.bit_size) for m in item.result.after.members if m.name]
    assert predicted == [(m.name, m.bit_offset, m.bit_size) for m in truth.members if m.name]
    assert item.result.size_after == truth.size_bytes
