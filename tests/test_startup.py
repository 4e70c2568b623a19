"""Start-up: a cached report is the report, and a changed input is never served a stale one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main


def _report(args: list[str]) -> str:
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_cached_report_equals_the_computed_one_and_follows_its_inputs(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    snapshot = tmp_path / "amd64.snapshot.json"
    shutil.copy(next(p for p in api.bundled_snapshots() if "47-cloud-amd64" in p.name), snapshot)
    first = _report(["-i", str(snapshot)])
    assert list((tmp_path / "cache" / "layoutcalc" / "report").iterdir())
    assert _report(["-i", str(snapshot)]) == first
    assert "pid" in first and "signal_struct" in first
    # Grow struct pid's recorded size by 64 bytes: same file name, same length class, new bytes.
    data = json.loads(snapshot.read_text())
    data["types"][data["roots"]["structs"]["pid"]]["s"] += 64
    snapshot.write_text(json.dumps(data))
    changed = _report(["-i", str(snapshot)])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh"))
    assert changed == _report(["-i", str(snapshot)])  # what an empty cache computes
    assert changed != first
    assert _report(["-i", str(snapshot), "--processes", "7"]) != changed
