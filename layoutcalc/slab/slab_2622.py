"""SLAB as in Linux 2.6.22 (``mm/slab.c``), the allocator of the seed's kernel.

``kmem_cache_create`` (alignment: ``SLAB_HWCACHE_ALIGN`` halves
``cache_line_size()`` while the object fits in half; then
``ARCH_SLAB_MINALIGN`` and the caller's align), ``calculate_slab_order``
(grow the order until the leftover is at most 1/8 of the slab, stopping at
``slab_break_gfp_order``), ``cache_estimate`` and the on/off-slab
management (``struct slab`` + one ``kmem_bufctl_t`` per object; off the slab
for objects of ``PAGE_SIZE >> 3`` bytes or more, moved back on when the
leftover holds it).  Without debugging options.
"""

from __future__ import annotations

from ..errors import ScenarioError
from .caches import CacheSpec
from .common import SlabGeometry, align_up

SLAB_KMALLOC_MAX_ORDER = 10  # 2.6.22 SLAB: KMALLOC_SHIFT_HIGH (22) - PAGE_SHIFT (12)


def slab_struct_size(word: int) -> int:
    """sizeof(struct slab) in 2.6.22 (list_head, colouroff, s_mem, inuse, free, nodeid): 48 or 28 bytes."""
    return align_up(4 * word + 4 + 4 + 2, word)


def slab_cache_estimate(order: int, size: int, align: int, off_slab: bool, word: int = 8,
                        page_size: int = 4096, bufctl: int = 4) -> tuple[int, int]:
    """2.6.22 ``cache_estimate``: ``(objects, left_over)`` for a slab of ``order``.

    On-slab, the slab holds ``struct slab`` and one ``kmem_bufctl_t`` per
    object, aligned to ``align``, then the objects.
    """
    slab_bytes = page_size << order
    if off_slab:
        count = slab_bytes // size
        return count, slab_bytes - count * size
    head = slab_struct_size(word)
    count = (slab_bytes - head) // (size + bufctl)
    if align_up(head + count * bufctl, align) + count * size > slab_bytes:
        count -= 1
    mgmt = align_up(head + count * bufctl, align)
    return count, slab_bytes - count * size - mgmt


def slab_calculate_slab_order(size: int, align: int, off_slab: bool, word: int = 8, page_size: int = 4096,
                              break_order: int = 1, reclaim_account: bool = False,
                              bufctl: int = 4) -> tuple[int, int, int]:
    """2.6.22 ``calculate_slab_order``: ``(order, objects, left_over)``.

    Grow the order until the leftover is at most 1/8 of the slab, stopping at
    ``slab_break_gfp_order`` (1 on machines with more than 32 MB, else 0) or at
    the first order for ``SLAB_RECLAIM_ACCOUNT`` caches.
    """
    best = (0, 0, 0)
    for order in range(SLAB_KMALLOC_MAX_ORDER + 1):
        count, left_over = slab_cache_estimate(order, size, align, off_slab, word, page_size, bufctl)
        if not count:
            continue
        if off_slab and count > (size - slab_struct_size(word)) // bufctl:
            break
        best = (order, count, left_over)
        if reclaim_account or order >= break_order or left_over * 8 <= (page_size << order):
            break
    return best


def slab_geometry(spec: CacheSpec, page_size: int = 4096, cache_line: int = 64, break_order: int = 1,
                  arch_slab_minalign: int = 0) -> SlabGeometry:
    """SLAB (2.6.22) geometry of ``spec``: ``kmem_cache_create`` without debugging."""
    word = spec.word
    size = align_up(spec.object_size, word)
    if spec.hwcache_align:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
    else:
        ralign = word
    align = max(ralign, arch_slab_minalign, spec.align)
    off_slab = size >= page_size >> 3
    size = align_up(size, align)
    order, objects, left_over = slab_calculate_slab_order(size, align, off_slab, word, page_size,
                                                          break_order, spec.reclaim_account)
    if not objects:
        raise ScenarioError(f"{spec.name}: SLAB cannot place a {size}-byte object in any slab order")
    mgmt = align_up(objects * 4 + slab_struct_size(word), align)
    if off_slab and left_over >= mgmt:  # room left over: move the management back on the slab
        off_slab = False
    if off_slab:
        mgmt = objects * 4 + slab_struct_size(word)
    slab_bytes = page_size << order
    return SlabGeometry("slab", spec.object_size, size, objects, order, align, slab_bytes / objects, None,
                        spec.object_size, slab_bytes, None, mgmt, not off_slab)
