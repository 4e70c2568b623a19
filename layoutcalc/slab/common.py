"""What every allocator era shares: the kernel's rounding helpers and the figures one cache shows.

Sizes are in bytes.
"""

from __future__ import annotations

from typing import NamedTuple, Optional


def align_up(value: int, align: int) -> int:
    """The kernel's ``ALIGN``: ``value`` rounded up to a multiple of ``align``."""
    return (value + align - 1) // align * align


def fls(value: int) -> int:
    """The kernel's ``fls``: 1-based position of the most significant set bit (0 for 0)."""
    return value.bit_length()


def get_order(size: int, page_size: int = 4096) -> int:
    """The kernel's ``get_order``: smallest order whose ``page_size << order`` holds ``size``."""
    order = 0
    while (page_size << order) < size:
        order += 1
    return order



class MergeCandidate(NamedTuple):
    """An existing mergeable SLUB cache (a ``/sys/kernel/slab/:A-0000192``-style directory)."""

    unique_id: str
    size: int  # s->size, sysfs slab_size
    align: int
    object_size: int  # the largest object_size of the caches merged into it
    account: bool = False
    reclaim_account: bool = False
    dma: bool = False
    dma32: bool = False
    names: tuple[str, ...] = ()

    def describe(self, exclude: str = "") -> str:
        """``:A-0000192 (object_size 184, with cred)``."""
        others = [name for name in self.names if name != exclude]
        with_part = f", with {', '.join(others)}" if others else ""
        return f"{self.unique_id} (object_size {self.object_size}{with_part})"



class SlabGeometry(NamedTuple):
    """One cache's figures, named as in ``/sys/kernel/slab/<cache>/``.

    ``object_size`` is what sysfs shows: for a merged SLUB cache, the largest
    object of the caches sharing it (``own_object_size`` is this cache's).
    ``slab_size`` is the per-object stride (SLUB ``s->size``, SLAB
    ``buffer_size``); ``bytes_per_object`` = slab bytes / objects per slab.
    SLAB only: ``mgmt_bytes`` is struct slab + bufctls, on the slab or (when
    ``mgmt_on_slab`` is False) in a separate kmalloc object not counted here.
    """

    allocator: str
    object_size: int
    slab_size: int
    objs_per_slab: int
    order: int
    align: int
    bytes_per_object: float
    merged_into: Optional[MergeCandidate] = None
    own_object_size: int = 0
    slab_bytes: int = 0
    free_pointer_offset: Optional[int] = None
    mgmt_bytes: int = 0
    mgmt_on_slab: bool = True

    def merge_description(self, name: str = "") -> str:
        """``merged into :A-0000192 (object_size 184, with cred)`` or ``not merged``."""
        if self.merged_into is None:
            return "not merged"
        return f"merged into {self.merged_into.describe(exclude=name)}"
