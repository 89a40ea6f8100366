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


cdef inline bint _is_plain_sequence(object sequence):
    return PyList_CheckExact(sequence) or PyTuple_CheckExact(sequence)


def flatten_token_lists(sequences):
    """Concatenate exact lists/tuples of exact ints: ``(values, offsets, bad_index)``.

    Reads the list items through the C API (no per-sequence numpy conversion). At the first
    sequence of any other form, or with a value outside int64, returns ``(None, None, index)``.
    """
    cdef Py_ssize_t count = len(sequences)
    cdef Py_ssize_t index, position, size, limit = count
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
    cdef PyObject** items
    cdef PyObject* item
    cdef int overflow = 0
    cdef long long value
    cdef Py_ssize_t written = 0
    # Pass 2: the values, sequence by sequence, up to the first bad container.
    offsets[0] = 0
    for index in range(limit):
        sequence = sequences[index]
        size = PySequence_Fast_GET_SIZE(sequence)
        items = PySequence_Fast_ITEMS(sequence)
        for position in range(size):
            item = items[position]
            if not PyLong_CheckExact(item):
                return None, None, index
            if not seqpacker_compact_long(item, &value):
                value = PyLong_AsLongLongAndOverflow(item, &overflow)
                if overflow:
                    return None, None, index
            values[written + position] = value
        written += size
        offsets[index + 1] = written
    if limit < count:
        return None, None, limit
    return values_array, offsets_array, -1


cdef struct Rows:
    # The five output arrays (row-major, ``capacity`` slots per row) and the fill values.
    int64_t* input_ids
    int64_t* attention_mask
    int64_t* position_ids
    int64_t* labels
    int64_t* shift_labels
    int64_t padding_value
    int64_t label_padding_value


cdef inline void _finish_sequence(Rows* rows, Py_ssize_t at, Py_ssize_t length) noexcept nogil:
    """Everything but input_ids for a sequence whose tokens are in input_ids[at:at + length]."""
    cdef Py_ssize_t j
    cdef const int64_t* tokens = rows.input_ids + at
    # Aligned labels: the token itself, masked at the sequence's first token.
    rows.labels[at] = rows.label_padding_value
    memcpy(rows.labels + at + 1, tokens + 1, (length - 1) * sizeof(int64_t))
    # Shifted labels: the next token, masked at the sequence's last token.
    memcpy(rows.shift_labels + at, tokens + 1, (length - 1) * sizeof(int64_t))
    rows.shift_labels[at + length - 1] = rows.label_padding_value
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
    for j in range(tail):
        rows.shift_labels[at + j] = rows.label_padding_value


cdef tuple _new_rows(
    Py_ssize_t num_packs,
    Py_ssize_t capacity,
    int64_t padding_value,
    int64_t label_padding_value,
    Rows* rows,
):
    """Allocate the five arrays and point ``rows`` at them (not when they are empty)."""
    rows.padding_value = padding_value
    rows.label_padding_value = label_padding_value
    shape = (num_packs, capacity)
    arrays = tuple(np.empty(shape, dtype=np.int64) for _ in range(5))
    if num_packs == 0 or capacity == 0:
        return arrays
    cdef int64_t[:, ::1] view
    view = arrays[0]
    rows.input_ids = &view[0, 0]
    view = arrays[1]
    rows.attention_mask = &view[0, 0]
    view = arrays[2]
    rows.position_ids = &view[0, 0]
    view = arrays[3]
    rows.labels = &view[0, 0]
    view = arrays[4]
    rows.shift_labels = &view[0, 0]
    return arrays


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
    """The five ``(num_packs, capacity)`` int64 arrays; inputs validated by the shared layer."""
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
    cdef Py_ssize_t pack, k, j, at, length
    cdef PyObject** tokens
    cdef PyObject* item
    cdef long long value
    cdef int overflow = 0
    # The GIL stays held: the lists are read in place and must not change meanwhile.
    for pack in range(num_packs):
        at = pack * capacity
        for k in range(bounds[pack], bounds[pack + 1]):
            sequence = sequences[items[k]]
            length = lengths[items[k]]
            tokens = PySequence_Fast_ITEMS(sequence)
            for j in range(length):
                item = tokens[j]
                if not PyLong_CheckExact(item):
                    return None
                if not seqpacker_compact_long(item, &value):
                    value = PyLong_AsLongLongAndOverflow(item, &overflow)
                    if overflow:
                        return None
                rows.input_ids[at + j] = value
            _finish_sequence(&rows, at, length)
            at += length
        _fill_tail(&rows, at, (pack + 1) * capacity)
    return arrays
