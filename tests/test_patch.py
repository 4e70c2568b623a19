"""Unified diffs -> added members: struct tracking, #ifdef handling, anchors, declarations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_scenario import build_2622

from layoutcalc import api
from layoutcalc.abi import get_abi
from layoutcalc.analysis.whatif import add_fields
from layoutcalc.changes.ctype import parse_declaration, resolve_type
from layoutcalc.changes.fields import placed_fields
from layoutcalc.changes.patch import (
    evaluate_condition,
    parse_defines,
    parse_patch,
    patch_fields,
    patch_needs,
    patch_symbols,
    read_patch,
)
from layoutcalc.errors import NotFoundError, ScenarioError
from layoutcalc.model import BaseType, Build, Member, TypedefType

FIXTURES = Path(__file__).parent / "fixtures"
SEED = (FIXTURES / "flat_pid.patch").read_text()
FLAT = {"CONFIG_PID_NS_FLAT": True}
ABI = get_abi("x86_64")


def _diff(*body: str, header: str = "@@ -10,4 +10,6 @@ struct task_struct {") -> str:
    """A one-hunk diff; the hunk's line counts are computed from ``body``."""
    old = sum(1 for line in body if line[:1] in (" ", "-"))
    new = sum(1 for line in body if line[:1] in (" ", "+"))
    counts = header.replace("-10,4 +10,6", f"-10,{old} +10,{new}")
    return "\n".join(["--- a/sched.h", "+++ b/sched.h", counts, *body]) + "\n"


def _summary(text: str, defines: dict[str, bool] | None = None) -> list[tuple[str, str | None, str]]:
    return [(a.struct_name, a.after_member, a.decl_text) for a in parse_patch(text, "t.patch", defines or {})]


def test_seed_patch_with_define() -> None:
    additions = parse_patch(SEED, "flat_pid.patch", FLAT)
    assert [(a.struct_name, a.after_member, a.decl_text) for a in additions] == [
        ("pid", "pid_chain", "int vnr;"),
        ("pid", "vnr", "struct pid_namespace *ns;"),
        ("pid", "ns", "struct hlist_node vpid_chain;"),
        ("signal_struct", "__session", "pid_t vpgrp;"),
        ("signal_struct", "vpgrp", "pid_t vsession;"),
        ("task_struct", "tgid", "pid_t vpid;"),
        ("task_struct", "vpid", "pid_t vtgid;"),
    ]
    assert all(a.condition == "CONFIG_PID_NS_FLAT" for a in additions)
    assert additions[0].earlier_members == ("nr",)
    assert additions[5].line_no == SEED.splitlines().index("+\tpid_t vpid;") + 1


def test_seed_patch_undefined_symbol_is_off() -> None:
    assert parse_patch(SEED, "flat_pid.patch", {}) == []
    assert parse_patch(SEED, "flat_pid.patch", {"CONFIG_PID_NS_FLAT": False}) == []
    assert patch_symbols(SEED) == {"CONFIG_PID_NS_FLAT", "CONFIG_CC_STACKPROTECTOR"}


def test_patch_fields_groups_per_struct() -> None:
    groups = patch_fields(build_2622(), parse_patch(SEED, "flat_pid.patch", FLAT), ABI)
    assert [(g.struct_name, g.anchor, [f.name for f in g.fields]) for g in groups] == [
        ("pid", "pid_chain", ["vnr", "ns", "vpid_chain"]),
        ("signal_struct", "__session", ["vpgrp", "vsession"]),
        ("task_struct", "tgid", ["vpid", "vtgid"]),
    ]
    signal = build_2622().structs["signal_struct"]
    result = add_fields(signal, groups[1].fields, ABI)
    assert [m.bit_offset // 8 for m in result.added] == [20, 24]


def test_conditionals() -> None:
    text = _diff(
        " \tpid_t tgid;",
        "+#ifndef CONFIG_A",
        "+\tint not_a;",
        "+#else",
        "+\tint yes_a;",
        "+#endif",
        "+#if defined(CONFIG_B) && !defined(CONFIG_C)",
        "+\tint b_not_c;",
        "+#elif IS_ENABLED(CONFIG_C)",
        "+\tint c;",
        "+#endif",
    )
    assert [d for _, _, d in _summary(text)] == ["int not_a;"]
    assert [d for _, _, d in _summary(text, {"CONFIG_A": True, "CONFIG_B": True})] == ["int yes_a;",
                                                                                      "int b_not_c;"]
    assert [d for _, _, d in _summary(text, {"CONFIG_C": True})] == ["int not_a;", "int c;"]
    conditions = [a.condition for a in parse_patch(text, "t.patch", {"CONFIG_A": True, "CONFIG_C": True})]
    assert conditions == ["CONFIG_A", "IS_ENABLED(CONFIG_C)"]


def test_struct_opened_in_hunk_and_declaration_shapes() -> None:
    text = _diff(
        " int unrelated_global;",
        " struct pid",
        " {",
        "+\tpid_t a, b;",
        " \tatomic_t count;",
        "+\tunsigned flag:1;",
        "+\tvoid (*cb)(struct pid *pid,",
        "+\t\t   int how);",
        "+\tchar name[16]; /* trailing comment */",
        " };",
        "+int not_a_member;",
        header="@@ -10,4 +10,6 @@",
    )
    assert _summary(text) == [
        ("pid", None, "pid_t a, b;"),
        ("pid", "count", "unsigned flag:1;"),
        ("pid", "flag", "void (*cb)(struct pid *pid, int how);"),
        ("pid", "cb", "char name[16];"),
    ]


def test_hunk_starting_in_a_closed_struct() -> None:
    text = _diff(" \tint last;", " };", " ", "+struct added_type {", "+\tint x;", "+};")
    read = read_patch(text, "t.patch", {})
    assert read.additions == []  # a struct the patch defines is a new type, not additions to one
    assert [(t.name, t.kind, t.members, t.line_no) for t in read.new_types] == [
        ("added_type", "struct", [("int x;", 8)], 7)]


def test_a_struct_the_patch_defines_can_be_used_by_value(tmp_path: Path) -> None:
    from layoutcalc.changes.patch import patch_scenario
    from layoutcalc.changes.scenario import apply_scenario, scenario_needs
    patch = tmp_path / "t.patch"
    patch.write_text("--- a/x.h\n+++ b/x.h\n@@ -1,2 +1,8 @@\n"
                     "+struct trace_info\n+{\n+\tint depth;\n+\tlong stamp;\n+};\n+\n"
                     " struct task_struct {\n \tlong state;\n"
                     "@@ -20,1 +26,3 @@ struct task_struct {\n \tpid_t tgid;\n+\tstruct trace_info trace;\n"
                     "+\tstruct trace_info *parent_trace;\n")
    scenario, _ = patch_scenario(str(patch), {})
    assert scenario_needs(scenario) == (["task_struct"], [])
    (result,) = apply_scenario(build_2622(), scenario, ABI)
    assert [(m.name, m.offset_bytes, m.type.size_bytes) for m in result.result.added] == [
        ("trace", 24, 16), ("parent_trace", 40, 8)]


def test_anchor_falls_back_when_context_member_is_configured_out() -> None:
    text = _diff(
        " \tpid_t tgid;",
        " #ifdef CONFIG_SOMETHING_NOT_IN_THE_BUILD",
        " \tint missing;",
        " #endif",
        "+\tint added;",
    )
    (addition,) = parse_patch(text, "t.patch", {"CONFIG_SOMETHING_NOT_IN_THE_BUILD": True})
    assert (addition.after_member, addition.earlier_members) == ("missing", ("tgid",))
    (group,) = patch_fields(build_2622(), [addition], ABI)
    assert group.anchor == "tgid"


@pytest.mark.parametrize(("text", "message"), [
    ("just some text\n", r"t.patch: no unified diff hunks"),
    (_diff(" \tpid_t tgid;", "+\tpid_t vpid vtgid;"), r"t.patch:5: cannot parse declaration 'pid_t vpid vt"),
    (_diff("+\tint first;", " \tpid_t tgid;"), r"t.patch:4: cannot tell where in struct task_struct"),
    (_diff(" \tunion {", " \t\tstruct {", " \t\t\tint a;", "+\t\t\tint b;", " \t\t};", " \t};"),
     r"t.patch:7: adding members two levels inside struct task_struct's nested"),
    (_diff(" \tunion {", "+\t\tint b;", " \t\tint a;", " \t};"), r"t.patch:5: 'int b;' would become the first"),
    ("--- a\n+++ b\n@@ -1 +1 @ x\n", r"t.patch:3: malformed hunk header"),
    (_diff(" \tpid_t tgid;", "+#if CONFIG_X >> 1", "+\tint x;", "+#endif"),
     r"t.patch:5: cannot evaluate preprocessor condition 'CONFIG_X >> 1': unexpected '>'"),
    (_diff(" \tpid_t tgid;", "+#if CONFIG_X", "+\tint x;", "+#elif CONFIG_Y &&", "+#endif"),
     r"t.patch:7: cannot evaluate preprocessor condition 'CONFIG_Y &&': it ends too early"),
    (_diff(" \tpid_t tgid;", "+#if (CONFIG_X", "+#endif"),
     r"t.patch:5: cannot evaluate preprocessor condition '\(CONFIG_X': unbalanced parentheses"),
    (_diff(" \tpid_t tgid;", "+#if CONFIG_X = 2", "+#endif"), r"t.patch:5: cannot evaluate .*unsupported token '='"),
    (_diff(" \tpid_t tgid;", "+#if " + "(" * 100 + "1" + ")" * 100, "+#endif"),
     r"t.patch:5: cannot evaluate .*nests more than 64 levels deep"),
    (_diff(" \tpid_t tgid;", "+#ifdef", "+#endif"), r"t.patch:5: cannot evaluate .*'\)' is not a symbol name"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_patch(text, "t.patch", {})


def test_patch_fields_errors() -> None:
    build = build_2622()
    unknown_type = parse_patch(_diff(" \tpid_t tgid;", "+\tu64 stamp;"), "t.patch", {})
    with pytest.raises(ScenarioError, match=r"t.patch:5: .*unknown type 'u64'"):
        patch_fields(build, unknown_type, ABI)
    existing = parse_patch(_diff(" \tpid_t tgid;", "+\tint pid;"), "t.patch", {})
    with pytest.raises(ScenarioError, match=r"t.patch:5: struct task_struct already has a member 'pid'"):
        patch_fields(build, existing, ABI)
    nowhere = parse_patch(_diff(" \tint gone;", "+\tint x;"), "t.patch", {})
    with pytest.raises(ScenarioError, match=r"t.patch:5: struct task_struct has none of .*\(gone\)"):
        patch_fields(build, nowhere, ABI)
    no_struct = parse_patch(_diff(" \tint a;", "+\tint x;", header="@@ -10,4 +10,6 @@ struct nosuch {"),
                            "t.patch", {})
    with pytest.raises(ScenarioError, match=r"t.patch:5: .*no struct named 'nosuch'"):
        patch_fields(build, no_struct, ABI)
    first = parse_patch(_diff(" struct pid {", "+\tint x;", " \tatomic_t count;", header="@@ -10,4 +10,6 @@"),
                        "t.patch", {})
    with pytest.raises(ScenarioError, match=r"t.patch:5: 'int x;' would become the first member of"):
        patch_fields(build, first, ABI)


@pytest.mark.parametrize(("body", "message"), [
    (("+\tint a[1/0];",), r"t.patch:5: invalid declaration 'int a\[1/0\];': division by zero in '1 / 0'"),
    (("+\tint a[1<<70];",), r"t.patch:5: invalid declaration 'int a\[1<<70\];': shift count 70 out of range"),
    (("+\tint x[-1];",), r"t.patch:5: invalid declaration 'int x\[-1\];': array bound -1 is negative"),
    (("+\tunsigned int x:40;",), r"t.patch:5: invalid declaration 'unsigned int x:40;': width 40 of bit-field"),
    (("+\tint x:-1;",), r"t.patch:5: invalid declaration 'int x:-1;': bit-field 'x' has negative width"),
    (("+\tvoid x;",), r"t.patch:5: invalid declaration 'void x;': member 'x' has type void"),
    (("+\tlong x[1<<31];",), r"t.patch:5: invalid declaration 'long x\[1<<31\];': array of 17179869184 bytes"),
    (("+\tenum pid_type type;",), r"t.patch:5: .*unknown type 'enum pid_type'"),
    (("+\tchar data[];",), r"t.patch:5: 'char data\[\];': flexible array member 'data' would not be the last "
                           r"member of struct task_struct"),
    (("+\tchar data[];", "+\tint n;"), r"t.patch:5: 'char data\[\];': flexible array member 'data' would not"),
])
def test_patch_fields_refuses_impossible_declarations(body: tuple[str, ...], message: str) -> None:
    additions = parse_patch(_diff(" \tpid_t tgid;", *body), "t.patch", {})
    with pytest.raises(ScenarioError, match=message):
        patch_fields(build_2622(), additions, ABI)


def test_patch_flexible_array_at_the_end() -> None:
    additions = parse_patch(_diff(" \tunsigned long stack_canary;", "+\tint n;", "+\tchar data[];"), "t.patch", {})
    (group,) = patch_fields(build_2622(), additions, ABI)
    result = add_fields(build_2622().structs["task_struct"], group.fields, ABI)
    assert [(m.name, m.bit_offset // 8) for m in result.after.members][-3:] == [
        ("stack_canary", 24), ("n", 32), ("data", 36)]


def test_patch_needs_enum() -> None:
    additions = parse_patch(_diff(" \tpid_t tgid;", "+\tenum pid_type type;", "+\tenum other *p;"), "t.patch", {})
    assert patch_needs(additions) == (["task_struct"], ["enum pid_type"])


def test_evaluate_condition() -> None:
    defines = {"A": True, "B": False}
    assert evaluate_condition("defined(A) && !defined B", defines)
    assert evaluate_condition("(A || C) && 1", defines)
    assert not evaluate_condition("C", defines)
    assert not evaluate_condition("0", defines)
    with pytest.raises(ScenarioError):
        evaluate_condition("A &&", defines)


def test_parse_defines() -> None:
    # =m defines CONFIG_D_MODULE, not CONFIG_D, as Kconfig's autoconf.h does
    assert parse_defines(["CONFIG_A=y", "CONFIG_B=n", "CONFIG_C", "CONFIG_D=m", "CONFIG_NR=0x40"]) == {
        "CONFIG_A": True, "CONFIG_B": False, "CONFIG_C": True, "CONFIG_D": False, "CONFIG_D_MODULE": True,
        "CONFIG_NR": 64}
    with pytest.raises(ScenarioError, match="bad --define 'CONFIG_A=maybe'"):
        parse_defines(["CONFIG_A=maybe"])


def test_hunk_starting_inside_a_comment() -> None:
    text = _diff(" * processes.", " */", " ", " struct pid", " {", " \tatomic_t count; /* a */", "+\tint x;",
                 header="@@ -10,4 +10,6 @@ enum pid_type")
    assert _summary(text) == [("pid", "count", "int x;")]


@pytest.mark.parametrize(("decl", "expected"), [
    ("pid_t a, b;", [("a", "pid_t", 4, None, None), ("b", "pid_t", 4, None, None)]),
    ("unsigned flag:1;", [("flag", "unsigned int", 4, 1, None)]),
    ("int :3;", [(None, "int", 4, 3, None)]),
    ("struct hlist_node vpid_chain;", [("vpid_chain", "struct hlist_node", 16, None, None)]),
    ("struct pid_namespace *ns;", [("ns", "struct pid_namespace *", 8, None, None)]),
    ("struct hlist_head tasks[2 + 1];", [("tasks", "struct hlist_head [3]", 24, None, None)]),
    ("void (*cb)(struct pid *, pid_t);", [("cb", "void (*)(struct pid *, pid_t)", 8, None, None)]),
    ("unsigned long long stamp;", [("stamp", "long long unsigned int", 8, None, None)]),
    ("long unsigned int x __aligned(16);", [("x", "long unsigned int", 8, None, 16)]),
    ("spinlock_t __rcu *lock ____cacheline_aligned;", [("lock", "spinlock_t *", 8, None, 64)]),
    ("char data[];", [("data", "char []", 0, None, None)]),
])
def test_parse_declaration(decl: str, expected: list[tuple[object, ...]]) -> None:
    got = [(d.name, d.type.c_name(), d.type.size_bytes, d.bit_size, d.alignment_attr)
           for d in parse_declaration(build_2622(), decl, ABI)]
    assert got == expected


@pytest.mark.parametrize(("decl", "error", "message"), [
    ("struct hlist_head tasks[PIDTYPE_MAX];", ScenarioError, r"cannot evaluate 'PIDTYPE_MAX'"),
    ("u64 stamp;", NotFoundError, r"unknown type 'u64'"),
    ("struct pid_namespace ns;", NotFoundError, r"struct pid_namespace is not defined in the build"),
    ("int f(void);", ScenarioError, r"not a data member"),
    ("pid_t;", ScenarioError, r"cannot parse declaration 'pid_t;'"),
])
def test_parse_declaration_errors(decl: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_declaration(build_2622(), decl, ABI)


def test_resolve_type_uses_the_build_then_the_abi() -> None:
    build = build_2622()
    assert resolve_type(build, "pid_t", ABI) is build.typedefs["pid_t"]
    assert resolve_type(build, "unsigned long", ABI) is build.base_types["long unsigned int"]
    assert resolve_type(build, "struct hlist_node", ABI) is build.structs["hlist_node"]
    assert resolve_type(build, "short", ABI).size_bytes == 2  # not in the build: the ABI's
    assert resolve_type(build, "long", get_abi("i386")).size_bytes == 4
    assert resolve_type(build, "struct pid_namespace *", get_abi("i386")).size_bytes == 4
    assert resolve_type(build, "pid_t [4]", ABI).size_bytes == 16
    with pytest.raises(NotFoundError, match="unknown type 'u64'"):
        resolve_type(build, "u64", ABI)


def test_patch_needs() -> None:
    additions = parse_patch(SEED, "flat_pid.patch", FLAT)
    assert patch_needs(additions) == (["hlist_node", "pid", "signal_struct", "task_struct"], ["pid_t"])


# --- patches as kernel developers write them -------------------------------------------------------------

PID_AT_BRACE = """\
--- a/include/linux/pid.h
+++ b/include/linux/pid.h
@@ -59,6 +59,7 @@ struct pid
 {
 \trefcount_t count;
 \tunsigned int level;
+\tu64 last_used_ns;
 \tspinlock_t lock;
 \t/* lists of tasks that use this pid */
 \tstruct hlist_head tasks[PIDTYPE_MAX];
"""


def test_hunk_starting_at_the_struct_brace_is_not_a_nested_union() -> None:
    # issue 9: the '{' after '@@ ... @@ struct pid' was taken for a nested union
    assert _summary(PID_AT_BRACE) == [("pid", "level", "u64 last_used_ns;")]


def test_git_context_naming_the_struct_before() -> None:
    # git's funcname for a hunk that starts on "struct pid" is the struct before it
    text = PID_AT_BRACE.replace("@@ -59,6 +59,7 @@ struct pid\n {", "@@ -58,7 +58,8 @@ struct upid {\n struct pid\n {")
    assert _summary(text) == [("pid", "level", "u64 last_used_ns;")]


def test_hunk_inside_a_nested_union_and_after_it() -> None:
    text = _diff(" \t\trefcount_t rcu_users;", " \t\tstruct rcu_head rcu;", " \t};", "+\tint after_union;",
                 " \tstruct pipe_inode_info *splice_pipe;", " };", header="@@ -1,5 +1,6 @@ struct task_struct {")
    (addition,) = parse_patch(text, "t.patch", {})
    assert (addition.after_member, addition.earlier_members) == ("rcu", ("rcu_users",))


def test_several_hunks_and_structs_keep_their_own_anchors() -> None:
    hunk = "@@ -{0},3 +{0},4 @@ struct {1} {{\n \t{2}\n+\t{3}\n \tint z;\n \tint y;\n"
    text = ("--- a/x.h\n+++ b/x.h\n" + hunk.format(10, "task_struct", "pid_t tgid;", "int a;")
            + hunk.format(90, "task_struct", "unsigned long stack_canary;", "int b;")
            + hunk.format(200, "pid", "atomic_t count;", "int c;"))
    assert _summary(text) == [("task_struct", "tgid", "int a;"), ("task_struct", "stack_canary", "int b;"),
                              ("pid", "count", "int c;")]


def test_block_opened_before_the_hunk_limits_the_anchors() -> None:
    text = _diff(" \tpid_t tgid;", "+\tint in_block;", " #endif", "+\tint after_block;", " \tint next;")
    first, second = parse_patch(text, "t.patch", {})
    assert first.enclosing_block.startswith("the #if block that opens before the hunk and closes at line 6")
    assert (first.after_member, first.earlier_members) == ("tgid", ())
    assert not second.enclosing_block


def test_block_opened_before_the_hunk_is_left_out_where_the_build_lacks_it(tmp_path: Path) -> None:
    from layoutcalc.changes.patch import patch_scenario
    from layoutcalc.changes.scenario import apply_scenario, skipped_changes
    patch = tmp_path / "t.patch"
    patch.write_text(_diff(" \tint cg_list;", "+\tint in_block;", " #endif", " \tpid_t tgid;", "+\tint kept;"))
    scenario, warnings = patch_scenario(str(patch), {})
    assert warnings == []
    build = build_2622()
    (result,) = apply_scenario(build, scenario, ABI)
    assert [m.name for m in result.result.added] == ["kept"]
    (line,) = skipped_changes(build, scenario)
    assert line.startswith(f"{patch}:5: 'int in_block;' sits in the #if block") and "(cg_list)" in line


def test_field_in_an_undefined_block_is_one_warning_line() -> None:
    text = _diff(" \tpid_t tgid;", " #ifdef CONFIG_CGROUPS", " \tstruct css_set __rcu *cgroups;",
                 "+\tint a;", "+\tlong b;", " #endif", "+\tint c;")
    read = read_patch(text, "t.patch", {})
    assert [a.decl_text for a in read.additions] == ["int c;"]
    assert read.warnings == ["t.patch:7: #if CONFIG_CGROUPS: CONFIG_CGROUPS is not defined, so 2 member(s) of "
                             "struct task_struct left out: 'int a;', 'long b;' (--define CONFIG_CGROUPS=y or "
                             "--config FILE to include)"]
    defined = read_patch(text, "t.patch", {"CONFIG_CGROUPS": True})
    assert [a.after_member for a in defined.additions] == ["cgroups", "a", "b"] and defined.warnings == []


def test_attributes_macros_and_unnamed_bitfields() -> None:
    text = _diff(" \tpid_t tgid;", "+\tunsigned char :0;", "+\tunsigned char flag:1;",
                 "+\tDECLARE_BITMAP(mask, 70);", "+\tANDROID_KABI_RESERVE(1);",
                 "+\tunsigned long __percpu *stats __aligned(sizeof(long) * 2);",
                 " \tunsigned long stack_canary;", "+\tint __user *uptr ____cacheline_aligned_in_smp;")
    build = build_2622()
    build.typedefs["u64"] = TypedefType("u64", BaseType("long long unsigned int", 8, "unsigned"))
    groups = patch_fields(build, parse_patch(text, "t.patch", {}), ABI)
    fields = [(f.name, f.type.c_name(), f.bit_size, f.alignment_attr, f.after) for g in groups for f in g.fields]
    assert fields == [
        ("", "unsigned char", 0, None, "tgid"), ("flag", "unsigned char", 1, None, "tgid"),
        ("mask", "long unsigned int [2]", None, None, "flag"), ("android_kabi_reserved1", "u64", None, None, "mask"),
        ("stats", "long unsigned int *", None, 16, "android_kabi_reserved1"),
        ("uptr", "int *", None, 64, "stack_canary"),
    ]


def test_every_typedef_the_build_holds_resolves() -> None:
    build = build_2622()
    u64 = TypedefType("u64", BaseType("long long unsigned int", 8, "unsigned"))
    build.structs["task_struct"].members.append(Member("stamp", u64, 256))
    assert "u64" not in build.typedefs
    (decl,) = parse_declaration(build, "u64 when;", ABI)
    assert decl.type is u64
    (flag,) = parse_declaration(build, "bool flag;", ABI)
    assert (flag.type.c_name(), flag.type.size_bytes) == ("_Bool", 1)


def test_clang_internal_base_types_are_never_chosen() -> None:
    build = build_2622()
    build.base_types = {"__ARRAY_SIZE_TYPE__": BaseType("__ARRAY_SIZE_TYPE__", 8, "unsigned"),
                        "ssizetype": BaseType("ssizetype", 8, "signed"), **build.base_types}
    for text, size in (("int", 4), ("unsigned short", 2), ("long", 8), ("unsigned int", 4)):
        assert resolve_type(build, text, ABI).size_bytes == size, text


@pytest.mark.parametrize(("expr", "defines", "value"), [
    ("CONFIG_NR_CPUS > 64 && CONFIG_NR_CPUS <= 8192", {"CONFIG_NR_CPUS": 512}, True),
    ("CONFIG_NR_CPUS == 64", {"CONFIG_NR_CPUS": 512}, False),
    ("IS_ENABLED(CONFIG_X)", {"CONFIG_X_MODULE": True}, True),
    ("IS_BUILTIN(CONFIG_X)", {"CONFIG_X_MODULE": True}, False),
    ("IS_MODULE(CONFIG_X) && !defined(CONFIG_X)", {"CONFIG_X_MODULE": True}, True),
    ("defined(CONFIG_X) || 0x10 != 16", {"CONFIG_X": False}, False),
])
def test_conditions_with_values(expr: str, defines: dict[str, int], value: bool) -> None:
    assert evaluate_condition(expr, defines) is value


def test_kernel_config_files(tmp_path: Path) -> None:
    import gzip

    from layoutcalc.changes.kconfig import read_config
    text = "# comment\nCONFIG_CGROUPS=y\nCONFIG_FOO=m\n# CONFIG_BAR is not set\nCONFIG_NR_CPUS=8192\n" \
           'CONFIG_NAME="debian"\nCONFIG_BASE=0x1000\n'
    plain, packed = tmp_path / ".config", tmp_path / "config.gz"
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    expected = {"CONFIG_CGROUPS": True, "CONFIG_FOO_MODULE": True, "CONFIG_BAR": False, "CONFIG_NR_CPUS": 8192,
                "CONFIG_NAME": True, "CONFIG_BASE": 4096}
    assert read_config(str(plain)) == read_config(str(packed)) == expected
    (tmp_path / "bad").write_text("CONFIG_A=y\nnot a config line\n")
    with pytest.raises(ScenarioError, match=r"bad:2: not a kernel config line: 'not a config line'"):
        read_config(str(tmp_path / "bad"))
    with pytest.raises(ScenarioError, match=r"missing: cannot read kernel config"):
        read_config(str(tmp_path / "missing"))


@pytest.mark.live
def test_running_kernel_config() -> None:
    from layoutcalc.changes.kconfig import live_config
    from layoutcalc.errors import LiveSystemError
    try:
        symbols, where = live_config()
    except LiveSystemError as exc:
        pytest.skip(str(exc))
    assert where in ("/proc/config.gz",) or where.startswith("/boot/config-")
    assert symbols.get("CONFIG_PRINTK") is True  # every kernel that boots a shell has printk


# --- the command line: warnings, --config, --arch, patch cost ---------------------------------------------

PATCHES = Path(__file__).parent / "patches"


def _cli(args: list[str]) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from layoutcalc.cli import main
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def test_cli_config_file_decides_a_patch_and_warnings_go_to_stderr(tmp_path: Path) -> None:
    patch = str(PATCHES / "task-cgroups-defined.patch")
    code, out, err = _cli(["whatif", "--patch", patch])
    # issue 17: the struct is still listed, unchanged, and the warning says why
    assert code == 0 and "CONFIG_CGROUPS is not defined" in err and "cgroup_attach_ns" in err
    assert "struct task_struct is listed unchanged" in err and "(+0)" in out
    config = tmp_path / "config-6.1"
    config.write_text("CONFIG_CGROUPS=y\n")
    code, out, err = _cli(["whatif", "--patch", patch, "--config", str(config)])
    assert code == 0 and err == ""
    assert "+ cgroup_attach_ns (u64) after 'cg_list'" in out


def test_cli_names_each_fields_predecessor_across_hunks() -> None:
    code, out, _ = _cli(["whatif", "--patch", str(PATCHES / "task-three-hunks.patch")])
    assert code == 0
    assert "3 field(s) at 'tgid', 'comm', 'cg_list'" in out
    for field, after in (("vtgid", "tgid"), ("comm_suffix", "comm"), ("cg_generation", "cg_list")):
        assert re.search(rf"\+ {field} \(.*\) after '{after}', offset \d+", out), field


def test_cli_arch_says_it_relays_out_this_builds_configuration() -> None:
    code, out, _ = _cli(["whatif", "--arch", "i386", "--patch", str(PATCHES / "pid-last-used.patch")])
    assert code == 0
    assert out.startswith("note: --arch i386: this re-lays out 6.1.0-47-cloud-amd64's own configuration (x86_64) "
                          "under i386 ABI rules, not a real i386 build")
    code, out, _ = _cli(["whatif", "--arch", "i386", "--format", "json"])
    assert code == 0 and "re-lays out" in json.loads(out)["notes"][0]
    code, out, _ = _cli(["whatif", "--format", "json"])
    assert "notes" not in json.loads(out)


def test_report_and_slab_give_the_slab_cost_of_a_patch() -> None:
    """struct pid grows by 8 bytes; its cache holds sizeof(struct pid) + one struct upid, SLAB_HWCACHE_ALIGN."""
    patch = str(PATCHES / "pid-last-used.patch")
    code, out, _ = _cli(["report", "--patch", patch, "--format", "json"])
    assert code == 0
    rows = {row["build"]: row for row in json.loads(out)["rows"]}
    assert set(rows) == {api_build.name for api_build in _bundled_builds()}
    for build in _bundled_builds():
        if not build.has_struct("upid"):  # 2.6.22 (SLAB, no struct upid): tests/test_seed_kernel.py
            continue
        row = rows[build.name]
        pid, upid = build.get_struct("pid"), build.get_struct("upid")
        assert row["struct"] == "pid" and row["size_on"] - row["size_off"] >= 8
        line = build.provenance.cacheline_size or 64
        for side, size in (("off", row["size_off"]), ("on", row["size_on"])):
            expected = -(-(size + upid.size_bytes) // line) * line  # order-0 slabs: 4096 // object objects
            assert row[f"object_{side}"] == expected and row[f"objs_per_slab_{side}"] == 4096 // expected
        assert row["size_off"] == pid.size_bytes
    code, out, _ = _cli(["slab", "--patch", patch, "-i", str(api.bundled_snapshots()[0])])
    assert code == 0 and "Effect of the added fields" in out and "object 112->120" in out


def _bundled_builds() -> list[Build]:
    return [api.load(str(path), structs=["pid", "upid"]) for path in api.bundled_snapshots()]


def test_member_added_inside_an_anonymous_union(tmp_path: Path) -> None:
    from layoutcalc.changes.patch import patch_scenario
    from layoutcalc.changes.scenario import apply_scenario
    patch = tmp_path / "t.patch"
    patch.write_text(_diff(" \tunion {", " \t\tpid_t session;", " \t\tpid_t __session;", "+\t\tlong session_id;",
                           " \t};", " \tint leader;", header="@@ -10,4 +10,6 @@ struct signal_struct {"))
    scenario, _ = patch_scenario(str(patch), {})
    (result,) = apply_scenario(build_2622(), scenario, ABI)
    # the union (at 16, already 8-aligned) grows from 4 to 8 bytes: leader moves from 20 to 24, tty from 24 to 32
    assert [(m.name, m.offset_bytes) for m in result.result.added] == [("session_id", 16)]
    assert [(m.name, m.offset_bytes) for m in result.result.after.members][-3:] == [
        (None, 16), ("leader", 24), ("tty", 32)]
    assert result.result.size_after == 40
    (placed,) = placed_fields(result.result)
    assert (placed.follows, placed.offset_bytes) == ("__session", 16)


def test_report_warns_where_a_build_lacks_a_block_the_hunk_starts_in(tmp_path: Path) -> None:
    patch = tmp_path / "t.patch"
    patch.write_text(_diff(" \tint configured_out_member;", "+\tint in_block;", " #endif", " \tpid_t tgid;",
                           "+\tint kept;"))
    code, out, err = _cli(["report", "--patch", str(patch), "--format", "json"])
    assert code == 0
    assert len(err.splitlines()) == len(api.bundled_snapshots())
    assert all("'int in_block;' sits in the #if block" in line for line in err.splitlines())
    assert {row["struct"] for row in json.loads(out)["rows"]} == {"task_struct"}
