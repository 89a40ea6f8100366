# Packed-array builder kernels: the Cython twins of seqpacker/_reference/builder.py.
# Directives come from setup.py (the one place they are set).
"""Cython kernels of the packed-array builder (see ``seqpacker._reference`` for the interface)."""

from libc.stdint cimport int64_t
from libc.string cimport memcpy

import numpy as np

cdef extern from "Python.h":
    ctypedef struct PyObject
    bint PyList_CheckExact(object)
    bint PyTuple_CheckExact(object)
    bint PyLong_CheckExact(PyObject*)
    Py_ssize_t PySequence_Fast_GET_SIZE(object)
    PyObject** PySequence_Fast_ITEMS(object)
    long long PyLong_AsLongLongAndOverflow(PyObject*, int*) except? -1

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
    bint seqpacker_compact_long(PyObject* item, long long* value) noexcept

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
    PyObject** seqpacker_fast_items(PyObject* sequence) noexcept
    Py_ssize_t Py_SIZE(PyObject* sequence) noexcept

cdef enum:
    PREFETCH_DISTANCE = 48
    POINTERS_PER_LINE = 8


cdef struct TokenRun:
    # One exact list/tuple's items, read in place (borrowed: the caller holds the GIL).
    PyObject** tokens
    Py_ssize_t length


cdef inline TokenRun _token_run(PyObject* sequence) noexcept:
    cdef TokenRun run
    run.tokens = seqpacker_fast_items(sequence)
    run.length = Py_SIZE(sequence)
    return run


cdef inline void _prepare_following(TokenRun following) noexcept:
    """Fetch the pointers the lookahead will read at the end of the current sequence."""
    cdef Py_ssize_t i
    for i in range(0, min(following.length, PREFETCH_DISTANCE), POINTERS_PER_LINE):
        seqpacker_prefetch(following.tokens + i)


cdef inline bint _read_ints(TokenRun current, TokenRun following, int64_t* out) noexcept:
    """Store ``current``'s ints in ``out``; False at a token not an exact int within int64."""
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
        if not _read_ints(current, following, &values[0] + written):
            return None, None, index
        written += current.length
        offsets[index + 1] = written
        current = following
    if limit < count:
        return None, None, limit
    return values_array, offsets_array, -1


cdef struct Rows:
    # The output arrays (row-major, ``capacity`` slots per row) and the fill values. Labels
    # have one slot more (see new_label_buffer in seqpacker/_builder.py): shift_labels are
    # the same buffer read one slot later, so they are never written separately.
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
):
    """Allocate the row arrays and the label buffer and point ``rows`` at them.

    The label buffer's last slot (after every row) already holds ``label_padding_value``.
    """
    rows.padding_value = padding_value
    rows.label_padding_value = label_padding_value
    shape = (num_packs, capacity)
    arrays = tuple(np.empty(shape, dtype=np.int64) for _ in range(3))
    label_buffer = np.empty(num_packs * capacity + 1, dtype=np.int64)
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


def fill_packed_rows(
    const int64_t[::1] values,
    const int64_t[::1] starts,
    const int64_t[::1] lengths,
    const int64_t[::1] items,
    const int64_t[::1] bounds,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
):
    """The row arrays and the label buffer (as the reference's); inputs validated by the shared layer."""
    cdef Py_ssize_t num_packs = bounds.shape[0] - 1
    cdef Rows rows
    arrays = _new_rows(num_packs, capacity, padding_value, label_padding_value, &rows)
    if num_packs == 0 or capacity == 0:
        return arrays
    cdef const int64_t* tokens = &values[0] if values.shape[0] else NULL
    cdef Py_ssize_t pack, k, at, length, sequence
    # One thread: filling is memory-bound, and a second thread measured no faster on a
    # shared 2-core machine (and OpenMP in forked DataLoader workers is a hang risk).
    with nogil:
        for pack in range(num_packs):
            at = pack * capacity
            for k in range(bounds[pack], bounds[pack + 1]):
                sequence = items[k]
                length = lengths[sequence]
                memcpy(rows.input_ids + at, tokens + starts[sequence], length * sizeof(int64_t))
                _finish_sequence(&rows, at, length)
                at += length
            _fill_tail(&rows, at, (pack + 1) * capacity)
    return arrays


def fill_packed_rows_from_lists(
    sequences,
    const int64_t[::1] lengths,
    const int64_t[::1] items,
    const int64_t[::1] bounds,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
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
    cdef Rows rows
    arrays = _new_rows(num_packs, capacity, padding_value, label_padding_value, &rows)
    if num_packs == 0 or capacity == 0:
        return arrays
    cdef Py_ssize_t pack, k, at
    cdef Py_ssize_t placed = items.shape[0]
    cdef PyObject** outer = seqpacker_fast_items(<PyObject*>sequences)
    cdef TokenRun current = _token_run(outer[items[0]])
    cdef TokenRun following
    cdef TokenRun nothing_more = TokenRun(NULL, 0)
    # The GIL stays held: the lists are read in place and must not change meanwhile. Packs
    # visit the sequences in no particular order: fetch the list header two sequences ahead
    # and the pointers one ahead, so each new sequence finds them in cache.
    for pack in range(num_packs):
        at = pack * capacity
        for k in range(bounds[pack], bounds[pack + 1]):
            if k + 2 < placed:
                seqpacker_prefetch(outer[items[k + 2]])
            following = _token_run(outer[items[k + 1]]) if k + 1 < placed else nothing_more
            _prepare_following(following)
            if not _read_ints(current, following, rows.input_ids + at):
                return None
            _finish_sequence(&rows, at, current.length)
            at += current.length
            current = following
        _fill_tail(&rows, at, (pack + 1) * capacity)
    return arrays
