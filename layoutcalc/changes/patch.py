"""Header patches -> fields to add: the public face of patch reading.

A patch is read in three steps, each in its own module:
:mod:`~layoutcalc.changes.hunks` (the unified diff, with ``unidiff``),
:mod:`~layoutcalc.changes.additions` (struct bodies, ``#if`` blocks and anchors;
conditions by :mod:`~layoutcalc.changes.conditions`), then here, against a
build: the anchor each group of additions goes after and the resolved fields.
:func:`patch_scenario` turns a patch into a :class:`~layoutcalc.changes.scenario.Scenario`
so that ``whatif``, ``report`` and ``slab`` treat a patch like a scenario.

Only additions are modelled: removed lines are ignored, and an added member
whose name the struct already has is an error.
"""

from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

from ..abi import Abi
from ..errors import ScenarioError
from ..model import Build, StructType
from ..safe_read import read_text
from .additions import LeftOut, NewType, PatchAddition, find_additions, left_out_warnings
from .conditions import Defines, condition_symbols, evaluate_condition, parse_defines
from .ctype import declaration_needs, declared_names
from .fields import StructFields, chain_fields, check_flexible_arrays, declaration_fields, get_struct
from .hunks import read_hunks
from .limits import check_patch
from .scenario import Declaration, HelperType, Scenario, StructChange

__all__ = [
    "LeftOut", "PatchAddition", "PatchRead", "StructFields", "evaluate_condition", "parse_defines",
    "parse_patch", "patch_fields", "patch_needs", "patch_scenario", "patch_symbols", "read_patch",
    "read_patch_file",
]


class PatchRead(NamedTuple):
    """What a patch adds under some defines, one warning line per condition that left members out,
    and the structs the patch itself defines."""

    additions: list[PatchAddition]
    warnings: list[str]
    new_types: list[NewType] = []


def read_patch(text: str, filename: str, defines: Defines) -> PatchRead:
    """The member declarations the unified diff ``text`` adds inside struct bodies, and warnings.

    Raises :class:`ScenarioError` ``FILE:LINE: ...`` for a diff that is not one,
    or an addition whose struct or position cannot be told.
    """
    found = find_additions(read_hunks(text, filename), filename, defines)
    return PatchRead(found.additions, left_out_warnings(found.left_out), found.new_types)


def read_patch_file(path: str, defines: Defines) -> PatchRead:
    """:func:`read_patch` on the file ``path`` (``-``: standard input).

    An unreadable, oversized or non-UTF-8 file, or ``#if`` blocks nested too deep,
    is a :class:`ScenarioError`.
    """
    text = read_text(path, "patch", error=ScenarioError)
    check_patch(text, path)
    return read_patch(text, path, defines)


def parse_patch(text: str, filename: str, defines: Defines) -> list[PatchAddition]:
    """The additions of :func:`read_patch`, without the warnings."""
    return read_patch(text, filename, defines).additions


def patch_symbols(text: str) -> set[str]:
    """Every identifier tested by a preprocessor conditional on the new side of the diff."""
    symbols: set[str] = set()
    for line in text.splitlines():
        match = re.match(r"^[ +]\s*#\s*(?:if|ifdef|ifndef|elif)\b(.*)", line)
        if match:
            symbols.update(condition_symbols(match.group(1)))
    return symbols


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
            if spec.name and struct.has_member(spec.name):
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


def patch_scenario(path: str, defines: Defines) -> tuple[Scenario, list[str]]:
    """The patch file ``path`` as a scenario (one change per group of chained additions), and its warnings.

    Conditions are decided here, for ``defines``; members left out by them are
    named in the warnings.  An addition inside a block that opens before its
    hunk becomes an *optional* change: a build that has none of the block's
    members leaves it out (with a warning) instead of failing.  Raises
    :class:`ScenarioError` when nothing is left to add.
    """
    text = read_text(path, "patch", error=ScenarioError)
    check_patch(text, path)
    found = find_additions(read_hunks(text, path), path, defines)
    if found.removed:  # this reader models additions only: a removal would be silently wrong
        line, decl = found.removed[0]
        raise ScenarioError(f"{path}:{line}: the patch removes or replaces '{decl}'; this command models "
                            "added members only (whatif --patch models every edit)")
    read = PatchRead(found.additions, left_out_warnings(found.left_out), found.new_types)
    if not read.additions:
        if read.warnings:
            raise ScenarioError(f"{path}: the patch adds no struct members under this configuration: "
                                f"{read.warnings[0].split(': ', 2)[-1]}")
        raise ScenarioError(f"{path}: the patch adds no struct members (are its hunks in struct bodies, "
                            "with a function context line such as '@@ ... @@ struct pid'?)")
    changes: list[StructChange] = []
    for addition in read.additions:
        declaration = Declaration(addition.decl_text, addition.line_no)
        previous = changes[-1] if changes else None
        if previous and previous.struct_name == addition.struct_name and previous.nested == addition.nested and \
                addition.after_member in _declared(previous):
            changes[-1] = _extend(previous, declaration)
            continue
        if addition.after_member is None:
            raise ScenarioError(f"{_where(addition)}: '{addition.decl_text}' would become the first member of "
                                f"struct {addition.struct_name}; fields can only be placed after an existing "
                                "member")
        changes.append(StructChange(
            struct_name=addition.struct_name, anchors=(addition.after_member, *addition.earlier_members),
            fields=(declaration,), line_no=addition.line_no, anchor_line_no=addition.line_no,
            optional=addition.enclosing_block, nested=addition.nested))
    types = tuple(HelperType(t.name, t.kind, tuple(Declaration(text, line) for text, line in t.members), t.line_no)
                  for t in read.new_types if t.members)
    scenario = Scenario(name=path, path=path, description=f"the members {path} adds", defines={}, types=types,
                        changes=tuple(changes))
    return scenario, read.warnings


def _declared(change: StructChange) -> set[str]:
    return {name for decl in change.fields for name in declared_names(decl.text)}


def _extend(change: StructChange, declaration: Declaration) -> StructChange:
    return dataclasses.replace(change, fields=(*change.fields, declaration))


def _where(addition: PatchAddition) -> str:
    return f"{addition.filename}:{addition.line_no}"


def _chains(group: StructFields, addition: PatchAddition) -> bool:
    """Does ``addition`` follow directly on the last field of ``group``?"""
    return bool(group.fields) and addition.after_member == group.fields[-1].name


def _anchor_in(struct: StructType, addition: PatchAddition) -> str:
    """The nearest preceding member that ``struct`` has (after_member, then earlier ones)."""
    if addition.after_member is None:
        raise ScenarioError(f"{_where(addition)}: '{addition.decl_text}' would become the first member of "
                            f"{struct.tag}; fields can only be placed after an existing member")
    for name in (addition.after_member, *addition.earlier_members):
        if struct.holds(name):
            return name
    tried = ", ".join((addition.after_member, *addition.earlier_members))
    raise ScenarioError(f"{_where(addition)}: {struct.tag} has none of the members the addition "
                        f"follows in the diff ({tried})")
