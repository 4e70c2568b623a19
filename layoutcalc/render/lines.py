"""Lines for a terminal: the one escaping shared by the CLI's messages and the notebook's warnings."""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with newlines and other control characters escaped, so an error stays one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
