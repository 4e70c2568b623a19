"""What pahole's ``--contains`` and ``--find_pointers_to`` read of one unit, from DWARF or BTF alike."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional


class UnitEdges(NamedTuple):
    """The compile unit pahole's ``--contains``/``--find_pointers_to`` look in, as type references.

    pahole answers from the first unit (in file order) holding a type of that
    name (any declaration counts for ``--find_pointers_to``) and from that unit
    only.  ``aggregates`` are its named, complete, top-level structs and unions
    in DIE order, each with its members as (name, DIE offset of the member's
    type, DIE offset the type points to when it is a pointer, else None).
    """

    unit: str
    target: int
    aggregates: list[tuple[str, int, list[tuple[str, int, Optional[int]]], tuple[Any, ...]]]
    # each: (name, DIE offset, members, shape): pahole prints one line per distinct shape of a name
    # (its type__compare: name, size, and each member's name, bit offset and bit size)
