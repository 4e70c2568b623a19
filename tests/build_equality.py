"""A complete, comparable description of a Build: what "the fast path equals the plain path" checks.

Every struct and union is described with all of its members, down to every
type reached by value; a named struct inside another is described by its tag,
size and DIE (it is compared in full as a root of its own), a pointer target
by its tag, size and whether it is a declaration (the readers stop there too).
"""

from __future__ import annotations

from typing import Any

from layoutcalc.model import (
    ArrayType,
    BaseType,
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


def describe_type(t: Type, depth: int = 0) -> Any:
    """``t`` as nested tuples (by-value nesting followed; pointers end at the target's tag)."""
    if depth > 60:
        return ("deep",)
    if isinstance(t, StructType):
        head = (t.kind, t.name, t.size_bytes, t.alignment_attr, t.is_packed,
                t.is_declaration, t.origin)
        if depth and t.name:  # a named struct is described in full where it is a root (same DIE: same origin)
            return head
        return head + (tuple((m.name, m.bit_offset, m.bit_size, m.alignment_attr,
                              describe_type(m.type, depth + 1)) for m in t.members),)
    if isinstance(t, PointerType):
        target = t.target
        if isinstance(target, StructType):
            return ("ptr", t.size_bytes, (target.kind, target.name, target.size_bytes, target.is_declaration))
        return ("ptr", t.size_bytes, describe_type(target, depth + 1))
    if isinstance(t, ArrayType):
        return ("array", t.count, describe_type(t.element, depth + 1))
    if isinstance(t, TypedefType):
        return ("typedef", t.name, t.alignment_attr, describe_type(t.target, depth + 1))
    if isinstance(t, QualifiedType):
        return (t.qualifier, describe_type(t.target, depth + 1))
    if isinstance(t, FunctionType):
        return ("fn", describe_type(t.return_type, depth + 1), tuple(describe_type(p, depth + 1) for p in t.params),
                t.variadic)
    if isinstance(t, BaseType):
        return ("base", t.name, t.size_bytes, t.encoding)
    if isinstance(t, EnumType):
        return ("enum", t.name, t.size_bytes, t.encoding, t.is_declaration)
    if isinstance(t, VoidType):
        return ("void",)
    raise TypeError(f"unknown model type {type(t).__name__}")


def describe_build(build: Build) -> dict[str, Any]:
    """Everything a reader put in ``build``, in its order, as comparable values."""
    return {
        "target": (build.name, build.arch, build.address_size, build.byte_order),
        "structs": [(name, describe_type(t)) for name, t in build.structs.items()],
        "unions": [(name, describe_type(t)) for name, t in build.unions.items()],
        "typedefs": [(name, describe_type(t)) for name, t in build.typedefs.items()],
        "base_types": [(name, describe_type(t)) for name, t in build.base_types.items()],
        "enums": [(name, describe_type(t)) for name, t in build.enums.items()],
        "provenance": build.provenance.to_json(),
        "names_seen": sorted(build.names_seen),
        "variants": [describe_type(t) for t in build.variants],
    }


def differences(plain: Build, fast: Build) -> list[str]:
    """What differs between two builds (empty when they are equal), one line per difference."""
    left, right = describe_build(plain), describe_build(fast)
    found = []
    for key in left:
        if key in ("structs", "unions", "typedefs", "base_types", "enums"):
            lmap, rmap = dict(left[key]), dict(right[key])
            for name in sorted(set(lmap) | set(rmap)):
                if lmap.get(name) != rmap.get(name):
                    found.append(f"{key} {name}: plain {str(lmap.get(name))[:200]} fast {str(rmap.get(name))[:200]}")
            if not found and [n for n, _ in left[key]] != [n for n, _ in right[key]]:
                found.append(f"{key}: same entries in another order")
        elif left[key] != right[key]:
            found.append(f"{key}: plain {left[key]} fast {right[key]}")
    return found
