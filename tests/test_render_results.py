"""One result per command: what the CLI prints is render(the api's result, format), for every command and format.

The oracle is the CLI itself (click's runner): each command's stdout in each of its formats must be
the string :func:`layoutcalc.render.render` makes of the result the matching api call returns, and
its ``warning:`` lines on stderr must be that result's warnings.  A command that printed anything of
its own, or dropped or reordered a warning, fails here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.analysis.query import SizeFilter
from layoutcalc.cli import main
from layoutcalc.errors import FormatError
from layoutcalc.render import formats, render
from layoutcalc.render.lines import one_line

SNAPSHOTS = {path.name.split(".snapshot")[0]: str(path) for path in api.bundled_snapshots()}
AMD64 = SNAPSHOTS["debian-6.1.0-47-cloud-amd64"]
I386 = SNAPSHOTS["debian-6.1.0-50-686-pae"]
SEED_X86_64 = SNAPSHOTS["linux-2.6.22.19-x86_64-defconfig"]
PATCHES = Path(__file__).parent / "patches"


@pytest.fixture(scope="module")
def two_patches(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two mails in one file: a member added to struct pid, and one in a CONFIG_CGROUPS block no --config
    decides (left out, with one warning)."""
    path = tmp_path_factory.mktemp("patches") / "two.patch"
    path.write_text((PATCHES / "pid-last-used.patch").read_text()
                    + (PATCHES / "task-cgroups-undefined.patch").read_text())
    return str(path)


def _invoke(args: list[str]) -> Any:
    """The CLI run with stdout and stderr apart (click 8.2 and later always keep them apart)."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    return runner.invoke(main, args)


def _warnings(stderr: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in stderr.splitlines() if line.startswith("warning: ")]


def _same_as_cli(args: list[str], result: Any, status: int = 0, fmts: tuple[str, ...] = ()) -> None:
    """``layoutcalc ARGS --format F`` prints render(result, F) for every format F the command has."""
    chosen = fmts or tuple(fmt for fmt in formats(result) if fmt != "html")  # the notebook's, not the CLI's
    for fmt in chosen:
        cli = _invoke([*args, "--format", fmt] if len(chosen) > 1 else args)
        assert cli.exit_code == status, (args, fmt, cli.output)
        assert cli.stdout == render(result, fmt), (args, fmt)
        assert _warnings(cli.stderr) == [one_line(warning) for warning in result.warnings], (args, fmt)


def test_show_text_and_json() -> None:
    names = ["task_struct", "pid", "pid_t"]
    build = api.load_named(AMD64, names)
    shown = api.show(build, names[:2], api.cacheline_size_of(build))
    _same_as_cli(["show", *names[:2], "-i", AMD64], shown)
    assert "struct pid {" in render(shown, "text") and render(shown, "json").count('"fields"') == 2
    # a typedef of a non-struct has a listing but no statistics: text only
    listing = api.show(build, ["pid_t"], 64, stats=False)
    _same_as_cli(["show", "pid_t", "-i", AMD64], listing, fmts=("text",))
    with pytest.raises(FormatError, match="no statistics"):
        render(listing, "json")


def test_show_flags_at_and_cacheline() -> None:
    build = api.load_named(I386, ["pid"])
    line = api.cacheline_size_of(build, 32)
    cli = _invoke(["show", "pid", "-i", I386, "--hex", "--expand", "--cacheline-size", "32"])
    assert cli.stdout == render(api.show(build, ["pid"], line, stats=False), "text", expand=True, hex_offsets=True)
    assert "0x" in cli.stdout
    _same_as_cli(["show", "pid", "--at", "0x10", "-i", I386], api.members_at(build, ["pid"], 16))


def test_sizes_plain_and_hunting() -> None:
    _same_as_cli(["sizes", "-i", I386], api.sizes_of(I386, every_definition=True))
    hunt = api.sizes_filtered(I386, SizeFilter(min_holes=2, packable=True, sort="waste"))
    assert hunt.rows and all(row.holes >= 2 for row in hunt.rows)
    _same_as_cli(["sizes", "-i", I386, "--min-holes", "2", "--packable", "--sort", "waste"], hunt)


def test_reorganize_named_and_all() -> None:
    names = ["task_struct", "pid"]
    _same_as_cli(["reorganize", *names, "-i", AMD64], api.reorganize(api.load(AMD64, structs=names), names))
    every = api.reorganize_all(I386)
    assert every.every and len(every.items) > 2
    _same_as_cli(["reorganize", "--all", "-i", I386], every)


def test_report_scenario_and_patch(two_patches: str) -> None:
    _same_as_cli(["report", "-i", AMD64, "-i", I386], api.report([AMD64, I386]))
    patched = api.report([AMD64], patch=two_patches, counts={"pid": 1000})
    assert patched.scenario == f"patch {two_patches}" and patched.claims == []
    assert any("CONFIG_CGROUPS" in warning for warning in patched.warnings)
    _same_as_cli(["report", "-i", AMD64, "--patch", two_patches, "--count", "pid=1000"], patched)


def test_whatif_scenario_placement_arch_and_patch(two_patches: str) -> None:
    _same_as_cli(["whatif", "-i", AMD64, "--placement", "best-fit"], api.whatif(AMD64, placement="best-fit"))
    retargeted = api.whatif(AMD64, arch="i386")
    assert retargeted.notes and render(retargeted, "text").startswith("note: --arch i386")
    _same_as_cli(["whatif", "-i", AMD64, "--arch", "i386"], retargeted)
    patched = api.whatif(AMD64, patch=two_patches)
    assert patched.warnings
    _same_as_cli(["whatif", "-i", AMD64, "--patch", two_patches], patched)
    cli = _invoke(["whatif", "-i", AMD64, "--patch", two_patches, "--full"])
    assert cli.stdout == render(patched, "text", full=True) != render(patched, "text")


def test_slab_views_costs_and_catalogue(two_patches: str) -> None:
    _same_as_cli(["slab", "-i", AMD64, "-i", I386], api.slab([AMD64, I386]))
    patched = api.slab([AMD64], patch=two_patches)
    assert patched.warnings and all(view.costs is not None for view in patched.views)
    _same_as_cli(["slab", "-i", AMD64, "--patch", two_patches], patched)
    _same_as_cli(["slab", "--all", "-i", I386], api.slab_predictions(I386))


def test_diff_baseline_check_history_snapshot(tmp_path: Path) -> None:
    _same_as_cli(["diff", SEED_X86_64, AMD64], api.diff(SEED_X86_64, AMD64))
    out = str(tmp_path / "base.json")
    cli = _invoke(["baseline", SEED_X86_64, "-o", out])
    assert cli.exit_code == 0 and cli.stdout == render(api.baseline(SEED_X86_64, out))
    checked = api.check(AMD64, out)
    assert checked.regressions
    _same_as_cli(["check", AMD64, "--baseline", out], checked, status=3)
    _same_as_cli(["history", AMD64, I386, "--struct", "pid", "--struct", "upid"],
                 api.history([AMD64, I386], ["pid", "upid"]))
    snapshot = str(tmp_path / "snap.json")
    cli = _invoke(["snapshot", I386, "-o", snapshot])
    assert cli.exit_code == 0 and cli.stdout == render(api.snapshot(I386, snapshot))
    assert cli.stdout.startswith(f"wrote {snapshot}: ") and cli.stdout.endswith(", arch i386\n")


@pytest.mark.parametrize("make, fmt", [
    (lambda: api.sizes_of(I386), "markdown"),
    (lambda: api.reorganize(api.load(I386, structs=["pid"]), ["pid"]), "csv"),
])
def test_a_format_the_result_lacks_is_refused_by_name(make: Callable[[], Any], fmt: str) -> None:
    result = make()
    with pytest.raises(FormatError, match=f"no '{fmt}' format \\(it has {', '.join(formats(result))}\\)"):
        render(result, fmt)
    with pytest.raises(FormatError, match="not the result of a layoutcalc command"):
        render(result.rows if hasattr(result, "rows") else result.items, "text")


@pytest.mark.realbuild
def test_real_build_commands_print_the_rendered_results() -> None:
    """The same on Debian's amd64 vmlinux (DWARF): layouts, a nested patch with bounds, slab costs, repacking."""
    from realbuilds import vmlinux
    path = vmlinux("amd64")
    names = ["task_struct", "mm_struct", "rq"]
    build = api.load_named(path, names)
    _same_as_cli(["show", *names, "-i", path], api.show(build, names, api.cacheline_size_of(build)))
    _same_as_cli(["show", "--contains", "pid", "-i", path], api.relations(path, "pid", "contains"))
    nested = str(PATCHES / "mm-struct-nested.patch")
    run = api.whatif(path, patch=nested)
    assert run.warnings and not run.results[0].result.exact  # strict DWARF: bounds, said in a warning
    _same_as_cli(["whatif", "-i", path, "--patch", nested], run)
    _same_as_cli(["slab", "-i", path, "--patch", nested], api.slab([path], patch=nested))
    _same_as_cli(["reorganize", "task_struct", "-i", path],
                 api.reorganize(api.load(path, structs=["task_struct"]), ["task_struct"]))


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("patch") is None, reason="source mode needs gcc")
def test_source_mode_snapshot_and_verify(tmp_path: Path, private_cache: Path) -> None:
    tree = str(Path(__file__).parent / "fixtures" / "kernel-tree")
    out = str(tmp_path / "fixture.json")
    first = _invoke(["snapshot", "--kernel-source", tree, "--arch", "i386", "-o", out])
    assert first.exit_code == 0 and "(compiled in " in first.stdout, first.output
    again = api.snapshot(tree, out, kernel_source=True, arch="i386")
    assert again.cached and render(again) == f"wrote {out}: structs from {tree} for i386 (from the cache)\n"
    assert _invoke(["snapshot", "--kernel-source", tree, "--arch", "i386", "-o", out]).stdout == render(again)
    patch = str(Path(__file__).parent / "fixtures" / "kernel-tree-flat.patch")
    checks = api.verify_patch(tree, patch, defines=["CONFIG_PID_NS_FLAT=y"])
    assert [check.equal for check in checks.checks] == [True] * 3
    _same_as_cli(["whatif", "-i", tree, "--patch", patch, "--define", "CONFIG_PID_NS_FLAT=y", "--verify"], checks)
