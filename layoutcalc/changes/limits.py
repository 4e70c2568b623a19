"""Limits on what declarations, conditions and patches may nest, checked before parsing.

The parsers behind them (pycparser, the ``#if`` evaluator, the type resolver)
recurse once per level; hostile text (1000 ``*``, 1000 nested parentheses or
``#if`` blocks) would overflow Python's stack or take exponential time.  Real
kernel headers stay far below these limits.
"""

from __future__ import annotations

import functools
import re

from ..errors import ScenarioError

MAX_NESTING = 64          # parentheses, brackets, ``!`` runs, ``#if`` blocks
MAX_POINTER_LEVELS = 16   # ``*`` in one declarator (the kernel has at most 3)
MAX_DECLARATION_CHARS = 4096
MAX_IDENTIFIERS = 48      # distinct identifiers in one declaration (typedef guessing is combinatorial)
# Lines of one hunk and of all hunks of a patch: each context declaration is parsed (about 0.2 ms), so a
# hunk of 200,000 context lines took 40 s.  Kernel patches' hunks are a few dozen lines.
MAX_HUNK_LINES = 10_000
MAX_PATCH_HUNK_LINES = 20_000


def check_hunk_lines(sizes: list[int], filename: str) -> None:
    """Refuse a patch whose hunks (``sizes``: lines per hunk) pass MAX_HUNK_LINES or MAX_PATCH_HUNK_LINES."""
    for index, size in enumerate(sizes, start=1):
        if size > MAX_HUNK_LINES:
            raise ScenarioError(f"{filename}: hunk {index} has {size} lines, more than {MAX_HUNK_LINES}; "
                                "split the patch")
    if sum(sizes) > MAX_PATCH_HUNK_LINES:
        raise ScenarioError(f"{filename}: its hunks hold {sum(sizes)} lines, more than {MAX_PATCH_HUNK_LINES}; "
                            "give only the patches that touch the structs")


@functools.lru_cache(maxsize=256)  # a scenario repeats its declarations
def nesting_depth(text: str) -> int:
    """The deepest nesting of ``()``/``[]``/``{}`` in ``text``, counting a run of ``!`` as levels too."""
    if sum(text.count(c) for c in "([{!") <= MAX_NESTING:
        return MAX_NESTING  # cannot be deeper: skip the scan
    depth = deepest = 0
    for match in re.finditer(r"[(\[{]|[)\]}]|!+", text):
        token = match.group()
        if token[0] == "!":
            deepest = max(deepest, depth + len(token))
        elif token in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def check_condition(expr: str) -> None:
    """Refuse a preprocessor condition nested deeper than :data:`MAX_NESTING`."""
    if nesting_depth(expr) > MAX_NESTING:
        raise ScenarioError(f"condition nests more than {MAX_NESTING} levels deep")


def check_declaration(text: str) -> None:
    """Refuse a C declaration too long, too deep or with too many ``*`` to parse safely."""
    if len(text) > MAX_DECLARATION_CHARS:
        raise ScenarioError(f"cannot parse declaration '{text[:40]}...': longer than {MAX_DECLARATION_CHARS} "
                            "characters")
    shown = text.strip()[:60]
    if nesting_depth(text.replace("!", "")) > MAX_NESTING:
        raise ScenarioError(f"cannot parse declaration '{shown}': nests more than {MAX_NESTING} levels deep")
    if max((run.count("*") for run in re.findall(r"(?:\*\s*(?:const|volatile|restrict)?\s*)+", text)),
           default=0) > MAX_POINTER_LEVELS:
        raise ScenarioError(f"cannot parse declaration '{shown}': more than {MAX_POINTER_LEVELS} levels of pointers")
    if text.count("[") > MAX_NESTING:
        raise ScenarioError(f"cannot parse declaration '{shown}': more than {MAX_NESTING} array dimensions")
    if len(set(re.findall(r"[A-Za-z_]\w*", text))) > MAX_IDENTIFIERS:
        raise ScenarioError(f"cannot parse declaration '{shown}': more than {MAX_IDENTIFIERS} distinct names")


def check_patch(text: str, filename: str) -> None:
    """Refuse a patch whose ``#if`` blocks nest deeper than :data:`MAX_NESTING` (names the line)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        directive = re.match(r"^[ +\-]?\s*#\s*(if|ifdef|ifndef|endif)\b", line)
        if directive is None:
            continue
        if directive.group(1) == "endif":
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > MAX_NESTING:
            raise ScenarioError(f"{filename}:{number}: #if blocks nest more than {MAX_NESTING} levels deep")
