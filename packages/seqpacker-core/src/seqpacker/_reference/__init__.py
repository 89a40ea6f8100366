"""The pure-Python backend: the reference kernels behind the kernel interface.

The kernel interface (the same names exist in the ``seqpacker._cython`` package):

- ``first_invalid_length(lengths, capacity) -> int``: index of the first length outside
  ``[1, capacity]``, or -1.
- ``pack(strategy, lengths, capacity, seed, k) -> (items, bounds)``: int64 arrays; bin ``b``
  holds ``items[bounds[b]:bounds[b + 1]]``.
- ``prng_values(seed, count) -> list[int]`` and ``shuffled_order(n, seed) -> int64 array``.
- ``make_stream(strategy, capacity, k)``: an object with ``add(length) -> list[list[int]]``
  (bins closed by this item) and ``finish() -> list[list[int]]``.

Inputs arrive as contiguous int64 numpy arrays already type-checked by the shared layer; this
module converts them to lists at the boundary so that the algorithm code stays numpy-free.
"""

from __future__ import annotations

import numpy as np

from . import prng
from .strategies import KERNELS
from .strategies import first_invalid_length as _first_invalid_length
from .stream import HarmonicKStream, NextFitStream

NAME = "python"


def first_invalid_length(lengths: np.ndarray, capacity: int) -> int:
    return _first_invalid_length(lengths.tolist(), capacity)


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
