"""Run Debian's pahole and parse its summary blocks: the oracle for our statistics."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Optional

PAHOLE = shutil.which("pahole")

_PATTERNS = {
    "size_line": re.compile(r"/\* size: (\d+), cachelines: (\d+), members: (\d+)"),
    "sum_members": re.compile(r"/\* sum members: (\d+)(?:, holes: (\d+), sum holes: (\d+))?"),
    "bitfields": re.compile(r"/\* sum bitfield members: (\d+) bits"
                            r"(?:, bit holes: (\d+), sum bit holes: (\d+) bits)?"),
    "padding": re.compile(r"/\* padding: (\d+) \*/"),
    "paddings": re.compile(r"/\* paddings: (\d+), sum paddings: (\d+)"),
    "bit_padding": re.compile(r"/\* bit_padding: (\d+) bits"),
    "forced": re.compile(r"/\* forced alignments: (\d+)(?:, forced holes: (\d+), sum forced holes: (\d+))?"),
    "last": re.compile(r"/\* last cacheline: (\d+) bytes"),
}


def split_structs(text: str) -> dict[str, str]:
    """Top-level ``struct NAME {...};`` blocks of pahole's output, by name."""
    blocks: dict[str, str] = {}
    current: Optional[str] = None
    lines: list[str] = []
    for line in text.splitlines():
        match = re.match(r"^(struct|union) (\S+) \{", line)
        if match and current is None:
            current, lines = match.group(2), [line]
            continue
        if current is not None:
            lines.append(line)
            if line.startswith("}"):
                blocks.setdefault(current, "\n".join(lines))
                current = None
    return blocks


def parse_summary(block: str) -> dict[str, int]:
    """pahole's summary block as our stat keys; absent lines mean 0 (pahole omits zeros).

    ``sum_members`` is only printed by pahole when there is a hole; it is left
    out of the dict otherwise.
    """
    summary = "\n".join(line for line in block.splitlines() if line.startswith("\t/*"))
    stats = dict.fromkeys(["holes", "sum_holes", "bit_holes", "sum_bit_holes", "padding",
                           "bit_padding", "paddings", "sum_paddings", "forced_alignments",
                           "forced_holes", "sum_forced_holes", "last_cacheline"], 0)
    size = _PATTERNS["size_line"].findall(summary)[-1]
    stats["size"], stats["cachelines"], stats["members"] = (int(v) for v in size)
    for match in _PATTERNS["sum_members"].findall(summary)[-1:]:
        stats["sum_members"] = int(match[0])
        stats["holes"], stats["sum_holes"] = int(match[1] or 0), int(match[2] or 0)
    for match in _PATTERNS["bitfields"].findall(summary)[-1:]:
        stats["bit_holes"], stats["sum_bit_holes"] = int(match[1] or 0), int(match[2] or 0)
    for key, pattern in (("padding", "padding"), ("bit_padding", "bit_padding"), ("last_cacheline", "last")):
        found = _PATTERNS[pattern].findall(summary)
        if found:
            stats[key] = int(found[-1])
    for match in _PATTERNS["paddings"].findall(summary)[-1:]:
        stats["paddings"], stats["sum_paddings"] = int(match[0]), int(match[1])
    for match in _PATTERNS["forced"].findall(summary)[-1:]:
        stats["forced_alignments"] = int(match[0])
        stats["forced_holes"], stats["sum_forced_holes"] = int(match[1] or 0), int(match[2] or 0)
    return stats


def pahole_structs(path: str, names: list[str], fmt: str = "dwarf") -> dict[str, dict[str, int]]:
    """pahole's summary per struct for ``names`` in ``path``."""
    assert PAHOLE, "pahole is not installed"
    out = subprocess.run([PAHOLE, "-F", fmt, "-C", ",".join(names), path], check=True,
                         capture_output=True, text=True).stdout
    blocks = split_structs(out)
    return {name: parse_summary(blocks[name]) for name in names if name in blocks}


def compare(ours: dict[str, object], theirs: dict[str, int]) -> list[str]:
    """Keys on which our stats differ from pahole's, as 'key: ours != theirs'."""
    return [f"{key}: {ours[key]} != {value}" for key, value in theirs.items() if ours.get(key) != value]


def split_listing(text: str) -> dict[str, str]:
    """pahole -C output cut into its top-level items (structs, unions, typedefs), by name, text as printed."""
    items: dict[str, str] = {}
    block: list[str] = []
    for line in text.splitlines(keepends=True):
        if block:
            block.append(line)
            if line.startswith("}"):
                header = re.match(r"^(?:struct|union) (\S+) \{", block[0])
                name = header.group(1) if header else line.rstrip().rstrip(";").split()[-1]
                items.setdefault(name, "".join(block))
                block = []
        elif line.rstrip().endswith("{"):
            block = [line]
        elif line.strip():
            pointer = re.search(r"\(\*(\w+)\)", line)
            items.setdefault(pointer.group(1) if pointer else line.rstrip().rstrip(";").split()[-1], line)
    return items


def pahole_listing(path: str, names: list[str], fmt: str = "dwarf") -> dict[str, str]:
    """pahole's text for each of ``names`` found in ``path``, from one pahole run."""
    assert PAHOLE, "pahole is not installed"
    out = subprocess.run([PAHOLE, "-F", fmt, "--skip_missing", "-C", ",".join(names), path], check=True,
                         capture_output=True, text=True).stdout
    return split_listing(out)
