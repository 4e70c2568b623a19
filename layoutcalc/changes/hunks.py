"""Unified diffs -> hunks, read with the ``unidiff`` library.

Accepts what kernel developers send and apply: ``git diff``/``git format-patch``
output (mail headers, diffstat and signature are skipped), ``diff -up`` with
timestamps, several files per patch.  Each hunk keeps its function context
(``@@ -1020,6 +1020,7 @@ struct task_struct {``), which ``git diff`` and
``diff -p`` write and :mod:`layoutcalc.changes.additions` uses to tell which
struct a hunk starts in, and each line keeps its line number in the patch file
for error messages.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from ..errors import ScenarioError
from .limits import check_hunk_lines

_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


class HunkLine(NamedTuple):
    """One line of a hunk: ``kind`` is ``" "`` (context), ``"+"`` or ``"-"``; ``text`` without the marker."""

    line_no: int
    kind: str
    text: str


class Hunk(NamedTuple):
    """One hunk: the file it changes, its function context and its lines."""

    path: str
    context: str
    lines: list[HunkLine]


def read_hunks(text: str, filename: str) -> list[Hunk]:
    """The hunks of the unified diff ``text``; ``filename`` names it in errors.

    Raises :class:`ScenarioError` ``FILE:LINE: ...`` for a malformed hunk header or
    body, and ``FILE: no unified diff hunks found`` when there are none.
    """
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.startswith("@@") and not _HUNK_HEADER.match(line):
            raise ScenarioError(f"{filename}:{number}: malformed hunk header '{line}'")
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        if "shorter than expected" not in str(exc):
            raise ScenarioError(f"{filename}:{_blame(lines, str(exc))}: {exc}") from None
        try:
            patch = PatchSet(_recounted(lines))
        except UnidiffParseError as again:
            raise ScenarioError(f"{filename}:{_blame(lines, str(again))}: {again}") from None
    hunks = []
    for patched in patch:
        for hunk in patched:
            body = [HunkLine(line.diff_line_no or 0, line.line_type, line.value.rstrip("\r\n"))
                    for line in hunk if line.line_type in (" ", "+", "-")]
            hunks.append(Hunk(patched.path, hunk.section_header.strip(), body))
    check_hunk_lines([len(hunk.lines) for hunk in hunks], filename)
    if not hunks:
        raise ScenarioError(f"{filename}: no unified diff hunks found")
    return hunks


def _recounted(lines: list[str]) -> str:
    """The diff with each hunk header's line counts set to the lines that follow it.

    Mailers strip trailing blank context and people edit patches by hand, so
    the counts may be short of the body; ``patch`` and ``git apply --recount``
    forgive that too.  Line numbers in the file stay the same.
    """
    out = list(lines)
    for number, line in enumerate(lines):
        header = re.match(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$", line)
        if not header:
            continue
        old = new = 0
        for body in lines[number + 1:]:
            kind = body[:1] if body else " "
            if body.startswith(("@@", "--- ", "+++ ", "diff ")) or kind not in " +-\\":
                break
            old += kind in " -"
            new += kind in " +"
        out[number] = f"@@ -{header.group(1)},{old} +{header.group(2)},{new} @@{header.group(3)}"
    return "\n".join(out) + "\n"


def _blame(lines: list[str], message: str) -> int:
    """The line an unidiff error is about: the quoted line, else the last hunk header."""
    quoted = re.search(r"expected: (.*)$", message)
    if quoted:
        for number, line in enumerate(lines, start=1):
            if line == quoted.group(1):
                return number
    headers = [number for number, line in enumerate(lines, start=1) if _HUNK_HEADER.match(line)]
    return headers[-1] if headers else 1
