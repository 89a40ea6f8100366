"""Packer and pack_sequences: validation, dispatch to the active backend, the PackResult."""

from __future__ import annotations

import time

import numpy as np

from . import _backend
from ._result import PackResult
from ._strategies import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    check_capacity,
    check_k,
    check_seed,
    normalize_strategy,
)
from ._validation import as_lengths_array, raise_invalid_length


def validated_lengths(lengths: object, capacity: int) -> np.ndarray:
    """The int64 array for ``lengths``, or the error for its first bad entry."""
    if (
        isinstance(lengths, np.ndarray)
        and lengths.dtype == np.int64
        and lengths.ndim == 1
        and lengths.size
        and lengths.flags.c_contiguous
    ):  # the common form: the copy as_lengths_array would make, and its check in one pass
        array, bad = _backend.active.copy_valid_lengths(lengths, capacity)
    else:
        array = as_lengths_array(lengths)
        bad = _backend.active.first_invalid_length(array, capacity)
    if bad >= 0:
        raise_invalid_length(bad, int(array[bad]), capacity)
    return np.asarray(array)


class Packer:
    """Packs sequence lengths into bins of ``capacity`` tokens with one strategy.

    >>> Packer(1024, "obfd").pack([1000, 800, 600, 500, 400, 300, 200, 100]).num_bins
    4
    """

    __slots__ = ("_kernel_seed", "capacity", "k", "seed", "strategy")

    def __init__(
        self,
        capacity: int,
        strategy: str = DEFAULT_STRATEGY,
        seed: int | None = None,
        *,
        k: int | None = None,
    ) -> None:
        self.capacity = check_capacity(capacity)
        self.strategy = normalize_strategy(strategy)
        self._kernel_seed = check_seed(seed)
        self.seed = seed
        self.k = check_k(k, self.strategy)

    @staticmethod
    def strategies() -> list[tuple[str, str]]:
        """(short, full) names of every strategy."""
        return list(STRATEGIES)

    def pack(self, lengths: object) -> PackResult:
        start = time.perf_counter()
        array = validated_lengths(lengths, self.capacity)
        items, bounds = _backend.active.pack(
            self.strategy, array, self.capacity, self._kernel_seed, self.k
        )
        elapsed_ms = (time.perf_counter() - start) * 1000.0
        return PackResult(
            capacity=self.capacity,
            strategy=self.strategy,
            seed=self.seed,
            lengths=array,
            items_flat=items,
            bin_bounds=bounds,
            time_ms=elapsed_ms,
        )

    def pack_flat(self, lengths: object) -> tuple[np.ndarray, np.ndarray]:
        """``(items_flat, bin_offsets)``; ``np.split(items_flat, bin_offsets)`` gives the bins."""
        return self.pack(lengths).pack_flat()

    def __repr__(self) -> str:
        return f"Packer(capacity={self.capacity}, strategy={self.strategy!r}, seed={self.seed!r})"


def pack_sequences(
    lengths: object,
    capacity: int,
    strategy: str = DEFAULT_STRATEGY,
    seed: int | None = None,
    *,
    k: int | None = None,
) -> PackResult:
    """Pack ``lengths`` into bins of ``capacity`` tokens; see :class:`Packer`."""
    return Packer(capacity, strategy, seed, k=k).pack(lengths)
