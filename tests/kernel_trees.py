"""Kernel source trees for source-mode tests, unpacked into a cache outside the repository.

Linux 2.6.22.19 comes from a git mirror of github.com/j0n3lson/linux-2.6.22.19-cs370 at its
import commit 1ee3a188 only (later commits change task_struct). A test that needs it
calls :func:`linux_2622` and is skipped, with the reason, when no mirror is at hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("LAYOUTCALC_CACHE", Path.home() / ".cache" / "layoutcalc"))
COMMIT_2622 = "1ee3a188bad8ab75f7961187a8a9e56ad54720f8"
MIRROR_2622 = os.environ.get("LAYOUTCALC_LINUX_2622_GIT",
                             "/work/.mirror/j0n3lson+linux-2.6.22.19-cs370/repo/.git")


def linux_2622() -> str:
    """Path of the unpacked 2.6.22.19 tree (commit 1ee3a188); skip the calling test if it cannot be had."""
    target = CACHE / "src" / f"linux-2.6.22.19-{COMMIT_2622[:8]}"
    if (target / "Makefile").is_file():
        return str(target)
    if shutil.which("git") is None or not os.path.isdir(MIRROR_2622):
        pytest.skip(f"no git mirror of linux-2.6.22.19 at {MIRROR_2622} (set LAYOUTCALC_LINUX_2622_GIT)")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = subprocess.Popen(["git", "--git-dir", MIRROR_2622, "archive", COMMIT_2622], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout)
    archive.wait()
    if archive.returncode or untar.returncode:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.skip(f"git archive {COMMIT_2622[:8]} from {MIRROR_2622} failed")
    partial.rename(target)
    return str(target)
