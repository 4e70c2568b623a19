"""Snapshots: the part of a build that layout, what-if and slab need, as compact JSON.

A snapshot holds the named structs, every type they contain by value, the
names (only) of what they point to, the typedefs and base types a scenario
needs, and the provenance of the build.  Types live in one table and refer to
each other by index, so shared and self-referencing types are stored once.

Format (``version`` 1)::

    {"schema": "layoutcalc-snapshot", "version": 1,
     "build": {"name", "arch", "address_size", "byte_order", "provenance"},
     "roots": {"structs": {name: id}, "unions": {...}, "typedefs": {...}, "base_types": {...}},
     "types": [{"k": kind, ...}, ...]}

Kinds and their keys: ``void``; ``base`` n s e; ``enum`` n s e v (v: enumerators of an
anonymous enum, ``[[name, value], ...]``); ``ptr`` t s;
``array`` t c (null: flexible); ``typedef`` n t a; ``qual`` q t; ``func`` t p v;
``struct``/``union`` n s a d m, with members ``[name, type, bit_offset,
bit_size, alignment]``.  Missing optional keys mean null/false.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from ..abi import ABIS
from ..errors import InputError, ScenarioError
from ..safe_read import read_bytes
from ..structured import load_json
from ..typegraph import MAX_TYPE_DEPTH, check_type_graph
from ..provenance import Provenance
from ..model import (
    ArrayType,
    BaseType,
    Build,
    EnumType,
    FunctionType,
    Member,
    PointerType,
    QualifiedType,
    StructType,
    Type,
    TypedefType,
    VoidType,
)

SCHEMA = "layoutcalc-snapshot"
VERSION = 1
# A whole-kernel snapshot of every struct is about 40 MB; the baseline reader allows the same.
MAX_SNAPSHOT_BYTES = 256 << 20


class _Encoder:
    """Builds the type table.

    Entries are memoised by the identity of the model objects, which the
    build keeps alive for the whole encoding, so an identity is never reused.
    A pointer's target is stored "shallow" (structs by name only) in a
    separate memo keyed by the same original object, not by a temporary copy.
    """

    def __init__(self) -> None:
        self.full: dict[int, int] = {}
        self.shallow: dict[int, int] = {}
        self.alive: list[Type] = []  # pins every memoised object: ids stay unique
        self.table: list[dict[str, Any]] = []

    def _slot(self, memo: dict[int, int], t: Type) -> tuple[int, Optional[dict[str, Any]]]:
        """The table index for ``t`` in ``memo``, and a fresh entry to fill when it is new."""
        if id(t) in memo:
            return memo[id(t)], None
        self.alive.append(t)
        index = memo[id(t)] = len(self.table)
        entry: dict[str, Any] = {}
        self.table.append(entry)
        return index, entry

    def ref(self, t: Type) -> int:
        index, entry = self._slot(self.full, t)
        if entry is not None:
            entry.update(self._encode(t))
        return index

    def shallow_ref(self, t: Type) -> int:
        """A pointer target: a named struct with members is stored as a declaration of its name."""
        if isinstance(t, StructType) and t.members and t.name is not None:
            index, entry = self._slot(self.shallow, t)
            if entry is not None:
                entry.update(_compact({"k": t.kind, "n": t.name, "s": t.size_bytes, "d": True}))
            return index
        if isinstance(t, (TypedefType, QualifiedType)):
            index, entry = self._slot(self.shallow, t)
            if entry is not None:
                target = self.shallow_ref(t.target)
                if isinstance(t, TypedefType):
                    entry.update(_compact({"k": "typedef", "n": t.name, "t": target, "a": t.alignment_attr}))
                else:
                    entry.update({"k": "qual", "q": t.qualifier, "t": target})
            return index
        return self.ref(t)

    def _encode(self, t: Type) -> dict[str, Any]:
        if isinstance(t, BaseType):
            return {"k": "base", "n": t.name, "s": t.size_bytes, "e": t.encoding}
        if isinstance(t, EnumType):
            return _compact({"k": "enum", "n": t.name, "s": t.size_bytes,
                             "e": t.encoding if t.encoding != "unsigned" else None,
                             "v": [list(pair) for pair in t.enumerators] or None})
        if isinstance(t, PointerType):
            return {"k": "ptr", "t": self.shallow_ref(t.target), "s": t.size_bytes}
        if isinstance(t, ArrayType):
            return {"k": "array", "t": self.ref(t.element), "c": t.count}
        if isinstance(t, TypedefType):
            return _compact({"k": "typedef", "n": t.name, "t": self.ref(t.target), "a": t.alignment_attr})
        if isinstance(t, QualifiedType):
            return {"k": "qual", "q": t.qualifier, "t": self.ref(t.target)}
        if isinstance(t, FunctionType):
            return _compact({"k": "func", "t": self.ref(t.return_type),
                             "p": [self.ref(p) for p in t.params], "v": t.variadic or None})
        if isinstance(t, StructType):
            return _compact({
                "k": t.kind, "n": t.name, "s": t.size_bytes, "a": t.alignment_attr,
                "d": t.is_declaration or None,
                "m": [[m.name, self.ref(m.type), m.bit_offset, m.bit_size, m.alignment_attr]
                      for m in t.members] or None,
            })
        return {"k": "void"}


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if value is not None}


def build_to_dict(build: Build) -> dict[str, Any]:
    """The JSON-ready snapshot of ``build``."""
    encoder = _Encoder()
    roots = {
        "structs": {name: encoder.ref(t) for name, t in build.structs.items()},
        "unions": {name: encoder.ref(t) for name, t in build.unions.items()},
        "typedefs": {name: encoder.ref(t) for name, t in build.typedefs.items()},
        "base_types": {name: encoder.ref(t) for name, t in build.base_types.items()},
        "enums": {name: encoder.ref(t) for name, t in build.enums.items()},
    }
    return {
        "schema": SCHEMA, "version": VERSION,
        "build": {"name": build.name, "arch": build.arch, "address_size": build.address_size,
                  "byte_order": build.byte_order, "provenance": build.provenance.to_json()},
        "roots": roots,
        "types": encoder.table,
    }


def write_snapshot(build: Build, path: str) -> None:
    """Write ``build`` to ``path`` atomically, checked by reading it back (see :mod:`layoutcalc.safe_write`)."""
    from ..safe_write import write_text
    text = json.dumps(build_to_dict(build), separators=(",", ":"), sort_keys=False)
    write_text(path, text + "\n", validate=lambda data: validate_snapshot_bytes(data, path))


def validate_snapshot_bytes(data: bytes, path: str) -> None:
    """Raise a one-line error unless ``data`` (a snapshot just written to ``path``) reads back."""
    build_from_dict(load_json(data, path, ScenarioError), path)


class _Decoder:
    def __init__(self, table: list[Any], path: str) -> None:
        self.table = table
        self.path = path
        self.done: dict[int, Type] = {}
        self.depth = 0

    def fail(self, index: int, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: malformed snapshot: type {index}: {problem}")

    def get(self, index: Any) -> Type:
        if not isinstance(index, int) or not 0 <= index < len(self.table):
            raise ScenarioError(f"{self.path}: malformed snapshot: type reference {index!r} out of range")
        if index in self.done:
            return self.done[index]
        entry = self.table[index]
        if not isinstance(entry, dict) or "k" not in entry:
            raise self.fail(index, "not an object with a kind 'k'")
        self.depth += 1
        try:
            if self.depth > MAX_TYPE_DEPTH:
                raise self.fail(index, f"types nest more than {MAX_TYPE_DEPTH} levels deep")
            return self._decode(index, entry)
        except (KeyError, TypeError, ValueError) as exc:
            raise self.fail(index, f"bad or missing field ({exc})") from None
        finally:
            self.depth -= 1

    def _decode(self, index: int, e: dict[str, Any]) -> Type:
        kind = e["k"]
        builders: dict[str, Callable[[], Type]] = {
            "void": VoidType,
            "base": lambda: BaseType(str(e["n"]), self.count(index, e["s"], "size"), str(e.get("e", "signed"))),
            "enum": lambda: EnumType(e.get("n"), self.count(index, e["s"], "size"), str(e.get("e", "unsigned")),
                                     enumerators=self.enumerators(index, e.get("v", []))),
            "qual": lambda: QualifiedType(str(e["q"]), self.get(e["t"])),
            "func": lambda: FunctionType(self.get(e["t"]), [self.get(p) for p in e.get("p", [])],
                                         bool(e.get("v", False))),
        }
        if kind in builders:
            result = builders[kind]()
        elif kind == "ptr":
            result = PointerType(VoidType(), self.count(index, e["s"], "size"))
            self.done[index] = result
            result.target = self.get(e["t"])
        elif kind == "array":
            count = e.get("c")
            result = ArrayType(self.get(e["t"]), self.count(index, count, "count", optional=True))
        elif kind == "typedef":
            result = TypedefType(str(e["n"]), VoidType(), self.alignment(index, e.get("a")))
            self.done[index] = result
            result.target = self.get(e["t"])
        elif kind in ("struct", "union"):
            result = self._aggregate(index, kind, e)
        else:
            raise self.fail(index, f"unknown kind {kind!r}")
        self.done[index] = result
        return result

    def enumerators(self, index: int, value: Any) -> list[tuple[str, int]]:
        """An enum's ``[[name, value], ...]``."""
        if not isinstance(value, list) or not all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], int) and not isinstance(pair[1], bool) for pair in value):
            raise self.fail(index, "enumerators must be [[name, integer], ...]")
        return [(name, number) for name, number in value]

    def count(self, index: int, value: Any, what: str, optional: bool = False) -> Any:
        """A non-negative integer field (or None when ``optional``)."""
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(index, f"{what} must be a non-negative integer, not {value!r}")
        return value

    def alignment(self, index: int, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value & (value - 1):
            raise self.fail(index, f"alignment must be a power of two, not {value!r}")
        return value

    def _aggregate(self, index: int, kind: str, e: dict[str, Any]) -> StructType:
        struct = StructType(kind, e.get("n"), self.count(index, e["s"], "size"), [],
                            alignment_attr=self.alignment(index, e.get("a")),
                            is_declaration=bool(e.get("d", False)), origin=f"snapshot type {index}")
        self.done[index] = struct
        for raw in e.get("m", []):
            if not isinstance(raw, list) or len(raw) != 5:
                raise self.fail(index, "member is not [name, type, bit_offset, bit_size, alignment]")
            name, type_ref, bit_offset, bit_size, align = raw
            if name is not None and not isinstance(name, str):
                raise self.fail(index, f"member name must be a string, not {name!r}")
            struct.members.append(Member(name, self.get(type_ref), self.count(index, bit_offset, "bit_offset"),
                                         self.count(index, bit_size, "bit_size", optional=True),
                                         self.alignment(index, align)))
        return struct


def build_from_dict(data: Any, path: str) -> Build:
    """Validate and decode a snapshot; every problem is a one-line ScenarioError naming ``path``."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ScenarioError(f"{path}: not a layoutcalc snapshot (missing \"schema\": \"{SCHEMA}\")")
    if data.get("version") != VERSION:
        raise ScenarioError(f"{path}: snapshot version {data.get('version')!r} is not supported "
                            f"(this layoutcalc reads version {VERSION}); re-create it with 'layoutcalc snapshot'")
    try:
        meta, roots, table = data["build"], data["roots"], data["types"]
        build = Build(name=str(meta["name"]), arch=str(meta["arch"]), address_size=int(meta["address_size"]),
                      byte_order=str(meta["byte_order"]), provenance=Provenance.from_json(meta.get("provenance") or {}))
        decoder = _Decoder(list(table), path)
        build.structs = _roots(decoder, roots.get("structs", {}), StructType)
        build.unions = _roots(decoder, roots.get("unions", {}), StructType)
        build.typedefs = _roots(decoder, roots.get("typedefs", {}), TypedefType)
        build.base_types = _roots(decoder, roots.get("base_types", {}), BaseType)
        build.enums = _roots(decoder, roots.get("enums", {}), EnumType)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ScenarioError(f"{path}: malformed snapshot ({exc.__class__.__name__}: {exc})") from None
    if build.arch not in ABIS:
        raise ScenarioError(f"{path}: malformed snapshot: unknown arch '{build.arch}' "
                            f"(known: {', '.join(sorted(ABIS))})")
    try:
        check_type_graph(build, f"{path}: malformed snapshot")
    except InputError as exc:
        raise ScenarioError(str(exc)) from None
    return build


def _roots(decoder: _Decoder, names: dict[str, Any], expected: type) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, ref in names.items():
        t = decoder.get(ref)
        if not isinstance(t, expected):
            raise ScenarioError(f"{decoder.path}: malformed snapshot: root '{name}' is not a {expected.__name__}")
        result[name] = t
    return result


def read_snapshot_file(path: str) -> Build:
    data = load_json(read_bytes(path, "snapshot", MAX_SNAPSHOT_BYTES, error=InputError), path, ScenarioError)
    return build_from_dict(data, path)


def read_snapshot(path: str) -> Build:
    """Read and validate the snapshot at ``path``."""
    return read_snapshot_file(path)
