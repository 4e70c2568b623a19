"""What an input names: the one place that decides it.

An input is a path (an ELF file with DWARF or ``.BTF``, a raw BTF blob, a
layoutcalc snapshot), a directory (a kernel source tree, for source mode),
``-`` (standard input), ``live`` (the running kernel's BTF), nothing (the first
bundled snapshot) or, in notebooks, part of a bundled snapshot's name.  Every
command and the notebook objects ask :func:`resolve`; the readers then read the
file as :func:`layoutcalc.readers.sniff` finds it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Optional

from ..datafiles import data_dir
from ..errors import InputError, NotFoundError
from ..safe_read import STDIN
from . import sniff
from .btf import LIVE_BTF

KINDS = ("elf", "btf", "snapshot", "source-tree", "stdin")


class InputRef(NamedTuple):
    """An input resolved: the ``path`` to read and its ``kind`` (one of :data:`KINDS`)."""

    path: str
    kind: str

    @property
    def is_source_tree(self) -> bool:
        return self.kind == "source-tree"


def bundled_snapshots() -> list[Path]:
    """The snapshots of real builds shipped in ``data/``, in a stable order."""
    return sorted(data_dir().glob("*.snapshot.json"))


def resolve(given: Optional[str], *, bundled_names: bool = False) -> InputRef:
    """The input ``given`` names (None: the first bundled snapshot; ``live``: the running kernel's BTF).

    With ``bundled_names`` a string that is no file may name a bundled snapshot by (part of) its
    name, as notebooks allow.  Raises InputError (unreadable or unknown kind) or NotFoundError.
    """
    if given is None or given == "":
        snapshots = bundled_snapshots()
        if not snapshots:
            raise InputError("no input given (-i) and no bundled snapshot in data/")
        return InputRef(str(snapshots[0]), "snapshot")
    if given == STDIN:
        return InputRef(given, "stdin")
    path = LIVE_BTF if given == "live" and not os.path.exists(given) else given
    if os.path.isdir(path):
        return InputRef(path, "source-tree")
    if bundled_names and not os.path.exists(path):
        return InputRef(_bundled_by_name(path), "snapshot")
    return InputRef(path, sniff(path))


def _bundled_by_name(text: str) -> str:
    bundled = bundled_snapshots()
    exact = [p for p in bundled if p.name.removesuffix(".snapshot.json") == text]
    matches = exact or [p for p in bundled if text in p.name]
    if len(matches) == 1:
        return str(matches[0])
    names = ", ".join(p.name.removesuffix(".snapshot.json") for p in bundled)
    if not matches:
        raise NotFoundError(f"{text}: no such file, and no bundled snapshot by that name (bundled: {names})")
    raise NotFoundError(f"{text}: names {len(matches)} bundled snapshots; say which ({names})")
