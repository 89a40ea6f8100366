"""The Cython packing kernels: docs/algorithms.md, bin for bin the same as ``seqpacker._reference``.

Every packing kernel works in three steps:

1. an *order* of the ids (input order, the seeded shuffle, or decreasing length);
2. a *placement* loop (GIL released) that records, for each position ``p`` of that order, the
   bin that received the item (``bin_of[p]``) and the item's rank inside that bin
   (``rank[p]``), and counts the items of every bin;
3. the *materialisation* of ``(items, bounds)``: bounds are the prefix sums of the counts and
   ``items[bounds[bin_of[p]] + rank[p]] = order[p]``, a loop with independent iterations that
   ``obfdp`` runs on several threads.

Indexes never allocate per unit of capacity unless that is bounded by O(n) (``_dense_ok``);
otherwise an ordered C++ set takes over, with identical answers.
"""

from libc.stdint cimport int64_t, uint64_t
from libcpp.set cimport set as cpp_set
from libcpp.unordered_map cimport unordered_map
from libcpp.utility cimport pair
from libcpp.vector cimport vector
from libcpp.algorithm cimport sort
from cython.operator cimport dereference as deref, preincrement as inc
from cython.parallel cimport prange

import os

import numpy as np

cdef extern from *:
    """
    static inline uint64_t seqpacker_mul_high(uint64_t a, uint64_t b) {
        return (uint64_t)(((unsigned __int128)a * (unsigned __int128)b) >> 64);
    }
    static inline int seqpacker_ctz(uint64_t w) { return __builtin_ctzll(w); }
    static inline int seqpacker_msb(uint64_t w) { return 63 - __builtin_clzll(w); }
    static const uint64_t SEQPACKER_GOLDEN_GAMMA = 0x9E3779B97F4A7C15ULL;
    static const uint64_t SEQPACKER_MIX_1 = 0xBF58476D1CE4E5B9ULL;
    static const uint64_t SEQPACKER_MIX_2 = 0x94D049BB133111EBULL;
    """
    uint64_t mul_high "seqpacker_mul_high"(uint64_t a, uint64_t b) noexcept nogil
    int ctz "seqpacker_ctz"(uint64_t w) noexcept nogil
    int msb "seqpacker_msb"(uint64_t w) noexcept nogil
    const uint64_t GOLDEN_GAMMA "SEQPACKER_GOLDEN_GAMMA"
    const uint64_t MIX_1 "SEQPACKER_MIX_1"
    const uint64_t MIX_2 "SEQPACKER_MIX_2"

NAME = "cython"

# obfdp's blocks of ids (docs/algorithms.md): a function of n alone.
cdef int64_t SHARD_SIZE = 65536
# An index may allocate per unit of capacity only while that stays O(n).
cdef int64_t DENSE_SLACK = 65536
cdef int64_t DENSE_FACTOR = 4

ctypedef pair[int64_t, int64_t] Entry  # (remaining space, bin number)


cdef inline bint _dense_ok(int64_t values, int64_t n) noexcept nogil:
    return values <= DENSE_FACTOR * n + DENSE_SLACK


# --------------------------------------------------------------------------- validation


cdef int64_t first_invalid(const int64_t* lengths, int64_t n, int64_t capacity) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        if lengths[i] <= 0 or lengths[i] > capacity:
            return i
    return -1


def first_invalid_length(const int64_t[::1] lengths, int64_t capacity):
    """Index of the first length outside ``[1, capacity]``, or -1."""
    cdef int64_t found
    with nogil:
        found = first_invalid(&lengths[0], lengths.shape[0], capacity)
    return found


# --------------------------------------------------------------------------- PRNG


cdef uint64_t splitmix_next(SplitMix64* rng) noexcept nogil:
    rng.state = rng.state + GOLDEN_GAMMA
    cdef uint64_t z = rng.state
    z = (z ^ (z >> 30)) * MIX_1
    z = (z ^ (z >> 27)) * MIX_2
    return z ^ (z >> 31)


cdef uint64_t splitmix_below(SplitMix64* rng, uint64_t bound) noexcept nogil:
    # The high 64 bits of the 128-bit product: a value in [0, bound).
    return mul_high(splitmix_next(rng), bound)


cdef void shuffle_into(int64_t* order, int64_t n, uint64_t seed) noexcept nogil:
    cdef SplitMix64 rng
    cdef int64_t i, j, swap
    rng.state = seed
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = <int64_t>splitmix_below(&rng, <uint64_t>(i + 1))
        swap = order[i]
        order[i] = order[j]
        order[j] = swap


def prng_values(uint64_t seed, Py_ssize_t count):
    """The first ``count`` SplitMix64 outputs for ``seed`` (the known-answer vectors)."""
    cdef SplitMix64 rng
    rng.state = seed
    return [splitmix_next(&rng) for _ in range(count)]


def shuffled_order(int64_t n, uint64_t seed):
    """Fisher-Yates from the top over ``[0, n)``, as ``ffs`` uses it."""
    order = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] view = order
    if n:
        with nogil:
            shuffle_into(&view[0], n, seed)
    return order


# --------------------------------------------------------------------------- decreasing order


cdef int decreasing_order_into(
    const int64_t* lengths, int64_t n, int64_t capacity, int64_t shards, int threads,
    int64_t* order
) except -1 nogil:
    """Ids by length descending, ties by ascending id.

    A counting sort over ``shards`` blocks of ids (histograms and scatter per block, on up to
    ``threads`` threads) when capacity is O(n); otherwise a comparison sort of (-length, id).
    """
    cdef int64_t width = capacity + 1
    cdef vector[int64_t] counts
    cdef vector[Entry] keyed
    cdef int64_t i, s, v, running, count, block, start, stop
    cdef int64_t* histogram
    if not _dense_ok(shards * width, n):
        keyed.resize(n)
        for i in range(n):
            keyed[i] = Entry(-lengths[i], i)
        sort(keyed.begin(), keyed.end())  # ids are distinct: the order is total and stable
        for i in range(n):
            order[i] = keyed[i].second
        return 0
    counts.resize(shards * width, 0)
    block = (n + shards - 1) // shards
    for s in prange(shards, num_threads=threads, schedule="static"):
        histogram = &counts[0] + s * width
        start = s * block
        stop = min(n, start + block)
        for i in range(start, stop):
            histogram[lengths[i]] += 1
    # Offsets: longer lengths first; within one length, lower blocks (lower ids) first.
    running = 0
    for v in range(capacity, 0, -1):
        for s in range(shards):
            count = counts[s * width + v]
            counts[s * width + v] = running
            running = running + count
    for s in prange(shards, num_threads=threads, schedule="static"):
        histogram = &counts[0] + s * width
        start = s * block
        stop = min(n, start + block)
        for i in range(start, stop):
            order[histogram[lengths[i]]] = i
            histogram[lengths[i]] += 1
    return 0


# --------------------------------------------------------------------------- placement state


cdef inline void place(Placement* out, int64_t position, int64_t bin_number) noexcept nogil:
    out.bin_of[position] = bin_number
    out.rank[position] = out.counts[bin_number]
    out.counts[bin_number] += 1


cdef inline int64_t open_bin(Placement* out) noexcept nogil:
    cdef int64_t bin_number = out.bins
    out.counts[bin_number] = 0
    out.bins += 1
    return bin_number


cdef class _Work:
    """The scratch arrays of one packing (allocated with the GIL, used without it)."""

    cdef vector[int64_t] order, bin_of, rank, counts
    cdef Placement out

    def __cinit__(self, int64_t n, bint with_order):
        if with_order:
            self.order.resize(n)
        self.bin_of.resize(n)
        self.rank.resize(n)
        self.counts.resize(n + 1)
        self.out.bin_of = self.bin_of.data()
        self.out.rank = self.rank.data()
        self.out.counts = self.counts.data()
        self.out.bins = 0

    cdef object materialise(self, bint identity, int64_t shards, int threads):
        """``(items, bounds)`` int64 arrays; the scatter runs per block of positions."""
        cdef int64_t n = self.bin_of.size()
        cdef int64_t bins = self.out.bins
        items = np.empty(n, dtype=np.int64)
        bounds = np.empty(bins + 1, dtype=np.int64)
        cdef int64_t[::1] items_view = items
        cdef int64_t[::1] bounds_view = bounds
        cdef int64_t* item_ptr = &items_view[0]
        cdef int64_t* bound_ptr = &bounds_view[0]
        cdef int64_t* order = self.order.data()
        cdef int64_t* bin_of = self.out.bin_of
        cdef int64_t* rank = self.out.rank
        cdef int64_t* counts = self.out.counts
        cdef int64_t b, s, p, block = (n + shards - 1) // shards
        with nogil:
            bound_ptr[0] = 0
            for b in range(bins):
                bound_ptr[b + 1] = bound_ptr[b] + counts[b]
            for s in prange(shards, num_threads=threads, schedule="static"):
                for p in range(s * block, min(n, s * block + block)):
                    item_ptr[bound_ptr[bin_of[p]] + rank[p]] = p if identity else order[p]
        return items, bounds


# --------------------------------------------------------------------------- first fit


cdef int first_fit(
    const int64_t* lengths, const int64_t* order, int64_t n, int64_t capacity, Placement* out
) except -1 nogil:
    """Lowest-numbered bin that fits (a max-tree over bin numbers); ``order`` NULL = identity."""
    cdef int64_t size = 1
    while size < n:
        size *= 2
    cdef vector[int64_t] tree
    tree.resize(2 * size, 0)
    cdef int64_t* t = tree.data()
    cdef int64_t p, item, length, node, target, best
    for p in range(n):
        item = p if order == NULL else order[p]
        length = lengths[item]
        if t[1] < length:
            target = open_bin(out)
            node = target + size
            t[node] = capacity
        else:
            node = 1
            while node < size:
                node *= 2
                if t[node] < length:
                    node += 1
            target = node - size
        place(out, p, target)
        t[node] -= length
        node //= 2
        while node:
            best = max(t[2 * node], t[2 * node + 1])
            if t[node] == best:
                break
            t[node] = best
            node //= 2
    return 0


# --------------------------------------------------------------------------- best / worst fit


cdef struct BitIndex:
    # levels[0] has one bit per value; each higher level one bit per word below; the top
    # level is one word.
    uint64_t* words[8]
    int64_t sizes[8]
    int levels


cdef void bits_set(BitIndex* index, int64_t value) noexcept nogil:
    cdef int level
    cdef uint64_t before
    for level in range(index.levels):
        before = index.words[level][value >> 6]
        index.words[level][value >> 6] = before | ((<uint64_t>1) << (value & 63))
        if before:
            return
        value >>= 6


cdef void bits_clear(BitIndex* index, int64_t value) noexcept nogil:
    cdef int level
    cdef uint64_t after
    for level in range(index.levels):
        after = index.words[level][value >> 6] & ~((<uint64_t>1) << (value & 63))
        index.words[level][value >> 6] = after
        if after:
            return
        value >>= 6


cdef int64_t bits_descend(BitIndex* index, int level, int64_t value) noexcept nogil:
    while level > 0:
        level -= 1
        value = (value << 6) | ctz(index.words[level][value])
    return value


cdef int64_t bits_successor(BitIndex* index, int64_t value) noexcept nogil:
    """The smallest set value >= ``value``, or -1."""
    cdef int level = 0
    cdef int64_t word
    cdef uint64_t masked
    while level < index.levels:
        word = value >> 6
        if word >= index.sizes[level]:
            return -1
        masked = index.words[level][word] & ((~(<uint64_t>0)) << (value & 63))
        if masked:
            return bits_descend(index, level, (word << 6) | ctz(masked))
        value = word + 1
        level += 1
    return -1


cdef int64_t bits_max(BitIndex* index) noexcept nogil:
    """The largest set value, or -1."""
    cdef int top = index.levels - 1
    cdef uint64_t word = index.words[top][0]
    cdef int64_t value
    if not word:
        return -1
    value = msb(word)
    while top > 0:
        top -= 1
        value = (value << 6) | msb(index.words[top][value])
    return value


cdef inline int64_t heap_meld(int64_t a, int64_t b, int64_t* child, int64_t* sibling) noexcept nogil:
    """Pairing heap of bin numbers (the keys themselves): the smaller root adopts the other."""
    if a < 0:
        return b
    if b < 0:
        return a
    if b < a:
        a, b = b, a
    sibling[b] = child[a]
    child[a] = b
    return a


cdef int64_t heap_pop(int64_t root, int64_t* child, int64_t* sibling) noexcept nogil:
    """The heap left when ``root`` (its minimum) is removed: the two-pass pairing."""
    cdef int64_t first = child[root], stack = -1, a, b, following, merged
    child[root] = -1
    while first >= 0:
        a = first
        b = sibling[a]
        sibling[a] = -1
        if b >= 0:
            following = sibling[b]
            sibling[b] = -1
            merged = heap_meld(a, b, child, sibling)
        else:
            following = -1
            merged = a
        sibling[merged] = stack
        stack = merged
        first = following
    if stack < 0:
        return -1
    merged = stack
    stack = sibling[merged]
    sibling[merged] = -1
    while stack >= 0:
        following = sibling[stack]
        sibling[stack] = -1
        merged = heap_meld(merged, stack, child, sibling)
        stack = following
    return merged


cdef class _RemainingIndex:
    """Bins by remaining space: the distinct values in a bit index with a min-heap of bin
    numbers each (dense, when capacity is O(n)), or an ordered set of (remaining, bin)."""

    cdef bint dense
    cdef BitIndex bits
    cdef vector[vector[uint64_t]] levels
    cdef vector[int64_t] heads, child, sibling
    cdef cpp_set[Entry] entries

    def __cinit__(self, int64_t capacity, int64_t n):
        cdef int64_t words = capacity // 64 + 1
        cdef int level = 0
        self.dense = _dense_ok(capacity + 1, n)
        if not self.dense:
            return
        while True:
            self.levels.push_back(vector[uint64_t](words, 0))
            words = (words + 63) // 64 if words > 1 else 0
            if words == 0:
                break
        self.bits.levels = self.levels.size()
        for level in range(self.bits.levels):
            self.bits.words[level] = self.levels[level].data()
            self.bits.sizes[level] = self.levels[level].size()
        self.heads.resize(capacity + 1, -1)
        self.child.resize(n, -1)
        self.sibling.resize(n, -1)

    cdef int64_t take(self, int64_t length, bint worst, int64_t* remaining) except -2 nogil:
        """Remove the chosen bin and return it (its space in ``remaining``), or -1."""
        cdef int64_t space, bin_number
        cdef cpp_set[Entry].iterator found
        if self.dense:
            space = bits_max(&self.bits) if worst else bits_successor(&self.bits, length)
            if space < length:  # also covers -1 (nothing indexed)
                return -1
            bin_number = self.heads[space]
            self.heads[space] = heap_pop(bin_number, self.child.data(), self.sibling.data())
            if self.heads[space] < 0:
                bits_clear(&self.bits, space)
        else:
            if self.entries.empty():
                return -1
            space = deref(self.entries.rbegin()).first if worst else length
            if space < length:
                return -1
            found = self.entries.lower_bound(Entry(space, -1))
            if found == self.entries.end():
                return -1
            space = deref(found).first
            bin_number = deref(found).second
            self.entries.erase(found)
        remaining[0] = space
        return bin_number

    cdef int add(self, int64_t space, int64_t bin_number) except -1 nogil:
        if space <= 0:
            return 0  # nothing fits a full bin
        if self.dense:
            if self.heads[space] < 0:
                bits_set(&self.bits, space)
            self.heads[space] = heap_meld(
                self.heads[space], bin_number, self.child.data(), self.sibling.data()
            )
        else:
            self.entries.insert(Entry(space, bin_number))
        return 0


cdef int fit_by_remaining(
    const int64_t* lengths, const int64_t* order, int64_t n, int64_t capacity, bint worst,
    _RemainingIndex index, Placement* out
) except -1 nogil:
    """Best fit (least remaining that fits) or worst fit (most remaining); ties: lowest bin."""
    cdef int64_t p, item, length, target, space
    for p in range(n):
        item = p if order == NULL else order[p]
        length = lengths[item]
        target = index.take(length, worst, &space)
        if target < 0:
            target = open_bin(out)
            space = capacity
        place(out, p, target)
        index.add(space - length, target)
    return 0


# --------------------------------------------------------------------------- MFFD


cdef struct MffdScratch:
    int64_t* sizes  # lengths in decreasing order
    int64_t* remaining  # space left in each A-bin
    int64_t* has_b_item  # 0/1 per A-bin
    int64_t* rest  # positions left for stage 5
    int64_t* rest_ids  # their ids
    int64_t* next_
    int64_t* prev_


cdef struct UnplacedPositions:
    # Path-compressed pointer forests over positions of the decreasing order: the first
    # unplaced position >= p (next_, n = none) and the last <= p (prev_, shifted by one).
    int64_t* next_
    int64_t* prev_


cdef int64_t next_unplaced(UnplacedPositions* pool, int64_t position) noexcept nogil:
    cdef int64_t root = position, following
    while pool.next_[root] != root:
        root = pool.next_[root]
    while pool.next_[position] != root:
        following = pool.next_[position]
        pool.next_[position] = root
        position = following
    return root


cdef int64_t prev_unplaced(UnplacedPositions* pool, int64_t position) noexcept nogil:
    cdef int64_t slot = position + 1, root, following
    root = slot
    while pool.prev_[root] != root:
        root = pool.prev_[root]
    while pool.prev_[slot] != root:
        following = pool.prev_[slot]
        pool.prev_[slot] = root
        slot = following
    return root - 1


cdef inline void remove_position(UnplacedPositions* pool, int64_t position) noexcept nogil:
    pool.next_[position] = position + 1
    pool.prev_[position + 1] = position


cdef int64_t first_fitting_position(const int64_t* sizes, int64_t n, int64_t space) noexcept nogil:
    """First position of the decreasing order whose length is <= space."""
    cdef int64_t low = 0, high = n, middle
    while low < high:
        middle = (low + high) // 2
        if sizes[middle] <= space:
            high = middle
        else:
            low = middle + 1
    return low


cdef int64_t largest_fitting(
    UnplacedPositions* pool, const int64_t* sizes, int64_t n, int64_t space, int64_t start,
    int64_t end
) noexcept nogil:
    cdef int64_t position = next_unplaced(
        pool, max(start, first_fitting_position(sizes, n, space))
    )
    return position if position < end else -1


cdef inline int64_t smallest(UnplacedPositions* pool, int64_t start, int64_t end) noexcept nogil:
    cdef int64_t position = prev_unplaced(pool, end - 1)
    return position if position >= start else -1


cdef int64_t class_end(const int64_t* sizes, int64_t n, int64_t start, int64_t factor, int64_t capacity) noexcept nogil:
    """End of the run of positions from ``start`` whose size satisfies factor * s > capacity."""
    while start < n and factor * sizes[start] > capacity:
        start += 1
    return start


cdef int mffd_place(
    const int64_t* lengths, int64_t n, int64_t capacity, const int64_t* order, MffdScratch* work,
    Placement* out, Placement* rest_out
) except -1 nogil:
    cdef UnplacedPositions pool
    cdef int64_t* sizes = work.sizes
    cdef int64_t* remaining = work.remaining
    cdef int64_t* rest = work.rest
    cdef int64_t p, b, tail, before_tail, found, end_a, end_b, end_c, rest_count = 0
    pool.next_ = work.next_
    pool.prev_ = work.prev_
    for p in range(n):
        sizes[p] = lengths[order[p]]
    for p in range(n + 1):
        pool.next_[p] = p
        pool.prev_[p] = p
    end_a = class_end(sizes, n, 0, 2, capacity)
    end_b = class_end(sizes, n, end_a, 3, capacity)
    end_c = class_end(sizes, n, end_b, 6, capacity)

    # Stage 1: every A item opens its own bin (bin b holds position b).
    for p in range(end_a):
        remove_position(&pool, p)
        place(out, p, open_bin(out))
        remaining[p] = capacity - sizes[p]
        work.has_b_item[p] = 0

    # Stage 2: forward through the A-bins, the largest B item that fits.
    for b in range(end_a):
        tail = smallest(&pool, end_a, end_b)
        if tail >= 0 and sizes[tail] <= remaining[b]:
            found = largest_fitting(&pool, sizes, n, remaining[b], end_a, end_b)
            mffd_put(&pool, out, sizes, remaining, b, found)
            work.has_b_item[b] = 1

    # Stage 3: backward through the A-bins without a B item, two C items.
    for b in range(end_a - 1, -1, -1):
        if work.has_b_item[b]:
            continue
        tail = smallest(&pool, end_b, end_c)
        if tail < 0:
            break
        before_tail = smallest(&pool, end_b, tail)
        if before_tail < 0 or sizes[tail] + sizes[before_tail] > remaining[b]:
            continue
        mffd_put(&pool, out, sizes, remaining, b, tail)
        found = largest_fitting(&pool, sizes, n, remaining[b], end_b, end_c)
        mffd_put(&pool, out, sizes, remaining, b, found)

    # Stage 4: forward through the A-bins, the largest remaining item that fits, repeatedly.
    for b in range(end_a):
        while True:
            tail = smallest(&pool, end_a, n)
            if tail < 0 or sizes[tail] > remaining[b]:
                break
            found = largest_fitting(&pool, sizes, n, remaining[b], end_a, n)
            mffd_put(&pool, out, sizes, remaining, b, found)

    # Stage 5: first fit decreasing for the rest, into new bins after the A-bins.
    p = next_unplaced(&pool, end_a)
    while p < n:
        rest[rest_count] = p
        work.rest_ids[rest_count] = order[p]
        rest_count += 1
        p = next_unplaced(&pool, p + 1)
    first_fit(lengths, work.rest_ids, rest_count, capacity, rest_out)
    for p in range(rest_count):
        out.bin_of[rest[p]] = end_a + rest_out.bin_of[p]
        out.rank[rest[p]] = rest_out.rank[p]
    for b in range(rest_out.bins):
        out.counts[end_a + b] = rest_out.counts[b]
    out.bins = end_a + rest_out.bins
    return 0


cdef inline void mffd_put(
    UnplacedPositions* pool, Placement* out, const int64_t* sizes, int64_t* remaining,
    int64_t bin_number, int64_t position
) noexcept nogil:
    remove_position(pool, position)
    place(out, position, bin_number)
    remaining[bin_number] -= sizes[position]


# --------------------------------------------------------------------------- next fit, Harmonic-K


cdef struct HkBin:
    int64_t number  # opening number, -1 when the class has no open bin
    int64_t count
    int64_t remaining


cdef inline int64_t hk_class(int64_t length, int64_t capacity, int64_t k) noexcept nogil:
    return min(capacity // length, k)


cdef inline int64_t hk_add(
    HkBin* open_bin, int64_t length, int64_t size_class, int64_t capacity, int64_t k,
    int64_t* opened, int64_t* closed_unfit
) noexcept nogil:
    """Put one item into its class's bin; returns that bin's number.

    ``closed_unfit`` receives the number of a class-k bin closed because the item did not fit
    (or -1); ``open_bin.number`` is -1 afterwards when the bin closed full.
    """
    cdef int64_t number
    closed_unfit[0] = -1
    if open_bin.number >= 0 and length > open_bin.remaining:
        closed_unfit[0] = open_bin.number  # only a class-k bin can be too full
        open_bin.number = -1
    if open_bin.number < 0:
        open_bin.number = opened[0]
        opened[0] += 1
        open_bin.count = 0
        open_bin.remaining = capacity
    number = open_bin.number
    open_bin.count += 1
    open_bin.remaining -= length
    if (open_bin.count == size_class) if size_class < k else (open_bin.remaining == 0):
        open_bin.number = -1
    return number


cdef int harmonic_k(
    const int64_t* lengths, int64_t n, int64_t capacity, int64_t k, Placement* out
) except -1 nogil:
    cdef int64_t classes = min(k, capacity) + 1
    cdef bint dense = _dense_ok(classes, n)
    cdef vector[HkBin] open_bins
    cdef unordered_map[int64_t, int64_t] slot_of_class
    cdef unordered_map[int64_t, int64_t].iterator found
    cdef int64_t item, size_class, slot, number, closed_unfit, opened = 0
    cdef HkBin empty
    empty.number = -1
    empty.count = 0
    empty.remaining = 0
    if dense:
        open_bins.resize(classes, empty)
    for item in range(n):
        size_class = hk_class(lengths[item], capacity, k)
        if dense:
            slot = size_class
        else:
            found = slot_of_class.find(size_class)
            if found == slot_of_class.end():
                slot = open_bins.size()
                slot_of_class[size_class] = slot
                open_bins.push_back(empty)
            else:
                slot = deref(found).second
        number = hk_add(
            &open_bins[slot], lengths[item], size_class, capacity, k, &opened, &closed_unfit
        )
        if number == out.bins:
            open_bin(out)
        place(out, item, number)
    return 0


cdef object pack_nf(const int64_t[::1] lengths, int64_t capacity):
    cdef int64_t n = lengths.shape[0]
    cdef vector[int64_t] starts
    cdef int64_t i, used = 0
    with nogil:
        starts.push_back(0)
        for i in range(n):
            if used + lengths[i] > capacity:
                starts.push_back(i)
                used = 0
            used += lengths[i]
        starts.push_back(n)
    bounds = np.empty(starts.size(), dtype=np.int64)
    cdef int64_t[::1] bounds_view = bounds
    for i in range(<int64_t>starts.size()):
        bounds_view[i] = starts[i]
    return np.arange(n, dtype=np.int64), bounds


# --------------------------------------------------------------------------- dispatch


cdef int _threads_for(int64_t shards):
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return <int>max(1, min(shards, cores))


def pack(str strategy, const int64_t[::1] lengths, int64_t capacity, uint64_t seed, k):
    """``(items, bounds)`` int64 arrays; bin ``b`` holds ``items[bounds[b]:bounds[b + 1]]``."""
    cdef int64_t n = lengths.shape[0]
    cdef const int64_t* values = &lengths[0]
    # A k beyond capacity behaves exactly like capacity + 1: no length reaches class k.
    cdef int64_t k_value = min(k, capacity + 1)
    cdef int64_t shards = 1
    cdef int threads = 1
    cdef bint identity = strategy in ("ff", "bf", "wf", "hk")
    cdef bint worst = strategy == "wf"
    if strategy == "nf":
        return pack_nf(lengths, capacity)
    if strategy == "obfdp":
        shards = max(1, (n + SHARD_SIZE - 1) // SHARD_SIZE)
        threads = _threads_for(shards)
    cdef _Work work = _Work(n, not identity)
    cdef _Work rest
    cdef _RemainingIndex index
    cdef int64_t* order = NULL  # NULL: the identity order
    if not identity:
        order = work.order.data()
    cdef vector[int64_t] scratch
    cdef MffdScratch mffd
    if strategy == "ffs":
        with nogil:
            shuffle_into(order, n, seed)
    elif not identity:
        with nogil:
            decreasing_order_into(values, n, capacity, shards, threads, order)
    if strategy in ("ff", "ffd", "ffs"):
        with nogil:
            first_fit(values, order, n, capacity, &work.out)
    elif strategy in ("bf", "wf", "bfd", "obfd", "obfdp"):
        index = _RemainingIndex(capacity, n)
        with nogil:
            fit_by_remaining(values, order, n, capacity, worst, index, &work.out)
    elif strategy == "mffd":
        rest = _Work(n, False)
        scratch.resize(7 * n + 2)
        mffd.sizes = scratch.data()
        mffd.remaining = mffd.sizes + n
        mffd.has_b_item = mffd.remaining + n
        mffd.rest = mffd.has_b_item + n
        mffd.rest_ids = mffd.rest + n
        mffd.next_ = mffd.rest_ids + n
        mffd.prev_ = mffd.next_ + n + 1
        with nogil:
            mffd_place(values, n, capacity, order, &mffd, &work.out, &rest.out)
    elif strategy == "hk":
        with nogil:
            harmonic_k(values, n, capacity, k_value, &work.out)
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    return work.materialise(identity, shards, threads)


# --------------------------------------------------------------------------- streams


cdef class NextFitStream:
    """Online next fit: ``add`` returns the bins it closed, ``finish`` the open one."""

    cdef int64_t capacity, remaining, added
    cdef list current

    def __cinit__(self, int64_t capacity):
        self.capacity = capacity
        self.remaining = 0
        self.added = 0
        self.current = []

    def add(self, int64_t length):
        cdef list closed = []
        if self.current and length > self.remaining:
            closed.append(self.current)
            self.current = []
        if not self.current:
            self.remaining = self.capacity
        self.current.append(self.added)
        self.added += 1
        self.remaining -= length
        if self.remaining == 0:
            closed.append(self.current)
            self.current = []
        return closed

    def finish(self):
        closed = [self.current] if self.current else []
        self.current = []
        return closed


cdef class HarmonicKStream:
    """Online Harmonic-K with at most ``k`` open bins (the rules of ``hk_add``)."""

    cdef int64_t capacity, k, added, opened
    cdef vector[HkBin] open_bins
    cdef dict slot_of_class
    cdef dict ids_of_bin

    def __cinit__(self, int64_t capacity, k):
        self.capacity = capacity
        self.k = min(k, capacity + 1)
        self.added = 0
        self.opened = 0
        self.slot_of_class = {}
        self.ids_of_bin = {}

    def add(self, int64_t length):
        cdef int64_t size_class = hk_class(length, self.capacity, self.k)
        cdef int64_t slot, number, closed_unfit
        cdef HkBin empty
        slot = self.slot_of_class.get(size_class, -1)
        if slot < 0:
            empty.number = -1
            empty.count = 0
            empty.remaining = 0
            slot = self.open_bins.size()
            self.open_bins.push_back(empty)
            self.slot_of_class[size_class] = slot
        number = hk_add(
            &self.open_bins[slot], length, size_class, self.capacity, self.k, &self.opened,
            &closed_unfit
        )
        self.ids_of_bin.setdefault(number, []).append(self.added)
        self.added += 1
        closed = []
        if closed_unfit >= 0:
            closed.append(self.ids_of_bin.pop(closed_unfit))
        if self.open_bins[slot].number < 0:
            closed.append(self.ids_of_bin.pop(number))
        return closed

    def finish(self):
        closed = [self.ids_of_bin[number] for number in sorted(self.ids_of_bin)]
        self.ids_of_bin = {}
        cdef Py_ssize_t slot
        for slot in range(<Py_ssize_t>self.open_bins.size()):
            self.open_bins[slot].number = -1
        return closed


def make_stream(str strategy, int64_t capacity, k):
    """The online packer for ``nf`` or ``hk``."""
    if strategy == "hk":
        return HarmonicKStream(capacity, k)
    return NextFitStream(capacity)
