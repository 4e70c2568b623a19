"""Provenance: typed and frozen, and a snapshot read and written again is the same file."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from layoutcalc import api
from layoutcalc.analysis.facts import DebugInfo, debug_info_of
from layoutcalc.cli import main
from layoutcalc.errors import ScenarioError
from layoutcalc.model import Build
from layoutcalc.provenance import KernelConfigFacts, Provenance, RecordedCache
from layoutcalc.readers.snapshot import read_snapshot, write_snapshot


def _rewritten(path: Path, tmp_path: Path) -> bytes:
    (tmp_path / "rewritten").mkdir(exist_ok=True)
    out = tmp_path / "rewritten" / path.name
    write_snapshot(read_snapshot(str(path)), str(out))
    return out.read_bytes()


@pytest.mark.parametrize("path", api.bundled_snapshots(), ids=lambda p: p.name)
def test_bundled_snapshot_round_trips_byte_identically(path, tmp_path):
    assert _rewritten(path, tmp_path) == path.read_bytes()


def _bundled_json(kind: str) -> dict:
    path = next(p for p in api.bundled_snapshots()
                if json.loads(p.read_text())["build"]["provenance"]["format"] == kind)
    return json.loads(path.read_text())


def test_unknown_facts_nulls_and_key_order_survive(tmp_path):
    """Facts this version has no field for, explicit nulls and any key order are written back as read."""
    data = _bundled_json("kernel-source")
    recorded = data["build"]["provenance"]
    data["build"]["provenance"] = {"future_fact": {"b": [1, None, {"c": True}], "a": "x"}, "build_id": None,
                                   **{key: recorded[key] for key in reversed(list(recorded))}, "note": 2.5}
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    provenance = read_snapshot(str(path)).provenance
    assert provenance.extra_fact("future_fact") == {"b": (1, None, {"c": True}), "a": "x"}
    assert provenance.extra_fact("note") == 2.5 and provenance.build_id is None
    assert provenance.recorded[:3] == ("future_fact", "build_id", "version")
    assert _rewritten(path, tmp_path) == path.read_bytes()


@pytest.mark.parametrize("key, value, wanted", [
    ("cacheline_size", "64", "an integer"),
    ("cacheline_size", True, "an integer"),
    ("alignment_attributes", 1, "true or false"),
    ("format", 5, "a string"),
    ("flags", "-m64", "a list of strings"),
    ("kernel_config", [1], "an object"),
    ("kernel_config.l1_cache_bytes", "128", "an integer"),
    ("kernel_config.caches", {"pid": "kernel/pid.c"}, "an object of objects"),
    ("kernel_config.caches.pid.flags", [1], "a list of strings"),
])
def test_a_fact_of_the_wrong_type_is_refused_in_one_line(tmp_path, key, value, wanted):
    data = _bundled_json("kernel-source")
    facts = data["build"]["provenance"]
    *parents, last = key.split(".")
    for parent in parents:
        facts = facts[parent]
    facts[last] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScenarioError) as raised:
        read_snapshot(str(path))
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and f"provenance '{key}' must be {wanted}" in message


def test_frozen_through_and_through():
    provenance = Provenance.from_json(_bundled_json("kernel-source")["build"]["provenance"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        provenance.release = "6.1"  # type: ignore[misc]
    config = provenance.kernel_config
    assert config is not None and config.caches is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.allocator = "slub"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.caches["pid"] = RecordedCache()  # type: ignore[index]
    assert config.caches["pid"].flags == ("SLAB_PANIC",)
    given = {"pid": RecordedCache(flags=("SLAB_PANIC",))}
    made = KernelConfigFacts(caches=given)
    given.clear()
    assert made.caches is not None and list(made.caches) == ["pid"]
    with_extra = Provenance(extra=(("later", {"a": [1]}),))
    assert with_extra.extra_fact("later") == {"a": (1,)}
    with pytest.raises(TypeError):
        with_extra.extra_fact("later")["b"] = 2  # type: ignore[index]


def test_replace_keeps_recorded_keys_in_place_and_appends_new_ones():
    read = Provenance.from_json({"format": "dwarf", "cacheline_size": 128, "producer": "GNU C11"})
    changed = dataclasses.replace(read, retargeted_from="x86_64", cacheline_size=64, alignment_attributes=True)
    assert list(changed.to_json().items()) == [("format", "dwarf"), ("cacheline_size", 64), ("producer", "GNU C11"),
                                               ("alignment_attributes", True), ("retargeted_from", "x86_64")]
    assert read.to_json() == {"format": "dwarf", "cacheline_size": 128, "producer": "GNU C11"}
    assert list(changed.without("cacheline_size", "producer").to_json()) == ["format", "alignment_attributes",
                                                                              "retargeted_from"]
    merged = read.with_facts({"version": "1.2", "format": "btf"})
    assert list(merged.to_json().items())[0] == ("format", "btf") and merged.version == "1.2"
    with pytest.raises(ValueError, match="'format' is a field"):
        Provenance(extra=(("format", "btf"),))


def test_pickled_as_recorded():
    """The scan cache and worker processes pickle builds: order, nulls and unknown facts come back."""
    provenance = Provenance.from_json({"producer": None, "zz": {"k": [1]}, "format": "dwarf",
                                       "kernel_config": {"caches": {}}})
    back = pickle.loads(pickle.dumps(provenance))
    assert back == provenance and back.recorded == provenance.recorded == ("producer", "zz", "format", "kernel_config")
    assert json.dumps(back.to_json()) == json.dumps(provenance.to_json())


def test_the_steering_fields_steer():
    """format, alignment_attributes, producer and retargeted_from decide what the debug info says of alignment."""
    def kind(**facts: object) -> DebugInfo:
        return debug_info_of(Build("b", "x86_64", 8, "little", provenance=Provenance(**facts)))  # type: ignore[arg-type]
    assert kind(format="dwarf", alignment_attributes=True) is DebugInfo.ATTRIBUTES
    assert kind(format="dwarf", alignment_attributes=False) is DebugInfo.STRICT_DWARF
    assert kind(format="kernel-source", producer="GNU C11 12.2.0 -gstrict-dwarf -O2") is DebugInfo.STRICT_DWARF
    assert kind(format="btf") is DebugInfo.BTF
    assert kind(format="btf", retargeted_from="i386") is DebugInfo.ATTRIBUTES
    recorded = Build("b", "x86_64", 8, "little", provenance=Provenance(cacheline_size=128))
    assert (api.cacheline_size_of(recorded), api.cacheline_size_of(Build("b", "x86_64", 8, "little"))) == (128, 64)


def test_snapshot_command_adds_package_facts_after_those_read(tmp_path):
    source = next(p for p in api.bundled_snapshots()
                  if json.loads(p.read_text())["build"]["provenance"]["format"] == "dwarf")
    out = tmp_path / "again.json"
    result = CliRunner().invoke(main, ["snapshot", str(source), "-o", str(out), "--package", "pkg",
                                       "--package-version", "9.9"])
    assert result.exit_code == 0, result.output
    before = json.loads(source.read_text())["build"]["provenance"]
    after = json.loads(out.read_text())["build"]["provenance"]
    assert list(after) == list(before)  # package and version were recorded: they keep their places
    assert {**before, "package": "pkg", "version": "9.9"} == after
