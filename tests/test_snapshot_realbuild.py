"""Each bundled snapshot keeps every member of the seed's structs exactly as its vmlinux has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from realbuilds import BUILDS, vmlinux

from layoutcalc.datafiles import data_dir
from layoutcalc import api
from layoutcalc.render.structs import member_dict

SEED_STRUCTS = ["task_struct", "signal_struct", "pid"]

pytestmark = pytest.mark.realbuild


def _snapshot_of(key: str) -> str:
    release = BUILDS[key][1].removeprefix("vmlinux-")
    return str(data_dir() / f"debian-{release}.snapshot.json")


BUNDLED = [key for key in sorted(BUILDS) if Path(_snapshot_of(key)).exists()]


def _fields(path: str) -> dict[str, list[dict[str, object]]]:
    """Per struct: name, type text, offset, size, bit offset and bit size of every member."""
    build = api.load(path, structs=SEED_STRUCTS)
    return {name: [member_dict(m) for m in build.get_struct(name).members] for name in SEED_STRUCTS}


def test_every_bundled_snapshot_is_checked():
    assert len(BUNDLED) == len([p for p in api.bundled_snapshots() if p.name.startswith("debian-")]) == 4


@pytest.mark.parametrize("key", BUNDLED)
def test_snapshot_members_equal_vmlinux_members(key):
    path = vmlinux(key)
    from_vmlinux = _fields(path)
    from_snapshot = _fields(_snapshot_of(key))
    for name in SEED_STRUCTS:
        assert len(from_snapshot[name]) == len(from_vmlinux[name]) > 0, (key, name)
        for ours, real in zip(from_snapshot[name], from_vmlinux[name]):
            assert ours == real, (key, name)
