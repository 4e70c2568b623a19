"""Split BTF (a module's ``.BTF``, ``/sys/kernel/btf/MODULE``) read against its base, as ``pahole --btf_base``."""

from __future__ import annotations

import os
import subprocess

import pahole_oracle
import pytest
from cc import compile_c
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.cli import main
from layoutcalc.readers.btf import LIVE_BTF, BtfTypes, read_btf_blob

pytestmark = pytest.mark.skipif(not pahole_oracle.PAHOLE, reason="pahole (dwarves) not installed")

BASE = """\
struct list_head { struct list_head *next, *prev; };
struct base_obj { long id; struct list_head link; char tag; };
struct list_head lh; struct base_obj bo;
"""
MODULE = """\
struct list_head { struct list_head *next, *prev; };
struct base_obj { long id; struct list_head link; char tag; };
struct mod_thing { int a; struct list_head node; long b; char c; unsigned int f:3; struct base_obj *owner; };
struct mod_other { struct mod_thing *t; short s; struct base_obj embedded; };
struct mod_thing thing; struct mod_other other;
"""
NAMES = ["mod_thing", "mod_other", "list_head", "base_obj"]


def _split_pair(tmp_path, base_path=None):
    """(module .BTF as a raw blob, its base): the module encoded by pahole -J --btf_base, DWARF stripped."""
    if base_path is None:
        base_obj = compile_c(BASE, tmp_path, "base", "gcc-m64", ("-gdwarf-5",))
        subprocess.run([pahole_oracle.PAHOLE, "-J", str(base_obj)], check=True, capture_output=True)
        base_path = str(base_obj)
    module = compile_c(MODULE, tmp_path, "module", "gcc-m64", ("-gdwarf-5",))
    subprocess.run([pahole_oracle.PAHOLE, "-J", "--btf_base", base_path, str(module)], check=True,
                   capture_output=True)
    subprocess.run(["objcopy", "--strip-debug", str(module)], check=True, capture_output=True)
    blob = tmp_path / "module.btf"
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.BTF", "--set-section-flags", ".BTF=alloc",
                    str(module), str(blob)], check=True, capture_output=True)
    return str(module), str(blob), base_path


def _pahole(path, base, names):
    return subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "--btf_base", base, "-C", ",".join(names), path],
                          check=True, capture_output=True, text=True).stdout


def test_module_btf_with_base_equals_pahole(tmp_path):
    _ko, blob, base = _split_pair(tmp_path)
    split = BtfTypes.split_ok(read_btf_blob(blob), blob, base)
    assert split.base is not None and split.first_id == split.base.num_types  # ids continue the base's
    result = CliRunner().invoke(main, ["show", *NAMES, "-i", blob, "--btf-base", base])
    assert result.exit_code == 0, result.output
    expected = _pahole(blob, base, NAMES)
    assert pahole_oracle.split_listing(result.output) == pahole_oracle.split_listing(expected)
    assert "struct base_obj *          owner;" in result.output
    contains = CliRunner().invoke(main, ["show", "--contains", "base_obj", "-i", blob, "--btf-base", base])
    assert contains.output == subprocess.run([pahole_oracle.PAHOLE, "-F", "btf", "--btf_base", base,
                                              "--contains=base_obj", blob], check=True, capture_output=True,
                                             text=True).stdout == "mod_other\n"


def test_without_a_base_split_btf_is_refused(tmp_path, monkeypatch):
    """A raw split blob names no base, so it needs --btf-base; a module without a running kernel's BTF too."""
    ko, blob, _base = _split_pair(tmp_path)
    refused = CliRunner().invoke(main, ["show", "mod_thing", "-i", blob])
    assert refused.exit_code == 1
    assert refused.output.startswith(f"Error: {blob}: split BTF") and "--btf-base" in refused.output
    monkeypatch.setattr("layoutcalc.readers.btf.LIVE_BTF", str(tmp_path / "no-such-vmlinux"))
    module = CliRunner().invoke(main, ["show", "mod_thing", "-i", ko])
    assert module.exit_code == 1 and "this machine has no" in module.output


@pytest.mark.skipif(not os.path.exists(LIVE_BTF), reason="no /sys/kernel/btf/vmlinux on this machine")
def test_a_module_object_takes_the_running_kernel_as_base_and_live_names_it(tmp_path):
    """The .ko case: .BTF split against /sys/kernel/btf/vmlinux, no --btf-base given; and ``-i live``."""
    ko, _blob, base = _split_pair(tmp_path, LIVE_BTF)
    build = api.load_named(ko, ["mod_thing", "task_struct"])
    assert build.provenance.btf_base == LIVE_BTF
    result = CliRunner().invoke(main, ["show", "mod_thing", "task_struct", "-i", ko])
    assert result.exit_code == 0, result.output
    expected = _pahole(ko, base, ["mod_thing", "task_struct"])
    assert pahole_oracle.split_listing(result.output) == pahole_oracle.split_listing(expected)
    live = CliRunner().invoke(main, ["show", "task_struct", "-i", "live"])
    assert live.exit_code == 0 and live.output == pahole_oracle.split_listing(expected)["task_struct"]
