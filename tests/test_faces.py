"""The notebook face and the CLI are views of one result: they print the same text and the same warnings.

The oracle is the CLI's own output (click's runner), compared with the notebook objects over
real inputs: every struct sampled from the running kernel's BTF, and the bundled snapshots.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

import layoutcalc
from layoutcalc import api
from layoutcalc.cli import main

LIVE_BTF = "/sys/kernel/btf/vmlinux"
PATCHES = Path(__file__).parent / "patches"


@pytest.mark.live
def test_struct_text_equals_show_for_300_structs_of_the_running_kernel() -> None:
    if not os.access(LIVE_BTF, os.R_OK):
        pytest.skip(f"{LIVE_BTF} is not readable here")
    build = layoutcalc.load(LIVE_BTF)
    names = sorted({name for name, _, _ in api.sizes(build.model) if name})
    # Include the three whose text once differed (a "Force padding" block instead of __aligned__).
    sample = ["mm_struct", "task_struct", "rq", *random.Random(19).sample(names, 300)]
    runner = CliRunner()
    cli = runner.invoke(main, ["show", *sample, "-i", LIVE_BTF])
    assert cli.exit_code == 0, cli.output
    notebook = "".join(build.struct(name).text() for name in sample)
    assert notebook.count("\nstruct ") + notebook.count("\nunion ") + 1 >= 300
    assert "__aligned__" in build.struct("mm_struct").text()
    assert notebook == cli.output


def test_struct_text_equals_show_on_every_bundled_snapshot() -> None:
    runner = CliRunner()
    for build in layoutcalc.bundled():
        for name in ("task_struct", "signal_struct", "pid"):
            cli = runner.invoke(main, ["show", name, "-i", build.path])
            assert cli.exit_code == 0, cli.output
            assert build.struct(name).text() == cli.output


def test_whatif_warnings_and_text_equal_the_cli(tmp_path: Path) -> None:
    snapshot = str(api.bundled_snapshots()[0])
    # Two mails in one file: a member added to struct pid, and one in a CONFIG_CGROUPS block
    # that no --config decides, which is left out with one warning.
    patch = tmp_path / "two.patch"
    patch.write_text((PATCHES / "pid-last-used.patch").read_text()
                     + (PATCHES / "task-cgroups-undefined.patch").read_text())
    cli = _invoke(["whatif", "-i", snapshot, "--patch", str(patch)])
    assert cli.exit_code == 0, cli.output
    warnings = [line.removeprefix("warning: ") for line in cli.stderr.splitlines() if line.startswith("warning: ")]
    result = layoutcalc.load(snapshot).whatif(patch=str(patch))
    assert any("CONFIG_CGROUPS" in w and "cgroup_flags" in w for w in warnings)
    assert result.warnings == warnings
    assert [item.struct_name for item in result.items if item.result.size_delta] == ["pid"]
    assert result.text() == cli.stdout


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    """The CLI run with stdout and stderr apart (click 8.2 and later always keep them apart)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, args)


def test_whatif_arch_note_reaches_the_notebook() -> None:
    snapshot = str(api.bundled_snapshots()[0])
    cli = CliRunner().invoke(main, ["whatif", "-i", snapshot, "--arch", "i386"])
    assert cli.exit_code == 0, cli.output
    result = layoutcalc.load(snapshot).whatif(arch="i386")
    assert result.notes and result.notes[0].startswith("--arch i386")
    assert result.text() == cli.output


SNAPSHOTS = {path.name.split(".snapshot")[0]: str(path) for path in api.bundled_snapshots()}


def test_report_and_slab_views_equal_the_cli(tmp_path: Path) -> None:
    amd64, i386 = SNAPSHOTS["debian-6.1.0-47-cloud-amd64"], SNAPSHOTS["debian-6.1.0-50-686-pae"]
    report = layoutcalc.report([amd64, i386])
    assert report.text() == _invoke(["report", "-i", amd64, "-i", i386]).stdout
    assert report.text(markdown=True) == _invoke(["report", "-i", amd64, "-i", i386, "--format", "markdown"]).stdout
    patch = tmp_path / "two.patch"
    patch.write_text((PATCHES / "pid-last-used.patch").read_text()
                     + (PATCHES / "task-cgroups-undefined.patch").read_text())
    for view, args in ((layoutcalc.load(amd64).report(patch=str(patch)), ["report"]),
                       (layoutcalc.load(amd64).slab(patch=str(patch)), ["slab"])):
        cli = _invoke([*args, "-i", amd64, "--patch", str(patch)])
        assert cli.exit_code == 0, cli.output
        warnings = [line.removeprefix("warning: ") for line in cli.stderr.splitlines()]
        assert any("CONFIG_CGROUPS" in warning for warning in warnings)
        assert view.warnings == warnings
        assert view.text() == cli.stdout
    assert layoutcalc.slabs([amd64, i386]).text() == _invoke(["slab", "-i", amd64, "-i", i386]).stdout


def test_diff_check_and_history_views_equal_the_cli(tmp_path: Path) -> None:
    old, new = SNAPSHOTS["linux-2.6.22.19-x86_64-defconfig"], SNAPSHOTS["debian-6.1.0-47-cloud-amd64"]
    diff = layoutcalc.load(old).diff(new)
    assert diff.text() == _invoke(["diff", old, new]).stdout
    assert diff.markdown() == _invoke(["diff", old, new, "--format", "markdown"]).stdout
    baseline = layoutcalc.load(old).baseline(tmp_path / "base.json")
    check = layoutcalc.load(new).check(baseline)
    assert check.regressions
    for fmt in ("text", "json", "markdown", "junit", "github"):
        assert check.text(fmt) == _invoke(["check", new, "--baseline", baseline, "--format", fmt]).stdout, fmt
    history = layoutcalc.history([old, new], ["pid", "upid"])
    for fmt in ("text", "json", "csv"):
        assert history.text(fmt) == _invoke(["history", old, new, "--struct", "pid", "--struct", "upid",
                                             "--format", fmt]).stdout, fmt


def test_whatif_json_layout_text_and_struct_html_are_the_results_renderings() -> None:
    snapshot = SNAPSHOTS["debian-6.1.0-47-cloud-amd64"]
    build = layoutcalc.load(snapshot)
    assert build.whatif(placement="best-fit").json() == _invoke(["whatif", "-i", snapshot, "--placement", "best-fit",
                                                                 "--format", "json"]).stdout
    full = _invoke(["whatif", "-i", snapshot, "--full"]).stdout
    pid = build.whatif()["pid"].text()
    assert pid.startswith("struct pid: ") and pid in full and len(full.split(pid)) == 2
    html = build.struct("pid")._repr_html_()
    assert html.count('class="lc-map"') == 1 and "struct pid: 96 bytes, 2 cachelines" in html
