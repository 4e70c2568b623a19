"""The 6.12 patch corpus (tests/patches612, written by make_corpus.py from linux-source-6.12 6.12.118 headers):
every kind of layout edit issue 17 lists, predicted on the 6.12.118 cloud-amd64 dbg vmlinux and compared,
member by member, with gcc on the patched linux-source-6.12 compiled with its cloud-amd64 config.

Each prediction is exact (and then must equal gcc's layout), bounded (gcc's size must lie inside), or
refused with one line; :data:`REFUSED` lists the refusals we accept.  ``revert-*`` patches are real
changes between 6.1.176 and 6.12.118 (make_reverts.py: one changed run of a struct body put back as 6.1
had it), kept when the patched 6.12 tree compiles; the others are written by make_corpus.py.  The fast
slice (every run) is ``test_corpus_is_read_without_a_build`` plus tests/test_patch_edits_gcc.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from kernel_trees import CACHE, linux_612
from realbuilds import vmlinux

from layoutcalc import api
from layoutcalc.changes.rewrite import rewrite_needs
from layoutcalc.errors import LayoutcalcError

CORPUS = Path(__file__).parent / "patches612"
PATCHES = sorted(p.name for p in CORPUS.glob("*.patch"))
#: Patches refused (one line) by design, with the reason.
REFUSED: dict[str, str] = {
    "revert-bio-05.patch": "a hunk ends inside the new union",  # half a change: the union never closes
    "revert-mm_struct-17.patch": "struct mm_rss_stat is not defined",  # a type 6.12 no longer has
    "revert-module-01.patch": "cannot parse declaration",  # __module_layout_align: a macro not in the patch
    "revert-net_device-36.patch": "cannot evaluate 'XPS_MAPS_MAX'",  # a macro not in the patch
    "revert-net_device-52.patch": "cannot evaluate 'TC_MAX_QUEUE'",
    "revert-sock-37.patch": "unknown type 'sk_no_check_rx'",  # a bitfield split over lines by a macro
    "revert-task_struct-35.patch": "cannot evaluate 'perf_nr_task_contexts'",  # an enumerator 6.12 dropped
}


def _needs() -> tuple[list[str], list[str]]:
    structs: set[str] = set()
    types: set[str] = set()
    for name in PATCHES:
        s, t = rewrite_needs((CORPUS / name).read_text(), name)
        structs |= set(s)
        types |= set(t)
    return sorted(structs), sorted(types)


def snapshot_612() -> str:
    structs, types = _needs()
    key = hashlib.sha256((" ".join(structs) + "|" + " ".join(types)).encode()).hexdigest()[:12]
    snapshot = CACHE / "snapshots" / f"vmlinux-6.12.118-cloud-amd64-corpus-{key}.snapshot.json"
    if not snapshot.is_file():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        path = vmlinux("6.12-cloud-amd64")
        present = api.load(path, structs=structs, types=types)  # reverts name types 6.12 no longer has
        api.snapshot(path, str(snapshot), [name for name in structs if present.has_struct(name)], types)
    return str(snapshot)


@pytest.mark.realbuild
@pytest.mark.parametrize("patch", PATCHES)
def test_612_prediction_on_vmlinux_against_gcc(patch):
    tree, config = linux_612()
    path = str(CORPUS / patch)
    if patch in REFUSED:
        with pytest.raises(LayoutcalcError, match=REFUSED[patch].replace("(", r"\(")):
            api.whatif_run(snapshot_612(), patch=path, config=config)
        return
    run = api.whatif_run(snapshot_612(), patch=path, config=config)
    checks = api.verify_patch(tree, path, "x86_64", config, predict_on=snapshot_612()).checks
    assert checks
    for item, check in zip(run.results, checks):
        truth = check.size_compiled
        if item.result.exact:
            assert check.equal, (item.struct_name, check.mismatches[:3])
        else:
            assert item.result.size_after_min <= truth <= item.result.size_after_max


def test_corpus_is_read_without_a_build():
    """The fast slice (every run): each patch is a diff whose structs and types can be named."""
    assert len(PATCHES) >= 140
    for name in PATCHES:
        structs, _ = rewrite_needs((CORPUS / name).read_text(), name)
        assert structs, name
