"""Turning user input into a validated int64 array, with the errors of DESIGN.md §3.

Order of checks (the same for both backends, since it is written once here): the container
type, then emptiness, then the element types (lowest offending index), then the values
(lowest offending index, found by the backend's ``first_invalid_length`` kernel).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._memory import empty_array

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
EMPTY_INPUT = "empty input: no sequences to pack"


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _check_elements(values: list[Any] | tuple[Any, ...]) -> None:
    """TypeError at the first element that is not an int in the int64 range."""
    for index, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"lengths must be integers, got a bool at index {index}: {value!r}")
        if not isinstance(value, numbers.Integral):
            raise TypeError(f"lengths must be integers, got {_describe(value)} at index {index}")
        if not INT64_MIN <= int(value) <= INT64_MAX:
            raise TypeError(f"length at index {index} is {int(value)}, beyond the int64 range")


def as_lengths_array(lengths: object) -> np.ndarray:
    """A fresh, C-contiguous int64 copy of ``lengths``, or the TypeError/ValueError."""
    if isinstance(lengths, np.ndarray):
        if lengths.ndim != 1:
            shape = lengths.shape
            raise TypeError(
                f"lengths must be a 1-D array, got a {lengths.ndim}-D array of shape {shape}"
            )
        if lengths.size == 0:
            raise ValueError(EMPTY_INPUT)
        kind = lengths.dtype.kind
        if kind == "O":
            values = lengths.tolist()
            _check_elements(values)
            return np.array(values, dtype=np.int64)
        if kind not in "iu":
            raise TypeError(f"lengths must have an integer dtype, got dtype {lengths.dtype}")
        if kind == "u" and lengths.dtype.itemsize == 8 and lengths.max() > INT64_MAX:
            index = int(np.argmax(lengths > INT64_MAX))
            raise TypeError(
                f"length at index {index} is {int(lengths[index])}, beyond the int64 range"
            )
        copy = empty_array(lengths.size, np.int64)
        np.copyto(copy, lengths, casting="unsafe")  # checked above: every value fits
        return copy
    if isinstance(lengths, (list, tuple)):
        if not lengths:
            raise ValueError(EMPTY_INPUT)
        # One pass over the element types; the slow, index-reporting scan only on a problem.
        types = set(map(type, lengths))
        if int not in types or len(types) > 1:
            _check_elements(lengths)
        try:
            return np.array(lengths, dtype=np.int64)
        except OverflowError:
            _check_elements(lengths)
            raise
    raise TypeError(
        "lengths must be a list or tuple of ints or a 1-D numpy integer array, "
        f"got {type(lengths).__name__}"
    )


def check_stream_length(length: object, index: int, capacity: int) -> int:
    """One length given to StreamPacker.add, with the same messages as a whole input."""
    if isinstance(length, (bool, np.bool_)) or not isinstance(length, numbers.Integral):
        raise TypeError(f"lengths must be integers, got {_describe(length)} at index {index}")
    value = int(length)
    if value <= 0 or value > capacity:
        raise_invalid_length(index, value, capacity)
    return value


def raise_invalid_length(index: int, value: int, capacity: int) -> None:
    if value <= 0:
        raise ValueError(
            f"length at index {index} is {value}; lengths must be >= 1 (capacity {capacity})"
        )
    raise ValueError(f"length at index {index} is {value}, larger than the capacity {capacity}")
