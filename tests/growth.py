"""C fixtures where structs grow, shrink and change, compiled at test time, with the compiler's own layout.

:func:`build_pair` compiles an OLD and a NEW translation unit with gcc; the
oracle (:func:`compiler_layout`) is a second object per version whose
globals hold ``sizeof`` of each struct and ``offsetof``/``sizeof`` of each
member, read back from the object file: nothing of layoutcalc is involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from cc import compile_c, symbol_words

OLD = """
struct widget { int id; char flag; long count; short level; };
struct steady { int x; long y; };
struct doomed { int z; };
struct shrinker { long a; long b; long c; };
struct bits { unsigned a:3; unsigned b:5; int tail; };
struct big { char data[120]; int n; };
"""

NEW = """
struct widget { long id; char flag; short prio; long count; short level; union { int u; long ul; }; };
struct steady { int x; long y; };
struct fresh { char name[16]; };
struct shrinker { long a; long c; };
struct bits { unsigned a:3; unsigned b:7; int tail; };
struct big { char data[128]; int n; };
"""

OLD_STRUCTS = {"widget": ["id", "flag", "count", "level"], "steady": ["x", "y"], "doomed": ["z"],
               "shrinker": ["a", "b", "c"], "bits": ["tail"], "big": ["data", "n"]}
NEW_STRUCTS = {"widget": ["id", "flag", "prio", "count", "level", "u", "ul"], "steady": ["x", "y"],
               "fresh": ["name"], "shrinker": ["a", "c"], "bits": ["tail"], "big": ["data", "n"]}


class Layout(NamedTuple):
    """The compiler's answer for one struct: its size and (offset, size) per member."""

    size: int
    members: dict[str, tuple[int, int]]


def _instances(source: str, structs: dict[str, list[str]]) -> str:
    return source + "".join(f"struct {name} instance_{name};\n" for name in structs)


def _probe(source: str, structs: dict[str, list[str]]) -> str:
    code = [source]
    for name, members in structs.items():
        words = [f"sizeof(struct {name})"]
        for member in members:
            words += [f"__builtin_offsetof(struct {name}, {member})", f"sizeof(((struct {name} *)0)->{member})"]
        code.append(f"unsigned long long probe_{name}[] = {{ {', '.join(words)} }};")
    return "\n".join(code) + "\n"


def compiler_layout(obj: Path, structs: dict[str, list[str]]) -> dict[str, Layout]:
    """sizeof/offsetof/member sizeof as the compiler computed them into ``obj``."""
    result = {}
    for name, members in structs.items():
        words = symbol_words(obj, f"probe_{name}")
        result[name] = Layout(words[0], {m: (words[1 + 2 * i], words[2 + 2 * i]) for i, m in enumerate(members)})
    return result


class Pair(NamedTuple):
    old: Path
    new: Path
    old_layout: dict[str, Layout]
    new_layout: dict[str, Layout]


def build_pair(directory: Path) -> Pair:
    """Compile OLD and NEW (DWARF 5, like Debian's kernels) and their layout probes."""
    old = compile_c(_instances(OLD, OLD_STRUCTS), directory, "old", debug_flags=("-gdwarf-5",))
    new = compile_c(_instances(NEW, NEW_STRUCTS), directory, "new", debug_flags=("-gdwarf-5",))
    old_probe = compile_c(_probe(OLD, OLD_STRUCTS), directory, "old_probe", debug_flags=())
    new_probe = compile_c(_probe(NEW, NEW_STRUCTS), directory, "new_probe", debug_flags=())
    return Pair(old, new, compiler_layout(old_probe, OLD_STRUCTS), compiler_layout(new_probe, NEW_STRUCTS))
