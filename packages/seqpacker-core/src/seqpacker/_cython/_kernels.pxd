# The typed C-level interface of the packing kernels (seqpacker/_cython/_kernels.pyx), for
# other Cython modules of the package. Every function here runs without the GIL.

from libc.stdint cimport int64_t, uint64_t


cdef struct SplitMix64:
    uint64_t state


cdef struct Placement:
    # Position p of the order went to bin bin_of[p] as that bin's rank[p]-th item (rank
    # NULL: not recorded, the output is then placed in order).
    int64_t* bin_of
    int64_t* rank
    int64_t* counts  # items per bin, indexed by bin number
    int64_t bins


cdef int64_t first_invalid(const int64_t* lengths, int64_t n, int64_t capacity) noexcept nogil
cdef uint64_t splitmix_next(SplitMix64* rng) noexcept nogil
cdef uint64_t splitmix_below(SplitMix64* rng, uint64_t bound) noexcept nogil
cdef void shuffle_into(int64_t* order, int64_t n, uint64_t seed) noexcept nogil
cdef int first_fit(
    const int64_t* sizes, const int64_t* positions, int64_t n, int64_t capacity, Placement* out
) except -1 nogil
