"""layoutcalc against pahole on real Debian vmlinux builds (fetched, never committed)."""

from __future__ import annotations

import pytest

from layoutcalc import api

import pahole_oracle
from realbuilds import BUILDS, vmlinux

SEED_STRUCTS = ["task_struct", "signal_struct", "pid"]

pytestmark = pytest.mark.realbuild


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_seed_structs_agree_with_pahole(key):
    if not pahole_oracle.PAHOLE:
        pytest.skip("pahole (dwarves) not installed")
    path = vmlinux(key)
    theirs = pahole_oracle.pahole_structs(path, SEED_STRUCTS)
    build = api.load(path, structs=SEED_STRUCTS)
    for struct, stats in api.show(build, SEED_STRUCTS):
        assert pahole_oracle.compare(stats.as_dict(), theirs[struct.name]) == [], (key, struct.name)
        assert stats.invariant_holds(), (key, struct.name)


def test_amd64_figures_from_real_builds_md():
    """The figures measured with pahole 1.24 and written down in shared/real-builds.md."""
    build = api.load(vmlinux("amd64"), structs=SEED_STRUCTS)
    got = {s.name: (st.size, st.members, st.holes, st.sum_holes, st.forced_alignments)
           for s, st in api.show(build, SEED_STRUCTS)}
    assert got == {"task_struct": (9728, 242, 21, 146, 9), "signal_struct": (1112, 65, 5, 15, 1),
                   "pid": (96, 8, 1, 4, 1)}
