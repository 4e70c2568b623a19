"""The import graph: imports point down the layers, and no cycle outside the DWARF/BTF readers.

The graph is read by scripts/check-imports (ast, imports inside functions included). The
readers' modules (dwarf, fastpath, dwarfscan, rawdie, typeindex, locate, btf, elf) still form one
cycle among themselves: splitting them into a readers/dwarf/ package is open work (issue 19).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _report() -> list[str]:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check-imports")], capture_output=True, text=True)
    return done.stdout.splitlines()


def test_no_module_imports_from_a_layer_above() -> None:
    lines = _report()
    assert lines and lines[-1].endswith("0 upward imports"), lines[-1:]
    assert [line for line in lines if line.startswith("upward:")] == []


def test_no_cycle_outside_the_readers() -> None:
    cycles = [line for line in _report() if line.startswith("cycle")]
    outside = [line for line in cycles
               if any(not name.startswith("layoutcalc.readers") for name in line.split(": ", 1)[1].split(", "))]
    assert outside == []


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """The checker itself can fail: a package with a cycle and an upward import is reported as such."""
    package = tmp_path / "layoutcalc"
    (package / "readers").mkdir(parents=True)
    (package / "render").mkdir()
    (package / "__init__.py").write_text("")
    (package / "readers" / "__init__.py").write_text("")
    (package / "render" / "__init__.py").write_text("")
    (package / "readers" / "a.py").write_text("def f():\n    from ..render import b\n")
    (package / "render" / "b.py").write_text("from ..readers import a\n")
    script = (ROOT / "scripts" / "check-imports").read_text()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "check-imports").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "scripts" / "check-imports")], capture_output=True,
                          text=True)
    assert done.returncode == 1
    assert "upward: layoutcalc.readers.a (readers) imports layoutcalc.render.b (render)" in done.stdout
    assert "cycle of 2: layoutcalc.readers.a, layoutcalc.render.b" in done.stdout
