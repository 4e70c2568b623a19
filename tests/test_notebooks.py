"""Notebooks are committed without outputs and executed here, top to bottom, by a real Jupyter kernel.

A notebook fails the test if any cell raises, if a cell tagged ``figure``
shows no PNG, or if a cell tagged ``grid`` shows no HTML cacheline grid.  The
kernel runs in the repository root, so it imports the layoutcalc under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _outputs(cell) -> list:  # type: ignore[no-untyped-def]
    return [o for o in cell.get("outputs", []) if o.output_type in ("display_data", "execute_result")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_is_committed_clean(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in code), \
        "commit notebooks without outputs"
    assert any(cell.cell_type == "markdown" for cell in notebook.cells), "a notebook tells its story in prose"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    figures = [cell for cell in code if "figure" in cell.metadata.get("tags", [])]
    assert figures, "each notebook draws at least one figure"
    for cell in figures:
        assert any("image/png" in o.get("data", {}) for o in _outputs(cell)), f"no image from: {cell.source}"
    for cell in (c for c in code if "grid" in c.metadata.get("tags", [])):
        assert any('class="lc-map"' in o.get("data", {}).get("text/html", "") for o in _outputs(cell)), \
            f"no cacheline grid from: {cell.source}"


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS, "notebooks/ should hold at least one notebook"
