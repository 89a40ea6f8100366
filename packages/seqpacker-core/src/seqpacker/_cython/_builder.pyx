# Packed-array builder kernels: the Cython twins of seqpacker/_reference/builder.py.
# Directives come from setup.py (the one place they are set).
"""Cython kernels of the packed-array builder (see ``seqpacker._reference`` for the interface)."""

from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy

import numpy as np

from seqpacker._cores import usable_cores
from seqpacker._memory import empty_array

cdef extern from "Python.h":
    ctypedef struct PyObject
    bint PyList_CheckExact(object)
    bint PyTuple_CheckExact(object)
    bint PyLong_CheckExact(PyObject*) noexcept nogil
    Py_ssize_t PySequence_Fast_GET_SIZE(object)
    PyObject** PySequence_Fast_ITEMS(object)
    # Declared nogil so that the reader below compiles for worker threads; it is only ever
    # called where the calling thread holds the GIL (``may_call_python``). It cannot raise
    # for an exact int: out-of-range values set ``overflow`` instead.
    long long PyLong_AsLongLongAndOverflow(PyObject*, int*) noexcept nogil

cdef extern from "_run_blocks.h":
    ctypedef void (*block_fn)(void* context, int64_t block) noexcept nogil
    void run_blocks "seqpacker_run_blocks"(
        block_fn fn, void* context, int64_t blocks, int threads
    ) noexcept nogil

# Token ids are almost always "compact" ints (one 30-bit digit): read those without a call.
cdef extern from *:
    """
    static inline int seqpacker_compact_long(PyObject* item, long long* value) {
    #if PY_VERSION_HEX >= 0x030C0000
        if (PyUnstable_Long_IsCompact((PyLongObject*)item)) {
            *value = (long long)PyUnstable_Long_CompactValue((PyLongObject*)item);
            return 1;
        }
        return 0;
    #else
        Py_ssize_t size = Py_SIZE(item);
        if (size == 0) { *value = 0; return 1; }
        if (size == 1) { *value = (long long)((PyLongObject*)item)->ob_digit[0]; return 1; }
        if (size == -1) { *value = -(long long)((PyLongObject*)item)->ob_digit[0]; return 1; }
        return 0;
    #endif
    }
    """
    bint seqpacker_compact_long(PyObject* item, long long* value) noexcept nogil

# Reading a token means loading its int object: a dependent load per token that misses the
# cache (7M objects of 28-32 bytes for 7M tokens). Asking for the object PREFETCH_DISTANCE
# tokens ahead, running on into the sequence read next, overlaps the misses instead of taking
# them one by one (a third less time for the list-of-lists builder on the dev VM; 48 measured
# better than 16 or 96).
cdef extern from *:
    """
    static inline void seqpacker_prefetch(const void* address) {
        __builtin_prefetch(address, 0, 3);
    }
    static inline PyObject** seqpacker_fast_items(PyObject* sequence) {
        return PySequence_Fast_ITEMS(sequence);
    }
    """
    void seqpacker_prefetch(const void* address) noexcept nogil
    PyObject** seqpacker_fast_items(PyObject* sequence) noexcept nogil
    Py_ssize_t Py_SIZE(PyObject* sequence) noexcept nogil

cdef enum:
    PREFETCH_DISTANCE = 48
    POINTERS_PER_LINE = 8


cdef struct TokenRun:
    # One exact list/tuple's items, read in place (borrowed: the caller holds the GIL).
    PyObject** tokens
    Py_ssize_t length


cdef inline TokenRun _token_run(PyObject* sequence) noexcept nogil:
    cdef TokenRun run
    run.tokens = seqpacker_fast_items(sequence)
    run.length = Py_SIZE(sequence)
    return run


cdef inline void _prepare_following(TokenRun following) noexcept nogil:
    """Fetch the pointers the lookahead will read at the end of the current sequence."""
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t ahead = min(following.length, <Py_ssize_t>PREFETCH_DISTANCE)
    while i < ahead:
        seqpacker_prefetch(following.tokens + i)
        i += POINTERS_PER_LINE


cdef inline bint _read_ints(
    TokenRun current, TokenRun following, int64_t* out, bint may_call_python
) noexcept nogil:
    """Store ``current``'s ints in ``out``; False at a token it cannot take.

    Lists are only read (no reference counts change), so threads without the GIL may do it
    while the thread that holds it waits. Those pass ``may_call_python=False`` and give up at
    an int beyond one digit (>= 2**30, rare for token ids), which needs the C API.
    """
    cdef Py_ssize_t j, ahead
    cdef PyObject* item
    cdef long long value
    cdef int overflow = 0
    for j in range(current.length):
        ahead = j + PREFETCH_DISTANCE
        if ahead < current.length:
            seqpacker_prefetch(current.tokens[ahead])
        elif ahead - current.length < following.length:
            seqpacker_prefetch(following.tokens[ahead - current.length])
        item = current.tokens[j]
        if not PyLong_CheckExact(item):
            return False
        if not seqpacker_compact_long(item, &value):
            if not may_call_python:
                return False
            value = PyLong_AsLongLongAndOverflow(item, &overflow)
            if overflow:
                return False
        out[j] = value
    return True


cdef inline bint _is_plain_sequence(object sequence):
    return PyList_CheckExact(sequence) or PyTuple_CheckExact(sequence)


def flatten_token_lists(sequences):
    """Concatenate exact lists/tuples of exact ints: ``(values, offsets, bad_index)``.

    Reads the list items through the C API (no per-sequence numpy conversion). At the first
    sequence of any other form, or with a value outside int64, returns ``(None, None, index)``.
    """
    cdef Py_ssize_t count = len(sequences)
    cdef Py_ssize_t index, limit = count
    cdef Py_ssize_t total = 0
    cdef object sequence
    # Pass 1: the container types and the total size (stops at the first bad container).
    for index in range(count):
        sequence = sequences[index]
        if not _is_plain_sequence(sequence):
            limit = index
            break
        total += PySequence_Fast_GET_SIZE(sequence)

    values_array = np.empty(total, dtype=np.int64)
    offsets_array = np.empty(limit + 1, dtype=np.int64)
    cdef int64_t[::1] values = values_array
    cdef int64_t[::1] offsets = offsets_array
    cdef PyObject** outer = seqpacker_fast_items(<PyObject*>sequences)
    cdef TokenRun current, following
    cdef TokenRun nothing_more = TokenRun(NULL, 0)
    cdef Py_ssize_t written = 0
    # Pass 2: the values, sequence by sequence, up to the first bad container.
    offsets[0] = 0
    if limit:
        current = _token_run(outer[0])
    for index in range(limit):
        following = _token_run(outer[index + 1]) if index + 1 < limit else nothing_more
        _prepare_following(following)
        if not _read_ints(current, following, &values[0] + written, True):
            return None, None, index
        written += current.length
        offsets[index + 1] = written
        current = following
    if limit < count:
        return None, None, limit
    return values_array, offsets_array, -1


cdef struct Rows:
    # The output arrays (row-major, ``capacity`` slots per row) and the fill values. Labels
    # have one slot more (see PackedArrays.shift_labels in seqpacker/_builder.py):
    # shift_labels are the same buffer read one slot later, never written separately.
    int64_t* input_ids
    int64_t* attention_mask
    int64_t* position_ids
    int64_t* labels
    int64_t padding_value
    int64_t label_padding_value


cdef inline void _finish_sequence(Rows* rows, Py_ssize_t at, Py_ssize_t length) noexcept nogil:
    """Everything but input_ids for a sequence whose tokens are in input_ids[at:at + length]."""
    cdef Py_ssize_t j
    cdef const int64_t* tokens = rows.input_ids + at
    # Aligned labels: the token itself, masked at the sequence's first token.
    rows.labels[at] = rows.label_padding_value
    memcpy(rows.labels + at + 1, tokens + 1, (length - 1) * sizeof(int64_t))
    # One array per loop so that each loop vectorises.
    for j in range(length):
        rows.attention_mask[at + j] = 1
    for j in range(length):
        rows.position_ids[at + j] = j


cdef inline void _fill_tail(Rows* rows, Py_ssize_t at, Py_ssize_t row_end) noexcept nogil:
    """The padding tail: a segment of its own with positions 0, 1, 2, ..."""
    cdef Py_ssize_t j, tail = row_end - at
    for j in range(tail):
        rows.input_ids[at + j] = rows.padding_value
    for j in range(tail):
        rows.attention_mask[at + j] = 0
    for j in range(tail):
        rows.position_ids[at + j] = j
    for j in range(tail):
        rows.labels[at + j] = rows.label_padding_value


cdef tuple _new_rows(
    Py_ssize_t num_packs,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
    Rows* rows,
    out,
):
    """The row arrays and the label buffer (``out``'s, or new ones), with ``rows`` at them.

    The label buffer's last slot (after every row) already holds ``label_padding_value``.
    """
    rows.padding_value = padding_value
    rows.label_padding_value = label_padding_value
    shape = (num_packs, capacity)
    if out is None:
        arrays = tuple(empty_array(num_packs * capacity, np.int64).reshape(shape) for _ in range(3))
        label_buffer = empty_array(num_packs * capacity + 1, np.int64)
    else:  # checked by the shared layer: C-contiguous int64 of exactly these shapes
        arrays = tuple(out[:3])
        label_buffer = out[3]
    cdef int64_t[::1] labels = label_buffer
    labels[num_packs * capacity] = label_padding_value
    rows.labels = &labels[0]
    if num_packs == 0 or capacity == 0:
        return arrays + (label_buffer,)
    cdef int64_t[:, ::1] view
    view = arrays[0]
    rows.input_ids = &view[0, 0]
    view = arrays[1]
    rows.attention_mask = &view[0, 0]
    view = arrays[2]
    rows.position_ids = &view[0, 0]
    return arrays + (label_buffer,)


# Large batches are filled by a few threads, each taking blocks of rows: filling is bound by
# memory traffic and page faults, which one core alone does not saturate. Small batches (a
# DataLoader's collate, often in several worker processes at once) stay on one thread.
cdef Py_ssize_t THREADED_MIN_SLOTS = 1 << 20
cdef Py_ssize_t SLOTS_PER_BLOCK = 1 << 18
cdef int MAX_FILL_THREADS = 4


cdef int _fill_threads(Py_ssize_t slots):
    if slots < THREADED_MIN_SLOTS:
        return 1
    return <int>max(1, min(usable_cores(), MAX_FILL_THREADS))


cdef struct FillJob:
    # Everything a block of rows needs. Tokens come from ``values``/``starts`` (flat) or,
    # when ``sequences`` is set, from Python lists read in place.
    Rows rows
    Py_ssize_t capacity
    Py_ssize_t num_packs
    Py_ssize_t packs_per_block
    const int64_t* lengths
    const int64_t* items
    const int64_t* bounds
    const int64_t* values
    const int32_t* values32  # int32 tokens (Arrow's usual type), widened while copied
    const int64_t* starts
    PyObject** sequences
    unsigned char* unfinished  # per block: the list reader met an int it may not read off the GIL


cdef void _fill_flat_packs(FillJob* job, Py_ssize_t first, Py_ssize_t last) noexcept nogil:
    cdef Py_ssize_t pack, k, j, at, length, sequence
    for pack in range(first, last):
        at = pack * job.capacity
        for k in range(job.bounds[pack], job.bounds[pack + 1]):
            sequence = job.items[k]
            length = job.lengths[sequence]
            if job.values32 != NULL:
                for j in range(length):
                    job.rows.input_ids[at + j] = job.values32[job.starts[sequence] + j]
            else:
                memcpy(
                    job.rows.input_ids + at,
                    job.values + job.starts[sequence],
                    length * sizeof(int64_t),
                )
            _finish_sequence(&job.rows, at, length)
            at += length
        _fill_tail(&job.rows, at, (pack + 1) * job.capacity)


cdef bint _fill_list_packs(
    FillJob* job, Py_ssize_t first, Py_ssize_t last, bint may_call_python
) noexcept nogil:
    """Rows ``first..last-1`` from the lists; False at a token ``_read_ints`` cannot take.

    Packs visit the sequences in no particular order: the list header two sequences ahead
    and the pointers one ahead are fetched early, so each new sequence finds them in cache.
    """
    cdef Py_ssize_t pack, k, at
    cdef Py_ssize_t end = job.bounds[last]
    cdef PyObject** outer = job.sequences
    cdef TokenRun nothing_more = TokenRun(NULL, 0)
    cdef TokenRun following
    cdef TokenRun current = _token_run(outer[job.items[job.bounds[first]]])
    for pack in range(first, last):
        at = pack * job.capacity
        for k in range(job.bounds[pack], job.bounds[pack + 1]):
            if k + 2 < end:
                seqpacker_prefetch(outer[job.items[k + 2]])
            following = _token_run(outer[job.items[k + 1]]) if k + 1 < end else nothing_more
            _prepare_following(following)
            if not _read_ints(current, following, job.rows.input_ids + at, may_call_python):
                return False
            _finish_sequence(&job.rows, at, current.length)
            at += current.length
            current = following
        _fill_tail(&job.rows, at, (pack + 1) * job.capacity)
    return True


cdef void _fill_block(void* context, int64_t block) noexcept nogil:
    cdef FillJob* job = <FillJob*>context
    cdef Py_ssize_t first = block * job.packs_per_block
    cdef Py_ssize_t last = min(first + job.packs_per_block, job.num_packs)
    if job.sequences == NULL:
        _fill_flat_packs(job, first, last)
    elif not _fill_list_packs(job, first, last, False):
        job.unfinished[block] = 1


cdef int64_t _start_job(
    FillJob* job,
    const int64_t[::1] lengths,
    const int64_t[::1] items,
    const int64_t[::1] bounds,
    Py_ssize_t capacity,
) noexcept nogil:
    """The packing and the block size, with no token source yet; the number of blocks."""
    job.capacity = capacity
    job.num_packs = bounds.shape[0] - 1
    job.packs_per_block = max(1, SLOTS_PER_BLOCK // capacity)
    job.lengths, job.items, job.bounds = &lengths[0], &items[0], &bounds[0]
    job.values = job.starts = NULL
    job.values32 = NULL
    job.sequences = NULL
    job.unfinished = NULL
    return (job.num_packs + job.packs_per_block - 1) // job.packs_per_block


def fill_packed_rows(
    values,
    const int64_t[::1] starts,
    const int64_t[::1] lengths,
    const int64_t[::1] items,
    const int64_t[::1] bounds,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
    out=None,
):
    """The row arrays and the label buffer (as the reference's); inputs validated by the shared layer."""
    cdef Py_ssize_t num_packs = bounds.shape[0] - 1
    cdef FillJob job
    cdef const int64_t[::1] values64
    cdef const int32_t[::1] values32
    arrays = _new_rows(num_packs, capacity, padding_value, label_padding_value, &job.rows, out)
    if num_packs == 0 or capacity == 0:
        return arrays
    cdef int64_t blocks = _start_job(&job, lengths, items, bounds, capacity)
    cdef int threads = _fill_threads(num_packs * capacity)
    if values.dtype == np.int32:
        values32 = values
        job.values32 = &values32[0] if values32.shape[0] else NULL
    else:
        values64 = values
        job.values = &values64[0] if values64.shape[0] else NULL
    job.starts = &starts[0] if starts.shape[0] else NULL
    with nogil:
        run_blocks(_fill_block, &job, blocks, threads)
    return arrays


def fill_packed_rows_from_lists(
    sequences,
    const int64_t[::1] lengths,
    const int64_t[::1] items,
    const int64_t[::1] bounds,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
    out=None,
):
    """``fill_packed_rows`` straight from Python int lists (no intermediate flat array).

    Returns None, having built nothing usable, unless every sequence is an exact list/tuple
    of ``lengths[i]`` exact ints in the int64 range.
    """
    cdef Py_ssize_t count = len(sequences)
    cdef Py_ssize_t index
    if count != lengths.shape[0]:
        return None
    for index in range(count):
        sequence = sequences[index]
        if not _is_plain_sequence(sequence) or PySequence_Fast_GET_SIZE(sequence) != lengths[index]:
            return None
    cdef Py_ssize_t num_packs = bounds.shape[0] - 1
    cdef FillJob job
    arrays = _new_rows(num_packs, capacity, padding_value, label_padding_value, &job.rows, out)
    if num_packs == 0 or capacity == 0:
        return arrays
    cdef int64_t block, blocks = _start_job(&job, lengths, items, bounds, capacity)
    cdef int threads = _fill_threads(num_packs * capacity)
    cdef unsigned char[::1] unfinished = np.zeros(blocks, dtype=np.uint8)
    job.sequences = seqpacker_fast_items(<PyObject*>sequences)
    job.unfinished = &unfinished[0]
    # The GIL stays held by this thread throughout, so no Python code can change the lists
    # while the threads read them (they only read: no reference counts change).
    run_blocks(_fill_block, &job, blocks, threads)
    for block in range(blocks):
        if job.unfinished[block] and not _fill_list_packs(
            &job, block * job.packs_per_block,
            min((block + 1) * job.packs_per_block, num_packs), True
        ):
            return None
    return arrays
