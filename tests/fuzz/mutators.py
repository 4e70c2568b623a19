"""Structure-aware mutators, one family per input kind; each is ``(data, rng) -> bytes``.

They know where the fields are (ELF header and section table, DWARF unit
headers, abbreviations, forms and type references, compression headers, BTF
header, type records and strings, JSON/TOML trees, patch lines), so most
mutants get past the magic numbers and reach the readers' deeper code.
"""

from __future__ import annotations

import io
import json
import random
import struct
try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Optional

from elftools.elf.elffile import ELFFile

Mutator = Callable[[bytes, random.Random], bytes]

INTERESTING = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, 1 << 40, 1 << 62, (1 << 63) - 1, (1 << 64) - 1]

# --------------------------------------------------------------------------- ELF


class ElfMap:
    """Where an ELF image's header fields and section headers are (own parser: damage-proof)."""

    def __init__(self, data: bytes) -> None:
        self.is64 = data[4] == 2
        self.end = "<" if data[5] == 1 else ">"
        if self.is64:
            self.header = {"e_type": (16, "H"), "e_machine": (18, "H"), "e_version": (20, "I"),
                           "e_shoff": (40, "Q"), "e_ehsize": (52, "H"), "e_shentsize": (58, "H"),
                           "e_shnum": (60, "H"), "e_shstrndx": (62, "H")}
            self.fields = {"sh_name": (0, "I"), "sh_type": (4, "I"), "sh_flags": (8, "Q"), "sh_offset": (24, "Q"),
                           "sh_size": (32, "Q"), "sh_link": (40, "I"), "sh_info": (44, "I"),
                           "sh_addralign": (48, "Q"), "sh_entsize": (56, "Q")}
        else:
            self.header = {"e_type": (16, "H"), "e_machine": (18, "H"), "e_version": (20, "I"),
                           "e_shoff": (32, "I"), "e_ehsize": (40, "H"), "e_shentsize": (46, "H"),
                           "e_shnum": (48, "H"), "e_shstrndx": (50, "H")}
            self.fields = {"sh_name": (0, "I"), "sh_type": (4, "I"), "sh_flags": (8, "I"), "sh_offset": (16, "I"),
                           "sh_size": (20, "I"), "sh_link": (24, "I"), "sh_info": (28, "I"),
                           "sh_addralign": (32, "I"), "sh_entsize": (36, "I")}
        self.shoff = self.get(data, *self.header["e_shoff"])
        self.shentsize = self.get(data, *self.header["e_shentsize"])
        self.shnum = self.get(data, *self.header["e_shnum"])
        strndx = self.get(data, *self.header["e_shstrndx"])
        self.sections: dict[str, int] = {}  # name -> index
        names_at = self.section_field(data, strndx, "sh_offset")
        for index in range(self.shnum):
            name_off = self.section_field(data, index, "sh_name")
            end = data.find(b"\0", names_at + name_off)
            self.sections[data[names_at + name_off:end].decode("latin-1")] = index

    def get(self, data: bytes, offset: int, fmt: str) -> int:
        return int(struct.unpack_from(self.end + fmt, data, offset)[0])

    def put(self, data: bytearray, offset: int, fmt: str, value: int) -> None:
        struct.pack_into(self.end + fmt, data, offset, value & ((1 << (8 * struct.calcsize(fmt))) - 1))

    def field_at(self, index: int, name: str) -> tuple[int, str]:
        offset, fmt = self.fields[name]
        return self.shoff + index * self.shentsize + offset, fmt

    def section_field(self, data: bytes, index: int, name: str) -> int:
        return self.get(data, *self.field_at(index, name))

    def section_range(self, data: bytes, name: str) -> Optional[tuple[int, int]]:
        index = self.sections.get(name)
        if index is None:
            return None
        return self.section_field(data, index, "sh_offset"), self.section_field(data, index, "sh_size")


@lru_cache(maxsize=32)
def elf_map(data: bytes) -> ElfMap:
    return ElfMap(data)


def _value(rng: random.Random, old: int) -> int:
    choice = rng.random()
    if choice < 0.5:
        return rng.choice(INTERESTING)
    if choice < 0.8:
        return old + rng.choice([-1, 1, -8, 8, -64, 64, old, -old])
    return rng.getrandbits(rng.choice([8, 16, 32, 64]))


def elf_header(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    m = elf_map(data)
    if rng.random() < 0.15:  # e_ident: class, data encoding, version
        out[rng.choice([4, 5, 6])] = rng.choice([0, 1, 2, 3, 255])
        return bytes(out)
    name = rng.choice(list(m.header))
    offset, fmt = m.header[name]
    m.put(out, offset, fmt, _value(rng, m.get(data, offset, fmt)))
    return bytes(out)


def elf_section_table(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    m = elf_map(data)
    index = rng.randrange(m.shnum)
    if rng.random() < 0.5 and m.sections:  # favour the sections the readers use
        wanted = [i for n, i in m.sections.items() if n.startswith((".debug", ".BTF", ".rela.debug", ".shstrtab"))]
        index = rng.choice(wanted or [index])
    name = rng.choice(["sh_size", "sh_size", "sh_offset", "sh_type", "sh_flags", "sh_name", "sh_link",
                       "sh_entsize", "sh_info", "sh_addralign"])
    offset, fmt = m.field_at(index, name)
    old = m.get(data, offset, fmt)
    if name == "sh_type" and rng.random() < 0.6:
        value = rng.choice([0, 1, 2, 3, 4, 8, 9, 0x6FFFFFF5, 0x70000000])  # NULL PROGBITS ... NOBITS REL
    elif name == "sh_flags" and rng.random() < 0.6:
        value = old ^ rng.choice([0x800, 0x2, 0x20, 0x800 | 0x20])  # SHF_COMPRESSED, ALLOC, STRINGS
    elif name == "sh_size" and rng.random() < 0.3:
        value = rng.choice([1 << 62, 1 << 40, 0xFFFFFFFF, old * 2 + 1, old + 4096])
    else:
        value = _value(rng, old)
    m.put(out, offset, fmt, value)
    return bytes(out)


def elf_bytes(data: bytes, rng: random.Random) -> bytes:
    """Plain damage: flipped bytes, truncation, an appended tail."""
    out = bytearray(data)
    choice = rng.random()
    if choice < 0.15:
        return bytes(out[:rng.randrange(len(out))])
    if choice < 0.2:
        return bytes(out) + bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 256)))
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] = rng.getrandbits(8)
    return bytes(out)


# --------------------------------------------------------------------------- DWARF

DW_FORMS = list(range(0x01, 0x2D)) + [0x1F01, 0x1F02, 0x1F20, 0x1F21, 0x7F, 0x80]


@lru_cache(maxsize=16)
def _type_refs(data: bytes) -> tuple[tuple[int, int, int], ...]:
    """(file offset of a ref4 DW_AT_type value, its DIE's CU-relative offset, CU offset) per type reference."""
    refs = []
    elf = ELFFile(io.BytesIO(data))
    section = elf.get_section_by_name(".debug_info")
    if section is None or section.compressed:
        return ()
    base = section["sh_offset"]
    dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
    for cu in dwarf.iter_CUs():
        for die in cu.iter_DIEs():
            attr = die.attributes.get("DW_AT_type")
            if attr is not None and attr.form == "DW_FORM_ref4":
                # attr.offset is the attribute's value offset in .debug_info
                refs.append((base + attr.offset, die.offset - cu.cu_offset, cu.cu_offset))
    return tuple(refs)


def _section(data: bytes, name: str) -> Optional[tuple[int, int]]:
    try:
        found = elf_map(data).section_range(data, name)
    except (struct.error, IndexError):
        return None
    if found is None or found[0] + found[1] > len(data) or found[1] == 0:
        return None
    return found


def dwarf_unit(data: bytes, rng: random.Random) -> bytes:
    """A compile unit header (unit_length, version, abbrev offset, address size) or a byte inside a DIE."""
    found = _section(data, ".debug_info")
    if found is None:
        return elf_bytes(data, rng)
    start, size = found
    out = bytearray(data)
    end = "<" if data[5] == 1 else ">"
    if rng.random() < 0.5:
        field = rng.choice([(0, "I"), (4, "H"), (6, "B"), (7, "B"), (8, "I"), (6, "I")])
        struct.pack_into(end + field[1], out, start + field[0],
                         _value(rng, 0) & ((1 << (8 * struct.calcsize(field[1]))) - 1))
    else:
        for _ in range(rng.randint(1, 6)):
            out[start + rng.randrange(size)] = rng.getrandbits(8)
    return bytes(out)


def dwarf_abbrev(data: bytes, rng: random.Random) -> bytes:
    """An abbreviation's tag, attribute, form or children flag changed (unknown forms included)."""
    found = _section(data, ".debug_abbrev")
    if found is None:
        return elf_bytes(data, rng)
    start, size = found
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        position = start + rng.randrange(size)
        if rng.random() < 0.6:
            form = rng.choice(DW_FORMS)
            out[position] = form & 0x7F if form < 0x80 else form & 0xFF
        else:
            out[position] = rng.getrandbits(8)
    return bytes(out)


def dwarf_type_ref(data: bytes, rng: random.Random) -> bytes:
    """A DW_AT_type pointed at its own DIE (a type containing itself), another type, or nowhere."""
    refs = _type_refs(data)
    if not refs:
        return dwarf_unit(data, rng)
    out = bytearray(data)
    end = "<" if data[5] == 1 else ">"
    for _ in range(rng.randint(1, 3)):
        position, own, _cu = rng.choice(refs)
        choice = rng.random()
        if choice < 0.5:
            value = own  # self reference: typedef/qualifier/pointer/array naming itself
        elif choice < 0.8:
            value = rng.choice(refs)[1]  # another type DIE: cycles through structs by value
        else:
            value = rng.choice([0, 1, 0xFFFFFFF, own + 1, own - 1])
        struct.pack_into(end + "I", out, position, value & 0xFFFFFFFF)
    return bytes(out)


def dwarf_strings(data: bytes, rng: random.Random) -> bytes:
    """.debug_str zeroed from k/8 on, NULs removed, or invalid UTF-8 written into names."""
    found = _section(data, ".debug_str") or _section(data, ".debug_line_str")
    if found is None:
        return elf_bytes(data, rng)
    start, size = found
    out = bytearray(data)
    choice = rng.random()
    if choice < 0.4:
        cut = start + size * rng.randint(0, 7) // 8
        out[cut:start + size] = bytes(start + size - cut)
    elif choice < 0.6:
        for i in range(start, start + size):
            if out[i] == 0 and rng.random() < 0.5:
                out[i] = 0x41
    else:
        for _ in range(rng.randint(1, 8)):
            out[start + rng.randrange(size)] = rng.choice([0xFF, 0xC3, 0x0A, 0x0D, 0x80, 0x1B])
    return bytes(out)


def compressed_section(data: bytes, rng: random.Random) -> bytes:
    """A compressed section's header (ch_type, ch_size) or its zlib stream damaged."""
    m = elf_map(data)
    candidates = [name for name, index in m.sections.items()
                  if m.section_field(data, index, "sh_flags") & 0x800]
    if not candidates:
        return elf_section_table(data, rng)
    start, size = m.section_range(data, rng.choice(candidates)) or (0, 0)
    out = bytearray(data)
    chdr = 24 if m.is64 else 12
    choice = rng.random()
    if choice < 0.3:  # ch_size
        offset, fmt = (8, "Q") if m.is64 else (4, "I")
        m.put(out, start + offset, fmt, rng.choice([0, 1, 1 << 62, 1 << 31, 0xFFFFFFFF, size * 2000,
                                                      m.get(data, start + offset, fmt) - 1]))
    elif choice < 0.45:  # ch_type: zstd (2), unknown
        m.put(out, start, "I", rng.choice([0, 2, 3, 0xFFFF]))
    elif choice < 0.7:  # the zlib header or adler trailer
        for _ in range(rng.randint(1, 3)):
            out[start + chdr + rng.choice([0, 1, size - chdr - 1, size - chdr - 4])] = rng.getrandbits(8)
    else:
        for _ in range(rng.randint(1, 8)):
            out[start + chdr + rng.randrange(max(size - chdr, 1))] = rng.getrandbits(8)
    return bytes(out)


# --------------------------------------------------------------------------- BTF


class BtfMap:
    """Header fields, type record offsets (by id) and string section of a BTF blob at ``base``."""

    def __init__(self, data: bytes, base: int) -> None:
        self.base = base
        self.end = "<" if data[base:base + 2] == b"\x9f\xeb" else ">"
        hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(self.end + "IIIII", data, base + 4)
        self.type_start = base + hdr_len + type_off
        self.type_end = self.type_start + type_len
        self.str_start = base + hdr_len + str_off
        self.str_len = str_len
        self.records: list[tuple[int, int, int]] = [(0, 0, 0)]  # id -> (offset, kind, vlen)
        pos = self.type_start
        while pos + 12 <= self.type_end:
            info = struct.unpack_from(self.end + "I", data, pos + 4)[0]
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            extra = {1: 4, 14: 4, 17: 4, 3: 12, 4: 12 * vlen, 5: 12 * vlen, 15: 12 * vlen, 19: 12 * vlen,
                     6: 8 * vlen, 13: 8 * vlen}.get(kind, 0)
            self.records.append((pos, kind, vlen))
            pos += 12 + extra

    def ids_of(self, *kinds: int) -> list[int]:
        return [i for i, (_, kind, _) in enumerate(self.records) if kind in kinds and i]


def _btf_base(data: bytes) -> Optional[int]:
    if data[:4] == b"\x7fELF":
        found = _section(data, ".BTF")
        return found[0] if found else None
    return 0


@lru_cache(maxsize=16)
def btf_map(data: bytes) -> Optional[BtfMap]:
    base = _btf_base(data)
    if base is None:
        return None
    try:
        return BtfMap(data, base)
    except struct.error:
        return None


def btf_header(data: bytes, rng: random.Random) -> bytes:
    m = btf_map(data)
    if m is None:
        return elf_bytes(data, rng)
    out = bytearray(data)
    offset, fmt = rng.choice([(2, "B"), (3, "B"), (4, "I"), (8, "I"), (12, "I"), (16, "I"), (20, "I")])
    value = _value(rng, struct.unpack_from(m.end + fmt, data, m.base + offset)[0])
    struct.pack_into(m.end + fmt, out, m.base + offset, value & ((1 << (8 * struct.calcsize(fmt))) - 1))
    return bytes(out)


def btf_types(data: bytes, rng: random.Random) -> bytes:
    """A type record's kind, vlen, kind_flag, size/type or a member's type: loops, dangling ids, huge sizes."""
    m = btf_map(data)
    if m is None or len(m.records) < 2:
        return elf_bytes(data, rng)
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        type_id = rng.randrange(1, len(m.records))
        pos, kind, vlen = m.records[type_id]
        if choice < 0.25:  # typedef/qualifier/pointer/array pointing at itself or another id
            wrappers = m.ids_of(8, 9, 10, 11, 2, 18)
            if wrappers:
                type_id = rng.choice(wrappers)
                pos = m.records[type_id][0]
            target = type_id if rng.random() < 0.6 else rng.randrange(len(m.records) + 3)
            struct.pack_into(m.end + "I", out, pos + 8, target)
        elif choice < 0.5:  # a member of a struct pointed at the struct itself or any id
            aggregates = [i for i in m.ids_of(4, 5) if m.records[i][2]]
            if aggregates:
                type_id = rng.choice(aggregates)
                pos, kind, vlen = m.records[type_id]
                member = rng.randrange(vlen)
                target = type_id if rng.random() < 0.5 else rng.randrange(len(m.records))
                struct.pack_into(m.end + "I", out, pos + 12 + 12 * member + 4, target)
                if rng.random() < 0.3:  # and its offset (kind_flag: bitfield size in the top byte)
                    struct.pack_into(m.end + "I", out, pos + 12 + 12 * member + 8, rng.getrandbits(32))
        elif choice < 0.7:  # info: kind, vlen, kind_flag
            info = struct.unpack_from(m.end + "I", data, pos + 4)[0]
            info ^= rng.choice([1 << 31, 1 << 24, 3 << 24, 1, 0xFFFF, 0x1F << 24])
            struct.pack_into(m.end + "I", out, pos + 4, info)
        elif choice < 0.85:  # size_or_type
            struct.pack_into(m.end + "I", out, pos + 8, _value(rng, 8) & 0xFFFFFFFF)
        else:  # INT encoding / array element / nelems
            if kind in (1, 3):
                struct.pack_into(m.end + "I", out, pos + 12 + 4 * rng.randrange(1 if kind == 1 else 3),
                                 _value(rng, 0) & 0xFFFFFFFF)
            else:
                struct.pack_into(m.end + "I", out, pos, rng.getrandbits(32))  # name_off
    return bytes(out)


def btf_strings(data: bytes, rng: random.Random) -> bytes:
    m = btf_map(data)
    if m is None or m.str_len == 0:
        return elf_bytes(data, rng)
    out = bytearray(data)
    start, end = m.str_start, min(m.str_start + m.str_len, len(data))
    choice = rng.random()
    if choice < 0.3:
        cut = start + (end - start) * rng.randint(0, 7) // 8
        out[cut:end] = bytes(end - cut)
    elif choice < 0.6:
        for i in range(start, end):
            if out[i] == 0 and rng.random() < 0.5:
                out[i] = 0x0A  # names run together, with newlines
    else:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(start, end)] = rng.choice([0xFF, 0x0A, 0x00, 0xC3, 0x1B])
    return bytes(out)


# --------------------------------------------------------------------------- snapshot JSON

HOSTILE_VALUES: list[Any] = [-1, -8, 0, 3, 1 << 64, 1 << 62, 1.5, float("nan"), float("inf"), "8", "x\ny", "",
                             None, True, [], {}, [1, 2], "a" * 10_000, "\u202e\x1b[31m"]


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.extend(_paths(value, prefix + (key,)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.extend(_paths(value, prefix + (index,)))
    return found


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def snapshot_json(data: bytes, rng: random.Random) -> bytes:
    """Type-graph attacks (self pointers, 3-typedef loops, self-containing structs, 1000-deep chains),
    hostile values at random places, and text damage."""
    try:
        tree = json.loads(data)
    except ValueError:
        return elf_bytes(data, rng)
    table = tree.get("types", []) if isinstance(tree, dict) else []
    choice = rng.random()
    structs = [i for i, e in enumerate(table) if isinstance(e, dict) and e.get("k") in ("struct", "union")
               and e.get("m")]
    if choice < 0.12 and table:  # something that names itself
        index = rng.randrange(len(table))
        entry = table[index]
        if isinstance(entry, dict) and "t" in entry:
            entry["t"] = index
        elif structs:
            struct_index = rng.choice(structs)
            rng.choice(table[struct_index]["m"])[1] = struct_index
    elif choice < 0.22 and structs:  # a three-typedef loop behind a member
        first = len(table)
        table.extend({"k": "typedef", "n": f"loop{i}", "t": first + (i + 1) % 3} for i in range(3))
        rng.choice(table[rng.choice(structs)]["m"])[1] = first
    elif choice < 0.32 and structs:  # 1000 stacked qualifiers, arrays or pointers
        depth = rng.choice([100, 1000, 5000])
        kind = rng.choice(["qual", "array", "ptr", "typedef"])
        first = len(table)
        for i in range(depth):
            nxt = first + i + 1 if i + 1 < depth else 1
            table.append({"qual": {"k": "qual", "q": "const", "t": nxt}, "array": {"k": "array", "t": nxt, "c": 1},
                          "ptr": {"k": "ptr", "t": nxt, "s": 8},
                          "typedef": {"k": "typedef", "n": f"t{i}", "t": nxt}}[kind])
        rng.choice(table[rng.choice(structs)]["m"])[1] = first
    elif choice < 0.38 and structs:  # an empty struct (the fpu IndexError) or size 0
        target = table[rng.choice(structs)]
        target["m"] = [] if rng.random() < 0.5 else target["m"]
        target["s"] = rng.choice([0, target.get("s", 0), 1])
    elif choice < 0.5 and structs:  # member fields: offsets, sizes, alignments
        member = rng.choice(table[rng.choice(structs)]["m"])
        member[rng.randrange(5)] = rng.choice(HOSTILE_VALUES)
    elif choice < 0.85:
        paths = _paths(tree)
        path = rng.choice(paths)
        if rng.random() < 0.15 and path:
            parent = _set  # delete the key / element
            node = tree
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
            del parent
        else:
            tree = _set(tree, path, rng.choice(HOSTILE_VALUES))
    else:
        text = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            text[rng.randrange(len(text))] = rng.choice(b'{}[],:"0\\\n\xff')
        return bytes(text)
    return json.dumps(tree, allow_nan=True).encode()


# --------------------------------------------------------------------------- scenario TOML

HOSTILE_DECLARATIONS = [
    "int " + "*" * 1000 + "p;", "int x" + "[1]" * 1000 + ";", "int " + "(" * 1000 + "x" + ")" * 1000 + ";",
    "char x[4294967296];", "char x[-1];", "int x:1000;", "int x:0;", "struct nosuch y;", "int x", ";",
    "int a, b, c, d;", "struct pid inner;", "struct task_struct self;", "pid_t vpid\n;Error: fake",
    "unsigned long long long x;", "int x[1 << 62];", "int x[(1<<20)*(1<<20)*(1<<20)];",
    " ".join(f"t{i}" for i in range(200)) + " x;", "void x;", "int f(void);", "int x __attribute__((aligned(3)));",
    "int x __attribute__((aligned(1 << 40)));", "union { int a; " * 200 + "}" * 200 + " u;",
]
HOSTILE_CONDITIONS = ["(" * 1000 + "A" + ")" * 1000, "!" * 5000 + "A", "A &&" * 2000 + " B", "defined(",
                      "A ||", "1/0", "A\nB", "IS_ENABLED(CONFIG_X) && !defined CONFIG_Y"]
HOSTILE_NAMES = ["task_struct\nError: fake", "", "nosuch", "pid" * 2000, "struct pid", "union pid", "\x00"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def dump_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for scenario-shaped data (scalars, tables, arrays of tables)."""
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))]
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"\n[{json.dumps(key)}]")
            lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        elif isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
            for item in value:
                lines.append(f"\n[[{json.dumps(key)}]]")
                lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def scenario_toml(data: bytes, rng: random.Random) -> bytes:
    try:
        tree = tomllib.loads(data.decode())
    except (ValueError, UnicodeDecodeError):
        return patch_text(data, rng)
    changes = tree.get("change") or [{}]
    change = rng.choice(changes)
    choice = rng.random()
    if choice < 0.3:
        fields = change.setdefault("fields", [])
        if isinstance(fields, list) and fields and rng.random() < 0.5:
            fields[rng.randrange(len(fields))] = rng.choice(HOSTILE_DECLARATIONS)
        else:
            change["fields"] = [rng.choice(HOSTILE_DECLARATIONS)] * rng.choice([1, 2, 500])
    elif choice < 0.45:
        change["condition"] = rng.choice(HOSTILE_CONDITIONS)
    elif choice < 0.55:
        change[rng.choice(["struct", "after", "remove", "per_level"])] = rng.choice(
            HOSTILE_NAMES + [[rng.choice(HOSTILE_NAMES)], 3, True, {"x": 1}])
    elif choice < 0.65:  # a helper type containing itself, or deep
        tree.setdefault("type", []).append({"name": "loop", "kind": rng.choice(["struct", "union", "enum"]),
                                            "fields": [rng.choice(["struct loop self;", "struct loop *p;",
                                                                   "int x;"] + HOSTILE_DECLARATIONS)]})
    elif choice < 0.72:
        tree["defines"] = rng.choice([{"A": "yes"}, {"A\nB": True}, [1], {"X": 1.5}, "y"])
    elif choice < 0.8:  # many changes: linear in their number?
        tree["change"] = changes * rng.choice([50, 500])
    elif choice < 0.88:
        paths = _paths(tree)
        tree = _set(tree, rng.choice(paths[1:] or [()]), rng.choice(HOSTILE_VALUES[:-2]))
        if not isinstance(tree, dict):
            tree = {"change": [tree]}
    else:
        return patch_text(data, rng)
    return dump_toml(tree).encode()


# --------------------------------------------------------------------------- patch text


def patch_text(data: bytes, rng: random.Random) -> bytes:
    """Line-level damage and hostile nesting for unified diffs (also used on TOML as raw text)."""
    lines = data.split(b"\n")
    choice = rng.random()
    at = rng.randrange(len(lines))
    if choice < 0.12:
        depth = rng.choice([100, 1000, 3000])
        block = [b"+#ifdef CONFIG_A"] * depth + [b"+\tint deep;"] + [b"+#endif"] * depth
        lines[at:at] = block
    elif choice < 0.2:
        lines[at:at] = [b"+#if " + rng.choice(HOSTILE_CONDITIONS).encode(), b"+\tint x;", b"+#endif"]
    elif choice < 0.35:
        lines[at:at] = [b"+\t" + rng.choice(HOSTILE_DECLARATIONS).encode()]
    elif choice < 0.45:  # hunk headers with impossible numbers
        hunks = [i for i, line in enumerate(lines) if line.startswith(b"@@")]
        if hunks:
            lines[rng.choice(hunks)] = b"@@ -%d,%d +%d,%d @@ struct pid" % tuple(
                rng.choice([0, 1, 1 << 31, 1 << 62, 99999]) for _ in range(4))
    elif choice < 0.55:
        lines[at] = lines[at] + rng.choice([b"\xff\xfe", b"\r", b"/*", b"{", b"}", b"\\", b"\x00"])
    elif choice < 0.65:
        del lines[at:at + rng.randint(1, 5)]
    elif choice < 0.72:
        lines[at:at] = [lines[at]] * rng.choice([2, 100, 2000])
    elif choice < 0.8:
        lines[at:at] = [b"+struct nested {"] * 200 + [b"+};"] * 200
    elif choice < 0.86:
        lines = lines * rng.choice([10, 100])  # many hunks and files: linear?
    else:
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.getrandbits(8)
        return bytes(out)
    return b"\n".join(lines)


# --------------------------------------------------------------------------- CI gate files


def json_tree(data: bytes, rng: random.Random) -> bytes:
    """Any JSON file (a baseline): hostile values at random places, deleted keys, huge lists, text damage."""
    try:
        tree = json.loads(data)
    except ValueError:
        return elf_bytes(data, rng)
    choice = rng.random()
    if choice < 0.6:
        paths = _paths(tree)
        path = rng.choice(paths)
        if rng.random() < 0.2 and path:
            node = tree
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]
        else:
            tree = _set(tree, path, rng.choice(HOSTILE_VALUES))
    elif choice < 0.75 and isinstance(tree, dict) and isinstance(tree.get("structs"), list) and tree["structs"]:
        tree["structs"] = tree["structs"] * rng.choice([2, 50, 200])  # duplicates, and many
    elif choice < 0.85:
        node: Any = [0]
        for _ in range(rng.choice([100, 1000, 5000])):
            node = [node]
        tree = _set(tree, rng.choice(_paths(tree)), node)
    else:
        text = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            text[rng.randrange(len(text))] = rng.choice(b'{}[],:"0\\\n\xff')
        return bytes(text)
    return json.dumps(tree, allow_nan=True).encode()


def budget_toml(data: bytes, rng: random.Random) -> bytes:
    """A budget: hostile rule values and patterns, unknown keys, raw text damage."""
    try:
        tree = tomllib.loads(data.decode())
    except (ValueError, UnicodeDecodeError):
        return patch_text(data, rng)
    choice = rng.random()
    if choice < 0.5:
        paths = _paths(tree)
        tree = _set(tree, rng.choice(paths[1:] or [()]), rng.choice(HOSTILE_VALUES[:-2] + [-1, 1 << 70]))
        if not isinstance(tree, dict):
            tree = {"defaults": tree}
    elif choice < 0.7:
        pattern = rng.choice(["[", "*" * 5000, "a\nb", "", "task_struct\nError: fake", "[!a-z]*", "**/*"])
        tree.setdefault("struct", {})[pattern] = {"growth": rng.choice([0, -1, 1 << 62, "8"])}
    elif choice < 0.8:
        tree["allow"] = rng.choice([["*"] * 10_000, [1, 2], "x", [["a"]], ["["]])
    elif choice < 0.85:
        tree[rng.choice(["unknown", "defaults", "struct"])] = rng.choice(HOSTILE_VALUES[:-2])
    else:
        return patch_text(data, rng)
    if not isinstance(tree, dict):
        tree = {"defaults": tree}
    return dump_toml(tree).encode()


# --------------------------------------------------------------------------- registry

MUTATORS: dict[str, list[tuple[str, Mutator]]] = {
    "dwarf": [("elf_header", elf_header), ("elf_section_table", elf_section_table), ("dwarf_unit", dwarf_unit),
              ("dwarf_abbrev", dwarf_abbrev), ("dwarf_type_ref", dwarf_type_ref),
              ("dwarf_strings", dwarf_strings), ("bytes", elf_bytes)],
    "compressed": [("compressed_section", compressed_section), ("elf_section_table", elf_section_table),
                   ("bytes", elf_bytes)],
    "btf_elf": [("btf_header", btf_header), ("btf_types", btf_types), ("btf_strings", btf_strings),
                ("elf_section_table", elf_section_table), ("elf_header", elf_header)],
    "btf_raw": [("btf_header", btf_header), ("btf_types", btf_types), ("btf_types", btf_types),
                ("btf_strings", btf_strings), ("bytes", elf_bytes)],
    "snapshot": [("snapshot_json", snapshot_json)],
    "scenario": [("scenario_toml", scenario_toml)],
    "patch": [("patch_text", patch_text)],
    "baseline": [("json_tree", json_tree)],
    "budget": [("budget_toml", budget_toml)],
}


def mutate(kind: str, data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One mutant of ``data`` (of ``kind``) and the name of the mutator(s) applied."""
    names = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        name, mutator = rng.choice(MUTATORS[kind])
        try:
            data = mutator(data, rng)
        except Exception:  # noqa: BLE001 - an earlier mutation left nothing to map: plain damage instead
            data = elf_bytes(data, rng) if data else data
        names.append(name)
    return data, "+".join(names)
