"""layoutcalc against pahole on real Debian vmlinux builds (fetched, never committed)."""

from __future__ import annotations

import pahole_oracle
import pytest
from realbuilds import BUILDS, vmlinux

from layoutcalc import api

SEED_STRUCTS = ["task_struct", "signal_struct", "pid"]

pytestmark = pytest.mark.realbuild


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_seed_structs_agree_with_pahole(key):
    if not pahole_oracle.PAHOLE:
        pytest.skip("pahole (dwarves) not installed")
    path = vmlinux(key)
    theirs = pahole_oracle.pahole_structs(path, SEED_STRUCTS)
    build = api.load(path, structs=SEED_STRUCTS)
    for struct, stats in api.show(build, SEED_STRUCTS).layouts:
        assert pahole_oracle.compare(stats.as_dict(), theirs[struct.name]) == [], (key, struct.name)
        assert stats.invariant_holds(), (key, struct.name)


def test_amd64_figures_from_real_builds_md():
    """The figures measured with pahole 1.24 and written down in shared/real-builds.md."""
    build = api.load(vmlinux("amd64"), structs=SEED_STRUCTS)
    got = {s.name: (st.size, st.members, st.holes, st.sum_holes, st.forced_alignments)
           for s, st in api.show(build, SEED_STRUCTS).layouts}
    assert got == {"task_struct": (9728, 242, 21, 146, 9), "signal_struct": (1112, 65, 5, 15, 1),
                   "pid": (96, 8, 1, 4, 1)}


def _sizes_table(text: str) -> dict[str, tuple[int, int]]:
    table: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            table.setdefault(parts[0], (int(parts[1]), int(parts[2])))
    return table


def test_sizes_agree_with_pahole_on_every_struct():
    """Whole amd64 build: every name both list has the same size and number of holes (seconds, through the index)."""
    import subprocess

    from click.testing import CliRunner

    from layoutcalc.cli import main
    if not pahole_oracle.PAHOLE:
        pytest.skip("pahole (dwarves) not installed")
    path = vmlinux("amd64")
    pahole_rows = subprocess.run([pahole_oracle.PAHOLE, "-F", "dwarf", "--sizes", path], check=True,
                                 capture_output=True, text=True).stdout.splitlines()
    theirs = _sizes_table("\n".join(pahole_rows))
    result = CliRunner().invoke(main, ["sizes", "-i", path])
    assert result.exit_code == 0
    ours = _sizes_table(result.output)
    common = set(ours) & set(theirs)
    assert len(common) == len(theirs) > 7000
    assert [name for name in sorted(common) if ours[name] != theirs[name]] == []
    # Every same-name definition too (7453 rows for 7445 names): the same rows in the same order as
    # single-threaded pahole, read through the index's declaration sites (see test_fastpath for plain == fast).
    assert result.output.splitlines() == pahole_rows


def test_truncated_vmlinux_is_one_line(tmp_path):
    from click.testing import CliRunner

    from layoutcalc.cli import main
    path = vmlinux("amd64")
    truncated = tmp_path / "vmlinux-truncated"
    with open(path, "rb") as source, open(truncated, "wb") as out:
        out.write(source.read(50_000_000))
    result = CliRunner().invoke(main, ["show", "pid", "-i", str(truncated)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {truncated}: cannot read ELF headers, truncated or damaged file?")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("key", sorted(BUILDS))
def test_report_on_vmlinux_equals_report_on_its_snapshot(key):
    """The bundled snapshots hold everything the report needs: -i on the vmlinux gives the same rows."""
    from layoutcalc.features.report import ReportOptions
    path = vmlinux(key)
    (snapshot,) = [p for p in api.bundled_snapshots() if p.name.startswith(f"debian-{path.rsplit('vmlinux-', 1)[1]}")]
    direct = api.report([path], "flat", ReportOptions()).reports
    bundled = api.report([str(snapshot)], "flat", ReportOptions()).reports
    strip = lambda rows: [{k: v for k, v in r.as_dict().items() if k != "build"} for r in rows]  # noqa: E731
    assert strip(direct[0].rows) == strip(bundled[0].rows)
    assert len(direct[0].rows) == 3
