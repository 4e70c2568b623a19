"""Repack a struct's members to remove holes: the job of ``pahole --reorganize``.

The goal, in order: the smallest size, then the fewest cachelines, then the
fewest moved members.  Every candidate order is laid out by
:mod:`layoutcalc.analysis.relayout`, the same engine that re-lays out
what-if structs, so alignment attributes, hidden gaps (unnamed bitfields),
packing and the struct's own alignment are respected exactly as the compiler
would respect them.  A struct already as small as its members' widths allow
is returned as it is, without a search (see :func:`_is_tight`).

Members move in *blocks*: an ordinary member is a block of its own, and a run
of consecutive bitfields is one block, so no bitfield leaves the storage units
it shares with its neighbours.  A trailing flexible array member stays last.

Candidates tried (the best one wins):

* the original order (nothing moved);
* pahole's idea, done right: walk the holes from the front and move into each
  the largest later block that fits there without growing the struct,
  repeated until no hole can be filled;
* blocks sorted by alignment, largest first (no holes between naturally
  aligned members), then the same hole filling;
* from the best of those, blocks put back one by one where they were as long
  as the size does not grow (fewer moved members for the same size).
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Any, NamedTuple, Optional

from ..abi import Abi, type_alignment
from ..errors import InputError
from ..model import ArrayType, Member, StructType
from .facts import DebugInfo, World, layout_alignment, struct_facts, struct_stats
from .layout import LayoutStats, cachelines
from .placement import Cursor
from .relayout import final_alignment, laid_out, placement_steps, relayout

Block = tuple[Member, ...]


class Reorganized(NamedTuple):
    """A struct before and after repacking."""

    before: StructType
    after: StructType
    moved: list[str]  # names of the members that moved (``<anonymous>`` for unnamed ones)
    cacheline_size: int

    @property
    def size_before(self) -> int:
        return self.before.size_bytes

    @property
    def size_after(self) -> int:
        return self.after.size_bytes

    @property
    def saved_bytes(self) -> int:
        return self.before.size_bytes - self.after.size_bytes

    @property
    def cachelines_before(self) -> int:
        return cachelines(self.before.size_bytes, self.cacheline_size)

    @property
    def cachelines_after(self) -> int:
        return cachelines(self.after.size_bytes, self.cacheline_size)


def _is_flexible(member: Member) -> bool:
    t = member.type.strip()
    return isinstance(t, ArrayType) and not t.count and member.bit_size is None


def _blocks(members: list[Member]) -> list[Block]:
    """Members grouped so that a run of consecutive bitfields moves as one."""
    blocks: list[list[Member]] = []
    for member in members:
        if member.bit_size is not None and blocks and blocks[-1][-1].bit_size is not None:
            blocks[-1].append(member)
        else:
            blocks.append([member])
    return [tuple(b) for b in blocks]


def _flatten(blocks: list[Block]) -> list[Member]:
    return [m for block in blocks for m in block]


class _Evaluator:
    """Lays out block orders of one struct, remembering the layouts already computed.

    Each member is placed as :func:`relayout` places it; what does not depend
    on the order (its hidden gap, its alignments) is worked out once.
    """

    def __init__(self, struct: StructType, abi: Abi, tail: list[Member]) -> None:
        self.struct = struct
        self.abi = abi
        self.facts = struct_facts(struct, abi)
        self._steps = placement_steps(self.facts, struct, struct.members, abi, World.LIKELIEST)
        self._index = {id(m): i for i, m in enumerate(struct.members)}
        self._tail = [self._index[id(m)] for m in tail]
        self._layouts: dict[tuple[int, ...], tuple[list[int], int]] = {}
        self._alignments: dict[int, int] = {}
        self.alignment_bytes = 1  # the struct's, the same in every order (set by the first layout)

    def layout(self, order: list[Block]) -> tuple[list[int], int]:
        """The bit offsets of the members of ``order`` (then the tail) and the struct's size."""
        key = tuple([self._index[id(block[0])] for block in order])
        laid = self._layouts.get(key)
        if laid is None:
            indexes = [self._index[id(m)] for block in order for m in block] + self._tail
            cursor = Cursor(self.abi, self.facts.packed, self.struct.is_union)
            offsets = cursor.place_all([self._steps[i] for i in indexes])
            self.alignment_bytes = final_alignment(self.facts, self.struct, cursor, World.LIKELIEST)
            laid = (offsets, cursor.size_bytes(self.alignment_bytes))
            self._layouts[key] = laid
        return laid

    def size(self, order: list[Block]) -> int:
        return self.layout(order)[1]

    def alignment(self, block: Block) -> int:
        """The largest alignment a member of ``block`` asks for (see :func:`_alignment`)."""
        found = self._alignments.get(id(block[0]))
        if found is None:
            found = max(_alignment(m, self.abi) for m in block)
            self._alignments[id(block[0])] = found
        return found


def _moved(original: list[Block], order: list[Block]) -> list[Block]:
    """The blocks to move to turn ``original`` into ``order``: those outside a longest kept subsequence."""
    position = {id(block[0]): i for i, block in enumerate(original)}
    sequence = [position[id(block[0])] for block in order]
    # Longest increasing subsequence (patience sorting), keeping predecessors to recover it.
    tails: list[int] = []
    tails_at: list[int] = []
    previous = [-1] * len(sequence)
    for i, value in enumerate(sequence):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tails_at.append(i)
        else:
            tails[k] = value
            tails_at[k] = i
        previous[i] = tails_at[k - 1] if k else -1
    kept: set[int] = set()
    i = tails_at[-1] if tails_at else -1
    while i >= 0:
        kept.add(i)
        i = previous[i]
    return [block for i, block in enumerate(order) if i not in kept]


def _fill_holes(evaluator: _Evaluator, order: list[Block]) -> list[Block]:
    """Move later blocks into earlier holes while the struct shrinks or its slack moves to the tail.

    Each accepted move either makes the struct smaller or, at the same size, turns
    interior hole bytes into tail padding, so the loop ends.
    """
    order = list(order)
    for _ in range(len(order)):
        moved = _next_move(evaluator, order)
        if moved is None:
            break
        order = moved
    return order


def _next_move(evaluator: _Evaluator, order: list[Block]) -> "list[Block] | None":
    offsets, size = evaluator.layout(order)
    starts, ends = _block_spans(order, offsets)
    holes = _interior_holes(starts, ends)
    aligns = [evaluator.alignment(block) for block in order]
    for gap in range(1, len(order)):
        hole_start, hole_end = ends[gap - 1], starts[gap]
        if hole_end <= hole_start:
            continue
        fitting = [i for i in range(gap + 1, len(order))
                   if _round_up(hole_start, aligns[i]) + ends[i] - starts[i] <= hole_end]
        fitting.sort(key=lambda i: (starts[i] - ends[i], -i))  # widest first, then the last one
        for source in fitting[:_TRIALS_PER_HOLE]:
            trial = order[:gap] + [order[source]] + order[gap:source] + order[source + 1:]
            trial_offsets, trial_size = evaluator.layout(trial)
            trial_starts, trial_ends = _block_spans(trial, trial_offsets)
            if (trial_size, _interior_holes(trial_starts, trial_ends)) < (size, holes):
                return trial
    return None


_TRIALS_PER_HOLE = 4


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align if align > 1 else value


def _interior_holes(starts: list[int], ends: list[int]) -> int:
    return sum(max(0, starts[i] - ends[i - 1]) for i in range(1, len(starts)))


def _block_spans(order: list[Block], offsets: list[int]) -> tuple[list[int], list[int]]:
    """Byte start and end of each block, its members placed at ``offsets`` (bits, in ``order``)."""
    starts: list[int] = []
    ends: list[int] = []
    index = 0
    for block in order:
        starts.append(offsets[index] // 8)
        end_bits = 0
        for member in block:
            end = offsets[index] + (member.bit_size if member.bit_size is not None else 8 * member.type.size_bytes)
            if end > end_bits:
                end_bits = end
            index += 1
        ends.append(-(-end_bits // 8))
    return starts, ends


def _alignment(member: Member, abi: Abi) -> int:
    """The alignment a member asks for: its type's (explained, for structs) or its attribute."""
    t = member.type.strip()
    while isinstance(t, ArrayType):
        t = t.element.strip()
    natural = layout_alignment(t, abi) if isinstance(t, StructType) else type_alignment(abi, member.type)
    return max(natural, member.alignment_attr or 0)


def _by_alignment(evaluator: _Evaluator, blocks: list[Block]) -> list[Block]:
    """Blocks sorted by alignment, then width, largest first (stable otherwise)."""
    starts, ends = _block_spans(blocks, evaluator.layout(blocks)[0])

    def key(item: tuple[int, Block]) -> tuple[int, int, int]:
        index, block = item
        return (-evaluator.alignment(block), -(ends[index] - starts[index]), index)
    return [block for _, block in sorted(enumerate(blocks), key=key)]


def _restore(evaluator: _Evaluator, original: list[Block], order: list[Block], target: int) -> list[Block]:
    """Put moved blocks back in their original place where the size stays at ``target``."""
    for block in _moved(original, order):
        without = [b for b in order if b is not block]
        home = original.index(block)
        # Insert right after the nearest original predecessor still in place.
        predecessors = {id(b[0]) for b in original[:home]}
        at = 0
        for i, b in enumerate(without):
            if id(b[0]) in predecessors:
                at = i + 1
        trial = without[:at] + [block] + without[at:]
        if evaluator.size(trial) <= target:
            order = trial
    return order


def _is_tight(evaluator: _Evaluator, original: list[Block]) -> bool:
    """Whether no order can beat the original: it is as small as the members' widths allow.

    Outside a union no two members overlap, so every order ends at or after
    the sum of the members' widths (bits); each member's part in the struct's
    alignment does not depend on where it goes, so every order's size is that
    end rounded up to the same alignment.  An original of the least such size
    is as small as any, with nothing moved: the search would return it.
    """
    size = evaluator.size(original)
    bits = sum(m.bit_size if m.bit_size is not None else 8 * m.type.size_bytes for m in evaluator.struct.members)
    return size == _round_up(-(-bits // 8), evaluator.alignment_bytes)


def repacked_order(struct: StructType, abi: Abi, cacheline_size: int = 64) -> list[int]:
    """Indexes of ``struct``'s members in their repacked order (see :func:`reorganize`)."""
    return _search(struct, abi, cacheline_size)[0]


def _search(struct: StructType, abi: Abi, cacheline_size: int) -> tuple[list[int], list[int], int]:
    """The repacked order (member indexes), the members' bit offsets in that order, and the new size."""
    members = list(struct.members)
    tail = [members.pop()] if members and _is_flexible(members[-1]) else []
    original = _blocks(members)
    evaluator = _Evaluator(struct, abi, tail)
    if struct.is_union or len(members) < 2 or _is_tight(evaluator, original):
        return list(range(len(struct.members))), *evaluator.layout(original)
    candidates = [original, _fill_holes(evaluator, original)]
    sorted_order = _by_alignment(evaluator, original)
    candidates += [sorted_order, _fill_holes(evaluator, sorted_order)]
    moves: dict[int, int] = {}

    def cost(order: list[Block]) -> tuple[int, int, int]:
        size = evaluator.size(order)
        if id(order) not in moves:
            moves[id(order)] = len(_moved(original, order))
        return size, cachelines(size, cacheline_size), moves[id(order)]

    best = min(candidates, key=cost)
    best = _restore(evaluator, original, best, evaluator.size(best))
    best = min([best] + candidates, key=cost)
    index = {id(m): i for i, m in enumerate(struct.members)}
    return [index[id(m)] for m in _flatten(best) + tail], *evaluator.layout(best)


def reorganize(struct: StructType, abi: Abi, cacheline_size: int = 64,
               order: "list[int] | None" = None) -> Reorganized:
    """Repack ``struct`` under ``abi``: smallest size, then fewest cachelines, then fewest moves.

    ``order``: what :func:`repacked_order` returned for it (computed elsewhere), else it is computed here.
    """
    if order is None:
        order = repacked_order(struct, abi, cacheline_size)
    after = relayout(struct, abi, [struct.members[i] for i in order])
    return Reorganized(struct, after, _moved_names(struct, order), cacheline_size)


def _moved_names(struct: StructType, order: list[int]) -> list[str]:
    """The names of the members that move when ``struct``'s members take ``order`` (whole blocks)."""
    original = _blocks(list(struct.members))
    position = {id(block[0]): block for block in original}
    new_blocks = [position[id(struct.members[i])] for i in order if id(struct.members[i]) in position]
    return [m.name or "<anonymous>" for block in _moved(original, new_blocks) for m in block]


class _Repacked(NamedTuple):
    """One struct repacked, as a worker sends it back: the new layout without the members' types."""

    order: Optional[list[int]]  # member indexes; None: nothing moved
    offsets: Optional[list[int]]  # bit offsets, in ``order``; None: the struct is laid out as before
    size_bytes: int
    packed: bool
    moved: list[str]
    stats: LayoutStats


def _repack(struct: StructType, abi: Abi, debug_info: DebugInfo, cacheline_size: int) -> _Repacked:
    """:func:`reorganize` of ``struct`` with the new layout's statistics (under ``debug_info``'s facts)."""
    order, offsets, size = _search(struct, abi, cacheline_size)
    packed = struct_facts(struct, abi).packed
    identity = order == list(range(len(struct.members)))
    if identity and size == struct.size_bytes and packed == struct.is_packed \
            and offsets == [m.bit_offset for m in struct.members]:
        # Laid out as it was: its facts, so its statistics, are those of the struct itself.
        return _Repacked(None, None, size, packed, [], struct_stats(struct, abi, debug_info, cacheline_size))
    after = laid_out(struct, [struct.members[i] for i in order], offsets, size, packed)
    return _Repacked(None if identity else order, offsets, size, packed, _moved_names(struct, order),
                     struct_stats(after, abi, debug_info, cacheline_size))


def _rebuild(struct: StructType, repacked: _Repacked, cacheline_size: int) -> tuple[Reorganized, LayoutStats]:
    """The :class:`Reorganized` a worker's :class:`_Repacked` stands for, with its statistics."""
    order = repacked.order if repacked.order is not None else range(len(struct.members))
    members = [struct.members[i] for i in order]
    if repacked.offsets is None:
        after = dataclasses.replace(struct, members=members)  # the same members, where they were
    else:
        after = laid_out(struct, members, repacked.offsets, repacked.size_bytes, repacked.packed)
    return Reorganized(struct, after, repacked.moved, cacheline_size), repacked.stats


_SHARED: list[tuple[list[StructType], Abi, DebugInfo, int, Any]] = []  # what the forked children read
_CHUNK = 64


def reorganize_every(structs: list[StructType], abi: Abi, debug_info: DebugInfo, cacheline_size: int = 64,
                     workers: "int | None" = None) -> list[tuple[Reorganized, LayoutStats]]:
    """:func:`reorganize` of each struct, in order, with the new layout's statistics (its facts under
    ``debug_info``), worked out by this process and forked ones, one per core.

    One process (no ``fork``, one core, a few structs): worked out here.
    """
    import os
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or not hasattr(os, "fork") or len(structs) < 4 * _CHUNK:
        repacked = [_repack(struct, abi, debug_info, cacheline_size) for struct in structs]
    else:
        repacked = _repack_forked(structs, abi, debug_info, cacheline_size, workers)
    return [_rebuild(struct, found, cacheline_size) for struct, found in zip(structs, repacked)]


def _repack_forked(structs: list[StructType], abi: Abi, debug_info: DebugInfo, cacheline_size: int,
                   workers: int) -> list[_Repacked]:
    """:func:`_repack` of each struct, by chunks that this process and ``workers - 1`` forked ones take in turn.

    The children see the structs through the fork and send their chunks back
    (:class:`_Repacked`, without types) when none is left.  This process takes
    chunks too, keeping the facts it derives for its next ones.  Which process
    takes a chunk changes nothing in its result: the results are in file order.
    """
    import multiprocessing
    context = multiprocessing.get_context("fork")
    _SHARED[:] = [(structs, abi, debug_info, cacheline_size, context.Value("l", 0))]
    children = []
    done = False
    try:
        for _ in range(workers - 1):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(sender,), daemon=True)
            child.start()
            sender.close()
            children.append((child, receiver))
        found = _take_chunks()
        for _, receiver in children:
            try:
                sent = receiver.recv()
            except EOFError:
                raise InputError("a worker process ended abruptly (killed, or out of memory?)") from None
            if isinstance(sent, BaseException):
                raise sent
            found.update(sent)
        done = True
    finally:
        for child, receiver in children:
            if not done:
                child.terminate()
            child.join()
            receiver.close()
        _SHARED.clear()
    return [repacked for start in range(0, len(structs), _CHUNK) for repacked in found[start]]


def _take_chunks() -> dict[int, list[_Repacked]]:
    """Chunks of the shared structs repacked, each taken from the shared counter, by their first index."""
    structs, abi, debug_info, cacheline_size, taken = _SHARED[0]
    found: dict[int, list[_Repacked]] = {}
    while True:
        with taken.get_lock():
            start = taken.value
            taken.value = start + _CHUNK
        if start >= len(structs):
            return found
        found[start] = [_repack(struct, abi, debug_info, cacheline_size) for struct in structs[start:start + _CHUNK]]


def _child(sender: Any) -> None:
    """A forked child: repack chunks until none is left, then send them (or what went wrong) to the parent."""
    _worker_start()
    try:
        sent: object = _take_chunks()
    except Exception as exc:  # the parent raises it
        sent = exc
    try:
        sender.send(sent)
    except Exception as exc:  # an exception that does not pickle
        sender.send(InputError(f"a worker process failed: {exc}"))


def _worker_start() -> None:
    """Children die quietly when the parent ends them (a forked child inherits the CLI's SIGTERM handler)."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the parent's to handle
