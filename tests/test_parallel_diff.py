"""A diff reads its two builds at once (the old one in a forked process): the same result as one after the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from layoutcalc import api
from layoutcalc.render.diff import diff_text

from cc import compile_c

OLD = "struct a { char c; long l; }; struct b { int x; }; struct a ga; struct b gb;\n"
NEW = "struct a { char c; int i; long l; }; struct c { short s; }; struct a ga; struct c gc;\n"


def test_diff_read_in_parallel_equals_sequential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = str(compile_c(OLD, tmp_path, "old"))
    new = str(compile_c(NEW, tmp_path, "new"))
    assert api._catalogue_aside(old, (), "auto") is not None  # two cores here: the old build is read aside
    parallel = api.diff(old, new)
    sequential = api.diff(old, new, progress=lambda path: None)
    assert diff_text(parallel) == diff_text(sequential)
    assert parallel.changes == sequential.changes and parallel.summary == sequential.summary
    assert "added    int i;" in diff_text(parallel) and parallel.summary.added == parallel.summary.removed == 1
