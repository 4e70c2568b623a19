"""A patched copy of only the files a patch touches, placed in front of the tree's include path.

The tree itself is never written: the touched files are copied into a
scratch directory, ``patch -p1`` is run there, and source mode puts the
directory's ``include`` (and ``arch/SRCARCH/include``) before the tree's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ...errors import InputError
from .tree import KernelTree

_TARGET = re.compile(r"^\+\+\+ (?:b/)?(\S+)", re.M)


def patched_files(patch_text: str) -> list[str]:
    """Paths (relative to the tree root) the unified diff writes."""
    return [path for path in _TARGET.findall(patch_text) if path != "/dev/null"]


def make_overlay(tree: KernelTree, patch_path: str, directory: Path) -> list[str]:
    """Copy the files ``patch_path`` touches into ``directory`` and apply it there; returns those paths."""
    try:
        text = Path(patch_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{patch_path}: cannot read patch ({exc})") from None
    files = patched_files(text)
    if not files:
        raise InputError(f"{patch_path}: no '+++ b/FILE' line, not a unified diff")
    for relative in files:
        source = tree.root / relative
        if not source.is_file():
            raise InputError(f"{patch_path}: patches {relative}, which {tree.root} does not have")
        if not relative.startswith(("include/", "arch/")):
            raise InputError(f"{patch_path}: patches {relative}; only headers under include/ or arch/ can be "
                             "verified")
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    if shutil.which("patch") is None:
        raise InputError("verifying a patch needs the 'patch' program, which is not installed")
    result = subprocess.run(["patch", "-p1", "--batch", "--silent", "-d", str(directory), "-i",
                             str(Path(patch_path).resolve())], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = (result.stdout + result.stderr).strip().splitlines()
        raise InputError(f"{patch_path}: does not apply to {tree.root}: {message[0] if message else 'patch failed'}")
    return files
