"""Unified diffs against C headers -> the struct members they add.

:func:`parse_patch` reads the new side of every hunk (context and added lines)
and tracks three things line by line: which struct body it is in, which
preprocessor conditions hold, and which member came last.  An added member
declaration inside a struct body becomes a :class:`PatchAddition` placed after
the member that precedes it in the diff; the members before that are kept as
fallback anchors for builds where a context member is configured out.

Where a hunk starts inside a struct, the hunk header's function context
(``@@ -944,6 +947,11 @@ struct task_struct {``, which ``diff -p`` and git
write) names it.  Kernel style is relied on for one thing: a top-level struct
closes with ``};`` in column 0, while nested unions close indented, so a hunk
that starts inside ``union { pid_t session; pid_t __session; };`` is read right.

Conditions: ``#ifdef``/``#ifndef``/``#if``/``#elif``/``#else``/``#endif`` are
evaluated against ``defines``; a symbol not given there is **undefined**, as it
is to the C preprocessor for a ``.config`` that does not set it.  So members a
patch adds under its own new option are skipped unless that option is
defined (``--define CONFIG_PID_NS_FLAT=y``); :func:`patch_symbols` lists the
symbols a patch tests so that a caller can say which were left undefined.

Only additions are modelled: removed lines are ignored, and an added member
whose name the struct already has is reported as an error by
:func:`patch_fields`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ..abi import Abi
from ..analysis.whatif import FieldSpec
from ..errors import LayoutcalcError, ScenarioError
from ..model import ArrayType, Build, Member, StructType, Type
from .ctype import declaration_needs, declared_names, find_member_index, parse_declaration
from .limits import check_condition


class PatchAddition(NamedTuple):
    """One member declaration a patch adds to a struct body.

    ``after_member`` is the member just before it in the diff (context or
    added), or None when it opens the struct body.  ``earlier_members`` are the
    members before that, nearest first.  ``condition`` is the preprocessor
    condition it sits under (``CONFIG_PID_NS_FLAT``), empty when unconditional.
    """

    struct_name: str
    after_member: str | None
    decl_text: str
    line_no: int
    filename: str = ""
    earlier_members: tuple[str, ...] = ()
    condition: str = ""


class StructFields(NamedTuple):
    """The fields to add to one struct, ready for :func:`layoutcalc.analysis.whatif.add_fields`."""

    struct_name: str
    anchor: str | None
    fields: list[FieldSpec]


_TRUE_WORDS = {"y", "yes", "1", "true", "on", "m"}
_FALSE_WORDS = {"n", "no", "0", "false", "off"}


def parse_defines(items: Iterable[str]) -> dict[str, bool]:
    """``["CONFIG_X=y", "CONFIG_Y=n", "CONFIG_Z"]`` -> ``{"CONFIG_X": True, ...}``.

    ``m`` counts as defined.  A bare name means ``=y``.
    """
    defines: dict[str, bool] = {}
    for item in items:
        name, _, value = item.partition("=")
        value = value.strip().lower() or "y"
        if not re.fullmatch(r"[A-Za-z_]\w*", name.strip()) or value not in _TRUE_WORDS | _FALSE_WORDS:
            raise ScenarioError(f"bad --define '{item}': expected NAME=y or NAME=n")
        defines[name.strip()] = value in _TRUE_WORDS
    return defines


def patch_symbols(text: str) -> set[str]:
    """Every identifier tested by a preprocessor conditional on the new side of the diff."""
    symbols: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^[ +]\s*#\s*(?:if|ifdef|ifndef|elif)\b(.*)", line)
        if match:
            words = re.findall(r"[A-Za-z_]\w*", match.group(1))
            symbols.update(w for w in words if w not in ("defined", "IS_ENABLED", "IS_BUILTIN", "IS_MODULE"))
    return symbols


def parse_patch(text: str, filename: str, defines: dict[str, bool]) -> list[PatchAddition]:
    """The member declarations ``text`` (a unified diff) adds inside struct bodies.

    Additions under a preprocessor condition that is false for ``defines`` are
    left out.  Raises :class:`ScenarioError` ``FILE:LINE: ...`` for a diff that
    is not one, or an addition whose struct or position cannot be told.
    """
    additions: list[PatchAddition] = []
    hunks = list(_iter_hunks(text, filename))
    if not hunks:
        raise ScenarioError(f"{filename}: no unified diff hunks found")
    for hunk in hunks:
        additions.extend(_HunkReader(filename, defines, hunk.context).read(hunk.lines))
    return additions


def patch_fields(build: Build, additions: list[PatchAddition], abi: Abi) -> list[StructFields]:
    """Resolve additions against ``build``: per struct, an anchor it has and the fields after it.

    Consecutive additions to the same struct after the same anchor form one
    group; each group is one :class:`StructFields`, in patch order.
    """
    groups: list[StructFields] = []
    sources: dict[str, list[tuple[str, str]]] = {}
    for addition in additions:
        struct = get_struct(build, addition.struct_name, _where(addition))
        fields = declaration_fields(build, addition.decl_text, abi, _where(addition))
        sources.setdefault(addition.struct_name, []).extend((_where(addition), addition.decl_text) for _ in fields)
        for spec in fields:
            if struct.has_member(spec.name):
                raise ScenarioError(f"{_where(addition)}: {struct.tag} already has a member '{spec.name}' "
                                    "(only additions are modelled)")
        previous = groups[-1] if groups else None
        if previous and previous.struct_name == addition.struct_name and _chains(previous, addition):
            previous.fields.extend(fields)
            continue
        groups.append(StructFields(addition.struct_name, _anchor_in(struct, addition), fields))
    chained = [group._replace(fields=chain_fields(group.anchor, group.fields)) for group in groups]
    for name, where in sources.items():
        check_flexible_arrays(build.get_struct(name), [f for g in chained if g.struct_name == name
                                                       for f in g.fields], where)
    return chained


def patch_needs(additions: list[PatchAddition]) -> tuple[list[str], list[str]]:
    """(struct names, type names) to ask the reader for so that ``additions`` can be resolved."""
    structs = {addition.struct_name for addition in additions}
    types: set[str] = set()
    for addition in additions:
        by_value, names = declaration_needs(addition.decl_text)
        structs |= by_value
        types |= names
    return sorted(structs), sorted(types)


def chain_fields(anchor: str | None, specs: list[FieldSpec]) -> list[FieldSpec]:
    """The first field goes after ``anchor`` (None: at the end), each further one after the one before."""
    chained = []
    previous = anchor
    for spec in specs:
        chained.append(dataclasses.replace(spec, after=previous))
        previous = spec.name or previous
    return chained


def _where(addition: PatchAddition) -> str:
    return f"{addition.filename}:{addition.line_no}"


def get_struct(build: Build, struct_name: str, where: str) -> StructType:
    """``build``'s struct (or union) ``struct_name``; a missing one is a :class:`ScenarioError` at ``where``."""
    try:
        return build.get_struct(struct_name)
    except LayoutcalcError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def declaration_fields(build: Build, text: str, abi: Abi, where: str) -> list[FieldSpec]:
    """The fields one C member declaration adds; its errors become :class:`ScenarioError` at ``where``."""
    try:
        declarators = parse_declaration(build, text, abi)
    except LayoutcalcError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    return [FieldSpec(d.name or "", d.type, bit_size=d.bit_size, alignment_attr=d.alignment_attr)
            for d in declarators]


def check_flexible_arrays(struct: StructType, fields: list[FieldSpec], sources: list[tuple[str, str]]) -> None:
    """Refuse chained ``fields`` that would leave a flexible array member (``x[]``) before another member.

    ``sources[i]`` is ``(FILE:LINE, declaration text)`` of ``fields[i]``.  The
    order checked is the one :func:`layoutcalc.analysis.whatif.add_fields` gives
    "as-patched"; a flexible array the build already ends ``struct`` with
    counts too.  Raises :class:`ScenarioError` at the declaration to blame.
    """
    order = _as_patched_order(struct, fields)
    last = struct.members[-1] if struct.members else None
    for position, item in enumerate(order):
        if isinstance(item, int) and _is_flexible(fields[item].type, fields[item].bit_size):
            where, text = sources[item]
            if struct.is_union:
                raise ScenarioError(f"{where}: '{text}': a flexible array member cannot be a member of "
                                    f"{struct.tag}")
            if position < len(order) - 1:
                raise ScenarioError(f"{where}: '{text}': flexible array member '{fields[item].name}' would not "
                                    f"be the last member of {struct.tag}")
        follower = order[position + 1] if position < len(order) - 1 else None
        if item is last and isinstance(item, Member) and isinstance(follower, int) \
                and _is_flexible(item.type, item.bit_size):
            where, text = sources[follower]
            raise ScenarioError(f"{where}: '{text}' would follow the flexible array member '{item.name}', "
                                f"which must stay the last member of {struct.tag}")


def _is_flexible(member_type: Type, bit_size: int | None) -> bool:
    inner = member_type.strip()
    return isinstance(inner, ArrayType) and inner.count is None and bit_size is None


def _as_patched_order(struct: StructType, fields: list[FieldSpec]) -> list[Member | int]:
    """The members of ``struct`` with the indexes of ``fields`` where "as-patched" placement puts them.

    Mirrors :func:`layoutcalc.analysis.whatif.add_fields`: "the end" is before a trailing
    ``x[]`` or ``x[0]``, and fields after the same anchor follow each other.
    """
    order: list[Member | int] = list(struct.members)
    last_after: dict[str, int] = {}
    for index, spec in enumerate(fields):
        if spec.after is None:
            tail_type = _item_type(order[-1], fields).strip() if order else None
            before_tail = isinstance(tail_type, ArrayType) and not tail_type.count
            order.insert(len(order) - 1 if before_tail else len(order), index)
            continue
        previous: Member | int | None = last_after.get(spec.after)
        if previous is None:
            previous = _anchor_position(order, fields, spec.after)
        order.insert(len(order) if previous is None else order.index(previous) + 1, index)
        last_after[spec.after] = index
    return order


def _item_type(item: Member | int, fields: list[FieldSpec]) -> Type:
    return fields[item].type if isinstance(item, int) else item.type


def _anchor_position(order: list[Member | int], fields: list[FieldSpec], name: str) -> Member | int | None:
    """The item called ``name``, or the anonymous struct/union member holding it."""
    for item in order:
        if isinstance(item, int):
            if fields[item].name == name:
                return item
            continue
        inner = item.type.strip()
        if item.name == name or (not item.name and isinstance(inner, StructType)
                                 and find_member_index(inner, name) is not None):
            return item
    return None


def _chains(group: StructFields, addition: PatchAddition) -> bool:
    """Does ``addition`` follow directly on the last field of ``group``?"""
    return bool(group.fields) and addition.after_member == group.fields[-1].name


def _anchor_in(struct: StructType, addition: PatchAddition) -> str:
    """The nearest preceding member that ``struct`` has (after_member, then earlier ones)."""
    if addition.after_member is None:
        raise ScenarioError(f"{_where(addition)}: '{addition.decl_text}' would become the first member of "
                            f"{struct.tag}; fields can only be placed after an existing member")
    for name in (addition.after_member, *addition.earlier_members):
        if find_member_index(struct, name) is not None:
            return name
    tried = ", ".join((addition.after_member, *addition.earlier_members))
    raise ScenarioError(f"{_where(addition)}: {struct.tag} has none of the members the addition "
                        f"follows in the diff ({tried})")


class _Hunk(NamedTuple):
    context: str
    lines: list[tuple[int, str]]


def _iter_hunks(text: str, filename: str) -> Iterator[_Hunk]:
    """Hunks as (function context, [(line number in the patch file, line)]).

    A hunk ends when the header's line counts are used up; a blank line counts
    as blank context (mailers strip the single space).
    """
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.startswith("@@"):
            continue
        match = re.match(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@ ?(.*)$", line)
        if not match:
            raise ScenarioError(f"{filename}:{number}: malformed hunk header '{line}'")
        old_left = int(match.group(1) or 1)
        new_left = int(match.group(2) or 1)
        hunk = _Hunk(match.group(3), [])
        while (old_left > 0 or new_left > 0) and number < len(lines):
            body = lines[number]
            kind = body[:1] if body else " "
            if kind not in (" ", "+", "-", "\\"):
                break
            number += 1
            hunk.lines.append((number, body))
            old_left -= kind in (" ", "-")
            new_left -= kind in (" ", "+")
        yield hunk


@dataclass
class _StructScope:
    name: str
    depth: int
    opener_seen: bool
    members: list[str] = field(default_factory=list)


@dataclass
class _CondFrame:
    text: str  # the condition as written, negated for #else
    active: bool
    taken: bool  # some branch of this #if chain was true


class _HunkReader:
    """Reads the new side of one hunk, line by line."""

    def __init__(self, filename: str, defines: dict[str, bool], context: str) -> None:
        self.filename = filename
        self.defines = defines
        self.conds: list[_CondFrame] = []
        self.scope: _StructScope | None = None
        self.pending_tag: str | None = None  # "struct pid" on a line of its own, "{" to follow
        self.in_comment = False
        self.statement: list[tuple[int, str, bool]] = []
        match = re.match(r"^(?:struct|union)\s+(\w+)\s*(?:\{\s*)?$", context.strip())
        if match:
            self.scope = _StructScope(match.group(1), 1, opener_seen=False)

    def read(self, lines: list[tuple[int, str]]) -> list[PatchAddition]:
        additions: list[PatchAddition] = []
        for number, line in lines:
            if line.startswith(("-", "\\")):
                continue
            added = line.startswith("+")
            raw = line[1:]
            code = self._strip_comments(raw)
            if not code.strip():
                continue
            additions.extend(self._line(number, raw, code, added))
        return additions

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

    def _line(self, number: int, raw: str, code: str, added: bool) -> list[PatchAddition]:
        stripped = code.strip()
        if stripped.startswith("#"):
            try:
                self._preprocessor(stripped)
            except ScenarioError as exc:
                raise ScenarioError(f"{self.filename}:{number}: {exc}") from None
            return []
        if self.scope is None:
            self._outside_struct(stripped)
            return []
        return self._inside_struct(number, raw, stripped, added)

    def _outside_struct(self, stripped: str) -> None:
        match = re.match(r"^(struct|union)\s+(\w+)\s*(\{)?", stripped)
        if match and match.group(3):
            self.scope = _StructScope(match.group(2), 1, opener_seen=True)
        elif match and stripped == match.group(0):
            self.pending_tag = match.group(2)
        elif stripped.startswith("{") and self.pending_tag:
            self.scope = _StructScope(self.pending_tag, 1, opener_seen=True)
        if not stripped.startswith(("struct", "union")):
            self.pending_tag = None if not stripped.startswith("{") else self.pending_tag

    def _inside_struct(self, number: int, raw: str, stripped: str, added: bool) -> list[PatchAddition]:
        scope = self.scope
        assert scope is not None
        if stripped.startswith("}"):
            self._close_brace(raw, stripped)
            return []
        if not scope.opener_seen and not raw[:1].isspace() and not self.statement:
            # Kernel members are indented: the hunk header named a struct that had already closed.
            self.scope = None
            self._outside_struct(stripped)
            return []
        if "{" in stripped:  # a nested union/struct opens
            scope.depth += stripped.count("{") - stripped.count("}")
            return []
        self.statement.append((number, stripped, added))
        if not stripped.endswith(";"):
            return []
        return self._statement_done()

    def _close_brace(self, raw: str, stripped: str) -> None:
        scope = self.scope
        assert scope is not None
        scope.depth -= stripped.count("}")
        if not raw[:1].isspace() or (scope.opener_seen and scope.depth <= 0):
            self.scope = None
            return
        scope.depth = max(scope.depth, 1)
        name = re.match(r"^\}\s*(\w+)?", stripped)
        if name and name.group(1):
            scope.members.append(name.group(1))  # a named nested union/struct member

    def _statement_done(self) -> list[PatchAddition]:
        scope = self.scope
        assert scope is not None
        parts, self.statement = self.statement, []
        text = " ".join(part for _, part, _ in parts)
        number = parts[0][0]
        added = any(is_added for _, _, is_added in parts)
        if not added:
            scope.members.extend(_context_names(text))
            return []
        if not self._active():
            return []
        if scope.depth > 1:
            raise ScenarioError(f"{self.filename}:{number}: adding members inside a nested struct/union "
                                f"of struct {scope.name} is not supported")
        if not scope.members and not scope.opener_seen:
            raise ScenarioError(f"{self.filename}:{number}: cannot tell where in struct {scope.name} "
                                f"'{text}' goes: no member precedes it in the hunk (regenerate with -U5)")
        addition = PatchAddition(
            scope.name, scope.members[-1] if scope.members else None, text, number, self.filename,
            tuple(reversed(scope.members[:-1])), self._condition_text())
        names = declared_names(text)
        if not names:
            raise ScenarioError(f"{self.filename}:{number}: cannot parse declaration '{text}'")
        scope.members.extend(names)
        return [addition]

    def _active(self) -> bool:
        return all(frame.active for frame in self.conds)

    def _condition_text(self) -> str:
        return " && ".join(frame.text for frame in self.conds)

    def _preprocessor(self, stripped: str) -> None:
        match = re.match(r"^#\s*(\w+)\s*(.*)$", stripped)
        if not match:
            return
        directive, rest = match.group(1), match.group(2).strip()
        if directive in ("ifdef", "ifndef", "if"):
            expr = {"ifdef": f"defined({rest})", "ifndef": f"!defined({rest})"}.get(directive, rest)
            value = evaluate_condition(expr, self.defines)
            shown = {"ifdef": rest, "ifndef": f"!{rest}"}.get(directive, rest)
            self.conds.append(_CondFrame(shown, value, value))
        elif directive in ("elif", "else") and self.conds:
            frame = self.conds[-1]
            value = not frame.taken and (directive == "else" or evaluate_condition(rest, self.defines))
            shown = _negate(frame.text) if directive == "else" else rest
            self.conds[-1] = _CondFrame(shown, value, frame.taken or value)
        elif directive == "endif" and self.conds:
            self.conds.pop()


def _negate(condition: str) -> str:
    if re.fullmatch(r"!\w+", condition):
        return condition[1:]
    return f"!{condition}" if re.fullmatch(r"\w+", condition) else f"!({condition})"


def _context_names(text: str) -> list[str]:
    """Member names a context statement declares; a macro call's first argument as a last resort."""
    names = declared_names(text)
    if names:
        return names
    macro = re.match(r"^\w+\s*\(\s*(\w+)", text)
    if macro:
        return [macro.group(1)]
    words = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[.*?\]|:\s*\d+", "", text))
    return words[-1:]


def evaluate_condition(expr: str, defines: dict[str, bool]) -> bool:
    """Value of a ``#if`` expression: ``defined``, ``IS_ENABLED()``, ``!``, ``&&``, ``||``, 0/1.

    An identifier not in ``defines`` is undefined (0), as for the C preprocessor.
    """
    tokens = re.findall(r"&&|\|\||[()!]|[A-Za-z_]\w*|\d+|\S", expr)
    parser = _CondParser(tokens, defines)
    try:
        check_condition(expr)
        value = parser.parse_or()
        if parser.pos != len(tokens):
            raise ScenarioError(f"unexpected '{tokens[parser.pos]}' (understood: defined(), IS_ENABLED(), "
                                "!, &&, ||, parentheses, 0 and 1)")
    except ScenarioError as exc:
        raise ScenarioError(f"cannot evaluate preprocessor condition '{expr}': {exc}") from None
    return value


class _CondParser:
    """Recursive descent over ``||``, ``&&``, ``!``, parentheses and atoms."""

    def __init__(self, tokens: list[str], defines: dict[str, bool]) -> None:
        self.tokens = tokens
        self.defines = defines
        self.pos = 0

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self) -> str:
        token = self._peek()
        self.pos += 1
        return token

    def parse_or(self) -> bool:
        value = self.parse_and()
        while self._peek() == "||":
            self._take()
            value = self.parse_and() or value
        return value

    def parse_and(self) -> bool:
        value = self.parse_unary()
        while self._peek() == "&&":
            self._take()
            value = self.parse_unary() and value
        return value

    def parse_unary(self) -> bool:
        token = self._take()
        if token == "!":
            return not self.parse_unary()
        if token == "(":
            value = self.parse_or()
            if self._take() != ")":
                raise ScenarioError("unbalanced parentheses")
            return value
        if token in ("defined", "IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE"):
            return self._defined()
        if not token:
            raise ScenarioError("it ends too early")
        if token.isdigit():
            return int(token) != 0
        if re.fullmatch(r"[A-Za-z_]\w*", token):
            return self.defines.get(token, False)
        raise ScenarioError(f"unsupported token '{token}'")

    def _defined(self) -> bool:
        parenthesised = self._peek() == "("
        if parenthesised:
            self._take()
        name = self._take()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ScenarioError(f"'{name}' is not a symbol name" if name else "a symbol name is missing")
        if parenthesised and self._take() != ")":
            raise ScenarioError("unbalanced parentheses")
        return self.defines.get(name, False)
