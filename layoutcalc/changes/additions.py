"""Hunks of a header diff -> the struct members they add, with the member each follows.

:func:`find_additions` reads the new side of every hunk (context and added
lines) and tracks, line by line, which struct body it is in, which
preprocessor blocks are open and which member came last.  An added member
declaration becomes a :class:`PatchAddition` placed after the member before it
in the diff; the members before that are fallback anchors for a build where a
context member is configured out.

Where a hunk starts inside a struct, its function context (``@@ ... @@ struct
task_struct {`` or ``@@ ... @@ struct pid`` with the ``{`` on the next line,
as ``git diff`` and ``diff -p`` write) names it.  Kernel style settles the
rest: a struct's own ``{`` and ``}`` stand in column 0, its members are
indented one tab and a nested union's two, so a hunk that starts in the middle
of a struct, at its ``{`` or inside a nested union is read right, and one that
starts after the struct closed is recognised by its first column-0 line.

Conditions: ``#if``/``#ifdef``/``#ifndef``/``#elif``/``#else``/``#endif`` are
evaluated against the defines (:mod:`layoutcalc.changes.conditions`).  An added
member in a false block is not added but recorded as :class:`LeftOut`, so that
the caller can say what was left out and why.  A hunk that starts inside a
block opened before it shows that with an ``#else``/``#endif`` it cannot match;
the members added before that carry ``enclosing_block``, and their anchors are
limited to the members inside the block, so a build that lacks the block's
members lacks the addition too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import ScenarioError
from .conditions import ConditionStack, Defines, condition_symbols, is_defined
from .ctype import declared_names, parse_names
from .hunks import Hunk, HunkLine

# Lines that are a macro standing for nothing (or for struct { ... } under RANDSTRUCT, off in distribution builds).
_NO_OP_MACROS = re.compile(r"^(randomized_struct_fields_(start|end)|__randomize_layout|\w+_KABI_\w*\(\s*\))$")


class PatchAddition(NamedTuple):
    """One member declaration a patch adds to a struct body.

    ``after_member`` is the member just before it in the diff (context or
    added), or None when it opens the struct body.  ``earlier_members`` are the
    members before that, nearest first.  ``condition`` is the preprocessor
    condition it sits under (``CONFIG_PID_NS_FLAT``), empty when unconditional.
    ``enclosing_block`` is set when it sits in a block that opens before its
    hunk (then its anchors are only the members of that block).
    """

    struct_name: str
    after_member: str | None
    decl_text: str
    line_no: int
    filename: str = ""
    earlier_members: tuple[str, ...] = ()
    condition: str = ""
    enclosing_block: str = ""
    nested: bool = False  # inside an anonymous struct/union member (mm_struct's): anchors are its members


class LeftOut(NamedTuple):
    """A member declaration the patch adds under a condition that is false for the defines."""

    struct_name: str
    decl_text: str
    line_no: int
    filename: str
    condition: str
    undefined: tuple[str, ...]


class NewType(NamedTuple):
    """A struct or union the patch defines (its opening line is an added line): ``(decl text, line)`` members."""

    name: str
    kind: str
    members: list[tuple[str, int]]
    line_no: int


class Additions(NamedTuple):
    """What a patch adds under the given defines, what it would add under others, and the types it defines."""

    additions: list[PatchAddition]
    left_out: list[LeftOut]
    new_types: list[NewType]
    removed: list[tuple[int, str]] = []  # (line, text) of member declarations the patch removes


def find_additions(hunks: list[Hunk], filename: str, defines: Defines) -> Additions:
    """The member declarations ``hunks`` add inside struct bodies, and those left out by their conditions.

    Raises :class:`ScenarioError` ``FILE:LINE: ...`` for an addition whose
    struct or position cannot be told, or a condition that cannot be evaluated.
    """
    additions: list[PatchAddition] = []
    left_out: list[LeftOut] = []
    new_types: list[NewType] = []
    removed: list[tuple[int, str]] = []
    for hunk in hunks:
        reader = _HunkReader(filename, defines, hunk.context)
        reader.read(hunk.lines)
        additions.extend(reader.additions)
        left_out.extend(reader.left_out)
        new_types.extend(reader.new_types)
        removed.extend(reader.removed)
    return Additions(additions, left_out, new_types, removed)


def left_out_warnings(left_out: list[LeftOut]) -> list[str]:
    """One line per false condition: the symbols it needs and the members left out because of it."""
    by_condition: dict[tuple[str, str], list[LeftOut]] = {}
    for item in left_out:
        by_condition.setdefault((item.condition, item.struct_name), []).append(item)
    lines = []
    for (condition, struct_name), items in by_condition.items():
        first = items[0]
        undefined = first.undefined
        why = (f"{' and '.join(undefined)} {'is' if len(undefined) == 1 else 'are'} not defined" if undefined
               else f"'{condition}' is false")
        decls = ", ".join(f"'{item.decl_text}'" for item in items)
        hint = f"--define {undefined[0]}=y or --config FILE" if undefined else "--define or --config"
        lines.append(f"{first.filename}:{first.line_no}: #if {condition}: {why}, so {len(items)} member(s) of "
                     f"struct {struct_name} left out: {decls} ({hint} to include)")
    return lines


@dataclass
class _Scope:
    """The struct the reader is in.  ``certain``: its depth is known from braces seen in the hunk."""

    name: str
    depth: int
    certain: bool
    members: list[str] = field(default_factory=list)
    new: NewType | None = None  # the patch defines this struct: its members are a new type's, not additions
    nested_start: int | None = None  # index in members where the open nested aggregate's members start


class _HunkReader:
    """Reads the new side of one hunk, line by line."""

    def __init__(self, filename: str, defines: Defines, context: str) -> None:
        self.filename = filename
        self.defines = defines
        self.conds = ConditionStack(defines)
        self.scope: _Scope | None = None
        self.pending_tag: str | None = None  # "struct pid" on a line of its own, "{" to follow
        self.pending_kind = ("struct", 0)
        self.in_comment = False
        self.statement: list[tuple[int, str, bool]] = []
        self.additions: list[PatchAddition] = []
        self.left_out: list[LeftOut] = []
        self.new_types: list[NewType] = []
        self.removed: list[tuple[int, str]] = []
        self.region_start = 0  # index into scope.members where the current unseen #if block's members start
        self.region_additions: list[int] = []  # additions made since then, to mark if the block proves unseen
        self.in_unseen_block = ""
        match = re.match(r"^(?:struct|union)\s+(\w+)\s*(\{[^}]*)?$", context.strip())
        if match:
            self.scope = _Scope(match.group(1), 1, certain=False)

    def read(self, lines: list[HunkLine]) -> None:
        for line in lines:
            if line.kind == "-":
                code = re.sub(r"/\*.*?\*/|//.*$", " ", line.text).strip()
                if self.scope is not None and code.endswith(";") and declared_names(code):
                    self.removed.append((line.line_no, code))
                continue
            code = self._strip_comments(line.text)
            if code.strip():
                self._line(line.line_no, line.text, code, line.kind == "+")

    def _strip_comments(self, raw: str) -> str:
        """The code on a line, with comments (also ones opened on earlier lines) removed."""
        text = raw
        if self.in_comment or (not self.statement and re.match(r"^\s*\*(?!/\s*\S)", text)):
            end = text.find("*/")
            if end < 0:
                return ""
            text = text[end + 2:]
            self.in_comment = False
        elif "*/" in text and "/*" not in text.split("*/")[0]:
            text = text.split("*/", 1)[1]  # a comment opened before the hunk started
        text = re.sub(r"/\*.*?\*/|//.*$", " ", text)
        start = text.find("/*")
        if start >= 0:
            self.in_comment = True
            text = text[:start]
        return text

    def _line(self, number: int, raw: str, code: str, added: bool) -> None:
        stripped = code.strip()
        if stripped.startswith("#"):
            self._preprocessor(number, stripped)
            return
        if self.scope is None:
            self._outside_struct(stripped, number if added else 0)
            return
        if not self.statement and _NO_OP_MACROS.match(stripped):
            return
        if not self.scope.certain and not self.statement:
            if stripped.startswith("{"):  # the struct's own brace: "struct pid" was the line before
                self.scope.certain = True
                self.scope.depth = 1
                return
            if not raw[:1].isspace() and not stripped.startswith("}"):
                # Kernel members are indented: the hunk header named a struct that had already closed.
                self.scope = None
                self._outside_struct(stripped, number if added else 0)
                return
        if stripped.startswith("}"):
            self._close_brace(raw, stripped)
            return
        if "{" in stripped and not (stripped.endswith(";") and stripped.count("{") == stripped.count("}")):
            self._open_nested(raw, stripped)
            return
        self.statement.append((number, stripped, added))
        if stripped.endswith(";"):
            self._statement_done(raw)

    def _outside_struct(self, stripped: str, added_at: int) -> None:
        """Outside any struct: watch for one opening.  ``added_at``: the line number if the line is added."""
        match = re.match(r"^(struct|union)\s+(\w+)\s*(\{)?", stripped)
        if match and match.group(3) and "}" not in stripped:
            self._open(match.group(2), match.group(1), added_at)
        elif match and stripped == match.group(0):
            self.pending_tag = match.group(2)
            self.pending_kind = (match.group(1), added_at)
            return
        elif stripped.startswith("{") and self.pending_tag:
            self._open(self.pending_tag, *self.pending_kind)
        self.pending_tag = None

    def _open(self, name: str, kind: str, added_at: int) -> None:
        self.scope = _Scope(name, 1, certain=True)
        if added_at:
            self.scope.new = NewType(name, kind, [], added_at)
            self.new_types.append(self.scope.new)

    def _open_nested(self, raw: str, stripped: str) -> None:
        scope = self.scope
        assert scope is not None
        if not scope.certain:
            scope.depth, scope.certain = _indent(raw), True
        scope.depth += stripped.count("{") - stripped.count("}")
        if scope.depth == 2:
            scope.nested_start = len(scope.members)

    def _close_brace(self, raw: str, stripped: str) -> None:
        scope = self.scope
        assert scope is not None
        if not raw[:1].isspace():
            self.scope = None
            return
        if scope.certain:
            scope.depth -= stripped.count("}")
        else:
            scope.depth, scope.certain = _indent(raw), True
        if scope.depth <= 0:
            self.scope = None
            return
        if scope.depth == 1:
            scope.nested_start = None
        name = re.match(r"^\}\s*(\w+)?", stripped)
        if scope.depth == 1 and name and name.group(1) and not name.group(1).startswith("__"):
            scope.members.append(name.group(1))  # a named nested union/struct member

    def _statement_done(self, raw: str) -> None:
        scope = self.scope
        assert scope is not None
        parts, self.statement = self.statement, []
        text = " ".join(part for _, part, _ in parts)
        number = parts[0][0]
        if not any(is_added for _, _, is_added in parts):
            scope.members.extend(_context_names(text))
            return
        if scope.new is not None:
            if scope.depth > 1 or not self.conds.active:
                raise ScenarioError(f"{self.filename}:{number}: struct {scope.name}, which the patch defines, has "
                                    "a nested aggregate or a conditional member: not supported")
            scope.new.members.append((text, number))
            return
        if not self.conds.active:
            false = self.conds.false_text()
            undefined = tuple(s for s in condition_symbols(false) if not is_defined(self.defines, s))
            self.left_out.append(LeftOut(scope.name, text, number, self.filename, false, undefined))
            return
        depth = scope.depth if scope.certain else _indent(raw)
        if depth > 2:
            raise ScenarioError(f"{self.filename}:{number}: adding members two levels inside struct "
                                f"{scope.name}'s nested structs/unions is not supported")
        try:
            names = parse_names(text)
        except ScenarioError:
            raise ScenarioError(f"{self.filename}:{number}: cannot parse declaration '{text}'") from None
        start = 0 if depth == 1 or scope.nested_start is None else scope.nested_start
        if self.in_unseen_block:
            start = max(start, self.region_start)
        inside = scope.members[start:]
        if not inside and depth == 2:
            raise ScenarioError(f"{self.filename}:{number}: '{text}' would become the first member of a nested "
                                f"struct/union of struct {scope.name}; fields can only be placed after an existing "
                                "member")
        if not inside and not scope.certain:
            raise ScenarioError(f"{self.filename}:{number}: cannot tell where in struct {scope.name} "
                                f"'{text}' goes: no member precedes it in the hunk (regenerate with -U5)")
        self.region_additions.append(len(self.additions))
        self.additions.append(PatchAddition(
            scope.name, inside[-1] if inside else None, text, number, self.filename, tuple(reversed(inside[:-1])),
            self.conds.text, self.in_unseen_block, depth == 2))
        scope.members.extend(name for name in names if name)

    def _preprocessor(self, number: int, stripped: str) -> None:
        try:
            matched = self.conds.directive(stripped)
        except ScenarioError as exc:
            raise ScenarioError(f"{self.filename}:{number}: {exc}") from None
        if matched:
            return
        block = f"the #if block that opens before the hunk and closes at line {number}"
        members = self.scope.members if self.scope else []
        for index in self.region_additions:
            addition = self.additions[index]
            if addition.enclosing_block:
                continue
            before_anchor = len(addition.earlier_members)  # members[before_anchor] is after_member
            inside = members[self.region_start:before_anchor]
            self.additions[index] = addition._replace(enclosing_block=block, earlier_members=tuple(reversed(inside)))
        self.region_additions = []
        self.region_start = len(members)
        self.in_unseen_block = block if re.match(r"^#\s*(else|elif)\b", stripped) else ""


def _indent(raw: str) -> int:
    """Nesting level a kernel-style line is indented to (a tab or 8 spaces per level)."""
    spaces = len(raw.expandtabs(8)) - len(raw.expandtabs(8).lstrip())
    return max(1, spaces // 8)


def _context_names(text: str) -> list[str]:
    """Member names a context statement declares; a macro call's first argument as a last resort."""
    names = declared_names(text)
    if names:
        return names
    try:
        if not any(parse_names(text)):
            return []  # an unnamed bitfield
    except ScenarioError:
        pass
    macro = re.match(r"^\w+\s*\(\s*([A-Za-z_]\w*)", text)
    if macro:
        return [macro.group(1)]
    words = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[.*?\]|:\s*\d+", "", text))
    return words[-1:]
