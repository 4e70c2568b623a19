"""Find the few units that name a type, without the whole-file index: for a cold ``show``.

The name index (:mod:`.typeindex`) scans every unit of a file once, which is
most of a cold lookup's time.  A lookup of a few names needs only the units
whose DIEs carry those names, and a DIE names its type in one of three ways
a byte search finds: the offset of the name in ``.debug_str``
(``DW_FORM_strp``) or ``.debug_line_str`` (``DW_FORM_line_strp``), or the
name itself inline (``DW_FORM_string``).  So each candidate string offset
and the inline text are searched for in ``.debug_info``, in file order;
every unit with a hit is scanned as the index scans it (a hit may be a
coincidence; the scan decides), and the search stops once the plain walk
would have stopped (:func:`.fastpath.plan`).  The tables it returns hold,
for each wanted name, exactly the entries the whole index holds for it in
those units.

It declines (returns None) where that argument does not hold or would not
pay: names in ``.debug_str_offsets`` or a supplementary file, 64-bit DWARF,
a name whose text ends more than :data:`MAX_OFFSETS` strings of the string
section (``id`` ends thousands), a name no unit defines, or more than
:data:`MAX_UNITS` candidate units.  The caller then builds the index.
"""

from __future__ import annotations

import bisect
import heapq
import re
import struct as _struct
from collections.abc import Callable, Iterable, Iterator
from typing import Optional

from .dwarfscan import TAG_BASE, TAG_ENUM, TAG_STRUCT, TAG_TYPEDEF, TAG_UNION, DecoderFactory, Sections, Unit, scan_unit

MAX_OFFSETS = 8  # string offsets searched per name
MAX_UNITS = 48  # units scanned before the whole index is cheaper
CHUNK = 32 << 20  # bytes of .debug_info searched at a time (their pages are then released)
_TABLES = {TAG_STRUCT: "structs", TAG_UNION: "unions", TAG_TYPEDEF: "typedefs", TAG_ENUM: "enums",
           TAG_BASE: "base_types"}
# As typeindex.Entry: (unit ordinal, DIE offset, byte size, encoding)
Entry = tuple[int, int, Optional[int], int]
_UNSUPPORTED_SECTIONS = (".debug_str_offsets", ".debug_sup", ".gnu_debugaltlink")


def locate(sections: Sections, units: list[Unit], names: Iterable[str], any_kind: bool,
           extra_sections: Iterable[str] = ()) -> Optional[tuple[dict[str, dict[str, Entry]], int]]:
    """The index's entries for ``names`` (structs, unions, typedefs, enums, base types) and the last unit to read.

    ``names`` are struct/union names (with ``any_kind``, a typedef, base type
    or ``enum X`` of that name satisfies one too, as pahole's ``-C``);
    ``extra_sections`` are the file's other section names.  None: use the
    whole index.
    """
    if any(name in _UNSUPPORTED_SECTIONS for name in extra_sections):
        return None
    if not units or any(unit.offset_size != 4 for unit in units):
        return None
    bare = {name: name[5:] if name.startswith("enum ") else name for name in names}
    patterns: list[bytes] = []
    endian = "<" if sections.little_endian else ">"
    for text in set(bare.values()):
        encoded = text.encode("utf-8")
        if not encoded or b"\0" in encoded:
            return None
        for data in (sections.str, sections.line_str):
            offsets = _string_offsets(data, encoded + b"\0")
            if len(offsets) > MAX_OFFSETS:
                return None
            patterns.extend(_struct.pack(endian + "I", offset) for offset in offsets)
        patterns.append(encoded + b"\0")
    return _walk(sections, units, bare, any_kind, sorted(set(patterns)))


def _string_offsets(data: bytes, needle: bytes) -> list[int]:
    found: list[int] = []
    position = data.find(needle)
    while position >= 0 and len(found) <= MAX_OFFSETS:
        found.append(position)
        position = data.find(needle, position + 1)
    return found


def _walk(sections: Sections, units: list[Unit], bare: dict[str, str], any_kind: bool,
          patterns: list[bytes]) -> Optional[tuple[dict[str, dict[str, Entry]], int]]:
    """Scan the units with hits in file order until every name is decided; the tables and the limit."""
    starts = [unit.offset for unit in units]
    factory = DecoderFactory(sections.little_endian, sections.string_end)
    abbrevs: dict[int, dict[int, tuple[int, bool, tuple[tuple[int, int, int], ...]]]] = {}
    wanted = set(bare.values())
    tables: dict[str, dict[str, Entry]] = {table: {} for table in _TABLES.values()}
    stops: dict[str, int] = {}
    scanned = 0
    last_unit = -1
    for hit in _hits(sections.info, patterns, sections.release):
        ordinal = bisect.bisect_right(starts, hit) - 1
        if ordinal <= last_unit or ordinal < 0 or hit >= units[ordinal].end:
            continue
        if len(stops) == len(bare) and ordinal > max(stops.values()):
            break
        last_unit = ordinal
        scanned += 1
        if scanned > MAX_UNITS:
            return None
        for entry in scan_unit(sections, units[ordinal], factory, abbrevs):
            if entry.name not in wanted or (entry.declaration and entry.tag != TAG_TYPEDEF):
                continue
            tables[_TABLES[entry.tag]].setdefault(entry.name, (ordinal, entry.die_offset, entry.byte_size,
                                                                entry.encoding))
        for name in bare:
            if name not in stops and _satisfied(tables, name, any_kind):
                stops[name] = ordinal
    if len(stops) < len(bare):
        return None  # a name no unit defines: the plain walk reads every unit, so does the index
    return tables, max(stops.values(), default=0)


def _satisfied(tables: dict[str, dict[str, Entry]], name: str, any_kind: bool) -> bool:
    """Whether the entries found so far end the plain walk's search for ``name`` (as :func:`.fastpath.plan`)."""
    if name in tables["structs"] or name in tables["unions"]:
        return True
    if not any_kind:
        return False
    if name in tables["typedefs"] or name in tables["base_types"]:
        return True
    return name.startswith("enum ") and name[5:] in tables["enums"]


def _hits(info: object, patterns: list[bytes], release: Callable[[], None]) -> Iterator[int]:
    """Where any of ``patterns`` starts in ``info``, in increasing order, searched a chunk at a time.

    The pages of a memory-mapped section are released after each chunk, so a
    search of the whole section does not hold it in memory.
    """
    view = memoryview(info)  # type: ignore[arg-type]
    overlap = max(len(pattern) for pattern in patterns) - 1
    compiled = [re.compile(re.escape(pattern)) for pattern in patterns]
    size = len(view)
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK + overlap)
        window = view[start:stop]
        found = heapq.merge(*([start + match.start() for match in regex.finditer(window)
                               if match.start() < CHUNK or stop == size] for regex in compiled))
        window.release()
        release()
        yield from found
