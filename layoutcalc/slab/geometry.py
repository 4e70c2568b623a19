"""Slab geometry under any allocator era: what one object of a kernel cache really costs.

The eras live one per module: :mod:`.slub` (2.6.23 on), :mod:`.slab_2622`
(SLAB as in 2.6.22); :mod:`.caches` says how the kernel creates the caches
and :mod:`.era` decides, from the build's content, which applies.
:func:`geometry` turns a :class:`~.caches.CacheSpec` into a
:class:`~.common.SlabGeometry` (the figures ``/sys/kernel/slab/<cache>/``
shows) under an allocator; :func:`era_geometry` does it under a build's
:class:`~.era.SlabEra`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Optional

from ..errors import ScenarioError
from .caches import CacheSpec
from .common import MergeCandidate, SlabGeometry
from .era import SlabEra
from .slab_2622 import slab_geometry
from .slub import MAX_PAGE_ORDER, slub_geometry


def era_geometry(spec: CacheSpec, era: SlabEra, cpus: int = 2,
                 candidates: Optional[Sequence[MergeCandidate]] = None) -> SlabGeometry:
    """Geometry of ``spec`` under the build's era: its allocator, cache line, page size and SLUB order search."""
    options: dict[str, object] = {"variant": era.slub_order_search} if era.allocator == "slub" else {}
    return geometry(spec, era.allocator, cpus, era.page_size, era.cache_line, candidates, **options)


def geometry(spec: CacheSpec, allocator: str = "slub", cpus: int = 2, page_size: int = 4096,
             cache_line: int = 64, candidates: Optional[Sequence[MergeCandidate]] = None,
             **options: object) -> SlabGeometry:
    """Geometry of ``spec`` under ``allocator`` ("slub" or "slab").

    ``options`` go to :func:`slub_geometry` (min_objects, max_order,
    min_order, arch_slab_minalign, variant, slab_nomerge) or
    :func:`slab_geometry` (break_order, arch_slab_minalign).
    """
    largest = page_size << MAX_PAGE_ORDER
    if not 0 < spec.object_size <= largest:  # damaged debug info: a zero-sized or impossibly large struct
        raise ScenarioError(f"cache {spec.name}: an object of {spec.object_size} bytes cannot come from a slab "
                            f"(1 to {largest} bytes)")
    if allocator == "slub":
        return slub_geometry(spec, cpus, page_size, cache_line, candidates, **options)  # type: ignore[arg-type]
    if allocator == "slab":
        return slab_geometry(spec, page_size, cache_line, **options)  # type: ignore[arg-type]
    raise ScenarioError(f"unknown allocator '{allocator}' (slub or slab)")


class SlabEffect(NamedTuple):
    """A cache before (``off``) and after (``on``) a struct changes size, under one allocator."""

    allocator: str
    off: SlabGeometry
    on: SlabGeometry

    @property
    def delta_object_size(self) -> int:
        return self.on.own_object_size - self.off.own_object_size

    @property
    def delta_slab_size(self) -> int:
        return self.on.slab_size - self.off.slab_size

    @property
    def delta_objs_per_slab(self) -> int:
        return self.on.objs_per_slab - self.off.objs_per_slab

    @property
    def delta_bytes_per_object(self) -> float:
        """Real memory per object, the figure that matters for a fleet."""
        return self.on.bytes_per_object - self.off.bytes_per_object

    @property
    def order_changed(self) -> bool:
        return self.on.order != self.off.order


def slab_effect(spec: CacheSpec, struct_size_on: int, struct_size_off: Optional[int] = None,
                allocators: Sequence[str] = ("slub", "slab"), cpus: int = 2, page_size: int = 4096,
                cache_line: int = 64,
                candidates: Optional[Sequence[MergeCandidate]] = None,
                variant: str = "current") -> list[SlabEffect]:
    """The flat-model effect of ``sizeof(spec.struct_name)`` going from off to on, per allocator.

    ``struct_size_off`` defaults to the spec's own struct size.  Merge
    candidates apply to SLUB only (SLAB never merges).
    """
    off_spec = spec if struct_size_off is None else spec.with_struct_size(struct_size_off)
    on_spec = spec.with_struct_size(struct_size_on)
    effects = []
    for allocator in allocators:
        pool = candidates if allocator == "slub" else None
        options = {"variant": variant} if allocator == "slub" else {}
        effects.append(SlabEffect(allocator,
                                  geometry(off_spec, allocator, cpus, page_size, cache_line, pool, **options),
                                  geometry(on_spec, allocator, cpus, page_size, cache_line, pool, **options)))
    return effects
