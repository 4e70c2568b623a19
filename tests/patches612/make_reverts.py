"""Real layout patches from the history between linux-source-6.1 (6.1.176) and 6.12 (6.12.118).

For each struct below, the body in 6.12 and in 6.1 are compared line by line; each differing run becomes
one patch on the 6.12 header that puts that run back as 6.1 had it ("revert one change"), written with
``diff -up``.  Candidates go to OUT; only those whose patched 6.12 tree compiles are kept in the corpus
(the truth must exist); which ones the prediction gets right plays no part in the choice.
``python3 tests/patches612/make_reverts.py TREE612 TREE61 OUT``
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STRUCTS = {
    "include/linux/sched.h": ["task_struct"],
    "include/linux/sched/signal.h": ["signal_struct"],
    "include/linux/pid.h": ["pid"],
    "include/linux/cred.h": ["cred"],
    "include/linux/dcache.h": ["dentry"],
    "include/linux/blk_types.h": ["bio", "block_device"],
    "include/linux/fs.h": ["inode", "file", "super_block", "address_space"],
    "include/linux/mm_types.h": ["mm_struct", "vm_area_struct"],
    "include/linux/skbuff.h": ["sk_buff"],
    "include/net/sock.h": ["sock"],
    "include/linux/netdevice.h": ["net_device"],
    "include/linux/module.h": ["module"],
    "include/linux/device.h": ["device"],
    "include/linux/kobject.h": ["kobject"],
    "include/linux/hrtimer_types.h": ["hrtimer"],
}


def _body(lines: list[str], name: str) -> tuple[int, int] | None:
    for start, line in enumerate(lines):
        if re.match(rf"^struct {name} \{{", line) or (line.rstrip() == f"struct {name}"
                                                      and lines[start + 1].startswith("{")):
            for end in range(start + 1, len(lines)):
                if lines[end].startswith("}"):
                    return start + 1, end
    return None


def main(new_tree: str, old_tree: str, out: str) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for header, names in STRUCTS.items():
        new_path, old_path = Path(new_tree) / header, Path(old_tree) / header
        if not new_path.is_file() or not old_path.is_file():
            continue
        new_lines = new_path.read_text().splitlines(keepends=True)
        old_lines = old_path.read_text().splitlines(keepends=True)
        for name in names:
            new_span, old_span = _body(new_lines, name), _body(old_lines, name)
            if not new_span or not old_span:
                continue
            new_body = new_lines[new_span[0]:new_span[1]]
            old_body = old_lines[old_span[0]:old_span[1]]
            matcher = difflib.SequenceMatcher(a=new_body, b=old_body, autojunk=False)
            for number, (tag, i1, i2, j1, j2) in enumerate(matcher.get_opcodes()):
                if tag == "equal":
                    continue
                changed = new_lines[:new_span[0] + i1] + old_body[j1:j2] + new_lines[new_span[0] + i2:]
                with tempfile.TemporaryDirectory() as scratch:
                    a, b = Path(scratch) / "a" / header, Path(scratch) / "b" / header
                    a.parent.mkdir(parents=True)
                    b.parent.mkdir(parents=True)
                    a.write_text("".join(new_lines))
                    b.write_text("".join(changed))
                    diff = subprocess.run(["diff", "-up", f"a/{header}", f"b/{header}"], cwd=scratch,
                                          capture_output=True, text=True).stdout
                diff = "\n".join(line.split("\t")[0] if line.startswith(("--- a/", "+++ b/")) else line
                                 for line in diff.splitlines()) + "\n"
                (target / f"revert-{name}-{number:02d}.patch").write_text(diff)


if __name__ == "__main__":
    main(*sys.argv[1:4])
