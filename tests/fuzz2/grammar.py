"""Hypothesis strategies: the inputs a user (or an attacker) writes, generated from grammars."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent.parent
HEADER = ROOT / "tests" / "fixtures" / "flat_pid.h"

# ----------------------------------------------------------------- numbers, as --define, --config and #if see them

HUGE_DIGITS = st.integers(min_value=19, max_value=5000).map(lambda n: "9" * n)
NUMBERS = st.one_of(
    st.integers(min_value=-(1 << 70), max_value=1 << 70).map(str),
    st.integers(min_value=0, max_value=1 << 66).map(hex),
    st.integers(min_value=0, max_value=1 << 20).map(lambda n: "0" + oct(n)[2:]),     # C octal
    st.sampled_from(["08", "09", "-09", "0123", "00", "-0", "0x", "1UL", "0x10ull", "1e3", "+5", "--1", "0b101"]),
    HUGE_DIGITS,
)
SYMBOLS = st.sampled_from(["CONFIG_PID_NS_FLAT", "CONFIG_X", "CONFIG_SMP", "CONFIG_NR_CPUS", "CONFIG_64BIT",
                           "CONFIG_CC_STACKPROTECTOR", "CONFIG_A"])


def conditions(max_leaves: int = 12) -> st.SearchStrategy[str]:
    """``#if`` expressions: defined(), IS_ENABLED(), comparisons with any number, !, &&, ||, parentheses."""
    leaf = st.one_of(
        SYMBOLS, SYMBOLS.map(lambda s: f"defined({s})"), SYMBOLS.map(lambda s: f"defined {s}"),
        SYMBOLS.map(lambda s: f"IS_ENABLED({s})"), NUMBERS,
        st.tuples(SYMBOLS, st.sampled_from(["==", "!=", "<", ">=", "<=", ">"]), NUMBERS).map(" ".join),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        inner.map(lambda e: f"!{e}"), inner.map(lambda e: f"({e})"),
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(" ".join)), max_leaves=max_leaves)


DEFINES = st.lists(st.tuples(SYMBOLS, st.one_of(st.sampled_from(["y", "n", "m", ""]), NUMBERS)).map(
    lambda pair: f"{pair[0]}={pair[1]}" if pair[1] else pair[0]), max_size=3)
CONFIG_LINES = st.one_of(
    st.tuples(SYMBOLS, st.one_of(st.sampled_from(["y", "m", "n", '"text"']), NUMBERS)).map(lambda p: f"{p[0]}={p[1]}"),
    st.tuples(SYMBOLS, st.one_of(st.sampled_from(["y", "m", "n", '"text"']), NUMBERS)).map(lambda p: f"{p[0]}={p[1]}"),
    SYMBOLS.map(lambda s: f"# {s} is not set"), st.just("# comment"), st.just(""), st.just("CONFIG_PID_NS_FLAT=y"))
GARBAGE_CONFIG_LINES = st.text(alphabet="CONFIG_=xy09\"# \t", max_size=30)
CONFIGS = st.lists(st.one_of(CONFIG_LINES, CONFIG_LINES, CONFIG_LINES, CONFIG_LINES, GARBAGE_CONFIG_LINES),
                   min_size=1, max_size=12).map(lambda lines: "\n".join(lines) + "\n")

# ----------------------------------------------------------------- C declarations

BASE_TYPES = ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int", "long",
              "unsigned long", "long long", "unsigned long long", "_Bool", "float", "double", "void *",
              "struct fz_tail *", "char *", "int (*)(void)"]
INT_TYPES = {"char": 8, "unsigned char": 8, "short": 16, "unsigned short": 16, "int": 32, "unsigned int": 32,
             "long": 64, "unsigned long": 64, "long long": 64, "unsigned long long": 64}
ALIGNS = st.sampled_from([1, 2, 4, 8, 16, 32, 64])


def _declarator(type_name: str, name: str) -> str:
    if type_name == "int (*)(void)":
        return f"int (*{name})(void)"
    return f"{type_name} {name}"


@st.composite
def members(draw: st.DrawFn, prefix: str, depth: int) -> list[str]:
    out = []
    for index in range(draw(st.integers(min_value=0 if depth else 1, max_value=8))):
        name = f"{prefix}{index}"
        shape = draw(st.sampled_from(["plain", "plain", "array", "bitfield", "aligned", "nested"] if depth < 3
                                     else ["plain", "array", "bitfield"]))
        if shape == "bitfield":
            base = draw(st.sampled_from(sorted(INT_TYPES)))
            out.append(f"{base} {name} : {draw(st.integers(min_value=1, max_value=INT_TYPES[base]))};")
        elif shape == "nested":
            kind = draw(st.sampled_from(["struct", "union"]))
            inner = " ".join(draw(members(f"{name}_", depth + 1)))
            tail = "" if draw(st.booleans()) else f" {name}"
            out.append(f"{kind} {{ {inner} }}{tail};")
        else:
            base = draw(st.sampled_from(BASE_TYPES))
            text = _declarator(base, name)
            if shape == "array":
                dims = draw(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=3))
                text = _declarator(base, name + "".join(f"[{d}]" for d in dims)) if base != "int (*)(void)" \
                    else f"int (*{name}[{dims[0] or 1}])(void)"
            if shape == "aligned":
                text += f" __attribute__((aligned({draw(ALIGNS)})))"
            out.append(text + ";")
    return out


@st.composite
def c_structs(draw: st.DrawFn) -> tuple[str, list[str]]:
    """C source defining 1-3 structs (members of every shape) and a variable of each; their names."""
    names = [f"fz_struct{i}" for i in range(draw(st.integers(min_value=1, max_value=3)))]
    parts = ["struct fz_tail;"]
    for name in names:
        body = " ".join(draw(members("m", 0)))
        attrs = draw(st.sampled_from(["", "", " __attribute__((packed))",
                                      f" __attribute__((aligned({draw(ALIGNS)})))"]))
        parts.append(f"struct {name} {{ {body} }}{attrs};\nstruct {name} var_{name};")
    return "\n".join(parts) + "\n", names


# ----------------------------------------------------------------- unified diffs against flat_pid.h

MEMBER_LINES = st.one_of(
    st.sampled_from(["int vnr;", "struct pid_namespace *ns;", "struct hlist_node vpid_chain;", "pid_t vpgrp;",
                     "unsigned long flags : 3;", "char name[16];", "long x __attribute__((aligned(64)));"]),
    members("p", 2).map(lambda lines: lines[0] if lines else "int fallback;"))


def _enclosing(header: list[str], at: int) -> str:
    """`` struct NAME {`` for the struct body line ``at`` of ``header`` ("" outside one), as diff -p writes it."""
    for line in reversed(header[:max(at, 0)]):
        if line.startswith("};"):
            return ""
        if line.startswith("struct ") and not line.rstrip().endswith(";"):
            return " " + line.rstrip()
    return ""


@st.composite
def unified_diffs(draw: st.DrawFn) -> str:
    """A patch of flat_pid.h: real context, added members under generated ``#if`` blocks, honest or wrong counts."""
    header = HEADER.read_text().splitlines()
    hunks = []
    inside = [i for i, line in enumerate(header) if line.startswith("\t") and _enclosing(header, i)]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.one_of(st.sampled_from(inside), st.sampled_from(inside),
                            st.integers(min_value=0, max_value=len(header) - 1)))
        before = header[max(0, at - draw(st.integers(0, 4))):at]
        after = header[at:at + draw(st.integers(0, 4))]
        added: list[str] = []
        for _block in range(draw(st.integers(1, 3))):
            guard = draw(st.one_of(st.none(), conditions()))
            body = [f"\t{line}" for line in draw(st.lists(MEMBER_LINES, min_size=1, max_size=4))]
            added += ([f"#if {guard}"] + body + ["#endif"]) if guard else body
        removed = [line for line in after[:1] if draw(st.booleans())]
        body = [f" {line}" for line in before] + [f"-{line}" for line in removed] + \
            [f"+{line}" for line in added] + [f" {line}" for line in after[len(removed):]]
        old = len(before) + len(after)
        new = old - len(removed) + len(added)
        if draw(st.integers(0, 9)) == 0:  # a hand-edited count
            new += draw(st.integers(-3, 3))
        context = _enclosing(header, at - len(before)) if draw(st.integers(0, 4)) else ""
        hunks.append(f"@@ -{at + 1 - len(before)},{old} +{at + 1 - len(before)},{new} @@{context}\n" + "\n".join(body))
    return "--- a/include/linux/flat_pid.h\n+++ b/include/linux/flat_pid.h\n" + "\n".join(hunks) + "\n"


# ----------------------------------------------------------------- hostile values for TOML and JSON trees

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(st.integers(min_value=-(1 << 80), max_value=1 << 80), st.floats(allow_nan=False),
                    st.booleans(), TEXT, st.sampled_from(["8", "16", "int", "count", ""]),
 st.sampled_from([0, -1, 1 << 62, 3, 4096, 10 ** 30]))


def hostile_values() -> st.SearchStrategy[object]:
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(TEXT, inner, max_size=3)),
                        max_leaves=6)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or value == value and abs(value) != float("inf") \
            else "nan"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


SCENARIO_KEYS = ["struct", "after", "fields", "condition", "remove", "per_level", "note", "align"]


@st.composite
def scenarios(draw: st.DrawFn) -> str:
    """Scenario TOML: real struct/anchor/field values mixed with hostile ones, 1-40 changes, deep arrays."""
    lines = []
    if draw(st.booleans()):
        values = st.sampled_from(["true", "false", '"y"', '"n"', "true", "08"])
        lines.append("[defines]\n" + "\n".join(f"{s} = {draw(values)}"
                                                for s in draw(st.lists(SYMBOLS, max_size=2, unique=True))))
    count = draw(st.one_of(st.integers(1, 3), st.integers(1, 40)))
    hostile = draw(st.integers(0, 3 * count - 1))  # about one scenario in three has one hostile change
    for number in range(count):
        struct, anchors = draw(st.sampled_from([("pid", ["count", "nr", "pid_chain", "tasks"]),
                                                ("task_struct", ["pid", "tgid", "state"]),
                                                ("signal_struct", ["leader", "pgrp"]), ("pid", ["count"]),
                                                ("task_struct", ["pid"]), ("nope", ["x"])]))
        change = {"struct": json.dumps(struct), "after": json.dumps([draw(st.sampled_from(anchors))]),
                  "fields": json.dumps(draw(st.lists(MEMBER_LINES, min_size=1, max_size=3)))}
        if draw(st.integers(0, 3)) == 0:
            change["condition"] = json.dumps(draw(st.one_of(SYMBOLS, conditions(4))))
        if number == hostile and draw(st.booleans()):
            change[draw(st.sampled_from(SCENARIO_KEYS))] = _toml_value(draw(hostile_values()))
        elif number == hostile:
            depth = draw(st.integers(10, 3000))
            change["fields"] = "[" * depth + "]" * depth
        lines.append("[[change]]\n" + "\n".join(f"{k} = {v}" for k, v in change.items()))
    return "\n\n".join(lines) + "\n"


@st.composite
def budgets(draw: st.DrawFn) -> str:
    rules = ["[defaults]"] + [f"{k} = {_toml_value(draw(st.one_of(SCALARS, hostile_values())))}"
                              for k in draw(st.lists(st.sampled_from(["growth", "cachelines", "holes", "x"]),
                                                     max_size=3, unique=True))]
    for name in draw(st.lists(st.sampled_from(["task_struct", "pid", "signal_struct", "fz*"]), max_size=3,
                              unique=True)):
        rules.append(f"[struct.{json.dumps(name)}]\ngrowth = {draw(st.one_of(st.integers(-5, 64), NUMBERS))}")
    if draw(st.booleans()):
        rules.append(f"allow = {_toml_value(draw(hostile_values()))}")
    return "\n".join(rules) + "\n"
