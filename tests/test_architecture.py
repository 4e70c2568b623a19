"""The import graph: imports point down the layers, no cycle, and no private name crosses a module.

The graph is read by scripts/check-imports (ast, imports inside functions included).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "layoutcalc"


def _report() -> list[str]:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check-imports")], capture_output=True, text=True)
    return done.stdout.splitlines()


def test_no_module_imports_from_a_layer_above() -> None:
    lines = _report()
    assert lines and lines[-1].endswith("0 upward imports"), lines[-1:]
    assert [line for line in lines if line.startswith("upward:")] == []


def test_no_import_cycle() -> None:
    lines = _report()
    assert [line for line in lines if line.startswith("cycle")] == []
    assert lines and ", 0 cycles, " in lines[-1], lines[-1:]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_of(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def private_crossings(package: Path) -> list[str]:
    """Every private name (``_x``, not a dunder) one module of ``package`` takes from another.

    Both ways count: ``from .other import _x``, and ``other._x`` where ``other``
    is a module of the package bound by an import.  ``__future__`` is exempt.
    """
    modules = {_module_of(path, package): path for path in package.rglob("*.py")}
    found = []
    for module, path in sorted(modules.items()):
        tree = ast.parse(path.read_text())
        home = module if path.name == "__init__.py" else module.rpartition(".")[0]
        bound: set[str] = set()  # local names bound to modules of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                if node.level:
                    base = home.split(".")[:len(home.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        bound.add(alias.asname or alias.name)
                    elif _private(alias.name) and source != module and source.split(".")[0] == package.name:
                        found.append(f"{path.relative_to(package.parent)}:{node.lineno}: "
                                     f"from {source} import {alias.name}")
            elif isinstance(node, ast.Import):
                bound.update(alias.asname for alias in node.names if alias.asname and alias.name in modules)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and _private(node.attr)):
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_private_name_crosses_a_module() -> None:
    assert private_crossings(PACKAGE) == []


def test_the_private_name_check_can_fail(tmp_path: Path) -> None:
    """An import of another module's private name, or a use of one through the module, is found; dunders are not."""
    package = tmp_path / "layoutcalc"
    (package / "readers").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "readers" / "__init__.py").write_text("from .a import __all__ as _a_all\n")
    (package / "readers" / "a.py").write_text("__all__ = []\n_hidden = 1\n\ndef f():\n    return _hidden\n")
    (package / "readers" / "b.py").write_text("from __future__ import annotations\n\nfrom . import a\n"
                                              "from .a import _hidden\n\ndef g():\n    return a._hidden\n")
    assert private_crossings(package) == ["layoutcalc/readers/b.py:4: from layoutcalc.readers.a import _hidden",
                                          "layoutcalc/readers/b.py:7: a._hidden"]


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
    # a submodule taken from its package depends on that module, a name defined by the package on the package
    (package / "readers" / "c.py").write_text("from . import a\n")
    (package / "readers" / "d.py").write_text("from . import VALUE\n")
    (package / "readers" / "__init__.py").write_text("VALUE = 1\n\ndef f():\n    from . import c, d\n")
    script = (ROOT / "scripts" / "check-imports").read_text()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "check-imports").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "scripts" / "check-imports")], capture_output=True,
                          text=True)
    assert done.returncode == 1
    assert "upward: layoutcalc.readers.a (readers) imports layoutcalc.render.b (render)" in done.stdout
    assert "cycle of 2: layoutcalc.readers.a, layoutcalc.render.b" in done.stdout
    assert "cycle of 2: layoutcalc.readers, layoutcalc.readers.d" in done.stdout
    assert done.stdout.count("cycle of") == 2  # readers.c imports readers.a, not the package
