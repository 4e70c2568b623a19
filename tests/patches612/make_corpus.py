"""Write the 6.12 patch corpus: realistic layout edits of linux-source-6.12 (6.12.118) headers, as ``diff -up``.

Run once by hand (``python3 tests/patches612/make_corpus.py TREE``); the patches are committed.  Each
entry is (name, [(header, old text, new text), ...], mail): the old text must occur once in the header.
A ``mail`` entry is wrapped as ``git format-patch`` would (From/Subject/---/diffstat).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

P, C, S, SK, D, B, M, F = ("include/linux/pid.h", "include/linux/cred.h", "include/linux/sched/signal.h",
                           "include/linux/skbuff.h", "include/linux/dcache.h", "include/linux/blk_types.h",
                           "include/linux/mm_types.h", "include/linux/fs.h")
T = "include/linux/sched.h"
N612 = "include/linux/netdevice.h"

CORPUS: list[tuple[str, list[tuple[str, str, str]], bool]] = [
    ("pid-remove-stashed", [(P, "\tspinlock_t lock;\n\tstruct dentry *stashed;\n", "\tspinlock_t lock;\n")], False),
    ("pid-retype-level", [(P, "\tunsigned int level;\n", "\tunsigned long level;\n")], False),
    ("pid-rename-ino", [(P, "\tu64 ino;\n", "\tu64 inode_nr;\n")], False),
    ("pid-move-ino", [(P, "\tu64 ino;\n\t/* lists", "\t/* lists"),
                      (P, "\tstruct rcu_head rcu;\n\tstruct upid numbers[];", "\tstruct rcu_head rcu;\n\tu64 ino;\n"
                       "\tstruct upid numbers[];")], False),
    ("pid-replace-union", [(P, "\tstruct dentry *stashed;\n", "\tunion {\n\t\tstruct dentry *stashed;\n"
                            "\t\tunsigned long stashed_word;\n\t};\n")], False),
    ("pid-new-struct-first", [(P, "\tu64 ino;\n", "\tstruct {\n\t\tu32 ino_gen;\n\t\tu64 ino;\n\t};\n")], False),
    ("pid-enum-array", [(P, "\tstruct hlist_head inodes;\n", "\tstruct hlist_head inodes;\n"
                         "\tunsigned int counts[PIDTYPE_MAX];\n")], False),
    ("pid-enum-retype-array", [(P, "\tstruct hlist_head tasks[PIDTYPE_MAX];\n",
                                "\tstruct hlist_head tasks[PIDTYPE_MAX + 1];\n")], False),
    ("pid-define-array", [(P, "struct pid\n{", "#define PID_STAMPS 3\n\nstruct pid\n{"),
                          (P, "\tstruct hlist_head inodes;\n", "\tstruct hlist_head inodes;\n"
                           "\tu64 stamps[PID_STAMPS];\n")], False),
    ("pid-bitfields", [(P, "\tunsigned int level;\n", "\tunsigned int level:8;\n\tunsigned int dying:1;\n")], False),
    ("pid-aligned", [(P, "\tu64 ino;\n", "\tu64 ino;\n\tu8 stamp __aligned(16);\n")], False),
    ("pid-cacheline", [(P, "\twait_queue_head_t wait_pidfd;\n", "\twait_queue_head_t wait_pidfd "
                        "____cacheline_aligned;\n")], False),
    ("pid-packed-struct", [(P, "\tu64 ino;\n", "\tu64 ino;\n\tstruct {\n\t\tu8 kind;\n\t\tu32 gen;\n\t} __packed "
                            "tag;\n")], False),
    ("pid-struct-group", [(P, "\trefcount_t count;\n\tunsigned int level;\n",
                           "\tstruct_group(hdr,\n\t\trefcount_t count;\n\t\tunsigned int level;\n\t);\n")], False),
    ("pid-struct-group-tagged", [(P, "\trefcount_t count;\n\tunsigned int level;\n",
                                  "\tstruct_group_tagged(pid_hdr, hdr,\n\t\trefcount_t count;\n"
                                  "\t\tunsigned int level;\n\t);\n")], False),
    ("pid-mail", [(P, "\tu64 ino;\n", "\tu64 ino;\n\tu32 flags;\n")], True),
    ("cred-remove-in-keys", [(C, "\tunsigned char\tjit_keyring;\t/* default keyring to attach requested\n"
                              "\t\t\t\t\t * keys to */\n", "")], False),
    ("cred-add-after-security", [(C, "\tvoid\t\t*security;\t/* LSM security */\n", "\tvoid\t\t*security;\t/* LSM "
                                  "security */\n\tu32\t\tsecid;\n")], False),
    ("cred-nested-union-add", [(C, "\t\tint non_rcu;\t\t\t/* Can we skip RCU deletion? */\n",
                                "\t\tint non_rcu;\t\t\t/* Can we skip RCU deletion? */\n\t\tstruct {\n"
                                "\t\t\tu32 a, b, c, d, e;\n\t\t};\n")], False),
    ("cred-new-config-member", [(C, "\tstruct ucounts *ucounts;\n", "\tstruct ucounts *ucounts;\n"
                                 "#ifdef CONFIG_CRED_STAMP\n\tu64 stamp;\n#endif\n")], False),
    ("cred-two-hunks", [(C, "\tunsigned\tsecurebits;\t/* SUID-less security management */\n",
                         "\tunsigned\tsecurebits;\t/* SUID-less security management */\n\tunsigned\textra;\n"),
                        (C, "\tstruct group_info *group_info;\t/* supplementary groups for euid/fsgid */\n",
                         "\tstruct group_info *group_info;\t/* supplementary groups for euid/fsgid */\n"
                         "\tvoid *cookie;\n")], False),
    ("dentry-iname-define", [(D, "\tunsigned char d_iname[DNAME_INLINE_LEN];\t/* small names */\n",
                              "\tunsigned char d_iname[DNAME_INLINE_LEN + 8];\t/* small names */\n")], False),
    ("dentry-du-add", [(D, "\t \tstruct rcu_head d_rcu;\n\t} d_u;", "\t \tstruct rcu_head d_rcu;\n"
                        "\t\tstruct {\n\t\t\tvoid *a, *b, *c;\n\t\t} big;\n\t} d_u;")], False),
    ("dentry-remove-union-member", [(D, "\t\twait_queue_head_t *d_wait;\t/* in-lookup ones only */\n", "")], False),
    ("dentry-flags-bitfield", [(D, "\tunsigned int d_flags;\t\t/* protected by d_lock */\n",
                                "\tunsigned int d_flags:24;\t\t/* protected by d_lock */\n"
                                "\tunsigned int d_gen:8;\n")], False),
    ("skb-ext-u8", [(SK, "\tu8 chunks;\t\t/* same */\n", "\tu8 chunks;\t\t/* same */\n\tu8 flags;\n")], False),
    ("skb-ext-flex", [(SK, "\tchar data[] __aligned(8);\n", "\tDECLARE_FLEX_ARRAY(char, data) __aligned(8);\n")],
     False),
    ("bio-nested-union", [(B, "\t\tunsigned int\t\t__bi_nr_segments;\n", "\t\tunsigned int\t\t__bi_nr_segments;\n"
                           "\t\tu64\t\t\tbi_stamp;\n")], False),
    ("bio-retype-flags", [(B, "\tunsigned short\t\tbi_flags;\t/* BIO_* below */\n",
                           "\tunsigned int\t\tbi_flags;\t/* BIO_* below */\n")], False),
    ("bio-move-private", [(B, "\tvoid\t\t\t*bi_private;\n#ifdef CONFIG_BLK_CGROUP", "#ifdef CONFIG_BLK_CGROUP"),
                          (B, "\tstruct bio\t\t*bi_next;\t/* request queue link */\n",
                           "\tstruct bio\t\t*bi_next;\t/* request queue link */\n\tvoid\t\t\t*bi_private;\n")],
     False),
    ("task-sched-bits", [(T, "\tunsigned\t\t\tsched_task_hot:1;\n", "\tunsigned\t\t\tsched_task_hot:1;\n"
                          "\tunsigned\t\t\tsched_new_bit:1;\n")], False),
    ("task-remove-bit", [(T, "\tunsigned\t\t\tsched_migrated:1;\n", "")], False),
    ("skb-headers-group-bit", [(SK, "\t__u8\t\t\tooo_okay:1;\n", "\t__u8\t\t\tooo_okay:1;\n"
                                "\t__u8\t\t\tnew_flag:1;\n")], False),
    ("skb-headers-group-u32", [(SK, "\tstruct_group(headers,\n",
                                "\tstruct_group(headers,\n\n\tu32\t\t\tearly_mark;\n")], False),
    ("signal-retype-quick", [(S, "\tint\t\t\tquick_threads;\n", "\tlong\t\t\tquick_threads;\n")], False),
    ("signal-remove-two", [(S, "\tatomic_t\t\tlive;\n\tint\t\t\tnr_threads;\n\tint\t\t\tquick_threads;\n",
                            "\tint\t\t\tnr_threads;\n")], False),
    ("netdev-priv-flags-group", [(N612, "\t\tunsigned long\t\tlltx:1;\n", "\t\tunsigned long\t\tlltx:1;\n"
                                  "\t\tunsigned long\t\tnew_fast:1;\n")], False),
    ("netdev-cacheline-group", [(N612, "\t__cacheline_group_begin(net_device_read_tx);\n",
                                 "\t__cacheline_group_begin(net_device_read_tx);\n\tvoid *tx_hint;\n")], False),
    ("inode-acl-configured-out", [(F, "\tstruct posix_acl\t*i_default_acl;\n#endif\n", "\tstruct posix_acl\t"
                                   "*i_default_acl;\n\tstruct posix_acl\t*i_extra_acl;\n#endif\n")], False),
    ("inode-after-flags", [(F, "\tunsigned int\t\ti_flags;\n\n#ifdef CONFIG_FS_POSIX_ACL",
                            "\tunsigned int\t\ti_flags;\n\tunsigned int\t\ti_gen2;\n\n#ifdef CONFIG_FS_POSIX_ACL")],
     False),
    ("mm-count-group", [(M, "\t\t\tatomic_t mm_count;\n\t\t} ____cacheline_aligned_in_smp;\n",
                         "\t\t\tatomic_t mm_count;\n\t\t\tatomic_t mm_count2;\n\t\t} ____cacheline_aligned_in_smp;\n")],
     False),
    ("mm-after-mmap-base", [(M, "\t\tunsigned long mmap_base;\t/* base of mmap area */\n",
                             "\t\tunsigned long mmap_base;\t/* base of mmap area */\n\t\tunsigned long mmap_hint;\n")],
     False),
    ("two-files-pid-cred", [(P, "\tu64 ino;\n", "\tu64 ino;\n\tu64 ino2;\n"),
                            (C, "\tstruct ucounts *ucounts;\n", "\tstruct ucounts *ucounts;\n\tu16 flags16;\n")],
     True),
]


def main(tree: str) -> None:
    out = Path(__file__).parent
    for name, edits, mail in CORPUS:
        with tempfile.TemporaryDirectory() as scratch:
            a, b = Path(scratch) / "a", Path(scratch) / "b"
            for header, old, new in edits:
                for side in (a, b):
                    target = side / header
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text((Path(tree) / header).read_text())
                text = (b / header).read_text()
                assert text.count(old) == 1, (name, header, old)
                (b / header).write_text(text.replace(old, new))
            diff = subprocess.run(["diff", "-rup", "a", "b"], cwd=scratch, capture_output=True, text=True).stdout
            diff = "".join(line + "\n" for line in diff.splitlines()
                           if not line.startswith("diff -rup"))
            diff = "\n".join(_label(line) for line in diff.splitlines()) + "\n"
        if mail:
            diff = (f"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: A Developer "
                    f"<dev@example.org>\nSubject: [PATCH] {name}\n\nA change of layout.\n\nSigned-off-by: A Developer "
                    f"<dev@example.org>\n---\n 1 file changed\n\n{diff}-- \n2.39.5\n")
        (out / f"{name}.patch").write_text(diff)


def _label(line: str) -> str:
    if line.startswith(("--- a/", "+++ b/")):
        return line.split("\t")[0]
    return line


if __name__ == "__main__":
    main(sys.argv[1])
