"""Result objects: Pack, PackMetrics and PackResult (shared by both backends).

A PackResult keeps three flat int64 arrays (the input lengths, the ids bin after bin, and the
bin bounds) and builds Python objects (``packs``, ``bins``, ``metrics``) only when asked, so a
result of a million bins costs nothing until it is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

import numpy as np


class Pack:
    """One bin: its sequence ids (in placement order), their lengths, and the tokens used."""

    __slots__ = ("lengths", "sequence_ids", "used")

    def __init__(
        self, sequence_ids: list[int], lengths: list[int], used: int | None = None
    ) -> None:
        self.sequence_ids = list(sequence_ids)
        self.lengths = list(lengths)
        self.used = sum(self.lengths) if used is None else int(used)

    def __len__(self) -> int:
        return len(self.sequence_ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pack):
            return NotImplemented
        return self.sequence_ids == other.sequence_ids and self.lengths == other.lengths

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pack(sequence_ids={self.sequence_ids}, lengths={self.lengths}, used={self.used})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pack, (self.sequence_ids, self.lengths, self.used))


@dataclass(frozen=True)
class PackMetrics:
    """Quality and speed of one packing. Utilisation is used/capacity per pack."""

    num_sequences: int
    total_tokens: int
    num_packs: int
    padding_tokens: int
    efficiency: float
    padding_ratio: float
    avg_utilisation: float
    utilisation_std: float
    min_utilisation: float
    max_utilisation: float
    avg_sequences_per_pack: float
    packing_time_ms: float
    throughput: float  # sequences per second
    lower_bound: int  # ceil(total_tokens / capacity): no packing can use fewer packs

    @classmethod
    def compute(
        cls,
        lengths: np.ndarray,
        items: np.ndarray,
        bounds: np.ndarray,
        capacity: int,
        time_ms: float,
    ) -> PackMetrics:
        num_packs = len(bounds) - 1
        loads = np.add.reduceat(lengths[items], bounds[:-1]) if num_packs else np.zeros(0, np.int64)
        total = int(lengths.sum())
        slots = num_packs * capacity
        utilisation = loads / capacity
        seconds = time_ms / 1000.0
        return cls(
            num_sequences=len(lengths),
            total_tokens=total,
            num_packs=num_packs,
            padding_tokens=slots - total,
            efficiency=total / slots if slots else 0.0,
            padding_ratio=(slots - total) / slots if slots else 0.0,
            avg_utilisation=float(utilisation.mean()) if num_packs else 0.0,
            utilisation_std=float(utilisation.std()) if num_packs else 0.0,
            min_utilisation=float(utilisation.min()) if num_packs else 0.0,
            max_utilisation=float(utilisation.max()) if num_packs else 0.0,
            avg_sequences_per_pack=len(lengths) / num_packs if num_packs else 0.0,
            packing_time_ms=time_ms,
            throughput=len(lengths) / seconds if seconds > 0 else math.inf,
            lower_bound=-(-total // capacity),
        )


class PackResult:
    """The outcome of packing: bins in creation order, metrics, and the flat arrays behind them.

    ``items_flat`` lists sequence ids bin after bin; ``bin_bounds`` has ``num_bins + 1`` entries
    and bin ``b`` is ``items_flat[bin_bounds[b]:bin_bounds[b + 1]]``; ``bin_offsets`` is
    ``bin_bounds[1:-1]``, the split points for ``np.split``.
    """

    __slots__ = (
        "_bins",
        "_metrics",
        "_packs",
        "bin_bounds",
        "capacity",
        "items_flat",
        "lengths",
        "seed",
        "strategy",
        "time_ms",
    )

    def __init__(
        self,
        *,
        capacity: int,
        strategy: str,
        seed: int | None,
        lengths: np.ndarray,
        items_flat: np.ndarray,
        bin_bounds: np.ndarray,
        time_ms: float,
    ) -> None:
        self.capacity = capacity
        self.strategy = strategy
        self.seed = seed
        self.time_ms = time_ms
        for array in (lengths, items_flat, bin_bounds):
            array.flags.writeable = False  # shared with every view handed out
        self.lengths = lengths
        self.items_flat = items_flat
        self.bin_bounds = bin_bounds
        self._packs: list[Pack] | None = None
        self._bins: list[list[int]] | None = None
        self._metrics: PackMetrics | None = None

    # ---- sizes and quality
    @property
    def num_bins(self) -> int:
        return len(self.bin_bounds) - 1

    @property
    def bin_offsets(self) -> np.ndarray:
        return self.bin_bounds[1:-1]

    @property
    def efficiency(self) -> float:
        slots = self.num_bins * self.capacity
        return int(self.lengths.sum()) / slots if slots else 0.0

    @property
    def metrics(self) -> PackMetrics:
        if self._metrics is None:
            self._metrics = PackMetrics.compute(
                self.lengths, self.items_flat, self.bin_bounds, self.capacity, self.time_ms
            )
        return self._metrics

    @property
    def bin_loads(self) -> np.ndarray:
        """Tokens used in each bin (int64, one per bin)."""
        return np.add.reduceat(self.lengths[self.items_flat], self.bin_bounds[:-1])

    # ---- materialised views
    @property
    def bins(self) -> list[list[int]]:
        """Sequence ids of each bin, in placement order."""
        if self._bins is None:
            ids = self.items_flat.tolist()
            bounds = self.bin_bounds.tolist()
            self._bins = [ids[bounds[b] : bounds[b + 1]] for b in range(self.num_bins)]
        return self._bins

    @property
    def packs(self) -> list[Pack]:
        if self._packs is None:
            ids = self.items_flat.tolist()
            sizes = self.lengths[self.items_flat].tolist()
            bounds = self.bin_bounds.tolist()
            loads = self.bin_loads.tolist()
            self._packs = [
                Pack(ids[bounds[b] : bounds[b + 1]], sizes[bounds[b] : bounds[b + 1]], loads[b])
                for b in range(self.num_bins)
            ]
        return self._packs

    def pack_flat(self) -> tuple[np.ndarray, np.ndarray]:
        return self.items_flat, self.bin_offsets

    def _pack_at(self, index: int) -> Pack:
        start, end = int(self.bin_bounds[index]), int(self.bin_bounds[index + 1])
        ids = self.items_flat[start:end]
        sizes = self.lengths[ids]
        return Pack(ids.tolist(), sizes.tolist(), int(sizes.sum()))

    # ---- container protocol
    def __len__(self) -> int:
        return self.num_bins

    def __iter__(self) -> Iterator[Pack]:
        return iter(self.packs)

    @overload
    def __getitem__(self, index: int) -> Pack: ...
    @overload
    def __getitem__(self, index: slice) -> list[Pack]: ...
    def __getitem__(self, index: int | slice) -> Pack | list[Pack]:
        if isinstance(index, slice):
            return [self._pack_at(i) for i in range(*index.indices(self.num_bins))]
        position = int(index)
        if position < 0:
            position += self.num_bins
        if not 0 <= position < self.num_bins:
            raise IndexError(f"pack index {index} out of range for {self.num_bins} packs")
        return self._pack_at(position)

    # ---- value semantics (time is not part of the value)
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackResult):
            return NotImplemented
        return (
            self.capacity == other.capacity
            and self.strategy == other.strategy
            and np.array_equal(self.lengths, other.lengths)
            and np.array_equal(self.items_flat, other.items_flat)
            and np.array_equal(self.bin_bounds, other.bin_bounds)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        state = (
            self.capacity,
            self.strategy,
            self.seed,
            np.array(self.lengths),
            np.array(self.items_flat),
            np.array(self.bin_bounds),
            self.time_ms,
        )
        return (_rebuild_result, state)

    def __repr__(self) -> str:
        return (
            f"PackResult(strategy={self.strategy!r}, capacity={self.capacity}, "
            f"sequences={len(self.lengths)}, bins={self.num_bins}, "
            f"efficiency={self.efficiency:.2%}, time={self.time_ms:.3f} ms)"
        )


def _rebuild_result(
    capacity: int,
    strategy: str,
    seed: int | None,
    lengths: np.ndarray,
    items_flat: np.ndarray,
    bin_bounds: np.ndarray,
    time_ms: float,
) -> PackResult:
    return PackResult(
        capacity=capacity,
        strategy=strategy,
        seed=seed,
        lengths=lengths,
        items_flat=items_flat,
        bin_bounds=bin_bounds,
        time_ms=time_ms,
    )
