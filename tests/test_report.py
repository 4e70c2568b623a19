"""layoutcalc report: numbers checked against pahole's figures, the slab formulas and the compiler."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.features.report import ROW_COLUMNS, ReportOptions
from layoutcalc.cli import main
from layoutcalc.slab.slub import calculate_alignment, calculate_order, calculate_sizes, order_objects

FIXTURES = Path(__file__).parent / "fixtures"


def _run(args):
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def bundled():
    code, output = _run(["report", "--format", "json"])
    assert code == 0, output
    return json.loads(output)


def _rows(payload, build_fragment):
    return {row["struct"]: row for row in payload["rows"] if build_fragment in row["build"]}


def test_bundled_amd64_sizes_are_paholes(bundled):
    """pahole 1.24 -F dwarf on the amd64 cloud vmlinux: 9728 / 1112 / 96 (shared/real-builds.md)."""
    rows = _rows(bundled, "cloud-amd64")
    assert (rows["task_struct"]["size_off"], rows["signal_struct"]["size_off"], rows["pid"]["size_off"]) == \
        (9728, 1112, 96)


def test_rows_have_the_documented_columns(bundled):
    assert len(bundled["rows"]) == 18  # six builds (two 2.6.22, four 6.1) x three structs
    # the seed's own kernel leads
    assert [r["build"] for r in bundled["rows"][:6]] == ["linux-2.6.22.19-i386"] * 3 + ["linux-2.6.22.19-x86_64"] * 3
    for row in bundled["rows"]:
        assert set(ROW_COLUMNS) <= set(row)


def _slub_by_hand(object_size: int, align: int, hwcache: bool, word: int, cache_line: int = 64, cpus: int = 2):
    """SLUB geometry straight from the unit-tested formulas (mm/slab_common.c, mm/slub.c)."""
    size = (object_size + word - 1) // word * word
    alignment = calculate_alignment(hwcache, align, size, cache_line, 8, word)
    stride = calculate_sizes(object_size, alignment, word).size
    order = calculate_order(stride, cpus)
    objects = order_objects(order, stride)
    return stride, objects, (4096 << order) / objects


@pytest.mark.parametrize("build_fragment, word", [("cloud-amd64", 8), ("686-pae", 4), ("armmp", 4),
                                                  ("cloud-arm64", 8)])
def test_signal_and_pid_objects_follow_slub_formulas(bundled, build_fragment, word):
    rows = _rows(bundled, build_fragment)
    signal = rows["signal_struct"]
    for state in ("off", "on"):
        stride, objects, per_object = _slub_by_hand(signal[f"size_{state}"], 0, True, word)
        assert (signal[f"object_{state}"], signal[f"objs_per_slab_{state}"]) == (stride, objects)
        assert signal[f"bytes_per_object_{state}"] == pytest.approx(per_object, abs=0.01)
    # pid in 6.1: sizeof(struct pid) plus one struct upid (level 0), SLAB_HWCACHE_ALIGN
    build = api.load(str(next(p for p in api.bundled_snapshots() if build_fragment in p.name)))
    upid = build.get_struct("upid").size_bytes
    pid = rows["pid"]
    for state in ("off", "on"):
        stride, objects, per_object = _slub_by_hand(pid[f"size_{state}"] + upid, 0, True, word)
        assert (pid[f"object_{state}"], pid[f"objs_per_slab_{state}"]) == (stride, objects)
    if build_fragment == "cloud-amd64":
        # by hand: off 96 + upid 16 = 112 -> HWCACHE_ALIGN 64 -> stride 128, 32 per 4 KiB page -> 128 B;
        # on 128 + 16 = 144 -> stride 192, 21 per page -> 4096 / 21 = 195.05 B: +67.05 B per pid
        assert (pid["object_off"], pid["object_on"], pid["objs_per_slab_off"], pid["objs_per_slab_on"]) == \
            (128, 192, 32, 21)
        assert pid["delta_bytes_per_object"] == pytest.approx(67.05, abs=0.01)
        assert pid["verdict"] == "+67.0 bytes per object"


def test_verdicts_follow_the_delta(bundled):
    for row in bundled["rows"]:
        if row["delta_bytes_per_object"] == 0 and row["object_on"] == row["object_off"]:
            assert row["verdict"] == "absorbed by alignment"
        elif row["delta_bytes_per_object"] == 0:
            assert row["verdict"].startswith("absorbed by slab leftover")
        else:
            assert row["verdict"].startswith("+") and row["verdict"].endswith("bytes per object")


def test_claims_name_the_builds(bundled):
    assert [c["era"] for c in bundled["claims"]] == ["2.6.22, SLAB"] * 3 + ["2.6.24+, SLUB"] * 3
    old = {c["struct"]: c for c in bundled["claims"] if c["era"] == "2.6.22, SLAB"}
    assert all(sorted(c["holds_on"] + c["fails_on"]) == ["linux-2.6.22.19-i386", "linux-2.6.22.19-x86_64"]
               for c in old.values())
    claims = {c["struct"]: c for c in bundled["claims"] if c["era"] == "2.6.24+, SLUB"}
    assert set(claims) == {"task_struct", "signal_struct", "pid"}
    for claim in claims.values():
        assert len(claim["holds_on"]) + len(claim["fails_on"]) == 4
    # On all four 6.1 builds the flat fields fit task_struct's alignment (its thread member is
    # cacheline-aligned) and signal_struct's slab alignment; only struct pid costs memory.
    for struct in ("task_struct", "signal_struct", "pid"):
        assert claims[struct]["verdict"] == "holds", claims[struct]
        assert claims[struct]["fails_on"] == []


def test_per_process_cost_and_field_count(bundled):
    amd64 = next(b for b in bundled["builds"] if "cloud-amd64" in b["build"])
    # int vnr, pid_t vpgrp, vsession, vpid, vtgid = 5 integers; ns + vpid_chain's two pointers = 3
    assert (amd64["added_integers"], amd64["added_pointers"]) == (5, 3)
    assert amd64["added_bytes"] == 4 + 8 + 16 + 4 * 4
    rows = _rows(bundled, "cloud-amd64")
    per_process = sum(r["delta_bytes_per_object"] for r in rows.values())
    assert amd64["flat_bytes_per_process"] == pytest.approx(per_process)
    assert amd64["flat_cost_processes"] == pytest.approx(per_process * 10_000, abs=10_000 * 0.01)


def test_claim_fails_when_the_struct_grows(tmp_path):
    """A scenario that adds 2000 bytes to task_struct must make the first claim fail everywhere."""
    scenario = tmp_path / "big.toml"
    scenario.write_text('name = "big"\ndescription = "x"\n[[change]]\nstruct = "task_struct"\n'
                        'after = ["tgid"]\nfields = ["char blob[2000];"]\n')
    result = api.report([], str(scenario), ReportOptions())
    reports, claims = result.reports, result.claims
    first = next(c for c in claims if c.struct == "task_struct")
    assert first.verdict == "does not hold"
    assert all(r.row("task_struct").delta_bytes_per_object > 0 for r in reports)


def test_csv_and_markdown(bundled):
    code, output = _run(["report", "--format", "csv"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    assert len(rows) == 18 and set(ROW_COLUMNS) <= set(rows[0])
    assert {r["size_off"] for r in rows if r["struct"] == "pid"} == {"96", "52", "64", "36"}
    code, output = _run(["report", "--format", "markdown"])
    assert code == 0 and "| build | struct |" in output and "task_struct alignment allows for it" in output


def test_report_on_compiled_fixture_predicts_the_on_object(tmp_path):
    """-i on a .o built without the flat fields: size_on equals sizeof in the .o built with them."""
    source = (FIXTURES / "flat_pid.c").read_text()
    extra = ("-I", str(FIXTURES), "-DCONFIG_CC_STACKPROTECTOR")
    off = compile_c(source, tmp_path, "off", "gcc-m64", ("-gdwarf-5",), extra)
    on = compile_c(source, tmp_path, "on", "gcc-m64", ("-gdwarf-5",), extra + ("-DCONFIG_PID_NS_FLAT",))
    code, output = _run(["report", "-i", str(off), "--format", "json"])
    assert code == 0, output
    rows = {r["struct"]: r for r in json.loads(output)["rows"]}
    real_on = api.load(str(on), structs=["task_struct", "signal_struct", "pid"])
    for name in ("task_struct", "signal_struct", "pid"):
        assert rows[name]["size_on"] == real_on.get_struct(name).size_bytes, name
    # the 2.6.22-shaped fixture (pid_chain, no upid) is sized with SLAB, as that kernel was
    assert rows["pid"]["allocator"] == "slab"
    # Hierarchical design applied by its scenario: pid loses nr and pid_chain, gains level and
    # numbers[1] (upid: 32 B): 88 B at level 0, 120 B at level 1; 2.6.24 creates the pid caches with
    # SLAB_HWCACHE_ALIGN, so both round to 128 B: (4096 - 48) / (128 + 4) = 30 per page, 136.5 B,
    # against 59 per page (69.4 B) for today's 64-byte pid: +67.1 B at both levels.
    (summary,) = json.loads(output)["builds"]
    assert summary["hierarchical_source"] == "scenario"
    assert summary["hierarchical_bytes_level0"] == pytest.approx(4096 / 30 - 4096 / 59, abs=0.01)
    assert summary["hierarchical_bytes_level1"] == pytest.approx(4096 / 30 - 4096 / 59, abs=0.01)


def test_slab_leftover_is_told_apart_from_alignment(tmp_path):
    """i386: +192 bytes of task_struct still fit 9 objects in an order-3 slab: free, but not by alignment."""
    scenario = tmp_path / "mid.toml"
    scenario.write_text('name = "mid"\ndescription = "x"\n[[change]]\nstruct = "task_struct"\n'
                        'after = ["tgid"]\nfields = ["char blob[192];"]\n')
    reports = api.report([str(p) for p in api.bundled_snapshots() if "686-pae" in p.name], str(scenario),
                         ReportOptions()).reports
    row = reports[0].row("task_struct")
    assert (row.size_off, row.size_on) == (6592, 6784)
    assert (row.off.objs_per_slab, row.on.objs_per_slab) == (9, 9)
    assert row.delta_bytes_per_object == 0
    assert row.verdict == "absorbed by slab leftover (object +192 B)"


@pytest.mark.live
def test_report_live_adds_the_running_kernel():
    import os
    if not os.path.exists("/sys/kernel/btf/vmlinux") or not os.path.isdir("/sys/kernel/slab"):
        pytest.skip("no /sys/kernel/btf/vmlinux or /sys/kernel/slab on this machine")
    code, output = _run(["report", "--live", "--format", "json"])
    assert code == 0, output
    payload = json.loads(output)
    running = [r for r in payload["rows"] if r["build"].startswith("running ")]
    assert {r["struct"] for r in running} == {"task_struct", "signal_struct", "pid"}
    assert len(payload["rows"]) == 21  # the running kernel and the six bundled builds
    from layoutcalc.slab import live
    task = next(r for r in running if r["struct"] == "task_struct")
    # the running kernel's own task_struct cache, as sysfs reports it
    assert task["object_off"] == live.read_slab_cache("task_struct").slab_size


def test_report_live_without_btf_warns_and_goes_on(monkeypatch):
    from layoutcalc.slab import live
    monkeypatch.setattr(live.read_live_btf, "__defaults__", (None, "/nonexistent/btf", None))
    result = CliRunner().invoke(main, ["report", "--live", "--format", "csv"])
    assert result.exit_code == 0
    assert "warning: " in result.stderr and "/nonexistent/btf" in result.stderr
    assert len(result.stdout.strip().splitlines()) == 19  # header and the 18 bundled rows
