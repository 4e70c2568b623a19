"""Scenario files: format, anchors and fallbacks, errors with file:line, flat vs hierarchical cost.

Builds are model objects written out here by hand, with 2.6.22's shapes on
x86_64; the expected offsets are worked out by hand from the C rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from layoutcalc.abi import get_abi
from layoutcalc.changes.scenario import (
    apply_scenario,
    list_scenarios,
    load_scenario,
    parse_scenario,
    scenario_fields,
    scenario_needs,
)
from layoutcalc.errors import ScenarioError
from layoutcalc.model import (
    ArrayType,
    BaseType,
    Build,
    EnumType,
    Member,
    PointerType,
    StructType,
    TypedefType,
)

ABI = get_abi("x86_64")


def _struct(name: str | None, size: int, *members: tuple[str | None, object, int], kind: str = "struct"
            ) -> StructType:
    return StructType(kind, name, size, [Member(n, t, off * 8) for n, t, off in members])  # type: ignore[arg-type]


def build_2622(with_session: bool = True) -> Build:
    """2.6.22's pid, signal_struct and task_struct, cut down, as gcc lays them out on x86_64."""
    int_t = BaseType("int", 4)
    ulong = BaseType("long unsigned int", 8, "unsigned")
    uint = BaseType("unsigned int", 4, "unsigned")
    pid_t = TypedefType("pid_t", int_t)
    atomic_t = TypedefType("atomic_t", _struct(None, 4, ("counter", int_t, 0)))
    node = StructType("struct", "hlist_node", 16)
    node.members = [Member("next", PointerType(node, 8), 0), Member("pprev", PointerType(node, 8), 64)]
    head = _struct("hlist_head", 8, ("first", PointerType(node, 8), 0))
    rcu = _struct("rcu_head", 16, ("next", PointerType(ulong, 8), 0), ("func", PointerType(ulong, 8), 8))
    pid = _struct("pid", 64, ("count", atomic_t, 0), ("nr", int_t, 4), ("pid_chain", node, 8),
                  ("tasks", ArrayType(head, 3), 24), ("rcu", rcu, 48))
    session = _struct(None, 4, ("session", pid_t, 0), ("__session", pid_t, 0), kind="union")
    tty_old_pgrp = PointerType(pid, 8)
    if with_session:
        signal = _struct("signal_struct", 32, ("count", atomic_t, 0), ("pgrp", pid_t, 4),
                         ("tty_old_pgrp", tty_old_pgrp, 8), (None, session, 16), ("leader", int_t, 20),
                         ("tty", PointerType(ulong, 8), 24))
    else:  # 6.x: pgrp and session live in pids[]
        signal = _struct("signal_struct", 56, ("count", atomic_t, 0), ("pids", ArrayType(tty_old_pgrp, 4), 8),
                         ("tty_old_pgrp", tty_old_pgrp, 40), ("leader", int_t, 48))
    task = _struct("task_struct", 32, ("state", BaseType("long int", 8), 0), ("pid", pid_t, 12),
                   ("tgid", pid_t, 16), ("stack_canary", ulong, 24))
    task.members.insert(1, Member("did_exec", uint, 64, bit_size=1))
    build = Build("2.6.22-like", "x86_64", 8, "little")
    build.structs.update({s.name: s for s in (node, head, rcu, pid, signal, task)})  # type: ignore[misc]
    build.typedefs.update({"pid_t": pid_t, "atomic_t": atomic_t})
    build.base_types.update({"int": int_t, "long unsigned int": ulong, "unsigned int": uint})
    return build


def _layout(struct: StructType) -> list[tuple[str | None, int]]:
    return [(m.name, m.bit_offset // 8) for m in struct.members]


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_bundled_scenarios_load() -> None:
    assert {"flat", "hierarchical"} <= set(list_scenarios())
    flat = load_scenario("flat")
    assert [c.struct_name for c in flat.changes] == ["pid", "signal_struct", "task_struct"]
    assert flat.defines == {"CONFIG_PID_NS_FLAT": True}
    assert flat.changes[1].anchors == ("__session", "tty_old_pgrp")
    hier = load_scenario("hierarchical")
    assert hier.types[0].name == "upid" and hier.changes[0].per_level == "numbers"


def test_flat_fields_and_anchors() -> None:
    plans = scenario_fields(build_2622(), load_scenario("flat"), ABI, {})
    summary = [(p.struct_name, p.anchor, [f.name for f in p.fields]) for p in plans]
    assert summary == [("pid", "pid_chain", ["vnr", "ns", "vpid_chain"]),
                       ("signal_struct", "__session", ["vpgrp", "vsession"]),
                       ("task_struct", "tgid", ["vpid", "vtgid"])]
    pid_fields = plans[0].fields
    assert [f.type.size_bytes for f in pid_fields] == [4, 8, 16]
    assert pid_fields[0].after == "pid_chain" and pid_fields[1].after == "vnr"


def test_condition_off_adds_nothing() -> None:
    assert scenario_fields(build_2622(), load_scenario("flat"), ABI, {"CONFIG_PID_NS_FLAT": False}) == []


def test_flat_layout_on_2622() -> None:
    results = apply_scenario(build_2622(), load_scenario("flat"), ABI, "as-patched", {})
    by_name = {r.struct_name: r for r in results}
    pid = by_name["pid"].result.after
    assert _layout(pid) == [("count", 0), ("nr", 4), ("pid_chain", 8), ("vnr", 24), ("ns", 32),
                            ("vpid_chain", 40), ("tasks", 56), ("rcu", 80)]
    assert pid.size_bytes == 96
    signal = by_name["signal_struct"]
    assert signal.anchor == "__session" and signal.anchor_index == 0
    assert _layout(signal.result.after)[3:] == [(None, 16), ("vpgrp", 20), ("vsession", 24), ("leader", 28),
                                               ("tty", 32)]
    assert signal.result.after.size_bytes == 40
    task = by_name["task_struct"].result.after
    assert _layout(task)[2:] == [("pid", 12), ("tgid", 16), ("vpid", 20), ("vtgid", 24), ("stack_canary", 32)]
    assert task.size_bytes == 40


def test_fallback_anchor_on_later_kernel() -> None:
    results = apply_scenario(build_2622(with_session=False), load_scenario("flat"), ABI, "as-patched", {})
    signal = next(r for r in results if r.struct_name == "signal_struct")
    assert (signal.anchor, signal.anchor_index) == ("tty_old_pgrp", 1)
    assert _layout(signal.result.after)[-3:] == [("vpgrp", 48), ("vsession", 52), ("leader", 56)]


def test_flat_vs_hierarchical_per_level() -> None:
    build = build_2622()
    flat, hier = load_scenario("flat"), load_scenario("hierarchical")
    sizes = {}
    for level in (0, 1, 2):
        flat_pid = next(r for r in apply_scenario(build, flat, ABI, "as-patched", {}, level=level)
                        if r.struct_name == "pid")
        (hier_pid,) = apply_scenario(build, hier, ABI, "as-patched", {}, level=level)
        sizes[level] = (flat_pid.result.after.size_bytes, hier_pid.result.after.size_bytes)
        assert hier_pid.removed == ("nr", "pid_chain") and hier_pid.level == level
        assert hier_pid.result.before.size_bytes == 64
    # struct upid is 32 bytes on x86_64; 2.6.24's struct pid is 56 bytes plus one upid per level.
    assert sizes == {0: (96, 88), 1: (96, 120), 2: (96, 152)}
    (hier0,) = apply_scenario(build, hier, ABI, "as-patched", {})
    assert _layout(hier0.result.after) == [("count", 0), ("tasks", 8), ("rcu", 32), ("level", 48),
                                           ("numbers", 56)]


def test_hierarchical_refuses_a_build_that_has_it() -> None:
    build = build_2622()
    pid = build.structs["pid"]
    pid.members.append(Member("level", build.base_types["int"], 64 * 8))
    with pytest.raises(ScenarioError, match=r"hierarchical.toml:\d+: struct pid already has a member 'lev"):
        apply_scenario(build, load_scenario("hierarchical"), ABI)


GOOD = """\
name = "t"
[[change]]
struct = "task_struct"
after = ["tgid"]
fields = ["pid_t vpid;"]
"""


def _field(decl: str, quoted: bool = False) -> str:
    """GOOD with ``decl`` (already TOML if ``quoted``) in place of its one field."""
    return GOOD.replace('"pid_t vpid;"', decl if quoted else f'"{decl}"')


@pytest.mark.parametrize(("text", "message"), [
    ("name = \n", r"s.toml:1: malformed TOML"),
    (GOOD.replace('after = ["tgid"]', 'afer = ["tgid"]'), r"s.toml:2: unknown key 'afer' in \[\[change\]\]"),
    (GOOD.replace('"task_struct"', '"task_strukt"'), r"s.toml:2: .*no struct named 'task_strukt'"),
    (GOOD.replace('["tgid"]', '["tgidd", "pidd"]'), r"s.toml:4: struct task_struct has none of the anchors "
                                                    r"tgidd, pidd"),
    (GOOD.replace('"pid_t vpid;"', '"pid_t vpid vtgid;"'),
     r"s.toml:5: cannot parse declaration 'pid_t vpid vtgid;'"),
    (GOOD.replace('"pid_t vpid;"', '\n  "int a;",\n  "u64 vpid;",\n'), r"s.toml:7: .*unknown type 'u64'"),
    (GOOD + 'condition = "CONFIG_X &&"\n', r"s.toml:6: .*preprocessor condition"),
    ("name = \"t\"\n", r"s.toml:1: no \[\[change\]\] tables"),
    (GOOD.replace('"pid_t vpid;"', '"pid_t tgid;"'), r"s.toml:2: struct task_struct already has a member"),
    (_field("int a[1/0];"), r"s.toml:5: invalid declaration 'int a\[1/0\];': division by zero"),
    (_field("int a[1<<70];"), r"s.toml:5: invalid declaration 'int a\[1<<70\];': shift count 70"),
    (_field("int a[1 << -2];"), r"s.toml:5: invalid declaration .*shift count -2"),
    (_field("int x[-1];"), r"s.toml:5: invalid declaration 'int x\[-1\];': array bound -1 is negative"),
    (_field("int x:40;"), r"s.toml:5: invalid declaration 'int x:40;': width 40 .*exceeds"),
    (_field("int x:-1;"), r"s.toml:5: invalid declaration 'int x:-1;': .*negative width"),
    (_field("void x;"), r"s.toml:5: invalid declaration 'void x;': member 'x' has type void"),
    (_field("int x[1<<40];"), r"s.toml:5: invalid declaration 'int x\[1<<40\];': array of 4398046511104 bytes exc"),
    (_field("char data[];"), r"s.toml:5: 'char data\[\];': flexible array member 'data' "
                             r"would not be the last member of struct task_struct"),
    (_field('\n  "char data[];",\n  "int after;",\n', quoted=True).replace('after = ["tgid"]\n', ""),
     r"s.toml:5: 'char data\[\];': flexible array member 'data' would not be the last"),
    (_field("enum pid_type type;"), r"s.toml:5: .*unknown type 'enum pid_type'"),
    (GOOD + 'per_level = "vpid"\n', r"s.toml:2: per_level names 'vpid', which is not an array field"),
    (GOOD + 'per_level = "nothere"\n', r"s.toml:2: per_level names 'nothere', which is not an array field"),
    (_field("struct h *p;") + '[[type]]\nname = "h"\nfields = [\n  "char d[];",\n  "int n;",\n]\n',
     r"s.toml:9: 'char d\[\];': flexible array member 'd' would not be the last member of struct h"),
])
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_fields(build_2622(), load_scenario(_write(tmp_path, text)), ABI, {})


def test_flexible_array_member_placement(tmp_path: Path) -> None:
    appended = GOOD.replace('after = ["tgid"]\n', "").replace('"pid_t vpid;"', '"char data[];"')
    (result,) = apply_scenario(build_2622(), load_scenario(_write(tmp_path, appended)), ABI)
    assert _layout(result.result.after)[-2:] == [("stack_canary", 24), ("data", 32)]
    build = build_2622()
    build.structs["task_struct"].members.append(Member("tail", ArrayType(build.base_types["int"], None), 32 * 8))
    (before_tail,) = apply_scenario(build, load_scenario(_write(tmp_path, appended.replace("data[]", "c"))), ABI)
    assert [m.name for m in before_tail.result.after.members][-2:] == ["c", "tail"]
    after_tail = GOOD.replace('["tgid"]', '["tail"]').replace('"pid_t vpid;"', '"int late;"')
    with pytest.raises(ScenarioError, match=r"s.toml:5: 'int late;' would follow the flexible array member 'tail', "
                                            r"which must stay the last member of struct task_struct"):
        apply_scenario(build, load_scenario(_write(tmp_path, after_tail)), ABI)


def test_scenario_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace('name = "t"', 'name = "t"\n# caf\xe9').encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.toml:2: not UTF-8 text \(byte 0xe9"):
        load_scenario(str(path))


def test_enum_member_sized_by_the_build(tmp_path: Path) -> None:
    build = build_2622()
    build.enums["pid_type"] = EnumType("pid_type", 2)
    scenario = load_scenario(_write(tmp_path, GOOD.replace('"pid_t vpid;"', '"enum pid_type type;"')))
    (result,) = apply_scenario(build, scenario, ABI)
    assert result.result.after.get_member("type").type is build.enums["pid_type"]
    assert _layout(result.result.after)[-2:] == [("type", 20), ("stack_canary", 24)]
    assert scenario_needs(scenario) == (["task_struct"], ["enum pid_type"])


def test_unknown_scenario_lists_bundled() -> None:
    with pytest.raises(ScenarioError, match="bundled: .*flat"):
        load_scenario("no-such-scenario")


def test_helper_type_and_pointer_to_undefined_struct(tmp_path: Path) -> None:
    text = """\
[[type]]
name = "pair"
fields = ["char tag;", "struct nowhere *p;"]
[[change]]
struct = "task_struct"
fields = ["struct pair extra[2];"]
"""
    (result,) = apply_scenario(build_2622(), parse_scenario(text, "inline.toml"), ABI)
    assert result.anchor is None  # no anchors: appended
    added = result.result.after.get_member("extra")
    assert added.type.size_bytes == 32 and added.bit_offset // 8 == 32
    assert result.result.after.size_bytes == 64


def test_scenario_define_overrides_default(tmp_path: Path) -> None:
    text = GOOD.replace("[[change]]", "[defines]\nCONFIG_V = false\n[[change]]") + 'condition = "CONFIG_V"\n'
    scenario = parse_scenario(text, "v.toml")
    assert scenario_fields(build_2622(), scenario, ABI, {}) == []
    assert len(scenario_fields(build_2622(), scenario, ABI, {"CONFIG_V": True})) == 1


SNAPSHOT = Path(__file__).parent.parent / "data" / "debian-6.1.0-47-cloud-amd64.snapshot.json"


def test_flat_on_debian_61_uses_fallback_anchors() -> None:
    """On 6.1 pid_chain and __session are gone: the documented fallbacks take over."""
    if not SNAPSHOT.exists():
        pytest.skip(f"bundled snapshot {SNAPSHOT.name} not present")
    from layoutcalc.readers import read_input

    build = read_input(str(SNAPSHOT))
    results = {r.struct_name: r for r in apply_scenario(build, load_scenario("flat"), ABI)}
    assert {name: (r.anchor, r.anchor_index) for name, r in results.items()} == {
        "pid": ("level", 1), "signal_struct": ("tty_old_pgrp", 1), "task_struct": ("tgid", 0)}
    signal = results["signal_struct"].result.after
    names = [m.name for m in signal.members]
    assert names[names.index("tty_old_pgrp"):names.index("leader") + 1] == [
        "tty_old_pgrp", "vpgrp", "vsession", "leader"]
    with pytest.raises(ScenarioError, match="already has a member 'level'"):
        apply_scenario(build, load_scenario("hierarchical"), ABI)


def test_scenario_needs() -> None:
    assert scenario_needs(load_scenario("flat")) == (["hlist_node", "pid", "signal_struct", "task_struct"],
                                                     ["pid_t"])
    assert scenario_needs(load_scenario("hierarchical")) == (["hlist_node", "pid"], [])


def test_changes_to_one_struct_are_laid_out_together() -> None:
    text = ('[[change]]\nstruct = "task_struct"\nafter = ["pid"]\nfields = ["int a;"]\n'
            '[[change]]\nstruct = "task_struct"\nafter = ["tgid"]\nfields = ["int b;", "short c;"]\n')
    (result,) = apply_scenario(build_2622(), parse_scenario(text, "two.toml"), ABI)
    order = [m.name for m in result.result.after.members]
    assert order[order.index("pid"):order.index("pid") + 5] == ["pid", "a", "tgid", "b", "c"]
    # task_struct: did_exec bitfield at 8, pid 12, tgid 16, stack_canary 24: a lands at 16, tgid at 20, b at 24
    assert [(m.name, m.offset_bytes) for m in result.result.added] == [("a", 16), ("b", 24), ("c", 28)]
    assert result.result.size_after == 40
