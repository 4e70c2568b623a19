"""The one error hierarchy of layoutcalc.

Library code raises these; only the CLI turns them into ``Error: ...`` on
stderr and exit status 1.  Messages name the file (and struct, DIE offset or
BTF id where that helps) so that one line is enough to act on.
"""

from __future__ import annotations


class LayoutcalcError(Exception):
    """Base class of every error layoutcalc reports to a user."""


class InputError(LayoutcalcError):
    """An input file is unreadable, of an unknown kind, truncated or lacks debug info."""


class NotFoundError(LayoutcalcError):
    """A struct, member, type or cache named by the user does not exist."""


class ScenarioError(LayoutcalcError):
    """A scenario, patch or snapshot file is malformed or inconsistent."""


class LiveSystemError(LayoutcalcError):
    """The running kernel's sysfs/BTF cannot be read (not Linux, no permission...)."""


class OutputError(LayoutcalcError):
    """An output file cannot be written safely (not a regular file, directory, full disk...)."""


class FormatError(LayoutcalcError, ValueError):
    """A result asked for in a format it has no rendering in (``render(result, "csv")`` of a layout...)."""
