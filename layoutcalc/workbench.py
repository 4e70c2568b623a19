"""The notebook and script API: ``layoutcalc.load(...)`` and the objects it hands back.

Every method calls the functions of :mod:`layoutcalc.api` that the CLI calls,
with the same arguments, so a notebook shows what ``layoutcalc show``,
``whatif``, ``slab`` and ``report`` print.  Results know how to become a
DataFrame (``.frame()``), a matplotlib figure (``.figure()``, ``.plot(FILE)``)
and, for layouts, an HTML cacheline grid in Jupyter (``_repr_html_``)::

    import layoutcalc
    amd64 = layoutcalc.load("cloud-amd64")          # a bundled snapshot, or any INPUT path
    amd64.struct("pid")                              # the grid of struct pid
    flat = amd64.whatif()                            # the seed's fields (scenario "flat")
    flat["pid"].frame()                              # one row per member, with added/moved
    amd64.report().figure()                          # bytes per object, off and on
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

from . import api
from .analysis.layout import DEFAULT_CACHELINE, LayoutStats
from .errors import NotFoundError
from .model import Build as ModelBuild
from .model import StructType
from .render.lines import one_line

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .features.budget import CheckResult
    from .features.diff import DiffResult
    from .features.report import BuildReport, Claim, ReportOptions
    from .changes.scenario import ScenarioResult
    from .readers import BuildHeader
    from .slab.view import SlabView


def resolve_input(source: Union[str, Path]) -> str:
    """A path for ``source``: an existing file, else the one bundled snapshot whose name contains it.

    ``"debian-6.1.0-50-686-pae"``, ``"686-pae"`` and ``"cloud-arm64"`` all name
    bundled snapshots; a fragment that fits several, or none, raises NotFoundError.
    """
    from .readers.inputs import resolve
    return resolve(str(source), bundled_names=True).path


def load(source: Union[str, Path]) -> "Build":
    """Open a build: a vmlinux/.o/.ko with DWARF, a BTF blob, a snapshot JSON, or a bundled snapshot's name.

    Reading is lazy: each method reads what it needs (a vmlinux is scanned only
    for the structs asked for), exactly as the CLI's commands do.
    """
    return Build(resolve_input(source))


class StructLayout(NamedTuple):
    """One struct of a build with pahole's statistics; shows as a cacheline grid in Jupyter."""

    struct: StructType
    stats: LayoutStats
    build: ModelBuild
    cacheline_size: int = DEFAULT_CACHELINE

    @property
    def name(self) -> str:
        return self.struct.name or ""

    def text(self) -> str:
        """pahole's listing, exactly as ``layoutcalc show NAME`` prints it (one renderer serves both)."""
        return api.struct_text(self.build, self.struct, self.cacheline_size)

    def frame(self) -> "pd.DataFrame":
        """One row per member (:func:`layoutcalc.render.frames.member_frame`)."""
        from .analysis.facts import debug_info_of
        from .render.frames import member_frame
        return member_frame(self.struct, self.stats, api.abi_of(self.build), self.cacheline_size,
                            debug_info_of(self.build))

    def segments(self) -> list[Any]:
        """Members, holes, bit holes and padding in order (:mod:`layoutcalc.render.layoutmap`)."""
        from .render.layoutmap import layout_segments
        return layout_segments(self.struct, self.stats)

    def _repr_html_(self) -> str:
        from .render.html import struct_html
        return struct_html(self.struct, self.stats, self.segments(),
                           f"{self.build.name} ({self.build.arch})", self.cacheline_size)

    def __repr__(self) -> str:
        return f"<StructLayout {self.struct.tag}: {self.stats.size} bytes, {self.stats.holes} holes>"


class WhatIfLayout(NamedTuple):
    """One struct re-laid out with fields added; shows as a cacheline grid with the changes marked."""

    item: "ScenarioResult"
    cacheline_size: int = DEFAULT_CACHELINE

    @property
    def name(self) -> str:
        return self.item.struct_name

    @property
    def result(self) -> Any:
        """The :class:`layoutcalc.analysis.whatif.WhatIfResult` (before, after, added, placement, abi)."""
        return self.item.result

    def text(self) -> str:
        """Before and after side by side, as ``layoutcalc whatif --full`` prints it."""
        from .render.whatif import whatif_text
        return whatif_text([self.item], full=True)

    def frame(self) -> "pd.DataFrame":
        """The new layout, one row per member, with ``added`` and ``moved_bytes`` columns."""
        from .render.frames import whatif_member_frame
        return whatif_member_frame(self.item)

    def figure(self) -> "Figure":
        """The cacheline map, fields off against on."""
        from .render.plots import cacheline_figure
        return cacheline_figure([self.item], self.cacheline_size)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")

    def __repr__(self) -> str:
        result = self.item.result
        return (f"<WhatIfLayout struct {self.name}: {result.size_before} -> {result.size_after} bytes, "
                f"{len(result.added)} added>")

    def _repr_html_(self) -> str:
        from .abi import struct_alignment
        from .analysis.layout import layout_stats
        from .render.html import stats_line, whatif_html
        from .render.layoutmap import layout_segments, member_shifts
        result = self.item.result
        added = {id(m) for m in result.added}
        shifts = member_shifts(result.before, result.after, added)
        before_stats = layout_stats(result.before, struct_alignment(result.abi, result.before))
        after_stats = layout_stats(result.after, struct_alignment(result.abi, result.after))
        where = f"after '{self.item.anchor}'" if self.item.anchor and result.placement == "as-patched" else \
            result.placement
        title = (f"struct {self.name}: {len(result.added)} field(s) {where} ({result.abi.name}): "
                 f"{result.size_before} → {result.size_after} bytes ({result.size_delta:+d})")
        notes = ["added: " + ", ".join(f"{m.name} at {m.offset_bytes} ({m.type.c_name()})" for m in result.added),
                 f"moved: {len(shifts)} member(s)" + (
                     f", by {', '.join(sorted({f'{s:+d}' for s in shifts.values()}))} bytes" if shifts else "")]
        return whatif_html(title, "after: " + stats_line(after_stats),
                           layout_segments(result.after, after_stats, added, shifts),
                           layout_segments(result.before, before_stats), notes, self.cacheline_size)


class WhatIf(Sequence[WhatIfLayout]):
    """The structs a scenario or patch changed, in order; index by position or struct name."""

    def __init__(self, items: Sequence["ScenarioResult"], warnings: Sequence[str] = (), notes: Sequence[str] = (),
                 baselines: Optional[dict[str, int]] = None, cacheline_size: int = DEFAULT_CACHELINE) -> None:
        self.items = list(items)
        #: what the CLI prints to stderr as ``warning: ...`` lines (blocks a patch's conditions left out, ...)
        self.warnings = [one_line(warning) for warning in warnings]
        #: what the CLI prints as ``note: ...`` lines (what ``--arch`` means)
        self.notes = list(notes)
        self.baselines = dict(baselines or {})
        #: the build's recorded cacheline size: the rows of the grids and maps
        self.cacheline_size = cacheline_size
        self._layouts = [WhatIfLayout(item, cacheline_size) for item in self.items]

    def __len__(self) -> int:
        return len(self._layouts)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for layout in self._layouts:
                if layout.name == key:
                    return layout
            raise NotFoundError(f"the what-if changed no struct named '{key}' "
                                f"(it changed {', '.join(x.name for x in self._layouts) or 'none'})")
        return self._layouts[key]

    def __iter__(self) -> Iterator[WhatIfLayout]:
        return iter(self._layouts)

    def frame(self) -> "pd.DataFrame":
        """One row per struct: sizes, alignments, cachelines before and after."""
        from .render.frames import whatif_frame
        return whatif_frame(self.items)

    def figure(self) -> "Figure":
        """Every changed struct's cacheline map, off against on."""
        from .render.plots import cacheline_figure
        return cacheline_figure(self.items, self.cacheline_size)

    def plot(self, path: str) -> None:
        """Write :meth:`figure` to ``path`` (.png or .svg)."""
        _save(self.figure(), path)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")

    def text(self) -> str:
        """Before and after, as ``layoutcalc whatif`` prints it on stdout (notes first; warnings: :attr:`warnings`)."""
        from .render.whatif import whatif_text
        notes = "".join(f"note: {note}\n" for note in self.notes)
        return notes + whatif_text(self.items, False, self.baselines or None)

    def _repr_html_(self) -> str:
        return "".join(layout._repr_html_() for layout in self._layouts)

    def __repr__(self) -> str:
        return f"<WhatIf {', '.join(f'{x.name} {x.result.size_delta:+d}' for x in self._layouts)}>"


class Report(NamedTuple):
    """``layoutcalc report`` as objects: per build and struct, the cost of the scenario's fields."""

    reports: list["BuildReport"]
    claims: list["Claim"]
    options: "ReportOptions"
    scenario: str

    def frame(self) -> "pd.DataFrame":
        """One row per build x struct (:func:`layoutcalc.render.frames.report_frame`)."""
        from .render.frames import report_frame
        return report_frame(self.reports)

    def claims_frame(self) -> "pd.DataFrame":
        """One row per claim of the seed, with its verdict."""
        from .render.frames import claims_frame
        return claims_frame(self.claims)

    def figure(self) -> "Figure":
        """Bytes per object off and on, per struct and build, on a linear axis with the delta labelled."""
        from .render.plots import bytes_per_object_figure
        return bytes_per_object_figure(self.reports)

    def plot(self, path: str) -> None:
        _save(self.figure(), path)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")

    def text(self, markdown: bool = False) -> str:
        """The verdict as ``layoutcalc report`` prints it."""
        from .render.report import report_text
        return report_text(self.reports, self.claims, self.options, self.scenario, markdown=markdown)

    def __repr__(self) -> str:
        verdicts = ", ".join(f"{c.struct}: {c.verdict}" for c in self.claims)
        return f"<Report '{self.scenario}' on {len(self.reports)} build(s); {verdicts}>"


class Slab(NamedTuple):
    """``layoutcalc slab`` as objects: the caches of each build and what the scenario's fields do to them."""

    views: list["SlabView"]
    warning: str

    def frame(self) -> "pd.DataFrame":
        """One row per build x cache (:func:`layoutcalc.render.frames.slab_frame`)."""
        from .render.frames import slab_frame
        return slab_frame(self.views)

    def figure(self) -> "Figure":
        """One slab per cache and build: objects and leftover, fields off against on."""
        from .render.plots import slab_figure
        return slab_figure(self.views)

    def plot(self, path: str) -> None:
        _save(self.figure(), path)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")

    def text(self) -> str:
        """The tables ``layoutcalc slab`` prints."""
        from .render.slab import slab_text
        return slab_text(self.views)

    def __repr__(self) -> str:
        return f"<Slab {len(self.views)} build(s): {', '.join(v.build for v in self.views)}>"


class Diff(NamedTuple):
    """``layoutcalc diff`` as objects: the :class:`layoutcalc.features.diff.DiffResult` and its views."""

    result: "DiffResult"

    def frame(self) -> "pd.DataFrame":
        """One row per changed struct (:func:`layoutcalc.render.frames.diff_frame`)."""
        from .render.frames import diff_frame
        return diff_frame(self.result)

    def members_frame(self) -> "pd.DataFrame":
        """One row per member added, removed, resized, retyped or moved."""
        from .render.frames import diff_members_frame
        return diff_members_frame(self.result)

    def figure(self) -> "Figure":
        """One bar per changed struct, largest change first, with bloat-o-meter's summary as the title."""
        from .render.plots import diff_figure
        return diff_figure(self.result)

    def plot(self, path: str) -> None:
        _save(self.figure(), path)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")

    def text(self) -> str:
        """What ``layoutcalc diff`` prints."""
        from .render.diff import diff_text
        return diff_text(self.result)

    def markdown(self) -> str:
        """What ``layoutcalc diff --format markdown`` prints (a pull-request comment)."""
        from .render.diff import diff_markdown
        return diff_markdown(self.result)

    def __repr__(self) -> str:
        summary = self.result.summary
        return (f"<Diff {self.result.old.name} -> {self.result.new.name}: {len(self.result.changes)} changed, "
                f"net {summary.net:+d} bytes>")


class Check(NamedTuple):
    """``layoutcalc check`` as objects: the :class:`layoutcalc.features.budget.CheckResult` and its views."""

    result: "CheckResult"

    @property
    def regressions(self) -> int:
        return len(self.result.regressions)

    def frame(self) -> "pd.DataFrame":
        """One row per grown struct: delta, rule, knock-on, verdict, reasons and causes."""
        from .render.frames import check_frame
        return check_frame(self.result)

    def diff(self) -> Diff:
        """The diff against the baseline the verdicts judge."""
        return Diff(self.result.diff)

    def text(self, fmt: str = "text") -> str:
        """What ``layoutcalc check --format FMT`` prints (text, json, markdown, junit, github)."""
        from .render.diff import render_check
        return render_check(self.result, fmt)

    def __repr__(self) -> str:
        grown = len(self.result.verdicts)
        return f"<Check {self.result.diff.new.name}: {self.regressions} regressions in {grown} grown>"


class History(NamedTuple):
    """``layoutcalc history`` as objects: one :class:`layoutcalc.features.history.HistoryRow` per build."""

    rows: list[Any]
    structs: list[str]

    def frame(self) -> "pd.DataFrame":
        """One row per build: each struct's size and its change from the previous build."""
        from .render.frames import history_frame
        return history_frame(self.rows)

    def figure(self) -> "Figure":
        """The sizes across builds, one panel per struct (what ``layoutcalc history --plot`` draws)."""
        from .render.history import history_figure
        return history_figure(self.rows, self.structs)

    def plot(self, path: str) -> None:
        _save(self.figure(), path)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        return _figure_bytes(self.figure(), "png")

    def svg(self) -> bytes:
        """:meth:`figure` as SVG bytes."""
        return _figure_bytes(self.figure(), "svg")


def history(inputs: Sequence[Union[str, Path, Build]], structs: Sequence[str] = ()) -> History:
    """``layoutcalc history``: sizes of ``structs`` (default: the seed's three) across builds, in order."""
    from .features.history import DEFAULT_STRUCTS, scan_history
    wanted = list(structs) or list(DEFAULT_STRUCTS)
    return History(scan_history([_path(i) for i in inputs], wanted), wanted)


def _figure_bytes(figure: "Figure", fmt: str) -> bytes:
    from .render.plots import figure_bytes
    return figure_bytes(figure, fmt)


def _save(figure: "Figure", path: str) -> None:
    from .render.plots import save_figure
    save_figure(figure, path)


class Build:
    """One input, opened by :func:`load`.  Methods mirror the CLI's commands on this input."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._model: Optional[ModelBuild] = None
        self._header: Optional["BuildHeader"] = None

    @property
    def model(self) -> ModelBuild:
        """The whole build (every struct), read on first use."""
        if self._model is None:
            self._model = api.load(self.path)
        return self._model

    @property
    def header(self) -> "BuildHeader":
        """Name, ABI, word size and byte order from the file's header: no read of its types."""
        if self._header is None:
            from .readers import BuildHeader
            if self._model is not None:
                model = self._model
                self._header = BuildHeader(model.name, model.arch, model.address_size, model.byte_order, "")
            else:
                from .readers import read_header
                self._header = read_header(self.path)
        return self._header

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def arch(self) -> str:
        return self.header.arch

    @property
    def address_size(self) -> int:
        return self.header.address_size

    @property
    def byte_order(self) -> str:
        return self.header.byte_order

    def structs(self) -> "pd.DataFrame":
        """One row per struct and union definition of the build (:func:`layoutcalc.render.frames.structs_frame`)."""
        from .render.frames import structs_frame
        return structs_frame(api.catalogue(self.path))

    def struct(self, name: str, cacheline_size: Optional[int] = None) -> StructLayout:
        """``layoutcalc show NAME``: the struct with pahole's statistics.

        ``cacheline_size`` defaults to the one the build records (128 bytes on the 2.6.22 snapshots), else 64.
        """
        build = self._model or api.load(self.path, structs=[name])
        line = api.cacheline_size_of(build, cacheline_size)
        ((struct, stats),) = api.show(build, [name], line)
        return StructLayout(struct, stats, build, line)

    def whatif(self, scenario: Optional[str] = None, patch: Optional[str] = None, defines: Sequence[str] = (),
               placement: str = "as-patched", arch: Optional[str] = None, level: int = 0,
               config: Optional[str] = None) -> WhatIf:
        """``layoutcalc whatif``: the structs re-laid out with a scenario's (default ``flat``) or patch's fields.

        ``scenario`` is a bundled name or a TOML file; ``patch`` a unified diff; ``defines`` are
        ``SYMBOL=y|n|m|N`` items and ``config`` a kernel ``.config`` deciding the patch's ``#if`` blocks;
        ``placement`` is ``as-patched``, ``best-fit``, ``append`` or ``reorganize``; ``arch`` one of
        x86_64, i386, aarch64, arm, ppc64le, s390x, riscv64.  The result's ``warnings`` are the CLI's.
        Grids and maps are drawn in the build's recorded cacheline size.
        """
        run = api.whatif_run(self.path, scenario, patch, defines, placement, arch, level, config)
        build = self._model or api.load(self.path, structs=[item.struct_name for item in run.results])
        return WhatIf(run.results, run.warnings, run.notes, run.baselines, api.cacheline_size_of(build))

    def report(self, scenario: str = "flat", options: Optional["ReportOptions"] = None, **option_values: Any
               ) -> Report:
        """``layoutcalc report -i THIS``; ``option_values`` are :class:`ReportOptions` fields (processes=...)."""
        return report([self.path], scenario, options, **option_values)

    def slab(self, cpus: int = 2, allocator: Optional[str] = None, xstate_size: Optional[int] = 832,
             scenario: Optional[str] = "flat", patch: Optional[str] = None,
             counts: Optional[dict[str, int]] = None) -> Slab:
        """``layoutcalc slab -i THIS``: the modelled caches, and what ``scenario``'s fields do to them.

        ``allocator`` ("slub" or "slab") overrides the one the CLI picks by default; ``patch`` adds
        the cost rows of every cache holding a struct it changes (``view.costs``).
        """
        return slabs([self.path], cpus, allocator, xstate_size, scenario, patch, counts)

    def diff(self, other: Union["Build", str, Path], structs: Sequence[str] = ()) -> "Diff":
        """``layoutcalc diff THIS OTHER``: which structs grew or shrank from this build to ``other``, and why.

        ``structs`` are names or globs to limit it to (default: every struct).
        """
        return Diff(api.diff(self.path, _path(other), structs))

    def check(self, baseline: Union[str, Path], budget: Union[str, Path, None] = None,
              structs: Sequence[str] = ()) -> Check:
        """``layoutcalc check THIS --baseline FILE [--budget FILE.toml]``: this build judged against a baseline."""
        return Check(api.check(self.path, str(baseline), str(budget) if budget else None, patterns=structs))

    def baseline(self, out: Union[str, Path], structs: Sequence[str] = ()) -> str:
        """``layoutcalc baseline THIS -o OUT``: write this build's baseline; returns its path."""
        api.baseline(self.path, str(out), structs)
        return str(out)

    def __repr__(self) -> str:
        return f"<layoutcalc.Build {self.path}>"


def report(inputs: Sequence[Union[str, Path, Build]] = (), scenario: str = "flat",
           options: Optional["ReportOptions"] = None, patch: Optional[str] = None,
           counts: Optional[dict[str, int]] = None, **option_values: Any) -> Report:
    """``layoutcalc report``: the verdict on several builds at once (default: every bundled snapshot).

    ``patch`` (a header diff) replaces ``scenario`` and adds each build's cost rows (``report.costs``).
    """
    import dataclasses

    from .features.report import ReportOptions
    chosen = dataclasses.replace(options or ReportOptions(), **option_values)
    reports, claims = api.report([_path(i) for i in inputs], scenario, chosen, patch=patch, counts=counts)
    if patch is not None:
        claims = []  # the seed's claims are about its own scenario, not this patch
    return Report(reports, claims, chosen, scenario)


def slabs(inputs: Sequence[Union[str, Path, Build]] = (), cpus: int = 2, allocator: Optional[str] = None,
          xstate_size: Optional[int] = 832, scenario: Optional[str] = "flat", patch: Optional[str] = None,
          counts: Optional[dict[str, int]] = None) -> Slab:
    """``layoutcalc slab``: the modelled caches of several builds (default: every bundled snapshot).

    ``patch`` (a header diff) adds each view's cost rows (``view.costs``), counted with ``counts``.

    ``allocator`` ("slub" or "slab") overrides the one the CLI picks by default.
    """
    chosen: dict[str, Any] = {"allocator": allocator} if allocator else {}
    if patch is not None:
        chosen.update(patch=patch, counts=counts)
    views, warning = api.slab([_path(i) for i in inputs], False, cpus, xstate_size=xstate_size, scenario=scenario,
                              **chosen)
    return Slab(views, warning)


def bundled() -> list[Build]:
    """Every bundled snapshot, opened."""
    return [Build(str(path)) for path in api.bundled_snapshots()]


def _path(source: Union[str, Path, Build]) -> str:
    return source.path if isinstance(source, Build) else resolve_input(source)
