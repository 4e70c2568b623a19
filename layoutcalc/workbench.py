"""The notebook and script API: ``layoutcalc.load(...)`` and the objects it hands back.

Every method calls the functions of :mod:`layoutcalc.api` that the CLI calls,
with the same arguments, and each object here is a view of the one result the
api returns: its ``.text()`` (and markdown, HTML) is :func:`layoutcalc.render.render`
of that result, which is what ``layoutcalc show``, ``whatif``, ``slab``, ``report``,
``diff``, ``check`` and ``history`` print.  Results know how to become a
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
from .render import render
from .render.lines import one_line

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .features.budget import CheckResult
    from .features.diff import DiffResult
    from .features.report import BuildReport, Claim, ReportOptions
    from .features.results import HistoryResult, ReportResult, ShowResult, SlabResult, WhatIfRun
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
    """One struct of a build with pahole's statistics; shows as a cacheline grid in Jupyter.

    ``shown`` is the result of ``show NAME`` it comes from (:func:`layoutcalc.api.show`).
    """

    struct: StructType
    stats: LayoutStats
    build: ModelBuild
    cacheline_size: int = DEFAULT_CACHELINE
    shown: Optional["ShowResult"] = None

    @property
    def name(self) -> str:
        return self.struct.name or ""

    @property
    def result(self) -> "ShowResult":
        """The ``show`` result this layout renders (the struct alone when it was made by hand)."""
        if self.shown is not None:
            return self.shown
        from .features.results import ShowResult
        return ShowResult(self.build, (self.name,), (self.struct,), self.cacheline_size, ((self.struct, self.stats),))

    def text(self) -> str:
        """pahole's listing, exactly as ``layoutcalc show NAME`` prints it (one renderer serves both)."""
        return render(self.result, "text")

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
        return render(self.result, "html")

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

    def _run(self) -> "WhatIfRun":
        from .features.results import WhatIfRun
        return WhatIfRun([self.item])

    def text(self) -> str:
        """Before and after side by side, as ``layoutcalc whatif --full`` prints it for this struct."""
        return render(self._run(), "text", full=True)

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
        return render(self._run(), "html", cacheline_size=self.cacheline_size)


class WhatIf(Sequence[WhatIfLayout]):
    """The structs a scenario or patch changed, in order; index by position or struct name.

    A view of the :class:`layoutcalc.features.results.WhatIfRun` that ``layoutcalc whatif`` renders (``run``).
    """

    def __init__(self, run: "WhatIfRun", cacheline_size: int = DEFAULT_CACHELINE) -> None:
        #: the api's result, which :meth:`text` renders as the CLI does
        self.run = run
        self.items = list(run.results)
        #: what the CLI prints to stderr as ``warning: ...`` lines (blocks a patch's conditions left out, ...)
        self.warnings = [one_line(warning) for warning in run.warnings]
        #: what the CLI prints as ``note: ...`` lines (what ``--arch`` means)
        self.notes = list(run.notes)
        self.baselines = dict(run.baselines)
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
        return render(self.run, "text")

    def json(self) -> str:
        """What ``layoutcalc whatif --format json`` prints."""
        return render(self.run, "json")

    def _repr_html_(self) -> str:
        return render(self.run, "html", cacheline_size=self.cacheline_size)

    def __repr__(self) -> str:
        return f"<WhatIf {', '.join(f'{x.name} {x.result.size_delta:+d}' for x in self._layouts)}>"


class Report(NamedTuple):
    """``layoutcalc report`` as objects: per build and struct, the cost of the scenario's fields.

    A view of the :class:`layoutcalc.features.results.ReportResult` the command renders (``result``).
    """

    result: "ReportResult"

    @property
    def reports(self) -> list["BuildReport"]:
        return self.result.reports

    @property
    def claims(self) -> list["Claim"]:
        return self.result.claims

    @property
    def options(self) -> "ReportOptions":
        return self.result.options

    @property
    def scenario(self) -> str:
        """The report's title: the scenario's name, or ``patch FILE``."""
        return self.result.scenario

    @property
    def warnings(self) -> list[str]:
        """What the CLI prints to stderr as ``warning: ...`` lines."""
        return [one_line(warning) for warning in self.result.warnings]

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
        """The verdict as ``layoutcalc report`` (``--format markdown``) prints it."""
        return render(self.result, "markdown" if markdown else "text")

    def __repr__(self) -> str:
        verdicts = ", ".join(f"{c.struct}: {c.verdict}" for c in self.claims)
        return f"<Report '{self.scenario}' on {len(self.reports)} build(s); {verdicts}>"


class Slab(NamedTuple):
    """``layoutcalc slab`` as objects: the caches of each build and what the scenario's fields do to them.

    A view of the :class:`layoutcalc.features.results.SlabResult` the command renders (``result``).
    """

    result: "SlabResult"

    @property
    def views(self) -> list["SlabView"]:
        return self.result.views

    @property
    def warning(self) -> str:
        """Why the running kernel could not be read (empty when it could, or was not asked for)."""
        return self.result.unavailable

    @property
    def warnings(self) -> list[str]:
        """What the CLI prints to stderr as ``warning: ...`` lines."""
        return [one_line(warning) for warning in self.result.warnings]

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
        return render(self.result, "text")

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
        return render(self.result, "text")

    def markdown(self) -> str:
        """What ``layoutcalc diff --format markdown`` prints (a pull-request comment)."""
        return render(self.result, "markdown")

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
        return render(self.result, fmt)

    def __repr__(self) -> str:
        grown = len(self.result.verdicts)
        return f"<Check {self.result.diff.new.name}: {self.regressions} regressions in {grown} grown>"


class History(NamedTuple):
    """``layoutcalc history`` as objects: one :class:`layoutcalc.features.history.HistoryRow` per build.

    A view of the :class:`layoutcalc.features.results.HistoryResult` the command renders (``result``).
    """

    result: "HistoryResult"

    @property
    def rows(self) -> list[Any]:
        return self.result.rows

    @property
    def structs(self) -> list[str]:
        return self.result.structs

    def text(self, fmt: str = "text") -> str:
        """What ``layoutcalc history --format FMT`` prints (text, json, csv)."""
        return render(self.result, fmt)

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
    return History(api.history([_path(i) for i in inputs], structs))


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
        shown = api.show(build, [name], api.cacheline_size_of(build, cacheline_size))
        assert shown.layouts is not None
        ((struct, stats),) = shown.layouts
        return StructLayout(struct, stats, build, shown.cacheline_size, shown)

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
        run = api.whatif(self.path, scenario, patch, defines, placement, arch, level, config)
        build = self._model or api.load(self.path, structs=[item.struct_name for item in run.results])
        return WhatIf(run, api.cacheline_size_of(build))

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
    return Report(api.report([_path(i) for i in inputs], scenario, chosen, patch=patch, counts=counts))


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
    return Slab(api.slab([_path(i) for i in inputs], False, cpus, xstate_size=xstate_size, scenario=scenario,
                         **chosen))


def bundled() -> list[Build]:
    """Every bundled snapshot, opened."""
    return [Build(str(path)) for path in api.bundled_snapshots()]


def _path(source: Union[str, Path, Build]) -> str:
    return source.path if isinstance(source, Build) else resolve_input(source)
