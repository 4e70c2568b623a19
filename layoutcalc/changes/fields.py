"""Fields to add, resolved against a build: shared by scenarios and patches.

A C member declaration becomes :class:`~layoutcalc.analysis.whatif.FieldSpec`
objects chained after an anchor, checked so that a flexible array member stays
last; :func:`placed_fields` tells, after the re-layout, which member each added
field follows and where it landed.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from ..abi import Abi
from ..analysis.whatif import FieldSpec, WhatIfResult
from ..errors import LayoutcalcError, ScenarioError
from ..model import ArrayType, Build, Member, StructType, Type
from .ctype import parse_declaration


class StructFields(NamedTuple):
    """The fields to add to one struct, ready for :func:`layoutcalc.analysis.whatif.add_fields`."""

    struct_name: str
    anchor: str | None
    fields: list[FieldSpec]


def chain_fields(anchor: str | None, specs: list[FieldSpec]) -> list[FieldSpec]:
    """The first field goes after ``anchor`` (None: at the end), each further one after the one before."""
    chained = []
    previous = anchor
    for spec in specs:
        chained.append(dataclasses.replace(spec, after=previous))
        previous = spec.name or previous
    return chained


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
        if item.name == name or (not item.name and isinstance(inner, StructType) and inner.holds(name)):
            return item
    return None


class PlacedField(NamedTuple):
    """Where one added field landed: the member it follows in the new layout and its offset.

    ``follows`` is None when the field opens the struct; an anonymous
    struct/union is named by the last member it holds (``union {... __session}``).
    ``bit_offset`` is from the start of the struct, as in the model.
    """

    name: str
    type_name: str
    follows: str | None
    offset_bytes: int
    bit_offset: int
    bit_size: int | None
    size_bytes: int


def placed_fields(result: WhatIfResult) -> list[PlacedField]:
    """Each field ``result`` added (in the order given), with the member before it and its final offset."""
    position = {id(member): index for index, member in enumerate(result.after.members)}
    placed = []
    for member in result.added:
        members, index = (result.after.members, position[id(member)]) if id(member) in position \
            else _inside(result.after, member.name or "")
        while index and _is_unnamed_bitfield(members[index - 1]):
            index -= 1  # "after user_dumpable" in "unsigned user_dumpable:1; unsigned char :0; ..."
        previous = members[index - 1] if index else None
        placed.append(PlacedField(member.name or "", member.type.c_name(), _label(previous), member.offset_bytes,
                                  member.bit_offset, member.bit_size, member.type.size_bytes))
    return placed


def _inside(struct: StructType, name: str) -> tuple[list[Member], int]:
    """The member list of the anonymous struct/union member (at any depth) holding ``name``, and its index there."""
    for member in struct.members:
        inner = member.type.strip()
        if not member.name and isinstance(inner, StructType):
            for index, candidate in enumerate(inner.members):
                if candidate.name == name:
                    return inner.members, index
            try:
                return _inside(inner, name)
            except ValueError:
                continue
    raise ValueError(f"{struct.tag} holds no added member '{name}'")


def _is_unnamed_bitfield(member: Member) -> bool:
    return not member.name and member.bit_size is not None


def _label(member: Member | None) -> str | None:
    if member is None:
        return None
    if member.name:
        return member.name
    inner = member.type.strip()
    if isinstance(inner, StructType):
        names = [m.name for m in inner.members if m.name]
        kind = "union" if inner.is_union else "struct"
        return f"{kind} {{... {names[-1]}}}" if names else f"anonymous {kind}"
    return f"unnamed {member.type.c_name()}"
