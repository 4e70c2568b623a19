"""Unified diffs -> added members: struct tracking, #ifdef handling, anchors, declarations."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scenario import build_2622

from layoutcalc.abi import get_abi
from layoutcalc.analysis.whatif import add_fields
from layoutcalc.changes.ctype import parse_declaration, resolve_type
from layoutcalc.changes.patch import (
    evaluate_condition,
    parse_defines,
    parse_patch,
    patch_fields,
    patch_needs,
    patch_symbols,
)
from layoutcalc.errors import NotFoundError, ScenarioError

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
    assert _summary(text) == [("added_type", None, "int x;")]


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
    (_diff(" \tunion {", " \t\tint a;", "+\t\tint b;", " \t};"), r"t.patch:6: adding members inside a"),
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
    ("void (*cb)(struct pid *, pid_t);", [("cb", "void (*)(void)", 8, None, None)]),
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
