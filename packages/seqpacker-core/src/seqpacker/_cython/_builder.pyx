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
    shape = (num_packs, capacity)
    input_ids_array = np.empty(shape, dtype=np.int64)
    attention_mask_array = np.empty(shape, dtype=np.int64)
    position_ids_array = np.empty(shape, dtype=np.int64)
    labels_array = np.empty(shape, dtype=np.int64)
    shift_labels_array = np.empty(shape, dtype=np.int64)
    if num_packs == 0 or capacity == 0:
        return (input_ids_array, attention_mask_array, position_ids_array, labels_array,
                shift_labels_array)
    cdef int64_t[:, ::1] input_ids_view = input_ids_array
    cdef int64_t[:, ::1] attention_mask_view = attention_mask_array
    cdef int64_t[:, ::1] position_ids_view = position_ids_array
    cdef int64_t[:, ::1] labels_view = labels_array
    cdef int64_t[:, ::1] shift_labels_view = shift_labels_array
    cdef int64_t* input_ids = &input_ids_view[0, 0]
    cdef int64_t* attention_mask = &attention_mask_view[0, 0]
    cdef int64_t* position_ids = &position_ids_view[0, 0]
    cdef int64_t* labels = &labels_view[0, 0]
    cdef int64_t* shift_labels = &shift_labels_view[0, 0]
    cdef const int64_t* tokens = &values[0] if values.shape[0] else NULL
    cdef const int64_t* source
    cdef Py_ssize_t pack, k, j, at, row_end, length, sequence
    with nogil:
        for pack in range(num_packs):
            at = pack * capacity
            row_end = at + capacity
            for k in range(bounds[pack], bounds[pack + 1]):
                sequence = items[k]
                length = lengths[sequence]
                source = tokens + starts[sequence]
                memcpy(input_ids + at, source, length * sizeof(int64_t))
                for j in range(length):
                    attention_mask[at + j] = 1
                    position_ids[at + j] = j
                # Aligned labels: the token itself, masked at the sequence's first token.
                labels[at] = label_padding_value
                memcpy(labels + at + 1, source + 1, (length - 1) * sizeof(int64_t))
                # Shifted labels: the next token, masked at the sequence's last token.
                memcpy(shift_labels + at, source + 1, (length - 1) * sizeof(int64_t))
                shift_labels[at + length - 1] = label_padding_value
                at += length
            # The padding tail: a segment of its own with positions 0, 1, 2, ...
            j = 0
            while at < row_end:
                input_ids[at] = padding_value
                attention_mask[at] = 0
                position_ids[at] = j
                labels[at] = label_padding_value
                shift_labels[at] = label_padding_value
                at += 1
                j += 1
    return (input_ids_array, attention_mask_array, position_ids_array, labels_array,
            shift_labels_array)
