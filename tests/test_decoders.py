"""readers.dwarf.decoders: the one decoder generator, driven by the three plans that use it.

One hand-made DIE is decoded by the index scan (dwarfscan), the attribute
dicts (rawdie.DieReader) and the definition identities (rawdie.IdentityReader);
each must read the same values from it, in both byte orders, step over the
attributes it does not keep, and refuse a form it does not know.
"""

from __future__ import annotations

import struct

import pytest

from layoutcalc.readers.dwarf.decoders import INT, REF, SKIP, STR_OFFSET, DecoderGenerator, Field, UnknownForm
from layoutcalc.readers.dwarf.dwarfscan import DecoderFactory, Sections, Unit, UnsupportedDwarf, parse_abbrevs
from layoutcalc.readers.dwarf.rawdie import DieReader, IdentityReader, RawAttr

STRINGS = b"\0other\0pair\0"
NAME_OFFSET = STRINGS.index(b"pair")
# A struct with children: name (strp), byte_size (data1), alignment (udata), decl_file (data1),
# decl_line (data2), decl_column (data1), sibling (ref4).
ATTRS = ((0x03, 0x0E), (0x0B, 0x0B), (0x88, 0x0F), (0x3A, 0x0B), (0x3B, 0x05), (0x39, 0x0B), (0x01, 0x13))


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _abbrev(attrs: tuple[tuple[int, int], ...]) -> bytes:
    body = b"".join(_uleb(name) + _uleb(form) for name, form in attrs)
    return b"\x01\x13\x01" + body + b"\0\0" + b"\0"


def _sections(info: bytes, abbrev: bytes, little: bool) -> Sections:
    sections = Sections.__new__(Sections)  # the bytes alone: no ELF file around them
    sections.path, sections.names, sections.empty_names = "hand-made.o", {}, 0
    sections.little_endian, sections.info, sections.abbrev = little, info, abbrev
    sections.str, sections.line_str = STRINGS, b""
    return sections


def _die(little: bool) -> bytes:
    e = "<" if little else ">"
    return (b"\x01" + struct.pack(e + "IB", NAME_OFFSET, 24) + _uleb(300) + bytes([3])
            + struct.pack(e + "HBI", 0x1234, 9, 0x55) + b"\xff")  # a byte after the DIE: not read


@pytest.mark.parametrize("little", [True, False])
def test_three_plans_read_the_same_die(little: bool) -> None:
    info = _die(little)
    end = len(info) - 1
    sections = _sections(info, _abbrev(ATTRS), little)
    unit = Unit(0, len(info), 4, 0, 8, 4, 0)
    spec = parse_abbrevs(sections.abbrev, 0)[1]

    scan = DecoderFactory(little, sections.string_end).get(spec, 8, 4, 4)
    assert scan(info, 1) == (end, ("s", NAME_OFFSET), 24, 0, False, 0x55, 0x1234, 9)

    die = DieReader(sections, [unit]).die_at(0, unit)
    assert die is not None and die.end == end and die.tag == "DW_TAG_structure_type" and die.has_children
    assert die.attributes == {
        "DW_AT_name": RawAttr("DW_FORM_strp", b"pair"), "DW_AT_byte_size": RawAttr("DW_FORM_data1", 24),
        "DW_AT_alignment": RawAttr("DW_FORM_udata", 300), "DW_AT_decl_file": RawAttr("DW_FORM_data1", 3),
        "DW_AT_decl_line": RawAttr("DW_FORM_data2", 0x1234), "DW_AT_decl_column": RawAttr("DW_FORM_data1", 9),
        "DW_AT_sibling": RawAttr("DW_FORM_ref4", 0x55)}

    decode, tag, children, type_is_offset, sibling_is_offset = IdentityReader(sections).shapes(unit)[1]
    assert (tag, children, type_is_offset, sibling_is_offset) == ("DW_TAG_structure_type", True, False, False)
    assert decode(info, 1) == (end, "pair", None, 24, 0x1234, None, None, None, None, 0x55)


def test_an_unknown_form_is_refused_by_every_plan() -> None:
    attrs = ((0x03, 0x08), (0x88, 0x7F))  # an inline name, then a form DWARF does not define
    info = b"\x01pair\0\0"
    sections = _sections(info, _abbrev(attrs), True)
    unit = Unit(0, len(info), 4, 0, 8, 4, 0)
    spec = parse_abbrevs(sections.abbrev, 0)[1]
    with pytest.raises(UnknownForm):
        DecoderFactory(True, sections.string_end).get(spec, 8, 4, 4)
    with pytest.raises(UnsupportedDwarf, match="form 0x7f"):
        DieReader(sections, [unit]).die_at(0, unit)
    with pytest.raises(UnsupportedDwarf, match="form 0x7f"):  # a skipped attribute, too
        IdentityReader(sections).shapes(unit)[1]


def test_batched_fixed_values_are_one_read() -> None:
    fields = [Field(0x0E, 0, STR_OFFSET, "name", "('s', {})"), Field(0x0B, 0, INT, "size"),
              Field(0x0B, 0, SKIP), Field(0x05, 0, INT, "line"), Field(0x13, 0, REF, "sib")]
    head, tail = ["def decode(data, pos):", " name = size = line = sib = None"], " return pos, name, size, line, sib"
    data = struct.pack("<IBBHI", NAME_OFFSET, 24, 3, 0x1234, 0x55)
    for batch, reads in ((True, 1), (False, 4)):
        generator = DecoderGenerator("<", 8, 4, 4, batch=batch)
        assert generator.source(head, fields, tail).count("unpack_from") == reads
        decode = generator.generate(head, fields, tail, {})
        assert decode(data, 0) == (len(data), ("s", NAME_OFFSET), 24, 0x1234, 0x55)
    with pytest.raises(UnknownForm):  # an integer read from a form that holds none
        DecoderGenerator("<", 8, 4, 4, batch=True).source(head, [Field(0x08, 0, INT, "size")], tail)
