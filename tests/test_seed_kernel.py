"""The seed's own kernel, Linux 2.6.22.19 (x86_64 and i386 defconfig), as bundled in data/.

Every figure below is worked out by hand from that tree's mm/slab.c in
docs/seed-kernel.md (kmem_cache_create, calculate_slab_order, cache_estimate,
slab_break_gfp_order = 1, off-slab management); this test checks that the
report computes the same from the bundled snapshots.
"""

from __future__ import annotations

import pytest

from layoutcalc.datafiles import data_dir
from layoutcalc import api
from layoutcalc.abi import get_abi
from layoutcalc.features.report import ReportOptions
from layoutcalc.slab.era import decide_era

SNAPSHOTS = {arch: data_dir() / f"linux-2.6.22.19-{arch}-defconfig.snapshot.json" for arch in ("x86_64", "i386")}

# (arch, struct) -> (sizeof off, on, buffer_size off, on, objects per slab off, on, order off, on,
#                    bytes per object off, on), from docs/seed-kernel.md
HAND = {
    ("x86_64", "task_struct"): (1712, 1728, 1712, 1728, 4, 4, 1, 1, 2048.0, 2048.0),
    ("x86_64", "signal_struct"): (672, 680, 768, 768, 5, 5, 0, 0, 819.2, 819.2),
    ("x86_64", "pid"): (64, 96, 64, 96, 59, 40, 0, 0, 4096 / 59, 102.4),
    ("i386", "task_struct"): (1296, 1296, 1296, 1296, 3, 3, 0, 0, 4096 / 3, 4096 / 3),
    ("i386", "signal_struct"): (376, 384, 384, 384, 10, 10, 0, 0, 409.6, 409.6),
    ("i386", "pid"): (36, 52, 36, 52, 101, 72, 0, 0, 4096 / 101, 4096 / 72),
}


@pytest.fixture(scope="module")
def reports():
    found = api.report([str(p) for p in SNAPSHOTS.values()], "flat", ReportOptions()).reports
    return {report.arch: report for report in found}


@pytest.mark.parametrize("arch, struct", sorted(HAND))
def test_report_figures_equal_the_hand_derivation(reports, arch, struct):
    row = reports[arch].row(struct)
    got = (row.size_off, row.size_on, row.off.slab_size, row.on.slab_size, row.off.objs_per_slab,
           row.on.objs_per_slab, row.off.order, row.on.order)
    assert got == HAND[arch, struct][:8]
    assert row.off.bytes_per_object == pytest.approx(HAND[arch, struct][8])
    assert row.on.bytes_per_object == pytest.approx(HAND[arch, struct][9])
    assert row.allocator == "slab"


def test_era_comes_from_the_recorded_config():
    for arch, path in SNAPSHOTS.items():
        build = api.load(str(path))
        era = decide_era(build, get_abi(arch))
        assert (era.generation, era.allocator, era.cache_line) == ("2.6.22", "slab", 128)
        assert "CONFIG_SLAB=y" in era.evidence
        assert build.provenance.version == "1ee3a188bad8ab75f7961187a8a9e56ad54720f8"
        assert build.provenance.release == "2.6.22.19"


def test_with_64_byte_lines_signal_cache_would_differ(reports):
    """The recorded 128-byte L1_CACHE_BYTES matters: on 64-byte lines signal_cache packs tighter."""
    build = api.load(str(SNAPSHOTS["x86_64"]))
    build.provenance = build.provenance.without("kernel_config")
    era = decide_era(build, get_abi("x86_64"))
    assert era.cache_line == 64 and era.allocator == "slab"  # still SLAB: struct pid shows the era
    from layoutcalc.slab.specs import cache_specs_for_build
    from layoutcalc.slab.geometry import era_geometry
    signal = next(s for s in cache_specs_for_build(build, get_abi("x86_64"), era=era) if s.name == "signal_cache")
    assert era_geometry(signal, era).slab_size == 704 != reports["x86_64"].row("signal_struct").off.slab_size


def test_report_leads_with_the_seed_kernel():
    from click.testing import CliRunner

    from layoutcalc.cli import main
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[2].startswith("In 2007, on the seed's kernel (2.6.22, SLAB: linux-2.6.22.19-i386, "
                               "linux-2.6.22.19-x86_64)")
    assert "CONFIG_SLAB=y" in lines[3] and "128-byte cache lines" in lines[3]
    assert lines[6] == '  "the only problem is with struct pid": HOLDS (bytes per object: i386 +16.3, x86_64 +33.0)'
