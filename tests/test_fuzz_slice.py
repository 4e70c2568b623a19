"""The seeded CI slice of the fuzz campaign (tests/fuzz/): every run is ok or one clean error line.

The long run is ``python3 -m tests.fuzz.run --cases 10000 --seed 1``; this slice runs
the first cases of another seed, every input kind in turn, in about a minute.
"""

from __future__ import annotations

import collections
import shutil

import pytest

from fuzz.run import campaign, summary

CASES = 210  # 30 per input kind


@pytest.mark.skipif(not shutil.which("gcc"), reason="the seed objects are compiled with gcc")
def test_fuzz_slice_never_traces_back_hangs_or_blows_up(tmp_path):
    results = campaign(CASES, seed=13, keep=tmp_path / "failures")
    bad = [r for r in results if r.outcome not in ("ok", "clean error")]
    assert not bad, summary(results) + "\n" + "\n".join(
        f"case {r.case.index} {r.case.kind} {r.case.mutator} {r.outcome}: {r.case.args} {r.stderr[-500:]}"
        for r in bad)
    outcomes = collections.Counter(r.outcome for r in results)
    kinds = collections.Counter(r.case.kind for r in results)
    # the mutants must reach both ends: some still work, many are rejected, every kind ran
    assert outcomes["ok"] >= CASES // 10 and outcomes["clean error"] >= CASES // 3, outcomes
    assert len(kinds) >= 6 and min(kinds.values()) >= CASES // 10, kinds
