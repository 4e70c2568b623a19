"""The seeded CI slice of the second fuzz campaign (tests/fuzz2/): every run is ok or one clean error line.

The long run is ``python3 -m tests.fuzz2.run --cases 4500 --seed N``; this slice runs 6 generated cases
of each input kind of seed 23 (the byte damage to real Debian builds' .BTF only when the build cache
holds them), in well under a minute.
"""

from __future__ import annotations

import collections
import shutil

import pytest

from fuzz2.run import FAILURES, KINDS, campaign, summary

CASES = 6 * len(KINDS)


@pytest.mark.skipif(not shutil.which("gcc") or not shutil.which("objcopy"), reason="the seeds are compiled")
def test_fuzz2_slice(tmp_path):
    results = campaign(CASES, seed=23, work=tmp_path, keep=tmp_path / "failures")
    bad = [r for r in results if r.outcome in FAILURES]
    assert not bad, summary(results) + "\n" + "\n".join(
        f"{r.case.kind} {r.outcome}: {r.case.args} {r.detail[:400]}" for r in bad)
    outcomes = collections.Counter(r.outcome for r in results)
    kinds = collections.Counter(r.case.kind for r in results)
    assert outcomes["ok"] >= 5 and outcomes["clean error"] >= CASES // 3, outcomes
    assert len(kinds) >= len(KINDS) - 1, kinds
