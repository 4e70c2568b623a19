"""Preprocessor conditions: ``#if`` expressions over configuration symbols, and the stack of open blocks.

The values are those a kernel build gives its headers: ``include/generated/autoconf.h``
defines ``CONFIG_X`` as 1 for ``CONFIG_X=y``, ``CONFIG_X_MODULE`` (not ``CONFIG_X``) for
``=m``, and the number for an int or hex option.  A symbol that is not given is
undefined, and 0 in an expression, as it is to the C preprocessor.

:func:`evaluate_condition` understands what kernel headers write in struct bodies:
``defined``, ``IS_ENABLED()``/``IS_BUILTIN()``/``IS_MODULE()``/``IS_REACHABLE()``, ``!``,
``&&``, ``||``, the comparisons ``== != < > <= >=``, parentheses and integer literals.
It reads its tokens once, left to right (linear time), and refuses nesting deeper
than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Callable

from ..errors import ScenarioError
from ..numbers import parse_integer
from .limits import check_condition

Defines = Mapping[str, int]
"""Symbol -> value; ``True``/``False`` from ``--define X=y|n`` count as 1 and undefined."""

MAX_DEPTH = 64

_TOKEN = re.compile(r"\s*(?:(&&|\|\||==|!=|<=|>=|[()!<>])|([A-Za-z_]\w*)|(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(\S))")
_KCONFIG_MACROS = ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}
_TRUE_WORDS = {"y", "yes", "1", "true", "on"}
_FALSE_WORDS = {"n", "no", "0", "false", "off"}


def parse_defines(items: Iterable[str]) -> dict[str, int]:
    """``["CONFIG_X=y", "CONFIG_Y=n", "CONFIG_Z=m", "CONFIG_N=32", "CONFIG_W"]`` -> symbol values.

    ``y`` (or a bare name) defines the symbol as 1; ``n`` leaves it undefined
    (recorded as False so that it overrides a default); ``m`` defines
    ``NAME_MODULE``, as Kconfig does; a number is the symbol's value.
    """
    defines: dict[str, int] = {}
    for item in items:
        name, _, raw = item.partition("=")
        name, value = name.strip(), raw.strip().lower() or "y"
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ScenarioError(f"bad --define '{item}': expected NAME=y, NAME=n, NAME=m or NAME=NUMBER")
        if value == "m":
            defines[f"{name}_MODULE"] = True
            defines[name] = False
        elif value in _TRUE_WORDS:
            defines[name] = True
        elif value in _FALSE_WORDS:
            defines[name] = False
        elif re.fullmatch(r"-?(0x[0-9a-f]+|\d+)", value):
            defines[name] = parse_integer(value, f"bad --define '{item}'")
        else:
            raise ScenarioError(f"bad --define '{item}': expected NAME=y, NAME=n, NAME=m or NAME=NUMBER")
    return defines


def is_defined(defines: Defines, name: str) -> bool:
    """Is ``name`` defined?  ``False`` marks a symbol set to ``n``, which is not."""
    value = defines.get(name)
    return value is not None and value is not False


def condition_symbols(expr: str) -> list[str]:
    """The symbols ``expr`` tests, in order of first appearance (``IS_ENABLED`` etc. left out)."""
    names: list[str] = []
    for word in re.findall(r"[A-Za-z_]\w*", expr):
        if word not in ("defined", *_KCONFIG_MACROS) and word not in names:
            names.append(word)
    return names


def evaluate_condition(expr: str, defines: Defines) -> bool:
    """Value of the ``#if`` expression ``expr`` for ``defines``.

    Raises :class:`ScenarioError` ``cannot evaluate preprocessor condition '...': why``.
    """
    try:
        check_condition(expr)
        tokens = _tokens(expr)
        parser = _Parser(tokens, defines)
        value = parser.parse_or(0)
        if parser.pos != len(tokens):
            raise ScenarioError(f"unexpected '{tokens[parser.pos]}' (understood: defined(), IS_ENABLED(), "
                                "!, &&, ||, comparisons, parentheses and integers)")
    except ScenarioError as exc:
        raise ScenarioError(f"cannot evaluate preprocessor condition '{expr}': {exc}") from None
    return value != 0


def _tokens(expr: str) -> list[str]:
    tokens = []
    for match in _TOKEN.finditer(expr):
        if match.group(4):
            raise ScenarioError(f"unsupported token '{match.group(4)}'")
        tokens.append(next(group for group in match.groups() if group))
    return tokens


class _Parser:
    """Precedence climbing over ``||``, ``&&``, equality, relations, ``!`` and atoms; depth-limited."""

    def __init__(self, tokens: list[str], defines: Defines) -> None:
        self.tokens = tokens
        self.defines = defines
        self.pos = 0

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self) -> str:
        token = self._peek()
        self.pos += 1
        return token

    def parse_or(self, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested deeper than {MAX_DEPTH} levels")
        value = self._and(depth)
        while self._peek() == "||":
            self._take()
            right = self._and(depth)
            value = int(bool(value) or bool(right))
        return value

    def _and(self, depth: int) -> int:
        value = self._compare(depth)
        while self._peek() == "&&":
            self._take()
            right = self._compare(depth)
            value = int(bool(value) and bool(right))
        return value

    def _compare(self, depth: int) -> int:
        value = self._unary(depth)
        while self._peek() in _COMPARE:
            operator = self._take()
            value = int(_COMPARE[operator](value, self._unary(depth)))
        return value

    def _unary(self, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested deeper than {MAX_DEPTH} levels")
        token = self._take()
        if token == "!":
            return int(not self._unary(depth + 1))
        if token == "(":
            value = self.parse_or(depth + 1)
            if self._take() != ")":
                raise ScenarioError("unbalanced parentheses")
            return value
        if token == "defined":
            return int(is_defined(self.defines, self._symbol_argument(optional_parens=True)))
        if token in _KCONFIG_MACROS:
            return int(self._kconfig(token, self._symbol_argument(optional_parens=False)))
        if not token:
            raise ScenarioError("it ends too early")
        if token[0].isdigit():
            return parse_integer(token, "")
        if re.fullmatch(r"[A-Za-z_]\w*", token):
            return int(self.defines[token]) if is_defined(self.defines, token) else 0
        raise ScenarioError(f"unexpected '{token}'")

    def _kconfig(self, macro: str, name: str) -> bool:
        builtin = is_defined(self.defines, name)
        module = is_defined(self.defines, f"{name}_MODULE")
        return {"IS_BUILTIN": builtin, "IS_MODULE": module}.get(macro, builtin or module)

    def _symbol_argument(self, optional_parens: bool) -> str:
        parenthesised = self._peek() == "("
        if parenthesised:
            self._take()
        elif not optional_parens:
            raise ScenarioError("'(' expected")
        name = self._take()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ScenarioError(f"'{name}' is not a symbol name" if name else "a symbol name is missing")
        if parenthesised and self._take() != ")":
            raise ScenarioError("unbalanced parentheses")
        return name


@dataclass
class _Frame:
    shown: str  # the condition of the current branch, as written (negated for #else)
    active: bool
    taken: bool  # some branch of this #if chain was true


class ConditionStack:
    """The ``#if``/``#ifdef``/``#elif``/``#else``/``#endif`` blocks open at a point of a header.

    :meth:`directive` takes one preprocessor line and returns False when it
    closes or continues a block opened before the text seen so far (a hunk
    that starts inside ``#ifdef CONFIG_CGROUPS``).
    """

    def __init__(self, defines: Defines) -> None:
        self.defines = defines
        self.frames: list[_Frame] = []

    @property
    def active(self) -> bool:
        return all(frame.active for frame in self.frames)

    @property
    def text(self) -> str:
        """The conditions of the open blocks, joined with ``&&`` (empty when none)."""
        return " && ".join(frame.shown for frame in self.frames)

    def false_text(self) -> str:
        """The conditions that are false at this point, joined with ``&&``."""
        return " && ".join(frame.shown for frame in self.frames if not frame.active)

    def directive(self, line: str) -> bool:
        """Apply one ``#...`` line; False if it belongs to a block opened before (unmatched)."""
        match = re.match(r"^#\s*(\w+)\s*(.*)$", line.strip())
        if not match:
            return True
        directive, rest = match.group(1), match.group(2).strip()
        if directive in ("ifdef", "ifndef", "if"):
            expr = {"ifdef": f"defined({rest})", "ifndef": f"!defined({rest})"}.get(directive, rest)
            value = evaluate_condition(expr, self.defines)
            shown = {"ifdef": rest, "ifndef": f"!{rest}"}.get(directive, rest)
            self.frames.append(_Frame(shown, value, value))
        elif directive in ("elif", "else", "endif") and not self.frames:
            return False
        elif directive in ("elif", "else"):
            frame = self.frames[-1]
            value = not frame.taken and (directive == "else" or evaluate_condition(rest, self.defines))
            shown = negate(frame.shown) if directive == "else" else rest
            self.frames[-1] = _Frame(shown, value, frame.taken or value)
        elif directive == "endif":
            self.frames.pop()
        return True


def negate(condition: str) -> str:
    """``CONFIG_X`` -> ``!CONFIG_X``, ``!CONFIG_X`` -> ``CONFIG_X``, else ``!(...)``."""
    if re.fullmatch(r"!\w+", condition):
        return condition[1:]
    return f"!{condition}" if re.fullmatch(r"\w+", condition) else f"!({condition})"
