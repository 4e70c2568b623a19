"""Property test: the what-if engine against the compilers, on every ABI.

Hypothesis generates random C structs (scalars, pointers, arrays, nested and
anonymous structs/unions, named and unnamed bitfields, ``packed``,
``aligned(N)`` on members and types, flexible array members).  Each batch is
compiled with ``-c -g -O0`` for every ABI, and for every struct:

* relaying out the struct read from the compiler's DWARF reproduces every
  member's bit offset and the size, and its alignment is ``_Alignof``;
* a variant compiled without 1-3 of its members, with those members added
  back at their anchors by :func:`add_fields`, equals the full struct's DWARF.

Both checks run on the raw DWARF and again after the readers' alignment
inference.  The compiler is the oracle; 0 mismatches are allowed.

What DWARF cannot show is kept out of the generated structs, on purpose:
unnamed bitfields are never last (a trailing one leaves no trace), never in
packed structs, and use a type some named bitfield before them already uses
(on ARM and AArch64 they raise the struct's alignment, invisibly); members
are removed only after the last unnamed bitfield and not right after it (the
variant would lose the gap it leaves); packed types are never nested (their
alignment of 1 is invisible when their layout happens to be natural), and
the top-level ``packed`` flag is taken from the source, as DWARF has none.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from layoutcalc import api
from layoutcalc.abi import Abi, get_abi
from layoutcalc.analysis.facts import DebugInfo, World, debug_info_of
from layoutcalc.analysis.facts import layout_alignment
from layoutcalc.analysis.relayout import check_layout_matches, relayout
from layoutcalc.analysis.whatif import FieldSpec, add_fields
from layoutcalc.model import ArrayType, Build, Member, QualifiedType, StructType, Type, TypedefType
from layoutcalc.readers.dwarf import read_dwarf

COMPILERS: dict[str, list[str]] = {
    "x86_64": ["gcc", "-m64"],
    "i386": ["gcc", "-m32"],
    "aarch64": ["clang", "--target=aarch64-linux-gnu"],
    "arm": ["clang", "--target=arm-linux-gnueabihf"],
    "ppc64le": ["clang", "--target=powerpc64le-linux-gnu"],
    "s390x": ["clang", "--target=s390x-linux-gnu"],
    "riscv64": ["clang", "--target=riscv64-linux-gnu"],
}
BATCH_SIZE = 100
BATCHES = 29
MIN_STRUCTS_PER_ABI = 2900
MIN_HIDDEN_CASES = 20000

SCALARS = [
    "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long", "float", "double", "long double",
    "_Bool", "void *", "char *", "enum colour", "void (*)(int)",
]
# (type, widest width used).  Long is 32 bits on i386 and arm.  Full-width bitfields are left
# out: clang describes a packed one at a non-byte bit offset as a plain member at a byte offset.
BITFIELD_TYPES = [
    ("char", 7), ("unsigned char", 7), ("short", 15), ("unsigned short", 15), ("int", 31),
    ("unsigned int", 31), ("long", 31), ("unsigned long", 31), ("long long", 63),
    ("unsigned long long", 63), ("_Bool", 1),
]
PRELUDE = """
enum colour { RED, GREEN, BLUE };
struct h_small { char c; short s; };
union h_union { int i; char c[5]; };
struct __attribute__((aligned(16))) h_aligned { char c; };
struct h_bits { long long x; char c:3; unsigned int u:7; };
struct h_gap { char a; int :0; char b; };
struct h_double { double d; char c; };
struct h_chars { char c[3]; };
struct h_ld { long double ld; short s; };
"""
HELPERS = ["struct h_small", "union h_union", "struct h_aligned", "struct h_bits", "struct h_gap",
           "struct h_double", "struct h_chars", "struct h_ld"]
ALIGNMENTS = [1, 2, 4, 8, 16, 32, 64]


@dataclass
class Decl:
    """One member declaration of a generated struct."""

    text: str  # with {name} where the member name goes
    name: Optional[str]  # None for unnamed bitfields and anonymous aggregates
    aligned: Optional[int] = None
    unnamed_bitfield: bool = False
    leaves: list[str] = field(default_factory=list)  # names inside an anonymous aggregate

    def render(self, keep_aligned: bool = True) -> str:
        attr = f" __attribute__((aligned({self.aligned})))" if self.aligned and keep_aligned else ""
        return self.text.format(name=self.name or "") + attr + ";"


@dataclass
class StructDef:
    """A generated struct and the members its variant leaves out."""

    kind: str
    decls: list[Decl]
    packed: bool
    aligned: Optional[int]
    removed: list[int]

    def render(self, name: str, skip: frozenset[int] = frozenset(), drop_aligned: Optional[int] = None) -> str:
        """The definition, without the members ``skip`` and without one alignment attribute.

        ``drop_aligned`` is the index of the member whose attribute is left out, or -1
        for the struct's own.
        """
        attrs = []
        if self.packed:
            attrs.append("packed")
        if self.aligned and drop_aligned != -1:
            attrs.append(f"aligned({self.aligned})")
        attr = f" __attribute__(({', '.join(attrs)}))" if attrs else ""
        body = " ".join(d.render(i != drop_aligned) for i, d in enumerate(self.decls) if i not in skip)
        return f"{self.kind}{attr} {name} {{ {body} }};"

    def attributes(self, skip: frozenset[int] = frozenset()) -> list[int]:
        """The alignment attributes of the definition without ``skip``: member indexes, -1 for the struct's."""
        found = [i for i, d in enumerate(self.decls) if d.aligned and i not in skip]
        return found + ([-1] if self.aligned else [])


def _declarator(c_type: str, name: str) -> str:
    if "(*)" in c_type:
        return c_type.replace("(*)", "(*" + name + ")")
    return f"{c_type} {name}"


@st.composite
def plain_member(draw: st.DrawFn, name: str, allow_aligned: bool) -> Decl:
    """A scalar, pointer, array or helper-typed member."""
    c_type = draw(st.sampled_from(SCALARS + HELPERS))
    text = _declarator(c_type, "{name}")
    if draw(st.integers(0, 4)) == 0 and "(*)" not in c_type:
        text += "".join(f"[{draw(st.integers(1, 4))}]" for _ in range(draw(st.integers(1, 2))))
    aligned = draw(st.sampled_from(ALIGNMENTS)) if allow_aligned and draw(st.integers(0, 7)) == 0 else None
    return Decl(text, name, aligned)


@st.composite
def anonymous_member(draw: st.DrawFn, prefix: str) -> Decl:
    """``union { ... };`` or ``struct { ... };`` with a few named members."""
    kind = draw(st.sampled_from(["union", "struct"]))
    parts, leaves = [], []
    for index in range(draw(st.integers(1, 3))):
        leaf = f"{prefix}_{index}"
        if draw(st.booleans()):
            c_type, width = draw(st.sampled_from(BITFIELD_TYPES))
            parts.append(f"{c_type} {leaf}:{draw(st.integers(1, width))};")
        else:
            parts.append(draw(plain_member(leaf, allow_aligned=False)).render())
        leaves.append(leaf)
    body = " ".join(parts).replace("{", "{{").replace("}", "}}")
    return Decl(f"{kind} {{{{ {body} }}}}", None, leaves=leaves)


@st.composite
def struct_def(draw: st.DrawFn) -> StructDef:
    """A random struct or union definition, within what DWARF can show (see module doc)."""
    kind = "union" if draw(st.integers(0, 9)) == 0 else "struct"
    packed = kind == "struct" and draw(st.integers(0, 6)) == 0
    decls: list[Decl] = []
    bitfield_types: list[tuple[str, int]] = []
    for index in range(draw(st.integers(2, 8))):
        name = f"m{index}"
        choice = draw(st.integers(0, 9))
        if choice < 5:
            decls.append(draw(plain_member(name, allow_aligned=True)))
        elif choice < 8:
            c_type, width = draw(st.sampled_from(BITFIELD_TYPES))
            bitfield_types.append((c_type, width))
            decls.append(Decl(f"{c_type} {{name}}:{draw(st.integers(1, width))}", name))
        elif choice == 8 and bitfield_types and not packed and kind == "struct" and index > 0:
            c_type, width = draw(st.sampled_from(bitfield_types))
            decls.append(Decl(f"{c_type} :{draw(st.integers(0, width))}", None, unnamed_bitfield=True))
        else:
            decls.append(draw(anonymous_member(name)))
    while decls[-1].unnamed_bitfield:
        decls.pop()
    if kind == "struct" and draw(st.integers(0, 6)) == 0:
        decls.append(Decl(f"{draw(st.sampled_from(['int', 'char', 'long long', 'double']))} {{name}}[]",
                          f"m{len(decls)}_flex"))
    aligned = draw(st.sampled_from(ALIGNMENTS)) if draw(st.integers(0, 7)) == 0 else None
    return StructDef(kind, decls, packed, aligned, draw(_removals(decls)))


def _removals(decls: list[Decl]) -> st.SearchStrategy[list[int]]:
    last_unnamed = max((i for i, d in enumerate(decls) if d.unnamed_bitfield), default=-1)
    start = max(1, last_unnamed + 2)
    candidates = [i for i in range(start, len(decls)) if decls[i].name]
    if not candidates:
        return st.just([])
    return st.lists(st.sampled_from(candidates), min_size=1, max_size=min(3, len(candidates)),
                    unique=True).map(sorted)


def _variant_name(index: int, sdef: StructDef) -> str:
    """The struct a what-if starts from: the variant without the removed members, else the struct itself."""
    return f"s{index}_v" if sdef.removed else f"s{index}"


def _c_source(batch: list[StructDef]) -> str:
    """Each struct, its variant, and the variant once without each of its alignment attributes."""
    lines = [PRELUDE]
    for index, sdef in enumerate(batch):
        name, variant = f"s{index}", _variant_name(index, sdef)
        lines.append(sdef.render(name))
        lines.append(f"{sdef.kind} {name} var_{name}; char align_{name}[_Alignof({sdef.kind} {name})];")
        skip = frozenset(sdef.removed)
        if sdef.removed:
            lines.append(sdef.render(variant, skip))
            lines.append(f"{sdef.kind} {variant} var_{variant}; "
                         f"char align_{variant}[_Alignof({sdef.kind} {variant})];")
        for attribute in sdef.attributes(skip):
            for probed, without in {(variant, skip), (name, frozenset())}:
                probe = f"{probed}_x{attribute + 1}"
                lines.append(sdef.render(probe, without, attribute))
                lines.append(f"{sdef.kind} {probe} var_{probe}; char align_{probe}[_Alignof({sdef.kind} {probe})];")
    return "\n".join(lines) + "\n"


def _compile(source: Path, abi_name: str) -> Path:
    obj = source.with_suffix(f".{abi_name}.o")
    command = COMPILERS[abi_name] + ["-c", "-g", "-O0", "-w", str(source), "-o", str(obj)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}\n{source.read_text()}"
    return obj


def _alignments(obj: Path) -> dict[str, int]:
    """``_Alignof`` of each struct, from the size of its ``char align_X[...]`` symbol."""
    with open(obj, "rb") as stream:
        symtab = ELFFile(stream).get_section_by_name(".symtab")
        return {sym.name[len("align_"):]: sym["st_size"] for sym in symtab.iter_symbols()
                if sym.name.startswith("align_")}


def _anchor(decl: Decl) -> str:
    return decl.name or decl.leaves[0]


def _field_specs(sdef: StructDef, full: StructType) -> list[FieldSpec]:
    """The removed members as a patch would add them back: after the member before them."""
    removed = set(sdef.removed)
    named = {m.name: m for m in full.members if m.name}
    specs = []
    for index in sdef.removed:
        before = max(i for i in range(index) if i not in removed)
        member: Member = named[sdef.decls[index].name or ""]
        specs.append(FieldSpec(member.name or "", member.type, after=_anchor(sdef.decls[before]),
                               bit_size=member.bit_size, alignment_attr=sdef.decls[index].aligned))
    return specs


@dataclass
class Tally:
    """Per-ABI counts, printed at the end of the run."""

    structs: collections.Counter[str] = field(default_factory=collections.Counter)
    whatifs: collections.Counter[str] = field(default_factory=collections.Counter)
    hidden: collections.Counter[str] = field(default_factory=collections.Counter)
    traceless: collections.Counter[str] = field(default_factory=collections.Counter)
    judged: collections.Counter[str] = field(default_factory=collections.Counter)
    exact: collections.Counter[str] = field(default_factory=collections.Counter)
    mismatches: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)

    def fail(self, abi_name: str, stage: str, source: str, problems: list[str]) -> None:
        if problems:
            self.mismatches[abi_name] += 1
            self.failures.append(f"[{abi_name}, {stage}] {source}\n    " + "\n    ".join(problems))


def _mark_packed(build: Build, sdef: StructDef, index: int) -> None:
    """DWARF has no packed flag: take it from the source, as a patch's context would show it."""
    if sdef.packed:
        build.get_struct(f"s{index}").is_packed = True
        build.get_struct(_variant_name(index, sdef)).is_packed = True


def _check_recorded(tally: Tally, abi: Abi, build: Build, sdef: StructDef, index: int, align: int) -> None:
    """DWARF with its alignment attributes: the what-if is exact and equals the compiler."""
    name = f"s{index}"
    full = build.get_struct(name)
    problems = check_layout_matches(full, relayout(full, abi, full.members))
    if layout_alignment(full, abi) != align:
        problems.append(f"alignment {layout_alignment(full, abi)} != _Alignof {align}")
    tally.structs[abi.name] += 1
    if sdef.removed:
        result = add_fields(build.get_struct(f"{name}_v"), _field_specs(sdef, full), abi)
        problems += [f"what-if: {p}" for p in check_layout_matches(full, result.after)]
        if result.alignment_after != align or not result.exact:
            problems.append(f"what-if: alignment {result.alignment_after} != _Alignof {align} or not exact")
        tally.whatifs[abi.name] += 1
    tally.fail(abi.name, "DWARF with attributes", sdef.render(name), problems)


def _hidden(build: Build) -> Build:
    """A copy of ``build`` as -gstrict-dwarf and BTF give it: no alignment attribute anywhere."""
    copy = deepcopy(build)
    seen: set[int] = set()

    def strip(t: Type) -> None:
        if id(t) in seen:
            return
        seen.add(id(t))
        if isinstance(t, (TypedefType, StructType)):
            t.alignment_attr = None
        if isinstance(t, StructType):
            for member in t.members:
                member.alignment_attr = None
                strip(member.type)
        elif isinstance(t, (TypedefType, QualifiedType)):
            strip(t.target)
        elif isinstance(t, ArrayType):
            strip(t.element)

    for struct in copy.structs.values():
        strip(struct)
    copy.provenance = replace(copy.provenance, alignment_attributes=False)
    return copy


def _shape(struct: StructType) -> list[tuple[Optional[str], int, Optional[int]]]:
    return [(m.name, m.bit_offset, m.bit_size) for m in struct.members] + [(None, struct.size_bytes, None)]


def _check_hidden(tally: Tally, abi: Abi, recorded: Build, hidden: Build, sdef: StructDef, index: int,
                  alignments: dict[str, int]) -> None:
    """Attributes hidden: show and whatif agree, every world reproduces the layout, the compiler is in bounds."""
    name, variant_name = f"s{index}", _variant_name(index, sdef)
    variant = hidden.get_struct(variant_name)
    debug_info = debug_info_of(hidden)
    facts = api.facts_of(hidden, variant)
    problems = []
    shown = api.struct_stats(hidden, variant).alignment
    whatif = add_fields(variant, [], abi, "append", debug_info)
    if not shown == whatif.alignment_before == facts.alignment or facts.alignment not in facts.candidates:
        problems.append(f"show says alignment {shown}, whatif {whatif.alignment_before}, facts {facts.candidates}")
    for world in World:
        problems += [f"{world.value} world: {p}" for p in
                     check_layout_matches(variant, relayout(variant, abi, variant.members, debug_info, world))]
    tally.hidden[abi.name] += 1
    if _traceless(recorded, alignments, sdef, index):
        tally.traceless[abi.name] += 1  # an attribute that leaves no trace cannot be inferred by anyone
    else:
        if alignments[variant_name] not in facts.candidates:
            problems.append(f"_Alignof {alignments[variant_name]} not among candidates {facts.candidates}")
        if sdef.removed:
            problems += _judge_whatif(tally, abi, hidden, sdef, index, alignments[name], debug_info)
    if problems:
        problems.append(f"variant: {sdef.render(variant_name, frozenset(sdef.removed))}")
        problems.append(f"facts: {facts.candidates} {[(m.name, m.candidates, m.source.value) for m in facts.members]}")
    tally.fail(abi.name, "attributes hidden", sdef.render(name), problems)


def _traceless(recorded: Build, alignments: dict[str, int], sdef: StructDef, index: int) -> bool:
    """True if an attribute of the variant leaves no trace in its layout yet matters.

    Each attribute was compiled away once (``_x`` probes).  One whose removal changes
    neither layout nor alignment (``aligned(2)`` on an int) hides nothing.
    """
    names = (_variant_name(index, sdef), f"s{index}")
    for attribute in sdef.attributes(frozenset(sdef.removed)):
        probes = [f"{name}_x{attribute + 1}" for name in names]
        same = [_shape(recorded.get_struct(name)) == _shape(recorded.get_struct(probe))
                and alignments[name] == alignments[probe] for name, probe in zip(names, probes)]
        layout_kept = _shape(recorded.get_struct(names[0])) == _shape(recorded.get_struct(probes[0]))
        if layout_kept and not all(same):
            return True
    return False


def _judge_whatif(tally: Tally, abi: Abi, hidden: Build, sdef: StructDef, index: int, align: int,
                  debug_info: DebugInfo) -> list[str]:
    full = hidden.get_struct(f"s{index}")
    result = add_fields(hidden.get_struct(f"s{index}_v"), _field_specs(sdef, full), abi, "as-patched", debug_info)
    tally.judged[abi.name] += 1
    if not result.size_after_min <= full.size_bytes <= result.size_after_max:
        return [f"what-if: compiler's size {full.size_bytes} outside {result.size_after_min}..{result.size_after_max}"]
    if not result.exact:
        return []
    tally.exact[abi.name] += 1
    problems = [f"what-if claims exact: {p}" for p in check_layout_matches(full, result.after)]
    if result.alignment_after != align:
        problems.append(f"what-if claims exact: alignment {result.alignment_after} != _Alignof {align}")
    return problems


def _check_batch(tally: Tally, batch: list[StructDef]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "batch.c"
        source.write_text(_c_source(batch))
        with ThreadPoolExecutor(max_workers=4) as pool:
            objects = dict(zip(COMPILERS, pool.map(lambda a: _compile(source, a), COMPILERS)))
        for abi_name, obj in objects.items():
            abi = get_abi(abi_name)
            recorded = read_dwarf(str(obj), None)
            alignments = _alignments(obj)
            for index, sdef in enumerate(batch):
                _mark_packed(recorded, sdef, index)
            hidden = _hidden(recorded)
            for index, sdef in enumerate(batch):
                _check_recorded(tally, abi, recorded, sdef, index, alignments[f"s{index}"])
                _check_hidden(tally, abi, recorded, hidden, sdef, index, alignments)


def _report(tally: Tally) -> str:
    lines = ["", "ABI        structs  what-ifs  hidden  traceless  judged  exact  exact%  mismatches"]
    for abi_name in COMPILERS:
        judged = tally.judged[abi_name]
        lines.append(f"{abi_name:<10} {tally.structs[abi_name]:>7}  {tally.whatifs[abi_name]:>8}  "
                     f"{tally.hidden[abi_name]:>6}  {tally.traceless[abi_name]:>9}  {judged:>6}  "
                     f"{tally.exact[abi_name]:>5}  {100 * tally.exact[abi_name] / max(judged, 1):>5.1f}%  "
                     f"{tally.mismatches[abi_name]:>10}")
    return "\n".join(lines)


def _run(capsys: pytest.CaptureFixture[str]) -> Tally:
    tally = Tally()

    @settings(max_examples=BATCHES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.lists(struct_def(), min_size=BATCH_SIZE, max_size=BATCH_SIZE))
    def check(batch: list[StructDef]) -> None:
        _check_batch(tally, batch)

    start = time.perf_counter()
    check()
    with capsys.disabled():
        print(_report(tally) + f"\n{sum(tally.hidden.values())} cases with attributes hidden, "
              f"{time.perf_counter() - start:.0f} s")
    return tally


needs_compilers = pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("clang")),
                                     reason="needs gcc (with multilib) and clang")


@needs_compilers
def test_whatif_against_compilers_with_attributes_recorded_and_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    """Recorded: exact and equal to the compiler.  Hidden: exact when it says so, else within its bounds."""
    tally = _run(capsys)
    assert not tally.failures, f"{len(tally.failures)} mismatches:\n" + "\n".join(tally.failures[:20])
    assert all(tally.structs[a] >= MIN_STRUCTS_PER_ABI for a in COMPILERS), dict(tally.structs)
    assert sum(tally.hidden.values()) >= MIN_HIDDEN_CASES, dict(tally.hidden)
