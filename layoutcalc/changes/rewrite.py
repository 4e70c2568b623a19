"""Every edit a header patch makes to a struct, applied to the struct as the build recorded it.

:mod:`layoutcalc.changes.additions` models added members only.  This module reads
both sides of every hunk and edits a tree of the struct (its anonymous unions and
structs are nodes, at any depth): context and removed declarations are found in
the tree by name (a member this configuration leaves out is simply not found),
removed ones are taken out, added ones go in after the last member seen.  So a
replaced, retyped, renamed or moved member, a member at any depth, a new
``union {}``/``struct {}`` (also one whose first member is new), ``struct_group()``,
``struct_group_tagged()``, ``__struct_group()`` and ``DECLARE_FLEX_ARRAY`` are one
model.  Array bounds may use the patch's own ``#define``s (the new side) and
identifiers whose value a context or removed declaration shows (its member's
length in the build).  Then every changed node is laid out again from the inside
out, members that did not change keeping the gaps and alignments their facts give.

What cannot be modelled is said: a warning naming ``FILE:LINE`` and what is
unsure (:class:`Rewrite.warnings`), or a :class:`ScenarioError` when no honest
layout can follow (an added member whose place or type cannot be told).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Optional

from ..abi import Abi
from ..analysis.facts import DebugInfo, World, struct_facts
from ..analysis.relayout import relayout_with_facts
from ..analysis.whatif import FieldSpec, WhatIfResult
from ..errors import LayoutcalcError, ScenarioError
from ..model import ArrayType, Build, Member, StructType
from .additions import LeftOut, left_out_warnings
from .conditions import ConditionStack, Defines, condition_symbols, is_defined
from .ctype import declaration_needs, declared_names, parse_declaration
from .hunks import Hunk, read_hunks

if TYPE_CHECKING:
    from .scenario import ScenarioResult

__all__ = ["Rewrite", "StructEdit", "apply_rewrite", "patch_results", "read_rewrite", "rewrite_needs"]

_NO_OP = re.compile(r"^(randomized_struct_fields_(start|end)|__randomize_layout|\w+_KABI_\w*\(\s*\))\s*;?$")
_GROUP = re.compile(r"^(struct_group|struct_group_tagged|struct_group_attr|__struct_group)\s*\((.*)$")
_DEFINE = re.compile(r"^#\s*define\s+(\w+)\s+(.+?)\s*$")


@dataclass
class Statement:
    """One C statement of a hunk: a declaration, an opening or a closing of an aggregate."""

    kind: str  # "decl", "open", "close"
    text: str
    line_no: int
    side: str  # " ", "-", "+"
    raw: str = ""


@dataclass
class Node:
    """An aggregate: the build's (``struct``) or a new one the patch writes."""

    kind: str
    struct: Optional[StructType]
    items: list["Item"] = field(default_factory=list)
    parent: Optional["Node"] = None
    name: Optional[str] = None
    align: Optional[int] = None
    packed: bool = False
    group: Optional[tuple[Optional[str], str]] = None  # struct_group: (tag, name)
    mirror: bool = False  # the build's struct_group union: its second struct copies its first
    changed: bool = False


@dataclass
class Item:
    member: Optional[Member] = None
    spec: Optional[FieldSpec] = None
    child: Optional[Node] = None
    removed: bool = False
    line_no: int = 0
    hint_align: Optional[int] = None  # an alignment a context line states that the debug info may not record


def _tree(struct: StructType, parent: Optional[Node] = None) -> Node:
    node = Node(struct.kind, struct, parent=parent)
    for member in struct.members:
        inner = member.type.strip()
        child = None
        if isinstance(inner, StructType) and not inner.name and member.bit_size is None:
            child = _tree(inner, node)
        node.items.append(Item(member=member, child=child))
    if struct.is_union and len(node.items) == 2 and all(i.child is not None and i.child.kind == "struct"
                                                        for i in node.items) \
            and node.items[0].member is not None and not node.items[0].member.name \
            and node.items[1].member is not None and node.items[1].member.name:
        node.mirror = True  # struct_group(NAME, ...): union { struct { ... }; struct { ... } NAME; }
    return node


def _item_name(item: Item) -> Optional[str]:
    if item.member is not None:
        return item.member.name or None
    if item.spec is not None:
        return item.spec.name or None
    return item.child.name if item.child is not None else None


def _find(node: Node, name: str, existing: bool = False) -> Optional[tuple[Node, int]]:
    """The innermost node holding a live member ``name`` (a struct_group's mirror copy is skipped).

    ``existing``: only members the build has (context and removed lines name those, never added ones).
    """
    for index, item in enumerate(node.items):
        if item.removed or (existing and item.member is None and (item.child is None or item.child.struct is None)):
            continue
        if _item_name(item) == name:
            return node, index
        if item.child is not None and not (node.mirror and index == 1):
            found = _find(item.child, name, existing)
            if found:
                return found
    return None


def _find_near(root: Node, name: str, cursor: Optional[tuple[Node, int]]) -> Optional[tuple[Node, int]]:
    """``name`` among the build's members, looked for first in the aggregate the hunk is in (two nested
    aggregates may both have an ``a``), then in its enclosing ones, then anywhere."""
    node = cursor[0] if cursor is not None else None
    while node is not None:
        for index, item in enumerate(node.items):
            if not item.removed and (item.member is not None or (item.child is not None and item.child.struct)) \
                    and _item_name(item) == name and index >= (cursor[1] - 1 if cursor and node is cursor[0] else 0):
                return node, index
        node = node.parent
    found = _find(root, name, existing=True)
    if found is not None and _count(root, name) > 1:
        raise ScenarioError(f"'{name}' is a member of more than one nested aggregate of struct "
                            f"{root.struct.name if root.struct else ''}, and the hunk does not show which "
                            "(regenerate the patch with more context)")
    return found


def _check_duplicates(root: Node, struct_name: str, filename: str) -> None:
    """Refuse an edited struct where an added member's name is still taken (the patch is applied already?)."""
    seen: dict[str, Item] = {}

    def walk(node: Node) -> None:
        for index, item in enumerate(node.items):
            if item.removed or (node.mirror and index == 1):
                continue
            name = _item_name(item)
            if name:
                other = seen.get(name)
                if other is not None:
                    added = item if item.spec is not None or item.line_no else other
                    raise ScenarioError(f"{filename}:{added.line_no}: struct {struct_name} already has a member "
                                        f"'{name}' (is the patch applied to this build already?)")
                seen[name] = item
            if item.child is not None and not _item_name(item):  # an anonymous one shares the names
                walk(item.child)
    walk(root)


def _count(node: Node, name: str) -> int:
    total = 0
    for index, item in enumerate(node.items):
        if item.removed or (item.member is None and (item.child is None or item.child.struct is None)):
            continue
        total += _item_name(item) == name
        if item.child is not None and not (node.mirror and index == 1):
            total += _count(item.child, name)
    return total


def _mark(node: Optional[Node]) -> None:
    while node is not None:
        node.changed = True
        node = node.parent


class StructEdit(NamedTuple):
    """One struct the patch touches: its tree, whether anything changed, and why not."""

    name: str
    root: Node
    reason: str  # why nothing changed (empty when something did)


@dataclass
class Rewrite:
    """What a patch does to the structs of one build."""

    edits: dict[str, StructEdit]
    warnings: list[str]
    order: list[str]
    path: str = ""


class _Reader:
    def __init__(self, build: Build, abi: Abi, defines: Defines, filename: str) -> None:
        self.build = dataclasses.replace(build, structs=dict(build.structs), unions=dict(build.unions))
        self.abi = abi
        self.defines = defines
        self.filename = filename
        self.warnings: list[str] = []
        self.left_out: list[LeftOut] = []
        self.edits: dict[str, StructEdit] = {}
        self.trees: dict[str, Node] = {}
        self.seen_macros: set[str] = set()
        self.pending: list[tuple[Statement, str]] = []
        self.learning = False
        self.floating: list[tuple[Node, str]] = []  # new aggregates the hunk opens before any member is placed
        self.order: list[str] = []
        self.macros: dict[str, str] = {}
        self.old_macros: dict[str, str] = {}

    # -- statements -------------------------------------------------------------------------------
    def statements(self, hunk: Hunk) -> list[Statement]:
        out: list[Statement] = []
        pending: dict[str, list[tuple[int, str, str]]] = {}
        in_comment = {"-": False, "+": False}
        for line in hunk.lines:
            sides = ("-", "+") if line.kind == " " else (line.kind,)
            text = line.text
            code = self._strip_comments(text, in_comment, sides)
            stripped = code.strip()
            if not stripped:
                if line.kind != " ":  # a comment or blank line changed
                    out.append(Statement("note", text.strip(), line.line_no, line.kind, text))
                continue
            key = line.kind
            if stripped.startswith("#"):
                out.append(Statement("pp", stripped, line.line_no, line.kind, text))
                continue
            buf = pending.setdefault(key, [])
            buf.append((line.line_no, stripped, text))
            joined = " ".join(part for _, part, _ in buf)
            first = buf[0]
            if _NO_OP.match(joined):
                pending[key] = []
                continue
            kind = ""
            if joined.startswith("}") or joined in (");",) or re.match(r"^\)\s*(__\w+(\(.*\))?\s*)*;$", joined):
                kind = "close"
            elif _GROUP.match(joined) and joined.rstrip().endswith(","):
                kind = "open"
            elif joined.endswith("{"):
                kind = "open"
            elif joined.endswith(";"):
                kind = "decl"
            elif _GROUP.match(joined) and not joined.endswith(","):
                continue  # a struct_group( line continuing
            if kind:
                out.append(Statement(kind, joined, first[0], line.kind, first[2]))
                pending[key] = []
        return out

    @staticmethod
    def _strip_comments(raw: str, in_comment: dict[str, bool], sides: tuple[str, ...]) -> str:
        text = raw
        if any(in_comment[s] for s in sides):
            end = text.find("*/")
            if end < 0:
                return ""
            text = text[end + 2:]
            for s in sides:
                in_comment[s] = False
        elif re.match(r"^\s*\*(?!/\s*\S)", text) or ("*/" in text and "/*" not in text.split("*/")[0]):
            end = text.find("*/")
            if end < 0:
                return ""
            text = text[end + 2:]
        text = re.sub(r"/\*.*?\*/|//.*$", " ", text)
        start = text.find("/*")
        if start >= 0:
            for s in sides:
                in_comment[s] = True
            text = text[:start]
        return text

    # -- defines ----------------------------------------------------------------------------------
    def collect_defines(self, hunks: list[Hunk]) -> None:
        for hunk in hunks:
            for line in hunk.lines:
                match = _DEFINE.match(line.text.strip())
                if not match or "(" in match.group(1):
                    continue
                value = re.sub(r"/\*.*?\*/|//.*$", "", match.group(2)).strip()
                if line.kind in (" ", "+"):
                    self.macros[match.group(1)] = value
                if line.kind in (" ", "-"):
                    self.old_macros[match.group(1)] = value
        for name, old in self.old_macros.items():
            new = self.macros.get(name)
            if new is not None and new != old:
                self.changed_macros[name] = (old, new)

    changed_macros: dict[str, tuple[str, str]] = {}

    def _substituted(self, text: str, macros: dict[str, str]) -> str:
        def dims(match: re.Match[str]) -> str:
            inner = match.group(1)
            for _ in range(4):
                inner = re.sub(r"\b([A-Za-z_]\w*)\b", lambda m: f"({macros[m.group(1)]})"
                               if m.group(1) in macros else m.group(1), inner)
            return f"[{inner}]"
        return re.sub(r"\[([^\[\]]*)\]", dims, text)

    # -- the walk ---------------------------------------------------------------------------------
    def read_hunk(self, hunk: Hunk) -> None:
        ctx = re.match(r"^(struct|union)\s+(\w+)\s*(\{[^}]*)?$", hunk.context.strip())
        root: Optional[Node] = None
        certain = False
        if ctx:
            root = self._root(ctx.group(2), ctx.group(1))
        cursor: Optional[tuple[Node, int]] = None
        stack: list[Optional[Node]] = []  # aggregates opened inside the hunk (None: not yet known)
        new_conds = ConditionStack(self.defines)
        old_conds = ConditionStack(self.defines)
        pending_tag: Optional[tuple[str, str, bool]] = None  # "struct pid" alone, "{" on the next line
        region_found = False
        region_context = False
        region_items: list[tuple[Node, Item]] = []
        new_type: Optional[tuple[str, str, int]] = None
        statements = self.statements(hunk)
        for position, st in enumerate(statements):
            following = statements[position + 1] if position + 1 < len(statements) else None
            if st.side == "-" and st.kind in ("open", "close") and following is not None and \
                    following.side == "+" and following.kind == st.kind:
                continue  # "-};" then "+} __aligned(8);": one closing (opening), as rewritten
            where = f"{self.filename}:{st.line_no}"
            if st.kind == "note":  # a comment changed: the struct is touched, its layout is not
                if root is not None:
                    self._touch(root)
                continue
            if st.kind == "pp":
                define = _DEFINE.match(st.text)
                if define:
                    continue
                if root is not None and st.side != " ":
                    self._touch(root)
                unmatched = False
                for conds, side in ((new_conds, "+"), (old_conds, "-")):
                    if st.side in (" ", side):
                        try:
                            matched = conds.directive(st.text)
                        except ScenarioError as exc:
                            raise ScenarioError(f"{where}: {exc}") from None
                        unmatched = unmatched or not matched
                if unmatched and re.match(r"^#\s*(endif|else|elif)\b", st.text):
                    if region_items and region_context and not region_found:
                        for _node, item in region_items:
                            item.removed = True
                        self.warnings.append(f"{where}: the added member(s) sit in the #if block that opens "
                                             "before the hunk; none of its members is in this build, so the block "
                                             "is configured out here: left out")
                    region_items, region_found, region_context = [], False, False
                continue
            if st.side == " " and new_conds.active != old_conds.active and st.kind == "decl":
                # a context member whose #if condition the patch changes: it comes or goes with it
                st = dataclasses.replace(st, side="+" if new_conds.active else "-")
            active = (new_conds.active if st.side == "+" else old_conds.active if st.side == "-"
                      else new_conds.active and old_conds.active)
            tag_line = re.match(r"^(struct|union)\s+(\w+)$", st.text)
            if root is None and tag_line and not st.raw[:1].isspace():
                pending_tag = (tag_line.group(1), tag_line.group(2), st.side == "+")
                continue
            if root is None and pending_tag is not None and st.text == "{":
                kind, name, added = pending_tag
                pending_tag = None
                opened, root = self._open_root(kind, name, added, st.line_no)
                new_type = opened or new_type
                certain, cursor, stack = True, (root, 0) if root is not None else None, []
                continue
            pending_tag = None
            if root is None:
                match = re.match(r"^(struct|union)\s+(\w+)\s*\{", st.text)
                if st.kind == "open" and match and not st.raw[:1].isspace():
                    opened, root = self._open_root(match.group(1), match.group(2), st.side == "+", st.line_no)
                    new_type = opened or new_type
                    certain, cursor, stack = True, (root, 0) if root is not None else None, []
                continue
            if not certain and st.kind != "close" and not st.raw[:1].isspace() and st.text != "{":
                root, cursor = None, None  # the @@ context named a struct that had closed
                match = re.match(r"^(struct|union)\s+(\w+)\s*\{", st.text)
                if st.kind == "open" and match:
                    opened, root = self._open_root(match.group(1), match.group(2), st.side == "+", st.line_no)
                    new_type = opened or new_type
                    certain, cursor, stack = True, (root, 0) if root is not None else None, []
                continue
            if st.text == "{" and not certain:
                certain, cursor = True, (root, 0) if root is not None else None
                continue
            if root is None:
                continue
            if st.kind == "close" and not st.raw[:1].isspace() and st.text.startswith("}"):
                if new_type is not None:
                    self._define_new_type(root, new_type, st)
                    new_type = None
                root, cursor, certain = None, None, True
                continue
            if not active:
                if st.side == "-":
                    self._touch(root)  # removed under a false condition: touched, unchanged here
                if st.side == "+" and st.kind == "decl":
                    false = new_conds.false_text()
                    undefined = tuple(s for s in condition_symbols(false) if not is_defined(self.defines, s))
                    self.left_out.append(LeftOut(self._name_of(root), st.text, st.line_no, self.filename, false,
                                                 undefined))
                    self._touch(root)
                continue
            if st.side != " ":
                self._touch(root)
            if st.kind == "decl":
                cursor = self._decl(root, st, cursor, region_items, where, stack[-1] if stack else None)
                if stack and stack[-1] is None and cursor is not None and cursor[0].struct is not None \
                        and cursor[0] is not root:
                    stack[-1] = cursor[0]  # the build's aggregate the hunk opened before any member was known
                if st.side != "+":
                    names = self._decl_names(st.text)
                    if names:
                        region_context = True
                        if cursor is not None and any(_find(root, n) or self._removed_here(cursor, n)
                                                      for n in names):
                            region_found = True
            elif st.kind == "open":
                if cursor is None and st.side != "+":  # which aggregate: its closing line may name it
                    named = self._closing_name(statements, position)
                    found = _find(root, named, existing=True) if named else None
                    if found is not None and found[0].items[found[1]].child is not None:
                        cursor = (found[0], found[1])
                cursor, node = self._open(root, st, cursor, where)
                stack.append(node)
                if st.side == "+" and cursor is not None:
                    region_items.append((cursor[0].parent or cursor[0], cursor[0].parent.items[-1]
                                         if cursor[0].parent else Item()))
            else:
                cursor = self._close(root, st, cursor, stack, where)
        unclosed = [node for node in stack if node is not None and node.struct is None]
        if unclosed:
            self.floating = []
            raise ScenarioError(f"{self.filename}: a hunk ends inside the new {unclosed[-1].kind} it opens: its "
                                "members and where it closes are not in the patch")
        if self.floating:
            _, where = self.floating[0]
            self.floating = []
            raise ScenarioError(f"{where}: cannot tell where in struct {self._name_of(root) if root else ''} the new "
                                "aggregate goes: no member of this build precedes it or moves into it in the hunk")
        if self.pending:
            st, where = self.pending[0]
            self.pending = []
            raise ScenarioError(f"{where}: cannot tell where in the struct '{st.text}' goes: no member of this "
                                "build precedes or follows it in the hunk (regenerate with -U5)")
        if new_type is not None:
            raise ScenarioError(f"{self.filename}:{new_type[2]}: the hunk ends inside the new {new_type[0]} "
                                f"{new_type[1]}: cannot lay it out")

    @staticmethod
    def _closing_name(statements: list[Statement], position: int) -> Optional[str]:
        """The member name on the line that closes the aggregate opened at ``position`` (``} y;``)."""
        depth = 0
        for st in statements[position:]:
            if st.side == "+":
                continue
            depth += 1 if st.kind == "open" else -1 if st.kind == "close" else 0
            if depth == 0 and st.kind == "close":
                named = re.match(r"^\}\s*(\w+)\s*;$", st.text)
                return named.group(1) if named and not named.group(1).startswith("__") else None
        return None

    def _removed_here(self, cursor: tuple[Node, int], name: str) -> bool:
        node, index = cursor
        return index > 0 and _item_name(node.items[index - 1]) == name

    def _name_of(self, root: Node) -> str:
        return root.struct.name or "" if root.struct is not None else root.name or ""

    def _open_root(self, kind: str, name: str, added: bool,
                   line_no: int) -> tuple[Optional[tuple[str, str, int]], Optional[Node]]:
        """The tree a ``struct NAME {`` line opens: a new type the patch adds (returned as its
        (kind, name, line) too), or the build's struct of that name (None if the build has none)."""
        if added:
            return (kind, name, line_no), Node(kind, None)
        return None, self._root(name, kind)

    def _root(self, name: str, kind: str) -> Optional[Node]:
        if name in self.trees:
            return self.trees[name]
        table = self.build.structs if kind == "struct" else self.build.unions
        struct = table.get(name)
        if struct is None or struct.is_declaration:
            return None
        node = _tree(struct)
        self.trees[name] = node
        return node

    def _touch(self, root: Node) -> None:
        """``root`` has a removed or added line: it is reported, changed or not."""
        name = self._name_of(root)
        if root.struct is not None and name not in self.edits:
            self.edits[name] = StructEdit(name, root, "")
            self.order.append(name)

    def _decl_names(self, text: str) -> list[str]:
        flex = re.match(r"^DECLARE_FLEX_ARRAY\s*\(\s*(.+?)\s*,\s*(\w+)\s*\)", text)
        if flex:
            return [flex.group(2)]
        begin = re.match(r"^(__cacheline_group_(?:begin|end))(?:_aligned)?\s*\(\s*(\w+)\s*(?:,.*)?\)\s*;$", text)
        if begin:
            return [f"{begin.group(1)}__{begin.group(2)}"]
        names = declared_names(text)
        if names:
            return names
        macro = re.match(r"^\w+\s*\(\s*([A-Za-z_]\w*)", text)
        if macro:
            return [macro.group(1)]
        words = re.findall(r"[A-Za-z_]\w*", re.sub(r"\[.*?\]|:\s*\d+", "", text))
        return words[-1:]

    def _decl(self, root: Node, st: Statement, cursor: Optional[tuple[Node, int]],
              region_items: list[tuple[Node, Item]], where: str,
              frame: Optional[Node] = None) -> Optional[tuple[Node, int]]:
        if st.side == " " and frame is not None and frame.struct is None and cursor is not None \
                and cursor[0] is frame:
            # a context member inside an aggregate the patch adds: it moves into it
            for name in self._decl_names(st.text):
                found = _find(root, name, existing=True)
                if found is not None and found[0] is not frame:
                    old = found[0].items[found[1]]
                    old.removed = True
                    _mark(found[0])
                    outer = frame
                    while outer.parent is not None:
                        outer = outer.parent
                    if outer.struct is None and any(outer is f for f, _ in self.floating):
                        # the floating new aggregate goes where this member was
                        outer.parent = found[0]
                        found[0].items.insert(found[1], Item(child=outer, line_no=st.line_no))
                        self.floating = [(f, w) for f, w in self.floating if f is not outer]
                    moved = Item(member=old.member, child=old.child, line_no=st.line_no)
                    frame.items.insert(cursor[1], moved)
                    _mark(frame)
                    cursor = (frame, cursor[1] + 1)
            return cursor
        if st.side != "+":
            names = self._decl_names(st.text)
            found_any = False
            for name in names:
                try:
                    found = _find_near(root, name, cursor)
                except ScenarioError as exc:
                    if st.side == " " and cursor is None:
                        continue  # a context line that could be either: a later line may tell
                    raise ScenarioError(f"{where}: {exc}") from None
                if found is None:
                    continue
                found_any = True
                node, index = found
                item = node.items[index]
                self._learn(st.text, item)
                _, stated = _strip_attrs(st.text, self.abi)
                if stated and item.member is not None and not item.member.alignment_attr:
                    item.hint_align = stated
                if st.side == "-":
                    item.removed = True
                    _mark(node)
                if self.pending:  # additions the hunk shows before its first member of this build
                    for pending, pending_where in self.pending:
                        placed = self._insert(node, index, pending, pending_where, self.macros)
                        region_items.extend((node, p) for p in placed)
                        index += len(placed)
                    self.pending = []
                cursor = (node, index + 1)
                if st.side == " " and self._uses_changed_macro(st.text):
                    item.removed = True
                    _mark(node)
                    self._insert(node, index + 1, st, where, self.macros)
                    cursor = (node, index + 2)
            if not found_any and st.side == "-" and names:
                self.warnings.append(f"{where}: '{st.text}' is not a member of struct {self._name_of(root)} in "
                                     "this build (configured out?): nothing removed")
            return cursor
        if cursor is None:  # placed before the next member of this build the hunk shows, if any
            self.pending.append((st, where))
            return None
        node, index = cursor
        added = self._insert(node, index, st, where, self.macros)
        for item in added:
            region_items.append((node, item))
        return node, index + len(added)

    def _insert(self, node: Node, index: int, st: Statement, where: str, macros: dict[str, str]) -> list[Item]:
        if self.learning:  # the first reading only learns bounds from the build's members
            return []
        text = self._expand(st.text)
        if isinstance(text, Node):
            text.parent = node
            item = Item(child=text, line_no=st.line_no)
            node.items.insert(index, item)
            _mark(node)
            return [item]
        try:
            decls = parse_declaration(self.build, self._substituted(text, macros), self.abi)
        except LayoutcalcError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        items = []
        for offset, d in enumerate(decls):
            spec = FieldSpec(d.name or "", d.type, bit_size=d.bit_size, alignment_attr=d.alignment_attr)
            item = Item(spec=spec, line_no=st.line_no)
            node.items.insert(index + offset, item)
            items.append(item)
        _mark(node)
        return items

    def _expand(self, text: str) -> "str | Node":
        text = _aliased(text)
        flex = re.match(r"^DECLARE_FLEX_ARRAY\s*\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*(.*?)\s*;$", text)
        if flex:
            wrapper = Node("struct", None)
            rest, wrapper.align = _strip_attrs(flex.group(3), self.abi)
            if rest:
                raise ScenarioError(f"cannot parse declaration '{text}'")
            empty = StructType("struct", None, 0)
            wrapper.items.append(Item(spec=FieldSpec(f"__empty_{flex.group(2)}", empty)))
            decls = parse_declaration(self.build, f"{flex.group(1)} {flex.group(2)}[];", self.abi)
            wrapper.items.append(Item(spec=FieldSpec(flex.group(2), decls[0].type)))
            return wrapper
        group = re.match(r"^(__cacheline_group_(?:begin|end))\s*\(\s*(\w+)\s*\)\s*;$", text)
        if group:
            return f"__u8 {group.group(1)}__{group.group(2)}[0];"
        return text

    def _learn(self, text: str, item: Item) -> None:
        """An identifier alone in an array bound whose length the build shows (``x[PIDTYPE_MAX]``)."""
        member_type = item.member.type.strip() if item.member is not None else None
        bound = re.search(r"\[\s*([A-Za-z_]\w*)\s*\]", text)
        if bound and isinstance(member_type, ArrayType) and member_type.count is not None:
            name = bound.group(1)
            if name not in self.macros:
                self.macros[name] = str(member_type.count)

    def _uses_changed_macro(self, text: str) -> bool:
        dims = " ".join(re.findall(r"\[([^\[\]]*)\]", text)) + " " + " ".join(re.findall(r":\s*(\w+)", text))
        used = [name for name in self.changed_macros if re.search(rf"\b{name}\b", dims)]
        self.seen_macros.update(used)
        return bool(used)

    def _open(self, root: Node, st: Statement, cursor: Optional[tuple[Node, int]],
              where: str) -> tuple[Optional[tuple[Node, int]], Optional[Node]]:
        group = _GROUP.match(st.text)
        if st.side == "+":
            kind = "union" if st.text.startswith("union") else "struct"
            if cursor is None:
                # placed where the first member of the build it takes in was (a wrapper union), or refused
                new = Node(kind, None, parent=None)
                self.floating.append((new, where))
                node, index = new, 0
            else:
                node, index = cursor
                new = Node(kind, None, parent=node)
            if group:
                args = [a.strip() for a in group.group(2).rstrip(",").split(",") if a.strip()]
                which = group.group(1)
                if which == "struct_group":
                    new.group = (None, args[0])
                elif which == "struct_group_tagged":
                    new.group = (args[0], args[1])
                elif which == "struct_group_attr":
                    new.group = (None, args[0])
                    new.align = _attr_align(" ".join(args[1:]), self.abi)
                else:
                    new.group = (args[0] or None, args[1])
                    new.align = _attr_align(" ".join(args[2:]), self.abi)
                new.kind = "struct"
            elif not re.match(r"^(struct|union)\s*\{$", st.text):
                raise ScenarioError(f"{where}: '{st.text}': a named aggregate type inside a struct is not "
                                    "modelled")
            if new.parent is not None:
                node.items.insert(index, Item(child=new, line_no=st.line_no))
                _mark(node)
            return (new, 0), new
        # the build's own aggregate: the next live aggregate member after the cursor
        if cursor is None and group:
            # struct_group(NAME, ...: the build's union holding the group's named copy
            args = [a.strip() for a in group.group(2).rstrip(",").split(",")]
            name = args[0] if group.group(1) in ("struct_group", "struct_group_attr") else args[1]
            found = _find(root, name, existing=True)
            if found is not None and found[0].mirror and found[1] == 1:
                first = found[0].items[0].child
                assert first is not None
                return (first, 0), first
        if cursor is None:
            return None, None
        node, index = cursor
        while index < len(node.items) and (node.items[index].removed or node.items[index].child is None):
            if node.items[index].child is None and not node.items[index].removed:
                break
            index += 1
        if index < len(node.items) and node.items[index].child is not None:
            child = node.items[index].child
            assert child is not None
            if group and child.mirror:
                first = child.items[0].child
                assert first is not None
                if st.side == "-":
                    self.warnings.append(f"{where}: '{st.text}': removing a struct_group wrapper is not "
                                         "modelled; its members stay grouped")
                return (first, 0), first
            if st.side == "-":
                node.items[index].removed = True
                _mark(node)
            return (child, 0), child
        self.warnings.append(f"{where}: '{st.text}': the aggregate it opens is not where the build has one "
                             "(configured out?); its members are placed by name")
        return None, None

    def _close(self, root: Node, st: Statement, cursor: Optional[tuple[Node, int]], stack: list[Optional[Node]],
               where: str) -> Optional[tuple[Node, int]]:
        node = stack.pop() if stack else (cursor[0] if cursor else None)
        if node is None:
            named = re.match(r"^\}\s*(\w+)\s*;$", st.text)  # "} x;": the hunk was inside member x
            found = _find(root, named.group(1), existing=True) if named and not stack else None
            return (found[0], found[1] + 1) if found is not None else None
        if st.side == "+" and node.struct is None:
            tail = re.match(r"^[})]\s*(.*?)\s*;$", st.text)
            rest = tail.group(1) if tail else ""
            rest, align = _strip_attrs(rest, self.abi)
            if "__packed" in st.text or "packed" in rest:
                node.packed = True
                rest = re.sub(r"\b__packed\b|__attribute__\s*\(\(\s*packed\s*\)\)", "", rest).strip()
            if align:
                node.align = max(node.align or 0, align)
            if rest and re.fullmatch(r"\w+", rest):
                node.name = rest
            elif rest:
                raise ScenarioError(f"{where}: cannot read '{st.text}' (the end of a new aggregate)")
        if st.side == "+" and node.struct is not None:  # an existing aggregate's closing line rewritten
            tail = re.match(r"^[})]\s*(.*?)\s*;$", st.text)
            rest, align = _strip_attrs(tail.group(1) if tail else "", self.abi)
            item = next((i for i in (node.parent.items if node.parent else []) if i.child is node), None)
            if "packed" in rest or (rest and item is not None and item.member is not None
                                    and rest != (item.member.name or "")):
                raise ScenarioError(f"{where}: '{st.text}': a changed name or packing of an existing nested "
                                    "aggregate is not modelled")
            if align and node.parent is not None:  # a type attribute: the aggregate's size rounds up to it too
                node.align = max(node.align or 0, align)
                _mark(node)
        parent = node.parent
        if parent is None:
            return None
        if parent.mirror:  # the end of a struct_group: after the group's union
            grand = parent.parent
            if grand is None:
                return None
            index = next((i for i, item in enumerate(grand.items) if item.child is parent), None)
            if index is None:
                raise ScenarioError(f"{where}: '{st.text}' closes an aggregate the hunk cannot place")
            return grand, index + 1
        index = next((i for i, item in enumerate(parent.items) if item.child is node), None)
        if index is None:
            raise ScenarioError(f"{where}: '{st.text}' closes an aggregate the hunk cannot place")
        if node.struct is not None and all(item.removed for item in node.items):
            parent.items[index].removed = True
            _mark(parent)
        return parent, index + 1

    def _define_new_type(self, root: Node, new_type: tuple[str, str, int], st: Statement) -> None:
        kind, name, line = new_type
        try:
            laid = _lay(root, self.abi, DebugInfo.ATTRIBUTES, World.LIKELIEST)
        except LayoutcalcError as exc:
            raise ScenarioError(f"{self.filename}:{line}: {kind} {name}: {exc}") from None
        laid = dataclasses.replace(laid, name=name)
        (self.build.structs if kind == "struct" else self.build.unions)[name] = laid


def _arrays_of(struct: StructType) -> list[tuple[str, int]]:
    found = []
    for member in struct.members:
        inner = member.type.strip()
        if isinstance(inner, ArrayType) and inner.count is not None:
            found.append((member.name or "", inner.count))
        if isinstance(inner, StructType) and not inner.name:
            found.extend(_arrays_of(inner))
    return found


def _refuse_unseen_macro(reader: "_Reader", name: str, old: str, new: str) -> None:
    """A ``#define`` the patch changes, used by no struct line it shows: refuse a touched struct with an array
    of the old length (it may be sized by it; the debug info does not say)."""
    try:
        value = int(old, 0)
    except ValueError:
        value = None
    for struct_name, edit in reader.edits.items():
        struct = edit.root.struct
        if struct is None:
            continue
        suspects = [member for member, count in _arrays_of(struct) if value is None or count == value]
        if suspects:
            raise ScenarioError(f"{reader.filename}: #define {name} changes from {old} to {new}, and struct "
                                f"{struct_name} has array member(s) of that length ({', '.join(suspects[:3])}) "
                                "whose declarations the patch does not show: whether it sizes them is not in the "
                                "debug info (regenerate the patch with more context)")


#: Struct tags the kernel's headers rename with a macro (``#define rcu_head callback_head``, linux/types.h):
#: the debug info has only the real name.
_TAG_ALIASES = {"rcu_head": "callback_head"}


def _aliased(text: str) -> str:
    for alias, real in _TAG_ALIASES.items():
        text = re.sub(rf"\bstruct\s+{alias}\b", f"struct {real}", text)
    return text


def _attr_align(text: str, abi: Abi) -> Optional[int]:
    return _strip_attrs(text, abi)[1]


def _strip_attrs(text: str, abi: Abi) -> tuple[str, Optional[int]]:
    align: Optional[int] = None
    if re.search(r"____cacheline_aligned|__cacheline_aligned", text):
        align = abi.cacheline_size
        text = re.sub(r"_*cacheline_aligned\w*", "", text)
    for match in re.finditer(r"__aligned\s*\(\s*(\d+)\s*\)|aligned\s*\(\s*(\d+)\s*\)", text):
        align = max(align or 0, int(match.group(1) or match.group(2)))
    text = re.sub(r"__attribute__\s*\(\(\s*__?aligned__?\s*\(\s*\d+\s*\)\s*\)\)|__aligned\s*\(\s*\d+\s*\)", "", text)
    return text.strip(), align


def _lost_alignment(node: Node, alignment: int) -> bool:
    """Did ``node`` lose every member whose alignment was ``alignment`` or more (removed, or changed inside)?"""
    had = [item for item in node.items if item.member is not None and (item.member.alignment_attr or 0) >= alignment]
    return bool(had) and all(item.removed or (item.child is not None and item.child.changed) for item in had) and \
        not any(not item.removed and (item.member is not None and (item.member.alignment_attr or 0) >= alignment
                                      and not (item.child is not None and item.child.changed)) for item in node.items)


def _pow2_dividing(value: int) -> int:
    return value & -value if value else 1 << 12


def _stand_in(struct: StructType, member: Member, smallest: bool) -> Member:
    """A declaration-only member with the space the debug info shows for it: up to the next member (or the
    end) and the largest alignment its offset allows; if ``smallest``, less the most padding the next member's
    (or the struct's) possible alignment allows, and no alignment of its own."""
    offset = member.offset_bytes
    later = [m.offset_bytes for m in struct.members if m.offset_bytes > offset]
    end = min(later) if later else struct.size_bytes
    extent = end - offset
    size = max(0, extent - _pow2_dividing(end) + 1) if smallest else extent
    inner = member.type.strip()
    assert isinstance(inner, StructType)
    # its alignment divides its offset and the struct's size: the largest such is the bound
    align = None if smallest else min(_pow2_dividing(offset), _pow2_dividing(struct.size_bytes), 64)
    return dataclasses.replace(member, type=dataclasses.replace(inner, size_bytes=size, is_declaration=False,
                                                                members=[]), alignment_attr=align)


def _is_declared_only(member: Member) -> bool:
    inner = member.type.strip()
    return isinstance(inner, StructType) and inner.is_declaration and member.bit_size is None


def _lay(node: Node, abi: Abi, debug_info: DebugInfo, world: World, smallest_declared: bool = False,
         keep_size_alignment: bool = False) -> StructType:
    """``node`` laid out: unchanged ones as the build has them, changed ones again from their members.

    A member whose type the input only declares stands in with the space the debug info shows for it
    (``smallest_declared``: the least that space can hold, see :func:`_stand_in`).
    """
    if node.struct is not None and not node.changed:
        return node.struct
    members: list[Member] = []
    origins: dict[int, Member] = {}
    first_type: Optional[StructType] = None
    dropped = False
    for index, item in enumerate(node.items):
        if item.removed:
            continue
        if item.child is not None and (item.child.changed or item.child.struct is None):
            inner = _lay(item.child, abi, debug_info, world, smallest_declared, keep_size_alignment)
            if node.mirror and index == 1 and first_type is not None:
                old = item.child.struct
                inner = dataclasses.replace(first_type, name=old.name if old else None)
            if item.child.group is not None:
                inner = _group_union(inner, item.child, abi)
            if node.mirror and index == 0:
                first_type = inner
            if item.member is not None and not keep_size_alignment and item.member.alignment_attr and \
                    not item.member.name and _lost_alignment(item.child, item.member.alignment_attr):
                # gcc records an anonymous member's alignment from its members: the one causing it is gone
                member = dataclasses.replace(item.member, type=inner, alignment_attr=None)
                dropped = True
            elif item.member is not None:
                member = dataclasses.replace(item.member, type=inner)
                origins[id(member)] = item.member
            else:
                attr = None if item.child.group is not None else item.child.align
                member = Member(name=item.child.name or "", type=inner, bit_offset=0, alignment_attr=attr)
        elif item.child is not None and node.mirror and index == 1 and first_type is not None and item.member:
            old_type = item.member.type.strip()
            member = dataclasses.replace(item.member, type=dataclasses.replace(
                first_type, name=old_type.name if isinstance(old_type, StructType) else None))
            origins[id(member)] = item.member
        elif item.member is not None and node.struct is not None and _is_declared_only(item.member):
            member = _stand_in(node.struct, item.member, smallest_declared)
            origins[id(member)] = item.member
        elif item.member is not None and item.hint_align:
            member = dataclasses.replace(item.member, alignment_attr=item.hint_align)
            origins[id(member)] = item.member
        elif item.member is not None:
            member = item.member
        else:
            assert item.spec is not None
            spec = item.spec
            member = Member(name=spec.name, type=spec.type, bit_offset=0, bit_size=spec.bit_size,
                            alignment_attr=spec.alignment_attr)
        members.append(member)
    base = node.struct if node.struct is not None else StructType(
        node.kind, None, 0, is_packed=node.packed,
        alignment_attr=node.align if node.group is None else node.align)
    if node.struct is not None and node.align:
        base = dataclasses.replace(node.struct, alignment_attr=max(node.struct.alignment_attr or 0, node.align))
    elif node.struct is not None and node.struct.alignment_attr and not keep_size_alignment \
            and _lost_alignment(node, node.struct.alignment_attr):
        # gcc records a struct's alignment from its members too (DW_AT_alignment): the one causing it is gone
        base = dataclasses.replace(node.struct, alignment_attr=None)
        dropped = True
    facts = struct_facts(base, abi, debug_info)
    # an alignment the old size showed may have come from a removed member: dropped, unless asked to keep
    removed = dropped or any(item.removed and item.member is not None for item in node.items)
    laid, _ = relayout_with_facts(facts, base, members, abi, world, origins,
                                  size_alignment=keep_size_alignment or not removed)
    if node.struct is None and node.packed:
        laid = dataclasses.replace(laid, is_packed=True)
    return laid


def _group_union(inner: StructType, node: Node, abi: Abi) -> StructType:
    """``struct_group``'s union of the anonymous struct and its named copy."""
    assert node.group is not None
    tag, name = node.group
    copy = dataclasses.replace(inner, name=tag)
    union = StructType("union", None, 0)
    members = [Member(name="", type=inner, bit_offset=0), Member(name=name, type=copy, bit_offset=0)]
    facts = struct_facts(union, abi, DebugInfo.ATTRIBUTES)
    laid, _ = relayout_with_facts(facts, union, members, abi, World.LIKELIEST)
    return laid


def _new_names(node: Node, names: set[str]) -> set[str]:
    for item in node.items:
        if item.removed:
            continue
        if item.spec is not None and item.spec.name:
            names.add(item.spec.name)
        if item.child is not None:
            if item.child.struct is None and item.child.name:
                names.add(item.child.name)
            _new_names(item.child, names)
    return names


def _added(root: Node, after: StructType) -> list[Member]:
    """The members the patch adds, at their offsets in ``after`` (inside anonymous aggregates too)."""
    names = _new_names(root, set())
    found: list[Member] = []

    def walk(struct: StructType, base: int) -> None:
        for member in struct.members:
            if member.name in names:
                found.append(member if base == 0 else dataclasses.replace(member, bit_offset=base + member.bit_offset))
            inner = member.type.strip()
            if not member.name and isinstance(inner, StructType):
                walk(inner, base + member.bit_offset)
    walk(after, 0)
    return found


def _removed(before: StructType, after: StructType) -> tuple[str, ...]:
    new = {m.name for m in after.members}
    return tuple(m.name for m in before.members if m.name and m.name not in new)


def read_rewrite(build: Build, text: str, filename: str, abi: Abi, defines: Defines) -> Rewrite:
    """The structs of ``build`` the diff ``text`` touches, edited; warnings for what is unsure."""
    hunks = read_hunks(text, filename)
    # A first reading learns the bounds the build shows for identifiers on context and removed lines
    # (tasks[PIDTYPE_MAX]), wherever in the patch they are, for an added line that comes before them.
    first = _Reader(build, abi, defines, filename)
    first.changed_macros = {}
    first.collect_defines(hunks)
    patch_macros = dict(first.macros)
    first.learning = True
    for hunk in hunks:
        try:
            first.read_hunk(hunk)
        except ScenarioError:
            continue
    learned = {name: value for name, value in first.macros.items() if name not in patch_macros}
    reader = _Reader(build, abi, defines, filename)
    reader.changed_macros = {}
    reader.collect_defines(hunks)
    reader.macros.update(learned)
    for hunk in hunks:
        reader.read_hunk(hunk)
    for edit in reader.edits.values():
        _check_duplicates(edit.root, edit.name, filename)
    warnings = left_out_warnings(reader.left_out) + reader.warnings
    for name, (old, new) in reader.changed_macros.items():
        if name not in reader.seen_macros:
            _refuse_unseen_macro(reader, name, old, new)
        warnings.append(f"{filename}: #define {name} changes from {old} to {new}: only the members the patch's own "
                        f"lines size with it are re-sized; any other use of {name} is not seen")
    edits = {}
    for name, edit in reader.edits.items():
        reason = ""
        if not edit.root.changed:
            left = [item for item in reader.left_out if item.struct_name == name]
            reason = ("every change the patch makes to it is under a condition that is false for this "
                      "configuration" if left else "the patch's lines in it change nothing this build has")
        edits[name] = StructEdit(name, edit.root, reason)
    for item in reader.left_out:
        if item.struct_name and item.struct_name not in edits and item.struct_name in build.structs:
            edits[item.struct_name] = StructEdit(item.struct_name, _tree(build.structs[item.struct_name]),
                                                 "every change the patch makes to it is under a condition "
                                                 "that is false for this configuration")
            reader.order.append(item.struct_name)
    return Rewrite(edits, warnings, [name for name in dict.fromkeys(reader.order) if name in edits], filename)


def apply_rewrite(rewrite: Rewrite, build: Build, abi: Abi, debug_info: DebugInfo) -> list[tuple[str, WhatIfResult,
                                                                                              tuple[str, ...], str]]:
    """Per touched struct: (name, result, removed top-level names, reason it is unchanged or "")."""
    out = []
    for name in rewrite.order:
        edit = rewrite.edits[name]
        before = edit.root.struct
        assert before is not None
        worlds = {world: _lay(edit.root, abi, debug_info, world) for world in (World.LIKELIEST, World.SMALLEST,
                                                                               World.LARGEST)}
        after = worlds[World.LIKELIEST]
        _check_declaration_only(before, after, rewrite.path)
        sizes = [laid.size_bytes for laid in worlds.values()]
        if edit.root.changed:  # alignments the old layout showed, kept: they may be attributes of their own
            sizes.append(_lay(edit.root, abi, debug_info, World.LARGEST, keep_size_alignment=True).size_bytes)
        if _declaration_only(before) and edit.root.changed:
            sizes.append(_lay(edit.root, abi, debug_info, World.LIKELIEST, smallest_declared=True).size_bytes)
        if not debug_info.records_alignment and edit.root.changed:
            sizes += _flex_alignment_sizes(edit.root, abi, debug_info)
        facts = struct_facts(before, abi, debug_info)
        result = WhatIfResult(before=before, after=after, added=_added(edit.root, after), placement="as-patched",
                              abi=abi, debug_info=debug_info, size_after_min=min(sizes), size_after_max=max(sizes),
                              undecided=facts.undecided, alignment_candidates=facts.candidates)
        out.append((name, result, _removed(before, after), edit.reason))
    return out


def _declaration_only(struct: StructType, base: int = 0, prefix: str = "") -> dict[str, tuple[int, str]]:
    """Members (at any depth of anonymous aggregates) whose type the input only declares: name -> (offset, type)."""
    found: dict[str, tuple[int, str]] = {}
    for member in struct.members:
        inner = member.type.strip()
        while isinstance(inner, ArrayType):
            inner = inner.element.strip()
        offset = base + member.offset_bytes
        if isinstance(inner, StructType) and inner.is_declaration:
            found[prefix + (member.name or "?")] = (offset, member.type.c_name())
        elif isinstance(inner, StructType) and not inner.name:
            found.update(_declaration_only(inner, offset, prefix + (f"{member.name}." if member.name else "")))
    return found


def _check_declaration_only(before: StructType, after: StructType, path: str) -> None:
    """Refuse when a member whose type the input only declares would move: its size and alignment are unknown.

    (Built with ``-femit-struct-debug-baseonly``, as ``CONFIG_DEBUG_INFO_REDUCED`` kernels are; a
    member that stays put keeps the space the debug info shows up to the next member.)
    """
    old = _declaration_only(before)
    if not old:
        return
    new = _declaration_only(after)
    for name, (offset, type_name) in old.items():
        if name in new and new[name][0] != offset:
            raise ScenarioError(f"{path}: struct {before.name}: member '{name}' ({type_name}) would move from offset "
                                f"{offset} to {new[name][0]}, but the input only declares its type (built with "
                                "-femit-struct-debug-baseonly / CONFIG_DEBUG_INFO_REDUCED?): its size and alignment "
                                "are not in the debug info; use a build with full debug info")


def _flex_alignment_sizes(root: Node, abi: Abi, debug_info: DebugInfo) -> list[int]:
    """Sizes with each alignment a trailing flexible array could carry unrecorded (BTF, strict DWARF).

    ``char data[] __aligned(8)`` leaves no trace in BTF when no hole shows it; pahole's BTF loader guesses
    it from the offset.  Every power of two up to the cache line that divides the array's offset is a
    candidate, unless a context line of the patch stated the alignment.
    """
    live = [item for item in root.items if not item.removed]
    if not live or live[-1].member is None or live[-1].hint_align:
        return []
    item = live[-1]
    assert item.member is not None
    inner = item.member.type.strip()
    if not isinstance(inner, ArrayType) or inner.count is not None or item.member.alignment_attr:
        return []
    offset = item.member.offset_bytes
    sizes = []
    candidate = 2
    while candidate <= abi.cacheline_size and offset % candidate == 0:
        item.hint_align = candidate
        try:
            sizes.append(_lay(root, abi, debug_info, World.LIKELIEST).size_bytes)
        finally:
            item.hint_align = None
        candidate *= 2
    return sizes


def rewrite_needs(text: str, filename: str) -> tuple[list[str], list[str]]:
    """(struct names, type names) to ask the reader for: every struct a hunk names, and declaration types."""
    from .limits import check_patch
    check_patch(text, filename)  # before the hunks are parsed: nesting too deep is named as such
    structs: set[str] = set()
    types: set[str] = set()
    new: set[str] = set()
    for hunk in read_hunks(text, filename):
        ctx = re.match(r"^(?:struct|union)\s+(\w+)", hunk.context.strip())
        if ctx:
            structs.add(ctx.group(1))
        for line in hunk.lines:
            code = re.sub(r"/\*.*?\*/|//.*$", " ", line.text).split("/*")[0].strip()
            opened = re.match(r"^(?:struct|union)\s+(\w+)\s*\{", code)
            if opened:
                (new if line.kind == "+" else structs).add(opened.group(1))
            if line.kind in ("+", " ") and code.endswith(";"):
                by_value, names = declaration_needs(_aliased(code))
                structs |= by_value
                types |= names
    return sorted(structs - new), sorted(types)


def patch_results(build: Build, path: str, abi: Abi, defines: Defines) -> tuple[list["ScenarioResult"], list[str]]:
    """``whatif --patch`` (as-patched): one result per struct the patch touches, and the warnings.

    A struct the patch touches but this configuration leaves unchanged is a result too (unchanged),
    with a warning saying why.
    """
    from ..analysis.facts import debug_info_of
    from ..safe_read import read_text
    from .fields import placed_fields
    from .limits import check_patch
    from .scenario import ScenarioResult
    text = read_text(path, "patch", error=ScenarioError)
    check_patch(text, path)
    rewrite = read_rewrite(build, text, path, abi, defines)
    warnings = list(rewrite.warnings)
    results = []
    for name, result, removed, reason in apply_rewrite(rewrite, build, abi, debug_info_of(build)):
        if reason:
            warnings.append(f"{path}: struct {name} is listed unchanged: {reason}")
        if not result.exact:
            declared = sorted(_declaration_only(result.before))
            why = (f"the input only declares the type of {', '.join(declared[:3])}: its size and alignment are "
                   "bounded by the offsets around it" if declared else
                   f"{result.debug_info.value} debug info leaves an alignment undecided")
            warnings.append(f"{path}: struct {name}: the size after is between {result.size_after_min} and "
                            f"{result.size_after_max} bytes ({why}); likeliest {result.size_after}")
        placed = placed_fields(result)
        anchor = placed[0].follows if placed else None
        results.append(ScenarioResult(name, anchor, 0 if anchor else None, result, removed))
    if not results and rewrite.warnings:
        raise ScenarioError(f"{path}: nothing to lay out: {rewrite.warnings[-1].split(': ', 1)[-1]}")
    if not results:
        raise ScenarioError(f"{path}: the patch touches no struct this build has (are its hunks in struct bodies, "
                            "with a function context line such as '@@ ... @@ struct pid'?)")
    return results, warnings
