"""The one generator of DIE decoders: a plan per abbreviation in, Python source out.

Every fast reader of ``.debug_info`` decodes a DIE with a function generated
for its abbreviation (and the unit's address size, offset size and DWARF
version), so that a DIE costs straight-line code instead of a loop over its
attributes.  The readers differ only in what they keep: :mod:`.dwarfscan`
keeps a name, sizes and the sibling of top-level types, :mod:`.rawdie` every
attribute as pyelftools decodes it, or the few that a definition's identity
needs.  Each says so as a *plan*: one :class:`Field` per attribute, in the
abbreviation's order, naming the variable its value lands in and how the
value is read (:data:`SKIP`, :data:`INT`, :data:`REF`, ...), plus the first
and last lines of the function.  :class:`DecoderGenerator` turns a plan into
the decoder; in batched mode consecutive fixed-size values are read with one
``unpack_from`` and stepped over at once (:class:`_FixedRun`).
"""

from __future__ import annotations

import struct as _struct
from collections.abc import Sequence
from typing import Any, Callable, NamedTuple, Optional

# Forms by how they are laid out (DWARF 5 table 7.6 plus the GNU extensions).
_FIXED = {0x0B: 1, 0x11: 1, 0x0C: 1, 0x25: 1, 0x29: 1, 0x05: 2, 0x12: 2, 0x26: 2, 0x2A: 2,
          0x06: 4, 0x13: 4, 0x28: 4, 0x2C: 4, 0x1C: 4, 0x07: 8, 0x14: 8, 0x20: 8, 0x24: 8,
          0x1E: 16, 0x27: 3, 0x2B: 3, 0x19: 0, 0x21: 0}
_OFFSET_SIZED = {0x0E, 0x1F, 0x17, 0x1D, 0x1F20, 0x1F21}  # strp, line_strp, sec_offset, strp_sup, GNU alt
_LEB = {0x0F, 0x0D, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}
_BLOCK_PREFIX = {0x0A: "B", 0x03: "H", 0x04: "I"}  # block1, block2, block4
_ULEB_BLOCK = {0x09, 0x18}  # block, exprloc
FORM_ADDR, FORM_STRING, FORM_REF_ADDR, FORM_INDIRECT = 0x01, 0x08, 0x10, 0x16
FORM_STRP, FORM_LINE_STRP, FORM_IMPLICIT_CONST = 0x0E, 0x1F, 0x21
FORM_UDATA, FORM_SDATA = 0x0F, 0x0D
REF_FORMS = {0x11: "B", 0x12: "H", 0x13: "I", 0x14: "Q"}  # ref1/2/4/8, unit-relative
CONST_FORMS = {0x0B: "B", 0x05: "H", 0x06: "I", 0x07: "Q"}  # data1/2/4/8
# Form -> how its value is read as pyelftools reads it: a struct format, or one of the readers below.
_UNSIGNED = {0x0B: "B", 0x11: "B", 0x0C: "B", 0x29: "B", 0x05: "H", 0x12: "H", 0x2A: "H",
             0x06: "I", 0x13: "I", 0x2C: "I", 0x1C: "I", 0x07: "Q", 0x14: "Q", 0x20: "Q", 0x24: "Q"}
_OFFSET = {0x17, 0x1D, 0x1F20, 0x1F21}  # sec_offset, strp_sup, GNU alt ref/strp: plain offsets
_ULEB_VALUE = {0x0F, 0x15, 0x1B, 0x22, 0x23, 0x1F01}  # udata, ref_udata, addrx, loclistx, rnglistx, GNU addr
_BLOCK_LENGTH = {0x0A: "B", 0x03: "H", 0x04: "I"}

# How a field's value is read (the ``read`` of a :class:`Field`).
SKIP = "skip"  # stepped over, nothing kept
INT = "int"  # a constant-class integer (data1/2/4/8, udata, sdata, implicit_const) as stored
REF = "ref"  # a unit-relative reference (ref1/2/4/8) as stored
STR_OFFSET = "str_offset"  # the offset of a strp / line_strp string, then ``wrap`` applied to it
INLINE_BYTES = "inline_bytes"  # the bytes of an inline string (DW_FORM_string)
PRESENT = "present"  # True, whatever the value (which is stepped over)
VALUE = "value"  # the value as pyelftools decodes it (any form), then ``wrap`` applied to it
STR_TEXT = "str_text"  # the text of a strp / line_strp string, decoded once per offset (``text_of``)


class Field(NamedTuple):
    """One attribute of a plan: its form (and implicit constant), how it is read, and where it lands."""

    form: int
    const: int
    read: str
    target: str = ""  # an assignable expression: a local, or ``attrs['DW_AT_name']``
    wrap: str = "{}"  # the expression stored, around the value read (``{}``)


class UnknownForm(Exception):
    """A form the generator cannot read or step over; the caller falls back to the plain reader."""


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned LEB128 number at ``pos`` of ``data``, and the position after it."""
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def sleb(data: bytes, pos: int) -> tuple[int, int]:
    """The signed LEB128 number at ``pos`` of ``data``, and the position after it."""
    result, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


def fixed_size(form: int, address_size: int, offset_size: int, version: int) -> Optional[int]:
    """How many bytes a value of ``form`` takes in a unit of this geometry; None when that varies per value."""
    if form in _FIXED:
        return _FIXED[form]
    if form in _OFFSET_SIZED:
        return offset_size
    if form == FORM_ADDR:
        return address_size
    if form == FORM_REF_ADDR:
        return offset_size if version >= 3 else address_size
    return None


def variable_step(form: int, endian: str) -> list[str]:
    """Generated lines that step ``pos`` over a value of a variable-size ``form`` (UnknownForm: not one we know)."""
    if form in _LEB:
        return ["while data[pos] & 0x80: pos += 1", "pos += 1"]
    if form == FORM_STRING:
        return ["pos = zend(pos) + 1"]
    if form in _ULEB_BLOCK:
        return ["n, pos = uleb(data, pos)", "pos += n"]
    if form in _BLOCK_PREFIX:
        width = {"B": 1, "H": 2, "I": 4}[_BLOCK_PREFIX[form]]
        return [f"pos += {width} + unpack_from('{endian}{_BLOCK_PREFIX[form]}', data, pos)[0]"]
    raise UnknownForm(form)


def value_is_int(form: int) -> bool:
    """Whether pyelftools decodes a value of ``form`` to a plain int (so :func:`.convert.int_of` is not needed)."""
    return form in _UNSIGNED or form in _ULEB_VALUE or form in (FORM_SDATA, FORM_IMPLICIT_CONST)


class DecoderGenerator:
    """Generates the decoder a plan describes, for one byte order and unit geometry.

    ``batch``: consecutive fixed-size values are read with one ``unpack_from``
    (for the scans of every top-level DIE); otherwise each value is read on
    its own, as pyelftools-shaped values need.
    """

    def __init__(self, endian: str, address_size: int, offset_size: int, version: int, batch: bool) -> None:
        self.endian, self.batch = endian, batch
        self.address_size, self.offset_size, self.version = address_size, offset_size, version

    def generate(self, head: Sequence[str], fields: Sequence[Field], tail: str,
                 namespace: dict[str, Any]) -> Callable[..., Any]:
        """The decoder ``decode(data, pos)``: ``head`` (its def and locals), the fields in order, ``tail``."""
        return self.compile(self.source(head, fields, tail), namespace)

    def source(self, head: Sequence[str], fields: Sequence[Field], tail: str) -> str:
        lines = list(head)
        run = _FixedRun(self.endian, lines)  # consecutive fixed-size values: one unpack_from, one step
        for field in fields:
            self._emit(field, run, lines)
            if not self.batch:
                run.flush()
        run.flush()
        lines.append(tail)
        return "\n".join(lines)

    def compile(self, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
        scope: dict[str, Any] = {"unpack_from": _struct.unpack_from, "uleb": uleb, "sleb": sleb}
        scope.update(namespace)
        exec(source, scope)  # noqa: S102 - generated from the fixed form tables above
        decoder: Callable[..., Any] = scope["decode"]
        return decoder

    def _emit(self, field: Field, run: _FixedRun, lines: list[str]) -> None:
        form, const, read, target = field.form, field.const, field.read, field.target
        if read == VALUE:  # the commonest first: every attribute of every DIE the fast path converts
            run.flush()
            value = self._value_code(form, const)
            lines.extend([" " + line for line in value[:-1]])
            lines.append(f" {target} = {field.wrap.format(value[-1])}")
        elif read == SKIP:
            self._skip(form, run, lines)
        elif read == REF and form in REF_FORMS:
            run.read(REF_FORMS[form], target)
        elif read == INT and form in CONST_FORMS:
            run.read(CONST_FORMS[form], target)
        elif read == INT and form == FORM_IMPLICIT_CONST:
            run.assign(target, str(const))
        elif read == INT and form in (FORM_UDATA, FORM_SDATA):
            run.flush()
            lines.append(f" {target}, pos = {'uleb' if form == FORM_UDATA else 'sleb'}(data, pos)")
        elif read == STR_OFFSET and form in (FORM_STRP, FORM_LINE_STRP):
            run.read("I" if self.offset_size == 4 else "Q", target)
            run.assign(target, field.wrap.format(target))
        elif read == INLINE_BYTES and form == FORM_STRING:
            run.flush()
            lines.append(f" end = zend(pos); {target} = bytes(data[pos:end]); pos = end + 1")
        elif read == PRESENT:
            run.assign(target, "True")  # present at all, whatever its value, as the plain reader reads it
            self._skip(form, run, lines)
        elif read == STR_TEXT and form in (FORM_STRP, FORM_LINE_STRP):
            run.flush()
            section, texts = ("str_section", "str_texts") if form == FORM_STRP else ("line_str_section", "line_texts")
            width = "I" if self.offset_size == 4 else "Q"
            lines.extend([f" o = unpack_from('{self.endian}{width}', data, pos)[0]",
                          f" pos += {self.offset_size}",
                          f" {target} = {texts}.get(o)",
                          f" if {target} is None: {target} = {texts}[o] = text_of(string({section}, o))"])
        else:
            raise UnknownForm(form)  # a value this plan wants but cannot be read as asked: read the plain way

    def _skip(self, form: int, run: _FixedRun, lines: list[str]) -> None:
        step = fixed_size(form, self.address_size, self.offset_size, self.version)
        if step is not None:
            run.skip(step)
            return
        run.flush()
        lines.extend(" " + line for line in variable_step(form, self.endian))

    def _value_code(self, form: int, const: int) -> list[str]:
        """Statements that read one value at ``pos`` as pyelftools does and advance it; the last item is the value."""
        endian = self.endian
        offset_fmt = "I" if self.offset_size == 4 else "Q"
        if form in _UNSIGNED:
            fmt = _UNSIGNED[form]
            if fmt == "B":  # one byte: indexing is several times cheaper than unpack_from
                return ["v = data[pos]", "pos += 1", "v"]
            return [f"v = unpack_from('{endian}{fmt}', data, pos)[0]",
                    f"pos += {_struct.calcsize(fmt)}", "v"]
        if form == FORM_ADDR:
            fmt = "I" if self.address_size == 4 else "Q"
            return [f"v = unpack_from('{endian}{fmt}', data, pos)[0]", f"pos += {self.address_size}", "v"]
        if form in (FORM_STRP, FORM_LINE_STRP):
            section = "str_section" if form == FORM_STRP else "line_str_section"
            return [f"v = string({section}, unpack_from('{endian}{offset_fmt}', data, pos)[0])",
                    f"pos += {self.offset_size}", "v"]
        if form in _OFFSET or form == FORM_REF_ADDR:
            width = self.offset_size if form != FORM_REF_ADDR or self.version >= 3 else self.address_size
            fmt = "I" if width == 4 else "Q"
            return [f"v = unpack_from('{endian}{fmt}', data, pos)[0]", f"pos += {width}", "v"]
        if form == FORM_STRING:
            return ["end = zend(pos)", "v = bytes(data[pos:end])", "pos = end + 1", "v"]
        if form in _ULEB_VALUE:
            return ["v, pos = uleb(data, pos)", "v"]
        if form == FORM_SDATA:
            return ["v, pos = sleb(data, pos)", "v"]
        if form in _ULEB_BLOCK:  # block, exprloc
            return ["n, pos = uleb(data, pos)", "v = list(data[pos:pos + n])", "pos += n", "v"]
        if form in _BLOCK_LENGTH:
            fmt = _BLOCK_LENGTH[form]
            width = _struct.calcsize(fmt)
            return [f"n = unpack_from('{endian}{fmt}', data, pos)[0]", f"pos += {width}",
                    "v = list(data[pos:pos + n])", "pos += n", "v"]
        if form == 0x19:  # flag_present
            return ["True"]
        if form == FORM_IMPLICIT_CONST:
            return [str(const)]
        if form == 0x1E:  # data16
            return ["v = list(data[pos:pos + 16])", "pos += 16", "v"]
        raise UnknownForm(form)


class _FixedRun:
    """The fixed-size values between two variable-size ones: read with one ``unpack_from``, stepped over at once.

    A struct DIE's name, size, line, column and sibling cost one call
    instead of five; the scan decodes a million of them on a vmlinux.
    """

    def __init__(self, endian: str, lines: list[str]) -> None:
        self.endian, self.lines = endian, lines
        self.format: list[str] = []
        self.targets: list[str] = []
        self.after: list[str] = []  # statements once the values are read, in attribute order
        self.assigned: set[str] = set()  # variables ``after`` sets: a later value of one must not come first
        self.width = 0

    def read(self, code: str, target: str) -> None:
        if target in self.assigned:
            self.flush()
        self.format.append(code)
        self.targets.append(target)
        self.width += _struct.calcsize(self.endian + code)

    def assign(self, target: str, value: str) -> None:
        self.after.append(f" {target} = {value}")
        self.assigned.add(target)

    def skip(self, size: int) -> None:
        if size:
            self.format.append(f"{size}x")
            self.width += size

    def flush(self) -> None:
        if not self.format and not self.after:
            return  # nothing pending (width is 0 too)
        if self.targets:
            names = ", ".join(self.targets) + ("," if len(self.targets) == 1 else "")
            self.lines.append(f" {names} = unpack_from('{self.endian}{''.join(self.format)}', data, pos)")
        self.lines.extend(self.after)
        if self.width:
            self.lines.append(f" pos += {self.width}")
        self.format, self.targets, self.after, self.assigned, self.width = [], [], [], set(), 0
