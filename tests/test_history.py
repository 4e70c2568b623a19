"""``layoutcalc history``: sizes across builds, in a process pool and on a Dask cluster (same table)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from layoutcalc.features.history import BuildMeta, scan_history
from layoutcalc.cli import main

NAMES = ["widget", "big", "doomed", "fresh"]


def _expected(pair):
    return [{name: (layouts[name].size if name in layouts else None) for name in NAMES}
            for layouts in (pair.old_layout, pair.new_layout, pair.old_layout)]


def test_pool_sizes_equal_the_compiler(pair):
    rows = scan_history([str(pair.old), str(pair.new), str(pair.old)], NAMES, workers=2)
    assert [row.build for row in rows] == ["old.o", "new.o", "old.o"]
    assert [row.sizes for row in rows] == _expected(pair)


def test_dask_local_cluster_gives_the_same_table_as_the_pool(pair):
    distributed = pytest.importorskip("distributed")
    paths = [str(pair.old), str(pair.new), str(pair.old)]
    pooled = scan_history(paths, NAMES, workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = scan_history(paths, NAMES, scheduler=cluster.scheduler_address)
        result = CliRunner().invoke(main, ["history", *paths, *(f"--struct={n}" for n in NAMES),
                                           "--scheduler", cluster.scheduler_address])
    assert on_dask == pooled
    assert [row.sizes for row in on_dask] == _expected(pair)
    pooled_text = CliRunner().invoke(main, ["history", *paths, *(f"--struct={n}" for n in NAMES)])
    assert result.exit_code == 0 and result.output == pooled_text.output


def test_unreachable_scheduler_is_one_line(pair):
    pytest.importorskip("distributed")
    result = CliRunner().invoke(main, ["history", str(pair.old), "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: tcp://127.0.0.1:9: cannot reach the Dask scheduler (")
    assert len(result.output.splitlines()) == 1


def test_text_json_csv(pair):
    paths = [str(pair.old), str(pair.new)]
    args = ["history", *paths, "--struct", "widget", "--struct", "doomed", "--workers", "1"]
    old, new = pair.old_layout["widget"].size, pair.new_layout["widget"].size
    text = CliRunner().invoke(main, args).output.splitlines()
    assert text[0].split() == ["build", "arch", "version", "widget", "doomed"]
    assert text[1].split() == ["old.o", "x86_64", "-", str(old), str(pair.old_layout["doomed"].size)]
    assert text[2].split() == ["new.o", "x86_64", "-", str(new), f"({new - old:+d})", "-"]
    payload = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)
    assert payload["builds"][1] == {"build": "new.o", "source": "dwarf", "arch": "x86_64", "release": "",
                                    "version": "", "flavour": "", "package": "",
                                    "sizes": {"widget": new, "doomed": None}}
    csv = CliRunner().invoke(main, [*args, "--format", "csv"]).output
    assert csv == ("build,arch,release,version,flavour,package,widget,doomed\n"
                   f"old.o,x86_64,,,,,{old},{pair.old_layout['doomed'].size}\nnew.o,x86_64,,,,,{new},\n")


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_plot_is_written(pair, tmp_path, suffix, magic):
    out = tmp_path / f"history{suffix}"
    result = CliRunner().invoke(main, ["history", str(pair.old), str(pair.new), "--struct", "widget",
                                       "--plot", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_plot_needs_png_or_svg(pair, tmp_path):
    plot = tmp_path / "x.gif"
    result = CliRunner().invoke(main, ["history", str(pair.old), "--plot", str(plot)])
    assert result.exit_code == 1
    assert result.output == f"Error: {plot}: a plot is written as .png or .svg, not '.gif'\n"


@pytest.mark.realbuild
def test_real_cloud_pair_history_matches_pahole_figures():
    """The seed's structs in Debian's amd64 cloud builds (shared/real-builds.md: pahole 1.24 on 6.1.0-47)."""
    from realbuilds import vmlinux
    rows = scan_history([vmlinux("47-cloud-amd64"), vmlinux("50-cloud-amd64")])
    assert [(row.build, row.sizes) for row in rows] == [
        (f"6.1.0-{abi}-cloud-amd64", {"task_struct": 9728, "signal_struct": 1112, "pid": 96}) for abi in (47, 50)]
    assert [row.meta for row in rows] == [
        BuildMeta("x86_64", f"6.1.0-{abi}-cloud-amd64", version, "cloud-amd64", f"linux-image-6.1.0-{abi}-cloud-amd64")
        for abi, version in (("47", "6.1.170-3"), ("50", "6.1.176-1"))]


@pytest.fixture
def neutral_names(tmp_path):
    """Two amd64 builds and an arm64 one under names that say nothing, linked from ``tmp_path/builds``."""
    from realbuilds import vmlinux
    builds = tmp_path / "builds"
    builds.mkdir()
    for name, key in (("a", "47-cloud-amd64"), ("b", "arm64"), ("c", "57-cloud-amd64")):
        (builds / name).symlink_to(vmlinux(key))
    return ["builds/a", "builds/b", "builds/c"]


@pytest.mark.realbuild
def test_neutral_names_keep_each_builds_arch_and_no_cross_arch_delta(neutral_names, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["history", *neutral_names, "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    # pahole -F btf: task_struct 9728 (amd64 cloud 47 and 57), 4160 (arm64 cloud 50).
    assert lines[1:] == [["a", "x86_64", "6.1.170-3", "9728", "1112", "96"],
                         ["b", "aarch64", "6.1.176-1", "4160", "1112", "96"],
                         ["c", "x86_64", "6.1.192-3", "9728", "1112", "96"]]
    payload = json.loads(CliRunner().invoke(main, ["history", *neutral_names, "--workers", "1",
                                                   "--format", "json"]).output)
    assert [(b["flavour"], b["arch"]) for b in payload["builds"]] == [
        ("cloud-amd64", "x86_64"), ("cloud-arm64", "aarch64"), ("cloud-amd64", "x86_64")]


@pytest.mark.realbuild
def test_relative_paths_on_a_real_dask_cluster(neutral_names, tmp_path, monkeypatch):
    """The workers start elsewhere (as on a real cluster): the paths relative to our directory must still work."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(main, ["history", *neutral_names, "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    pooled = CliRunner().invoke(main, ["history", *neutral_names, "--workers", "1"])
    assert result.output == pooled.output


def test_a_struct_no_build_has_is_an_error(pair):
    result = CliRunner().invoke(main, ["history", str(pair.old), str(pair.new), "--struct", "widgte",
                                       "--workers", "1"])
    assert result.exit_code == 1
    assert result.output == "Error: no build of the series has a struct or union named 'widgte' (old.o, new.o)\n"
