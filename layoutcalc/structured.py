"""Bounded loading of the TOML and JSON files layoutcalc reads (scenarios, budgets, snapshots, baselines).

The standard parsers recurse once per nesting level (arrays 2,000 deep were a
RecursionError) and hand Python's ``int`` any digit string (4,301 digits were a
ValueError; 10^400 overflowed later as a float).  Every TOML or JSON document
goes through :func:`load_toml` or :func:`load_json`, which turn those into one
line naming the file, and then :func:`check_tree`, an iterative walk that
bounds the nesting depth and every number, so no later code meets a value no
real input holds.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Callable, Optional

from .errors import LayoutcalcError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

# Real documents nest a few levels (a snapshot's type table: 5); 64 leaves room and stays far from recursion limits.
MAX_DEPTH = 64
# Every size, offset, count and value in these files fits in 64 bits.
MAX_MAGNITUDE = 1 << 64
# Digits of an integer literal, checked before Python converts it.
MAX_DIGITS = 40


def bounded_int(text: str) -> int:
    """``int(text)`` for a JSON integer literal of at most MAX_DIGITS digits (ValueError beyond)."""
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"the number '{text[:20]}...' ({len(text)} digits) is too large")
    return int(text)


def check_tree(data: Any, path: str, error: type[LayoutcalcError], max_depth: int = MAX_DEPTH) -> Any:
    """``data`` unchanged when it nests at most ``max_depth`` deep and every number is finite and in 64 bits."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if not -MAX_MAGNITUDE < value < MAX_MAGNITUDE:
                raise error(f"{path}: the number {str(value)[:20]}... does not fit in 64 bits")
        elif isinstance(value, float):
            if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
                raise error(f"{path}: the number {value!r} is not a finite 64-bit value")
        elif isinstance(value, (dict, list)):
            if depth >= max_depth:
                raise error(f"{path}: nested deeper than {max_depth} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return data


def load_toml(text: str, path: str, error: type[LayoutcalcError],
              malformed: Optional[Callable[[Exception], LayoutcalcError]] = None) -> dict[str, Any]:
    """Parse TOML ``text`` of the file ``path``; ``malformed(exc)`` builds the error for a syntax error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise (malformed(exc) if malformed else error(f"{path}: malformed TOML: {exc}")) from None
    except RecursionError:
        raise error(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer over Python's int-string limit, a date out of range
        raise error(f"{path}: malformed TOML: {_first_line(exc)}") from None
    check_tree(data, path, error)
    return data


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def load_json(data: bytes | str, path: str, error: type[LayoutcalcError], what: str = "JSON") -> Any:
    """Parse JSON ``data`` of the file ``path``: no NaN/Infinity, no nesting beyond MAX_DEPTH, 64-bit numbers."""
    if len(data) > 0 and _too_deep(data):
        raise error(f"{path}: nested deeper than {MAX_DEPTH} levels")
    try:
        decoded = json.loads(data, parse_constant=_no_constants, parse_int=bounded_int)
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a {what}: not UTF-8 text (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}: malformed {what} at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise error(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise error(f"{path}: not a {what}: {_first_line(exc)}") from None
    return check_tree(decoded, path, error)


_OPENERS = re.compile(rb"[\[{]{%d}" % (MAX_DEPTH + 1))


def _too_deep(data: bytes | str) -> bool:
    """A quick refusal of the plainest deep nesting (``[[[[...``) before the recursive parser sees it."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return _OPENERS.search(raw) is not None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
