"""The ``slab`` view: predicted cache geometry per build, the scenario's effect, and the live check.

Glue between the slab model, the scenario engine and the live readers, so
that the CLI and notebooks ask one function for one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..abi import get_abi
from ..changes.scenario import Scenario, apply_scenario
from ..errors import LiveSystemError, NotFoundError, ScenarioError
from ..model import Build
from .caches import SLAB_STRUCTS, CacheSpec
from .specs import cache_specs_for_build
from .common import SlabGeometry
from .era import SlabEra, decide_era
from .geometry import SlabEffect, era_geometry, slab_effect

if TYPE_CHECKING:
    from .live import LiveCache
    from .patchcost import PatchCost


@dataclass(frozen=True)
class CacheView:
    """One cache: the prediction, what the running kernel says (live only), the scenario's effect."""

    spec: CacheSpec
    predicted: SlabGeometry
    actual: Optional["LiveCache"]  # read from sysfs (live view only)
    mismatches: tuple[str, ...]
    effects: tuple[SlabEffect, ...]

    @property
    def match(self) -> Optional[bool]:
        return None if self.actual is None else not self.mismatches


@dataclass(frozen=True)
class SlabView:
    build: str
    arch: str
    allocator: str
    cpus: int
    page_size: int
    cache_line: int
    xstate_size: Optional[int]
    caches: list[CacheView]
    note: str = ""
    costs: Optional["PatchCost"] = None  # a patch's rows per struct x cache (containment included)


def _effects(build: Build, scenario: Optional[Scenario], spec: CacheSpec, cpus: int, page_size: int,
             cache_line: int, era: SlabEra) -> tuple[SlabEffect, ...]:
    if scenario is None:
        return ()
    abi = get_abi(build.arch)
    sizes = {r.struct_name: r.result.size_after for r in apply_scenario(build, scenario, abi)}
    if spec.struct_name not in sizes:
        return ()
    return tuple(slab_effect(spec, sizes[spec.struct_name], None, ("slub", "slab"), cpus, page_size, cache_line,
                             variant=era.slub_order_search))


def static_view(build: Build, scenario: Optional[Scenario], cpus: int = 2, xstate_size: Optional[int] = 832,
                allocator: Optional[str] = None) -> SlabView:
    """Geometry of the build's task_struct, signal_cache and pid caches, without a running kernel.

    ``allocator`` overrides the one the build's era and config say (:func:`~.era.decide_era`).
    """
    abi = get_abi(build.arch)
    era = decide_era(build, abi, allocator)
    specs = cache_specs_for_build(build, abi, xstate_size, era=era)
    if not specs:
        raise NotFoundError(f"{build.origin or build.name}: none of task_struct, signal_struct, pid "
                            "(the structs whose caches layoutcalc models)")
    try:
        caches = [CacheView(spec, era_geometry(spec, era, cpus), None, (),
                            _effects(build, scenario, spec, cpus, era.page_size, era.cache_line, era))
                  for spec in specs]
    except ScenarioError as exc:
        if str(exc).startswith("cache "):  # name the input the impossible size came from
            raise ScenarioError(f"{build.origin or build.name}: {exc}") from None
        raise
    return SlabView(build.name, build.arch, era.allocator, cpus, era.page_size, era.cache_line,
                    xstate_size if build.has_struct("fpu") else None, caches)


def live_view(scenario: Optional[Scenario]) -> SlabView:
    """Predict this machine's caches from its own BTF and compare with /sys/kernel/slab."""
    from . import live
    structs, types = _scenario_needs(scenario)
    build = live.read_live_btf(list(SLAB_STRUCTS) + structs, type_names=types)
    machine = live.read_machine(build)
    predictions = live.predict_live(build)
    abi = get_abi(build.arch)
    caches = [CacheView(p.spec, p.predicted, p.actual, tuple(p.mismatches()),
                        _effects(build, scenario, p.spec, machine.nr_cpus, abi.page_size, machine.cache_line,
                                 decide_era(build, abi, "slub")))
              for p in predictions]
    return SlabView("running kernel (/sys/kernel/btf/vmlinux)", build.arch, "slub", machine.nr_cpus, abi.page_size,
                    machine.cache_line, machine.xstate_size, caches)


def _scenario_needs(scenario: Optional[Scenario]) -> tuple[list[str], list[str]]:
    if scenario is None:
        return [], []
    from ..changes.scenario import scenario_needs
    return scenario_needs(scenario)


def try_live_view(scenario: Optional[Scenario], fallback: Sequence[Build]) -> tuple[list[SlabView], str]:
    """The live view, or the static views of ``fallback`` with the reason the live one failed."""
    try:
        return [live_view(scenario)], ""
    except LiveSystemError as exc:
        return [static_view(build, scenario) for build in fallback], str(exc)
