"""The one API that the CLI and notebooks share.

Each function takes paths or model objects and returns model/analysis
objects or plain rows; nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .abi import Abi, get_abi
from .analysis.layout import DEFAULT_CACHELINE, LayoutStats, layout_stats
from .model import Build, StructType
from .readers import read_input

if TYPE_CHECKING:
    from .analysis.facts import StructFacts
    from .analysis.reorganize import Reorganized
    from .analysis.report import BuildReport, Claim, ReportOptions
    from .changes.scenario import ScenarioResult
    from .readers.kernel_source import SourceResult
    from .slab.view import SlabView

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def bundled_snapshots() -> list[Path]:
    """The snapshots of real builds shipped in ``data/``, in a stable order."""
    return sorted(DATA_DIR.glob("*.snapshot.json"))


def load(path: str, structs: Optional[Iterable[str]] = None, types: Optional[Iterable[str]] = None,
         arch: Optional[str] = None, progress: Optional[Callable[[int, int], None]] = None) -> Build:
    """Read any supported input (DWARF ELF, BTF, snapshot) into a Build ready for analysis.

    The build is the debug info as recorded; what it leaves unsaid (packing,
    alignments) is in :func:`facts_of`.  ``arch`` re-lays the structs out for another
    target (:mod:`layoutcalc.analysis.retarget`; for a raw BTF blob it says what the blob is).
    """
    build = read_input(str(path), structs, types, arch, progress)
    return prepare(build, arch)


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


def snapshot(path: str, out: str, structs: Sequence[str] = (), types: Sequence[str] = (),
             provenance: Optional[dict[str, object]] = None) -> Build:
    """Extract what layout/what-if/slab need from ``path`` into the snapshot file ``out``."""
    from .readers.snapshot import write_snapshot
    wanted = list(structs) or list(SNAPSHOT_STRUCTS)
    build = load(path, structs=wanted, types=list(types) or list(SNAPSHOT_TYPES))
    missing = [name for name in wanted if not build.has_struct(name) and name in structs]
    if missing:
        from .errors import NotFoundError
        raise NotFoundError(f"{path}: no struct named '{missing[0]}'")
    abi = abi_of(build)
    build.name = build.name.removeprefix("vmlinux-")
    build.provenance.update({"cacheline_size": abi.cacheline_size, **(provenance or {})})
    write_snapshot(build, out)
    return build


def abi_of(build: Build) -> Abi:
    return get_abi(build.arch)


def facts_of(build: Build, struct: StructType) -> "StructFacts":
    """The layout facts (alignments and their sources) of one struct of ``build``."""
    from .analysis.facts import debug_info_of, struct_facts
    return struct_facts(struct, abi_of(build), debug_info_of(build))


def struct_stats(build: Build, struct: StructType,
                 cacheline_size: int = DEFAULT_CACHELINE) -> LayoutStats:
    """pahole's statistics for one struct of ``build``."""
    facts = facts_of(build, struct)
    return layout_stats(struct, facts.alignment, cacheline_size, [m.pahole_forced for m in facts.members])


def show(build: Build, names: Sequence[str],
         cacheline_size: int = DEFAULT_CACHELINE) -> list[tuple[StructType, LayoutStats]]:
    """The named structs with their statistics (raises NotFoundError for an unknown name)."""
    result = []
    for name in names:
        struct = build.get_struct(name)
        result.append((struct, struct_stats(build, struct, cacheline_size)))
    return result


def sizes(build: Build) -> list[tuple[str, int, int]]:
    """(name, size, holes) for every named struct and union, like ``pahole --sizes``."""
    rows = []
    for struct in [*build.structs.values(), *build.unions.values()]:
        stats = layout_stats(struct, 1)
        rows.append((struct.name or "", struct.size_bytes, stats.holes))
    return rows


def report(inputs: Sequence[str] = (), scenario: str = "flat", options: Optional["ReportOptions"] = None,
           live: bool = False) -> tuple[list["BuildReport"], list["Claim"]]:
    """The verdict per build (default: the bundled snapshots) and on each of the seed's claims.

    With ``live`` the running kernel (its BTF, CPU count and xstate size) is
    reported too, first; raises LiveSystemError when it cannot be read.
    """
    from .analysis.report import ReportOptions, build_report, judge_claims
    from .changes.scenario import load_scenario, scenario_needs
    options = options or ReportOptions()
    loaded = load_scenario(scenario)
    structs, types = scenario_needs(loaded)
    wanted = sorted(set(structs) | set(SNAPSHOT_STRUCTS))
    reports = []
    if live:
        build, live_options = _live_build(wanted, types, options)
        reports.append(build_report(build, loaded, live_options))
    for path in list(inputs) or [str(p) for p in bundled_snapshots()]:
        reports.append(build_report(load(path, structs=wanted, types=types), loaded, options))
    return reports, judge_claims(reports)


def _live_build(structs: Sequence[str], types: Sequence[str],
                options: "ReportOptions") -> tuple[Build, "ReportOptions"]:
    """The running kernel as a build, with the report options its own machine implies."""
    import dataclasses
    import os

    from .slab import live
    build = live.read_live_btf(list(structs) + list(live.SLAB_STRUCTS), type_names=types)
    build.name = f"running {os.uname().release}"
    machine = live.read_machine(build)
    xstate = options.xstate_size if machine.xstate_size is None else machine.xstate_size
    return build, dataclasses.replace(options, cpus=machine.nr_cpus, xstate_size=xstate)


def whatif(path: str, scenario: Optional[str] = None, patch: Optional[str] = None,
           defines: Sequence[str] = (), placement: str = "as-patched", arch: Optional[str] = None,
           level: int = 0) -> list["ScenarioResult"]:
    """Re-lay-out the structs a scenario (default ``flat``) or a header patch changes.

    ``defines`` are ``SYMBOL=y|n`` items; ``arch`` overrides the target the input declares.
    """
    from .changes.patch import parse_defines
    defined = parse_defines(defines)
    if patch is not None:
        return _whatif_patch(path, patch, defined, placement, arch)
    from .changes.scenario import apply_scenario, load_scenario, scenario_needs
    loaded = load_scenario(scenario or "flat")
    structs, types = scenario_needs(loaded)
    build = load(path, structs=structs, types=types, arch=arch)
    return apply_scenario(build, loaded, abi_of(build), placement, defined, level)


def _whatif_patch(path: str, patch: str, defines: dict[str, bool], placement: str,
                  arch: Optional[str]) -> list["ScenarioResult"]:
    from .analysis.facts import debug_info_of
    from .analysis.whatif import add_fields
    from .changes.patch import parse_patch, patch_fields, patch_needs, patch_symbols
    from .changes.scenario import ScenarioResult
    from .errors import ScenarioError
    from .changes.limits import check_patch
    from .safe_read import read_text
    text = read_text(patch, "patch", error=ScenarioError)
    check_patch(text, patch)
    additions = parse_patch(text, patch, defines)
    if not additions:
        undefined = sorted(patch_symbols(text) - set(defines))
        hint = f"; its conditions test {', '.join(undefined)}: try --define {undefined[0]}=y" if undefined else ""
        raise ScenarioError(f"{patch}: the patch adds no struct members{hint}")
    structs, types = patch_needs(additions)
    build = load(path, structs=structs, types=types, arch=arch)
    abi = abi_of(build)
    by_struct: dict[str, list] = {}
    anchors: dict[str, Optional[str]] = {}
    for group in patch_fields(build, additions, abi):
        by_struct.setdefault(group.struct_name, []).extend(group.fields)
        anchors.setdefault(group.struct_name, group.anchor)
    results = []
    for name, fields in by_struct.items():
        result = add_fields(build.get_struct(name), fields, abi, placement, debug_info_of(build))
        results.append(ScenarioResult(name, anchors[name], 0, result))
    return results


def slab(inputs: Sequence[str] = (), live: bool = False, cpus: int = 2, allocator: str = "slub",
         xstate_size: Optional[int] = 832, scenario: Optional[str] = "flat") -> tuple[list["SlabView"], str]:
    """Slab views of the builds (default: bundled snapshots), or of the running kernel with ``live``.

    Returns the views and, when ``live`` could not read the running kernel, the reason (the
    static views of the inputs are returned instead).
    """
    from .changes.scenario import load_scenario, scenario_needs
    from .slab.geometry import SLAB_STRUCTS
    from .slab.view import static_view, try_live_view
    loaded = load_scenario(scenario) if scenario else None
    structs, types = scenario_needs(loaded) if loaded else ([], [])
    wanted = sorted(set(structs) | set(SLAB_STRUCTS))

    def builds() -> list[Build]:
        paths = list(inputs) or [str(p) for p in bundled_snapshots()]
        return [load(path, structs=wanted, types=types) for path in paths]
    if live:
        return try_live_view(loaded, builds())
    return [static_view(build, loaded, cpus, xstate_size, allocator) for build in builds()], ""


def source_snapshot(tree: str, arch: str = "x86_64", config: Optional[str] = None,
                    structs: Sequence[str] = (), out: Optional[str] = None,
                    debug_flags: Optional[Sequence[str]] = None,
                    defines: Sequence[str] = ()) -> "SourceResult":
    """Snapshot of ``structs`` (default: the seed's and what scenarios need) compiled from a kernel tree.

    ``config`` is a full ``.config`` (default: the tree's defconfig for ``arch``).
    """
    from .readers.kernel_source import DEFAULT_DEBUG_FLAGS, SourceRequest
    from .readers.kernel_source import source_snapshot as compile_snapshot
    wanted = tuple(dict.fromkeys([*SNAPSHOT_STRUCTS, *structs]))
    request = SourceRequest(tree, arch, config, wanted, tuple(debug_flags or DEFAULT_DEBUG_FLAGS), tuple(defines),
                            types=SNAPSHOT_TYPES)
    return compile_snapshot(request, out)


def resolve_input(path: str, arch: Optional[str] = None, config: Optional[str] = None,
                  structs: Sequence[str] = ()) -> str:
    """``path`` itself, or for a kernel source tree (a directory) the snapshot source mode makes of it."""
    import os
    if not os.path.isdir(path):
        if config is not None:
            from .errors import InputError
            raise InputError(f"{config}: --config applies only to a kernel source tree (-i DIRECTORY)")
        return path
    return str(source_snapshot(path, arch or "x86_64", config, structs).path)


def reorganize(build: Build, names: Sequence[str],
               cacheline_size: int = DEFAULT_CACHELINE) -> list["Reorganized"]:
    """The named structs repacked for the smallest size (like ``pahole --reorganize``)."""
    from .analysis.reorganize import reorganize as repack
    abi = abi_of(build)
    return [repack(build.get_struct(name), abi, cacheline_size) for name in names]
