"""SLUB (default from 2.6.23, the only allocator since 6.8): object alignment, size, order and merging.

``mm/slab_common.c: calculate_alignment``, ``mm/slub.c: calculate_sizes``,
``calculate_order``/``calc_slab_order`` and ``find_mergeable``.  Two order
searches exist: the current one (6.7 and later) and the legacy one (up to
6.6, used by 6.1); they agree on most sizes.  Without debugging options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Optional

from ..errors import ScenarioError
from .caches import CacheSpec
from .common import MergeCandidate, SlabGeometry, align_up, fls, get_order

SLUB_MAX_ORDER = 3  # PAGE_ALLOC_COSTLY_ORDER
MAX_OBJS_PER_PAGE = 32767
MAX_PAGE_ORDER = 10


def calculate_alignment(flags_hwcache: bool, align: int, size: int, cache_line: int = 64,
                        arch_slab_minalign: int = 8, word: int = 8) -> int:
    """``mm/slab_common.c: calculate_alignment``.

    With ``SLAB_HWCACHE_ALIGN`` the cache line is halved while the object fits
    in half of it; the caller's ``align`` and ``ARCH_SLAB_MINALIGN`` (default
    ``__alignof__(unsigned long long)``, 8) are lower bounds; the result is a
    multiple of the word size.
    """
    if flags_hwcache:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, arch_slab_minalign)
    return align_up(align, word)


class SlubSizes(NamedTuple):
    """``calculate_sizes``: ``size`` is ``s->size`` (sysfs ``slab_size``), ``offset`` the free pointer's."""

    size: int
    offset: int
    freeptr_outside: bool


def calculate_sizes(object_size: int, align: int, word: int = 8, freeptr_outside: bool = False,
                    freeptr_offset: Optional[int] = None) -> SlubSizes:
    """``mm/slub.c: calculate_sizes`` without debugging.

    The object is rounded up to a word.  The free pointer is stored near the
    middle of the object (``ALIGN_DOWN(object_size / 2, word)``, since 5.7)
    unless the object may not be overwritten on free: caches that are
    ``SLAB_TYPESAFE_BY_RCU`` (without a ``freeptr_offset``, 6.12+), poisoned
    or have a constructor get it appended after the object (one more word).
    Then the size is rounded up to the alignment.
    """
    size = align_up(object_size, word)
    if freeptr_outside:
        offset = size
        size += word
    elif freeptr_offset is not None:
        offset = freeptr_offset
    else:
        offset = (object_size // 2) // word * word
    return SlubSizes(align_up(size, align), offset, freeptr_outside)


def order_objects(order: int, size: int, page_size: int = 4096) -> int:
    """Objects of ``size`` bytes in a slab of ``order``."""
    return (page_size << order) // size


def slub_min_objects(cpus: int, nr_cpu_ids: Optional[int] = None) -> int:
    """Default ``slub_min_objects``: 4 * (fls(nr_cpus) + 1), with nr_cpu_ids when one CPU is present."""
    nr_cpus = cpus
    if nr_cpus <= 1:
        nr_cpus = nr_cpu_ids if nr_cpu_ids is not None else cpus
    return 4 * (fls(nr_cpus) + 1)


def _calc_slab_order(size: int, min_order: int, max_order: int, fraction: int, page_size: int) -> int:
    order = min_order
    while order <= max_order:
        slab_bytes = page_size << order
        if slab_bytes % size <= slab_bytes // fraction:
            break
        order += 1
    return order


def calculate_order(size: int, cpus: int = 2, page_size: int = 4096, min_objects: int = 0,
                    max_order: int = SLUB_MAX_ORDER, min_order: int = 0,
                    nr_cpu_ids: Optional[int] = None, variant: str = "current") -> int:
    """``mm/slub.c: calculate_order`` for a slab object of ``size`` (``s->size``) bytes.

    ``min_objects`` is the ``slub_min_objects`` boot parameter (0: derived
    from ``cpus``, the number of present CPUs).  ``variant`` "current" is the
    search of 6.8 and later: from the order holding min_objects up to
    ``max_order``, accept the first whose leftover is at most 1/16, 1/8, 1/4,
    1/2 of the slab; else the order of one object.  "legacy" (up to 6.7)
    tries 1/16, 1/8, 1/4 and lowers min_objects one by one before accepting
    any waste.
    """
    if variant not in ("current", "legacy"):
        raise ScenarioError(f"unknown SLUB order variant '{variant}' (current or legacy)")
    wanted = min_objects or slub_min_objects(cpus, nr_cpu_ids)
    max_objects = max(order_objects(max_order, size, page_size), 1)
    wanted = min(wanted, max_objects)
    if variant == "legacy":
        return _legacy_calculate_order(size, wanted, page_size, max_order, min_order)
    start = max(min_order, get_order(wanted * size, page_size))
    if order_objects(start, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1
    for fraction in (16, 8, 4, 2):
        order = _calc_slab_order(size, start, max_order, fraction, page_size)
        if order <= max_order:
            return order
    return get_order(size, page_size)


def _legacy_calculate_order(size: int, min_objects: int, page_size: int, max_order: int,
                            min_order: int) -> int:
    def legacy_calc(objects: int, top: int, fraction: int) -> int:
        if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
            return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1
        start = max(min_order, get_order(objects * size, page_size))
        return _calc_slab_order(size, start, top, fraction, page_size)

    while min_objects > 1:
        for fraction in (16, 8, 4):
            order = legacy_calc(min_objects, max_order, fraction)
            if order <= max_order:
                return order
        min_objects -= 1
    order = legacy_calc(1, max_order, 1)
    if order <= max_order:
        return order
    return legacy_calc(1, MAX_PAGE_ORDER, 1)


def create_unique_id(size: int, account: bool = False, reclaim_account: bool = False,
                     dma: bool = False, dma32: bool = False, consistency_checks: bool = False) -> str:
    """``mm/slub.c: create_unique_id``: ``:`` + flag letters (d D a F A) + ``-`` if any + ``%07u`` of size."""
    letters = "".join(letter for letter, on in (("d", dma), ("D", dma32), ("a", reclaim_account),
                                               ("F", consistency_checks), ("A", account)) if on)
    return f":{letters}{'-' if letters else ''}{size:07d}"


def find_mergeable(spec: CacheSpec, candidates: Sequence[MergeCandidate], cache_line: int = 64,
                   arch_slab_minalign: int = 8, slab_nomerge: bool = False) -> Optional[MergeCandidate]:
    """``mm/slab_common.c: find_mergeable``: the existing cache ``spec`` would be merged into, if any.

    Never merged: a constructor, a usercopy region (``kmem_cache_create_usercopy``
    with hardened usercopy), ``SLAB_TYPESAFE_BY_RCU`` or poisoning.  Otherwise
    the candidate's ``s->size`` must be at least ours (after word rounding and
    alignment) and less than a word larger, a multiple of our alignment, and
    the accounting/DMA flags must match.  Candidates are scanned newest first,
    like the kernel's reverse walk of ``slab_caches``; a candidate that holds
    only ``spec.name`` itself is skipped.
    """
    if slab_nomerge or spec.ctor or spec.usercopy or spec.typesafe_by_rcu or spec.poison or spec.no_merge:
        return None
    word = spec.word
    size = align_up(spec.object_size, word)
    align = calculate_alignment(spec.hwcache_align, spec.align, size, cache_line, arch_slab_minalign, word)
    size = align_up(size, align)
    for candidate in reversed(candidates):
        if candidate.names and all(name == spec.name for name in candidate.names):
            continue
        if size > candidate.size:
            continue
        if (candidate.account, candidate.reclaim_account, candidate.dma, candidate.dma32) != (
                spec.account, spec.reclaim_account, spec.dma, False):
            continue
        if candidate.size % align:
            continue
        if candidate.size - size >= word:
            continue
        return candidate
    return None


def slub_geometry(spec: CacheSpec, cpus: int = 2, page_size: int = 4096, cache_line: int = 64,
                  candidates: Optional[Sequence[MergeCandidate]] = None, min_objects: int = 0,
                  max_order: int = SLUB_MAX_ORDER, min_order: int = 0, arch_slab_minalign: int = 8,
                  variant: str = "current", slab_nomerge: bool = False) -> SlabGeometry:
    """SLUB geometry of ``spec``; with ``candidates`` (existing caches) merging is predicted too."""
    word = spec.word
    size = align_up(spec.object_size, word)
    align = calculate_alignment(spec.hwcache_align, spec.align, size, cache_line, arch_slab_minalign, word)
    outside = spec.typesafe_by_rcu or spec.poison or spec.ctor
    sizes = calculate_sizes(spec.object_size, align, word, outside)
    target = None
    if candidates:
        target = find_mergeable(spec, candidates, cache_line, arch_slab_minalign, slab_nomerge)
    slab_size, object_size = sizes.size, spec.object_size
    if target is not None:
        slab_size, align, object_size = target.size, target.align, max(target.object_size, spec.object_size)
    order = calculate_order(slab_size, cpus, page_size, min_objects, max_order, min_order, variant=variant)
    objects = order_objects(order, slab_size, page_size)
    slab_bytes = page_size << order
    return SlabGeometry("slub", object_size, slab_size, objects, order, align, slab_bytes / objects,
                        target, spec.object_size, slab_bytes, sizes.offset)
