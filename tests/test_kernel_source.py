"""Source mode on the miniature tree in tests/fixtures/kernel-tree (runs in every CI run; needs gcc).

The expected layouts are worked out by hand from the fixture's headers (the
comments give the arithmetic); a program that compiled with the wrong
config, arch or include path gets them wrong.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main
from layoutcalc.errors import InputError
from layoutcalc.readers.kernel_source import SourceRequest, source_snapshot

TREE = Path(__file__).parent / "fixtures" / "kernel-tree"
STRUCTS = ("task_struct", "signal_struct", "pid")

pytestmark = [pytest.mark.skipif(shutil.which("gcc") is None, reason="source mode needs gcc"),
              pytest.mark.usefixtures("private_cache")]


def _build(tree: Path = TREE, arch: str = "x86_64", config: str | None = None):
    result = source_snapshot(SourceRequest(str(tree), arch, config, STRUCTS))
    return api.load(str(result.path)), result


def _offsets(struct) -> dict[str, int]:
    return {m.name: m.offset_bytes for m in struct.members if m.name}


def test_x86_64_defconfig_layout():
    build, _ = _build()
    task = build.get_struct("task_struct")
    # state 0, stack 8, usage 16, oncpu 20 (CONFIG_SMP=y), prio 24, did_exec 28, pid 32, tgid 36,
    # tasks 40 (16), signal 56, thread 64 (5 longs + 4 shorts = 48) -> 112
    assert _offsets(task)["prio"] == 24 and "oncpu" in _offsets(task)
    assert task.size_bytes == 112
    # cpu_mask holds NR_CPUS=128 bits: 2 longs at 40 -> 56
    assert build.get_struct("signal_struct").size_bytes == 56
    # the x86 struct pid (64 bytes), never include/asm-sparc's 3-byte impostor
    assert build.get_struct("pid").size_bytes == 64
    assert build.arch == "x86_64"


def test_config_file_is_applied():
    build, _ = _build(config=str(TREE / "up.config"))
    task = build.get_struct("task_struct")
    assert "oncpu" not in _offsets(task) and _offsets(task)["prio"] == 20
    facts = build.provenance.kernel_config
    assert (facts.allocator, facts.l1_cache_bytes, facts.l1_cache_shift, facts.nr_cpus) == (
        "slub", 64, 6, 1)


def test_i386_uses_its_headers_and_mach_default():
    build, _ = _build(arch="i386")
    assert build.address_size == 4
    # thread_struct: 5 longs (20) + debugreg[8] (32) from include/asm-i386/mach-default only
    task = build.get_struct("task_struct")
    assert task.get_member("thread").type.size_bytes == 52
    # count 0, nr 4, pid_chain 8 (8), tasks 16 (12), rcu 28 (8) -> 36
    assert build.get_struct("pid").size_bytes == 36


def test_config_facts_and_cache_calls():
    build, _ = _build()
    facts = build.provenance.kernel_config
    assert (facts.allocator, facts.l1_cache_bytes, facts.page_size, facts.nr_cpus,
            facts.arch_min_taskalign) == ("slab", 128, 4096, 128, 16)
    signal = facts.caches["signal_cache"]
    # SLAB_ACCOUNT is written in the call but defined as 0 in this tree: it is not an effective flag
    assert signal.flags == ("SLAB_HWCACHE_ALIGN", "SLAB_PANIC")
    assert "SLAB_ACCOUNT" in signal.flags_as_written
    assert facts.caches["task_struct"].align == "ARCH_MIN_TASKALIGN"
    assert facts.caches["pid"].align == "__alignof__(struct pid)"
    provenance = build.provenance
    assert provenance.release == "2.6.22-fixture" and "-m64" in provenance.flags


def test_cache_hit_and_invalidation(tmp_path: Path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, symlinks=True)
    first = _build(tree)[1]
    second = _build(tree)[1]
    assert (first.cached, second.cached) == (False, True)
    pid_h = tree / "include" / "linux" / "pid.h"
    pid_h.write_text(pid_h.read_text().replace("int nr;", "int nr;\n\tint vnr;\n\tvoid *ns;"))
    build, third = _build(tree)
    assert not third.cached
    # count 0, nr 4, vnr 8, ns 16, pid_chain 24 (16), tasks 40 (24), rcu 64 (16) -> 80
    assert build.get_struct("pid").size_bytes == 80


def test_not_a_tree(tmp_path: Path):
    with pytest.raises(InputError, match="not a kernel source tree"):
        source_snapshot(SourceRequest(str(tmp_path), "x86_64", None, STRUCTS))


def test_compile_error_is_one_line_and_writes_nothing(tmp_path: Path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, symlinks=True)
    (tree / "include" / "linux" / "pid.h").write_text("struct pid { int nr };\n")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["snapshot", "--kernel-source", str(tree), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "failed" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_snapshot_show_and_report(tmp_path: Path):
    out = tmp_path / "fixture.json"
    runner = CliRunner()
    result = runner.invoke(main, ["snapshot", "--kernel-source", str(TREE), "--arch", "i386", "--defconfig",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["build"]["arch"] == "i386"
    shown = runner.invoke(main, ["show", "pid", "-i", str(TREE), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["structs"][0]["size"] == 64
    both = runner.invoke(main, ["snapshot", str(out), "--kernel-source", str(TREE), "-o", str(out)])
    assert both.exit_code == 2
    wrong = runner.invoke(main, ["show", "pid", "-i", str(out), "--config", str(TREE / "up.config")])
    assert wrong.exit_code == 1 and "only to a kernel source tree" in wrong.output


def test_report_and_slab_on_a_tree_use_its_config():
    runner = CliRunner()
    report = runner.invoke(main, ["report", "-i", str(TREE), "--format", "json"])
    assert report.exit_code == 0, report.output
    rows = {r["struct"]: r for r in json.loads(report.output)["rows"]}
    assert {r["allocator"] for r in rows.values()} == {"slab"}  # CONFIG_SLAB=y in the fixture's defconfig
    # signal_struct (56 bytes) under SLAB_HWCACHE_ALIGN on the config's 128-byte lines: 56 <= 64 -> 64
    assert rows["signal_struct"]["object_off"] == 64
    slab = runner.invoke(main, ["slab", "-i", str(TREE)])
    assert slab.exit_code == 0, slab.output
    assert "x86_64; SLAB, 2 CPUs" in slab.output
    slub = runner.invoke(main, ["slab", "-i", str(TREE), "--config", str(TREE / "up.config")])
    assert slub.exit_code == 0, slub.output
    assert "x86_64; SLUB, 2 CPUs" in slub.output  # CONFIG_SLUB=y in up.config decides, not the era
