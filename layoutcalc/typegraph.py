"""Limits on the type graph a reader hands to the analyses: no loops, no absurd depth.

Every analysis walks types recursively (sizes, names, alignments, re-layout).
Real debug info makes those walks short and finite; damaged or hostile input
can make them loop forever (a typedef naming itself, a struct containing
itself, a pointer to itself) or overflow Python's stack (1000 stacked
qualifiers or nested arrays, 1000 ``*`` in a declaration).  The readers call
:func:`check_type_graph` on what they produce, and :func:`check_type` covers
types built from declarations (patches, scenarios), so that the analyses can
trust the graph.  The walk here is iterative: it cannot overflow itself.

Edges are *by value* (a struct's members, an array's element, the target of
a typedef or qualifier) or *by reference* (a pointer's target, a function's
return and parameter types).  Allowed: cycles that pass through a struct or
union by reference (``struct list_head { struct list_head *next; }``).
Refused: any cycle of by-value edges, any cycle that meets no struct, union
or enum (only those end a name walk), and chains deeper than
:data:`MAX_TYPE_DEPTH`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .errors import InputError
from .model import (
    DECLARATION_ONLY,
    ArrayType,
    Build,
    EnumType,
    FunctionType,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)

# The deepest chain in the Debian 6.1 kernels is below 40 (struct nesting with typedefs,
# qualifiers and array dimensions); 100 leaves room and keeps every recursive walk well
# inside Python's default recursion limit.
MAX_TYPE_DEPTH = 100
# No kernel object comes near 4 GiB (the largest Debian 6.1 struct is under 1 MiB); an array of
# 4x10^29 elements or a size of 10^400 is damage, and would make every sum after it meaningless.
MAX_OBJECT_BYTES = 1 << 32


def _by_value(t: Type) -> Iterator[Type]:
    if isinstance(t, StructType):
        for member in t.members:
            yield member.type
    elif isinstance(t, ArrayType):
        yield t.element
    elif isinstance(t, (TypedefType, QualifiedType)):
        yield t.target


def _name_walk(t: Type) -> Iterator[Type]:
    """The edges a name or size walk follows without stopping at an aggregate."""
    if isinstance(t, (StructType, EnumType)):
        return
    if isinstance(t, ArrayType):
        yield t.element
    elif isinstance(t, (TypedefType, QualifiedType, PointerType)):
        yield t.target
    elif isinstance(t, FunctionType):
        yield t.return_type
        yield from t.params


def describe(t: Type) -> str:
    """A short name for ``t`` that never walks the graph."""
    if isinstance(t, StructType):
        return t.tag
    if isinstance(t, TypedefType):
        return f"typedef {t.name}"
    if isinstance(t, EnumType):
        return f"enum {t.name or '<anonymous>'}"
    return {PointerType: "a pointer", ArrayType: "an array", QualifiedType: f"a {getattr(t, 'qualifier', '')} "
            "qualifier", FunctionType: "a function type"}.get(type(t), type(t).__name__)


def _where(t: Type) -> str:
    return f" (at {t.origin})" if isinstance(t, StructType) and t.origin else ""


def check_type_graph(build: Build, origin: str) -> None:
    """Raise InputError naming ``origin`` if ``build``'s types loop or nest too deeply."""
    roots: list[Type] = [*build.structs.values(), *build.unions.values(), *build.typedefs.values(),
                         *build.base_types.values(), *build.enums.values()]
    check_types(roots, origin)


def check_type(t: Type, origin: str) -> None:
    """:func:`check_type_graph` for one type (one built from a declaration)."""
    check_types([t], origin)


def check_types(roots: Iterable[Type], origin: str) -> None:
    """Check the graph reachable from ``roots``: by-value loops, name-walk loops, depth."""
    GraphChecker(origin).check(roots)


class GraphChecker:
    """:func:`check_types` for types that arrive one by one (a streaming reader): shared work is done once."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self._value_heights: dict[int, int] = {}
        self._name_heights: dict[int, int] = {}
        self._keep: list[Type] = []  # checked types stay alive, so their ids stay theirs

    def check(self, roots: Iterable[Type]) -> None:
        roots = list(roots)
        self._keep.extend(roots)
        _walk(roots, self.origin, _by_value, "contains itself by value", self._value_heights)
        every = _all_reachable(roots)
        _walk(every, self.origin, _name_walk,
              "refers to itself through pointers, typedefs or qualifiers", self._name_heights)
        for t in every:
            check_layout(t, self.origin)


def _all_reachable(roots: list[Type]) -> list[Type]:
    """Every type reachable from ``roots`` over any edge (pointers included)."""
    return list(reachable(roots, through_pointers=True))


def reachable(roots: Iterable[Type], through_pointers: bool = False) -> Iterator[Type]:
    """Each type reachable from ``roots``, once, depth first from the last root (a member's type before the next).

    By value (struct members, array elements, typedef and qualifier targets), or
    with ``through_pointers`` also pointer targets and function types' return and
    parameter types.  Iterative, so a deep or looping (damaged) graph is safe.
    """
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        yield t
        stack.extend(_by_value(t))
        if through_pointers:
            stack.extend(_name_walk(t))


def _walk(roots: Iterable[Type], origin: str, edges: Callable[[Type], Iterator[Type]], loop_text: str,
          height: dict[int, int]) -> None:
    """Iterative depth-first search: raise on a cycle or on a chain deeper than MAX_TYPE_DEPTH.

    ``height`` memoises the longest chain below each finished node, so the walk is linear.
    """
    on_path: set[int] = set()
    for root in roots:
        if id(root) in height:
            continue
        # stack of (node, iterator over its children)
        stack: list[tuple[Type, Iterator[Type]]] = [(root, edges(root))]
        on_path.add(id(root))
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_path.discard(id(node))
                height[id(node)] = 1 + max((height[id(c)] for c in edges(node)), default=0)
                if height[id(node)] > MAX_TYPE_DEPTH:
                    raise InputError(f"{origin}: {describe(node)} nests types more than {MAX_TYPE_DEPTH} levels "
                                     f"deep{_where(node)}; damaged or hostile debug info?")
                continue
            if id(child) in on_path:
                raise InputError(f"{origin}: {describe(child)} {loop_text}{_where(child)}; "
                                 "damaged or hostile debug info?")
            if id(child) in height:
                continue
            if len(stack) >= MAX_TYPE_DEPTH:
                raise InputError(f"{origin}: {describe(root)} nests types more than {MAX_TYPE_DEPTH} levels deep; "
                                 "damaged or hostile debug info?")
            on_path.add(id(child))
            stack.append((child, edges(child)))


def _power_of_two(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0 and not value & (value - 1)


def _byte_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_OBJECT_BYTES


def check_layout(t: Type, origin: str) -> None:
    """Raise InputError naming ``origin`` unless ``t``'s own numbers can be a C layout.

    Sizes are integers in [0, 4 GiB], alignments powers of two, array counts
    non-negative, and every member of a struct or union lies inside it.  Run
    after the loop and depth checks, so the size walks here are short.
    """
    def fail(problem: str) -> InputError:
        return InputError(f"{origin}: {describe(t)} {problem}{_where(t)}; damaged or hostile debug info?")
    if isinstance(t, ArrayType):
        if t.count is not None and (not isinstance(t.count, int) or isinstance(t.count, bool) or t.count < 0):
            raise fail(f"has {t.count!r} elements")
        if not _byte_count(t.size_bytes):
            raise fail(f"of {t.count} elements is {t.size_bytes} bytes, more than {MAX_OBJECT_BYTES}")
        return
    if isinstance(t, TypedefType):
        if t.alignment_attr is not None and not _power_of_two(t.alignment_attr):
            raise fail(f"has alignment {t.alignment_attr!r}, not a power of two")
        return
    if not isinstance(t, StructType):
        if not _byte_count(t.size_bytes):
            raise fail(f"has size {t.size_bytes!r}")
        return
    if not _byte_count(t.size_bytes):
        raise fail(f"has size {t.size_bytes!r}")
    if t.alignment_attr is not None and not _power_of_two(t.alignment_attr):
        raise fail(f"has alignment {t.alignment_attr!r}, not a power of two")
    limit = t.size_bytes * 8
    previous_end, previous_name = 0, ""
    for member in t.members:
        name = member.name or "<anonymous>"
        if isinstance(member.type.strip(), VoidType):
            raise fail(f"member '{name}' has type void")
        if not isinstance(member.bit_offset, int) or member.bit_offset < 0:
            raise fail(f"member '{name}' has bit offset {member.bit_offset!r}")
        if member.alignment_attr is not None and not _power_of_two(member.alignment_attr):
            raise fail(f"member '{name}' has alignment {member.alignment_attr!r}, not a power of two")
        if member.bit_size is not None and (not isinstance(member.bit_size, int) or member.bit_size < 0
                                            or member.bit_size > 8 * member.type.size_bytes > 0):
            raise fail(f"member '{name}' has a bitfield width of {member.bit_size!r} bits")
        end = member.bit_offset + (member.bit_size if member.bit_size is not None else 8 * member.type.size_bytes)
        if end > limit:
            raise fail(f"of {t.size_bytes} bytes has member '{name}' ending at bit {end} "
                       f"(byte {(end + 7) // 8}), outside it")
        if not t.is_union:  # a struct's members follow one another; only a union's overlap
            if member.bit_offset < previous_end:
                raise fail(f"member '{name}' at bit {member.bit_offset} overlaps '{previous_name}', which ends "
                           f"at bit {previous_end}")
            # a member the DWARF reader sized up to the next member's byte (model.DECLARATION_ONLY) may reach
            # over a bitfield sharing its byte (devlink.lock_key on 6.1 armmp): only its start is known
            guessed = isinstance(member.type, StructType) and DECLARATION_ONLY in (member.type.origin or "")
            previous_end, previous_name = (member.bit_offset if guessed else end), name
