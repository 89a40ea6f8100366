"""The pure-Python packing kernels: the executable specification of docs/algorithms.md.

Every kernel takes ``lengths`` (a list of ints, already validated: 1 <= length <= capacity)
and returns ``(items, bounds)``: ``items`` lists the sequence ids bin after bin, and bin ``b``
holds ``items[bounds[b]:bounds[b + 1]]`` (``bounds[0] == 0``, ``bounds[-1] == len(items)``).
No numpy here: this module is meant to be read.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from heapq import heappop, heappush

from .prng import shuffled_order
from .stream import HarmonicKStream

Packing = tuple[list[int], list[int]]


def first_invalid_length(lengths: list[int], capacity: int) -> int:
    """Index of the first length outside ``[1, capacity]``, or -1 when all are valid."""
    for index, length in enumerate(lengths):
        if length <= 0 or length > capacity:
            return index
    return -1


def decreasing_order(lengths: list[int]) -> list[int]:
    """Ids by length descending, ties by ascending id (a stable sort on -length)."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def _flatten(bins: list[list[int]]) -> Packing:
    items: list[int] = []
    bounds = [0]
    for content in bins:
        items.extend(content)
        bounds.append(len(items))
    return items, bounds


# --------------------------------------------------------------------------- indexes


class FirstFitIndex:
    """A max-tree over bin numbers: the lowest-numbered bin with remaining >= length.

    Leaves hold each bin's remaining space (0 for bins not created yet), internal nodes the
    maximum of their children, so one descent finds the leftmost fitting bin in O(log bins).
    """

    def __init__(self, max_bins: int) -> None:
        size = 1
        while size < max(max_bins, 1):
            size *= 2
        self.size = size
        self.tree = [0] * (2 * size)

    def leftmost_fitting(self, length: int) -> int:
        """The lowest bin number whose remaining space is >= length, or -1."""
        tree = self.tree
        if tree[1] < length:
            return -1
        node = 1
        while node < self.size:
            node *= 2
            if tree[node] < length:
                node += 1
        return node - self.size

    def set_remaining(self, bin_number: int, remaining: int) -> None:
        tree = self.tree
        node = bin_number + self.size
        tree[node] = remaining
        node //= 2
        while node:
            best = max(tree[2 * node], tree[2 * node + 1])
            if tree[node] == best:
                break
            tree[node] = best
            node //= 2


class RemainingSpaceIndex:
    """Bins keyed by remaining space, for best fit and worst fit.

    ``keys`` is the sorted list of *distinct* remaining-space values in use; each maps to a
    min-heap of bin numbers, so ties go to the lowest-numbered bin. Memory is O(bins), never
    O(capacity). Bins with no space left are not indexed (nothing fits them).
    """

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.bins_by_remaining: dict[int, list[int]] = {}

    def add(self, remaining: int, bin_number: int) -> None:
        if remaining <= 0:
            return
        heap = self.bins_by_remaining.get(remaining)
        if heap is None:
            insort(self.keys, remaining)
            self.bins_by_remaining[remaining] = [bin_number]
        else:
            heappush(heap, bin_number)

    def _take(self, position: int) -> tuple[int, int]:
        remaining = self.keys[position]
        heap = self.bins_by_remaining[remaining]
        bin_number = heappop(heap)
        if not heap:
            del self.bins_by_remaining[remaining]
            del self.keys[position]
        return bin_number, remaining

    def take_best_fit(self, length: int) -> tuple[int, int] | None:
        """Remove and return (bin, remaining) with the least remaining >= length."""
        position = bisect_left(self.keys, length)
        if position == len(self.keys):
            return None
        return self._take(position)

    def take_worst_fit(self, length: int) -> tuple[int, int] | None:
        """Remove and return (bin, remaining) with the most remaining, if the item fits."""
        if not self.keys or self.keys[-1] < length:
            return None
        return self._take(len(self.keys) - 1)


# --------------------------------------------------------------------------- strategies


def _first_fit(lengths: list[int], capacity: int, order: list[int]) -> Packing:
    index = FirstFitIndex(len(order))
    bins: list[list[int]] = []
    remaining: list[int] = []
    for item in order:
        length = lengths[item]
        target = index.leftmost_fitting(length)
        if target < 0:
            target = len(bins)
            bins.append([])
            remaining.append(capacity)
        bins[target].append(item)
        remaining[target] -= length
        index.set_remaining(target, remaining[target])
    return _flatten(bins)


def _fit_by_remaining(lengths: list[int], capacity: int, order: list[int], worst: bool) -> Packing:
    index = RemainingSpaceIndex()
    take = index.take_worst_fit if worst else index.take_best_fit
    bins: list[list[int]] = []
    for item in order:
        length = lengths[item]
        found = take(length)
        if found is None:
            target, space = len(bins), capacity
            bins.append([])
        else:
            target, space = found
        bins[target].append(item)
        index.add(space - length, target)
    return _flatten(bins)


def pack_nf(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    items = list(range(len(lengths)))
    bounds = [0]
    used = 0
    for item, length in enumerate(lengths):
        if used + length > capacity:
            bounds.append(item)
            used = 0
        used += length
    bounds.append(len(items))
    return items, bounds


def pack_ff(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _first_fit(lengths, capacity, list(range(len(lengths))))


def pack_bf(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _fit_by_remaining(lengths, capacity, list(range(len(lengths))), worst=False)


def pack_wf(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _fit_by_remaining(lengths, capacity, list(range(len(lengths))), worst=True)


def pack_ffd(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _first_fit(lengths, capacity, decreasing_order(lengths))


def pack_bfd(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _fit_by_remaining(lengths, capacity, decreasing_order(lengths), worst=False)


def pack_ffs(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    return _first_fit(lengths, capacity, shuffled_order(len(lengths), seed))


# obfd is bfd by definition; the reference has no reason to be clever about it. obfdp's
# schedule only parallelises sorting and output (docs/algorithms.md), so sequentially it is
# the same computation.
pack_obfd = pack_bfd
pack_obfdp = pack_bfd


def pack_hk(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    stream = HarmonicKStream(capacity, k)
    closed: list[tuple[int, list[int]]] = []
    for length in lengths:
        closed.extend(stream.add_numbered(length))
    closed.extend(stream.finish_numbered())
    closed.sort()  # by opening number: a PackResult lists bins in creation order
    return _flatten([content for _, content in closed])


# --------------------------------------------------------------------------- MFFD


class _RemainingItems:
    """Items in decreasing order with O(alpha) "next/previous unplaced position" lookups.

    Positions are indexes into the decreasing order; placing an item removes its position.
    Two path-compressed pointer forests give the first unplaced position >= p and the last
    unplaced position <= p.
    """

    def __init__(self, sorted_lengths: list[int]) -> None:
        n = len(sorted_lengths)
        self.negated = [-length for length in sorted_lengths]  # ascending, for bisect
        self._next = list(range(n + 1))  # n is the "none" sentinel
        self._prev = list(range(n + 1))  # shifted by one: _prev[p + 1] is for p; 0 is "none"

    def first_fitting_position(self, space: int) -> int:
        """First position (in decreasing order) whose length is <= space, placed or not."""
        return bisect_left(self.negated, -space)

    def next_unplaced(self, position: int) -> int:
        """First unplaced position >= position (len(items) when there is none)."""
        nxt = self._next
        root = position
        while nxt[root] != root:
            root = nxt[root]
        while nxt[position] != root:
            nxt[position], position = root, nxt[position]
        return root

    def prev_unplaced(self, position: int) -> int:
        """Last unplaced position <= position (-1 when there is none)."""
        prv = self._prev
        slot = position + 1
        root = slot
        while prv[root] != root:
            root = prv[root]
        while prv[slot] != root:
            prv[slot], slot = root, prv[slot]
        return root - 1

    def remove(self, position: int) -> None:
        self._next[position] = position + 1
        self._prev[position + 1] = position


def pack_mffd(lengths: list[int], capacity: int, seed: int, k: int) -> Packing:
    order = decreasing_order(lengths)
    sizes = [lengths[item] for item in order]
    n = len(order)

    # Class boundaries as positions in decreasing order: [0, end_a) A, [end_a, end_b) B,
    # [end_b, end_c) C, [end_c, n) D and E (which the algorithm treats alike).
    def end_of(in_class: Callable[[int], bool], start: int) -> int:
        position = start
        while position < n and in_class(sizes[position]):
            position += 1
        return position

    end_a = end_of(lambda s: 2 * s > capacity, 0)
    end_b = end_of(lambda s: 3 * s > capacity, end_a)
    end_c = end_of(lambda s: 6 * s > capacity, end_b)

    pool = _RemainingItems(sizes)
    for position in range(end_a):
        pool.remove(position)
    bins = [[order[position]] for position in range(end_a)]
    remaining = [capacity - sizes[position] for position in range(end_a)]
    has_b_item = [False] * end_a

    def place(bin_number: int, position: int) -> None:
        pool.remove(position)
        bins[bin_number].append(order[position])
        remaining[bin_number] -= sizes[position]

    def largest_fitting(space: int, start: int, end: int) -> int:
        position = pool.next_unplaced(max(start, pool.first_fitting_position(space)))
        return position if position < end else -1

    def smallest(start: int, end: int) -> int:
        position = pool.prev_unplaced(end - 1)
        return position if position >= start else -1

    # Stage 2: forward through the A-bins, the largest B item that fits.
    for bin_number in range(end_a):
        tail = smallest(end_a, end_b)
        if tail >= 0 and sizes[tail] <= remaining[bin_number]:
            place(bin_number, largest_fitting(remaining[bin_number], end_a, end_b))
            has_b_item[bin_number] = True

    # Stage 3: backward through the A-bins without a B item, two C items.
    for bin_number in range(end_a - 1, -1, -1):
        if has_b_item[bin_number]:
            continue
        tail = smallest(end_b, end_c)
        if tail < 0:
            break
        before_tail = smallest(end_b, tail)
        if before_tail < 0 or sizes[tail] + sizes[before_tail] > remaining[bin_number]:
            continue
        place(bin_number, tail)
        place(bin_number, largest_fitting(remaining[bin_number], end_b, end_c))

    # Stage 4: forward through the A-bins, the largest remaining item that fits, repeatedly.
    for bin_number in range(end_a):
        while True:
            tail = smallest(end_a, n)
            if tail < 0 or sizes[tail] > remaining[bin_number]:
                break
            place(bin_number, largest_fitting(remaining[bin_number], end_a, n))

    # Stage 5: first fit decreasing for what is left, into new bins.
    rest = []
    position = pool.next_unplaced(end_a)
    while position < n:
        rest.append(order[position])
        position = pool.next_unplaced(position + 1)
    rest_items, rest_bounds = _first_fit(lengths, capacity, rest) if rest else ([], [0])
    items, bounds = _flatten(bins)
    base = len(items)
    items.extend(rest_items)
    bounds.extend([base + bound for bound in rest_bounds[1:]])
    return items, bounds


KERNELS: dict[str, Callable[[list[int], int, int, int], Packing]] = {
    "nf": pack_nf,
    "ff": pack_ff,
    "bf": pack_bf,
    "wf": pack_wf,
    "ffd": pack_ffd,
    "bfd": pack_bfd,
    "ffs": pack_ffs,
    "mffd": pack_mffd,
    "obfd": pack_obfd,
    "obfdp": pack_obfdp,
    "hk": pack_hk,
}
