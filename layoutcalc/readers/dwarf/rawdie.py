"""DIEs decoded straight from the section bytes, shaped like pyelftools' for the converter.

pyelftools spends most of a lookup parsing abbreviation tables and DIEs
through ``construct`` (over 400 microseconds a DIE on a vmlinux).  The fast
path converts the DIEs the index names with the same converter as the plain
reader (:class:`.convert.DwarfConverter`), fed with these: a :class:`RawDIE` has
the ``tag``, ``offset``, ``has_children``, ``attributes`` (name -> value
and form, as pyelftools spells and decodes them), ``iter_children()`` and
``get_DIE_from_attribute()`` that the converter uses, and nothing else.
Tests hold the two readers equal on compiled programs and real builds.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from typing import Any, Callable, NamedTuple, Optional

from .convert import dwarf_code_names
from .decoders import SKIP, STR_TEXT, VALUE, DecoderGenerator, Field, UnknownForm, uleb, value_is_int
from .dwarfscan import AbbrevSpec, Sections, Unit, UnsupportedDwarf, parse_abbrevs

_TAG_NAMES, _AT_NAMES, _FORM_NAMES = dwarf_code_names()


class RawAttr(NamedTuple):
    """An attribute as the converter reads it (pyelftools' AttributeValue has the same two fields)."""

    form: str
    value: Any


Decoded = tuple[int, dict[str, RawAttr]]


class _Codegen:
    """One generated decoder per abbreviation shape and plan, with the namespace its code reads."""

    def __init__(self, sections: Sections, extra: Optional[dict[str, Any]] = None) -> None:
        self.sections = sections
        self.endian = "<" if sections.little_endian else ">"
        self.namespace: dict[str, Any] = {"string": self._string, "str_section": self.sections.str,
                                          "line_str_section": self.sections.line_str,
                                          "zend": self.sections.string_end, "RawAttr": RawAttr, **(extra or {})}
        self._cache: dict[tuple[object, ...], Callable[[bytes, int], Any]] = {}

    def get(self, spec: AbbrevSpec, unit: Unit, plan: Callable[[AbbrevSpec], tuple[list[str], list[Field], str]]
            ) -> Callable[[bytes, int], Any]:
        """The decoder of ``spec`` in ``unit`` that ``plan`` (the same for every call on this object) describes."""
        key = (spec, unit.address_size, unit.offset_size, unit.version >= 3)
        found = self._cache.get(key)
        if found is None:
            generator = DecoderGenerator(self.endian, unit.address_size, unit.offset_size, unit.version, batch=False)
            head, fields, tail = plan(spec)
            try:
                found = self._cache[key] = generator.generate(head, fields, tail, self.namespace)
            except UnknownForm as exc:
                raise UnsupportedDwarf(f"{self.sections.path}: unit 0x{unit.offset:x} uses DWARF form "
                                       f"0x{exc.args[0]:x} in a type, which the fast path does not decode") from None
        return found

    def _string(self, data: bytes, offset: int) -> bytes:
        end = data.find(b"\0", offset)
        if offset >= len(data) or end < 0:
            raise UnsupportedDwarf(f"{self.sections.path}: string offset {offset} is outside its section")
        return bytes(data[offset:end])


def _attributes_plan(spec: AbbrevSpec) -> tuple[list[str], list[Field], str]:
    """Every attribute into ``attrs``, named and valued as pyelftools names and decodes them."""
    fields = [_attribute_field(attr, form, const) for attr, form, const in spec[2]]
    return ["def decode(data, pos):", " attrs = {}"], fields, " return pos, attrs"


@functools.lru_cache(maxsize=4096)  # a kernel has a few hundred distinct attributes among 200,000
def _attribute_field(attr: int, form: int, const: int) -> Field:
    return Field(form, const, VALUE, f"attrs[{_AT_NAMES.get(attr, attr)!r}]",
                 f"RawAttr({_FORM_NAMES.get(form, form)!r}, {{}})")


class RawDIE:
    """One DIE: what :class:`.convert.DwarfConverter` reads of a pyelftools DIE."""

    __slots__ = ("reader", "unit", "offset", "tag", "has_children", "attributes", "end")

    def __init__(self, reader: DieReader, unit: Unit, offset: int, tag: str, has_children: bool,
                 attributes: dict[str, RawAttr], end: int) -> None:
        self.reader, self.unit, self.offset, self.tag = reader, unit, offset, tag
        self.has_children, self.attributes, self.end = has_children, attributes, end

    def iter_children(self) -> Iterator[RawDIE]:
        if not self.has_children:
            return
        pos = self.end
        while pos < self.unit.end:
            child = self.reader.die_at(pos, self.unit)
            if child is None:  # the null entry that ends the list
                return
            yield child
            pos = self.reader.next_sibling(child)

    def get_DIE_from_attribute(self, name: str) -> RawDIE:  # noqa: N802 - pyelftools' spelling
        attr = self.attributes[name]
        if attr.form in ("DW_FORM_ref_addr", "DW_FORM_GNU_ref_alt"):
            target = attr.value
            unit = self.reader.unit_containing(target)
        else:
            target = self.unit.offset + attr.value
            unit = self.unit
        die = self.reader.die_at(target, unit)
        if die is None:
            raise UnsupportedDwarf(f"{self.reader.sections.path}: DIE 0x{self.offset:x} refers to 0x{target:x}, "
                                   "which is not a DIE")
        return die


class DieReader:
    """Decodes DIEs of the units of one file on demand, memoised per unit until :meth:`forget`."""

    def __init__(self, sections: Sections, units: list[Unit]) -> None:
        self.sections = sections
        self.units = units
        self._starts = [unit.offset for unit in units]
        self._codegen = _Codegen(sections)
        self._abbrevs: dict[int, dict[int, AbbrevSpec]] = {}
        # per unit: abbreviation code -> (decoder, tag name, has children), so that a DIE costs one lookup
        self._shapes: dict[int, dict[int, tuple[Callable[[bytes, int], Decoded], str, bool]]] = {}
        self._dies: dict[int, Optional[RawDIE]] = {}

    def unit_containing(self, offset: int) -> Unit:
        position = bisect.bisect_right(self._starts, offset) - 1
        if position < 0 or offset >= self.units[position].end:
            raise UnsupportedDwarf(f"{self.sections.path}: reference 0x{offset:x} is outside every unit")
        return self.units[position]

    def die_at(self, offset: int, unit: Unit) -> Optional[RawDIE]:
        """The DIE at ``offset`` of ``unit`` (None for a null entry)."""
        if offset in self._dies:
            return self._dies[offset]
        info = self.sections.info
        if not unit.offset <= offset < unit.end:
            raise UnsupportedDwarf(f"{self.sections.path}: DIE offset 0x{offset:x} is outside unit "
                                   f"0x{unit.offset:x}")
        code, pos = uleb(info, offset)
        die: Optional[RawDIE] = None
        if code:
            shapes = self._shapes.get(unit.offset)
            if shapes is None:
                shapes = self._shapes[unit.offset] = {}
            shape = shapes.get(code)
            if shape is None:
                shape = shapes[code] = self._shape(unit, code, offset)
            end, attributes = shape[0](info, pos)
            die = RawDIE(self, unit, offset, shape[1], shape[2], attributes, end)
        self._dies[offset] = die
        return die

    def _shape(self, unit: Unit, code: int, offset: int) -> tuple[Callable[[bytes, int], Decoded], str, bool]:
        """The decoder, tag name and children flag of abbreviation ``code`` of ``unit``."""
        abbrevs = self._abbrevs.get(unit.abbrev_offset)
        if abbrevs is None:
            abbrevs = self._abbrevs[unit.abbrev_offset] = parse_abbrevs(self.sections.abbrev, unit.abbrev_offset)
        spec = abbrevs.get(code)
        if spec is None:
            raise UnsupportedDwarf(f"{self.sections.path}: DIE 0x{offset:x} uses abbreviation {code}, "
                                   "which its table does not define")
        return self._codegen.get(spec, unit, _attributes_plan), _TAG_NAMES.get(spec[0], str(spec[0])), spec[1]

    def next_sibling(self, die: RawDIE) -> int:
        """Where the DIE after ``die`` (skipping its children) starts."""
        if not die.has_children:
            return die.end
        sibling = die.attributes.get("DW_AT_sibling")
        if sibling is not None:
            target = int(sibling.value) + (die.unit.offset if sibling.form != "DW_FORM_ref_addr" else 0)
            if target <= die.offset:
                raise UnsupportedDwarf(f"{self.sections.path}: DIE 0x{die.offset:x} has a sibling before itself")
            return target
        pos = die.end
        while True:
            child = self.die_at(pos, die.unit)
            if child is None:
                return pos + 1
            pos = self.next_sibling(child)

    def forget(self) -> None:
        """Drop the decoded DIEs (a whole scan keeps only the converted model)."""
        self._dies.clear()


class IdentityReader:
    """What diff's definition identity reads of a DIE, as one tuple, with no DIE objects.

    ``decode(data, pos)`` returns ``(end, name, type, byte_size, decl_line,
    data_member_location, data_bit_offset, bit_size, declaration, sibling)``:
    names and integers as :func:`.convert.text_of` and :func:`.convert.int_of`
    read pyelftools' values (the same generated value code as :class:`RawDIE`),
    ``type`` and ``sibling`` as stored (see the shape's flags for which are
    unit-relative), ``declaration`` True when present; None when absent.
    For scans that read millions of member DIEs.
    """

    _SLOTS = {"DW_AT_name": "name", "DW_AT_type": "typ", "DW_AT_byte_size": "size", "DW_AT_decl_line": "line",
              "DW_AT_data_member_location": "loc", "DW_AT_data_bit_offset": "dbo", "DW_AT_bit_size": "bits",
              "DW_AT_declaration": "decl", "DW_AT_sibling": "sib"}

    def __init__(self, sections: Sections) -> None:
        self.sections = sections
        from .convert import int_of, text_of
        self._str_texts: dict[int, str] = {}  # .debug_str offset -> text
        self._line_texts: dict[int, str] = {}  # .debug_line_str offset -> text
        self._codegen = _Codegen(sections, {"text_of": text_of, "int_of": int_of, "str_texts": self._str_texts,
                                            "line_texts": self._line_texts})
        self._abbrevs: dict[int, dict[int, AbbrevSpec]] = {}

    def shapes(self, unit: Unit) -> dict[int, IdentityShape]:
        """For ``unit``: abbreviation code -> its :data:`IdentityShape` (made on first use)."""
        abbrevs = self._abbrevs.get(unit.abbrev_offset)
        if abbrevs is None:
            abbrevs = self._abbrevs[unit.abbrev_offset] = parse_abbrevs(self.sections.abbrev, unit.abbrev_offset)
        return _Shapes(self, unit, abbrevs)

    def _decoder(self, spec: AbbrevSpec, unit: Unit) -> Callable[[bytes, int], tuple[Any, ...]]:
        return self._codegen.get(spec, unit, self._plan)

    def _plan(self, spec: AbbrevSpec) -> tuple[list[str], list[Field], str]:
        """The identity's attributes into their locals, names and integers as ``text_of`` / ``int_of`` read them."""
        fields: list[Field] = []
        for attr, form, const in spec[2]:
            slot = self._SLOTS.get(_AT_NAMES.get(attr, ""))
            if slot is None:
                fields.append(Field(form, const, SKIP))
            elif slot == "name" and form in (0x0E, 0x1F):  # strp, line_strp: each text made once per offset
                fields.append(Field(form, const, STR_TEXT, "name"))
            elif slot == "name":
                fields.append(Field(form, const, VALUE, "name", "text_of({})"))
            elif slot in ("typ", "sib") or value_is_int(form):  # an int already: int_of would return it unchanged
                fields.append(Field(form, const, VALUE, slot))
            elif slot == "decl":
                fields.append(Field(form, const, VALUE, slot, "True"))
            else:
                fields.append(Field(form, const, VALUE, slot, "int_of({})"))
        return (["def decode(data, pos):", " name = typ = size = line = loc = dbo = bits = decl = sib = None"],
                fields, " return pos, name, typ, size, line, loc, dbo, bits, decl, sib")


class _Shapes(dict[int, "IdentityShape"]):
    """Abbreviation code -> IdentityShape for one unit, each made when first looked up."""

    def __init__(self, reader: IdentityReader, unit: Unit, abbrevs: dict[int, AbbrevSpec]) -> None:
        super().__init__()
        self.reader, self.unit, self.abbrevs = reader, unit, abbrevs

    def __missing__(self, code: int) -> IdentityShape:
        spec = self.abbrevs.get(code)
        if spec is None:
            raise UnsupportedDwarf(f"{self.reader.sections.path}: unit 0x{self.unit.offset:x} uses abbreviation "
                                   f"{code}, which its table does not define")
        forms = {_AT_NAMES.get(attr): _FORM_NAMES.get(form) for attr, form, _ in spec[2]}
        found = self[code] = (self.reader._decoder(spec, self.unit), _TAG_NAMES.get(spec[0], str(spec[0])), spec[1],
                              # as RawDIE.get_DIE_from_attribute and DieReader.next_sibling read them
                              forms.get("DW_AT_type") in ("DW_FORM_ref_addr", "DW_FORM_GNU_ref_alt"),
                              forms.get("DW_AT_sibling") == "DW_FORM_ref_addr")
        return found


# An abbreviation as IdentityReader reads it: the decoder, the tag name, whether the DIE has
# children, and whether its DW_AT_type and its DW_AT_sibling hold section offsets (else unit-relative).
IdentityShape = tuple[Callable[[bytes, int], tuple[Any, ...]], str, bool, bool, bool]
