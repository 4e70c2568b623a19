"""One result per command: what each :mod:`layoutcalc.api` command returns, with its warnings.

Every result here is plain data.  ``warnings`` are the lines the CLI prints on
stderr as ``warning: ...`` (what a patch's conditions left out, a running kernel
that could not be read, ...) and ``notes`` what it prints first on stdout as
``note: ...``.  Text, JSON, markdown, CSV and HTML are renderings of a result
(:func:`layoutcalc.render.render`), so the CLI and the notebook objects, which
both render the same result, cannot print different things.

``diff`` and ``check`` return :class:`layoutcalc.features.diff.DiffResult` and
:class:`layoutcalc.features.budget.CheckResult`, which carry ``warnings`` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Optional, Union

if TYPE_CHECKING:
    from ..analysis.layout import LayoutStats
    from ..analysis.query import MemberAt, Relations, SizeFilter, SizeRow
    from ..analysis.reorganize import Reorganized
    from ..analysis.verify import LayoutCheck
    from ..changes.scenario import ScenarioResult
    from ..model import Build, StructType, TypedefType
    from ..slab.census import Census, Predicted
    from ..slab.view import SlabView
    from .diff import Catalogue
    from .history import HistoryRow
    from .report import BuildReport, Claim, ReportOptions


class ShowResult(NamedTuple):
    """``show NAME...``: the structs, unions or typedefs named, as found in ``build``.

    ``layouts`` (each struct with pahole's statistics; a typedef gives the struct it
    names) is None when the statistics were not asked for: the text listing does not
    need them, and a typedef of a non-struct has none.
    """

    build: "Build"
    names: tuple[str, ...]
    found: tuple[Union["StructType", "TypedefType"], ...]
    cacheline_size: int
    layouts: Optional[tuple[tuple["StructType", "LayoutStats"], ...]] = None
    warnings: Sequence[str] = ()


class MembersAtResult(NamedTuple):
    """``show NAME... --at OFFSET``: for each struct, the member path, hole or padding at that byte."""

    answers: tuple["MemberAt", ...]
    warnings: Sequence[str] = ()


class RelationsResult(NamedTuple):
    """``show --contains NAME`` / ``show --pointers-to NAME``: pahole's lines."""

    relations: "Relations"
    warnings: Sequence[str] = ()


class SizesResult(NamedTuple):
    """``sizes``: (name, size, holes) for every struct and union, as ``pahole --sizes``."""

    rows: tuple[tuple[str, int, int], ...]
    warnings: Sequence[str] = ()


class SizeHuntResult(NamedTuple):
    """``sizes`` with the hunting filters and sort of ``chosen`` (pahole's -H, -B, -n, -P)."""

    rows: tuple["SizeRow", ...]
    chosen: "SizeFilter"
    warnings: Sequence[str] = ()


class ReorganizeResult(NamedTuple):
    """``reorganize``: each struct repacked, with the statistics of its new layout.

    ``every``: the whole input was repacked (``--all``; its JSON is one struct a line).
    """

    items: tuple[tuple["Reorganized", "LayoutStats"], ...]
    every: bool = False
    warnings: Sequence[str] = ()

    @property
    def repacked(self) -> list["Reorganized"]:
        return [item for item, _ in self.items]


class ReportResult(NamedTuple):
    """``report``: the verdict per build and struct, and on each claim of the scenario.

    ``scenario`` is the label the report is titled with (a scenario's name, or ``patch FILE``).
    """

    reports: list["BuildReport"]
    claims: list["Claim"]
    options: "ReportOptions"
    scenario: str
    warnings: Sequence[str] = ()


class WhatIfRun(NamedTuple):
    """``whatif``: the structs re-laid out, what was left out (warnings), what was computed (notes).

    ``baselines``: struct -> size with the fields where the patch or scenario puts them, for
    placements that move fields elsewhere (best-fit, reorganize): what those save is measured
    against it.
    """

    results: list["ScenarioResult"]
    warnings: Sequence[str] = ()
    notes: Sequence[str] = ()
    baselines: Mapping[str, int] = {}


class VerifyResult(NamedTuple):
    """``whatif --verify``: the prediction next to the compiled patched headers, struct by struct."""

    checks: list["LayoutCheck"]
    warnings: Sequence[str] = ()


class SlabResult(NamedTuple):
    """``slab``: the modelled caches of each build.

    ``unavailable`` is why the running kernel could not be read (``--live``; the static
    views are given instead); it is also the last of ``warnings``.
    """

    views: list["SlabView"]
    warnings: Sequence[str] = ()
    unavailable: str = ""


class CensusResult(NamedTuple):
    """``slab --live --all``: every cache of the running kernel beside ``/sys/kernel/slab``."""

    census: "Census"
    warnings: Sequence[str] = ()


class SlabPredictionsResult(NamedTuple):
    """``slab --all -i BUILD``: every cache of the build's catalogue whose struct it has, predicted."""

    build: str
    rows: list["Predicted"]
    warnings: Sequence[str] = ()


class BaselineResult(NamedTuple):
    """``baseline``: the catalogue written to ``path``."""

    path: str
    catalogue: "Catalogue"
    warnings: Sequence[str] = ()

    @property
    def layouts(self) -> int:
        """How many struct layouts were written."""
        return sum(len(layouts) for layouts in self.catalogue.layouts.values())


class HistoryResult(NamedTuple):
    """``history``: one row per build (in the order given), the sizes of ``structs``."""

    rows: list["HistoryRow"]
    structs: list[str]
    warnings: Sequence[str] = ()


class SnapshotResult(NamedTuple):
    """``snapshot``: the file written and what it holds.

    From an input: ``structs`` counts its structs and unions.  From a kernel source
    tree (``tree``): ``cached`` says whether the compile was reused, else it took ``seconds``.
    """

    path: str
    arch: str
    structs: int = 0
    tree: Optional[str] = None
    cached: bool = False
    seconds: float = 0.0
    warnings: Sequence[str] = ()
