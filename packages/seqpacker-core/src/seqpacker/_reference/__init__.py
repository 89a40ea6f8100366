"""The pure-Python backend: the reference kernels behind the kernel interface.

The kernel interface (the same names exist in the ``seqpacker._cython`` package):

- ``first_invalid_length(lengths, capacity) -> int``: index of the first length outside
  ``[1, capacity]``, or -1.
- ``copy_valid_lengths(lengths, capacity) -> (copy, int)``: a fresh int64 copy of a
  C-contiguous int64 array and ``first_invalid_length`` of it (the copy is unspecified past a
  bad length).
- ``pack(strategy, lengths, capacity, seed, k) -> (items, bounds)``: int64 arrays; bin ``b``
  holds ``items[bounds[b]:bounds[b + 1]]``.
- ``prng_values(seed, count) -> list[int]`` and ``shuffled_order(n, seed) -> int64 array``.
- ``make_stream(strategy, capacity, k)``: an object with ``add(length) -> list[list[int]]``
  (bins closed by this item) and ``finish() -> list[list[int]]``.
- ``flatten_token_lists(sequences) -> (values, offsets, bad_index)``: the plain-int sequences
  (each an exact ``list``/``tuple`` of exact ``int`` in the int64 range) concatenated into int64
  ``values`` and ``offsets`` (``len(sequences) + 1``); at the first sequence of any other form
  the scan stops with ``bad_index`` set to it (then ``values``/``offsets`` are None), else -1.
- ``fill_packed_rows(values, starts, lengths, items, bounds, capacity, padding_value,
  label_padding_value) -> (input_ids, attention_mask, position_ids, label_buffer)``: three
  int64 arrays of shape ``(len(bounds) - 1, capacity)`` and the 1-D int64 label buffer
  (``num_packs * capacity + 1`` values: the aligned labels row after row, then one
  ``label_padding_value``; the shared layer views it as ``labels`` and ``shift_labels``);
  sequence ``s`` is ``values[starts[s]:starts[s] + lengths[s]]``, pack ``p`` holds
  ``items[bounds[p]:bounds[p+1]]`` (see ``builder.fill_packed_rows`` for the exact contents).
  Inputs are validated by the shared layer (``seqpacker._builder``): contiguous int64 arrays
  (``values`` int32 or int64), every pack fits ``capacity``. With ``out`` (four arrays of
  those shapes, C-contiguous int64) the kernel writes there and returns them.
- ``fill_packed_rows_from_lists(sequences, lengths, items, bounds, capacity, padding_value,
  label_padding_value, out)``: the same four arrays straight from plain-int sequences (the form
  ``flatten_token_lists`` accepts) whose lengths are ``lengths``; None when any sequence is
  not of that form or not of its length (the shared layer then takes its general path).

Inputs arrive as contiguous int64 numpy arrays already type-checked by the shared layer; this
module converts them to lists at the boundary so that the algorithm code stays numpy-free.
"""

from __future__ import annotations

import numpy as np

from .._memory import empty_array
from . import builder, prng
from .strategies import KERNELS
from .strategies import first_invalid_length as _first_invalid_length
from .stream import HarmonicKStream, NextFitStream

NAME = "python"


def first_invalid_length(lengths: np.ndarray, capacity: int) -> int:
    return _first_invalid_length(lengths.tolist(), capacity)


def copy_valid_lengths(lengths: np.ndarray, capacity: int) -> tuple[np.ndarray, int]:
    copy = empty_array(len(lengths), np.int64)
    np.copyto(copy, lengths)
    return copy, first_invalid_length(copy, capacity)


def pack(
    strategy: str, lengths: np.ndarray, capacity: int, seed: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    items, bounds = KERNELS[strategy](lengths.tolist(), capacity, seed, k)
    return np.array(items, dtype=np.int64), np.array(bounds, dtype=np.int64)


def prng_values(seed: int, count: int) -> list[int]:
    return prng.prng_values(seed, count)


def shuffled_order(n: int, seed: int) -> np.ndarray:
    return np.array(prng.shuffled_order(n, seed), dtype=np.int64)


def make_stream(strategy: str, capacity: int, k: int) -> NextFitStream | HarmonicKStream:
    if strategy == "hk":
        return HarmonicKStream(capacity, k)
    return NextFitStream(capacity)


def flatten_token_lists(
    sequences: list[object] | tuple[object, ...],
) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    values, offsets, bad_index = builder.flatten_token_lists(sequences)
    if bad_index >= 0:
        return None, None, bad_index
    return np.array(values, dtype=np.int64), np.array(offsets, dtype=np.int64), -1


def fill_packed_rows(
    values: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    items: np.ndarray,
    bounds: np.ndarray,
    capacity: int,
    padding_value: int,
    label_padding_value: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = builder.fill_packed_rows(
        values.tolist(),
        starts.tolist(),
        lengths.tolist(),
        items.tolist(),
        bounds.tolist(),
        capacity,
        padding_value,
        label_padding_value,
    )
    shape = (len(bounds) - 1, capacity)
    input_ids, attention_mask, position_ids = (
        np.array(row, dtype=np.int64).reshape(shape) for row in rows[:3]
    )
    arrays = (input_ids, attention_mask, position_ids, np.array(rows[3], dtype=np.int64))
    if out is None:
        return arrays
    for target, array in zip(out, arrays, strict=True):
        target[...] = array
    return out


def fill_packed_rows_from_lists(
    sequences: list[object] | tuple[object, ...],
    lengths: np.ndarray,
    items: np.ndarray,
    bounds: np.ndarray,
    capacity: int,
    padding_value: int,
    label_padding_value: int,
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    values, offsets, _ = flatten_token_lists(sequences)
    if values is None or offsets is None or not np.array_equal(np.diff(offsets), lengths):
        return None
    return fill_packed_rows(
        values,
        offsets[:-1],
        lengths,
        items,
        bounds,
        capacity,
        padding_value,
        label_padding_value,
        out,
    )
