"""The BTF reader against pahole (the running kernel's BTF) and the compiler (``pahole -J`` on objects)."""

from __future__ import annotations

import os
import re
import struct
import subprocess
from pathlib import Path

import pytest
from cc import compile_c, have, layout_probe, set_bits, symbol_words
from pahole_oracle import PAHOLE, split_structs

from layoutcalc.errors import InputError
from layoutcalc.model import ArrayType, PointerType, StructType
from layoutcalc.readers.btf import BtfTypes, read_btf
from layoutcalc.readers.elf import elf_info_from_bytes

LIVE_BTF = "/sys/kernel/btf/vmlinux"
KERNEL_STRUCTS = ["task_struct", "signal_struct", "pid", "upid", "cred", "mm_struct", "sk_buff", "fpu",
                  "fpstate", "inode", "file", "page"]

needs_live_btf = pytest.mark.skipif(not os.path.exists(LIVE_BTF),
                                    reason=f"{LIVE_BTF} absent (kernel without CONFIG_DEBUG_INFO_BTF)")
needs_pahole = pytest.mark.skipif(PAHOLE is None, reason="pahole is not installed")

_MEMBER_COMMENT = re.compile(r"/\*\s*(\d+)(?::\s*(\d+))?\s+(\d+)\s*\*/\s*$")
_MEMBER_NAME = re.compile(r"(\w+)\s*(?:\[[^\]]*\])*\s*(?::\s*\d+)?\s*(?:__attribute__\(\(.*\)\))?\s*;")


def pahole_members(block: str) -> list[tuple[str | None, int, int | None, int]]:
    """Top-level members of a pahole block as (name, byte offset, bit position or None, size)."""
    members = []
    depth = 0
    for line in block.splitlines()[1:]:
        code = line.split("/*", 1)[0]
        opened, closed = code.count("{"), code.count("}")
        before = depth
        depth += opened - closed
        match = _MEMBER_COMMENT.search(line)
        if match is None or depth != 0 or (before != 0 and closed == 0):
            continue
        offset, bit, size = int(match.group(1)), match.group(2), int(match.group(3))
        if closed:  # "};  /* 16 48 */": an anonymous struct/union member
            name = None
        else:
            found = _MEMBER_NAME.search(code)
            name = found.group(1) if found else None
        members.append((name, offset, int(bit) if bit is not None else None, size))
    return members


def our_members(struct_type: StructType) -> list[tuple[str | None, int, int | None, int]]:
    return [(m.name, m.offset_bytes, m.bitfield_offset if m.is_bitfield else None, m.size_bytes)
            for m in struct_type.members]


@pytest.fixture(scope="module")
def vmlinux_btf() -> bytes:
    with open(LIVE_BTF, "rb") as stream:
        return stream.read()


@needs_live_btf
@needs_pahole
def test_live_vmlinux_matches_pahole(vmlinux_btf: bytes) -> None:
    build = read_btf(vmlinux_btf, LIVE_BTF, KERNEL_STRUCTS)
    out = subprocess.run([PAHOLE, "-F", "btf", "-C", ",".join(KERNEL_STRUCTS), LIVE_BTF],
                         capture_output=True, text=True, check=True).stdout
    blocks = split_structs(out)
    compared = 0
    for name in KERNEL_STRUCTS:
        if name not in blocks:
            continue
        ours = build.get_struct(name)
        size = int(re.search(r"/\* size: (\d+),", blocks[name]).group(1))
        assert ours.size_bytes == size, name
        theirs = pahole_members(blocks[name])
        assert len(theirs) == len(ours.members), name
        assert our_members(ours) == theirs, name
        compared += 1
    assert compared >= 8  # the core structs exist in every BTF kernel


@needs_live_btf
def test_live_vmlinux_shape(vmlinux_btf: bytes) -> None:
    build = read_btf(vmlinux_btf, LIVE_BTF, ["pid", "list_head"])
    assert build.address_size == 8 and build.byte_order == "little"
    pid = build.get_struct("pid")
    numbers = pid.get_member("numbers").type
    assert isinstance(numbers, ArrayType)
    assert numbers.count in (None, 1)  # numbers[] (6.x) or numbers[1] (older)
    list_head = build.get_struct("list_head")
    assert [m.name for m in list_head.members] == ["next", "prev"]
    assert isinstance(list_head.members[0].type, PointerType)
    assert list_head.members[0].type.c_name() == "struct list_head *"
    assert build.provenance.format == "btf"


@needs_live_btf
def test_struct_filter_reports_missing(vmlinux_btf: bytes) -> None:
    build = read_btf(vmlinux_btf, LIVE_BTF, ["pid", "no_such_struct_xyz"])
    assert set(build.structs) == {"pid"}
    assert build.provenance.missing_structs == ("no_such_struct_xyz",)


C_SOURCE = """
typedef unsigned long ulong_t;
enum colour { RED, GREEN = 5 };
struct inner { char c; long l; };
struct probe {
    int a;
    unsigned int b:3, c:5;
    unsigned long long d:40;
    struct inner in;
    union { int x; char y[3]; };
    const volatile short *p;
    enum colour col;
    ulong_t ul;
    double dbl;
    void (*fn)(int, ...);
    char tail:4;
    int flex[];
};
"""

MEMBERS = ["a", "in", "p", "col", "ul", "dbl", "fn", "flex"]
BITFIELDS = ["b", "c", "d", "tail"]


def _btf_object(tmp_path: Path, target: str) -> Path:
    if PAHOLE is None:
        pytest.skip("pahole is not installed")
    command = "gcc" if target.startswith("gcc") else "clang"
    if not have(command):
        pytest.skip(f"{command} is not installed")
    source = C_SOURCE + layout_probe("probe", MEMBERS, BITFIELDS)
    obj = compile_c(source, tmp_path, f"probe_{target}", target, debug_flags=("-g",))
    subprocess.run([PAHOLE, "-J", str(obj)], check=True, capture_output=True)
    return obj


@pytest.mark.parametrize("target", ["gcc-m64", "clang-s390x"])
def test_object_btf_matches_compiler(tmp_path: Path, target: str) -> None:
    obj = _btf_object(tmp_path, target)
    build = read_btf(obj.read_bytes(), str(obj))
    probe = build.get_struct("probe")
    words = symbol_words(obj, "probe_probe")
    assert probe.size_bytes == words[0]
    for name, offset in zip(MEMBERS, words[2:]):
        assert probe.get_member(name).bit_offset == offset * 8, name
    for name in BITFIELDS:
        bits = set_bits(obj, f"bits_probe_{name}")
        member = probe.get_member(name)
        assert member.bit_size == len(bits), name
        assert member.bit_offset == min(bits), name
    anonymous = [m for m in probe.members if m.name is None]
    assert len(anonymous) == 1 and isinstance(anonymous[0].type, StructType) and anonymous[0].type.is_union
    assert probe.get_member("flex").type.c_name() == "int []"
    pointer = probe.get_member("p").type
    assert isinstance(pointer, PointerType) and pointer.target.strip().size_bytes == 2
    assert {"const", "volatile"} <= set(pointer.c_name().split())  # in the encoder's order
    assert probe.get_member("dbl").type.strip().encoding == "float"
    assert build.byte_order == ("big" if target == "clang-s390x" else "little")
    assert build.arch == ("s390x" if target == "clang-s390x" else "x86_64")


def _raw_btf(tmp_path: Path) -> bytes:
    """The .BTF section of a gcc object (little-endian)."""
    obj = _btf_object(tmp_path, "gcc-m64")
    data = elf_info_from_bytes(obj.read_bytes(), str(obj)).btf
    assert data is not None
    return data


def _header(data: bytes) -> list[int]:
    return list(struct.unpack_from("<HBBIIIII", data, 0))


def _with_header(data: bytes, fields: list[int]) -> bytes:
    return struct.pack("<HBBIIIII", *fields) + data[24:]


def test_raw_blob_reads_like_the_object(tmp_path: Path) -> None:
    data = _raw_btf(tmp_path)
    obj = tmp_path / "probe_gcc-m64.o"
    words = symbol_words(obj, "probe_probe")
    build = read_btf(data, "probe.btf", arch="x86_64")
    probe = build.get_struct("probe")
    assert probe.size_bytes == words[0]
    assert [probe.get_member(name).offset_bytes for name in MEMBERS] == words[2:]


def test_garbled_inputs_name_the_problem(tmp_path: Path) -> None:
    data = _raw_btf(tmp_path)
    with pytest.raises(InputError, match=r"probe\.btf: BTF string section ends at byte \d+, past the end"):
        read_btf(data[:-10], "probe.btf")
    with pytest.raises(InputError, match=r"shorter than a BTF header"):
        read_btf(data[:10], "probe.btf")
    with pytest.raises(InputError, match=r"not BTF \(magic 0000"):
        read_btf(b"\0" * 64, "probe.btf")
    fields = _header(data)
    fields[5] -= 6  # type_len: the last record loses its tail
    with pytest.raises(InputError, match=r"probe\.btf: BTF type id \d+ .*runs past the end of the type sec"):
        read_btf(_with_header(data, fields), "probe.btf")
    type_start = _header(data)[3] + _header(data)[4]
    garbled = bytearray(data)
    struct.pack_into("<I", garbled, type_start + 4, 25 << 24)  # type id 1: kind 25
    with pytest.raises(InputError, match=r"BTF type id 1 has unknown kind 25"):
        read_btf(bytes(garbled), "probe.btf")
    garbled = bytearray(data)
    struct.pack_into("<I", garbled, type_start, 0x7FFFFFF0)  # type id 1: name offset far away
    with pytest.raises(InputError, match=r"BTF type id 1 has name offset 2147483632, outside the string"):
        read_btf(bytes(garbled), "probe.btf")


def test_dangling_type_reference(tmp_path: Path) -> None:
    data = _raw_btf(tmp_path)
    types = BtfTypes(data, "probe.btf")
    inner = next(i for i in range(1, types.num_types)
                 if types.kind_of(i) == 4 and types.name_of(i) == "inner")
    garbled = bytearray(data)
    struct.pack_into("<I", garbled, types.offsets[inner] + 12 + 4, 99999)  # first member's type
    count = types.num_types - 1
    with pytest.raises(InputError, match=rf"BTF type id {inner} refers to type id 99999, "
                                         rf"but there are only {count} types"):
        read_btf(bytes(garbled), "probe.btf")
