"""Each bundled snapshot keeps every member of the seed's structs exactly as its vmlinux has it."""

from __future__ import annotations

import pytest
from realbuilds import BUILDS, vmlinux

from layoutcalc import api
from layoutcalc.render.structs import member_dict

SEED_STRUCTS = ["task_struct", "signal_struct", "pid"]

pytestmark = pytest.mark.realbuild


def _snapshot_of(path: str) -> str:
    release = path.rsplit("vmlinux-", 1)[1]
    (snapshot,) = [p for p in api.bundled_snapshots() if p.name == f"debian-{release}.snapshot.json"]
    return str(snapshot)


def _fields(path: str) -> dict[str, list[dict[str, object]]]:
    """Per struct: name, type text, offset, size, bit offset and bit size of every member."""
    build = api.load(path, structs=SEED_STRUCTS)
    return {name: [member_dict(m) for m in build.get_struct(name).members] for name in SEED_STRUCTS}


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_snapshot_members_equal_vmlinux_members(key):
    path = vmlinux(key)
    from_vmlinux = _fields(path)
    from_snapshot = _fields(_snapshot_of(path))
    for name in SEED_STRUCTS:
        assert len(from_snapshot[name]) == len(from_vmlinux[name]) > 0, (key, name)
        for ours, real in zip(from_snapshot[name], from_vmlinux[name]):
            assert ours == real, (key, name)
