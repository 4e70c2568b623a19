"""The one parser of integers written by users: ``--define``, ``--config`` lines and ``#if`` operands.

C's rules, bounded: ``0x``/``0X`` hexadecimal, a leading ``0`` octal (so ``08``
and ``-09`` are refused, as gcc refuses them in ``#if``), otherwise decimal; an
optional sign and ``u``/``l`` suffixes.  Values must fit in 64 bits, which
also keeps Python's int-string limit (4,300 digits) from ever being reached.
"""

from __future__ import annotations

import re
from typing import Optional

from .errors import LayoutcalcError, ScenarioError

# Every value a kernel config or a preprocessor condition holds fits in 64 bits (signed or unsigned).
MIN_VALUE = -(1 << 63)
MAX_VALUE = (1 << 64) - 1
# Longer than any 64-bit literal (0x + 16 digits with suffixes and leading zeros to spare); checked
# before int() so a 4,301-digit number never reaches it.
MAX_LITERAL_CHARS = 72

_LITERAL = re.compile(r"([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)([uU]?[lL]{0,2}|[lL]{1,2}[uU])")
_LOOKS_NUMERIC = re.compile(r"[+-]?[0-9][0-9a-zA-Z]*")


def looks_numeric(text: str) -> bool:
    """Whether ``text`` starts like a number (a sign and a digit), so that it must parse as one."""
    return bool(_LOOKS_NUMERIC.fullmatch(text.strip()))


def parse_integer(text: str, where: str, error: type[LayoutcalcError] = ScenarioError) -> int:
    """The value of the C integer literal ``text``; ``error`` naming ``where`` when it is not one."""
    literal = text.strip()
    if len(literal) > MAX_LITERAL_CHARS:
        raise error(f"{_prefix(where)}'{literal[:20]}...' ({len(literal)} characters) is too long for a 64-bit number")
    match = _LITERAL.fullmatch(literal)
    if not match:
        raise error(f"{_prefix(where)}'{literal}' is not a number (decimal, 0x hexadecimal or 0 octal)")
    sign, digits = match.group(1), match.group(2)
    if digits[:2] in ("0x", "0X"):
        value = int(digits[2:], 16)
    elif len(digits) > 1 and digits[0] == "0":
        if not re.fullmatch(r"[0-7]+", digits):
            raise error(f"{_prefix(where)}'{literal}' is not a number: a leading 0 makes it octal, "
                        "and 8 and 9 are not octal digits")
        value = int(digits, 8)
    else:
        value = int(digits, 10)
    value = -value if sign == "-" else value
    if not MIN_VALUE <= value <= MAX_VALUE:
        raise error(f"{_prefix(where)}'{literal[:24]}' does not fit in 64 bits")
    return value


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def parse_integer_or_none(text: str) -> Optional[int]:
    """:func:`parse_integer`, or None when ``text`` is not a bounded C integer."""
    try:
        return parse_integer(text, "")
    except LayoutcalcError:
        return None
