"""The Cython packing kernels: docs/algorithms.md, bin for bin the same as ``seqpacker._reference``.

Every packing kernel works in three steps:

1. an *order* of the ids (input order, the seeded shuffle, or decreasing length);
2. a *placement* loop (GIL released) that records, for each position ``p`` of that order, the
   bin that received the item (``bin_of[p]``), and counts the items of every bin;
3. the *materialisation* of ``(items, bounds)``: bounds are the prefix sums of the counts, and
   position after position ``order[p]`` goes to the next free slot of bin ``bin_of[p]``. Only
   ``mffd``, whose placements leave position order, also records each item's rank inside its
   bin (``rank[p]``) and places ``items[bounds[bin_of[p]] + rank[p]] = order[p]``.

``obfdp`` runs its counting sort on several threads (blocks of ids); its output is placed in
position order like ``obfd``'s: ranks for a threaded output cost more (an n-entry record
written while packing, then read) than the second thread saved (measured).

Indexes never allocate per unit of capacity unless that is bounded by O(n) (``_dense_ok``):
the counting sort and best fit's bit index over remaining space; beyond that radix passes (a
comparison sort past 32-bit capacities) and a sparse radix index over remaining space (64-ary
nodes for occupied values only) take over, with identical answers.

Costs that decided the design (measured on the 2-core VM): a random memory access costs far
more than arithmetic there, so packing loops read lengths in sequence (``sizes``), first fit's
tree nodes are one cache line wide, and best fit keeps each remaining-space bucket as a FIFO
of bin numbers (a pairing heap only for the rare out-of-order arrival).
"""

cimport cython
from libc.stdint cimport (
    INT16_MAX, INT32_MAX, UINT32_MAX, int16_t, int32_t, int64_t, uint32_t, uint64_t
)
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memset
from libcpp.unordered_map cimport unordered_map
from libcpp.utility cimport pair
from libcpp.vector cimport vector
from libcpp.algorithm cimport sort
from cython.operator cimport dereference as deref

import numpy as np

from seqpacker._cores import usable_cores
from seqpacker._memory import empty_array, leading, scratch

cdef extern from *:
    """
    static inline uint64_t seqpacker_mul_high(uint64_t a, uint64_t b) {
        return (uint64_t)(((unsigned __int128)a * (unsigned __int128)b) >> 64);
    }
    static inline int seqpacker_ctz(uint64_t w) { return __builtin_ctzll(w); }
    static inline int seqpacker_msb(uint64_t w) { return 63 - __builtin_clzll(w); }
    static inline void seqpacker_prefetch_write(const void *address) {
        __builtin_prefetch(address, 1);
    }

    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* The first of a tree node's 16 int32 entries that is >= length (1 <= length), or 16.
       One compare per 4 entries and a bit scan: the entry-by-entry scan mispredicts its exit
       on nearly every node, since where the first fitting child lies is random. */
    static inline int seqpacker_first_at_least16(const int32_t *row, int32_t length) {
    #if defined(__SSE2__)
        const __m128i below = _mm_set1_epi32(length - 1);
        unsigned mask = 0;
        for (int part = 0; part < 4; ++part) {
            __m128i entries = _mm_loadu_si128((const __m128i *)(row + 4 * part));
            mask |= (unsigned)_mm_movemask_ps(
                _mm_castsi128_ps(_mm_cmpgt_epi32(entries, below))) << (4 * part);
        }
    #else
        unsigned mask = 0;
        for (int child = 0; child < 16; ++child) mask |= (unsigned)(row[child] >= length) << child;
    #endif
        return __builtin_ctz(mask | (1u << 16));
    }
    /* The same for a node of 32 int16 entries: compares of 8 entries, whose 16-bit results
       are narrowed to bytes (a saturating pack keeps 0 and -1) so that one byte mask holds
       16 entries. */
    static inline int seqpacker_first_at_least32(const int16_t *row, int16_t length) {
    #if defined(__SSE2__)
        const __m128i below = _mm_set1_epi16((short)(length - 1));
        unsigned mask[2];
        for (int half = 0; half < 2; ++half) {
            const int16_t *entries = row + 16 * half;
            __m128i low = _mm_cmpgt_epi16(_mm_loadu_si128((const __m128i *)entries), below);
            __m128i high = _mm_cmpgt_epi16(_mm_loadu_si128((const __m128i *)(entries + 8)), below);
            mask[half] = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(low, high));
        }
        uint64_t all = (uint64_t)mask[0] | ((uint64_t)mask[1] << 16);
    #else
        uint64_t all = 0;
        for (int child = 0; child < 32; ++child) all |= (uint64_t)(row[child] >= length) << child;
    #endif
        return __builtin_ctzll(all | (1ull << 32));
    }
    static const uint64_t SEQPACKER_GOLDEN_GAMMA = 0x9E3779B97F4A7C15ULL;
    static const uint64_t SEQPACKER_MIX_1 = 0xBF58476D1CE4E5B9ULL;
    static const uint64_t SEQPACKER_MIX_2 = 0x94D049BB133111EBULL;
    """
    uint64_t mul_high "seqpacker_mul_high"(uint64_t a, uint64_t b) noexcept nogil
    int ctz "seqpacker_ctz"(uint64_t w) noexcept nogil
    int msb "seqpacker_msb"(uint64_t w) noexcept nogil
    void prefetch_write "seqpacker_prefetch_write"(const void* address) noexcept nogil
    int first_at_least16 "seqpacker_first_at_least16"(const int32_t* row, int32_t length) noexcept nogil
    int first_at_least32 "seqpacker_first_at_least32"(const int16_t* row, int16_t length) noexcept nogil
    const uint64_t GOLDEN_GAMMA "SEQPACKER_GOLDEN_GAMMA"
    const uint64_t MIX_1 "SEQPACKER_MIX_1"
    const uint64_t MIX_2 "SEQPACKER_MIX_2"

# obfdp runs its shards on std::thread (shared with the builder).
cdef extern from "_run_blocks.h":
    ctypedef void (*block_fn)(void* context, int64_t block) noexcept nogil
    void run_blocks "seqpacker_run_blocks"(
        block_fn fn, void* context, int64_t blocks, int threads
    ) noexcept nogil
    void* start_beside "seqpacker_start_beside"(block_fn fn, void* context) noexcept nogil
    void finish_beside "seqpacker_finish_beside"(
        void* handle, block_fn fn, void* context
    ) noexcept nogil

NAME = "cython"

# obfdp's blocks of ids (docs/algorithms.md): a function of n alone.
cdef int64_t SHARD_SIZE = 65536
# An index may allocate per unit of capacity only while that stays O(n).
cdef int64_t DENSE_SLACK = 65536
cdef int64_t DENSE_FACTOR = 4

ctypedef pair[int64_t, int64_t] SortKey  # (-length, id): the comparison sort of use_decreasing

ctypedef fused id_t:  # ids of an order: int32 whenever n allows (half the memory traffic)
    int32_t
    int64_t

# The largest n whose orders use int32 ids; _set_narrow_ids_max lowers it so that the tests can
# run the int64 path, otherwise reached only beyond 2**31 items.
cdef int64_t narrow_ids_max = INT32_MAX


def _set_narrow_ids_max(int64_t limit):
    """Set the largest n with int32 ids (at most INT32_MAX); returns the previous limit."""
    global narrow_ids_max
    previous = narrow_ids_max
    narrow_ids_max = min(limit, <int64_t>INT32_MAX)
    return previous


cdef inline bint _dense_ok(int64_t values, int64_t n) noexcept nogil:
    return values <= DENSE_FACTOR * n + DENSE_SLACK


# --------------------------------------------------------------------------- validation


cdef enum:
    VALIDATION_BLOCK = 4096  # lengths checked per branch-free block


cdef inline uint64_t invalid_bit(int64_t length, uint64_t capacity) noexcept nogil:
    """Bit 63 set iff ``length`` is outside ``[1, capacity]`` (1 <= capacity < 2**63):
    ``length - 1`` or ``capacity - length`` is then negative (as two's complement, with
    wrap-around for the extremes: INT64_MIN - 1 wraps positive, but capacity - INT64_MIN
    does not)."""
    return (<uint64_t>length - 1) | (capacity - <uint64_t>length)


cdef int64_t first_invalid(const int64_t* lengths, int64_t n, int64_t capacity) noexcept nogil:
    # A block's bits are OR-ed without an early exit, so the compiler vectorises the loop
    # (subtract and or exist for 64-bit lanes in SSE2; 64-bit compares do not); only a block
    # with a bad length is searched again for its first one.
    cdef int64_t start = 0, i, end
    cdef uint64_t flags
    while start < n:
        end = min(n, start + VALIDATION_BLOCK)
        flags = 0
        for i in range(start, end):
            flags |= invalid_bit(lengths[i], <uint64_t>capacity)
        if flags >> 63:
            for i in range(start, end):
                if invalid_bit(lengths[i], <uint64_t>capacity) >> 63:
                    return i
        start = end
    return -1


def first_invalid_length(const int64_t[::1] lengths, int64_t capacity):
    """Index of the first length outside ``[1, capacity]``, or -1."""
    cdef int64_t found
    with nogil:
        found = first_invalid(&lengths[0], lengths.shape[0], capacity)
    return found


def copy_valid_lengths(const int64_t[::1] lengths, int64_t capacity):
    """``(copy, first_invalid_length(copy, capacity))``: the copy and its check in one pass
    (a separate check re-read all of the just written copy)."""
    cdef int64_t n = lengths.shape[0], start = 0, end, i, found = -1
    cdef uint64_t flags
    copy = empty_array(n, np.int64)
    cdef int64_t* target = <int64_t*><size_t>copy.ctypes.data
    with nogil:
        while start < n:  # first_invalid's blocks, each copied as it is checked
            end = min(n, start + VALIDATION_BLOCK)
            flags = 0
            for i in range(start, end):
                target[i] = lengths[i]
                flags |= invalid_bit(lengths[i], <uint64_t>capacity)
            if flags >> 63:
                found = start + first_invalid(&lengths[start], end - start, capacity)
                break  # the copy is not used past an error
            start = end
    return copy, found


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


cdef enum:
    SHUFFLE_AHEAD = 32  # steps drawn (and their slots prefetched) before they are made


cdef void shuffle_into(int64_t* order, int64_t n, uint64_t seed) noexcept nogil:
    shuffle_ids(order, n, seed)


cdef void shuffle_ids(id_t* order, int64_t n, uint64_t seed) noexcept nogil:
    """Fisher-Yates from the top over the ids 0 .. n - 1."""
    cdef int64_t i
    for i in range(n):
        order[i] = <id_t>i
    fisher_yates(order, n, seed)


cdef void fisher_yates(id_t* order, int64_t n, uint64_t seed) noexcept nogil:
    """Fisher-Yates from the top: step i swaps order[i] with order[j], j drawn below i + 1.

    The draws depend on the generator alone, so they are made a batch of steps ahead and the
    random slots prefetched (a cache miss each on large inputs, otherwise paid one at a time);
    the swaps then run in the same order with the same draws: the same permutation.
    """
    cdef SplitMix64 rng
    cdef int64_t drawn[SHUFFLE_AHEAD]
    cdef int64_t i, j, k, steps
    cdef id_t swap
    rng.state = seed
    i = n - 1
    while i > 0:
        steps = min(<int64_t>SHUFFLE_AHEAD, i)  # steps i, i - 1, ..., i - steps + 1 (>= 1)
        for k in range(steps):
            drawn[k] = <int64_t>splitmix_below(&rng, <uint64_t>(i - k + 1))
            prefetch_write(&order[drawn[k]])
        for k in range(steps):
            j = drawn[k]
            swap = order[i - k]
            order[i - k] = order[j]
            order[j] = swap
        i -= steps


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


# --------------------------------------------------------------------------- order, output


cdef enum OrderKind:
    IDENTITY  # position p holds id p
    EXPLICIT  # position p holds ids[p] (int64)
    EXPLICIT32  # position p holds ids32[p] (int32, whenever every id fits: n <= INT32_MAX)


cdef inline void place(Placement* out, int64_t position, int64_t bin_number) noexcept nogil:
    out.bin_of[position] = bin_number
    if out.rank != NULL:
        out.rank[position] = out.counts[bin_number]
    out.counts[bin_number] += 1


cdef inline int64_t open_bin(Placement* out) noexcept nogil:
    cdef int64_t bin_number = out.bins
    out.counts[bin_number] = 0
    out.bins += 1
    return bin_number


cdef struct BlockJob:
    # The per-block loops of obfdp's schedule: blocks of ids (counting sort) or of
    # positions (output); block b covers [b * block, min(n, (b + 1) * block)).
    const int64_t* lengths
    int64_t n, block, width
    int64_t* cursors  # per (block, length): a count, then the next position
    # Output of the sort, input of the output scatter: at most one is set (none: identity).
    int64_t* ids
    int32_t* ids32
    const int64_t* bin_of
    const int64_t* rank
    const int64_t* bounds
    int64_t* items


cdef void histogram_block(void* context, int64_t b) noexcept nogil:
    cdef BlockJob* job = <BlockJob*>context
    cdef int64_t* histogram = job.cursors + b * job.width
    cdef int64_t i
    for i in range(b * job.block, min(job.n, (b + 1) * job.block)):
        histogram[job.lengths[i]] += 1


cdef enum:
    SCATTER_AHEAD = 64  # bytes: the next cache line of a length's stream


cdef inline void scatter_ids(BlockJob* job, int64_t b, id_t* ids) noexcept nogil:
    """Each id to its length's next slot. The writes go to one stream per length (thousands):
    too many for the hardware prefetcher, so every first write to a line waited on memory.
    Each write asks for its stream's next line, long before that stream reaches it."""
    cdef int64_t* cursor = job.cursors + b * job.width
    cdef int64_t i, length
    for i in range(b * job.block, min(job.n, (b + 1) * job.block)):
        length = job.lengths[i]
        ids[cursor[length]] = <id_t>i
        prefetch_write(<char*>&ids[cursor[length]] + SCATTER_AHEAD)
        cursor[length] += 1


cdef void scatter_block(void* context, int64_t b) noexcept nogil:
    cdef BlockJob* job = <BlockJob*>context
    if job.ids32 != NULL:
        scatter_ids(job, b, job.ids32)
    else:
        scatter_ids(job, b, job.ids)


cdef void scatter_every_block(void* context, int64_t unused) noexcept nogil:
    cdef BlockJob* job = <BlockJob*>context
    cdef int64_t b
    for b in range((job.n + job.block - 1) // job.block):
        scatter_block(context, b)


cdef inline void output_ids(BlockJob* job, int64_t b, const id_t* ids) noexcept nogil:
    cdef int64_t p
    for p in range(b * job.block, min(job.n, (b + 1) * job.block)):
        job.items[job.bounds[job.bin_of[p]] + job.rank[p]] = p if ids == NULL else ids[p]


cdef void output_block(void* context, int64_t b) noexcept nogil:
    cdef BlockJob* job = <BlockJob*>context
    if job.ids32 != NULL:
        output_ids(job, b, job.ids32)
    else:
        output_ids(job, b, job.ids)


cdef enum:
    OUTPUT_AHEAD = 16  # positions between asking for a bin's output slot and writing it


cdef void output_in_order(BlockJob* job, int64_t* next_slot, const id_t* ids) noexcept nogil:
    """Without ranks: position after position, each to its bin's next free slot.

    Later items of a packing land in bins all over the output, two dependent cache misses
    each (the bin's cursor, then its slot). Both are asked for ahead, in two steps: the
    cursor of the bin 2 * OUTPUT_AHEAD positions on, then the slot that cursor points to
    OUTPUT_AHEAD positions on (the placement record itself is read in order)."""
    cdef int64_t p, bin_number, n = job.n
    for p in range(n):
        if p + 2 * OUTPUT_AHEAD < n:
            prefetch_write(&next_slot[job.bin_of[p + 2 * OUTPUT_AHEAD]])
            prefetch_write(&job.items[next_slot[job.bin_of[p + OUTPUT_AHEAD]]])
        bin_number = job.bin_of[p]
        job.items[next_slot[bin_number]] = p if ids == NULL else ids[p]
        next_slot[bin_number] += 1


cdef void gather_sizes(int64_t* sizes, const int64_t* lengths, const id_t* ids, int64_t n) noexcept nogil:
    cdef int64_t p
    for p in range(n):  # one gather pass, its loads independent of each other
        sizes[p] = lengths[ids[p]]


cdef enum:
    # Digits of use_decreasing's radix passes: up to 12 bits (4096 counters a pass, in L1) while
    # n is small, where fewer passes matter most; 11 bits beyond (2048 streams of writes per
    # scatter for an n that outgrows the caches). Keys of 32 bits take at most 3 passes.
    SORT_DIGIT_BITS_SMALL_N = 12
    SORT_DIGIT_BITS = 11
    SORT_SMALL_N = 65536
    SORT_MAX_PASSES = 3
    SORT_MAX_DIGITS = 4096


cdef inline uint64_t decreasing_entry(const int64_t* lengths, int64_t i, int64_t capacity) noexcept nogil:
    """Item i's radix-sort entry: its key capacity - length above, its id below."""
    return (<uint64_t>(capacity - lengths[i]) << 32) | <uint64_t>i


cdef void radix_decreasing(
    const int64_t* lengths, int64_t n, int64_t capacity, id_t* ids, int64_t* sizes,
    uint64_t* spare
) noexcept nogil:
    """The decreasing order when capacity is too large for one counting sort (capacity and n
    at most 2**32): stable least-significant-digit passes over entries
    ``(capacity - length) << 32 | id``, so that equal lengths keep ascending ids.

    The passes split the key's bits evenly (2 of 12 bits for 2**24 at small n, 3 of 8 at
    large n). One read of the lengths counts every pass's digits; the first pass makes the
    entries from the lengths, and the last one writes ``ids`` and ``sizes`` directly. The
    passes in between go back and forth between ``spare`` and ``sizes`` (used as entries),
    starting so that the last pass reads ``spare``.
    """
    cdef uint32_t counts[SORT_MAX_PASSES][SORT_MAX_DIGITS]  # per pass: a count, then a cursor
    cdef int key_bits = 0 if capacity == 1 else msb(<uint64_t>(capacity - 1)) + 1
    cdef int most_bits = SORT_DIGIT_BITS_SMALL_N if n <= SORT_SMALL_N else SORT_DIGIT_BITS
    cdef int passes = max(1, (key_bits + most_bits - 1) // most_bits)
    cdef int bits = (key_bits + passes - 1) // passes, step, shift
    cdef int64_t digits = (<int64_t>1) << bits, i, digit, position
    cdef uint64_t mask = <uint64_t>(digits - 1), key, entry
    cdef uint32_t running, count
    cdef uint32_t* cursor
    cdef const uint64_t* source = NULL
    cdef uint64_t* target
    memset(counts, 0, passes * sizeof(counts[0]))
    for i in range(n):
        key = <uint64_t>(capacity - lengths[i])
        for step in range(passes):
            counts[step][(key >> (bits * step)) & mask] += 1
    for step in range(passes):  # each digit's first slot
        running = 0
        for digit in range(digits):
            count = counts[step][digit]
            counts[step][digit] = running
            running += count
    for step in range(passes - 1):
        target = spare if (passes - 2 - step) % 2 == 0 else <uint64_t*>sizes
        shift = 32 + bits * step
        cursor = counts[step]
        if source == NULL:
            for i in range(n):
                entry = decreasing_entry(lengths, i, capacity)
                digit = (entry >> shift) & mask
                target[cursor[digit]] = entry
                cursor[digit] += 1
        else:
            for i in range(n):
                entry = source[i]
                digit = (entry >> shift) & mask
                target[cursor[digit]] = entry
                cursor[digit] += 1
        source = target
    cursor = counts[passes - 1]
    for i in range(n):
        entry = decreasing_entry(lengths, i, capacity) if source == NULL else source[i]
        key = entry >> 32
        position = cursor[(key >> (bits * (passes - 1))) & mask]
        cursor[(key >> (bits * (passes - 1))) & mask] += 1
        ids[position] = <id_t>(entry & UINT32_MAX)
        sizes[position] = capacity - <int64_t>key


cdef class _Work:
    """One packing: its processing order, the placement record, and the output.

    Buffers are uninitialised numpy arrays owned by this object (allocated with the GIL,
    used without it). ``sizes[p]`` is the length of the item at position ``p``, read in
    sequence by the packing loops (never a gather ``lengths[ids[p]]``, a cache and TLB miss
    per item). Ids are int32 whenever n allows: half the bytes to fault in, scatter and read.
    """

    cdef list buffers
    cdef const int64_t* lengths
    cdef int64_t n, shards, block
    cdef int threads
    cdef OrderKind kind
    cdef int64_t* ids
    cdef int32_t* ids32
    cdef const int64_t* sizes
    cdef int64_t* own_sizes  # sizes when this object made them (NULL: the input lengths)
    cdef Placement out
    cdef object bounds  # the output's bounds; out.counts lives in it (see placement)
    cdef BlockJob sort_job  # the counting sort's, kept for a scatter left to run beside

    def __cinit__(
        self, const int64_t[::1] lengths, int64_t shards, int threads, bint in_order=True
    ):
        self.buffers = []
        self.lengths = &lengths[0]
        self.n = lengths.shape[0]
        self.shards = shards
        self.block = (self.n + shards - 1) // shards
        self.threads = threads
        self.kind = IDENTITY
        self.sizes = self.lengths
        self.own_sizes = NULL
        self.ids = NULL
        self.ids32 = NULL
        # Ranks allow placements out of position order (mffd); otherwise the output is placed
        # in position order with a cursor per bin, sparing the record of n ranks.
        self.out = self.placement(self.n, with_rank=not in_order)

    cdef int64_t* buffer(self, int64_t count, bint zeroed=False) except NULL:
        size = max(count, 1)
        array = np.zeros(size, np.int64) if zeroed else scratch.array(size, np.int64)
        self.buffers.append(array)
        return <int64_t*><size_t>array.ctypes.data

    cdef int set_order_buffers(self) except -1:
        """Room for the explicit order: ``sizes`` and the ids, int32 when every id fits."""
        self.own_sizes = self.buffer(self.n)
        self.sizes = self.own_sizes
        if self.n <= narrow_ids_max:
            array = scratch.array(max(self.n, 1), np.int32)
            self.buffers.append(array)
            self.ids32 = <int32_t*><size_t>array.ctypes.data
            self.kind = EXPLICIT32
        else:
            self.ids = self.buffer(self.n)
            self.kind = EXPLICIT
        return 0

    cdef Placement placement(self, int64_t n, bint with_rank) except *:
        """The record of a packing of n items. The count of bin b is kept at ``bounds[b + 1]``
        of the output's bounds array, allocated for the most bins (n) and cut to the bins
        used by materialise: no separate counts buffer, and no pass copying counts into
        bounds (the pages past the bins used are never touched). ``bin_of`` comes with
        begin_placement, once the order is known."""
        cdef Placement out
        out.bin_of = NULL
        out.rank = self.buffer(n) if with_rank else NULL
        self.bounds = empty_array(n + 1, np.int64)
        out.counts = <int64_t*><size_t>self.bounds.ctypes.data + 1
        out.bins = 0
        return out

    cdef int begin_placement(self, bint sizes_read_in_order) except -1:
        """Provide ``bin_of``. A packing loop that reads ``sizes[p]`` before it records
        position p, and never again afterwards (every loop here but mffd's), can write the
        record over the sizes this object made: one n-entry buffer fewer to fault in."""
        if sizes_read_in_order and self.own_sizes != NULL:
            self.out.bin_of = self.own_sizes
        else:
            self.out.bin_of = self.buffer(self.n)
        return 0

    cdef int use_shuffle(self, uint64_t seed, int64_t capacity) except -1:
        """The seeded shuffle of the ids and the sizes in that order.

        With int32 ids and lengths below 2**31, the shuffle moves (length << 32 | id) words:
        each length travels with its id, and the sizes come out of a sequential pass instead
        of a gather ``lengths[ids[p]]`` (a random read per item). Same draws and swaps on the
        same positions: the same permutation of ids."""
        cdef int64_t i
        cdef int64_t* packed
        self.set_order_buffers()
        with nogil:
            if self.kind == EXPLICIT32 and capacity <= INT32_MAX:
                packed = self.own_sizes
                for i in range(self.n):
                    packed[i] = (self.lengths[i] << 32) | i
                fisher_yates(packed, self.n, seed)
                for i in range(self.n):
                    self.ids32[i] = <int32_t>(packed[i] & INT32_MAX)  # ids are below 2**31
                    packed[i] >>= 32  # packed is sizes: the length alone
            elif self.kind == EXPLICIT32:
                shuffle_ids(self.ids32, self.n, seed)
                gather_sizes(self.own_sizes, self.lengths, self.ids32, self.n)
            else:
                shuffle_ids(self.ids, self.n, seed)
                gather_sizes(self.own_sizes, self.lengths, self.ids, self.n)
        return 0

    cdef bint use_decreasing(self, int64_t capacity, bint may_defer_scatter=False) except -1:
        """Ids by length descending, ties by ascending id.

        A counting sort when capacity is O(n): per-block histograms, then each block scatters
        its ids (both on up to ``threads`` threads); otherwise radix passes (radix_decreasing)
        while capacity and n fit 32 bits, and beyond that a comparison sort of (-length, id).
        (Scattering the ids straight into the output instead reads the placement record
        at random: slower, measured.)

        With ``may_defer_scatter``, a counting sort stops before its scatter and returns True:
        ``sizes`` is ready, the ids are not until ``sort_job`` has run scatter_every_block.
        """
        cdef int64_t n = self.n, width = capacity + 1, shards = self.shards, block = self.block
        cdef const int64_t* lengths = self.lengths
        cdef vector[SortKey] keyed
        cdef int64_t i, s, v, running, count, start
        cdef int64_t* cursors
        cdef BlockJob* job
        self.set_order_buffers()
        cdef int64_t* sizes = self.own_sizes
        cdef uint64_t* spare
        if not _dense_ok(shards * width, n) and capacity <= UINT32_MAX and n <= UINT32_MAX:
            spare = <uint64_t*>self.buffer(n)
            with nogil:
                if self.ids32 != NULL:
                    radix_decreasing(lengths, n, capacity, self.ids32, sizes, spare)
                else:
                    radix_decreasing(lengths, n, capacity, self.ids, sizes, spare)
            return 0
        if not _dense_ok(shards * width, n):
            keyed.resize(n)
            with nogil:
                for i in range(n):
                    keyed[i] = SortKey(-lengths[i], i)
                sort(keyed.begin(), keyed.end())  # ids are distinct: a total, stable order
                for i in range(n):
                    if self.ids32 != NULL:
                        self.ids32[i] = <int32_t>keyed[i].second
                    else:
                        self.ids[i] = keyed[i].second
                    sizes[i] = -keyed[i].first
            return 0
        cursors = self.buffer(shards * width, zeroed=True)
        job = &self.sort_job
        job.lengths = lengths
        job.n = n
        job.block = block
        job.width = width
        job.cursors = cursors
        job.ids = self.ids
        job.ids32 = self.ids32
        with nogil:
            run_blocks(histogram_block, job, shards, self.threads)
            # Longer lengths first; within one length, lower blocks (lower ids) first.
            running = 0
            for v in range(capacity, 0, -1):
                start = running
                for s in range(shards):
                    count = cursors[s * width + v]
                    cursors[s * width + v] = running
                    running = running + count
                for i in range(start, running):
                    sizes[i] = v
            if may_defer_scatter:
                return True
            run_blocks(scatter_block, job, shards, self.threads)
        return False

    cdef release(self):
        """Hand the scratch buffers to the pool for the next call (none is used after)."""
        scratch.give_back(self.buffers)
        self.buffers = []

    cdef object materialise(self):
        """``(items, bounds)``: bin b holds ``items[bounds[b]:bounds[b + 1]]``."""
        cdef int64_t bins = self.out.bins, b, count, running
        items = empty_array(self.n, np.int64)
        bounds = self.bounds
        cdef int64_t* counts = self.out.counts
        cdef int64_t* bound_ptr = counts - 1
        cdef BlockJob job
        job.n = self.n
        job.block = self.block
        job.ids = self.ids
        job.ids32 = self.ids32
        job.bin_of = self.out.bin_of
        job.rank = self.out.rank
        job.bounds = bound_ptr
        job.items = <int64_t*><size_t>items.ctypes.data
        with nogil:
            bound_ptr[0] = 0
            if job.rank != NULL:
                for b in range(bins):  # counts[b] is bounds[b + 1]: prefix sums in place
                    bound_ptr[b + 1] += bound_ptr[b]
                run_blocks(output_block, &job, self.shards, self.threads)
            else:
                # counts[b] becomes bin b's first slot (bounds[b]), then its next free slot
                # as the scatter fills the bin, and finally the bin's end: bounds[b + 1].
                running = 0
                for b in range(bins):
                    count = counts[b]
                    counts[b] = running
                    running += count
                if job.ids32 != NULL:
                    output_in_order(&job, counts, job.ids32)
                else:
                    output_in_order(&job, counts, job.ids)
        return items, leading(bounds, bins + 1)


# --------------------------------------------------------------------------- first fit


ctypedef fused space_t:
    int16_t
    int32_t
    int64_t


cdef int first_fit(
    const int64_t* sizes, const int64_t* positions, int64_t n, int64_t capacity, Placement* out
) except -1 nogil:
    """Lowest-numbered bin that fits, for the items of lengths ``sizes`` in that order, into
    new bins after ``out``'s; item p is recorded at ``positions[p]`` (NULL: at p).

    The index is a max-tree over bin numbers whose nodes are one cache line: 32 children of
    int16 (capacities below 2**15), 16 of int32 (below 2**31) or 8 of int64, so a query or an
    update touches about log32(bins), log16(bins) or log8(bins) lines instead of log2(bins);
    the narrower the entries, the fewer levels and the more of the tree stays in cache.
    It is allocated for n bins with calloc: fresh pages read as zero (an unopened bin), and
    those past the bins actually opened are never touched (a zero-fill would write them all).
    """
    cdef void* tree
    if capacity <= INT16_MAX:
        tree = calloc(tree_size(n, 32), sizeof(int16_t))
    elif capacity <= INT32_MAX:
        tree = calloc(tree_size(n, 16), sizeof(int32_t))
    else:
        tree = calloc(tree_size(n, 8), sizeof(int64_t))
    if tree == NULL:
        with gil:
            raise MemoryError("first fit: no memory for the bin index")
    if capacity <= INT16_MAX:
        first_fit_tree(sizes, positions, n, capacity, out, <int16_t*>tree)
    elif capacity <= INT32_MAX:
        first_fit_tree(sizes, positions, n, capacity, out, <int32_t*>tree)
    else:
        first_fit_tree(sizes, positions, n, capacity, out, <int64_t*>tree)
    free(tree)
    return 0


cdef int64_t tree_levels(int64_t n, int64_t fanout, int64_t* offsets) noexcept nogil:
    """Level l starts at offsets[l]; level 0 has a leaf per bin (rounded up to whole nodes),
    entry i of level l + 1 is the maximum of entries fanout*i .. fanout*i + fanout - 1 of
    level l, and the top level is one node. Returns the number of levels."""
    cdef int64_t levels = 0, total = 0
    cdef int64_t size = max(fanout, ((n + fanout - 1) // fanout) * fanout)
    while True:
        offsets[levels] = total
        total += size
        levels += 1
        if size == fanout:
            offsets[levels] = total
            return levels
        size = ((size // fanout + fanout - 1) // fanout) * fanout


cdef int64_t tree_size(int64_t n, int64_t fanout) noexcept nogil:
    cdef int64_t offsets[66]
    return offsets[tree_levels(n, fanout, offsets)]


cdef void first_fit_tree(
    const int64_t* sizes, const int64_t* positions, int64_t n, int64_t capacity, Placement* out,
    space_t* tree
) noexcept nogil:
    cdef int64_t fanout = 64 // sizeof(space_t)
    cdef int64_t offsets[66]
    cdef int64_t levels = tree_levels(n, fanout, offsets), level
    cdef space_t* row
    cdef space_t best, before, space
    cdef int64_t p, length, index, target, child, parent, base = out.bins
    for p in range(n):
        length = sizes[p]
        # Descend from the top node to the leftmost leaf whose remaining space fits.
        index = 0
        level = levels - 1
        while True:
            row = tree + offsets[level] + fanout * index
            if space_t is int16_t:
                child = first_at_least32(row, <int16_t>length)
            elif space_t is int32_t:
                child = first_at_least16(row, <int32_t>length)
            else:
                child = 0
                while child < fanout and row[child] < length:
                    child += 1
            if child == fanout:  # only possible at the top: no bin fits
                index = -1
                break
            index = fanout * index + child
            if level == 0:
                break
            level -= 1
        if index < 0:
            target = open_bin(out) - base
            record_bin(out, p if positions == NULL else positions[p], base + target)
            # A new leaf only raises maxima: raise them until one is already as high.
            space = <space_t>(capacity - length)
            tree[target] = space
            index = target
            for level in range(1, levels):
                index //= fanout
                if tree[offsets[level] + index] >= space:
                    break
                tree[offsets[level] + index] = space
            continue
        target = index
        record_bin(out, p if positions == NULL else positions[p], base + target)
        # The leaf drops from `before`; a maximum above it changes only while it equals
        # `before` (nearly always false at the first parent: the chosen bin is the first that
        # fits, rarely its node's fullest), and then becomes its row's new maximum.
        before = tree[target]
        tree[target] = before - <space_t>length
        for level in range(levels - 1):
            parent = offsets[level + 1] + index // fanout
            if tree[parent] != before:
                break
            row = tree + offsets[level] + (index - index % fanout)
            best = row[0]
            for child in range(1, fanout):
                if row[child] > best:
                    best = row[child]
            if best == before:
                break
            tree[parent] = best
            index //= fanout
    if out.rank == NULL:
        # Counted after the packing: increments at random bins that no query waits for, so
        # their cache misses overlap (inside the loop each one stalled the next query).
        for p in range(n):
            out.counts[out.bin_of[p if positions == NULL else positions[p]]] += 1


cdef inline void record_bin(Placement* out, int64_t position, int64_t bin_number) noexcept nogil:
    """First fit's ``place``: without ranks, only the bin; first_fit_tree counts at the end."""
    if out.rank == NULL:
        out.bin_of[position] = bin_number
    else:
        place(out, position, bin_number)


# --------------------------------------------------------------------------- best / worst fit


cdef struct BitIndex:
    # levels[0] has one bit per value; each higher level one bit per word below; the top
    # level is one word.
    uint64_t* words[8]
    int64_t sizes[8]
    int levels


cdef void bits_init(BitIndex* index, vector[vector[uint64_t]]* levels, int64_t values) except *:
    """An empty index of the values 0..values - 1, its words held by ``levels``."""
    cdef int64_t words = (values - 1) // 64 + 1
    cdef int level
    while True:
        levels.push_back(vector[uint64_t](words, 0))
        words = (words + 63) // 64 if words > 1 else 0
        if words == 0:
            break
    index.levels = levels.size()
    for level in range(index.levels):
        index.words[level] = deref(levels)[level].data()
        index.sizes[level] = deref(levels)[level].size()


cdef inline bint bits_has(BitIndex* index, int64_t value) noexcept nogil:
    return (index.words[0][value >> 6] >> (value & 63)) & 1


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
    """The heap left when ``root`` (its minimum) is removed: the two-pass pairing.

    Every bin outside a heap keeps child == sibling == -1, so it can be melded in directly.
    """
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


cdef struct Bucket:
    # The bins of one remaining-space value, lowest number first: a FIFO of bin numbers that
    # arrived in increasing order (nearly all of them, with decreasing items), plus a pairing
    # heap for the ones that arrived below the FIFO's last. One struct: one cache line visit.
    int64_t first  # FIFO head, -1 when empty
    int64_t last  # FIFO tail
    int64_t heap  # heap root, -1 when empty
    int64_t value  # sparse index: the remaining space of its bins


cdef struct Buckets:
    Bucket* of  # per value (dense index) or per bucket number (sparse index)
    int64_t* link  # per bin: the next bin in its FIFO
    int64_t* child  # per bin: pairing-heap links
    int64_t* sibling


cdef inline bint bucket_empty(Bucket* bucket) noexcept nogil:
    return bucket.first < 0 and bucket.heap < 0


cdef inline int64_t buckets_pop(Buckets* buckets, Bucket* bucket) noexcept nogil:
    """Remove and return the lowest bin number of a non-empty bucket."""
    cdef int64_t head = bucket.first, root = bucket.heap
    if root >= 0 and (head < 0 or root < head):
        bucket.heap = heap_pop(root, buckets.child, buckets.sibling)
        return root
    # The FIFO's last bin has no successor: skip its link, a cache miss when it was
    # written long ago (most buckets hold one bin).
    bucket.first = -1 if head == bucket.last else buckets.link[head]
    return head


cdef inline void buckets_push(Buckets* buckets, Bucket* bucket, int64_t bin_number) noexcept nogil:
    cdef int64_t tail
    if bucket.first < 0:
        bucket.first = bin_number
        bucket.last = bin_number
        buckets.link[bin_number] = -1
        return
    tail = bucket.last
    if bin_number > tail:
        buckets.link[tail] = bin_number
        bucket.last = bin_number
        buckets.link[bin_number] = -1
    else:
        # Heap links are set only here, so their pages are never touched by inputs whose
        # buckets stay in order (heap_pop leaves every node it removes with -1, -1).
        buckets.child[bin_number] = -1
        buckets.sibling[bin_number] = -1
        bucket.heap = heap_meld(bucket.heap, bin_number, buckets.child, buckets.sibling)


cdef extern from *:
    """
    /* The number of set bits; the popcnt instruction where the build targets it (the default
       x86-64 target does not), else the branch-free SWAR count, both a few cycles. */
    static inline int seqpacker_popcount(uint64_t w) {
    #if defined(__POPCNT__)
        return __builtin_popcountll(w);
    #else
        w = w - ((w >> 1) & 0x5555555555555555ULL);
        w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
        w = (w + (w >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        return (int)((w * 0x0101010101010101ULL) >> 56);
    #endif
    }
    """
    int popcount "seqpacker_popcount"(uint64_t w) noexcept nogil


cdef enum:
    RADIX_BITS = 6  # a radix node has 64 digits: its occupancy is one word
    MAX_DEPTH = 8  # capacity >> (6 * 8) < 2^16 always fits the dense top


cdef struct RadixNode:
    # The occupied digits below this node (a bit each) and their children, in digit order, in
    # entries[base:base + popcount(mask)]: a block of 2^block_class(popcount(mask)) slots.
    # A child >= 0 is a node of the level below; ~bucket (< 0) is the only value under that
    # digit (a Bucket records its value), always so on level 0.
    # A top node whose prefix holds a single value has base ~bucket (< 0) and that value as
    # its mask: compared without a visit to the bucket.
    uint64_t mask
    int64_t base


cdef enum:
    FINE_PREFIXES_MAX = 65536  # (+ 1) sparse prefixes: a bit index of 8 KiB to clear
    # The sparse index's low values: up to 16n + 4096 of them while their bucket numbers fit
    # in 256 KiB (beyond, that range would be far slower than the tree at 1M items), else n.
    LOW_VALUES_CACHED = 65536
    MIN_BLOCK_CLASS = 2  # blocks of 4 slots or more: most nodes never move theirs


cdef inline int block_class(int64_t count) noexcept nogil:
    """log2 of the block size that holds ``count`` >= 1 children (a power of two >= 4)."""
    return MIN_BLOCK_CLASS if count <= 4 else msb(<uint64_t>(count - 1)) + 1


cdef inline uint64_t below(int digit) noexcept nogil:
    return ((<uint64_t>1) << digit) - 1


cdef int grow(void** buffer, int64_t* size, int64_t needed, size_t item) except -1 nogil:
    """Make room for ``needed`` items (at least doubling ``size``); the contents stay."""
    cdef int64_t larger = max(2 * size[0], needed)
    cdef void* moved = realloc(buffer[0], larger * item)
    if moved == NULL:
        with gil:
            raise MemoryError()
    buffer[0] = moved
    size[0] = larger
    return 0


@cython.final  # direct (inlinable) calls of take and add, no virtual dispatch per item
cdef class _RemainingIndex:
    """Bins by remaining space; ties go to the lowest bin (each value's Bucket).

    Dense (capacity O(n), ``depth`` 0): a bit index over the values 0..capacity and a Bucket
    per value. Otherwise a sparse radix index: the prefixes ``value >> shift`` (a range O(n)
    wide) in the bit index, and under each prefix a tree of ``depth`` levels of up to 64
    digits (the top level's: ``shift - 6 * (depth - 1)`` bits) whose nodes exist only where
    two values share the digits above; the top ones, one per prefix, are allocated up front
    and valid while the prefix's bit is set. A digit under which one value lies holds its
    Bucket directly, and a prefix with one value keeps it in the top node (base ~bucket,
    mask the value itself). Spread out values, the common case at large capacities, so cost
    no node at all. Nodes are split when a second value arrives, never merged back (a node
    freed when its last child goes). The values below ``low_limit`` (O(n) of them) skip the
    tree: a bit index of their own and their bucket numbers in ``low_bucket``, valid while
    the value's bit is set. Best fit leaves small remnants, ever more of them as the bins
    fill: 40% of the values that bfd indexes at 2**24 (10k items) lie below n, crowded into
    the few nodes of the lowest prefixes.
    Memory: O(n) prefixes and buckets, O(n * depth) nodes and child slots (blocks at most
    twice as large as their content, at least 4), never O(capacity); a query or an update
    visits at most 2 * depth nodes and the bit index.
    """

    cdef int depth, shift
    cdef int64_t low_mask
    cdef BitIndex bits
    cdef Buckets buckets
    cdef vector[vector[uint64_t]] levels
    cdef object per_value, per_bin  # the Buckets' numpy buffers
    # sparse only: nodes[prefix] is the top node of that prefix's tree, valid while the
    # prefix's bit is set (never initialised: no pass over all prefixes per packing)
    cdef RadixNode* nodes  # malloc'd, grown by realloc (no zero fill, no copy when remapped)
    cdef int64_t* entries  # the nodes' children, in blocks of 2^k slots
    cdef int64_t nodes_used, nodes_size, entries_used, entries_size
    cdef int64_t free_blocks[RADIX_BITS + 1]  # per block class: a free block, linked by slot 0
    cdef int64_t free_node  # linked by base
    cdef int64_t free_bucket  # linked by last
    cdef int64_t unused_bucket
    cdef int64_t low_limit  # sparse only: the values below it are in low_bits
    # sparse only: no indexed value exceeds it. Decreasing orders open a bin for each of
    # their first (longer) items, whose queries it answers at once.
    cdef int64_t value_bound
    cdef BitIndex low_bits
    cdef vector[vector[uint64_t]] low_levels
    cdef int32_t* low_bucket  # malloc'd; low_bucket[value] is set when its bit is
    # The nodes above the last query's value, from the one whose child it is (found_level)
    # up to the top (depth - 1).
    cdef int64_t path[MAX_DEPTH]
    cdef int found_level

    def __cinit__(self, int64_t capacity, int64_t n):
        cdef int64_t top_values, slots
        cdef int level = 0
        while not _dense_ok((capacity >> (RADIX_BITS * self.depth)) + 1, n):
            self.depth += 1
        self.shift = RADIX_BITS * self.depth
        # Sparse: finer prefixes, as long as the tree keeps its depth (its top level then
        # tells fewer than 64 digits apart) and they stay few and O(n). Spread out values
        # then rarely share a prefix: no tree at all (bfd at 2**24, 10k items: 0.53 ms with
        # 4097 prefixes, 0.40 with 65537).
        while (
            self.depth > 0
            and self.shift - 1 > RADIX_BITS * (self.depth - 1)
            and (capacity >> (self.shift - 1)) <= FINE_PREFIXES_MAX
            and _dense_ok((capacity >> (self.shift - 1)) + 1, n)
        ):
            self.shift -= 1
        self.low_mask = ((<int64_t>1) << self.shift) - 1
        top_values = (capacity >> self.shift) + 1
        bits_init(&self.bits, &self.levels, top_values)
        # Dense: a Bucket per value, all empty. Sparse: per bucket number, each set up when
        # taken; a value indexed at any time holds a bin, so n + 1 buckets suffice.
        slots = sizeof(Bucket) // sizeof(int64_t)
        if self.depth == 0:
            self.per_value = np.full(slots * top_values, -1, np.int64)
        else:
            self.per_value = scratch.array(slots * (n + 1), np.int64)
        self.buckets.of = <Bucket*><size_t>self.per_value.ctypes.data
        self.per_bin = scratch.array(3 * max(n, 1), np.int64)  # each entry is set before read
        self.buckets.link = <int64_t*><size_t>self.per_bin.ctypes.data
        self.buckets.child = self.buckets.link + n
        self.buckets.sibling = self.buckets.child + n
        if self.depth > 0:
            self.nodes_used = top_values
            grow(<void**>&self.nodes, &self.nodes_size, top_values + 1024, sizeof(RadixNode))
            grow(<void**>&self.entries, &self.entries_size, 4096, sizeof(int64_t))
            for level in range(RADIX_BITS + 1):
                self.free_blocks[level] = -1
            self.free_node = -1
            self.free_bucket = -1
            # int32 bucket numbers (n + 1 buckets): no low values beyond 2**31 items.
            self.low_limit = 0
            if n < INT32_MAX:
                self.low_limit = min(capacity, max(n, min(16 * n + 4096, LOW_VALUES_CACHED)))
            bits_init(&self.low_bits, &self.low_levels, max(self.low_limit, 1))
            self.low_bucket = <int32_t*>malloc(max(self.low_limit, 1) * sizeof(int32_t))
            if self.low_bucket == NULL:
                raise MemoryError()

    def __dealloc__(self):
        free(self.nodes)
        free(self.entries)
        free(self.low_bucket)

    cdef release(self):
        """Hand the per-bin (and sparse per-bucket) buffers to the pool; the index is done."""
        scratch.give_back([self.per_bin, self.per_value])
        self.per_bin = self.per_value = None

    # ---- pools: child blocks, nodes, buckets (grown by doubling, reused through free lists)

    cdef int64_t block_alloc(self, int size_class) except -1 nogil:
        cdef int64_t block = self.free_blocks[size_class]
        if block >= 0:
            self.free_blocks[size_class] = self.entries[block]
            return block
        block = self.entries_used
        self.entries_used += 1 << size_class
        if self.entries_used > self.entries_size:
            grow(<void**>&self.entries, &self.entries_size, self.entries_used, sizeof(int64_t))
        return block

    cdef inline void block_free(self, int64_t block, int size_class) noexcept nogil:
        self.entries[block] = self.free_blocks[size_class]
        self.free_blocks[size_class] = block

    cdef int node_start(self, int64_t node, int digit, int64_t child) except -1 nogil:
        """Make the empty ``node`` hold one child."""
        cdef int64_t base = self.block_alloc(block_class(1))
        self.entries[base] = child
        self.nodes[node].base = base
        self.nodes[node].mask = (<uint64_t>1) << digit
        return 0

    cdef int64_t node_new(self, int digit, int64_t child) except -1 nogil:
        cdef int64_t node = self.free_node
        if node >= 0:
            self.free_node = self.nodes[node].base
        else:
            node = self.nodes_used
            self.nodes_used += 1
            if self.nodes_used > self.nodes_size:
                grow(<void**>&self.nodes, &self.nodes_size, self.nodes_used, sizeof(RadixNode))
        self.node_start(node, digit, child)
        return node

    cdef int64_t bucket_new(self, int64_t value) noexcept nogil:
        """An empty bucket for ``value``."""
        cdef int64_t bucket = self.free_bucket
        if bucket >= 0:
            self.free_bucket = self.buckets.of[bucket].last
        else:
            bucket = self.unused_bucket
            self.unused_bucket += 1
        self.buckets.of[bucket].first = -1
        self.buckets.of[bucket].heap = -1
        self.buckets.of[bucket].value = value
        return bucket

    cdef inline int64_t child_of(self, int64_t node, int digit) noexcept nogil:
        """The child under an occupied ``digit`` of ``node``."""
        cdef RadixNode* at = &self.nodes[node]
        return self.entries[at.base + popcount(at.mask & below(digit))]

    cdef int child_insert(self, int64_t node, int digit, int64_t child) except -1 nogil:
        """Occupy ``digit`` of ``node`` (free before) with ``child``."""
        cdef RadixNode* at = &self.nodes[node]
        cdef int64_t count = popcount(at.mask), position = popcount(at.mask & below(digit))
        cdef int64_t base = at.base, moved, i
        cdef int64_t* entry
        if block_class(count + 1) != block_class(count):  # full: move to one twice as large
            moved = self.block_alloc(block_class(count + 1))
            entry = self.entries
            for i in range(position):
                entry[moved + i] = entry[base + i]
            for i in range(position, count):
                entry[moved + i + 1] = entry[base + i]
            self.block_free(base, block_class(count))
            at.base = base = moved
        else:
            entry = self.entries
            for i in range(count, position, -1):
                entry[base + i] = entry[base + i - 1]
        entry[base + position] = child
        at.mask |= (<uint64_t>1) << digit
        return 0

    cdef int64_t child_remove(self, int64_t node, int digit) except -1 nogil:
        """Free ``digit`` of ``node``; returns the children left (none: ``node`` is empty)."""
        cdef RadixNode* at = &self.nodes[node]
        cdef int64_t count = popcount(at.mask) - 1, position = popcount(at.mask & below(digit))
        cdef int64_t base = at.base, moved, i
        cdef int64_t* entry
        at.mask &= ~((<uint64_t>1) << digit)
        if count == 0:
            self.block_free(base, block_class(1))
            return 0
        if block_class(count) != block_class(count + 1):  # half the block is enough
            moved = self.block_alloc(block_class(count))
            entry = self.entries
            for i in range(position):
                entry[moved + i] = entry[base + i]
            for i in range(position, count):
                entry[moved + i] = entry[base + i + 1]
            self.block_free(base, block_class(count + 1))
            at.base = moved
        else:
            entry = self.entries
            for i in range(position, count):
                entry[base + i] = entry[base + i + 1]
        return count

    cdef inline void child_set(self, int64_t node, int digit, int64_t child) noexcept nogil:
        """Replace the child under an occupied ``digit`` of ``node``."""
        cdef RadixNode* at = &self.nodes[node]
        self.entries[at.base + popcount(at.mask & below(digit))] = child

    cdef int64_t split(
        self, int64_t low, int64_t bucket, int64_t other_low, int64_t other_bucket, int level
    ) except -1 nogil:
        """The node of ``level`` (and those below it) that tells two lows apart; they share
        the digits above ``level``."""
        cdef int digit = (low >> (RADIX_BITS * level)) & 63
        cdef int other = (other_low >> (RADIX_BITS * level)) & 63
        cdef int64_t node
        if digit == other:
            return self.node_new(
                digit, self.split(low, bucket, other_low, other_bucket, level - 1)
            )
        node = self.node_new(digit, ~bucket)
        self.child_insert(node, other, ~other_bucket)
        return node

    # ---- sparse queries: they leave the nodes above the value found in path[found_level:]

    cdef int64_t tree_descend(self, int64_t child, int level, bint largest) noexcept nogil:
        """From ``child`` (a node of ``level``, or a single value) along the smallest (largest)
        digits to the bucket of a single value."""
        cdef RadixNode* at
        while child >= 0:
            at = &self.nodes[child]
            self.path[level] = child
            if largest:
                child = self.entries[at.base + popcount(at.mask) - 1]
            else:
                child = self.entries[at.base]
            level -= 1
        self.found_level = level + 1
        return ~child

    cdef int64_t tree_successor(self, int64_t node, int64_t low) noexcept nogil:
        """The bucket of the smallest value >= ``low`` in the tree of top ``node``, or -1."""
        cdef int level = self.depth - 1, digit
        cdef int64_t child
        cdef uint64_t higher
        while True:  # follow low's own digits while they are occupied
            digit = (low >> (RADIX_BITS * level)) & 63
            self.path[level] = node
            if not (self.nodes[node].mask >> digit) & 1:
                break
            child = self.child_of(node, digit)
            if child < 0:  # one value under this digit
                if (self.buckets.of[~child].value & self.low_mask) >= low:
                    self.found_level = level
                    return ~child
                break  # smaller than low: the next digit up has the successor
            node = child
            level -= 1
        while True:  # the next occupied digit above low's, here or in an ancestor
            higher = self.nodes[self.path[level]].mask & (((~(<uint64_t>0)) << digit) << 1)
            if higher:
                break
            level += 1
            if level == self.depth:
                return -1
            digit = (low >> (RADIX_BITS * level)) & 63
        return self.tree_descend(self.child_of(self.path[level], ctz(higher)), level - 1, False)

    cdef inline int64_t prefix_extreme(self, int64_t prefix, bint largest, int64_t* bucket) noexcept nogil:
        """The smallest (largest) value of an occupied prefix."""
        cdef RadixNode* top = &self.nodes[prefix]
        if top.base < 0:  # a single value
            bucket[0] = ~top.base
            return <int64_t>top.mask
        bucket[0] = self.tree_descend(prefix, self.depth - 1, largest)
        return self.buckets.of[bucket[0]].value

    cdef int64_t sparse_successor(self, int64_t value, int64_t* bucket) noexcept nogil:
        """The smallest indexed value >= ``value`` (<= capacity), or -1."""
        cdef int64_t prefix, found
        cdef RadixNode* top
        if value > self.value_bound:
            return -1
        if value < self.low_limit:
            found = bits_successor(&self.low_bits, value)
            if found >= 0:
                bucket[0] = self.low_bucket[found]
                return found
            value = self.low_limit  # (the tree holds none below it)
        prefix = value >> self.shift
        top = &self.nodes[prefix]
        if bits_has(&self.bits, prefix):  # the value's own prefix, first
            if top.base >= 0:
                bucket[0] = self.tree_successor(prefix, value & self.low_mask)
                if bucket[0] >= 0:
                    return self.buckets.of[bucket[0]].value
            elif <int64_t>top.mask >= value:  # a single value
                bucket[0] = ~top.base
                return <int64_t>top.mask
        prefix = bits_successor(&self.bits, prefix + 1)
        if prefix < 0:
            return -1
        return self.prefix_extreme(prefix, False, bucket)

    cdef int64_t sparse_max(self, int64_t* bucket) noexcept nogil:
        cdef int64_t prefix = bits_max(&self.bits), found
        if prefix >= 0:
            return self.prefix_extreme(prefix, True, bucket)
        found = bits_max(&self.low_bits)
        if found >= 0:
            bucket[0] = self.low_bucket[found]
        return found

    cdef int sparse_remove(self, int64_t value, int64_t bucket) except -1 nogil:
        """Drop ``value``, whose bucket emptied, along the path of the query that found it."""
        cdef int level
        cdef int64_t prefix = value >> self.shift, low = value & self.low_mask
        self.buckets.of[bucket].last = self.free_bucket
        self.free_bucket = bucket
        if value < self.low_limit:
            bits_clear(&self.low_bits, value)
            return 0
        if self.nodes[prefix].base >= 0:  # a tree (else a single value)
            for level in range(self.found_level, self.depth):
                if self.child_remove(self.path[level], (low >> (RADIX_BITS * level)) & 63) > 0:
                    return 0
                if level < self.depth - 1:  # a top node stays
                    self.nodes[self.path[level]].base = self.free_node
                    self.free_node = self.path[level]
        bits_clear(&self.bits, prefix)
        return 0

    cdef int64_t sparse_bucket(self, int64_t value) except -1 nogil:
        """The bucket of ``value``, made (empty) when the value is not indexed yet."""
        cdef int64_t node = value >> self.shift, low = value & self.low_mask, bucket, child
        cdef int64_t single_low
        cdef int level = self.depth - 1, digit
        cdef RadixNode* top = &self.nodes[node]
        if value > self.value_bound:
            self.value_bound = value
        if value < self.low_limit:
            if bits_has(&self.low_bits, value):
                return self.low_bucket[value]
            bucket = self.bucket_new(value)
            self.low_bucket[value] = <int32_t>bucket
            bits_set(&self.low_bits, value)
            return bucket
        if not bits_has(&self.bits, node):  # an empty prefix: the value alone, in the top node
            bucket = self.bucket_new(value)
            top.mask = <uint64_t>value
            top.base = ~bucket
            bits_set(&self.bits, node)
            return bucket
        if top.base < 0:
            if <int64_t>top.mask == value:
                return ~top.base
            # A second value: the top node becomes a tree's, with the first one as a child.
            single_low = <int64_t>top.mask & self.low_mask
            self.node_start(node, (single_low >> (RADIX_BITS * level)) & 63, top.base)
        while True:
            digit = (low >> (RADIX_BITS * level)) & 63
            if not (self.nodes[node].mask >> digit) & 1:
                bucket = self.bucket_new(value)
                self.child_insert(node, digit, ~bucket)
                return bucket
            child = self.child_of(node, digit)
            if child < 0:  # one value under this digit: it stays if it is ours, else split
                if self.buckets.of[~child].value == value:
                    return ~child
                bucket = self.bucket_new(value)
                single_low = self.buckets.of[~child].value & self.low_mask
                self.child_set(node, digit, self.split(low, bucket, single_low, ~child, level - 1))
                return bucket
            node = child
            level -= 1

    # ---- the interface of fit_by_remaining

    cdef int64_t take(self, int64_t length, bint worst, int64_t* remaining) except -2 nogil:
        """Remove the chosen bin and return it (its space in ``remaining``), or -1."""
        cdef int64_t space, bin_number, bucket
        if self.depth == 0:
            space = bits_max(&self.bits) if worst else bits_successor(&self.bits, length)
            bucket = space
        else:
            space = self.sparse_max(&bucket) if worst else self.sparse_successor(length, &bucket)
        if space < length:  # also covers -1 (nothing indexed)
            return -1
        bin_number = buckets_pop(&self.buckets, &self.buckets.of[bucket])
        if bucket_empty(&self.buckets.of[bucket]):
            if self.depth == 0:
                bits_clear(&self.bits, space)
            else:
                self.sparse_remove(space, bucket)
        remaining[0] = space
        return bin_number

    cdef int add(self, int64_t space, int64_t bin_number) except -1 nogil:
        cdef int64_t bucket
        if space <= 0:
            return 0  # nothing fits a full bin
        if self.depth == 0:
            bucket = space
            if bucket_empty(&self.buckets.of[space]):
                bits_set(&self.bits, space)
        else:
            bucket = self.sparse_bucket(space)
        buckets_push(&self.buckets, &self.buckets.of[bucket], bin_number)
        return 0


cdef int fit_by_remaining(
    const int64_t* sizes, int64_t n, int64_t capacity, bint worst, _RemainingIndex index,
    Placement* out
) except -1 nogil:
    """Best fit (least remaining that fits) or worst fit (most remaining); ties: lowest bin."""
    cdef int64_t p = 0, length, target, space, run_end
    while p < n:
        length = sizes[p]
        target = index.take(length, worst, &space)
        if target >= 0:
            place(out, p, target)
            index.add(space - length, target)
            p += 1
            continue
        # No bin fits. If a new bin's rest cannot take this length either, nothing that the
        # next items of equal length add changes that: each of them opens a bin as well (half
        # of the items of decreasing orders, which arrive in such runs).
        run_end = p + 1
        if capacity - length < length:
            while run_end < n and sizes[run_end] == length:
                run_end += 1
        while p < run_end:
            target = open_bin(out)
            place(out, p, target)
            index.add(capacity - length, target)
            p += 1
    return 0


# --------------------------------------------------------------------------- MFFD


cdef struct MffdScratch:
    int64_t* remaining  # space left in each A-bin
    int64_t* has_b_item  # 0/1 per A-bin
    int64_t* rest  # positions left for stage 5
    int64_t* rest_sizes  # their lengths
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
    const int64_t* sizes, int64_t n, int64_t capacity, MffdScratch* work, Placement* out
) except -1 nogil:
    """MFFD over the decreasing order whose lengths are ``sizes``."""
    cdef UnplacedPositions pool
    cdef int64_t* remaining = work.remaining
    cdef int64_t* rest = work.rest
    cdef int64_t p, b, tail, before_tail, found, end_a, end_b, end_c, rest_count = 0
    pool.next_ = work.next_
    pool.prev_ = work.prev_
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
        work.rest_sizes[rest_count] = sizes[p]
        rest_count += 1
        p = next_unplaced(&pool, p + 1)
    first_fit(work.rest_sizes, rest, rest_count, capacity, out)
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


cdef int64_t next_fit_starts(
    const int64_t* lengths, int64_t n, int64_t capacity, int64_t* starts
) noexcept nogil:
    """The number of next-fit bins, and the first id of each bin in ``starts`` (room for
    n + 1 entries).

    Branch-free: whether an item opens a bin is a coin toss on random lengths, and a
    mispredicted branch per item or two cost more than the loop's arithmetic. The id is
    stored unconditionally in the next bin's slot (kept only when the count moves past it),
    and ``used`` is a select (a conditional move): the loop-carried chain is an add, a compare
    and the move (a mask ``used & (opens - 1)`` made it twice as long).
    """
    cdef int64_t i, length, opens, total, used = 0, bins = 1
    starts[0] = 0
    for i in range(n):
        length = lengths[i]
        total = used + length
        opens = total > capacity
        starts[bins] = i
        bins += opens
        used = length if opens else total
    return bins


cdef object pack_nf(const int64_t[::1] lengths, int64_t capacity):
    cdef int64_t n = lengths.shape[0], bins, i
    # One pass into room for the most bins (n): the pages past the bins used are never
    # touched (a count-only pass first cost a second read of every length).
    bounds = empty_array(n + 1, np.int64)
    items = empty_array(n, np.int64)
    cdef int64_t* starts = <int64_t*><size_t>bounds.ctypes.data
    cdef int64_t* ids = <int64_t*><size_t>items.ctypes.data
    with nogil:
        bins = next_fit_starts(&lengths[0], n, capacity, starts)
        starts[bins] = n
        for i in range(n):
            ids[i] = i
    return items, leading(bounds, bins + 1)


# --------------------------------------------------------------------------- dispatch


cdef int _threads_for(int64_t shards):
    return <int>max(1, min(shards, usable_cores()))


def pack(str strategy, const int64_t[::1] lengths, int64_t capacity, uint64_t seed, k):
    """``(items, bounds)`` int64 arrays; bin ``b`` holds ``items[bounds[b]:bounds[b + 1]]``."""
    cdef int64_t n = lengths.shape[0]
    # A k beyond capacity behaves exactly like capacity + 1: no length reaches class k.
    cdef int64_t k_value = min(k, capacity + 1)
    cdef int64_t shards = 1
    cdef int threads = 1
    cdef bint worst = strategy == "wf"
    cdef _Work work
    cdef _RemainingIndex index = None
    cdef MffdScratch mffd
    cdef bint scatter_beside = False
    cdef void* beside
    if strategy == "nf":
        return pack_nf(lengths, capacity)
    if strategy == "obfdp":
        shards = max(1, (n + SHARD_SIZE - 1) // SHARD_SIZE)
        threads = _threads_for(shards)
    work = _Work(lengths, shards, threads, in_order=strategy != "mffd")
    if strategy == "ffs":
        work.use_shuffle(seed, capacity)
    elif strategy in ("ffd", "bfd", "obfd", "obfdp", "mffd"):
        scatter_beside = work.use_decreasing(capacity, may_defer_scatter=threads > 1)
    work.begin_placement(sizes_read_in_order=strategy != "mffd")
    if strategy in ("ff", "ffd", "ffs"):
        with nogil:
            first_fit(work.sizes, NULL, n, capacity, &work.out)
    elif strategy in ("bf", "wf", "bfd", "obfd", "obfdp"):
        index = _RemainingIndex(capacity, n)
        if scatter_beside:
            # obfdp: the ids' scatter runs on a second thread while this one packs (the
            # packing reads only the sizes); the output needs both.
            beside = start_beside(scatter_every_block, &work.sort_job)
        try:
            with nogil:
                fit_by_remaining(work.sizes, n, capacity, worst, index, &work.out)
        finally:
            if scatter_beside:
                with nogil:
                    finish_beside(beside, scatter_every_block, &work.sort_job)
    elif strategy == "mffd":
        mffd.remaining = work.buffer(n)
        mffd.has_b_item = work.buffer(n)
        mffd.rest = work.buffer(n)
        mffd.rest_sizes = work.buffer(n)
        mffd.next_ = work.buffer(n + 1)
        mffd.prev_ = work.buffer(n + 1)
        with nogil:
            mffd_place(work.sizes, n, capacity, &mffd, &work.out)
    elif strategy == "hk":
        with nogil:
            harmonic_k(work.sizes, n, capacity, k_value, &work.out)
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    result = work.materialise()
    work.release()
    if index is not None:
        index.release()
    return result


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
