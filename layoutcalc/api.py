"""The one API that the CLI and notebooks share.

Each command's function (:func:`show`, :func:`sizes_of`, :func:`reorganize`, :func:`report`,
:func:`whatif`, :func:`slab`, :func:`diff`, :func:`baseline`, :func:`check`, :func:`history`,
:func:`snapshot`...) returns one result (:mod:`layoutcalc.features.results`) that carries its
warnings; :func:`layoutcalc.render.render` turns it into text, JSON, markdown, CSV or HTML.
The other functions are the steps they are made of.  Nothing here prints or exits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

from .abi import Abi, get_abi
from .datafiles import data_dir
from .analysis.layout import DEFAULT_CACHELINE, LayoutStats, layout_stats
from .model import Build, StructType, TypedefType
from .readers import cache, read_input, sniff
from .readers.inputs import resolve
from .safe_read import STDIN

if TYPE_CHECKING:
    from .analysis.facts import StructFacts
    from .analysis.query import MemberAt, SizeFilter
    from .features.budget import CheckResult
    from .features.diff import Catalogue, DiffResult
    from .features.report import BuildReport, Claim, ReportOptions
    from .features.results import (BaselineResult, CensusResult, HistoryResult, MembersAtResult, RelationsResult,
                                   ReorganizeResult, ReportResult, ShowResult, SizeHuntResult, SizesResult,
                                   SlabPredictionsResult, SlabResult, SnapshotResult, VerifyResult, WhatIfRun)
    from .changes.scenario import Scenario
    from .readers.kernel_source import SourceResult
    from .slab.patchcost import PatchCost
    from .slab.view import SlabView

def bundled_snapshots() -> list[Path]:
    """The snapshots of real builds shipped in ``data/``, in a stable order."""
    from .readers.inputs import bundled_snapshots as shipped
    return shipped()


def load(path: str, structs: Optional[Iterable[str]] = None, types: Optional[Iterable[str]] = None,
         arch: Optional[str] = None, progress: Optional[Callable[[int, int], None]] = None, *,
         any_kind: bool = False, every_definition: bool = False, btf_base: Optional[str] = None) -> Build:
    """Read any supported input (DWARF ELF, BTF, snapshot) into a Build ready for analysis.

    The build is the debug info as recorded; what it leaves unsaid (packing,
    alignments) is in :func:`facts_of`.  ``arch`` re-lays the structs out for another
    target (:mod:`layoutcalc.analysis.retarget`; for a raw BTF blob it says what the blob is).
    ``any_kind``: a name in ``structs`` may also be a typedef (pahole's ``-C``);
    ``every_definition``: fill ``build.variants`` with every same-name definition.
    """
    whole = structs is None and types is None
    key = _scan_cache_key(str(path)) if whole else None
    kind = "scan-every" if every_definition else "scan"
    build = cache.load(kind, key)
    if build is None:
        with cache.paused_gc():
            build = read_input(str(path), structs, types, arch, progress, any_kind=any_kind,
                               every_definition=every_definition, btf_base=btf_base)
        cache.store(kind, key, build)
    return prepare(build, arch)


def _scan_cache_key(path: str) -> Optional[str]:
    """The build-id of a linked ELF input (whole reads of it are cached), else None."""
    if not os.path.isfile(path):  # a FIFO would block this sniffing read; the reader refuses it in one line
        return None
    try:
        with open(path, "rb") as stream:
            if stream.read(4) != b"\x7fELF":
                return None
    except OSError:
        return None
    from .readers.dwarf import scan_cache_key
    return scan_cache_key(path)


def require_structs(path: str, names: Iterable[str]) -> None:
    """Raise NotFoundError, naming the closest matches, for a struct ``path`` surely lacks.

    Answered before any DWARF is read, from the cached index or the
    ``.BTF`` section (under a second on a distribution vmlinux); for other
    inputs the answer is left to :func:`load`.
    """
    if resolve(str(path)).kind == "elf":
        from .readers.dwarf import check_names
        check_names(str(path), names)


def sizes_of(path: str, progress: Optional[Callable[[int, int], None]] = None,
             every_definition: bool = False) -> "SizesResult":
    """``sizes``: :func:`sizes` of the whole input at ``path``, remembered per build-id (and layoutcalc code).

    ``every_definition`` lists each distinct same-name definition, as ``pahole --sizes`` does.
    """
    key = _scan_cache_key(str(path))
    kind = "sizes-every" if every_definition else "sizes"
    rows = cache.load(kind, key)
    if rows is None:
        # read_input, not load: the rows are cached, and keeping the whole build as well costs more than it
        # saves.  No garbage collection meanwhile: each would walk a whole kernel's types (1 s of 4, measured).
        with cache.paused_gc():
            rows = sizes(_read_for_sizes(str(path), progress, every_definition))
        cache.store(kind, key, rows)
    from .features.results import SizesResult
    return SizesResult(tuple(rows))


def prepare(build: Build, arch: Optional[str] = None) -> Build:
    """``build`` retargeted to ``arch`` if given (a new build; ``build`` itself is left as read)."""
    if arch is not None:
        from .analysis.retarget import retarget
        build = retarget(build, get_abi(arch))
    return build


SEED_STRUCTS = ("task_struct", "signal_struct", "pid")
# What the default scenarios and the slab model name besides the seed's structs.
SNAPSHOT_STRUCTS = SEED_STRUCTS + ("upid", "hlist_node", "fpu")
SNAPSHOT_TYPES = ("pid_t", "int", "unsigned int", "long int", "long unsigned int")
# What patches against kernel headers commonly declare; source mode records those the tree has.
KERNEL_TYPES = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "bool", "size_t", "atomic_t",
                "atomic64_t", "refcount_t", "spinlock_t", "unsigned char", "short int", "short unsigned int",
                "char", "long long int", "long long unsigned int", "_Bool")


def snapshot(path: str, out: str, structs: Sequence[str] = (), types: Sequence[str] = (),
             provenance: Optional[Mapping[str, object]] = None, *, kernel_source: bool = False,
             arch: str = "x86_64", config: Optional[str] = None) -> "SnapshotResult":
    """``snapshot``: extract what layout/what-if/slab need from ``path`` into the snapshot file ``out``.

    ``structs`` (default: the seed's and what scenarios name) and ``types`` are what it keeps;
    ``provenance`` adds facts to record (``{"package": ..., "version": ...}``, JSON keys of
    :class:`~layoutcalc.provenance.Provenance`) after the build's cache line size.  With
    ``kernel_source``, ``path`` is a kernel source tree compiled for ``arch`` under ``config``
    (default: its defconfig; :func:`source_snapshot`).
    """
    import dataclasses

    from .features.results import SnapshotResult
    if kernel_source:
        compiled = source_snapshot(path, arch, config, structs, out, provenance=provenance)
        return SnapshotResult(out, arch, tree=path, cached=compiled.cached, seconds=compiled.seconds)
    from .errors import NotFoundError
    from .readers.snapshot import write_snapshot
    from .safe_write import check_target
    check_target(out)  # before a scan that may take minutes
    wanted = list(structs) or list(SNAPSHOT_STRUCTS)
    build = load(path, structs=wanted, types=list(types) or list(SNAPSHOT_TYPES))
    missing = [name for name in wanted if not build.has_struct(name) and name in structs]
    if missing:
        raise NotFoundError(f"{path}: no struct named '{missing[0]}'")
    if not any(build.has_struct(name) for name in wanted):  # a snapshot of nothing hides damage
        raise NotFoundError(f"{path}: none of the structs {', '.join(wanted)} is in its debug info")
    abi = abi_of(build)
    build.name = build.name.removeprefix("vmlinux-")
    build.provenance = dataclasses.replace(build.provenance, cacheline_size=abi.cacheline_size
                                           ).with_facts(provenance or {})
    write_snapshot(build, out)
    return SnapshotResult(out, build.arch, len(build.structs) + len(build.unions))


def abi_of(build: Build) -> Abi:
    return get_abi(build.arch)


def facts_of(build: Build, struct: StructType) -> "StructFacts":
    """The layout facts (alignments and their sources) of one struct of ``build``."""
    from .analysis.facts import debug_info_of, struct_facts
    return struct_facts(struct, abi_of(build), debug_info_of(build))


def struct_stats(build: Build, struct: StructType,
                 cacheline_size: int = DEFAULT_CACHELINE) -> LayoutStats:
    """pahole's statistics for one struct of ``build``."""
    from .analysis.facts import debug_info_of
    from .analysis.facts import struct_stats as stats_of
    return stats_of(struct, abi_of(build), debug_info_of(build), cacheline_size)


def load_named(path: str, names: Sequence[str], arch: Optional[str] = None,
               progress: Optional[Callable[[int, int], None]] = None, btf_base: Optional[str] = None) -> Build:
    """Read what ``show NAME...`` needs: each name as a struct, a union or a typedef, as pahole's -C."""
    return load(path, structs=names, types=names, arch=arch, progress=progress, any_kind=True, btf_base=btf_base)


def find_type(build: Build, name: str) -> Union[StructType, TypedefType]:
    """The struct or union called ``name``, else the typedef of that name (pahole's -C lookup).

    An unknown name raises NotFoundError naming the closest names the input has.
    """
    if name in build.structs and name in build.unions:  # struct irte and union irte: the one defined first
        return min(build.structs[name], build.unions[name], key=_file_position)
    if build.has_struct(name):
        return build.get_struct(name)
    typedef = build.typedefs.get(name) or _reachable_typedef(build, name)
    if typedef is not None:
        return typedef
    import difflib

    from .errors import NotFoundError
    known = {*build.structs, *build.unions, *build.typedefs, *build.names_seen}
    close = difflib.get_close_matches(name, sorted(known), n=3)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise NotFoundError(f"{build.origin or build.name}: no struct named '{name}'{hint}")


def _file_position(struct: StructType) -> tuple[int, int]:
    """Where a definition sits in its file, from its origin ("DIE 0x1c2d", "BTF id 42"); unknown sorts structs first."""
    for prefix, base in (("DIE 0x", 16), ("BTF id ", 10)):
        if struct.origin and struct.origin.startswith(prefix):
            try:
                return (0, int(struct.origin[len(prefix):], base))
            except ValueError:
                break
    return (1, 0 if struct.kind == "struct" else 1)


def _reachable_typedef(build: Build, name: str) -> Optional[TypedefType]:
    """A typedef called ``name`` used somewhere in the build's structs (snapshots keep no other)."""
    from .typegraph import reachable
    return next((t for t in reachable([*build.structs.values(), *build.unions.values()], through_pointers=True)
                 if isinstance(t, TypedefType) and t.name == name), None)


def show(build: Build, names: Sequence[str], cacheline_size: int = DEFAULT_CACHELINE, *,
         stats: bool = True) -> "ShowResult":
    """``show NAME...``: the named structs, unions or typedefs, with (``stats``) their statistics.

    With ``stats`` a typedef name gives the struct it names (``layouts``), and a typedef
    that names no struct raises NotFoundError; without, the result is the text listing's
    (``render(result, "text")``, pahole's ``-C``).  An unknown name raises NotFoundError.
    """
    from .features.results import ShowResult
    found: list[Union[StructType, TypedefType]] = []
    layouts = []
    for name in names:
        found.append(find_type(build, name))
        if not stats:
            continue
        struct = found[-1].strip() if isinstance(found[-1], TypedefType) else found[-1]
        if not isinstance(struct, StructType):
            from .errors import NotFoundError
            raise NotFoundError(f"{build.origin or build.name}: typedef '{name}' is not a struct or union "
                                f"({found[-1].c_name()} is {struct.c_name()}); its text listing is 'show {name}'")
        layouts.append((struct, struct_stats(build, struct, cacheline_size)))
    return ShowResult(build, tuple(names), tuple(found), cacheline_size, tuple(layouts) if stats else None)


def cacheline_size_of(build: Build, asked: Optional[int] = None) -> int:
    """The cache line size for ``build``'s listings: ``asked``, else the one the build records, else 64.

    A snapshot records its build's (128 bytes on the 2.6.22 ones); an ELF or BTF input records none,
    and 64 is what pahole takes from this host.  ``show`` and the notebook's ``Build.struct`` both ask here.
    """
    recorded = build.provenance.cacheline_size
    return asked or (recorded if recorded is not None and recorded > 0 else DEFAULT_CACHELINE)


def show_text(build: Build, names: Sequence[str], cacheline_size: int = DEFAULT_CACHELINE, *,
              expand: bool = False, hex_offsets: bool = False) -> str:
    """What ``pahole -C NAME1,NAME2`` prints for the named structs, unions or typedefs.

    ``expand`` and ``hex_offsets`` are pahole's ``-E`` and ``--hex``.

    On BTF the ``__aligned__`` attributes are those pahole's BTF loader infers
    (:func:`facts_of`), as ``pahole -F btf`` shows them.
    """
    from .render import render
    return render(show(build, names, cacheline_size, stats=False), "text", expand=expand, hex_offsets=hex_offsets)


def member_at(build: Build, name: str, offset: int) -> "MemberAt":
    """``show NAME --at OFFSET``: the member path (or hole, or padding) at byte ``offset`` of struct ``name``."""
    from .analysis.query import member_at as locate
    layouts = show(build, [name]).layouts
    assert layouts is not None
    return locate(layouts[0][0], offset)


def members_at(build: Build, names: Sequence[str], offset: int) -> "MembersAtResult":
    """``show NAME... --at OFFSET``: :func:`member_at` for each struct named."""
    from .features.results import MembersAtResult
    return MembersAtResult(tuple(member_at(build, name, offset) for name in names))


def relations(path: str, name: str, kind: str, recursive: bool = False,
              btf_base: Optional[str] = None, all_units: bool = False) -> "RelationsResult":
    """``show --contains NAME`` (kind "contains") or ``show --pointers-to NAME`` (kind "pointers-to").

    Answered as pahole answers: from the first compile unit holding a type
    called ``name`` (any declaration of it, for pointers), for DWARF; from the
    one type table, for BTF.  ``recursive`` gives the transitive set;
    ``all_units`` looks at every definition of every unit (types by name).
    """
    from .analysis.query import Relations, containers, edges_of_structs, pointers_to
    from .errors import InputError
    from .features.results import RelationsResult
    kind_of = sniff(str(path))
    declarations = kind == "pointers-to"
    if all_units:
        build = load(path, every_definition=True, btf_base=btf_base)
        edges = edges_of_structs(build.variants or [*build.structs.values(), *build.unions.values()], name,
                                 "every unit")
    elif kind_of == "elf":
        from .readers.elf import read_elf_info
        info = read_elf_info(path)
        if info.has_dwarf:
            from .readers.dwarf import unit_edges
            edges = unit_edges(path, name, declarations)
        elif info.btf is not None:
            from .readers.btf import btf_edges
            edges = btf_edges(info.btf, path, name, declarations, btf_base, from_elf=True)
        else:
            raise InputError(f"{path}: ELF file has no debug info (neither .debug_info nor .BTF)")
    elif kind_of == "btf":
        from .readers.btf import btf_edges
        with open(path, "rb") as stream:
            edges = btf_edges(stream.read(), path, name, declarations, btf_base)
    else:
        raise InputError(f"{path}: --{kind} needs the type references of a DWARF or BTF input, "
                         "which a snapshot does not keep")
    if edges is None:
        from .errors import NotFoundError
        raise NotFoundError(f"{path}: no type named '{name}'")
    lines = containers(edges, recursive) if kind == "contains" else pointers_to(edges, recursive)
    return RelationsResult(Relations(kind, name, edges.unit, lines))


def sizes_filtered(path: str, chosen: "SizeFilter", progress: Optional[Callable[[int, int], None]] = None,
                   btf_base: Optional[str] = None) -> "SizeHuntResult":
    """``sizes`` with the hunting filters and sort of ``chosen``: every same-name definition, as pahole."""
    from .analysis.query import size_rows
    build = load(path, progress=progress, every_definition=True, btf_base=btf_base)
    structs = build.variants or [*build.structs.values(), *build.unions.values()]

    def repacked(struct: StructType) -> int:
        from .analysis.reorganize import reorganize as repack
        return repack(struct, abi_of(build)).size_after

    from .features.results import SizeHuntResult
    return SizeHuntResult(tuple(size_rows(structs, chosen, repacked)), chosen)


def read_names(path: str) -> list[str]:
    """Struct names from a file, one a line (``#`` comments and blank lines skipped), as ``pahole -C file://``."""
    from .errors import InputError
    from .safe_read import check_regular_file
    check_regular_file(path)
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the list of names ({exc})") from None
    names = [line.split("#", 1)[0].strip() for line in lines]
    names = [name.removeprefix("struct ").removeprefix("union ").strip() for name in names if name]
    if not names:
        raise InputError(f"{path}: the list of names is empty")
    return names


def sizes(build: Build) -> list[tuple[str, int, int]]:
    """(name, size, holes) for every named struct and union, like ``pahole --sizes``.

    A build read with ``every_definition`` lists each distinct definition of a
    name, as pahole does; holes are 0 for unions, as pahole prints them.
    """
    rows = []
    for struct in build.variants or [*build.structs.values(), *build.unions.values()]:
        holes = 0 if struct.is_union else layout_stats(struct, 1).holes
        rows.append((struct.name or "", struct.size_bytes, holes))
    return rows


def _read_for_sizes(path: str, progress: Optional[Callable[[int, int], None]], every_definition: bool) -> Build:
    """The build :func:`sizes` reads: for every definition of a linked ELF file, members' struct types as stubs."""
    if every_definition and resolve(path).kind == "elf":
        from .readers.dwarf import read_every_for_sizes
        build = read_every_for_sizes(path, progress)
        if build is not None:
            build.origin = path
            return build
    return read_input(path, progress=progress, every_definition=every_definition)


def report(inputs: Sequence[str] = (), scenario: Union[str, "Scenario"] = "flat",
           options: Optional["ReportOptions"] = None,
           live: bool = False, patch: Optional[str] = None, counts: Optional[Mapping[str, int]] = None,
           allocations: Optional[Mapping[str, str]] = None,
           costs: Optional[bool] = None, *, defines: Sequence[str] = (), config: Optional[str] = None,
           live_fallback: bool = True) -> "ReportResult":
    """``report``: the verdict per build (default: the bundled snapshots) and on each of the seed's claims.

    ``scenario`` is a bundled name, a scenario file, or a loaded one.  With ``live`` the running
    kernel (its BTF, CPU count and xstate size) is reported too, first; when it cannot be read the
    report goes on without it and says why in a warning (``live_fallback``; else LiveSystemError).

    ``patch`` (a header diff; it replaces ``scenario``, whose claims it does not make) or ``costs``
    adds to each build its :class:`~layoutcalc.slab.patchcost.PatchCost`: one row per changed struct
    and per cache holding it directly or embedded, counted with ``counts`` (struct or cache ->
    objects; live: sysfs), placed per ``allocations`` (struct -> kmalloc, percpu, static or vmalloc).
    The patch's ``#if`` blocks are decided by ``config`` (with ``live``, the running kernel's) and
    ``defines`` (:func:`patch_defines`); each block left out is a warning.
    """
    from .errors import LiveSystemError
    from .features.report import ReportOptions
    from .features.results import ReportResult
    options = options or ReportOptions()
    warnings: list[str] = []
    label = scenario if isinstance(scenario, str) else scenario.name
    if patch is not None:
        scenario, warnings = patch_scenario(patch, defines, config, live)
        costs, label = True if costs is None else costs, f"patch {patch}"
    try:
        reports, claims = _report(inputs, scenario, options, live, counts, allocations, costs)
    except LiveSystemError as exc:
        if not live_fallback:
            raise
        warnings.append(f"{exc}; reporting without the running kernel")
        reports, claims = _report(inputs, scenario, options, False, counts, allocations, costs)
    if patch is not None:
        assert not isinstance(scenario, str)
        claims = []  # the seed's claims are about its own scenario, not this patch
        warnings += patch_skips(scenario, list(inputs) or [str(p) for p in bundled_snapshots()])
    return ReportResult(reports, claims, options, label, warnings)


def _report(inputs: Sequence[str], scenario: Union[str, "Scenario"], options: "ReportOptions", live: bool,
            counts: Optional[Mapping[str, int]], allocations: Optional[Mapping[str, str]],
            costs: Optional[bool]) -> tuple[list["BuildReport"], list["Claim"]]:
    """:func:`report`'s rows and claims, the plain verdict cached; raises LiveSystemError for ``live``."""
    # Only the plain verdict is cached: live figures change, and cost rows depend on more than the key holds.
    plain = not live and not costs and counts is None and allocations is None
    key = _report_cache_key(inputs, scenario, options) if plain else None
    cached = cache.load("report", key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from .features.report import build_report, judge_claims
    from .changes.scenario import load_scenario, scenario_needs
    from .errors import ScenarioError
    loaded = load_scenario(scenario) if isinstance(scenario, str) else scenario
    structs, types = scenario_needs(loaded)
    wanted = sorted(set(structs) | set(SNAPSHOT_STRUCTS))
    reports = []
    if live:
        build, live_options = _live_build(wanted, types, options)
        one = build_report(build, loaded, live_options)
        if costs:
            one = _with_costs(one, None, loaded, live_options, counts, allocations)
        reports.append(one)
    from .features.report import by_era
    built = []
    for path in list(inputs) or [str(p) for p in bundled_snapshots()]:
        build = load(path, structs=wanted, types=types)
        try:
            one = build_report(build, loaded, options)
        except ScenarioError as exc:
            if not str(exc).startswith("cache "):
                raise
            raise ScenarioError(f"{path}: {exc}") from None  # an impossible object size: name the input
        built.append(_with_costs(one, path, loaded, options, counts, allocations) if costs else one)
    reports += by_era(built)
    # a scenario without [[claim]] tables is judged by the seed's claims (the bundled flat scenario's)
    result = reports, judge_claims(reports, loaded.claims or load_scenario("flat").claims)
    cache.store("report", key, result)
    return result


def _with_costs(one: "BuildReport", path: Optional[str], scenario: "Scenario", options: "ReportOptions",
                counts: Optional[Mapping[str, int]], allocations: Optional[Mapping[str, str]]) -> "BuildReport":
    """``one`` with the patch's cost rows, from the whole build (containers are searched in every struct)."""
    import dataclasses
    return dataclasses.replace(one, costs=patch_costs(path, scenario, counts, allocations, options.cpus,
                                                      options.xstate_size))


def patch_costs(path: Optional[str], scenario: Union[str, "Scenario"], counts: Optional[Mapping[str, int]] = None,
                allocations: Optional[Mapping[str, str]] = None, cpus: int = 2,
                xstate_size: Optional[int] = 832) -> "PatchCost":
    """The cost rows of ``scenario`` (a loaded one, a bundled name or a ``.patch``/``.diff`` file) on ``path``.

    ``path`` None is the running kernel: its whole BTF, CPUs, xstate size and the object counts of
    ``/sys/kernel/slab/*/objects`` (``counts`` override them).
    """
    from .changes.scenario import load_scenario
    from .slab.patchcost import patch_cost
    if isinstance(scenario, str):
        scenario = patch_scenario(scenario)[0] if scenario.endswith((".patch", ".diff")) else load_scenario(scenario)
    if path is None:
        import os

        from .slab import live
        from .slab.census import cache_names, read_measured
        build = live.read_live_btf(None)
        build.name = f"running {os.uname().release}"
        machine = live.read_machine(build)
        objects = {name: read_measured(live.SYSFS_SLAB, name).objects for name in cache_names()}
        return patch_cost(build, scenario, counts, allocations, machine.nr_cpus, machine.xstate_size,
                          live_objects=objects)
    return patch_cost(load(path), scenario, counts, allocations, cpus, xstate_size)


def _report_cache_key(inputs: Sequence[str], scenario: Union[str, "Scenario"],
                      options: Optional["ReportOptions"]) -> Optional[str]:
    """The key of a report on these inputs: their bytes (or identity), the scenario file's, the options.

    None (not cached) for a loaded scenario, standard input or an unreadable file.
    """
    if not isinstance(scenario, str) or STDIN in (scenario, *inputs):
        return None
    scenario_file = scenario if os.path.exists(scenario) else str(data_dir() / "scenarios" / f"{scenario}.toml")
    paths = list(inputs) or [str(p) for p in bundled_snapshots()]
    tokens = [cache.file_token(path) for path in [scenario_file, *paths]]
    if None in tokens:
        return None
    return cache.result_key(scenario, tokens, paths, repr(options) if options is not None else None)


def _live_build(structs: Sequence[str], types: Sequence[str],
                options: "ReportOptions") -> tuple[Build, "ReportOptions"]:
    """The running kernel as a build, with the report options its own machine implies."""
    import dataclasses
    import os

    from .slab import live
    from .slab.caches import SLAB_STRUCTS
    build = live.read_live_btf(list(structs) + list(SLAB_STRUCTS), type_names=types)
    build.name = f"running {os.uname().release}"
    machine = live.read_machine(build)
    xstate = options.xstate_size if machine.xstate_size is None else machine.xstate_size
    return build, dataclasses.replace(options, cpus=machine.nr_cpus, xstate_size=xstate)


def whatif(path: str, scenario: Optional[str] = None, patch: Optional[str] = None,
           defines: Sequence[str] = (), placement: str = "as-patched", arch: Optional[str] = None,
           level: int = 0, config: Optional[str] = None) -> "WhatIfRun":
    """``whatif``: re-lay-out the structs a scenario (default ``flat``) or a header patch changes.

    ``scenario`` is a bundled name or a TOML file; ``patch`` a unified diff (not both);
    ``defines`` are ``SYMBOL=y|n|m|N`` items and ``config`` a kernel configuration
    (``.config``, ``/proc/config.gz``, ``/boot/config-*``) deciding the patch's ``#if`` blocks
    (``defines`` override it); ``placement`` is ``as-patched``, ``best-fit``, ``append`` or
    ``reorganize``; ``arch`` (x86_64, i386, aarch64, arm, ppc64le, s390x, riscv64) overrides the
    target the input declares; ``level`` is the pid-namespace level of per-level arrays.
    The result carries the warnings (what was left out) and notes (what ``arch`` means).
    """
    return whatif_run(path, scenario, patch, defines, placement, arch, level, config)


class PatchDefines(NamedTuple):
    """The symbols a patch's conditions are decided with, and where they came from."""

    defines: dict[str, int]
    source: str
    warnings: list[str]


def patch_defines(defines: Sequence[str] = (), config: Optional[str] = None, live: bool = False) -> PatchDefines:
    """``--config FILE`` (or with ``live`` the running kernel's config, where readable), then ``--define``s.

    A live config that cannot be read is a warning, not an error.
    """
    from .changes.conditions import parse_defines
    from .changes.kconfig import live_config, read_config
    from .errors import LiveSystemError
    symbols: dict[str, int] = {}
    source, warnings = "", []
    if config is not None:
        symbols, source = read_config(config), config
    elif live:
        try:
            symbols, source = live_config()
        except LiveSystemError as exc:
            warnings.append(f"{exc}; conditions decided by --define only")
    symbols.update(parse_defines(defines))
    return PatchDefines(symbols, source, warnings)


def patch_scenario(patch: str, defines: Sequence[str] = (), config: Optional[str] = None,
                   live: bool = False) -> tuple["Scenario", list[str]]:
    """The patch file as a scenario for :func:`report`, :func:`slab` and :func:`whatif_run`, with its warnings.

    Conditions are decided with :func:`patch_defines`; each block left out is one warning line.
    """
    from .changes.patch import patch_scenario as scenario_of_patch
    decided = patch_defines(defines, config, live)
    loaded, warnings = scenario_of_patch(patch, decided.defines)
    return loaded, decided.warnings + warnings


def patch_skips(scenario: "Scenario", builds: Sequence[Union[Build, str]]) -> list[str]:
    """Warnings for additions in blocks that open before their hunk, on builds without the block's members.

    ``builds`` are loaded builds or inputs to load (default for :func:`report`: the bundled snapshots).
    """
    from .changes.scenario import scenario_needs, skipped_changes
    if not any(change.optional for change in scenario.changes):
        return []
    structs, _ = scenario_needs(scenario)
    loaded = [b if isinstance(b, Build) else load(b, structs=structs) for b in builds]
    return [line for build in loaded for line in skipped_changes(build, scenario)]


def whatif_run(path: str, scenario: Optional[str] = None, patch: Optional[str] = None,
               defines: Sequence[str] = (), placement: str = "as-patched", arch: Optional[str] = None,
               level: int = 0, config: Optional[str] = None) -> "WhatIfRun":
    """:func:`whatif` with its warnings (what a patch's conditions left out) and notes (what ``arch`` means).

    ``config`` is a kernel configuration (``.config``, ``/proc/config.gz``, ``/boot/config-*``)
    whose symbols decide a patch's conditions; ``defines`` override it.
    """
    from .changes.scenario import apply_scenario, load_scenario, scenario_needs
    warnings: list[str] = []
    if patch is not None and placement == "as-patched":  # every edit of the patch (issue 17)
        return _whatif_patch(path, patch, defines, arch, config)
    if patch is not None:
        loaded, warnings = patch_scenario(patch, defines, config)
        defined: dict[str, int] = {}
    else:
        loaded = load_scenario(scenario or "flat")
        defined = patch_defines(defines, config).defines
    structs, types = scenario_needs(loaded)
    build = load(path, structs=structs, types=types, arch=arch)
    results = apply_scenario(build, loaded, abi_of(build), placement, defined, level)
    baselines = {}
    if placement in ("best-fit", "reorganize"):
        baselines = {item.struct_name: item.result.size_after
                     for item in apply_scenario(build, loaded, abi_of(build), "as-patched", defined, level)}
    notes = []
    source_arch = build.provenance.retargeted_from
    if source_arch is not None:
        notes.append(f"--arch {build.arch}: this re-lays out {build.name}'s own configuration ({source_arch}) "
                     f"under {build.arch} ABI rules, not a real {build.arch} build: a real one has its own "
                     "configuration (other options, other members) and can be smaller or larger")
    from .features.results import WhatIfRun
    return WhatIfRun(results, warnings + patch_skips(loaded, [build]), notes, baselines)


def _whatif_patch(path: str, patch: str, defines: Sequence[str], arch: Optional[str],
                  config: Optional[str]) -> "WhatIfRun":
    """:func:`whatif_run` of a patch, as patched: removals, replacements, nesting (changes/rewrite.py)."""
    from .changes.rewrite import patch_results, rewrite_needs
    from .errors import ScenarioError
    from .safe_read import read_text
    decided = patch_defines(defines, config)
    structs, types = rewrite_needs(read_text(patch, "patch", error=ScenarioError), patch)
    build = load(path, structs=structs, types=types, arch=arch)
    results, warnings = patch_results(build, patch, abi_of(build), decided.defines)
    notes = []
    source_arch = build.provenance.retargeted_from
    if source_arch is not None:
        notes.append(f"--arch {build.arch}: this re-lays out {build.name}'s own configuration ({source_arch}) "
                     f"under {build.arch} ABI rules, not a real {build.arch} build")
    from .features.results import WhatIfRun
    return WhatIfRun(results, decided.warnings + warnings, notes)


def slab(inputs: Sequence[str] = (), live: bool = False, cpus: int = 2, allocator: Optional[str] = None,
         xstate_size: Optional[int] = 832,
         scenario: Union[str, "Scenario", None] = "flat", patch: Optional[str] = None,
         counts: Optional[Mapping[str, int]] = None, allocations: Optional[Mapping[str, str]] = None,
         costs: Optional[bool] = None, *, defines: Sequence[str] = (),
         config: Optional[str] = None) -> "SlabResult":
    """``slab``: slab views of the builds (default: bundled snapshots), or of the running kernel with ``live``.

    ``scenario`` is as for :func:`report` (None: no effect shown); ``allocator`` ("slub" or
    "slab") overrides the build's.  When ``live`` could not read the running kernel the
    static views of the inputs are given instead, and the result says why (``unavailable``,
    also a warning).  ``patch`` or ``costs`` adds the cost rows to each view (as for
    :func:`report`, and so do ``defines`` and ``config``).
    """
    from .features.results import SlabResult
    warnings: list[str] = []
    if patch is not None:
        scenario, warnings = patch_scenario(patch, defines, config, live)
        costs = True if costs is None else costs
    views, reason = _slab_views(inputs, live, cpus, allocator, xstate_size, scenario)
    if costs and scenario is not None:
        import dataclasses
        paths: list[Optional[str]] = [None] if live and not reason else list(inputs) or [
            str(p) for p in bundled_snapshots()]
        views = [dataclasses.replace(view, costs=patch_costs(path, scenario, counts, allocations, view.cpus,
                                                             view.xstate_size if view.xstate_size else xstate_size))
                 for view, path in zip(views, paths)]
    if patch is not None and not live:
        assert not isinstance(scenario, str) and scenario is not None
        warnings += patch_skips(scenario, list(inputs) or [str(p) for p in bundled_snapshots()])
    return SlabResult(views, warnings + ([reason] if reason else []), reason)


def _slab_views(inputs: Sequence[str], live: bool, cpus: int, allocator: Optional[str],
                xstate_size: Optional[int],
                scenario: Union[str, "Scenario", None]) -> tuple[list["SlabView"], str]:
    from .changes.scenario import load_scenario, scenario_needs
    from .slab.caches import SLAB_STRUCTS
    from .slab.view import static_view, try_live_view
    loaded = load_scenario(scenario) if isinstance(scenario, str) else scenario
    structs, types = scenario_needs(loaded) if loaded else ([], [])
    wanted = sorted(set(structs) | set(SLAB_STRUCTS))

    def builds() -> list[Build]:
        paths = list(inputs) or [str(p) for p in bundled_snapshots()]
        return [load(path, structs=wanted, types=types) for path in paths]
    if live:
        return try_live_view(loaded, builds())
    return [static_view(build, loaded, cpus, xstate_size, allocator) for build in builds()], ""


def slab_census() -> "CensusResult":
    """``slab --live --all``: every cache of the running kernel: its struct (catalogue), predicted geometry and
    sysfs's figures."""
    from .features.results import CensusResult
    from .slab.census import live_census
    return CensusResult(live_census())


def slab_predictions(path: str, cpus: int = 2, xstate_size: Optional[int] = 832) -> "SlabPredictionsResult":
    """``slab --all -i PATH``: every cache of ``path``'s catalogue whose struct it has, predicted under its era
    (no merging)."""
    from .features.results import SlabPredictionsResult
    from .slab.census import static_census
    return SlabPredictionsResult(path, static_census(load(path), cpus, xstate_size))


def source_snapshot(tree: str, arch: str = "x86_64", config: Optional[str] = None,
                    structs: Sequence[str] = (), out: Optional[str] = None,
                    debug_flags: Optional[Sequence[str]] = None,
                    defines: Sequence[str] = (), provenance: Optional[Mapping[str, object]] = None,
                    overlay: Optional[str] = None) -> "SourceResult":
    """Snapshot of ``structs`` (default: the seed's and what scenarios need) compiled from a kernel tree.

    ``config`` is a full ``.config`` (default: the tree's defconfig for ``arch``); ``provenance``
    (e.g. the tree's commit) is added to the copy written to ``out``.
    """
    from .readers.kernel_source import DEFAULT_DEBUG_FLAGS, SourceRequest
    from .readers.kernel_source import source_snapshot as compile_snapshot
    wanted = tuple(dict.fromkeys([*SNAPSHOT_STRUCTS, *structs]))
    request = SourceRequest(tree, arch, config, wanted, tuple(debug_flags or DEFAULT_DEBUG_FLAGS), tuple(defines),
                            overlay, types=SNAPSHOT_TYPES + KERNEL_TYPES)
    result = compile_snapshot(request, None if provenance else out)
    if provenance and out is not None:
        from .readers.snapshot import read_snapshot, write_snapshot
        build = read_snapshot(str(result.path))
        build.provenance = build.provenance.with_facts(provenance)
        write_snapshot(build, out)
        return result._replace(path=Path(out))
    return result


def resolve_input(path: str, arch: Optional[str] = None, config: Optional[str] = None,
                  structs: Sequence[str] = ()) -> str:
    """``path`` itself, or for a kernel source tree (a directory) the snapshot source mode makes of it."""
    if not resolve(path).is_source_tree:
        if config is not None:
            from .errors import InputError
            raise InputError(f"{config}: --config applies only to a kernel source tree (-i DIRECTORY)")
        return path
    return str(source_snapshot(path, arch or "x86_64", config, structs).path)


def reorganize(build: Build, names: Sequence[str],
               cacheline_size: int = DEFAULT_CACHELINE) -> "ReorganizeResult":
    """``reorganize NAME...``: the named structs repacked for the smallest size (like ``pahole --reorganize``),
    each with the statistics of its new layout."""
    from .analysis.reorganize import reorganize as repack
    from .features.results import ReorganizeResult
    abi = abi_of(build)
    repacked = [repack(build.get_struct(name), abi, cacheline_size) for name in names]
    return ReorganizeResult(tuple((item, struct_stats(build, item.after, cacheline_size)) for item in repacked))


def reorganize_all(path: str, cacheline_size: int = DEFAULT_CACHELINE,
                   progress: Optional[Callable[[int, int], None]] = None
                   ) -> "ReorganizeResult":
    """Every named struct of ``path`` (the first definition of each name) repacked, with its new statistics.

    Unions are left out (there is nothing to repack in them), as by
    ``pahole --reorganize``.  The build is read whole and kept without
    garbage collection meanwhile: each collection would walk all of its types.
    """
    from .analysis.facts import debug_info_of
    from .analysis.reorganize import reorganize_every
    build = load(path, progress=progress)
    structs = [struct for struct in build.structs.values() if struct.name and not struct.is_declaration]
    with cache.paused_gc():
        items = reorganize_every(structs, abi_of(build), debug_info_of(build), cacheline_size)
    from .features.results import ReorganizeResult
    return ReorganizeResult(tuple(items), every=True)


# --------------------------------------------------------------------------- diff, baseline, check, history


def catalogue(path: str, patterns: Sequence[str] = (), source: str = "auto",
              progress: Optional[Callable[[int, int], None]] = None) -> "Catalogue":
    """Every struct/union layout of ``path`` (those matching ``patterns``), deduplicated across compile units.

    ``path`` may also be a baseline file written by :func:`baseline`.  ``source``
    picks the debug info of an ELF input: "auto" (its ``.BTF`` when it has one),
    "btf" or "dwarf".
    """
    found, key, fresh = _read_catalogue(path, patterns, source, progress)
    if fresh:
        cache.store("catalogue", key, found)
    return found


def _read_catalogue(path: str, patterns: Sequence[str], source: str,
                    progress: Optional[Callable[[int, int], None]]) -> tuple["Catalogue", Optional[str], bool]:
    """:func:`catalogue`, its cache key, and whether it was read afresh (and is to be stored under the key)."""
    from .features.budget import is_baseline, read_baseline
    from .features.diff import catalogue as make_catalogue
    from .readers.definitions import read_definitions
    from .slab.caches import SLAB_STRUCTS
    if is_baseline(path):
        from .features.diff import filter_catalogue, matches
        return filter_catalogue(read_baseline(path), lambda label: matches(label, patterns)), None, False
    literal = patterns and not any(c in p for p in patterns for c in "*?[")
    names = sorted({p.split(" ", 1)[-1] for p in patterns} | set(SLAB_STRUCTS)) if literal else None
    name = os.path.basename(os.path.normpath(path)).removeprefix("vmlinux-")
    if resolve(path).is_source_tree:  # source mode compiles the seed's structs and the named ones
        path = resolve_input(path, structs=[n for n in names or () if n not in SLAB_STRUCTS])
    key = _catalogue_cache_key(path, patterns, source)
    cached = cache.load("catalogue", key)
    if cached is not None:
        return cached._replace(name=name), key, False
    with cache.paused_gc():  # each collection would walk every type of the build read so far
        found = read_definitions(path, names, source, progress)
        result = make_catalogue(name, found.definitions, found.build, patterns, found.source)
    return result, key, True


def _catalogue_cache_key(path: str, patterns: Sequence[str], source: str) -> Optional[str]:
    """Where a linked ELF input's catalogue is cached: what its read depends on, the patterns and the source.

    A read of the ``.BTF`` section is keyed on that section and the headers (a few megabytes); a DWARF
    read on the build-id, the file's identity and its debug sections (:func:`_scan_cache_key`).
    """
    from .readers.definitions import btf_key
    key = btf_key(path, source) or _scan_cache_key(path)
    if key is None:
        return None
    import hashlib
    return f"{key}-{hashlib.sha1(repr((source, tuple(patterns))).encode()).hexdigest()[:12]}"


def diff(old: str, new: str, patterns: Sequence[str] = (), source: str = "auto",
         progress: Optional[Callable[[str], Optional[Callable[[int, int], None]]]] = None) -> "DiffResult":
    """What grew, shrank, appeared or vanished from build ``old`` to build ``new``, with reasons.

    ``progress(path)`` may return a per-compile-unit callback for a DWARF walk.
    """
    from .features.diff import diff_catalogues
    pending = _catalogue_aside(old, patterns, source, watched=progress is not None)
    if pending is not None:
        after = catalogue(new, patterns, source, progress(new) if progress else None)
        before = cache.decode(pending.result())
        if before is None:  # only another version of this code could have sent it
            raise RuntimeError(f"{old}: the catalogue read aside came back unreadable")
    else:
        before = catalogue(old, patterns, source, progress(old) if progress else None)
        after = catalogue(new, patterns, source, progress(new) if progress else None)
    _require_matches(patterns, [before, after], f"{old} or {new}")
    before, after = _like_for_like((old, before), (new, after), patterns, source)
    return diff_catalogues(before, after)


def _like_for_like(old: tuple[str, "Catalogue"], new: tuple[str, "Catalogue"], patterns: Sequence[str],
                   source: str) -> tuple["Catalogue", "Catalogue"]:
    """The two catalogues, one side re-read so both come from the same debug info when "auto" allows it.

    Raises a one-line InputError when the two cannot be compared (different
    architectures, different debug formats that cannot be matched, or a build
    lacking most of the other side's structs).
    """
    from .features.budget import is_baseline
    from .features.diff import format_mismatch, refusal
    from .errors import InputError
    (old_path, before), (new_path, after) = old, new
    if source == "auto" and format_mismatch(before, after):
        if after.source == "btf" and not is_baseline(new_path) and before.source == "dwarf":
            after = catalogue(new_path, patterns, "dwarf")
        elif before.source == "btf" and not is_baseline(old_path):
            before = catalogue(old_path, patterns, "dwarf")
        elif after.source == "dwarf" and not is_baseline(new_path):
            try:
                after = catalogue(new_path, patterns, "btf")
            except InputError:
                pass  # no .BTF: refused below
    problem = refusal(before, after)
    if problem:
        raise InputError(problem)
    return before, after


def _catalogue_aside(path: str, patterns: Sequence[str], source: str, watched: bool = False) -> Any:
    """A future of ``catalogue(path, ...)`` (:func:`cache.encode`-d) computed by a forked process, or None.

    Two builds' catalogues are independent: on two cores a diff then takes
    the time of one.  Not for cached catalogues (nothing to gain), where
    there is one core or no ``fork``, nor for a DWARF walk that someone
    ``watched`` (its progress is shown, and it already uses every core).
    The child stores the catalogue in the cache and sends the same bytes.
    """
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork") or path == STDIN:
        return None
    from .readers.definitions import btf_key
    if watched and btf_key(path, source) is None:
        return None
    if cache.load("catalogue", _catalogue_cache_key(path, patterns, source)) is not None:
        return None
    import concurrent.futures
    import multiprocessing
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(_encoded_catalogue, path, tuple(patterns), source)
    pool.shutdown(wait=False)
    return future


def _encoded_catalogue(path: str, patterns: Sequence[str], source: str) -> bytes:
    """Worker: :func:`catalogue`, encoded once for the cache and for the trip back."""
    found, key, fresh = _read_catalogue(path, patterns, source, None)
    data = cache.encode(found)
    if fresh:
        cache.store_encoded("catalogue", key, data)
    return data


def _require_matches(patterns: Sequence[str], catalogues: Sequence["Catalogue"], where: str) -> None:
    """A ``--struct`` pattern that matches nothing is a typo, not an empty (and passing) diff."""
    from .features.diff import matches
    from .errors import NotFoundError
    for pattern in patterns:
        if not any(matches(label, [pattern]) for found in catalogues for label in found.layouts):
            raise NotFoundError(f"{where}: no struct or union matches '{pattern}'")


def baseline(path: str, out: str, patterns: Sequence[str] = (), source: str = "auto",
             progress: Optional[Callable[[int, int], None]] = None) -> "BaselineResult":
    """``baseline``: write the baseline of ``path`` (every struct's layout, compact JSON) to ``out``, atomically.

    ``progress(done, total)`` follows a DWARF read unit by unit.
    """
    from .features.budget import write_baseline
    found = catalogue(path, patterns, source, progress)
    _require_matches(patterns, [found], path)
    write_baseline(found, path, out)
    from .features.results import BaselineResult
    return BaselineResult(out, found)


def history(inputs: Sequence[str], structs: Sequence[str] = (), source: str = "auto",
            scheduler: Optional[str] = None, workers: Optional[int] = None) -> "HistoryResult":
    """``history``: the sizes of ``structs`` (default: the seed's three) across ``inputs``, in the order given.

    ``source`` is as for :func:`catalogue`; the scans run in a pool of ``workers`` processes
    (default: one per CPU), or on the Dask scheduler at ``scheduler`` (``tcp://host:8786``).
    """
    from .features.history import DEFAULT_STRUCTS, scan_history
    from .features.results import HistoryResult
    wanted = list(structs) or list(DEFAULT_STRUCTS)
    return HistoryResult(scan_history(inputs, wanted, source, scheduler, workers), wanted)


def check(path: str, baseline_path: str, budget_path: Optional[str] = None,
          source: str = "auto", progress: Optional[Callable[[int, int], None]] = None,
          patterns: Sequence[str] = ()) -> "CheckResult":
    """Judge ``path`` against a baseline and a budget file (None: any growth is a regression).

    Only the structs the baseline was limited to (its ``--struct`` patterns) are compared,
    and of those only the ones matching ``patterns`` when given.  A budget rule
    that names no struct of either side is a typo and an error.
    ``progress(done, total)`` follows a DWARF read unit by unit.
    """
    from .features.budget import check as check_catalogue
    from .features.budget import read_baseline, read_budget, unknown_names
    from .features.diff import filter_catalogue, matches
    from .errors import InputError
    budget = read_budget(budget_path) if budget_path else None
    base = read_baseline(baseline_path)
    current = catalogue(path, base.patterns, source, progress)
    base, current = _like_for_like((baseline_path, base), (path, current), base.patterns, source)
    if budget is not None and not base.patterns:
        problem = unknown_names(budget, (base, current))
        if problem:
            raise InputError(problem)
    if patterns:
        base, current = (filter_catalogue(found, lambda label: matches(label, patterns)) for found in (base, current))
        _require_matches(patterns, [base, current], f"{baseline_path} or {path}")
    return check_catalogue(current, base, budget)


def verify_patch(tree: str, patch: str, arch: str = "x86_64", config: Optional[str] = None,
                 defines: Sequence[str] = (), placement: str = "as-patched",
                 debug_flags: Optional[Sequence[str]] = None,
                 predict_on: Optional[str] = None) -> "VerifyResult":
    """``whatif --patch`` next to the compiled patched tree, member by member.

    The prediction is made on ``predict_on`` (e.g. the real build's vmlinux or its snapshot;
    default: the unpatched tree compiled by source mode), its conditions decided by the tree's
    config and ``defines`` (``SYMBOL=y|n``).  The patch is applied to a scratch copy of the files
    it touches and compiled with the same config and the ``defines`` as ``-DSYMBOL=1``.
    """
    import tempfile

    from .analysis.verify import compare_layouts
    from .changes.conditions import parse_defines
    from .features.results import VerifyResult
    from .readers.kernel_source.compile import environment_cache_root
    from .readers.kernel_source.config import defconfig_path
    from .readers.kernel_source.overlay import make_overlay
    from .readers.kernel_source.tree import open_tree, tree_arch
    opened = open_tree(tree)
    config_path = config or str(defconfig_path(opened, tree_arch(arch)))
    defined = parse_defines(defines)
    flags = list(debug_flags) if debug_flags else None
    if predict_on is None:
        predict_on = str(source_snapshot(tree, arch, config_path, debug_flags=flags).path)
    predictions = whatif_run(predict_on, patch=patch, defines=defines, placement=placement,
                             config=config_path).results
    names = [item.struct_name for item in predictions]
    root = environment_cache_root() / "work"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="overlay-", dir=root) as scratch:
        make_overlay(opened, patch, Path(scratch))
        on = source_snapshot(tree, arch, config_path, names, debug_flags=flags,
                             defines=[f"{symbol}={int(value)}" for symbol, value in defined.items()
                                      if value is not False], overlay=scratch)
    truth = load(str(on.path), structs=names)
    return VerifyResult([compare_layouts(item.result.after, truth.get_struct(item.struct_name))
                         for item in predictions])
