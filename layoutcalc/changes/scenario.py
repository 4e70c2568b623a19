"""Scenario files: named designs that add members to kernel structs.

A scenario is a TOML file (bundled ones live in ``data/scenarios`` next to
the package, like the bundled snapshots, and load by name, e.g. ``flat``)::

    name = "flat"
    description = "..."
    [defines]                       # the scenario's own defaults; --define overrides
    CONFIG_PID_NS_FLAT = true

    [[type]]                        # optional helper types the design introduces
    name = "upid"                   # laid out under the target ABI like any struct
    fields = ["int nr;", "struct pid_namespace *ns;"]

    [[change]]
    struct = "pid"
    after = ["pid_chain", "level"]  # anchors, first one the build has wins; [] = append
    condition = "CONFIG_PID_NS_FLAT"  # optional #if expression over the defines
    remove = ["nr"]                 # optional: members the design moves out
    fields = ["int vnr;", "struct pid_namespace *ns;"]
    per_level = "numbers"           # optional: an array field with one element per
                                    # pid-namespace level; a task at level L gets L more

Field declarations are C, resolved against the build with
:mod:`layoutcalc.changes.ctype`.  An anchor may name a member inside an anonymous
union; it resolves to the top-level member that contains it.  Errors name the
file and line.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..abi import Abi
from ..analysis.facts import DebugInfo, debug_info_of
from ..datafiles import scenario_dir
from ..analysis.relayout import relayout
from ..analysis.whatif import FieldSpec, WhatIfResult, add_fields
from ..errors import LayoutcalcError, ScenarioError
from ..model import ArrayType, Build, Member, StructType
from ..safe_read import STDIN, read_bytes
from ..structured import load_toml
from .conditions import Defines, evaluate_condition
from .ctype import declaration_needs
from .fields import StructFields, chain_fields, check_flexible_arrays, declaration_fields, get_struct

# A scenario is written by hand: the bundled ones are under 2 KiB. A 12 MB mutant of 75,000
# changes took 7 s of CPU to parse and apply (fuzz run); 1 MiB leaves room for any real one.
MAX_SCENARIO_BYTES = 1 << 20

SCENARIO_DIR = scenario_dir()


@dataclass(frozen=True)
class Declaration:
    """One C member declaration of a scenario, with the line it was written on."""

    text: str
    line_no: int


@dataclass(frozen=True)
class HelperType:
    """A struct or union the scenario defines (``struct upid``)."""

    name: str
    kind: str
    fields: tuple[Declaration, ...]
    line_no: int


@dataclass(frozen=True)
class StructChange:
    """Members a scenario adds to (and optionally removes from) one struct."""

    struct_name: str
    anchors: tuple[str, ...]
    fields: tuple[Declaration, ...]
    line_no: int
    anchor_line_no: int
    condition: str = ""
    remove: tuple[str, ...] = ()
    per_level: str | None = None
    optional: str = ""  # non-empty: skip (with this reason) on a build that has none of the anchors
    nested: bool = False  # the fields go inside the anonymous struct/union member that holds the anchor


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario file."""

    name: str
    path: str
    description: str
    defines: dict[str, bool]
    types: tuple[HelperType, ...]
    changes: tuple[StructChange, ...]
    claims: tuple["ClaimSpec", ...] = ()  # [[claim]]: what the design's authors said it costs


#: How a [[claim]] is judged: ``absorbed`` holds when its struct's cache costs nothing more per
#: object; ``sole-cost`` when that cache costs more and every other changed struct's costs nothing.
CLAIM_RULES = ("absorbed", "sole-cost")


@dataclass(frozen=True)
class ClaimSpec:
    """A claim a scenario records, in its author's words, about one struct's cache."""

    text: str
    struct: str
    holds_when: str


class ScenarioResult(NamedTuple):
    """The re-layout of one struct under a scenario.

    ``anchor`` is the member the fields went after (None: appended), and
    ``anchor_index`` which of the change's anchors it was (0 = the first choice).
    ``removed`` are members the design moved out; ``level`` the pid-namespace level.
    """

    struct_name: str
    anchor: str | None
    anchor_index: int | None
    result: WhatIfResult
    removed: tuple[str, ...] = ()
    level: int = 0


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios."""
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Load a bundled scenario by name (``flat``) or a scenario file by path."""
    path = Path(name_or_path)
    if not path.exists() and (SCENARIO_DIR / f"{name_or_path}.toml").exists():
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.exists() and str(path) != STDIN:
        known = ", ".join(list_scenarios())
        raise ScenarioError(f"{name_or_path}: cannot read scenario (No such file or directory); "
                            f"bundled: {known}")
    data = read_bytes(str(path), "scenario", MAX_SCENARIO_BYTES, error=ScenarioError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}; "
                            "a scenario file must be UTF-8)") from None
    return parse_scenario(text, str(path))


def _malformed(exc: Exception, filename: str) -> ScenarioError:
    line = re.search(r"at line (\d+)", str(exc))
    where = f"{filename}:{line.group(1)}" if line else filename
    return ScenarioError(f"{where}: malformed TOML: {exc}")


def parse_scenario(text: str, filename: str) -> Scenario:
    """Parse scenario TOML ``text``; ``filename`` is used in error messages."""
    data = load_toml(text, filename, ScenarioError, malformed=lambda exc: _malformed(exc, filename))
    lines = _LineIndex(text, filename)
    _check_keys(data, {"name", "description", "source", "defines", "type", "change", "claim"}, lines.at(1), "file")
    changes = tuple(_parse_change(entry, lines, index)
                    for index, entry in enumerate(_tables(data, "change", lines)))
    if not changes:
        raise ScenarioError(f"{filename}:1: no [[change]] tables")
    return Scenario(
        name=_string(data.get("name", Path(filename).stem), lines.at(1), "name"),
        path=filename,
        description=_string(data.get("description", ""), lines.at(1), "description"),
        defines=_parse_defines(data.get("defines", {}), lines),
        types=tuple(_parse_type(entry, lines, index)
                    for index, entry in enumerate(_tables(data, "type", lines))),
        changes=changes,
        claims=tuple(_parse_claim(entry, lines, index) for index, entry in enumerate(_tables(data, "claim", lines))),
    )


def scenario_fields(build: Build, scenario: Scenario, abi: Abi, defines: Defines,
                    level: int = 0) -> list[StructFields]:
    """Per changed struct: the anchor the build has and the resolved fields to add after it.

    Changes whose condition is false for ``defines`` (over the scenario's own
    ``[defines]``) are left out.  ``level`` is the pid-namespace level of the
    task, used by ``per_level`` array fields.
    """
    return [plan.fields for plan in _plan(build, scenario, abi, defines, level)]


def apply_scenario(build: Build, scenario: Scenario, abi: Abi, placement: str = "as-patched",
                   defines: Defines | None = None, level: int = 0) -> list[ScenarioResult]:
    """Re-lay out every struct the scenario changes; one :class:`ScenarioResult` per struct.

    Changes to the same struct are applied together, each after its own anchor.
    """
    results = []
    debug_info = debug_info_of(build)
    for plan in _plan(build, scenario, abi, defines or {}, level):
        struct = _without(plan.struct, plan.remove, abi, debug_info) if plan.remove else plan.struct
        nested: list[Member] = []
        try:
            if plan.inner:
                struct, nested = _add_inside(struct, plan.inner, abi, placement, debug_info)
            result = add_fields(struct, plan.fields.fields, abi, placement, debug_info)
        except LayoutcalcError as exc:
            raise ScenarioError(f"{scenario.path}:{plan.change.line_no}: {exc}") from None
        if plan.remove or plan.inner:
            result = dataclasses.replace(result, before=plan.struct, added=nested + result.added)
        results.append(ScenarioResult(plan.struct.name or "", plan.fields.anchor, plan.anchor_index,
                                      result, plan.remove, level))
    return results


def skipped_changes(build: Build, scenario: Scenario) -> list[str]:
    """One line for each optional change that ``build`` leaves out: it has none of the change's anchors."""
    lines = []
    for change in scenario.changes:
        struct = build.structs.get(change.struct_name) or build.unions.get(change.struct_name)
        if change.optional and struct is not None and _anchor_index(struct, scenario, change) is None:
            decls = ", ".join(f"'{decl.text}'" for decl in change.fields)
            lines.append(f"{scenario.path}:{change.line_no}: {decls} sits in {change.optional}; "
                         f"{struct.tag} in {build.name} has none of its members ({', '.join(change.anchors)}), "
                         "so the block is configured out there: left out")
    return lines


def scenario_needs(scenario: Scenario) -> tuple[list[str], list[str]]:
    """(struct names, type names) to ask the reader for so that ``scenario`` can be applied."""
    structs = {change.struct_name for change in scenario.changes}
    types: set[str] = set()
    decls = [d for c in scenario.changes for d in c.fields] + [d for t in scenario.types for d in t.fields]
    for decl in decls:
        by_value, names = declaration_needs(decl.text)
        structs |= by_value
        types |= names
    structs -= {helper.name for helper in scenario.types}
    return sorted(structs), sorted(types)


class _Plan(NamedTuple):
    change: StructChange  # the first change to the struct
    struct: StructType
    anchor_index: int | None
    fields: StructFields
    remove: tuple[str, ...]
    inner: dict[int, list[FieldSpec]]  # fields to add inside the anonymous member at this index


def _plan(build: Build, scenario: Scenario, abi: Abi, defines: Defines, level: int) -> list[_Plan]:
    if level < 0:
        raise ScenarioError(f"namespace level must be 0 or more, not {level}")
    merged = {**scenario.defines, **defines}
    typed_build = _with_helper_types(build, scenario, abi)
    plans: dict[str, _Plan] = {}
    sources: dict[str, list[tuple[str, str]]] = {}
    for change in scenario.changes:
        if change.condition and not evaluate_condition(change.condition, merged):
            continue
        struct = get_struct(build, change.struct_name, f"{scenario.path}:{change.line_no}")
        anchor_index = _anchor_index(struct, scenario, change)
        if change.optional and anchor_index is None:
            continue  # see skipped_changes()
        anchor = None if anchor_index is None else change.anchors[anchor_index]
        specs, where = _resolve_fields(typed_build, scenario, change.fields, abi)
        _check_new_names(struct, scenario, change, specs)
        if change.per_level:
            specs = [_grow(spec, level) if spec.name == change.per_level else spec for spec in specs]
        fields = chain_fields(anchor, specs)
        key = struct.name or change.struct_name
        holder = _holder(struct, anchor) if change.nested and anchor is not None else None
        plan = plans.get(key) or _Plan(change, struct, anchor_index, StructFields(key, anchor, []), (), {})
        if holder is not None:
            plan.inner.setdefault(holder, []).extend(fields)
        else:
            sources.setdefault(key, []).extend(where)
            plan = plan._replace(fields=plan.fields._replace(fields=plan.fields.fields + fields))
        plans[key] = plan._replace(remove=plan.remove + change.remove)
    for key, plan in plans.items():
        kept = _without(plan.struct, plan.remove, abi, debug_info_of(build)) if plan.remove else plan.struct
        check_flexible_arrays(kept, plan.fields.fields, sources.get(key, []))
    return list(plans.values())


def _holder(struct: StructType, anchor: str) -> int | None:
    """Index of the anonymous struct/union member of ``struct`` that holds ``anchor`` (None: it is top-level)."""
    index = struct.member_index(anchor)
    return None if index is None or struct.members[index].name == anchor else index


def _add_inside(struct: StructType, inner: dict[int, list[FieldSpec]], abi: Abi, placement: str,
                debug_info: DebugInfo) -> tuple[StructType, list[Member]]:
    """``struct`` re-laid out with fields added inside anonymous members, and those fields at their offsets."""
    members = list(struct.members)
    added: list[tuple[int, list[Member]]] = []
    for index, fields in inner.items():
        holder = members[index]
        inside = holder.type.strip()
        assert isinstance(inside, StructType)
        result = add_fields(inside, fields, abi, placement, debug_info)
        members[index] = dataclasses.replace(holder, type=result.after)
        added.append((index, result.added))
    after = relayout(struct, abi, members, debug_info)
    return after, [dataclasses.replace(m, bit_offset=after.members[index].bit_offset + m.bit_offset)
                   for index, nested in added for m in nested]


def _anchor_index(struct: StructType, scenario: Scenario, change: StructChange) -> int | None:
    """Which of the change's anchors ``struct`` has first; None for none given (append) or, if optional, none found."""
    if not change.anchors:
        return None
    for index, anchor in enumerate(change.anchors):
        if struct.holds(anchor) and anchor not in change.remove:
            return index
    if change.optional:
        return None
    raise ScenarioError(f"{scenario.path}:{change.anchor_line_no}: {struct.tag} has none of the anchors "
                        f"{', '.join(change.anchors)}")


def _resolve_fields(build: Build, scenario: Scenario, decls: tuple[Declaration, ...],
                    abi: Abi) -> tuple[list[FieldSpec], list[tuple[str, str]]]:
    """The fields ``decls`` declare and, for each, (FILE:LINE, declaration text)."""
    specs: list[FieldSpec] = []
    sources: list[tuple[str, str]] = []
    for decl in decls:
        where = f"{scenario.path}:{decl.line_no}"
        added = declaration_fields(build, decl.text, abi, where)
        specs.extend(added)
        sources.extend((where, decl.text) for _ in added)
    return specs, sources


def _grow(spec: FieldSpec, level: int) -> FieldSpec:
    """A per-level array with ``level`` more elements (one ``struct upid`` per extra level)."""
    assert isinstance(spec.type, ArrayType)
    return dataclasses.replace(spec, type=ArrayType(spec.type.element, (spec.type.count or 0) + level))


def _check_new_names(struct: StructType, scenario: Scenario, change: StructChange,
                     specs: list[FieldSpec]) -> None:
    for spec in specs:
        if spec.name and struct.has_member(spec.name) and spec.name not in change.remove:
            raise ScenarioError(f"{scenario.path}:{change.line_no}: {struct.tag} already has a member "
                                f"'{spec.name}' (does this build already contain the change?)")
    for name in change.remove:
        if not struct.has_member(name):
            raise ScenarioError(f"{scenario.path}:{change.line_no}: {struct.tag} has no member '{name}' "
                                "to remove")
    if change.per_level and not any(s.name == change.per_level and isinstance(s.type, ArrayType)
                                    for s in specs):
        raise ScenarioError(f"{scenario.path}:{change.line_no}: per_level names '{change.per_level}', "
                            "which is not an array field of this change")


def _with_helper_types(build: Build, scenario: Scenario, abi: Abi) -> Build:
    """``build`` plus the scenario's helper types; they shadow the build's own of the same name."""
    if not scenario.types:
        return build
    typed = dataclasses.replace(build, structs=dict(build.structs), unions=dict(build.unions))
    for helper in scenario.types:
        empty = StructType(helper.kind, helper.name, 0, origin=f"{scenario.path}:{helper.line_no}")
        specs, sources = _resolve_fields(typed, scenario, helper.fields, abi)
        fields = chain_fields(None, specs)
        check_flexible_arrays(empty, fields, sources)
        laid_out = add_fields(empty, fields, abi, "as-patched").after
        (typed.structs if helper.kind == "struct" else typed.unions)[helper.name] = laid_out
    return typed


def _without(struct: StructType, names: tuple[str, ...], abi: Abi, debug_info: DebugInfo) -> StructType:
    """``struct`` re-laid out without the members ``names``."""
    return relayout(struct, abi, [m for m in struct.members if m.name not in names], debug_info)


class _LineIndex:
    """Line numbers of ``[[change]]``/``[[type]]`` tables and the values inside them."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines = text.splitlines()
        self.headers: dict[str, list[int]] = {"change": [], "type": [], "claim": []}
        for number, line in enumerate(self.lines, start=1):
            match = re.match(r"^\s*\[\[\s*(change|type|claim)\s*\]\]", line)
            if match:
                self.headers[match.group(1)].append(number)

    def at(self, line_no: int) -> str:
        return f"{self.filename}:{line_no}"

    def table(self, kind: str, index: int) -> int:
        return self.headers[kind][index] if index < len(self.headers[kind]) else 1

    def find(self, kind: str, index: int, needle: str, key: str = "") -> int:
        """Line of the quoted ``needle`` within table ``index`` of ``kind`` (else the key's line)."""
        start = self.table(kind, index)
        later = [n for heads in self.headers.values() for n in heads if n > start]
        end = min(later) if later else len(self.lines) + 1
        for pattern in (f'"{needle}"', f"'{needle}'", f"{key} ="):
            for number in range(start, end):
                if pattern.strip() and pattern in self.lines[number - 1]:
                    return number
        return start


def _tables(data: dict[str, Any], key: str, lines: _LineIndex) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{lines.at(1)}: '{key}' must be written as [[{key}]] tables")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed))
        raise ScenarioError(f"{where}: unknown key '{unknown[0]}' in {what} (known: {known})")


def _string(value: object, where: str, key: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{where}: '{key}' must be a string")
    return value


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScenarioError(f"{where}: '{key}' must be a string or a list of strings")
    return tuple(value)


def _parse_defines(table: object, lines: _LineIndex) -> dict[str, bool]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{lines.at(1)}: 'defines' must be a table")
    defines = {}
    for name, value in table.items():
        if isinstance(value, str) and value.lower() in ("y", "n"):
            value = value.lower() == "y"
        if not isinstance(value, bool):
            line = next((n for n, text in enumerate(lines.lines, 1) if text.strip().startswith(name)), 1)
            raise ScenarioError(f"{lines.at(line)}: define '{name}' must be true/false or \"y\"/\"n\"")
        defines[name] = value
    return defines


def _declarations(table: dict[str, Any], kind: str, index: int, lines: _LineIndex) -> tuple[Declaration, ...]:
    where = lines.at(lines.table(kind, index))
    texts = _strings(table.get("fields", []), where, "fields")
    if not texts:
        raise ScenarioError(f"{where}: [[{kind}]] has no fields")
    return tuple(Declaration(text, lines.find(kind, index, text)) for text in texts)


def _parse_type(table: dict[str, Any], lines: _LineIndex, index: int) -> HelperType:
    line_no = lines.table("type", index)
    _check_keys(table, {"name", "kind", "fields"}, lines.at(line_no), "[[type]]")
    kind = _string(table.get("kind", "struct"), lines.at(line_no), "kind")
    if kind not in ("struct", "union"):
        raise ScenarioError(f"{lines.at(line_no)}: kind must be struct or union, not '{kind}'")
    if "name" not in table:
        raise ScenarioError(f"{lines.at(line_no)}: [[type]] needs a name")
    name = _string(table["name"], lines.at(line_no), "name").removeprefix(f"{kind} ").strip()
    return HelperType(name, kind, _declarations(table, "type", index, lines), line_no)


def _parse_claim(table: dict[str, Any], lines: _LineIndex, index: int) -> ClaimSpec:
    where = lines.at(lines.table("claim", index))
    _check_keys(table, {"text", "struct", "holds_when"}, where, "[[claim]]")
    for key in ("text", "struct", "holds_when"):
        if key not in table:
            raise ScenarioError(f"{where}: [[claim]] needs '{key}'")
    rule = _string(table["holds_when"], where, "holds_when")
    if rule not in CLAIM_RULES:
        raise ScenarioError(f"{where}: holds_when '{rule}' is not one of {', '.join(CLAIM_RULES)}")
    return ClaimSpec(_string(table["text"], where, "text"), _string(table["struct"], where, "struct"), rule)


def _parse_change(table: dict[str, Any], lines: _LineIndex, index: int) -> StructChange:
    line_no = lines.table("change", index)
    where = lines.at(line_no)
    _check_keys(table, {"struct", "after", "fields", "condition", "remove", "per_level", "note"}, where,
                "[[change]]")
    if "struct" not in table:
        raise ScenarioError(f"{where}: [[change]] needs 'struct'")
    anchors = _strings(table.get("after", []), where, "after")
    per_level = table.get("per_level")
    condition = _string(table.get("condition", ""), where, "condition")
    if condition:
        try:
            evaluate_condition(condition, {})
        except ScenarioError as exc:
            line = lines.find("change", index, condition, "condition")
            raise ScenarioError(f"{lines.at(line)}: {exc}") from None
    return StructChange(
        struct_name=_string(table["struct"], where, "struct").removeprefix("struct ").strip(),
        anchors=anchors,
        fields=_declarations(table, "change", index, lines),
        line_no=line_no,
        anchor_line_no=lines.find("change", index, anchors[0] if anchors else "", "after"),
        condition=condition,
        remove=_strings(table.get("remove", []), where, "remove"),
        per_level=None if per_level is None else _string(per_level, where, "per_level"),
    )
