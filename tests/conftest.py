"""Fixtures and markers shared by the test modules.

Markers (registered in pyproject.toml):
- ``realbuild``: needs a Debian vmlinux-dbg or source package, fetched into ~/.cache/layoutcalc;
- ``live``: reads the running kernel (/sys/kernel/btf, /sys/kernel/slab);
- ``slow``: over about ten seconds on an idle 2-core machine (wheel builds, whole-build sweeps).

The fast run is ``python3 -m pytest -m "not realbuild and not slow"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache root of the test's own, never the user's: ``$LAYOUTCALC_CACHE`` (which wins over
    ``$XDG_CACHE_HOME``), under which the scan cache and source mode's compiled trees live."""
    root = tmp_path / "cache"
    monkeypatch.setenv("LAYOUTCALC_CACHE", str(root))
    return root


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two objects compiled by gcc at test time, the second with structs grown, shrunk, added and removed.

    (tests/test_frames_diff.py defines a ``pair`` of its own, which takes precedence there.)
    """
    from growth import build_pair
    return build_pair(tmp_path_factory.mktemp("growth"))
