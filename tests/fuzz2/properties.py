"""Properties every exit-0 output must have: a wrong program gets these wrong, a damaged input must not pass.

- no negative size, offset, hole, padding or count anywhere in a JSON result;
- every member of a ``show`` struct lies inside it, bitfield bits included;
- members' positions ascend, in bits (a struct's members never go back; a union's all sit at 0);
- the statistics add up: ``members`` counts the fields, and pahole's invariant
  ``size*8 == sum_members*8 + bitfield bits + sum_holes*8 + sum_bit_holes + padding*8 + bit_padding``
  holds for structs; ``cachelines`` is ``ceil(size / 64)`` on x86-64;
- ``whatif``: sizes not negative, every added member inside the new size;
- a file written with ``-o`` reads back (a snapshot or baseline layoutcalc accepts).
"""

from __future__ import annotations

import json
from typing import Any

# Keys whose numbers may be negative: differences and signed values.
SIGNED = ("delta", "change", "diff", "growth", "saving", "saves", "saved", "moved", "grew", "shrank", "value", "net",
          "down", "level", "chg", "up_down", "enumerator", "percent", "by")


def _walk(value: Any, key: str, problems: list[str]) -> None:
    stack = [(value, key)]
    while stack:
        item, name = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, k) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, name) for v in item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and item < 0 \
                and not any(word in name.lower() for word in SIGNED):
            problems.append(f"negative '{name}': {item}")


def check_show(struct: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    size, fields = struct.get("size"), struct.get("fields", [])
    name = struct.get("name")
    if not isinstance(size, int) or size < 0:
        return [f"{name}: size {size!r}"]
    if struct.get("members") != len(fields):
        problems.append(f"{name}: members {struct.get('members')} but {len(fields)} fields")
    offsets = [f["offset"] for f in fields]
    union = len(fields) > 1 and all(o == 0 for o in offsets)
    # pahole prints a bitfield at its storage unit's offset, so positions ascend in bits, not in those offsets
    starts = [8 * f["offset"] + (f.get("bit_offset") or 0) for f in fields]
    if starts != sorted(starts):
        problems.append(f"{name}: member bit positions do not ascend: {starts[:20]}")
    bitfield_bits = 0
    for field in fields:
        offset, width, bits, bit_offset = field["offset"], field["size"], field.get("bit_size"), field.get("bit_offset")
        if offset < 0 or width < 0 or (bits is None and offset + width > size):
            problems.append(f"{name}.{field['name']}: {width} bytes at {offset}, outside {size}")
        if bits is not None:
            bitfield_bits += bits
            # a packed struct's bitfield may straddle its storage unit (pahole: "40: 8  4" for 28 bits), not the struct
            if bit_offset is None or bit_offset < 0 or 8 * offset + bit_offset + bits > 8 * size:
                problems.append(f"{name}.{field['name']}: bits {bit_offset}+{bits} at {offset} outside {size} bytes")
    if not union and fields:
        total = (8 * struct["sum_members"] + bitfield_bits + 8 * struct["sum_holes"] + struct["sum_bit_holes"]
                 + 8 * struct["padding"] + struct["bit_padding"])
        if total != 8 * size:
            problems.append(f"{name}: the statistics add to {total} bits, not {8 * size}")
    if "cachelines" in struct and struct["cachelines"] != -(-size // 64) and size:
        problems.append(f"{name}: {struct['cachelines']} cachelines for {size} bytes")
    return problems


def check_whatif(struct: dict[str, Any]) -> list[str]:
    problems = []
    after = struct.get("size_after")
    for field in struct.get("added", []):
        if isinstance(after, int) and field.get("offset", 0) + field.get("size", 0) > after:
            problems.append(f"{struct.get('name')}: added {field.get('name')} ends past size {after}")
    for low, high in (("size_after_min", "size_after"), ("size_after", "size_after_max")):
        if isinstance(struct.get(low), int) and isinstance(struct.get(high), int) and struct[low] > struct[high]:
            problems.append(f"{struct.get('name')}: {low} {struct[low]} > {high} {struct[high]}")
    return problems


def check_output(command: str, stdout: str, json_format: bool) -> list[str]:
    """Property violations in an exit-0 ``stdout`` of ``command`` (empty list: fine)."""
    if not json_format:
        return ["no output"] if command in ("show", "sizes") and not stdout.strip() else []
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        return [f"--format json printed something else ({exc})"]
    problems: list[str] = []
    _walk(data, "", problems)
    structs = data.get("structs", []) if isinstance(data, dict) else []
    for struct in structs if isinstance(structs, list) else []:
        if command == "show":
            problems += check_show(struct)
        elif command == "whatif":
            problems += check_whatif(struct)
    return problems


def check_written(path: str) -> list[str]:
    """A file layoutcalc wrote with ``-o`` must read back."""
    from layoutcalc.errors import LayoutcalcError
    try:
        if path.endswith(".baseline.json"):
            from layoutcalc.features.budget import read_baseline
            read_baseline(path)
        elif path.endswith(".json"):
            from layoutcalc.readers.snapshot import read_snapshot
            read_snapshot(path)
    except LayoutcalcError as exc:
        return [f"written file does not read back: {exc}"]
    return []
