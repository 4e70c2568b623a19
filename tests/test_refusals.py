"""``check`` and ``diff`` refuse inputs that cannot be compared: one line on stderr, exit 1."""

from __future__ import annotations

import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc.features.diff import Catalogue, StructLayout, refusal
from layoutcalc.cli import main

TINY = """
struct task_struct { int a; long b; };
struct pid { int nr; };
struct widget { char c; int x; };
struct task_struct t; struct pid p; struct widget w;
"""


def _catalogue(name: str, arch: str, source: str, labels: list[str]) -> Catalogue:
    layouts = {label: (StructLayout("struct", label, 8, (), (), 0),) for label in labels}
    return Catalogue(name, arch, 64, source, layouts, {})


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_refusal_rules_on_catalogues():
    names = [f"s{i}" for i in range(40)]
    base = _catalogue("old", "x86_64", "btf", names)
    assert refusal(base, _catalogue("new", "x86_64", "btf", names[:25])) is None  # 15 of 40 gone: a change
    assert "lacks 21 of the 40" in (refusal(base, _catalogue("new", "x86_64", "btf", names[:19])) or "")
    assert "different architectures" in (refusal(base, _catalogue("new", "aarch64", "btf", names)) or "")
    assert "read from BTF but new from DWARF" in (refusal(base, _catalogue("new", "x86_64", "dwarf", names)) or "")
    # A snapshot has no other format to compare with: it is compared as it is.
    assert refusal(base, _catalogue("new", "x86_64", "snapshot", names)) is None


@pytest.fixture(scope="module")
def kernel_baseline(tmp_path_factory):
    from realbuilds import vmlinux
    path = tmp_path_factory.mktemp("base") / "47.json"
    result = CliRunner().invoke(main, ["baseline", vmlinux("47-cloud-amd64"), "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.realbuild
def test_tiny_object_against_the_kernel_baseline(kernel_baseline, tmp_path):
    tiny = compile_c(TINY, tmp_path, "tiny")
    check = CliRunner().invoke(main, ["check", str(tiny), "--baseline", str(kernel_baseline)])
    assert check.exit_code == 1 and check.stdout == ""
    line = check.stderr.strip()
    assert line.startswith("Error: tiny.o lacks ") and "of the 7455 structs of" in line and "\n" not in line
    diff = CliRunner().invoke(main, ["diff", str(kernel_baseline), str(tiny)])
    assert "not a build of the same program" in _one_error_line(diff)


@pytest.mark.realbuild
def test_arm64_against_an_amd64_baseline(kernel_baseline):
    from realbuilds import vmlinux
    arm64 = vmlinux("arm64")
    check = CliRunner().invoke(main, ["check", arm64, "--baseline", str(kernel_baseline)])
    assert _one_error_line(check) == ("Error: 6.1.0-50-cloud-arm64 is aarch64 but 6.1.0-47-cloud-amd64 is x86_64: "
                                      "layouts of different architectures are not comparable")
    diff = CliRunner().invoke(main, ["diff", str(kernel_baseline), arm64])
    assert "different architectures" in _one_error_line(diff)


@pytest.mark.realbuild
def test_btf_baseline_against_a_forced_dwarf_read(kernel_baseline):
    """The BTF baseline names structs declared inside functions, which DWARF readers skip: 13 false removals."""
    from realbuilds import vmlinux
    check = CliRunner().invoke(main, ["check", vmlinux("47-cloud-amd64"), "--baseline", str(kernel_baseline),
                                      "--debug-info", "dwarf"])
    assert "no like-for-like comparison (use --debug-info btf" in _one_error_line(check)
